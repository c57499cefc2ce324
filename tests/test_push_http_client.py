"""The push HTTP client against a scripted raw server: what it sends, what it makes of answers."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from conftest import browser_keys
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.host.lan import Lan
from notifier.host.tls import ensure_certificates
from notifier.push import http_client as pushhttp
from notifier.push.http_client import HttpError, PushHttpClient
from notifier.push.sender import PushSender, Target
from notifier.push.vapid import VapidKeys

Handler = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


class Server:
    """Reads requests on 127.0.0.1 and lets a test write each answer by hand."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[bytes] = []  # head + body of each request, as received
        self.connections = 0
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                if not await self.handler(request, reader, writer):
                    return  # the handler wants this connection closed
        finally:
            writer.close()


@asynccontextmanager
async def serving(
    handler: Handler, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Server]:
    server = Server(handler)
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=ssl_context)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


def answer(raw: bytes, keep: bool = True) -> Handler:
    async def handler(
        request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(raw)
        await writer.drain()
        return keep

    return handler


def stream(head: bytes, chunk: bytes, count: int) -> Handler:
    """Write `head`, then `chunk` `count` times or until the client hangs up."""

    async def handler(
        request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(head)
        try:
            for _ in range(count):
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        return False

    return handler


CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
HEADERS = {"TTL": "60", "Urgency": "high", "Content-Type": "application/octet-stream"}


async def test_the_request_carries_host_port_length_and_every_header() -> None:
    async with serving(answer(CREATED)) as server:
        client = PushHttpClient()
        response = await client.post(
            f"http://127.0.0.1:{server.port}/push/abc?x=1", b"\x00\x01body", HEADERS
        )
        await client.close()
    assert (response.status, response.reason) == (201, "Created")
    head, body = server.requests[0].split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /push/abc?x=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in lines
    assert "Content-Length: 6" in lines and "TTL: 60" in lines and "Urgency: high" in lines
    assert body == b"\x00\x01body"


@pytest.mark.parametrize(
    "url, host",
    [
        ("https://fcm.googleapis.com:443/fcm/send/x", "fcm.googleapis.com"),
        ("https://FCM.googleapis.com/fcm/send/x", "fcm.googleapis.com"),
        ("http://127.0.0.1:8080/p", "127.0.0.1:8080"),
        ("http://[::1]:8080/p", "[::1]:8080"),
        ("http://[::1]/p", "[::1]"),
    ],
)
def test_the_host_header_names_the_port_only_when_it_is_not_the_default(
    url: str, host: str
) -> None:
    assert f"\r\nHost: {host}\r\n".encode() in pushhttp._parse(url).head


async def test_connections_are_kept_alive_and_reused() -> None:
    async with serving(answer(CREATED)) as server:
        client = PushHttpClient()
        for _ in range(5):
            assert (
                await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
            ).status == 201
        await client.close()
    assert (len(server.requests), server.connections) == (5, 1)


async def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error() -> None:
    # The server closes after each answer without saying so (as an idle timeout would).
    async with serving(answer(CREATED, keep=False)) as server:
        client = PushHttpClient()
        for _ in range(3):
            assert (
                await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
            ).status == 201
            await asyncio.sleep(0.01)  # let the close arrive
        await client.close()
    assert (len(server.requests), server.connections) == (3, 3)


async def test_a_reused_connection_closed_before_answering_is_retried_once_on_a_new_one() -> None:
    # The race an idle timeout makes: our request arrives as the server gives up on the connection.
    answered: set[asyncio.StreamWriter] = set()  # the writers themselves: an id() can be reused

    async def once_per_connection(
        request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if writer in answered:
            return False  # close without a word
        answered.add(writer)
        writer.write(CREATED)
        await writer.drain()
        return True

    async with serving(once_per_connection) as server:
        client = PushHttpClient()
        for _ in range(2):
            assert (
                await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
            ).status == 201
        await client.close()
    assert (len(server.requests), server.connections) == (3, 2)


async def test_a_new_connection_closed_before_answering_is_an_error_not_a_retry() -> None:
    async with serving(answer(b"", keep=False)) as server:
        client = PushHttpClient()
        with pytest.raises(HttpError, match="connection closed"):
            await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        await client.close()
    assert len(server.requests) == 1


async def test_connection_close_is_honoured() -> None:
    raw = b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    async with serving(answer(raw)) as server:
        client = PushHttpClient()
        for _ in range(2):
            assert (
                await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
            ).status == 201
        await client.close()
    assert server.connections == 2


async def test_idle_connections_older_than_the_keepalive_expiry_are_not_reused(monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(pushhttp.time, "monotonic", lambda: now[0])
    async with serving(answer(CREATED)) as server:
        client = PushHttpClient()
        await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        now[0] += pushhttp.KEEPALIVE_EXPIRY + 1
        await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        await client.close()
    assert server.connections == 2


async def test_a_chunked_error_answer_keeps_status_headers_and_the_start_of_the_body() -> None:
    text = b"invalid JWT " * 400  # 4800 bytes, more than is kept
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(text[i : i + 1000]), text[i : i + 1000])
        for i in range(0, len(text), 1000)
    )
    raw = (
        b"HTTP/1.1 403 Forbidden\r\nRetry-After: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )
    async with serving(answer(raw)) as server:
        client = PushHttpClient()
        first = await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        second = await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        await client.close()
    assert (first.status, first.reason, first.headers["retry-after"]) == (403, "Forbidden", "7")
    assert first.body == text[: pushhttp.MAX_BODY_KEPT]
    assert second.status == 403 and server.connections == 1  # drained, so reusable


async def test_an_answer_delimited_by_closing_the_connection() -> None:
    raw = b"HTTP/1.1 500 Oops\r\n\r\nthe push service fell over"
    async with serving(answer(raw, keep=False)) as server:
        client = PushHttpClient()
        response = await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        await client.close()
    assert (response.status, response.text) == (500, "the push service fell over")


async def test_an_interim_100_continue_is_skipped() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\n" + CREATED
    async with serving(answer(raw)) as server:
        client = PushHttpClient()
        response = await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        await client.close()
    assert response.status == 201


async def test_an_endless_body_is_cut_off_and_the_connection_dropped() -> None:
    async with serving(
        stream(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n", b"z" * 8192, 100)
    ) as server:
        client = PushHttpClient(timeout=5)
        response = await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        assert response.status == 200 and len(response.body) == pushhttp.MAX_BODY_KEPT
        assert not client._pools[("http", "127.0.0.1", server.port)].idle
        await client.close()


@pytest.mark.parametrize("host", ["a..notify.windows.com", "a" * 64 + ".notify.windows.com"])
async def test_a_host_name_dns_cannot_encode_is_a_network_error_not_a_crash(
    host: str, tmp_path
) -> None:
    client = PushHttpClient(timeout=2)
    with pytest.raises(HttpError):  # getaddrinfo's UnicodeError is caught; no lookup is made
        await client.post(f"https://{host}/w/?token=x", b"x", HEADERS)
    await client.close()

    # The sender turns it into a result for that one device, so a fan-out goes on.
    keys = browser_keys()
    target = Target(1, f"https://{host}/w/?token=x", keys["p256dh"], keys["auth"])
    async with PushSender(VapidKeys.load_or_create(tmp_path), timeout=2, max_attempts=1) as sender:
        result = await sender.send(target, {"title": "t"}, subject="mailto:a@example.com")
    assert result.status is None


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 201 Cre",
        b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\nabc",
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 100 Continue\r\n",
    ],
)
async def test_an_answer_cut_short_by_the_close_is_an_error_not_a_delivery(raw: bytes) -> None:
    async with serving(answer(raw, keep=False)) as server:
        client = PushHttpClient(timeout=2)
        with pytest.raises(HttpError):
            await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        await client.close()


async def test_bytes_after_the_answer_change_nothing_and_the_connection_is_dropped() -> None:
    extra = b"HTTP/1.1 410 Gone\r\nRetry-After: 900\r\nContent-Length: 0\r\n\r\n"
    raw = b"HTTP/1.1 201 Created\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n" + extra
    async with serving(answer(raw)) as server:
        client = PushHttpClient()
        response = await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        assert not client._pools[("http", "127.0.0.1", server.port)].idle
        await client.close()
    assert (response.status, response.reason, response.headers["retry-after"]) == (
        201,
        "Created",
        "1",
    )


async def test_a_stray_answer_on_an_idle_connection_does_not_answer_the_next_request() -> None:
    strayed = asyncio.Event()

    async def stray(
        request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(CREATED)
        await writer.drain()
        if len(server.requests) == 1:  # then, while the client is idle, half of a 410
            await asyncio.sleep(0.05)
            writer.write(b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n")
            await writer.drain()
            strayed.set()
        return True

    async with serving(stray) as server:
        client = PushHttpClient(timeout=2)
        url = f"http://127.0.0.1:{server.port}/p"
        assert (await client.post(url, b"x", HEADERS)).status == 201
        # Until the stray bytes are sent, then a moment for the loop to read them: a fixed
        # 0.2 s, on a stalled loop, could end in the same turn as the server's 0.05 s and
        # send the next request before the stray bytes were written at all.
        await strayed.wait()
        await asyncio.sleep(0.05)
        assert (await client.post(url, b"x", HEADERS)).status == 201
        await client.close()
    assert (len(server.requests), server.connections) == (2, 2)


@pytest.mark.parametrize("prefix", [b"HTTP/1.1 200 OK\r\nX-Big: ", b"HTTP/1.1 200 "])
async def test_an_endless_header_or_status_line_is_cut_off_while_it_arrives(prefix: bytes) -> None:
    async with serving(
        stream(prefix, b"a" * 65536, 64)
    ) as server:  # 4 MiB unless the client hangs up
        client = PushHttpClient(timeout=10)
        tracemalloc.start()
        try:
            with pytest.raises(HttpError, match="too large"):
                await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            await client.close()
    assert peak < 4 * pushhttp.MAX_HEADER_BYTES + 2**20  # not the megabytes the server sent


def test_a_body_in_one_byte_chunks_keeps_only_the_start() -> None:
    n = pushhttp.MAX_BODY_READ // 2
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\nz\r\n" * n + b"0\r\n\r\n"
    )

    async def run() -> pushhttp.Response:
        conn = pushhttp._Connection()
        conn._waiter = asyncio.get_running_loop().create_future()
        conn.data_received(raw)
        return conn._waiter.result()

    assert asyncio.run(run()).body == b"z" * pushhttp.MAX_BODY_KEPT


async def test_closing_the_client_mid_request_closes_that_connection_too() -> None:
    hung_up = asyncio.Event()

    async def slow(
        request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        await asyncio.sleep(0.2)
        writer.write(CREATED)
        await writer.drain()
        if await reader.read(1) == b"":
            hung_up.set()
        return False

    async with serving(slow) as server:
        client = PushHttpClient()
        request = asyncio.create_task(
            client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        )
        # In flight once the server has it (a fixed 0.05 s could end, on a stalled loop,
        # before the request was even sent, and then it is refused, not answered).
        async with asyncio.timeout(10):
            while not server.requests:
                await asyncio.sleep(0.001)
        await client.close()
        assert (await request).status == 201  # the request in flight still gets its answer
        await asyncio.wait_for(hung_up.wait(), 2)
        with pytest.raises(HttpError, match="closed"):
            await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)


@pytest.mark.parametrize(
    "raw, problem",
    [
        (b"NOT HTTP AT ALL\r\n\r\n", "malformed answer"),
        (
            b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (pushhttp.MAX_HEADER_BYTES + 10) + b"\r\n\r\n",
            "malformed answer",
        ),
    ],
)
async def test_broken_answers_are_network_errors(raw: bytes, problem: str) -> None:
    async with serving(answer(raw, keep=False)) as server:
        client = PushHttpClient()
        with pytest.raises(HttpError, match=problem):
            await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        await client.close()


async def test_a_refused_connection_is_a_network_error() -> None:
    async with serving(answer(CREATED)) as server:
        port = server.port
    client = PushHttpClient()
    with pytest.raises(HttpError, match="ConnectionRefused"):
        await client.post(f"http://127.0.0.1:{port}/p", b"x", HEADERS)


async def test_a_silent_server_times_out_and_its_connection_is_not_reused() -> None:
    async def silent(
        request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        await asyncio.sleep(5)
        return False

    async with serving(silent) as server:
        client = PushHttpClient(timeout=0.2)
        with pytest.raises(TimeoutError):
            await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
        assert not client._pools[("http", "127.0.0.1", server.port)].idle
        await client.close()


async def test_a_header_value_with_a_line_break_is_refused_before_sending() -> None:
    async with serving(answer(CREATED)) as server:
        client = PushHttpClient()
        with pytest.raises(ValueError, match="line break"):
            await client.post(f"http://127.0.0.1:{server.port}/p", b"x", {"Topic": "a\r\nEvil: 1"})
        await client.close()
    assert server.requests == []


async def test_https_verifies_the_certificate(tmp_path) -> None:
    files = ensure_certificates(tmp_path, Lan(("localhost",), (ipaddress.ip_address("127.0.0.1"),)))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(files.cert, files.key)
    async with serving(answer(CREATED), server_context) as server:
        trusting = ssl.create_default_context(cafile=str(files.ca_cert))
        client = PushHttpClient(ssl_context=trusting)
        assert (
            await client.post(f"https://localhost:{server.port}/p", b"x", HEADERS)
        ).status == 201
        await client.close()

        stranger = PushHttpClient()  # the system and certifi roots: our local CA is not among them
        with pytest.raises(HttpError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            await stranger.post(f"https://localhost:{server.port}/p", b"x", HEADERS)
        await stranger.close()


reasons = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30).map(str.strip)
header_values = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=60
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    status=st.integers(200, 599),
    reason=reasons,
    retry_after=st.none() | header_values,
    body=st.binary(max_size=5000),
    framing=st.sampled_from(["length", "chunked", "close"]),
    split=st.integers(1, 97),
)
def test_any_well_formed_answer_is_read_back_as_sent(
    status, reason, retry_after, body, framing, split
) -> None:
    """Whatever the framing and however the bytes are split, the client reads what was sent."""
    if status in (204, 304):
        body = b""  # these answers never have a body (RFC 9110), whatever follows them
    head = f"HTTP/1.1 {status} {reason}\r\n"
    if retry_after is not None:
        head += f"Retry-After: {retry_after}\r\n"
    if framing == "length":
        raw = head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body
    elif framing == "chunked":
        raw = head.encode() + b"Transfer-Encoding: chunked\r\n\r\n"
        raw += b"".join(
            b"%x\r\n%s\r\n" % (len(body[i : i + 700]), body[i : i + 700])
            for i in range(0, len(body), 700)
        )
        raw += b"0\r\n\r\n"
    else:
        raw = head.encode() + b"Connection: close\r\n\r\n" + body

    async def dribble(
        request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        for i in range(0, len(raw), split * 53):  # in pieces, so parsing spans reads
            writer.write(raw[i : i + split * 53])
            await writer.drain()
        return framing != "close"

    async def run() -> pushhttp.Response:
        async with serving(dribble) as server:
            client = PushHttpClient(timeout=5)
            try:
                return await client.post(f"http://127.0.0.1:{server.port}/p", b"x", HEADERS)
            finally:
                await client.close()

    response = asyncio.run(run())
    assert response.status == status
    assert response.reason == reason
    assert response.headers.get("retry-after") == retry_after
    assert response.body == body[: pushhttp.MAX_BODY_KEPT]
