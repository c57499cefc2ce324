"""A body of the wrong shape is refused by its schema, in the API's usual words (`field: why`)."""

from __future__ import annotations

import pytest

BLOCK = {"title": "Chemistry", "start": "2026-12-01T10:00", "duration_minutes": 30}


@pytest.mark.parametrize(
    ("method", "path", "body", "detail"),
    [
        (
            "put",
            "/api/settings",
            {"reminders_enabled": "yes"},
            "reminders_enabled: must be true or false",
        ),
        ("put", "/api/settings", {"nope": 1}, "nope: unknown field"),
        (
            "put",
            "/api/settings",
            {"quiet_hours": {"start": "23:00"}},
            "quiet_hours.end: is required",
        ),
        (
            "put",
            "/api/settings",
            {"quiet_hours": {"start": "23:00", "end": "07:00", "days": ["XX"]}},
            "quiet_hours.days[0]: 'XX' is not one of the values this field takes",
        ),
        (
            "post",
            "/api/blocks",
            {"title": "x", "start": "2026-12-01T10:00"},
            "duration_minutes: is required",
        ),
        ("post", "/api/blocks", {**BLOCK, "title": 5}, "title: must be text"),
        (
            "post",
            "/api/blocks",
            {**BLOCK, "reminder_offsets": "15"},
            "reminder_offsets: must be a list or null",
        ),
        ("post", "/api/blocks", {**BLOCK, "foo": 1}, "foo: unknown field"),
        ("post", "/api/blocks", [1], "must be a JSON object"),
        # Exact JSON types: nothing is coerced ("30" is not 30, "true" is not true).
        (
            "post",
            "/api/blocks",
            {**BLOCK, "duration_minutes": "30"},
            "duration_minutes: must be a whole number",
        ),
        ("post", "/api/blocks", {**BLOCK, "reminders": "true"}, "reminders: must be true or false"),
        (
            "post",
            "/api/blocks",
            {**BLOCK, "repeat": {"every": "week", "days": ["MO"], "interval": "2"}},
            "repeat.interval: must be a whole number or null",
        ),
        ("put", "/api/settings", {"snooze_minutes": "5"}, "snooze_minutes: must be a whole number"),
        (
            "put",
            "/api/settings",
            {"default_offsets": ["15"]},
            "default_offsets[0]: must be a whole number",
        ),
    ],
)
async def test_a_body_of_the_wrong_shape_says_which_field_and_why(
    api, method: str, path: str, body: object, detail: str
) -> None:
    response = await getattr(api, method)(path, json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "detail": detail}
    assert (await api.get("/api/blocks")).json() == []  # nothing was written


async def test_null_is_still_taken_where_it_always_was(api) -> None:
    """Typing the bodies kept what they accepted: null clears these fields."""
    quiet = {"start": "23:00", "end": "07:00", "days": None}
    response = await api.put("/api/settings", json={"quiet_hours": quiet})
    assert response.status_code == 200, response.text
    assert response.json()["quiet_hours"] == {"start": "23:00", "end": "07:00", "mode": "hold"}
    nulls = {"notes": None, "repeat": None, "reminder_offsets": None}
    response = await api.post("/api/blocks", json={**BLOCK, **nulls})
    assert response.status_code == 201, response.text
    assert response.json()["notes"] == "" and response.json()["reminder_offsets"] is None
