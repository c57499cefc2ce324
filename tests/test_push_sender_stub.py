"""The sender against a stub push service: every status it must handle."""

from __future__ import annotations

import time

import pytest
from conftest import TEST_SUBJECT, browser_keys
from peers.stub_push import ScriptedResponse, StubPushService

from notifier.push import payload as payloads
from notifier.push.sender import Outcome, PushSender, Target, classify, parse_retry_after
from notifier.push.vapid import VapidKeys

MESSAGE = payloads.build(kind="test", title="Hi", body="Time to study", url="/", tag="t1")


class Sleeps:
    """Records the waits the sender asks for instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def target(stub: StubPushService, path: str, sub_id: int = 1) -> Target:
    keys = browser_keys()
    return Target(sub_id, stub.endpoint(path), keys["p256dh"], keys["auth"])


@pytest.fixture
def vapid(tmp_path) -> VapidKeys:
    return VapidKeys.load_or_create(tmp_path)


def sender_for(vapid, *stubs: StubPushService, **kw) -> PushSender:
    extra = frozenset(s.host_port for s in stubs)
    kw.setdefault("sleep", Sleeps())
    return PushSender(vapid, extra_hosts=extra, **kw)


async def test_headers_follow_the_web_push_rules(vapid, stub) -> None:
    async with sender_for(vapid, stub) as sender:
        result = await sender.send(
            target(stub, "/a"),
            MESSAGE,
            subject=TEST_SUBJECT,
            topic=payloads.topic_for("k"),
            ttl=600,
        )
    assert result.outcome is Outcome.DELIVERED and result.status == 201
    [req] = stub.requests_for("/a")
    assert req.headers["Content-Type"] == "application/octet-stream"
    assert req.headers["Content-Encoding"] == "aes128gcm"
    assert req.headers["TTL"] == "600"
    assert req.headers["Urgency"] == "high"
    assert req.headers["Topic"] == payloads.topic_for("k")
    claims = req.vapid_claims(vapid.public_key_b64)
    assert claims["aud"] == stub.origin and claims["sub"] == TEST_SUBJECT
    assert 0 < claims["exp"] - time.time() <= 12 * 3600


async def test_404_reports_gone(vapid, stub) -> None:
    stub.script("/gone", 404)
    async with sender_for(vapid, stub) as sender:
        result = await sender.send(target(stub, "/gone"), MESSAGE, subject=TEST_SUBJECT)
    assert (result.outcome, result.status) == (Outcome.GONE, 404)


async def test_429_waits_for_retry_after_then_delivers(vapid, stub) -> None:
    stub.script("/busy", ScriptedResponse(429, headers={"Retry-After": "7"}), 201)
    sleeps = Sleeps()
    async with sender_for(vapid, stub, sleep=sleeps) as sender:
        result = await sender.send(target(stub, "/busy"), MESSAGE, subject=TEST_SUBJECT)
    assert result.outcome is Outcome.DELIVERED and result.attempts == 2
    assert sleeps.waits == [7.0]


async def test_429_longer_than_the_deadline_is_left_for_later(vapid, stub) -> None:
    stub.script("/busy", ScriptedResponse(429, headers={"Retry-After": "120"}))
    async with sender_for(vapid, stub) as sender:
        result = await sender.send(
            target(stub, "/busy"), MESSAGE, subject=TEST_SUBJECT, deadline=time.monotonic() + 30
        )
    assert (result.outcome, result.status, result.retry_after) == (Outcome.RETRY, 429, 120.0)
    assert len(stub.requests_for("/busy")) == 1


async def test_500_then_success_backs_off_and_delivers(vapid, stub) -> None:
    stub.script("/flaky", 500, 503, 201)
    sleeps = Sleeps()
    async with sender_for(vapid, stub, sleep=sleeps) as sender:
        result = await sender.send(target(stub, "/flaky"), MESSAGE, subject=TEST_SUBJECT)
    assert result.outcome is Outcome.DELIVERED and result.attempts == 3
    assert len(sleeps.waits) == 2 and sleeps.waits[1] > sleeps.waits[0] > 0


async def test_persistent_5xx_gives_up_after_bounded_attempts(vapid, stub) -> None:
    stub.script("/down", *[500] * 10)
    async with sender_for(vapid, stub, max_attempts=3) as sender:
        result = await sender.send(target(stub, "/down"), MESSAGE, subject=TEST_SUBJECT)
    assert (result.outcome, result.attempts) == (Outcome.RETRY, 3)
    assert len(stub.requests_for("/down")) == 3


async def test_413_shrinks_the_payload_and_resends(vapid, stub) -> None:
    stub.script("/big", 413, 201)
    long = payloads.build(kind="test", title="T" * 60, body="word " * 80, url="/", tag="t")
    async with sender_for(vapid, stub) as sender:
        result = await sender.send(target(stub, "/big"), long, subject=TEST_SUBJECT)
    assert result.outcome is Outcome.DELIVERED
    first, second = stub.requests_for("/big")
    assert len(second.body) < len(first.body)


async def test_a_hang_past_the_timeout_is_a_retry_not_a_freeze(vapid, stub) -> None:
    stub.script("/hang", ScriptedResponse(hang=True))
    async with sender_for(vapid, stub, timeout=0.5, max_attempts=1) as sender:
        started = time.monotonic()
        result = await sender.send(target(stub, "/hang"), MESSAGE, subject=TEST_SUBJECT)
    assert time.monotonic() - started < 3
    assert result.outcome is Outcome.RETRY and result.status is None
    assert "timed out" in result.detail


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_auth_and_request_errors_are_reported_not_retried(vapid, stub, status) -> None:
    stub.script("/bad", ScriptedResponse(status, body=b"invalid JWT"))
    async with sender_for(vapid, stub) as sender:
        result = await sender.send(target(stub, "/bad"), MESSAGE, subject=TEST_SUBJECT)
    assert (result.outcome, result.status) == (Outcome.ERROR, status)
    assert "invalid JWT" in result.detail
    assert len(stub.requests_for("/bad")) == 1


async def test_redirects_are_not_followed(vapid, stub) -> None:
    stub.script("/moved", ScriptedResponse(302, headers={"Location": stub.endpoint("/elsewhere")}))
    async with sender_for(vapid, stub) as sender:
        result = await sender.send(target(stub, "/moved"), MESSAGE, subject=TEST_SUBJECT)
    assert result.outcome is Outcome.ERROR and "redirect not followed" in result.detail
    assert stub.requests_for("/elsewhere") == []


async def test_two_origins_get_jwts_with_their_own_audience(vapid) -> None:
    with StubPushService() as one, StubPushService() as two:
        async with sender_for(vapid, one, two) as sender:
            results = await sender.fan_out(
                [target(one, "/x", 1), target(two, "/y", 2), target(one, "/z", 3)],
                MESSAGE,
                subject=TEST_SUBJECT,
            )
        assert [r.outcome for r in results] == [Outcome.DELIVERED] * 3
        assert {r.vapid_claims(vapid.public_key_b64)["aud"] for r in one.requests} == {one.origin}
        assert {r.vapid_claims(vapid.public_key_b64)["aud"] for r in two.requests} == {two.origin}


async def test_a_large_fan_out_keeps_order_and_its_bound_and_reports_each_device(
    vapid, stub
) -> None:
    targets = [target(stub, f"/d{i}", i) for i in range(100)]
    targets[7] = Target(7, "https://evil.example/push", targets[7].p256dh, targets[7].auth)
    stub.script("/d13", 410)
    for i in range(100):
        stub.script(f"/d{i}", ScriptedResponse(201, delay=0.02))  # long enough to overlap
    async with sender_for(vapid, stub, concurrency=8) as sender:
        results = await sender.fan_out(targets, MESSAGE, subject=TEST_SUBJECT, topic="t")
    assert [r.subscription_id for r in results] == list(range(100))
    assert results[7].outcome is Outcome.ERROR and results[7].detail.startswith("endpoint refused")
    assert results[13].outcome is Outcome.GONE
    assert sum(r.outcome is Outcome.DELIVERED for r in results) == 98
    requests = stub.requests
    assert len(requests) == 99 and len({r.path for r in requests}) == 99
    # Never more than 8 in flight: at most 8 arrivals within any one answer delay.
    times = sorted(r.received_at for r in requests if r.path != "/d13")
    assert max(sum(1 for t in times if s <= t < s + 0.015) for s in times) <= 8
    # Each message was sealed for its own device: every body differs, every JWT verifies.
    assert len({r.body for r in requests}) == 99
    assert all(r.vapid_claims(vapid.public_key_b64)["aud"] == stub.origin for r in requests)


async def test_the_endpoint_is_checked_again_at_send_time(vapid, stub) -> None:
    async with PushSender(vapid) as sender:  # no extra hosts: the stub is not allowed
        result = await sender.send(target(stub, "/a"), MESSAGE, subject=TEST_SUBJECT)
    assert result.outcome is Outcome.ERROR and result.detail.startswith("endpoint refused")
    assert stub.requests == []


@pytest.mark.parametrize("subject", ["", "mailto:me@localhost", "not-a-uri"])
async def test_a_missing_or_local_vapid_subject_is_reported_clearly(vapid, stub, subject) -> None:
    async with sender_for(vapid, stub) as sender:
        result = await sender.send(target(stub, "/a"), MESSAGE, subject=subject)
    assert result.outcome is Outcome.ERROR and "contact" in result.detail
    if "localhost" in subject:  # the real reason, not a format error
        assert "local address like localhost" in result.detail and "Apple" in result.detail
    assert stub.requests == []


async def test_api_deletes_on_404_and_keeps_on_403(make_api, stub) -> None:
    async with make_api(extra_hosts=stub.host_port) as api:
        ids = {}
        for path in ("/dead", "/misconfigured", "/fine"):
            body = {"endpoint": stub.endpoint(path), "keys": browser_keys()}
            ids[path] = (await api.post("/api/push/subscriptions", json=body)).json()["id"]
        stub.script("/dead", 410)
        stub.script("/misconfigured", ScriptedResponse(403, body=b"VAPID key mismatch"))

        results = {
            r["subscription_id"]: r for r in (await api.post("/api/push/test")).json()["results"]
        }
        assert results[ids["/dead"]]["outcome"] == "gone"
        assert results[ids["/misconfigured"]]["outcome"] == "error"
        assert results[ids["/fine"]]["outcome"] == "delivered"

        listed = {r["id"]: r for r in (await api.get("/api/push/subscriptions")).json()}
        assert set(listed) == {ids["/misconfigured"], ids["/fine"]}
        assert listed[ids["/misconfigured"]]["failure_count"] == 1
        assert "VAPID key mismatch" in listed[ids["/misconfigured"]]["last_error"]

        only = await api.post("/api/push/test", json={"subscription_id": ids["/fine"]})
        assert [r["subscription_id"] for r in only.json()["results"]] == [ids["/fine"]]
        missing = await api.post("/api/push/test", json={"subscription_id": 999})
        assert missing.status_code == 404
        assert missing.json() == {"error": "not_found", "detail": "no subscription 999"}


def test_classify_covers_every_status() -> None:
    assert classify(201) is Outcome.DELIVERED and classify(202) is Outcome.DELIVERED
    assert classify(404) is Outcome.GONE and classify(410) is Outcome.GONE
    assert classify(413) is None
    assert classify(429) is Outcome.RETRY and classify(502) is Outcome.RETRY
    for status in (301, 400, 401, 403, 418):
        assert classify(status) is Outcome.ERROR


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("30", 0) == 30.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", 0) == 60.0
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None
    assert parse_retry_after("999999", 0) == 15 * 60


# --- encryption: pywebpush's aes128gcm without importing pywebpush (issue 13: RSS) ---


def _browser() -> tuple[object, Target]:
    """A subscription whose private key the test holds, as a browser would."""
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from notifier import base64url

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    auth = base64url.encode(os.urandom(16))
    return key, Target(1, "https://push.example/x", base64url.encode(public), auth)


def test_a_push_body_opens_with_the_subscriptions_keys_only() -> None:
    import http_ece

    from notifier import base64url
    from notifier.push.sender import encrypt

    key, sub = _browser()
    data = payloads.encode(MESSAGE)
    body = encrypt(sub, data)
    # RFC 8188 header: salt(16) rs(4) idlen(1) keyid = the sender's fresh P-256 key (65 bytes)
    assert int.from_bytes(body[16:20], "big") == 4096 and body[20] == 65 and body[21] == 4
    opened = http_ece.decrypt(
        body, private_key=key, auth_secret=base64url.decode(sub.auth), version="aes128gcm"
    )
    assert opened == data
    assert encrypt(sub, data)[21:86] != body[21:86]  # a new key (and salt) for every message
    with pytest.raises(Exception):  # noqa: B017 -- cryptography's InvalidTag
        http_ece.decrypt(body, private_key=key, auth_secret=b"\0" * 16, version="aes128gcm")


def test_sending_never_imports_pywebpush_or_its_http_clients() -> None:
    import subprocess
    import sys

    code = """
import sys, asyncio
from notifier.app import create_app
from notifier.push.sender import encrypt, Target
encrypt(Target(1, "https://push.example/x", %r, %r), b"hi")
print(sorted(m for m in ("pywebpush", "requests", "aiohttp") if m in sys.modules))
""" % (browser_keys()["p256dh"], browser_keys()["auth"])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_our_bodies_and_pywebpushs_are_the_same_kind_of_message() -> None:
    """pywebpush stays the reference: what its WebPusher.encode makes and what encrypt()
    makes open with the same browser keys, with the same RFC 8188 header layout."""
    import http_ece
    from pywebpush import WebPusher

    from notifier import base64url
    from notifier.push.sender import encrypt

    key, sub = _browser()
    data = payloads.encode(MESSAGE)
    info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
    theirs = bytes(WebPusher(info).encode(data, content_encoding="aes128gcm")["body"])
    ours = encrypt(sub, data)
    auth = base64url.decode(sub.auth)
    for body in (theirs, ours):
        assert (
            http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm") == data
        )
    assert theirs[16:21] == ours[16:21]  # record size 4096 and a 65-byte key id, both
    assert len(theirs) == len(ours)  # the same padding
