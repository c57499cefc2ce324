"""Schema migrations: an ordered list of small named functions, applied once each.

The schema version is `PRAGMA user_version` = number of migrations applied.
A database with a higher version than this list was written by a newer app;
it is refused and left untouched.
"""

from __future__ import annotations

from typing import Awaitable, Callable

import aiosqlite

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


async def m001_initial(db: aiosqlite.Connection) -> None:
    """Settings, device tokens, push subscriptions and idempotency records."""
    await db.execute(
        """CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL              -- JSON
        )"""
    )
    await db.execute(
        """CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE, -- sha256 hex of the bearer token
            label TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT 'device',
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )"""
    )
    await db.execute(
        """CREATE TABLE push_subscriptions (
            id INTEGER PRIMARY KEY,
            endpoint TEXT NOT NULL UNIQUE,
            p256dh TEXT NOT NULL,
            auth TEXT NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            expiration_time INTEGER,         -- ms since epoch, from the browser
            token_id INTEGER REFERENCES tokens(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            last_success_at TEXT,
            last_error TEXT,
            last_error_at TEXT,
            failure_count INTEGER NOT NULL DEFAULT 0
        )"""
    )
    await db.execute(
        """CREATE TABLE idempotency (
            token_id INTEGER NOT NULL,
            key TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            status INTEGER NOT NULL,
            body BLOB NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (token_id, key)
        )"""
    )


MIGRATIONS: tuple[Migration, ...] = (m001_initial,)

SCHEMA_VERSION = len(MIGRATIONS)
