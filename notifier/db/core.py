"""The one SQLite connection: opening, migrating, transactions."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import aiosqlite

from notifier.clock import from_iso
from notifier.db.migrations import MIGRATIONS, SCHEMA_VERSION
from notifier.errors import DatabaseTooNew, StorageError

log = logging.getLogger(__name__)

NO_ROOM = 1024 * 1024  # free bytes below which an I/O error is taken for a full disk


class CoreDB:
    """Owns the connection; every write goes through `transaction()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        # One writer at a time inside this process; BEGIN IMMEDIATE takes the
        # SQLite write lock up front so a second process (e.g. `notifier token`)
        # waits on busy_timeout instead of failing half-way.
        self._write_lock = asyncio.Lock()
        self._quiet_until = 0.0  # monotonic time before which skipped writes are not logged again

    @classmethod
    async def open(cls, path: Path, *, migrate: bool = True) -> Self:
        """Open (creating if needed) and migrate the database at `path`."""
        _make_private(path)
        await _inspect(path)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise storage_error(path, exc) from exc
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await db._prepare(migrate)
        except sqlite3.Error as exc:
            await conn.close()
            raise storage_error(path, exc) from exc
        except BaseException:
            await conn.close()
            raise
        return db

    async def _prepare(self, migrate: bool) -> None:
        await self.conn.execute("PRAGMA busy_timeout = 5000")
        await self.conn.execute("PRAGMA journal_mode = WAL")
        await self.conn.execute("PRAGMA synchronous = NORMAL")
        await self.conn.execute("PRAGMA foreign_keys = ON")
        if migrate:
            await self.migrate()

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            return int(await single_value(cur))

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
                # SQLite may have rolled back already (a full disk does); a second
                # ROLLBACK would fail and hide the error that matters.
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """Reads that must see one state of the database, in a read transaction (it takes
        no write lock in SQLite, so writers in other processes neither wait for it nor it
        for them). The lock keeps this process's writers from running statements inside."""
        async with self._write_lock:
            await self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                if self.conn.in_transaction:
                    await self.conn.execute("COMMIT")

    async def write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement in its own write transaction; returns the number of rows it changed."""
        async with self.transaction() as conn:
            cur = await conn.execute(sql, tuple(params))
            return cur.rowcount

    async def write_best_effort(self, sql: str, params: Iterable[Any] = ()) -> int:
        """A bookkeeping write (a token's last use…): if the disk is full or read-only, skip it.

        Such a write is a side effect of a read; failing the read because of it
        would turn a full disk into an app that shows nothing at all.
        """
        try:
            return await self.write(sql, params)
        except sqlite3.OperationalError as exc:
            now = time.monotonic()
            if now >= self._quiet_until:  # a warning a minute, not one per request
                self._quiet_until = now + 60
                log.warning("skipped a bookkeeping write to %s: %s", self.path, exc)
            return 0

    # Rows stay inside db/: the query modules turn them into records (records.py).
    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def _fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def close(self) -> None:
        await self.conn.close()


def inserted_id(cursor: aiosqlite.Cursor) -> int:
    """The rowid an INSERT just made (SQLite reports one for every successful INSERT)."""
    if cursor.lastrowid is None:
        raise StorageError("The database did not report the id of a new row.")
    return cursor.lastrowid


async def single_value(cursor: aiosqlite.Cursor) -> Any:
    """The first column of the one row a query like `SELECT count(*)` always returns."""
    row = await cursor.fetchone()
    if row is None:
        raise StorageError("The database returned no row where one is always expected.")
    return row[0]


async def _inspect(path: Path) -> None:
    """Refuse a newer or damaged database, looking through a read-only connection.

    Nothing is written before these checks pass: not the WAL switch, and not
    the checkpoint SQLite makes when the last read-write connection closes,
    which would fold a pending WAL into a file we are about to call damaged.
    """
    if str(path) == ":memory:":
        return
    try:
        async with aiosqlite.connect(_read_only_uri(path), uri=True) as conn:
            await conn.execute("PRAGMA busy_timeout = 5000")
            async with conn.execute("PRAGMA user_version") as cur:
                version = int((await cur.fetchone() or (0,))[0])
            if version > SCHEMA_VERSION:
                raise DatabaseTooNew(
                    f"{path} was written by a newer version of Study Notifier "
                    f"(schema {version}, this version knows {SCHEMA_VERSION}). "
                    "Run the newer version, or restore a backup; the file was not changed."
                )
            async with conn.execute("PRAGMA quick_check(5)") as cur:
                problems = [str(row[0]) for row in await cur.fetchall()]
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc
    if problems != ["ok"]:
        raise StorageError(_damaged(path, "; ".join(problems)[:200]))


def _read_only_uri(path: Path) -> str:
    return Path(os.path.abspath(path)).as_uri() + "?mode=ro"  # as_uri quotes what needs it


def storage_error(path: Path, exc: BaseException) -> StorageError:
    """One sentence for a database that cannot be used: what is wrong, which file, what to do."""
    text = str(exc)
    lowered = text.lower()
    full = "full" in lowered or getattr(exc, "errno", None) == errno.ENOSPC
    if full or (
        "i/o error" in lowered and _no_room(path)
    ):  # SQLite says I/O error when -shm cannot grow
        return StorageError(
            f"The disk holding {path} is full; free some space, then start Study Notifier again.",
            code="storage_full",
        )
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return StorageError(
            f"{path} cannot be written ({text}); make it and its folder writable by you, "
            "or choose another folder with --data-dir."
        )
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return StorageError(_damaged(path, text))
    if "not a database" in lowered or "malformed" in lowered:
        return StorageError(_damaged(path, text))
    return StorageError(f"The database {path} cannot be used: {text}.")


def _no_room(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < NO_ROOM
    except OSError:
        return False


def _damaged(path: Path, why: str) -> str:
    return (
        f"The database {path} is damaged ({why}); restore it from a backup, or move it "
        "away to start with an empty one. The file was not changed."
    )


def optional_time(text: str | None) -> datetime | None:
    """A nullable time column as an aware datetime."""
    return from_iso(text) if text else None


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
