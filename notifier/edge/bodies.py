"""Request bodies: a size limit per route and a deadline to read them, before any handler runs.

granian reads a body only as fast as the client sends it and has no body-read
timeout (emmett-framework/granian#728, closed as won't-fix): a client that sends
the headers of a POST and then one byte a minute would hold its connection, and
one of granian's `backpressure` slots, for as long as it likes. So this
middleware reads the whole body itself, under two clocks (each chunk within
`idle`, the whole body within `total`), answers 408 and closes the connection
when either runs out, and only then hands the complete body to the route.

The size limit is the route's Litestar `request_max_body_size` (the app sets a
small default; a route that takes more, like a calendar import, says so, and
may give the refusal its own words in `opt["too_large"]`); `None` still means
at most `MAX_ANY_BODY`, and public routes are capped at `PUBLIC_MAX_BODY`
whatever they say: a stranger gets a few KiB. A declared `Content-Length` over the limit is refused before a
byte of the body is read; a chunked body is counted as it arrives and refused
the moment it passes the limit. Either way nothing larger than the limit is
ever held in memory.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from litestar.types import ASGIApp, Receive, Scope, Send

from notifier.errors import PayloadTooLarge, RequestTimeout

KIB = 1024
PUBLIC_MAX_BODY = 4 * KIB  # a pairing code, a notification action: a few hundred bytes
DEFAULT_MAX_BODY = 64 * KIB  # blocks, settings, subscriptions: well under this
MAX_ANY_BODY = 4 * KIB * KIB  # no route takes more, whatever it declares
BODY_IDLE_SECONDS = 5.0  # the longest pause between two pieces of a body
BODY_TOTAL_SECONDS = 20.0  # the longest a whole body may take (2 MB on a slow phone link)


def route_limit(scope: dict[str, Any]) -> tuple[int, str]:
    """(the most bytes of body the route takes, what to say past it) for this request's route."""
    handler = scope.get("route_handler")
    if handler is None:
        return PUBLIC_MAX_BODY, _too_large(PUBLIC_MAX_BODY)
    resolve = getattr(handler, "resolve_request_max_body_size", None)
    declared = resolve() if resolve is not None else DEFAULT_MAX_BODY
    limit = min(MAX_ANY_BODY if declared is None else int(declared), MAX_ANY_BODY)
    opt = getattr(handler, "opt", {})
    if opt.get("public"):
        limit = min(limit, PUBLIC_MAX_BODY)
    return limit, opt.get("too_large") or _too_large(limit)


def declared_length(scope: dict[str, Any]) -> int | None:
    """The Content-Length header as a number; None if absent. Malformed is granian's 400."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_body(
    receive: Any,
    limit: int,
    *,
    too_large: str | None = None,
    idle: float = BODY_IDLE_SECONDS,
    total: float = BODY_TOTAL_SECONDS,
) -> bytes | None:
    """The whole body, or None if the client went away; raises 413 past `limit`, 408 when slow."""
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + total
    while True:
        wait = min(idle, deadline - time.monotonic())
        try:
            if wait <= 0:
                raise TimeoutError
            message = await asyncio.wait_for(receive(), wait)
        except TimeoutError:
            raise RequestTimeout(
                "The request body did not arrive in time; send it in one go."
            ) from None
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(too_large or _too_large(limit))
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large(limit: int) -> str:
    return f"The request body is larger than this route accepts ({limit} bytes at most)."


def _replaying(body: bytes, receive: Any) -> Any:
    """A `receive` that hands out the body read so far, then the client's own (for disconnects)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> dict[str, Any]:
        return pending.pop() if pending else await receive()

    return replay


def body_limits_middleware(app: ASGIApp) -> ASGIApp:
    """ASGI middleware factory (Litestar `middleware=[…]`, so the route is already known)."""

    async def middleware(asgi_scope: Scope, receive: Receive, send: Send) -> None:
        if asgi_scope["type"] != "http":
            await app(asgi_scope, receive, send)
            return
        scope = cast(dict[str, Any], asgi_scope)
        limit, too_large = route_limit(scope)
        length = declared_length(scope)
        if length is not None and length > limit:
            raise PayloadTooLarge(too_large)  # before reading a byte of it
        body = await read_body(receive, limit, too_large=too_large)
        if body is None:
            return  # the client is gone: nobody to answer
        await app(asgi_scope, _replaying(body, receive), send)

    return middleware
