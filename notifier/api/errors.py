"""The one exception handler: every error leaves as `{"error": code, "detail": text}`."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from notifier.errors import NotifierError, Unauthorized

log = logging.getLogger(__name__)

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


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response({"error": code, "detail": detail}, status_code=status, headers=headers)


def handle_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Render any exception raised while handling a request."""
    if isinstance(exc, NotifierError):
        status = exc.status if exc.status < 500 else 500
        headers = (
            {"WWW-Authenticate": "Bearer"}
            if isinstance(exc, Unauthorized)
            else getattr(exc, "headers", None)
        )
        if status == 500:
            log.error("%s: %s", exc.code, exc.detail)
        return error_response(status, exc.code, exc.detail, headers)
    if isinstance(exc, ValidationException):
        return error_response(400, "bad_request", _validation_detail(exc))
    if isinstance(exc, OverflowError):
        # Path and body ints are unbounded in Python; SQLite stops at 2**63-1
        # (found by the fuzz test). No id or count that large can be valid.
        return error_response(400, "bad_request", "A number in the request is out of range.")
    if isinstance(exc, HTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        status = exc.status_code
        if status >= 500:
            log.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
        return error_response(status, code, str(exc.detail), exc.headers)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "Something went wrong on the server; see its log.")


def _validation_detail(exc: ValidationException) -> str:
    """Say which field is wrong and why, from msgspec's validation messages."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict) and item.get("message"):
            key = item.get("key")
            where = f"{key}: " if key and key != "body" else ""
            return f"{where}{item['message']}"
    return str(exc.detail)
