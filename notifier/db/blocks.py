"""SQL for study blocks and the state of their occurrences."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from notifier.clock import from_iso, iso, local_text, occurrence_key, parse_occurrence_key
from notifier.db.core import CoreDB, optional_time
from notifier.db.records import Block, BlockChanges, OccurrenceChange, OccurrenceState
from notifier.errors import TooManyBlocks
from notifier.slices import Slicer

CHANGE_COLUMNS = ("original_local", "added", "cancelled", "start_local", "duration_minutes")
# Local wall times are within 26 hours of UTC in any zone: two days around a UTC window
# cover the local starts of everything in it.
_MARGIN = timedelta(days=2)


def _naive(dt: datetime, delta: timedelta) -> str:
    """A UTC instant moved by `delta`, as naive text comparable with local start columns."""
    try:
        u = dt.astimezone(UTC) + delta
    except OverflowError:  # windows that touch year 1 or 9999
        return "9999-99" if delta > timedelta(0) else "0000"
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"


def block_record(row: sqlite3.Row) -> Block:
    """The record of a row, made once per version of the row: the agenda reads every block
    it shows each time it is asked, and a Block is immutable, so one made on insert or an
    earlier read is as good as new (~20 microseconds a block saved)."""
    key = tuple(row)
    block = _MADE.get(key)
    if block is None:
        if len(_MADE) >= _MADE_KEPT:
            _MADE.clear()
        block = _MADE[key] = _new_block(row)
    return block


_MADE: dict[tuple[Any, ...], Block] = {}
_MADE_KEPT = 12_000  # more than twice the most blocks a plan may hold (plan.blocks.MAX_BLOCKS)


def _new_block(row: sqlite3.Row) -> Block:
    offsets = row["reminder_offsets"]
    return Block(
        id=row["id"],
        title=row["title"],
        notes=row["notes"],
        start_local=datetime.fromisoformat(row["start_local"]),
        tz=ZoneInfo(row["timezone"]),
        duration_minutes=row["duration_minutes"],
        rrule=row["rrule"],
        reminder_offsets=tuple(json.loads(offsets)) if offsets is not None else None,
        reminders=bool(row["reminders"]),
        ical_uid=row["ical_uid"],
        ical_source=row["ical_source"],
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
    )


def _state(row: sqlite3.Row) -> OccurrenceState:
    return OccurrenceState(
        block_id=row["block_id"],
        key=row["occurrence_key"],
        start=parse_occurrence_key(row["occurrence_key"]),
        status=row["status"],
        snoozed_until=optional_time(row["snoozed_until"]),
        updated_at=from_iso(row["updated_at"]),
    )


def change_record(row: sqlite3.Row) -> OccurrenceChange:
    return OccurrenceChange(
        block_id=row["block_id"],
        key=row["occurrence_key"],
        original_local=datetime.fromisoformat(row["original_local"]),
        added=bool(row["added"]),
        cancelled=bool(row["cancelled"]),
        start_local=datetime.fromisoformat(row["start_local"]) if row["start_local"] else None,
        duration_minutes=row["duration_minutes"],
    )


def _columns(changes: BlockChanges) -> dict[str, Any]:
    """The changes as column values."""
    out: dict[str, Any] = dict(changes)
    if "start_local" in changes:
        out["start_local"] = local_text(changes["start_local"])
    if "reminder_offsets" in changes:
        offsets = changes["reminder_offsets"]
        out["reminder_offsets"] = json.dumps(list(offsets)) if offsets is not None else None
    if "reminders" in changes:
        out["reminders"] = int(changes["reminders"])
    return out


class BlockQueries(CoreDB):
    """Blocks and occurrence state (done / skipped / snoozed)."""

    async def add_block(
        self, changes: BlockChanges, now: datetime, *, max_blocks: int | None = None
    ) -> Block:
        """Insert a block; TooManyBlocks (409) when `max_blocks` exist already."""
        async with self.transaction() as conn:
            await _check_room(conn, max_blocks, 1)
            return await _insert_block(conn, changes, now)

    async def block(self, block_id: int) -> Block | None:
        row = await self._fetchone("SELECT * FROM blocks WHERE id = ?", (block_id,))
        return block_record(row) if row is not None else None

    async def block_titles(self, block_ids: list[int]) -> dict[int, str]:
        """Titles of these blocks (deleted ones are absent)."""
        marks = ",".join("?" for _ in block_ids) or "NULL"
        rows = await self._fetchall(
            f"SELECT id, title FROM blocks WHERE id IN ({marks})", tuple(block_ids)
        )
        return {row["id"]: row["title"] for row in rows}

    async def blocks(self, block_id: int | None = None) -> list[Block]:
        """Every block (or just `block_id`), by start."""
        if block_id is not None:
            found = await self.block(block_id)
            return [found] if found is not None else []
        return [
            block_record(r)
            for r in await self._fetchall("SELECT * FROM blocks ORDER BY start_local, id")
        ]

    async def blocks_near(
        self, start: datetime, end: datetime, slicer: Slicer | None = None
    ) -> list[Block]:
        """Blocks that can have a session starting in [start, end): every series begun
        before it ends, the one-off blocks around it, and blocks with a session moved or
        added into it (so neither old one-off blocks nor later ones are read). With a
        `slicer`, thousands of rows become records in short slices of the event loop."""
        lo, hi = _naive(start, -_MARGIN), _naive(end, _MARGIN)
        rows = await self._fetchall(
            "SELECT * FROM blocks WHERE (start_local <= ? AND (rrule IS NOT NULL OR start_local >= ?)) "
            "OR id IN (SELECT block_id FROM occurrence_changes WHERE start_local BETWEEN ? AND ? "
            "OR (added AND original_local BETWEEN ? AND ?)) ORDER BY start_local, id",
            (hi, lo, lo, hi, lo, hi),
        )
        if slicer is None:
            return [block_record(r) for r in rows]
        blocks = []
        for r in rows:
            blocks.append(block_record(r))
            await slicer.pause()
        return blocks

    async def plan_version(self) -> int:
        """Moves on with every change to blocks, their sessions or settings (triggers)."""
        row = await self._fetchone("SELECT version FROM plan_version")
        return int(row[0]) if row else 0

    async def update_block(
        self, block_id: int, changes: BlockChanges, now: datetime
    ) -> Block | None:
        """Apply `changes`; the updated block, or None if there is no such block."""
        async with self.transaction() as conn:
            return await _update_block(conn, block_id, changes, now)

    async def delete_block(self, block_id: int, now: datetime) -> bool:
        """Delete a block; its pending reminders are cancelled, the log kept."""
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE reminders SET status = 'cancelled', error = 'block deleted', updated_at = ? "
                "WHERE block_id = ? AND status = 'pending'",
                (iso(now), block_id),
            )
            cur = await conn.execute("DELETE FROM blocks WHERE id = ?", (block_id,))
            return cur.rowcount > 0

    async def occurrence_states_between(
        self, start: datetime, end: datetime, block_id: int | None = None
    ) -> list[OccurrenceState]:
        """The state of the sessions that can start in [start, end) (of one block, if
        given): those whose original start is in it, and every changed session's."""
        sql = (
            "SELECT * FROM occurrence_state WHERE (occurrence_key >= ? AND occurrence_key < ? "
            "OR (block_id, occurrence_key) IN (SELECT block_id, occurrence_key FROM occurrence_changes))"
        )
        params: list[Any] = [occurrence_key(start), occurrence_key(end)]
        if block_id is not None:
            sql += " AND block_id = ?"
            params.append(block_id)
        return [_state(r) for r in await self._fetchall(sql, params)]

    async def occurrence_changes_near(
        self, start: datetime, end: datetime
    ) -> list[OccurrenceChange]:
        """The changes of the blocks `blocks_near(start, end)` reads (all of theirs)."""
        lo, hi = _naive(start, -_MARGIN), _naive(end, _MARGIN)
        rows = await self._fetchall(
            "SELECT c.* FROM occurrence_changes c JOIN blocks b ON b.id = c.block_id "
            "WHERE (b.start_local <= ? AND (b.rrule IS NOT NULL OR b.start_local >= ?)) "
            "OR b.id IN (SELECT block_id FROM occurrence_changes WHERE start_local BETWEEN ? AND ? "
            "OR (added AND original_local BETWEEN ? AND ?))",
            (hi, lo, lo, hi, lo, hi),
        )
        return [change_record(r) for r in rows]

    async def occurrence_state(self, block_id: int, start: datetime) -> OccurrenceState | None:
        row = await self._fetchone(
            "SELECT * FROM occurrence_state WHERE block_id = ? AND occurrence_key = ?",
            (block_id, occurrence_key(start)),
        )
        return _state(row) if row is not None else None

    async def closed_occurrences(
        self, start: datetime, end: datetime, block_id: int | None = None
    ) -> set[tuple[int, datetime]]:
        """(block, original start) of the sessions that can start in [start, end) marked
        done or skipped."""
        states = await self.occurrence_states_between(start, end, block_id)
        return {(s.block_id, s.start) for s in states if s.status in ("done", "skipped")}

    async def set_occurrence_state(
        self,
        block_id: int,
        start: datetime,
        *,
        status: str,
        snoozed_until: datetime | None,
        now: datetime,
    ) -> OccurrenceState:
        async with self.transaction() as conn:
            cur = await conn.execute(
                """INSERT INTO occurrence_state (block_id, occurrence_key, status, snoozed_until, updated_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(block_id, occurrence_key) DO UPDATE SET
                       status = excluded.status, snoozed_until = excluded.snoozed_until,
                       updated_at = excluded.updated_at
                   RETURNING *""",
                (
                    block_id,
                    occurrence_key(start),
                    status,
                    iso(snoozed_until) if snoozed_until else None,
                    iso(now),
                ),
            )
            row = await cur.fetchone()
            assert row is not None
            return _state(row)

    # -- one-session changes (RDATE, EXDATE, RECURRENCE-ID overrides) ---------------

    async def occurrence_changes(
        self, block_ids: list[int] | None = None
    ) -> list[OccurrenceChange]:
        if block_ids is None:
            rows = await self._fetchall("SELECT * FROM occurrence_changes")
        else:
            marks = ",".join("?" for _ in block_ids) or "NULL"
            rows = await self._fetchall(
                f"SELECT * FROM occurrence_changes WHERE block_id IN ({marks})", block_ids
            )
        return [change_record(r) for r in rows]

    async def set_occurrence_change(
        self, block_id: int, occurrence_key: str, change: Mapping[str, Any] | None, now: datetime
    ) -> None:
        """Store how one session differs from its series; None: it no longer does."""
        async with self.transaction() as conn:
            await conn.execute(
                "DELETE FROM occurrence_changes WHERE block_id = ? AND occurrence_key = ?",
                (block_id, occurrence_key),
            )
            if change is not None:
                await _insert_changes(conn, block_id, {occurrence_key: change}, now)

    async def split_block(
        self,
        block_id: int,
        until_fields: BlockChanges,
        from_key: str,
        new_fields: BlockChanges,
        now: datetime,
        *,
        max_blocks: int | None = None,
    ) -> Block:
        """End a series before `from_key` and start a new block, in one transaction.

        The old block's changes from `from_key` on go with the part that ended.
        """
        async with self.transaction() as conn:
            await _check_room(conn, max_blocks, 1)
            await _update_block(conn, block_id, until_fields, now)
            await conn.execute(
                "DELETE FROM occurrence_changes WHERE block_id = ? AND occurrence_key >= ?",
                (block_id, from_key),
            )
            return await _insert_block(conn, new_fields, now)

    # -- calendar import --------------------------------------------------------------

    async def import_blocks(
        self,
        creates: Sequence[tuple[BlockChanges, Mapping[str, Mapping[str, Any]]]],
        updates: Sequence[tuple[int, BlockChanges, Mapping[str, Mapping[str, Any]]]],
        now: datetime,
        *,
        max_blocks: int | None = None,
    ) -> list[int]:
        """Create and update imported blocks with their changes, all or nothing.

        Returns the ids of the blocks created and updated.
        """
        ids = []
        async with self.transaction() as conn:
            await _check_room(conn, max_blocks, len(creates))
            for fields, changes in creates:
                block = await _insert_block(conn, fields, now)
                await _insert_changes(conn, block.id, changes, now)
                ids.append(block.id)
            for block_id, fields, changes in updates:
                await _update_block(conn, block_id, fields, now)
                await conn.execute("DELETE FROM occurrence_changes WHERE block_id = ?", (block_id,))
                await _insert_changes(conn, block_id, changes, now)
                ids.append(block_id)
        return ids


