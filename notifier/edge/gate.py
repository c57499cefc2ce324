"""One ASGI middleware for what every request must pass, before any route runs.

1. Forwarded headers are applied only when the peer is a trusted proxy.
2. The Host must be one we serve: a DNS-rebinding page on `evil.example`
   that resolves to 127.0.0.1 reaches our socket, but with `Host: evil.example`.
3. A request that authenticates by cookie and changes something must come
   from our own pages (Sec-Fetch-Site, else Origin). SameSite=Strict alone does
   not cover other ports on the same host, which are same-site. Bearer-token
   requests are not CSRF-able: a browser never adds that header by itself.
4. Security headers go on every response, error pages included.

It wraps Litestar's whole ASGI handler, not a route's middleware stack:
Litestar answers 404 and 405 before route middleware runs.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from notifier.access.tokens import SESSION_COOKIE
from notifier.config import Config
from notifier.edge.forwarded import Network, resolve
from notifier.errors import CrossSiteRequest, InvalidHost, NotifierError
from notifier.host.lan import hostnames

ASGIApp = Callable[..., Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'; img-src 'self' data:"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
# Tokens travel in these responses: keep them out of every cache.
NO_STORE_PREFIXES = ("/api/", "/login")
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost"})


def split_host(value: str) -> tuple[str, int | None] | None:
    """(host, port) from a Host header value, host lower-cased; None if malformed."""
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return host.lower(), port


def _is_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _origin(scheme: str, host: str, port: int | None) -> str:
    default = {"http": 80, "https": 443}.get(scheme)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" if port in (None, default) else f"{scheme}://{shown}:{port}"


@dataclass
class SecurityPolicy:
    """What the middleware allows; `names` may be refreshed while running."""

    names: frozenset[str]
    any_ip: bool  # listening beyond loopback: a phone may use any of our addresses
    proxies: tuple[Network, ...] = ()
    public_origin: str | None = None

    @classmethod
    def from_config(cls, config: Config) -> SecurityPolicy:
        names = set(LOOPBACK_NAMES)
        on_lan = config.https or not _loopback_bind(config.host)
        if on_lan:
            names.update(hostnames())
        if config.host and not _is_ip(config.host) and config.host not in ("", "0.0.0.0", "::"):
            names.add(config.host.lower())
        public = None
        if config.public_url:
            parts = urlsplit(config.public_url)
            names.add((parts.hostname or "").lower())
            public = _origin(parts.scheme, (parts.hostname or "").lower(), parts.port)
        return cls(frozenset(names), on_lan, config.trusted_proxies, public)

    def host_allowed(self, host: str) -> bool:
        """Names must be ours; IP literals are never a rebinding vector (the page's
        origin is then that IP itself), so any is fine once we listen on the LAN."""
        ip = _is_ip(host)
        if ip is not None:
            return ip.is_loopback or self.any_ip
        return host.rstrip(".") == host and host in self.names


def _loopback_bind(host: str) -> bool:
    ip = _is_ip(host.strip("[]")) if host else None
    return host == "localhost" or (ip is not None and ip.is_loopback)


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        found[name] = f"{found[name]}, {value}" if name in found and name != "cookie" else value
    return found


def _has_session_cookie(cookie_header: str | None) -> bool:
    if not cookie_header or SESSION_COOKIE not in cookie_header:
        return False
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return True  # unparseable but mentions it: treat as cookie-authenticated
    return SESSION_COOKIE in jar


def same_origin_request(headers: dict[str, str], allowed_origins: Iterable[str]) -> bool:
    """Did a browser send this from one of our own pages?"""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = headers.get("origin")
    return origin is not None and origin.lower() in set(allowed_origins)


class SecurityMiddleware:
    """Wraps the app; see the module docstring."""

    def __init__(self, app: ASGIApp, policy: SecurityPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _adding_headers(send, scope.get("path", ""))
        try:
            scope = self._check(scope)
        except NotifierError as exc:
            await _send_error(send, exc)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: dict[str, Any]) -> dict[str, Any]:
        headers = _headers(scope)
        client = scope.get("client")
        seen = resolve(
            client[0] if client else None, scope.get("scheme", "http"), headers, self.policy.proxies
        )
        host_value = seen.host or headers.get("host", "")
        parsed = split_host(host_value)
        if parsed is None or not self.policy.host_allowed(parsed[0]):
            raise InvalidHost(f"This server does not answer to the host {host_value[:100]!r}.")
        if seen.host or seen.scheme != scope.get("scheme") or (client and seen.client != client[0]):
            scope = dict(scope)
            scope["scheme"] = seen.scheme
            scope["client"] = (seen.client, client[1] if client else 0)
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"host"]
            scope["headers"].append((b"host", host_value.encode("latin-1")))
        if (
            scope.get("method") in MUTATING
            and "authorization" not in headers
            and _has_session_cookie(headers.get("cookie"))
        ):
            own = {_origin(seen.scheme, *parsed)}
            if self.policy.public_origin:
                own.add(self.policy.public_origin)
            if not same_origin_request(headers, own):
                raise CrossSiteRequest(
                    "Cross-site request refused: cookie-authenticated changes must come from this app's own pages."
                )
        return scope


def _adding_headers(send: Any, path: str) -> Any:
    no_store = path.startswith(NO_STORE_PREFIXES)

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            present = {name.lower() for name, _ in headers}
            headers.extend((n, v) for n, v in SECURITY_HEADERS if n not in present)
            if no_store and b"cache-control" not in present:
                headers.append((b"cache-control", b"no-store"))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def _send_error(send: Any, exc: NotifierError) -> None:
    body = json.dumps({"error": exc.code, "detail": exc.detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
