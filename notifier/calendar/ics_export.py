"""Writing the blocks as an iCalendar file (the calendar feed and its one-off download).

Each block is one VEVENT with its zone (a VTIMEZONE for every zone used), its RRULE,
EXDATE for cancelled sessions, RDATE for extra ones, and one VEVENT per moved or
resized session carrying the same UID and a RECURRENCE-ID (its original start), so
Google, Apple and Outlook Calendar show the same sessions as the app.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from notifier import __version__
from notifier.db.records import Block, OccurrenceChange
from notifier.plan import blocks, sessions

PRODID = f"-//Study Notifier//notifier {__version__}//EN"


def block_uid(block: Block) -> str:
    """An imported block keeps its event's UID; others get one of their own that never changes."""
    if block.ical_uid:
        return block.ical_uid
    created = block.created_at.strftime("%Y%m%dT%H%M%SZ")
    return f"block-{block.id}-{created}@study-notifier"


def calendar_bytes(
    rows: Iterable[Block], change_rows: Iterable[OccurrenceChange], now: datetime
) -> bytes:
    """Every block with its sessions' changes as one .ics file."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Study Notifier")
    # How often subscribers should look again (RFC 7986 §5.7, and Outlook's and Apple's own).
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    grouped = blocks.by_block(change_rows)
    years: list[int] = []
    for row in rows:
        series = blocks.series(row, grouped.get(row.id, ()))
        years.append(series.start_local.year)
        for component in _events(row, series, now):
            cal.add_component(component)
    if years:  # zone rules from the first block's year on (dates before it are never used)
        cal.add_missing_timezones(date(min(years) - 1, 1, 1), date(max(years) + 6, 1, 1))
    return bytes(cal.to_ical())


def _events(row: Block, series: sessions.Series, now: datetime) -> list[Any]:
    import icalendar

    uid = block_uid(row)
    master = icalendar.Event()
    master.add("uid", uid)
    master.add("dtstamp", now.astimezone(UTC))
    master.add("last-modified", row.updated_at.astimezone(UTC))
    master.add("summary", row.title)
    if row.notes:
        master.add("description", row.notes)
    master.add("dtstart", _at(series.start_local, series))
    master.add("duration", timedelta(minutes=series.duration_minutes))
    if row.rrule:
        master.add("rrule", icalendar.vRecur.from_ical(row.rrule))
    out = [master]
    exdates, rdates = [], []
    for key, change in sorted(series.changes.items()):
        if change.added and not change.cancelled:
            rdates.append(_at(change.original_local, series))
        elif change.cancelled and not change.added and sessions.find(series, key) is not None:
            # (a stale change, one the rule no longer makes, has nothing to cancel)
            exdates.append(_at(change.original_local, series))
        if change.cancelled or (change.start_local is None and change.duration_minutes is None):
            continue
        session = sessions.find(series, key)
        if session is None:
            continue
        moved = icalendar.Event()
        moved.add("uid", uid)
        moved.add("dtstamp", now.astimezone(UTC))
        moved.add("recurrence-id", _at(change.original_local, series))
        moved.add("summary", row.title)
        if row.notes:
            moved.add("description", row.notes)
        moved.add("dtstart", _at(session.local, series))
        moved.add("duration", timedelta(minutes=session.duration_minutes))
        out.append(moved)
    if exdates:
        master.add("exdate", exdates)
    if rdates:
        master.add("rdate", rdates)
    return out


def _at(local: datetime, series: sessions.Series) -> datetime:
    """A local wall time as an aware value: written with TZID (UTC as ...Z)."""
    return local.replace(tzinfo=series.tz)
