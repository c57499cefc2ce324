"""The database: created from nothing, reopened, and a newer one refused untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
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
    finally:
        await db.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {"settings", "tokens", "push_subscriptions", "idempotency"} <= tables


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


async def test_upgrading_a_schema_7_database_keeps_its_data_and_fills_missed_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database made by the release before the missed_count column, opened by this one."""
    import notifier.db.core as core

    path = tmp_path / "db.sqlite3"
    monkeypatch.setattr(core, "MIGRATIONS", MIGRATIONS[:7])
    old = await Database.open(path)  # exactly the schema the previous release made
    assert await old.schema_version() == 7
    await old.close()
    monkeypatch.undo()

    stamp = "2026-11-23T08:00:00.000000Z"
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO settings (name, value) VALUES ('timezone', '\"Europe/Berlin\"')")
        conn.execute(
            "INSERT INTO blocks (id, title, notes, start_local, timezone, duration_minutes, rrule, "
            "reminder_offsets, reminders, created_at, updated_at) VALUES "
            "(1, 'Linear algebra', 'ch. 3', '2026-11-23T10:00', 'Europe/Berlin', 60, "
            "'FREQ=WEEKLY', '[0, 15]', 1, ?, ?)",
            (stamp, stamp),
        )
        conn.executemany(
            "INSERT INTO reminders (key, kind, block_id, occurrence_key, offset_minutes, due_at, "
            "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    "b1:20261123T090000Z:15",
                    "reminder",
                    1,
                    "20261123T090000Z",
                    15,
                    "2026-11-23T08:45:00.000000Z",
                    "sent",
                    stamp,
                    stamp,
                ),
                (
                    "missed:12:20261123T080000Z",
                    "missed",
                    None,
                    None,
                    None,
                    stamp,
                    "sent",
                    stamp,
                    stamp,
                ),
                (
                    "missed:3:20261124T080000Z",
                    "missed",
                    None,
                    None,
                    None,
                    "2026-11-24T08:00:00.000000Z",
                    "pending",
                    stamp,
                    stamp,
                ),
                (
                    "summary:2026-11-23",
                    "summary",
                    None,
                    None,
                    None,
                    stamp,
                    "cancelled",
                    stamp,
                    stamp,
                ),
            ],
        )
    conn.close()

    db = await Database.open(path)
    try:
        assert await db.schema_version() == SCHEMA_VERSION
        assert (await db.load_settings()) == {"timezone": "Europe/Berlin"}
        [block] = await db.blocks()
        assert (block.title, block.notes, block.timezone, block.rrule) == (
            "Linear algebra",
            "ch. 3",
            "Europe/Berlin",
            "FREQ=WEEKLY",
        )
        assert block.start_local == datetime(2026, 11, 23, 10, 0)
        assert block.reminder_offsets == (0, 15)
        rows = {r.key: r for r, _ in await db.list_reminders(10)}
        assert set(rows) == {
            "b1:20261123T090000Z:15",
            "missed:12:20261123T080000Z",
            "missed:3:20261124T080000Z",
            "summary:2026-11-23",
        }
        assert rows["missed:12:20261123T080000Z"].missed_count == 12
        assert rows["missed:3:20261124T080000Z"].missed_count == 3
        assert rows["missed:3:20261124T080000Z"].status == "pending"
        assert rows["b1:20261123T090000Z:15"].missed_count is None
        assert rows["b1:20261123T090000Z:15"].occurrence_start == datetime(
            2026, 11, 23, 9, tzinfo=UTC
        )
        assert rows["summary:2026-11-23"].missed_count is None
    finally:
        await db.close()
