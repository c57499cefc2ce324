"""SQL for the reminders outbox, its delivery log and scheduler bookkeeping."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from notifier.clock import from_iso, iso, occurrence_key, parse_occurrence_key
from notifier.db.core import CoreDB, optional_time, single_value
from notifier.db.records import Delivery, NewReminder, Reminder
from notifier.slices import Slicer

RESYNC = "resync_from"  # scheduler_state: blocks changed by another process since then
# When a pending reminder is next worth looking at: its retry time, else its due time.
_WHEN = "COALESCE(next_attempt_at, due_at)"


_INSERT = (
    "INSERT OR IGNORE INTO reminders (key, kind, block_id, occurrence_key, offset_minutes, "
    "missed_count, due_at, status, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)"
)


def _values(r: NewReminder, now: datetime) -> tuple[Any, ...]:
    """The parameters of _INSERT for one new reminder."""
    return (
        r.key,
        r.kind,
        r.block_id,
        occurrence_key(r.occurrence_start) if r.occurrence_start else None,
        r.offset_minutes,
        r.missed_count,
        iso(r.due_at),
        iso(now),
        iso(now),
    )


async def _all_values(
    new: Iterable[NewReminder], now: datetime, slicer: Slicer | None
) -> list[tuple[Any, ...]]:
    if slicer is None:
        return [_values(r, now) for r in new]
    values = []
    for r in new:
        values.append(_values(r, now))
        await slicer.pause()
    return values


def _future_unsent(now: datetime, block_id: int | None = None) -> tuple[str, list[Any]]:
    """(WHERE clause, parameters) of the block reminders due from `now` on that were not
    sent, and may be recomputed. Snoozes are kept: they are the user's explicit wish, not
    derived from the block; and so is a reminder held through quiet hours."""
    sql = (
        "kind IN ('reminder', 'summary', 'check') AND status IN ('pending', 'cancelled') "
        "AND due_at >= ? AND key NOT LIKE 'snooze:%' AND key NOT LIKE 'again:%' AND held_from IS NULL "
        # a deleted block's cancelled reminders stay in the log (their block_id is NULL)
        "AND (block_id IS NOT NULL OR kind = 'summary')"
    )
    params: list[Any] = [iso(now)]
    if block_id is not None:
        sql += " AND block_id = ?"
        params.append(block_id)
    return sql, params


class Outcome(Protocol):
    """One device's push result, as the sender reports it."""

    @property
    def subscription_id(self) -> int: ...
    @property
    def outcome(self) -> Any: ...  # an enum whose .value is the stored text
    @property
    def status(self) -> int | None: ...
    @property
    def detail(self) -> str: ...


def _reminder(row: sqlite3.Row) -> Reminder:
    occ = row["occurrence_key"]
    return Reminder(
        id=row["id"],
        key=row["key"],
        kind=row["kind"],
        block_id=row["block_id"],
        occurrence_key=occ,
        occurrence_start=parse_occurrence_key(occ) if occ else None,
        offset_minutes=row["offset_minutes"],
        missed_count=row["missed_count"],
        due_at=from_iso(row["due_at"]),
        held_from=optional_time(row["held_from"]),
        next_attempt_at=optional_time(row["next_attempt_at"]),
        status=row["status"],
        late=bool(row["late"]),
        title=row["title"],
        body=row["body"],
        text_source=row["text_source"],
        text_error=row["text_error"],
        attempts=row["attempts"],
        sent_at=optional_time(row["sent_at"]),
        error=row["error"],
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
    )


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        reminder_id=row["reminder_id"],
        subscription_id=row["subscription_id"],
        outcome=row["outcome"],
        status=row["status"],
        detail=row["detail"],
        at=from_iso(row["at"]),
    )


