"""Every change to the plan goes through here: write it, recompute the reminders it moves, wake the loop.

The handlers (api/) and the notification buttons call these methods and nothing
else that writes the plan, so "after a write, the outbox follows" is one rule in
one place: a write that moves sessions recomputes the future unsent reminders of
what it touched (`Scheduler.reschedule`); a write that only adds or cancels
reminder rows itself is followed by a wake, so the loop sees them at once.

Changes go one at a time, each with its recomputing: a session marked done while
every block is being recomputed (which takes a while with thousands) would
otherwise have its cancelled reminder put back by that recomputing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Mapping
from typing import Any

from notifier.clock import Clock
from notifier.db import Database
from notifier.db.records import Block, BlockChanges
from notifier.plan import agenda, occurrences
from notifier.plan import prefs as prefs_mod
from notifier.plan.prefs import Prefs
from notifier.schedule.scheduler import Scheduler

# Changing these changes which reminders exist (the rest only changes how they read).
SCHEDULING = frozenset(
    {
        "timezone",
        "default_offsets",
        "reminders_enabled",
        "summary_enabled",
        "summary_time",
        "end_of_block_check",
    }
)

log = logging.getLogger(__name__)


class Planner:
    """The one writer of the plan (blocks, sessions, settings) that keeps the outbox in step."""

    def __init__(self, db: Database, scheduler: Scheduler, clock: Clock) -> None:
        self.db = db
        self.scheduler = scheduler
        self.clock = clock
        self._lock = asyncio.Lock()  # one change (write and recompute) at a time
        self._keeping: asyncio.Task[None] | None = None

    async def _follow(self, block_ids: Collection[int] | None) -> None:
        """Recompute the reminders of `block_ids` (None: of every block), then wake the loop."""
        now = self.clock.now()
        if block_ids is None:
            await self.scheduler.reschedule(now)
        else:
            for block_id in block_ids:
                await self.scheduler.reschedule(now, block_id)
        self.scheduler.wake()
        await self.keep_agenda()

    # -- the agenda's kept items ----------------------------------------------

    async def keep_agenda(self) -> None:
        """Make the agenda's kept items of what changed (plan.agenda.keep): at once when a
        write left a few blocks stale (well under a millisecond each), in the background
        when many are (a time zone change, the span's weekly move, a first start)."""
        if self._keeping is not None and not self._keeping.done():
            return  # it takes the new ones too: it stops only when none is stale
        if not await agenda.keep(self.db, self.clock.now(), agenda.KEEP_AT_ONCE):
            self._keeping = asyncio.create_task(self._keep_all(), name="agenda items")

    async def _keep_all(self) -> None:
        try:
            await agenda.keep(self.db, self.clock.now())
        except Exception:  # the agenda is then made from the rules; the next write retries
            log.exception("could not keep the agenda's items")

    async def stop(self) -> None:
        """Stop the background keeping, if any (the app is closing)."""
        if self._keeping is not None:
            self._keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeping

    # -- blocks ---------------------------------------------------------------

    async def add_block(self, fields: BlockChanges, *, max_blocks: int) -> Block:
        async with self._lock:
            block = await self.db.add_block(fields, self.clock.now(), max_blocks=max_blocks)
            await self._follow([block.id])
        return block

    async def update_block(self, block_id: int, fields: BlockChanges) -> Block | None:
        async with self._lock:
            block = await self.db.update_block(block_id, fields, self.clock.now())
            if block is not None:
                await self._follow([block_id])
        return block

    async def delete_block(self, block_id: int) -> bool:
        """The database cancels the block's pending reminders with it; the loop only wakes."""
        async with self._lock:
            if not await self.db.delete_block(block_id, self.clock.now()):
                return False
            await self._follow(())
        return True

    async def split_block(
        self,
        block_id: int,
        old: BlockChanges,
        key: str,
        new: BlockChanges,
        *,
        max_blocks: int,
    ) -> Block:
        """End the series before session `key` and start a new block there; returns the new one."""
        async with self._lock:
            block = await self.db.split_block(
                block_id, old, key, new, self.clock.now(), max_blocks=max_blocks
            )
            await self._follow([block_id, block.id])
        return block

    async def blocks_written(self, block_ids: Collection[int]) -> None:
        """Blocks written by someone else in this process (a calendar import)."""
        async with self._lock:
            await self._follow(block_ids)

    # -- one session ----------------------------------------------------------

    async def act(
        self, block: Block, key: str, status: str | None, snooze: int | None
    ) -> dict[str, Any]:
        """Done, skipped, back to planned, or snoozed (occurrences.apply)."""
        async with self._lock:
            acted = await occurrences.apply(self.db, block, key, status, snooze, self.clock.now())
            await self._follow([block.id] if acted.reschedule else ())
        return acted.occurrence

    async def ask_again(self, block: Block, key: str, minutes: int) -> dict[str, Any]:
        """Ask how the session went once more, `minutes` from now."""
        async with self._lock:
            acted = await occurrences.ask_again(self.db, block, key, minutes, self.clock.now())
            await self._follow(())
        return acted.occurrence

    async def change_session(
        self, block: Block, key: str, wanted: dict[str, Any]
    ) -> dict[str, Any]:
        """Move, resize or cancel one session of a series."""
        async with self._lock:
            acted = await occurrences.change(self.db, block, key, wanted, self.clock.now())
            await self._follow([block.id])
        return acted.occurrence

    # -- settings -------------------------------------------------------------

    async def update_prefs(self, patch: Mapping[str, Any]) -> Prefs:
        """Store a settings change; one that changes which reminders exist recomputes them all."""
        async with self._lock:
            prefs = await prefs_mod.update(self.db, patch)
            if SCHEDULING & set(patch):
                await self._follow(None)
        return prefs
