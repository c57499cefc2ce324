"""The test peers themselves work, independent of the app (needs `bash tests/peers/install.sh`)."""

from __future__ import annotations

import json
import socket
import time

import aiohttp
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from peers.stub_push import ScriptedResponse, StubPushService, VapidError, parse_vapid, verify_vapid
from peers.webpush_testing import (
    STATUS_EXPIRED,
    STATUS_REJECTED,
    WebPushTesting,
    WebPushTestingError,
)
from py_vapid import Vapid02, b64urlencode
from pywebpush import WebPushException, webpush

SUB = "mailto:peers-test@example.com"
# What the app must send (the Web Push rules in docs/ARCHITECTURE.md); web-push-testing needs the Content-Type.
PUSH_HEADERS = {"Content-Type": "application/octet-stream", "Urgency": "high", "Topic": "peer-test"}


def new_vapid() -> tuple[Vapid02, str]:
    """A fresh VAPID key pair and its public key as base64url raw P-256 point."""
    # Vapid02 signs `vapid t=…,k=…`; Vapid01 signs the old `WebPush <jwt>` that aes128gcm receivers reject.
    vapid = Vapid02()
    vapid.generate_keys()
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return vapid, b64urlencode(raw)


@pytest.fixture(scope="module")
def wpt():
    """One web-push-testing server for this module."""
    server = WebPushTesting().start()
    yield server
    server.stop()


@pytest.fixture
def stub():
    """A fresh stub push service per test."""
    service = StubPushService().start()
    yield service
    service.stop()


