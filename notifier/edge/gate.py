"""The request gate: one ASGI middleware every request passes before any route runs.

1. Forwarded headers are applied only when the peer is a trusted proxy.
2. The Host must be one we serve, and so must a forwarded host: a
   DNS-rebinding page on `evil.example` that resolves to 127.0.0.1 reaches our
   socket, but with `Host: evil.example`.
3. The credentials are read once (edge/credentials.py) and left on the request;
   the token guard and Idempotency-Key use exactly what was read here.
4. A change authenticated by the session cookie must come from our own pages
   (Sec-Fetch-Site, else Origin). SameSite=Strict alone does not cover other
   ports on the same host, or sibling names of a tunnel, which are same-site.
   Bearer-token requests are not CSRF-able: a browser never adds that header
   by itself, and a page cannot send it cross-origin without a preflight.
5. Changes carry JSON bodies only (415 otherwise): a `text/plain` or untyped
   body is what a page elsewhere can send without a preflight. A route that
   takes another format names it in `opt={"body_types": (...)}`.
6. Security headers go on every response, error pages and static files included.

It wraps Litestar's whole ASGI handler, not a route's middleware stack:
Litestar answers 404 and 405 before route middleware runs.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from notifier.access.tokens import attach
from notifier.config import Config
from notifier.edge.credentials import read_credentials
from notifier.edge.forwarded import Network, resolve
from notifier.edge.http import MUTATING, first, header_lists, send_error
from notifier.errors import CrossSiteRequest, InvalidHost, NotifierError, UnsupportedMediaType
from notifier.host.lan import hostnames

log = logging.getLogger(__name__)

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
JSON_BODIES = frozenset({"application/json"})
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
    # Exact paths of routes whose bodies are not JSON, and the media types they take.
    body_types: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls, config: Config, *, lan_https: bool = False, public_url: str | None = None
    ) -> SecurityPolicy:
        """The policy for a config, plus what the app's settings add (LAN HTTPS, a public URL)."""
        names = set(LOOPBACK_NAMES)
        on_lan = config.https or lan_https or not _loopback_bind(config.host)
        if on_lan:
            names.update(hostnames())
            if config.https_name and not _is_ip(config.https_name):
                names.add(config.https_name)
        if config.host and not _is_ip(config.host) and config.host not in ("", "0.0.0.0", "::"):
            names.add(config.host.lower())
        public = None
        public_url = config.public_url or public_url
        if public_url:
            parts = urlsplit(public_url)
            names.add((parts.hostname or "").lower())
            public = _origin(parts.scheme, (parts.hostname or "").lower(), parts.port)
        return cls(frozenset(names), on_lan, config.trusted_proxies, public)

    def adopt(self, other: SecurityPolicy) -> None:
        """Take over what `other` allows, in place: the middleware holds this object."""
        self.names, self.any_ip = other.names, other.any_ip
        self.proxies, self.public_origin = other.proxies, other.public_origin

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


def same_origin_request(headers: dict[str, list[str]], allowed_origins: Iterable[str]) -> bool:
    """Did a browser send this from one of our own pages?"""
    site = first(headers, "sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = first(headers, "origin")
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
            scope, receive = self._check(scope, receive)
        except NotifierError as exc:
            # What was refused, for whoever reads the log after an attack (the
            # path is the client's text: the log formatter escapes it).
            log.warning("refused %s %s: %s", scope.get("method"), scope.get("path"), exc.code)
            await send_error(send, exc)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: dict[str, Any], receive: Any) -> tuple[dict[str, Any], Any]:
        headers = header_lists(scope)
        client = scope.get("client")
        seen = resolve(
            client[0] if client else None, scope.get("scheme", "http"), headers, self.policy.proxies
        )
        hosts = headers.get("host", [])
        host_value = hosts[0] if len(hosts) == 1 else ""
        own = self._host(host_value)
        if seen.host is not None:  # the proxy's name for us must be ours too
            host_value = seen.host
            own = self._host(host_value)
        if seen.host or seen.scheme != scope.get("scheme") or (client and seen.client != client[0]):
            scope = dict(scope)
            scope["scheme"] = seen.scheme
            scope["client"] = (seen.client, client[1] if client else 0)
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"host"]
            scope["headers"].append((b"host", host_value.encode("latin-1")))
        credentials = read_credentials(headers)
        attach(scope, credentials)
        if scope.get("method") in MUTATING:
            if credentials.via == "cookie":
                origins = {_origin(seen.scheme, *own)}
                if self.policy.public_origin:
                    origins.add(self.policy.public_origin)
                if not same_origin_request(headers, origins):
                    raise CrossSiteRequest(
                        "Cross-site request refused: cookie-authenticated changes must come from this app's own pages."
                    )
            receive = self._typed_body(scope["path"], headers, receive)
        return scope, receive

    def _host(self, value: str) -> tuple[str, int | None]:
        parsed = split_host(value)
        if parsed is None or not self.policy.host_allowed(parsed[0]):
            raise InvalidHost(f"This server does not answer to the host {value[:100]!r}.")
        return parsed

    def _typed_body(self, path: str, headers: dict[str, list[str]], receive: Any) -> Any:
        """Refuse a body that is not of the route's type; without a Content-Type, any body at all."""
        allowed = self.policy.body_types.get(path, JSON_BODIES)
        wanted = " or ".join(sorted(allowed))
        refused = UnsupportedMediaType(f"Send the request body as {wanted} (Content-Type header).")
        content_type = first(headers, "content-type")
        if content_type is not None:
            if content_type.partition(";")[0].strip().lower() not in allowed:
                raise refused
            return receive
        length = (first(headers, "content-length") or "0").strip()
        if length != "0" or "transfer-encoding" in headers:
            raise refused

        async def empty_only() -> MutableMapping[str, Any]:
            # HTTP/2 may send a body with neither header: refuse it as it arrives.
            message = await receive()
            if message.get("type") == "http.request" and message.get("body"):
                raise refused
            return message

        return empty_only


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
