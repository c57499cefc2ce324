"""Benchmark: how late reminders leave, and how often an idle server wakes up.

    .venv/bin/python bench/lateness.py [--reminders 200] [--spread 30] [--idle 180] [--llm-delay 0]

Starts the real server (`python -m notifier serve`) on a temp data dir and a
local push sink, schedules reminders due over `--spread` seconds, and reports
lateness = push accepted by the push service − due time (p50/p99/max).
Then leaves the server idle and counts scheduler wake-ups (debug log lines)
and the process's context switches. `--llm-delay S` points the server at a
fake Anthropic API that answers after S seconds, to show the LLM is never on
the send path. Target: p99 ≤ 250 ms.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notifier.push.payload import topic_for  # noqa: E402

SUBJECT = "mailto:bench@study-notifier.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, **kw)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see its log in the data dir")
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def ctx_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of all the process's threads."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=200)
    parser.add_argument("--spread", type=float, default=30.0)
    parser.add_argument(
        "--idle", type=float, default=180.0, help="seconds of idle measurement (0 to skip)"
    )
    parser.add_argument(
        "--llm-delay", type=float, default=0.0, help="fake Claude answers after this many seconds"
    )
    args = parser.parse_args()

    sink = start([sys.executable, str(ROOT / "bench" / "push_sink.py")])
    sink_url = f"http://127.0.0.1:{sink.stdout.readline().split()[1]}"
    fake = None
    tmp = tempfile.TemporaryDirectory()
    data = Path(tmp.name) / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "NOTIFIER_PUSH_EXTRA_HOSTS": sink_url.split("//")[1],
        "NOTIFIER_LOG_LEVEL": "debug",
    }
    if args.llm_delay:
        sys.path.insert(0, str(ROOT / "tests"))
        from peers.fake_anthropic import FakeAnthropic, slow  # the test suite's fake Messages API

        fake = FakeAnthropic(default=slow(args.llm_delay)).start()
        env.update(ANTHROPIC_API_KEY=fake.api_key, ANTHROPIC_BASE_URL=fake.base_url)
    # Its output goes to the log file in the data dir; an unread pipe would fill and block it.
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "notifier",
            "serve",
            "--no-browser",
            "--data-dir",
            str(data),
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(url, server)
        token = subprocess.run(
            [sys.executable, "-m", "notifier", "token", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.strip()
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        api.put(
            "/api/settings", json={"timezone": "UTC", "vapid_subject": SUBJECT}
        ).raise_for_status()
        api.post(
            "/api/push/subscriptions",
            json={
                "endpoint": f"{sink_url}/push/phone",
                "keys": {
                    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                    "auth": "tBHItJI5svbpez7KI4CCXg",
                },
            },
        ).raise_for_status()

        first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=8)
        due_by_topic = {}
        for i in range(args.reminders):
            start_at = first + timedelta(seconds=int(i * args.spread / args.reminders))
            block = api.post(
                "/api/blocks",
                json={
                    "title": f"Session {i}",
                    "start": start_at.strftime("%Y-%m-%dT%H:%M:%S"),
                    "duration_minutes": 30,
                    "reminder_offsets": [0],
                },
            ).json()
            due_by_topic[topic_for(f"b{block['id']}:{start_at.strftime('%Y%m%dT%H%M%SZ')}:0")] = (
                start_at.timestamp()
            )
        time.sleep((first - datetime.now(UTC)).total_seconds() + args.spread + 3)

        arrivals = httpx.get(f"{sink_url}/stats").json()["arrivals"]
        lateness = [
            (t - due_by_topic[topic]) * 1000 for topic, t in arrivals if topic in due_by_topic
        ]
        sources = {
            r.get("text_source") for r in api.get("/api/reminders", params={"limit": 500}).json()
        }
        print(
            f"reminders scheduled      : {args.reminders} over {args.spread:g} s"
            + (f", fake LLM answering after {args.llm_delay:g} s" if args.llm_delay else "")
        )
        print(
            f"delivered to push service: {len(lateness)}  (text sources: {', '.join(sorted(map(str, sources)))})"
        )
        print(
            f"lateness p50 / p99 / max : {statistics.median(lateness):.1f} / {percentile(lateness, 0.99):.1f} / {max(lateness):.1f} ms"
            f"  (target p99 <= 250 ms: {'met' if percentile(lateness, 0.99) <= 250 else 'NOT met'})"
        )

        if args.idle:
            log_file = data / "logs" / "notifier.log"
            ticks_before = log_file.read_text().count("scheduler: next wake")
            switches_before = ctx_switches(server.pid)
            time.sleep(args.idle)
            ticks = log_file.read_text().count("scheduler: next wake") - ticks_before
            switches = ctx_switches(server.pid) - switches_before
            print(
                f"idle {args.idle:g} s: scheduler wake-ups {ticks} ({ticks / args.idle * 60:.1f}/min), "
                f"context switches {switches} ({switches / args.idle:.1f}/s, all threads)"
            )
        api.close()
    finally:
        server.terminate()
        server.wait(30)
        sink.terminate()
        sink.wait(10)
        if fake:
            fake.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
