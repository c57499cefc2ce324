"""The settings screen's data."""

from __future__ import annotations

from typing import Any

from litestar import get, put
from litestar.datastructures import State
from litestar.params import JSONBody

from .. import prefs as prefs_mod
from ..blocks import effective_timezone

from ..vapid import subject_problem

# Changing these changes which reminders exist.
SCHEDULING = {"timezone", "default_offsets", "reminders_enabled", "summary_enabled", "summary_time"}


def settings_json(prefs: prefs_mod.Prefs) -> dict[str, Any]:
    data = prefs.as_json()
    data["timezone_effective"] = effective_timezone(prefs)
    data["warnings"] = [w for w in (subject_problem(prefs.vapid_subject),) if w]
    return data


@get("/api/settings", tags=["settings"])
async def get_settings(state: State) -> dict[str, Any]:
    return settings_json(await prefs_mod.load(state.db))


@put("/api/settings", tags=["settings"])
async def put_settings(state: State, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    """Change any subset of the settings; 400 names the first bad field."""
    prefs = await prefs_mod.update(state.db, data)
    if SCHEDULING & set(data):
        await state.scheduler.reschedule(state.clock.now())
    return settings_json(prefs)
