"""Device tokens and the guard every non-public route passes through.

Identity is a bearer token (or the session cookie pairing sets), never the
peer address: a tunnel delivers strangers from 127.0.0.1.

The request gate (edge/gate.py) reads the credentials from the headers, once,
and leaves them on the request as `Credentials`; the guard and the
idempotency layer use exactly those, so the cross-site rule the gate applies
to cookie-authenticated requests covers whatever really authenticates them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from notifier.db import Database
from notifier.db.records import Device
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


async def mint_token(
    db: Database, label: str = "", kind: str = "device", *, now: datetime
) -> tuple[int, str]:
    """Create and store a token made at `now`; returns (id, the token in clear, shown once)."""
    token = new_token()
    token_id = await db.add_token(hash_token(token), label.strip()[:100], kind, now)
    return token_id, token


@dataclass(frozen=True)
class Credentials:
    """What a request presented to authenticate itself, as the gate read it.

    `via` says where it came from; `problem` is set when the request presented
    something unusable (a malformed Authorization header, two different session
    cookies): such a request is refused on every route that needs a token, and
    never falls back to another credential.
    """

    via: Literal["bearer", "cookie"] | None = None
    token: str | None = None
    problem: str | None = None


NONE = Credentials()
_STATE_KEY = "credentials"
_ROW_KEY = "token_row"
_NO_GATE = Credentials(problem="The request did not pass the request gate.")


def attach(scope: MutableMapping[str, Any], credentials: Credentials) -> None:
    """Leave the gate's reading of the credentials on the request (the gate calls this)."""
    state = scope.setdefault("state", {})
    state[_STATE_KEY] = credentials
    state.pop(_ROW_KEY, None)


def credentials_of(scope: MutableMapping[str, Any]) -> Credentials:
    """The credentials the gate read; a request that skipped the gate has unusable ones."""
    found = scope.get("state", {}).get(_STATE_KEY)
    return found if isinstance(found, Credentials) else _NO_GATE


async def authenticated(scope: MutableMapping[str, Any], db: Database) -> Device | None:
    """The live token row behind the request's credentials, or None; looked up once per request."""
    state = scope.setdefault("state", {})
    if _ROW_KEY not in state:
        creds = credentials_of(scope)
        ok = creds.token and not creds.problem
        state[_ROW_KEY] = await db.token_by_hash(hash_token(creds.token)) if ok else None  # type: ignore[arg-type]
    device: Device | None = state[_ROW_KEY]
    return device


async def require_token(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Guard: let public handlers through; everything else needs a live token."""
    if handler.opt.get("public"):
        return
    creds = credentials_of(connection.scope)  # type: ignore[arg-type]
    if creds.problem:
        raise Unauthorized(creds.problem)
    if not creds.token:
        raise Unauthorized("This needs a device token: pair this device or run `notifier token`.")
    db: Database = connection.app.state.db
    row = await authenticated(connection.scope, db)  # type: ignore[arg-type]
    if row is None:
        raise Unauthorized("Unknown or revoked token.")
    connection.state.token_id = row.id
    now = connection.app.state.clock.now()  # the app's clock, which tests can move
    await db.touch_token(row.id, now, now - TOUCH_INTERVAL)
