"""One session of a series: move, resize, cancel, split; reminders follow, across DST.

An app with an injected clock and no background loop (tests call tick()), the real
push peer (web-push-testing) receiving what the scheduler sends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fakeclock import FakeClock

from notifier.clock import from_iso

TZ = "Europe/Berlin"
# Thursday 26 March 2026, 12:00 UTC; Berlin moves to summer time on Sunday 29 March.
T0 = datetime(2026, 3, 26, 12, 0, tzinfo=UTC)


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


async def run_until(api, clock: FakeClock, end: datetime) -> None:
    """Step the clock from one due reminder to the next up to `end`, sending each on time.

    Steps are at most 6 hours, so the outbox (filled 36 hours ahead) is refilled on the way.
    """
    while True:
        await api.scheduler.tick()
        await api.scheduler.drain()
        if clock.now() >= end:
            return
        nxt = await api.db.next_pending_time()
        step = clock.now() + timedelta(hours=6)
        clock.set(min(nxt or step, step, end))


async def daily(api, start="2026-03-23T09:00", **extra) -> dict:
    body = {"title": "Organic chemistry", "start": start, "duration_minutes": 60}
    response = await api.post("/api/blocks", json={**body, "rrule": "FREQ=DAILY", **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def agenda(api, lo="2026-03-26T00:00", hi="2026-04-02T00:00") -> list[dict]:
    response = await api.get("/api/agenda", params={"from": lo, "to": hi})
    assert response.status_code == 200, response.text
    return response.json()["occurrences"]


def tags(wpt, api) -> list[str]:
    return [m["tag"] for m in wpt.messages(api.subscription) if m["kind"] == "reminder"]


async def test_a_moved_session_is_reminded_once_at_its_new_time_across_dst(sched, clock, wpt):
    block = await daily(sched)
    friday = "20260327T080000Z"  # 09:00 CET
    url = f"/api/blocks/{block['id']}/occurrences/{friday}"
    # Friday's session moves to Sunday 10:00, after the clocks go forward (08:00 UTC).
    response = await sched.patch(url, json={"start": "2026-03-29T10:00", "duration_minutes": 90})
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["key"] == friday and moved["original_start"] == "2026-03-27T09:00"
    assert (moved["start"], from_iso(moved["start_utc"])) == (
        "2026-03-29T10:00",
        utc(2026, 3, 29, 8),
    )
    assert moved["duration_minutes"] == 90 and from_iso(moved["end_utc"]) == utc(2026, 3, 29, 9, 30)
    items = await agenda(sched)
    assert [from_iso(i["start_utc"]) for i in items if i["key"] == friday] == [utc(2026, 3, 29, 8)]
    assert not any(i["start_utc"].startswith("2026-03-27") for i in items)
    # Sunday's own session stays at 09:00, now summer time (07:00 UTC).
    assert [from_iso(i["start_utc"]) for i in items if i["key"] == "20260329T070000Z"] == [
        utc(2026, 3, 29, 7)
    ]

    await run_until(sched, clock, utc(2026, 3, 29, 12))
    sent = tags(wpt, sched)
    b = block["id"]
    assert f"b{b}:20260327T080000Z:15" not in sent and f"b{b}:20260327T080000Z:0" not in sent
    assert (
        sent.count(f"b{b}:20260329T080000Z:15") == 1 and sent.count(f"b{b}:20260329T080000Z:0") == 1
    )
    # The moved session's reminder opens the session by its identity, the original start.
    [msg] = [m for m in wpt.messages(sched.subscription) if m["tag"] == f"b{b}:20260329T080000Z:15"]
    assert msg["url"] == f"/#/occurrence/{b}/{friday}"
    assert from_iso(msg["due"]) == utc(2026, 3, 29, 7, 45)
    # Done on the moved session works by its original key.
    done = await sched.post(url, json={"status": "done"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert from_iso(done.json()["start_utc"]) == utc(2026, 3, 29, 8)


async def test_moving_after_the_reminder_went_out_reminds_again_at_the_new_time_once(
    sched, clock, wpt
):
    block = await daily(sched)
    b = block["id"]
    await run_until(sched, clock, utc(2026, 3, 27, 7, 50))  # Friday's 15-minute reminder is out
    assert tags(wpt, sched)[-1] == f"b{b}:20260327T080000Z:15"
    url = f"/api/blocks/{b}/occurrences/20260327T080000Z"
    assert (await sched.patch(url, json={"start": "2026-03-27T14:00"})).status_code == 200
    # Moved twice before the new reminder is due: still one per offset, at the last time.
    assert (await sched.patch(url, json={"start": "2026-03-27T15:00"})).status_code == 200
    await run_until(sched, clock, utc(2026, 3, 27, 18))
    sent = tags(wpt, sched)
    assert sent.count(f"b{b}:20260327T080000Z:0") == 0
    assert sent.count(f"b{b}:20260327T130000Z:15") == 0  # the 14:00 plan was replaced
    assert sent.count(f"b{b}:20260327T140000Z:15") == 1
    assert sent.count(f"b{b}:20260327T140000Z:0") == 1
    # Moving it back where the rule puts it removes the change.
    back = await sched.patch(url, json={"start": "2026-03-27T09:00"})
    assert back.status_code == 200 and back.json()["original_start"] is None
    assert await sched.db.occurrence_changes([b]) == []


async def test_a_cancelled_session_gets_no_reminders_and_leaves_the_agenda(sched, clock, wpt):
    block = await daily(sched)
    b = block["id"]
    await run_until(sched, clock, utc(2026, 3, 27, 12))  # Saturday's reminders are in the outbox
    url = f"/api/blocks/{b}/occurrences/20260328T080000Z"
    response = await sched.patch(url, json={"status": "cancelled"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert not any(i["key"] == "20260328T080000Z" for i in await agenda(sched))
    await run_until(sched, clock, utc(2026, 3, 29, 12))
    sent = tags(wpt, sched)
    assert not [t for t in sent if ":20260328T" in t]
    assert sent.count(f"b{b}:20260329T070000Z:0") == 1  # the others go on
    # A cancelled session cannot be marked done; moving it brings it back.
    assert (await sched.post(url, json={"status": "done"})).status_code == 400
    again = await sched.patch(url, json={"start": "2026-03-28T11:00"})
    assert again.status_code == 200 and again.json()["status"] == "planned"
    assert any(i["key"] == "20260328T080000Z" for i in await agenda(sched))


async def test_split_ends_the_series_and_starts_a_new_block(sched, clock, wpt):
    block = await daily(sched, rrule="FREQ=DAILY;COUNT=10")
    b = block["id"]
    # Sessions 23 Mar … 1 Apr; from Sunday 29 March on they move to 18:00.
    url = f"/api/blocks/{b}/occurrences/20260329T070000Z/split"
    response = await sched.post(url, json={"start": "2026-03-29T18:00"})
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["id"] != b and new["title"] == "Organic chemistry"
    assert new["start"] == "2026-03-29T18:00" and new["rrule"] == "FREQ=DAILY;COUNT=4"
    old = (await sched.get(f"/api/blocks/{b}")).json()
    assert old["rrule"] == "FREQ=DAILY;UNTIL=20260329T065959Z"
    items = await agenda(sched, "2026-03-23T00:00", "2026-04-10T00:00")
    assert [(i["block_id"], i["start"]) for i in items] == [
        *((b, f"2026-03-{d}T09:00") for d in range(23, 29)),
        *((new["id"], f"2026-{d}T18:00") for d in ("03-29", "03-30", "03-31", "04-01")),
    ]
    await run_until(sched, clock, utc(2026, 3, 30))
    sent = tags(wpt, sched)
    assert f"b{b}:20260329T070000Z:0" not in sent
    assert f"b{new['id']}:20260329T160000Z:0" in sent


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("20260327T080000Z", {"start": "soon"}, "start"),
        ("20260327T080000Z", {"duration_minutes": 0}, "duration_minutes"),
        ("20260327T080000Z", {"status": "done"}, "status"),
        ("20260327T080000Z", {"colour": "red"}, "colour"),
        ("20260327T083000Z", {"status": "cancelled"}, "no occurrence"),
        ("2026-03-27", {"status": "cancelled"}, "YYYYMMDDTHHMMSSZ"),
        ("20260323T080000Z/split", {}, "first session"),
    ],
)
async def test_bad_session_changes_are_400_and_change_nothing(sched, path, body, detail):
    block = await daily(sched)
    method = sched.post if path.endswith("split") else sched.patch
    response = await method(f"/api/blocks/{block['id']}/occurrences/{path}", json=body)
    assert response.status_code == 400 and response.json()["error"] == "bad_request"
    assert detail in response.json()["detail"]
    assert await sched.db.occurrence_changes() == []
    assert (await sched.get(f"/api/blocks/{block['id']}")).json()["rrule"] == "FREQ=DAILY"
    missing = await sched.patch("/api/blocks/999/occurrences/20260327T080000Z", json={})
    assert missing.status_code in (400, 404)


@pytest.mark.parametrize("count", [0, 1, 499, 500, 501, 1234])
async def test_the_agenda_encoded_a_page_at_a_time_is_the_whole_answer_encoded_at_once(
    count: int,
) -> None:
    # The API writes rule starts' items as text straight from the block's parts; they must
    # be exactly what msgspec writes of the items' dicts, with states, moved sessions and
    # titles that need escaping.
    import msgspec

    from notifier.api.blocks import _encoded
    from notifier.db.records import Block, OccurrenceChange, OccurrenceState
    from notifier.plan.agenda import Listing, _expanding

    now = datetime(2026, 12, 1, tzinfo=UTC)
    zones = ("Europe/Berlin", "America/New_York", "Asia/Kolkata")
    blocks = [
        Block(
            id=i + 1,
            title=f'Block "{i}" é\\ \u2028 \x01',
            notes="line\nbreak" if i % 2 else "",
            start_local=datetime(2026, 11, 2, 6, 0) + timedelta(minutes=7 * i),
            tz=ZoneInfo(zones[i % 3]),
            duration_minutes=15 + i % 200,
            rrule=None if i % 4 == 0 else "FREQ=WEEKLY;BYDAY=MO,TH",
            reminder_offsets=None,
            reminders=True,
            created_at=now,
            updated_at=now,
        )
        for i in range(count // 2)
    ]
    window = (now - timedelta(days=2), now + timedelta(days=9))
    plain = Listing(blocks, [])
    for _ in _expanding(plain, [], [], *window, None):
        pass
    starts = [(item["block_id"], item["key"], item["start"]) for item in plain][:count]
    states = [
        OccurrenceState(
            block_id=block_id,
            key=key,
            start=datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC),
            status="snoozed" if n % 2 else "done",
            snoozed_until=now + timedelta(minutes=n) if n % 2 else None,
            updated_at=now,
        )
        for n, (block_id, key, _) in enumerate(starts[::3])
    ]
    changes = [
        OccurrenceChange(
            block_id=block_id,
            key=key,
            original_local=datetime.fromisoformat(local),
            added=False,
            cancelled=n % 2 == 1,
            start_local=None if n % 2 else datetime.fromisoformat(local) + timedelta(hours=1),
            duration_minutes=None if n % 2 else 30,
        )
        for n, (block_id, key, local) in enumerate(starts[1::5])
    ]
    found = Listing(blocks, states)
    for _ in _expanding(found, states, changes, *window, None):
        pass
    items = list(found)
    assert len(items) >= len(starts)
    if len(items) > 6:
        assert {"done", "snoozed", "planned"} <= {i["status"] for i in items}
        assert any(i["original_start"] for i in items)
    whole = msgspec.json.encode({"timezone": "Europe/Berlin", "occurrences": items})
    assert await _encoded("Europe/Berlin", found) == whole
