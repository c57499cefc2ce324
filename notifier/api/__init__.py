"""HTTP routes, thin: validation here, logic in the plain modules."""

from litestar.types import ControllerRouterHandler

from notifier.api.backup import download_backup
from notifier.api.blocks import BlocksController
from notifier.api.calendar import ROUTES as CALENDAR_ROUTES
from notifier.api.messages import check_anthropic_key, preview_message
from notifier.api.pairing import ROUTES as PAIRING_ROUTES
from notifier.api.push import PushController
from notifier.api.reminders import list_reminders, notification_action
from notifier.api.settings import get_settings, put_settings
from notifier.api.stats import get_stats
from notifier.api.system import bootstrap, healthz, push_status, sw_shell

ROUTES: list[ControllerRouterHandler] = [
    healthz,
    bootstrap,
    push_status,
    sw_shell,
    PushController,
    BlocksController,
    get_settings,
    put_settings,
    list_reminders,
    notification_action,
    get_stats,
    preview_message,
    check_anthropic_key,
    *PAIRING_ROUTES,
    *CALENDAR_ROUTES,
    download_backup,
]
