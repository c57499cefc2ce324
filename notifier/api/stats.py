"""GET /api/stats: planned versus done, per day and per block title, and the current streak."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated

import msgspec
from litestar import get
from litestar.params import QueryParameter

from notifier.api.injected import Injected
from notifier.clock import Clock
from notifier.db import Database
from notifier.errors import BadRequest
from notifier.plan import prefs as prefs_mod
from notifier.plan import recurrence, stats
from notifier.plan.agenda import agenda
from notifier.plan.blocks import effective_timezone

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: str | None, name: str, default: date) -> date:
    if value is None:
        return default
    try:
        if _DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise BadRequest(f"{name}: must be a date like 2026-11-23")


class Minutes(msgspec.Struct):
    """Minutes and sessions: planned (on the plan, not skipped), done, skipped."""

    planned_minutes: int
    done_minutes: int
    skipped_minutes: int
    sessions: int
    done_sessions: int


class DayStats(Minutes):
    date: str  # local date, YYYY-MM-DD


class TitleStats(Minutes):
    title: str


class StatsOut(msgspec.Struct):
    """Planned versus done in [from, to], per day and per block title, and the current streak."""

    timezone: str
    start: str = msgspec.field(name="from")
    end: str = msgspec.field(name="to")
    days: list[DayStats] = msgspec.field(default_factory=list)
    titles: list[TitleStats] = msgspec.field(default_factory=list)
    totals: Minutes | None = None
    streak: int = 0  # days in a row with every session done (days with none are skipped)


@get("/api/stats", tags=["history"])
async def get_stats(
    db: Injected[Database],
    clock: Injected[Clock],
    start: Annotated[str | None, QueryParameter(name="from")] = None,
    end: Annotated[str | None, QueryParameter(name="to")] = None,
) -> StatsOut:
    """Minutes planned and done per local day in [from, to] (dates; default: the last 7 days)
    and per block title, with the current streak of days on which every session was done."""
    prefs = await prefs_mod.load(db)
    tz_name = effective_timezone(prefs)
    tz = recurrence.tz_from_name(tz_name)
    now = clock.now()
    today = now.astimezone(tz).date()
    last = _date(end, "to", today)
    first = _date(start, "from", last - timedelta(days=6))
    if last < first:
        raise BadRequest("to: must not be before from")
    if (last - first).days >= stats.MAX_DAYS:
        raise BadRequest(f"to: the range may span at most {stats.MAX_DAYS} days")

    def bound(day: date) -> datetime:
        return recurrence.localize(datetime.combine(day, time()), tz)

    items = await agenda(db, bound(first), bound(last + timedelta(days=1)))
    # the streak looks back from today, whatever range was asked for
    back = await agenda(
        db, bound(today - timedelta(days=stats.STREAK_DAYS)), bound(today + timedelta(days=1))
    )
    answer = {
        "timezone": tz_name,
        "from": first.isoformat(),
        "to": last.isoformat(),
        **stats.summarise(items, first, last),
        "streak": stats.streak(back, today),
    }
    return msgspec.convert(answer, StatsOut)
