"""Reading an iCalendar file (RFC 5545) into study blocks.

`icalendar` parses; `x-wr-timezone` turns Google's calendar-wide X-WR-TIMEZONE into
ordinary TZIDs. Each VEVENT becomes a block: its RRULE the block's rule, RDATE extra
sessions, EXDATE cancelled ones, and the VEVENTs that share its UID with a
RECURRENCE-ID moved, resized or cancelled sessions (plan/sessions.py). Zones are
stored by IANA name: Outlook's Windows names (W. Europe Standard Time) and globally
unique TZIDs are mapped, and floating times are read in the person's own zone.
What cannot become a block (all-day events, rules finer than daily, unknown zones…)
is skipped and listed with the reason, never half-imported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from notifier.clock import occurrence_key, parse_occurrence_key
from notifier.db.records import BlockChanges
from notifier.errors import CalendarError
from notifier.plan import blocks, recurrence, sessions

MAX_ICS_BYTES = 2 * 1024 * 1024  # a university's whole year is a few hundred KB
MAX_EVENTS = 5000


@dataclass(frozen=True)
class Skipped:
    """An event that did not become a block, and why (in words)."""

    uid: str
    summary: str
    reason: str


@dataclass(frozen=True)
class Event:
    """One VEVENT (with its overrides) as the block it becomes."""

    uid: str
    fields: BlockChanges  # title, notes, start_local, timezone, duration_minutes, rrule
    changes: dict[str, sessions.Change]  # by original key


@dataclass
class Parsed:
    """A calendar file read: which calendar it is, its events, what was skipped."""

    source: str
    events: list[Event] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    uids: set[str] = field(default_factory=set)  # every UID in the file, skipped ones too


class _Skip(Exception):
    """This event cannot be imported; the message says why."""


def parse_calendar(data: bytes, default_tz: str) -> Parsed:
    """Read an .ics file; raise CalendarError if it is not one at all."""
    import icalendar
    import x_wr_timezone

    if len(data) > MAX_ICS_BYTES:
        raise CalendarError(
            f"The calendar file is {len(data) / 1e6:.1f} MB; at most {MAX_ICS_BYTES // 2**20} MB can be imported."
        )
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper()
    if not head.startswith(b"BEGIN:VCALENDAR"):
        raise CalendarError(
            "This is not an iCalendar (.ics) file: it should start with BEGIN:VCALENDAR. "
            "Export the calendar as .ics (Google: Settings → Import & export; Outlook: "
            "Save calendar; Apple: File → Export) and try again."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # RFC 5545 says UTF-8; some exporters do not
    if "END:VCALENDAR" not in text.upper():
        raise CalendarError(
            "The calendar file cannot be read: it is cut short (it has no END:VCALENDAR). "
            "Export it again."
        )
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:  # the parser raises ValueError, KeyError, IndexError …
        raise CalendarError(f"The calendar file cannot be read: {_clip(str(exc), 200)}") from None
    parsed = Parsed(source=_source(calendars))
    by_uid: dict[str, list[Any]] = {}
    for cal in calendars:
        try:
            cal = x_wr_timezone.to_standard(cal)
        except Exception as exc:
            raise CalendarError(
                f"The calendar's time zone (X-WR-TIMEZONE) is not usable: {_clip(str(exc), 200)}"
            ) from None
        for ev in cal.walk("VEVENT"):
            uid = str(ev.get("UID", "")).strip() or _made_up_uid(ev)
            by_uid.setdefault(uid, []).append(ev)
    if len(by_uid) > MAX_EVENTS:
        raise CalendarError(
            f"The file holds {len(by_uid)} events; at most {MAX_EVENTS} can be imported."
        )
    zone = recurrence.tz_from_name(default_tz)
    for uid, events in by_uid.items():
        parsed.uids.add(uid)
        masters = [e for e in events if "RECURRENCE-ID" not in e]
        overrides = [e for e in events if "RECURRENCE-ID" in e]
        if not masters:  # only changed sessions of a series we were not sent: each is one event
            for ev in overrides:
                one = f"{uid}/{ev['RECURRENCE-ID'].to_ical().decode()}"
                parsed.uids.add(one)
                _add(parsed, one, ev, [], zone, single=True)
            continue
        master = max(masters, key=lambda e: int(e.get("SEQUENCE", 0) or 0))
        _add(parsed, uid, master, overrides, zone)
    return parsed


def _add(
    parsed: Parsed,
    uid: str,
    master: Any,
    overrides: list[Any],
    zone: ZoneInfo,
    *,
    single: bool = False,
) -> None:
    try:
        parsed.events.append(_event(uid, master, overrides, zone, single=single))
    except _Skip as why:
        parsed.skipped.append(Skipped(uid, _summary(master), str(why)))


def _event(
    uid: str, ev: Any, overrides: list[Any], zone: ZoneInfo, *, single: bool = False
) -> Event:
    """One VEVENT and its overrides as a block, or _Skip saying why not.

    `single`: a changed session whose series is not in the file (an invitation to one
    session, say) is just that session; its own RRULE or RDATE belong to the series.
    """
    if str(ev.get("STATUS", "")).upper() == "CANCELLED":
        raise _Skip("the event is cancelled")
    if "DTSTART" not in ev:
        raise _Skip("the event has no start time")
    start_prop = ev["DTSTART"]
    if not isinstance(start_prop.dt, datetime):
        raise _Skip("all-day event")
    tz_name, tz = _block_zone(start_prop, ev, zone)
    start = _local(start_prop.dt, start_prop.params, tz)
    if not blocks.MIN_YEAR <= start.year <= blocks.MAX_YEAR:
        raise _Skip(f"it starts in {start.year}; blocks start between 2000 and 2100")
    duration = _duration(ev, start_prop.dt)
    rrule = None if single else _rule(ev)
    series = sessions.Series(start.replace(microsecond=0), tz, rrule, duration)
    changes: dict[str, sessions.Change] = {}
    for when, length in [] if single else _dates(ev.get("RDATE")):
        local = _local(when, {}, tz) if isinstance(when, datetime) else None
        if local is None:
            continue  # an all-day extra date of a timed event: nothing to remind of
        key = occurrence_key(recurrence.localize(local, tz))
        if key not in changes and not sessions.in_rule(series, parse_occurrence_key(key)):
            minutes = _minutes(length) if length is not None else None
            changes[key] = sessions.Change(
                local, added=True, duration_minutes=_if_other(minutes, duration)
            )
    series = sessions.Series(series.start_local, tz, rrule, duration, changes)
    for when, _ in [] if single else _dates(ev.get("EXDATE")):
        for key in _keys_at(series, when, tz):
            original = sessions.find(series, key)
            if original is not None:
                changes[key] = sessions.Change(
                    original.original.local,
                    added=key in changes and changes[key].added,
                    cancelled=True,
                )
    for override in overrides:
        _override(series, changes, override, tz, duration)
    if (
        not changes
        and rrule
        and recurrence.first_occurrence_within(series.start_local, tz, rrule) is None
    ):
        raise _Skip("its repeat rule never matches a date within five years")
    return Event(
        uid,
        {
            "title": _clip(_summary(ev), blocks.MAX_TITLE) or "(no title)",
            "notes": _clip(_notes(ev), blocks.MAX_NOTES),
            "start_local": series.start_local,
            "timezone": tz_name,
            "duration_minutes": duration,
            "rrule": rrule,
        },
        changes,
    )


def _override(
    series: sessions.Series,
    changes: dict[str, sessions.Change],
    ev: Any,
    tz: ZoneInfo,
    duration: int,
) -> None:
    """A VEVENT with a RECURRENCE-ID: one session moved, resized or cancelled."""
    rid = ev["RECURRENCE-ID"]
    if not isinstance(rid.dt, datetime):
        return  # a date-only RECURRENCE-ID of a timed series names no session
    original_local = _local(rid.dt, rid.params, tz)
    key = occurrence_key(recurrence.localize(original_local, tz))
    before = changes.get(key)
    current = sessions.Series(series.start_local, tz, series.rrule, duration, changes)
    known = sessions.find(current, key)
    added = before.added if before else known is None
    if known is not None:
        original_local = known.original.local
    start_prop = ev.get("DTSTART")
    if (
        str(ev.get("STATUS", "")).upper() == "CANCELLED"
        or start_prop is None
        or not isinstance(start_prop.dt, datetime)
    ):
        changes[key] = sessions.Change(original_local, added=added, cancelled=True)
        return
    try:
        start = _local(start_prop.dt, start_prop.params, tz)
        minutes = _duration(ev, start_prop.dt)
    except _Skip:
        return  # an override we cannot read leaves the session as the rule has it
    moved = (
        start if recurrence.localize(start, tz) != recurrence.localize(original_local, tz) else None
    )
    changes[key] = sessions.Change(
        original_local,
        added=added,
        start_local=moved,
        duration_minutes=_if_other(minutes, duration),
    )


def _block_zone(prop: Any, ev: Any, zone: ZoneInfo) -> tuple[str, ZoneInfo]:
    """The IANA zone a block expands in: DTSTART's TZID, UTC, or the person's own."""
    dt = prop.dt
    tzid = prop.params.get("TZID")
    if dt.tzinfo is None:
        if tzid:
            raise _Skip(f"unknown time zone {str(tzid)[:60]!r}")
        return zone.key, zone  # floating: the person's own zone (RFC 5545 §3.3.5, form #1)
    if tzid:
        name = iana_name(str(tzid))
        if name is not None:
            return name, recurrence.tz_from_name(name)
        # A zone only the file defines ("Customized Time Zone"): if it keeps the same
        # time as the person's zone all year, it is that zone; otherwise we cannot say.
        if _same_offsets(dt.tzinfo, zone, dt):
            return zone.key, zone
        raise _Skip(f"unknown time zone {str(tzid)[:60]!r}")
    if "RRULE" in ev or "RDATE" in ev:
        return "UTC", recurrence.tz_from_name("UTC")  # a UTC series repeats in UTC
    return zone.key, zone  # a one-off in UTC is shown in the person's zone


def iana_name(tzid: str) -> str | None:
    """The IANA name for a TZID: itself, Outlook's Windows name, or a globally unique /vendor/Zone."""
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    cleaned = tzid.strip().strip('"').strip("/")
    candidates = [cleaned, WINDOWS_TO_OLSON.get(cleaned, "")]
    parts = cleaned.split("/")
    candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    for name in candidates:
        if not name:
            continue
        try:
            return recurrence.tz_from_name(name).key
        except ValueError:
            continue
    return None


