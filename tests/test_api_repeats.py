"""Blocks take a `repeat` object instead of RRULE text and show their rule in words."""

from __future__ import annotations

BODY = {"title": "Statistics", "start": "2026-11-24T18:00", "duration_minutes": 45}


async def test_a_block_made_with_a_repeat_stores_its_rule_and_shows_it_in_words(api) -> None:
    await api.put("/api/settings", json={"timezone": "Europe/Berlin"})
    repeat = {"every": "week", "interval": 2, "days": ["TH", "TU"], "until": "2026-12-19"}
    response = await api.post("/api/blocks", json={**BODY, "repeat": repeat})
    assert response.status_code == 201, response.text
    block = response.json()
    assert block["rrule"] == "FREQ=WEEKLY;INTERVAL=2;UNTIL=20261219;BYDAY=TU,TH"
    assert block["repeat"] == {
        "every": "week", "interval": 2, "days": ["TU", "TH"], "month_day": None,
        "nth": None, "weekday": None, "count": None, "until": "2026-12-19",
    }  # fmt: skip
    assert block["repeat_text"] == "Tue and Thu, every 2 weeks, until 19 Dec"
    agenda = await api.get(
        "/api/agenda", params={"from": "2026-11-23T00:00", "to": "2027-01-20T00:00"}
    )
    starts = [o["start"] for o in agenda.json()["occurrences"]]
    assert starts == [
        "2026-11-24T18:00",
        "2026-11-26T18:00",
        "2026-12-08T18:00",
        "2026-12-10T18:00",
    ]
    # every list of sessions shows the rule in words, as the block does
    assert {o["repeat_text"] for o in agenda.json()["occurrences"]} == {block["repeat_text"]}

    # PATCH: a monthly "2nd Tuesday", then back to a one-off
    path = f"/api/blocks/{block['id']}"
    changed = (
        await api.patch(path, json={"repeat": {"every": "month", "nth": 2, "weekday": "TU"}})
    ).json()
    assert changed["rrule"] == "FREQ=MONTHLY;BYDAY=2TU"
    assert changed["repeat_text"] == "Monthly on the 2nd Tuesday"
    december = {"from": "2026-12-01T00:00", "to": "2026-12-31T00:00"}
    item = (await api.get("/api/agenda", params=december)).json()["occurrences"][0]
    assert item["repeat_text"] == "Monthly on the 2nd Tuesday"
    marked = await api.post(f"{path}/occurrences/{item['key']}", json={"status": "done"})
    assert marked.json()["repeat_text"] == "Monthly on the 2nd Tuesday"
    once = (await api.patch(path, json={"repeat": None})).json()
    assert (
        once["rrule"] is None
        and once["repeat"] is None
        and once["repeat_text"] == "Does not repeat"
    )


async def test_raw_rules_still_work_and_say_whether_they_fit_the_picker(api) -> None:
    fits = (await api.post("/api/blocks", json={**BODY, "rrule": "FREQ=WEEKLY"})).json()
    assert fits["repeat"]["days"] == ["TU"] and fits["repeat_text"] == "Every Tuesday"
    custom = (
        await api.post("/api/blocks", json={**BODY, "rrule": "FREQ=MONTHLY;BYMONTHDAY=1,15"})
    ).json()
    assert custom["repeat"] is None and custom["repeat_text"] == "Repeats by a custom rule"


async def test_a_bad_repeat_is_a_400_that_names_the_problem(api) -> None:
    cases = [
        (
            {"repeat": {"every": "week", "days": []}},
            'repeat: a weekly repeat needs days, e.g. ["TU", "TH"]',
        ),
        (
            {"repeat": {"every": "day"}, "rrule": "FREQ=DAILY"},
            "repeat: send either repeat or rrule, not both",
        ),
        (
            {"repeat": {"every": "month", "month_day": 0}},
            "repeat: month_day must be 1 to 31, or -1 for the last day",
        ),
    ]
    for extra, detail in cases:
        response = await api.post("/api/blocks", json={**BODY, **extra})
        assert response.status_code == 400
        assert response.json() == {"error": "bad_request", "detail": detail}
    # a repeat that has ended before the block starts never happens
    ended = {"every": "day", "until": "2026-11-01"}
    response = await api.post("/api/blocks", json={**BODY, "repeat": ended})
    assert response.status_code == 400 and "never" in response.json()["detail"]
