"""The one exception handler: every error leaves as `{"error": code, "detail": text}`."""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from notifier.errors import BadRequest, NotifierError, rendered

log = logging.getLogger(__name__)


class ErrorOut(msgspec.Struct):
    """Every error's body (a few codes add fields, like `ways` for `no_phone_origin`)."""

    error: str  # a stable code: bad_request, not_found, too_many_blocks...
    detail: str  # what went wrong and what to do, for a person


BAD_REQUEST = ResponseSpec(ErrorOut, description="The request is wrong; `detail` says which field")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(exc: NotifierError) -> Response[bytes]:
    """The standard error body as a Litestar response (the same bytes the gate writes)."""
    status, headers, body = rendered(exc)
    media_type = headers.pop("content-type")
    return Response(body, status_code=status, headers=headers, media_type=media_type)


def handle_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Render any exception raised while handling a request."""
    return error_response(as_notifier_error(request, exc))


def as_notifier_error(request: Request[Any, Any, Any], exc: Exception) -> NotifierError:
    """Any exception as one of ours, logging what the server got wrong."""
    if isinstance(exc, NotifierError):
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.detail)
        return exc
    if isinstance(exc, ValidationException):
        return BadRequest(_validation_detail(exc))
    if isinstance(exc, sqlite3.OperationalError) and _storage_full(exc):
        log.error("cannot save on %s %s: %s", request.method, request.url.path, exc)
        return NotifierError(
            "The server's disk is full, so this change was not saved; free some space on it and try again.",
            code="storage_full",
            status=507,
        )
    if isinstance(exc, OverflowError):
        # Path and body ints are unbounded in Python; SQLite stops at 2**63-1
        # (found by the fuzz test). No id or count that large can be valid.
        return BadRequest("A number in the request is out of range.")
    if isinstance(exc, RecursionError):
        return BadRequest("The request body is nested too deeply.")
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status >= 500:
            log.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
        return NotifierError(
            str(exc.detail),
            code=_HTTP_CODES.get(status, "http_error"),
            status=status,
            headers=dict(exc.headers or {}),
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return NotifierError("Something went wrong on the server; see its log.")


def _storage_full(exc: sqlite3.OperationalError) -> bool:
    return "full" in str(exc).lower()


_body_types: dict[object, Any] = {}


async def check_body_strictly(request: Request[Any, Any, Any]) -> None:
    """Refuse a JSON body that only fits its Struct after coercion ("30" for 30, "true" for true).

    Litestar converts bodies leniently (as it must for query strings); the API's
    contract is exact JSON types, as the plan's validators always checked. Runs
    before the handler (a `before_request` hook); the body is read once either way.
    """
    handler = request.route_handler
    if handler not in _body_types:
        field = handler.parsed_fn_signature.parameters.get("data")
        wanted = field.annotation if field is not None else None
        _body_types[handler] = wanted if wanted not in (None, bytes, str) else None
    wanted = _body_types[handler]
    if wanted is None or request.method in ("GET", "HEAD"):
        return
    body = await request.body()
    if not body.strip():
        return  # an optional body left out; a required one is refused by Litestar
    try:
        msgspec.json.decode(body, type=wanted, strict=True)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        raise BadRequest(in_words(message, path.rstrip("`").lstrip("."))) from None
    except msgspec.DecodeError:
        return  # not JSON: Litestar's own answer


def _validation_detail(exc: ValidationException) -> str:
    """Say which field is wrong and why, from msgspec's validation messages."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict) and item.get("message"):
            key = item.get("key")
            return in_words(str(item["message"]), "" if key in (None, "body", "data") else key)
    return str(exc.detail)


_TYPES = {
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
    "str": "text",
    "array": "a list",
    "object": "a JSON object",
    "null": "null",
}
_EXPECTED = re.compile(r"Expected `([^`]+)`, got `([^`]+)`")
_FIELD = re.compile(r"Object (contains unknown|missing required) field `([^`]+)`")
_ENUM = re.compile(r"Invalid enum value (.+)")


def in_words(message: str, where: str) -> str:
    """msgspec's message for a body field, as `field: what to send` in the API's usual words."""
    if m := _FIELD.match(message):
        where = f"{where}.{m[2]}" if where else m[2]
        why = "unknown field" if m[1] == "contains unknown" else "is required"
    elif m := _EXPECTED.match(message):
        wanted = [_TYPES.get(t.strip(), t.strip()) for t in m[1].split("|")]
        why = "must be " + " or ".join(wanted)
    elif m := _ENUM.match(message):
        why = f"{m[1]} is not one of the values this field takes"
    else:
        why = message
    return f"{where}: {why}" if where else why
