"""Run the app under granian's embedded server, in this process and this loop."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from notifier.access.pairing import NO_PHONE_ORIGIN
from notifier.app import create_app
from notifier.config import Config
from notifier.errors import AlreadyRunning, ConfigError, NotifierError
from notifier.secretfiles import ensure_private_dir
from notifier.serve.console import interactive, on_console_close, open_in_browser, say
from notifier.serve.instance import InstanceLock
from notifier.serve.limits import granian_options
from notifier.serve.logs import setup_logging
from notifier.serve.startup import StartupFailed, explain, refuse_if_listening

if TYPE_CHECKING:
    from notifier.serve.lan_listener import LanHttps

SWITCH_SECONDS = 0.0005  # how long a thread waiting for the GIL waits at most
MAPPED_BYTES = 256 * 1024  # buffers this big or bigger get memory of their own (glibc)

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 1  # failed while running
EXIT_STARTUP = 2  # could not start: the reason is on stderr (and in the log if there is one)
EXIT_ALREADY_RUNNING = 3


def _map_big_buffers() -> None:
    """With glibc, give every buffer of MAPPED_BYTES or more its own mapping, returned to
    the system when freed. An agenda of two months is a 6 MB text, copied a few times on
    its way out; glibc otherwise raises this threshold after the first such buffer is
    freed, and later ones stay in the heap as free memory it keeps (server RSS rose by
    ~13 MB after a few two-month agendas of 1,000 blocks, ~6 MB with this)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, MAPPED_BYTES)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): nothing to tune
        return


_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def serve(config: Config, *, open_browser: bool = True) -> int:
    """Serve until Ctrl-C or SIGTERM; returns the process exit code."""
    try:
        ensure_private_dir(config.data_dir)
        lock = InstanceLock(config.data_dir)
        lock.acquire()
    except AlreadyRunning as exc:
        # A second double-click: bring up the running one instead of failing.
        if open_browser and _open_running(config):
            return EXIT_OK
        say(exc.detail, err=True)
        return EXIT_ALREADY_RUNNING
    except (NotifierError, OSError) as exc:
        say(f"error: {explain(exc, config)}", err=True)  # no log: the data folder is unusable
        return EXIT_STARTUP
    stopped = threading.Event()
    try:
        setup_logging(config)  # only the instance that holds the lock writes the log
        refuse_if_listening(config.host, config.port)
        if config.https:
            refuse_if_listening(config.https_host, config.https_port, "--https-port")
        asyncio.run(_serve(config, lock, open_browser, stopped))
    except (StartupFailed, NotifierError, OSError) as exc:
        return _failed_start(explain(exc, config))
    finally:
        lock.release()
        stopped.set()
    return EXIT_OK


def _failed_start(sentence: str) -> int:
    say(f"error: {sentence}", err=True)
    log.error("could not start: %s", sentence, extra={"console": False})  # stderr has it already
    return EXIT_STARTUP


def _open_running(config: Config, wait: float = 15.0) -> bool:
    """Open the browser on the instance that holds the lock, signed in with a fresh one-time link."""
    from notifier.serve.codes import login
    from notifier.serve.instance import running_instance

    deadline = time.monotonic() + wait
    while not (info := running_instance(config.data_dir)):  # it may still be starting
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    say(f"Study Notifier is already running at {info.get('url')}; opening it in your browser.")
    return login(config, open_browser=True, show=interactive()) == 0


