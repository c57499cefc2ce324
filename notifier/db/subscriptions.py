"""SQL for push subscriptions."""

from __future__ import annotations

from datetime import datetime

from notifier.clock import iso
from notifier.db.core import CoreDB


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
    ) -> int:
        """Insert, or update the row with the same endpoint; return its id."""
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
                   RETURNING id""",
                (endpoint, p256dh, auth, label, expiration_time, token_id, iso(now), iso(now)),
            )
            row = await cur.fetchone()
            return int(row[0])

    async def subscription(self, sub_id: int):
        return await self.fetchone("SELECT * FROM push_subscriptions WHERE id = ?", (sub_id,))

    async def subscriptions(self):
        return await self.fetchall("SELECT * FROM push_subscriptions ORDER BY id")

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
