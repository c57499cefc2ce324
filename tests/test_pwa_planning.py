"""Planning screens at 390x844: quiet hours and "How did it go?" in Settings."""

from __future__ import annotations

from typing import Any

import pytest
from browser import *  # noqa: F403 - the browser fixtures
from browser import Phone

pytestmark = pytest.mark.slow

DESKTOP = {"width": 1280, "height": 800}


def shots(make_phone: Any, phone: Phone, route: str, name: str, view: str | None = None) -> None:
    """The screen at 390x844 and 1280x800, light and dark, in tests/artifacts/."""
    for scheme in ("light", "dark"):
        for size, viewport in (("phone", None), ("desktop", DESKTOP)):
            if scheme == "light" and viewport is None:
                other = phone
            else:
                other = make_phone(color_scheme=scheme, viewport=viewport)
                other.open(route)
            other.go(route, view)
            other.shot(f"{name}-{size}-{scheme}", full_page=True)


def test_quiet_hours_and_check_in_from_settings(phone: Phone, make_phone: Any) -> None:
    server = phone.server
    phone.open("#/settings")
    page = phone.page
    assert server.api("GET", "/api/settings").json()["quiet_hours"] is None
    assert page.locator("#q-start").is_hidden()  # off: nothing to fill in

    page.check("#q-on")
    page.fill("#q-start", "22:30")
    page.fill("#q-end", "06:45")
    page.check("#q-mode-drop")
    page.click("#q-days button[data-day='SU']")
    page.click("#q-days button[data-day='MO']")
    page.check("#s-check")
    page.click("#s-save")
    page.get_by_text("Settings saved.").last.wait_for()
    saved = server.api("GET", "/api/settings").json()
    assert saved["quiet_hours"] == {
        "start": "22:30",
        "end": "06:45",
        "mode": "drop",
        "days": ["MO", "SU"],
    }
    assert saved["end_of_block_check"] is True

    # what was saved is what the screen shows next time; a refused value says why
    phone.reload("settings")
    assert page.locator("#q-on").is_checked()
    assert page.locator("#q-start").input_value() == "22:30"
    assert page.locator("#q-mode-drop").is_checked()
    assert page.locator("#q-days button[aria-pressed=true]").count() == 2
    page.fill("#q-end", "22:30")
    page.click("#s-save")
    assert "Not saved" in page.locator(".toast.error").inner_text()
    assert server.api("GET", "/api/settings").json()["quiet_hours"]["end"] == "06:45"

    # off again: null, every night
    page.fill("#q-end", "06:45")
    page.click("#q-days button[data-day='SU']")
    page.click("#q-days button[data-day='MO']")
    page.check("#q-mode-hold")
    page.click("#s-save")
    page.get_by_text("Settings saved.").last.wait_for()
    assert "days" not in server.api("GET", "/api/settings").json()["quiet_hours"]
    page.uncheck("#q-on")
    page.uncheck("#s-check")
    page.click("#s-save")
    page.get_by_text("Settings saved.").last.wait_for()
    saved = server.api("GET", "/api/settings").json()
    assert saved["quiet_hours"] is None and saved["end_of_block_check"] is False

    page.check("#q-on")
    page.locator("#planning-settings").scroll_into_view_if_needed()
    phone.shot("planning-settings-phone-light")
    shots(make_phone, phone, "#/settings", "settings-full", "settings")
    assert [e for e in phone.errors if "pageerror" in e] == []
