"""History in numbers: planned and done minutes per day and per block title, and the streak."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

MAX_DAYS = 366  # one request covers at most a year
STREAK_DAYS = 366  # how far back a streak is counted


def _day_of(item: Mapping[str, Any]) -> date:
    return date.fromisoformat(str(item["start"])[:10])


def summarise(items: Iterable[Mapping[str, Any]], first: date, last: date) -> dict[str, Any]:
    """Per day of [first, last] and per title: planned, done and skipped minutes.

    `items` are agenda items. Planned counts every session that is on (not cancelled or
    skipped), as the week chart does; skipped minutes are reported beside it.
    """
    days = {first + timedelta(days=n): _zero() for n in range((last - first).days + 1)}
    titles: dict[str, dict[str, int]] = {}
    for item in items:
        status = item["status"]
        if status == "cancelled" or (day := _day_of(item)) not in days:
            continue
        minutes = int(item["duration_minutes"])
        for bucket in (days[day], titles.setdefault(str(item["title"]), _zero())):
            if status == "skipped":
                bucket["skipped_minutes"] += minutes
            else:
                bucket["planned_minutes"] += minutes
                bucket["sessions"] += 1
            if status == "done":
                bucket["done_minutes"] += minutes
                bucket["done_sessions"] += 1
    totals = _zero()
    for bucket in days.values():
        for name in totals:
            totals[name] += bucket[name]
    return {
        "days": [{"date": d.isoformat(), **v} for d, v in sorted(days.items())],
        "titles": [
            {"title": t, **v}
            for t, v in sorted(titles.items(), key=lambda kv: (-kv[1]["planned_minutes"], kv[0]))
        ],
        "totals": totals,
    }


def _zero() -> dict[str, int]:
    return {
        "planned_minutes": 0,
        "done_minutes": 0,
        "skipped_minutes": 0,
        "sessions": 0,
        "done_sessions": 0,
    }


def streak(items: Iterable[Mapping[str, Any]], today: date) -> int:
    """Days in a row, back from today, on which every session on the plan was done.

    Days with nothing planned neither break a streak nor add to it. Today counts once
    all of its sessions are done; until then it does not break it (it is not over).
    """
    by_day: dict[date, list[str]] = {}
    for item in items:
        if item["status"] != "cancelled":
            by_day.setdefault(_day_of(item), []).append(str(item["status"]))
    count = 0
    for back in range(STREAK_DAYS):
        day = today - timedelta(days=back)
        statuses = by_day.get(day)
        if not statuses:
            continue
        if all(s == "done" for s in statuses):
            count += 1
        elif day == today:
            continue
        else:
            break
    return count
