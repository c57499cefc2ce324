"""Secret files in the data dir: created once, mode 0600, never silently replaced."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from notifier.errors import ConfigError


def ensure_private_dir(path: Path) -> Path:
    """Create a folder only the user can read (0700 where the OS has modes)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(path, 0o700)
    return path


def write_new_secret(path: Path, data: bytes) -> None:
    """Write a secret file that must not exist yet, readable by the owner only.

    O_EXCL makes creation atomic: two processes racing cannot both write, and
    an existing secret is never overwritten.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
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
