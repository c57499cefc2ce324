"""Which outbox rows fall due in a window: the reminders, end-of-session questions and
daily summaries of [start, end), for one block or all of them.

The scheduler fills the outbox with these (36 hours ahead) and recomputes them after
a change. With thousands of blocks that is hundreds of ms of Python, so it runs in
short slices of the event loop, one block at a time (notifier/slices.py): requests
and sends due meanwhile keep their turn.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from operator import itemgetter

from notifier.db import Database
from notifier.db.records import Block, NewReminder, OccurrenceChange
from notifier.plan import checks, recurrence, sessions
from notifier.plan import prefs as prefs_mod
from notifier.plan.blocks import by_block, effective_timezone, reminded
from notifier.plan.prefs import Prefs
from notifier.slices import Slicer


async def rows(
    db: Database,
    start: datetime,
    end: datetime,
    block_id: int | None = None,
    slicer: Slicer | None = None,
) -> list[NewReminder]:
    """The outbox rows of every reminder due in [start, end), of one block or all.

    Only the blocks that can have a session then are read.
    """
    slicer = slicer or Slicer()
    prefs = await prefs_mod.load(db)
    # A reminder is due up to a day before its session: look that far past the window.
    later = end + timedelta(minutes=recurrence.MAX_OFFSET_MINUTES)
    if block_id is None:
        blocks = await db.blocks_near(start, later, slicer)
        changes = await db.occurrence_changes_near(start, later)
    else:
        blocks = await db.blocks(block_id)
        changes = await db.occurrence_changes([block_id])
    closed = await db.closed_occurrences(start, later, block_id)
    new = await block_rows(blocks, by_block(changes), prefs, start, end, closed, slicer)
    if block_id is None and prefs.summary_enabled:
        tz = recurrence.tz_from_name(effective_timezone(prefs))
        hh, mm = map(int, prefs.summary_time.split(":"))
        for day, due in recurrence.daily_summary_due(
            datetime.min.time().replace(hour=hh, minute=mm), tz, start, end
        ):
            new.append(NewReminder(key=f"summary:{day.isoformat()}", kind="summary", due_at=due))
    return new


async def block_rows(
    blocks: list[Block],
    changes: dict[int, list[OccurrenceChange]],
    prefs: Prefs,
    start: datetime,
    end: datetime,
    closed: set[tuple[int, datetime]],
    slicer: Slicer,
) -> list[NewReminder]:
    """The outbox rows of the blocks' reminders (and end-of-session questions) due in
    [start, end): the reminders in due order, then the questions in due order.

    Each block's are found on its own (sessions.due_reminders and checks.due_checks
    treat blocks one by one), with a pause between blocks.
    """
    # (due time, key) worked out here, a block at a time: sorting thousands is quick then
    dues: list[tuple[tuple[datetime, str], sessions.Due]] = []
    asks: list[tuple[tuple[datetime, str], checks.CheckDue]] = []
    for block in blocks:
        plan = [reminded(block, changes.get(block.id, ()), prefs)]
        dues += (
            (sessions.due_order(d), d)
            for d in sessions.due_reminders(plan, start, end, closed=closed)
        )
        if prefs.end_of_block_check:
            asks += (
                (sessions.due_order(c), c)
                for c in checks.due_checks(plan, start, end, closed=closed)
            )
        await slicer.pause()
    dues.sort(key=itemgetter(0))
    await slicer.pause()
    asks.sort(key=itemgetter(0))
    new = []
    for (due, key), d in dues:
        new.append(
            NewReminder(
                key=key,
                kind="reminder",
                block_id=d.block_id,
                occurrence_start=d.occurrence_utc,
                offset_minutes=d.offset_minutes,
                due_at=due,
            )
        )
        await slicer.pause()
    for (due, key), c in asks:
        new.append(
            NewReminder(
                key=key,
                kind="check",
                block_id=c.block_id,
                occurrence_start=c.occurrence_utc,
                due_at=due,
            )
        )
        await slicer.pause()
    return new
