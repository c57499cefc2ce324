"""The PWA shell in Debian's Chromium: it loads, installs, works offline, asks to pair."""

from __future__ import annotations

import json
import struct

import httpx
import pytest
from browser import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.slow

SCREENS = [
    ("#/today", "today"),
    ("#/week", "week"),
    ("#/block/new", "new"),
    ("#/devices", "devices"),
    ("#/settings", "settings"),
]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_the_app_shell_loads_and_every_tab_draws_without_errors(phone) -> None:
    phone.open()
    page = phone.page
    assert page.title() == "Study Notifier"
    assert page.locator("h1").first.inner_text() == "Today"
    # the token was taken from the URL and scrubbed from it
    assert "token" not in page.url
    assert page.evaluate("localStorage.getItem('sn.token')") == phone.server.token
    for route, view in SCREENS:
        phone.go(route, view)
        assert page.locator("h1").first.is_visible()
        assert page.locator(f"#tabs a[data-tab='{view}']").get_attribute("aria-current") == "page"
        phone.shot(f"shell-{view}")
        phone.shot(f"shell-{view}-full", full_page=True)
    assert phone.errors == []


def test_no_inline_script_or_style_trips_the_content_security_policy(make_phone) -> None:
    phone = make_phone(
        init_script="""
        window.__csp = [];
        document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
    """
    )
    phone.open()
    for route, view in SCREENS:
        phone.go(route, view)
    assert phone.page.evaluate("window.__csp") == []
    # and nothing is fetched from another origin (no CDNs or web fonts)
    origins = phone.page.evaluate(
        "performance.getEntriesByType('resource').map(e => new URL(e.name).origin)"
    )
    assert set(origins) <= {phone.server.url}


def test_the_manifest_is_complete_and_chromium_reports_no_installability_errors(make_phone) -> None:
    # a persistent profile: Chromium never offers to install from an incognito context
    phone = make_phone(persistent=True)
    server = phone.server
    manifest = httpx.get(f"{server.url}/manifest.webmanifest", trust_env=False).json()
    assert manifest["name"] == "Study Notifier" and manifest["short_name"]
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#") and manifest["background_color"].startswith("#")
    icons = {(i["sizes"], i.get("purpose", "any")): i for i in manifest["icons"]}
    assert ("192x192", "any") in icons and ("512x512", "any") in icons
    assert any(purpose == "maskable" for _, purpose in icons)
    for icon in manifest["icons"]:
        data = httpx.get(server.url + icon["src"], trust_env=False).content
        w, h = png_size(data)
        assert f"{w}x{h}" == icon["sizes"] and icon["type"] == "image/png"

    phone.open()
    page = phone.page
    apple = page.locator("link[rel='apple-touch-icon']").get_attribute("href")
    assert png_size(httpx.get(server.url + apple, trust_env=False).content) == (180, 180)
    assert (
        page.locator("meta[name='apple-mobile-web-app-capable']").get_attribute("content") == "yes"
    )
    assert page.locator("meta[name='apple-mobile-web-app-title']").count() == 1

    phone.wait_for_service_worker()
    cdp = phone.cdp()
    app_manifest = cdp.send("Page.getAppManifest")
    assert app_manifest["errors"] == [], app_manifest["errors"]
    assert json.loads(app_manifest["data"])["name"] == "Study Notifier"
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], errors


def test_the_service_worker_caches_the_shell_so_the_app_opens_offline(phone) -> None:
    phone.open()
    phone.wait_for_service_worker()
    page = phone.page
    # the shell cache is named after the package version and holds exactly the server's list
    from notifier import __version__
    from notifier.host.web_shell import shell_files

    [shell] = [n for n in page.evaluate("caches.keys()") if n.startswith("sn-shell-")]
    assert shell.startswith(f"sn-shell-{__version__}-")
    cached = page.evaluate(
        "async (name) => (await (await caches.open(name)).keys()).map(r => new URL(r.url).pathname)",
        shell,
    )
    assert sorted(cached) == sorted(shell_files())
    # API reads while online (now through the service worker) fill the cache offline screens fall back to
    phone.go("#/devices", "devices")
    phone.go("#/today", "today")

    phone.context.set_offline(True)
    phone.reload("today")
    assert page.locator("h1").first.inner_text() == "Today"
    assert page.locator("#net-status").inner_text() == "Offline"
    assert page.evaluate("!!navigator.serviceWorker.controller")
    assert page.get_by_text("Nothing planned").is_visible()  # the cached agenda, not an error
    phone.shot("offline-today")
    phone.go("#/devices", "devices")
    assert page.locator("#device-list").is_visible()
    phone.shot("offline-devices")
    assert not [e for e in phone.errors if e.startswith("pageerror")]

    phone.context.set_offline(False)
    phone.reload("devices")
    assert page.locator("#net-status").inner_text() == ""


