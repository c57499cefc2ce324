"""Blocks: validation in plain words; the agenda and its limits, through the real app."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
from fakeclock import FakeClock

from notifier.api import blocks as blocks_api
from notifier.errors import BadRequest
from notifier.plan import agenda, recurrence, sessions
from notifier.plan.blocks import validate_block
from notifier.texts import context

BAD_RULES = [
    "FREQ=HOURLY",
    "FREQ=WEEKLY;COUNT=3;UNTIL=20270101",
    "FREQ=WEEKLY;BYMONTHDAY=3",
    "FREQ=WEEKLY;BYSETPOS=1;BYDAY=MO",
    "FREQ=WEEKLY;BYDAY=XX",
    "FREQ=WEEKLY;BYDAY=1MO",
    "FREQ=MONTHLY;BYDAY=6MO",
    "FREQ=DAILY;UNTIL=tomorrow",
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=DAILY;FOO=1",
    "FREQ=DAILY;BYHOUR=9",
    "DTSTART:20260101T090000\nRRULE:FREQ=DAILY",
    "every monday",
]


@pytest.mark.parametrize("rule", BAD_RULES)
def test_bad_repeat_rules_are_explained_without_the_rfc(rule: str) -> None:
    body = {"title": "Maths", "start": "2026-11-23T18:00", "duration_minutes": 30, "rrule": rule}
    with pytest.raises(BadRequest) as caught:
        validate_block(body, partial=False, default_tz="Europe/Berlin")
    detail = caught.value.detail
    assert detail.startswith("rrule: ")
    assert "RFC" not in detail and "§" not in detail and "BY part" not in detail
    assert len(detail) < 200


async def test_a_rule_that_never_matches_gives_an_example(api) -> None:
    body = {
        "title": "Leap",
        "start": "2026-11-23T18:00",
        "duration_minutes": 30,
        "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    }
    response = await api.post("/api/blocks", json=body)
    assert response.status_code == 400
    assert "30th of February" in response.json()["detail"]


# --- the agenda and its limits: what is read, what is kept, what is refused ---

TZ = "Europe/Berlin"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def app(make_api, stub, clock):
    """The app with a manual clock, one device on the stub push service, no background loop."""
    async with make_api(extra_hosts=stub.host_port, clock=clock, run_scheduler=False) as api:
        await api.put("/api/settings", json={"timezone": TZ, "default_offsets": [0]})
        sub = {"endpoint": stub.endpoint("/push/phone"), "keys": _keys()}
        assert (await api.post("/api/push/subscriptions", json=sub)).status_code == 201
        api.scheduler = api.app.state.scheduler
        yield api


def _keys() -> dict[str, str]:
    from conftest import browser_keys

    return browser_keys()


async def add(api, **fields) -> dict:
    body = {"title": "Physics", "start": "2026-11-23T10:00", "duration_minutes": 60, **fields}
    response = await api.post("/api/blocks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def traced(db) -> list[str]:
    """Every SQL statement the app's connection runs from now on."""
    statements: list[str] = []
    await db.conn.set_trace_callback(statements.append)
    return statements


async def test_the_block_cap_is_a_clear_409(app, monkeypatch) -> None:
    monkeypatch.setattr(blocks_api, "MAX_BLOCKS", 3)
    for i in range(3):
        await add(app, title=f"Block {i}")
    response = await app.post(
        "/api/blocks",
        json={"title": "One more", "start": "2026-11-24T10:00", "duration_minutes": 30},
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": "too_many_blocks",
        "detail": "there are 3 blocks already and this app keeps at most 3: "
        "delete some you no longer need first",
    }
    assert len((await app.get("/api/blocks")).json()) == 3
    await app.delete(f"/api/blocks/{(await app.get('/api/blocks')).json()[0]['id']}")
    await add(app, title="Room again")


