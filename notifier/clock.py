"""Time as a dependency: the real clock, and helpers to format instants."""

from __future__ import annotations

import asyncio
import re
from contextlib import suppress
from datetime import UTC, datetime

_KEY_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """Fixed-width ISO 8601 UTC text; sorts in time order as a string."""
    # isoformat() of an aware UTC time ends in "+00:00"; it is several times faster than
    # strftime, which matters for agendas of thousands of sessions.
    return dt.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def iso_key(text: str) -> str:
    """The occurrence key of an instant from its `iso` text (the same digits, no separators):
    slicing the text an agenda item holds anyway is cheaper than formatting the instant again."""
    return f"{text[:4]}{text[5:7]}{text[8:10]}T{text[11:13]}{text[14:16]}{text[17:19]}Z"


def from_iso(text: str) -> datetime:
    """Parse text written by `iso` (or any ISO 8601 with an offset) to aware UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def local_text(dt: datetime) -> str:
    """Naive local wall time as stored and shown: YYYY-MM-DDTHH:MM, seconds only when set."""
    return dt.isoformat(timespec="seconds" if dt.second else "minutes")


def occurrence_key(start_utc: datetime) -> str:
    """Format an aware datetime as YYYYMMDDTHHMMSSZ (sub-second parts are dropped).

    An occurrence's identity: in reminder keys, deep links and the occurrence state table.
    """
    if start_utc.tzinfo is None or start_utc.utcoffset() is None:
        raise ValueError("an occurrence start must be timezone-aware")
    u = start_utc.astimezone(UTC)
    return f"{u.year:04d}{u.month:02d}{u.day:02d}T{u.hour:02d}{u.minute:02d}{u.second:02d}Z"


def parse_occurrence_key(s: str) -> datetime:
    """Parse YYYYMMDDTHHMMSSZ (strictly) into an aware UTC datetime."""
    m = _KEY_RE.fullmatch(s) if isinstance(s, str) else None
    with suppress(ValueError):  # well-formed but no such time, like 20260230T000000Z
        if m:
            year, month, day, hour, minute, second = map(int, m.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    raise ValueError(f"bad occurrence start {s!r}: expected UTC as YYYYMMDDTHHMMSSZ")


class Clock:
    """The real clock. Tests pass a fake with the same two methods."""

    def now(self) -> datetime:
        return utcnow()

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        """Sleep until `when` or until `wake` is set, whichever comes first."""
        delay = (when - self.now()).total_seconds()
        if delay > 0 and not wake.is_set():
            try:
                await asyncio.wait_for(wake.wait(), delay)
            except TimeoutError:
                pass
        wake.clear()
