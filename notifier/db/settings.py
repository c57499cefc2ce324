"""SQL for the user's preferences (one JSON value per name)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from notifier.db.core import CoreDB
from notifier.db.records import JSON


class SettingsQueries(CoreDB):
    """The settings table."""

    async def load_settings(self) -> dict[str, JSON]:
        rows = await self._fetchall("SELECT name, value FROM settings")
        return {row["name"]: json.loads(row["value"]) for row in rows}

    async def save_settings(self, values: Mapping[str, JSON]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(
                "INSERT INTO settings (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                [(name, json.dumps(value)) for name, value in values.items()],
            )
