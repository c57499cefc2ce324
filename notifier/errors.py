"""One catalog of errors, and the one place that writes them as `{"error": code, "detail": text}`."""

from __future__ import annotations

import json
from typing import Any


class NotifierError(Exception):
    """Base of every error the app reports on purpose."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """`extra`: more JSON fields beside error and detail (what the client can do next)."""
        super().__init__(detail)
        self.detail = detail
        self.extra = dict(extra or {})
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})


class ConfigError(NotifierError):
    """Bad start-up configuration (environment, flags, files)."""

    code = "config_error"


class StorageError(NotifierError):
    """The database cannot be used as it is."""

    code = "storage_error"


class DatabaseTooNew(StorageError):
    """The database was written by a newer version of the app."""

    code = "database_too_new"


class AlreadyRunning(NotifierError):
    """Another instance holds the data dir."""

    code = "already_running"


class BadRequest(NotifierError):
    """The request is malformed or a field is invalid."""

    status = 400
    code = "bad_request"


class Unauthorized(NotifierError):
    """Missing, unknown or revoked credentials."""

    status = 401
    code = "unauthorized"


class Forbidden(NotifierError):
    """Credentials are valid but not for this."""

    status = 403
    code = "forbidden"


class NotFound(NotifierError):
    """No such resource."""

    status = 404
    code = "not_found"


class Conflict(NotifierError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"


class NoPhoneOrigin(Conflict):
    """No https address a phone can reach exists yet; the body lists the ways to get one."""

    code = "no_phone_origin"


class TooManyRequests(NotifierError):
    """The client is going too fast."""

    status = 429
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(
            detail, headers={"Retry-After": str(retry_after)} if retry_after is not None else None
        )


class UnsupportedMediaType(NotifierError):
    """A request body in a format the route does not take."""

    status = 415
    code = "unsupported_media_type"


class IdempotencyKeyReused(NotifierError):
    """An Idempotency-Key sent again with a different request."""

    status = 422
    code = "idempotency_key_reused"


class RequestTimeout(NotifierError):
    """The client did not send its request body in time; the connection is closed."""

    status = 408
    code = "request_timeout"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Connection": "close"})


class InvalidEndpoint(BadRequest):
    """A push endpoint that is not on the allow-list or is malformed."""

    code = "invalid_endpoint"


class TooManyOccurrences(BadRequest):
    """An agenda range holding more sessions than one answer carries."""

    code = "too_many_occurrences"


class TooManyBlocks(Conflict):
    """The plan holds as many blocks as the app keeps."""

    code = "too_many_blocks"


class InvalidHost(BadRequest):
    """The Host header names a site we do not serve (DNS rebinding)."""

    code = "invalid_host"


class CrossSiteRequest(Forbidden):
    """A cookie-authenticated change that did not come from our own pages."""

    code = "cross_site"


class InvalidCode(Forbidden):
    """A pairing code or login link that is wrong, used up or expired."""

    code = "invalid_code"


class BackupError(BadRequest):
    """A backup cannot be written, or an archive cannot be restored; nothing was changed."""

    code = "bad_backup"


class CalendarError(BadRequest):
    """An uploaded calendar file that cannot be imported; nothing was changed."""

    code = "bad_calendar"


class PayloadTooLarge(NotifierError):
    """The request body is larger than this route takes; refused unread, so the connection closes."""

    status = 413
    code = "too_large"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Connection": "close"})


def rendered(exc: NotifierError) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, JSON body) for an error: what the gate and the app's handler both send."""
    status = exc.status if exc.status >= 400 else 500
    headers = {"content-type": "application/json"}
    if isinstance(exc, Unauthorized):
        headers["www-authenticate"] = "Bearer"
    headers.update({k.lower(): v for k, v in exc.headers.items()})
    fields = {k: v for k, v in exc.extra.items() if k not in ("error", "detail")}
    body = json.dumps({"error": exc.code, "detail": exc.detail, **fields}).encode()
    return status, headers, body
