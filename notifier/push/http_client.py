"""The HTTP/1.1 client that carries push messages: one POST, one short answer.

A push POST is the narrowest kind of HTTP: a known method, a small body, a
status code and at most a Retry-After header and a line of text back. This
client does exactly that on keep-alive connections pooled per origin, with
llhttp (through httptools) parsing the answers. It never follows redirects,
never reads proxy settings, and bounds what it keeps of an answer.

Why not aiohttp: on a fan-out its per-request work (about 100 µs of CPU on
loopback) cost as much as the encryption and signing of the message itself;
this client needs about 30 µs (bench/push_fanout.py).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

import httptools

from notifier import __version__

USER_AGENT = f"StudyNotifier/{__version__}"
KEEPALIVE_EXPIRY = 10.0  # seconds an idle connection is kept for reuse
MAX_HEADER_BYTES = 64 * 1024  # of an answer's headers; more is a broken or hostile server
MAX_BODY_KEPT = 2048  # bytes of an answer's body kept for the error detail
MAX_BODY_READ = 64 * 1024  # past this the connection is dropped instead of drained


class HttpError(Exception):
    """The request failed below HTTP: connect, TLS, a reset, a malformed answer."""


class _Stale(HttpError):
    """A reused connection closed before answering (the server timed it out)."""


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace").strip()


@dataclass(frozen=True)
class _Url:
    origin: tuple[str, str, int]  # scheme, host, port: the pool key
    head: bytes  # request line and Host header


@lru_cache(maxsize=4096)
def _parse(url: str) -> _Url:
    """Split a push endpoint once; endpoints were checked by `check_endpoint`."""
    try:
        parts = urlsplit(url)
        explicit_port = parts.port
    except ValueError as exc:
        raise HttpError(f"not a valid URL: {exc}") from None
    default_port = 443 if parts.scheme == "https" else 80
    port = explicit_port or default_port
    hostname = parts.hostname  # computed anew on every access
    if parts.scheme not in ("http", "https") or not hostname:
        raise HttpError(f"not an http(s) URL: {url[:80]}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(c in target or c in parts.netloc for c in "\r\n \t"):
        raise HttpError("URL contains whitespace")
    if "@" in parts.netloc:
        raise HttpError("URL contains user info")
    host = f"[{hostname}]" if ":" in hostname else hostname
    if port != default_port:
        host += f":{port}"
    head = f"POST {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n"
    try:
        return _Url((parts.scheme, hostname, port), head.encode("ascii"))
    except UnicodeEncodeError:
        raise HttpError("URL is not ASCII") from None


def default_ssl_context() -> ssl.SSLContext:
    """Verify push services against certifi's CA bundle, as requests does.

    The same roots on every OS and in a frozen build (whose OpenSSL looks for
    system CAs where the build machine kept them), and a fraction of the
    memory of the system store.
    """
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class _Connection(asyncio.Protocol):
    """One keep-alive connection, answering one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.reusable = False
        self.used = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Response] | None = None
        self._response: Response | None = None
        self._got_bytes = False
        self._header_bytes = 0  # of parsed header names and values
        self._head_read = 0  # raw bytes read while an answer's head was incomplete
        self._headers_done = False
        self._until_close = False  # the answer's body ends when the connection does
        self._complete = False  # the final answer to the current request has been read
        self._body_read = 0
        self._body_kept = 0
        self._body: list[bytes] = []

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            # Nothing was asked: a stray answer would be taken for the next request's.
            self._fail(HttpError("bytes arrived with no request waiting"))
            return
        self._got_bytes = True
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._fail(HttpError(f"malformed answer: {exc!r}"))
            return
        if not self._headers_done:  # llhttp/httptools buffer a head without limit
            self._head_read += len(data)
            if self._head_read > MAX_HEADER_BYTES:
                self._fail(HttpError("answer headers too large"))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self.transport = None
        if self._waiter is None or self._waiter.done():
            return
        if self._response is not None and self._headers_done and self._until_close:
            self._finish()  # an answer delimited by the close itself
        elif not self._got_bytes and self.used:
            self._fail(_Stale("the server closed an idle connection"))
        else:
            self._fail(
                HttpError(
                    f"connection closed: {exc}" if exc else "connection closed before an answer"
                )
            )

    # httptools callbacks

    def _current(self) -> Response:
        if self._response is None:  # llhttp skips on_status when the reason is empty
            self._response = Response(self.parser.get_status_code(), "")
        return self._response

    def on_message_begin(self) -> None:
        if self._complete:
            raise HttpError("bytes after the answer")
        self._headers_done = False

    def on_status(self, status: bytes) -> None:
        self._current().reason += status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        # data_received bounds what llhttp buffers across reads; this bounds
        # what one large read can still bring in.
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > MAX_HEADER_BYTES:
            raise HttpError("answer headers too large")
        self._current().headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        response = self._current()
        self._headers_done = True
        framing = response.headers.get("transfer-encoding", "").lower()
        self._until_close = (
            response.status >= 200
            and response.status not in (204, 304)
            and "content-length" not in response.headers
            and not framing.rstrip().endswith("chunked")
        )

    def on_body(self, body: bytes) -> None:
        self._body_read += len(body)
        if self._body_kept < MAX_BODY_KEPT:
            self._body.append(body)
            self._body_kept += len(body)
        if self._body_read > MAX_BODY_READ:
            self.reusable = False
            self._finish()
            self.close()

    def on_message_complete(self) -> None:
        if self._response is None or self._response.status < 200:
            self._response = None  # 1xx interim answer: the real one follows
            return
        self._complete = True
        self.reusable = self.parser.should_keep_alive()
        self._finish()

    # ours

    def _finish(self) -> None:
        if self._waiter is not None and not self._waiter.done() and self._response is not None:
            self._response.body = b"".join(self._body)[:MAX_BODY_KEPT]
            self._waiter.set_result(self._response)

    def _fail(self, exc: HttpError) -> None:
        self.reusable = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    async def request(self, message: bytes) -> Response:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._response, self._got_bytes, self._body = None, False, []
        self._header_bytes = self._head_read = self._body_read = self._body_kept = 0
        self._headers_done = self._until_close = self._complete = False
        self.reusable = False
        self.transport.write(message)
        try:
            return await self._waiter
        finally:
            self._waiter = None
            self.used = True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()
            self.transport = None


