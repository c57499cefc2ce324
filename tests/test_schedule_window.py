"""The outbox rows of a window, worked out a block at a time in short slices of the loop:
the same rows as expanding every block at once, and the loop gets its turns meanwhile."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.clock import occurrence_key
from notifier.db.records import Block, NewReminder, OccurrenceChange
from notifier.plan import checks, sessions
from notifier.plan.blocks import reminded
from notifier.plan.prefs import Prefs
from notifier.plan.recurrence import localize, occurrences
from notifier.schedule.window import block_rows
from notifier.slices import Slicer

ZONES = [ZoneInfo(z) for z in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC")]
RULES = [
    None,
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,TH",
    "FREQ=DAILY;INTERVAL=3;COUNT=20",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU",
    "FREQ=MONTHLY;BYMONTHDAY=30",
    "FREQ=DAILY;UNTIL=20260410T000000Z",
]
OFFSETS = st.lists(st.sampled_from([0, 5, 15, 60, 600, 1440]), min_size=1, max_size=3).map(tuple)
STAMP = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def plans(draw):
    """Blocks around the 2026 DST changes (some sessions cancelled or moved), the settings,
    and the sessions marked done or skipped."""
    blocks, changes, closed = [], {}, set()
    for block_id in range(1, draw(st.integers(0, 8)) + 1):
        tz = draw(st.sampled_from(ZONES))
        start = datetime(2026, 3, draw(st.integers(1, 31)), draw(st.integers(0, 23)), 30)
        rule = draw(st.sampled_from(RULES))
        blocks.append(
            Block(
                id=block_id,
                title=f"Block {block_id}",
                notes="",
                start_local=start,
                tz=tz,
                duration_minutes=draw(st.sampled_from([15, 60, 1440])),
                rrule=rule,
                reminder_offsets=draw(st.none() | OFFSETS),
                reminders=draw(st.booleans()),
                created_at=STAMP,
                updated_at=STAMP,
            )
        )
        starts = occurrences(
            start, tz, rule, localize(start, tz), STAMP + timedelta(days=150), limit=None
        )
        picked = draw(st.lists(st.sampled_from(starts), unique=True, max_size=4)) if starts else []
        for i, occ in enumerate(picked):
            if i % 2:
                closed.add((block_id, occ.start_utc))
                continue
            moved = occ.local + draw(st.integers(-48, 48)) * timedelta(minutes=30)
            cancelled = draw(st.booleans())
            changes.setdefault(block_id, []).append(
                OccurrenceChange(
                    block_id=block_id,
                    key=occurrence_key(occ.start_utc),
                    original_local=occ.local,
                    added=False,
                    cancelled=cancelled,
                    start_local=None if cancelled else moved,
                    duration_minutes=None,
                )
            )
    prefs = Prefs(
        default_offsets=draw(OFFSETS),
        reminders_enabled=draw(st.booleans()),
        end_of_block_check=draw(st.booleans()),
    )
    return blocks, changes, prefs, closed


windows = st.tuples(
    st.datetimes(datetime(2026, 3, 1), datetime(2026, 5, 1)), st.integers(1, 4 * 24)
).map(lambda t: (t[0].replace(tzinfo=UTC), t[0].replace(tzinfo=UTC) + t[1] * timedelta(hours=1)))


def all_at_once(blocks, changes, prefs, start, end, closed) -> list[NewReminder]:
    """What the scheduler computed before, every block in one expansion."""
    plan = [reminded(b, changes.get(b.id, ()), prefs) for b in blocks]
    dues = sessions.due_reminders(plan, start, end, closed=closed)
    asks = checks.due_checks(plan, start, end, closed=closed) if prefs.end_of_block_check else []
    return [
        NewReminder(
            key=d.key,
            kind="reminder",
            block_id=d.block_id,
            occurrence_start=d.occurrence_utc,
            offset_minutes=d.offset_minutes,
            due_at=d.due_utc,
        )
        for d in dues
    ] + [
        NewReminder(
            key=c.key,
            kind="check",
            block_id=c.block_id,
            occurrence_start=c.occurrence_utc,
            due_at=c.due_utc,
        )
        for c in asks
    ]


@settings(max_examples=200, deadline=None)
@given(plans(), windows, st.sampled_from([0.0, 1.0]))
def test_a_block_at_a_time_gives_the_rows_of_all_at_once_in_the_same_order(
    plan, window, budget
) -> None:
    blocks, changes, prefs, closed = plan
    start, end = window
    got = asyncio.run(block_rows(blocks, changes, prefs, start, end, closed, Slicer(budget)))
    assert got == all_at_once(blocks, changes, prefs, start, end, closed)


async def test_the_loop_gets_a_turn_between_blocks() -> None:
    """With no time budget left after any step, another task runs between every two blocks."""
    tz = ZoneInfo("Europe/Berlin")
    blocks = [
        Block(
            id=i,
            title=f"Block {i}",
            notes="",
            start_local=datetime(2026, 3, 2, 6 + i % 12, 0),
            tz=tz,
            duration_minutes=45,
            rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            reminder_offsets=None,
            reminders=True,
            created_at=STAMP,
            updated_at=STAMP,
        )
        for i in range(1, 41)
    ]
    start = datetime(2026, 3, 30, tzinfo=UTC)  # a window across the spring change
    end = start + timedelta(hours=36)
    turns: list[int] = []  # how many blocks were done when the other task ran
    done = asyncio.Event()
    slicer = Slicer(0.0)

    async def other() -> None:
        while not done.is_set():
            turns.append(slicer.pauses)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(other())
    rows = await block_rows(blocks, {}, Prefs(), start, end, set(), slicer)
    done.set()
    await watcher
    assert rows == all_at_once(blocks, {}, Prefs(), start, end, set())
    assert slicer.pauses >= len(blocks) + len(rows)
    # the other task ran after each block, not only before the first or after the last
    assert set(range(1, len(blocks) + 1)) <= set(turns)
