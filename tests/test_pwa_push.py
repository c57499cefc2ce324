"""Push in the PWA: opt-in states, a real push into the service worker, clicks and action buttons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from browser import *  # noqa: F403 - the browser fixtures
from browser import LiveServer, Phone, fake_push_script, never_asked_script, wait_until

pytestmark = pytest.mark.slow

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def wpt_subscription(server: LiveServer, wpt: Any) -> tuple[dict[str, Any], str]:
    key = httpx.get(f"{server.url}/api/push/vapid-public-key", trust_env=False).json()["key"]
    return wpt.subscribe(key), key


def server_subscriptions(server: LiveServer) -> list[dict[str, Any]]:
    response = server.api("GET", "/api/push/subscriptions")
    assert response.status_code == 200, response.text
    return response.json()


def push_state(phone: Phone) -> str:
    locator = phone.page.locator("#push-state")
    locator.wait_for()
    return locator.get_attribute("data-state")


def wait_push_state(phone: Phone, want: str) -> None:
    phone.page.wait_for_selector(f"#push-state[data-state='{want}']", timeout=15_000)


def registration_id(phone: Phone, cdp: Any) -> str:
    """The service worker registration's id, from CDP's ServiceWorker domain."""
    seen: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated", lambda event: seen.extend(event["registrations"])
    )
    cdp.send("ServiceWorker.enable")
    scope = phone.server.url + "/"

    def found() -> str | None:
        for reg in seen:
            if reg["scopeURL"] == scope and not reg.get("isDeleted"):
                return reg["registrationId"]
        phone.page.wait_for_timeout(50)  # lets Playwright dispatch the CDP events
        return None

    return wait_until(found, message="the service worker registration")


def deliver(phone: Phone, cdp: Any, reg_id: str, data: str) -> None:
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": phone.server.url, "registrationId": reg_id, "data": data},
    )


def wait_notification(phone: Phone, tag: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for n in phone.notifications():
            if n["tag"] == tag:
                return n
        phone.page.wait_for_timeout(50)
        return None

    return wait_until(found, message=f"a notification tagged {tag!r}")


def subscribed_phone(make_phone: Any, server: LiveServer, wpt: Any) -> tuple[Phone, dict[str, Any]]:
    """A phone that already allowed notifications: opening the app subscribes it (no tap needed)."""
    sub, _ = wpt_subscription(server, wpt)
    phone = make_phone(init_script=fake_push_script(sub), permissions=["notifications"])
    phone.open()
    phone.wait_for_service_worker()
    wait_until(
        lambda: any(s["endpoint"] == sub["endpoint"] for s in server_subscriptions(server)),
        message="the subscription on the server",
    )
    return phone, sub


def make_block(
    server: LiveServer, title: str, start: datetime, minutes: int = 45, **extra: Any
) -> dict[str, Any]:
    response = server.api(
        "POST",
        "/api/blocks",
        json={
            "title": title,
            "start": start.strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": minutes,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def occurrences(server: LiveServer, day_from: str, day_to: str) -> list[dict[str, Any]]:
    response = server.api(
        "GET", "/api/agenda", params={"from": f"{day_from}T00:00", "to": f"{day_to}T00:00"}
    )
    assert response.status_code == 200, response.text
    return response.json()["occurrences"]


# ---- opt-in ------------------------------------------------------------------------


def test_opt_in_asks_only_on_a_tap_subscribes_and_the_server_stores_it(
    make_phone, live_server, wpt
) -> None:
    sub, key = wpt_subscription(live_server, wpt)
    phone = make_phone(
        init_script=never_asked_script() + fake_push_script(sub), permissions=["notifications"]
    )
    phone.open("#/devices")
    page = phone.page
    assert push_state(phone) == "default"
    assert page.evaluate("window.__permissionAsked || 0") == 0  # opening the app never prompts
    assert server_subscriptions(live_server) == []
    phone.shot("devices-push-default")

    page.fill("#d-label", "Test phone")
    page.locator("#d-label").blur()
    page.click("#push-on")
    wait_push_state(phone, "on")
    assert page.evaluate("window.__permissionAsked") == 1
    # subscribed with the server's VAPID key, and the server stored it with our label
    assert page.evaluate("localStorage.getItem('__test_push_subscribed')") == key
    [stored] = wait_until(
        lambda: server_subscriptions(live_server), message="a stored subscription"
    )
    assert stored["endpoint"] == sub["endpoint"] and stored["label"] == "Test phone"
    mine = page.locator("#device-list .device", has_text="This device")
    mine.get_by_text("notifications on").wait_for()
    assert "Test phone" in mine.inner_text()  # the name typed here is the device's name
    phone.shot("devices-push-on")
    assert [e for e in phone.errors if "pageerror" in e] == []


def test_the_subscription_is_re_synced_each_time_the_app_opens_and_unsubscribe_works(
    make_phone, live_server, wpt
) -> None:
    phone, sub = subscribed_phone(make_phone, live_server, wpt)
    [stored] = server_subscriptions(live_server)
    # the server lost it (say, a restore from backup): opening the app sends it again
    assert live_server.api("DELETE", f"/api/push/subscriptions/{stored['id']}").status_code == 204
    phone.reload("today")
    wait_until(
        lambda: [s["endpoint"] for s in server_subscriptions(live_server)] == [sub["endpoint"]],
        message="re-sync on open",
    )

    phone.go("#/devices", "devices")
    wait_push_state(phone, "on")
    phone.page.click("#push-off")
    wait_push_state(phone, "off")
    assert phone.page.evaluate("window.__pushUnsubscribed") == 1
    assert (
        wait_until(lambda: server_subscriptions(live_server) == [], message="DELETE ?endpoint=")
        is True
    )
    phone.shot("devices-push-off")

    # turned off here means off: reopening the app does not subscribe again
    phone.reload("devices")
    phone.page.wait_for_timeout(500)
    assert server_subscriptions(live_server) == []
    assert push_state(phone) == "off"


def test_blocked_and_unsupported_and_iphone_states_explain_what_to_do(make_phone) -> None:
    denied = make_phone(
        init_script="Object.defineProperty(Notification, 'permission', {get: () => 'denied'});"
    )
    denied.open("#/devices")
    assert push_state(denied) == "denied"
    assert denied.page.get_by_text("Notifications are blocked").is_visible()
    assert denied.page.locator("#push-on").count() == 0
    denied.shot("devices-push-denied")

    iphone = make_phone(user_agent=IPHONE_SAFARI, init_script="delete window.PushManager;")
    iphone.open("#/devices")
    assert push_state(iphone) == "ios-install"
    assert iphone.page.get_by_text("Add to Home Screen").first.is_visible()
    iphone.shot("devices-push-ios")
    iphone.go("#/today", "today")
    assert iphone.page.get_by_text("Want reminders on your iPhone?").is_visible()

    old = make_phone(init_script="delete window.PushManager;")
    old.open("#/devices")
    assert push_state(old) == "unsupported"


# ---- a real push into the service worker ---------------------------------------------


def test_a_real_push_from_the_server_shows_a_notification_with_title_tag_and_data(
    make_phone, live_server, wpt
) -> None:
    phone, sub = subscribed_phone(make_phone, live_server, wpt)
    response = live_server.api("POST", "/api/push/test")
    assert response.status_code == 200, response.text
    assert [r["outcome"] for r in response.json()["results"]] == ["delivered"]
    [raw] = wpt.raw_messages(sub)  # decrypted by web-push-testing: exactly what the phone would get
    payload = json.loads(raw)
    assert payload["v"] == 1

    cdp = phone.cdp()
    reg = registration_id(phone, cdp)
    deliver(phone, cdp, reg, raw)
    shown = wait_notification(phone, payload["tag"])
    assert shown["title"] == payload["title"]
    assert shown["body"] == payload["body"]
    assert shown["data"]["url"] == payload["url"] == "/"
    assert shown["data"]["kind"] == "test"
    assert shown["actions"] == []  # no action token, so no dead buttons

    # the same tag again replaces the notification instead of stacking a second one
    deliver(phone, cdp, reg, raw)
    phone.page.wait_for_timeout(300)
    assert [n["tag"] for n in phone.notifications()].count(payload["tag"]) == 1


def test_an_unreadable_push_still_shows_a_generic_notification(
    make_phone, live_server, wpt
) -> None:
    phone, _ = subscribed_phone(make_phone, live_server, wpt)
    cdp = phone.cdp()
    deliver(phone, cdp, registration_id(phone, cdp), "this is not json {")
    shown = wait_notification(phone, "study-notifier")
    assert shown["title"] == "Study Notifier" and shown["data"]["url"] == "/"


def reminder_payload(block: dict[str, Any], occ: dict[str, Any], token: str) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "reminder",
        "title": f"{block['title']} in 15 minutes",
        "body": "Put the phone face down and open chapter 4.",
        "url": occ["url"],
        "tag": f"reminder:{block['id']}:{occ['key']}:15",
        "due": occ["start_utc"],
        "actions": [
            {"action": "done", "title": "Done"},
            {"action": "snooze", "title": "Snooze 10 min"},
        ],
        "action_token": token,
    }


def test_tapping_a_notification_opens_the_occurrence_and_its_done_button_marks_it(
    make_phone, live_server, wpt
) -> None:
    from notifier.access.action_tokens import ActionTokens

    phone, _ = subscribed_phone(make_phone, live_server, wpt)
    start = datetime.now() + timedelta(hours=1)
    block = make_block(live_server, "Organic chemistry", start, notes="Chapter 4, problems 1-12")
    today = start.strftime("%Y-%m-%d")
    [occ] = [
        o
        for o in occurrences(live_server, today, (start + timedelta(days=1)).strftime("%Y-%m-%d"))
        if o["block_id"] == block["id"]
    ]
    assert occ["url"].startswith("/#/occurrence/")
    [subscription] = live_server.api("GET", "/api/push/subscriptions").json()
    token = ActionTokens.load_or_create(live_server.data_dir).issue(
        subscription["id"], block["id"], occ["key"], datetime.now(UTC) + timedelta(hours=2)
    )
    payload = reminder_payload(block, occ, token)

    cdp = phone.cdp()
    reg = registration_id(phone, cdp)
    deliver(phone, cdp, reg, json.dumps(payload))
    shown = wait_notification(phone, payload["tag"])
    assert [a["action"] for a in shown["actions"]] == ["done", "snooze"]
    assert shown["data"]["action_token"] == token

    # a tap on the notification body: the open window goes to the deep link
    phone.go("#/week", "week")
    worker = phone.service_worker()
    worker.evaluate(
        """async (tag) => {
        const [n] = await self.registration.getNotifications({tag});
        self.dispatchEvent(new NotificationEvent("notificationclick", {notification: n}));
    }""",
        payload["tag"],
    )
    phone.page.wait_for_function("url => location.hash === url.slice(1)", arg=occ["url"])
    phone.wait_ready("occurrence")
    assert phone.page.locator("h1").inner_text() == "Organic chemistry"
    phone.shot("occurrence-from-notification")

    # the Done button on the notification: no window needed, the action token is the credential
    deliver(phone, cdp, reg, json.dumps(payload))
    wait_notification(phone, payload["tag"])
    worker.evaluate(
        """async (tag) => {
        const [n] = await self.registration.getNotifications({tag});
        self.dispatchEvent(new NotificationEvent("notificationclick", {notification: n, action: "done"}));
    }""",
        payload["tag"],
    )
    wait_until(
        lambda: (
            [
                o["status"]
                for o in occurrences(
                    live_server, today, (start + timedelta(days=1)).strftime("%Y-%m-%d")
                )
                if o["block_id"] == block["id"]
            ]
            == ["done"]
        ),
        message="the occurrence marked done",
    )
    # and the open app refreshes itself
    phone.page.get_by_text("Done", exact=True).first.wait_for()


def test_an_expired_action_token_says_so_instead_of_failing_silently(
    make_phone, live_server, wpt
) -> None:
    phone, _ = subscribed_phone(make_phone, live_server, wpt)
    payload = {
        "v": 1,
        "kind": "reminder",
        "title": "Physics",
        "body": "Now!",
        "url": "/#/occurrence/1/20300101T090000Z",
        "tag": "reminder:1:20300101T090000Z:0",
        "due": None,
        "actions": [{"action": "done", "title": "Done"}],
        "action_token": "forged.token",
    }
    cdp = phone.cdp()
    deliver(phone, cdp, registration_id(phone, cdp), json.dumps(payload))
    wait_notification(phone, payload["tag"])
    phone.service_worker().evaluate(
        """async (tag) => {
        const [n] = await self.registration.getNotifications({tag});
        self.dispatchEvent(new NotificationEvent("notificationclick", {notification: n, action: "done"}));
    }""",
        payload["tag"],
    )

    def replaced() -> bool:
        return any(n["title"] == "Couldn't update that block" for n in phone.notifications())

    wait_until(replaced, message="the 'could not update' notification")


def test_pushsubscriptionchange_subscribes_again_and_tells_the_server(
    make_phone, live_server, wpt
) -> None:
    phone, old = subscribed_phone(make_phone, live_server, wpt)
    new, _ = wpt_subscription(live_server, wpt)
    worker = phone.service_worker()
    # the push service rotated the subscription: the worker must subscribe again on its own
    worker.evaluate(
        """(sub) => {
        PushManager.prototype.subscribe = async () => ({ endpoint: sub.endpoint, toJSON: () => sub });
        self.dispatchEvent(new ExtendableEvent("pushsubscriptionchange"));
    }""",
        new,
    )
    wait_until(
        lambda: (
            [s["endpoint"] for s in server_subscriptions(live_server)]
            == [old["endpoint"], new["endpoint"]]
            or {s["endpoint"] for s in server_subscriptions(live_server)}
            == {old["endpoint"], new["endpoint"]}
        ),
        message="the new subscription on the server",
    )
    labels = {s["endpoint"]: s["label"] for s in server_subscriptions(live_server)}
    assert labels[new["endpoint"]] == labels[old["endpoint"]]  # the device keeps its name


def test_install_prompt_on_the_second_visit_is_dismissable_and_remembered(make_phone) -> None:
    fire = """
        window.addEventListener("DOMContentLoaded", () => setTimeout(() => {
          const e = new Event("beforeinstallprompt", { cancelable: true });
          e.prompt = async () => { window.__prompted = true; };
          e.userChoice = Promise.resolve({ outcome: "accepted", platform: "web" });
          window.dispatchEvent(e);
        }, 50));
    """
    phone = make_phone(init_script=fire)
    phone.open()
    phone.page.wait_for_timeout(300)
    assert phone.page.locator("#install-offer").count() == 0  # first visit: not yet

    second = phone.context.new_page()  # a new tab is a new visit (sessionStorage is per tab)
    phone.page.close()
    phone.page = second
    phone.open("#/today", with_token=False)
    phone.page.locator("#install-offer").wait_for()
    phone.shot("install-offer")
    phone.page.click("#install-dismiss")
    assert phone.page.locator("#install-offer").count() == 0

    third = phone.context.new_page()
    phone.page.close()
    phone.page = third
    phone.open("#/today", with_token=False)
    phone.page.wait_for_timeout(300)
    assert phone.page.locator("#install-offer").count() == 0  # dismissed is remembered