async def test_an_agenda_with_too_many_sessions_is_a_clear_400(app, monkeypatch) -> None:
    monkeypatch.setattr(blocks_api, "MAX_AGENDA_OCCURRENCES", 10)
    await add(app, rrule="FREQ=DAILY")
    week = {"from": "2026-11-23T00:00", "to": "2026-11-30T00:00"}
    assert len((await app.get("/api/agenda", params=week)).json()["occurrences"]) == 7
    response = await app.get(
        "/api/agenda", params={"from": "2026-11-23T00:00", "to": "2026-12-05T00:00"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "too_many_occurrences",
        "detail": "this range holds more than 10 sessions: ask for a shorter one",
    }


async def test_the_agenda_reads_only_blocks_and_states_near_its_window(app) -> None:
    # Two years of one-off history and a series: a week's agenda reads neither the old
    # one-offs nor the old occurrences' state.
    series = await add(app, rrule="FREQ=WEEKLY;BYDAY=MO,TH", start="2024-11-25T10:00")
    for day in range(0, 700, 7):
        old = (datetime(2024, 12, 1) + timedelta(days=day)).strftime("%Y-%m-%dT10:00")
        await add(app, title="Old", start=old)
    await app.post(
        f"/api/blocks/{series['id']}/occurrences/20250102T090000Z", json={"status": "done"}
    )
    db = app.app.state.db
    rows = await db.blocks_near(T0, T0 + timedelta(days=7))
    assert [r.id for r in rows] == [series["id"]]
    assert await db.occurrence_states_between(T0, T0 + timedelta(days=7)) == []
    statuses = [
        o["status"]
        for o in (
            await app.get(
                "/api/agenda", params={"from": "2025-01-01T00:00", "to": "2025-01-03T00:00"}
            )
        ).json()["occurrences"]
    ]
    assert statuses == ["done"]


async def test_a_days_context_is_kept_until_the_plan_changes(app, clock) -> None:
    db = app.app.state.db
    block = await add(app, title="Physics", rrule="FREQ=DAILY")
    first = [(i.title, i.status) for i in await context.today(db, TZ, T0)]
    assert first == [("Physics", "planned")]

    statements = await traced(db)
    assert [(i.title, i.status) for i in await context.today(db, TZ, T0)] == first
    assert not [s for s in statements if "blocks" in s]  # kept: only the version was read

    changes = [
        lambda: app.post(
            f"/api/blocks/{block['id']}/occurrences/20261123T090000Z", json={"status": "done"}
        ),
        lambda: app.patch(f"/api/blocks/{block['id']}", json={"title": "Chemistry"}),
        lambda: app.post(
            "/api/blocks",
            json={"title": "Maths", "start": "2026-11-23T15:00", "duration_minutes": 30},
        ),
        lambda: app.put("/api/settings", json={"timezone": "Europe/London"}),
        lambda: app.delete(f"/api/blocks/{block['id']}"),
    ]
    seen = [first]
    for change in changes:
        assert (await change()).status_code < 300
        seen.append([(i.title, i.status) for i in await context.today(db, TZ, T0)])
    assert seen == [
        [("Physics", "planned")],
        [("Physics", "done")],
        [("Chemistry", "done")],
        [("Chemistry", "done"), ("Maths", "planned")],
        [
            ("Chemistry", "done"),
            ("Maths", "planned"),
        ],  # the settings counter moved: recomputed, same
        [("Maths", "planned")],
    ]


async def test_a_change_from_another_process_is_seen_too(app, data_dir) -> None:
    db = app.app.state.db
    await add(app, title="Physics", rrule="FREQ=DAILY")
    assert [i.title for i in await context.today(db, TZ, T0)] == ["Physics"]
    other = sqlite3.connect(db.path)  # e.g. `notifier import` writing directly
    with other:
        other.execute("UPDATE blocks SET title = 'Biology'")
    other.close()
    assert [i.title for i in await context.today(db, TZ, T0)] == ["Biology"]


async def send_one(app, clock, stub, start: str) -> list[str]:
    """Plan a one-off block, send its reminder; the SQL statements of that send."""
    await add(app, title="Physics", start=start)
    due = recurrence.localize(datetime.fromisoformat(start), recurrence.tz_from_name(TZ))
    clock.set(due - timedelta(minutes=5))
    await app.scheduler.tick()  # fills the outbox and prepares the day, ahead of the send
    await app.scheduler.drain()
    statements = await traced(app.app.state.db)
    pushes = len(stub.requests_for("/push/phone"))
    clock.set(due)
    await app.scheduler.tick()
    await app.scheduler.drain()
    await app.app.state.db.conn.set_trace_callback(None)
    assert len(stub.requests_for("/push/phone")) == pushes + 1
    return [s for s in statements if not s.startswith(("BEGIN", "COMMIT"))]


async def test_sending_a_reminder_runs_the_same_queries_whatever_the_plan_holds(
    app, clock, stub
) -> None:
    for i in range(5):
        await add(
            app, title=f"Series {i}", rrule="FREQ=WEEKLY;BYDAY=MO,WE", start="2025-01-06T07:00"
        )
    few = await send_one(app, clock, stub, "2026-11-23T12:00")
    for i in range(150):
        await add(app, title=f"More {i}", rrule="FREQ=WEEKLY;BYDAY=MO,WE", start="2025-01-06T07:00")
    many = await send_one(app, clock, stub, "2026-11-23T13:00")
    assert len(many) == len(few) and few
    # Only the reminder's own rows: nothing reads every block or every occurrence state.
    assert not [s for s in few + many if "FROM blocks" in s and "WHERE id = " not in s]
    assert not [s for s in few + many if "FROM occurrence_state" in s]


async def test_rescheduling_every_block_gives_the_loop_a_turn_between_blocks(
    app, monkeypatch
) -> None:
    """In slices of the loop, not in a worker thread (whose GIL the loop would wait for)."""
    for i in range(3):
        await add(app, title=f"Series {i}", rrule="FREQ=DAILY")
    await app.scheduler.tick()  # the outbox is filled once; a change refills it from then on
    app.scheduler.slice_seconds = 0.0  # every step uses up its slice
    turns = 0
    seen: list[tuple[str, int]] = []  # (thread, turns of the other task) at each block
    expand = sessions.due_reminders

    def spy(*args, **kwargs):
        seen.append((threading.current_thread().name, turns))
        return expand(*args, **kwargs)

    async def other() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    monkeypatch.setattr(sessions, "due_reminders", spy)
    task = asyncio.create_task(other())
    await app.put("/api/settings", json={"timezone": "Europe/London"})  # reschedules everything
    task.cancel()
    assert len(seen) == 3 and {name for name, _ in seen} == {threading.main_thread().name}
    assert len({n for _, n in seen}) == 3  # the other task ran between every two blocks
    keys = {r["key"] for r in (await app.get("/api/reminders", params={"limit": 100})).json()}
    assert len([k for k in keys if k.startswith("b")]) >= 3  # and the outbox is filled again


async def test_a_kept_agenda_answer_follows_every_change(app) -> None:
    week = {"from": "2026-11-23T00:00", "to": "2026-11-30T00:00"}
    block = await add(app, rrule="FREQ=WEEKLY;BYDAY=MO,TH")

    async def seen() -> list[tuple[str, str]]:
        return [
            (o["title"], o["status"])
            for o in (await app.get("/api/agenda", params=week)).json()["occurrences"]
        ]

    assert await seen() == await seen() == [("Physics", "planned")] * 2
    await app.post(
        f"/api/blocks/{block['id']}/occurrences/20261123T090000Z", json={"status": "done"}
    )
    assert await seen() == [("Physics", "done"), ("Physics", "planned")]
    other = sqlite3.connect(app.app.state.db.path)  # another process writing
    with other:
        other.execute("UPDATE blocks SET title = 'Biology'")
    other.close()
    assert await seen() == [("Biology", "done"), ("Biology", "planned")]


# --- the agenda's fast path: a block without changed sessions skips the Session objects ---

from dataclasses import replace as _replace  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_plan_recurrence import ZONES, any_rules, minutes, start_times  # noqa: E402

from notifier.clock import iso, iso_key, occurrence_key  # noqa: E402
from notifier.db.records import Block, OccurrenceChange, OccurrenceState  # noqa: E402
from notifier.plan.agenda import expand, occurrence_json  # noqa: E402
from notifier.plan.blocks import by_block, series  # noqa: E402


def agenda_by_sessions(blocks, states, changes, start, end) -> list[dict]:
    """The agenda as every block's sessions, the way a block with changed sessions is read."""
    by_start = {(s.block_id, s.start): s for s in states}
    grouped = by_block(changes)
    out = [
        occurrence_json(b, s, by_start.get((b.id, s.original.start_utc)))
        for b in blocks
        for s in sessions.sessions(series(b, grouped.get(b.id, ())), start, end)
    ]
    return sorted(out, key=lambda o: (o["start_utc"], o["block_id"]))


@st.composite
def agenda_cases(draw):
    tz = draw(st.sampled_from(ZONES))
    ws = draw(st.datetimes(datetime(2000, 1, 1), datetime(2100, 12, 1))).replace(
        microsecond=0, tzinfo=UTC
    )
    we = ws + timedelta(hours=draw(st.integers(0, 24 * 62)))
    blocks, states, changes = [], [], []
    shared = draw(start_times)
    for i in range(draw(st.integers(1, 4))):
        start = datetime.combine(
            (ws - timedelta(days=draw(st.integers(-10, 3 * 366)))).date(),
            draw(st.just(shared) | start_times),
        )
        block = Block(
            id=draw(st.integers(1, 50)) * 10 + i,  # unique, in no particular order
            title=f"Block {i}",
            notes="",
            start_local=start,
            tz=tz,
            duration_minutes=draw(st.integers(1, 24 * 60)),
            rrule=draw(st.none() | any_rules(start)),
            reminder_offsets=None,
            reminders=True,
            created_at=ws,
            updated_at=ws,
        )
        if blocks and draw(st.booleans()):  # a twin of the one before: the same sessions
            block = _replace(block, start_local=blocks[-1].start_local, rrule=blocks[-1].rrule)
        blocks.append(block)
        occs = recurrence.occurrences(start, tz, block.rrule, ws, we, limit=None)
        for occ in draw(st.lists(st.sampled_from(occs), max_size=3)) if occs else []:
            key = occurrence_key(occ.start_utc)
            states.append(
                OccurrenceState(
                    block_id=block.id,
                    key=key,
                    start=occ.start_utc,
                    status=draw(st.sampled_from(["planned", "done", "skipped"])),
                    snoozed_until=draw(st.none() | st.just(occ.start_utc + timedelta(minutes=5))),
                    updated_at=ws,
                )
            )
            if draw(st.booleans()):  # some blocks go through the path with changes
                changes.append(
                    OccurrenceChange(
                        block_id=block.id,
                        key=key,
                        original_local=occ.local,
                        added=False,
                        cancelled=draw(st.booleans()),
                        start_local=occ.local + draw(minutes),
                        duration_minutes=None,
                    )
                )
    states = list({(s.block_id, s.key): s for s in states}.values())
    changes = list({(c.block_id, c.key): c for c in changes}.values())
    return blocks, states, changes, ws, we


@settings(max_examples=150, deadline=None)
@given(agenda_cases())
def test_the_agenda_without_session_objects_equals_the_agenda_of_sessions(case) -> None:
    blocks, states, changes, ws, we = case
    assert expand(blocks, states, changes, ws, we) == agenda_by_sessions(*case)


@given(st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31), timezones=st.just(UTC)))
def test_the_key_sliced_from_the_iso_text_is_the_occurrence_key(instant) -> None:
    assert iso_key(iso(instant)) == occurrence_key(instant)


