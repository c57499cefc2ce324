"""Pure time logic: local wall time to UTC, repeat rules, reminder due times."""

from __future__ import annotations

import os
import re
from collections.abc import Container, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

MAX_RRULE_LENGTH = 500
MAX_OFFSET_MINUTES = 1440
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
            if (
                isinstance(off, bool)
                or not isinstance(off, int)
                or not 0 <= off <= MAX_OFFSET_MINUTES
            ):
                raise ValueError(
                    f"reminder offsets are whole minutes, 0 to {MAX_OFFSET_MINUTES}: not {off!r}"
                )


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
    text: str  # the canonical form
    body: str  # what dateutil expands: every part but UNTIL, defaults included
    # UNTIL is applied here: dateutil refuses a UTC UNTIL with a floating DTSTART and would
    # read a bare date as midnight, dropping that day. Naive: a local wall time; aware: UTC.
    until: datetime | None


def parse_rrule(text: str) -> str:
    """Validate an RRULE (with or without "RRULE:") and return its canonical form."""
    return _parse(text).text


@lru_cache(maxsize=1024)
def _parse(text: str) -> _Rule:
    parts = _split(text)
    freq = parts.get("FREQ")
    if freq not in _FREQS:
        raise ValueError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("use COUNT or UNTIL, not both (RFC 5545 §3.3.10)")
    # dateutil accepts both of these and quietly reads them as something else.
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        raise ValueError("BYMONTHDAY cannot be used with FREQ=WEEKLY (RFC 5545 §3.3.10)")
    if "BYSETPOS" in parts and (
        freq in ("DAILY", "WEEKLY") or not {"BYMONTH", "BYMONTHDAY", "BYDAY"} & parts.keys()
    ):
        raise ValueError("BYSETPOS needs FREQ=MONTHLY or YEARLY and another BY part")
    parts |= {name: _numbers(name, parts[name]) for name in _RANGES if name in parts}
    if "BYDAY" in parts:
        parts["BYDAY"] = _byday(parts["BYDAY"], freq)
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
        raise ValueError(f"invalid repeat rule: {exc}") from None
    return _Rule(";".join(canon), body, _until(parts["UNTIL"]) if "UNTIL" in parts else None)


def _split(text: str) -> dict[str, str]:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the repeat rule is empty")
    if len(text) > MAX_RRULE_LENGTH:
        raise ValueError(f"the repeat rule is longer than {MAX_RRULE_LENGTH} characters")
    body = text.strip().upper()
    if "DTSTART" in body:
        raise ValueError("DTSTART does not belong in the repeat rule: the block's start is used")
    body = body.removeprefix("RRULE:")
    if not re.fullmatch(r"[A-Z0-9=;,+-]+", body):  # also keeps out digits int() reads, like '٣'
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


def _numbers(name: str, value: str) -> str:
    low, high = _RANGES[name]
    try:
        nums = sorted({int(v) for v in value.split(",")})
    except ValueError:
        raise ValueError(f"{name} must be a comma-separated list of whole numbers") from None
    if any(n == 0 or not low <= n <= high for n in nums):
        also = f" (or {low} to -1, counting from the end)" if low < 0 else ""
        raise ValueError(f"{name} values must be from 1 to {high}{also}")
    return ",".join(map(str, nums))  # INTERVAL=1,2 gets this far; dateutil refuses it


def _byday(value: str, freq: str) -> str:
    days = set()
    for item in value.split(","):
        if not (m := _BYDAY_RE.fullmatch(item)):
            raise ValueError(
                f"BYDAY entries look like MO, TU or (monthly/yearly) 1MO, -1FR; got {item!r}"
            )
        if m[1] and (freq not in ("MONTHLY", "YEARLY") or not 1 <= abs(int(m[1])) <= 53):
            raise ValueError(
                "numbered BYDAY entries (1MO, -1FR) need FREQ=MONTHLY or YEARLY and 1..53"
            )
        days.add((_DAYS.index(m[2]), int(m[1] or 0)))
    return ",".join(f"{n or ''}{_DAYS[d]}" for d, n in sorted(days))