@pytest.fixture
def http():
    """A requests session that ignores proxy settings: everything here is loopback."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


def push(
    sub: dict, payload: dict, vapid: Vapid02, http: requests.Session, **kw
) -> requests.Response:
    """Send one aes128gcm push with fresh claims (pywebpush mutates the dict it is given)."""
    kw.setdefault("headers", dict(PUSH_HEADERS))
    return webpush(
        sub, json.dumps(payload), vapid_private_key=vapid, vapid_claims={"sub": SUB},
        ttl=60, timeout=5, requests_session=http, **kw,
    )  # fmt: skip


# -- web-push-testing ------------------------------------------------------


def test_wpt_listens_on_loopback_only(wpt: WebPushTesting):
    assert wpt.host_port == f"127.0.0.1:{wpt.port}"
    assert wpt.origin == f"http://127.0.0.1:{wpt.port}"
    _, key = new_vapid()
    assert wpt.subscribe(key)["endpoint"].startswith(wpt.origin + "/notify/")


def test_wpt_roundtrip_decrypts_aes128gcm(wpt: WebPushTesting, http: requests.Session):
    vapid, key = new_vapid()
    sub = wpt.subscribe(key)
    assert set(sub) == {"endpoint", "expirationTime", "keys"}
    assert set(sub["keys"]) == {"p256dh", "auth"}
    payload = {"v": 1, "kind": "test", "title": "Hi", "body": "Study time ✏️", "tag": "t1"}
    assert push(sub, payload, vapid, http).status_code == 201
    assert wpt.messages(sub) == [payload]
    assert wpt.wait_for_messages(sub, 1) == [payload]


def test_wpt_rejects_wrong_vapid_key(wpt: WebPushTesting, http: requests.Session):
    _, key = new_vapid()
    other, _ = new_vapid()
    sub = wpt.subscribe(key)
    with pytest.raises(WebPushException) as err:
        push(sub, {"x": 1}, other, http)
    assert err.value.response.status_code == STATUS_REJECTED
    assert wpt.messages(sub) == []


def test_wpt_rejects_push_without_octet_stream_content_type(
    wpt: WebPushTesting, http: requests.Session
):
    vapid, key = new_vapid()
    sub = wpt.subscribe(key)
    with pytest.raises(WebPushException) as err:
        push(sub, {"x": 1}, vapid, http, headers={"Urgency": "high"})
    assert err.value.response.status_code == STATUS_REJECTED


def test_wpt_expired_subscription_returns_410(wpt: WebPushTesting, http: requests.Session):
    vapid, key = new_vapid()
    sub = wpt.subscribe(key)
    push(sub, {"n": 1}, vapid, http)
    wpt.expire(sub)
    with pytest.raises(WebPushException) as err:
        push(sub, {"n": 2}, vapid, http)
    assert err.value.response.status_code == STATUS_EXPIRED == 410
    assert wpt.messages(sub) == [{"n": 1}]


def test_wpt_process_stops_by_pid_and_reports_early_death():
    server = WebPushTesting().start()
    pid, port = server.pid, server.port
    server.stop()
    assert server.pid is None and pid is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(WebPushTestingError, match="invalid port"):
        WebPushTesting(port=-1).start()


# -- stub push service -----------------------------------------------------


def test_stub_scripted_429_with_retry_after_then_default(
    stub: StubPushService, http: requests.Session
):
    vapid, key = new_vapid()
    _, wpt_like_key = new_vapid()  # any valid p256dh works: the stub does not decrypt
    sub = {
        "endpoint": stub.endpoint("/push/a"),
        "keys": {"p256dh": wpt_like_key, "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
    }
    stub.script("/push/a", ScriptedResponse(429, headers={"Retry-After": "120"}))
    with pytest.raises(WebPushException) as err:
        push(sub, {"hello": "stub"}, vapid, http)
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "120"
    assert push(sub, {"hello": "again"}, vapid, http).status_code == 201

    first, second = stub.requests_for(sub["endpoint"])
    assert first.method == "POST" and first.path == "/push/a"
    assert first.headers["content-encoding"] == "aes128gcm"
    assert first.headers["TTL"] == "60" and first.headers["Topic"] == "peer-test"
    assert len(first.body) > 86  # aes128gcm header block alone is 86 bytes
    assert first.received_at <= second.received_at <= time.time()

    claims = first.vapid_claims(expected_key_b64url=key)
    assert claims["aud"] == stub.origin
    assert claims["sub"] == SUB
    assert time.time() < claims["exp"] <= time.time() + 12 * 3600 + 5


def test_stub_detects_bad_vapid_signature():
    vapid, key = new_vapid()
    other, other_key = new_vapid()
    header = vapid.sign({"aud": "http://127.0.0.1:1", "exp": int(time.time()) + 60, "sub": SUB})[
        "Authorization"
    ]
    assert verify_vapid(header)["aud"] == "http://127.0.0.1:1"

    token, _ = parse_vapid(header)
    with pytest.raises(VapidError, match="signature"):
        verify_vapid(f"vapid t={token}, k={other_key}")  # signed by one key, claims another
    h, c, s = token.split(".")
    tampered_claims = b64urlencode(b'{"aud":"http://evil.example","exp":1,"sub":"x"}')
    with pytest.raises(VapidError, match="signature"):
        verify_vapid(f"vapid t={h}.{tampered_claims}.{s},k={key}")
    with pytest.raises(VapidError, match="expected"):
        verify_vapid(header, expected_key_b64url=other_key)
    with pytest.raises(VapidError):
        verify_vapid("WebPush " + token)


def test_stub_redirect_hang_delay_drop(stub: StubPushService, http: requests.Session):
    url = stub.endpoint("/push/r")
    stub.script(
        url,
        ScriptedResponse(302, headers={"Location": "https://evil.example/x"}),
        ScriptedResponse(201, delay=0.3),
        ScriptedResponse(hang=True),
        ScriptedResponse(drop=True),
        503,
    )
    resp = http.post(url, data=b"x", allow_redirects=False, timeout=5)
    assert (resp.status_code, resp.headers["Location"]) == (302, "https://evil.example/x")
    started = time.monotonic()
    assert http.post(url, data=b"x", timeout=5).status_code == 201
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.Timeout):
        http.post(url, data=b"x", timeout=0.3)
    with pytest.raises(requests.ConnectionError):
        http.post(url, data=b"x", timeout=5)
    assert http.post(url, data=b"x", timeout=5).status_code == 503
    assert len(stub.wait_for_requests(5, path="/push/r")) == 5
    started = time.monotonic()
    stub.stop()  # releases the hung request promptly
    assert time.monotonic() - started < 3


async def test_stub_from_async_code(stub: StubPushService):
    stub.script("/p", ScriptedResponse(413, body="too big"))
    async with aiohttp.ClientSession(trust_env=False) as session:
        async with session.post(stub.endpoint("p"), data=b"\0" * 5000) as resp:
            assert (resp.status, await resp.text()) == (413, "too big")
        async with session.post(stub.endpoint("p"), data=b"ok") as resp:
            assert resp.status == 201
    assert [len(r.body) for r in stub.requests_for("/p")] == [5000, 2]
