"""Pairing codes, the launcher's login link, and the devices list."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from conftest import running_api
from hypothesis import given
from hypothesis import strategies as st

from notifier.access.pairing import (
    ALPHABET,
    CODE_LENGTH,
    GUESS_WINDOW,
    GUESSES_PER_CLIENT,
    LOGIN,
    display_code,
    login_link,
    normalize_code,
)
from notifier.access.tokens import SESSION_COOKIE, hash_token
from notifier.config import load_config

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


class Clocks:
    """Wall clock for expiry and monotonic clock for the limiter, both moved by hand."""

    def __init__(self) -> None:
        self.wall = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
def clocks(api) -> Clocks:
    c = Clocks()
    api.app.state.pairing.now = lambda: c.wall
    api.app.state.pairing.limiter.monotonic = lambda: c.mono
    return c


TUNNEL = "https://study.example.ts.net"


async def start(api) -> dict:
    if api.app.state.pairing.phone_origin() is None:  # a phone needs an https address
        assert (await api.put("/api/settings", json={"public_url": TUNNEL})).status_code == 200
    response = await api.post("/api/pairing")
    assert response.status_code == 201, response.text
    return response.json()


async def exchange(api, code: str, label: str = "Pixel", **headers: str):
    """As the phone's page does it (the client keeps cookies, so it must look same-origin)."""
    return await api.client.post(
        "/api/pairing/exchange",
        json={"code": code, "label": label},
        headers={**SAME_ORIGIN, **headers},
    )


# -- the code itself ---------------------------------------------------------------


def test_codes_are_short_unambiguous_and_forgiving_to_type() -> None:
    assert len(ALPHABET) == 32 and not set("ILOU") & set(ALPHABET)
    assert normalize_code("abcd-efgh") == "ABCDEFGH"
    assert normalize_code(" o1il 2345 ") == "0111" + "2345"
    assert display_code("ABCDEFGH") == "ABCD-EFGH"
    for bad in ("", "ABCDEFG", "ABCDEFGHJ", "ABCDEFGU", "ABCD_EFGH", None, 12345678, "A" * 40):
        assert normalize_code(bad) is None


@given(st.text(max_size=40))
def test_normalized_codes_are_always_canonical(text: str) -> None:
    code = normalize_code(text)
    assert code is None or (len(code) == CODE_LENGTH and set(code) <= set(ALPHABET))


# -- pairing ---------------------------------------------------------------------


async def test_pairing_returns_a_code_a_link_and_a_qr_code(api, clocks) -> None:
    body = await start(api)
    assert set(body) == {"code", "url", "qr_svg", "expires_at"}
    assert normalize_code(body["code"]) == body["code"]
    assert body["url"] == f"{TUNNEL}/pair#code={body['code']}"
    assert body["qr_svg"].startswith("<svg") and "<script" not in body["qr_svg"]
    assert body["expires_at"] == "2026-11-23T18:10:00.000000Z"


