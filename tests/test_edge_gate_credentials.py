"""One request gate: what authenticates a request is what the cross-site rule checks.

Against a real server process on loopback: raw HTTP for the header variants,
real Chromium with an attacker page on another loopback port for the ones a
browser can be made to send, and HTTP/2 (one Cookie field per cookie) against
the LAN HTTPS listener.
"""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, mint_token
from procs import ServerProcess, free_port

from notifier.access.tokens import SESSION_COOKIE
from notifier.host.tls import tls_dir

pytestmark = pytest.mark.slow

BLOCK = '{"title": "Forged", "start": "2030-01-07T09:00", "duration_minutes": 30}'
CROSS_SITE = "cross_site"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir = tmp_path_factory.mktemp("gate") / "data"
    # A tunnel address, so POST /api/pairing can answer 201 (a loopback-only server
    # answers 409 no_phone_origin); nothing here connects to it.
    proc = ServerProcess(
        data_dir, env={"NOTIFIER_PUBLIC_URL": "https://study.example.test"}
    ).start()
    proc.token = mint_token(data_dir)
    yield proc
    proc.kill()


def raw_post(server: Any, path: str, headers: list[tuple[str, str]], body: str = BLOCK) -> Any:
    """A POST with exactly these headers, repeats kept (httpx sends a list as is)."""
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        return client.post(path, content=body.encode(), headers=headers)


def block_titles(server: Any) -> list[str]:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        rows = client.get("/api/blocks", headers={"Authorization": f"Bearer {server.token}"})
        return [row["title"] for row in rows.json()]


FOREIGN = ("Origin", "http://127.0.0.1:1")
JSON = ("Content-Type", "application/json")


@pytest.mark.parametrize(
    "cookies",
    [
        ["x=a b; notifier_session={t}"],  # Python's SimpleCookie stops at the space
        ['x="; notifier_session={t}'],  # ... or at an open quote
        ["notifier_session={t}", "theme=dark"],  # two Cookie fields: the old gate read the last
        ["theme=dark", "notifier_session={t}"],
    ],
    ids=["space", "quote", "session-first", "session-last"],
)
def test_a_cross_site_change_by_cookie_is_refused_however_the_cookies_are_written(
    server: Any, cookies: list[str]
) -> None:
    headers = [("Cookie", c.format(t=server.token)) for c in cookies]
    response = raw_post(server, "/api/blocks", [*headers, FOREIGN, JSON])
    assert response.status_code == 403, response.text
    assert response.json()["error"] == CROSS_SITE
    # the same request from our own page goes through: the cookie really authenticates
    own = ("Origin", server.url)
    assert raw_post(server, "/api/blocks", [*headers, own, JSON]).status_code == 201
    assert "Forged" in block_titles(server)


@pytest.mark.parametrize("authorization", ["", "Bearer", "Basic x", "Bearer a b"])
def test_an_empty_or_malformed_authorization_never_falls_back_to_the_cookie(
    server: Any, authorization: str
) -> None:
    cookie = ("Cookie", f"{SESSION_COOKIE}={server.token}")
    response = raw_post(
        server, "/api/blocks", [("Authorization", authorization), cookie, FOREIGN, JSON]
    )
    assert response.status_code == 401, response.text
    assert response.json() == {
        "error": "unauthorized",
        "detail": "Authorization must be 'Bearer <token>'",
    }
    reads = httpx.get(
        f"{server.url}/api/blocks",
        headers=[("Authorization", authorization), cookie],
        trust_env=False,
    )
    assert reads.status_code == 401  # reads too: one reading of the credentials for every route


def test_two_different_session_cookies_or_two_authorizations_are_refused(server: Any) -> None:
    other = mint_token(server.data_dir, "other")
    for headers in (
        [("Cookie", f"{SESSION_COOKIE}={server.token}; {SESSION_COOKIE}={other}")],
        [("Cookie", f"{SESSION_COOKIE}={server.token}"), ("Cookie", f"{SESSION_COOKIE}={other}")],
        [("Authorization", f"Bearer {server.token}"), ("Authorization", f"Bearer {other}")],
    ):
        response = httpx.get(f"{server.url}/api/blocks", headers=headers, trust_env=False)
        assert response.status_code == 401, headers
        assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ],
)
def test_changes_take_json_bodies_only(server: Any, content_type: str | None) -> None:
    headers = [("Authorization", f"Bearer {server.token}")]
    if content_type:
        headers.append(("Content-Type", content_type))
    response = raw_post(server, "/api/blocks", headers)
    assert response.status_code == 415, response.text
    assert response.json() == {
        "error": "unsupported_media_type",
        "detail": "Send the request body as application/json (Content-Type header).",
    }
    # public routes too: the pairing exchange and the notification actions
    for path in ("/api/pairing/exchange", "/api/actions"):
        assert raw_post(server, path, headers[1:], '{"code": "x"}').status_code == 415
    # a change without a body needs no type
    empty = httpx.post(f"{server.url}/api/pairing", headers=headers[:1], trust_env=False)
    assert empty.status_code == 201


