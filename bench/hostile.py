"""Benchmark: a hostile client on the network, bounded (loopback only, stops by itself).

    .venv/bin/python bench/hostile.py [--tree DIR] [--slow 256] [--bodies 30] [--guesses 600]

Starts `python -m notifier serve` from this checkout (or `--tree`, e.g. an
older worktree, to compare) on a free 127.0.0.1 port with a fresh data dir,
then, one after the other:

1. slow clients: `--slow` connections send the headers of
   `POST /api/pairing/exchange` with `Content-Length: 1000` and one byte of
   body, then nothing. While they are open, /healthz is asked 40 times
   (p50 and max latency); then how long the server kept them open.
2. big bodies: `--bodies` concurrent ~9.9 MB bodies to the same route
   (under Litestar's own 10 MB default), sent while the answer is read; the
   server's RSS before, at its peak and one second after.
3. guesses: `--guesses` concurrent wrong pairing codes from one client; how
   many were checked against the database (answered 403 invalid_code, as
   opposed to 429 refused unchecked; the log's "wrong pairing code" lines
   are counted too where the server writes them).

Every wait is bounded; the server is stopped by its PID at the end. Each
figure is printed next to its target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from procs import free_port, rss_kb  # noqa: E402

EXCHANGE = "/api/pairing/exchange"
TARGET_HEALTHZ_MS = 100.0
TARGET_SLOW_OPEN_S = 10.0  # "closed within a few seconds"
TARGET_RSS_RISE_MB = 20.0
TARGET_CHECKED = 5  # GUESSES_PER_CLIENT in access/pairing.py
BIG_BODY = 9_900_000
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def row(name: str, value: str, target: str, ok: bool) -> None:
    print(f"  {name:<44} {value:>16}   target {target:<12} {'ok' if ok else 'MISSED'}")


def head(port: int, length: int) -> bytes:
    return (
        f"POST {EXCHANGE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def request(port: int, raw: bytes, timeout: float) -> tuple[float, bytes]:
    """Send `raw` on a new connection; (seconds until the server closed it, what it sent)."""
    start = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    except (OSError, TimeoutError):
        return time.monotonic() - start, b""
    try:
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    except (OSError, TimeoutError):
        data = b""
    finally:
        writer.close()
    return time.monotonic() - start, data


async def healthz_ms(port: int) -> float:
    raw = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    start = time.monotonic()
    _, data = await request(port, raw.encode(), 5)
    return (time.monotonic() - start) * 1000 if data.startswith(b"HTTP/1.1 200") else 5000.0


async def slow_clients(port: int, count: int) -> None:
    print(f"{count} slow clients (headers + 1 byte of a 1000-byte body, then silence):")
    for _ in range(3):
        await healthz_ms(port)  # warm
    limit = 60.0
    slow = [
        asyncio.create_task(request(port, head(port, 1000) + b"{", limit)) for _ in range(count)
    ]
    await asyncio.sleep(1.0)
    latencies = []
    for _ in range(40):
        latencies.append(await healthz_ms(port))
        await asyncio.sleep(0.05)
    results = await asyncio.gather(*slow)
    p50, worst = statistics.median(latencies), max(latencies)
    timeouts = sum(1 for ms in latencies if ms >= 5000)
    if timeouts:
        print(
            f"  ({timeouts} of {len(latencies)} /healthz requests got no answer in 5 s: counted as 5000 ms)"
        )
    row(
        "/healthz p50 while they are open",
        f"{p50:.1f} ms",
        f"<= {TARGET_HEALTHZ_MS:.0f} ms",
        p50 <= TARGET_HEALTHZ_MS,
    )
    row(
        "/healthz max while they are open",
        f"{worst:.1f} ms",
        f"<= {TARGET_HEALTHZ_MS:.0f} ms",
        worst <= TARGET_HEALTHZ_MS,
    )
    longest = max(elapsed for elapsed, _ in results)
    shown = f"{longest:.1f} s" if longest < limit else f">= {limit:.0f} s"
    row(
        "longest a slow client stayed open",
        shown,
        f"<= {TARGET_SLOW_OPEN_S:.0f} s",
        longest <= TARGET_SLOW_OPEN_S,
    )
    statuses = sorted({data[9:12].decode() or "none" for _, data in results})
    print(f"  (their answers: {', '.join(statuses)})")


async def big_body(port: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head(port, BIG_BODY))
    piece = b" " * 65536
    sent = 0

    async def pour() -> None:
        nonlocal sent
        try:
            while sent < BIG_BODY:
                chunk = piece[: BIG_BODY - sent]
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
        except OSError:
            pass

    pouring = asyncio.create_task(pour())
    try:
        await asyncio.wait_for(reader.read(), 60)
    except (OSError, TimeoutError):
        pass
    pouring.cancel()
    writer.close()
    return sent


async def big_bodies(pid: int, port: int, count: int) -> None:
    print(f"{count} concurrent bodies of {BIG_BODY / 1e6:.1f} MB:")
    before = rss_kb(pid)
    peak = before
    sending = asyncio.gather(*(big_body(port) for _ in range(count)))
    while not sending.done():
        peak = max(peak, rss_kb(pid))
        await asyncio.sleep(0.05)
    sent = await sending
    await asyncio.sleep(1.0)
    after = rss_kb(pid)
    rise = (after - before) / 1024
    print(
        f"  RSS before {before / 1024:.0f} MB, peak {peak / 1024:.0f} MB, 1 s after {after / 1024:.0f} MB"
    )
    row(
        "RSS rise (after - before)",
        f"{rise:.1f} MB",
        f"<= {TARGET_RSS_RISE_MB:.0f} MB",
        rise <= TARGET_RSS_RISE_MB,
    )
    row(
        "RSS rise at the peak",
        f"{(peak - before) / 1024:.1f} MB",
        f"<= {TARGET_RSS_RISE_MB:.0f} MB",
        (peak - before) / 1024 <= TARGET_RSS_RISE_MB,
    )
    print(
        f"  (body bytes the clients got to send before being cut off: {sum(sent) / 1e6:.1f} MB of {count * BIG_BODY / 1e6:.0f} MB)"
    )


async def guesses(port: int, count: int, log: Path) -> None:
    print(f"{count} concurrent wrong pairing codes from one client:")
    logged_before = _wrong_lines(log)

    async def guess() -> str:
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        body = json.dumps({"code": code}).encode()
        _, data = await request(port, head(port, len(body)) + body, 60)
        return data[9:12].decode() or "none"

    answers = await asyncio.gather(*(guess() for _ in range(count)))
    by_status = {status: answers.count(status) for status in sorted(set(answers))}
    checked = by_status.get("403", 0)
    print(f"  answers: {', '.join(f'{n} x {s}' for s, n in by_status.items())}")
    row(
        "guesses checked against the database",
        str(checked),
        f"<= {TARGET_CHECKED}",
        checked <= TARGET_CHECKED,
    )
    await asyncio.sleep(0.5)  # the log handler writes as the answers go out
    logged = _wrong_lines(log) - logged_before
    if logged or checked:
        print(f"  (the log's 'wrong pairing code' lines: {logged})")


def _wrong_lines(log: Path) -> int:
    try:
        return log.read_text(errors="replace").count("wrong pairing code")
    except OSError:
        return 0


async def run(args: argparse.Namespace, pid: int, port: int, log: Path) -> None:
    await slow_clients(port, args.slow)
    await big_bodies(pid, port, args.bodies)
    await guesses(port, args.guesses, log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to run the server from")
    parser.add_argument("--slow", type=int, default=256)
    parser.add_argument("--bodies", type=int, default=30)
    parser.add_argument("--guesses", type=int, default=600)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        argv = [sys.executable, "-m", "notifier", "serve", "--no-browser"]
        argv += ["--data-dir", str(data), "--port", str(port)]
        # cwd: `python -m` puts the working directory first on sys.path, so
        # this runs that tree's notifier whatever is installed.
        proc = subprocess.Popen(
            argv, cwd=args.tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 30
            while asyncio.run(healthz_ms(port)) >= 5000:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
            tree = subprocess.run(
                ["git", "-C", str(args.tree), "log", "-1", "--format=%h %s"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            print(f"server from {args.tree} ({tree[:70]}), pid {proc.pid}, port {port}")
            asyncio.run(run(args, proc.pid, port, data / "logs" / "notifier.log"))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


if __name__ == "__main__":
    main()
