""".ics import: a corpus of files as Google, Outlook, Apple and a timetable system write them.

Each file is imported through the API; the agenda for six months must hold exactly the
sessions `recurring-ical-events` (an independent implementation of RFC 5545 expansion)
finds in the same file. Re-imports update by UID; bad files change nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from notifier.clock import from_iso

DATA = Path(__file__).parent / "data"
TZ = "Europe/Berlin"
ICS = {"Content-Type": "text/calendar"}

# file -> (six months to compare, what must be skipped: {summary: reason fragment})
CORPUS = {
    "google_calendar.ics": (date(2026, 3, 1), {"Labour Day": "all-day"}),
    "outlook_calendar.ics": (
        date(2026, 3, 1),
        {"Pomodoro": "repeat rule is not supported", "Team offsite": "all-day"},
    ),
    "apple_calendar.ics": (date(2026, 3, 1), {"Leap day review": "never matches"}),
    "university_timetable.ics": (date(2026, 4, 1), {}),
    "khal_exchange_rdate_period.ics": (date(2018, 3, 1), {}),
}


async def upload(api, body: bytes, **params):
    return await api.client.post(
        "/api/import/ics", content=body, headers={**api.auth, **ICS}, params=params
    )


async def agenda(api, first: date, days: int = 183) -> list[tuple[str, datetime, datetime]]:
    out = []
    day = first
    while day < first + timedelta(days=days):
        nxt = min(day + timedelta(days=60), first + timedelta(days=days))
        response = await api.get(
            "/api/agenda", params={"from": f"{day}T00:00", "to": f"{nxt}T00:00"}
        )
        assert response.status_code == 200, response.text
        out += [
            (o["title"], from_iso(o["start_utc"]), from_iso(o["end_utc"]))
            for o in response.json()["occurrences"]
        ]
        day = nxt
    return out


def expected(path: Path, first: date, skipped: set[str], days: int = 183):
    """What the file means, by recurring-ical-events: timed sessions starting in the window."""
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    zone = ZoneInfo(TZ)
    lo = datetime.combine(first, datetime.min.time(), zone)
    hi = datetime.combine(first + timedelta(days=days), datetime.min.time(), zone)
    out = []
    # A margin on both sides: the library filters by overlap, we by start.
    for ev in recurring_ical_events.of(cal).between(lo - timedelta(days=2), hi + timedelta(days=2)):
        start, end = ev["DTSTART"].dt, ev["DTEND"].dt if "DTEND" in ev else None
        if not isinstance(start, datetime) or " ".join(str(ev["SUMMARY"]).split()) in skipped:
            continue
        if str(ev.get("STATUS", "")).upper() == "CANCELLED":
            continue  # the library hands cancelled sessions on for the caller to drop
        end = end if end is not None else start + ev["DURATION"].dt
        start, end = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (start, end))
        if lo <= start < hi:
            out.append(
                (" ".join(str(ev["SUMMARY"]).split()), start.astimezone(UTC), end.astimezone(UTC))
            )
    return out


@pytest.mark.parametrize("name", sorted(CORPUS))
async def test_each_file_gives_the_agenda_its_events_mean(api, name):
    await api.put("/api/settings", json={"timezone": TZ})
    first, skips = CORPUS[name]
    body = (DATA / name).read_bytes()
    preview = await upload(api, body, dry_run="true")
    assert preview.status_code == 200, preview.text
    assert await api.db.blocks() == []  # a preview changes nothing
    result = (await upload(api, body)).json()
    assert {k: result[k] for k in ("created", "updated", "unchanged")} == {
        k: preview.json()[k] for k in ("created", "updated", "unchanged")
    }
    assert {s["summary"]: s["reason"] for s in result["skipped"]}.keys() == skips.keys()
    for s in result["skipped"]:
        assert skips[s["summary"]] in s["reason"] and s["uid"]
    got = await agenda(api, first)
    want = expected(DATA / name, first, set(skips))
    assert got and Counter(got) == Counter(want)
    # Importing the same file again: everything unchanged, nothing doubled.
    again = (await upload(api, body)).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (
        0,
        0,
        result["created"],
    )
    assert again["removed_from_file"] == []
    assert Counter(await agenda(api, first)) == Counter(want)


async def test_outlook_windows_zones_and_custom_zones_become_iana_names(api):
    await api.put("/api/settings", json={"timezone": TZ})
    result = (await upload(api, (DATA / "outlook_calendar.ics").read_bytes())).json()
    zones = {i["title"]: i["timezone"] for i in result["items"]}
    assert zones == {
        "Study group": "Europe/Berlin",  # W. Europe Standard Time
        "Webinar: spaced repetition": "America/Los_Angeles",  # Pacific Standard Time
        "Call with Kenji": "Asia/Tokyo",
        "Lab report writing": "Europe/Berlin",  # "Customized Time Zone", same rules as the person's
    }
    study = next(b for b in (await api.get("/api/blocks")).json() if b["title"] == "Study group")
    assert study["rrule"] == "FREQ=WEEKLY;UNTIL=20260630T070000Z;BYDAY=TU"
    assert "Where: Library room 2" in study["notes"]


async def test_google_moved_and_cancelled_sessions_are_one_session_changes(api):
    await api.put("/api/settings", json={"timezone": TZ})
    await upload(api, (DATA / "google_calendar.ics").read_bytes())
    items = [i for i in await agenda(api, date(2026, 5, 1), 45) if i[0] == "Linear Algebra"]
    starts = {s.astimezone(ZoneInfo(TZ)).strftime("%a %d %H:%M") for _, s, _ in items}
    assert "Thu 14 10:00" not in starts and "Fri 15 14:00" in starts  # moved
    assert "Thu 21 10:00" not in starts  # cancelled (STATUS:CANCELLED override)
    assert "Mon 04 10:00" not in starts  # EXDATE
    response = await api.get(
        "/api/agenda", params={"from": "2026-05-15T00:00", "to": "2026-05-16T00:00"}
    )
    [moved] = [o for o in response.json()["occurrences"] if o["title"] == "Linear Algebra"]
    assert moved["original_start"] == "2026-05-14T10:00" and moved["key"] == "20260514T080000Z"


async def test_reimport_updates_by_uid_and_reports_what_left_the_file(api):
    await api.put("/api/settings", json={"timezone": TZ})
    body = (DATA / "university_timetable.ics").read_bytes()
    first = (await upload(api, body)).json()
    assert first["created"] == 41
    # The department moves one lecture and drops another; the person set their own reminders.
    blocks = {b["title"] + b["start"]: b for b in (await api.get("/api/blocks")).json()}
    one = blocks["Thermodynamics, MVK190" + "2026-04-13T10:15"]
    assert (
        await api.patch(f"/api/blocks/{one['id']}", json={"reminder_offsets": [60]})
    ).status_code == 200
    changed = body.replace(b"DTSTART:20260413T081500Z", b"DTSTART:20260413T091500Z").replace(
        b"DTEND:20260413T100000Z", b"DTEND:20260413T110000Z"
    )
    dropped_uid = b"UID:TE-433459-20260301T000000Z@cloud.timeedit.net"
    cut = changed.index(dropped_uid)
    changed = (
        changed[: changed.rindex(b"BEGIN:VEVENT", 0, cut)]
        + changed[changed.index(b"END:VEVENT", cut) + 12 :]
    )
    result = (await upload(api, changed)).json()
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 39)
    [gone] = result["removed_from_file"]
    assert gone["uid"] == "TE-433459-20260301T000000Z@cloud.timeedit.net"
    after = (await api.get(f"/api/blocks/{one['id']}")).json()
    assert after["start"] == "2026-04-13T11:15" and after["reminder_offsets"] == [60]
    assert len((await api.get("/api/blocks")).json()) == 41  # reported, not deleted


async def test_an_imported_block_gets_its_reminders(api):
    await api.put("/api/settings", json={"timezone": TZ, "default_offsets": [15]})
    clock_now = api.app.state.clock.now()
    start = (clock_now + timedelta(hours=3)).astimezone(UTC).strftime("%Y%m%dT%H%M00Z")
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:soon@test\r\n"
        f"DTSTART:{start}\r\nDURATION:PT1H\r\nSUMMARY:Soon\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    await api.app.state.scheduler.tick()
    assert (await upload(api, body)).json()["created"] == 1
    keys = [r["key"] for r in (await api.get("/api/reminders")).json()]
    assert any(k.endswith(":15") and k.startswith("b") for k in keys)


NOT_ICS = [
    (b"", 400, "not an iCalendar"),
    (b"%PDF-1.4 ...", 400, "not an iCalendar"),
    (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:2026", 400, "cannot be read"),
]


@pytest.mark.parametrize(("body", "status", "detail"), NOT_ICS)
async def test_a_file_that_is_not_icalendar_is_refused_and_changes_nothing(
    api, body, status, detail
):
    response = await upload(api, body)
    assert response.status_code == status and response.json()["error"] == "bad_calendar"
    assert detail in response.json()["detail"]
    assert await api.db.blocks() == []


async def test_a_50_mb_file_is_refused_before_it_is_read(api):
    big = b"BEGIN:VCALENDAR\r\n" + b"X" * (50 * 2**20)
    response = await upload(api, big)
    assert response.status_code == 413
    assert response.json() == {
        "error": "too_large",
        "detail": "The calendar file is larger than 2 MB, more than any timetable needs; export a shorter range.",
    }
    assert await api.db.blocks() == []


async def test_other_content_types_are_refused(api):
    body = (DATA / "apple_calendar.ics").read_bytes()
    for kind in ("text/plain", "application/json", "multipart/form-data; boundary=x"):
        response = await api.client.post(
            "/api/import/ics", content=body, headers={**api.auth, "Content-Type": kind}
        )
        assert response.status_code == 415, kind
    assert await api.db.blocks() == []


async def test_unknown_zones_and_never_matching_rules_are_skipped_with_the_reason(api):
    body = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:mars@test\r
DTSTART;TZID=Mars/Olympus_Mons:20260401T100000\r
DTEND;TZID=Mars/Olympus_Mons:20260401T110000\r
SUMMARY:Rover time\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:never@test\r
DTSTART:20260401T100000Z\r
DTEND:20260401T110000Z\r
RRULE:FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4\r
SUMMARY:April 31st\r
END:VEVENT\r
END:VCALENDAR\r
"""
    result = (await upload(api, body)).json()
    assert result["created"] == 0
    reasons = {s["summary"]: s["reason"] for s in result["skipped"]}
    assert reasons == {
        "Rover time": "unknown time zone 'Mars/Olympus_Mons'",
        "April 31st": "its repeat rule never matches a date within five years",
    }
    assert await api.db.blocks() == []


