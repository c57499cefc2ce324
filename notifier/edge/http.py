"""ASGI pieces the edge layers share: header lists, the mutating methods, the error writer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from notifier.errors import NotifierError, rendered

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# The methods that change something: the cross-site rule, the JSON-only body
# rule and Idempotency-Key apply to these.
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def header_lists(scope: MutableMapping[str, Any]) -> dict[str, list[str]]:
    """Every header of the request by lower-case name, repeats kept in order."""
    found: dict[str, list[str]] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        found.setdefault(raw_name.decode("latin-1").lower(), []).append(raw_value.decode("latin-1"))
    return found


def first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


async def send_error(send: Send, exc: NotifierError) -> None:
    """Answer with the standard JSON error body (the same bytes the app's handler writes)."""
    status, headers, body = rendered(exc)
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
