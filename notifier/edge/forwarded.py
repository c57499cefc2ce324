"""Forwarded headers (the X-Forwarded-* trio), trusted only from our proxies.

Anyone can send these headers, so they are read only when the peer that
connected to us is a configured proxy (NOTIFIER_TRUSTED_PROXIES). Even then the
result is never identity: the client address only keys rate limits, and the
scheme and host only decide cookie flags and the Host/Origin checks.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from notifier.config import Network

_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


@dataclass(frozen=True)
class Origin:
    """Who is really asking, as far as we can tell: what the app sees instead of the socket."""

    client: str | None
    scheme: str
    host: str | None  # None: keep the request's own Host header


def parse_ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP from a socket address or a forwarded `for=` value (brackets, port, zone stripped)."""
    if not value:
        return None
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]  # IPv4 with a port
    try:
        ip = ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        return None
    return ip.ipv4_mapped or ip if ip.version == 6 else ip


def trusted(address: str | None, proxies: Iterable[Network]) -> bool:
    ip = parse_ip(address)
    return ip is not None and any(ip in net for net in proxies)


def _last(values: list[str] | None) -> str | None:
    """The right-most entry over all copies of a header: the one our proxy appended."""
    if not values:
        return None
    return ",".join(values).split(",")[-1].strip() or None


def resolve(
    peer: str | None, scheme: str, headers: dict[str, list[str]], proxies: tuple[Network, ...]
) -> Origin:
    """What to believe about a request that reached us from `peer`.

    `headers` maps lower-case names to every value sent. Only the X-Forwarded-*
    headers are read (what cloudflared, Caddy, nginx and Tailscale set), and of
    each only the right-most entry: the one our proxy appended. Entries to its
    left, and RFC 7239 `Forwarded`, come from whoever sent the request to the
    proxy, so a client could claim a new address for every guess with them.
    """
    if not trusted(peer, proxies):
        return Origin(peer, scheme, None)
    ip = parse_ip(_last(headers.get("x-forwarded-for")))
    proto = (_last(headers.get("x-forwarded-proto")) or "").lower()
    host = _last(headers.get("x-forwarded-host"))
    return Origin(
        str(ip) if ip is not None else peer,
        proto if proto in ("http", "https") else scheme,
        host.lower() if host and _HOST.match(host) else None,
    )