async def _serve(
    config: Config, lock: InstanceLock, open_browser: bool, stopped: threading.Event
) -> None:
    from granian.constants import Interfaces
    from granian.server.embed import Server

    from notifier.access.pairing import login_link

    lan_https: LanHttps | None = None
    stopping: list[asyncio.Task[None]] = []
    # Set once listening and announced: later failures are not start-up ones.
    ready = asyncio.Event()

    async def on_ready(app: Any) -> None:
        nonlocal lan_https
        # certificates and x509 load only when the listener starts
        from notifier.serve.lan_listener import attach_lan_https

        try:
            lan_https = await attach_lan_https(app, config)
        except OSError as exc:
            raise ConfigError(
                f"Cannot serve HTTPS on port {config.https_port} ({exc}); "
                "choose another with --https-port."
            ) from exc
        phone_url = app.state.pairing.phone_origin()
        lock.publish(config.local_url, phone_url=phone_url or "")
        say(f"Study Notifier is running at {config.local_url}  (Ctrl-C to stop)")
        if phone_url:
            say(f"Phones use {phone_url}")
        if lan_https.running:
            from notifier.host.tls import ca_der, fingerprint

            fp = fingerprint(ca_der(config.data_dir) or b"")
            lan_url = app.state.pairing.lan_origin() or phone_url
            say(f"Phones trust it once via {lan_url}/ca/ (CA SHA-256 {fp})")
        if phone_url is None:
            say(NO_PHONE_ORIGIN)
        elif interactive():  # a live pairing code only on a screen, never into a log or journal
            from notifier.access.pairing import PAIR
            from notifier.serve.codes import show_code

            say("", "Pair a phone:")
            show_code(phone_url, await app.state.pairing.issue(app.state.db, PAIR))
        else:
            say("Pair a phone from the dashboard, or with `notifier pair`.")
        say(f"Data and logs: {config.data_dir}")
        ready.set()
        # What start-up made (modules, the app and its state) lives to the end: frozen, a
        # full garbage collection no longer walks it each time (with 5,000 blocks one took
        # ~100 ms of the event loop, in the middle of a reschedule).
        gc.collect()
        gc.freeze()
        # granian's I/O threads need the GIL to hand each request to this loop, and while
        # long work runs here in slices (a reschedule) they got it only when Python forced
        # a switch, every 5 ms by default: a request waited that long several times over.
        sys.setswitchinterval(SWITCH_SECONDS)
        _map_big_buffers()
        on_screen = interactive()
        if not (on_screen or open_browser):
            say("Sign a browser in with `notifier login`.")
            return
        # Like a notebook server's token URL: one use, and only this browser gets in.
        link = await login_link(app.state.pairing, app.state.db, config.local_url)
        if on_screen:  # a live credential: never into a log file or a service's journal
            say(f"Sign this computer's browser in with {link}")
        else:
            say("Opening the browser; `notifier login` signs in another one.")
        if open_browser:
            await asyncio.get_running_loop().run_in_executor(None, open_in_browser, link)

    app = create_app(config, on_ready=on_ready)
    server = Server(
        app,
        address=config.host,
        port=config.port,
        interface=Interfaces.ASGI,
        websockets=False,
        log_enabled=False,  # our logging setup owns the output
        **granian_options(),
    )

    def stop() -> None:
        if stopping:  # a terminal's Ctrl-C or hang-up reaches both onefile processes: the child hears it twice
            return

        async def in_order() -> None:
            if lan_https is not None:  # it shares the state the main server's lifespan closes
                await lan_https.stop()
            server.stop()

        stopping.append(asyncio.get_running_loop().create_task(in_order()))  # keep a reference

    _install_signal_handlers(stop)
    loop = asyncio.get_running_loop()

    def stop_from_another_thread() -> None:
        loop.call_soon_threadsafe(stop)

    on_console_close(stop_from_another_thread, stopped)
    try:
        await server.serve()
    except Exception as exc:
        cause = app.state.get("startup_error")
        if cause is not None:  # granian says only "ASGI lifespan startup"
            raise StartupFailed(explain(cause, config)) from cause
        if not ready.is_set():
            raise StartupFailed(explain(exc, config)) from exc  # e.g. the port could not be bound
        raise
    finally:
        if lan_https is not None:
            await lan_https.stop()


def _install_signal_handlers(stop: Any) -> None:
    loop = asyncio.get_running_loop()
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError):
            # Windows has no loop signal handlers; a plain handler wakes the loop.
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop))
