"""The security middleware: Host check, CSRF, security headers, forwarded headers."""

from __future__ import annotations

import pytest
from conftest import running_api
from hypothesis import given
from hypothesis import strategies as st

from notifier.access.tokens import SESSION_COOKIE
from notifier.config import load_config, parse_proxies
from notifier.edge.forwarded import parse_ip, resolve
from notifier.edge.gate import CSP, SecurityPolicy

INVALID_HOST = "invalid_host"
CROSS_SITE = {
    "error": "cross_site",
    "detail": "Cross-site request refused: cookie-authenticated changes must come from this app's own pages.",
}
PROXIES = parse_proxies("127.0.0.1, 10.0.0.0/8")


def assert_security_headers(response) -> None:
    assert response.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "'unsafe-inline'" not in CSP
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


# -- Host (DNS rebinding) ---------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8765",
        "localhost.",
        "127.0.0.1.evil.example",
        "192.168.1.5:8765",
        "",
        "a b",
        "x@127.0.0.1",
    ],
)
async def test_a_host_we_do_not_serve_is_refused_on_every_route(api, host: str) -> None:
    for method, path in (
        ("GET", "/healthz"),
        ("GET", "/api/push/subscriptions"),
        ("POST", "/healthz"),
        ("GET", "/nope"),
    ):
        response = await api.client.request(method, path, headers={"Host": host, **api.auth})
        assert response.status_code == 400, (host, method, path)
        body = response.json()
        assert body["error"] == INVALID_HOST and body["detail"].startswith(
            "This server does not answer to the host"
        )
        assert_security_headers(response)


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "127.0.0.2", "LOCALHOST:8765"]
)
async def test_loopback_hosts_are_served(api, host: str) -> None:
    assert (await api.client.get("/healthz", headers={"Host": host})).status_code == 200


def test_lan_and_public_names_are_served_only_when_we_listen_there(data_dir, monkeypatch) -> None:
    monkeypatch.setattr("notifier.edge.gate.hostnames", lambda: ("studybox", "studybox.local"))
    loopback = SecurityPolicy.from_config(load_config({"data_dir": str(data_dir)}))
    assert not loopback.host_allowed("studybox.local") and not loopback.host_allowed("192.168.1.5")

    lan = SecurityPolicy.from_config(load_config({"data_dir": str(data_dir), "https": True}))
    assert (
        lan.host_allowed("studybox.local")
        and lan.host_allowed("192.168.1.5")
        and lan.host_allowed("fd00::5")
    )
    assert not lan.host_allowed("evil.example") and not lan.host_allowed(
        "studybox.local.evil.example"
    )

    public = SecurityPolicy.from_config(
        load_config({"data_dir": str(data_dir), "public_url": "https://Box.tail1.ts.net"})
    )
    assert public.host_allowed("box.tail1.ts.net") and not public.host_allowed("tail1.ts.net")
    assert public.public_origin == "https://box.tail1.ts.net"


# -- security headers ---------------------------------------------------------------


