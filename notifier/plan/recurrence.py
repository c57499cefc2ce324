"""Pure time logic: local wall time to UTC, repeat rules, reminder due times."""

from __future__ import annotations

import calendar
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

MAX_RRULE_LENGTH = 500
MINUTES_PER_DAY = 24 * 60
MAX_OFFSET_MINUTES = MINUTES_PER_DAY  # a reminder up to a day ahead of its block
# localize() moves a wall time by less than a day (UTC offsets stay within +-24 h),
# so a local search this much wider than the UTC window cannot miss anything.
_MARGIN = timedelta(days=2)
_FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")  # finer ones would flood the outbox
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# The parts a rule may have, in the order of the canonical form.
_PARTS = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYMONTH",
    "BYMONTHDAY",
    "BYDAY",
    "BYSETPOS",
    "WKST",
)
_DEFAULTS = {"INTERVAL": "1", "WKST": "MO"}  # left out of the canonical form
# Numeric parts dateutil lets through out of range (an INTERVAL of 0 never advances): lowest
# and highest value; zero is never valid and negatives count from the end.
_RANGES = {"INTERVAL": (1, 1000), "COUNT": (1, 10_000), "BYMONTH": (1, 12),
           "BYMONTHDAY": (-31, 31), "BYSETPOS": (-366, 366)}  # fmt: skip
_REFUSED = dict.fromkeys(
    ("BYHOUR", "BYMINUTE", "BYSECOND"), "the block's start time sets the time of day"
)
_REFUSED |= dict.fromkeys(("BYYEARDAY", "BYWEEKNO", "BYEASTER"), "study blocks have no use for it")
_BYDAY_RE = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL_RE = re.compile(r"([0-9]{8})(?:T([0-9]{6})(Z?))?")


@dataclass(frozen=True)
class Occurrence:
    """One start of a block: its local wall-clock time and the same instant in UTC."""

    local: datetime
    start_utc: datetime


def localize(local: datetime, tz: ZoneInfo) -> datetime:
    """Turn a naive local wall time into an aware UTC datetime."""
    if local.tzinfo is not None:
        raise ValueError("localize() takes a naive local time")
    # fold=0 (PEP 495) is the RFC 5545 §3.3.5 rule for DTSTART, applied to every time:
    # https://www.rfc-editor.org/rfc/rfc5545#section-3.3.5 -- an ambiguous time takes its
    # first occurrence, and a nonexistent one is read with the offset in force before the
    # gap, which moves it forward by the gap (02:30 on a 02:00->03:00 day becomes 03:30).
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


@dataclass(frozen=True)
class _Rule:
    """A parsed rule. Its canonical text says everything the other fields hold, so equality
    and hashing look at the text only: the caches below hash a rule per block expanded."""

    text: str  # the canonical form
    body: str  # what dateutil expands: every part but UNTIL, defaults included
    # UNTIL is applied here: dateutil refuses a UTC UNTIL with a floating DTSTART and would
    # read a bare date as midnight, dropping that day. Naive: a local wall time; aware: UTC.
    until: datetime | None
    # The parts again, parsed, for the expansion that starts near the window.
    freq: str
    interval: int
    count: int | None
    months: tuple[int, ...]  # BYMONTH; empty: any
    monthdays: tuple[int, ...]  # BYMONTHDAY; negatives count from the month's end
    weekdays: tuple[tuple[int, int], ...]  # BYDAY as (weekday, n); n = 0 unless numbered
    setpos: bool
    wkst: int

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Rule) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def parse_rrule(text: str) -> str:
    """Validate an RRULE (with or without "RRULE:") and return its canonical form."""
    return _parse(text).text


