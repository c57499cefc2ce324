"""GET /api/status: whether reminders can reach a phone, why not, and the first-run checklist."""

from __future__ import annotations

from conftest import browser_keys
from test_api_devices import pair_phone

from notifier.access.tokens import hash_token, mint_token


async def status(api) -> dict:
    response = await api.get("/api/status")
    assert response.status_code == 200
    return response.json()


def codes(body: dict) -> list[str]:
    return [p["code"] for p in body["problems"]]


async def test_a_fresh_start_says_what_is_missing_then_checks_itself_off(make_api, stub) -> None:
    async with make_api(extra_hosts=stub.host_port, subject=None) as api:
        # Signed in as the desktop browser is, not with the fixture's device token.
        fixture_token = api.token
        _, api.token = await mint_token(
            api.db, "Desktop browser", kind="browser", now=api.app.state.clock.now()
        )
        fixture_device = await api.db.token_by_hash(hash_token(fixture_token))
        assert (await api.delete(f"/api/devices/{fixture_device.id}")).status_code == 204
        first = await status(api)
        assert not first["can_push"] and codes(first) == ["no_contact", "no_device"]
        assert {p["fix"] for p in first["problems"]} == {"settings", "pair"}
        assert not any(first["checklist"].values())

        refused = await api.put("/api/settings", json={"vapid_subject": "mailto:me@localhost"})
        assert refused.status_code == 400
        # One kept from an older version that let it through is named for what it is.
        await api.db.save_settings({"vapid_subject": "mailto:me@localhost"})
        local = await status(api)
        assert (
            codes(local)[0] == "bad_contact" and "local address" in local["problems"][0]["detail"]
        )

        await api.put(
            "/api/settings",
            json={"vapid_subject": "mailto:kim@example.com", "timezone": "Europe/Berlin"},
        )
        contact = await status(api)
        assert codes(contact) == ["no_device"] and not contact["can_push"]
        assert contact["checklist"]["contact_set"] and contact["checklist"]["timezone_confirmed"]
        assert not contact["checklist"]["phone_paired"]

        phone = await pair_phone(api, "Kim's phone")
        assert (await status(api))["checklist"]["phone_paired"]
        phone_auth = {"Authorization": f"Bearer {phone['token']}"}
        body = {"endpoint": stub.endpoint("/kim"), "keys": browser_keys()}
        assert (
            await api.client.post("/api/push/subscriptions", json=body, headers=phone_auth)
        ).status_code == 201
        ready = await status(api)
        assert ready["can_push"] and ready["problems"] == []
        assert not ready["checklist"]["push_delivered"] and not ready["checklist"]["complete"]

        await api.post("/api/push/test", json={})
        done = await status(api)
        assert done["checklist"]["push_delivered"] and done["checklist"]["complete"]

        # The push service starts refusing: the banner says so and points to Devices.
        stub.script("/kim", 403)
        await api.post("/api/push/test", json={})
        failing = await status(api)
        assert (
            codes(failing) == ["deliveries_failing"] and failing["problems"][0]["fix"] == "devices"
        )
        assert failing["can_push"]  # a contact and a device: sending is attempted
