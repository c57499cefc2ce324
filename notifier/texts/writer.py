"""The composer task: Claude's texts for reminders due soon, written ahead and stored.

It runs beside the scheduler, never inside its send path: when a reminder falls
due the scheduler sends whatever text is stored, or writes a fallback on the
spot (`messages.text_for`). A slow or failing LLM costs text quality, never
punctuality (issue 4).

    composing = Composing(config, db, clock)
    await composing.start()           # builds the Composer, warms the SDK up in the background
    task = asyncio.create_task(composing.run())
    scheduler.on_wake.append(composing.wake)
    await composing.refresh()         # after a settings change: rebuilds if key/model/cap/… changed
    await composing.close()
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from notifier.clock import Clock, from_iso, occurrence_key
from notifier.config import Config
from notifier.db import Database
from notifier.db.records import Block, Reminder
from notifier.errors import BadRequest, ConfigError, NotFound
from notifier.plan import prefs as prefs_mod
from notifier.plan import recurrence
from notifier.plan.agenda import agenda
from notifier.plan.blocks import effective_timezone, reminded
from notifier.texts import api_key as llm_key
from notifier.texts.claude import Composer
from notifier.texts.context import About, context_for
from notifier.texts.message import MessageContext, Text

log = logging.getLogger(__name__)

LOOKAHEAD = timedelta(minutes=30)  # texts are prepared for reminders due within this
MAX_IDLE = 30.0  # seconds between passes when nothing wakes the task
BATCH = 20  # reminders fetched per query
PARALLEL = 4  # LLM calls in flight at once
NEXT_BLOCK_WITHIN = timedelta(days=14)  # how far ahead "the next block" is looked for
PREVIEW_HORIZON = timedelta(days=400)  # how far ahead a preview looks for a block's next occurrence


def load_key(config: Config) -> str | None:
    """The API key, or None (logged) when the key file may not be used."""
    try:
        return llm_key.load_key(config)
    except ConfigError as exc:
        log.error("not using the Anthropic API key: %s", exc.detail)
        return None


class Composing:
    """Owns the live Composer and the loop that prepares reminder texts ahead."""

    def __init__(
        self,
        config: Config,
        db: Database,
        clock: Clock,
        *,
        lookahead: timedelta = LOOKAHEAD,
        composer_options: dict[str, Any] | None = None,
    ) -> None:
        """`composer_options` go to every Composer made (tests pass a short `timeout`)."""
        self.config = config
        self.db = db
        self.clock = clock
        self.lookahead = lookahead
        self.options = dict(composer_options or {})
        self.composer: Composer | None = None
        self._signature: tuple[Any, ...] | None = None
        self._wake = asyncio.Event()
        self._users: collections.Counter[Composer] = collections.Counter()
        self._background: set[asyncio.Task[Any]] = set()

    # -- the Composer's life ----------------------------------------------------

    async def start(self) -> None:
        """Build the Composer from the settings; the SDK import happens in the background."""
        await self.refresh()

    async def refresh(self) -> bool:
        """Rebuild the Composer if the key, model, on/off, cap or persona changed.

        Texts already prepared for pending reminders were written under the old
        settings, so they are cleared and written again. Returns True on a rebuild.
        """
        prefs = await prefs_mod.load(self.db)
        key = load_key(self.config)
        signature = (key, prefs.llm_model, prefs.llm_daily_cap, prefs.llm_enabled, prefs.persona)
        if signature == self._signature:
            return False
        fresh = Composer(
            api_key=key,
            base_url=self.config.anthropic_base_url,
            model=prefs.llm_model,
            daily_cap=prefs.llm_daily_cap,
            enabled=prefs.llm_enabled,
            count_call=self._count_call,
            clock=self.clock.now,
            **self.options,
        )
        old, self.composer, self._signature = self.composer, fresh, signature
        if old is not None:
            await self.db.clear_prepared_texts(self.clock.now())
            if not self._users[old]:
                self._spawn(old.close(), "close the old composer")
        self._spawn(fresh.warm_up(), "load the anthropic SDK")
        self.wake()
        return True

    async def _count_call(self, day: date) -> int:
        return await self.db.count_llm_call(day.isoformat())

    async def close(self) -> None:
        """Stop background work and close the SDK client."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.composer is not None:
            await self.composer.close()

    def _spawn(self, work: Awaitable[Any], what: str) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("composer: could not %s", what)

        task = asyncio.create_task(guarded(), name=f"composer: {what}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @contextlib.asynccontextmanager
    async def _using(self) -> AsyncIterator[Composer]:
        """The live Composer; one replaced meanwhile is closed when its last call ends."""
        composer = self.composer
        if composer is None:
            raise RuntimeError("Composing.start() was not called")
        self._users[composer] += 1
        try:
            yield composer
        finally:
            self._users[composer] -= 1
            if not self._users[composer]:
                del self._users[composer]
                if composer is not self.composer:
                    self._spawn(composer.close(), "close the old composer")

    async def compose(self, ctx: MessageContext) -> Text:
        """The live Composer's text for `ctx` (never raises: it falls back)."""
        async with self._using() as composer:
            return await composer.compose(ctx)

    # -- the loop ---------------------------------------------------------------

    def wake(self) -> None:
        """Reminders changed (the scheduler's hook): look for texts to write now."""
        self._wake.set()

    async def run(self) -> None:
        """Prepare texts until cancelled: on every wake, and at least every MAX_IDLE seconds."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("composer pass failed; trying again later")
            await self.clock.sleep_until(self.clock.now() + timedelta(seconds=MAX_IDLE), self._wake)

    async def run_once(self) -> int:
        """Write and store texts for pending reminders due within the look-ahead; returns how many.

        Reminders already due are left alone: the scheduler is sending them now.
        Without a key (or with LLM texts off) nothing is written: the scheduler's
        own fallback is just as good, and no request leaves the machine.
        """
        if self.composer is None or not self.composer.configured:
            return 0
        gate = asyncio.Semaphore(PARALLEL)
        seen: set[int] = set()
        while True:
            now = self.clock.now()
            rows = [
                r
                for r in await self.db.reminders_needing_text(
                    now + self.lookahead, BATCH, after=now
                )
                if r.id not in seen
            ]
            if not rows:
                return len(seen)
            seen.update(r.id for r in rows)
            prefs = await prefs_mod.load(self.db)
            await asyncio.gather(*(self._prepare(row, prefs, gate) for row in rows))

    async def _prepare(
        self, row: Reminder, prefs: prefs_mod.Prefs, gate: asyncio.Semaphore
    ) -> None:
        async with gate:
            about = await About.of(self.db, row)
            ctx = await context_for(self.db, about, prefs, self.clock.now())
            text = await self.compose(ctx)
            # Stored only while still pending: a reminder sent meanwhile keeps the text it went out with.
            await self.db.set_reminder_text(
                row.id, text.title, text.body, text.source, text.error, self.clock.now()
            )
            if text.error:
                log.info("reminder %s gets a built-in text: %s", row.key, text.error)

    # -- previews ---------------------------------------------------------------

    async def check_key(self) -> tuple[bool, str]:
        """One small real call to Claude with the stored key: (it worked, what happened in words)."""
        prefs = await prefs_mod.load(self.db)
        now = self.clock.now()
        ctx = MessageContext(
            kind="test",
            seed=f"check-key:{occurrence_key(now)}",
            local_time=now.astimezone(recurrence.tz_from_name(effective_timezone(prefs))),
            persona=prefs.persona,
        )
        text = await self.compose(ctx)
        if text.source == "llm":
            return True, f"The key works: Claude answered “{text.title}”."
        return False, f"The key did not work: {text.error or 'no answer from Claude'}."

    async def preview(self, block_id: int | None, kind: str | None) -> Text:
        """The text a reminder for `block_id` (or today's summary) would get now."""
        kind = kind or ("reminder" if block_id is not None else "summary")
        if kind == "summary" and block_id is not None:
            raise BadRequest("block_id: a summary preview is not about one block")
        now = self.clock.now()
        if kind == "reminder" and block_id is None:
            block_id = await self._next_block(now)
        prefs = await prefs_mod.load(self.db)
        if kind == "summary":
            about = About(key=f"preview:summary:{occurrence_key(now)}", kind="summary", due=now)
        else:
            assert block_id is not None
            block = await self.db.block(block_id)
            if block is None:
                raise NotFound(f"no block {block_id}")
            start = _next_start(block, now)  # None: going on right now, or none ahead
            offsets = reminded(block, (), prefs).offsets  # the block's, else the settings'
            about = About(
                key=f"preview:b{block_id}:{occurrence_key(start or now)}",
                kind="reminder",
                due=preview_due(start, offsets, now),
                block=block,
                session_start=start,
            )
        return await self.compose(await context_for(self.db, about, prefs, now))

    async def _next_block(self, now: datetime) -> int:
        """The block whose next session is the soonest still ahead (within NEXT_BLOCK_WITHIN)."""
        ahead = [
            item
            for item in await agenda(self.db, now, now + NEXT_BLOCK_WITHIN)
            if item["status"] == "planned" and from_iso(str(item["start_utc"])) >= now
        ]
        if not ahead:
            raise BadRequest(
                "block_id: nothing is planned in the next two weeks; pick a block to preview"
            )
        return int(min(ahead, key=lambda item: from_iso(str(item["start_utc"])))["block_id"])


def preview_due(start: datetime | None, offsets: Sequence[int], now: datetime) -> datetime:
    """When the reminder a preview shows goes out: the first of the block's reminders still
    ahead ("30 min before" says "in 30 min", not the hours until the block), else now."""
    ahead = [start - timedelta(minutes=o) for o in offsets or (0,)] if start else []
    return min((due for due in ahead if due >= now), default=now)


def _next_start(block: Block, now: datetime) -> datetime | None:
    """Start of the block's next occurrence, None if one is going on now or none is ahead."""
    since = now - timedelta(minutes=block.duration_minutes)
    found = recurrence.occurrences(
        block.start_local, block.tz, block.rrule, since, now + PREVIEW_HORIZON, limit=1
    )
    if not found or found[0].start_utc <= now:
        return None
    return found[0].start_utc
