"""Sending one Web Push message: encrypt, sign, POST, classify the answer.

Encryption is pywebpush's aes128gcm (RFC 8291): `WebPusher.encode` is one call
to its own `http_ece` with a fresh P-256 key, made here the same way without
importing pywebpush itself, which pulls in requests and aiohttp (about 17 MB
of a ~75 MB server) for sending code we never run. The HTTP request is ours
(`pushhttp`, keep-alive connections shared by every send), so we control every
header, the timeout, and that redirects are never followed (a redirect would
let a push service point us anywhere, SSRF again).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from itertools import islice
from typing import Any

from notifier import base64url
from notifier.db.records import Subscription
from notifier.errors import InvalidEndpoint
from notifier.push import payload as payloads
from notifier.push.endpoints import check_endpoint
from notifier.push.http_client import HttpError, PushHttpClient
from notifier.push.vapid import VapidKeys, subject_problem

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # seconds for one POST, connect included
DEFAULT_TTL = 4 * 60 * 60  # a reminder is still worth showing a few hours late
MAX_ATTEMPTS = 4
BACKOFF_BASE = 1.0  # seconds; doubled per attempt, with jitter
MAX_RETRY_AFTER = 15 * 60
SEAL_BATCH = 32  # messages a fan-out encrypts and signs in one go (~5 ms of CPU)


class Outcome(str, Enum):
    """What became of one push, as the API reports it."""

    DELIVERED = "delivered"
    GONE = "gone"  # 404/410: the subscription is dead; we delete it
    RETRY = "retry"  # 429/5xx/network: try again later
    ERROR = "error"  # our configuration or request is wrong; keep the subscription


@dataclass(frozen=True)
class Target:
    """Where one push goes: a stored subscription's delivery fields."""

    id: int
    endpoint: str
    p256dh: str
    auth: str

    @classmethod
    def of(cls, sub: Subscription) -> Target:
        return cls(sub.id, sub.endpoint, sub.p256dh, sub.auth)


@dataclass(frozen=True)
class PushResult:
    """The final result of sending to one subscription."""

    subscription_id: int
    outcome: Outcome
    status: int | None
    detail: str
    attempts: int = 1
    retry_after: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "subscription_id": self.subscription_id,
            "outcome": self.outcome.value,
            "status": self.status,
            "detail": self.detail,
        }


def classify(status: int) -> Outcome | None:
    """Map a push service status to an outcome; None means 'shrink and resend' (413)."""
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status in (404, 410):
        return Outcome.GONE
    if status == 413:
        return None
    if status == 429 or status >= 500:
        return Outcome.RETRY
    return Outcome.ERROR


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), MAX_RETRY_AFTER))
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when - now, MAX_RETRY_AFTER))


def _warm_up(http: PushHttpClient) -> None:
    import http_ece  # noqa: F401

    http.warm_up()


def encrypt(target: Target, data: bytes) -> bytes:
    """aes128gcm-encrypt `data` for one subscription (RFC 8291), as pywebpush's
    `WebPusher(...).encode(data, "aes128gcm")["body"]` does: an ephemeral P-256 key
    per message, a random salt (http_ece's), the subscription's key and auth secret."""
    import http_ece  # imported late, like the rest of the crypto: only a send needs it
    from cryptography.hazmat.primitives.asymmetric import ec

    return bytes(
        http_ece.encrypt(
            data,
            salt=None,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=base64url.decode(target.p256dh),
            auth_secret=base64url.decode(target.auth),
            version="aes128gcm",
        )
    )


