"""Notification buttons against a real server process and web-push-testing.

Each device gets its own action token; each (token, action) applies once; a
revoked device's tokens stop working; a token is verified before it is read.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from browser import VAPID_SUBJECT, mint_token, set_prefs
from procs import ServerProcess

from notifier.access.action_tokens import ActionTokens
from notifier.errors import Forbidden

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Any, wpt: Any) -> Iterator[Any]:
    data_dir = tmp_path / "data"
    set_prefs(data_dir, {"vapid_subject": VAPID_SUBJECT, "snooze_minutes": 10})
    proc = ServerProcess(data_dir, env={"NOTIFIER_PUSH_EXTRA_HOSTS": wpt.host_port}).start()
    proc.token = mint_token(data_dir)
    yield proc
    proc.kill()


def call(
    server: Any, method: str, path: str, token: str | None = None, **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(
        method, f"{server.url}{path}", headers=headers, trust_env=False, timeout=15, **kw
    )


def paired_device(server: Any, wpt: Any, label: str) -> tuple[str, dict[str, Any]]:
    """A device token and the push subscription it made (so revoking it removes the subscription)."""
    token = mint_token(server.data_dir, label)
    key = call(server, "GET", "/api/push/vapid-public-key").json()["key"]
    subscription = wpt.subscribe(key)
    assert (
        call(server, "POST", "/api/push/subscriptions", token, json=subscription).status_code == 201
    )
    return token, subscription


def reminded(server: Any, wpt: Any, devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A block starting in a few seconds with a reminder at its start; the push each device got."""
    # A reminder already due when its block is created is never owed: the lead (2 s at
    # least, as seconds are cut off) covers the request on a loaded machine.
    start = datetime.now().astimezone() + timedelta(seconds=3)
    block = call(
        server,
        "POST",
        "/api/blocks",
        server.token,
        json={
            "title": "Organic chemistry",
            "start": start.isoformat(timespec="seconds"),
            "duration_minutes": 30,
            "reminder_offsets": [0],
        },
    )
    assert block.status_code == 201, block.text
    return [wpt.wait_for_messages(sub, 1, timeout=30)[0] for sub in devices]


def press(server: Any, token: str, action: str) -> httpx.Response:
    return call(server, "POST", "/api/actions", json={"action_token": token, "action": action})


def snoozes(server: Any) -> int:
    log = call(server, "GET", "/api/reminders", server.token).json()
    return sum(
        1
        for r in log
        if r.get("status_text") == "snoozed" or str(r.get("key", "")).startswith("snooze:")
    )


def test_each_device_gets_its_own_token_and_each_button_applies_once(server: Any, wpt: Any) -> None:
    _, phone = paired_device(server, wpt, "phone")
    _, tablet = paired_device(server, wpt, "tablet")
    phone_push, tablet_push = reminded(server, wpt, [phone, tablet])
    assert phone_push["action_token"] != tablet_push["action_token"]

    first = press(server, phone_push["action_token"], "snooze")
    assert first.status_code == 200, first.text
    for _ in range(4):  # a replayed snooze creates nothing new
        replay = press(server, phone_push["action_token"], "snooze")
        assert replay.status_code == 409
        assert replay.json()["error"] == "action_already_used"
    assert snoozes(server) == 1
    # another action with the same token is its own press
    assert press(server, phone_push["action_token"], "done").status_code == 200
    assert press(server, phone_push["action_token"], "done").status_code == 409


def test_revoking_a_device_invalidates_the_tokens_it_holds(server: Any, wpt: Any) -> None:
    phone_token, phone = paired_device(server, wpt, "phone")
    _, tablet = paired_device(server, wpt, "tablet")
    phone_push, tablet_push = reminded(server, wpt, [phone, tablet])
    devices = call(server, "GET", "/api/devices", server.token).json()
    [phone_device] = [d for d in devices if d.get("label", d.get("name")) == "phone"]
    assert (
        call(server, "DELETE", f"/api/devices/{phone_device['id']}", server.token).status_code
        == 204
    )

    refused = press(server, phone_push["action_token"], "done")
    assert refused.status_code == 403 and refused.json()["error"] == "invalid_action_token"
    assert (
        press(server, tablet_push["action_token"], "done").status_code == 200
    )  # the other device's still works
    del phone_token


def test_the_signature_is_checked_before_anything_in_the_token_is_read(tmp_path: Any) -> None:
    tokens = ActionTokens.load_or_create(tmp_path)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    good = tokens.issue(3, 7, "20261123T090000Z", now + timedelta(hours=1))
    body, mac = good.split(".")
    # an expiry far beyond what datetime can hold, and garbage: both "not valid", never a crash
    # or an "expired" answer that would show the body was read before the MAC was checked
    for forged in (
        base64.urlsafe_b64encode(b"3:7:20261123T090000Z:99999999999999999999").decode().rstrip("=")
        + "."
        + mac,
        base64.urlsafe_b64encode(b"3:7:20261123T090000Z:0").decode().rstrip("=") + "." + mac,
        "\u00e9\u00e9." + mac,
        body + ".",
        body,
        "",
    ):
        with pytest.raises(Forbidden) as caught:
            tokens.check(forged, now)
        assert caught.value.code == "invalid_action_token", forged
    grant = tokens.check(good, now)
    assert (grant.subscription_id, grant.block_id, grant.occurrence_key) == (
        3,
        7,
        "20261123T090000Z",
    )
    with pytest.raises(Forbidden) as caught:
        tokens.check(good, now + timedelta(hours=2))
    assert caught.value.code == "action_token_expired"
