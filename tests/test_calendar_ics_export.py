"""The calendar feed: a private address, its .ics, and a round trip into a fresh data dir."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from conftest import running_api
from test_calendar_imports import ICS, agenda

from notifier.config import load_config

TZ = "Europe/Berlin"
FIRST = date(2026, 3, 1)


async def plan_a_term(api) -> None:
    """Series with moved, resized and cancelled sessions, a split, one-offs, another zone."""
    await api.put("/api/settings", json={"timezone": TZ})

    async def block(**body):
        response = await api.post("/api/blocks", json={"duration_minutes": 60, **body})
        assert response.status_code == 201, response.text
        return response.json()

    daily = await block(title="Vocabulary", start="2026-03-20T08:00", rrule="FREQ=DAILY;COUNT=90")
    weekly = await block(
        title="Linear algebra",
        start="2026-03-23T18:30",
        rrule="FREQ=WEEKLY;BYDAY=MO,TH",
        notes="Sheet 4",
    )
    await block(title="Exam", start="2026-07-14T09:00", duration_minutes=180)
    await block(
        title="NY call",
        start="2026-04-02T09:00",
        timezone="America/New_York",
        rrule="FREQ=WEEKLY;COUNT=6",
    )
    d, w = daily["id"], weekly["id"]
    changes = [
        (d, "20260328T070000Z", {"start": "2026-03-29T11:00"}),  # moved across the DST change
        (d, "20260401T060000Z", {"status": "cancelled"}),
        (d, "20260402T060000Z", {"duration_minutes": 25}),
        (w, "20260326T173000Z", {"start": "2026-03-27T07:15", "duration_minutes": 90}),
        (w, "20260406T163000Z", {"status": "cancelled"}),
    ]
    for block_id, key, body in changes:
        response = await api.patch(f"/api/blocks/{block_id}/occurrences/{key}", json=body)
        assert response.status_code == 200, response.text
    split = await api.post(
        f"/api/blocks/{w}/occurrences/20260504T163000Z/split", json={"start": "2026-05-04T19:00"}
    )
    assert split.status_code == 201, split.text


async def test_feed_round_trip_into_a_fresh_data_dir(api, tmp_path):
    await plan_a_term(api)
    feed = (await api.get("/api/calendar-feed")).json()
    assert feed == (await api.get("/api/calendar-feed")).json()  # made once
    assert feed["url"].startswith("http://127.0.0.1:8765/feed/") and feed["url"].endswith(".ics")
    assert feed["webcal_url"] == "webcal://" + feed["url"][len("http://") :]
    assert feed["reachable_from_other_devices"] is False and "LAN HTTPS" in feed["note"]
    path = feed["url"][len("http://127.0.0.1:8765") :]
    assert len(path) > 45  # /feed/ + 43 characters of secret + .ics
    served = await api.client.get(path)  # no token: public by its secret
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/calendar")
    body = served.content
    want = await agenda(api, FIRST)
    moved = [
        o
        for o in (
            await api.get(
                "/api/agenda", params={"from": "2026-03-29T00:00", "to": "2026-03-30T00:00"}
            )
        ).json()["occurrences"]
        if o["original_start"]
    ]
    assert [(o["title"], o["original_start"]) for o in moved] == [
        ("Vocabulary", "2026-03-28T08:00")
    ]

    # What a calendar app reads from it (an independent expander) is the app's agenda.
    zone = ZoneInfo(TZ)
    lo = datetime.combine(FIRST, datetime.min.time(), zone)
    hi = lo + timedelta(days=183)
    read = [
        (
            str(e["SUMMARY"]),
            e["DTSTART"].dt.astimezone(UTC),
            (e["DTSTART"].dt + e["DURATION"].dt).astimezone(UTC)
            if "DURATION" in e
            else e["DTEND"].dt.astimezone(UTC),
        )
        for e in recurring_ical_events.of(icalendar.Calendar.from_ical(body)).between(lo, hi)
        if lo <= e["DTSTART"].dt < hi
    ]
    assert Counter(read) == Counter(want)

    # Into a fresh data dir: the same agenda, moved and cancelled sessions included.
    config = load_config({"data_dir": str(tmp_path / "fresh")})
    async with running_api(config) as fresh:
        await fresh.put("/api/settings", json={"timezone": TZ})
        response = await fresh.client.post(
            "/api/import/ics", content=body, headers={**fresh.auth, **ICS}
        )
        assert response.status_code == 200, response.text
        assert response.json()["created"] == 5 and response.json()["skipped"] == []
        assert Counter(await agenda(fresh, FIRST)) == Counter(want)
        again = await fresh.get(
            "/api/agenda", params={"from": "2026-03-29T00:00", "to": "2026-03-30T00:00"}
        )
        assert [
            (o["title"], o["original_start"])
            for o in again.json()["occurrences"]
            if o["original_start"]
        ] == [("Vocabulary", "2026-03-28T08:00")]

    # The one-off download is the same calendar, behind the token.
    download = await api.get("/api/calendar.ics")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert (await api.client.get("/api/calendar.ics")).status_code == 401


async def test_rotating_the_feed_revokes_the_old_address(api):
    old = (await api.get("/api/calendar-feed")).json()["url"].split("8765", 1)[1]
    assert (await api.client.get(old)).status_code == 200
    new = (await api.post("/api/calendar-feed/rotate")).json()["url"].split("8765", 1)[1]
    assert new != old
    assert (await api.client.get(old)).status_code == 404
    assert (await api.client.get(new)).status_code == 200
    # one character off: never the one already there (the last of 32 random bytes in
    # base64url is one of 16 letters, "A" among them: a fixed "A" was the token itself 1 in 16)
    off_by_one = new[:-5] + ("B" if new[-5] != "B" else "C") + ".ics"
    for wrong in ("/feed/x.ics", new[:-4], off_by_one, new.replace(".ics", ".ICS")):
        response = await api.client.get(wrong)
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert (await api.client.post("/api/calendar-feed/rotate")).status_code == 401


async def test_no_feed_answers_before_one_is_made(api):
    assert (await api.client.get("/feed/" + "a" * 43 + ".ics")).status_code == 404
