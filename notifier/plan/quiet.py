"""Quiet hours: when the phone stays silent, and when a held notification may go out.

The setting is `{"start": "23:00", "end": "07:00", "mode": "hold" | "drop"}` (or
null), optionally with `"days": ["SU", "MO", …]`, the nights it applies to, by
the weekday its quiet period starts on. A period ending at or before its start
time runs past midnight. Times are wall times in the settings' zone and are
read the way block times are (recurrence.localize), so a 07:00 end stays 07:00
across DST and a nonexistent 02:30 end moves forward with the gap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from notifier.plan.recurrence import localize

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class QuietHours:
    """A nightly quiet period and what happens to a notification that falls in it."""

    start: time
    end: time
    mode: Literal["hold", "drop"] = "hold"
    days: frozenset[int] | None = None  # weekdays (Monday = 0) a period starts on; None = all

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "mode": self.mode,
        }
        if self.days is not None:
            data["days"] = [DAYS[d] for d in sorted(self.days)]
        return data


def parse(value: Any) -> QuietHours | None:
    """Check the setting's value; ValueError says what to fix (a person reads it)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError('must be null or like {"start": "23:00", "end": "07:00", "mode": "hold"}')
    unknown = sorted(set(value) - {"start", "end", "mode", "days"})
    if unknown:
        raise ValueError(f"{unknown[0]} is not part of quiet hours")
    start, end = _hhmm(value.get("start"), "start"), _hhmm(value.get("end"), "end")
    if start == end:
        raise ValueError("start and end must differ")
    mode = value.get("mode", "hold")
    if mode not in ("hold", "drop"):
        raise ValueError("mode must be hold (send when quiet hours end) or drop (do not send)")
    days = value.get("days")
    if days is not None:
        if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
            raise ValueError(
                'days must be a list of weekdays like ["SU", "MO"], or left out for every night'
            )
        days = frozenset(DAYS.index(d) for d in days)
    return QuietHours(start, end, mode, days)


def _hhmm(value: Any, name: str) -> time:
    if not isinstance(value, str) or not (m := _HHMM.fullmatch(value)):
        raise ValueError(f"{name} must be a time of day as HH:MM (24-hour)")
    return time(int(m[1]), int(m[2]))


def period_end(quiet: QuietHours | None, at: datetime, tz: ZoneInfo) -> datetime | None:
    """The end (UTC) of the quiet period `at` (aware) falls in, or None when it is not quiet.

    A period runs from `start` on its day to `end` on the same day, or the next one when
    the end comes first on the clock; the periods that can hold `at` started on its local
    date or the day before.
    """
    if quiet is None:
        return None
    local_day = at.astimezone(tz).date()
    for day in (local_day - timedelta(days=1), local_day):
        span = _period(quiet, day, tz)
        if span and span[0] <= at < span[1]:
            return span[1]
    return None


def _period(quiet: QuietHours, day: date, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    if quiet.days is not None and day.weekday() not in quiet.days:
        return None
    end_day = day if quiet.end > quiet.start else day + timedelta(days=1)
    return (
        localize(datetime.combine(day, quiet.start), tz),
        localize(datetime.combine(end_day, quiet.end), tz),
    )


def release_time(quiet: QuietHours | None, at: datetime, tz: ZoneInfo) -> datetime | None:
    """When a notification due at `at` may go out: None if now is fine, else the end of the quiet.

    Periods that meet (a Sunday night ending as the Monday one starts) are crossed together.
    """
    end = period_end(quiet, at, tz)
    for _ in range(8):
        later = period_end(quiet, end, tz) if end is not None else None
        if later is None:
            return end
        end = later
    return end
