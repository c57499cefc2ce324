"""Planning screens at 390x844: quiet hours and "How did it go?" in Settings, one session
changed from its screen, and History (reminders, planned against done, streak)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from browser import *  # noqa: F403 - the browser fixtures
from browser import Phone, midday_zone, wait_until
from test_pwa_blocks import agenda, blocks, earlier_today, server_now

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


def session_on(server: Any, block_id: int, day: date) -> dict[str, Any]:
    """The block's session whose original start is on `day` (moved or not)."""
    found = [
        o
        for o in agenda(server, day.isoformat())
        if o["block_id"] == block_id and (o["original_start"] or o["start"]).startswith(str(day))
    ]
    assert len(found) == 1, found
    return found[0]


def test_change_one_session_from_its_screen(phone: Phone, make_phone: Any) -> None:
    server = phone.server
    assert server.api("PUT", "/api/settings", json={"timezone": "Europe/Berlin"}).status_code == 200
    first = server_now(server).date() + timedelta(days=1)
    made = server.api(
        "POST",
        "/api/blocks",
        json={
            "title": "Organic chemistry",
            "start": f"{first}T18:00",
            "duration_minutes": 45,
            "repeat": {"every": "day", "interval": 1},
        },
    )
    assert made.status_code == 201, made.text
    block = made.json()
    d2, d3, d4 = (first + timedelta(days=n) for n in (1, 2, 3))

    # move the second session to 20:30 and make it an hour long: only that one changes
    second = session_on(server, block["id"], d2)
    phone.open(f"#/occurrence/{block['id']}/{second['key']}")
    page = phone.page
    page.click("#session-changes summary")
    page.fill("#occ-new-time", "20:30")
    page.fill("#occ-new-length", "60")
    page.click("#occ-move")
    page.locator("#occ-moved-from").wait_for()
    moved = session_on(server, block["id"], d2)
    assert (moved["start"], moved["duration_minutes"]) == (f"{d2}T20:30", 60)
    assert moved["original_start"] == f"{d2}T18:00" and moved["key"] == second["key"]
    assert session_on(server, block["id"], d3)["start"] == f"{d3}T18:00"
    assert "20:30" in page.locator("dl.facts").inner_text()
    phone.shot("occurrence-moved")

    # the week shows the moved time
    phone.go(f"#/week/{d2}", "week")
    row = page.locator(f"a.occ[data-key='{second['key']}']")
    assert row.locator(".time").inner_text().startswith("20:30")

    # to another day: still the same session (the screen finds it by its original start)
    phone.go(f"#/occurrence/{block['id']}/{second['key']}", "occurrence")
    page.fill("#occ-new-date", str(d2 + timedelta(days=5)))
    page.click("#occ-move")
    later = str(d2 + timedelta(days=5))
    wait_until(
        lambda: [o for o in agenda(server, later) if o["key"] == second["key"]],
        message="the session on its new day",
    )
    phone.reload("occurrence")
    assert page.locator("#occ-new-date").input_value() == later
    page.click("#occ-unmove")
    page.get_by_text("Back to the usual time.").wait_for()
    back = session_on(server, block["id"], d2)
    assert (back["start"], back["duration_minutes"], back["original_start"]) == (
        f"{d2}T18:00",
        45,
        None,
    )

    # cancel the third, then put it back
    third = session_on(server, block["id"], d3)
    phone.go(f"#/occurrence/{block['id']}/{third['key']}", "occurrence")
    page.click("#session-changes summary")
    page.click("#occ-cancel")
    page.click("#occ-cancel")  # the second tap confirms
    page.locator("#occ-restore").wait_for()
    # a cancelled session is off the agenda (EXDATE): no reminders, nothing to mark
    assert [o for o in agenda(server, str(d3)) if o["block_id"] == block["id"]] == []
    assert page.locator("#occ-done").count() == 0
    phone.shot("occurrence-cancelled")
    page.click("#occ-restore")
    page.locator("#occ-done").wait_for()
    assert session_on(server, block["id"], d3)["status"] == "planned"

    # this and all following: from the fourth on at 07:00 for 30 minutes, in a new block
    fourth = session_on(server, block["id"], d4)
    shots(make_phone, phone, f"#/occurrence/{block['id']}/{fourth['key']}", "occurrence-changes")
    page.click("#session-changes summary")
    page.fill("#occ-new-time", "07:00")
    page.fill("#occ-new-length", "30")
    phone.shot("occurrence-split-filled")
    page.click("#occ-split")
    page.wait_for_url("**/#/block/*/edit")
    after = {b["id"]: b for b in blocks(server)}
    assert len(after) == 2
    assert "UNTIL=" in after[block["id"]]["rrule"]
    new = next(b for i, b in after.items() if i != block["id"])
    assert (new["start"], new["duration_minutes"]) == (f"{d4}T07:00", 30)
    assert [o["start"] for o in agenda(server, str(d4))] == [f"{d4}T07:00"]
    assert session_on(server, block["id"], d3)["start"] == f"{d3}T18:00"
    assert [e for e in phone.errors if "pageerror" in e] == []


