"""The outbox as a delivery log, and the notification action endpoint."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec
from litestar import get, post
from litestar.params import JSONBody, QueryParameter

from notifier.access.action_tokens import ActionTokens
from notifier.api.blocks import OccurrenceOut, occurrence_out
from notifier.api.injected import Injected
from notifier.clock import Clock, iso
from notifier.db import Database
from notifier.db.records import Delivery, Reminder
from notifier.errors import BadRequest, Conflict, Forbidden, NotFound
from notifier.plan import prefs as prefs_mod
from notifier.plan import recurrence
from notifier.plan.blocks import effective_timezone
from notifier.schedule.planner import Planner
from notifier.texts.message import span


class DeliveryOut(msgspec.Struct):
    """What one device's push service said about a reminder."""

    subscription_id: int | None
    outcome: str
    status: int | None
    detail: str | None
    at: str


class ReminderOut(msgspec.Struct):
    """One reminder in the delivery log: in words for people, with the raw fields for scripts."""

    id: int
    what: str  # "15 min before Organic chemistry", "Daily summary", "You missed 3 reminders"
    block_title: str | None  # None for a summary, a catch-up note, or a deleted block
    due_local: str  # when it was due, in the person's time zone (ISO 8601 with offset)
    status_text: (
        str  # scheduled, snoozed, retrying, sending, sent, late, missed, not delivered, cancelled
    )
    title: str | None  # the text that went out (or will)
    body: str | None
    text_source: str | None  # llm | fallback
    text_error: str | None
    error: str | None
    key: str  # internal identity: for scripts and support, never shown to a person
    kind: str
    block_id: int | None
    occurrence_key: str | None
    offset_minutes: int | None
    due_at: str
    status: str
    late: bool
    attempts: int
    sent_at: str | None
    deliveries: list[DeliveryOut]


def status_text(row: Reminder) -> str:
    """The outbox status as a person would say it."""
    status = row.status
    if status == "pending":
        if row.key.startswith("snooze:"):
            return "snoozed"
        return "retrying" if row.next_attempt_at else "scheduled"
    if status == "sent":
        return "late" if row.late else "sent"
    return {"failed": "not delivered"}.get(status, status)


def what(row: Reminder, block_title: str | None) -> str:
    """What the reminder was about, in words."""
    name = block_title or "a deleted block"
    if row.kind == "summary":
        return "Daily summary"
    if row.kind == "missed":
        count = row.missed_count or 0
        return f"You missed {count} reminder" + ("" if count == 1 else "s")
    if row.key.startswith("snooze:"):
        return f"Snoozed: {name}"
    offset = row.offset_minutes or 0
    return f"{span(offset)} before {name}" if offset else f"Start of {name}"


def reminder_out(
    row: Reminder, deliveries: list[Delivery], block_title: str | None, tz: ZoneInfo
) -> ReminderOut:
    return ReminderOut(
        id=row.id,
        what=what(row, block_title),
        block_title=block_title,
        due_local=row.due_at.astimezone(tz).isoformat(timespec="minutes"),
        status_text=status_text(row),
        title=row.title,
        body=row.body,
        text_source=row.text_source,
        text_error=row.text_error,
        error=row.error,
        key=row.key,
        kind=row.kind,
        block_id=row.block_id,
        occurrence_key=row.occurrence_key,
        offset_minutes=row.offset_minutes,
        due_at=iso(row.due_at),
        status=row.status,
        late=row.late,
        attempts=row.attempts,
        sent_at=iso(row.sent_at) if row.sent_at else None,
        deliveries=[
            DeliveryOut(
                subscription_id=d.subscription_id,
                outcome=d.outcome,
                status=d.status,
                detail=d.detail,
                at=iso(d.at),
            )
            for d in deliveries
        ],
    )


@get("/api/reminders", tags=["reminders"])
async def list_reminders(
    db: Injected[Database], limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50
) -> list[ReminderOut]:
    """The outbox and delivery log, newest due time first, in words and raw."""
    rows = await db.list_reminders(limit)
    titles = await db.block_titles(sorted({r.block_id for r, _ in rows if r.block_id}))
    tz = recurrence.tz_from_name(effective_timezone(await prefs_mod.load(db)))
    return [reminder_out(r, d, titles.get(r.block_id) if r.block_id else None, tz) for r, d in rows]


class ActionIn(msgspec.Struct):
    action_token: Annotated[str, msgspec.Meta(max_length=300)]
    action: str


@post("/api/actions", status_code=200, tags=["reminders"], opt={"public": True})
async def notification_action(
    data: JSONBody[ActionIn],
    db: Injected[Database],
    planner: Injected[Planner],
    action_tokens: Injected[ActionTokens],
    clock: Injected[Clock],
) -> OccurrenceOut:
    """A notification button. The payload's action token is the credential.

    Reminders have Done and Snooze; the end-of-block question has Done, Not done
    (skipped) and More (ask again after the snooze length).
    """
    now = clock.now()
    grant = action_tokens.check(data.action_token, now)
    if await db.subscription(grant.subscription_id) is None:
        # revoking a device deletes its subscriptions: its buttons stop working
        raise Forbidden(
            "This notification was sent to a device that is no longer paired.",
            code="invalid_action_token",
        )
    prefs = await prefs_mod.load(db)
    status: str | None = None
    snooze: int | None = None
    if data.action == "done":
        status = "done"
    elif data.action == "not_done":
        status = "skipped"
    elif data.action in ("snooze", "more"):
        snooze = prefs.snooze_minutes
    else:
        raise BadRequest("action: must be done, not_done, snooze or more")
    block = await db.block(grant.block_id)
    if block is None:
        raise NotFound("that block was deleted")
    if not await db.claim_action(grant.use_key, data.action, now, grant.expires):
        raise Conflict(
            "This notification's button was already used; open the app to change it again.",
            code="action_already_used",
        )
    try:
        if data.action == "more":
            return occurrence_out(
                await planner.ask_again(block, grant.occurrence_key, prefs.snooze_minutes)
            )
        return occurrence_out(await planner.act(block, grant.occurrence_key, status, snooze))
    except BaseException:
        await db.release_action(grant.use_key, data.action)
        raise
