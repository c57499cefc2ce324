"""Study blocks: input validation, JSON shapes, and occurrences with their state."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from notifier.clock import iso
from notifier.errors import BadRequest
from notifier.plan import recurrence
from notifier.plan.prefs import Prefs, validate_offsets

MAX_TITLE = 200
MAX_NOTES = 2000
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
STATUSES = ("planned", "done", "skipped")
MIN_YEAR, MAX_YEAR = 2000, 2100


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
        # Recurrence is expanded from the start, so absurd years cost real time.
        raise BadRequest(f"{field}: the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return parsed.replace(microsecond=0)


def local_text(dt: datetime) -> str:
    """Naive local time as the API shows it (seconds only when set)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S" if dt.second else "%Y-%m-%dT%H:%M")


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
        d = data["duration_minutes"]
        if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 1440:
            raise BadRequest("duration_minutes: must be a whole number from 1 to 1440")
        out["duration_minutes"] = d
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


def check_repeats(fields: dict[str, Any], current: Any | None = None) -> None:
    """Refuse a rule that never produces an occurrence from the block's start."""
    merged = {**(dict(current) if current is not None else {}), **fields}
    if merged.get("rrule") is None or not {"rrule", "start_local", "timezone"} & set(fields):
        return
    tz = recurrence.tz_from_name(merged["timezone"])
    start = datetime.fromisoformat(merged["start_local"])
    if recurrence.first_occurrence_within(start, tz, merged["rrule"]) is None:
        raise BadRequest("rrule: this rule never matches a date within five years of the start")


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
        "reminder_offsets": json.loads(offsets) if offsets is not None else None,
        "reminders": bool(row["reminders"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def block_spec(row: Any, prefs: Prefs) -> recurrence.BlockSpec:
    """The pure-scheduling view of a block under the current settings."""
    offsets = (
        json.loads(row["reminder_offsets"])
        if row["reminder_offsets"] is not None
        else prefs.default_offsets
    )
    return recurrence.BlockSpec(
        id=row["id"],
        start_local=datetime.fromisoformat(row["start_local"]),
        tz=recurrence.tz_from_name(row["timezone"]),
        rrule=row["rrule"],
        offsets=tuple(offsets),
        reminders=bool(row["reminders"]) and prefs.reminders_enabled,
    )


def occurrence_url(block_id: int, key: str) -> str:
    """The app's deep link to one occurrence (the notification's target)."""
    return f"/#/occurrence/{block_id}/{key}"


def occurrence_json(row: Any, occ: recurrence.Occurrence, state: Any | None) -> dict[str, Any]:
    key = recurrence.occurrence_key(occ.start_utc)
    return {
        "block_id": row["id"],
        "title": row["title"],
        "notes": row["notes"],
        "key": key,
        "start": local_text(occ.local),
        "start_utc": iso(occ.start_utc),
        "end_utc": iso(occ.start_utc + timedelta(minutes=row["duration_minutes"])),
        "duration_minutes": row["duration_minutes"],
        "timezone": row["timezone"],
        "status": state["status"] if state else "planned",
        "snoozed_until": state["snoozed_until"] if state else None,
        "url": occurrence_url(row["id"], key),
    }


def expand(
    rows: list[Any], states: list[Any], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """All occurrences of `rows` starting in [start, end), with state, in time order."""
    by_key = {(s["block_id"], s["occurrence_key"]): s for s in states}
    out = []
    for row in rows:
        tz = recurrence.tz_from_name(row["timezone"])
        for occ in recurrence.occurrences(
            datetime.fromisoformat(row["start_local"]), tz, row["rrule"], start, end
        ):
            out.append(
                occurrence_json(
                    row, occ, by_key.get((row["id"], recurrence.occurrence_key(occ.start_utc)))
                )
            )
    out.sort(key=lambda o: (o["start_utc"], o["block_id"]))
    return out


def find_occurrence(row: Any, key: str) -> recurrence.Occurrence:
    """The occurrence of a block that starts at `key`, or BadRequest if there is none."""
    try:
        start = recurrence.parse_occurrence_key(key)
    except ValueError:
        raise BadRequest("occurrence: must be the start in UTC as YYYYMMDDTHHMMSSZ") from None
    tz = recurrence.tz_from_name(row["timezone"])
    found = recurrence.occurrences(
        datetime.fromisoformat(row["start_local"]),
        tz,
        row["rrule"],
        start,
        start + timedelta(seconds=1),
    )
    if not found:
        raise BadRequest(f"occurrence: block {row['id']} has no occurrence starting at {key}")
    return found[0]


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)
