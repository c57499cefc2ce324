"""Repeats a person picks without writing RRULE: the shapes, their rule, the rule in words.

This is the one place that maps between the picker's shapes and RFC 5545 RRULE
text; the app sends a `repeat` object and shows `repeat_text`, never builds a rule.

Shapes: every N days; every N weeks on chosen days (weekdays and weekends are
such a choice); every N months on a date (or the last day) or on "the 2nd
Tuesday" (or the last one); every N years on the start's date. Each ends never,
after a number of sessions (COUNT) or on a date (UNTIL, that whole local day).

`from_rule` recognises every rule the server accepts that means one of these,
in whatever way it is written (no BYDAY on a weekly rule, DAILY with BYDAY,
BYSETPOS, an UNTIL with a time or in UTC …), and gives the shape that yields the
same occurrences from the block's start; a rule that fits no shape gives None
and stays editable as raw text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from notifier.plan import recurrence

Every = Literal["day", "week", "month", "year"]
EVERY: dict[str, str] = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
NTHS = (1, 2, 3, 4, 5, -1)  # "the 2nd Tuesday", "the last Friday"
MAX_INTERVAL = 1000  # what the rule parser accepts
MAX_COUNT = 10_000
FIELDS = ("every", "interval", "days", "month_day", "nth", "weekday", "count", "until")

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
_UNITS = {"day": "days", "week": "weeks", "month": "months", "year": "years"}
_NTH_DAY = re.compile(r"([+-]?[0-9]{1,2})(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"([0-9]{8})(?:T([0-9]{6})(Z?))?")


class RepeatError(ValueError):
    """A repeat object that is not one of the shapes; the message is for a person."""


@dataclass(frozen=True)
class Repeat:
    """One of the picker's shapes. Unused fields are None (or empty days)."""

    every: Every
    interval: int = 1
    days: tuple[str, ...] = ()  # every == "week": MO..SU in week order, at least one
    month_day: int | None = None  # every == "month": 1..31, or -1 for the last day
    nth: int | None = None  # every == "month": 1..5 or -1 (last), with `weekday`
    weekday: str | None = None
    count: int | None = None  # ends after this many sessions
    until: date | None = None  # ends on this local date (that day included)

    def as_json(self) -> dict[str, Any]:
        """The API's `repeat` object: every field present, unused ones null."""
        return {
            "every": self.every,
            "interval": self.interval,
            "days": list(self.days) if self.every == "week" else None,
            "month_day": self.month_day,
            "nth": self.nth,
            "weekday": self.weekday,
            "count": self.count,
            "until": self.until.isoformat() if self.until else None,
        }


# -- the API's repeat object ---------------------------------------------------


def parse(data: Any) -> Repeat:
    """Check a `repeat` object from a request; RepeatError says what to fix."""
    if not isinstance(data, Mapping):
        raise RepeatError('must be an object like {"every": "week", "days": ["TU", "TH"]}')
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise RepeatError(f"{unknown[0]} is not part of a repeat")
    every = data.get("every")
    if every not in EVERY:
        raise RepeatError("every must be day, week, month or year")
    interval = _whole(data.get("interval", 1), "interval", 1, MAX_INTERVAL, default=1)
    days: tuple[str, ...] = ()
    raw_days = data.get("days")
    if every == "week":
        if not isinstance(raw_days, list) or not raw_days:
            raise RepeatError('a weekly repeat needs days, e.g. ["TU", "TH"]')
        if any(d not in DAYS for d in raw_days):
            raise RepeatError("days are two-letter weekdays: MO, TU, WE, TH, FR, SA, SU")
        days = tuple(d for d in DAYS if d in raw_days)
    elif raw_days not in (None, []):
        raise RepeatError("days only go with every: week")
    month_day = nth = weekday = None
    by_date = data.get("month_day") is not None
    by_weekday = data.get("nth") is not None or data.get("weekday") is not None
    if every == "month":
        if by_date == by_weekday:
            raise RepeatError(
                "a monthly repeat needs either month_day (1 to 31, or -1 for the last day) "
                "or nth and weekday (the 2nd Tuesday: nth 2, weekday TU)"
            )
        if by_date:
            month_day = data["month_day"]
            if isinstance(month_day, bool) or month_day not in (*range(1, 32), -1):
                raise RepeatError("month_day must be 1 to 31, or -1 for the last day")
        else:
            nth, weekday = data.get("nth"), data.get("weekday")
            if isinstance(nth, bool) or nth not in NTHS:
                raise RepeatError("nth must be 1 to 5, or -1 for the last one in the month")
            if weekday not in DAYS:
                raise RepeatError("weekday must be one of MO, TU, WE, TH, FR, SA, SU")
    elif by_date or by_weekday:
        raise RepeatError("month_day, nth and weekday only go with every: month")
    count = data.get("count")
    until_text = data.get("until")
    if count is not None and until_text is not None:
        raise RepeatError("end after a number of sessions or on a date, not both")
    if count is not None:
        count = _whole(count, "count", 1, MAX_COUNT)
    until = None
    if until_text is not None:
        try:
            until = date.fromisoformat(until_text) if isinstance(until_text, str) else None
        except ValueError:
            until = None
        if until is None or len(until_text) != 10:
            raise RepeatError("until must be a date like 2026-12-19")
        if not 2000 <= until.year <= 2100:
            raise RepeatError("until must be a date between the years 2000 and 2100")
    return Repeat(every, interval, days, month_day, nth, weekday, count, until)


