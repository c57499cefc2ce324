"""Retries at the reminder level: a device that said "later" gets it later, the others only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import browser_keys
from fakeclock import FakeClock
from peers.stub_push import ScriptedResponse
from test_schedule_scheduler import T0, TZ, add_block, reminders, run_at

from notifier.schedule.scheduler import RETRY_AFTER

DUE = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the block below, offset 0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def sched(make_api, stub, clock):
    """Two devices on the stub push service; one attempt per send, so every 503 is a RETRY."""
    async with make_api(
        extra_hosts=stub.host_port,
        clock=clock,
        run_scheduler=False,
        sender_options={"max_attempts": 1},
    ) as api:
        await api.put(
            "/api/settings", json={"timezone": TZ, "default_offsets": [0], "late_grace_minutes": 10}
        )
        api.ids = {}
        for device in ("/phone", "/tablet"):
            body = {"endpoint": stub.endpoint(device), "keys": browser_keys()}
            api.ids[device] = (await api.post("/api/push/subscriptions", json=body)).json()["id"]
        api.scheduler = api.app.state.scheduler
        block = await add_block(api, reminder_offsets=[0])
        api.key = f"b{block['id']}:20261123T090000Z:0"
        await run_at(api, clock, T0)
        yield api


async def reminder(api) -> dict:
    return (await reminders(api))[api.key]


async def test_a_device_that_said_later_is_retried_alone(sched, stub, clock) -> None:
    stub.script("/tablet", 503)
    await run_at(sched, clock, DUE)
    first = await reminder(sched)
    assert first["status"] == "pending" and first["sent_at"] is not None  # the phone has it
    assert f"device {sched.ids['/tablet']}: retry" in first["error"]

    await run_at(sched, clock, DUE + RETRY_AFTER - timedelta(seconds=1))
    assert len(stub.requests_for("/tablet")) == 1  # not before the retry time

    await run_at(sched, clock, DUE + RETRY_AFTER)
    done = await reminder(sched)
    assert done["status"] == "sent" and done["error"] is None
    assert done["sent_at"] == first["sent_at"]  # when it first reached a device
    assert {d["outcome"] for d in done["deliveries"]} == {"delivered"}
    assert (len(stub.requests_for("/phone")), len(stub.requests_for("/tablet"))) == (1, 2)
    tags = {r.headers["Topic"] for r in stub.requests}
    assert len(tags) == 1  # the same Topic every time: the push service replaces, never doubles


async def test_when_every_device_says_later_the_reminder_waits_for_retry_after(
    sched, stub, clock
) -> None:
    stub.script("/phone", ScriptedResponse(429, headers={"Retry-After": "120"}))
    stub.script("/tablet", 503)
    await run_at(sched, clock, DUE)
    waiting = await reminder(sched)
    assert waiting["status"] == "pending" and waiting["sent_at"] is None

    await run_at(sched, clock, DUE + timedelta(seconds=119))
    assert len(stub.requests) == 2
    await run_at(sched, clock, DUE + timedelta(seconds=121))
    assert (await reminder(sched))["status"] == "sent"
    assert len(stub.requests) == 4


async def test_a_wait_past_the_late_grace_ends_retrying_without_a_missed_push(
    sched, stub, clock
) -> None:
    stub.script("/tablet", ScriptedResponse(429, headers={"Retry-After": "3600"}))
    await run_at(sched, clock, DUE)
    result = await reminder(sched)
    assert result["status"] == "sent"  # the phone has it; an hour later is no use to the tablet
    assert "retry" in result["error"]
    assert not [r for r in (await reminders(sched)).values() if r["kind"] == "missed"]


async def test_nobody_reached_before_the_grace_ends_is_a_failure(sched, stub, clock) -> None:
    for device in ("/phone", "/tablet"):
        stub.script(device, ScriptedResponse(429, headers={"Retry-After": "3600"}))
    await run_at(sched, clock, DUE)
    assert (await reminder(sched))["status"] == "failed"


async def test_a_partly_delivered_reminder_is_not_called_missed_after_downtime(
    sched, stub, clock
) -> None:
    stub.script("/tablet", 503)
    await run_at(sched, clock, DUE)
    # The server is then down until the late grace has passed.
    await run_at(sched, clock, DUE + timedelta(minutes=30))
    log = await reminders(sched)
    assert log[sched.key]["status"] == "sent"
    assert not [r for r in log.values() if r["kind"] == "missed"]
    assert (len(stub.requests_for("/phone")), len(stub.requests_for("/tablet"))) == (1, 1)
