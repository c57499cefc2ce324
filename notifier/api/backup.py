"""`GET /api/backup`: the same archive `notifier backup` writes, as a download."""

from __future__ import annotations

import asyncio

from litestar import Response, get
from litestar.datastructures import State

from notifier.db.backup import backup_bytes, default_name


@get("/api/backup", tags=["backup"])
async def download_backup(state: State) -> Response[bytes]:
    """A backup .zip of the database and key files (keep it private: it holds the keys)."""
    now = state.clock.now()
    data = await asyncio.to_thread(backup_bytes, state.config.data_dir, now)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{default_name(now)}"'},
    )