class _Pool:
    """The connections to one origin: at most `limit` in use, idle ones reused newest first."""

    def __init__(self, limit: int) -> None:
        self.gate = asyncio.Semaphore(limit)
        self.idle: deque[_Connection] = deque()
        self.closed = False

    def take(self, now: float) -> _Connection | None:
        while self.idle and now - self.idle[0].idle_since >= KEEPALIVE_EXPIRY:
            self.idle.popleft().close()  # the oldest ones, expired
        while self.idle:
            conn = self.idle.pop()
            if (
                conn.transport is not None
                and not conn.transport.is_closing()
                and now - conn.idle_since < KEEPALIVE_EXPIRY
            ):
                return conn
            conn.close()
        return None

    def close(self) -> None:
        self.closed = True  # connections still in use are closed when their answer is in
        while self.idle:
            self.idle.pop().close()


class PushHttpClient:
    """POSTs to push services over pooled keep-alive connections."""

    def __init__(
        self,
        *,
        limit_per_origin: int = 64,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.limit = limit_per_origin
        self.timeout = timeout
        self._ssl = ssl_context
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._closed = False

    def warm_up(self) -> None:
        """Load the CA certificates now (blocking: call it in a thread), not at the first send."""
        if self._ssl is None:
            self._ssl = default_ssl_context()

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """POST `body`; raises HttpError for failures below HTTP, TimeoutError past the timeout."""
        if self._closed:
            raise HttpError("the client is closed")
        parsed = _parse(url)
        lines = [parsed.head]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"header {name!r} contains a line break")
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        lines.append(b"Content-Length: %d\r\n\r\n" % len(body))
        lines.append(body)
        message = b"".join(lines)

        pool = self._pools.get(parsed.origin)
        if pool is None:
            pool = self._pools[parsed.origin] = _Pool(self.limit)
        async with asyncio.timeout(self.timeout), pool.gate:
            conn = pool.take(time.monotonic())
            if conn is not None:
                try:
                    return await self._exchange(pool, conn, message)
                except _Stale:
                    pass  # nothing was answered: send once more on a fresh connection
            conn = await self._connect(parsed.origin)
            return await self._exchange(pool, conn, message)

    async def _exchange(self, pool: _Pool, conn: _Connection, message: bytes) -> Response:
        try:
            response = await conn.request(message)
        except BaseException:
            conn.close()  # a timeout or cancellation leaves the answer unread
            raise
        if conn.reusable and conn.transport is not None and not pool.closed:
            conn.idle_since = time.monotonic()
            pool.idle.append(conn)
        else:
            conn.close()
        return response

    async def _connect(self, origin: tuple[str, str, int]) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            self.warm_up()
            context = self._ssl
        try:
            _, conn = await asyncio.get_running_loop().create_connection(
                _Connection,
                host,
                port,
                ssl=context,
                server_hostname=host if context else None,
                # Try the next address (IPv4 after IPv6) after 250 ms rather than
                # after a timeout: home networks with broken IPv6 are common.
                happy_eyeballs_delay=0.25,
            )
        except (
            OSError,
            ValueError,
        ) as exc:  # ssl.SSLError is an OSError; UnicodeError (IDNA) a ValueError
            raise HttpError(f"{exc.__class__.__name__}: {exc}") from exc
        return conn

    async def close(self) -> None:
        self._closed = True
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