def _until(value: str) -> datetime:
    m = _UNTIL_RE.fullmatch(value)
    with suppress(ValueError):  # strptime refuses dates like 20261301
        if m:  # a bare date includes that whole local day
            stamp = datetime.strptime(m[1] + (m[2] or "235959"), "%Y%m%d%H%M%S")
            return stamp.replace(tzinfo=UTC) if m[3] else stamp
    raise ValueError("UNTIL must look like 20261231, 20261231T235959 or 20261231T235959Z")


def _local_starts(rule: _Rule, start: datetime, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """The rule's naive local start times in [lo, hi], in order, as dateutil expands them."""
    if rule.until is not None and rule.until.tzinfo is None:
        hi = min(hi, rule.until)
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
    """Occurrences of a block starting in [window_start, window_end), sorted, unique by UTC."""
    ws, we = _utc(window_start), _utc(window_end)
    start = start_local.replace(microsecond=0)  # dateutil drops them too; keys are whole seconds
    if start.tzinfo is not None:
        raise ValueError("a block's start must be a naive local time")
    if rrule is None:
        starts: Iterable[datetime] = [start]
    else:
        rule = _parse(rrule)
        if rule.until is not None and rule.until.tzinfo is not None:
            we = min(we, rule.until + timedelta(microseconds=1))  # UNTIL is inclusive
        # Expand in local wall time so a 09:00 block stays 09:00 across DST, then filter on UTC.
        lo, hi = _shift(ws.replace(tzinfo=None), -_MARGIN), _shift(we.replace(tzinfo=None), _MARGIN)
        starts = _local_starts(rule, start, lo, hi)
    # Every start has the block's time of day, at most one per date, and UTC offsets change by
    # at most a day at once, so UTC instants come in order too: `limit` can stop the walk.
    found: dict[datetime, Occurrence] = {}
    for utc in map(lambda local: localize(local, tz), starts):
        # Around a gap two local times can be the same instant: keep the first only.
        if ws <= utc < we and utc not in found:
            found[utc] = Occurrence(utc.astimezone(tz).replace(tzinfo=None), utc)
            if len(found) == limit:
                break
    return list(found.values())[:limit]


def first_occurrence_within(
    start_local: datetime, tz: ZoneInfo, rrule: str | None, years: int = 5
) -> Occurrence | None:
    """The block's first occurrence if there is one within `years` of its start, else None."""
    begin = localize(start_local, tz)
    found = occurrences(
        start_local, tz, rrule, begin, _shift(begin, timedelta(days=365.25 * years)), limit=1
    )
    return found[0] if found else None


def due_reminders(
    blocks: Iterable[BlockSpec],
    window_start: datetime,
    window_end: datetime,
    *,
    closed: Container[tuple[int, datetime]] = (),
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
    # A daily block at that time starting just before the window: same DST rules, one per instant.
    first = datetime.combine(
        _shift(_utc(window_start).replace(tzinfo=None), -_MARGIN).date(), local_time
    )
    days = occurrences(first, tz, "FREQ=DAILY", window_start, window_end, limit=None)
    return [(o.local.date(), o.start_utc) for o in days]


def occurrence_key(start_utc: datetime) -> str:
    """Format an aware datetime as YYYYMMDDTHHMMSSZ (sub-second parts are dropped)."""
    u = _utc(start_utc)
    return f"{u.year:04d}{u.month:02d}{u.day:02d}T{u.hour:02d}{u.minute:02d}{u.second:02d}Z"


def parse_occurrence_key(s: str) -> datetime:
    """Parse YYYYMMDDTHHMMSSZ (strictly) into an aware UTC datetime."""
    m = _KEY_RE.fullmatch(s) if isinstance(s, str) else None
    with suppress(ValueError):  # well-formed but no such time, like 20260230T000000Z
        if m:
            return datetime(*map(int, m.groups()), tzinfo=UTC)
    raise ValueError(f"bad occurrence start {s!r}: expected UTC as YYYYMMDDTHHMMSSZ")


def tz_from_name(name: str) -> ZoneInfo:
    """Load an IANA time zone, or raise ValueError saying what was wrong."""
    # "localtime" and friends exist as files but are not zone names: they would follow
    # whatever the machine is set to instead of what the user chose.
    if isinstance(name, str) and name.lower() not in ("localtime", "posixrules", "factory"):
        with suppress(ValueError, OSError, LookupError):  # LookupError covers ZoneInfoNotFoundError
            return ZoneInfo(name)
    raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'")


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
