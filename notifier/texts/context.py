"""What a reminder says: its context (block, timing, today's progress) and its text."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from notifier.clock import from_iso
from notifier.plan import recurrence
from notifier.plan.blocks import agenda, effective_timezone, session_start
from notifier.plan.prefs import Prefs
from notifier.texts.fallback import fallback_text
from notifier.texts.message import BODY_MAX, MessageContext, Text, clip

# A reminder counts as late (and says so) when it leaves this long after its due time.
LATE_AFTER = timedelta(seconds=30)


def is_late(due: datetime, now: datetime) -> bool:
    """Whether a reminder due at `due` and going out at `now` is late (its text says so)."""
    return now - due > LATE_AFTER


def missed_key(count: int, now: datetime) -> str:
    """Key of the one "you missed N" push made after a downtime."""
    return f"missed:{count}:{recurrence.occurrence_key(now)}"


def missed_count(key: str) -> int:
    return int(key.split(":")[1])


@dataclass(frozen=True)
class DayItem:
    """One occurrence on a local day: just what messages need."""

    local: datetime
    title: str
    status: str


async def today(db: Any, tz_name: str, at: datetime) -> list[DayItem]:
    """The sessions on the local day of `at`, in time order: that day's agenda.

    Kept until the plan changes (db.plan_version), so sending a reminder reads one
    counter instead of expanding every block; at most a few days are kept.
    """
    tz = recurrence.tz_from_name(tz_name)
    day = at.astimezone(tz).date()
    version = await db.plan_version()  # read first: a change meanwhile is never kept as new
    cache = _days.setdefault(db, _DayCache())
    if cache.version != version:
        cache.version, cache.items = version, {}
    if (tz_name, day) not in cache.items:
        start = recurrence.localize(datetime.combine(day, time()), tz)
        end = recurrence.localize(datetime.combine(day + timedelta(days=1), time()), tz)
        items = [
            DayItem(from_iso(o["start_utc"]).astimezone(tz), o["title"], o["status"])
            for o in await agenda(db, start, end)
        ]
        if len(cache.items) >= _DAYS_KEPT:
            cache.items.pop(next(iter(cache.items)))
        cache.items[(tz_name, day)] = items
    return list(cache.items[(tz_name, day)])


@dataclass
class _DayCache:
    version: int = -1
    items: dict[tuple[str, date], list[DayItem]] = field(default_factory=dict)


_DAYS_KEPT = 4
_days: weakref.WeakKeyDictionary[Any, _DayCache] = weakref.WeakKeyDictionary()


# Sessions that were never meant to happen (skipped on purpose, cancelled) plan nothing.
NOT_PLANNED = ("skipped", "cancelled")


async def yesterday(db: Any, tz_name: str, local: datetime) -> tuple[int, int] | None:
    """(done, planned) on the local day before `local`, or None when nothing was planned.

    Noon of the day before, not 24 hours back: a 23- or 25-hour DST day stays one day.
    """
    tz = recurrence.tz_from_name(tz_name)
    noon = recurrence.localize(datetime.combine(local.date() - timedelta(days=1), time(12)), tz)
    day = [o for o in await today(db, tz_name, noon) if o.status not in NOT_PLANNED]
    if not day:
        return None
    return sum(o.status == "done" for o in day), len(day)


async def context_for(db: Any, row: Any, prefs: Prefs, now: datetime) -> MessageContext:
    """Everything a good message for this reminder needs to know."""
    tz_name = effective_timezone(prefs)
    due = from_iso(row["due_at"])
    when = max(due, now)
    local = when.astimezone(recurrence.tz_from_name(tz_name))
    day = await today(db, tz_name, when)
    done = sum(o.status == "done" for o in day)
    common = dict(
        seed=row["key"],
        local_time=local,
        late=bool(row["late"]) or is_late(due, now),
        done_today=done,
        planned_today=sum(o.status not in NOT_PLANNED for o in day),
        persona=prefs.persona,
    )
    if row["kind"] == "summary":
        # only what is still ahead when it goes out (a held summary skips what already began)
        items = tuple(
            (o.local.strftime("%H:%M"), o.title)
            for o in day
            if o.status == "planned" and o.local >= local
        )
        return MessageContext(
            kind="summary",
            summary_items=items,
            yesterday=await yesterday(db, tz_name, local),
            **common,
        )
    if row["kind"] == "missed":
        return MessageContext(kind="missed", missed_count=missed_count(row["key"]), **common)
    block = await db.block(row["block_id"]) if row["block_id"] is not None else None
    if row["kind"] == "check":
        return MessageContext(
            kind="check", block_title=block["title"] if block else "your study block", **common
        )
    return MessageContext(
        kind="reminder",
        block_title=block["title"] if block else "your study block",
        block_notes=block["notes"] if block else "",
        minutes_until=round((session_start(row) - when).total_seconds() / 60),
        **common,
    )


def stored_text(row: Any) -> Text | None:
    """Text composed ahead of time, if any."""
    if row["title"] is None:
        return None
    return Text(
        row["title"], row["body"] or "", row["text_source"] or "fallback", row["text_error"]
    )


async def text_for(db: Any, row: Any, prefs: Prefs, now: datetime) -> Text:
    """The text to send now: the prepared one, or a fallback written on the spot.

    A text prepared for an on-time reminder would say "in 15 minutes" after a
    downtime, so a late reminder gets a fresh (late-aware) fallback instead.
    """
    prepared = stored_text(row)
    late = bool(row["late"]) or is_late(from_iso(row["due_at"]), now)
    if prepared is not None and not late:
        return prepared  # the common case: no work on the send path
    text = fallback_text(await context_for(db, row, prefs, now))
    if prepared is not None and prepared.source == "llm":
        return Text(text.title, text.body, "fallback", "prepared text was for an on-time reminder")
    return text


HELD_NOTE = "Held back during your quiet hours."


def held_text(text: Text) -> Text:
    """The text of a notification held through quiet hours: it says so first."""
    return Text(text.title, clip(f"{HELD_NOTE} {text.body}", BODY_MAX), text.source, text.error)
