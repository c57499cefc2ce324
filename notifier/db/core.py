"""The one SQLite connection: opening, migrating, transactions."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from notifier.db.migrations import MIGRATIONS, SCHEMA_VERSION
from notifier.errors import DatabaseTooNew, StorageError

log = logging.getLogger(__name__)


class CoreDB:
    """Owns the connection; every write goes through `transaction()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        # One writer at a time inside this process; BEGIN IMMEDIATE takes the
        # SQLite write lock up front so a second process (e.g. `notifier token`)
        # waits on busy_timeout instead of failing half-way.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, *, migrate: bool = True):
        """Open (creating if needed) and migrate the database at `path`."""
        _make_private(path)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {path}: {exc}") from exc
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await db._prepare(migrate)
        except BaseException:
            await conn.close()
            raise
        return db

    async def _prepare(self, migrate: bool) -> None:
        await self.conn.execute("PRAGMA busy_timeout = 5000")
        try:
            version = await self.schema_version()
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{self.path} is not a usable SQLite database: {exc}") from exc
        # Check before any write (even the WAL switch) so a newer database is
        # left exactly as it was.
        if version > SCHEMA_VERSION:
            raise DatabaseTooNew(
                f"{self.path} was written by a newer version of Study Notifier "
                f"(schema {version}, this version knows {SCHEMA_VERSION}). "
                "Run the newer version, or restore a backup; the file was not changed."
            )
        await self.conn.execute("PRAGMA journal_mode = WAL")
        await self.conn.execute("PRAGMA synchronous = NORMAL")
        await self.conn.execute("PRAGMA foreign_keys = ON")
        if migrate:
            await self.migrate()

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0])

    async def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; return the version."""
        async with self._write_lock:
            while True:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    version = await self.schema_version()
                    if version >= len(MIGRATIONS):
                        await self.conn.execute("COMMIT")
                        return version
                    step = MIGRATIONS[version]
                    log.info("applying migration %s", step.__name__)
                    await step(self.conn)
                    await self.conn.execute(f"PRAGMA user_version = {version + 1}")
                    await self.conn.execute("COMMIT")
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction; commits on success, rolls back on any error."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement in its own write transaction; returns the number of rows it changed."""
        async with self.transaction() as conn:
            cur = await conn.execute(sql, tuple(params))
            return cur.rowcount

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def close(self) -> None:
        await self.conn.close()


def _make_private(path: Path) -> None:
    """The database holds token hashes and push keys: owner-only, like every secret file.

    SQLite gives its -wal and -shm files the main file's mode, so this covers them.
    """
    if str(path) == ":memory:" or os.name != "posix":
        return
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
    except OSError:
        pass  # unreadable or missing folder: connect() reports it properly
