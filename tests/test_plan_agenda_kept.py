"""The agenda's kept items (plan.agenda.keep / kept_json, db/agenda.py): the JSON joined
from the database is byte for byte what the rules make, with states, moved, cancelled and
added sessions, across DST; and no write, by the planner or not, leaves them out of date."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.clock import local_text, occurrence_key
from notifier.db import Database
from notifier.errors import TooManyOccurrences
from notifier.plan import agenda
from notifier.plan.recurrence import localize, occurrences

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")
RULES = (
    None,
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,TH",
    "FREQ=DAILY;INTERVAL=3;COUNT=20",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU",
    "FREQ=MONTHLY;BYMONTHDAY=30",
    "FREQ=DAILY;UNTIL=20261101T000000Z",
)
TITLES = ("Statistics", 'Block "quoted" é\\ \u2028 \x01', "line\nbreak", "")


async def python_text(db: Database, start: datetime, end: datetime, limit: int) -> bytes:
    """The items of [start, end) as the rules make them (the agenda's other path)."""
    return ",".join((await agenda.listing(db, start, end, limit)).json_items()).encode()


@st.composite
def plans(draw):
    """(now, blocks' fields, per block: (moves, adds, states)) around the 2026 DST changes."""
    now = draw(st.datetimes(datetime(2026, 3, 1), datetime(2026, 11, 30))).replace(tzinfo=UTC)
    blocks = []
    for _ in range(draw(st.integers(0, 6))):
        # few distinct wall times, so that blocks share starts (the order of ties counts)
        day = now.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
        start = day + timedelta(
            days=draw(st.integers(-90, 70)),
            minutes=draw(st.sampled_from((2 * 60, 18 * 60, 18 * 60 + 15))),
        )
        blocks.append(
            {
                "title": draw(st.sampled_from(TITLES)),
                "notes": draw(st.sampled_from(("", "bring the book"))),
                "start_local": start,
                "timezone": draw(st.sampled_from(ZONES)),
                "duration_minutes": draw(st.sampled_from((15, 60, 1440))),
                "rrule": draw(st.sampled_from(RULES)),
            }
        )
    picks = [
        (
            draw(st.lists(st.integers(0, 400), max_size=3)),  # sessions moved or cancelled
            draw(st.lists(st.integers(-96, 96 * 7), max_size=2)),  # extra dates, in 15 min
            draw(st.lists(st.integers(0, 400), max_size=4)),  # sessions with a state
        )
        for _ in blocks
    ]
    return now, blocks, picks


async def write_plan(db: Database, now: datetime, blocks, picks, draw_int) -> None:
    span = agenda.kept_span(now)
    for fields, (moved, added, marked) in zip(blocks, picks, strict=True):
        block = await db.add_block(fields, now)
        tz = ZoneInfo(fields["timezone"])
        starts = occurrences(
            block.start_local, tz, block.rrule, span[0] - timedelta(days=3), span[1], limit=None
        )
        for n, i in enumerate(moved):
            if not starts:
                break
            occ = starts[i % len(starts)]
            cancelled = n % 2 == 1
            await db.set_occurrence_change(
                block.id,
                occurrence_key(occ.start_utc),
                {
                    "original_local": local_text(occ.local),
                    "added": 0,
                    "cancelled": int(cancelled),
                    "start_local": None
                    if cancelled
                    else local_text(occ.local + timedelta(minutes=30 * draw_int(-96, 96))),
                    "duration_minutes": None if cancelled else 30,
                },
                now,
            )
        for steps in added:
            local = block.start_local + timedelta(minutes=15 * steps)
            await db.set_occurrence_change(
                block.id,
                occurrence_key(localize(local, tz).astimezone(UTC)),
                {
                    "original_local": local_text(local),
                    "added": 1,
                    "cancelled": 0,
                    "start_local": None,
                    "duration_minutes": None,
                },
                now,
            )
        for n, i in enumerate(marked):
            if not starts:
                break
            occ = starts[i % len(starts)]
            await db.set_occurrence_state(
                block.id,
                occ.start_utc,
                status=("done", "skipped", "snoozed")[n % 3],
                snoozed_until=now + timedelta(minutes=7 * n) if n % 3 == 2 else None,
                now=now,
            )


@settings(max_examples=60, deadline=None)
@given(plans(), st.data())
def test_kept_items_joined_are_what_the_rules_make(plan, data) -> None:
    now, blocks, picks = plan
    span = agenda.kept_span(now)
    windows = [
        (lo, min(lo + timedelta(hours=hours), span[1]))
        for lo, hours in data.draw(
            st.lists(
                st.tuples(
                    st.datetimes(span[0].replace(tzinfo=None), span[1].replace(tzinfo=None))
                    .map(lambda t: t.replace(tzinfo=UTC))
                    .filter(lambda t: t < span[1]),
                    st.integers(1, 62 * 24),
                ),
                min_size=1,
                max_size=3,
            )
        )
    ] + [span]

    async def check() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            db = await Database.open(Path(tmp) / "plan.sqlite3")
            try:
                await write_plan(db, now, blocks, picks, lambda a, b: data.draw(st.integers(a, b)))
                assert await agenda.keep(db, now)
                for lo, hi in windows:
                    kept = await agenda.kept_json(db, lo, hi, 10**6)
                    assert kept is not None
                    assert kept == await python_text(db, lo, hi, 10**6)
            finally:
                await db.close()

    asyncio.run(check())


def plain(title: str, start: str, rrule: str | None = "FREQ=DAILY") -> dict:
    return {
        "title": title,
        "notes": "",
        "start_local": datetime.fromisoformat(start),
        "timezone": "Europe/Berlin",
        "duration_minutes": 45,
        "rrule": rrule,
    }


NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday


@pytest.fixture
async def db(tmp_path):
    opened = await Database.open(tmp_path / "plan.sqlite3")
    yield opened
    await opened.close()


async def test_any_write_makes_a_blocks_items_stale_until_made_again(db) -> None:
    # Writes that do not go through the planner (another process, a restore) are caught
    # by the triggers: the kept items are not used until made again, never out of date.
    week = (NOW, NOW + timedelta(days=7))
    block = await db.add_block(plain("Chemistry", "2026-11-02T18:00"), NOW)
    other = await db.add_block(plain("Physics", "2026-11-30T07:00"), NOW)
    assert await agenda.kept_json(db, *week, 1000) is None  # nothing kept yet
    assert await agenda.keep(db, NOW)
    first = await agenda.kept_json(db, *week, 1000)
    assert first is not None and first.count(b'"block_id"') == 14

    await db.update_block(block.id, {"title": "Organic chemistry"}, NOW)
    assert await agenda.kept_json(db, *week, 1000) is None
    assert await agenda.keep(db, NOW, agenda.KEEP_AT_ONCE)
    again = await agenda.kept_json(db, *week, 1000)
    assert again == await python_text(db, *week, 1000) and b"Organic chemistry" in again

    key = occurrence_key(datetime(2026, 12, 2, 17, 0, tzinfo=UTC))
    change = {
        "original_local": "2026-12-02T18:00",
        "added": 0,
        "cancelled": 1,
        "start_local": None,
        "duration_minutes": None,
    }
    await db.set_occurrence_change(block.id, key, change, NOW)
    assert await agenda.kept_json(db, *week, 1000) is None
    assert await agenda.keep(db, NOW, agenda.KEEP_AT_ONCE)
    cancelled = await agenda.kept_json(db, *week, 1000)
    assert cancelled == await python_text(db, *week, 1000)
    assert (
        cancelled.count(b'"block_id"') == 13 and key.encode() not in cancelled
    )  # it leaves the agenda

    # A state is joined as it is read: no item is made again for it.
    await db.set_occurrence_state(
        other.id,
        datetime(2026, 12, 3, 6, 0, tzinfo=UTC),
        status="done",
        snoozed_until=None,
        now=NOW,
    )
    done = await agenda.kept_json(db, *week, 1000)
    assert done == await python_text(db, *week, 1000) and b'"status":"done"' in done

    await db.delete_block(block.id, NOW)
    gone = await agenda.kept_json(db, *week, 1000)
    assert gone == await python_text(db, *week, 1000) and gone.count(b'"block_id"') == 7
    assert b'"status":"done"' in gone


async def test_windows_outside_the_span_and_a_moved_span_are_made_from_the_rules(db) -> None:
    await db.add_block(plain("Chemistry", "2026-11-02T18:00"), NOW)
    assert await agenda.keep(db, NOW)
    span = agenda.kept_span(NOW)
    assert span[0] <= NOW - timedelta(days=2) and NOW + timedelta(days=63) <= span[1]
    assert span[0].weekday() == 0 and span[0].time() == datetime.min.time()
    before = (span[0] - timedelta(days=1), span[0] + timedelta(days=1))
    assert await agenda.kept_json(db, *before, 1000) is None
    # A week later the span moves on: every block is made again, in the background when
    # there are many (the planner); the old span's items are right meanwhile (an item
    # depends on its block alone), and its windows are answered from them.
    later = NOW + timedelta(days=7)
    week = (later, later + timedelta(days=7))
    assert await agenda.kept_json(db, *week, 1000) == await python_text(db, *week, 1000)
    assert not await agenda.keep(db, later, agenda.KEEP_AT_ONCE)
    assert await agenda.kept_json(db, *week, 1000) == await python_text(db, *week, 1000)
    assert await agenda.keep(db, later)
    moved = agenda.kept_span(later)
    assert moved[0] == span[0] + timedelta(days=7)
    assert await agenda.kept_json(db, moved[0] - timedelta(hours=1), moved[0], 1000) is None
    assert await agenda.kept_json(db, *week, 1000) == await python_text(db, *week, 1000)
    end = (moved[1] - timedelta(days=7), moved[1])
    assert await agenda.kept_json(db, *end, 1000) == await python_text(db, *end, 1000)


async def test_too_many_sessions_is_the_same_error_as_from_the_rules(db) -> None:
    for i in range(3):
        await db.add_block(plain(f"Block {i}", "2026-11-02T18:00"), NOW)
    assert await agenda.keep(db, NOW)
    week = (NOW, NOW + timedelta(days=7))
    assert (await agenda.kept_json(db, *week, 21)).count(b'"block_id"') == 21
    with pytest.raises(TooManyOccurrences) as kept:
        await agenda.kept_json(db, *week, 20)
    with pytest.raises(TooManyOccurrences) as made:
        await agenda.listing(db, *week, 20)
    assert str(kept.value) == str(made.value)
