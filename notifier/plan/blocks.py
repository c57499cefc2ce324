"""Study blocks: input validation, JSON shapes, and occurrences with their state."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from notifier.clock import from_iso, iso
from notifier.errors import BadRequest, TooManyOccurrences
from notifier.plan import recurrence, repeats, sessions
from notifier.plan.prefs import Prefs, validate_offsets

MAX_TITLE = 200
MAX_NOTES = 2000
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
STATUSES = ("planned", "done", "skipped")
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_DURATION = recurrence.MINUTES_PER_DAY  # a block (or one moved session) lasts at most a day
MAX_BLOCKS = 5000  # what one person can plan; every block costs on each agenda and refill
MAX_AGENDA_OCCURRENCES = 20_000  # sessions in one agenda answer (5,000 blocks twice a week: 10,000)
_INLINE_BLOCKS = 50  # fewer blocks than this expand on the loop: a thread would cost more


def effective_timezone(prefs: Prefs) -> str:
    """The settings' zone, or the machine's when none is chosen."""
    return prefs.timezone or recurrence.system_timezone_name()


def parse_start(value: Any, tz: ZoneInfo, field: str = "start") -> datetime:
    """A start as naive local wall time; one with an offset is converted to `tz`."""
    if not isinstance(value, str):
        raise BadRequest(f"{field}: must be a date and time like 2026-11-23T18:00")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{field}: must be a date and time like 2026-11-23T18:00") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(tz).replace(tzinfo=None)
    elif not _LOCAL.match(value):
        raise BadRequest(f"{field}: must be a date and time like 2026-11-23T18:00")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        # The API's contract: a year outside 2000-2100 is a typo, not a plan.
        raise BadRequest(f"{field}: the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return parsed.replace(microsecond=0)


def check_duration(value: Any) -> int:
    """A block's or session's length: whole minutes, at most a day."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DURATION:
        raise BadRequest(f"duration_minutes: must be a whole number from 1 to {MAX_DURATION}")
    return value


def local_text(dt: datetime) -> str:
    """Naive local time as the API shows it (seconds only when set)."""
    return dt.isoformat(timespec="seconds" if dt.second else "minutes")


