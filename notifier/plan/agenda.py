"""The agenda: the sessions of a window with their state, as items and as JSON text.

Making an answer costs look-ups, not expansion: each repeating block's sessions are kept
by four-week UTC period as ready texts (`Window`, `_period_texts`); the planner works out
what the next agenda shows of every block it writes (`prepare`); sessions are sorted as
(start text, block) and become items only when asked (`Listing`), and the API writes a
rule start's item as JSON text straight from the block's parts.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from notifier.clock import iso, iso_key, local_text
from notifier.db import Database
from notifier.db.records import Block, OccurrenceChange, OccurrenceState
from notifier.errors import TooManyOccurrences
from notifier.plan import recurrence, sessions
from notifier.plan.blocks import by_block, occurrence_url, repeat_text, series
from notifier.slices import Slicer


class Window:
    """A UTC window [ws, we) whose sessions are asked for block after block (the agenda):
    what depends on the window alone is worked out once.

    Windows up to KEPT_SPAN are answered from texts kept by four-week period (see
    `_period_texts`): formatting an instant costs microseconds, the agenda of a week shows
    thousands, and it is asked for again after every change to the plan.
    """

    def __init__(self, ws: datetime, we: datetime) -> None:
        if ws.tzinfo is not UTC or we.tzinfo is not UTC:
            raise ValueError("a Window is in UTC")
        self.ws, self.we = ws, we
        self.periods: range | None = None
        if we - ws <= KEPT_SPAN:
            # iso() texts sort as their instants do, and a shown text begins with its
            # start's: texts are compared with these as they are.
            self.lo, self.hi = iso(ws), iso(we)
            last = ((we - timedelta(microseconds=1)).toordinal() - 1) // 28
            self.periods = range((ws.toordinal() - 1) // 28, last + 1)

    def shown(
        self, start_local: datetime, tz: ZoneInfo, rrule: str | None, minutes: int
    ) -> list[str]:
        """recurrence.utc_starts() of one block in this window, in order, as the agenda shows
        each session: one text of its start and of its end `minutes` later as clock.iso
        writes them, then its wall time as clock.local_text does (split at SHOWN_END and
        SHOWN_LOCAL)."""
        # keys are whole seconds (utc_starts drops microseconds too; stored starts have none)
        start = start_local.replace(microsecond=0) if start_local.microsecond else start_local
        if rrule is not None and self.periods is not None:
            with suppress(OverflowError):  # periods at the calendar's ends: walked below
                return self._kept(start, tz, rrule, minutes)
        return _texts(start, tz, rrule, minutes, self.ws, self.we)

    def _kept(self, start: datetime, tz: ZoneInfo, rrule: str, minutes: int) -> list[str]:
        assert self.periods is not None
        shown: list[str] = []
        lo, hi = self.lo, self.hi
        for period in self.periods:
            kept = _period_texts(start, tz, rrule, minutes, period)
            if kept and lo <= kept[0] and kept[-1] < hi:
                shown += kept  # a period inside the window: all of it
            else:  # the texts are in time order
                shown += kept[bisect_left(kept, lo) : bisect_left(kept, hi)]
        return shown


SHOWN_END = len(iso(datetime(2000, 1, 1, tzinfo=UTC)))  # every iso() text is this long
SHOWN_LOCAL = 2 * SHOWN_END


def _texts(
    start: datetime, tz: ZoneInfo, rrule: str | None, minutes: int, ws: datetime, we: datetime
) -> list[str]:
    length = timedelta(minutes=minutes)
    found = recurrence.utc_starts(start, tz, rrule, ws, we)
    return [iso(utc) + iso(utc + length) + local_text(local) for utc, local in found.items()]


# Texts are kept for windows up to this long (the agenda's longest, two months, and the
# days the planner prepares ahead), one entry per block rule and four-week period.
KEPT_SPAN = timedelta(days=77)
_PERIOD = timedelta(days=28)
_MONDAY_ONE = datetime(1, 1, 1, tzinfo=UTC)  # 0001-01-01 was a Monday


# More than the most a plan may hold (5,000 blocks, each over the planner's 63 days: 3 or 4
# periods): an LRU smaller than what an agenda walks through evicts each entry just
# before it is asked for, and nothing is ever found.
@lru_cache(maxsize=24576)
def _period_texts(
    start: datetime, tz: ZoneInfo, rrule: str, minutes: int, period: int
) -> tuple[str, ...]:
    """The shown texts of the starts in one four-week UTC period (from a Monday; periods
    counted from 0001-01-01). A pure function of its arguments, so it is kept: ~120 bytes a
    session, and the agenda of a week is then one or two look-ups a block."""
    monday = _MONDAY_ONE + period * _PERIOD
    return tuple(_texts(start, tz, rrule, minutes, monday, monday + _PERIOD))


def occurrence_json(
    block: Block,
    session: sessions.Session,
    state: OccurrenceState | None,
    words: str | None = None,
) -> dict[str, Any]:
    """An agenda item; `original_start` (local) is there when the session was moved.

    `words` is the block's `repeat_text`, worked out once per block by a caller listing many.
    """
    return _item(
        block,
        session.key,
        iso(session.start_utc),
        local_text(session.local),
        session.start_utc,
        session.duration_minutes,
        "cancelled" if session.cancelled else None,
        state,
        local_text(session.original.local) if session.moved else None,
        repeat_text(block) if words is None else words,
    )


def _item(
    block: Block,
    key: str | None,
    start_text: str,
    local_start: str,
    start_utc: datetime,
    minutes: int,
    status: str | None,
    state: OccurrenceState | None,
    original_start: str | None,
    words: str,
) -> dict[str, Any]:
    """One agenda item; `key` None: the start's. `start_text` and `local_start` are the
    start as clock.iso and clock.local_text show it."""
    key = key or iso_key(start_text)
    return _fields(
        block.id,
        block.title,
        block.notes,
        key,
        local_start,
        start_text,
        iso(start_utc + timedelta(minutes=minutes)),
        minutes,
        block.timezone,
        words,
        *_state_fields(state, status),
        original_start,
    )


def _state_fields(
    state: OccurrenceState | None, status: str | None = None
) -> tuple[str, str | None]:
    """An item's status and snoozed_until (as clock.iso) from its session's state."""
    if state is None:
        return status or "planned", None
    until = state.snoozed_until
    return status or state.status, iso(until) if until else None


def _fields(
    block_id: int,
    title: str,
    notes: str,
    key: str,
    local_start: str,
    start_text: str,
    end_text: str,
    minutes: int,
    zone: str,
    words: str,
    status: str,
    snoozed_until: str | None,
    original_start: str | None,
) -> dict[str, Any]:
    """An agenda item's fields, in the order of its JSON (the agenda's hot loop)."""
    return {
        "block_id": block_id,
        "title": title,
        "notes": notes,
        "key": key,
        "start": local_start,
        "start_utc": start_text,
        "end_utc": end_text,
        "duration_minutes": minutes,
        "timezone": zone,
        "repeat_text": words,
        "status": status,
        "snoozed_until": snoozed_until,
        "url": occurrence_url(block_id, key),
        "original_start": original_start,
    }


def prepare(block: Block, start: datetime, end: datetime) -> None:
    """Work out what an agenda of [start, end) will show of `block` and keep it: its
    sessions' texts (kept by period, see Window), its repeat words and JSON parts.
    The planner calls this for each block it writes, so the agenda asked next reads kept
    texts instead of expanding every rule of the plan at once."""
    if block.rrule is not None:  # a one-off block's one session is not kept: it is cheap
        window = Window(start.astimezone(UTC), end.astimezone(UTC))
        window.shown(block.start_local, block.tz, block.rrule, block.duration_minutes)
    _json_parts(block, repeat_text(block))


@lru_cache(maxsize=8192)  # a block's are the same in every answer until it changes
def _json_parts(block: Block, words: str) -> tuple[int, str, str]:
    """The JSON of an item of `block` around its session's texts (see Listing.json_items)."""
    fields = (block.id, block.title, block.notes, block.duration_minutes, block.timezone, words)
    pieces = [msgspec.json.encode(value).decode() for value in fields]
    head = f'{{"block_id":{pieces[0]},"title":{pieces[1]},"notes":{pieces[2]},"key":"'
    middle = (
        f',"duration_minutes":{pieces[3]},"timezone":{pieces[4]},'
        f'"repeat_text":{pieces[5]},"status":"'
    )
    return block.id, head, middle


