"""The settings screen's data."""

from __future__ import annotations

from typing import Any

from litestar import get, put
from litestar.datastructures import State
from litestar.params import JSONBody

from notifier.config import Config
from notifier.edge.gate import SecurityPolicy
from notifier.errors import BadRequest, ConfigError, Conflict
from notifier.plan import prefs as prefs_mod
from notifier.plan.blocks import effective_timezone
from notifier.push.vapid import subject_problem
from notifier.texts import api_key as llm_key

# Not a pref: a secret file in the data dir (llm_key.py), shown masked only.
KEY_FIELD = "anthropic_api_key"


def settings_json(prefs: prefs_mod.Prefs, state: State) -> dict[str, Any]:
    config: Config = state.config
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
    # Where phones reach us: the environment wins over what was chosen in the app.
    lan = state.get("lan_https")
    data["lan_https_source"] = "env" if config.https else "app"
    data["lan_https_running"] = bool(lan is not None and lan.running)
    data["lan_https_error"] = lan.error if lan is not None else None
    data["public_url_source"] = (
        "env" if config.public_url else ("app" if prefs.public_url else None)
    )
    data["public_url_effective"] = state.pairing.public_url
    data["phone_origin"] = state.pairing.phone_origin()
    data["warnings"] = [w for w in warnings if w]
    return data


def apply_network(state: State, prefs: prefs_mod.Prefs) -> None:
    """Make the public URL and LAN HTTPS choices count: for pairing links and the request gate."""
    config: Config = state.config
    state.pairing.public_url = config.public_url or prefs.public_url or None
    state.security.adopt(
        SecurityPolicy.from_config(
            config, lan_https=prefs.lan_https, public_url=state.pairing.public_url
        )
    )


async def _switch_lan_https(state: State, on: bool) -> None:
    """Start or stop the LAN HTTPS listener now; a failure changes nothing."""
    config: Config = state.config
    if config.https and not on:
        raise Conflict(
            "lan_https: HTTPS on the LAN was turned on with NOTIFIER_HTTPS or --https; "
            "turn it off there"
        )
    lan = state.get("lan_https")
    if lan is None:
        if on:
            raise Conflict("lan_https: this server cannot serve HTTPS on the LAN")
        return
    if not on:
        await lan.stop()
        return
    try:
        await lan.start()
    except OSError:
        raise Conflict(
            f"lan_https: {lan.error}. Another program may be using that port; "
            "set NOTIFIER_HTTPS_PORT to a free one and restart.",
            code="lan_https_failed",
        ) from None


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
    return settings_json(await prefs_mod.load(state.db), state)


@put("/api/settings", tags=["settings"])
async def put_settings(state: State, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    """Change any subset of the settings; 400 names the first bad field.

    `anthropic_api_key` (text to save, null or "" to remove) is stored 0600 and never returned.
    """
    patch = {k: v for k, v in data.items() if k != KEY_FIELD}
    clean = prefs_mod.validate_patch(patch)  # a bad field changes nothing, the key included
    if "public_url" in clean and state.config.public_url:
        raise Conflict(
            "public_url: the address comes from the NOTIFIER_PUBLIC_URL environment variable; "
            "change it there"
        )
    if KEY_FIELD in data:
        _store_key(state.config, data[KEY_FIELD])
    if "lan_https" in clean:
        await _switch_lan_https(state, clean["lan_https"])
    prefs = await state.planner.update_prefs(patch)  # reminders follow a scheduling change
    apply_network(state, prefs)
    await state.composing.refresh()  # a new key, model, cap, on/off or persona: a new composer
    return settings_json(prefs, state)
