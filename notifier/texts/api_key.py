"""The Anthropic API key: `ANTHROPIC_API_KEY` wins, else a 0600 file in the data dir.

The file is only ever written or removed on the user's explicit request (the
settings screen); the API shows the key `masked`, never in clear.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from notifier.config import Config
from notifier.errors import BadRequest
from notifier.secretfiles import ensure_private_dir, read_secret, write_new_secret

KEY_FILE = "anthropic_api_key"
KEY_PREFIX = "sk-ant-"
MAX_KEY_LEN = 500
_MIN_LEN_TO_HINT = 20  # shorter keys are masked completely: 11 shown chars would be most of them


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def key_source(config: Config) -> Literal["env", "file"] | None:
    """Where the key in use comes from; the settings screen can't change an env key."""
    if config.anthropic_api_key:
        return "env"
    return "file" if key_path(config.data_dir).exists() else None


def load_key(config: Config) -> str | None:
    """The key to use, or None; raises ConfigError if the key file is readable by others."""
    if config.anthropic_api_key:
        return config.anthropic_api_key
    path = key_path(config.data_dir)
    if not path.exists():
        return None
    return read_secret(path).decode("utf-8", "replace").strip() or None


def save_key(data_dir: Path, key: str) -> None:
    """Store `key` (the user asked to), replacing any earlier one atomically."""
    key = key.strip() if isinstance(key, str) else ""
    if not key:
        raise BadRequest("anthropic_api_key: must not be empty")
    if len(key) > MAX_KEY_LEN or not key.isascii() or not key.isprintable() or " " in key:
        raise BadRequest("anthropic_api_key: does not look like an API key")
    ensure_private_dir(data_dir)
    # A fresh 0600 temp file then a rename: a reader sees the old key or the
    # new one, never half a key, and the secret is never briefly world-readable.
    temp = data_dir / f".{KEY_FILE}.{secrets.token_hex(8)}.tmp"
    try:
        write_new_secret(temp, key.encode("ascii"))
        os.replace(temp, key_path(data_dir))
    finally:
        temp.unlink(missing_ok=True)


def clear_key(data_dir: Path) -> bool:
    """Forget the stored key; True if there was one."""
    try:
        key_path(data_dir).unlink()
    except FileNotFoundError:
        return False
    return True


def masked(key: str | None) -> str:
    """ "sk-ant-…abcd": enough to recognise a key, never the key itself."""
    if not key:
        return ""
    if len(key) < _MIN_LEN_TO_HINT:
        return "…"
    prefix = KEY_PREFIX if key.startswith(KEY_PREFIX) else ""
    return f"{prefix}…{key[-4:]}"
