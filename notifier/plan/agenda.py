"""The agenda: the sessions of a window with their state, as items and as JSON text.

The agenda of the weeks around now is joined from items kept in the database as JSON
text (`keep`, `kept_json`; see the end of this module). Any other window is made from the
rules (`shown`, expanding near the window only): sessions are sorted as (start text,
block) and become items only when asked (`Listing`), and the API writes a rule start's
item as JSON text straight from the block's parts (the kept items are made by the same
code).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from notifier.clock import iso, iso_key, local_text
from notifier.db import Database
from notifier.db.agenda import ItemRow
from notifier.db.records import Block, OccurrenceChange, OccurrenceState
from notifier.errors import TooManyOccurrences
from notifier.plan import recurrence, sessions
from notifier.plan.blocks import by_block, occurrence_url, repeat_text, series
from notifier.slices import Slicer


def shown(
    start_local: datetime, tz: ZoneInfo, rrule: str | None, minutes: int, ws: datetime, we: datetime
) -> list[str]:
    """recurrence.utc_starts() of one block in the UTC window [ws, we), in order, as the
    agenda shows each session: one text of its start and of its end `minutes` later as
    clock.iso writes them, then its wall time as clock.local_text does (split at SHOWN_END
    and SHOWN_LOCAL)."""
    length = timedelta(minutes=minutes)
    found = recurrence.utc_starts(start_local, tz, rrule, ws, we)
    return [iso(utc) + iso(utc + length) + local_text(local) for utc, local in found.items()]


SHOWN_END = len(iso(datetime(2000, 1, 1, tzinfo=UTC)))  # every iso() text is this long
SHOWN_LOCAL = 2 * SHOWN_END


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
    blocks, entries = listing.blocks, listing.entries
    # A rule gives a block at most one start a local date, and a UTC window touches at most
    # two dates more than it spans days: when even that many fit, nothing needs reckoning.
    # Nor in a window of two weeks or less: its sessions are cheap to make (see
    # `shown`), and the count below stops them at the limit anyway.
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
            texts = shown(block.start_local, block.tz, block.rrule, block.duration_minutes, ws, we)
            entries += [(text[:SHOWN_END], pos, text) for text in texts]
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
    """The agenda of [start, end): its sessions' items, with their state, in time order
    (from the kept items when they cover it: a reminder's day for its text, the next block)."""
    kept = await kept_json(db, start, end, limit)
    if kept is not None:
        items: list[dict[str, Any]] = msgspec.json.decode(b"[" + kept + b"]")
        return items
    return list(await listing(db, start, end, limit))


# -- kept items ------------------------------------------------------------------------
# The agenda of the weeks around now, asked after every change to the plan, is read from
# items kept in the database as JSON text (db/agenda.py): a week of 5,000 blocks is then
# one query that joins 10,000 kept texts, instead of Python work for each session. A
# block's items are made when it is written (triggers mark it stale) and the span moves
# on once a week, when every block's are made again in the background.

KEPT_WEEKS = 11  # from the Monday before yesterday: always more than two months ahead
_STATUS = ',"status":"'
_AFTER_SNOOZED = ',"url":"'


def kept_span(now: datetime) -> tuple[datetime, datetime]:
    """The UTC window whose items are kept at `now`: from the Monday (UTC) of the week of
    two days ago, KEPT_WEEKS weeks; every agenda from yesterday on up to two months is in it."""
    day = (now.astimezone(UTC) - timedelta(days=2)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(weeks=KEPT_WEEKS)


def item_rows(
    block: Block, changes: list[OccurrenceChange], start: datetime, end: datetime
) -> list[ItemRow]:
    """The kept items of `block` in [start, end): each session's item as the agenda's JSON
    text with no state, and where its state goes (see db.agenda)."""
    listing = Listing([block], [])
    for _ in _expanding(listing, [], changes, start, end, None):
        pass
    rows: list[ItemRow] = []
    for seq, ((start_text, _, made), text) in enumerate(
        zip(listing.entries, listing.json_items(), strict=True)
    ):
        if isinstance(made, dict):
            key, fixed = made["key"], made["status"] if made["status"] != "planned" else None
        else:
            key, fixed = iso_key(start_text), None
        at = text.rindex(_STATUS) + len(_STATUS)
        rows.append((start_text, seq, key, text, at, text.rindex(_AFTER_SNOOZED), fixed))
    return rows


KEEP_BATCH = 25  # blocks made and kept in one transaction (a few milliseconds)
KEEP_AT_ONCE = 64  # more stale blocks than this are made in the background


async def keep(db: Database, now: datetime, most: int | None = None) -> bool:
    """Make the kept items of the stale blocks (of every block when the span moves on).
    With `most`, nothing is made when more than that many are stale; True when none is
    stale any more."""
    span = kept_span(now)
    if await db.agenda_span() != span:
        if most is not None:
            return False
        await db.start_agenda_span(*span)

    def make(block: Block, changes: list[OccurrenceChange]) -> list[ItemRow]:
        return item_rows(block, changes, *span)

    if most is not None:  # the few a write left stale, in one go
        stale = await db.stale_agenda_blocks(most + 1)
        if len(stale) > most:
            return False
        if stale:
            await db.keep_agenda_items(stale, make)
        return True
    slicer = Slicer()
    while stale := await db.stale_agenda_blocks(KEEP_BATCH):
        await db.keep_agenda_items(stale, make)
        await slicer.pause()
    return True


async def kept_json(
    db: Database, start: datetime, end: datetime, limit: int | None = None
) -> bytes | None:
    """The items of the agenda of [start, end) as JSON texts joined by commas (UTF-8), from the
    kept items; None when they do not cover it (the caller makes it from the rules).
    More than `limit` sessions is TooManyOccurrences."""
    found = await db.kept_agenda_json(start, end, limit)
    if found is None:
        return None
    count, text = found
    if limit is not None and count > limit:
        raise _too_many(limit)
    return text
