"""Quiet hours and "How did it go?" through the scheduler, with an injected clock and web-push-testing."""

from __future__ import annotations

from datetime import UTC, datetime

import test_schedule_scheduler as base
from test_schedule_scheduler import add_block, reminders, run_at

# the scheduler's fixtures: a manual clock, an app without its background loop
clock = base.clock  # the scheduler module's start time; `sched` comes from conftest

QUIET = {"start": "23:00", "end": "07:00", "mode": "hold"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_a_reminder_in_quiet_hours_is_held_to_their_end_once_and_says_so(
    sched, clock, wpt
) -> None:
    await sched.put("/api/settings", json={"quiet_hours": QUIET})
    # 06:50-07:50 Berlin (05:50 UTC) with reminders 15 and 0 minutes before: both fall in the quiet.
    block = await add_block(sched, start="2026-11-24T06:50", reminder_offsets=[0, 15])
    await run_at(sched, clock, utc(2026, 11, 23, 20, 0))
    # 06:35: the 15-minute one is dropped, the start reminder will come by 07:00 anyway
    await run_at(sched, clock, utc(2026, 11, 24, 5, 35))
    # 06:50: the start reminder is held to 07:00, and the loop wakes then
    await run_at(sched, clock, utc(2026, 11, 24, 5, 50))
    assert await sched.db.next_pending_time() == utc(2026, 11, 24, 6, 0)
    assert await run_at(sched, clock, utc(2026, 11, 24, 5, 59, 30)) == utc(2026, 11, 24, 6, 0)
    assert wpt.messages(sched.subscription) == []
    await run_at(sched, clock, utc(2026, 11, 24, 6, 0))
    [message] = wpt.wait_for_messages(sched.subscription, 1)
    assert message["tag"] == f"b{block['id']}:20261124T055000Z:0"  # same key: same tag, same topic
    assert message["body"].startswith("Held back during your quiet hours.")
    assert (
        "started 10 min ago" in message["body"]
        or "Linear algebra" in message["title"] + message["body"]
    )
    log = await reminders(sched)
    assert log[f"b{block['id']}:20261124T055000Z:15"]["status"] == "cancelled"
    assert log[f"b{block['id']}:20261124T055000Z:0"]["status"] == "sent"
    await run_at(sched, clock, utc(2026, 11, 24, 6, 1))
    assert len(wpt.messages(sched.subscription)) == 1


async def test_drop_mode_sends_nothing_in_quiet_hours_and_a_session_over_by_then_is_dropped(
    sched, clock, wpt
) -> None:
    await sched.put("/api/settings", json={"quiet_hours": {**QUIET, "mode": "drop"}})
    late = await add_block(sched, title="Night owl", start="2026-11-23T23:30", reminder_offsets=[0])
    await run_at(sched, clock, utc(2026, 11, 23, 20, 0))
    await run_at(sched, clock, utc(2026, 11, 23, 22, 30))
    await run_at(sched, clock, utc(2026, 11, 24, 6, 0))
    assert wpt.messages(sched.subscription) == []
    row = (await reminders(sched))[f"b{late['id']}:20261123T223000Z:0"]
    assert row["status"] == "cancelled" and row["error"] == "quiet hours"

    # hold mode still drops a reminder whose session is over when the quiet ends
    await sched.put("/api/settings", json={"quiet_hours": QUIET})
    early = await add_block(sched, title="Dawn", start="2026-11-25T05:00", reminder_offsets=[0])
    await run_at(sched, clock, utc(2026, 11, 25, 4, 0))
    await run_at(sched, clock, utc(2026, 11, 25, 6, 0))
    assert wpt.messages(sched.subscription) == []
    assert (await reminders(sched))[f"b{early['id']}:20261125T040000Z:0"]["status"] == "cancelled"


async def test_the_daily_summary_never_lands_inside_quiet_hours_even_across_dst(
    sched, clock, wpt
) -> None:
    # The night of 25 Oct 2026 ends the summer: quiet until 07:00 CET = 06:00 UTC.
    clock.set(utc(2026, 10, 24, 12, 0))
    await sched.put(
        "/api/settings",
        json={"quiet_hours": QUIET, "summary_enabled": True, "summary_time": "06:30"},
    )
    await add_block(sched, start="2026-10-25T10:00", reminder_offsets=[0])
    await run_at(sched, clock, utc(2026, 10, 24, 12, 0))
    await run_at(sched, clock, utc(2026, 10, 25, 5, 30))  # 06:30 CET
    assert await run_at(sched, clock, utc(2026, 10, 25, 5, 59, 30)) == utc(2026, 10, 25, 6, 0)
    assert wpt.messages(sched.subscription) == []
    await run_at(sched, clock, utc(2026, 10, 25, 6, 0))
    [summary] = wpt.wait_for_messages(sched.subscription, 1)
    assert summary["kind"] == "summary" and summary["tag"] == "summary:2026-10-25"
    assert summary["body"].startswith("Held back during your quiet hours.")


async def test_how_did_it_go_at_the_end_of_a_block_once_with_the_snooze_length(
    sched, clock, wpt
) -> None:
    await sched.put("/api/settings", json={"end_of_block_check": True, "snooze_minutes": 7})
    block = await add_block(
        sched, start="2026-11-23T10:00", reminder_offsets=[0]
    )  # 09:00-10:00 UTC
    await run_at(sched, clock, utc(2026, 11, 23, 8, 0))
    await run_at(sched, clock, utc(2026, 11, 23, 9, 0))  # the start reminder
    await run_at(sched, clock, utc(2026, 11, 23, 10, 0))  # the end
    await run_at(sched, clock, utc(2026, 11, 23, 10, 1))
    start, check = wpt.wait_for_messages(sched.subscription, 2)
    assert start["kind"] == "reminder" and check["kind"] == "check"
    assert start["actions"][1] == {"action": "snooze", "title": "Snooze 7 min"}
    assert check["tag"] == f"check:b{block['id']}:20261123T090000Z"
    assert check["actions"] == [
        {"action": "done", "title": "Done"},
        {"action": "not_done", "title": "Not done"},
        {"action": "more", "title": "+7 min"},
    ]
    assert check["url"] == f"/#/occurrence/{block['id']}/20261123T090000Z"
    assert "Linear algebra" in check["title"] + check["body"]

    # +7 min asks again 7 minutes later, once; Done closes the session
    act = {"action_token": check["action_token"]}
    response = await sched.client.post("/api/actions", json={**act, "action": "more"})
    assert response.status_code == 200
    await run_at(sched, clock, utc(2026, 11, 23, 10, 7))
    assert len(wpt.messages(sched.subscription)) == 2
    await run_at(sched, clock, utc(2026, 11, 23, 10, 8))  # asked at 10:01, +7 min
    again = wpt.wait_for_messages(sched.subscription, 3)[2]
    assert again["kind"] == "check" and again["tag"].startswith(
        f"again:b{block['id']}:20261123T090000Z:"
    )
    response = await sched.client.post("/api/actions", json={**act, "action": "done"})
    assert response.json()["status"] == "done"
    await run_at(sched, clock, utc(2026, 11, 23, 12, 0))
    assert len(wpt.messages(sched.subscription)) == 3
    checks = [r for r in (await reminders(sched)).values() if r["kind"] == "check"]
    assert len(checks) == 2


async def test_not_done_skips_and_a_session_done_early_gets_no_question(sched, clock, wpt) -> None:
    await sched.put("/api/settings", json={"end_of_block_check": True})
    first = await add_block(sched, title="Essay", start="2026-11-23T10:00", reminder_offsets=[])
    second = await add_block(sched, title="Lab", start="2026-11-23T12:00", reminder_offsets=[])
    await run_at(sched, clock, utc(2026, 11, 23, 8, 0))
    await sched.post(
        f"/api/blocks/{second['id']}/occurrences/20261123T110000Z", json={"status": "done"}
    )
    await run_at(sched, clock, utc(2026, 11, 23, 10, 0))
    await run_at(sched, clock, utc(2026, 11, 23, 12, 0))
    [check] = wpt.wait_for_messages(sched.subscription, 1)
    assert check["tag"] == f"check:b{first['id']}:20261123T090000Z"
    response = await sched.client.post(
        "/api/actions", json={"action_token": check["action_token"], "action": "not_done"}
    )
    assert response.json()["status"] == "skipped"
    response = await sched.client.post(
        "/api/actions", json={"action_token": check["action_token"], "action": "later"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "action: must be done, not_done, snooze or more"