def validate_block(data: Mapping[str, Any], *, partial: bool, default_tz: str) -> dict[str, Any]:
    """Check a create/patch body and return the database columns it sets."""
    if not isinstance(data, Mapping):
        raise BadRequest("the block must be a JSON object")
    known = {
        "title",
        "notes",
        "start",
        "timezone",
        "duration_minutes",
        "rrule",
        "repeat",
        "reminder_offsets",
        "reminders",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown field")
    if not partial:
        for name in ("title", "start", "duration_minutes"):
            if name not in data:
                raise BadRequest(f"{name}: is required")
    out: dict[str, Any] = {}
    tz_name = data.get("timezone", default_tz)
    try:
        tz = recurrence.tz_from_name(tz_name) if isinstance(tz_name, str) else None
    except ValueError as exc:
        raise BadRequest(f"timezone: {exc}") from None
    if tz is None:
        raise BadRequest("timezone: must be an IANA time zone name like Europe/Berlin")
    if "timezone" in data or not partial:
        out["timezone"] = tz_name
    if "title" in data:
        title = data["title"]
        if not isinstance(title, str) or not title.strip():
            raise BadRequest("title: must not be empty")
        if len(title.strip()) > MAX_TITLE:
            raise BadRequest(f"title: must be at most {MAX_TITLE} characters")
        out["title"] = title.strip()
    if "notes" in data:
        notes = data["notes"] if data["notes"] is not None else ""
        if not isinstance(notes, str) or len(notes) > MAX_NOTES:
            raise BadRequest(f"notes: must be text of at most {MAX_NOTES} characters")
        out["notes"] = notes.strip()
    if "start" in data:
        out["start_local"] = local_text(parse_start(data["start"], tz))
    if "duration_minutes" in data:
        out["duration_minutes"] = check_duration(data["duration_minutes"])
    if "repeat" in data:
        if "rrule" in data:
            raise BadRequest("repeat: send either repeat or rrule, not both")
        out["rrule"] = _repeat_rule(data["repeat"])
    if "rrule" in data:
        rule = data["rrule"]
        if rule in (None, ""):
            out["rrule"] = None
        else:
            try:
                out["rrule"] = recurrence.parse_rrule(rule)
            except ValueError as exc:
                raise BadRequest(f"rrule: {exc}") from None
    if "reminder_offsets" in data:
        offsets = data["reminder_offsets"]
        out["reminder_offsets"] = (
            None
            if offsets is None
            else json.dumps(list(validate_offsets("reminder_offsets", offsets)))
        )
    if "reminders" in data:
        if not isinstance(data["reminders"], bool):
            raise BadRequest("reminders: must be true or false")
        out["reminders"] = int(data["reminders"])
    return out


def _repeat_rule(value: Any) -> str | None:
    """The rule for a `repeat` object (null: does not repeat)."""
    if value is None:
        return None
    try:
        return repeats.to_rule(repeats.parse(value))
    except ValueError as exc:
        raise BadRequest(f"repeat: {exc}") from None


def check_repeats(fields: dict[str, Any], current: Any | None = None) -> None:
    """Refuse a rule that never produces an occurrence from the block's start."""
    merged = {**(dict(current) if current is not None else {}), **fields}
    if merged.get("rrule") is None or not {"rrule", "start_local", "timezone"} & set(fields):
        return
    tz = recurrence.tz_from_name(merged["timezone"])
    start = datetime.fromisoformat(merged["start_local"])
    if recurrence.first_occurrence_within(start, tz, merged["rrule"]) is None:
        raise BadRequest(
            "rrule: this repeat never falls on a real date within five years of the start "
            "(like the 30th of February)"
        )


def block_json(row: Any) -> dict[str, Any]:
    offsets = row["reminder_offsets"]
    return {
        "id": row["id"],
        "title": row["title"],
        "notes": row["notes"],
        "start": row["start_local"],
        "timezone": row["timezone"],
        "duration_minutes": row["duration_minutes"],
        "rrule": row["rrule"],
        **repeats.block_fields(
            row["rrule"],
            datetime.fromisoformat(row["start_local"]),
            recurrence.tz_from_name(row["timezone"]),
        ),
        "reminder_offsets": json.loads(offsets) if offsets is not None else None,
        "reminders": bool(row["reminders"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def series(row: Any, changes: Iterable[Any] = ()) -> sessions.Series:
    """A block row and its change rows as the sessions it has."""
    tz = _zone(row["timezone"])
    return sessions.Series(
        start_local=_local(row["start_local"]),
        tz=tz,
        rrule=row["rrule"],
        duration_minutes=row["duration_minutes"],
        changes=sessions.keyed(map(change_of, changes), tz),
    )


def change_of(row: Any) -> sessions.Change:
    """An `occurrence_changes` row as a Change."""
    return sessions.Change(
        original_local=datetime.fromisoformat(row["original_local"]),
        added=bool(row["added"]),
        cancelled=bool(row["cancelled"]),
        start_local=datetime.fromisoformat(row["start_local"]) if row["start_local"] else None,
        duration_minutes=row["duration_minutes"],
    )


def change_fields(change: sessions.Change) -> dict[str, Any]:
    """A Change as the columns of its `occurrence_changes` row."""
    return {
        "original_local": local_text(change.original_local),
        "added": int(change.added),
        "cancelled": int(change.cancelled),
        "start_local": local_text(change.start_local) if change.start_local else None,
        "duration_minutes": change.duration_minutes,
    }


def by_block(change_rows: Iterable[Any]) -> dict[int, list[Any]]:
    """Change rows grouped by block id."""
    out: dict[int, list[Any]] = {}
    for c in change_rows:
        out.setdefault(c["block_id"], []).append(c)
    return out


def reminded(row: Any, changes: Iterable[Any], prefs: Prefs) -> sessions.Reminded:
    """The scheduling view of a block under the current settings."""
    offsets = (
        json.loads(row["reminder_offsets"])
        if row["reminder_offsets"] is not None
        else prefs.default_offsets
    )
    return sessions.Reminded(
        id=row["id"],
        series=series(row, changes),
        offsets=tuple(offsets),
        reminders=bool(row["reminders"]) and prefs.reminders_enabled,
    )


def occurrence_url(block_id: int, key: str) -> str:
    """The app's deep link to one occurrence (the notification's target)."""
    return f"/#/occurrence/{block_id}/{key}"


def occurrence_json(row: Any, session: sessions.Session, state: Any | None) -> dict[str, Any]:
    """An agenda item; `original_start` (local) is there when the session was moved."""
    key = session.key
    status = "cancelled" if session.cancelled else state["status"] if state else "planned"
    return {
        "block_id": row["id"],
        "title": row["title"],
        "notes": row["notes"],
        "key": key,
        "start": local_text(session.local),
        "start_utc": iso(session.start_utc),
        "end_utc": iso(session.start_utc + timedelta(minutes=session.duration_minutes)),
        "duration_minutes": session.duration_minutes,
        "timezone": row["timezone"],
        "status": status,
        "snoozed_until": state["snoozed_until"] if state else None,
        "url": occurrence_url(row["id"], key),
        "original_start": local_text(session.original.local) if session.moved else None,
    }


def expand(
    rows: list[Any],
    states: list[Any],
    changes: list[Any],
    start: datetime,
    end: datetime,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """All sessions of `rows` starting in [start, end), with state, in time order.

    More than `limit` sessions is TooManyOccurrences, raised as soon as they are counted.
    """
    by_key = {(s["block_id"], s["occurrence_key"]): s for s in states}
    grouped = by_block(changes)
    out = []
    for row in rows:
        for session in sessions.sessions(series(row, grouped.get(row["id"], ())), start, end):
            out.append(occurrence_json(row, session, by_key.get((row["id"], session.key))))
        if limit is not None and len(out) > limit:
            raise TooManyOccurrences(
                f"this range holds more than {limit:,} sessions: ask for a shorter one"
            )
    out.sort(key=lambda o: (o["start_utc"], o["block_id"]))
    return out


async def agenda(
    db: Any, start: datetime, end: datetime, limit: int | None = None
) -> list[dict[str, Any]]:
    """The agenda of [start, end): the sessions of the blocks near it, with their state.

    Reads only what can occur in the window (not the plan's history), and expands in a
    worker thread when many blocks are near, so the event loop keeps answering.
    """
    rows = await db.blocks_near(start, end)
    states = await db.occurrence_states_between(start, end)
    changes = await db.occurrence_changes_near(start, end)
    if len(rows) < _INLINE_BLOCKS:
        return expand(rows, states, changes, start, end, limit)
    return await asyncio.to_thread(expand, rows, states, changes, start, end, limit)


# Parsing each block's zone and start again on every agenda adds up over thousands of blocks.
_zone = lru_cache(maxsize=512)(recurrence.tz_from_name)
_local = lru_cache(maxsize=8192)(datetime.fromisoformat)


def session_start(reminder: Any) -> datetime:
    """When the session a block reminder is about starts (where it was moved to, if it was).

    A reminder is due `offset` minutes before its session's real start; a snooze has no
    offset and is about the session at its occurrence key.
    """
    if reminder["offset_minutes"] is not None:
        # a reminder held through quiet hours keeps its first due time in held_from
        held = reminder["held_from"] if "held_from" in reminder.keys() else None  # noqa: SIM118 (sqlite3.Row)
        return from_iso(held or reminder["due_at"]) + timedelta(minutes=reminder["offset_minutes"])
    return recurrence.parse_occurrence_key(reminder["occurrence_key"])


def find_occurrence(row: Any, key: str, changes: Iterable[Any] = ()) -> sessions.Session:
    """The session of a block whose original start is `key`, or BadRequest if there is none."""
    try:
        recurrence.parse_occurrence_key(key)
    except ValueError:
        raise BadRequest("occurrence: must be the start in UTC as YYYYMMDDTHHMMSSZ") from None
    found = sessions.find(series(row, changes), key)
    if found is None:
        raise BadRequest(f"occurrence: block {row['id']} has no occurrence starting at {key}")
    return found
