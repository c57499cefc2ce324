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
from notifier.db.blocks import CHANGE_COLUMNS
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
    db: Any, data: bytes, default_tz: str, now: datetime, *, dry_run: bool
) -> Outcome:
    """Read `data` (an .ics file) and, unless `dry_run`, write its blocks in one transaction.

    Raises CalendarError (nothing changed) if the file is not a usable calendar.
    """
    # Parsing a big file takes a moment of CPU: not on the event loop.
    parsed = await asyncio.to_thread(parse_calendar, data, default_tz)
    existing = {r["ical_uid"]: r for r in await db.blocks() if r["ical_uid"]}
    changes = blocks.by_block(await db.occurrence_changes([r["id"] for r in existing.values()]))
    outcome = Outcome(dry_run=dry_run, skipped=parsed.skipped)
    creates, updates = [], []
    for event in parsed.events:
        fields = {**event.fields, "ical_uid": event.uid, "ical_source": parsed.source}
        rows = {k: blocks.change_fields(c) for k, c in event.changes.items()}
        row = existing.get(event.uid)
        if row is None:
            action = "create"
            outcome.created += 1
            creates.append((fields, rows))
        elif (
            _same(row, changes.get(row["id"], []), event, rows)
            and row["ical_source"] == parsed.source
        ):
            action = "unchanged"
            outcome.unchanged += 1
        else:
            action = "update"
            outcome.updated += 1
            updates.append((row["id"], fields, rows))
        outcome.items.append(_item(event, action))
    outcome.removed_from_file = _removed(existing, parsed)
    if not dry_run and (creates or updates):
        outcome.block_ids = await db.import_blocks(
            creates, updates, now, max_blocks=blocks.MAX_BLOCKS
        )
    return outcome


def _same(
    row: Any, change_rows: list[Any], event: Event, wanted: dict[str, dict[str, Any]]
) -> bool:
    if any(row[c] != event.fields[c] for c in IMPORTED):
        return False
    have = {c["occurrence_key"]: {col: c[col] for col in CHANGE_COLUMNS} for c in change_rows}
    return have == wanted


def _removed(existing: dict[str, Any], parsed: Parsed) -> list[dict[str, Any]]:
    return [
        {"block_id": r["id"], "uid": uid, "title": r["title"]}
        for uid, r in existing.items()
        if r["ical_source"] == parsed.source and uid not in parsed.uids
    ]


def _item(event: Event, action: str) -> dict[str, Any]:
    f = event.fields
    return {
        "uid": event.uid,
        "title": f["title"],
        "start": f["start_local"],
        "timezone": f["timezone"],
        "duration_minutes": f["duration_minutes"],
        "rrule": f["rrule"],
        "changed_sessions": len(event.changes),
        "action": action,
    }
