"""Acting on one occurrence: done, skipped, back to planned, or snoozed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from notifier.clock import local_text, occurrence_key
from notifier.db.records import Block, BlockChanges, NewReminder, OccurrenceChange
from notifier.errors import BadRequest
from notifier.plan import blocks, recurrence, sessions
from notifier.plan.agenda import occurrence_json
from notifier.plan.blocks import (
    STATUSES,
    check_duration,
    find_occurrence,
    parse_start,
)

MAX_SNOOZE = recurrence.MINUTES_PER_DAY


@dataclass(frozen=True)
class Acted:
    """What one action wrote: the occurrence as it is now, and whether the block's
    reminders must be recomputed (otherwise the rows it wrote only need the loop woken).
    schedule/planner.py does that part."""

    occurrence: dict[str, Any]
    reschedule: bool


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
    block: Block,
    key: str,
    status: str | None,
    snooze: int | None,
    now: datetime,
) -> Acted:
    """Apply the change; the outbox rows it settles itself (cancelled, or a snooze added)."""
    occ = find_occurrence(block, key, await db.occurrence_changes([block.id]))
    if occ.cancelled:
        raise BadRequest("occurrence: this session is cancelled")
    start = occ.original.start_utc  # the session's identity, moved or not
    if status is not None:
        state = await db.set_occurrence_state(
            block.id, start, status=status, snoozed_until=None, now=now
        )
        if status in ("done", "skipped"):
            await db.cancel_pending(block.id, start, f"occurrence marked {status}", now)
        return Acted(occurrence_json(block, occ, state), reschedule=status == "planned")
    else:
        assert snooze is not None
        until = now + timedelta(minutes=snooze)
        state = await db.set_occurrence_state(
            block.id, start, status="planned", snoozed_until=until, now=now
        )
        await db.insert_reminders(
            [
                NewReminder(
                    key=f"snooze:b{block.id}:{occurrence_key(start)}:{occurrence_key(until)}",
                    kind="reminder",
                    block_id=block.id,
                    occurrence_start=start,
                    due_at=until,
                )
            ],
            now,
        )
    return Acted(occurrence_json(block, occ, state), reschedule=False)


async def ask_again(db: Any, block: Block, key: str, minutes: int, now: datetime) -> Acted:
    """ "+N min" on the end-of-block question: ask how it went once more, N minutes later."""
    occ = find_occurrence(block, key, await db.occurrence_changes([block.id]))
    if occ.cancelled:
        raise BadRequest("occurrence: this session is cancelled")
    start = occ.original.start_utc
    until = now + timedelta(minutes=minutes)
    await db.insert_reminders(
        [
            NewReminder(
                key=f"again:b{block.id}:{occ.key}:{occurrence_key(until)}",
                kind="check",
                block_id=block.id,
                occurrence_start=start,
                due_at=until,
            )
        ],
        now,
    )
    state = await db.occurrence_state(block.id, start)
    return Acted(occurrence_json(block, occ, state), reschedule=False)


# -- one session of a series: move, resize, cancel; or split the series there ------------


def parse_change(data: Any) -> dict[str, Any]:
    """`{start?, duration_minutes?}` or `{"status": "cancelled"}`, checked."""
    if not isinstance(data, dict) or not data:
        raise BadRequest(
            'body must be {"start": …, "duration_minutes": …} or {"status": "cancelled"}'
        )
    unknown = sorted(set(data) - {"start", "duration_minutes", "status"})
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown field")
    if "status" in data:
        if data["status"] != "cancelled" or len(data) != 1:
            raise BadRequest('status: only {"status": "cancelled"} alone; move with start')
        return {"cancelled": True}
    if "duration_minutes" in data:
        check_duration(data["duration_minutes"])
    return dict(data)


async def change(db: Any, block: Block, key: str, wanted: dict[str, Any], now: datetime) -> Acted:
    """Move, resize or cancel one session (an RFC 5545 override); reminders follow it."""
    rows = await db.occurrence_changes([block.id])
    series = blocks.series(block, rows)
    session = find_occurrence(block, key, rows)
    key = session.key
    before = series.changes.get(key) or sessions.Change(session.original.local)
    if wanted.get("cancelled"):
        after = replace(before, cancelled=True)
    else:
        start = before.start_local
        if "start" in wanted:
            start = parse_start(wanted["start"], series.tz)
            if recurrence.localize(start, series.tz) == session.original.start_utc:
                start = None  # back where the rule puts it: not a move
        duration = wanted.get("duration_minutes", before.duration_minutes)
        if duration == block.duration_minutes:
            duration = None
        after = replace(before, cancelled=False, start_local=start, duration_minutes=duration)
    plain = not (after.added or after.cancelled or after.start_local or after.duration_minutes)
    await db.set_occurrence_change(
        block.id, key, None if plain else blocks.change_fields(after), now
    )
    found = sessions.find(blocks.series(block, await db.occurrence_changes([block.id])), key)
    assert found is not None  # the original start did not change
    state = await db.occurrence_state(block.id, found.original.start_utc)
    return Acted(occurrence_json(block, found, state), reschedule=True)


def split_fields(
    block: Block, session: sessions.Session, data: Any, rows: list[OccurrenceChange]
) -> tuple[BlockChanges, BlockChanges]:
    """(the old block's new rule, the new block's fields) for a split before `session`."""
    if block.rrule is None:
        raise BadRequest("occurrence: a one-off block has no series to split")
    series = blocks.series(block, rows)
    start = session.original.start_utc
    earlier = recurrence.occurrences(
        series.start_local,
        series.tz,
        series.rrule,
        recurrence.localize(series.start_local, series.tz),
        start,
        limit=None,
    )
    if not earlier:
        raise BadRequest(
            "occurrence: this is the series' first session; change the block itself instead"
        )
    parts = dict(p.split("=", 1) for p in block.rrule.split(";"))
    count = parts.pop("COUNT", None)
    parts.pop("UNTIL", None)
    # UNTIL in UTC one second before the split: RFC 5545 §3.3.10 wants UTC when DTSTART has a zone.
    until = occurrence_key(start - timedelta(seconds=1))
    old_rule = recurrence.parse_rrule(
        ";".join(f"{k}={v}" for k, v in {**parts, "UNTIL": until}.items())
    )
    new_rule = block.rrule
    if count is not None:
        left = int(count) - len(earlier)
        new_rule = recurrence.parse_rrule(
            ";".join(f"{k}={v}" for k, v in {**parts, "COUNT": left}.items())
        )
    defaults = {
        "title": block.title,
        "notes": block.notes,
        "start": local_text(session.original.local),
        "timezone": block.timezone,
        "duration_minutes": block.duration_minutes,
        "rrule": new_rule,
        "reminder_offsets": None
        if block.reminder_offsets is None
        else list(block.reminder_offsets),
        "reminders": block.reminders,
    }
    if not isinstance(data, dict):
        raise BadRequest("the block must be a JSON object")
    fields = blocks.validate_block({**defaults, **data}, partial=False, default_tz=block.timezone)
    blocks.check_repeats(fields)
    return {"rrule": old_rule}, fields
