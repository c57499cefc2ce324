"""Health and the app's bootstrap info."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.datastructures import State

from notifier import __version__
from notifier.plan import prefs as prefs_mod
from notifier.plan.blocks import effective_timezone


@get("/healthz", opt={"public": True}, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """Liveness: the server answers and knows its version."""
    return {"status": "ok", "version": __version__}


@get("/api/bootstrap", tags=["app"])
async def bootstrap(state: State) -> dict[str, Any]:
    """Everything the app needs at start, in one request."""
    prefs = await prefs_mod.load(state.db)
    return {
        "version": __version__,
        "vapid_public_key": state.vapid.public_key_b64,
        "public_url": state.config.public_url,
        "timezone": effective_timezone(prefs),
        "vapid_subject_set": bool(prefs.vapid_subject),
    }
