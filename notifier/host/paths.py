"""Where bundled files live, in a checkout and in a PyInstaller build."""

from __future__ import annotations

import sys
from pathlib import Path


def bundle_root() -> Path:
    """The folder holding `web/`: PyInstaller's unpack dir when frozen."""
    frozen = getattr(sys, "_MEIPASS", None)
    return Path(frozen) if frozen else Path(__file__).resolve().parents[2]


def web_root() -> Path:
    """The PWA's static files."""
    return bundle_root() / "web"


# Asset folders granian serves itself, straight from disk: far faster than
# routing every file through the app. Pages that need the app's headers or
# routing (index.html, sw.js, the manifest, /pair, /ca) stay with Litestar.
STATIC_DIRS = ("js", "css", "icons")


def granian_static_options() -> dict[str, object]:
    """Keyword arguments for granian's Server that serve `web/` asset folders."""
    root = web_root()
    dirs = [d for d in STATIC_DIRS if (root / d).is_dir()]
    return {
        "static_path_route": [f"/{d}" for d in dirs],
        "static_path_mount": [root / d for d in dirs],
        # The service worker fetches its shell with cache: "reload", so a short
        # browser cache only speeds up the pages before it takes over.
        "static_path_expires": 3600,
    }
