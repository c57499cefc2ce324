"""The settings screen: saves what changed, and previews a message in the study buddy's voice."""

from __future__ import annotations

import pytest
from browser import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.slow


def test_settings_save_and_preview_a_message(phone) -> None:
    server = phone.server
    if not server.has_route("GET", "/api/settings"):
        pytest.skip("needs /api/settings")
    phone.open("#/settings")
    page = phone.page

    page.get_by_role("button", name="Use this device's zone: Berlin time").click()
    page.click("#s-offsets button[data-offset='30']")
    page.fill("#s-snooze", "15")
    page.check("#s-summary")
    page.fill("#s-summary-time", "07:15")
    page.fill("#s-vapid", "me@example.org")  # a bare address becomes mailto:
    page.click("#s-save")
    page.get_by_text("Settings saved.").wait_for()

    saved = server.api("GET", "/api/settings").json()
    assert saved["timezone"] == "Europe/Berlin"
    assert saved["default_offsets"] == [0, 15, 30]
    assert saved["snooze_minutes"] == 15
    assert saved["summary_enabled"] is True and saved["summary_time"] == "07:15"
    assert saved["vapid_subject"] == "mailto:me@example.org"

    # the persona is saved on preview, and the preview shows a title and body (Claude or the fallback)
    # with no blocks yet, "The next block" is not offered (it would have nothing to show)
    assert page.locator("#s-preview-block option").all_inner_texts() == ["Today's summary"]
    page.fill("#s-persona", "A dry, deadpan tutor who loves puns.")
    assert page.locator("#s-preview-btn").inner_text() == "Save voice & preview"
    page.click("#s-preview-btn")
    preview = page.locator("#s-preview")
    preview.locator("strong").wait_for(timeout=30_000)
    assert preview.locator("strong").inner_text().strip()
    assert (
        server.api("GET", "/api/settings").json()["persona"]
        == "A dry, deadpan tutor who loves puns."
    )
    page.wait_for_timeout(3800)  # let the "saved" toast go
    preview.evaluate("e => e.scrollIntoView({block: 'center'})")
    phone.shot("settings-preview")

    # a value the server refuses is reported with its reason
    page.fill("#s-vapid", "mailto:me@localhost")
    page.click("#s-save")
    toast = page.locator(".toast.error")
    toast.wait_for()
    assert "Not saved" in toast.inner_text()
    assert server.api("GET", "/api/settings").json()["vapid_subject"] == "mailto:me@example.org"
    assert [e for e in phone.errors if "pageerror" in e] == []
