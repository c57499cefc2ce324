"""What a reminder says: its context (block, timing, today's progress) and its text."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, cast

from notifier.clock import from_iso, occurrence_key
from notifier.db import Database
from notifier.db.records import Block, Reminder
from notifier.plan import recurrence
from notifier.plan.agenda import agenda
from notifier.plan.blocks import effective_timezone, session_start
from notifier.plan.prefs import Prefs
from notifier.texts.fallback import fallback_text
from notifier.texts.message import BODY_MAX, MessageContext, Source, Text, clip

# A reminder counts as late (and says so) when it leaves this long after its due time.
LATE_AFTER = timedelta(seconds=30)


def is_late(due: datetime, now: datetime) -> bool:
    """Whether a reminder due at `due` and going out at `now` is late (its text says so)."""
    return now - due > LATE_AFTER


def missed_key(count: int, now: datetime) -> str:
    """Key of the one "you missed N" push made after a downtime."""
    return f"missed:{count}:{occurrence_key(now)}"


@dataclass(frozen=True)
class DayItem:
    """One occurrence on a local day: just what messages need."""

    local: datetime
    title: str
    status: str


async def today(db: Database, tz_name: str, at: datetime) -> list[DayItem]:
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
_days: weakref.WeakKeyDictionary[Database, _DayCache] = weakref.WeakKeyDictionary()


# Sessions that were never meant to happen (skipped on purpose, cancelled) plan nothing.
NOT_PLANNED = ("skipped", "cancelled")


async def yesterday(db: Database, tz_name: str, local: datetime) -> tuple[int, int] | None:
    """(done, planned) on the local day before `local`, or None when nothing was planned.

    Noon of the day before, not 24 hours back: a 23- or 25-hour DST day stays one day.
    """
    tz = recurrence.tz_from_name(tz_name)
    noon = recurrence.localize(datetime.combine(local.date() - timedelta(days=1), time(12)), tz)
    day = [o for o in await today(db, tz_name, noon) if o.status not in NOT_PLANNED]
    if not day:
        return None
    return sum(o.status == "done" for o in day), len(day)


@dataclass(frozen=True, kw_only=True)
class About:
    """What a message is about: a stored reminder, or a preview of one (never stored)."""

    key: str  # the seed of the fallback text
    kind: Literal["reminder", "summary", "missed", "check"]
    due: datetime
    late: bool = False
    block: Block | None = None  # for a reminder; None when the block is gone
    session_start: datetime | None = None  # where the session really starts; None: now
    missed_count: int = 0

    @classmethod
    async def of(cls, db: Database, row: Reminder) -> About:
        """A stored reminder, with its block looked up."""
        block = await db.block(row.block_id) if row.block_id is not None else None
        return cls(
            key=row.key,
            kind=cast(Literal["reminder", "summary", "missed", "check"], row.kind),
            due=row.due_at,
            late=row.late,
            block=block,
            session_start=session_start(row),
            missed_count=row.missed_count or 0,
        )


async def context_for(db: Database, about: About, prefs: Prefs, now: datetime) -> MessageContext:
    """Everything a good message about `about` needs to know."""
    tz_name = effective_timezone(prefs)
    when = max(about.due, now)
    local = when.astimezone(recurrence.tz_from_name(tz_name))
    day = await today(db, tz_name, when)
    done = sum(o.status == "done" for o in day)
    common: dict[str, Any] = dict(
        seed=about.key,
        local_time=local,
        late=about.late or is_late(about.due, now),
        done_today=done,
        planned_today=sum(o.status not in NOT_PLANNED for o in day),
        persona=prefs.persona,
    )
    if about.kind == "summary":
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
    if about.kind == "missed":
        return MessageContext(kind="missed", missed_count=about.missed_count, **common)
    block_title = about.block.title if about.block else "your study block"
    if about.kind == "check":
        return MessageContext(kind="check", block_title=block_title, **common)
    start = about.session_start
    return MessageContext(
        kind="reminder",
        block_title=block_title,
        block_notes=about.block.notes if about.block else "",
        minutes_until=round((start - when).total_seconds() / 60) if start else 0,
        **common,
    )


def stored_text(row: Reminder) -> Text | None:
    """Text composed ahead of time, if any."""
    if row.title is None:
        return None
    source: Source = "llm" if row.text_source == "llm" else "fallback"
    return Text(row.title, row.body or "", source, row.text_error)


async def text_for(db: Database, row: Reminder, prefs: Prefs, now: datetime) -> Text:
    """The text to send now: the prepared one, or a fallback written on the spot.

    A text prepared for an on-time reminder would say "in 15 minutes" after a
    downtime, so a late reminder gets a fresh (late-aware) fallback instead.
    """
    prepared = stored_text(row)
    late = row.late or is_late(row.due_at, now)
    if prepared is not None and not late:
        return prepared  # the common case: no work on the send path
    text = fallback_text(await context_for(db, await About.of(db, row), prefs, now))
    if prepared is not None and prepared.source == "llm":
        return Text(text.title, text.body, "fallback", "prepared text was for an on-time reminder")
    return text


HELD_NOTE = "Held back during your quiet hours."


def held_text(text: Text) -> Text:
    """The text of a notification held through quiet hours: it says so first."""
    return Text(text.title, clip(f"{HELD_NOTE} {text.body}", BODY_MAX), text.source, text.error)
