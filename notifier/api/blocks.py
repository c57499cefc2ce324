"""Blocks, the agenda, and occurrence actions."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, MediaType, Response, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from notifier.api.injected import Injected
from notifier.clock import Clock
from notifier.db import Database
from notifier.db.records import Block
from notifier.errors import BadRequest, NotFound
from notifier.plan import occurrences, recurrence
from notifier.plan import prefs as prefs_mod
from notifier.plan.agenda import AGENDA_SLICE, Listing, kept_json, listing
from notifier.plan.blocks import (
    MAX_AGENDA_OCCURRENCES,
    MAX_BLOCKS,
    block_json,
    check_repeats,
    effective_timezone,
    find_occurrence,
    parse_start,
    validate_block,
)
from notifier.plan.repeats import DAYS
from notifier.schedule.planner import Planner
from notifier.slices import Slicer

MAX_AGENDA_DAYS = 62


@dataclass
class _Answers:
    """Encoded agenda answers of one database, good while its plan_version stays."""

    version: int = -1
    by_window: OrderedDict[tuple[str, datetime, datetime], bytes] = field(
        default_factory=OrderedDict
    )


_answers: weakref.WeakKeyDictionary[Database, _Answers] = weakref.WeakKeyDictionary()
# Kept in all: a week of 5,000 weekly blocks is ~3.5 MB. Two months of 1,000 (~6 MB) are
# not kept: joined again from the items the database keeps, they cost less than the
# memory they would hold.
_ANSWER_BYTES = 4_000_000


async def _agenda_answer(planner: Planner, tz_name: str, lo: datetime, hi: datetime) -> bytes:
    """The agenda's JSON, kept until the plan changes: the PWA asks for the same weeks
    again and again, and a kept answer costs one query instead of expanding every block.

    A window of the weeks around now is joined from the items the database keeps (see
    plan.agenda.kept_json); any other is made from the rules.
    """
    db = planner.db
    version = await db.plan_version()  # read first: a change meanwhile is never kept as new
    kept = _answers.setdefault(db, _Answers())
    if kept.version != version:
        kept.version, kept.by_window = version, OrderedDict()
    key = (tz_name, lo, hi)
    if (body := kept.by_window.get(key)) is not None:
        kept.by_window.move_to_end(key)
        return body
    await planner.keep_agenda()
    items = await kept_json(db, lo, hi, MAX_AGENDA_OCCURRENCES)
    if items is not None:
        body = b"".join((_head(tz_name), items, b"]}"))
    else:
        body = await _encoded(tz_name, await listing(db, lo, hi, MAX_AGENDA_OCCURRENCES))
    if len(body) <= _ANSWER_BYTES:
        kept.by_window[key] = body
        while sum(map(len, kept.by_window.values())) > _ANSWER_BYTES:
            kept.by_window.popitem(last=False)
    return body


async def _encoded(tz_name: str, sessions: Listing) -> bytes:
    """The AgendaOut JSON of `sessions`, a page of items at a time: the texts of a long
    window are never all held at once, and the loop gets a turn between pages."""
    slicer = Slicer(AGENDA_SLICE)
    pages: list[bytes] = []
    page: list[str] = []
    for item in sessions.json_items():
        page.append(item)
        if len(page) == _PAGE:
            pages.append(",".join(page).encode())
            page.clear()
            await slicer.pause()
    if page:
        pages.append(",".join(page).encode())
    return b"".join((_head(tz_name), b",".join(pages), b"]}"))


def _head(tz_name: str) -> bytes:
    return b'{"timezone":' + msgspec.json.encode(tz_name) + b',"occurrences":['


_PAGE = 500


Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
assert Weekday.__args__ == DAYS  # type: ignore[attr-defined]


class RepeatIn(msgspec.Struct, forbid_unknown_fields=True):
    """A repeat the picker understands, instead of an RRULE (plan/repeats.py checks the shape)."""

    every: Literal["day", "week", "month", "year"]
    interval: int | msgspec.UnsetType | None = msgspec.UNSET  # every N days/weeks/...; 1
    days: list[Weekday] | msgspec.UnsetType | None = msgspec.UNSET  # weekly: which days
    month_day: int | msgspec.UnsetType | None = msgspec.UNSET  # monthly: 1..31, -1 the last
    nth: int | msgspec.UnsetType | None = msgspec.UNSET  # monthly: the nth (1..5, -1) weekday
    weekday: Weekday | msgspec.UnsetType | None = msgspec.UNSET
    count: int | msgspec.UnsetType | None = msgspec.UNSET  # ends after this many sessions
    until: str | msgspec.UnsetType | None = msgspec.UNSET  # ends on this local date, YYYY-MM-DD


class BlockPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A change to a block: only the fields sent change (null clears the nullable ones)."""

    title: str | msgspec.UnsetType = msgspec.UNSET
    notes: str | msgspec.UnsetType | None = msgspec.UNSET
    start: str | msgspec.UnsetType = msgspec.UNSET  # local wall time, 2026-11-23T18:00
    timezone: str | msgspec.UnsetType = msgspec.UNSET  # IANA name; default: the settings' zone
    duration_minutes: int | msgspec.UnsetType = msgspec.UNSET
    rrule: str | msgspec.UnsetType | None = msgspec.UNSET  # RFC 5545; null or "": once
    repeat: RepeatIn | msgspec.UnsetType | None = msgspec.UNSET  # instead of rrule
    reminder_offsets: list[int] | msgspec.UnsetType | None = msgspec.UNSET  # null: the settings'
    reminders: bool | msgspec.UnsetType = msgspec.UNSET


