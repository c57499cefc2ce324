"""Bootstrap and version: one source for the settings defaults, the limits and the version."""

from __future__ import annotations

import json

from notifier import __version__
from notifier.plan.prefs import Prefs


async def test_bootstrap_hands_out_the_settings_defaults_and_limits(api) -> None:
    data = (await api.get("/api/bootstrap")).json()
    assert data["version"] == __version__
    defaults = data["settings_defaults"]
    assert defaults == json.loads(json.dumps(Prefs().as_json()))
    assert defaults["default_offsets"] == [0, 15] and defaults["snooze_minutes"] == 10
    # What the server accepts: the same numbers its validation uses.
    limits = data["limits"]
    assert limits["offset_minutes_max"] == 1440 and limits["duration_minutes_max"] == 1440
    too_long = {"default_offsets": [limits["offset_minutes_max"] + 1]}
    assert (await api.put("/api/settings", json=too_long)).status_code == 400
    block = {
        "title": "x" * limits["block_title_max"],
        "start": "2030-01-07T09:00",
        "duration_minutes": limits["duration_minutes_max"],
    }
    assert (await api.post("/api/blocks", json=block)).status_code == 201
    block["title"] += "x"
    assert (await api.post("/api/blocks", json=block)).status_code == 400


async def test_bootstrap_defaults_do_not_follow_the_persons_settings(api) -> None:
    await api.put("/api/settings", json={"snooze_minutes": 25})
    data = (await api.get("/api/bootstrap")).json()
    assert data["settings_defaults"]["snooze_minutes"] == 10


async def test_the_bootstrap_schema_is_typed(api) -> None:
    doc = (await api.get("/schema/openapi.json")).json()
    response = doc["paths"]["/api/bootstrap"]["get"]["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = doc["components"]["schemas"][ref]
    assert {"version", "settings_defaults", "limits"} <= set(schema["properties"])
    defaults = schema["properties"]["settings_defaults"]
    defaults_ref = defaults.get("$ref", "").rsplit("/", 1)[-1]
    fields = doc["components"]["schemas"][defaults_ref]["properties"]
    assert {"snooze_minutes", "default_offsets", "summary_time"} <= set(fields)
