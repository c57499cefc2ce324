"""Offline, settings and blocks are still editable: changes wait in the queue, say so, and sync on reconnect."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from browser import *  # noqa: F403 - the browser fixtures
from browser import LiveServer, Phone, wait_until

pytestmark = pytest.mark.slow


def settings(server: LiveServer) -> dict[str, Any]:
    response = server.api("GET", "/api/settings")
    assert response.status_code == 200, response.text
    return response.json()


def kv(phone: Phone, key: str) -> Any:
    """One value of the app's IndexedDB key-value store."""
    return phone.page.evaluate(
        """key => new Promise((resolve, reject) => {
            const req = indexedDB.open("study-notifier");
            req.onsuccess = () => {
              const db = req.result;
              if (!db.objectStoreNames.contains("kv")) { db.close(); return resolve(null); }
              const get = db.transaction("kv").objectStore("kv").get(key);
              get.onsuccess = () => { db.close(); resolve(get.result ?? null); };
              get.onerror = () => reject(get.error);
            };
            req.onerror = () => reject(req.error);
        })""",
        key,
    )


def online_phone(phone: Phone, route: str, view: str) -> Phone:
    """The app opened once online and reloaded through its service worker (as a phone has it)."""
    phone.open(route)
    phone.wait_for_service_worker()
    phone.reload(view)
    return phone


def test_settings_saved_offline_wait_on_the_phone_say_so_and_sync_on_reconnect(phone) -> None:
    server = phone.server
    before = settings(server)
    assert before["snooze_minutes"] != 20 and 30 not in before["default_offsets"]
    online_phone(phone, "#/settings", "settings")
    page = phone.page

    phone.context.set_offline(True)
    page.fill("#s-snooze", "20")
    page.click("#s-offsets button[data-offset='30']")
    page.click("#s-save")
    page.get_by_text(
        "Saved on this phone. It will sync when your computer is reachable."
    ).wait_for()
    queued = page.locator("#s-queued")
    queued.get_by_text("Waiting to sync").wait_for()
    assert "snooze length" in queued.inner_text()
    assert "default reminder times" in queued.inner_text()
    page.locator("#sync-pending").wait_for()
    assert [i["kind"] for i in phone.idb_queue()] == ["settings"]
    assert settings(server)["snooze_minutes"] == before["snooze_minutes"]  # nothing sent yet
    page.locator("#s-queued").scroll_into_view_if_needed()
    phone.shot("offline-settings-queued")

    # reopened offline, the screen shows what was saved here, not the old values
    phone.reload("settings")
    assert page.input_value("#s-snooze") == "20"
    assert (
        page.locator("#s-offsets button[data-offset='30']").get_attribute("aria-pressed") == "true"
    )
    assert page.locator("#s-stale").is_visible() and "Waiting to sync" in queued.inner_text()

    phone.context.set_offline(False)
    wait_until(lambda: phone.idb_queue() == [], timeout=30, message="the queue to drain")
    after = settings(server)
    assert after["snooze_minutes"] == 20
    assert after["default_offsets"] == sorted({*before["default_offsets"], 30})
    page.locator("#sync-pending").wait_for(state="detached")
    page.wait_for_function("() => !document.querySelector('#s-queued').textContent")
    phone.shot("online-settings-synced")
    assert [e for e in phone.errors if "pageerror" in e] == []


def test_a_block_never_opened_online_can_be_edited_offline(phone) -> None:
    server = phone.server
    zone = settings(server).get("timezone_effective") or "UTC"
    tomorrow = (datetime.now(ZoneInfo(zone)) + timedelta(days=1)).strftime("%Y-%m-%d")
    created = server.api(
        "POST",
        "/api/blocks",
        json={"title": "Organic chemistry", "start": f"{tomorrow}T10:00", "duration_minutes": 45},
    )
    assert created.status_code == 201, created.text
    block = created.json()

    online_phone(phone, "#/today", "today")  # the list loads; the block's page is never opened
    wait_until(
        lambda: str(block["id"]) in (kv(phone, "blocks") or {}), message="the blocks kept offline"
    )
    page = phone.page

    phone.context.set_offline(True)
    phone.go(f"#/block/{block['id']}/edit", "edit")
    assert page.input_value("#b-title") == "Organic chemistry"
    assert page.input_value("#b-duration") == "45"
    page.fill("#b-title", "Organic chemistry: reactions")
    page.fill("#b-duration", "90")
    page.click("button[type=submit]")
    phone.wait_ready("today")
    page.get_by_text(
        "Saved on this phone. It will sync when your computer is reachable."
    ).wait_for()
    page.locator("#sync-pending").wait_for()
    assert [i["kind"] for i in phone.idb_queue()] == ["edit"]

    # opened again offline, the form shows the edit waiting to sync
    phone.go(f"#/block/{block['id']}/edit", "edit")
    assert page.input_value("#b-title") == "Organic chemistry: reactions"
    assert page.input_value("#b-duration") == "90"
    assert "sync when your computer is reachable" in page.locator("#b-pending").inner_text()
    phone.shot("offline-block-edit")
    assert server.api("GET", f"/api/blocks/{block['id']}").json()["title"] == "Organic chemistry"

    phone.context.set_offline(False)
    wait_until(lambda: phone.idb_queue() == [], timeout=30, message="the queue to drain")
    synced = server.api("GET", f"/api/blocks/{block['id']}").json()
    assert synced["title"] == "Organic chemistry: reactions" and synced["duration_minutes"] == 90
    page.locator("#sync-pending").wait_for(state="detached")
    assert [e for e in phone.errors if "pageerror" in e] == []
