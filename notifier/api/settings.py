"""The settings screen's data."""

from __future__ import annotations

from typing import Any

from litestar import get, put
from litestar.datastructures import State
from litestar.params import JSONBody

from notifier.config import Config
from notifier.errors import BadRequest, ConfigError, Conflict
from notifier.plan import prefs as prefs_mod
from notifier.plan.blocks import effective_timezone
from notifier.push.vapid import subject_problem
from notifier.texts import api_key as llm_key

# Changing these changes which reminders exist.
SCHEDULING = {
    "timezone",
    "default_offsets",
    "reminders_enabled",
    "summary_enabled",
    "summary_time",
    "end_of_block_check",
}


# Not a pref: a secret file in the data dir (llm_key.py), shown masked only.
KEY_FIELD = "anthropic_api_key"


def settings_json(prefs: prefs_mod.Prefs, config: Config) -> dict[str, Any]:
    data = prefs.as_json()
    data["timezone_effective"] = effective_timezone(prefs)
    warnings = [subject_problem(prefs.vapid_subject)]
    try:
        key = llm_key.load_key(config)
    except ConfigError as exc:
        key = None
        warnings.append(exc.detail)
    data["llm_key"] = llm_key.masked(key) if key else None
    data["llm_key_source"] = llm_key.key_source(config)
    data["warnings"] = [w for w in warnings if w]
    return data


def _store_key(config: Config, key: Any) -> None:
    """Save the key the user typed, or forget the saved one (null or "")."""
    if key is not None and not isinstance(key, str):
        raise BadRequest(f"{KEY_FIELD}: must be text, or null to remove the saved key")
    if config.anthropic_api_key:
        raise Conflict(
            f"{KEY_FIELD}: the key comes from the ANTHROPIC_API_KEY environment variable; change it there"
        )
    if key and key.strip():
        llm_key.save_key(config.data_dir, key)
    else:
        llm_key.clear_key(config.data_dir)


@get("/api/settings", tags=["settings"])
async def get_settings(state: State) -> dict[str, Any]:
    return settings_json(await prefs_mod.load(state.db), state.config)


@put("/api/settings", tags=["settings"])
async def put_settings(state: State, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    """Change any subset of the settings; 400 names the first bad field.

    `anthropic_api_key` (text to save, null or "" to remove) is stored 0600 and never returned.
    """
    patch = {k: v for k, v in data.items() if k != KEY_FIELD}
    prefs_mod.validate_patch(patch)  # a bad field changes nothing, the key included
    if KEY_FIELD in data:
        _store_key(state.config, data[KEY_FIELD])
    prefs = await prefs_mod.update(state.db, patch)
    if SCHEDULING & set(patch):
        await state.scheduler.reschedule(state.clock.now())
    await state.composing.refresh()  # a new key, model, cap, on/off or persona: a new composer
    return settings_json(prefs, state.config)
