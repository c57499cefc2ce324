"""Storage: every SQL statement of the app lives in this package."""

from notifier.db.actions import ActionUseQueries
from notifier.db.blocks import BlockQueries
from notifier.db.core import CoreDB
from notifier.db.idempotency import IdempotencyQueries
from notifier.db.pairing import PairingQueries
from notifier.db.reminders import ReminderQueries
from notifier.db.settings import SettingsQueries
from notifier.db.subscriptions import SubscriptionQueries
from notifier.db.tokens import TokenQueries


class Database(
    TokenQueries,
    SubscriptionQueries,
    SettingsQueries,
    IdempotencyQueries,
    BlockQueries,
    ReminderQueries,
    PairingQueries,
    ActionUseQueries,
    CoreDB,
):
    """The app's database: one connection, all queries."""


__all__ = ["Database"]
