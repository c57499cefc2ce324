"""The planner (write, then reschedule, then wake) with the real scheduler and an injected
clock, while a full reschedule is under way: the loop keeps sending, and a change made
meanwhile waits for it instead of being undone by it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from fakeclock import FakeClock

TZ = "Europe/Berlin"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Berlin
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


async def add_block(api, **fields) -> dict:
    body = {"title": "Statistics", "start": "2026-11-23T10:00", "duration_minutes": 45, **fields}
    response = await api.post("/api/blocks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def many_blocks(api, n: int = 40) -> None:
    """Weekly blocks from a year back: a full reschedule has much to do."""
    for i in range(n):
        await add_block(
            api,
            title=f"Block {i}",
            start=f"2025-11-{1 + i % 28:02d}T{7 + i % 12:02d}:15",
            rrule=f"FREQ=WEEKLY;BYDAY={DAYS[i % 7]},{DAYS[(i + 3) % 7]}",
        )


async def reminders(api) -> dict[str, dict]:
    return {r["key"]: r for r in (await api.get("/api/reminders", params={"limit": 500})).json()}


async def until(done: Callable[[], bool], what: str) -> None:
    """Give the loop turns until `done()`; no wall-clock waiting."""
    for _ in range(100_000):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never: {what}")


async def full_reschedule_under_way(api, clock: FakeClock) -> asyncio.Task:
    """A time-zone change (every block's reminders recomputed), stopped half-way; the
    scheduler gives the loop a turn after every step (a slice of no length)."""
    api.scheduler.slice_seconds = 0.0
    change = asyncio.create_task(api.put("/api/settings", json={"timezone": "America/New_York"}))
    await until(api.scheduler._lock.locked, "the reschedule started")
    return change


async def first_done(a: asyncio.Task, b: Awaitable) -> asyncio.Task:
    task_b = asyncio.ensure_future(b)
    await until(lambda: a.done() or task_b.done(), "either finished")
    return a if a.done() else task_b


async def test_a_reminder_due_during_a_full_reschedule_goes_out_on_time_once(
    sched, clock, wpt
) -> None:
    await many_blocks(sched)
    await sched.scheduler.tick()  # fills the outbox 36 hours ahead
    # a one-off block of its own zone (Berlin) at 09:16 Berlin, reminded 15 minutes before
    one_off = await add_block(sched, start="2026-11-23T09:16", reminder_offsets=[15])
    key = f"b{one_off['id']}:20261123T081600Z:15"
    assert (await reminders(sched))[key]["status"] == "pending"

    change = await full_reschedule_under_way(sched, clock)
    clock.set(T0 + timedelta(minutes=1))  # its due time, while the reschedule runs
    tick = asyncio.create_task(sched.scheduler.tick())
    assert await first_done(tick, change) is tick, "the due reminder waited for the reschedule"
    assert not change.done()
    assert (await change).status_code == 200
    await sched.scheduler.drain()

    log = await reminders(sched)
    assert log[key]["status"] == "sent" and not log[key]["late"]
    assert [d["outcome"] for d in log[key]["deliveries"]] == ["delivered"]
    # and the reschedule did its job: the blocks' reminders follow the new zone
    assert (await sched.get("/api/settings")).json()["timezone"] == "America/New_York"
    assert any(r["status"] == "pending" for k, r in log.items() if k != key)


async def test_a_session_marked_done_during_a_full_reschedule_stays_without_reminders(
    sched, clock
) -> None:
    await many_blocks(sched)
    block = await add_block(sched, rrule="FREQ=WEEKLY;BYDAY=MO")  # today 10:00 Berlin
    await sched.scheduler.tick()
    session = "20261123T090000Z"
    keys = [f"b{block['id']}:{session}:{offset}" for offset in (0, 15)]
    log = await reminders(sched)
    assert [log[k]["status"] for k in keys] == ["pending", "pending"]

    change = await full_reschedule_under_way(sched, clock)
    done = await sched.post(
        f"/api/blocks/{block['id']}/occurrences/{session}", json={"status": "done"}
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert change.done(), "the change waits for the reschedule under way"
    assert (await change).status_code == 200

    log = await reminders(sched)
    assert [log[k]["status"] for k in keys] == ["cancelled", "cancelled"]
    # and nothing goes out for it at its time
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await sched.scheduler.tick()
    await sched.scheduler.drain()
    log = await reminders(sched)
    assert [log[k]["status"] for k in keys] == ["cancelled", "cancelled"]


async def test_blocks_written_have_their_items_kept_for_the_agenda(sched, monkeypatch) -> None:
    # The planner makes the kept items of each block it writes (plan.agenda.keep), so the
    # agenda asked next, for a week or for two months, is joined from them: no rule is
    # expanded, and it is what the rules make.
    from notifier.api import blocks as api_blocks
    from notifier.plan import agenda

    await many_blocks(sched, 12)
    edited = await add_block(sched, title="Edited", rrule="FREQ=DAILY")
    response = await sched.patch(f"/api/blocks/{edited['id']}", json={"duration_minutes": 50})
    assert response.status_code == 200, response.text
    windows = [(T0, T0 + timedelta(days=days)) for days in (7, 61)]
    made = [",".join((await agenda.listing(sched.db, *w)).json_items()) for w in windows]

    async def expanding(*args, **kwargs):
        raise AssertionError("the agenda expanded the rules")

    monkeypatch.setattr(api_blocks, "listing", expanding)
    for (_, hi), text in zip(windows, made, strict=True):
        params = {
            "from": "2026-11-23T09:00",
            "to": (hi + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        }
        response = await sched.get("/api/agenda", params=params)
        assert response.status_code == 200, response.text
        assert (
            response.content
            == b'{"timezone":"Europe/Berlin","occurrences":[' + text.encode() + b"]}"
        )
        assert any(o["duration_minutes"] == 50 for o in response.json()["occurrences"])
