"""The launcher's console: what a double-click shows, and closing that console.

A windowed build (or a service manager) may give the process no console at
all: `sys.stdout` is then None or not a terminal, so nothing here assumes one.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

# Windows console control events that end the process once the handler returns.
_CTRL_CLOSE_EVENT, _CTRL_LOGOFF_EVENT, _CTRL_SHUTDOWN_EVENT = 2, 5, 6
_keep: list[Any] = []  # the ctypes callback must outlive its registration


def say(*lines: str, err: bool = False) -> None:
    """Print to the console if there is one; a closed or missing console is not an error."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    for line in lines:
        try:
            print(line, file=stream, flush=True)
        except (
            OSError,
            UnicodeError,
            ValueError,
        ):  # a hung-up terminal, a narrow code page, a closed file
            return


def interactive() -> bool:
    """A person is looking at this console (not a log file, pipe or service journal)."""
    try:
        return sys.stdout is not None and sys.stdout.isatty()
    except (OSError, ValueError):
        return False


def show_pairing_qr(text: str) -> bool:
    """Print a QR code for `text` in text blocks; False if this console cannot show it."""
    from notifier.access.pairing import qr_terminal

    qr = qr_terminal(text)
    try:
        qr.encode(sys.stdout.encoding or "ascii")
    except (LookupError, UnicodeError, AttributeError):
        return False
    say(qr)
    return True


def open_in_browser(url: str) -> bool:
    """Open `url` in the user's browser; False if there is none to open."""
    import webbrowser

    _restore_library_path()
    try:
        return webbrowser.open(url)
    except Exception:  # no browser, no display: the URL is printed anyway
        return False


def _restore_library_path() -> None:
    """Give programs we start the user's library path, not the bundle's.

    A PyInstaller build on Linux points LD_LIBRARY_PATH at its unpacked
    libraries (OpenSSL, libstdc++ …); a browser started with it may load those
    instead of its own and crash. Our own process read the variable at start,
    so changing it now only affects the programs it starts.
    """
    if not getattr(sys, "frozen", False) or "LD_LIBRARY_PATH" not in os.environ:
        return
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = original


def on_console_close(
    stop: Callable[[], None], stopped: threading.Event, grace: float = 4.5
) -> None:
    """Windows: shut down cleanly when the console window is closed, or at log-off or shutdown.

    Python maps those events to SIGBREAK, but Windows ends the process as soon
    as the C runtime's handler returns, before any Python code runs. This
    handler instead asks the server to stop and waits (Windows allows about
    5 s; a onefile parent gives its child 0.5 s before it ends it and removes
    its temp folder). Ctrl-C and Ctrl-Break keep Python's usual handling.
    """
    if sys.platform != "win32":  # (sys.platform, not os.name: mypy skips the Windows-only calls)
        return
    import ctypes
    from ctypes import wintypes

    def handler(event: int) -> bool:
        if event not in (_CTRL_CLOSE_EVENT, _CTRL_LOGOFF_EVENT, _CTRL_SHUTDOWN_EVENT):
            return False  # not ours: SIGINT / SIGBREAK as usual
        stop()
        stopped.wait(grace)
        return True

    callback = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)(handler)
    if ctypes.windll.kernel32.SetConsoleCtrlHandler(callback, True):
        _keep.append(callback)
