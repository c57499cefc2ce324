"""Device tokens and the guard every non-public route passes through.

Identity is a bearer token (or the session cookie pairing sets), never the
peer address: a tunnel delivers strangers from 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from notifier.clock import utcnow
from notifier.db import Database
from notifier.errors import Unauthorized

TOKEN_PREFIX = "snt_"
SESSION_COOKIE = "notifier_session"
TOUCH_INTERVAL = timedelta(minutes=1)


def new_token() -> str:
    """A fresh random bearer token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: they are random, so no slow hash is needed."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def mint_token(db: Database, label: str = "", kind: str = "device") -> tuple[int, str]:
    """Create and store a token; returns (id, the token in clear, shown once)."""
    token = new_token()
    token_id = await db.add_token(hash_token(token), label.strip()[:100], kind, utcnow())
    return token_id, token


def presented_token(connection: ASGIConnection) -> str | None:
    """The bearer token from the Authorization header, else the session cookie."""
    header = connection.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Authorization must be 'Bearer <token>'")
        return value.strip()
    return connection.cookies.get(SESSION_COOKIE) or None


async def require_token(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Guard: let public handlers through; everything else needs a live token."""
    if handler.opt.get("public"):
        return
    token = presented_token(connection)
    if not token:
        raise Unauthorized("This needs a device token: pair this device or run `notifier token`.")
    db: Database = connection.app.state.db
    row = await db.token_by_hash(hash_token(token))
    if row is None:
        raise Unauthorized("Unknown or revoked token.")
    connection.state.token_id = row["id"]
    now = utcnow()
    await db.touch_token(row["id"], now, now - TOUCH_INTERVAL)