def test_the_command_line_import_reaches_a_running_scheduler(tmp_path, data_dir):
    """`notifier import` writes the blocks and asks the scheduler to recompute reminders."""
    env = {**os.environ, "NOTIFIER_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-m", "notifier", "import", str(DATA / "apple_calendar.ics")]
    dry = subprocess.run([*cmd, "--dry-run"], env=env, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "3 new" in dry.stdout and "would be" in dry.stdout and "Leap day review" in dry.stdout
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "3 new" in done.stdout and "were imported" in done.stdout

    import asyncio

    from notifier.db import Database

    async def check() -> None:
        db = await Database.open(data_dir / "notifier.sqlite3")
        try:
            assert len(await db.blocks()) == 3
            assert await db.get_state("resync_from") is not None
        finally:
            await db.close()

    asyncio.run(check())

    # A running scheduler picks up an import made from the command line at its next pass.
    from conftest import running_api
    from fakeclock import FakeClock

    from notifier.config import load_config

    other = tmp_path / "running"
    env2 = {**os.environ, "NOTIFIER_DATA_DIR": str(other)}

    async def scheduler_resyncs() -> None:
        clock = FakeClock(datetime(2026, 3, 2, 12, tzinfo=UTC))
        async with running_api(
            load_config({"data_dir": str(other)}), clock=clock, run_scheduler=False
        ) as api:
            await api.put("/api/settings", json={"timezone": TZ})
            await api.app.state.scheduler.tick()  # the outbox is filled 36 hours ahead
            proc = await asyncio.create_subprocess_exec(*cmd, env=env2)
            assert await proc.wait() == 0
            keys = lambda: api.get("/api/reminders", params={"limit": 50})  # noqa: E731
            assert (await keys()).json() == []  # written by another process: not seen yet
            clock.advance(seconds=30)
            await api.app.state.scheduler.tick()
            assert await api.db.get_state("resync_from") is None
            # Exam prep (New York), Monday 2 March 14:00 EST = 19:00 UTC.
            assert "b1:20260302T190000Z:0" in [r["key"] for r in (await keys()).json()]

    asyncio.run(scheduler_resyncs())
    missing = subprocess.run(
        [sys.executable, "-m", "notifier", "import", str(tmp_path / "nope.ics")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and "Cannot read" in missing.stderr


async def test_an_import_past_the_block_cap_is_refused_whole(api, monkeypatch):
    from notifier.plan import blocks

    monkeypatch.setattr(blocks, "MAX_BLOCKS", 2)
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:cap-{i}@example\r\nDTSTART:2026120{i + 1}T090000Z\r\n"
        f"DTEND:2026120{i + 1}T100000Z\r\nSUMMARY:Lecture {i}\r\nEND:VEVENT\r\n"
        for i in range(3)
    )
    body = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{events}END:VCALENDAR\r\n"
    response = await upload(api, body.encode())
    assert response.status_code == 409 and response.json()["error"] == "too_many_blocks"
    assert await api.db.blocks() == []  # all or nothing
