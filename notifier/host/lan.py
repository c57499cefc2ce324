"""This machine's names and addresses on the LAN (for the certificate and the QR code).

No extra dependency: the address of the default route is found by "connecting"
a UDP socket (no packet is sent) and the rest from the host name's addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Protocol

from notifier.config import valid_hostname

# Documentation addresses (RFC 5737 / RFC 3849): never contacted, a UDP
# connect() only asks the kernel which source address it would route from.
_PROBES = ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1"))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Lan:
    """What phones on the LAN can call this machine."""

    hostnames: tuple[str, ...]
    addresses: tuple[Address, ...]

    @property
    def primary(self) -> str | None:
        """The address to put in a QR code: the first IPv4 one, else the first IPv6 one."""
        for family in (4, 6):
            for addr in self.addresses:
                if addr.version == family:
                    return str(addr)
        return None


def usable(addr: Address) -> bool:
    """An address a phone on the LAN could reach us at."""
    return not (addr.is_loopback or addr.is_link_local or addr.is_multicast or addr.is_unspecified)


def _route_addresses() -> list[Address]:
    found = []
    for family, probe in _PROBES:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 9))
                found.append(ipaddress.ip_address(sock.getsockname()[0].split("%")[0]))
        except (OSError, ValueError):
            continue  # no route for that family
    return found


def _hostname_addresses(hostname: str) -> list[Address]:
    try:
        infos = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    found = []
    for info in infos:
        try:
            found.append(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        except ValueError:
            continue
    return found


def hostnames() -> tuple[str, ...]:
    """This machine's names (no resolver involved, so cheap to call anywhere)."""
    host = socket.gethostname().lower().rstrip(".")
    if not valid_hostname(host):
        return ()
    short = host.split(".")[0]
    names = [host, short, f"{short}.local"]  # .local: mDNS, what phones resolve on most home LANs
    return tuple(dict.fromkeys(names))


def discover(name: str | None = None) -> Lan:
    """Scan now; may block briefly on the resolver, so call it off the event loop.

    `name` (NOTIFIER_HTTPS_NAME), the name phones are given, comes first so the
    certificate covers it.
    """
    addresses: list[Address] = []
    for addr in _route_addresses() + _hostname_addresses(socket.gethostname()):
        if usable(addr) and addr not in addresses:
            addresses.append(addr)
    names = hostnames()
    if name is not None:
        try:
            given = ipaddress.ip_address(name)
        except ValueError:
            names = tuple(dict.fromkeys((name, *names)))
        else:
            addresses = [given, *(a for a in addresses if a != given)]
    return Lan(names, tuple(addresses))


class LanListener(Protocol):
    """The LAN HTTPS listener as the settings and pairing screens see it (serve/ runs it)."""

    @property
    def running(self) -> bool: ...

    error: str | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
