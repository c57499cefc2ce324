"""Short-lived tokens in a push payload that authorise just Done/Snooze on one occurrence.

The service worker acts on a notification button without opening the app, so
the payload carries its own narrow credential: an HMAC over (subscription,
block, occurrence, expiry) with a secret kept 0600 in the data dir. It can do
nothing else, once per action, and only while the device is paired.
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
    """What a valid token allows: actions on this one occurrence, from this one device."""

    subscription_id: int
    block_id: int
    occurrence_key: str
    expires: datetime
    use_key: str  # the token's identity, for recording that an action was used


INVALID = "This notification's action link is not valid."


class ActionTokens:
    """Issues and checks action tokens.

    A token is `body.mac`: the body names the subscription it was pushed to,
    the block, the occurrence and the expiry; the MAC is taken over the body
    exactly as sent, so a token is verified before any of it is decoded or
    parsed. Binding it to the subscription makes it die with the device:
    revoking a device deletes its subscriptions. That each (token, action)
    applies once is recorded by the API (db `action_uses`).
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def load_or_create(cls, data_dir: Path) -> ActionTokens:
        return cls(load_or_create(data_dir / SECRET_FILE, lambda: secrets.token_bytes(32)))

    def issue(
        self, subscription_id: int, block_id: int, occurrence_key: str, expires: datetime
    ) -> str:
        body = base64url.encode(
            f"{subscription_id}:{block_id}:{occurrence_key}:{int(expires.timestamp())}".encode()
        )
        return f"{body}.{self._mac(body)}"

    def check(self, token: str, now: datetime) -> ActionGrant:
        """Return the grant, or raise Forbidden for a forged, malformed or expired token."""
        body, _, mac = token.partition(".")
        try:
            genuine = hmac.compare_digest(mac.encode("ascii"), self._mac(body).encode("ascii"))
        except UnicodeEncodeError:
            genuine = False
        if not genuine:
            raise Forbidden(INVALID, code="invalid_action_token")
        try:  # signed by us: only now is any of it read
            sub, block, occurrence, expires = base64url.decode(body).decode().split(":")
            grant = ActionGrant(
                int(sub), int(block), occurrence, datetime.fromtimestamp(int(expires), UTC), mac
            )
        except (ValueError, UnicodeDecodeError, OverflowError, OSError):
            raise Forbidden(INVALID, code="invalid_action_token") from None
        if grant.expires < now:
            raise Forbidden(
                "This notification is too old to act on; open the app instead.",
                code="action_token_expired",
            )
        return grant

    def _mac(self, body: str) -> str:
        return base64url.encode(
            hmac.new(self._secret, body.encode("ascii"), hashlib.sha256).digest()[:16]
        )
