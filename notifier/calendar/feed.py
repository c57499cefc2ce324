"""The calendar feed's secret: a long random name in the feed's URL, revocable by rotation.

The feed is public by this secret alone (calendar apps cannot send a token), so it is
long (256 bits), kept in a 0600 file like the other secrets, and compared in constant time.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from notifier.secretfiles import load_or_create, read_secret, write_new_secret

SECRET_FILE = "calendar_feed_secret"
FEED_PREFIX = "/feed/"


def _new() -> bytes:
    return secrets.token_urlsafe(32).encode()


def feed_secret(data_dir: Path) -> str:
    """The feed's secret, made on first use."""
    return load_or_create(data_dir / SECRET_FILE, _new).decode().strip()


def rotate(data_dir: Path) -> str:
    """A new secret: the old feed URL stops working at once."""
    path = data_dir / SECRET_FILE
    temp = data_dir / f".{SECRET_FILE}.{secrets.token_hex(8)}.tmp"
    write_new_secret(temp, _new())
    os.replace(temp, path)  # atomic: a reader sees the old secret or the new one
    return read_secret(path).decode().strip()


def matches(data_dir: Path, presented: str) -> bool:
    """Is `presented` the feed's secret? False when no feed was ever made."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        return False
    return hmac.compare_digest(presented.encode(), read_secret(path).strip())


def feed_path(secret: str) -> str:
    return f"{FEED_PREFIX}{secret}.ics"
