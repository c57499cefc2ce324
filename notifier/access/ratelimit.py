"""Counting failures per client, with an injected clock.

Used for guessable secrets (pairing codes): a client that guesses too often is
refused before its next guess is even checked, and each secret survives only
so many wrong guesses, however many addresses an attacker has.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta


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


class Guess:
    """One admitted guess: a slot held from before it is checked until it is settled."""

    __slots__ = ("at", "burned_before", "key", "wall")

    def __init__(self, key: str, at: float, wall: datetime | None) -> None:
        self.key = key
        self.at = at
        self.wall = wall  # set when the guess counts against the live secrets
        # Secrets made at or before this time had lived through enough other
        # guesses when this one was admitted: it may not match them.
        self.burned_before: datetime | None = None


class GuessLimiter:
    """Guesses at short secrets (pairing codes), bounded two ways.

    Per client: at most `per_client` guesses in `window` seconds, counted when
    the guess is admitted, before anything is awaited, so concurrent guesses
    cannot all slip in before the first one is counted; a right guess gives
    its slot back. Refused guesses are never checked.

    Per secret: each secret lives through at most `per_secret` wrong guesses
    from anyone; `burned_before()` says which secrets have, and the caller
    stops accepting them. A stranger with many addresses can spoil the codes
    that are live while they guess, but never the owner's next one, and never
    lock anyone out: that is what the old global budget did. The guess
    carries the answer as `burned_before`, fixed when it is admitted.
    """

    def __init__(
        self,
        *,
        per_client: int,
        per_secret: int,
        window: float,
        secret_lifetime: timedelta,
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.per_client = per_client
        self.per_secret = per_secret
        self.window = window
        self.secret_lifetime = secret_lifetime
        self.monotonic = monotonic
        self.max_keys = max_keys
        self._by_key: OrderedDict[str, deque[Guess]] = OrderedDict()
        self._against_secrets: deque[Guess] = deque()

    def admit(self, key: str, now: datetime, *, counts: bool = True) -> Guess | float:
        """Hold a slot for one guess by `key`, or the seconds until it may try again.

        `counts`: whether the guess could match a secret (a malformed one cannot,
        so it costs the client a slot but no secret any of its budget).
        """
        mono = self.monotonic()
        held = self._by_key.pop(key, None) or deque()
        while held and held[0].at <= mono - self.window:
            held.popleft()
        if len(held) >= self.per_client:
            self._by_key[key] = held
            return max(held[0].at + self.window - mono, 0.001)
        guess = Guess(key, mono, now if counts else None)
        held.append(guess)
        self._by_key[key] = held  # most recently guessing last
        while len(self._by_key) > self.max_keys:
            self._by_key.popitem(last=False)  # bounded memory under a spray of addresses
        if counts:
            log = self._against_secrets
            while log and log[0].wall is not None and log[0].wall <= now - self.secret_lifetime:
                log.popleft()
            if len(log) >= self.per_secret:
                guess.burned_before = log[-self.per_secret].wall
            log.append(guess)
        return guess

    def right(self, guess: Guess) -> None:
        """The guess was right: give its slots back."""
        held = self._by_key.get(guess.key)
        if held is not None and guess in held:
            held.remove(guess)
        if guess in self._against_secrets:
            self._against_secrets.remove(guess)
