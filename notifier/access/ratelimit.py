"""Counting failures per client, with an injected clock.

Used for guessable secrets (pairing codes): a client that fails too often is
refused before its next guess is even checked, and a global budget bounds the
total guesses however many addresses an attacker has.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable


def client_key(address: str | None) -> str:
    """A rate-limit key for a peer address: IPv6 by /64, as one host usually owns a whole /64."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class FailureLimiter:
    """At most `per_client` failures per key and `overall` in total within `window` seconds."""

    def __init__(
        self,
        *,
        per_client: int,
        overall: int,
        window: float,
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.per_client = per_client
        self.overall = overall
        self.window = window
        self.monotonic = monotonic
        self.max_keys = max_keys
        self._by_key: OrderedDict[str, deque[float]] = OrderedDict()
        self._all: deque[float] = deque()

    def _prune(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None if it may try now."""
        now = self.monotonic()
        self._prune(self._all, now)
        waits = []
        if len(self._all) >= self.overall:
            waits.append(self._all[0] + self.window - now)
        times = self._by_key.get(key)
        if times is not None:
            self._prune(times, now)
            if len(times) >= self.per_client:
                waits.append(times[0] + self.window - now)
            elif not times:
                del self._by_key[key]
        return max(waits) if waits else None

    def failed(self, key: str) -> None:
        """Record one failure for `key`."""
        now = self.monotonic()
        self._all.append(now)
        times = self._by_key.pop(key, None) or deque()
        times.append(now)
        self._by_key[key] = times  # most recently failing last
        while len(self._by_key) > self.max_keys:
            self._by_key.popitem(last=False)  # bounded memory under a spray of addresses
