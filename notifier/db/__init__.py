"""Storage: every SQL statement of the app lives in this package."""

from .blocks import BlockQueries
from .core import CoreDB
from .idempotency import IdempotencyQueries
from .pairing import PairingQueries
from .reminders import ReminderQueries
from .settings import SettingsQueries
from .subscriptions import SubscriptionQueries
from .tokens import TokenQueries


class Database(
    TokenQueries,
    SubscriptionQueries,
    SettingsQueries,
    IdempotencyQueries,
    BlockQueries,
    ReminderQueries,
    PairingQueries,
    CoreDB,
):
    """The app's database: one connection, all queries."""


__all__ = ["Database"]
