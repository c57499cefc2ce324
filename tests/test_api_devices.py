"""The devices list: one entry per device that can sign in, in words a person can act on."""

from __future__ import annotations

from conftest import browser_keys

from notifier.access.pairing import LOGIN, PAIR
from notifier.access.tokens import mint_token


async def pair_phone(api, name: str = "Pixel") -> dict:
    issued = await api.app.state.pairing.issue(api.db, PAIR)
    response = await api.client.post(
        "/api/pairing/exchange",
        json={"code": issued.code, "label": name},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 201, response.text
    api.client.cookies.clear()
    return response.json()


async def devices(api) -> dict[str, dict]:
    response = await api.get("/api/devices")
    assert response.status_code == 200
    return {d["name"]: d for d in response.json()}


async def test_each_device_says_what_it_is_and_whether_it_gets_notifications(
    make_api, stub
) -> None:
    async with make_api(extra_hosts=stub.host_port) as api:
        phone = await pair_phone(api, "Kim's phone")
        await mint_token(api.db, "backup script", kind="cli", now=api.app.state.clock.now())
        ticket = await api.app.state.pairing.issue(api.db, LOGIN)
        assert (await api.client.get(f"/login?t={ticket.code}")).status_code == 303
        api.client.cookies.clear()

        listed = await devices(api)
        assert listed["Kim's phone"]["kind"] == "phone"
        assert listed["backup script"]["kind"] == "script"
        assert listed["Desktop browser"]["kind"] == "desktop"
        assert listed["tests"]["current"] and not listed["Kim's phone"]["current"]
        assert not listed["Kim's phone"]["notifications"]
        assert listed["Kim's phone"]["last_delivery_at"] is None

        # The phone turns notifications on, then a test push reaches it.
        phone_auth = {"Authorization": f"Bearer {phone['token']}"}
        body = {"endpoint": stub.endpoint("/kim"), "keys": browser_keys()}
        made = await api.client.post("/api/push/subscriptions", json=body, headers=phone_auth)
        assert made.status_code == 201
        kim = (await devices(api))["Kim's phone"]
        assert kim["notifications"] and kim["last_seen_at"] is not None
        results = (await api.post("/api/push/test", json={})).json()["results"]
        assert [r["outcome"] for r in results] == ["delivered"]
        kim = (await devices(api))["Kim's phone"]
        assert kim["last_delivery_at"] is not None and kim["last_delivery_error"] is None
        assert not (await devices(api))["backup script"]["notifications"]


async def test_a_device_can_be_renamed(api) -> None:
    phone = await pair_phone(api)
    path = f"/api/devices/{phone['device']['id']}"
    renamed = await api.patch(path, json={"name": "  Kim's\nphone  "})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Kim's phone" and renamed.json()["kind"] == "phone"
    assert "Kim's phone" in await devices(api)

    for bad, detail in (
        ({"name": " "}, "name: must not be empty"),
        ({"name": "x" * 101}, "name: must be at most 100 characters"),
    ):
        response = await api.patch(path, json=bad)
        assert response.status_code == 400 and response.json()["detail"] == detail
    assert (await api.patch(path, json={"name": "x", "kind": "desktop"})).status_code == 400
    assert (await api.patch("/api/devices/999", json={"name": "x"})).status_code == 404

    # A revoked device cannot be renamed back into the list.
    assert (await api.delete(path)).status_code == 204
    assert (await api.patch(path, json={"name": "again"})).status_code == 404
    assert "again" not in await devices(api)
