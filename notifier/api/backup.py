"""`GET /api/backup`: the same archive `notifier backup` writes, as a download."""

from __future__ import annotations

import asyncio

from litestar import Request, Response, get
from litestar.datastructures import State

from notifier.access.tokens import authenticated
from notifier.db.backup import backup_bytes, default_name
from notifier.errors import Forbidden

# A backup holds the server's keys (VAPID, action secret, CA, Anthropic key):
# only the computer's own browser (a login link) or a script token may take one,
# never a paired phone, so a lost phone cannot carry the keys away.
BACKUP_TOKEN_KINDS = frozenset({"browser", "cli"})


@get("/api/backup", tags=["backup"])
async def download_backup(request: Request, state: State) -> Response[bytes]:
    """A backup .zip of the database and key files (keep it private: it holds the keys)."""
    token = await authenticated(request.scope, state.db)  # type: ignore[arg-type]
    if token is None or token.kind not in BACKUP_TOKEN_KINDS:
        raise Forbidden(
            "Backups hold the server's keys: download one in the browser on the computer "
            "that runs Study Notifier, or run `notifier backup` there."
        )
    now = state.clock.now()
    data = await asyncio.to_thread(backup_bytes, state.config.data_dir, now)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{default_name(now)}"'},
    )
