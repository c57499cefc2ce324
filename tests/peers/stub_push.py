"""A programmable stub push service on 127.0.0.1 for what web-push-testing cannot simulate."""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from multidict import CIMultiDict


class VapidError(ValueError):
    """The Authorization header is not a valid, correctly signed VAPID (RFC 8292) header."""


@dataclass
class ScriptedResponse:
    """One scripted answer: status, headers (Retry-After, Location, ...), body, delay or hang."""

    status: int = 201
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str = b""
    delay: float = 0.0  # seconds to wait before answering
    hang: bool = False  # never answer; the connection is dropped when the stub stops
    drop: bool = False  # close the connection without any answer (a network error)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stub received, recorded on arrival (before any scripted delay)."""

    method: str
    path: str
    query: str
    headers: CIMultiDict[str]  # case-insensitive: req.headers["ttl"] works
    body: bytes
    received_at: float  # time.time()

    def vapid_claims(self, expected_key_b64url: str | None = None) -> dict[str, Any]:
        """Verify this request's VAPID Authorization header and return the JWT claims."""
        return verify_vapid(self.headers.get("Authorization", ""), expected_key_b64url)


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_vapid(authorization: str) -> tuple[str, str]:
    """Split `vapid t=<jwt>, k=<key>` (spaces optional) into (jwt, key)."""
    scheme, _, params = authorization.strip().partition(" ")
    if scheme.lower() != "vapid":
        raise VapidError(f"not a vapid Authorization header: {authorization[:40]!r}")
    parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    if "t" not in parts or "k" not in parts:
        raise VapidError("vapid Authorization header lacks t= or k=")
    return parts["t"], parts["k"]


def verify_vapid(authorization: str, expected_key_b64url: str | None = None) -> dict[str, Any]:
    """Verify the ES256 JWT in a VAPID header against its k= key; return the claims dict.

    Checks the signature only; tests assert `aud`, `exp` and `sub` themselves.
    """
    token, key = parse_vapid(authorization)
    if expected_key_b64url is not None and key.rstrip("=") != expected_key_b64url.rstrip("="):
        raise VapidError("k= is not the expected VAPID public key")
    try:
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), _b64url_decode(key)
        )
        header_b64, claims_b64, sig_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        claims = json.loads(_b64url_decode(claims_b64))
        sig = _b64url_decode(sig_b64)
    except ValueError as err:  # bad base64, point, JSON or token shape
        raise VapidError(f"malformed VAPID header: {err}") from None
    if header.get("alg") != "ES256":
        raise VapidError(f"JWT alg is {header.get('alg')!r}, not ES256")
    if len(sig) != 64:
        raise VapidError("ES256 signature must be 64 bytes (r || s)")
    # JWS carries raw r || s; cryptography wants DER.
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VapidError("VAPID JWT signature does not verify against k=") from None
    return claims


class StubPushService:
    """An aiohttp push-service stub in a background thread; usable from sync and async tests."""

    def __init__(self, default: ScriptedResponse | None = None) -> None:
        """`default` answers requests with nothing scripted for their path (201 if not given)."""
        self.default = default or ScriptedResponse()
        self.port: int | None = None
        self._lock = threading.Lock()
        self._scripts: dict[str, collections.deque[ScriptedResponse]] = collections.defaultdict(
            collections.deque
        )
        self._requests: list[RecordedRequest] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self, timeout: float = 10.0) -> StubPushService:
        """Start listening on a free 127.0.0.1 port; return self."""
        started = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as err:  # reported to start() below
                errors.append(err)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="stub-push-service", daemon=True)
        self._thread.start()
        if not started.wait(timeout) or errors:
            raise RuntimeError(f"stub push service did not start: {errors or 'timeout'}")
        return self

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Short shutdown timeout: a hanging scripted response must not hold up stop().
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    def stop(self, timeout: float = 10.0) -> None:
        """Release hanging requests, close the server and join its thread."""
        loop, self._loop = self._loop, None
        if loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout)

    async def _shutdown(self) -> None:
        assert self._stopping and self._runner
        self._stopping.set()
        await self._runner.cleanup()

    def __enter__(self) -> StubPushService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------

    @property
    def host_port(self) -> str:
        """ "127.0.0.1:PORT", the form NOTIFIER_PUSH_EXTRA_HOSTS takes."""
        if self.port is None:
            raise RuntimeError("stub push service not started")
        return f"127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """ "http://127.0.0.1:PORT", the VAPID `aud` a sender must use for endpoints here."""
        return f"http://{self.host_port}"

    def endpoint(self, path: str = "/push/default") -> str:
        """Full http URL of a push endpoint at `path` on this stub."""
        return self.origin + "/" + path.lstrip("/")

    # -- scripting and recording -------------------------------------------

    def script(self, path: str, *responses: ScriptedResponse | int) -> None:
        """Queue answers for `path` (a URL path or a full endpoint); each is used once, in order."""
        path = self._path_of(path)
        with self._lock:
            for r in responses:
                self._scripts[path].append(ScriptedResponse(status=r) if isinstance(r, int) else r)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of all recorded requests, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """Recorded requests for one path (or full endpoint URL)."""
        path = self._path_of(path)
        return [r for r in self.requests if r.path == path]

    def wait_for_requests(
        self, count: int = 1, timeout: float = 5.0, path: str | None = None
    ) -> list[RecordedRequest]:
        """Block until `count` requests (for `path`, if given) arrived; from async tests use asyncio.to_thread."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.requests_for(path) if path else self.requests
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} request(s) within {timeout}s, got {len(found)}"
                )
            time.sleep(0.02)

    def clear(self) -> None:
        """Forget recorded requests and unused scripted responses."""
        with self._lock:
            self._requests.clear()
            self._scripts.clear()

    def _path_of(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return "/" + path_or_url.split("://", 1)[1].partition("/")[2].partition("?")[0]
        return "/" + path_or_url.lstrip("/")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query_string,
            headers=CIMultiDict(request.headers),
            body=body,
            received_at=time.time(),
        )
        with self._lock:
            self._requests.append(recorded)
            queue = self._scripts.get(request.path)
            scripted = queue.popleft() if queue else self.default
        if scripted.hang:
            assert self._stopping
            await self._stopping.wait()
            scripted = ScriptedResponse(drop=True)
        elif scripted.delay:
            await asyncio.sleep(scripted.delay)
        if scripted.drop and request.transport:
            # Abort without answering; the response returned below then goes nowhere.
            request.transport.abort()
        return web.Response(status=scripted.status, headers=scripted.headers, body=scripted.body)
