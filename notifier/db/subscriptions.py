"""SQL for push subscriptions."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from notifier.clock import from_iso, iso
from notifier.db.core import CoreDB, optional_time
from notifier.db.records import Subscription


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        endpoint=row["endpoint"],
        p256dh=row["p256dh"],
        auth=row["auth"],
        label=row["label"],
        expiration_time=row["expiration_time"],
        token_id=row["token_id"],
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        last_success_at=optional_time(row["last_success_at"]),
        last_error=row["last_error"],
        last_error_at=optional_time(row["last_error_at"]),
        failure_count=row["failure_count"],
    )


class SubscriptionQueries(CoreDB):
    """Stored PushSubscriptions and their delivery health."""

    async def upsert_subscription(
        self,
        *,
        endpoint: str,
        p256dh: str,
        auth: str,
        label: str,
        expiration_time: int | None,
        token_id: int | None,
        now: datetime,
    ) -> Subscription:
        """Insert, or update the row with the same endpoint; return it as stored."""
        async with self.transaction() as conn:
            cur = await conn.execute(
                """INSERT INTO push_subscriptions
                       (endpoint, p256dh, auth, label, expiration_time, token_id,
                        created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(endpoint) DO UPDATE SET
                       p256dh = excluded.p256dh, auth = excluded.auth,
                       label = CASE WHEN excluded.label != '' THEN excluded.label
                                    ELSE push_subscriptions.label END,
                       expiration_time = excluded.expiration_time,
                       token_id = excluded.token_id,
                       updated_at = excluded.updated_at,
                       failure_count = 0, last_error = NULL, last_error_at = NULL
                   RETURNING *""",
                (endpoint, p256dh, auth, label, expiration_time, token_id, iso(now), iso(now)),
            )
            row = await cur.fetchone()
            assert row is not None
            return _subscription(row)

    async def subscription(self, sub_id: int) -> Subscription | None:
        row = await self._fetchone("SELECT * FROM push_subscriptions WHERE id = ?", (sub_id,))
        return _subscription(row) if row is not None else None

    async def subscriptions(self) -> list[Subscription]:
        rows = await self._fetchall("SELECT * FROM push_subscriptions ORDER BY id")
        return [_subscription(r) for r in rows]

    async def delete_subscription(self, sub_id: int) -> bool:
        return await self.write("DELETE FROM push_subscriptions WHERE id = ?", (sub_id,)) > 0

    async def delete_subscription_by_endpoint(self, endpoint: str) -> bool:
        return (
            await self.write("DELETE FROM push_subscriptions WHERE endpoint = ?", (endpoint,)) > 0
        )

    async def record_push_success(self, sub_id: int, now: datetime) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE push_subscriptions SET last_success_at = ?, failure_count = 0, "
                "last_error = NULL, last_error_at = NULL WHERE id = ?",
                (iso(now), sub_id),
            )

    async def record_push_failure(self, sub_id: int, error: str, now: datetime) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE push_subscriptions SET last_error = ?, last_error_at = ?, "
                "failure_count = failure_count + 1 WHERE id = ?",
                (error[:500], iso(now), sub_id),
            )

    async def expire_silent_subscriptions(self, cutoff: datetime) -> int:
        """Delete subscriptions with no delivery (or creation) since `cutoff`."""
        return await self.write(
            "DELETE FROM push_subscriptions WHERE COALESCE(last_success_at, created_at) < ?",
            (iso(cutoff),),
        )
