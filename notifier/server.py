"""Run the app under granian's embedded server, in this process and this loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import webbrowser
from typing import Any

from .app import create_app
from .config import Config
from .errors import AlreadyRunning, NotifierError
from .instance import InstanceLock
from .logs import setup_logging
from .secretfiles import ensure_private_dir

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_ALREADY_RUNNING = 3


def serve(config: Config, *, open_browser: bool = True) -> int:
    """Serve until Ctrl-C or SIGTERM; returns the process exit code."""
    ensure_private_dir(config.data_dir)
    setup_logging(config)
    lock = InstanceLock(config.data_dir)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(exc.detail, file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    try:
        asyncio.run(_serve(config, lock, open_browser))
    except NotifierError as exc:
        log.error("%s", exc.detail)
        return EXIT_ERROR
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", config.host, config.port, exc)
        return EXIT_ERROR
    finally:
        lock.release()
    return EXIT_OK


async def _serve(config: Config, lock: InstanceLock, open_browser: bool) -> None:
    from granian.constants import Interfaces
    from granian.server.embed import Server

    async def on_ready(app: Any) -> None:
        lock.publish(config.local_url)
        print(f"Study Notifier is running at {config.local_url}  (Ctrl-C to stop)", flush=True)
        if open_browser:
            await asyncio.get_running_loop().run_in_executor(None, webbrowser.open, config.local_url)

    app = create_app(config, on_ready=on_ready)
    server = Server(
        app,
        address=config.host,
        port=config.port,
        interface=Interfaces.ASGI,
        websockets=False,
        log_enabled=False,  # our logging setup owns the output
    )
    _install_signal_handlers(server)
    await server.serve()


def _install_signal_handlers(server: Any) -> None:
    loop = asyncio.get_running_loop()
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            loop.add_signal_handler(sig, server.stop)
        except (NotImplementedError, RuntimeError):
            # Windows has no loop signal handlers; a plain handler wakes the loop.
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(server.stop))
