"""The outbox as a delivery log, and the notification action endpoint."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.datastructures import State
from litestar.params import JSONBody, QueryParameter

from notifier.errors import BadRequest, NotFound
from notifier.plan import occurrences
from notifier.plan import prefs as prefs_mod


def reminder_json(row: Any, deliveries: list[Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "key": row["key"],
        "kind": row["kind"],
        "block_id": row["block_id"],
        "occurrence_key": row["occurrence_key"],
        "offset_minutes": row["offset_minutes"],
        "due_at": row["due_at"],
        "status": row["status"],
        "late": bool(row["late"]),
        "title": row["title"],
        "body": row["body"],
        "text_source": row["text_source"],
        "text_error": row["text_error"],
        "attempts": row["attempts"],
        "sent_at": row["sent_at"],
        "error": row["error"],
        "deliveries": [
            {
                "subscription_id": d["subscription_id"],
                "outcome": d["outcome"],
                "status": d["status"],
                "detail": d["detail"],
                "at": d["at"],
            }
            for d in deliveries
        ],
    }


@get("/api/reminders", tags=["reminders"])
async def list_reminders(
    state: State, limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    """The outbox and delivery log, newest due time first."""
    rows, deliveries = await state.db.list_reminders(limit)
    by_reminder: dict[int, list[Any]] = {}
    for d in deliveries:
        by_reminder.setdefault(d["reminder_id"], []).append(d)
    return [reminder_json(r, by_reminder.get(r["id"], [])) for r in rows]


class ActionIn(msgspec.Struct):
    action_token: Annotated[str, msgspec.Meta(max_length=300)]
    action: str


@post("/api/actions", status_code=200, tags=["reminders"], opt={"public": True})
async def notification_action(state: State, data: JSONBody[ActionIn]) -> dict[str, Any]:
    """A notification button (Done / Snooze). The payload's action token is the credential."""
    now = state.clock.now()
    grant = state.action_tokens.check(data.action_token, now)
    if data.action == "done":
        status, snooze = "done", None
    elif data.action == "snooze":
        prefs = await prefs_mod.load(state.db)
        status, snooze = None, prefs.snooze_minutes
    else:
        raise BadRequest("action: must be done or snooze")
    block = await state.db.block(grant.block_id)
    if block is None:
        raise NotFound("that block was deleted")
    return await occurrences.apply(
        state.db, state.scheduler, block, grant.occurrence_key, status, snooze, now
    )
