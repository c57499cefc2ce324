"""The repeat picker through the PWA at 390x844: every kind of repeat without typing a rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from browser import *  # noqa: F403 - the browser fixtures
from browser import Phone
from test_pwa_blocks import blocks, fill_block_form, server_now

pytestmark = pytest.mark.slow


def second_tuesday_ahead(today: date) -> date:
    """The next date that is the 2nd Tuesday of its month."""
    day = today + timedelta(days=1)
    while not (day.weekday() == 1 and 8 <= day.day <= 14):
        day += timedelta(days=1)
    return day


def add_with_picker(phone: Phone, title: str, start: datetime, choose) -> dict:
    phone.go("#/block/new", "new")
    fill_block_form(phone, title=title, start=start, minutes=45)
    choose(phone.page)
    phone.page.click("button[type=submit]")
    phone.wait_ready("today")
    return next(b for b in blocks(phone.server) if b["title"] == title)


def test_every_kind_of_repeat_through_the_picker(phone) -> None:
    server = phone.server
    now = server_now(server)
    tuesday = second_tuesday_ahead(now.date())
    start = datetime.combine(tuesday, now.replace(hour=18, minute=0).time())
    last = tuesday + timedelta(days=25)
    phone.open("#/block/new")
    page = phone.page

    # issue 14 item 7: the form opens on another date; Weekly, then the Tuesday date, then Tu and Th
    def weekly(page) -> None:
        page.select_option("#b-repeat", "week")
        assert (
            page.locator("button[data-day][aria-pressed=true]").count() == 0
        )  # none pressed for you
        page.fill("#b-date", tuesday.isoformat())
        page.click("button[data-day='TU']")
        page.click("button[data-day='TH']")
        page.fill("#b-interval", "2")
        page.check("input[name=b-ends][value=until]")
        page.fill("#b-until", last.isoformat())
        phone.shot("repeat-weekly-filled", full_page=True)

    made = add_with_picker(phone, "Statistics", start, weekly)
    assert made["rrule"] == f"FREQ=WEEKLY;INTERVAL=2;UNTIL={last:%Y%m%d};BYDAY=TU,TH"
    assert made["repeat_text"].startswith("Tue and Thu, every 2 weeks, until ")

    def daily(page) -> None:
        page.select_option("#b-repeat", "day")
        page.fill("#b-interval", "3")
        page.click("#b-count")  # focusing the count picks "After N sessions"
        page.fill("#b-count", "10")

    assert (
        add_with_picker(phone, "Flashcards", start, daily)["rrule"]
        == "FREQ=DAILY;INTERVAL=3;COUNT=10"
    )
    weekdays = add_with_picker(
        phone, "Reading", start, lambda p: p.select_option("#b-repeat", "weekdays")
    )
    assert weekdays["rrule"] == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"

    def second_tuesday(page) -> None:
        page.select_option("#b-repeat", "month")
        page.get_by_text("On the second Tuesday").click()
        phone.shot("repeat-monthly")

    assert (
        add_with_picker(phone, "Review", start, second_tuesday)["rrule"] == "FREQ=MONTHLY;BYDAY=2TU"
    )
    on_day = add_with_picker(
        phone, "Budget", start, lambda p: p.select_option("#b-repeat", "month")
    )
    assert on_day["rrule"] == f"FREQ=MONTHLY;BYMONTHDAY={tuesday.day}"
    yearly = add_with_picker(
        phone, "Exam prep", start, lambda p: p.select_option("#b-repeat", "year")
    )
    assert yearly["rrule"] == "FREQ=YEARLY" and yearly["repeat_text"].startswith("Every year on ")

    # the rule in words where the block appears, and the picker shows it back for editing
    occ_key = next(
        o["key"]
        for o in server.api(
            "GET",
            "/api/agenda",
            params={"from": f"{tuesday}T00:00", "to": f"{tuesday + timedelta(days=1)}T00:00"},
        ).json()["occurrences"]
        if o["block_id"] == made["id"]
    )
    phone.go(f"#/occurrence/{made['id']}/{occ_key}", "occurrence")
    assert made["repeat_text"] in page.locator(".facts").inner_text()
    phone.go(f"#/block/{made['id']}/edit", "edit")
    assert page.input_value("#b-repeat") == "week" and page.input_value("#b-interval") == "2"
    pressed = page.locator("button[data-day][aria-pressed=true]").evaluate_all(
        "els => els.map(e => e.dataset.day)"
    )
    assert pressed == ["TU", "TH"]
    assert made["repeat_text"] in page.locator("#b-repeat-now").inner_text()
    phone.shot("repeat-edit", full_page=True)
    page.check("input[name=b-ends][value=never]")
    page.click("button[type=submit]")
    phone.wait_ready("today")
    edited = next(b for b in blocks(server) if b["id"] == made["id"])
    assert edited["rrule"] == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH"

    # a custom rule stays editable under Advanced
    custom = add_with_picker(
        phone,
        "Odd one",
        start,
        lambda p: (
            p.select_option("#b-repeat", "custom"),
            p.fill("#b-rrule", "FREQ=MONTHLY;BYMONTHDAY=1,15"),
        ),
    )
    phone.go(f"#/block/{custom['id']}/edit", "edit")
    assert (
        page.input_value("#b-repeat") == "custom"
        and page.input_value("#b-rrule") == "FREQ=MONTHLY;BYMONTHDAY=1,15"
    )
    assert [e for e in phone.errors if "pageerror" in e] == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_repeat_picker_screenshots(make_phone, scheme, size) -> None:
    viewport = None if size == "phone" else {"width": 1280, "height": 800}
    phone = make_phone(color_scheme=scheme, viewport=viewport)
    phone.open("#/block/new")
    page = phone.page
    page.fill("#b-title", "Statistics")
    page.fill("#b-date", second_tuesday_ahead(server_now(phone.server).date()).isoformat())
    page.select_option("#b-repeat", "week")
    page.click("button[data-day='TU']")
    page.click("button[data-day='TH']")
    phone.shot(f"repeat-weekly-{size}-{scheme}", full_page=True)
    page.select_option("#b-repeat", "month")
    phone.shot(f"repeat-monthly-{size}-{scheme}", full_page=True)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
