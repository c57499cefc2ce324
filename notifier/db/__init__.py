"""Storage: every SQL statement of the app lives in this package."""

from .core import CoreDB
from .idempotency import IdempotencyQueries
from .settings import SettingsQueries
from .subscriptions import SubscriptionQueries
from .tokens import TokenQueries


class Database(TokenQueries, SubscriptionQueries, SettingsQueries, IdempotencyQueries, CoreDB):
    """The app's database: one connection, all queries."""


__all__ = ["Database"]
