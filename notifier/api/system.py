"""Health, the app's bootstrap info, and the version for the service worker."""

from __future__ import annotations

import json

import msgspec
from litestar import Response, get
from litestar.datastructures import State

from notifier import __version__
from notifier.plan import prefs as prefs_mod
from notifier.plan.blocks import MAX_DURATION, MAX_NOTES, MAX_TITLE, effective_timezone
from notifier.plan.prefs import MAX_OFFSETS, Prefs
from notifier.plan.recurrence import MAX_OFFSET_MINUTES


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
    settings_defaults: Prefs  # what each setting is until the person changes it
    limits: Limits


LIMITS = Limits(
    block_title_max=MAX_TITLE,
    block_notes_max=MAX_NOTES,
    duration_minutes_max=MAX_DURATION,
    offset_minutes_max=MAX_OFFSET_MINUTES,
    offsets_max=MAX_OFFSETS,
)


@get("/healthz", opt={"public": True}, sync_to_thread=False)
def healthz() -> Health:
    """Liveness: the server answers and knows its version."""
    return Health(status="ok", version=__version__)


@get("/api/bootstrap", tags=["app"])
async def bootstrap(state: State) -> Bootstrap:
    """Everything the app needs at start, in one request."""
    prefs = await prefs_mod.load(state.db)
    return Bootstrap(
        version=__version__,
        vapid_public_key=state.vapid.public_key_b64,
        public_url=state.config.public_url,
        timezone=effective_timezone(prefs),
        vapid_subject_set=bool(prefs.vapid_subject),
        settings_defaults=Prefs(),
        limits=LIMITS,
    )


# `importScripts("/version.js")` in the service worker (and a <script> in a page):
# the cache name follows the package's version, and the browser sees a new service
# worker whenever the version changes. Public, like /healthz, which says the same.
VERSION_JS = f"self.NOTIFIER_VERSION = {json.dumps(__version__)};\n"


@get(
    "/version.js",
    opt={"public": True},
    sync_to_thread=False,
    media_type="text/javascript",
    include_in_schema=False,
)
def version_js() -> Response[str]:
    """The package's version as a script the service worker can import."""
    return Response(VERSION_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
