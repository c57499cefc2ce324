"""Health and the app's bootstrap info."""

from __future__ import annotations

from litestar import get

from .. import __version__


@get("/healthz", opt={"public": True}, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """Liveness: the server answers and knows its version."""
    return {"status": "ok", "version": __version__}
