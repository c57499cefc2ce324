"""SQL for device tokens (stored as SHA-256 hashes, never in clear)."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict
from datetime import datetime

from notifier.clock import from_iso, iso
from notifier.db.core import CoreDB, inserted_id, optional_time
from notifier.db.records import Device, DeviceStatus


def _device(row: sqlite3.Row) -> Device:
    return Device(
        id=row["id"],
        label=row["label"],
        kind=row["kind"],
        created_at=from_iso(row["created_at"]),
        last_used_at=optional_time(row["last_used_at"]),
    )


class TokenQueries(CoreDB):
    """Bearer tokens for devices and scripts."""

    async def add_token(self, token_hash: str, label: str, kind: str, now: datetime) -> int:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO tokens (token_hash, label, kind, created_at) VALUES (?, ?, ?, ?)",
                (token_hash, label, kind, iso(now)),
            )
            return inserted_id(cur)

    async def token_by_hash(self, token_hash: str) -> Device | None:
        """The live token with this hash, or None (unknown or revoked)."""
        row = await self._fetchone(
            "SELECT * FROM tokens WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,)
        )
        return _device(row) if row is not None else None

    async def touch_token(self, token_id: int, now: datetime, older_than: datetime) -> None:
        """Record use, at most once per interval so reads do not all become writes; best effort."""
        await self.write_best_effort(
            "UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
            (iso(now), token_id, iso(older_than)),
        )

    async def devices(self) -> list[DeviceStatus]:
        """Tokens that still work, with their push subscriptions summed up (the devices list)."""
        rows = await self._fetchall(
            """SELECT t.*,
                      COUNT(s.id) AS subscriptions,
                      MAX(s.last_success_at) AS last_delivery_at,
                      (SELECT e.last_error FROM push_subscriptions e
                        WHERE e.token_id = t.id AND e.last_error IS NOT NULL
                        ORDER BY e.last_error_at DESC LIMIT 1) AS last_delivery_error
                 FROM tokens t LEFT JOIN push_subscriptions s ON s.token_id = t.id
                WHERE t.revoked_at IS NULL
                GROUP BY t.id ORDER BY t.id"""
        )
        return [
            DeviceStatus(
                **asdict(_device(r)),
                subscriptions=r["subscriptions"],
                last_delivery_at=optional_time(r["last_delivery_at"]),
                last_delivery_error=r["last_delivery_error"],
            )
            for r in rows
        ]

    async def rename_token(self, token_id: int, label: str) -> bool:
        """Rename a token that still works; False if there is none."""
        return (
            await self.write(
                "UPDATE tokens SET label = ? WHERE id = ? AND revoked_at IS NULL", (label, token_id)
            )
            > 0
        )

    async def revoke_device(self, token_id: int, now: datetime) -> bool:
        """Revoke a token and drop the push subscriptions made with it: a lost phone gets nothing more."""
        async with self.transaction() as conn:
            cur = await conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (iso(now), token_id),
            )
            if cur.rowcount == 0:
                return False
            await conn.execute("DELETE FROM push_subscriptions WHERE token_id = ?", (token_id,))
            return True

    async def replace_token(self, old_id: int, new_id: int, now: datetime) -> None:
        """Revoke `old_id` in favour of `new_id`, keeping the push subscriptions made with it."""
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (iso(now), old_id),
            )
            await conn.execute(
                "UPDATE push_subscriptions SET token_id = ? WHERE token_id = ?", (new_id, old_id)
            )
