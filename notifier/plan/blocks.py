"""Study blocks: input validation, JSON shapes, and occurrences with their state."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from notifier.clock import iso, iso_key, local_text, parse_occurrence_key
from notifier.db import Database
from notifier.db.records import Block, BlockChanges, OccurrenceChange, OccurrenceState, Reminder
from notifier.errors import BadRequest, TooManyOccurrences
from notifier.plan import recurrence, repeats, sessions
from notifier.plan.prefs import Prefs, validate_offsets
from notifier.plan.recurrence import SHOWN_END, SHOWN_LOCAL
from notifier.slices import Slicer

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
        status or (state.status if state else "planned"),
        iso(state.snoozed_until) if state and state.snoozed_until else None,
        original_start,
    )


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
    sessions' texts (recurrence keeps them by period), its repeat words and JSON parts.
    The planner calls this for each block it writes, so the agenda asked next reads kept
    texts instead of expanding every rule of the plan at once."""
    if block.rrule is not None:  # a one-off block's one session is not kept: it is cheap
        window = recurrence.Window(start.astimezone(UTC), end.astimezone(UTC))
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

    def __len__(self) -> int:
        return len(self.entries)

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
            state = by_key.get((block_id, key)) if by_key else None
            if state is None:
                status, snoozed = "planned", "null"
            else:
                until = state.snoozed_until
                status, snoozed = state.status, f'"{iso(until)}"' if until else "null"
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
            state.status if state else "planned",
            iso(state.snoozed_until) if state and state.snoozed_until else None,
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
    window = recurrence.Window(ws, we)
    blocks, entries = listing.blocks, listing.entries
    # A rule gives a block at most one start a local date, and a UTC window touches at most
    # two dates more than it spans days: when even that many fit, nothing needs reckoning.
    # Nor in a window of two weeks or less: its sessions are cheap to make (see
    # recurrence.shown_starts), and the count below stops them at the limit anyway.
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
