"""Blocks, the agenda, and occurrence actions."""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from notifier.db import Database
from notifier.db.records import Block
from notifier.errors import BadRequest, NotFound
from notifier.plan import occurrences, recurrence
from notifier.plan import prefs as prefs_mod
from notifier.plan.blocks import (
    MAX_AGENDA_OCCURRENCES,
    MAX_BLOCKS,
    agenda,
    block_json,
    check_repeats,
    effective_timezone,
    find_occurrence,
    parse_start,
    validate_block,
)

MAX_AGENDA_DAYS = 62


@dataclass
class _Answers:
    """Encoded agenda answers of one database, good while its plan_version stays."""

    version: int = -1
    by_window: OrderedDict[tuple[str, datetime, datetime], bytes] = field(
        default_factory=OrderedDict
    )


_answers: weakref.WeakKeyDictionary[Database, _Answers] = weakref.WeakKeyDictionary()
_ANSWER_BYTES = 8_000_000  # kept in all (two months of 1,000 weekly blocks are ~8 MB)


async def _agenda_answer(db: Database, tz_name: str, lo: datetime, hi: datetime) -> bytes:
    """The agenda's JSON, kept until the plan changes: the PWA asks for the same weeks
    again and again, and a kept answer costs one query instead of expanding every block."""
    version = await db.plan_version()  # read first: a change meanwhile is never kept as new
    kept = _answers.setdefault(db, _Answers())
    if kept.version != version:
        kept.version, kept.by_window = version, OrderedDict()
    key = (tz_name, lo, hi)
    if (body := kept.by_window.get(key)) is not None:
        kept.by_window.move_to_end(key)
        return body
    answer = {"timezone": tz_name, "occurrences": await agenda(db, lo, hi, MAX_AGENDA_OCCURRENCES)}
    if len(answer["occurrences"]) > 1000:  # encoding thousands of items takes a while too
        body = await asyncio.to_thread(msgspec.json.encode, answer)
    else:
        body = msgspec.json.encode(answer)
    if len(body) <= _ANSWER_BYTES:
        kept.by_window[key] = body
        while sum(map(len, kept.by_window.values())) > _ANSWER_BYTES:
            kept.by_window.popitem(last=False)
    return body


async def _block(state: State, block_id: int) -> Block:
    row = await state.db.block(block_id)
    if row is None:
        raise NotFound(f"no block {block_id}")
    return row


class BlocksController(Controller):
    path = "/api"
    tags = ("blocks",)

    @post("/blocks", status_code=201)
    async def create(self, state: State, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        """Plan a block: one-off, or repeating with an RFC 5545 RRULE.

        409 `too_many_blocks` once 5,000 blocks exist.
        """
        prefs = await prefs_mod.load(state.db)
        fields = validate_block(data, partial=False, default_tz=effective_timezone(prefs))
        check_repeats(fields)
        block = await state.planner.add_block(fields, max_blocks=MAX_BLOCKS)
        return block_json(block)

    @get("/blocks")
    async def list(self, state: State) -> list[dict[str, Any]]:
        return [block_json(r) for r in await state.db.blocks()]

    @get("/blocks/{block_id:int}")
    async def get_one(self, state: State, block_id: FromPath[int]) -> dict[str, Any]:
        return block_json(await _block(state, block_id))

    @patch("/blocks/{block_id:int}")
    async def update(
        self, state: State, block_id: FromPath[int], data: JSONBody[dict[str, Any]]
    ) -> dict[str, Any]:
        """Change a block; its future reminders are recomputed."""
        row = await _block(state, block_id)
        fields = validate_block(data, partial=True, default_tz=row.timezone)
        check_repeats(fields, row)
        block = await state.planner.update_block(block_id, fields)
        if block is None:
            raise NotFound(f"no block {block_id}")
        return block_json(block)

    @delete("/blocks/{block_id:int}", status_code=204)
    async def remove(self, state: State, block_id: FromPath[int]) -> None:
        """Delete a block; its pending reminders are cancelled."""
        if not await state.planner.delete_block(block_id):
            raise NotFound(f"no block {block_id}")

    @get("/agenda")
    async def agenda(
        self,
        state: State,
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        end: Annotated[str | None, QueryParameter(name="to")] = None,
    ) -> Response[bytes]:
        """Occurrences starting in [from, to) with their status; default: the next 7 days.

        At most 62 days, and 400 `too_many_occurrences` past 20,000 sessions.
        `{"timezone": name, "occurrences": [...]}`; kept until the plan changes.
        """
        prefs = await prefs_mod.load(state.db)
        tz_name = effective_timezone(prefs)
        tz = recurrence.tz_from_name(tz_name)
        lo = recurrence.localize(parse_start(start, tz, "from"), tz) if start else state.clock.now()
        hi = recurrence.localize(parse_start(end, tz, "to"), tz) if end else lo + timedelta(days=7)
        if hi <= lo:
            raise BadRequest("to: must be after from")
        if hi - lo > timedelta(days=MAX_AGENDA_DAYS):
            raise BadRequest(f"to: the range may span at most {MAX_AGENDA_DAYS} days")
        return Response(await _agenda_answer(state.db, tz_name, lo, hi), media_type=MediaType.JSON)

    @post("/blocks/{block_id:int}/occurrences/{key:str}", status_code=200)
    async def act(
        self,
        state: State,
        block_id: FromPath[int],
        key: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        """Mark an occurrence done/skipped/planned, or snooze it (one extra reminder later)."""
        status, snooze = occurrences.parse_action(data)
        row = await _block(state, block_id)
        return await state.planner.act(row, key, status, snooze)

    @patch("/blocks/{block_id:int}/occurrences/{key:str}")
    async def change_session(
        self,
        state: State,
        block_id: FromPath[int],
        key: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        """Move or resize one session of a series (`{start?, duration_minutes?}`), or cancel it
        (`{"status": "cancelled"}`); keyed by its original start, like RFC 5545's RECURRENCE-ID."""
        wanted = occurrences.parse_change(data)
        row = await _block(state, block_id)
        return await state.planner.change_session(row, key, wanted)

    @post("/blocks/{block_id:int}/occurrences/{key:str}/split", status_code=201)
    async def split(
        self,
        state: State,
        block_id: FromPath[int],
        key: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        """ "This and all following": end the series before this session and start a new block
        there (the body's fields change it; the rest is copied). Returns the new block."""
        row = await _block(state, block_id)
        changes = await state.db.occurrence_changes([block_id])
        session = find_occurrence(row, key, changes)
        old, new = occurrences.split_fields(row, session, data, changes)
        block = await state.planner.split_block(
            block_id, old, session.key, new, max_blocks=MAX_BLOCKS
        )
        return block_json(block)
