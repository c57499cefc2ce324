"""SQL for the agenda's kept items (plan/agenda.py): each session of the weeks around now
as its item's JSON text, read back as one text in time order with its state joined.

Triggers (migration m009) drop a block's items and mark it stale whenever the block or
its one-session changes are written, by this process or another one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from notifier.clock import from_iso, iso
from notifier.db.blocks import block_record, change_record
from notifier.db.core import CoreDB
from notifier.db.records import Block, OccurrenceChange

# (start as clock.iso, seq, occurrence key, item JSON, status offset, offset after
# snoozed_until, fixed status): see m009_agenda_items for the columns.
ItemRow = tuple[str, int, str, str, int, int, str | None]
MakeItems = Callable[[Block, list[OccurrenceChange]], list[ItemRow]]

# An item's state, joined as it is read: the kept text says "planned" (or its fixed
# status) and "snoozed_until":null, and only items with a state are cut and joined again.
_ITEM = (
    "CASE WHEN st.status IS NULL THEN i.item "
    "ELSE substr(i.item, 1, i.state_at) || coalesce(i.fixed_status, st.status) "
    "|| '\",\"snoozed_until\":' || coalesce('\"' || st.snoozed_until || '\"', 'null') "
    "|| substr(i.item, i.state_end + 1) END"
)


class AgendaItemQueries(CoreDB):
    """The agenda's kept items, their span and the blocks whose items are stale."""

    async def agenda_span(self) -> tuple[datetime, datetime] | None:
        """The window the kept items cover, if any."""
        row = await self._fetchone("SELECT start_utc, end_utc FROM agenda_span")
        return (from_iso(row[0]), from_iso(row[1])) if row is not None else None

    async def start_agenda_span(self, start: datetime, end: datetime) -> None:
        """Keep the items of [start, end) from now on: every block's are stale until made."""
        async with self.transaction() as conn:
            await conn.execute("DELETE FROM agenda_items")
            await conn.execute(
                "INSERT OR REPLACE INTO agenda_span (id, start_utc, end_utc) VALUES (1, ?, ?)",
                (iso(start), iso(end)),
            )
            await conn.execute(
                "INSERT OR IGNORE INTO agenda_stale (block_id) SELECT id FROM blocks"
            )

    async def stale_agenda_blocks(self, limit: int) -> list[int]:
        """Up to `limit` blocks whose kept items must be made again."""
        rows = await self._fetchall(
            "SELECT block_id FROM agenda_stale ORDER BY block_id LIMIT ?", (limit,)
        )
        return [row[0] for row in rows]

    async def keep_agenda_items(self, block_ids: Sequence[int], make: MakeItems) -> None:
        """Make the items of these blocks with `make` and keep them, in one transaction
        that reads the blocks too: a write cannot slip between the reading and the keeping."""
        marks = ",".join("?" for _ in block_ids) or "NULL"
        async with self.transaction() as conn:
            async with conn.execute(f"SELECT * FROM blocks WHERE id IN ({marks})", block_ids) as c:
                blocks = [block_record(row) for row in await c.fetchall()]
            async with conn.execute(
                f"SELECT * FROM occurrence_changes WHERE block_id IN ({marks})", block_ids
            ) as c:
                changes: dict[int, list[OccurrenceChange]] = {}
                for row in await c.fetchall():
                    changes.setdefault(row["block_id"], []).append(change_record(row))
            await conn.execute(f"DELETE FROM agenda_items WHERE block_id IN ({marks})", block_ids)
            await conn.executemany(
                "INSERT INTO agenda_items (start_utc, block_id, seq, occurrence_key, item, "
                "state_at, state_end, fixed_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (start, block.id, *rest)
                    for block in blocks
                    for start, *rest in make(block, changes.get(block.id, []))
                ],
            )
            await conn.execute(f"DELETE FROM agenda_stale WHERE block_id IN ({marks})", block_ids)

    async def kept_agenda_json(
        self, start: datetime, end: datetime, limit: int | None
    ) -> tuple[int, bytes] | None:
        """(count, the items' JSON joined by commas, UTF-8) of the sessions starting in
        [start, end), in time order, from the kept items; None unless the kept span covers
        the window and no block is stale. Past `limit` sessions the text is not made."""
        lo, hi = iso(start), iso(end)
        async with self.snapshot() as conn:  # one state of the database for both reads
            async with conn.execute(
                "SELECT EXISTS (SELECT 1 FROM agenda_span WHERE start_utc <= ? AND ? <= end_utc) "
                "AND NOT EXISTS (SELECT 1 FROM agenda_stale), "
                "(SELECT count(*) FROM agenda_items WHERE start_utc >= ? AND start_utc < ?)",
                (lo, hi, lo, hi),
            ) as cur:
                row = await cur.fetchone()
            assert row is not None
            kept, count = row
            if not kept:
                return None
            if limit is not None and count > limit:
                return count, b""
            # The ordered subquery is not flattened into an aggregate (SQLite's rule), so
            # group_concat sees the items in its order. As a BLOB, the megabytes of a long
            # window come as the bytes of the answer, not decoded to be encoded again.
            async with conn.execute(
                f"SELECT CAST(group_concat(item, ',') AS BLOB) FROM (SELECT {_ITEM} AS item "
                "FROM agenda_items i LEFT JOIN occurrence_state st "
                "ON st.block_id = i.block_id AND st.occurrence_key = i.occurrence_key "
                "WHERE i.start_utc >= ? AND i.start_utc < ? "
                "ORDER BY i.start_utc, i.block_id, i.seq)",
                (lo, hi),
            ) as cur:
                row = await cur.fetchone()
            assert row is not None
            return count, row[0] or b""
