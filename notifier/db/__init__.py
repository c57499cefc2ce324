"""Storage: every SQL statement of the app lives in this package; it hands out records."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from notifier.config import Config
from notifier.db.actions import ActionUseQueries
from notifier.db.agenda import AgendaItemQueries
from notifier.db.blocks import BlockQueries
from notifier.db.core import CoreDB
from notifier.db.idempotency import IdempotencyQueries
from notifier.db.pairing import PairingQueries
from notifier.db.reminders import ReminderQueries
from notifier.db.settings import SettingsQueries
from notifier.db.subscriptions import SubscriptionQueries
from notifier.db.tokens import TokenQueries
from notifier.secretfiles import ensure_private_dir


class Database(
    TokenQueries,
    SubscriptionQueries,
    SettingsQueries,
    IdempotencyQueries,
    BlockQueries,
    AgendaItemQueries,
    ReminderQueries,
    PairingQueries,
    ActionUseQueries,
    CoreDB,
):
    """The app's database: one connection, all queries."""


@asynccontextmanager
async def opened(config: Config) -> AsyncIterator[Database]:
    """The database in `config`'s data dir (created private if new), closed after use."""
    ensure_private_dir(config.data_dir)
    db = await Database.open(config.db_path)
    try:
        yield db
    finally:
        await db.close()


__all__ = ["Database", "opened"]