class PushSender:
    """Sends pushes over one shared HTTP session, with bounded retries."""

    def __init__(
        self,
        vapid: VapidKeys,
        *,
        extra_hosts: frozenset[str] = frozenset(),
        timeout: float = DEFAULT_TIMEOUT,
        concurrency: int = 64,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base: float = BACKOFF_BASE,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.vapid = vapid
        self.extra_hosts = extra_hosts
        self.timeout = timeout
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self._sleep = sleep
        self._monotonic = monotonic
        self._http: PushHttpClient | None = None

    async def __aenter__(self) -> PushSender:
        # No proxy settings are read: pushes go straight to the push service.
        self._http = PushHttpClient(limit_per_origin=self.concurrency, timeout=self.timeout)
        # The encryption takes a moment to import and the CA store a few ms to
        # load: do both now, in a thread, so neither start-up nor the first
        # reminder waits for them.
        self._warm = asyncio.get_running_loop().run_in_executor(None, _warm_up, self._http)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._warm
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def send(
        self,
        target: Target,
        message: dict[str, Any],
        *,
        subject: str | None,
        topic: str | None = None,
        urgency: str = "high",
        ttl: int = DEFAULT_TTL,
        deadline: float | None = None,
        data: bytes | None = None,
        sealed: tuple[bytes, str] | None = None,
    ) -> PushResult:
        """Send one message, retrying 429/5xx/network errors until `deadline` (monotonic).

        `data` is `message` already encoded, when the caller sends it to many;
        `sealed` is `data` already encrypted and signed (`seal`) for the first attempt.
        """
        problem = self._refusal(target, subject)
        if problem:
            return PushResult(target.id, Outcome.ERROR, None, problem, attempts=0)

        attempt = 0
        if data is None:
            data = payloads.encode(message)
        while True:
            attempt += 1
            if sealed is None:
                sealed = self.seal(target, data, subject or "")
            status, detail, retry_after = await self._post_once(target, sealed, topic, urgency, ttl)
            sealed = None  # a retry signs anew
            outcome = classify(status) if status is not None else Outcome.RETRY
            if outcome is None:  # 413: shrink once per attempt, then give up
                smaller = payloads.shrink(message)
                if smaller == message or attempt >= self.max_attempts:
                    return PushResult(
                        target.id, Outcome.ERROR, status, "payload too large", attempt
                    )
                message, data = smaller, payloads.encode(smaller)
                continue
            if outcome is not Outcome.RETRY:
                return PushResult(target.id, outcome, status, detail, attempt)
            wait = retry_after if retry_after is not None else self._backoff(attempt)
            remaining = (deadline - self._monotonic()) if deadline is not None else float("inf")
            if attempt >= self.max_attempts or wait > remaining:
                return PushResult(target.id, Outcome.RETRY, status, detail, attempt, retry_after)
            log.info("push to subscription %s: %s; retrying in %.1fs", target.id, detail, wait)
            await self._sleep(wait)

    def _refusal(self, target: Target, subject: str | None) -> str | None:
        """Why this push must not be sent at all, or None (both checks are memoised)."""
        problem = subject_problem(subject)
        if problem:
            return problem
        try:
            check_endpoint(target.endpoint, self.extra_hosts)
        except InvalidEndpoint as exc:
            return f"endpoint refused: {exc.detail}"
        return None

    def _backoff(self, attempt: int) -> float:
        base = self.backoff_base * (2 ** (attempt - 1))
        return base * random.uniform(0.75, 1.25)

    def seal(self, target: Target, data: bytes, subject: str) -> tuple[bytes, str]:
        """The CPU-heavy part of a push: `data` encrypted for `target`, and a fresh VAPID header."""
        return encrypt(target, data), self.vapid.authorization(target.endpoint, subject)

    async def _post_once(
        self, target: Target, sealed: tuple[bytes, str], topic: str | None, urgency: str, ttl: int
    ) -> tuple[int | None, str, float | None]:
        """One POST; returns (status or None for a network error, detail, retry-after)."""
        assert self._http is not None, "use PushSender as an async context manager"
        body, authorization = sealed
        headers = {
            "Authorization": authorization,
            "Content-Encoding": "aes128gcm",
            # RFC 8291 bodies are opaque bytes; web-push-testing and some services insist on it.
            "Content-Type": "application/octet-stream",
            "TTL": str(ttl),
            "Urgency": urgency,
        }
        if topic:
            headers["Topic"] = topic
        try:
            resp = await self._http.post(target.endpoint, body, headers)
        except TimeoutError:
            return None, f"timed out after {self.timeout:g}s", None
        except HttpError as exc:
            return None, f"network error: {exc}", None
        if 200 <= resp.status < 300:  # the common case: nothing more to explain
            return resp.status, f"{resp.status} {resp.reason}".strip(), None
        retry_after = parse_retry_after(resp.headers.get("retry-after"), time.time())
        return resp.status, _describe(resp.status, resp.reason, resp.text), retry_after

    async def fan_out(
        self,
        targets: Iterable[Target],
        message: dict[str, Any],
        *,
        subject: str | None,
        per_target: Callable[[Target], dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> list[PushResult]:
        """Send the message to many subscriptions, at most `concurrency` at once.

        `per_target` gives each subscription its own copy (an action token bound
        to that device); without it the message is encoded once for all.
        """
        shared = payloads.encode(message) if per_target is None else b""
        todo = list(targets)
        results: list[PushResult | None] = [None] * len(todo)
        queue = iter(enumerate(todo))
        Ready = tuple[int, Target, dict[str, Any], bytes, tuple[bytes, str] | None]
        ready: deque[Ready] = deque()

        def refill() -> None:
            # Encrypt and sign a few messages back to back: crypto and network
            # code each run faster with the caches to themselves.
            for i, target in islice(queue, SEAL_BATCH):
                own = message if per_target is None else per_target(target)
                data = shared if per_target is None else payloads.encode(own)
                refused = self._refusal(target, subject)  # send() reports why
                sealed = None if refused else self.seal(target, data, subject or "")
                ready.append((i, target, own, data, sealed))

        # A fixed set of workers: the bound costs nothing per message, where a
        # task and a semaphore per target would.
        async def worker() -> None:
            while True:
                if not ready:
                    refill()
                    if not ready:
                        return
                i, target, own, data, sealed = ready.popleft()
                results[i] = await self.send(
                    target, own, subject=subject, data=data, sealed=sealed, **kwargs
                )

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(todo)))))
        return results  # type: ignore[return-value]  # every slot is filled


def _describe(status: int, reason: str, text: str) -> str:
    if 300 <= status < 400:
        return f"{status} {reason}: redirect not followed".strip()
    return f"{status} {reason}: {text[:300]}".strip().rstrip(":")
