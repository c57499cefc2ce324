"""Pure time logic: local wall time to UTC, repeat rules, reminder due times."""

from __future__ import annotations

import os
import re
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

import dateutil.rrule as du  # not "rrule": the API's parameters use that name for the text
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY

MAX_RRULE_LENGTH = 500
MAX_OFFSET_MINUTES = 1440
# localize() moves a wall time by less than a day (UTC offsets stay within +-24 h),
# so a local search this much wider than the UTC window cannot miss anything.
_MARGIN = timedelta(days=2)
# An INTERVAL so large that dateutil's next period lies past year 9999: the rule then
# expands exactly one period and stops, however empty its later periods would be.
_ONE_PERIOD = 10**6
_FREQS = {"DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY, "YEARLY": YEARLY}
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "WKST")
# Numeric parts: lowest and highest magnitude, and whether negatives (count from the end) are allowed.
_NUMBERS = {"INTERVAL": (1, 1000, False), "COUNT": (1, 100_000, False), "BYMONTH": (1, 12, False),
            "BYMONTHDAY": (1, 31, True), "BYSETPOS": (1, 366, True)}  # fmt: skip
_REFUSED = dict.fromkeys(("BYHOUR", "BYMINUTE", "BYSECOND"), "the block's start time sets the time of day")
_REFUSED |= dict.fromkeys(("BYYEARDAY", "BYWEEKNO", "BYEASTER"), "study blocks have no use for it")
_UNTIL_RE = re.compile(r"([0-9]{8})(?:T([0-9]{6})(Z?))?")
_BYDAY_RE = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_KEY_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")


@dataclass(frozen=True)
class Occurrence:
    """One start of a block: its local wall-clock time and the same instant in UTC."""

    local: datetime
    start_utc: datetime


@dataclass(frozen=True)
class Due:
    """One reminder: an occurrence of a block and how many minutes before it to fire."""

    block_id: int
    occurrence_utc: datetime
    offset_minutes: int
    due_utc: datetime

    @property
    def key(self) -> str:
        """The reminder's identity: the same key is never sent twice."""
        return f"b{self.block_id}:{occurrence_key(self.occurrence_utc)}:{self.offset_minutes}"


@dataclass(frozen=True)
class BlockSpec:
    """What the scheduler needs to know about a study block."""

    id: int
    start_local: datetime
    tz: ZoneInfo
    rrule: str | None
    offsets: tuple[int, ...]
    reminders: bool = True

    def __post_init__(self) -> None:
        """Reject offsets and start times the rest of the rules cannot honour."""
        if self.start_local.tzinfo is not None:
            raise ValueError("a block's start must be a naive local time")
        object.__setattr__(self, "offsets", tuple(self.offsets))
        for off in self.offsets:
            if isinstance(off, bool) or not isinstance(off, int) or not 0 <= off <= MAX_OFFSET_MINUTES:
                raise ValueError(f"reminder offsets are whole minutes, 0 to {MAX_OFFSET_MINUTES}: not {off!r}")


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
    text: str
    freq: int
    interval: int
    count: int | None
    until: datetime | None  # floating or date-only UNTIL: compared with local wall times
    until_utc: datetime | None  # UNTIL ending in Z: compared with the UTC instant
    by: tuple[tuple[str, tuple], ...]
    wkst: int


def parse_rrule(text: str) -> str:
    """Validate an RRULE (with or without "RRULE:") and return its canonical form."""
    return _parse(text).text