class BlockIn(BlockPatch, kw_only=True):
    """A new block: a title, a start and a length at least."""

    title: str
    start: str
    duration_minutes: int


class RepeatOut(msgspec.Struct, forbid_unknown_fields=True):
    """The picker's shape of a block's rule: every field present, unused ones null."""

    every: Literal["day", "week", "month", "year"]
    interval: int
    days: list[Weekday] | None
    month_day: int | None
    nth: int | None
    weekday: Weekday | None
    count: int | None
    until: str | None


class BlockOut(msgspec.Struct, forbid_unknown_fields=True):
    """A block as stored, with its rule in the picker's shape and in words."""

    id: int
    title: str
    notes: str
    start: str  # local wall time
    timezone: str
    duration_minutes: int
    rrule: str | None
    repeat: RepeatOut | None  # null: once, or a rule the picker cannot show
    repeat_text: str
    reminder_offsets: list[int] | None  # null: the settings' default offsets
    reminders: bool
    created_at: str
    updated_at: str


class OccurrenceOut(msgspec.Struct, forbid_unknown_fields=True):
    """One session of a block with its status (an agenda item)."""

    block_id: int
    title: str
    notes: str
    key: str  # the original start in UTC, YYYYMMDDTHHMMSSZ: the session's identity
    start: str  # local wall time
    start_utc: str
    end_utc: str
    duration_minutes: int
    timezone: str
    repeat_text: str
    status: Literal["planned", "done", "skipped", "cancelled"]
    snoozed_until: str | None
    url: str  # the app's deep link
    original_start: str | None  # local; set when the session was moved


class AgendaOut(msgspec.Struct, forbid_unknown_fields=True):
    """Sessions in a range, in the settings' time zone."""

    timezone: str
    occurrences: list[OccurrenceOut]


