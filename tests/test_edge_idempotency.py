"""Idempotency-Key: a replayed change returns the first response and changes nothing."""

from __future__ import annotations

import asyncio

BLOCK = {"title": "Replayed", "start": "2026-12-01T10:00", "duration_minutes": 30}


async def test_a_replayed_create_returns_the_first_response_and_creates_one_block(api) -> None:
    headers = {**api.auth, "Idempotency-Key": "queue-item-1"}
    first = await api.client.post("/api/blocks", json=BLOCK, headers=headers)
    again = await api.client.post("/api/blocks", json=BLOCK, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"
    assert len((await api.get("/api/blocks")).json()) == 1


async def test_concurrent_copies_run_once(api) -> None:
    headers = {**api.auth, "Idempotency-Key": "queue-item-2"}
    responses = await asyncio.gather(
        *(api.client.post("/api/blocks", json=BLOCK, headers=headers) for _ in range(5))
    )
    assert {r.json()["id"] for r in responses} == {responses[0].json()["id"]}
    assert len((await api.get("/api/blocks")).json()) == 1


async def test_a_rejected_change_is_replayed_as_rejected(api) -> None:
    headers = {**api.auth, "Idempotency-Key": "bad-one"}
    first = await api.client.post("/api/blocks", json={"title": ""}, headers=headers)
    again = await api.client.post("/api/blocks", json={"title": ""}, headers=headers)
    assert first.status_code == again.status_code == 400 and again.json() == first.json()


async def test_reusing_a_key_for_another_request_is_refused(api) -> None:
    headers = {**api.auth, "Idempotency-Key": "k"}
    created = (await api.client.post("/api/blocks", json=BLOCK, headers=headers)).json()
    response = await api.client.delete(f"/api/blocks/{created['id']}", headers=headers)
    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"
    assert (await api.get(f"/api/blocks/{created['id']}")).status_code == 200


async def test_keys_are_scoped_to_the_device(api) -> None:
    from notifier.access.tokens import mint_token

    _, other = await mint_token(api.db, "tablet", now=api.app.state.clock.now())
    await api.client.post(
        "/api/blocks", json=BLOCK, headers={**api.auth, "Idempotency-Key": "same"}
    )
    await api.client.post(
        "/api/blocks",
        json=BLOCK,
        headers={"Authorization": f"Bearer {other}", "Idempotency-Key": "same"},
    )
    assert len((await api.get("/api/blocks")).json()) == 2


async def test_without_a_token_the_key_does_not_bypass_auth(api) -> None:
    response = await api.client.post("/api/blocks", json=BLOCK, headers={"Idempotency-Key": "x"})
    assert response.status_code == 401
