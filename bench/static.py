"""Benchmark: start-up and page load of `notifier serve` (the PWA's files come through the app).

    .venv/bin/python bench/static.py [--runs 5] [--tree DIR]

Starts `python -m notifier serve` from this checkout (or `--tree`, e.g. an
older worktree, to compare) `--runs` times with a fresh data dir: the time
from launch to the first 200 from /healthz. Then loads the page the way a
browser does on one keep-alive connection: `/` and every file under web/ it
may ask for, first cold, then revalidated with If-None-Match (what a reload
does). Medians; each figure is printed next to its target. On a busy machine
wall time mostly measures the other load, so the server's own CPU time for
each page load is printed too (Linux: /proc).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from procs import free_port  # noqa: E402

TARGET_START_S = 1.2
TARGET_PAGE_MS = 100.0
TARGET_RELOAD_MS = 50.0
TYPES = {".html", ".js", ".css", ".webmanifest", ".png", ".svg"}


def page_paths(tree: Path) -> list[str]:
    web = tree / "web"
    files = sorted(p for p in web.rglob("*") if p.is_file() and p.suffix in TYPES)
    return ["/"] + ["/" + p.relative_to(web).as_posix() for p in files]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(tree: Path, paths: list[str]) -> tuple[float, float, float, float, float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        argv = [sys.executable, "-m", "notifier", "serve", "--no-browser"]
        argv += ["--data-dir", f"{tmp}/data", "--port", str(port)]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=0.5, trust_env=False).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.01)
                if proc.poll() is not None or time.perf_counter() - started > 30:
                    raise SystemExit("the server did not start")
            start = time.perf_counter() - started
            with httpx.Client(base_url=url, trust_env=False) as client:
                t0, c0 = time.perf_counter(), cpu_s(proc.pid)
                tags = {}
                for path in paths:
                    response = client.get(path)
                    if response.status_code != 200:
                        raise SystemExit(f"{path}: {response.status_code}")
                    tags[path] = response.headers.get("etag")
                page, page_cpu = time.perf_counter() - t0, cpu_s(proc.pid) - c0
                t0, c0 = time.perf_counter(), cpu_s(proc.pid)
                for path in paths:
                    client.get(path, headers={"If-None-Match": tags[path]} if tags[path] else {})
                reload, reload_cpu = time.perf_counter() - t0, cpu_s(proc.pid) - c0
            return start, page, reload, page_cpu, reload_cpu
        finally:
            proc.terminate()
            proc.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", type=Path, default=ROOT)
    args = parser.parse_args()
    paths = page_paths(args.tree)
    runs = [one_run(args.tree, paths) for _ in range(args.runs)]
    start, page, reload, page_cpu, reload_cpu = (
        statistics.median(r[i] for r in runs) for i in range(5)
    )
    print(f"tree: {args.tree}  ({len(paths)} files per page load, {args.runs} runs, medians)")
    print(f"start to first /healthz: {start:6.2f} s    target ≤ {TARGET_START_S} s")
    print(
        f"page load, cold:         {page * 1000:6.1f} ms   target ≤ {TARGET_PAGE_MS:.0f} ms"
        f"   (server CPU {page_cpu * 1000:.0f} ms)"
    )
    print(
        f"page load, revalidated:  {reload * 1000:6.1f} ms   target ≤ {TARGET_RELOAD_MS:.0f} ms"
        f"   (server CPU {reload_cpu * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
