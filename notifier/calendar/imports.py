"""Importing a calendar file: compare with the blocks it made before, then create or update.

A block remembers the UID of the event it came from (and which calendar), so importing
the same file again updates those blocks instead of adding copies; a block whose event
is gone from the file is reported, and neither kept silently nor deleted. The
person's own settings on an imported block (reminder times, reminders on/off) stay.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notifier.calendar.ics_import import Event, Parsed, Skipped, parse_calendar
from notifier.clock import local_text
from notifier.db import Database
from notifier.db.records import Block, BlockChanges, OccurrenceChange
from notifier.plan import blocks

# What an import sets on a block; the rest (reminder offsets, reminders on/off) is the person's.
IMPORTED = ("title", "notes", "start_local", "timezone", "duration_minutes", "rrule")


@dataclass
class Outcome:
    """What an import did (or, as a dry run, would do)."""

    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    removed_from_file: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    block_ids: list[int] = field(default_factory=list)  # created and updated

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": [
                {"uid": s.uid, "summary": s.summary, "reason": s.reason} for s in self.skipped
            ],
            "removed_from_file": self.removed_from_file,
            "items": self.items,
        }

    def summary(self) -> str:
        """One line for the command line and the preview."""
        verb = "would be" if self.dry_run else "were"
        parts = [f"{self.created} new", f"{self.updated} updated", f"{self.unchanged} unchanged"]
        text = f"{', '.join(parts)} block(s) {verb} imported"
        if self.skipped:
            reasons: dict[str, int] = {}
            for s in self.skipped:
                reasons[s.reason] = reasons.get(s.reason, 0) + 1
            text += (
                f"; {len(self.skipped)} skipped ("
                + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
                + ")"
            )
        if self.removed_from_file:
            text += (
                f"; {len(self.removed_from_file)} block(s) from an earlier import are no longer "
                "in the file (kept; delete them in the app if they are over)"
            )
        return text + "."


async def import_calendar(
    db: Database, data: bytes, default_tz: str, now: datetime, *, dry_run: bool
) -> Outcome:
    """Read `data` (an .ics file) and, unless `dry_run`, write its blocks in one transaction.

    Raises CalendarError (nothing changed) if the file is not a usable calendar.
    """
    # Parsing a big file takes a moment of CPU: not on the event loop.
    parsed = await asyncio.to_thread(parse_calendar, data, default_tz)
    existing = {b.ical_uid: b for b in await db.blocks() if b.ical_uid}
    changes = blocks.by_block(await db.occurrence_changes([b.id for b in existing.values()]))
    outcome = Outcome(dry_run=dry_run, skipped=parsed.skipped)
    creates: list[tuple[BlockChanges, dict[str, dict[str, Any]]]] = []
    updates: list[tuple[int, BlockChanges, dict[str, dict[str, Any]]]] = []
    for event in parsed.events:
        fields: BlockChanges = {
            **event.fields,
            "ical_uid": event.uid,
            "ical_source": parsed.source,
        }
        rows = {k: blocks.change_fields(c) for k, c in event.changes.items()}
        row = existing.get(event.uid)
        if row is None:
            action = "create"
            outcome.created += 1
            creates.append((fields, rows))
        elif _same(row, changes.get(row.id, []), event, rows) and row.ical_source == parsed.source:
            action = "unchanged"
            outcome.unchanged += 1
        else:
            action = "update"
            outcome.updated += 1
            updates.append((row.id, fields, rows))
        outcome.items.append(_item(event, action))
    outcome.removed_from_file = _removed(existing, parsed)
    if not dry_run and (creates or updates):
        outcome.block_ids = await db.import_blocks(
            creates, updates, now, max_blocks=blocks.MAX_BLOCKS
        )
    return outcome


def _same(
    block: Block,
    stored: list[OccurrenceChange],
    event: Event,
    wanted: dict[str, dict[str, Any]],
) -> bool:
    if any(getattr(block, c) != event.fields.get(c) for c in IMPORTED):
        return False
    have = {c.key: blocks.change_fields(blocks.change_of(c)) for c in stored}
    return have == wanted


def _removed(existing: dict[str, Block], parsed: Parsed) -> list[dict[str, Any]]:
    return [
        {"block_id": b.id, "uid": uid, "title": b.title}
        for uid, b in existing.items()
        if b.ical_source == parsed.source and uid not in parsed.uids
    ]


def _item(event: Event, action: str) -> dict[str, Any]:
    f = event.fields
    return {
        "uid": event.uid,
        "title": f.get("title"),
        "start": local_text(f["start_local"]) if "start_local" in f else None,
        "timezone": f.get("timezone"),
        "duration_minutes": f.get("duration_minutes"),
        "rrule": f.get("rrule"),
        "changed_sessions": len(event.changes),
        "action": action,
    }
