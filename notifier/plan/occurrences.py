"""Acting on one occurrence: done, skipped, back to planned, or snoozed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from notifier.errors import BadRequest
from notifier.plan import recurrence
from notifier.plan.blocks import STATUSES, find_occurrence, occurrence_json

MAX_SNOOZE = 24 * 60


def parse_action(data: Any) -> tuple[str | None, int | None]:
    """`{"status": …}` or `{"snooze_minutes": n}` → (status, minutes)."""
    if (
        not isinstance(data, dict)
        or len(data) != 1
        or not ({"status", "snooze_minutes"} & set(data))
    ):
        raise BadRequest('body must be {"status": "done|skipped|planned"} or {"snooze_minutes": n}')
    if "status" in data:
        if data["status"] not in STATUSES:
            raise BadRequest("status: must be done, skipped or planned")
        return data["status"], None
    minutes = data["snooze_minutes"]
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_SNOOZE:
        raise BadRequest(f"snooze_minutes: must be a whole number from 1 to {MAX_SNOOZE}")
    return None, minutes


async def apply(
    db: Any,
    scheduler: Any,
    block: Any,
    key: str,
    status: str | None,
    snooze: int | None,
    now: datetime,
) -> dict[str, Any]:
    """Apply the change, keep the outbox in step, and return the occurrence."""
    occ = find_occurrence(block, key)
    key = recurrence.occurrence_key(occ.start_utc)
    if status is not None:
        await db.set_occurrence_state(block["id"], key, status=status, snoozed_until=None, now=now)
        if status in ("done", "skipped"):
            await db.cancel_pending(block["id"], key, f"occurrence marked {status}", now)
            scheduler.wake()
        else:
            await scheduler.reschedule(now, block["id"])
    else:
        until = now + timedelta(minutes=snooze)
        await db.set_occurrence_state(
            block["id"], key, status="planned", snoozed_until=until, now=now
        )
        await db.insert_reminders(
            [
                {
                    "key": f"snooze:b{block['id']}:{key}:{recurrence.occurrence_key(until)}",
                    "kind": "reminder",
                    "block_id": block["id"],
                    "occurrence_key": key,
                    "offset_minutes": None,
                    "due_at": until,
                }
            ],
            now,
        )
        scheduler.wake()
    return occurrence_json(block, occ, await db.occurrence_state(block["id"], key))
