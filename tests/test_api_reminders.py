"""The reminder history in words: block title, when, what happened, the text that went out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fakeclock import FakeClock
from test_schedule_scheduler import T0, TZ, add_block, run_at

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
# What a person must never see: reminder keys like b1:20261123T090000Z:15 or summary:2026-11-23.
KEYISH = re.compile(r"\b(b\d+|snooze|summary|missed):\S")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def sched(make_api, wpt, clock):
    async with make_api(extra_hosts=wpt.host_port, clock=clock, run_scheduler=False) as api:
        await api.put(
            "/api/settings",
            json={"timezone": TZ, "default_offsets": [0, 15], "late_grace_minutes": 10},
        )
        key = (await api.client.get("/api/push/vapid-public-key")).json()["key"]
        subscription = wpt.subscribe(key)
        assert (await api.post("/api/push/subscriptions", json=subscription)).status_code == 201
        api.scheduler = api.app.state.scheduler
        yield api


async def history(api) -> list[dict]:
    response = await api.get("/api/reminders", params={"limit": 100})
    assert response.status_code == 200
    items = response.json()
    for item in items:
        for field in ("what", "status_text", "block_title", "due_local"):
            assert not KEYISH.search(item[field] or ""), (field, item[field])
    return items


def one(items: list[dict], what: str) -> dict:
    [item] = [i for i in items if i["what"] == what]
    return item


async def test_the_history_says_what_happened_in_words(sched, clock) -> None:
    block = await add_block(sched, title="Linear algebra")
    await run_at(sched, clock, START - timedelta(minutes=15))
    items = await history(sched)
    before = one(items, "15 min before Linear algebra")
    assert before["status_text"] == "sent" and before["block_title"] == "Linear algebra"
    assert before["due_local"] == "2026-11-23T09:45+01:00"  # Berlin, with its offset
    assert before["title"] and before["body"]  # the text that went out
    assert one(items, "Start of Linear algebra")["status_text"] == "scheduled"

    # The computer dozed: the start reminder goes out 4 minutes late, and says so.
    await run_at(sched, clock, START + timedelta(minutes=4))
    assert one(await history(sched), "Start of Linear algebra")["status_text"] == "late"

    occurrence = f"/api/blocks/{block['id']}/occurrences/20261123T090000Z"
    assert (await sched.post(occurrence, json={"snooze_minutes": 10})).status_code == 200
    snoozed = one(await history(sched), "Snoozed: Linear algebra")
    assert snoozed["status_text"] == "snoozed" and snoozed["due_local"] == "2026-11-23T10:14+01:00"


async def test_missed_reminders_and_deleted_blocks_read_plainly(sched, clock) -> None:
    block = await add_block(sched, title="Essay", start="2026-11-23T12:00", reminder_offsets=[0])
    await run_at(sched, clock, T0)
    await run_at(sched, clock, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))  # 13:00: an hour late
    items = await history(sched)
    assert one(items, "Start of Essay")["status_text"] == "missed"
    catch_up = one(items, "You missed 1 reminder")
    assert catch_up["status_text"] == "sent" and catch_up["block_title"] is None

    assert (await sched.delete(f"/api/blocks/{block['id']}")).status_code == 204
    gone = one(await history(sched), "Start of a deleted block")
    assert gone["block_title"] is None and gone["status_text"] == "missed"


async def test_the_history_schema_is_typed(sched) -> None:
    doc = (await sched.get("/schema/openapi.json")).json()
    schema = doc["paths"]["/api/reminders"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    ref = schema["items"]["$ref"].rsplit("/", 1)[-1]
    fields = doc["components"]["schemas"][ref]["properties"]
    assert {"what", "status_text", "block_title", "due_local", "title", "body"} <= set(fields)
