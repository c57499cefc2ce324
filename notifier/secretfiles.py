"""Secret files in the data dir: created once, mode 0600, never silently replaced."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from notifier.errors import ConfigError


def ensure_private_dir(path: Path) -> Path:
    """A folder only the user can change: made 0700 if we create it, refused if others can write to it.

    A folder the app did not make keeps its mode: it may be shared (a 1777
    folder holding other people's files), and changing it would be ours to
    regret. But keys and the database must not sit where someone else can
    replace them, so a group- or world-writable folder is refused instead.
    """
    try:
        path.mkdir(parents=True, mode=0o700)
    except FileExistsError:
        if not path.is_dir():
            raise ConfigError(
                f"{path} is a file, not a folder; choose another --data-dir."
            ) from None
        _refuse_shared(path)
        return path
    if os.name == "posix":
        os.chmod(path, 0o700)  # ours: exactly 0700 whatever the umask
    return path


def _refuse_shared(path: Path) -> None:
    if os.name != "posix":
        return  # Windows user folders carry ACLs, not modes
    st = path.stat()
    mode = st.st_mode & 0o7777
    if mode & 0o022:
        raise ConfigError(
            f"{path} can be changed by other users (mode {mode:o}), so it cannot hold "
            f"Study Notifier's keys; run `chmod go-w {path}` or use a folder only you can write to."
        )
    if st.st_uid != os.getuid():
        raise ConfigError(
            f"{path} belongs to another user, so it cannot hold Study Notifier's keys; "
            "use a folder of your own."
        )


def write_new_secret(path: Path, data: bytes) -> None:
    """Write a secret file that must not exist yet, readable by the owner only.

    O_EXCL makes creation atomic: two processes racing cannot both write, and
    an existing secret is never overwritten.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    try:
        rest = memoryview(data)
        while rest:  # a nearly full disk may take only part of it
            rest = rest[os.write(fd, rest) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        # A half-written secret (a full disk) would be read back as the real one
        # at the next start and never replaced: remove it, so the next start makes it anew.
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def read_secret(path: Path) -> bytes:
    """Read a secret file, refusing one that others can read."""
    if os.name == "posix":
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
            )
    return path.read_bytes()


def load_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """Return the secret at `path`, creating it with `make()` on first use."""
    if path.exists():
        return read_secret(path)
    try:
        write_new_secret(path, make())
    except FileExistsError:
        pass  # another process won the race; use its secret
    return read_secret(path)
