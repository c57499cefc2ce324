"""Draw the app's PNG icons with nothing but the standard library.

    python tools/make_icons.py [FOLDER]

Run it again after changing the mark; the PNGs it writes (into web/icons/ unless
another folder is given) are committed. It lives outside web/ because only what
the app uses is served. The mark
is a bold bell with a "something is due" dot, drawn with signed distance
functions so the edges are anti-aliased at every size.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

WEB_ICONS = Path(__file__).resolve().parents[1] / "web" / "icons"
TOP = (0x4F, 0x46, 0xE5)  # indigo-600: the manifest's theme colour family
BOTTOM = (0x37, 0x30, 0xA3)  # indigo-800
WHITE = (0xFF, 0xFF, 0xFF)
DOT = (0xFB, 0xBF, 0x24)  # amber-400


def _circle(px: float, py: float, cx: float, cy: float, r: float) -> float:
    return math.hypot(px - cx, py - cy) - r


def _round_rect(px: float, py: float, cx: float, cy: float, hw: float, hh: float, r: float) -> float:
    qx, qy = abs(px - cx) - hw + r, abs(py - cy) - hh + r
    return math.hypot(max(qx, 0.0), max(qy, 0.0)) + min(max(qx, qy), 0.0) - r


def _polygon(px: float, py: float, pts: list[tuple[float, float]]) -> float:
    """Signed distance to a simple polygon (negative inside)."""
    d = (px - pts[0][0]) ** 2 + (py - pts[0][1]) ** 2
    s = 1.0
    j = len(pts) - 1
    for i in range(len(pts)):
        (ax, ay), (bx, by) = pts[i], pts[j]
        ex, ey = bx - ax, by - ay
        wx, wy = px - ax, py - ay
        t = max(0.0, min(1.0, (wx * ex + wy * ey) / (ex * ex + ey * ey)))
        dx, dy = wx - ex * t, wy - ey * t
        d = min(d, dx * dx + dy * dy)
        c1, c2, c3 = py >= ay, py < by, ex * wy > ey * wx
        if (c1 and c2 and c3) or (not c1 and not c2 and not c3):
            s = -s
        j = i
    return s * math.sqrt(d)


def _bell_outline() -> list[tuple[float, float]]:
    """The bell's body: a dome flaring out to the rim (unit square coordinates)."""
    top, bottom, w0, w1 = 0.43, 0.645, 0.17, 0.245
    right = []
    for i in range(9):
        y = top + (bottom - top) * i / 8
        right.append((0.5 + w0 + (w1 - w0) * ((y - top) / (bottom - top)) ** 2, y))
    left = [(1.0 - x, y) for x, y in reversed(right)]
    return right + left


BELL = _bell_outline()


def bell_distance(x: float, y: float) -> float:
    """Distance to the whole white mark (negative inside)."""
    if not (0.18 < x < 0.82 and 0.15 < y < 0.82):  # far from the mark: skip the polygon
        return 0.05
    return min(
        _circle(x, y, 0.5, 0.43, 0.17),
        _polygon(x, y, BELL),
        _round_rect(x, y, 0.5, 0.655, 0.275, 0.03, 0.03),
        _circle(x, y, 0.5, 0.72, 0.06),
        _circle(x, y, 0.5, 0.245, 0.045),
    )


def _cover(d: float, px: float) -> float:
    """Coverage of a pixel whose centre is `d` (unit units) from an edge."""
    return max(0.0, min(1.0, 0.5 - d / px))


def _mix(a: tuple[float, ...], b: tuple[int, ...], t: float) -> tuple[float, ...]:
    return tuple(x + (y - x) * t for x, y in zip(a, b))


def render(size: int, *, full_bleed: bool, scale: float = 1.0, mono: bool = False) -> bytes:
    """RGBA rows of one icon. full_bleed: no transparent corners (maskable, Apple)."""
    px = 1.0 / size
    rows = bytearray()
    for j in range(size):
        rows.append(0)  # PNG filter type 0 for this row
        y = (j + 0.5) / size
        base = _mix(TOP, BOTTOM, y)
        for i in range(size):
            x = (i + 0.5) / size
            # the mark is drawn in a frame scaled about the centre
            mx, my = 0.5 + (x - 0.5) / scale, 0.5 + (y - 0.5) / scale
            dot_d = _circle(mx, my, 0.69, 0.3, 0.075) * scale
            dot = _cover(dot_d, px)
            # a ring of background around the dot keeps it from merging with the bell
            mark = _cover(bell_distance(mx, my) * scale, px) * (1.0 - _cover(dot_d - 0.03 * scale, px))
            if mono:  # notification badge: white silhouette on transparent
                a = max(mark, dot)
                rows += bytes((255, 255, 255, round(a * 255)))
                continue
            bg = 1.0 if full_bleed else _cover(_round_rect(x, y, 0.5, 0.5, 0.5, 0.5, 0.22), px)
            colour = _mix(_mix(base, WHITE, mark), DOT, dot)
            rows += bytes((*(round(c) for c in colour), round(bg * 255)))
    return bytes(rows)


def png(size: int, rgba_rows: bytes) -> bytes:
    """A minimal RGBA PNG file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rgba_rows, 9)) + chunk(b"IEND", b"")


ICONS = {
    "icon-192.png": dict(size=192, full_bleed=False),
    "icon-512.png": dict(size=512, full_bleed=False),
    # maskable: the launcher crops to a circle of 40% radius, so shrink the mark into it
    "maskable-192.png": dict(size=192, full_bleed=True, scale=0.8),
    "maskable-512.png": dict(size=512, full_bleed=True, scale=0.8),
    # iOS draws transparency as black and rounds the corners itself
    "apple-touch-icon.png": dict(size=180, full_bleed=True, scale=0.9),
    "icon-32.png": dict(size=32, full_bleed=False),
    "badge-96.png": dict(size=96, full_bleed=False, mono=True),
}


def main(out: Path = WEB_ICONS) -> None:
    for name, spec in ICONS.items():
        spec = dict(spec)
        size = spec.pop("size")
        (out / name).write_bytes(png(size, render(size, **spec)))
        print("wrote", out / name)


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else WEB_ICONS)
