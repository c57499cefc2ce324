"""HTTP routes, thin: validation here, logic in the plain modules."""

from .blocks import BlocksController
from .messages import preview_message
from .pairing import ROUTES as PAIRING_ROUTES
from .push import PushController
from .reminders import list_reminders, notification_action
from .settings import get_settings, put_settings
from .system import bootstrap, healthz

ROUTES = [
    healthz,
    bootstrap,
    PushController,
    BlocksController,
    get_settings,
    put_settings,
    list_reminders,
    notification_action,
    preview_message,
    *PAIRING_ROUTES,
]
