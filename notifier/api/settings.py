"""The settings screen's data."""

from __future__ import annotations

from dataclasses import fields
from typing import Literal

import msgspec
from litestar import get, put
from litestar.params import JSONBody

from notifier.access.pairing import Pairing
from notifier.api.injected import Injected
from notifier.config import Config
from notifier.db import Database
from notifier.edge.gate import SecurityPolicy
from notifier.errors import ConfigError, Conflict
from notifier.host.lan import LanListener
from notifier.plan import prefs as prefs_mod
from notifier.plan.blocks import effective_timezone
from notifier.push.vapid import subject_problem
from notifier.schedule.planner import Planner
from notifier.texts import api_key as llm_key
from notifier.texts.writer import Composing

# Not a pref: a secret file in the data dir (llm_key.py), shown masked only.
KEY_FIELD = "anthropic_api_key"

Unset = msgspec.UnsetType
UNSET = msgspec.UNSET
Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


class QuietHours(msgspec.Struct, forbid_unknown_fields=True):
    """No reminders from `start` to `end` (local HH:MM); held until then, or dropped."""

    start: str
    end: str
    mode: Literal["hold", "drop"] | Unset = UNSET  # hold when left out
    days: list[Weekday] | Unset | None = UNSET  # the nights they start on; every night if none


class PrefsOut(msgspec.Struct, forbid_unknown_fields=True):
    """The person's settings (`timezone` "" means this computer's zone)."""

    timezone: str
    default_offsets: list[int]  # minutes before a block; 0 = at its start
    reminders_enabled: bool
    summary_enabled: bool
    summary_time: str  # HH:MM
    late_grace_minutes: int
    snooze_minutes: int
    persona: str
    llm_enabled: bool
    llm_model: str
    llm_daily_cap: int
    vapid_subject: str  # the contact push services may write to (mailto: or https:)
    quiet_hours: QuietHours | None
    end_of_block_check: bool  # "How did it go?" at a block's end
    lan_https: bool  # serve HTTPS on the home network
    public_url: str  # a tunnel's https address


class SettingsOut(PrefsOut):
    """The settings, and what the screen shows beside them."""

    timezone_effective: str
    llm_key: str | None  # masked, never the key
    llm_key_source: Literal["env", "file"] | None
    lan_https_source: Literal["env", "app"]
    lan_https_running: bool
    lan_https_error: str | None
    public_url_source: Literal["env", "app"] | None
    public_url_effective: str | None
    phone_origin: str | None  # where phones reach this computer, if anywhere
    warnings: list[str]


class SettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Any subset of the settings; `anthropic_api_key` is saved 0600 (null or "" removes it)."""

    timezone: str | Unset = UNSET
    default_offsets: list[int] | Unset = UNSET
    reminders_enabled: bool | Unset = UNSET
    summary_enabled: bool | Unset = UNSET
    summary_time: str | Unset = UNSET
    late_grace_minutes: int | Unset = UNSET
    snooze_minutes: int | Unset = UNSET
    persona: str | Unset = UNSET
    llm_enabled: bool | Unset = UNSET
    llm_model: str | Unset = UNSET
    llm_daily_cap: int | Unset = UNSET
    vapid_subject: str | Unset = UNSET
    quiet_hours: QuietHours | Unset | None = UNSET
    end_of_block_check: bool | Unset = UNSET
    lan_https: bool | Unset = UNSET
    public_url: str | Unset = UNSET
    anthropic_api_key: str | Unset | None = UNSET


# The bodies follow the settings (plan/prefs.py): one field each, the key besides.
assert PrefsOut.__struct_fields__ == tuple(f.name for f in fields(prefs_mod.Prefs))
assert SettingsPatch.__struct_fields__ == (*PrefsOut.__struct_fields__, KEY_FIELD)


def prefs_out(prefs: prefs_mod.Prefs) -> PrefsOut:
    return msgspec.convert(prefs.as_json(), PrefsOut)


def settings_out(
    prefs: prefs_mod.Prefs,
    config: Config,
    pairing: Pairing,
    lan: LanListener | None,
) -> SettingsOut:
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
    data["lan_https_source"] = "env" if config.https else "app"
    data["lan_https_running"] = bool(lan is not None and lan.running)
    data["lan_https_error"] = lan.error if lan is not None else None
    data["public_url_source"] = (
        "env" if config.public_url else ("app" if prefs.public_url else None)
    )
    data["public_url_effective"] = pairing.public_url
    data["phone_origin"] = pairing.phone_origin()
    data["warnings"] = [w for w in warnings if w]
    return msgspec.convert(data, SettingsOut)


def apply_network(
    config: Config,
    pairing: Pairing,
    security: SecurityPolicy,
    prefs: prefs_mod.Prefs,
) -> None:
    """Make the public URL and LAN HTTPS choices count: for pairing links and the request gate."""
    pairing.public_url = config.public_url or prefs.public_url or None
    security.adopt(
        SecurityPolicy.from_config(config, lan_https=prefs.lan_https, public_url=pairing.public_url)
    )


async def _switch_lan_https(config: Config, lan: LanListener | None, on: bool) -> None:
    """Start or stop the LAN HTTPS listener now; a failure changes nothing."""
    if config.https and not on:
        raise Conflict(
            "lan_https: HTTPS on the LAN was turned on with NOTIFIER_HTTPS or --https; "
            "turn it off there"
        )
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


def _store_key(config: Config, key: str | None) -> None:
    """Save the key the user typed, or forget the saved one (null or "")."""
    if config.anthropic_api_key:
        raise Conflict(
            f"{KEY_FIELD}: the key comes from the ANTHROPIC_API_KEY environment variable; change it there"
        )
    if key and key.strip():
        llm_key.save_key(config.data_dir, key)
    else:
        llm_key.clear_key(config.data_dir)


@get("/api/settings", tags=["settings"])
async def get_settings(
    db: Injected[Database],
    config: Injected[Config],
    pairing: Injected[Pairing],
    lan: Injected[LanListener | None],
) -> SettingsOut:
    return settings_out(await prefs_mod.load(db), config, pairing, lan)


@put("/api/settings", tags=["settings"])
async def put_settings(
    data: JSONBody[SettingsPatch],
    config: Injected[Config],
    planner: Injected[Planner],
    composing: Injected[Composing],
    pairing: Injected[Pairing],
    security: Injected[SecurityPolicy],
    lan: Injected[LanListener | None],
) -> SettingsOut:
    """Change any subset of the settings; 400 names the first bad field.

    `anthropic_api_key` (text to save, null or "" to remove) is stored 0600 and never returned.
    """
    sent = msgspec.to_builtins(data)
    patch = {k: v for k, v in sent.items() if k != KEY_FIELD}
    clean = prefs_mod.validate_patch(patch)  # a bad field changes nothing, the key included
    if "public_url" in clean and config.public_url:
        raise Conflict(
            "public_url: the address comes from the NOTIFIER_PUBLIC_URL environment variable; "
            "change it there"
        )
    if KEY_FIELD in sent:
        _store_key(config, sent[KEY_FIELD])
    if "lan_https" in clean:
        await _switch_lan_https(config, lan, clean["lan_https"])
    prefs = await planner.update_prefs(patch)  # reminders follow a scheduling change
    apply_network(config, pairing, security, prefs)
    await composing.refresh()  # a new key, model, cap, on/off or persona: a new composer
    return settings_out(prefs, config, pairing, lan)