async def test_too_many_sessions_is_decided_before_any_is_made(app, monkeypatch) -> None:
    monkeypatch.setattr(blocks_api, "MAX_AGENDA_OCCURRENCES", 10)
    await add(app, rrule="FREQ=DAILY")

    def expanded(*args, **kwargs):
        raise AssertionError("expanded a rule")

    monkeypatch.setattr(recurrence, "utc_starts", expanded)
    monkeypatch.setattr(agenda, "shown", expanded)
    monkeypatch.setattr(sessions, "sessions", expanded)
    response = await app.get(
        "/api/agenda", params={"from": "2026-11-23T00:00", "to": "2026-12-23T00:00"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "too_many_occurrences"


@settings(max_examples=200, deadline=None)
@given(
    st.data(),
    st.sampled_from(ZONES),
    st.dates(datetime(2000, 1, 1).date(), datetime(2100, 12, 31).date()),
    st.integers(1, 27),
)
def test_kept_words_are_those_of_the_blocks_own_start(data, tz, day, years) -> None:
    # A block begun on the same weekday and date of the year some years apart, at another
    # time, asked first: the words kept for it must be this block's own.
    from notifier.plan.blocks import repeat_text

    start = datetime.combine(day, data.draw(start_times))
    rule = data.draw(st.none() | any_rules(start))
    block = Block(
        id=1,
        title="Maths",
        notes="",
        start_local=start,
        tz=tz,
        duration_minutes=30,
        rrule=rule,
        reminder_offsets=None,
        reminders=True,
        created_at=T0,
        updated_at=T0,
    )
    with contextlib.suppress(ValueError):  # no 29 February that year
        sibling = start.replace(
            year=start.year + (1, 28, 56)[years % 3], hour=(start.hour + years) % 24
        )
        repeat_text(_replace(block, start_local=sibling))
    assert repeat_text(block) == repeats_words(rule, start, tz)


def repeats_words(rule, start, tz) -> str:
    from notifier.plan import repeats

    return repeats.block_fields(rule, start, tz)["repeat_text"]


async def test_the_agenda_gives_the_loop_a_turn_between_blocks(app, monkeypatch) -> None:
    # Expanding thousands of blocks in a worker thread held the GIL against the sends;
    # on the loop, each block is a step after which other tasks may run.
    from notifier.plan import agenda as plan_agenda
    from notifier.slices import Slicer

    for i in range(30):
        await add(app, title=f"Block {i}", rrule="FREQ=DAILY")
    # A turn after every step, whatever budget the agenda asks for.
    monkeypatch.setattr(plan_agenda, "Slicer", lambda budget=0: Slicer(0))
    turns = 0

    async def ticker() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = turns
    items = await plan_agenda.agenda(app.app.state.db, T0, T0 + timedelta(days=7))
    task.cancel()
    assert len(items) == 30 * 7
    assert turns - before >= 30
