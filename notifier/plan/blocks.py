"""Study blocks: input validation, JSON shapes, and occurrences with their state."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from notifier.clock import iso, local_text, parse_occurrence_key
from notifier.db.records import Block, BlockChanges, OccurrenceChange, Reminder
from notifier.errors import BadRequest
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


def validate_block(data: Mapping[str, Any], *, partial: bool, default_tz: str) -> BlockChanges:
    """Check a create/patch body and return the block fields it sets."""
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
    out: BlockChanges = {}
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
        out["start_local"] = parse_start(data["start"], tz)
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
            None if offsets is None else validate_offsets("reminder_offsets", offsets)
        )
    if "reminders" in data:
        if not isinstance(data["reminders"], bool):
            raise BadRequest("reminders: must be true or false")
        out["reminders"] = data["reminders"]
    return out


def _repeat_rule(value: Any) -> str | None:
    """The rule for a `repeat` object (null: does not repeat)."""
    if value is None:
        return None
    try:
        return repeats.to_rule(repeats.parse(value))
    except ValueError as exc:
        raise BadRequest(f"repeat: {exc}") from None


def check_repeats(changes: BlockChanges, current: Block | None = None) -> None:
    """Refuse a rule that never produces an occurrence from the block's start."""
    if not {"rrule", "start_local", "timezone"} & set(changes):
        return
    rule = changes.get("rrule", current.rrule if current else None)
    if rule is None:
        return
    start = changes.get("start_local") or (current.start_local if current else None)
    tz_name = changes.get("timezone") or (current.timezone if current else None)
    assert start is not None and tz_name is not None  # a new block has both; a stored one too
    if recurrence.first_occurrence_within(start, recurrence.tz_from_name(tz_name), rule) is None:
        raise BadRequest(
            "rrule: this repeat never falls on a real date within five years of the start "
            "(like the 30th of February)"
        )


def block_json(block: Block) -> dict[str, Any]:
    return {
        "id": block.id,
        "title": block.title,
        "notes": block.notes,
        "start": local_text(block.start_local),
        "timezone": block.timezone,
        "duration_minutes": block.duration_minutes,
        "rrule": block.rrule,
        **repeats.block_fields(block.rrule, block.start_local, block.tz),
        "reminder_offsets": list(block.reminder_offsets)
        if block.reminder_offsets is not None
        else None,
        "reminders": block.reminders,
        "created_at": iso(block.created_at),
        "updated_at": iso(block.updated_at),
    }


def series(block: Block, changes: Iterable[OccurrenceChange] = ()) -> sessions.Series:
    """A block and its one-session changes as the sessions it has."""
    return sessions.Series(
        start_local=block.start_local,
        tz=block.tz,
        rrule=block.rrule,
        duration_minutes=block.duration_minutes,
        changes=sessions.keyed(map(change_of, changes), block.tz),
    )


def change_of(stored: OccurrenceChange) -> sessions.Change:
    """A stored one-session change as a Change."""
    return sessions.Change(
        original_local=stored.original_local,
        added=stored.added,
        cancelled=stored.cancelled,
        start_local=stored.start_local,
        duration_minutes=stored.duration_minutes,
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


def by_block(changes: Iterable[OccurrenceChange]) -> dict[int, list[OccurrenceChange]]:
    """One-session changes grouped by block id."""
    out: dict[int, list[OccurrenceChange]] = {}
    for c in changes:
        out.setdefault(c.block_id, []).append(c)
    return out


def reminded(block: Block, changes: Iterable[OccurrenceChange], prefs: Prefs) -> sessions.Reminded:
    """The scheduling view of a block under the current settings."""
    return sessions.Reminded(
        id=block.id,
        series=series(block, changes),
        offsets=block.reminder_offsets
        if block.reminder_offsets is not None
        else prefs.default_offsets,
        reminders=block.reminders and prefs.reminders_enabled,
    )


def occurrence_url(block_id: int, key: str) -> str:
    """The app's deep link to one occurrence (the notification's target)."""
    return f"/#/occurrence/{block_id}/{key}"


def repeat_text(block: Block) -> str:
    """The block's repeat rule in words ("Every Tue and Thu"), as its JSON shows it."""
    rule, start = block.rrule, block.start_local
    # Recognising a rule costs ~0.1 ms and the agenda asks once per block, so the words are
    # kept by what they depend on: the rule and the start's weekday, day and month (a rule
    # that leaves them out takes them from the start); the date an UNTIL ends on also
    # depends on the start's time of day, zone and year. Blocks begun on one weekday and
    # date of the year share one entry.
    key: tuple[Any, ...] = (rule, start.weekday(), start.day, start.month)
    if rule is not None and "UNTIL=" in rule:
        key += (start, block.tz)
    words = _WORDS.get(key)
    if words is None:
        if len(_WORDS) >= _WORDS_KEPT:
            _WORDS.clear()
        words = _WORDS[key] = str(repeats.block_fields(rule, start, block.tz)["repeat_text"])
    return words


_WORDS: dict[tuple[Any, ...], str] = {}
_WORDS_KEPT = 4096


def session_start(reminder: Reminder) -> datetime | None:
    """When the session a block reminder is about starts (where it was moved to, if it was).

    A reminder is due `offset` minutes before its session's real start; a snooze has no
    offset and is about the session at its occurrence key. None: not about a session.
    """
    if reminder.offset_minutes is not None:
        # a reminder held through quiet hours keeps its first due time in held_from
        return (reminder.held_from or reminder.due_at) + timedelta(minutes=reminder.offset_minutes)
    return reminder.occurrence_start


def find_occurrence(
    block: Block, key: str, changes: Iterable[OccurrenceChange] = ()
) -> sessions.Session:
    """The session of a block whose original start is `key`, or BadRequest if there is none."""
    try:
        parse_occurrence_key(key)
    except ValueError:
        raise BadRequest("occurrence: must be the start in UTC as YYYYMMDDTHHMMSSZ") from None
    found = sessions.find(series(block, changes), key)
    if found is None:
        raise BadRequest(f"occurrence: block {block.id} has no occurrence starting at {key}")
    return found
