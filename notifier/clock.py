"""Time as a dependency: the real clock, and helpers to format instants."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """Fixed-width ISO 8601 UTC text; sorts in time order as a string."""
    # isoformat() of an aware UTC time ends in "+00:00"; it is several times faster than
    # strftime, which matters for agendas of thousands of sessions.
    return dt.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def from_iso(text: str) -> datetime:
    """Parse text written by `iso` (or any ISO 8601 with an offset) to aware UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


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