def _same_offsets(custom: tzinfo | None, zone: ZoneInfo, at: datetime) -> bool:
    if custom is None:
        return False
    days = [at.replace(tzinfo=None) + timedelta(days=d) for d in range(0, 366, 7)]
    return all(custom.utcoffset(d) == d.replace(tzinfo=zone).utcoffset() for d in days)


def _local(dt: datetime, params: Mapping[str, Any], tz: ZoneInfo) -> datetime:
    """A DATE-TIME value as naive wall time in `tz` (the block's zone)."""
    if dt.tzinfo is None:
        if params.get("TZID"):
            raise _Skip(f"unknown time zone {str(params['TZID'])[:60]!r}")
        return dt.replace(microsecond=0)  # floating: as written, in the block's zone
    tzid = params.get("TZID")
    name = iana_name(str(tzid)) if tzid else None
    if name is not None:  # the wall time as written, in the named zone
        instant = recurrence.localize(dt.replace(tzinfo=None), recurrence.tz_from_name(name))
    else:
        instant = dt.astimezone(UTC)
    return instant.astimezone(tz).replace(tzinfo=None, microsecond=0)


def _duration(ev: Any, start: datetime) -> int:
    if "DTEND" in ev:
        end = ev["DTEND"].dt
        if not isinstance(end, datetime):
            raise _Skip("its end is a date, not a time")
        if (end.tzinfo is None) != (start.tzinfo is None):
            raise _Skip("its start and end mix floating and zoned times")
        length = end - start if end.tzinfo is None else end.astimezone(UTC) - start.astimezone(UTC)
    elif "DURATION" in ev:
        length = ev["DURATION"].dt
    else:
        raise _Skip("it has no end time or duration")
    minutes = _minutes(length)
    if minutes < 1:
        raise _Skip("it has no length (it ends when it starts)")
    if minutes > blocks.MAX_DURATION:
        raise _Skip(f"it lasts {minutes // 60} h; study blocks last at most a day")
    return minutes


