"""Blocks through the PWA: add/edit/done/delete in the UI, and the offline queue syncing exactly once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from browser import *  # noqa: F403 - the browser fixtures
from browser import LiveServer, Phone, midday_zone, wait_until

pytestmark = pytest.mark.slow

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(autouse=True)
def _needs_blocks_api(live_server: LiveServer) -> None:
    if not live_server.has_route("GET", "/api/blocks"):
        pytest.skip("needs /api/blocks")


def server_now(server: LiveServer) -> datetime:
    """Now in the schedule's zone (the server's settings), as a naive wall-clock time."""
    settings = server.api("GET", "/api/settings").json()
    zone = settings.get("timezone") or settings.get("timezone_effective") or "UTC"
    return datetime.now(ZoneInfo(zone)).replace(tzinfo=None, second=0, microsecond=0)


def plan_at_midday(server: LiveServer) -> datetime:
    """Plan in a zone where it is about noon (browser.midday_zone); now there, naive.

    For tests whose steps must fall on one "today": run in the machine's zone near
    midnight, the day could change between planning a block and finding it on Today.
    """
    response = server.api("PUT", "/api/settings", json={"timezone": midday_zone()})
    assert response.status_code == 200, response.text
    return server_now(server)


def earlier_today(now: datetime, minutes: int) -> datetime:
    """A start `minutes` ago, kept on today's date (so it is in today's agenda)."""
    return max(now - timedelta(minutes=minutes), now.replace(hour=0, minute=0))


def blocks(server: LiveServer) -> list[dict[str, Any]]:
    response = server.api("GET", "/api/blocks")
    assert response.status_code == 200, response.text
    return response.json()


def agenda(server: LiveServer, day: str) -> list[dict[str, Any]]:
    nxt = (datetime.fromisoformat(day) + timedelta(days=1)).strftime("%Y-%m-%d")
    response = server.api(
        "GET", "/api/agenda", params={"from": f"{day}T00:00", "to": f"{nxt}T00:00"}
    )
    assert response.status_code == 200, response.text
    return response.json()["occurrences"]


def fill_block_form(
    phone: Phone, *, title: str, start: datetime, minutes: int | None = None, notes: str = ""
) -> None:
    page = phone.page
    page.fill("#b-title", title)
    page.fill("#b-date", start.strftime("%Y-%m-%d"))
    page.fill("#b-time", start.strftime("%H:%M"))
    if minutes in (25, 45, 60, 90):
        page.click(f"button[data-minutes='{minutes}']")
    elif minutes:
        page.fill("#b-duration", str(minutes))
    if notes:
        page.fill("#b-notes", notes)


def test_add_edit_complete_and_delete_a_block_through_the_ui(phone) -> None:
    server = phone.server
    now = plan_at_midday(server)
    today = now.strftime("%Y-%m-%d")
    phone.open("#/block/new")
    page = phone.page
    phone.shot("block-new-empty")

    # a block that is on right now, with the 30-minute chip one tap away
    fill_block_form(
        phone,
        title="Organic chemistry",
        start=earlier_today(now, 10),
        minutes=45,
        notes="Chapter 4, problems 1-12",
    )
    page.click("button[data-offset='30']")
    assert page.locator("button[data-offset='30']").get_attribute("aria-pressed") == "true"
    phone.shot("block-new-filled")
    page.click("button[type=submit]")
    phone.wait_ready("today")

    [made] = blocks(server)
    assert made["title"] == "Organic chemistry" and made["duration_minutes"] == 45
    assert made["reminder_offsets"] == [0, 15, 30] and made["reminders"] is True
    assert made["notes"] == "Chapter 4, problems 1-12" and made["rrule"] is None

    # a weekly one, to fill the week chart
    phone.go("#/block/new", "new")
    fill_block_form(phone, title="Spanish vocab", start=now.replace(hour=20, minute=0), minutes=25)
    page.select_option("#b-repeat", "week")
    for day in ("MO", "WE", "FR"):
        if page.locator(f"button[data-day='{day}']").get_attribute("aria-pressed") != "true":
            page.click(f"button[data-day='{day}']")
    page.click("button[type=submit]")
    phone.wait_ready("today")
    weekly = next(b for b in blocks(server) if b["title"] == "Spanish vocab")
    assert weekly["rrule"].startswith("FREQ=WEEKLY;BYDAY=") and {"MO", "WE", "FR"} <= set(
        weekly["rrule"].split("=")[-1].split(",")
    )
    assert weekly["reminder_offsets"] is None  # untouched chips follow the defaults

    page.get_by_text("Organic chemistry").first.wait_for()
    phone.shot("today-with-blocks")
    phone.shot("today-with-blocks-full", full_page=True)

    # the occurrence detail (the deep-link target): Done
    [occ] = [o for o in agenda(server, today) if o["block_id"] == made["id"]]
    phone.go(f"#/occurrence/{made['id']}/{occ['key']}", "occurrence")
    assert page.locator("h1").inner_text() == "Organic chemistry"
    phone.shot("occurrence-detail")
    page.click("#occ-done")
    page.locator("#occ-reopen").wait_for()
    assert [o["status"] for o in agenda(server, today) if o["block_id"] == made["id"]] == ["done"]
    phone.shot("occurrence-done")

    phone.go("#/week", "week")
    phone.shot("week-with-blocks")

    # edit: rename, and the server has the change
    phone.go(f"#/block/{made['id']}/edit", "edit")
    assert page.input_value("#b-title") == "Organic chemistry"
    phone.shot("block-edit")
    page.fill("#b-title", "Organic chemistry II")
    page.click("button[type=submit]")
    phone.wait_ready("today")
    assert (
        next(b for b in blocks(server) if b["id"] == made["id"])["title"] == "Organic chemistry II"
    )

    # a rejected change is shown on the form, not lost
    phone.go("#/block/new", "new")
    fill_block_form(phone, title="Nonsense", start=now, minutes=30)
    page.select_option("#b-repeat", "custom")
    page.fill("#b-rrule", "FREQ=SOMETIMES")
    page.click("button[type=submit]")
    page.locator("#form-errors").wait_for()
    assert page.locator("#form-errors li").count() == 1  # the server's reason, in the form
    assert page.locator("#sync-failed").count() == 0  # shown once, where the person is looking
    phone.shot("block-new-rejected")
    assert not any(b["title"] == "Nonsense" for b in blocks(server))

    # delete (two taps)
    phone.go(f"#/block/{made['id']}/edit", "edit")
    delete = page.get_by_role("button", name="Delete block")
    delete.click()
    page.get_by_role("button", name="Tap again to delete").click()
    phone.wait_ready("today")
    assert [b["title"] for b in blocks(server)] == ["Spanish vocab"]
    assert [e for e in phone.errors if "pageerror" in e] == []


def test_a_one_off_block_that_is_already_over_is_refused_on_the_form(phone) -> None:
    server = phone.server
    now = server_now(server)
    phone.open("#/block/new")
    page = phone.page
    fill_block_form(phone, title="Yesterday", start=now - timedelta(days=1), minutes=30)
    page.click("button[type=submit]")
    page.locator("#form-errors").wait_for()
    assert "already passed" in page.locator("#form-errors").inner_text()
    assert not any(b["title"] == "Yesterday" for b in blocks(server))
    # the same time, repeating daily, is fine: its next sessions are ahead
    page.select_option("#b-repeat", "day")
    page.click("button[type=submit]")
    phone.wait_ready("today")
    assert any(b["title"] == "Yesterday" for b in blocks(server))


def test_changes_made_offline_are_queued_shown_and_synced_exactly_once(phone) -> None:
    server = phone.server
    now = plan_at_midday(server)
    today = now.strftime("%Y-%m-%d")
    start_a = earlier_today(now, 10)
    response = server.api(
        "POST",
        "/api/blocks",
        json={
            "title": "Linear algebra",
            "start": start_a.strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": 50,
        },
    )
    assert response.status_code == 201, response.text
    block_a = response.json()

    phone.open()
    phone.wait_for_service_worker()
    phone.reload("today")  # now through the service worker, so today's agenda is cached
    page = phone.page
    page.get_by_text("Linear algebra").first.wait_for()

    phone.context.set_offline(True)
    # 1. add a block while offline
    phone.go("#/block/new", "new")
    fill_block_form(phone, title="History essay", start=earlier_today(now, 5), minutes=30)
    page.click("button[type=submit]")
    phone.wait_ready("today")
    page.locator("#sync-pending").wait_for()
    # 2. complete the block that was already there (it is on now: the hero's Done)
    row_a = page.locator(f"a.occ[data-block='{block_a['id']}']")
    row_a.click()
    phone.wait_ready("occurrence")
    page.click("#occ-done")
    page.locator("#occ-reopen").wait_for()
    # 3. complete the block made offline too (its id is still a local one)
    phone.go("#/today", "today")
    row_b = page.locator("a.occ", has_text="History essay")
    assert row_b.get_attribute("data-block").startswith("tmp-")
    row_b.click()
    phone.wait_ready("occurrence")
    page.click("#occ-done")
    page.locator("#occ-reopen").wait_for()

    queue = phone.idb_queue()
    assert [i["kind"] for i in queue] == ["create", "occurrence", "occurrence"]
    assert all(UUID.match(i["id"]) for i in queue) and len({i["id"] for i in queue}) == 3
    assert page.locator("#sync-pending").inner_text().startswith("3 changes waiting to sync")

    # the app shell still opens offline, with the pending changes on show
    phone.reload("occurrence")
    phone.go("#/today", "today")
    assert page.get_by_text("Waiting to sync").first.is_visible()
    assert page.locator("a.occ", has_text="History essay").is_visible()
    phone.shot("offline-pending")
    assert blocks(server) == [block_a]  # nothing reached the server yet

    phone.context.set_offline(False)
    wait_until(lambda: phone.idb_queue() == [], timeout=30, message="the queue to drain")

    titles = [b["title"] for b in blocks(server)]
    assert sorted(titles) == ["History essay", "Linear algebra"]  # exactly one copy
    statuses = {o["title"]: o["status"] for o in agenda(server, today)}
    assert statuses == {"Linear algebra": "done", "History essay": "done"}
    page.locator("#sync-pending").wait_for(state="detached")
    phone.shot("online-synced")


def test_a_change_the_server_rejects_after_syncing_is_shown_not_dropped(phone) -> None:
    server = phone.server
    now = server_now(server)
    phone.open()
    phone.wait_for_service_worker()
    phone.context.set_offline(True)
    phone.go("#/block/new", "new")
    page = phone.page
    fill_block_form(phone, title="Mystery rule", start=now, minutes=30)
    page.select_option("#b-repeat", "custom")
    page.fill("#b-rrule", "FREQ=SOMETIMES")
    page.click("button[type=submit]")
    phone.wait_ready("today")
    phone.context.set_offline(False)

    failed = page.locator("#sync-failed")
    failed.wait_for(timeout=20_000)
    assert "Mystery rule" in failed.inner_text()
    phone.shot("sync-rejected")
    [item] = phone.idb_queue()
    assert item["state"] == "failed" and 400 <= item["status"] < 500
    assert not any(b["title"] == "Mystery rule" for b in blocks(server))
    failed.get_by_role("button", name="Dismiss").click()
    failed.wait_for(state="detached")
    assert phone.idb_queue() == []


def server_honours_idempotency_keys(server: LiveServer) -> bool:
    """Probe: the same Idempotency-Key twice must give the same block, not two."""
    body = {"title": "idempotency probe", "start": "2030-01-01T09:00", "duration_minutes": 5}
    headers = {"Idempotency-Key": "3f1b9a4e-0000-4000-8000-00000000beef"}
    first = server.api("POST", "/api/blocks", json=body, headers=headers).json()
    second = server.api("POST", "/api/blocks", json=body, headers=headers).json()
    for made in {first["id"], second["id"]}:
        server.api("DELETE", f"/api/blocks/{made}")
    return first["id"] == second["id"]


def test_a_lost_answer_is_retried_with_the_same_key_and_never_duplicates(phone) -> None:
    server = phone.server
    if not server_honours_idempotency_keys(server):
        pytest.skip("needs the server to honour Idempotency-Key on POST /api/blocks")
    now = plan_at_midday(server)
    phone.open()
    phone.wait_for_service_worker()
    page = phone.page
    phone.context.set_offline(True)
    phone.go("#/block/new", "new")
    fill_block_form(phone, title="Lost in transit", start=earlier_today(now, 5), minutes=20)
    page.click("button[type=submit]")
    phone.wait_ready("today")
    [queued] = phone.idb_queue()

    lost: list[str] = []

    def lose_first_answer(route: Any) -> None:
        if route.request.method == "POST" and not lost:
            route.fetch()  # the server handles it…
            lost.append(route.request.headers.get("idempotency-key", ""))
            route.abort()  # …but the phone never hears back
        else:
            route.continue_()

    page.route("**/api/blocks", lose_first_answer)
    phone.context.set_offline(False)
    wait_until(lambda: phone.idb_queue() == [], timeout=30, message="the retry to go through")
    assert lost == [queued["id"]]
    assert [b["title"] for b in blocks(server)] == ["Lost in transit"]
