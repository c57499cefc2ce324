"""`create_app(config)`: the Litestar app and the resources its lifespan holds."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack, asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from . import __version__
from .api import ROUTES
from .api.errors import handle_error
from .auth import require_token
from .config import Config
from .db import Database
from .paths import web_root
from .push import PushSender
from .secretfiles import ensure_private_dir
from .vapid import VapidKeys

log = logging.getLogger(__name__)

ReadyHook = Callable[[Litestar], Awaitable[None]]


def create_app(
    config: Config,
    *,
    on_ready: ReadyHook | None = None,
    sender_options: dict | None = None,
) -> Litestar:
    """Build the app; resources are opened by its lifespan, not here."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        ensure_private_dir(config.data_dir)
        async with AsyncExitStack() as stack:
            db = await Database.open(config.db_path)
            stack.push_async_callback(db.close)
            vapid = VapidKeys.load_or_create(config.data_dir)
            sender = await stack.enter_async_context(
                PushSender(vapid, extra_hosts=config.push_extra_hosts, **(sender_options or {}))
            )
            app.state.update(config=config, db=db, vapid=vapid, sender=sender)
            if on_ready is not None:
                await on_ready(app)
            log.info("Study Notifier %s ready at %s", __version__, config.local_url)
            yield
            log.info("shutting down")

    static = create_static_files_router(
        path="/",
        directories=[web_root()],
        html_mode=True,
        opt={"public": True},
        name="web",
    )
    return Litestar(
        route_handlers=[*ROUTES, static],
        lifespan=[lifespan],
        guards=[require_token],
        exception_handlers={Exception: handle_error},
        openapi_config=OpenAPIConfig(title="Study Notifier", version=__version__, path="/schema"),
        logging_config=None,  # logs.py owns logging
        debug=False,
    )
