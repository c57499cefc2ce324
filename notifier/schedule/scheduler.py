"""The reminder loop: keep the outbox filled ahead, sleep until the next due time, send.

Due work lives in the database (the `reminders` outbox), so a restart loses
nothing and this loop keeps no state of its own. Each reminder key exists once
(UNIQUE), is claimed pending → sending before the push goes out, and a crash
between sending and recording leaves it 'sending': the next start sends it
again under the same Topic and notification tag, so the phone shows one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from notifier.access.action_tokens import ActionTokens
from notifier.clock import Clock, from_iso, iso
from notifier.db import Database
from notifier.db.records import NewReminder, Reminder
from notifier.plan import prefs as prefs_mod
from notifier.plan import quiet, recurrence
from notifier.plan.blocks import effective_timezone, occurrence_url, session_start
from notifier.plan.prefs import Prefs
from notifier.plan.quiet import QuietHours
from notifier.push import payload as payloads
from notifier.push.delivery import deliver
from notifier.push.sender import Outcome, PushResult, PushSender, Target
from notifier.schedule import window
from notifier.slices import SLICE_SECONDS, Slicer
from notifier.texts.context import held_text, is_late, missed_key, text_for, today
from notifier.texts.message import Text

log = logging.getLogger(__name__)

HORIZON = timedelta(hours=36)  # how far ahead the outbox is filled
REFILL = timedelta(hours=12)  # refill when less than this is left
MAX_SLEEP = 60.0  # seconds; also bounds how late we notice a suspend/resume
RETRY_AFTER = timedelta(seconds=60)  # a reminder whose devices all said "later"
SEND_DEADLINE = 20.0  # seconds of in-process retries per send
WATERMARK = "materialized_until"
WARM_AHEAD = timedelta(minutes=10)  # the day of a reminder due this soon is expanded ahead
SILENT_EXPIRY = timedelta(days=60)  # a subscription silent this long is dropped as dead


class Scheduler:
    """Owns the outbox: fills it, sends what is due, reschedules on changes."""

    def __init__(
        self,
        db: Database,
        sender: PushSender,
        tokens: ActionTokens,
        *,
        clock: Clock | None = None,
        concurrency: int = 16,
        slice_seconds: float = SLICE_SECONDS,
    ) -> None:
        self.db = db
        self.sender = sender
        self.tokens = tokens
        self.clock = clock or Clock()
        self.slice_seconds = slice_seconds  # longest the outbox work holds the loop at a time
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # materialising and rescheduling never interleave
        self._gate = asyncio.Semaphore(concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self._warm_due = self.clock.now()  # the due time of the last warm-up asked for
        self._warm_asks = 0
        self._warming: asyncio.Task[None] | None = None
        self.on_wake: list[Callable[[], None]] = []  # told of every change too (the composer task)

    # -- the loop -------------------------------------------------------------

    def wake(self) -> None:
        """Something changed: recompute the next due time now."""
        self._wake.set()
        for hook in self.on_wake:
            hook()

    async def run(self) -> None:
        """Run until cancelled; errors are logged, never fatal."""
        await self.db.release_unfinished(self.clock.now())
        while True:
            try:
                until = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler tick failed; retrying in a minute")
                until = self.clock.now() + timedelta(seconds=MAX_SLEEP)
            await self.clock.sleep_until(until, self._wake)

    async def stop(self, grace: float = 5.0) -> None:
        """Let in-flight sends finish (briefly); unfinished ones resend on next start."""
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=grace)
        for task in list(self._inflight):
            task.cancel()

    async def tick(self) -> datetime:
        """One pass: fill the outbox, start what is due; return when to wake next."""
        now = self.clock.now()
        if (since := await self.db.take_resync()) is not None:
            # Blocks changed by another process (`notifier import`): reminders due since
            # then are recomputed too, so one due a moment after the change is not lost.
            await self.reschedule(min(since, now))
        await self.materialize(now)
        await self.start_due(now)
        nxt = await self.db.next_pending_time()
        cap = now + timedelta(seconds=MAX_SLEEP)
        until = min(nxt, cap) if nxt else cap
        if nxt and nxt - now <= WARM_AHEAD:
            self._warm(nxt)
        log.debug("scheduler: next wake at %s", iso(until))
        return until

    def _warm(self, due: datetime) -> None:
        """Have the agenda of `due`'s day ready before it is sent (texts.context.today).

        A change to the plan drops the kept days; expanding one again costs a few tens of
        ms with thousands of blocks, which belongs here, not between due time and push.
        One warm-up at a time; asked again meanwhile, it runs once more after.
        """
        self._warm_asks += 1
        self._warm_due = due
        if self._warming is None or self._warming.done():
            self._warming = asyncio.create_task(self._warm_days(), name="scheduler: warm a day")
            self._inflight.add(self._warming)
            self._warming.add_done_callback(self._inflight.discard)

    async def _warm_days(self) -> None:
        done = 0
        while done != self._warm_asks:
            done, due = self._warm_asks, self._warm_due
            try:
                prefs = await prefs_mod.load(self.db)
                await today(self.db, effective_timezone(prefs), max(due, self.clock.now()))
            except Exception:
                log.exception("could not prepare the agenda of %s", iso(due))

    async def drain(self) -> None:
        """Wait for every send started so far (tests and shutdown)."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    # -- filling the outbox ---------------------------------------------------

    async def materialize(self, now: datetime) -> int:
        """Extend the outbox up to now + HORIZON from the stored watermark."""
        stored = await self.db.get_state(WATERMARK)
        if stored and from_iso(stored) - now >= REFILL:
            return 0  # far enough ahead; and a reschedule under way does not hold up sending
        async with self._lock:
            stored = await self.db.get_state(WATERMARK)
            # First run: nothing in the past is owed. Otherwise resume exactly where
            # the last run stopped, so a downtime's reminders are found (and judged late or missed).
            start = from_iso(stored) if stored else now
            if start - now >= REFILL:
                return 0
            end = now + HORIZON
            slicer = Slicer(self.slice_seconds)
            new = await window.rows(self.db, start, end, slicer=slicer)
            added = await self.db.insert_reminders(new, now, slicer)
            await self.db.set_state(WATERMARK, iso(end))
        # Housekeeping rides on the refill, about once a day.
        expired = await self.db.expire_silent_subscriptions(now - SILENT_EXPIRY)
        if expired:
            log.info(
                "removed %d subscription(s) with no delivery in %d days",
                expired,
                SILENT_EXPIRY.days,
            )
        return added

    async def reschedule(self, now: datetime, block_id: int | None = None) -> None:
        """Recompute future unsent reminders of one block (or all) after a change.

        Whoever changed the plan wakes the loop afterwards (schedule/planner.py). All
        blocks take a while with thousands of them; it runs in short slices of the
        loop, and the old reminders are replaced by the new in one transaction, so the
        loop keeps sending what falls due meanwhile.
        """
        async with self._lock:
            stored = await self.db.get_state(WATERMARK)
            slicer = Slicer(self.slice_seconds)
            new = (
                await window.rows(self.db, now, from_iso(stored), block_id, slicer)
                if stored
                else []
            )
            await self.db.replace_future_unsent(now, new, block_id, slicer)

    # -- sending --------------------------------------------------------------

    async def start_due(self, now: datetime) -> None:
        """Mark the too-old as missed and start a send task for each due reminder."""
        prefs = await prefs_mod.load(self.db)
        grace = timedelta(minutes=prefs.late_grace_minutes)
        quiet_hours = quiet.parse(prefs.quiet_hours)
        tz = recurrence.tz_from_name(effective_timezone(prefs))
        release = quiet.release_time(quiet_hours, now, tz) if quiet_hours else None
        missed = []
        for row in await self.db.pending_due(now):
            if release is not None and quiet_hours is not None and row.kind != "missed":
                await self._keep_quiet(row, release, quiet_hours, now)
                continue
            if row.kind != "missed" and now - row.due_at > grace:
                if row.sent_at:  # waiting to retry a device, but some device has it: enough
                    await self.db.finish_reminder(row.id, now, status="sent", next_attempt_at=None)
                else:
                    missed.append(row)
                continue
            if not await self.db.claim_reminder(row.id, now):
                continue
            task = asyncio.create_task(self._send(row, prefs))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        if missed:
            await self._record_missed(missed, now)
            await self.start_due(now)  # sends the "you missed N" push right away

    async def _keep_quiet(
        self, row: Reminder, release: datetime, quiet_hours: QuietHours, now: datetime
    ) -> None:
        """Quiet hours: hold the notification until they end, or drop it, as the person chose.

        The daily summary is always held (it never lands inside), and a reminder for a
        session that is over by the end of the quiet is dropped: it would only be noise.
        """
        hold = row.kind == "summary" or quiet_hours.mode == "hold"
        start = session_start(row)
        if hold and row.kind == "reminder" and row.block_id is not None and start is not None:
            block = await self.db.block(row.block_id)
            length = timedelta(minutes=block.duration_minutes if block else 0)
            if start + length <= release:
                hold = False
        if hold:
            await self.db.hold_reminder(row.id, release, now)
        else:
            await self.db.finish_reminder(row.id, now, status="cancelled", error="quiet hours")

    async def _record_missed(self, rows: list[Reminder], now: datetime) -> None:
        """Too late to be useful: list them as missed and queue one "you missed N" push."""
        await self.db.mark_missed([r.id for r in rows], now)
        log.warning(
            "%d reminder(s) fell outside the late grace while the server was down", len(rows)
        )
        await self.db.insert_reminders(
            [
                NewReminder(
                    key=missed_key(len(rows), now),
                    kind="missed",
                    due_at=now,
                    missed_count=len(rows),
                )
            ],
            now,
        )

    async def _send(self, row: Reminder, prefs: Prefs) -> None:
        async with self._gate:
            try:
                await self._send_one(row, prefs)
            except Exception as exc:  # never leave a claimed row behind silently
                log.exception("sending reminder %s failed", row.key)
                await self.db.finish_reminder(
                    row.id, self.clock.now(), status="failed", error=f"internal error: {exc}"
                )

    async def _send_one(self, row: Reminder, prefs: Prefs) -> None:
        """Send one claimed reminder under the settings it was found due with."""
        now = self.clock.now()
        due = row.due_at
        late = is_late(due, now)
        # the summary counts what is still ahead (texts/context.py); nothing ahead, nothing sent
        if row.kind == "summary" and not any(
            o.status == "planned" and o.local >= max(due, now)
            for o in await today(self.db, effective_timezone(prefs), due)
        ):
            await self.db.finish_reminder(
                row.id, now, status="cancelled", error="nothing ahead today"
            )
            return
        text = await text_for(self.db, row, prefs, now)
        if row.held_from:
            text = held_text(text)
        message = self._payload(row, text, prefs)
        # A retry goes only to the devices that do not have this reminder yet.
        already = await self.db.delivered_to(row.id) if row.attempts else set()
        results = await self.deliver(
            message, prefs, row, now, skip_ids=already, per_target=self._buttons(row, message)
        )
        done = self.clock.now()
        delivered = bool(already) or any(r.outcome is Outcome.DELIVERED for r in results)
        waiting = [r for r in results if r.outcome is Outcome.RETRY]
        retry_at = done + max(
            [RETRY_AFTER, *(timedelta(seconds=r.retry_after or 0) for r in waiting)]
        )
        fields: dict[str, Any] = dict(
            title=text.title,
            body=text.body,
            text_source=text.source,
            text_error=text.error,
            late=int(late),
        )
        if delivered and not row.sent_at:
            fields["sent_at"] = done
        if waiting and self._still_useful(row, retry_at, prefs):
            fields.update(status="pending", next_attempt_at=retry_at, error=_summarise(waiting))
        elif delivered:
            failures = [r for r in results if r.outcome is not Outcome.DELIVERED]
            fields.update(
                status="sent",
                error=_summarise(failures) if failures else None,
                next_attempt_at=None,
            )
        elif not results:
            fields.update(status="failed", error="no devices are subscribed")
        else:
            fields.update(status="failed", error=_summarise(results))
        await self.db.finish_reminder(row.id, done, **fields)
        if fields["status"] == "pending":
            self.wake()

    async def deliver(
        self,
        message: dict[str, Any],
        prefs: Prefs,
        row: Reminder,
        now: datetime,
        skip_ids: frozenset[int] | set[int] = frozenset(),
        per_target: Callable[[Target], dict[str, Any]] | None = None,
    ) -> list[PushResult]:
        """Send to every subscription but `skip_ids`; record each device's outcome on the reminder too."""
        results = await deliver(
            self.db,
            self.sender,
            message,
            subject=prefs.vapid_subject or None,
            skip_ids=skip_ids,
            per_target=per_target,
            now=self.clock.now,
            topic=payloads.topic_for(row.key),
            urgency="high" if row.kind != "summary" else "normal",
            ttl=_ttl(row, now),
            deadline=time.monotonic() + SEND_DEADLINE,
        )
        await self.db.record_deliveries(row.id, results, now)
        return results

    def _buttons(
        self, row: Reminder, message: dict[str, Any]
    ) -> Callable[[Target], dict[str, Any]] | None:
        """Each device's copy of a message with buttons carries a token bound to that device."""
        if row.kind not in ("reminder", "check") or row.block_id is None or not row.occurrence_key:
            return None
        # the buttons work until a day after the session (or the question) is due
        expires = max(row.due_at, session_start(row) or row.due_at) + timedelta(hours=24)
        block_id, occurrence = row.block_id, row.occurrence_key

        def with_token(target: Target) -> dict[str, Any]:
            token = self.tokens.issue(target.id, block_id, occurrence, expires)
            return {**message, "action_token": token}

        return with_token

    def _payload(self, row: Reminder, text: Text, prefs: Prefs) -> dict[str, Any]:
        due, kind = row.due_at, cast(payloads.Kind, row.kind)
        if kind in ("reminder", "check") and row.block_id is not None and row.occurrence_key:
            check = kind == "check"
            return payloads.build(
                kind=kind,
                title=text.title,
                body=text.body,
                url=occurrence_url(row.block_id, row.occurrence_key),
                tag=row.key,
                due=due,
                actions=(payloads.check_actions if check else payloads.reminder_actions)(
                    prefs.snooze_minutes
                ),
                snooze_minutes=prefs.snooze_minutes,
            )
        url = "/#/reminders" if kind == "missed" else "/#/today"
        return payloads.build(
            kind=kind, title=text.title, body=text.body, url=url, tag=row.key, due=due
        )

    def _still_useful(self, row: Reminder, now: datetime, prefs: Prefs) -> bool:
        return now - row.due_at < timedelta(minutes=max(prefs.late_grace_minutes, 1))


def _ttl(row: Reminder, now: datetime) -> int:
    """Seconds a push service should keep trying: until the reminder stops being useful."""
    start = session_start(row)
    if row.kind == "reminder" and start:
        return int(max(60, min((start - now).total_seconds() + 3600, 24 * 3600)))
    return 4 * 3600


def _summarise(results: list[PushResult]) -> str:
    return "; ".join(
        f"device {r.subscription_id}: {r.outcome.value} ({r.detail})" for r in results
    )[:500]
