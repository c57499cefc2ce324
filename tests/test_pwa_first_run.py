"""The first run as a person lives it: from an empty data folder to a test reminder on the phone.

A real server process (started like a double-click), the desktop in one Chromium
and the phone in another (390x844, touch), web-push-testing as the push service.
The phone reaches the LAN HTTPS listener by a name (NOTIFIER_HTTPS_NAME) that its
browser resolves to 127.0.0.1, so nothing listens beyond loopback, and it trusts
the server's certificate by its key (Chromium's --ignore-certificate-errors-spki-list
takes only the leaf's); a person trusts the CA once, from the app's /ca/ page.

Screenshots of every step go to $NOTIFIER_TEST_SHOTS (default tests/artifacts/first-run).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import *  # noqa: F403 - the browser fixtures
from browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PHONE, fake_push_script, never_asked_script
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from procs import ServerProcess, free_port, recording_browser

from notifier.access.pairing import pair_url, qr_svg
from notifier.host.tls import tls_dir

pytestmark = pytest.mark.slow

LAN_NAME = "study-pc.test"  # what the phone's browser resolves to 127.0.0.1
DESKTOP = {"width": 1280, "height": 800}
# A phone that does not trust the CA yet shows the browser's certificate warning
# once: "Advanced", then "Proceed" (the pairing card says so). Playwright cannot
# tap an interstitial, so the test's phone trusts the CA and the two taps are
# counted here.
CERT_WARNING_TAPS = 2
MAX_TAPS = 6  # the target for the phone, after the scan


class Shots:
    """Numbered screenshots of the walk, phone and desktop, in one folder."""

    def __init__(self) -> None:
        self.folder = Path(os.environ.get("NOTIFIER_TEST_SHOTS") or ARTIFACTS / "first-run")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def take(self, page: Any, name: str) -> None:
        self.n += 1
        page.wait_for_timeout(200)  # let toasts and focus rings settle
        page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), animations="disabled")


def wait_ready(page: Any, view: str | None = None) -> None:
    cond = "document.documentElement.dataset.ready === '1'"
    if view:
        cond += f" && document.documentElement.dataset.view === '{view}'"
    page.wait_for_function(f"() => {cond}", timeout=20_000)


def spki_sha256(cert_pem: Path) -> str:
    """What Chromium's --ignore-certificate-errors-spki-list takes: base64 SHA-256 of a certificate's key."""
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def qr_modules(svg: str) -> str:
    """The drawn path of a QR code SVG (what a camera reads), without size attributes."""
    match = re.search(r'\sd="([^"]+)"', svg)
    assert match, svg[:200]
    return match.group(1)


def test_from_an_empty_folder_to_a_test_reminder_on_the_phone(pw, wpt, data_dir, tmp_path) -> None:
    shots = Shots()
    https_port = free_port()
    opener, opened = recording_browser(tmp_path)
    server = ServerProcess(
        data_dir,
        env={
            "BROWSER": opener,
            "NOTIFIER_PUSH_EXTRA_HOSTS": wpt.host_port,
            "NOTIFIER_HTTPS_HOST": "127.0.0.1",
            "NOTIFIER_HTTPS_PORT": str(https_port),
            "NOTIFIER_HTTPS_NAME": LAN_NAME,
        },
        double_click=True,
    ).start()
    desktop_browser = pw.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    phone_browser = None
    try:
        # ---- the desktop: the launcher opened the dashboard with a one-time sign-in link
        deadline = time.monotonic() + 15
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        [login_link] = opened.read_text().split()
        desktop_ctx = desktop_browser.new_context(
            viewport=DESKTOP, locale="en-GB", timezone_id="Europe/Berlin", color_scheme="light"
        )
        desk = desktop_ctx.new_page()
        desk_errors: list[str] = []
        desk.on("pageerror", lambda exc: desk_errors.append(str(exc)))
        desk.goto(login_link)
        wait_ready(desk, "today")
        checklist = desk.locator("#checklist")
        checklist.wait_for()
        assert "0 of 4 done" in checklist.inner_text()
        # pushes cannot be sent yet, and every screen says why
        assert desk.locator("#check-contact-email").is_visible()
        shots.take(desk, "desktop-checklist")

        # (1) a contact for the push services
        desk.fill("#check-contact-email", "me@example.org")
        desk.click("#check-contact-save")
        desk.locator("#check-contact.is-done").wait_for()
        assert desk.locator("#check-timezone.is-current").is_visible()
        shots.take(desk, "desktop-contact-saved")

        # (2) the time zone, confirmed
        desk.click("#check-zone-yes")
        desk.locator("#check-phone.is-current").wait_for()
        assert "2 of 4 done" in desk.locator("#checklist").inner_text()

        # (3) pair a phone: loopback only, so the card offers LAN HTTPS, turned on right here
        desk.click("#pair-start")
        desk.locator("#pair-no-origin").wait_for()
        shots.take(desk, "desktop-pair-needs-https")
        desk.click("#pair-lan")
        code = desk.locator("#pair-code")
        code.wait_for(timeout=30_000)
        origin = f"https://{LAN_NAME}:{https_port}"
        card = desk.locator("#pair-out").inner_text()
        assert f"{origin}/pair" in card and "127.0.0.1" not in card
        link = pair_url(origin, code.inner_text().strip())
        # the QR code is that link (the same modules segno draws for it)
        drawn = desk.locator("#pair-out svg").evaluate("e => e.outerHTML")
        assert qr_modules(drawn) == qr_modules(qr_svg(link))
        desk.locator("#pair-out svg").scroll_into_view_if_needed()
        shots.take(desk, "desktop-pair-qr")

        # ---- the phone: a second device that scans the code
        phone_browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                f"--host-resolver-rules=MAP {LAN_NAME} 127.0.0.1",
                "--ignore-certificate-errors-spki-list="
                + spki_sha256(tls_dir(data_dir) / "server.pem"),
            ],
        )
        key = httpx.get(f"{server.url}/api/push/vapid-public-key", trust_env=False).json()["key"]
        subscription = wpt.subscribe(key)
        phone_ctx = phone_browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="en-GB",
            timezone_id="Europe/Berlin",
            color_scheme="light",
            service_workers="allow",
            permissions=["notifications"],
        )
        phone_ctx.add_init_script(never_asked_script() + fake_push_script(subscription))
        phone = phone_ctx.new_page()
        phone_errors: list[str] = []
        phone.on("pageerror", lambda exc: phone_errors.append(str(exc)))
        taps = CERT_WARNING_TAPS

        def tap(selector: str) -> None:
            nonlocal taps
            taps += 1
            phone.locator(selector).first.tap()

        phone.goto(link)  # the scan
        wait_ready(phone, "today")
        assert phone.url.startswith(f"{origin}/") and "code=" not in phone.url
        shots.take(phone, "phone-paired-today")
        desk.locator("#check-test.is-current").wait_for(timeout=15_000)  # the desktop noticed
        desk.locator("#check-test").scroll_into_view_if_needed()
        shots.take(desk, "desktop-phone-paired")

        phone.locator("#nudge-on").scroll_into_view_if_needed()  # a scroll, not a tap
        shots.take(phone, "phone-turn-on-notifications")
        tap("#nudge-on")
        phone.locator("#nudge-test").wait_for(timeout=20_000)
        taps += phone.evaluate("window.__permissionAsked || 0")  # "Allow" on the prompt
        shots.take(phone, "phone-notifications-on")

        tap("#nudge-test")
        [message] = wpt.wait_for_messages(subscription, timeout=20)
        assert message["kind"] == "test" and message["title"]
        phone.get_by_text("Test sent. It should pop up in a moment.").wait_for()
        shots.take(phone, "phone-test-sent")
        assert taps <= MAX_TAPS, f"{taps} taps on the phone after the scan"

        # ---- back on the desktop: the checklist saw it all by itself and steps aside,
        # and the banner saying reminders cannot reach a phone is gone
        desk.wait_for_function(
            "() => !document.querySelector('#checklist') && !document.querySelector('#push-banner')",
            timeout=20_000,
        )
        shots.take(desk, "desktop-done")
        assert desk_errors == [] and phone_errors == []
        print(f"phone taps after the scan: {taps} (of at most {MAX_TAPS}); shots in {shots.folder}")
    finally:
        if phone_browser is not None:
            phone_browser.close()
        desktop_browser.close()
        try:
            server.terminate()
        except Exception:
            server.kill()