async def test_every_response_carries_the_security_headers(api) -> None:
    responses = [
        await api.client.get("/healthz"),
        await api.client.get("/"),
        await api.client.get("/api/push/subscriptions"),  # 401
        await api.client.get("/no/such/file"),  # 404 before any route middleware
        await api.client.put("/healthz"),  # 405
        await api.get("/api/devices"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 401, 404, 405, 200]
    for response in responses:
        assert_security_headers(response)
    assert responses[-1].headers["cache-control"] == "no-store"


# -- CSRF -----------------------------------------------------------------------------


TUNNEL = {"public_url": "https://box.tail1.ts.net"}  # so POST /api/pairing has a phone origin


async def test_cookie_authenticated_changes_must_come_from_our_own_pages(api) -> None:
    assert (await api.put("/api/settings", json=TUNNEL)).status_code == 200
    cookie = {SESSION_COOKIE: api.token}

    async def post(**headers: str):
        api.client.cookies.clear()
        return await api.client.post("/api/pairing", cookies=cookie, headers=headers)

    for headers in (
        {},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port on this host is same-site
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://127.0.0.1:9999"},
        {"Origin": "https://127.0.0.1:8765"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://127.0.0.1:8765"},
    ):
        response = await post(**headers)
        assert response.status_code == 403, headers
        assert response.json() == CROSS_SITE

    assert (await post(**{"Sec-Fetch-Site": "same-origin"})).status_code == 201
    assert (
        await post(Origin="http://127.0.0.1:8765")
    ).status_code == 201  # browsers without Sec-Fetch-*
    api.client.cookies.clear()
    reads = await api.client.get("/api/devices", cookies=cookie)
    assert reads.status_code == 200  # reading is not a change


async def test_bearer_requests_are_not_subject_to_the_csrf_check(api) -> None:
    assert (await api.put("/api/settings", json=TUNNEL)).status_code == 200
    response = await api.client.post(
        "/api/pairing",
        headers={**api.auth, "Sec-Fetch-Site": "cross-site"},
        cookies={SESSION_COOKIE: "x"},
    )
    assert response.status_code == 201


# -- forwarded headers --------------------------------------------------------------


async def test_forwarded_headers_are_ignored_from_untrusted_peers(api) -> None:
    response = await api.client.get(
        "/healthz", headers={"X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"}
    )
    assert response.status_code == 200  # our own Host is checked, the claim is ignored


async def test_a_trusted_proxy_supplies_scheme_host_and_client(data_dir) -> None:
    config = load_config(
        {
            "data_dir": str(data_dir),
            "trusted_proxies": "127.0.0.1",
            "public_url": "https://box.tail1.ts.net",
        }
    )
    async with running_api(config) as api:
        via_tunnel = {
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "box.tail1.ts.net",
        }
        code = (await api.post("/api/pairing")).json()["code"]
        response = await api.client.post(
            "/api/pairing/exchange",
            json={"code": code},
            headers={**via_tunnel, "Origin": "https://box.tail1.ts.net"},
        )
        assert response.status_code == 201
        assert "secure" in response.headers["set-cookie"].lower()  # the phone's page was https

        evil = await api.client.get(
            "/healthz", headers={**via_tunnel, "X-Forwarded-Host": "evil.example"}
        )
        assert evil.status_code == 400 and evil.json()["error"] == INVALID_HOST


def test_resolve_believes_only_the_entry_the_proxy_appended() -> None:
    headers = {
        "x-forwarded-for": ["1.2.3.4, 203.0.113.9", "198.51.100.4"],
        "x-forwarded-proto": ["http, https"],
        "x-forwarded-host": ["evil.example, box.example"],
    }
    seen = resolve("127.0.0.1", "http", headers, PROXIES)
    assert (seen.client, seen.scheme, seen.host) == ("198.51.100.4", "https", "box.example")
    # an untrusted peer's headers are ignored
    assert resolve("192.0.2.1", "http", headers, PROXIES).client == "192.0.2.1"
    assert resolve("127.0.0.1", "http", headers, ()).host is None
    # a right-most entry that is not an address leaves the peer as the client
    assert (
        resolve("127.0.0.1", "http", {"x-forwarded-for": ["1.2.3.4, unknown"]}, PROXIES).client
        == "127.0.0.1"
    )


def test_resolve_ignores_rfc7239_forwarded_which_a_client_could_send_through_the_tunnel() -> None:
    headers = {
        "forwarded": ["for=198.51.100.77;proto=https;host=box.example"],
        "x-forwarded-for": ["203.0.113.9"],
    }
    seen = resolve("127.0.0.1", "http", headers, PROXIES)
    assert (seen.client, seen.scheme, seen.host) == ("203.0.113.9", "http", None)


@given(st.text(max_size=120), st.text(max_size=60), st.text(max_size=60))
def test_resolve_never_fails_and_never_invents_a_client(forwarded: str, xff: str, xfh: str) -> None:
    for headers in (
        {"forwarded": [forwarded]},
        {
            "x-forwarded-for": [xff, forwarded],
            "x-forwarded-host": [xfh],
            "x-forwarded-proto": [xfh],
        },
    ):
        seen = resolve("127.0.0.1", "http", headers, PROXIES)
        assert seen.client == "127.0.0.1" or parse_ip(seen.client) is not None
        assert seen.scheme in ("http", "https")
        assert seen.host is None or " " not in seen.host