def _minutes(length: timedelta) -> int:
    return round(length.total_seconds() / 60)


def _if_other(minutes: int | None, duration: int) -> int | None:
    return (
        None
        if minutes is None or minutes == duration or not 1 <= minutes <= blocks.MAX_DURATION
        else minutes
    )


def _rule(ev: Any) -> str | None:
    if "EXRULE" in ev:
        raise _Skip("EXRULE (deprecated since RFC 5545) is not supported")
    prop = ev.get("RRULE")
    if prop is None:
        return None
    if isinstance(prop, list):
        if len(prop) > 1:
            raise _Skip("it has more than one repeat rule")
        prop = prop[0]
    text = prop.to_ical().decode()
    try:
        return recurrence.parse_rrule(text)
    except ValueError as exc:
        raise _Skip(f"its repeat rule is not supported: {exc}") from None


def _dates(prop: Any) -> Iterable[tuple[datetime | date, timedelta | None]]:
    """(start, length or None) of each value of an RDATE or EXDATE (one or several lines)."""
    for line in prop if isinstance(prop, list) else [prop] if prop is not None else []:
        for value in line.dts:
            dt = value.dt
            params = getattr(value, "params", {}) or line.params
            if isinstance(dt, tuple):  # a PERIOD: start and end or duration
                first, second = dt
                length = second if isinstance(second, timedelta) else second - first
                yield _with_zone(first, params), length
            else:
                yield _with_zone(dt, params), None


