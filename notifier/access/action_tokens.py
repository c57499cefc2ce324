"""Short-lived tokens in a push payload that authorise just Done/Snooze on one occurrence.

The service worker acts on a notification button without opening the app, so
the payload carries its own narrow credential: an HMAC over (block, occurrence,
expiry) with a secret kept 0600 in the data dir. It can do nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from notifier import base64url
from notifier.errors import Forbidden
from notifier.secretfiles import load_or_create

SECRET_FILE = "action_secret"


@dataclass(frozen=True)
class ActionGrant:
    """What a valid token allows: actions on this one occurrence."""

    block_id: int
    occurrence_key: str


class ActionTokens:
    """Issues and checks action tokens."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def load_or_create(cls, data_dir: Path) -> ActionTokens:
        return cls(load_or_create(data_dir / SECRET_FILE, lambda: secrets.token_bytes(32)))

    def issue(self, block_id: int, occurrence_key: str, expires: datetime) -> str:
        body = f"{block_id}:{occurrence_key}:{int(expires.timestamp())}".encode()
        return f"{base64url.encode(body)}.{base64url.encode(self._mac(body))}"

    def check(self, token: str, now: datetime) -> ActionGrant:
        """Return the grant, or raise Forbidden for a forged, malformed or expired token."""
        try:
            body_b64, mac_b64 = token.split(".", 1)
            body = base64url.decode(body_b64)
            ok = hmac.compare_digest(base64url.decode(mac_b64), self._mac(body))
            block, occurrence, expires = body.decode().split(":")
            grant = ActionGrant(int(block), occurrence)
            expired = datetime.fromtimestamp(int(expires), UTC) < now
        except (ValueError, UnicodeDecodeError):
            raise Forbidden(
                "This notification's action link is not valid.", code="invalid_action_token"
            ) from None
        if not ok:
            raise Forbidden(
                "This notification's action link is not valid.", code="invalid_action_token"
            )
        if expired:
            raise Forbidden(
                "This notification is too old to act on; open the app instead.",
                code="action_token_expired",
            )
        return grant

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
