"""The database: created from nothing, reopened, and a newer one refused untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from notifier.db import Database
from notifier.db.migrations import MIGRATIONS, SCHEMA_VERSION
from notifier.errors import DatabaseTooNew, StorageError


async def test_migrates_an_empty_file_to_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.touch()
    db = await Database.open(path)
    try:
        assert await db.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
        mode = await db.fetchone("PRAGMA journal_mode")
        assert mode[0] == "wal"
        tables = {
            r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert {"settings", "tokens", "push_subscriptions", "idempotency"} <= tables
    finally:
        await db.close()


async def test_reopening_keeps_data_and_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = await Database.open(path)
    await db.save_settings({"timezone": "Europe/Berlin"})
    await db.close()

    db = await Database.open(path)
    try:
        assert await db.schema_version() == SCHEMA_VERSION
        assert (await db.load_settings())["timezone"] == "Europe/Berlin"
    finally:
        await db.close()


async def test_a_database_from_a_newer_version_is_refused_and_not_modified(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 7}")
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    with pytest.raises(DatabaseTooNew) as info:
        await Database.open(path)

    assert "newer version" in info.value.detail
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not Path(f"{path}-wal").exists()


async def test_a_file_that_is_not_sqlite_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="not a usable SQLite database"):
        await Database.open(path)


async def test_a_failing_migration_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import notifier.db.core as core

    async def broken(conn) -> None:
        await conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    monkeypatch.setattr(core, "MIGRATIONS", (*MIGRATIONS, broken))
    path = tmp_path / "db.sqlite3"
    with pytest.raises(RuntimeError, match="boom"):
        await Database.open(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert (
            conn.execute("SELECT count(*) FROM sqlite_master WHERE name='half_done'").fetchone()[0]
            == 0
        )
    conn.close()
