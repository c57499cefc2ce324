"""SQL for Idempotency-Key records (the phone's offline queue replays requests)."""

from __future__ import annotations

from datetime import datetime

from notifier.clock import iso
from notifier.db.core import CoreDB
from notifier.db.records import StoredResponse


class IdempotencyQueries(CoreDB):
    """First responses to mutating requests, by (token, key)."""

    async def idempotent_response(self, token_id: int, key: str) -> StoredResponse | None:
        row = await self._fetchone(
            "SELECT method, path, status, body FROM idempotency WHERE token_id = ? AND key = ?",
            (token_id, key),
        )
        if row is None:
            return None
        return StoredResponse(
            method=row["method"], path=row["path"], status=row["status"], body=bytes(row["body"])
        )

    async def save_idempotent_response(
        self,
        token_id: int,
        key: str,
        method: str,
        path: str,
        status: int,
        body: bytes,
        now: datetime,
    ) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO idempotency "
                "(token_id, key, method, path, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_id, key, method, path, status, body, iso(now)),
            )

    async def prune_idempotency(self, cutoff: datetime) -> None:
        async with self.transaction() as conn:
            await conn.execute("DELETE FROM idempotency WHERE created_at < ?", (iso(cutoff),))
