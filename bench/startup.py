"""Benchmark: cold start of the built executable, and its idle memory.

    .venv/bin/python bench/startup.py [--runs 7] [--idle 5] [--exe dist/notifier] [--nice 0]

Builds dist/notifier with PyInstaller if it is missing or older than the
sources (tests/frozen.py), then starts it `--runs` times, each with a fresh
data dir: time from launch to the first 200 from /healthz (the onefile
parent unpacks the bundle, its child starts Python, opens the database and
serves). After `--idle` seconds it sums the resident memory (VmRSS, and PSS,
which counts shared pages once) of all the executable's processes: the
onefile parent and its child. Each run is stopped with SIGTERM and must exit 0
leaving no process and no unpack folder behind. Reports medians.
Targets: start ≤ 1.2 s, idle RSS ≤ 80 MB. Linux only (reads /proc).

CPU time to first 200 (user + sys of both processes) is printed too: on a
busy machine wall time mostly measures the other load; `--nice -10` (root)
gives the runs priority over it.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from frozen import executable  # noqa: E402
from procs import alive, free_port, process_tree, pss_kb, rss_kb, unpack_dirs  # noqa: E402

TARGET_START_S = 1.2
TARGET_RSS_MB = 80.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def cpu_seconds(pid: int) -> float:
    """user + sys time of one process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def one_run(exe: Path, idle: float, nice: int) -> dict[str, float]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="notifier-bench-") as data:
        env = {**os.environ, "NOTIFIER_DATA_DIR": data}
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(exe), "serve", "--no-browser", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            preexec_fn=(lambda: os.setpriority(os.PRIO_PROCESS, 0, nice)) if nice else None,
        )
        try:
            while not healthy(port):
                if proc.poll() is not None:
                    raise SystemExit(f"the executable exited with {proc.returncode}")
                if time.perf_counter() - started > 60:
                    raise SystemExit("no 200 from /healthz within 60 s")
                time.sleep(0.005)
            start_s = time.perf_counter() - started
            pids = process_tree(proc.pid)
            cpu_s = sum(cpu_seconds(pid) for pid in pids)
            time.sleep(idle)
            pids = process_tree(proc.pid)
            rss = sum(rss_kb(pid) for pid in pids) / 1024
            pss = sum(pss_kb(pid) for pid in pids) / 1024
            per_process = " + ".join(f"{rss_kb(pid) / 1024:.1f}" for pid in pids)
            unpacked = unpack_dirs(pids)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
        finally:
            for pid in process_tree(proc.pid) if proc.poll() is None else []:
                os.kill(pid, signal.SIGKILL)
        left = [pid for pid in pids if alive(pid)]
        leftover_dirs = [str(d) for d in unpacked if d.exists()]
        if code != 0 or left or leftover_dirs or not unpacked:
            raise SystemExit(
                f"unclean stop: exit {code}, processes left {left}, unpack dirs left {leftover_dirs}"
            )
        return {
            "start": start_s,
            "cpu": cpu_s,
            "rss": rss,
            "pss": pss,
            "processes": len(pids),
            "split": per_process,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--idle", type=float, default=5.0, help="seconds of idling before memory is read"
    )
    parser.add_argument(
        "--exe", type=Path, help="the executable (default: dist/notifier, built if stale)"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of the measured processes (negative needs root)",
    )
    args = parser.parse_args()
    exe = args.exe or executable()
    print(
        f"executable: {exe} ({exe.stat().st_size / 1e6:.1f} MB), {args.runs} runs, fresh data dir each"
    )
    runs = []
    for n in range(args.runs):
        result = one_run(exe, args.idle, args.nice)
        runs.append(result)
        print(
            f"  run {n + 1}: first 200 after {result['start']:.3f} s (CPU {result['cpu']:.2f} s); "
            f"idle RSS {result['rss']:.1f} MB ({result['split']}), PSS {result['pss']:.1f} MB"
        )
    start = statistics.median(r["start"] for r in runs)
    rss = statistics.median(r["rss"] for r in runs)
    print(
        f"cold start to first 200: median {start:.3f} s (min {min(r['start'] for r in runs):.3f}, "
        f"max {max(r['start'] for r in runs):.3f}); CPU median {statistics.median(r['cpu'] for r in runs):.2f} s; "
        f"target <= {TARGET_START_S} s: {'met' if start <= TARGET_START_S else 'MISSED'}"
    )
    print(
        f"idle memory, all processes: RSS median {rss:.1f} MB, PSS median {statistics.median(r['pss'] for r in runs):.1f} MB; "
        f"target RSS <= {TARGET_RSS_MB:.0f} MB: {'met' if rss <= TARGET_RSS_MB else 'MISSED'}"
    )
    loadavg = os.getloadavg()
    print(
        f"load average during the runs: {loadavg[0]:.2f} {loadavg[1]:.2f} {loadavg[2]:.2f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
