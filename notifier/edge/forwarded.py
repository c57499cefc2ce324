"""Forwarded headers (RFC 7239 `Forwarded`, and the X-Forwarded-* trio), trusted only from our proxies.

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
_PAIR = re.compile(r'\s*([A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)\s*')


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


def _forwarded_hops(value: str) -> list[dict[str, str]]:
    hops = []
    for element in _split_outside_quotes(value, ","):
        hop = {}
        for pair in _split_outside_quotes(element, ";"):
            m = _PAIR.fullmatch(pair)
            if m:
                hop[m.group(1).lower()] = m.group(2).strip('"')
        hops.append(hop)
    return hops


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _last(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(",")[-1].strip() or None


def resolve(
    peer: str | None, scheme: str, headers: dict[str, str], proxies: tuple[Network, ...]
) -> Origin:
    """What to believe about a request that reached us from `peer`.

    `headers` maps lower-case names to values (repeats joined with ", ").
    The client is the right-most forwarded address that is not itself one of
    our proxies; scheme and host are the ones our nearest proxy reported.
    """
    if not trusted(peer, proxies):
        return Origin(peer, scheme, None)
    if "forwarded" in headers:
        hops = _forwarded_hops(headers["forwarded"])
    else:
        hops = [{"for": f} for f in (headers.get("x-forwarded-for") or "").split(",") if f.strip()]
        last = {
            "proto": _last(headers.get("x-forwarded-proto")),
            "host": _last(headers.get("x-forwarded-host")),
        }
        if not hops:
            hops = [{}]
        hops[-1].update({k: v for k, v in last.items() if v})
    if not hops:
        return Origin(peer, scheme, None)
    nearest = hops[-1]
    client = peer
    for hop in reversed(hops):
        ip = parse_ip(hop.get("for"))
        if ip is None:
            break  # "unknown" or an obfuscated name: keep what we know for sure
        client = str(ip)
        if not any(ip in net for net in proxies):
            break
    proto = (nearest.get("proto") or "").lower()
    host = nearest.get("host")
    return Origin(
        client,
        proto if proto in ("http", "https") else scheme,
        host.lower() if host and _HOST.match(host) else None,
    )
