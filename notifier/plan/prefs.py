"""The user's preferences (edited in the app), with defaults and validation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from notifier.config import parse_public_url
from notifier.errors import BadRequest, ConfigError
from notifier.plan import quiet as quiet_mod
from notifier.plan.recurrence import MAX_OFFSET_MINUTES, MINUTES_PER_DAY, tz_from_name

DEFAULT_PERSONA = (
    "You are the user's study buddy: a warm, funny friend who texts them before "
    "study sessions. Tease them lightly, cheer them on, keep it short and kind."
)
DEFAULT_MODEL = "claude-haiku-4-5"
MAX_OFFSETS = 10  # reminder offsets per block or in the settings
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Prefs:
    """Everything on the settings screen; `timezone` "" means the machine's zone."""

    timezone: str = ""
    default_offsets: tuple[int, ...] = (0, 15)
    reminders_enabled: bool = True
    summary_enabled: bool = False
    summary_time: str = "07:30"
    late_grace_minutes: int = 10
    snooze_minutes: int = 10
    persona: str = DEFAULT_PERSONA
    llm_enabled: bool = True
    llm_model: str = DEFAULT_MODEL
    llm_daily_cap: int = 200
    vapid_subject: str = ""
    # {"start": "23:00", "end": "07:00", "mode": "hold" | "drop", "days"?: [...]} or None (plan/quiet.py)
    quiet_hours: dict[str, Any] | None = None
    end_of_block_check: bool = (
        False  # "How did it go?" with Done / Not done / +snooze at a block's end
    )
    lan_https: bool = False  # serve HTTPS on the home network, so a phone there can pair
    public_url: str = ""  # a tunnel's https address; NOTIFIER_PUBLIC_URL wins over it

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["default_offsets"] = list(self.default_offsets)
        return data


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{name}: must be true or false")
    return value


def _int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise BadRequest(f"{name}: must be a whole number from {lo} to {hi}")
    return value


def _text(name: str, value: Any, max_len: int, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{name}: must be text")
    value = value.strip()
    if len(value) > max_len:
        raise BadRequest(f"{name}: must be at most {max_len} characters")
    if not value and not allow_empty:
        raise BadRequest(f"{name}: must not be empty")
    return value


def validate_offsets(name: str, value: Any) -> tuple[int, ...]:
    """A set of reminder offsets: minutes before start, 0 = at start."""
    if not isinstance(value, (list, tuple)) or len(value) > MAX_OFFSETS:
        raise BadRequest(f"{name}: must be a list of at most {MAX_OFFSETS} numbers of minutes")
    return tuple(sorted({_int(name, v, 0, MAX_OFFSET_MINUTES) for v in value}))


def _timezone(name: str, value: Any) -> str:
    value = _text(name, value, 64)
    if value:
        try:
            tz_from_name(value)
        except ValueError as exc:
            raise BadRequest(f"{name}: {exc}") from None
    return value


def _summary_time(name: str, value: Any) -> str:
    value = _text(name, value, 5)
    if not _HHMM.match(value):
        raise BadRequest(f"{name}: must be a time of day as HH:MM (24-hour)")
    return value


def _subject(name: str, value: Any) -> str:
    from notifier.push.vapid import subject_problem

    value = _text(name, value, 200)
    if value and (problem := subject_problem(value)):
        raise BadRequest(f"{name}: {problem}")
    return value


def _quiet_hours(name: str, value: Any) -> dict[str, Any] | None:
    try:
        quiet = quiet_mod.parse(value)
    except ValueError as exc:
        raise BadRequest(f"{name}: {exc}") from None
    return quiet.as_json() if quiet else None


def _public_url(name: str, value: Any) -> str:
    value = _text(name, value, 300)
    try:
        return parse_public_url(value, what=name) or ""
    except ConfigError:
        raise BadRequest(
            f"{name}: must be an address like https://study.example.ts.net (no path)"
        ) from None


_VALIDATORS = {
    "timezone": _timezone,
    "default_offsets": validate_offsets,
    "reminders_enabled": _bool,
    "summary_enabled": _bool,
    "summary_time": _summary_time,
    "late_grace_minutes": lambda n, v: _int(n, v, 0, MINUTES_PER_DAY),
    "snooze_minutes": lambda n, v: _int(n, v, 1, MINUTES_PER_DAY),
    "persona": lambda n, v: _text(n, v, 2000, allow_empty=False),
    "llm_enabled": _bool,
    "llm_model": lambda n, v: _text(n, v, 100, allow_empty=False),
    "llm_daily_cap": lambda n, v: _int(n, v, 0, 10000),
    "vapid_subject": _subject,
    "quiet_hours": _quiet_hours,
    "end_of_block_check": _bool,
    "lan_https": _bool,
    "public_url": _public_url,
}
assert set(_VALIDATORS) == {f.name for f in fields(Prefs)}


def validate_patch(patch: Mapping[str, Any]) -> dict[str, Any]:
    """Check a partial update; raise BadRequest naming the first bad field."""
    if not isinstance(patch, Mapping):
        raise BadRequest("settings must be a JSON object")
    unknown = sorted(set(patch) - set(_VALIDATORS))
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown setting")
    return {name: _VALIDATORS[name](name, value) for name, value in patch.items()}


def from_stored(stored: Mapping[str, Any]) -> Prefs:
    """Prefs from the settings table, ignoring names this version does not know."""
    known = {k: v for k, v in stored.items() if k in _VALIDATORS}
    if "default_offsets" in known:
        known["default_offsets"] = tuple(known["default_offsets"])
    return replace(Prefs(), **known)


async def load(db: Any) -> Prefs:
    """The current preferences from the database."""
    return from_stored(await db.load_settings())


async def update(db: Any, patch: Mapping[str, Any]) -> Prefs:
    """Validate and store a partial update; returns the new preferences."""
    clean = validate_patch(patch)
    stored = {k: list(v) if isinstance(v, tuple) else v for k, v in clean.items()}
    if stored:
        await db.save_settings(stored)
    return await load(db)