class ReminderQueries(CoreDB):
    """The outbox: one row per reminder key, moved pending → sending → sent/failed/missed/cancelled."""

    async def insert_reminders(
        self, new: Iterable[NewReminder], now: datetime, slicer: Slicer | None = None
    ) -> int:
        """Insert pending reminders whose key is new; an existing key is left as it is.

        With a `slicer`, thousands of rows are prepared in short slices of the event loop.
        """
        values = await _all_values(new, now, slicer)
        if not values:
            return 0
        async with self.transaction() as conn:
            # One call for all rows: SQLite's thread does the loop, not this event loop.
            cur = await conn.executemany(_INSERT, values)
            return max(cur.rowcount, 0)

    async def replace_future_unsent(
        self,
        now: datetime,
        new: Iterable[NewReminder],
        block_id: int | None = None,
        slicer: Slicer | None = None,
    ) -> int:
        """Forget the not-yet-sent block reminders due from `now` on (of one block, or all)
        and insert `new` in their place, in one transaction: the outbox is never seen
        without them."""
        values = await _all_values(new, now, slicer)
        sql, params = _future_unsent(now, block_id)
        async with self.transaction() as conn:
            await conn.execute(f"DELETE FROM reminders WHERE {sql}", params)
            cur = await conn.executemany(_INSERT, values)
            return max(cur.rowcount, 0)

    async def next_pending_time(self) -> datetime | None:
        row = await self._fetchone(f"SELECT MIN({_WHEN}) FROM reminders WHERE status = 'pending'")
        return optional_time(row[0]) if row else None

    async def pending_due(self, now: datetime, limit: int = 500) -> list[Reminder]:
        rows = await self._fetchall(
            f"SELECT * FROM reminders WHERE status = 'pending' AND {_WHEN} <= ? ORDER BY {_WHEN}, id LIMIT ?",
            (iso(now), limit),
        )
        return [_reminder(r) for r in rows]

    async def claim_reminder(self, reminder_id: int, now: datetime) -> bool:
        """pending → sending; False if someone else changed it first."""
        return (
            await self.write(
                "UPDATE reminders SET status = 'sending', attempts = attempts + 1, updated_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (iso(now), reminder_id),
            )
            > 0
        )

    async def finish_reminder(self, reminder_id: int, now: datetime, **fields: Any) -> None:
        """Write the outcome of a send (status, texts, error, retry time …)."""
        fields = {k: iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}
        cols = ", ".join(f"{k} = ?" for k in fields)
        async with self.transaction() as conn:
            await conn.execute(
                f"UPDATE reminders SET {cols}, updated_at = ? WHERE id = ?",
                (*fields.values(), iso(now), reminder_id),
            )

    async def record_deliveries(
        self, reminder_id: int, results: Iterable[Outcome], now: datetime
    ) -> None:
        async with self.transaction() as conn:
            await conn.executemany(
                "INSERT INTO deliveries (reminder_id, subscription_id, outcome, status, detail, at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(reminder_id, subscription_id) DO UPDATE SET "
                "outcome = excluded.outcome, status = excluded.status, detail = excluded.detail, at = excluded.at",
                [
                    (
                        reminder_id,
                        r.subscription_id,
                        r.outcome.value,
                        r.status,
                        r.detail[:500],
                        iso(now),
                    )
                    for r in results
                ],
            )

    async def delivered_to(self, reminder_id: int) -> set[int]:
        """The subscriptions that already accepted this reminder."""
        rows = await self._fetchall(
            "SELECT subscription_id FROM deliveries WHERE reminder_id = ? AND outcome = 'delivered'",
            (reminder_id,),
        )
        return {r["subscription_id"] for r in rows}

    async def release_unfinished(self, now: datetime) -> int:
        """After a crash: sends that were in flight go back to pending (same key, same tag)."""
        return await self.write(
            "UPDATE reminders SET status = 'pending', updated_at = ? WHERE status = 'sending'",
            (iso(now),),
        )

    async def mark_missed(self, reminder_ids: list[int], now: datetime) -> None:
        async with self.transaction() as conn:
            await conn.executemany(
                "UPDATE reminders SET status = 'missed', updated_at = ? WHERE id = ? AND status = 'pending'",
                [(iso(now), rid) for rid in reminder_ids],
            )

    async def cancel_pending(
        self, block_id: int, occurrence: datetime | None, reason: str, now: datetime
    ) -> int:
        """Cancel what is still pending for a block, or for its occurrence starting at `occurrence`."""
        sql = "UPDATE reminders SET status = 'cancelled', error = ?, updated_at = ? WHERE block_id = ? AND status = 'pending'"
        params: list[Any] = [reason, iso(now), block_id]
        if occurrence is not None:
            sql += " AND occurrence_key = ?"
            params.append(occurrence_key(occurrence))
        return await self.write(sql, params)

    async def hold_reminder(self, row_id: int, until: datetime, now: datetime) -> bool:
        """Move a pending reminder to the end of quiet hours, remembering when it was due.

        One push per session at the end of the quiet: a reminder is dropped instead when
        another one for its session comes by then anyway, and one held before it goes.
        A text written for the old time goes too. False when it was dropped.
        """
        session = (
            "kind = 'reminder' AND (block_id, occurrence_key) = "
            "(SELECT block_id, occurrence_key FROM reminders WHERE id = ? AND kind = 'reminder')"
        )
        async with self.transaction() as conn:
            cur = await conn.execute(
                f"SELECT 1 FROM reminders WHERE status = 'pending' AND id != ? AND held_from IS NULL "
                f"AND due_at > ? AND due_at <= ? AND {session}",
                (row_id, iso(now), iso(until), row_id),
            )
            if await cur.fetchone():
                await conn.execute(
                    "UPDATE reminders SET status = 'cancelled', error = 'quiet hours: a later reminder covers it', "
                    "updated_at = ? WHERE id = ? AND status = 'pending'",
                    (iso(now), row_id),
                )
                return False
            await conn.execute(
                "UPDATE reminders SET held_from = COALESCE(held_from, due_at), due_at = ?, "
                "title = NULL, body = NULL, text_source = NULL, text_error = NULL, updated_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (iso(until), iso(now), row_id),
            )
            await conn.execute(
                "UPDATE reminders SET status = 'cancelled', error = 'quiet hours: a later reminder covers it', "
                f"updated_at = ? WHERE status = 'pending' AND held_from IS NOT NULL AND id != ? AND {session}",
                (iso(now), row_id, row_id),
            )
            return True

    async def reminders_needing_text(
        self, until: datetime, limit: int = 20, after: datetime | None = None
    ) -> list[Reminder]:
        """Pending reminders without a text, due in (after, until], soonest first."""
        rows = await self._fetchall(
            "SELECT * FROM reminders WHERE status = 'pending' AND title IS NULL AND due_at <= ? AND due_at > ? "
            "ORDER BY due_at LIMIT ?",
            (iso(until), iso(after) if after is not None else "", limit),
        )
        return [_reminder(r) for r in rows]

    async def clear_prepared_texts(self, after: datetime) -> int:
        """Forget texts prepared for pending reminders due after `after` (the LLM settings changed)."""
        return await self.write(
            "UPDATE reminders SET title = NULL, body = NULL, text_source = NULL, text_error = NULL, "
            "updated_at = ? WHERE status = 'pending' AND title IS NOT NULL AND due_at > ?",
            (iso(after), iso(after)),
        )

    async def set_reminder_text(
        self, reminder_id: int, title: str, body: str, source: str, error: str | None, now: datetime
    ) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE reminders SET title = ?, body = ?, text_source = ?, text_error = ?, updated_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (title, body, source, error, iso(now), reminder_id),
            )

    async def list_reminders(self, limit: int) -> list[tuple[Reminder, list[Delivery]]]:
        """The newest `limit` reminders (by due time), each with its deliveries by device."""
        rows = await self._fetchall(
            "SELECT * FROM reminders ORDER BY due_at DESC, id DESC LIMIT ?", (limit,)
        )
        ids = [r["id"] for r in rows]
        marks = ",".join("?" for _ in ids) or "NULL"
        by_reminder: dict[int, list[Delivery]] = {i: [] for i in ids}
        for d in await self._fetchall(
            f"SELECT * FROM deliveries WHERE reminder_id IN ({marks}) ORDER BY subscription_id", ids
        ):
            by_reminder[d["reminder_id"]].append(_delivery(d))
        return [(_reminder(r), by_reminder[r["id"]]) for r in rows]

    async def get_state(self, name: str) -> str | None:
        row = await self._fetchone("SELECT value FROM scheduler_state WHERE name = ?", (name,))
        return row[0] if row else None

    async def set_state(self, name: str, value: str) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO scheduler_state (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    async def request_resync(self, since: datetime) -> None:
        """Ask the (running or next) scheduler to recompute every block's reminders from `since`.

        Another process (`notifier import`) changed blocks; the earliest request wins.
        """
        await self.write(
            "INSERT INTO scheduler_state (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = MIN(value, excluded.value)",
            (RESYNC, iso(since)),
        )

    async def take_resync(self) -> datetime | None:
        """The pending resync request (its time), removed; None if there is none."""
        value = await self.get_state(RESYNC)
        if value is None:
            return None
        # Only the value read is taken: a newer request made meanwhile stays.
        await self.write(
            "DELETE FROM scheduler_state WHERE name = ? AND value = ?", (RESYNC, value)
        )
        return from_iso(value)

    async def count_llm_call(self, day: str) -> int:
        """Record one LLM call on `day` (local date) and return that day's count."""
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO llm_usage (day, calls) VALUES (?, 1) "
                "ON CONFLICT(day) DO UPDATE SET calls = calls + 1",
                (day,),
            )
            cur = await conn.execute("SELECT calls FROM llm_usage WHERE day = ?", (day,))
            return int(await single_value(cur))