async def test_a_code_is_stored_hashed_and_works_exactly_once(api, clocks) -> None:
    code = (await start(api))["code"]
    with sqlite3.connect(api.app.state.config.db_path) as conn:
        rows = conn.execute("SELECT * FROM pairing_codes").fetchall()
    conn.close()
    assert rows and all(code not in [str(v) for v in r] for r in rows)

    first = await exchange(api, display_code(code).lower())  # as typed on a phone
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["token"].startswith("snt_")
    assert (
        body["device"]["name"] == "Pixel"
        and body["device"]["kind"] == "phone"
        and body["device"]["current"]
    )
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={body['token']};")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="):
        assert attribute.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http on loopback; see the HTTPS test for Secure
    assert first.headers["cache-control"] == "no-store"

    # The token works, by header and by cookie.
    listed = await api.client.get(
        "/api/devices", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert listed.status_code == 200

    again = await exchange(api, code)
    assert again.status_code == 403
    assert again.json() == {
        "error": "invalid_code",
        "detail": "That pairing code is wrong, already used or expired.",
    }


async def test_a_code_expires_after_ten_minutes(api, clocks) -> None:
    early, late = (await start(api))["code"], (await start(api))["code"]
    clocks.advance(9 * 60 + 59)
    assert (await exchange(api, early)).status_code == 201
    clocks.advance(1)
    response = await exchange(api, late)
    assert response.status_code == 403 and response.json()["error"] == "invalid_code"


async def test_failed_exchanges_are_rate_limited_per_client_and_then_released(api, clocks) -> None:
    code = (await start(api))["code"]
    for _ in range(GUESSES_PER_CLIENT):
        assert (await exchange(api, "ZZZZZZZZ")).status_code == 403
    limited = await exchange(api, code)  # even the right code: the guess is not even checked
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= GUESS_WINDOW

    # Claiming to be someone else does not help: no proxy is trusted, so the header is ignored.
    other = await exchange(api, code, **{"X-Forwarded-For": "10.9.9.9"})
    assert other.status_code == 429

    clocks.advance(GUESS_WINDOW + 1)  # the old code has expired meanwhile
    assert (await exchange(api, (await start(api))["code"])).status_code == 201


async def test_a_code_dies_after_its_budget_of_wrong_guesses_but_the_next_one_works(
    api, clocks
) -> None:
    limiter = api.app.state.pairing.limiter
    live = (await start(api))["code"]
    clocks.advance(1)
    for i in range(limiter.per_secret):  # wrong guesses from many addresses
        limiter.admit(f"198.51.100.{i % 250}", clocks.wall)
    clocks.advance(1)
    assert (await exchange(api, live)).status_code == 403  # spoiled: it lived through them
    fresh = (await start(api))["code"]
    assert (await exchange(api, fresh)).status_code == 201  # the owner's next code starts afresh


def test_concurrent_guesses_are_admitted_before_any_await() -> None:
    from notifier.access.ratelimit import Guess, GuessLimiter

    limiter = GuessLimiter(
        per_client=5, per_secret=50, window=900, secret_lifetime=timedelta(minutes=10)
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    admitted = [g for g in (limiter.admit("a", now) for _ in range(600)) if isinstance(g, Guess)]
    assert len(admitted) == 5
    limiter.right(admitted[0])  # a right guess gives its slot back
    assert isinstance(limiter.admit("a", now), Guess)
    assert not isinstance(limiter.admit("a", now), Guess)
    assert isinstance(limiter.admit("b", now), Guess)


async def test_forwarded_clients_are_limited_separately_behind_a_trusted_proxy(data_dir) -> None:
    config = load_config({"data_dir": str(data_dir), "trusted_proxies": "127.0.0.1"})
    async with running_api(config) as api:
        for _ in range(GUESSES_PER_CLIENT):
            await api.client.post(
                "/api/pairing/exchange",
                json={"code": "ZZZZZZZZ"},
                headers={"X-Forwarded-For": "203.0.113.5"},
            )
        blocked = await api.client.post(
            "/api/pairing/exchange",
            json={"code": "ZZZZZZZZ"},
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
        other = await api.client.post(
            "/api/pairing/exchange",
            json={"code": "ZZZZZZZZ"},
            headers={"X-Forwarded-For": "203.0.113.6"},
        )
        assert blocked.status_code == 429 and other.status_code == 403


async def test_the_pairing_link_uses_the_public_url(data_dir) -> None:
    config = load_config({"data_dir": str(data_dir), "public_url": "https://study.example.ts.net/"})
    async with running_api(config) as api:
        body = await start(api)
        assert body["url"] == f"https://study.example.ts.net/pair#code={body['code']}"


async def test_bad_exchange_bodies_are_400(api) -> None:
    for body in ({}, {"code": 5}, {"code": "x" * 100}, {"code": "ABCDEFGH", "label": "y" * 500}):
        response = await api.client.post("/api/pairing/exchange", json=body)
        assert response.status_code == 400, body


# -- the launcher's login link ----------------------------------------------------


async def test_the_login_link_sets_the_cookie_once_and_redirects_home(api, clocks) -> None:
    link = await login_link(api.app.state.pairing, api.db, "http://127.0.0.1:8765")
    assert link.startswith("http://127.0.0.1:8765/login?t=")
    response = await api.client.get(link.removeprefix("http://127.0.0.1:8765"))
    assert response.status_code == 303 and response.headers["location"] == "/"
    token = response.cookies[SESSION_COOKIE]
    row = await api.db.token_by_hash(hash_token(token))
    assert row.kind == "browser"

    api.client.cookies.clear()
    again = await api.client.get(link.removeprefix("http://127.0.0.1:8765"))
    # A person clicked it: a page that says what happened and what to do, not raw JSON.
    assert again.status_code == 403 and again.headers["content-type"].startswith("text/html")
    assert "<h1>This sign-in link has already been used</h1>" in again.text
    assert "notifier login" in again.text and 'href="/"' in again.text
    assert SESSION_COOKIE not in again.cookies


async def test_a_new_login_replaces_the_browsers_old_session(api, clocks) -> None:
    first = await api.client.get(await login_link(api.app.state.pairing, api.db, ""))
    old = first.cookies[SESSION_COOKIE]
    second = await api.client.get(
        await login_link(api.app.state.pairing, api.db, ""), cookies={SESSION_COOKIE: old}
    )
    assert second.status_code == 303
    assert await api.db.token_by_hash(hash_token(old)) is None
    assert await api.db.token_by_hash(hash_token(second.cookies[SESSION_COOKIE])) is not None


async def test_login_tickets_and_pairing_codes_are_separate(api, clocks) -> None:
    code = (await start(api))["code"]
    assert (await api.client.get(f"/login?t={code}")).status_code == 403
    issued = await api.app.state.pairing.issue(api.db, LOGIN)
    assert (await exchange(api, issued.code)).status_code in (
        400,
        403,
    )  # too long to even be a code


# -- devices ------------------------------------------------------------------------


async def test_devices_are_listed_with_last_use_and_can_be_revoked(api, clocks, stub) -> None:
    phone = (await exchange(api, (await start(api))["code"], label="Kim's phone")).json()
    phone_auth = {"Authorization": f"Bearer {phone['token']}"}
    listed = (await api.client.get("/api/devices", headers=phone_auth)).json()
    assert [d["name"] for d in listed] == ["tests", "Kim's phone"]
    assert [d["current"] for d in listed] == [False, True]
    assert listed[1]["last_seen_at"] is not None

    # A subscription made by the phone goes with it when it is revoked.
    from conftest import browser_keys

    await api.db.upsert_subscription(
        endpoint="https://fcm.googleapis.com/fcm/send/phone",
        **browser_keys(),
        label="",
        expiration_time=None,
        token_id=phone["device"]["id"],
        now=clocks.wall,
    )
    response = await api.delete(f"/api/devices/{phone['device']['id']}")
    assert response.status_code == 204
    assert (await api.client.get("/api/devices", headers=phone_auth)).status_code == 401
    assert await api.db.subscriptions() == []
    assert (await api.delete(f"/api/devices/{phone['device']['id']}")).status_code == 404
    assert [d["name"] for d in (await api.get("/api/devices")).json()] == ["tests"]


async def test_revoking_the_current_cookie_device_clears_the_cookie(api, clocks) -> None:
    phone = (await exchange(api, (await start(api))["code"])).json()
    response = await api.client.delete(
        f"/api/devices/{phone['device']['id']}",
        cookies={SESSION_COOKIE: phone["token"]},
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 204
    assert (
        'notifier_session=""' in response.headers["set-cookie"]
        or "Max-Age=0" in response.headers["set-cookie"]
    )


async def test_tls_info_and_the_ca_download_without_https(api) -> None:
    info = (await api.get("/api/tls")).json()
    assert info == {
        "https": False,
        "phone_origin": None,
        "ca_page": None,
        "ca_fingerprint_sha256": None,
    }
    response = await api.client.get("/ca/study-notifier-ca.crt")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    page = await api.client.get("/ca/")
    assert page.status_code == 200 and "Certificate Trust Settings" in page.text


# -- the CLI ------------------------------------------------------------------------


def test_notifier_pair_prints_a_qr_code_and_a_code_that_the_server_accepts(data_dir) -> None:
    command = [sys.executable, "-m", "notifier", "pair", "--data-dir", str(data_dir)]
    # No https address a phone could use: no QR code of a loopback or http link.
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "needs an https address" in refused.stderr
    assert "pair#code=" not in refused.stdout

    env = {**os.environ, "NOTIFIER_PUBLIC_URL": TUNNEL}
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True, env=env)
    assert "▀" in out.stdout or "█" in out.stdout
    assert f"open {TUNNEL} on the phone" in out.stdout
    shown = [
        line.strip()
        for line in out.stdout.splitlines()
        if len(line.strip()) == 9 and line.strip()[4] == "-"
    ]
    assert len(shown) == 1 and normalize_code(shown[0])
    assert "not running" in out.stderr

    import asyncio

    async def redeem() -> int:
        config = load_config({"data_dir": str(data_dir)})
        async with running_api(config) as api:
            return (await exchange(api, shown[0])).status_code

    assert asyncio.run(redeem()) == 201


def test_notifier_login_prints_a_one_time_link(data_dir) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "notifier", "login", "--no-browser", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [link] = [line for line in out.stdout.split() if "/login?t=" in line]
    assert link.startswith("http://127.0.0.1:8765/login?t=") and len(link.split("t=")[1]) >= 40
    assert "not running" in out.stderr
