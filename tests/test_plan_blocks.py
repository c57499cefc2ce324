"""Block validation speaks plain words: a bad repeat rule says what is wrong, not the grammar."""

from __future__ import annotations

import pytest

from notifier.errors import BadRequest
from notifier.plan.blocks import validate_block

BAD_RULES = [
    "FREQ=HOURLY",
    "FREQ=WEEKLY;COUNT=3;UNTIL=20270101",
    "FREQ=WEEKLY;BYMONTHDAY=3",
    "FREQ=WEEKLY;BYSETPOS=1;BYDAY=MO",
    "FREQ=WEEKLY;BYDAY=XX",
    "FREQ=WEEKLY;BYDAY=1MO",
    "FREQ=MONTHLY;BYDAY=6MO",
    "FREQ=DAILY;UNTIL=tomorrow",
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=DAILY;FOO=1",
    "FREQ=DAILY;BYHOUR=9",
    "DTSTART:20260101T090000\nRRULE:FREQ=DAILY",
    "every monday",
]


@pytest.mark.parametrize("rule", BAD_RULES)
def test_bad_repeat_rules_are_explained_without_the_rfc(rule: str) -> None:
    body = {"title": "Maths", "start": "2026-11-23T18:00", "duration_minutes": 30, "rrule": rule}
    with pytest.raises(BadRequest) as caught:
        validate_block(body, partial=False, default_tz="Europe/Berlin")
    detail = caught.value.detail
    assert detail.startswith("rrule: ")
    assert "RFC" not in detail and "§" not in detail and "BY part" not in detail
    assert len(detail) < 200


async def test_a_rule_that_never_matches_gives_an_example(api) -> None:
    body = {
        "title": "Leap",
        "start": "2026-11-23T18:00",
        "duration_minutes": 30,
        "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    }
    response = await api.post("/api/blocks", json=body)
    assert response.status_code == 400
    assert "30th of February" in response.json()["detail"]
