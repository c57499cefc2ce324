"""One running instance per data dir, enforced with an OS file lock.

granian does not stop two processes from binding one port (SO_REUSEPORT), and
two schedulers on one database would send every reminder twice, so the data
dir itself is locked. The OS drops the lock when the process dies, even on
SIGKILL, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from notifier.errors import AlreadyRunning

LOCK_FILE = "notifier.lock"
INFO_FILE = "instance.json"


class InstanceLock:
    """Exclusive, non-blocking lock on `<data dir>/notifier.lock`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning naming the running instance."""
        fh = open(self.data_dir / LOCK_FILE, "a+")
        try:
            _lock(fh)
        except OSError:
            fh.close()
            info = running_instance(self.data_dir) or {}
            where = f" at {info['url']}" if info.get("url") else ""
            pid = f" (pid {info['pid']})" if info.get("pid") else ""
            raise AlreadyRunning(
                f"Study Notifier is already running for {self.data_dir}{where}{pid}. "
                "Use that one, or stop it first."
            ) from None
        self._fh = fh

    def publish(self, url: str, **extra: str) -> None:
        """Tell later launches (and `notifier pair`) where this instance listens."""
        path = self.data_dir / INFO_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "url": url, **extra}))
        os.replace(tmp, path)

    def release(self) -> None:
        if self._fh is None:
            return
        try:
            (self.data_dir / INFO_FILE).unlink(missing_ok=True)
        except OSError:
            pass  # a read-only or full data folder: the lock below is what counts
        _unlock(self._fh)
        self._fh.close()
        self._fh = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def running_instance(data_dir: Path) -> dict[str, Any] | None:
    """What the running instance published about itself, if anything."""
    try:
        return json.loads((data_dir / INFO_FILE).read_text())
    except (OSError, ValueError):
        return None


if sys.platform == "win32":  # (not os.name: mypy checks each branch for its own platform)
    import msvcrt

    def _lock(fh: IO[str]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(fh: IO[str]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