class Listing:
    """The sessions of an agenda in time order, each made into an item only when asked for.

    Sorting needs only each session's start text and its block, so the thousands of items
    of a long window are never all in memory at once: the API encodes them a page at a
    time (a two-month agenda of 1,000 blocks is 17,000 items, ~17 MB as dicts).
    """

    def __init__(self, blocks: list[Block], states: list[OccurrenceState]) -> None:
        # By id, so that the stable sort by start leaves sessions at one time in id order.
        self.blocks = sorted(blocks, key=attrgetter("id"))
        self.words = [repeat_text(block) for block in self.blocks]
        self.by_key = {(s.block_id, s.key): s for s in states}
        # (start as clock.iso, block position, the item or recurrence's shown text)
        self.entries: list[tuple[str, int, dict[str, Any] | str]] = []

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for start_text, pos, made in self.entries:
            yield made if isinstance(made, dict) else self._item(start_text, pos, made)

    def json_items(self) -> Iterator[str]:
        """Each item as its JSON text, as msgspec writes the dict `iter` gives (the API's
        hot loop: a rule start's text is written straight from the block's parts)."""
        parts = [
            _json_parts(block, words) for block, words in zip(self.blocks, self.words, strict=True)
        ]
        by_key = self.by_key
        for start_text, pos, made in self.entries:
            if isinstance(made, dict):
                yield msgspec.json.encode(made).decode()
                continue
            block_id, head, middle = parts[pos]
            key = iso_key(start_text)
            status, until = _state_fields(by_key.get((block_id, key)) if by_key else None)
            snoozed = f'"{until}"' if until else "null"
            yield (
                f'{head}{key}","start":"{made[SHOWN_LOCAL:]}","start_utc":"{start_text}",'
                f'"end_utc":"{made[SHOWN_END:SHOWN_LOCAL]}"{middle}{status}",'
                f'"snoozed_until":{snoozed},"url":"/#/occurrence/{block_id}/{key}",'
                f'"original_start":null}}'
            )

    def _item(self, start_text: str, pos: int, text: str) -> dict[str, Any]:
        """A rule start's item, from the texts recurrence keeps of it."""
        block = self.blocks[pos]
        key = iso_key(start_text)
        state = self.by_key.get((block.id, key)) if self.by_key else None
        return _fields(
            block.id,
            block.title,
            block.notes,
            key,
            text[SHOWN_LOCAL:],
            start_text,
            text[SHOWN_END:SHOWN_LOCAL],
            block.duration_minutes,
            block.timezone,
            self.words[pos],
            *_state_fields(state),
            None,
        )


