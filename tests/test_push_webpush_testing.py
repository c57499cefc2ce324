"""End to end against web-push-testing: it verifies VAPID and decrypts aes128gcm."""

from __future__ import annotations

from notifier.clock import from_iso

PAYLOAD_KEYS = {"v", "kind", "title", "body", "url", "tag", "due", "actions"}


async def _subscribe(api, wpt, label: str = "phone") -> tuple[dict, dict]:
    key = (await api.client.get("/api/push/vapid-public-key")).json()["key"]
    subscription = wpt.subscribe(key)
    response = await api.post("/api/push/subscriptions", json={**subscription, "label": label})
    assert response.status_code == 201, response.text
    return subscription, response.json()


async def test_a_test_push_arrives_decrypted_and_matches_the_payload_contract(
    make_api, wpt
) -> None:
    async with make_api(extra_hosts=wpt.host_port) as api:
        subscription, stored = await _subscribe(api, wpt)
        assert stored["endpoint"] == subscription["endpoint"]
        assert stored["label"] == "phone"

        response = await api.post("/api/push/test")
        assert response.status_code == 200
        assert response.json()["results"] == [
            {
                "subscription_id": stored["id"],
                "outcome": "delivered",
                "status": 201,
                "detail": "201 Created",
            }
        ]

        [message] = wpt.wait_for_messages(subscription)
        assert set(message) >= PAYLOAD_KEYS
        assert message["v"] == 1 and message["kind"] == "test"
        assert message["title"] and message["body"]
        assert message["url"].startswith("/") and not message["url"].startswith("//")
        assert message["tag"].startswith("test:")
        assert from_iso(message["due"]).tzinfo is not None
        assert message["actions"] == []

        [row] = (await api.get("/api/push/subscriptions")).json()
        assert row["last_success_at"] is not None and row["failure_count"] == 0


async def test_an_expired_subscription_is_removed_on_the_next_send(make_api, wpt) -> None:
    async with make_api(extra_hosts=wpt.host_port) as api:
        subscription, stored = await _subscribe(api, wpt)
        keep, _ = await _subscribe(api, wpt, label="tablet")
        wpt.expire(subscription)

        results = (await api.post("/api/push/test")).json()["results"]
        by_id = {r["subscription_id"]: r for r in results}
        assert by_id[stored["id"]]["outcome"] == "gone"
        assert by_id[stored["id"]]["status"] == 410

        remaining = (await api.get("/api/push/subscriptions")).json()
        assert [r["endpoint"] for r in remaining] == [keep["endpoint"]]
        assert len(wpt.wait_for_messages(keep)) == 1


async def test_subscribing_again_updates_instead_of_duplicating(make_api, wpt) -> None:
    async with make_api(extra_hosts=wpt.host_port) as api:
        subscription, first = await _subscribe(api, wpt)
        again = await api.post("/api/push/subscriptions", json={**subscription, "label": "renamed"})
        assert again.status_code == 201
        assert again.json()["id"] == first["id"] and again.json()["label"] == "renamed"
        assert len((await api.get("/api/push/subscriptions")).json()) == 1

        by_endpoint = await api.delete(
            "/api/push/subscriptions", params={"endpoint": subscription["endpoint"]}
        )
        assert by_endpoint.status_code == 204
        assert (await api.get("/api/push/subscriptions")).json() == []
