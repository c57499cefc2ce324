"""The daily summary counts only what is still ahead and mentions yesterday's result (injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import test_schedule_scheduler as base
from test_schedule_scheduler import add_block, reminders, run_at

from notifier.texts.fallback import fallback_text
from notifier.texts.message import MessageContext

# the scheduler's fixtures: a manual clock, an app without its background loop
clock = base.clock  # the scheduler module's start time; `sched` comes from conftest


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def done(api, block: dict, key: str) -> None:
    response = await api.post(
        f"/api/blocks/{block['id']}/occurrences/{key}", json={"status": "done"}
    )
    assert response.status_code == 200, response.text


async def test_the_summary_lists_what_is_ahead_and_says_how_yesterday_went(
    sched, clock, wpt
) -> None:
    await sched.put(
        "/api/settings",
        json={"summary_enabled": True, "summary_time": "07:30", "llm_enabled": False},
    )
    maths = await add_block(sched, title="Maths", start="2026-11-23T10:00", reminder_offsets=[])
    await add_block(sched, title="Chemistry", start="2026-11-23T14:00", reminder_offsets=[])
    await add_block(sched, title="Dawn reading", start="2026-11-24T06:00", reminder_offsets=[])
    await add_block(sched, title="Physics", start="2026-11-24T16:00", reminder_offsets=[])
    cancelled = await add_block(
        sched, title="Cancelled", start="2026-11-23T18:00", reminder_offsets=[]
    )
    response = await sched.patch(
        f"/api/blocks/{cancelled['id']}/occurrences/20261123T170000Z",
        json={"status": "cancelled"},
    )
    assert response.status_code == 200, response.text
    await run_at(sched, clock, utc(2026, 11, 23, 8, 0))
    await done(sched, maths, "20261123T090000Z")

    # 07:30 Berlin on the 24th: Dawn reading (06:00) is behind, Physics ahead; yesterday 1 of 2
    await run_at(sched, clock, utc(2026, 11, 24, 6, 30))
    [summary] = wpt.wait_for_messages(sched.subscription, 1)
    assert summary["tag"] == "summary:2026-11-24"
    assert "Physics" in summary["body"] and "Dawn" not in summary["body"]
    assert "1 of 2" in summary["body"], summary["body"]  # the cancelled one planned nothing

    # the 25th: nothing ahead, so nothing is sent even though the 24th had a result
    await run_at(sched, clock, utc(2026, 11, 25, 6, 30))
    log = await reminders(sched)
    assert log["summary:2026-11-25"]["status"] == "cancelled"
    assert len(wpt.messages(sched.subscription)) == 1


async def test_yesterday_is_the_day_before_across_a_25_hour_dst_day(sched, clock, wpt) -> None:
    # Berlin falls back on 25 October 2026: 24 hours before 23:30 that day is still the 25th
    saturday = await add_block(
        sched, title="Saturday", start="2026-10-24T10:00", reminder_offsets=[]
    )
    await add_block(sched, title="Sunday", start="2026-10-25T10:00", reminder_offsets=[])
    await add_block(sched, title="Late one", start="2026-10-25T23:45", reminder_offsets=[])
    await run_at(sched, clock, utc(2026, 10, 24, 12, 0))
    await done(sched, saturday, "20261024T080000Z")
    await sched.put(
        "/api/settings",
        json={"summary_enabled": True, "summary_time": "23:30", "llm_enabled": False},
    )
    await run_at(sched, clock, utc(2026, 10, 24, 21, 30))  # the 24th's: nothing ahead, not sent
    await run_at(sched, clock, utc(2026, 10, 25, 22, 30))  # 23:30 CET on the 25th
    [summary] = wpt.wait_for_messages(sched.subscription, 1)
    assert summary["tag"] == "summary:2026-10-25"
    assert "Late one" in summary["body"] and "Sunday" not in summary["body"]
    assert "all 1" in summary["body"] or "1 of 1" in summary["body"], summary["body"]


def test_the_built_in_summary_mentions_yesterday_only_when_something_was_planned() -> None:
    at = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    items = (("16:00", "Physics"),)
    for seed in range(40):
        text = fallback_text(
            MessageContext(
                kind="summary",
                seed=f"s{seed}",
                local_time=at,
                summary_items=items,
                yesterday=(2, 3),
            )
        )
        assert "2 of 3" in text.body
        plain = fallback_text(
            MessageContext(kind="summary", seed=f"s{seed}", local_time=at, summary_items=items)
        )
        assert "esterday" not in plain.body
