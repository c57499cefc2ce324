"""A block's sessions: its repeat rule's starts with one-session changes applied on top.

The model is RFC 5545's (https://www.rfc-editor.org/rfc/rfc5545#section-3.8.5): the
rule's starts plus extra dates (RDATE), less cancelled ones (EXDATE), and a session
moved or resized is an override keyed by its original start (RECURRENCE-ID). That
original start stays the session's identity everywhere: its key, its done/skipped
state, its deep link. Pure functions; the database rows become `Change`s in plan/blocks.py.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from notifier.clock import occurrence_key, parse_occurrence_key
from notifier.plan import recurrence
from notifier.plan.recurrence import Occurrence, localize


@dataclass(frozen=True)
class Change:
    """One session changed by hand or by a calendar file, keyed by its original start."""

    original_local: datetime  # naive wall time in the block's zone
    added: bool = False  # an extra date (RDATE) that the rule does not produce
    cancelled: bool = False
    start_local: datetime | None = None  # moved here (naive local); None = not moved
    duration_minutes: int | None = None  # None = the block's


@dataclass(frozen=True)
class Series:
    """What expanding a block into sessions needs."""

    start_local: datetime
    tz: ZoneInfo
    rrule: str | None
    duration_minutes: int
    changes: Mapping[str, Change] = field(default_factory=dict)  # by original key

    def __post_init__(self) -> None:
        if self.start_local.tzinfo is not None:
            raise ValueError("a block's start must be a naive local time")


@dataclass(frozen=True)
class Session:
    """One session as it will happen; `original` is its identity (RECURRENCE-ID)."""

    original: Occurrence
    local: datetime
    start_utc: datetime
    duration_minutes: int
    cancelled: bool = False

    @property
    def key(self) -> str:
        """The occurrence key: the original start in UTC, whether moved or not."""
        return occurrence_key(self.original.start_utc)

    @property
    def moved(self) -> bool:
        return self.start_utc != self.original.start_utc


def keyed(changes: Iterable[Change], tz: ZoneInfo) -> dict[str, Change]:
    """Changes by the key of their original start in `tz`."""
    return {occurrence_key(localize(c.original_local, tz)): c for c in changes}


def in_rule(series: Series, start_utc: datetime) -> bool:
    """Does the block's own rule (or its one-off start) produce a session at `start_utc`?"""
    return bool(
        recurrence.occurrences(
            series.start_local,
            series.tz,
            series.rrule,
            start_utc,
            start_utc + timedelta(seconds=1),
            limit=1,
        )
    )


def sessions(series: Series, window_start: datetime, window_end: datetime) -> list[Session]:
    """The sessions starting in [window_start, window_end), in time order.

    A session moved into the window from far outside it is found through its change,
    not by widening the expansion, so no margin can be too small.
    """
    changes = series.changes
    occurrences = recurrence.occurrences(
        series.start_local, series.tz, series.rrule, window_start, window_end, limit=None
    )
    if not changes:  # the common case: the rule's own starts, in order already
        return [Session(o, o.local, o.start_utc, series.duration_minutes) for o in occurrences]
    found: dict[str, Session] = {}
    for occ in occurrences:
        key = occurrence_key(occ.start_utc)
        change = changes.get(key)
        if change is None:
            found[key] = Session(occ, occ.local, occ.start_utc, series.duration_minutes)
        elif not change.cancelled and change.start_local is None:
            found[key] = _session(series, occ, change)
        # cancelled: gone; moved: placed below, by where it went
    for key, change in changes.items():
        if change.cancelled or key in found or (change.start_local is None and not change.added):
            continue
        original = Occurrence(change.original_local, localize(change.original_local, series.tz))
        session = _session(series, original, change)
        if not window_start <= session.start_utc < window_end:
            continue
        if change.added or in_rule(series, original.start_utc):  # a stale change is ignored
            found[key] = session
    return sorted(found.values(), key=lambda s: (s.start_utc, s.key))


def find(series: Series, key: str) -> Session | None:
    """The session whose original start is `key` (cancelled ones too), or None."""
    start = parse_occurrence_key(key)
    change = series.changes.get(key)
    if change is not None and change.added:
        original = Occurrence(change.original_local, localize(change.original_local, series.tz))
        return _session(series, original, change)
    occ = recurrence.occurrences(
        series.start_local, series.tz, series.rrule, start, start + timedelta(seconds=1)
    )
    if not occ:
        return None
    if change is None:
        return Session(occ[0], occ[0].local, occ[0].start_utc, series.duration_minutes)
    return _session(series, occ[0], change)


def _session(series: Series, original: Occurrence, change: Change) -> Session:
    local = change.start_local or original.local
    start = localize(local, series.tz) if change.start_local is not None else original.start_utc
    return Session(
        original,
        start.astimezone(series.tz).replace(tzinfo=None),
        start,
        change.duration_minutes or series.duration_minutes,
        change.cancelled,
    )


class Timed(Protocol):
    """Something due for a session: a reminder (Due) or an end-of-session question."""

    @property
    def due_utc(self) -> datetime: ...
    @property
    def key(self) -> str: ...


def due_order(item: Timed) -> tuple[datetime, str]:
    """The order reminders and questions are listed (and inserted) in: due time, then key."""
    return (item.due_utc, item.key)


@dataclass(frozen=True)
class Due:
    """One reminder: a session of a block and how many minutes before it to fire."""

    block_id: int
    occurrence_utc: datetime  # the session's original start: its identity
    start_utc: datetime  # when it really starts (moved or not)
    offset_minutes: int
    due_utc: datetime

    @property
    def key(self) -> str:
        """The reminder's identity: `b<id>:<start>:<offset>`, the start being the real one.

        A moved session's reminders are keyed by where it went, so moving a session
        after its reminder went out still reminds at the new time (once), while moving
        it before keeps one reminder per offset: the old pending one is dropped.
        """
        return f"b{self.block_id}:{occurrence_key(self.start_utc)}:{self.offset_minutes}"


@dataclass(frozen=True)
class Reminded:
    """A block as the scheduler sees it: its sessions and reminder offsets."""

    id: int
    series: Series
    offsets: tuple[int, ...]
    reminders: bool = True

    def __post_init__(self) -> None:
        """Reject offsets the rest of the rules cannot honour."""
        object.__setattr__(self, "offsets", tuple(self.offsets))
        for off in self.offsets:
            if (
                isinstance(off, bool)
                or not isinstance(off, int)
                or not 0 <= off <= recurrence.MAX_OFFSET_MINUTES
            ):
                raise ValueError(
                    f"reminder offsets are whole minutes, 0 to {recurrence.MAX_OFFSET_MINUTES}: not {off!r}"
                )


def due_reminders(
    blocks: Iterable[Reminded],
    window_start: datetime,
    window_end: datetime,
    *,
    closed: Container[tuple[int, datetime]] = (),
) -> list[Due]:
    """Every reminder due in [window_start, window_end), sorted by (due time, key).

    `closed` holds (block id, original start) of sessions marked done or skipped.
    """
    out = []
    for block in blocks:
        if not block.reminders or not block.offsets:
            continue
        offsets = sorted(set(block.offsets))
        # A reminder fires before its session, so sessions up to the largest offset
        # past the window still have reminders inside it.
        later = window_end + timedelta(minutes=offsets[-1])
        for s in sessions(block.series, window_start, later):
            if (block.id, s.original.start_utc) in closed:
                continue
            for off in offsets:
                due = s.start_utc - timedelta(minutes=off)
                if window_start <= due < window_end:
                    out.append(Due(block.id, s.original.start_utc, s.start_utc, off, due))
    return sorted(out, key=due_order)
