"""Health, the app's bootstrap info, and the service worker's shell (with the version)."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Response, get
from litestar.datastructures import CacheControlHeader

from notifier import __version__
from notifier.api.injected import Injected
from notifier.api.settings import PrefsOut, prefs_out
from notifier.config import Config
from notifier.db import Database
from notifier.host.web_shell import shell_script
from notifier.plan import prefs as prefs_mod
from notifier.plan.blocks import MAX_DURATION, MAX_NOTES, MAX_TITLE, effective_timezone
from notifier.plan.prefs import MAX_OFFSETS, Prefs
from notifier.plan.recurrence import MAX_OFFSET_MINUTES
from notifier.push.vapid import VapidKeys, subject_problem


class Health(msgspec.Struct):
    status: str
    version: str


class Limits(msgspec.Struct):
    """What the server accepts, so the app's forms can say so before sending."""

    block_title_max: int
    block_notes_max: int
    duration_minutes_max: int
    offset_minutes_max: int  # a reminder at most this many minutes before its block
    offsets_max: int  # reminder offsets per block or in the settings


class Bootstrap(msgspec.Struct):
    """Everything the app needs at start, in one request."""

    version: str  # the package's version, the only one the app shows
    vapid_public_key: str
    public_url: str | None
    timezone: str
    vapid_subject_set: bool
    settings_defaults: PrefsOut  # what each setting is until the person changes it
    limits: Limits


LIMITS = Limits(
    block_title_max=MAX_TITLE,
    block_notes_max=MAX_NOTES,
    duration_minutes_max=MAX_DURATION,
    offset_minutes_max=MAX_OFFSET_MINUTES,
    offsets_max=MAX_OFFSETS,
)


DEFAULTS = prefs_out(Prefs())


@get("/healthz", opt={"public": True}, sync_to_thread=False)
def healthz() -> Health:
    """Liveness: the server answers and knows its version."""
    return Health(status="ok", version=__version__)


@get("/api/bootstrap", tags=["app"])
async def bootstrap(
    db: Injected[Database], config: Injected[Config], vapid: Injected[VapidKeys]
) -> Bootstrap:
    """Everything the app needs at start, in one request."""
    prefs = await prefs_mod.load(db)
    return Bootstrap(
        version=__version__,
        vapid_public_key=vapid.public_key_b64,
        public_url=config.public_url,
        timezone=effective_timezone(prefs),
        vapid_subject_set=bool(prefs.vapid_subject),
        settings_defaults=DEFAULTS,
        limits=LIMITS,
    )


class Problem(msgspec.Struct):
    """Something that stops reminders from reaching a phone, and where to fix it."""

    code: Literal["no_contact", "bad_contact", "no_device", "deliveries_failing"]
    detail: str
    fix: Literal["settings", "pair", "devices"]  # the screen that fixes it


class Checklist(msgspec.Struct):
    """The first-run steps, each checked from the data itself."""

    contact_set: bool  # a contact push services accept
    timezone_confirmed: bool  # a time zone chosen in Settings, not just the computer's
    phone_paired: bool  # a paired phone can sign in
    push_delivered: bool  # a push service accepted a notification for a paired phone
    complete: bool


class StatusOut(msgspec.Struct):
    can_push: bool  # notifications can be sent now (a contact, and a device that takes them)
    problems: list[Problem]  # the banner: why not, most important first
    checklist: Checklist


@get("/api/status", tags=["app"])
async def push_status(db: Injected[Database]) -> StatusOut:
    """Whether reminders can reach a phone and why not, for the banner and the first-run checklist."""
    prefs = await prefs_mod.load(db)
    devices = await db.devices()
    subscriptions = await db.subscriptions()
    problems = []
    contact_problem = subject_problem(prefs.vapid_subject)
    if contact_problem:
        problems.append(
            Problem(
                code="bad_contact" if prefs.vapid_subject else "no_contact",
                detail=contact_problem,
                fix="settings",
            )
        )
    if not subscriptions:
        problems.append(
            Problem(
                code="no_device",
                detail="No device has notifications turned on: pair a phone and allow "
                "notifications there.",
                fix="pair",
            )
        )
    elif all(s.failure_count > 0 for s in subscriptions):
        problems.append(
            Problem(
                code="deliveries_failing",
                detail="The last notification failed on every device: "
                + (subscriptions[-1].last_error or "no answer from the push service"),
                fix="devices",
            )
        )
    phones = [d for d in devices if d.kind == "device"]
    checklist = Checklist(
        contact_set=contact_problem is None,
        timezone_confirmed=bool(prefs.timezone),
        phone_paired=bool(phones),
        push_delivered=any(d.last_delivery_at for d in phones),
        complete=False,
    )
    checklist.complete = all(
        (
            checklist.contact_set,
            checklist.timezone_confirmed,
            checklist.phone_paired,
            checklist.push_delivered,
        )
    )
    blocking = {"no_contact", "bad_contact", "no_device"}
    return StatusOut(
        can_push=not any(p.code in blocking for p in problems),
        problems=problems,
        checklist=checklist,
    )


@get(
    "/sw-shell.js",
    opt={"public": True},
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=CacheControlHeader(no_cache=True),
)
def sw_shell() -> Response[str]:
    """The service worker's precache list and cache name, made from web/ (public, like sw.js)."""
    return Response(shell_script(__version__), media_type="text/javascript; charset=utf-8")