def test_an_unpaired_device_gets_the_pairing_screen_and_can_paste_a_token(phone) -> None:
    phone.open("#/today", with_token=False)
    page = phone.page
    phone.wait_ready("pair")
    assert page.locator("h1").inner_text() == "Pair this device"
    assert page.locator("#tabs").is_hidden()
    phone.shot("pair")
    page.fill("#pair-token", "snt_not-a-real-token")
    page.click("button[type=submit]")
    page.get_by_text("Unknown or revoked token").wait_for()
    assert page.locator("h1").inner_text() == "Pair this device"
    page.fill("#pair-token", phone.server.token)
    page.click("button[type=submit]")
    phone.wait_ready("today")
    assert page.locator("#tabs").is_visible()


def test_dark_mode_and_desktop_layouts(make_phone) -> None:
    dark = make_phone(color_scheme="dark")
    dark.open()
    bg = dark.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(15, 17, 24)"
    for route, view in SCREENS:
        dark.go(route, view)
        dark.shot(f"dark-{view}")

    desktop = make_phone(viewport={"width": 1280, "height": 800})
    desktop.open()
    # the tabs become a sidebar next to the content
    box = desktop.page.locator("#tabs").bounding_box()
    assert box["x"] < 300 and box["height"] > box["width"]
    for route, view in SCREENS[:3]:
        desktop.go(route, view)
        desktop.shot(f"desktop-{view}")


def test_the_pairing_link_from_the_qr_code_pairs_this_device(phone) -> None:
    server = phone.server
    # a phone gets an https link only: here a tunnel's address (the QR is followed on loopback below)
    tunnel = server.api("PUT", "/api/settings", json={"public_url": "https://study.example.org"})
    assert tunnel.status_code == 200, tunnel.text
    issued = server.api("POST", "/api/pairing")
    if issued.status_code == 404:
        pytest.skip("needs /api/pairing")
    assert issued.status_code == 201, issued.text
    code = issued.json()["code"]
    page = phone.page
    page.goto(f"{server.url}/pair#code={code}")
    phone.wait_ready("today")
    assert "code" not in page.url and page.url.endswith("#/today")
    token = page.evaluate("localStorage.getItem('sn.token')")
    assert token and token != server.token  # this phone got its own credential
    cookies = {c["name"] for c in phone.context.cookies()}
    assert "notifier_session" in cookies
    devices = server.api("GET", "/api/devices").json()
    assert any(d["name"] == "Chrome on Linux" for d in devices)

    # a used code does not work twice: the next phone sees why, on the pairing screen
    other = phone.context.browser.new_context(viewport=PHONE)
    try:
        again = other.new_page()
        again.goto(f"{server.url}/pair#code={code}")
        again.wait_for_function("() => document.documentElement.dataset.view === 'pair'")
        assert again.locator(".notice.warn").is_visible()
    finally:
        other.close()


def test_devices_shows_a_pairing_qr_code_whose_code_pairs_another_phone(make_phone) -> None:
    desktop = make_phone(viewport={"width": 1280, "height": 800})
    desktop.open("#/devices")
    page = desktop.page
    page.click("#pair-start")
    # on plain loopback a phone has no address to use: the card offers the ways to get one
    page.locator("#pair-no-origin").wait_for()
    assert page.locator("#pair-lan").is_visible()
    desktop.shot("desktop-devices-pair-ways")
    page.fill("#pair-public-url", "https://study.example.org")
    page.click("#pair-use-url")
    page.locator("#pair-out svg.qr").wait_for()
    assert page.locator("#pair-out").inner_text().count("https://study.example.org/pair") == 1
    code = page.locator("#pair-code").inner_text()
    page.locator("#pair-out").evaluate("e => e.scrollIntoView({block: 'center'})")
    desktop.shot("desktop-devices-pairing")

    # the code typed on the phone's pairing screen works like scanning the QR code
    phone = make_phone()
    phone.open("#/today", with_token=False)
    phone.wait_ready("pair")
    phone.page.fill("#pair-token", code)
    phone.page.click("button[type=submit]")
    phone.wait_ready("today")
    assert phone.page.evaluate("localStorage.getItem('sn.token')")
