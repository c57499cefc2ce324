"""SQL for one-time codes: phone pairing codes and desktop login links (stored hashed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from notifier.clock import iso
from notifier.db.core import CoreDB, inserted_id

_DAY = timedelta(days=1)


class PairingQueries(CoreDB):
    """Single-use codes that are exchanged for a device token."""

    async def add_code(self, code_hash: str, kind: str, now: datetime, expires_at: datetime) -> int:
        """Store a new code; forget codes that expired or were used a day ago or more."""
        async with self.transaction() as conn:
            await conn.execute("DELETE FROM pairing_codes WHERE expires_at < ?", (iso(now - _DAY),))
            cur = await conn.execute(
                "INSERT INTO pairing_codes (code_hash, kind, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (code_hash, kind, iso(now), iso(expires_at)),
            )
            return inserted_id(cur)

    async def redeem_code(
        self,
        code_hash: str,
        kind: str,
        now: datetime,
        *,
        token_hash: str,
        label: str,
        token_kind: str,
        created_after: datetime | None = None,
    ) -> int | None:
        """Use up a live code and create its token in one transaction; the token id, or None.

        `created_after`: codes made at or before it are no longer accepted (they
        have lived through too many wrong guesses).
        """
        after = iso(created_after) if created_after is not None else ""
        async with self.transaction() as conn:
            cur = await conn.execute(
                "UPDATE pairing_codes SET used_at = ? "
                "WHERE code_hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ? "
                "AND created_at > ? RETURNING id",
                (iso(now), code_hash, kind, iso(now), after),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            cur = await conn.execute(
                "INSERT INTO tokens (token_hash, label, kind, created_at) VALUES (?, ?, ?, ?)",
                (token_hash, label, token_kind, iso(now)),
            )
            token_id = inserted_id(cur)
            await conn.execute(
                "UPDATE pairing_codes SET token_id = ? WHERE id = ?", (token_id, row[0])
            )
            return token_id