def test_history_lists_reminders_and_shows_planned_against_done(
    phone: Phone, make_phone: Any
) -> None:
    server = phone.server
    # A zone where it is about noon now: the whole test stays on one day (and one week,
    # one month) at whatever hour it runs, and "earlier today" is hours of today.
    zone = midday_zone()
    assert server.api("PUT", "/api/settings", json={"timezone": zone}).status_code == 200
    now = datetime.now(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)

    def add(title: str, start: datetime, minutes: int, **extra: Any) -> dict[str, Any]:
        body = {"title": title, "start": start.isoformat(), "duration_minutes": minutes, **extra}
        made = server.api("POST", "/api/blocks", json=body)
        assert made.status_code == 201, made.text
        return made.json()

    physics = add("Physics", earlier_today(now, 180), 60, reminder_offsets=[])
    add("Chemistry", earlier_today(now, 100), 45, reminder_offsets=[])
    # A reminder already due when its block is created is never sent: 5 s from this
    # request, not from the start of the test.
    soon = datetime.now(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0) + timedelta(seconds=5)
    maths = add("Maths", soon, 30, reminder_offsets=[0])
    [physics_occ] = [o for o in agenda(server, str(now.date())) if o["title"] == "Physics"]
    response = server.api(
        "POST",
        f"/api/blocks/{physics['id']}/occurrences/{physics_occ['key']}",
        json={"status": "done"},
    )
    assert response.status_code == 200, response.text

    def went_out() -> list[dict[str, Any]]:
        items = server.api("GET", "/api/reminders").json()
        return [
            r
            for r in items
            if r["block_id"] == maths["id"]
            and r["status_text"] in ("sent", "late", "not delivered")
        ]

    wait_until(lambda: went_out(), timeout=40)
    [maths_occ] = [o for o in agenda(server, str(now.date())) if o["title"] == "Maths"]
    response = server.api(
        "POST",
        f"/api/blocks/{maths['id']}/occurrences/{maths_occ['key']}",
        json={"snooze_minutes": 10},
    )
    assert response.status_code == 200, response.text
    stats = server.api("GET", "/api/stats").json()

    phone.open("#/week")
    page = phone.page
    page.click("#to-history")
    phone.wait_ready("history")
    assert page.locator("#h-done").inner_text() == "1 h"
    assert page.locator("#h-streak .big").inner_text() == str(stats["streak"])
    today = page.locator("#h-bars .day.is-today")
    assert today.get_attribute("aria-label").endswith("1 h done of 2 h 15 min planned")
    titles = page.locator("#h-titles").inner_text()
    assert "Physics" in titles and "1 h of 1 h" in titles and "0 min of 45 min" in titles
    items = page.locator("#h-reminders li")
    statuses = items.evaluate_all("els => els.map(e => e.dataset.status)")
    assert "snoozed" in statuses and set(statuses) <= {"sent", "late", "snoozed", "not delivered"}
    sent = went_out()[0]
    shown = page.locator("#h-reminders li", has_text=sent["what"]).first
    assert "Maths" in shown.inner_text()
    if sent["body"]:
        assert sent["body"][:30] in shown.inner_text()
    phone.shot("history-week")

    page.click("#h-month")
    phone.wait_ready("history")
    assert page.locator("#h-done").inner_text() == "1 h"
    assert 4 <= page.locator("#h-bars .day").count() <= 6  # one column per week
    phone.go("#/reminders", "history")  # where a "you missed N" notification points
    assert page.locator("#h-reminders li").count() == statuses.__len__()
    shots(make_phone, phone, "#/history", "history")
    assert [e for e in phone.errors if "pageerror" in e] == []
