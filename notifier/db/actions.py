"""SQL for the notification buttons: which (action token, action) pairs were used."""

from __future__ import annotations

from datetime import datetime

from notifier.clock import iso
from notifier.db.core import CoreDB


class ActionUseQueries(CoreDB):
    """One use per (token, action): a replayed button press changes nothing."""

    async def claim_action(
        self, token_mac: str, action: str, now: datetime, expires_at: datetime
    ) -> bool:
        """Record the use; False if it was used before. Expired records are dropped."""
        async with self.transaction() as conn:
            await conn.execute("DELETE FROM action_uses WHERE expires_at < ?", (iso(now),))
            cur = await conn.execute(
                "INSERT OR IGNORE INTO action_uses (token_mac, action, used_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (token_mac, action, iso(now), iso(expires_at)),
            )
            return cur.rowcount == 1

    async def release_action(self, token_mac: str, action: str) -> None:
        """Forget a use whose action failed, so the button can be pressed again."""
        await self.write(
            "DELETE FROM action_uses WHERE token_mac = ? AND action = ?", (token_mac, action)
        )