@lru_cache(maxsize=1024)
def _parse(text: str) -> _Rule:
    parts = _split(text)
    if parts.get("FREQ") not in _FREQS:
        # Finer frequencies make no sense for study blocks and would flood the outbox.
        raise ValueError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
    freq = _FREQS[parts["FREQ"]]
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("use COUNT or UNTIL, not both (RFC 5545 §3.3.10)")
    if "BYMONTHDAY" in parts and freq == WEEKLY:
        raise ValueError("BYMONTHDAY cannot be used with FREQ=WEEKLY (RFC 5545 §3.3.10)")
    # Daily and weekly sets hold one time per day, so BYSETPOS has nothing to pick from there.
    if "BYSETPOS" in parts and (freq in (DAILY, WEEKLY) or not {"BYMONTH", "BYMONTHDAY", "BYDAY"} & set(parts)):
        raise ValueError("BYSETPOS needs FREQ=MONTHLY or YEARLY and another BY part")
    if parts.setdefault("WKST", "MO") not in _DAYS:
        raise ValueError("WKST must be one of " + ",".join(_DAYS))
    nums = {name: _numbers(name, parts[name], *limits) for name, limits in _NUMBERS.items() if name in parts}
    canon = dict(parts, **{name: ",".join(map(str, values)) for name, values in nums.items()})
    by = {name.lower(): values for name, values in nums.items() if name.startswith("BY")}
    if "BYDAY" in parts:
        days = sorted({_byday(item, freq) for item in parts["BYDAY"].split(",")})
        by["byweekday"] = tuple(du.weekday(d, n or None) for d, n in days)
        canon["BYDAY"] = ",".join(f"{n or ''}{_DAYS[d]}" for d, n in days)
    until, until_utc = _until(parts["UNTIL"]) if "UNTIL" in parts else (None, None)
    interval, wkst = nums.get("INTERVAL", (1,))[0], _DAYS.index(parts["WKST"])
    try:  # let dateutil have the last word on anything we let through
        du.rrule(freq, dtstart=datetime(2000, 1, 1), interval=interval, count=1, wkst=wkst, **by)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid repeat rule: {exc}") from None
    defaults = {"INTERVAL": "1", "WKST": "MO"}
    text = ";".join(f"{n}={canon[n]}" for n in _PARTS if n in canon and canon[n] != defaults.get(n))
    count = nums["COUNT"][0] if "COUNT" in nums else None
    return _Rule(text, freq, interval, count, until, until_utc, tuple(by.items()), wkst)


def _split(text: str) -> dict[str, str]:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the repeat rule is empty")
    if len(text) > MAX_RRULE_LENGTH:
        raise ValueError(f"the repeat rule is longer than {MAX_RRULE_LENGTH} characters")
    body = text.strip().upper()
    if "DTSTART" in body:
        raise ValueError("DTSTART does not belong in the repeat rule: the block's start is used")
    body = body.removeprefix("RRULE:")
    if not re.fullmatch(r"[A-Z0-9=;,+-]+", body):
        raise ValueError("the repeat rule may only hold NAME=VALUE parts separated by ';'")
    parts: dict[str, str] = {}
    for item in filter(None, body.split(";")):
        name, _, value = item.partition("=")
        if name in _REFUSED:
            raise ValueError(f"{name} is not allowed in a repeat rule: {_REFUSED[name]}")
        if name not in _PARTS:
            raise ValueError(f"unknown repeat rule part {name!r}")
        if not value or name in parts:
            raise ValueError(f"{name} must appear once, with a value")
        parts[name] = value
    return parts


def _numbers(name: str, value: str, low: int, high: int, signed: bool) -> tuple[int, ...]:
    if name in ("INTERVAL", "COUNT") and "," in value:
        raise ValueError(f"{name} takes one number")
    try:
        nums = tuple(sorted({int(v) for v in value.split(",")}))
    except ValueError:
        raise ValueError(f"{name} must be a comma-separated list of whole numbers") from None
    if any(not low <= abs(n) <= high or (n < 0 and not signed) for n in nums):
        also = f" (or -{high} to -{low}, counting from the end)" if signed else ""
        raise ValueError(f"{name} values must be from {low} to {high}{also}")
    return nums


def _byday(item: str, freq: int) -> tuple[int, int]:
    m = _BYDAY_RE.fullmatch(item)
    if not m:
        raise ValueError(f"BYDAY entries look like MO, TU or (monthly/yearly) 1MO, -1FR; got {item!r}")
    n = int(m[1]) if m[1] else 0
    if m[1] and (freq not in (MONTHLY, YEARLY) or not 1 <= abs(n) <= 53):
        raise ValueError("numbered BYDAY entries (1MO, -1FR) need FREQ=MONTHLY or YEARLY and 1..53")
    return _DAYS.index(m[2]), n


def _until(value: str) -> tuple[datetime | None, datetime | None]:
    m = _UNTIL_RE.fullmatch(value)
    try:
        if m and m[2] is None:  # a bare date includes that whole local day
            return datetime.combine(datetime.strptime(m[1], "%Y%m%d"), time.max), None
        if m:
            stamp = datetime.strptime(m[1] + m[2], "%Y%m%d%H%M%S")
            return (None, stamp.replace(tzinfo=UTC)) if m[3] else (stamp, None)
    except ValueError:
        pass
    raise ValueError("UNTIL must look like 20261231, 20261231T235959 or 20261231T235959Z")


