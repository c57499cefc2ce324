"""`Idempotency-Key` on mutating requests: a replay returns the first response, changes nothing.

The phone's offline queue may send the same change twice (it cannot know whether
a request that timed out arrived), so each queued change carries a key. Keys are
scoped to the device token that sent them; the first response with a status
below 500 is stored and replayed byte for byte. Two copies arriving at once are
serialised, so the second waits for the first and then replays it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from notifier.access.tokens import authenticated
from notifier.db.records import StoredResponse
from notifier.edge.http import MUTATING, first, header_lists, send_error
from notifier.errors import BadRequest, IdempotencyKeyReused

MAX_KEY = 200
KEEP_FOR = timedelta(days=7)


def idempotency_middleware(app: Any) -> Any:
    """ASGI middleware factory (Litestar `middleware=[…]`)."""
    inflight: dict[tuple[int, str], asyncio.Event] = {}

    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        key = first(header_lists(scope), "idempotency-key") if scope["type"] == "http" else None
        if key is None or scope["method"] not in MUTATING:
            await app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY or not key.isprintable():
            await send_error(
                send, BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY} printable characters")
            )
            return
        state = scope["app"].state
        row = await authenticated(scope, state.db)  # the credentials the gate read
        if row is None:
            await app(scope, receive, send)  # the guard answers 401 (or the route is public)
            return
        slot = (row.id, key)
        while slot in inflight:  # claim the slot with no await between check and claim
            await inflight[slot].wait()
        inflight[slot] = done = asyncio.Event()
        try:
            stored = await state.db.idempotent_response(*slot)
            if stored is not None:
                await _replay(stored, scope, send)
            else:
                await _record(app, scope, receive, send, state, slot)
        finally:
            del inflight[slot]
            done.set()

    return middleware


async def _replay(stored: StoredResponse, scope: dict[str, Any], send: Any) -> None:
    if (stored.method, stored.path) != (scope["method"], scope["path"]):
        await send_error(
            send,
            IdempotencyKeyReused("This Idempotency-Key was already used for a different request."),
        )
        return
    body = stored.body
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"idempotency-replayed", b"true"),
    ]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _record(
    app: Any, scope: dict[str, Any], receive: Any, send: Any, state: Any, slot: tuple[int, str]
) -> None:
    status = 0
    chunks: list[bytes] = []

    async def capture(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
        await send(message)

    await app(scope, receive, capture)
    if 0 < status < 500:  # a server error may succeed on retry: do not pin it
        now = state.clock.now()
        await state.db.save_idempotent_response(
            *slot, scope["method"], scope["path"], status, b"".join(chunks), now
        )
        await state.db.prune_idempotency(now - KEEP_FOR)