def _with_zone(dt: Any, params: Mapping[str, Any]) -> Any:
    """A date-time with its TZID read as an IANA zone where one is named (wall time kept)."""
    tzid = params.get("TZID")
    if isinstance(dt, datetime) and tzid:
        name = iana_name(str(tzid))
        if name is not None:
            return dt.replace(tzinfo=recurrence.tz_from_name(name))
        if dt.tzinfo is None:
            raise _Skip(f"unknown time zone {str(tzid)[:60]!r}")
    return dt


def _keys_at(series: sessions.Series, when: datetime | date, tz: ZoneInfo) -> list[str]:
    """Keys of the sessions an EXDATE value names: one instant, or every one on a date."""
    if isinstance(when, datetime):
        local = _local(when, {}, tz) if when.tzinfo is not None else when
        return [occurrence_key(recurrence.localize(local, tz))]
    day_start = recurrence.localize(datetime.combine(when, datetime.min.time()), tz)
    day_end = recurrence.localize(
        datetime.combine(when + timedelta(days=1), datetime.min.time()), tz
    )
    return [s.key for s in sessions.sessions(series, day_start, day_end)]


def _summary(ev: Any) -> str:
    return " ".join(str(ev.get("SUMMARY", "")).split())


def _notes(ev: Any) -> str:
    location = " ".join(str(ev.get("LOCATION", "")).split())
    description = str(ev.get("DESCRIPTION", "")).strip()
    return "\n".join(filter(None, [f"Where: {location}" if location else "", description]))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _made_up_uid(ev: Any) -> str:
    """RFC 5545 requires a UID; for a file without, one that stays the same on re-import."""
    seed = f"{_summary(ev)}|{ev.get('DTSTART').to_ical().decode() if 'DTSTART' in ev else ''}"
    return "no-uid-" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _source(calendars: list[Any]) -> str:
    """Which calendar a file is, so "removed from the file" compares like with like."""
    names = sorted(
        f"{c.get('PRODID', '')}|{c.get('X-WR-CALNAME', '')}|{c.get('X-WR-RELCALID', '')}"
        for c in calendars
    )
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
