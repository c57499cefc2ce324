"""SQL for study blocks and the state of their occurrences."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from notifier.clock import iso
from notifier.db.core import CoreDB
from notifier.errors import TooManyBlocks

BLOCK_COLUMNS = (
    "title",
    "notes",
    "start_local",
    "timezone",
    "duration_minutes",
    "rrule",
    "reminder_offsets",
    "reminders",
    "ical_uid",
    "ical_source",
)
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


def _key(dt: datetime) -> str:
    """An instant as an occurrence key (YYYYMMDDTHHMMSSZ); keys sort in time order."""
    u = dt.astimezone(UTC)
    return f"{u.year:04d}{u.month:02d}{u.day:02d}T{u.hour:02d}{u.minute:02d}{u.second:02d}Z"


class BlockQueries(CoreDB):
    """Blocks and occurrence state (done / skipped / snoozed)."""

    async def add_block(
        self, fields: Mapping[str, Any], now: datetime, *, max_blocks: int | None = None
    ) -> int:
        """Insert a block; TooManyBlocks (409) when `max_blocks` exist already."""
        async with self.transaction() as conn:
            await _check_room(conn, max_blocks, 1)
            return await _insert_block(conn, fields, now)

    async def block(self, block_id: int):
        return await self.fetchone("SELECT * FROM blocks WHERE id = ?", (block_id,))

    async def block_titles(self, block_ids: list[int]) -> dict[int, str]:
        """Titles of these blocks (deleted ones are absent)."""
        marks = ",".join("?" for _ in block_ids) or "NULL"
        rows = await self.fetchall(
            f"SELECT id, title FROM blocks WHERE id IN ({marks})", tuple(block_ids)
        )
        return {row["id"]: row["title"] for row in rows}

    async def blocks(self):
        return await self.fetchall("SELECT * FROM blocks ORDER BY start_local, id")

    async def blocks_near(self, start: datetime, end: datetime):
        """Blocks that can have a session starting in [start, end): every series begun
        before it ends, the one-off blocks around it, and blocks with a session moved or
        added into it (so neither old one-off blocks nor later ones are read)."""
        lo, hi = _naive(start, -_MARGIN), _naive(end, _MARGIN)
        return await self.fetchall(
            "SELECT * FROM blocks WHERE (start_local <= ? AND (rrule IS NOT NULL OR start_local >= ?)) "
            "OR id IN (SELECT block_id FROM occurrence_changes WHERE start_local BETWEEN ? AND ? "
            "OR (added AND original_local BETWEEN ? AND ?)) ORDER BY start_local, id",
            (hi, lo, lo, hi, lo, hi),
        )

    async def plan_version(self) -> int:
        """Moves on with every change to blocks, their sessions or settings (triggers)."""
        row = await self.fetchone("SELECT version FROM plan_version")
        return int(row[0]) if row else 0

    async def update_block(self, block_id: int, fields: Mapping[str, Any], now: datetime) -> bool:
        cols = [c for c in BLOCK_COLUMNS if c in fields]
        return (
            await self.write(
                f"UPDATE blocks SET {', '.join(f'{c} = ?' for c in cols)}{', ' if cols else ''}updated_at = ? WHERE id = ?",
                (*(fields[c] for c in cols), iso(now), block_id),
            )
            > 0
        )

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
    ):
        """The state of the sessions that can start in [start, end) (of one block, if
        given): those whose original start is in it, and every changed session's."""
        sql = (
            "SELECT * FROM occurrence_state WHERE (occurrence_key >= ? AND occurrence_key < ? "
            "OR (block_id, occurrence_key) IN (SELECT block_id, occurrence_key FROM occurrence_changes))"
        )
        params: list[Any] = [_key(start), _key(end)]
        if block_id is not None:
            sql += " AND block_id = ?"
            params.append(block_id)
        return await self.fetchall(sql, params)

    async def occurrence_changes_near(self, start: datetime, end: datetime):
        """The changes of the blocks `blocks_near(start, end)` reads (all of theirs)."""
        lo, hi = _naive(start, -_MARGIN), _naive(end, _MARGIN)
        return await self.fetchall(
            "SELECT c.* FROM occurrence_changes c JOIN blocks b ON b.id = c.block_id "
            "WHERE (b.start_local <= ? AND (b.rrule IS NOT NULL OR b.start_local >= ?)) "
            "OR b.id IN (SELECT block_id FROM occurrence_changes WHERE start_local BETWEEN ? AND ? "
            "OR (added AND original_local BETWEEN ? AND ?))",
            (hi, lo, lo, hi, lo, hi),
        )

    async def occurrence_state(self, block_id: int, occurrence_key: str):
        return await self.fetchone(
            "SELECT * FROM occurrence_state WHERE block_id = ? AND occurrence_key = ?",
            (block_id, occurrence_key),
        )

    async def closed_occurrences(
        self, start: datetime, end: datetime, block_id: int | None = None
    ) -> set[tuple[int, str]]:
        """(block, occurrence key) of the sessions that can start in [start, end) marked
        done or skipped."""
        rows = await self.occurrence_states_between(start, end, block_id)
        return {
            (r["block_id"], r["occurrence_key"]) for r in rows if r["status"] in ("done", "skipped")
        }

    async def set_occurrence_state(
        self,
        block_id: int,
        occurrence_key: str,
        *,
        status: str,
        snoozed_until: datetime | None,
        now: datetime,
    ) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                """INSERT INTO occurrence_state (block_id, occurrence_key, status, snoozed_until, updated_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(block_id, occurrence_key) DO UPDATE SET
                       status = excluded.status, snoozed_until = excluded.snoozed_until,
                       updated_at = excluded.updated_at""",
                (
                    block_id,
                    occurrence_key,
                    status,
                    iso(snoozed_until) if snoozed_until else None,
                    iso(now),
                ),
            )

    # -- one-session changes (RDATE, EXDATE, RECURRENCE-ID overrides) ---------------

    async def occurrence_changes(self, block_ids: list[int] | None = None):
        if block_ids is None:
            return await self.fetchall("SELECT * FROM occurrence_changes")
        marks = ",".join("?" for _ in block_ids) or "NULL"
        return await self.fetchall(
            f"SELECT * FROM occurrence_changes WHERE block_id IN ({marks})", block_ids
        )

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
        until_fields: Mapping[str, Any],
        from_key: str,
        new_fields: Mapping[str, Any],
        now: datetime,
        *,
        max_blocks: int | None = None,
    ) -> int:
        """End a series before `from_key` and start a new block, in one transaction.

        The old block's changes from `from_key` on go with the part that ended.
        """
        async with self.transaction() as conn:
            await _check_room(conn, max_blocks, 1)
            cols = [c for c in BLOCK_COLUMNS if c in until_fields]
            await conn.execute(
                f"UPDATE blocks SET {', '.join(f'{c} = ?' for c in cols)}, updated_at = ? WHERE id = ?",
                (*(until_fields[c] for c in cols), iso(now), block_id),
            )
            await conn.execute(
                "DELETE FROM occurrence_changes WHERE block_id = ? AND occurrence_key >= ?",
                (block_id, from_key),
            )
            return await _insert_block(conn, new_fields, now)

    # -- calendar import --------------------------------------------------------------

    async def import_blocks(
        self,
        creates: list[tuple[Mapping[str, Any], Mapping[str, Mapping[str, Any]]]],
        updates: list[tuple[int, Mapping[str, Any], Mapping[str, Mapping[str, Any]]]],
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
                block_id = await _insert_block(conn, fields, now)
                await _insert_changes(conn, block_id, changes, now)
                ids.append(block_id)
            for block_id, fields, changes in updates:
                cols = [c for c in BLOCK_COLUMNS if c in fields]
                await conn.execute(
                    f"UPDATE blocks SET {', '.join(f'{c} = ?' for c in cols)}, updated_at = ? WHERE id = ?",
                    (*(fields[c] for c in cols), iso(now), block_id),
                )
                await conn.execute("DELETE FROM occurrence_changes WHERE block_id = ?", (block_id,))
                await _insert_changes(conn, block_id, changes, now)
                ids.append(block_id)
        return ids


async def _check_room(conn: Any, max_blocks: int | None, adding: int) -> None:
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


async def _insert_block(conn: Any, fields: Mapping[str, Any], now: datetime) -> int:
    cols = [c for c in BLOCK_COLUMNS if c in fields]
    cur = await conn.execute(
        f"INSERT INTO blocks ({', '.join(cols)}, created_at, updated_at) "
        f"VALUES ({', '.join('?' for _ in cols)}, ?, ?)",
        (*(fields[c] for c in cols), iso(now), iso(now)),
    )
    return int(cur.lastrowid)


async def _insert_changes(
    conn: Any, block_id: int, changes: Mapping[str, Mapping[str, Any]], now: datetime
) -> None:
    await conn.executemany(
        f"INSERT INTO occurrence_changes (block_id, occurrence_key, {', '.join(CHANGE_COLUMNS)}, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (block_id, key, *(c.get(col) for col in CHANGE_COLUMNS), iso(now))
            for key, c in changes.items()
        ],
    )
