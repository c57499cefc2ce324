"""Push endpoint validation: an exact allow-list, checked at subscribe and at send.

A push endpoint is a URL the browser hands us and we later POST to, so an
unchecked one turns the server into an SSRF proxy into the user's LAN. The
check parses the URL once and compares the host exactly; it never uses a
substring or regex on the raw string (ntfy's regex allow-list was bypassable
with `https://192.168.1.1/admin?x=.google.com/`).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit

from notifier.errors import InvalidEndpoint

MAX_ENDPOINT_LENGTH = 2048

# Exact hosts of the browsers' push services, and suffixes (written with a
# leading dot) for services that shard by subdomain.
PUSH_HOSTS = frozenset(
    {
        "fcm.googleapis.com",  # Chrome, Edge on Android, Opera, Samsung
        "android.googleapis.com",  # legacy GCM-era Chrome endpoints
        "updates.push.services.mozilla.com",  # Firefox
        "push.services.mozilla.com",
        "web.push.apple.com",  # Safari / iOS home-screen apps
    }
)
PUSH_HOST_SUFFIXES = (".notify.windows.com",)  # Edge on Windows (WNS)


def _host_allowed(host: str) -> bool:
    if host in PUSH_HOSTS:
        return True
    return any(host.endswith(sfx) and len(host) > len(sfx) for sfx in PUSH_HOST_SUFFIXES)


def check_endpoint(endpoint: object, extra_hosts: frozenset[str] = frozenset()) -> str:
    """The endpoint in its one normal form if it is an allowed push service URL, else raise InvalidEndpoint.

    Normal form: lower-case scheme and host, no port where it is the default,
    so one subscription is one stored row however its URL was written.
    """
    if not isinstance(endpoint, str):
        raise InvalidEndpoint("endpoint must be a non-empty string")
    # The answer depends only on these two values, and every send re-checks:
    # memoising makes the re-check free for large fan-outs.
    normal, problem = _check(endpoint, extra_hosts)
    if problem:
        raise InvalidEndpoint(problem)
    return normal


@lru_cache(maxsize=4096)
def _check(endpoint: str, extra_hosts: frozenset[str]) -> tuple[str, str | None]:
    try:
        return _check_uncached(endpoint, extra_hosts), None
    except InvalidEndpoint as exc:
        return "", exc.detail


def _check_uncached(endpoint: str, extra_hosts: frozenset[str]) -> str:
    """The full check; raises InvalidEndpoint naming the first problem.

    `extra_hosts` holds exact `host:port` pairs (NOTIFIER_PUSH_EXTRA_HOSTS) for a
    self-hosted or test push service; only those may use plain http or another port.
    """
    if not endpoint:
        raise InvalidEndpoint("endpoint must be a non-empty string")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise InvalidEndpoint("endpoint is too long")
    # Printable ASCII only, no spaces or backslashes (parsers disagree on them).
    if not (endpoint.isascii() and endpoint.isprintable()) or " " in endpoint or "\\" in endpoint:
        raise InvalidEndpoint("endpoint contains characters a URL may not have")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as exc:
        raise InvalidEndpoint(f"endpoint is not a valid URL: {exc}") from None
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidEndpoint("endpoint must not contain user info")
    if parts.fragment or "#" in endpoint:
        raise InvalidEndpoint("endpoint must not contain a fragment")
    if not host:
        raise InvalidEndpoint("endpoint has no host")
    _check_port_text(parts.netloc)

    extra_key = f"{host}:{port if port is not None else _default_port(parts.scheme)}"
    if extra_key in extra_hosts and parts.scheme in ("http", "https"):
        return normal_form(endpoint)

    if parts.scheme != "https":
        raise InvalidEndpoint("endpoint must use https")
    if port not in (None, 443):
        raise InvalidEndpoint("endpoint must use the default https port")
    if _is_ip_literal(host):
        raise InvalidEndpoint("endpoint must name a push service, not an IP address")
    if host.endswith("."):
        raise InvalidEndpoint("endpoint host must not end with a dot")
    if len(host) > 253 or not all(0 < len(label) <= 63 for label in host.split(".")):
        raise InvalidEndpoint("endpoint host is not a valid DNS name")
    if not _host_allowed(host):
        raise InvalidEndpoint(f"{host} is not a known push service")
    return normal_form(endpoint)


def _check_port_text(netloc: str) -> None:
    """A port, if written, is plain digits: `:0443` and a bare `:` are refused.

    Parsers disagree on them (Python reads `:0443` as 443, some as octal or
    as no port), and two spellings of one endpoint would be two rows.
    """
    after_host = netloc.rpartition("]")[2] if netloc.startswith("[") else netloc
    if ":" not in after_host:
        return
    text = after_host.rpartition(":")[2]
    if not text.isdigit() or not text.isascii() or (text.startswith("0")):
        raise InvalidEndpoint("endpoint port must be plain digits without leading zeros")


def normal_form(endpoint: str) -> str:
    """scheme://host[:port]/path?query with scheme and host lower-cased and a default port dropped."""
    parts = urlsplit(endpoint)
    return origin(endpoint) + parts.path + (f"?{parts.query}" if parts.query else "")


def _default_port(scheme: str) -> int:
    return {"http": 80, "https": 443}.get(scheme, 0)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        # Dotted forms like 0x7f.1 or 2130706433 are IPs to some resolvers.
        return host.replace(".", "").isdigit() or host.startswith("0x")
    return True


def origin(endpoint: str) -> str:
    """scheme://host[:port] of an endpoint, normalised: the VAPID `aud` (RFC 8292 §2)."""
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    shown = f"[{host}]" if ":" in host else host
    port = parts.port
    if port is None or port == _default_port(scheme):
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"