def _instances(rule: _Rule, start: datetime, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """Yield the rule's naive local start times in [lo, hi], in order."""
    if rule.until is not None:
        hi = min(hi, rule.until)
    if rule.count is None:
        return _scan(rule, start, max(lo, start), hi)
    # COUNT counts from the very first start, so these scans begin there.
    return (t for t in islice(_scan(rule, start, start, hi), rule.count) if t >= lo)


def _scan(rule: _Rule, start: datetime, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """Let dateutil expand the rule one month or period at a time over [lo, hi]."""
    # Plain rrule.between() walks period by period until it finds a start past the window;
    # a rule that never matches again (BYMONTH=2;BYMONTHDAY=30, or INTERVAL=7;BYDAY=TU from
    # a Monday) keeps it walking to year 9999 for seconds. One period per rrule() call keeps
    # the cost proportional to the window and independent of how far it is from the start.
    by = dict(rule.by)
    if "bymonthday" not in by and "byweekday" not in by:
        # What dateutil would derive from DTSTART, fixed now so any period can be its own start.
        if rule.freq == YEARLY:
            by.setdefault("bymonth", (start.month,))
        if rule.freq in (YEARLY, MONTHLY):
            by["bymonthday"] = (start.day,)
        else:
            by["byweekday"] = (start.weekday(),) if rule.freq == WEEKLY else tuple(range(7))
    fixed = dict(by, byhour=start.hour, byminute=start.minute, bysecond=start.second)
    fixed.update(wkst=rule.wkst, until=hi)
    if rule.freq in (DAILY, WEEKLY):
        # Their day filters are the same masks month by month; INTERVAL is then the grid of
        # days (or WKST-aligned weeks) counted from the start, exactly as dateutil steps it.
        step = 1 if rule.freq == DAILY else 7
        origin = _period_start(start.date(), step, rule.wkst)
        for first in _month_starts(lo, hi):
            for t in du.rrule(MONTHLY, dtstart=first, interval=_ONE_PERIOD, **fixed):
                periods = (_period_start(t.date(), step, rule.wkst) - origin).days // step
                if t >= lo and periods % rule.interval == 0:
                    yield t
        return
    unit = 12 if rule.freq == YEARLY else 1  # months per period

    def index(d: datetime) -> int:
        return (d.year * 12 + d.month - 1) // unit

    k = max(0, (index(lo) - index(start)) // rule.interval)
    while True:
        month = (index(start) + k * rule.interval) * unit
        if month // 12 > 9999:
            return
        first = datetime(month // 12, month % 12 + 1, 1)
        if first > hi:
            return
        # dateutil also picks BYSETPOS from the whole first period, then drops what is before DTSTART.
        for t in du.rrule(rule.freq, dtstart=first, interval=_ONE_PERIOD, **fixed):
            if t >= lo:
                yield t
        k += 1


def _period_start(d: date, step: int, wkst: int) -> date:
    return d if step == 1 else d - timedelta(days=(d.weekday() - wkst) % 7)


def _month_starts(lo: datetime, hi: datetime) -> Iterator[datetime]:
    for month in range(lo.year * 12 + lo.month - 1, hi.year * 12 + hi.month):
        yield datetime(month // 12, month % 12 + 1, 1)


def occurrences(
    start_local: datetime, tz: ZoneInfo, rrule: str | None, window_start: datetime, window_end: datetime,
    *, limit: int | None = 5000,
) -> list[Occurrence]:
    """Occurrences of a block starting in [window_start, window_end), sorted, unique by UTC."""
    ws, we = _utc(window_start), _utc(window_end)
    start = start_local.replace(microsecond=0)  # dateutil drops them too; keys are whole seconds
    if start.tzinfo is not None:
        raise ValueError("a block's start must be a naive local time")
    if rrule is None:
        starts: Iterable[datetime] = [start]
    else:
        rule = _parse(rrule)
        if rule.until_utc is not None:
            we = min(we, rule.until_utc + timedelta(microseconds=1))  # UNTIL is inclusive
        # Expand in local wall time so a 09:00 block stays 09:00 across DST, then filter on UTC.
        lo, hi = _shift(ws.replace(tzinfo=None), -_MARGIN), _shift(we.replace(tzinfo=None), _MARGIN)
        starts = _instances(rule, start, lo, hi)
    found: dict[datetime, Occurrence] = {}
    cutoff = None
    for local in starts:
        if cutoff is not None and local > cutoff:
            break  # later local times cannot land before what `limit` already keeps
        utc = localize(local, tz)
        # Around a gap two local times can be the same instant: keep the first only.
        if ws <= utc < we and utc not in found:
            found[utc] = Occurrence(utc.astimezone(tz).replace(tzinfo=None), utc)
            if limit is not None and len(found) >= limit and cutoff is None:
                cutoff = _shift(local, _MARGIN)
    return sorted(found.values(), key=lambda o: o.start_utc)[:limit]


def due_reminders(
    blocks: Iterable[BlockSpec], window_start: datetime, window_end: datetime,
    *, closed: Container[tuple[int, datetime]] = (),
) -> list[Due]:
    """Every reminder due in [window_start, window_end), sorted by (due time, key)."""
    ws, we = _utc(window_start), _utc(window_end)
    out = []
    for block in blocks:
        if not block.reminders or not block.offsets:
            continue
        offsets = sorted(set(block.offsets))
        # A reminder fires before its occurrence, so occurrences up to the largest offset
        # past the window still have reminders inside it.
        later = we + timedelta(minutes=offsets[-1])
        for occ in occurrences(block.start_local, block.tz, block.rrule, ws, later, limit=None):
            if (block.id, occ.start_utc) in closed:
                continue
            for off in offsets:
                due = occ.start_utc - timedelta(minutes=off)
                if ws <= due < we:
                    out.append(Due(block.id, occ.start_utc, off, due))
    return sorted(out, key=lambda d: (d.due_utc, d.key))


def daily_summary_due(
    local_time: time, tz: ZoneInfo, window_start: datetime, window_end: datetime
) -> list[tuple[date, datetime]]:
    """(local date, due UTC) of each daily summary due in [window_start, window_end)."""
    if local_time.tzinfo is not None:
        raise ValueError("the summary time must be a naive local time")
    ws, we = _utc(window_start), _utc(window_end)
    day = _shift(ws.replace(tzinfo=None), -_MARGIN).date()
    last = _shift(we.replace(tzinfo=None), _MARGIN).date()
    out: dict[datetime, date] = {}
    while day <= last:
        due = localize(datetime.combine(day, local_time), tz)
        if ws <= due < we:
            out.setdefault(due, day)  # same rule as occurrences: one instant, one summary
        day += timedelta(days=1)
    return sorted(((d, due) for due, d in out.items()), key=lambda pair: pair[1])


def occurrence_key(start_utc: datetime) -> str:
    """Format an aware datetime as YYYYMMDDTHHMMSSZ (sub-second parts are dropped)."""
    u = _utc(start_utc)
    return f"{u.year:04d}{u.month:02d}{u.day:02d}T{u.hour:02d}{u.minute:02d}{u.second:02d}Z"


def parse_occurrence_key(s: str) -> datetime:
    """Parse YYYYMMDDTHHMMSSZ (strictly) into an aware UTC datetime."""
    m = _KEY_RE.fullmatch(s) if isinstance(s, str) else None
    try:
        if m:
            return datetime(*map(int, m.groups()), tzinfo=UTC)
    except ValueError:
        pass
    raise ValueError(f"bad occurrence start {s!r}: expected UTC as YYYYMMDDTHHMMSSZ")


def tz_from_name(name: str) -> ZoneInfo:
    """Load an IANA time zone, or raise ValueError saying what was wrong."""
    # "localtime" and friends exist as files but are not zone names: they would follow
    # whatever the machine is set to instead of what the user chose.
    if isinstance(name, str) and name.lower() not in ("localtime", "posixrules", "factory"):
        try:
            return ZoneInfo(name)
        except (ValueError, OSError, LookupError):  # LookupError covers ZoneInfoNotFoundError
            pass
    raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'")


def system_timezone_name(*, environ: Mapping[str, str] | None = None, etc: Path = Path("/etc")) -> str:
    """Best-effort IANA name of this machine's time zone, "UTC" when unknown."""
    env = os.environ if environ is None else environ
    candidates = [env.get("TZ", "").lstrip(":")]  # POSIX allows TZ=":Europe/Berlin"
    try:  # systemd and macOS point /etc/localtime into the zone database
        candidates.append(os.readlink(etc / "localtime"))
    except OSError:
        pass
    try:  # Debian and Ubuntu also write the name here
        candidates.append((etc / "timezone").read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        pass
    for candidate in candidates:
        # ".../zoneinfo/Europe/Berlin" or ".../zoneinfo/posix/Europe/Berlin" -> "Europe/Berlin"
        name = candidate.rpartition("zoneinfo/")[2].removeprefix("posix/").removeprefix("right/")
        try:
            return tz_from_name(name).key
        except ValueError:
            continue
    return "UTC"


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("window bounds and occurrence starts must be timezone-aware")
    return dt.astimezone(UTC)


def _shift(dt: datetime, delta: timedelta) -> datetime:
    try:
        return dt + delta
    except OverflowError:  # windows that touch year 1 or 9999
        return datetime.max if delta > timedelta(0) else datetime.min