def _whole(value: Any, name: str, lo: int, hi: int, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise RepeatError(f"{name} must be a whole number from {lo} to {hi}")
    return value


# -- shape → rule --------------------------------------------------------------


def to_rule(rep: Repeat) -> str:
    """The canonical RRULE for a shape (what the block stores)."""
    parts = [f"FREQ={EVERY[rep.every]}"]
    if rep.interval != 1:
        parts.append(f"INTERVAL={rep.interval}")
    if rep.count is not None:
        parts.append(f"COUNT={rep.count}")
    if rep.until is not None:
        parts.append(f"UNTIL={rep.until:%Y%m%d}")  # a bare date: that whole local day
    if rep.every == "week":
        parts.append("BYDAY=" + ",".join(rep.days))
    elif rep.every == "month" and rep.month_day is not None:
        parts.append(f"BYMONTHDAY={rep.month_day}")
    elif rep.every == "month":
        parts.append(f"BYDAY={rep.nth}{rep.weekday}")
    return recurrence.parse_rrule(";".join(parts))


# -- rule → shape --------------------------------------------------------------


def from_rule(rrule: str, start: datetime, tz: ZoneInfo) -> Repeat | None:
    """The shape meaning the same occurrences from `start` (naive local), or None."""
    try:
        canonical = recurrence.parse_rrule(rrule)
    except ValueError:
        return None
    parts = dict(p.split("=", 1) for p in canonical.split(";"))
    freq = parts.pop("FREQ")
    interval = int(parts.pop("INTERVAL", "1"))
    wkst = parts.pop("WKST", "MO")
    count = int(parts.pop("COUNT")) if "COUNT" in parts else None
    until = _until_date(parts.pop("UNTIL"), start, tz) if "UNTIL" in parts else None
    base = Repeat("day", interval, count=count, until=until)
    weekday = DAYS[start.weekday()]
    if freq == "DAILY":
        if not parts:
            return base
        if set(parts) == {"BYDAY"} and interval == 1:  # Mon-Fri written as a daily filter
            return replace(base, every="week", days=_plain_days(parts["BYDAY"]))
        return None
    if freq == "WEEKLY":
        # The week's first day only matters when weeks are skipped (RFC 5545 §3.3.10, WKST).
        if set(parts) - {"BYDAY"} or (wkst != "MO" and interval > 1):
            return None
        days = _plain_days(parts["BYDAY"]) if "BYDAY" in parts else (weekday,)
        return replace(base, every="week", days=days)
    if freq == "MONTHLY":
        if not parts:
            return replace(base, every="month", month_day=start.day)
        if set(parts) == {"BYMONTHDAY"} and parts["BYMONTHDAY"] in (*map(str, range(1, 32)), "-1"):
            return replace(base, every="month", month_day=int(parts["BYMONTHDAY"]))
        nth_day = _nth_weekday(parts)
        if nth_day is None:
            return None
        return replace(base, every="month", nth=nth_day[0], weekday=nth_day[1])
    # YEARLY: on the start's date, however that is spelt out.
    if not parts or (
        parts.get("BYMONTH") == str(start.month)
        and parts.get("BYMONTHDAY", str(start.day)) == str(start.day)
        and set(parts) <= {"BYMONTH", "BYMONTHDAY"}
    ):
        return replace(base, every="year")
    return None


def _plain_days(value: str) -> tuple[str, ...]:
    days = value.split(",")
    return tuple(d for d in DAYS if d in days)


def _nth_weekday(parts: dict[str, str]) -> tuple[int, str] | None:
    """(2, "TU") for BYDAY=2TU, or BYDAY=TU;BYSETPOS=2; else None."""
    if set(parts) == {"BYDAY"} and (m := _NTH_DAY.fullmatch(parts["BYDAY"])):
        nth, day = int(m[1]), m[2]
    elif set(parts) == {"BYDAY", "BYSETPOS"} and parts["BYDAY"] in DAYS:
        nth, day = (
            int(parts["BYSETPOS"]) if parts["BYSETPOS"].lstrip("-").isdigit() else 0,
            parts["BYDAY"],
        )
    else:
        return None
    return (nth, day) if nth in NTHS else None


def _until_date(value: str, start: datetime, tz: ZoneInfo) -> date:
    """The last local date an UNTIL lets an occurrence of `start`'s time of day fall on."""
    m = _UNTIL.fullmatch(value)
    if m is None:  # parse_rrule let it through, so this cannot happen
        raise ValueError(f"bad UNTIL {value!r}")
    day = datetime.strptime(m[1], "%Y%m%d").date()
    if not m[2]:
        return day
    stamp = datetime.strptime(m[1] + m[2], "%Y%m%d%H%M%S")
    if not m[3]:  # a local wall time: occurrences are compared as wall times
        return day if start.time() <= stamp.time() else day - timedelta(days=1)
    # In UTC: a date's occurrence counts when its instant is not after UNTIL. Instants of
    # one time of day grow with the date, so the dates that count are those up to the last.
    limit = stamp.replace(tzinfo=UTC)
    day = limit.astimezone(tz).date()
    while recurrence.localize(datetime.combine(day, start.time()), tz) > limit:
        day -= timedelta(days=1)
    return day


# -- in words ------------------------------------------------------------------


def describe(rep: Repeat, start: datetime) -> str:
    """The rule in words: "Tue and Thu, every 2 weeks, until 19 Dec"."""
    n = rep.interval
    every_n = f"every {n} {_UNITS[rep.every]}"
    if rep.every == "day":
        text = "Every day" if n == 1 else f"Every {n} days"
    elif rep.every == "week":
        text = _weekly(rep.days, n, every_n)
    elif rep.every == "month":
        on = (
            ("the last day" if rep.month_day == -1 else f"the {_ordinal(rep.month_day)}")
            if rep.month_day is not None
            else f"the {_nth(rep.nth)} {_DAY_NAMES[DAYS.index(rep.weekday or 'MO')]}"
        )
        text = f"Monthly on {on}" if n == 1 else f"Every {n} months on {on}"
    else:
        on = f"{start.day} {_MONTHS[start.month - 1]}"
        text = f"Every year on {on}" if n == 1 else f"Every {n} years on {on}"
    if rep.count is not None:
        text += f", {rep.count} session" + ("" if rep.count == 1 else "s")
    if rep.until is not None:
        text += f", until {rep.until.day} {_MONTHS[rep.until.month - 1][:3]}"
        if rep.until.year != start.year:
            text += f" {rep.until.year}"
    return text


def _weekly(days: tuple[str, ...], n: int, every_n: str) -> str:
    named = {DAYS[:5]: "weekday", DAYS[5:]: "weekend", DAYS: "day"}.get(days)
    if named:
        if n == 1:
            return "Every day" if named == "day" else f"Every {named}"
        return {"weekday": "Weekdays", "weekend": "Weekends", "day": "All week"}[
            named
        ] + f", {every_n}"
    if len(days) == 1:
        name = _DAY_NAMES[DAYS.index(days[0])]
        return f"Every {name}" if n == 1 else f"Every {n} weeks on {name}"
    short = [_DAY_NAMES[DAYS.index(d)][:3] for d in days]
    listed = ", ".join(short[:-1]) + f" and {short[-1]}"
    return f"Every {listed}" if n == 1 else f"{listed}, {every_n}"


def _ordinal(n: int | None) -> str:
    n = n or 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _nth(n: int | None) -> str:
    return "last" if n == -1 else _ordinal(n)


ONCE_TEXT = "Does not repeat"
CUSTOM_TEXT = "Repeats by a custom rule"


def block_fields(rrule: str | None, start: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """`repeat` and `repeat_text` for a block's JSON (repeat is null for once or a custom rule)."""
    if rrule is None:
        return {"repeat": None, "repeat_text": ONCE_TEXT}
    rep = from_rule(rrule, start, tz)
    if rep is None:
        return {"repeat": None, "repeat_text": CUSTOM_TEXT}
    return {"repeat": rep.as_json(), "repeat_text": describe(rep, start)}
