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
    with pytest.raises(StorageError, match=r"db\.sqlite3 is damaged \(file is not a database\)"):
        await Database.open(path)
    assert path.read_bytes() == b"this is not a database" * 100


async def test_a_damaged_page_is_found_by_quick_check_before_any_write(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    conn.execute("CREATE INDEX t_x ON t (x)")
    conn.commit()
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[3 * page : 3 * page + 200] = b"\xff" * 200  # a page in the middle, header intact
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="is damaged") as caught:
        await Database.open(path)
    assert "restore it from a backup" in caught.value.detail
    assert path.read_bytes() == bytes(data)  # not even switched to WAL


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
