"""Fan a message out to stored subscriptions and act on each outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from notifier.db import Database
from notifier.push.sender import Outcome, PushResult, PushSender, Target

log = logging.getLogger(__name__)


async def deliver(
    db: Database,
    sender: PushSender,
    message: dict[str, Any],
    *,
    subject: str | None,
    subscription_ids: list[int] | None = None,
    skip_ids: set[int] | frozenset[int] = frozenset(),
    now: Callable[[], datetime],
    **send_kwargs: Any,
) -> list[PushResult]:
    """Send `message` to every (or the chosen) subscription but `skip_ids`; record what happened.

    404/410 delete the subscription; any other failure is kept on it (count and
    last error) so the devices screen can show it.
    """
    rows = await db.subscriptions()
    if subscription_ids is not None:
        wanted = set(subscription_ids)
        rows = [r for r in rows if r.id in wanted]
    if skip_ids:
        rows = [r for r in rows if r.id not in skip_ids]
    results = await sender.fan_out(
        [Target.of(r) for r in rows], message, subject=subject, **send_kwargs
    )
    for result in results:
        await record(db, result, now())
    return results


async def record(db: Database, result: PushResult, when: datetime) -> None:
    """Apply one push result to its subscription row."""
    if result.outcome is Outcome.DELIVERED:
        await db.record_push_success(result.subscription_id, when)
    elif result.outcome is Outcome.GONE:
        log.info("subscription %s is gone (%s); removing it", result.subscription_id, result.detail)
        await db.delete_subscription(result.subscription_id)
    else:
        log.warning("push to subscription %s failed: %s", result.subscription_id, result.detail)
        await db.record_push_failure(result.subscription_id, result.detail, when)