class OccurrenceAction(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly one of: a status, or a snooze (one extra reminder that many minutes from now)."""

    status: Literal["done", "skipped", "planned"] | msgspec.UnsetType = msgspec.UNSET
    snooze_minutes: int | msgspec.UnsetType = msgspec.UNSET


class SessionChange(msgspec.Struct, forbid_unknown_fields=True):
    """Move or resize one session (`start`, `duration_minutes`), or cancel it (`status`) alone."""

    start: str | msgspec.UnsetType = msgspec.UNSET
    duration_minutes: int | msgspec.UnsetType = msgspec.UNSET
    status: Literal["cancelled"] | msgspec.UnsetType = msgspec.UNSET


# The Out structs built from plan/'s dicts forbid unknown fields: a key added there without a
# field here fails loudly (every test that reads it) instead of vanishing from the wire.
def block_out(block: Block) -> BlockOut:
    return msgspec.convert(block_json(block), BlockOut)


def occurrence_out(item: dict[str, Any]) -> OccurrenceOut:
    return msgspec.convert(item, OccurrenceOut)


async def _block(db: Database, block_id: int) -> Block:
    row = await db.block(block_id)
    if row is None:
        raise NotFound(f"no block {block_id}")
    return row


class BlocksController(Controller):
    path = "/api"
    tags = ("blocks",)

    @post("/blocks", status_code=201)
    async def create(
        self, db: Injected[Database], planner: Injected[Planner], data: JSONBody[BlockIn]
    ) -> BlockOut:
        """Plan a block: one-off, or repeating with an RFC 5545 RRULE or a `repeat` shape.

        409 `too_many_blocks` once 5,000 blocks exist.
        """
        prefs = await prefs_mod.load(db)
        fields = validate_block(
            msgspec.to_builtins(data), partial=False, default_tz=effective_timezone(prefs)
        )
        check_repeats(fields)
        return block_out(await planner.add_block(fields, max_blocks=MAX_BLOCKS))

    @get("/blocks")
    async def list(self, db: Injected[Database]) -> list[BlockOut]:
        return [block_out(r) for r in await db.blocks()]

    @get("/blocks/{block_id:int}")
    async def get_one(self, db: Injected[Database], block_id: FromPath[int]) -> BlockOut:
        return block_out(await _block(db, block_id))

    @patch("/blocks/{block_id:int}")
    async def update(
        self,
        db: Injected[Database],
        planner: Injected[Planner],
        block_id: FromPath[int],
        data: JSONBody[BlockPatch],
    ) -> BlockOut:
        """Change a block; its future reminders are recomputed."""
        row = await _block(db, block_id)
        fields = validate_block(msgspec.to_builtins(data), partial=True, default_tz=row.timezone)
        check_repeats(fields, row)
        block = await planner.update_block(block_id, fields)
        if block is None:
            raise NotFound(f"no block {block_id}")
        return block_out(block)

    @delete("/blocks/{block_id:int}", status_code=204)
    async def remove(self, planner: Injected[Planner], block_id: FromPath[int]) -> None:
        """Delete a block; its pending reminders are cancelled."""
        if not await planner.delete_block(block_id):
            raise NotFound(f"no block {block_id}")

    @get(
        "/agenda",
        responses={200: ResponseSpec(AgendaOut, description="Sessions in [from, to)")},
    )
    async def agenda(
        self,
        db: Injected[Database],
        clock: Injected[Clock],
        planner: Injected[Planner],
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        end: Annotated[str | None, QueryParameter(name="to")] = None,
    ) -> Response[bytes]:
        """Occurrences starting in [from, to) with their status; default: the next 7 days.

        At most 62 days, and 400 `too_many_occurrences` past 20,000 sessions.
        An `AgendaOut`, encoded once and kept until the plan changes.
        """
        prefs = await prefs_mod.load(db)
        tz_name = effective_timezone(prefs)
        tz = recurrence.tz_from_name(tz_name)
        lo = recurrence.localize(parse_start(start, tz, "from"), tz) if start else clock.now()
        hi = recurrence.localize(parse_start(end, tz, "to"), tz) if end else lo + timedelta(days=7)
        if hi <= lo:
            raise BadRequest("to: must be after from")
        if hi - lo > timedelta(days=MAX_AGENDA_DAYS):
            raise BadRequest(f"to: the range may span at most {MAX_AGENDA_DAYS} days")
        return Response(await _agenda_answer(planner, tz_name, lo, hi), media_type=MediaType.JSON)

    @post("/blocks/{block_id:int}/occurrences/{key:str}", status_code=200)
    async def act(
        self,
        db: Injected[Database],
        planner: Injected[Planner],
        block_id: FromPath[int],
        key: FromPath[str],
        data: JSONBody[OccurrenceAction],
    ) -> OccurrenceOut:
        """Mark an occurrence done/skipped/planned, or snooze it (one extra reminder later)."""
        status, snooze = occurrences.parse_action(msgspec.to_builtins(data))
        row = await _block(db, block_id)
        return occurrence_out(await planner.act(row, key, status, snooze))

    @patch("/blocks/{block_id:int}/occurrences/{key:str}")
    async def change_session(
        self,
        db: Injected[Database],
        planner: Injected[Planner],
        block_id: FromPath[int],
        key: FromPath[str],
        data: JSONBody[SessionChange],
    ) -> OccurrenceOut:
        """Move or resize one session of a series (`{start?, duration_minutes?}`), or cancel it
        (`{"status": "cancelled"}`); keyed by its original start, like RFC 5545's RECURRENCE-ID."""
        wanted = occurrences.parse_change(msgspec.to_builtins(data))
        row = await _block(db, block_id)
        return occurrence_out(await planner.change_session(row, key, wanted))

    @post("/blocks/{block_id:int}/occurrences/{key:str}/split", status_code=201)
    async def split(
        self,
        db: Injected[Database],
        planner: Injected[Planner],
        block_id: FromPath[int],
        key: FromPath[str],
        data: JSONBody[BlockPatch],
    ) -> BlockOut:
        """ "This and all following": end the series before this session and start a new block
        there (the body's fields change it; the rest is copied). Returns the new block."""
        row = await _block(db, block_id)
        changes = await db.occurrence_changes([block_id])
        session = find_occurrence(row, key, changes)
        old, new = occurrences.split_fields(row, session, msgspec.to_builtins(data), changes)
        block = await planner.split_block(block_id, old, session.key, new, max_blocks=MAX_BLOCKS)
        return block_out(block)