# -- real Chromium, the attacker on another loopback port ------------------------------


ATTACK = """<!doctype html><script>
document.cookie = %(cookie)s;
fetch(%(target)s, {method: "POST", mode: "no-cors", credentials: "include",
  %(body)s})
  .then(() => { document.title = "sent"; }, (e) => { document.title = "error " + e; });
</script>"""


class _Page(http.server.BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args: Any) -> None:
        pass


def attacker_site(html: str, tls: tuple[Path, Path] | None = None) -> tuple[str, Any]:
    """A page on another loopback port (same site as the app: cookies for 127.0.0.1 go along)."""
    handler = type("Attacker", (_Page,), {"html": html.encode()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    scheme = "http"
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(tls[0]), str(tls[1]))
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"{scheme}://127.0.0.1:{httpd.server_address[1]}/", httpd


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def attack(chromium: Any, origin: str, token: str, html: str, tls: Any = None) -> str:
    """Sign a browser in to the app at `origin`, then open the attacker's page; returns its title."""
    context = chromium.new_context(ignore_https_errors=True)
    try:
        context.add_cookies(
            [
                {
                    "name": SESSION_COOKIE,
                    "value": token,
                    "url": origin,
                    "httpOnly": True,
                    "sameSite": "Strict",
                    "secure": origin.startswith("https"),
                }
            ]
        )
        url, httpd = attacker_site(html, tls)
        try:
            page = context.new_page()
            page.goto(url)
            page.wait_for_function("document.title !== ''", timeout=10_000)
            return page.title()
        finally:
            httpd.shutdown()
    finally:
        context.close()


def attack_page(target: str, cookie: str, body: str) -> str:
    return ATTACK % {"cookie": json.dumps(cookie), "target": json.dumps(target), "body": body}


@pytest.mark.parametrize(
    "cookie",
    ["x=a b; path=/api/blocks", 'x="; path=/api/blocks', "theme=dark; path=/"],
    ids=["space", "quote", "plain"],
)
@pytest.mark.parametrize(
    "body",
    [f'headers: {{"Content-Type": "text/plain"}}, body: {BLOCK!r}', f"body: new Blob([{BLOCK!r}])"],
    ids=["text-plain", "untyped-blob"],
)
def test_a_page_on_another_port_cannot_make_changes_with_the_cookie(
    server: Any, chromium: Any, cookie: str, body: str
) -> None:
    before = block_titles(server).count("Forged")
    html = attack_page(f"{server.url}/api/blocks", cookie, body)
    assert attack(chromium, server.url, server.token, html) == "sent"
    assert block_titles(server).count("Forged") == before


def test_http2_cookie_fields_against_the_lan_listener(chromium: Any, tmp_path: Path) -> None:
    """Chromium sends each cookie as its own header field over HTTP/2; none may slip past the gate."""
    data_dir = tmp_path / "data"
    https_port = free_port()
    proc = ServerProcess(
        data_dir,
        env={"NOTIFIER_HTTPS_HOST": "127.0.0.1"},
        args=("--https", "--https-port", str(https_port)),
    ).start()
    try:
        token = mint_token(data_dir)
        origin = f"https://127.0.0.1:{https_port}"
        tls = (tls_dir(data_dir) / "server.pem", tls_dir(data_dir) / "server.key")
        seen_http2 = chromium_protocol(chromium, origin)
        assert seen_http2 == "h2"
        html = attack_page(
            f"{origin}/api/blocks",
            "theme=dark; path=/; secure",
            f'headers: {{"Content-Type": "text/plain"}}, body: {BLOCK!r}',
        )
        assert attack(chromium, origin, token, html, tls) == "sent"
        listed = httpx.get(
            f"{proc.url}/api/blocks", headers={"Authorization": f"Bearer {token}"}, trust_env=False
        ).json()
        assert listed == []
    finally:
        proc.kill()


def chromium_protocol(chromium: Any, origin: str) -> str:
    """The HTTP version Chromium speaks with the LAN listener (the test is about HTTP/2)."""
    context = chromium.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        page.goto(f"{origin}/healthz")
        return page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol")
    finally:
        context.close()
