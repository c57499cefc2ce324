"""A minimal push service for benchmarks: answers 201 to every POST, on 127.0.0.1.

Runs in its own process so its CPU does not count against the sender's.
Prints `ready <port>` when listening. Stops on SIGTERM or when stdin closes.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time

from aiohttp import web


async def main() -> None:
    count = 0
    arrivals: list[tuple[str, float]] = []  # (Topic, time accepted)

    async def push(request: web.Request) -> web.Response:
        nonlocal count
        await request.read()
        count += 1
        arrivals.append((request.headers.get("Topic", ""), time.time()))
        return web.Response(status=201)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"count": count, "arrivals": arrivals})

    app = web.Application()
    app.router.add_post("/push/{id}", push)
    app.router.add_get("/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"ready {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