async def _check_room(conn: aiosqlite.Connection, max_blocks: int | None, adding: int) -> None:
    """TooManyBlocks (409) unless `adding` more blocks stay within `max_blocks`.

    Counted inside the write transaction, so concurrent requests cannot pass the cap.
    """
    if max_blocks is None or not adding:
        return
    async with conn.execute("SELECT count(*) FROM blocks") as cur:
        counted = await cur.fetchone()
    if counted is not None and counted[0] + adding > max_blocks:
        raise TooManyBlocks(
            f"there are {counted[0]:,} blocks already and this app keeps at most {max_blocks:,}: "
            "delete some you no longer need first"
        )


async def _insert_block(conn: aiosqlite.Connection, fields: BlockChanges, now: datetime) -> Block:
    cols = _columns(fields)
    cur = await conn.execute(
        f"INSERT INTO blocks ({', '.join(cols)}, created_at, updated_at) "
        f"VALUES ({', '.join('?' for _ in cols)}, ?, ?) RETURNING *",
        (*cols.values(), iso(now), iso(now)),
    )
    row = await cur.fetchone()
    assert row is not None
    return block_record(row)


async def _update_block(
    conn: aiosqlite.Connection, block_id: int, fields: BlockChanges, now: datetime
) -> Block | None:
    cols = _columns(fields)
    cur = await conn.execute(
        f"UPDATE blocks SET {''.join(f'{c} = ?, ' for c in cols)}updated_at = ? WHERE id = ? RETURNING *",
        (*cols.values(), iso(now), block_id),
    )
    row = await cur.fetchone()
    return block_record(row) if row is not None else None


async def _insert_changes(
    conn: aiosqlite.Connection,
    block_id: int,
    changes: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> None:
    await conn.executemany(
        f"INSERT INTO occurrence_changes (block_id, occurrence_key, {', '.join(CHANGE_COLUMNS)}, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (block_id, key, *(c.get(col) for col in CHANGE_COLUMNS), iso(now))
            for key, c in changes.items()
        ],
    )
