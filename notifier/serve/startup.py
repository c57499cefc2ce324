"""Why a start failed, in one sentence, and the checks that must pass before listening.

granian reports any failure inside the app's start as a bare
`FatalError: ASGI lifespan startup`; the app keeps the real exception
(`app.state.startup_error`) and `explain()` turns it, or any error met
before, into one sentence: what is wrong, which file, what to do.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
import sys

from notifier.config import Config
from notifier.db.core import storage_error
from notifier.errors import ConfigError, NotifierError


class StartupFailed(NotifierError):
    """The server could not start; `detail` says why and what to do."""

    code = "startup_failed"


def explain(exc: BaseException, config: Config) -> str:
    """One sentence for a failed start."""
    if isinstance(exc, NotifierError):
        return exc.detail
    if isinstance(exc, sqlite3.Error):
        return storage_error(config.db_path, exc).detail
    if isinstance(exc, OSError):
        where = exc.filename or config.data_dir
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            return f"The disk holding {where} is full; free some space, then start Study Notifier again."
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return (
                f"{where} cannot be written ({reason}); make the data folder writable by you, "
                "or choose another with --data-dir."
            )
        return f"Study Notifier could not use {where} ({reason})."
    return f"Study Notifier could not start ({type(exc).__name__}: {exc})."


def refuse_if_listening(host: str, port: int, flag: str = "--port") -> None:
    """Raise ConfigError if anything already listens on host:port.

    granian binds with SO_REUSEPORT, so on Linux a second server on the same
    port (another Study Notifier with another data dir, or any program that
    does the same) would not fail: the kernel would share the connections
    between the two. A plain bind without that option fails whenever
    something listens there, so it is tried first. (A program that starts
    listening between this check and granian's bind is not caught.)
    """
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ConfigError(f"Cannot listen on {host!r}: {exc.strerror}.") from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            if sys.platform == "win32":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            else:
                # Ignore connections of a server that just stopped (TIME_WAIT),
                # never a live listener: Linux refuses the bind while one exists.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
                    raise ConfigError(
                        f"Port {port} on {host} is already in use by another program (or another "
                        f"Study Notifier with a different data folder); stop it, or choose a free "
                        f"port with {flag}."
                    ) from None
                raise ConfigError(
                    f"Cannot listen on {host} port {port} ({exc.strerror}); choose another with {flag}."
                ) from None
