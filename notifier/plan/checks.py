""" "How did it go?": one question at the end of each session, when the setting is on."""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier.clock import occurrence_key
from notifier.plan.recurrence import MINUTES_PER_DAY
from notifier.plan.sessions import Reminded, due_order, sessions


@dataclass(frozen=True)
class CheckDue:
    """The end of one session: when to ask, and which session (by its original start)."""

    block_id: int
    occurrence_utc: datetime
    due_utc: datetime

    @property
    def key(self) -> str:
        """One question per session, wherever it was moved: `check:b<id>:<original start>`."""
        return f"check:b{self.block_id}:{occurrence_key(self.occurrence_utc)}"


def due_checks(
    blocks: Iterable[Reminded],
    window_start: datetime,
    window_end: datetime,
    *,
    closed: Container[tuple[int, datetime]] = (),
) -> list[CheckDue]:
    """Sessions ending in [window_start, window_end) that are not done or skipped yet."""
    out = []
    for block in blocks:
        if not block.reminders:  # reminders off for this block: it stays silent
            continue
        # A session ends at most a day after it starts.
        for s in sessions(
            block.series, window_start - timedelta(minutes=MINUTES_PER_DAY), window_end
        ):
            end = s.start_utc + timedelta(minutes=s.duration_minutes)
            if window_start <= end < window_end and (block.id, s.original.start_utc) not in closed:
                out.append(CheckDue(block.id, s.original.start_utc, end))
    return sorted(out, key=due_order)
