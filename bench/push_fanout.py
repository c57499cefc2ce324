"""Benchmark: fan-out of N pushes to a local push service, and the CPU cost per message.

    .venv/bin/python bench/push_fanout.py [--messages 3000] [--concurrency 64]

Prints messages/s for the real send path (PushSender.fan_out: encrypt + VAPID
sign + HTTP POST on pooled keep-alive connections) and the CPU cost of
encryption + signing alone (pywebpush's aes128gcm encode and the VAPID JWT,
no I/O) measured in the same run, so the two can be compared: target ≥ 1000
msg/s and at least half of what the CPU cost alone allows on one core (the
sender is one asyncio loop; the push service stub runs on the other core).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from notifier.push import payload as payloads
from notifier.push.sender import Outcome, PushSender, Target, encrypt
from notifier.push.vapid import VapidKeys

SUBJECT = "mailto:bench@study-notifier.example"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_targets(n: int, origin: str) -> list[Target]:
    targets = []
    for i in range(n):
        point = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        targets.append(Target(i, f"{origin}/push/{i}", b64(point), b64(os.urandom(16))))
    return targets


def start_sink() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("push_sink.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().split()
    if not line or line[0] != "ready":
        proc.kill()
        raise SystemExit("push sink did not start")
    return proc, f"http://127.0.0.1:{line[1]}"


def cpu_cost(vapid: VapidKeys, targets: list[Target], message: dict) -> float:
    """Seconds of CPU per message for encryption + VAPID signing alone."""
    data = payloads.encode(message)
    start = time.process_time()
    for t in targets:
        vapid.authorization(t.endpoint, SUBJECT)
        encrypt(t, data)
    return (time.process_time() - start) / len(targets)


async def fan_out(
    vapid: VapidKeys, targets: list[Target], message: dict, concurrency: int, host_port: str
) -> tuple[float, float, list]:
    async with PushSender(
        vapid, extra_hosts=frozenset({host_port}), concurrency=concurrency
    ) as sender:
        await sender.fan_out(targets[:50], message, subject=SUBJECT)  # warm the connection pool
        start, cpu = time.perf_counter(), time.process_time()
        results = await sender.fan_out(targets, message, subject=SUBJECT)
        return time.perf_counter() - start, time.process_time() - cpu, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    sink, origin = start_sink()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            vapid = VapidKeys.load_or_create(Path(tmp))
            targets = make_targets(args.messages, origin)
            message = payloads.build(
                kind="reminder",
                title="Calculus in 15 minutes",
                body="Grab your notes and a glass of water, the integrals won't solve themselves.",
                url="/#/occurrence/1/20261123T170000Z",
                tag="b1:20261123T170000Z:15",
                actions=payloads.REMINDER_ACTIONS,
                action_token="x" * 43,
            )
            costs, rates, cpu_rates = [], [], []
            for _ in range(args.rounds):
                costs.append(cpu_cost(vapid, targets[:1000], message))
                elapsed, cpu, results = asyncio.run(
                    fan_out(vapid, targets, message, args.concurrency, origin.split("//")[1])
                )
                delivered = sum(r.outcome is Outcome.DELIVERED for r in results)
                if delivered != len(targets):
                    raise SystemExit(f"only {delivered}/{len(targets)} delivered: {results[0]}")
                rates.append(len(targets) / elapsed)
                cpu_rates.append(len(targets) / cpu)
    finally:
        sink.terminate()
        sink.wait(10)

    cost = statistics.median(costs)
    rate = statistics.median(rates)
    cpu_rate = statistics.median(cpu_rates)
    cpu_bound = 1 / cost
    print(
        f"messages per round        : {args.messages} (concurrency {args.concurrency}, {args.rounds} rounds)"
    )
    print(
        f"fan-out throughput (wall) : {rate:8.0f} msg/s  (median; rounds: {', '.join(f'{r:.0f}' for r in rates)})"
    )
    print(
        f"fan-out per sender CPU-s  : {cpu_rate:8.0f} msg/s  (wall-clock figure without other load on the core)"
    )
    print(
        f"CPU cost encrypt+sign     : {cost * 1e6:8.0f} us/msg  -> at most {cpu_bound:.0f} msg/s on one core"
    )
    print(f"wall / CPU-only max       : {rate / cpu_bound:8.0%}  (target >= 50%)")
    print(
        f"CPU-s / CPU-only max      : {cpu_rate / cpu_bound:8.0%}  (share of the sender's CPU spent on crypto)"
    )
    print(f"target >= 1000 msg/s      : {'met' if rate >= 1000 else 'NOT met'}")


if __name__ == "__main__":
    main()
