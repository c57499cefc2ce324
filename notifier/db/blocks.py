"""SQL for study blocks and the state of their occurrences."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from notifier.clock import iso
from notifier.db.core import CoreDB

BLOCK_COLUMNS = (
    "title",
    "notes",
    "start_local",
    "timezone",
    "duration_minutes",
    "rrule",
    "reminder_offsets",
    "reminders",
)


class BlockQueries(CoreDB):
    """Blocks and occurrence state (done / skipped / snoozed)."""

    async def add_block(self, fields: Mapping[str, Any], now: datetime) -> int:
        cols = [c for c in BLOCK_COLUMNS if c in fields]
        async with self.transaction() as conn:
            cur = await conn.execute(
                f"INSERT INTO blocks ({', '.join(cols)}, created_at, updated_at) "
                f"VALUES ({', '.join('?' for _ in cols)}, ?, ?)",
                (*(fields[c] for c in cols), iso(now), iso(now)),
            )
            return int(cur.lastrowid)

    async def block(self, block_id: int):
        return await self.fetchone("SELECT * FROM blocks WHERE id = ?", (block_id,))

    async def blocks(self):
        return await self.fetchall("SELECT * FROM blocks ORDER BY start_local, id")

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

    async def occurrence_states(self, block_ids: list[int] | None = None):
        if block_ids is None:
            return await self.fetchall("SELECT * FROM occurrence_state")
        marks = ",".join("?" for _ in block_ids) or "NULL"
        return await self.fetchall(
            f"SELECT * FROM occurrence_state WHERE block_id IN ({marks})", block_ids
        )

    async def occurrence_state(self, block_id: int, occurrence_key: str):
        return await self.fetchone(
            "SELECT * FROM occurrence_state WHERE block_id = ? AND occurrence_key = ?",
            (block_id, occurrence_key),
        )

    async def closed_occurrences(self) -> set[tuple[int, str]]:
        rows = await self.fetchall(
            "SELECT block_id, occurrence_key FROM occurrence_state WHERE status IN ('done', 'skipped')"
        )
        return {(r["block_id"], r["occurrence_key"]) for r in rows}

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
