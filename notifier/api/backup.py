"""`GET /api/backup`: the same archive `notifier backup` writes, as a download."""

from __future__ import annotations

import asyncio

from litestar import Request, Response, get

from notifier.access.tokens import authenticated
from notifier.api.injected import Injected
from notifier.clock import Clock
from notifier.config import Config
from notifier.db import Database
from notifier.db.backup import backup_bytes, default_name
from notifier.errors import Forbidden

# A backup holds the server's keys (VAPID, action secret, CA, Anthropic key):
# only the computer's own browser (a login link) or a script token may take one,
# never a paired phone, so a lost phone cannot carry the keys away.
BACKUP_TOKEN_KINDS = frozenset({"browser", "cli"})


@get(
    "/api/backup",
    tags=["backup"],
    media_type="application/zip",
    response_description="A .zip of the database and the key files",
)
async def download_backup(
    request: Request,
    db: Injected[Database],
    config: Injected[Config],
    clock: Injected[Clock],
) -> Response[bytes]:
    """A backup .zip of the database and key files (keep it private: it holds the keys)."""
    token = await authenticated(request.scope, db)  # type: ignore[arg-type]
    if token is None or token.kind not in BACKUP_TOKEN_KINDS:
        raise Forbidden(
            "Backups hold the server's keys: download one in the browser on the computer "
            "that runs Study Notifier, or run `notifier backup` there."
        )
    now = clock.now()
    data = await asyncio.to_thread(backup_bytes, config.data_dir, now)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{default_name(now)}"'},
    )
