"""GET /api/stats: planned versus done per day and per title, and the streak, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fakeclock import FakeClock

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin


@pytest.fixture
async def api(make_api):
    async with make_api(clock=FakeClock(T0), run_scheduler=False) as api:
        await api.put("/api/settings", json={"timezone": "Europe/Berlin"})
        yield api


async def block(api, **body) -> dict:
    response = await api.post("/api/blocks", json={"duration_minutes": 60, **body})
    assert response.status_code == 201, response.text
    return response.json()


async def mark(api, block_id: int, key: str, status: str) -> None:
    response = await api.post(f"/api/blocks/{block_id}/occurrences/{key}", json={"status": status})
    assert response.status_code == 200, response.text


async def test_planned_done_per_day_and_title_and_the_streak(api) -> None:
    maths = await block(api, title="Maths", start="2026-11-17T10:00", repeat={"every": "day"})
    chem = await block(api, title="Chemistry", start="2026-11-21T15:00", duration_minutes=45)
    for day in ("18", "20", "21", "22"):
        await mark(api, maths["id"], f"202611{day}T090000Z", "done")
    await mark(api, maths["id"], "20261119T090000Z", "skipped")
    await mark(api, chem["id"], "20261121T140000Z", "done")
    # a cancelled session counts nowhere
    cancel = {"status": "cancelled"}
    path = f"/api/blocks/{maths['id']}/occurrences/20261117T090000Z"
    assert (await api.patch(path, json=cancel)).status_code == 200

    response = await api.get("/api/stats", params={"from": "2026-11-17", "to": "2026-11-23"})
    assert response.status_code == 200, response.text
    got = response.json()
    assert (
        got["from"] == "2026-11-17"
        and got["to"] == "2026-11-23"
        and got["timezone"] == "Europe/Berlin"
    )
    per_day = {
        d["date"]: (d["planned_minutes"], d["done_minutes"], d["skipped_minutes"])
        for d in got["days"]
    }
    assert per_day == {
        "2026-11-17": (0, 0, 0),
        "2026-11-18": (60, 60, 0),
        "2026-11-19": (0, 0, 60),
        "2026-11-20": (60, 60, 0),
        "2026-11-21": (105, 105, 0),
        "2026-11-22": (60, 60, 0),
        "2026-11-23": (60, 0, 0),  # today, not done yet
    }
    assert got["titles"] == [
        {
            "title": "Maths",
            "planned_minutes": 300,
            "done_minutes": 240,
            "skipped_minutes": 60,
            "sessions": 5,
            "done_sessions": 4,
        },
        {
            "title": "Chemistry",
            "planned_minutes": 45,
            "done_minutes": 45,
            "skipped_minutes": 0,
            "sessions": 1,
            "done_sessions": 1,
        },
    ]
    assert got["totals"]["planned_minutes"] == 345 and got["totals"]["done_minutes"] == 285
    # 20, 21, 22 all done; today is not over, so it does not break the streak; the 19th was skipped
    assert got["streak"] == 3
    await mark(api, maths["id"], "20261123T090000Z", "done")
    assert (await api.get("/api/stats")).json()["streak"] == 4


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"from": "23.11.2026"}, "from: must be a date like 2026-11-23"),
        ({"from": "2026-11-23", "to": "2026-11-22"}, "to: must not be before from"),
        ({"from": "2025-01-01", "to": "2026-11-22"}, "to: the range may span at most 366 days"),
    ],
)
async def test_bad_ranges_are_400(api, params, detail) -> None:
    response = await api.get("/api/stats", params=params)
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "detail": detail}


async def test_stats_need_a_token(api) -> None:
    assert (await api.client.get("/api/stats")).status_code == 401


async def test_the_answer_is_a_typed_schema_in_openapi(api) -> None:
    doc = (await api.get("/schema/openapi.json")).json()
    schema = doc["paths"]["/api/stats"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    fields = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]["properties"]
    assert {"from", "to", "days", "titles", "totals", "streak"} <= set(fields)
