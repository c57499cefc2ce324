"""The scheduler with an injected clock: on time, exactly once, across restarts and edits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from fakeclock import FakeClock

from notifier.clock import from_iso, occurrence_key

TZ = "Europe/Berlin"
# Monday 23 Nov 2026, 08:00 UTC = 09:00 in Berlin.
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


async def run_at(api, clock: FakeClock, when: datetime) -> datetime:
    """Move the clock, run one scheduler pass and wait for its sends; returns the next wake."""
    clock.set(when)
    nxt = await api.scheduler.tick()
    await api.scheduler.drain()
    return nxt


async def add_block(api, **fields) -> dict:
    body = {
        "title": "Linear algebra",
        "start": "2026-11-23T10:00",
        "duration_minutes": 60,
        **fields,
    }
    response = await api.post("/api/blocks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def reminders(api) -> dict[str, dict]:
    return {r["key"]: r for r in (await api.get("/api/reminders", params={"limit": 500})).json()}


async def test_reminders_fire_at_their_due_times_exactly_once(sched, clock, wpt) -> None:
    block = await add_block(sched)
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 Berlin
    # Far from anything due it naps at most a minute (a suspended laptop is noticed)…
    assert await run_at(sched, clock, T0) == T0 + timedelta(seconds=60)
    # …and near a due time it wakes exactly then: no polling granularity.
    assert await run_at(
        sched, clock, start - timedelta(minutes=15, seconds=20)
    ) == start - timedelta(minutes=15)

    await run_at(sched, clock, start - timedelta(minutes=15))
    [first] = wpt.wait_for_messages(sched.subscription, 1)
    key15 = f"b{block['id']}:20261123T090000Z:15"
    assert first["tag"] == key15 and first["kind"] == "reminder"
    assert first["url"] == f"/#/occurrence/{block['id']}/20261123T090000Z"
    assert [a["action"] for a in first["actions"]] == ["done", "snooze"] and first["action_token"]
    assert "Linear algebra" in first["title"] + first["body"]

    await run_at(sched, clock, start - timedelta(minutes=14))  # nothing new is due
    await run_at(sched, clock, start)
    messages = wpt.wait_for_messages(sched.subscription, 2)
    assert [m["tag"] for m in messages] == [key15, f"b{block['id']}:20261123T090000Z:0"]

    log = await reminders(sched)
    assert log[key15]["status"] == "sent" and log[key15]["text_source"] == "fallback"
    assert log[key15]["deliveries"][0]["outcome"] == "delivered"
    assert not log[key15]["late"]


async def test_a_crash_between_send_and_record_resends_under_the_same_tag(
    sched, clock, wpt
) -> None:
    block = await add_block(sched, reminder_offsets=[0])
    await run_at(sched, clock, T0)
    due = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    await run_at(sched, clock, due)
    # Simulate dying after the push left but before the result was written.
    key = f"b{block['id']}:20261123T090000Z:0"
    row = (await reminders(sched))[key]
    assert row["status"] == "sent"
    async with sched.db.transaction() as conn:  # nothing of the outcome was written
        await conn.execute("DELETE FROM deliveries WHERE reminder_id = ?", (row["id"],))
    await sched.db.finish_reminder(row["id"], due, status="sending", sent_at=None)
    await sched.db.release_unfinished(due)  # what a restart does first
    await run_at(sched, clock, due + timedelta(seconds=2))

    tags = [m["tag"] for m in wpt.wait_for_messages(sched.subscription, 2)]
    assert tags == [key, key]  # same tag: the phone replaces, shows one
    assert (await reminders(sched))[key]["status"] == "sent"


async def test_after_downtime_recent_ones_go_out_late_and_old_ones_are_missed_once(
    sched, clock, wpt
) -> None:
    await sched.put("/api/settings", json={"late_grace_minutes": 10})
    early = await add_block(
        sched, title="Early", start="2026-11-23T09:20", reminder_offsets=[0, 15]
    )
    late = await add_block(sched, title="Late", start="2026-11-23T09:50", reminder_offsets=[0])
    await run_at(sched, clock, T0)
    # The server is down from 08:00 to 08:55 UTC (09:55 Berlin).
    await run_at(sched, clock, datetime(2026, 11, 23, 8, 55, tzinfo=UTC))

    log = await reminders(sched)
    assert log[f"b{early['id']}:20261123T082000Z:0"]["status"] == "missed"
    assert log[f"b{early['id']}:20261123T082000Z:15"]["status"] == "missed"
    sent = log[f"b{late['id']}:20261123T085000Z:0"]
    assert sent["status"] == "sent" and sent["late"]
    missed_pushes = [r for r in log.values() if r["kind"] == "missed"]
    assert len(missed_pushes) == 1

    messages = {m["kind"]: m for m in wpt.wait_for_messages(sched.subscription, 2)}
    assert sorted(messages) == ["missed", "reminder"]
    assert "2 reminders" in messages["missed"]["body"]  # the count, from its own column
    await run_at(sched, clock, datetime(2026, 11, 23, 8, 56, tzinfo=UTC))
    assert len([r for r in (await reminders(sched)).values() if r["kind"] == "missed"]) == 1


async def test_done_cancels_pending_and_planned_restores_them(sched, clock) -> None:
    block = await add_block(sched)
    await run_at(sched, clock, T0)
    path = f"/api/blocks/{block['id']}/occurrences/20261123T090000Z"
    response = await sched.post(path, json={"status": "done"})
    assert response.status_code == 200 and response.json()["status"] == "done"
    statuses = {
        k: r["status"] for k, r in (await reminders(sched)).items() if "20261123T090000Z" in k
    }
    assert set(statuses.values()) == {"cancelled"}

    await sched.post(path, json={"status": "planned"})
    statuses = {
        k: r["status"] for k, r in (await reminders(sched)).items() if "20261123T090000Z" in k
    }
    assert set(statuses.values()) == {"pending"} and len(statuses) == 2


async def test_editing_a_block_reschedules_and_deleting_cancels(sched, clock, wpt) -> None:
    block = await add_block(sched, reminder_offsets=[0])
    await run_at(sched, clock, T0)
    response = await sched.patch(f"/api/blocks/{block['id']}", json={"start": "2026-11-23T11:30"})
    assert response.status_code == 200 and response.json()["start"] == "2026-11-23T11:30"
    pending = {k for k, r in (await reminders(sched)).items() if r["status"] == "pending"}
    assert pending == {f"b{block['id']}:20261123T103000Z:0"}

    # The old time passes silently; the new one fires.
    await run_at(sched, clock, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await run_at(sched, clock, datetime(2026, 11, 23, 10, 30, tzinfo=UTC))
    assert [m["tag"] for m in wpt.wait_for_messages(sched.subscription, 1)] == [
        f"b{block['id']}:20261123T103000Z:0"
    ]

    other = await add_block(
        sched, title="Chemistry", reminder_offsets=[0], start="2026-11-23T14:00"
    )
    assert (await sched.delete(f"/api/blocks/{other['id']}")).status_code == 204
    log = await reminders(sched)
    assert log[f"b{other['id']}:20261123T130000Z:0"]["status"] == "cancelled"
    assert (await sched.get(f"/api/blocks/{other['id']}")).status_code == 404


async def test_snooze_adds_one_reminder_later(sched, clock, wpt) -> None:
    block = await add_block(sched, reminder_offsets=[0])
    await run_at(sched, clock, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    path = f"/api/blocks/{block['id']}/occurrences/20261123T090000Z"
    response = await sched.post(path, json={"snooze_minutes": 10})
    assert response.json()["snoozed_until"].startswith("2026-11-23T09:10:00")
    await run_at(sched, clock, datetime(2026, 11, 23, 9, 10, tzinfo=UTC))
    tags = [m["tag"] for m in wpt.wait_for_messages(sched.subscription, 2)]
    assert tags[1].startswith(f"snooze:b{block['id']}:20261123T090000Z:")


async def test_notification_actions_work_with_the_payload_token_only(sched, clock, wpt) -> None:
    await add_block(sched, reminder_offsets=[0])
    await run_at(sched, clock, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    [message] = wpt.wait_for_messages(sched.subscription, 1)
    anonymous = sched.client  # no Authorization header
    response = await anonymous.post(
        "/api/actions", json={"action_token": message["action_token"], "action": "done"}
    )
    assert response.status_code == 200 and response.json()["status"] == "done"

    forged = message["action_token"][:-2] + (
        "AA" if not message["action_token"].endswith("AA") else "BB"
    )
    response = await anonymous.post("/api/actions", json={"action_token": forged, "action": "done"})
    assert response.status_code == 403
    assert response.json() == {
        "error": "invalid_action_token",
        "detail": "This notification's action link is not valid.",
    }
    clock.advance(days=3)
    response = await anonymous.post(
        "/api/actions", json={"action_token": message["action_token"], "action": "snooze"}
    )
    assert response.status_code == 403 and response.json()["error"] == "action_token_expired"


async def test_the_snooze_button_says_and_does_the_snooze_length_of_the_settings(
    sched, clock, wpt
) -> None:
    await sched.put("/api/settings", json={"snooze_minutes": 25})
    await add_block(sched, reminder_offsets=[0])
    await run_at(sched, clock, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    [message] = wpt.wait_for_messages(sched.subscription, 1)
    assert message["actions"][1] == {"action": "snooze", "title": "Snooze 25 min"}
    assert message["snooze_minutes"] == 25  # what the service worker shows when it queues the tap
    response = await sched.client.post(
        "/api/actions", json={"action_token": message["action_token"], "action": "snooze"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["snoozed_until"].startswith("2026-11-23T09:25:00")


async def test_daily_summary_lists_today_and_stays_silent_on_empty_days(sched, clock, wpt) -> None:
    await sched.put("/api/settings", json={"summary_enabled": True, "summary_time": "07:30"})
    await add_block(sched, title="Physics", start="2026-11-24T16:00", reminder_offsets=[])
    await run_at(sched, clock, T0)
    # 23 Nov has no blocks; 24 Nov has Physics. 07:30 Berlin = 06:30 UTC.
    await run_at(sched, clock, datetime(2026, 11, 24, 6, 30, tzinfo=UTC))
    [summary] = wpt.wait_for_messages(sched.subscription, 1)
    assert summary["kind"] == "summary" and summary["tag"] == "summary:2026-11-24"
    assert "Physics" in summary["body"]
    await run_at(sched, clock, datetime(2026, 11, 25, 6, 30, tzinfo=UTC))
    log = await reminders(sched)
    assert log["summary:2026-11-25"]["status"] == "cancelled"
    assert len(wpt.messages(sched.subscription)) == 1


async def test_changing_default_offsets_reschedules(sched, clock) -> None:
    block = await add_block(sched)
    await run_at(sched, clock, T0)
    await sched.put("/api/settings", json={"default_offsets": [30]})
    pending = {
        k
        for k, r in (await reminders(sched)).items()
        if r["status"] == "pending" and k.startswith(f"b{block['id']}:20261123")
    }
    assert pending == {f"b{block['id']}:20261123T090000Z:30"}


async def test_dst_keeps_local_wall_time(sched, clock) -> None:
    await add_block(
        sched,
        title="Daily",
        start="2027-03-27T09:00",
        rrule="FREQ=DAILY;COUNT=3",
        reminder_offsets=[0],
    )
    agenda = (
        await sched.get(
            "/api/agenda", params={"from": "2027-03-27T00:00", "to": "2027-03-30T00:00"}
        )
    ).json()
    assert [o["start"] for o in agenda["occurrences"]] == [
        "2027-03-27T09:00",
        "2027-03-28T09:00",
        "2027-03-29T09:00",
    ]
    assert [o["start_utc"][11:16] for o in agenda["occurrences"]] == ["08:00", "07:00", "07:00"]


async def test_repeating_blocks_and_agenda_status(sched, clock) -> None:
    block = await add_block(sched, rrule="FREQ=WEEKLY;BYDAY=MO,WE")
    agenda = (
        await sched.get(
            "/api/agenda", params={"from": "2026-11-23T00:00", "to": "2026-11-30T00:00"}
        )
    ).json()
    assert agenda["timezone"] == TZ
    assert [o["start"] for o in agenda["occurrences"]] == ["2026-11-23T10:00", "2026-11-25T10:00"]
    await sched.post(
        f"/api/blocks/{block['id']}/occurrences/20261125T090000Z", json={"status": "skipped"}
    )
    agenda = (
        await sched.get(
            "/api/agenda", params={"from": "2026-11-23T00:00", "to": "2026-11-30T00:00"}
        )
    ).json()
    assert [o["status"] for o in agenda["occurrences"]] == ["planned", "skipped"]


@pytest.mark.parametrize(
    "body, detail",
    [
        ({"start": "2026-11-23T10:00", "duration_minutes": 60}, "title: is required"),
        (
            {"title": " ", "start": "2026-11-23T10:00", "duration_minutes": 60},
            "title: must not be empty",
        ),
        (
            {"title": "x", "start": "tomorrow", "duration_minutes": 60},
            "start: must be a date and time like 2026-11-23T18:00",
        ),
        (
            {"title": "x", "start": "2026-11-23T10:00", "duration_minutes": 0},
            "duration_minutes: must be a whole number from 1 to 1440",
        ),
        (
            {
                "title": "x",
                "start": "2026-11-23T10:00",
                "duration_minutes": 60,
                "reminder_offsets": [2000],
            },
            "reminder_offsets: must be a whole number from 0 to 1440",
        ),
        (
            {"title": "x", "start": "2026-11-23T10:00", "duration_minutes": 60, "colour": "red"},
            "colour: unknown field",
        ),
        (
            {
                "title": "x",
                "start": "2026-11-23T10:00",
                "duration_minutes": 60,
                "timezone": "Mars/Base",
            },
            None,
        ),
        (
            {
                "title": "x",
                "start": "2026-11-23T10:00",
                "duration_minutes": 60,
                "rrule": "FREQ=SECONDLY",
            },
            None,
        ),
    ],
)
async def test_bad_blocks_get_a_400_naming_the_field(sched, body, detail) -> None:
    response = await sched.post("/api/blocks", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    if detail:
        assert response.json()["detail"] == detail
    else:
        assert response.json()["detail"].split(":")[0] in ("timezone", "rrule")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"default_offsets": [-5]}, "default_offsets"),
        ({"summary_time": "25:00"}, "summary_time"),
        ({"late_grace_minutes": "ten"}, "late_grace_minutes"),
        ({"vapid_subject": "mailto:me@localhost"}, "vapid_subject"),
        ({"bogus": 1}, "bogus"),
    ],
)
async def test_bad_settings_get_a_400_naming_the_field(sched, body, field) -> None:
    response = await sched.put("/api/settings", json=body)
    assert response.status_code == 400 and response.json()["detail"].startswith(f"{field}:")


async def test_an_idle_scheduler_sleeps_at_most_a_minute(sched, clock) -> None:
    nxt = await run_at(sched, clock, T0)
    assert nxt - T0 == timedelta(seconds=60)


async def test_restart_resumes_from_the_watermark_without_duplicates(make_api, wpt, clock) -> None:
    async with make_api(extra_hosts=wpt.host_port, clock=clock, run_scheduler=False) as api:
        await api.put("/api/settings", json={"timezone": TZ})
        await api.post(
            "/api/blocks",
            json={
                "title": "x",
                "start": "2026-11-23T10:00",
                "duration_minutes": 30,
                "rrule": "FREQ=DAILY",
                "reminder_offsets": [0, 15],
            },
        )
        await api.app.state.scheduler.tick()
        before = {r["key"] for r in (await api.get("/api/reminders", params={"limit": 500})).json()}
    clock.advance(hours=13)
    async with make_api(extra_hosts=wpt.host_port, clock=clock, run_scheduler=False) as api:
        await api.app.state.scheduler.materialize(clock.now())
        rows = (await api.get("/api/reminders", params={"limit": 500})).json()
        keys = [r["key"] for r in rows]
        assert len(keys) == len(set(keys)) and before <= set(keys)
        # Every (occurrence, offset) up to the new watermark exists exactly once.
        dues = sorted(from_iso(r["due_at"]) for r in rows)
        assert all(b - a >= timedelta(minutes=15) for a, b in itertools.pairwise(dues))
        assert occurrence_key(dues[0]) == "20261123T084500Z"


async def test_subscriptions_silent_for_60_days_expire(sched, clock, wpt) -> None:
    await run_at(sched, clock, T0)  # first refill: the fresh subscription stays
    assert len((await sched.get("/api/push/subscriptions")).json()) == 1
    await run_at(sched, clock, T0 + timedelta(days=61))
    assert (await sched.get("/api/push/subscriptions")).json() == []


async def test_rules_that_never_match_and_absurd_years_are_refused(sched) -> None:
    response = await sched.post(
        "/api/blocks",
        json={
            "title": "Feb 30",
            "start": "2026-11-23T10:00",
            "duration_minutes": 30,
            "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        },
    )
    assert response.status_code == 400 and response.json()["detail"].startswith(
        "rrule: this repeat never falls on a real date"
    )
    response = await sched.post(
        "/api/blocks", json={"title": "Old", "start": "0001-01-01T10:00", "duration_minutes": 30}
    )
    assert response.json()["detail"] == "start: the year must be between 2000 and 2100"
    block = await add_block(sched, rrule="FREQ=WEEKLY;BYDAY=MO")
    response = await sched.patch(
        f"/api/blocks/{block['id']}", json={"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31"}
    )
    assert response.status_code == 400


async def test_a_deleted_blocks_cancellations_survive_a_settings_change(sched, clock) -> None:
    block = await add_block(sched, reminder_offsets=[0])
    await run_at(sched, clock, T0)
    await sched.delete(f"/api/blocks/{block['id']}")
    await sched.put("/api/settings", json={"default_offsets": [5]})
    log = await reminders(sched)
    assert log[f"b{block['id']}:20261123T090000Z:0"]["status"] == "cancelled"