@lru_cache(maxsize=1024)
def _parse(text: str) -> _Rule:
    parts = _split(text)
    freq = parts.get("FREQ")
    if freq not in _FREQS:
        raise ValueError(
            "say how often it repeats: daily, weekly, monthly or yearly "
            "(FREQ=DAILY, WEEKLY, MONTHLY or YEARLY)"
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError(
            "a repeat ends either after a number of times (COUNT) or on a date (UNTIL), not both"
        )
    # dateutil accepts both of these and quietly reads them as something else.
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        raise ValueError("a weekly repeat picks weekdays, not days of the month (BYMONTHDAY)")
    if "BYSETPOS" in parts and (
        freq in ("DAILY", "WEEKLY") or not {"BYMONTH", "BYMONTHDAY", "BYDAY"} & parts.keys()
    ):
        raise ValueError(
            "picking “the first” or “the last” (BYSETPOS) works only in a monthly or yearly "
            "repeat that also picks days or months"
        )
    parts |= {name: _numbers(name, parts[name]) for name in _RANGES if name in parts}
    if "BYDAY" in parts:
        parts["BYDAY"] = _byday(
            parts["BYDAY"], freq, in_month=freq == "MONTHLY" or "BYMONTH" in parts
        )
    parts.setdefault(
        "WKST", "MO"
    )  # dateutil would take calendar.firstweekday(), a process-wide setting
    canon = [
        f"{name}={parts[name]}"
        for name in _PARTS
        if name in parts and parts[name] != _DEFAULTS.get(name)
    ]
    body = ";".join(f"{name}={parts[name]}" for name in _PARTS if name in parts and name != "UNTIL")
    try:  # dateutil has the last word on anything let through (an unknown WKST, say)
        rrulestr(body, dtstart=datetime(2000, 1, 1))
    except ValueError as exc:
        raise ValueError(f"this repeat rule cannot be used ({exc})") from None
    ints = {name: tuple(map(int, parts[name].split(","))) for name in _RANGES if name in parts}
    return _Rule(
        text=";".join(canon),
        body=body,
        until=_until(parts["UNTIL"]) if "UNTIL" in parts else None,
        freq=freq,
        interval=ints.get("INTERVAL", (1,))[0],
        count=ints["COUNT"][0] if "COUNT" in ints else None,
        months=ints.get("BYMONTH", ()),
        monthdays=ints.get("BYMONTHDAY", ()),
        weekdays=tuple(
            (_DAYS.index(m[2]), int(m[1] or 0))
            for m in map(_BYDAY_RE.fullmatch, parts.get("BYDAY", "").split(","))
            if m
        ),
        setpos="BYSETPOS" in parts,
        wkst=_DAYS.index(parts["WKST"]) if parts["WKST"] in _DAYS else 0,
    )


def _split(text: str) -> dict[str, str]:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the repeat rule is empty")
    if len(text) > MAX_RRULE_LENGTH:
        raise ValueError(f"the repeat rule is longer than {MAX_RRULE_LENGTH} characters")
    body = text.strip().upper()
    if "DTSTART" in body:
        raise ValueError(
            "leave the start (DTSTART) out of the repeat rule: the block's own start is used"
        )
    body = body.removeprefix("RRULE:")
    if not re.fullmatch(r"[A-Z0-9=;,+-]+", body):  # also keeps out digits int() reads, like '٣'
        raise ValueError(
            "the repeat rule has characters it cannot hold; it looks like FREQ=WEEKLY;BYDAY=MO,WE"
        )
    parts: dict[str, str] = {}
    for item in filter(None, body.split(";")):
        name, _, value = item.partition("=")
        if name in _REFUSED:
            raise ValueError(f"{name} cannot be used here: {_REFUSED[name]}")
        if name not in _PARTS:
            raise ValueError(f"the repeat rule has a part this app does not know: {name[:20]!r}")
        if not value or name in parts:
            raise ValueError(f"{name} must be given once, with a value")
        parts[name] = value
    return parts


def _numbers(name: str, value: str) -> str:
    low, high = _RANGES[name]
    try:
        nums = sorted({int(v) for v in value.split(",")})
    except ValueError:
        raise ValueError(f"{name} takes whole numbers, separated by commas") from None
    if any(n == 0 or not low <= n <= high for n in nums):
        also = f" (or {low} to -1, counting from the end)" if low < 0 else ""
        raise ValueError(f"{name} takes numbers from 1 to {high}{also}")
    return ",".join(map(str, nums))  # INTERVAL=1,2 gets this far; dateutil refuses it


def _byday(value: str, freq: str, *, in_month: bool) -> str:
    days = set()
    for item in value.split(","):
        if not (m := _BYDAY_RE.fullmatch(item)):
            raise ValueError(
                f"days are written MO, TU, WE, TH, FR, SA, SU (or 1MO for the first Monday, "
                f"-1FR for the last Friday, in a monthly repeat); not {item[:20]!r}"
            )
        if m[1] and (freq not in ("MONTHLY", "YEARLY") or not 1 <= abs(int(m[1])) <= 53):
            raise ValueError(
                "“the first Monday” (1MO) or “the last Friday” (-1FR) works only in a monthly "
                "or yearly repeat"
            )
        # dateutil looks the 6th+ weekday of a month up past its tables (IndexError, or a
        # day of another month), and a month has at most five of each weekday anyway.
        if m[1] and in_month and abs(int(m[1])) > 5:
            raise ValueError(
                "a month has at most five of each weekday: use 1 to 5, or -1 to -5 from the end"
            )
        days.add((_DAYS.index(m[2]), int(m[1] or 0)))
    return ",".join(f"{n or ''}{_DAYS[d]}" for d, n in sorted(days))


def _until(value: str) -> datetime:
    m = _UNTIL_RE.fullmatch(value)
    with suppress(ValueError):  # strptime refuses dates like 20261301
        if m:  # a bare date includes that whole local day
            stamp = datetime.strptime(m[1] + (m[2] or "235959"), "%Y%m%d%H%M%S")
            return stamp.replace(tzinfo=UTC) if m[3] else stamp
    raise ValueError("the end date (UNTIL) is written like 20261231 (or 20261231T235959)")


def _local_starts(rule: _Rule, start: datetime, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """The rule's naive local start times in [lo, hi], in order, exactly as dateutil expands
    them from `start`, at a cost that depends on the window, not on how long ago `start` was."""
    if rule.until is not None and rule.until.tzinfo is None:
        hi = min(hi, rule.until)
    if rule.count is not None:
        # COUNT counts from the first start, so the series' last start is found once (cached)
        # and the rule is then expanded near the window like one with an UNTIL.
        last = _count_end(rule, start)
        if last is None and hi >= _COUNT_HORIZON:
            yield from _full_local_starts(rule, start, lo, hi)  # past anything a person plans
            return
        hi = hi if last is None else min(hi, last)
    if hi < start or hi < lo:
        return
    if rule.freq in ("DAILY", "WEEKLY") or not (rule.weekdays or rule.setpos):
        yield from _dates_starts(rule, start, lo, hi)
    else:
        yield from _moved_starts(rule, start, lo, hi)


@lru_cache(maxsize=8192)
def _count_end(rule: _Rule, start: datetime) -> datetime | None:
    """The local start of a COUNT rule's last occurrence; None if it lies past the horizon."""
    body = _explicit(rule, start)
    for n, local in enumerate(_local_starts(body, start, start, _COUNT_HORIZON), 1):
        if n == rule.count:
            return local
    return None


_COUNT_HORIZON = datetime(2200, 1, 1)  # block starts are 2000-2100: far past any real window


def _explicit(rule: _Rule, start: datetime) -> _Rule:
    """The same rule without COUNT and with the parts dateutil takes from the start spelled out.

    dateutil fills a missing BYDAY (weekly), BYMONTHDAY (monthly, yearly) and BYMONTH (yearly)
    from DTSTART; made explicit, the rule means the same from any later start of a period.
    """
    return _explicit_for(rule, start.weekday(), start.day, start.month)


@lru_cache(maxsize=1024)
def _explicit_for(rule: _Rule, weekday: int, day: int, month: int) -> _Rule:
    parts = dict(p.split("=", 1) for p in rule.body.split(";"))
    parts.pop("COUNT", None)
    if not (rule.monthdays or rule.weekdays):
        if rule.freq == "WEEKLY":
            parts["BYDAY"] = _DAYS[weekday]
        elif rule.freq in ("MONTHLY", "YEARLY"):
            parts["BYMONTHDAY"] = str(day)
            if rule.freq == "YEARLY" and not rule.months:
                parts["BYMONTH"] = str(month)
    return _parse(";".join(f"{name}={parts[name]}" for name in _PARTS if name in parts))


def _dates_starts(rule: _Rule, start: datetime, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """Rules whose dates each period computes directly: every DAILY and WEEKLY rule, and
    MONTHLY/YEARLY ones made of BYMONTH and BYMONTHDAY only (the common ones)."""
    rule = _explicit(rule, start)
    clock = start.time()
    first, last = max(start, lo).date(), hi.date()
    if first > last:
        return
    days = (
        _daily(rule, start.date(), first, last)
        if rule.freq == "DAILY"
        else _weekly(rule, start.date(), first, last)
        if rule.freq == "WEEKLY"
        else _by_month(rule, start.date(), first, last)
    )
    for day in days:
        local = datetime.combine(day, clock)
        if local > hi:
            return
        if local >= lo and local >= start:
            yield local


def _daily(rule: _Rule, anchor: date, first: date, last: date) -> Iterator[date]:
    """Every INTERVAL-th day from `anchor`, limited by BYMONTH, BYMONTHDAY and BYDAY."""
    wanted = {d for d, _ in rule.weekdays}
    step, origin = rule.interval, anchor.toordinal()
    begin = origin - (origin - first.toordinal()) // step * step  # the first one at or after
    for ordinal in range(begin, last.toordinal() + 1, step):
        day = date.fromordinal(ordinal)
        if (
            (not rule.months or day.month in rule.months)
            and (not wanted or day.weekday() in wanted)
            and (not rule.monthdays or _is_monthday(day, rule.monthdays))
        ):
            yield day


def _weekly(rule: _Rule, anchor: date, first: date, last: date) -> Iterator[date]:
    """The BYDAY days of every INTERVAL-th week (weeks begin on WKST) from `anchor`'s week."""
    offsets = sorted({(d - rule.wkst) % 7 for d, _ in rule.weekdays})
    span = 7 * rule.interval
    origin = anchor.toordinal() - (anchor.weekday() - rule.wkst) % 7
    low, high = first.toordinal(), last.toordinal()
    for week in range(origin + (low - origin) // span * span, high + 1, span):
        for ordinal in (week + offset for offset in offsets):
            if ordinal > high:
                return
            if ordinal >= low:
                day = date.fromordinal(ordinal)
                if not rule.months or day.month in rule.months:
                    yield day


def _by_month(rule: _Rule, anchor: date, first: date, last: date) -> Iterator[date]:
    """MONTHLY: the BYMONTHDAY days of every INTERVAL-th month; YEARLY: of the BYMONTH months
    (all when none) of every INTERVAL-th year. Periods are counted in months since year 0."""
    yearly = rule.freq == "YEARLY"
    size = 12 * rule.interval if yearly else rule.interval
    origin = anchor.year * 12 + (0 if yearly else anchor.month - 1)
    here = first.year * 12 + (0 if yearly else first.month - 1)
    months = (rule.months or range(1, 13)) if yearly else (1,)
    for period in range(
        origin + max(0, -(-(here - origin) // size)) * size, last.year * 12 + last.month, size
    ):
        for month in months:
            year, index = divmod(period + month - 1, 12)
            if year > MAXYEAR:
                return
            if not yearly and rule.months and index + 1 not in rule.months:
                continue
            for day in _month_days(year, index + 1, rule.monthdays):
                if day > last:
                    return
                if day >= first:
                    yield day


def _is_monthday(day: date, monthdays: tuple[int, ...]) -> bool:
    length = calendar.monthrange(day.year, day.month)[1]
    return day.day in monthdays or day.day - length - 1 in monthdays


@lru_cache(maxsize=4096)
def _month_days(year: int, month: int, monthdays: tuple[int, ...]) -> tuple[date, ...]:
    """The dates of BYMONTHDAY in one month, in order (31 and -1 can be the same day)."""
    length = calendar.monthrange(year, month)[1]
    found = {n if n > 0 else length + 1 + n for n in monthdays}
    return tuple(date(year, month, n) for n in sorted(found) if 1 <= n <= length)


def _moved_starts(rule: _Rule, start: datetime, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """MONTHLY/YEARLY rules with BYDAY or BYSETPOS, left to dateutil from a moved start.

    The start moves forward by whole periods of the rule to the first day of the period that
    holds `lo`, at the same wall-clock time: dateutil computes each month or year (and its
    BYSETPOS) as a whole and drops what lies before the start, so from a period's first day
    it gives the same dates the original start would have given there.
    """
    rule = _explicit(rule, start)
    if rule.freq == "MONTHLY":
        origin, here = start.year * 12 + start.month - 1, lo.year * 12 + lo.month - 1
    else:
        origin, here = start.year, lo.year
    steps = max(0, (here - origin) // rule.interval)
    if steps:
        period = origin + steps * rule.interval
        year, month = divmod(period, 12) if rule.freq == "MONTHLY" else (period, 0)
        start = datetime.combine(date(year, month + 1, 1), start.time())
    yield from _full_local_starts(rule, start, lo, hi)


def _full_local_starts(
    rule: _Rule, start: datetime, lo: datetime, hi: datetime
) -> Iterator[datetime]:
    """The rule's naive local start times in [lo, hi], in order, as dateutil expands them
    walking from `start` (UNTIL as a local time is left to the caller)."""
    if hi < start:
        return
    # dateutil stops at the first date past the window, but a rule with no dates left
    # (BYMONTH=2;BYMONTHDAY=30, or INTERVAL=7;BYDAY=TU from a Monday) never finds one and
    # walks on to year 9999, seconds for a daily rule; an UNTIL does not stop it either, as
    # dateutil only compares dates that match with it. The Gregorian calendar repeats every
    # 400 years (146097 days, whole weeks), so the rule moved by whole cycles gives the same
    # dates moved; moving the window close to 9999 ends that walk within 400 years.
    years = (MAXYEAR - hi.year) // 400 * 400
    moved = rrulestr(rule.body, dtstart=start.replace(year=start.year + years))
    lo, hi = lo.replace(year=lo.year + years), hi.replace(year=hi.year + years)
    with suppress(ValueError):  # the last week of 9999 runs into year 10000, which datetime refuses
        for local in moved.xafter(lo, inc=True):
            if local > hi:
                return
            yield local.replace(year=local.year - years)


def occurrences(
    start_local: datetime,
    tz: ZoneInfo,
    rrule: str | None,
    window_start: datetime,
    window_end: datetime,
    *,
    limit: int | None = 5000,
) -> list[Occurrence]:
    """Occurrences of a block starting in [window_start, window_end), sorted, unique by UTC.

    The one entry point for expanding a block: (start, zone, rule, window) -> occurrences.
    A pure function whose cost depends on the window, not on how far back the start lies;
    per-occurrence changes (moved or cancelled sessions) belong on top of its result.
    """
    found = utc_starts(start_local, tz, rrule, _utc(window_start), _utc(window_end), limit=limit)
    return [Occurrence(local, utc) for utc, local in found.items()]


def utc_starts(
    start_local: datetime,
    tz: ZoneInfo,
    rrule: str | None,
    ws: datetime,
    we: datetime,
    *,
    limit: int | None = None,
) -> dict[datetime, datetime]:
    """`occurrences()` as {start in UTC: local wall time}, in order; the window's bounds in UTC.

    For the paths that expand thousands (the outbox, plan.agenda): no object per occurrence.
    """
    return _walk(_checked(start_local, ws, we), tz, rrule, ws, we, limit)


def _checked(start_local: datetime, ws: datetime, we: datetime) -> datetime:
    if ws.tzinfo is not UTC or we.tzinfo is not UTC:
        raise ValueError("utc_starts() takes a window in UTC")
    if start_local.tzinfo is not None:
        raise ValueError("a block's start must be a naive local time")
    # dateutil drops microseconds too; keys are whole seconds (stored starts have none)
    return start_local.replace(microsecond=0) if start_local.microsecond else start_local


def _walk(
    start: datetime,
    tz: ZoneInfo,
    rrule: str | None,
    ws: datetime,
    we: datetime,
    limit: int | None,
) -> dict[datetime, datetime]:
    """utc_starts() worked out from the rule, walking only near the window."""
    if rrule is None:
        walk: Iterable[datetime] = [start]
    else:
        rule = _parse(rrule)
        if rule.until is not None and rule.until.tzinfo is not None:
            we = min(we, rule.until + timedelta(microseconds=1))  # UNTIL is inclusive
        # Expand in local wall time so a 09:00 block stays 09:00 across DST, then filter on UTC.
        lo, hi = _shift(ws.replace(tzinfo=None), -_MARGIN), _shift(we.replace(tzinfo=None), _MARGIN)
        walk = _local_starts(rule, start, lo, hi)
    # Every start has the block's time of day, at most one per date, and UTC offsets change by
    # at most a day at once, so UTC instants come in order too: `limit` can stop the walk.
    found: dict[datetime, datetime] = {}
    for local in walk:
        offset = _day_offset(tz, local.toordinal())
        if offset is not None:  # the common day: one offset all day, plain arithmetic
            utc, shown = (local - offset).replace(tzinfo=UTC), local
        else:  # a day the offset changes on: localize(), inlined, and the wall time it shows
            utc = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
            shown = utc.astimezone(tz).replace(tzinfo=None)
        # Around a gap two local times can be the same instant: keep the first only.
        if ws <= utc < we and utc not in found:
            found[utc] = shown
            if len(found) == limit:
                break
    return found


@lru_cache(maxsize=16384)
def _day_offset(tz: ZoneInfo, ordinal: int) -> timedelta | None:
    """The UTC offset of every wall time on this local date, or None if it is not one offset
    all day (a DST change, a zone's new rules) or the date is at the calendar's ends.

    Converting through zoneinfo costs a few microseconds a time, and the agenda converts
    thousands; on a day with one offset, UTC is the wall time minus it. Probed hourly with
    both folds: no zone changes its offset and back within an hour.
    """
    if not 2 < ordinal < _LAST_ORDINAL - 2:
        return None
    midnight = datetime.fromordinal(ordinal)
    probes = [midnight + timedelta(hours=h) for h in range(24)]
    probes.append(midnight + timedelta(hours=23, minutes=59, seconds=59))
    offsets = {tz.utcoffset(t.replace(fold=fold)) for t in probes for fold in (0, 1)}
    return offsets.pop() if len(offsets) == 1 else None


_LAST_ORDINAL = date.max.toordinal()


def at_least(start_local: datetime, rrule: str | None, ws: datetime, we: datetime) -> int:
    """A number of occurrences in [ws, we) there surely are, found without expanding.

    Exact enough for the plain rules (every N days, weeks on chosen days) to refuse an
    agenda of too many sessions before any is made; 0 for rules it does not reckon with.
    Only whole local dates well inside the window count: any UTC offset (under a day)
    keeps a start on those dates inside it.
    """
    inner = _inner_dates(ws, we)
    if inner is None:
        return 0
    first, last = max(inner[0], start_local.date()), inner[1]
    if first > last:
        return 0
    if rrule is None:
        return 1 if first <= start_local.date() <= last else 0
    rule = _parse(rrule)
    if rule.count is not None or rule.until is not None or rule.months or rule.monthdays:
        return 0
    days = last.toordinal() - first.toordinal() + 1
    if rule.freq == "DAILY" and not rule.weekdays:
        # every INTERVAL-th day from the start: count the multiples in [first, last]
        origin, step = start_local.toordinal(), rule.interval
        return (last.toordinal() - origin) // step - (first.toordinal() - origin - 1) // step
    if rule.freq == "WEEKLY" or (rule.freq == "DAILY" and rule.interval == 1):
        # The dates of the series from its start repeat every 7 * INTERVAL days (weeks on
        # WKST), so any run of that many days holds each chosen weekday once.
        chosen = len({d for d, _ in rule.weekdays}) or 1
        return days // (7 * rule.interval) * chosen
    return 0


@lru_cache(maxsize=16)
def _inner_dates(ws: datetime, we: datetime) -> tuple[date, date] | None:
    """at_least()'s dates of a window (worked out once for the thousands of blocks asked)."""
    try:
        return _utc(ws).date() + timedelta(days=2), _utc(we).date() - timedelta(days=3)
    except OverflowError:
        return None


def first_occurrence_within(
    start_local: datetime, tz: ZoneInfo, rrule: str | None, years: int = 5
) -> Occurrence | None:
    """The block's first occurrence if there is one within `years` of its start, else None."""
    begin = localize(start_local, tz)
    found = occurrences(
        start_local, tz, rrule, begin, _shift(begin, timedelta(days=365.25 * years)), limit=1
    )
    return found[0] if found else None


def daily_summary_due(
    local_time: time, tz: ZoneInfo, window_start: datetime, window_end: datetime
) -> list[tuple[date, datetime]]:
    """(local date, due UTC) of each daily summary due in [window_start, window_end)."""
    if local_time.tzinfo is not None:
        raise ValueError("the summary time must be a naive local time")
    # A daily block at that time starting just before the window: same DST rules, one per instant.
    first = datetime.combine(
        _shift(_utc(window_start).replace(tzinfo=None), -_MARGIN).date(), local_time
    )
    days = occurrences(first, tz, "FREQ=DAILY", window_start, window_end, limit=None)
    return [(o.local.date(), o.start_utc) for o in days]


def tz_from_name(name: str) -> ZoneInfo:
    """Load an IANA time zone, or raise ValueError saying what was wrong."""
    if isinstance(name, str) and name.partition("/")[0] in ("right", "posix"):
        raise ValueError(
            f"time zone {name!r} is a variant of the zone database, not a zone name "
            f"('right/' zones count leap seconds, which clocks do not): use "
            f"{name.partition('/')[2] or 'Europe/Berlin'!r}"
        )
    if isinstance(name, str) and _zone_name(name):
        with suppress(ValueError, OSError, LookupError):  # LookupError covers ZoneInfoNotFoundError
            return ZoneInfo(name)
    raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'")


def _zone_name(name: str) -> bool:
    """Whether `name` is exactly a zone of the IANA database (the tzdata package's list).

    The machine's zone folder also holds files that are not zone names:
    "localtime" and "posixrules" follow whatever the machine is set to, and on
    a case-insensitive disk "europe/berlin" would load under a name no other
    program uses.
    """
    names = _zone_names()
    if names:
        return name in names and name != "Factory"
    return name.lower() not in ("localtime", "posixrules", "factory")


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    try:
        return frozenset(resources.files("tzdata").joinpath("zones").read_text().split())
    except (ImportError, OSError):  # no tzdata package: the machine's own zones are all we have
        return frozenset()


def system_timezone_name(
    *, environ: Mapping[str, str] | None = None, etc: Path = Path("/etc")
) -> str:
    """Best-effort IANA name of this machine's time zone, "UTC" when unknown."""
    env = os.environ if environ is None else environ
    candidates = [env.get("TZ", "").lstrip(":")]  # POSIX allows TZ=":Europe/Berlin"
    with suppress(OSError):  # systemd and macOS point /etc/localtime into the zone database
        candidates.append(os.readlink(etc / "localtime"))
    with suppress(OSError, UnicodeDecodeError):  # Debian and Ubuntu also write the name here
        candidates.append((etc / "timezone").read_text(encoding="utf-8").strip())
    for candidate in candidates:
        # ".../zoneinfo/Europe/Berlin" or ".../zoneinfo/posix/Europe/Berlin" -> "Europe/Berlin"
        name = candidate.rpartition("zoneinfo/")[2].removeprefix("posix/").removeprefix("right/")
        with suppress(ValueError):
            return tz_from_name(name).key
    return "UTC"


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("window bounds and occurrence starts must be timezone-aware")
    return dt.astimezone(UTC)


def _shift(dt: datetime, delta: timedelta) -> datetime:
    try:
        return dt + delta
    except OverflowError:  # windows that touch year 1 or 9999
        return (datetime.max if delta > timedelta(0) else datetime.min).replace(tzinfo=dt.tzinfo)