def expand(
    blocks: list[Block],
    states: list[OccurrenceState],
    changes: list[OccurrenceChange],
    start: datetime,
    end: datetime,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """All sessions of `blocks` starting in [start, end), with state, in time order.

    More than `limit` sessions is TooManyOccurrences: decided from the rules when they
    surely hold more (recurrence.at_least), else as soon as the sessions made pass it.
    """
    listing = Listing(blocks, states)
    for _ in _expanding(listing, states, changes, start, end, limit):
        pass
    return list(listing)


def _expanding(
    listing: Listing,
    states: list[OccurrenceState],
    changes: list[OccurrenceChange],
    start: datetime,
    end: datetime,
    limit: int | None,
) -> Iterator[None]:
    """expand()'s work into `listing`, one block per step: the agenda gives the loop a turn
    between steps, so thousands of blocks never hold it for long."""
    by_start = {(s.block_id, s.start): s for s in states}
    grouped = by_block(changes)
    ws, we = start.astimezone(UTC), end.astimezone(UTC)
    window = Window(ws, we)
    blocks, entries = listing.blocks, listing.entries
    # A rule gives a block at most one start a local date, and a UTC window touches at most
    # two dates more than it spans days: when even that many fit, nothing needs reckoning.
    # Nor in a window of two weeks or less: its sessions are cheap to make (see
    # Window.shown), and the count below stops them at the limit anyway.
    if (
        limit is not None
        and we - ws > _RECKONED
        and len(blocks) * ((we - ws).days + 3) > limit
        and limit
        < sum(
            recurrence.at_least(b.start_local, b.rrule, ws, we)
            for b in blocks
            if b.id not in grouped
        )
    ):
        raise _too_many(limit)  # decided from the rules alone, before making any session
    for pos, block in enumerate(blocks):
        if rows := grouped.get(block.id):
            for session in sessions.sessions(series(block, rows), start, end):
                state = by_start.get((block.id, session.original.start_utc))
                item = occurrence_json(block, session, state, listing.words[pos])
                entries.append((item["start_utc"], pos, item))
        else:  # no session changed by hand: its sessions are the rule's starts
            shown = window.shown(block.start_local, block.tz, block.rrule, block.duration_minutes)
            entries += [(text[:SHOWN_END], pos, text) for text in shown]
        if limit is not None and len(entries) > limit:
            raise _too_many(limit)
        yield
    entries.sort(key=itemgetter(0, 1))


_RECKONED = timedelta(days=14)
# The agenda's slices are longer than background work's (slices.SLICE_SECONDS): a person
# waits for it, and each turn it gives away can cost them another task's whole slice.
# A due reminder waits at most this long for it, well inside its lateness budget of 50 ms.
AGENDA_SLICE = 0.015


def _too_many(limit: int) -> TooManyOccurrences:
    return TooManyOccurrences(
        f"this range holds more than {limit:,} sessions: ask for a shorter one"
    )


async def listing(
    db: Database, start: datetime, end: datetime, limit: int | None = None
) -> Listing:
    """The sessions of [start, end) with their state, in time order (see Listing).

    Reads only what can occur in the window (not the plan's history), and expands on
    the loop in short slices (a block at a time), so sends and requests keep their turn:
    a worker thread would hold the GIL against them (see notifier/slices.py).
    """
    slicer = Slicer(AGENDA_SLICE)
    blocks = await db.blocks_near(start, end, slicer)
    states = await db.occurrence_states_between(start, end)
    changes = await db.occurrence_changes_near(start, end)
    found = Listing(blocks, states)
    for _ in _expanding(found, states, changes, start, end, limit):
        await slicer.pause()
    return found


async def agenda(
    db: Database, start: datetime, end: datetime, limit: int | None = None
) -> list[dict[str, Any]]:
    """The agenda of [start, end): its sessions' items, with their state, in time order."""
    return list(await listing(db, start, end, limit))
