"""`create_app(config)`: the Litestar app and the resources its lifespan holds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, cast

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import MissingDependencyException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp

from notifier import __version__
from notifier.access.action_tokens import ActionTokens
from notifier.access.pairing import Pairing
from notifier.access.tokens import require_token
from notifier.api import ROUTES
from notifier.api.errors import BAD_REQUEST, check_body_strictly, handle_error
from notifier.api.settings import apply_network
from notifier.api.web import web_files
from notifier.clock import Clock
from notifier.config import Config
from notifier.db import opened
from notifier.edge.bodies import DEFAULT_MAX_BODY, body_limits_middleware
from notifier.edge.gate import SecurityMiddleware, SecurityPolicy
from notifier.edge.idempotency import idempotency_middleware
from notifier.host.lan import LanListener
from notifier.plan import prefs as prefs_mod
from notifier.push.sender import PushSender
from notifier.push.vapid import VapidKeys
from notifier.schedule.planner import Planner
from notifier.schedule.scheduler import Scheduler
from notifier.secretfiles import ensure_private_dir
from notifier.texts.writer import Composing

log = logging.getLogger(__name__)

ReadyHook = Callable[[Litestar], Awaitable[None]]


def create_app(
    config: Config,
    *,
    on_ready: ReadyHook | None = None,
    sender_options: dict | None = None,
    clock: Clock | None = None,
    run_scheduler: bool = True,
    run_composer: bool | None = None,
    composer_options: dict | None = None,
) -> Litestar:
    """Build the app; resources are opened by its lifespan, not here.

    `run_composer` (default: as `run_scheduler`) runs the task that prepares
    Claude's texts ahead; `composer_options` go to each Composer (e.g. `timeout`).
    """
    if run_composer is None:
        run_composer = run_scheduler
    app_clock = clock or Clock()  # the one clock: handlers, guard, scheduler, writer, pairing

    async def start(app: Litestar, stack: AsyncExitStack) -> None:
        ensure_private_dir(config.data_dir)
        # Keys first: a key file with loose permissions stops the start before
        # the database is opened, let alone migrated.
        vapid = VapidKeys.load_or_create(config.data_dir)
        tokens = ActionTokens.load_or_create(config.data_dir)
        db = await stack.enter_async_context(opened(config))
        sender = await stack.enter_async_context(
            PushSender(vapid, extra_hosts=config.push_extra_hosts, **(sender_options or {}))
        )
        scheduler = Scheduler(db, sender, tokens, clock=app_clock)
        composing = Composing(config, db, app_clock, composer_options=composer_options)
        await composing.start()
        stack.push_async_callback(composing.close)
        scheduler.on_wake.append(composing.wake)
        planner = Planner(db, scheduler, app_clock)
        stack.push_async_callback(planner.stop)
        app.state.update(
            config=config,
            db=db,
            vapid=vapid,
            sender=sender,
            action_tokens=tokens,
            scheduler=scheduler,
            planner=planner,
            clock=app_clock,
            composing=composing,
        )
        state = app.state  # the kept public URL, LAN choice:
        apply_network(
            config, state.pairing, state.security, await prefs_mod.load(db)
        )  # the kept public URL, LAN choice
        if run_composer:
            stack.push_async_callback(
                _cancel, asyncio.create_task(composing.run(), name="composer")
            )
        if run_scheduler:
            task = asyncio.create_task(scheduler.run(), name="scheduler")
            stack.push_async_callback(_stop, task, scheduler)
        # First to stop: the LAN listener (on_ready may start it) serves this same state.
        stack.push_async_callback(_stop_lan_https, app.state)
        if on_ready is not None:
            await on_ready(app)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            try:
                await start(app, stack)
            except BaseException as exc:
                # granian reports a failed start only as "ASGI lifespan startup":
                # keep the cause for the launcher to explain.
                app.state.startup_error = exc
                raise
            log.info("Study Notifier %s ready at %s", __version__, config.local_url)
            yield
            log.info("shutting down")

    static = web_files()
    policy = SecurityPolicy.from_config(config)
    with _without_pydantic():
        app = _litestar(config, static, policy, lifespan, app_clock)
    policy.body_types = _body_types(app)
    _document_errors(app)
    # Around Litestar's whole handler: route middleware would miss its 404s and 405s.
    app.asgi_handler = cast("ASGIApp", SecurityMiddleware(app.asgi_handler, policy))
    return app


def _from_state(name: str) -> Provide:
    def provide(state: State) -> Any:
        return state[name]

    provide.__name__ = f"provide_{name}"
    return Provide(provide, sync_to_thread=False)


def _lan(state: State) -> LanListener | None:
    """The LAN HTTPS listener, when this server has one (serve/ attaches it)."""
    lan: LanListener | None = state.get("lan_https")
    return lan


# What handlers receive by parameter name: the resources the lifespan holds.
DEPENDENCIES = {
    **{
        name: _from_state(name)
        for name in (
            "config",  # Config: start-up configuration
            "db",  # Database: the one connection
            "clock",  # Clock: the app's one clock
            "planner",  # Planner: writes the plan, then the outbox follows
            "composing",  # Composing: texts written ahead, previews, the key check
            "vapid",  # VapidKeys
            "sender",  # PushSender
            "action_tokens",  # ActionTokens: notification buttons' credentials
            "pairing",  # Pairing: codes, login links, where phones reach us
            "security",  # SecurityPolicy: the request gate's rules
        )
    },
    "lan": Provide(_lan, sync_to_thread=False),
}


def _document_errors(app: Litestar) -> None:
    """Litestar documents a 400 in its own shape; the app's errors are `{"error", "detail"}`."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler):
                handler.responses = {400: BAD_REQUEST, **(handler.responses or {})}


def _body_types(app: Litestar) -> dict[str, frozenset[str]]:
    """Routes that take a body other than JSON say so in `opt={"body_types": (...)}`."""
    found: dict[str, frozenset[str]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if types := handler.opt.get("body_types"):
                found[route.path] = frozenset(t.lower() for t in types)
    return found


def _litestar(
    config: Config, static: Any, policy: SecurityPolicy, lifespan: Any, clock: Clock
) -> Litestar:
    return Litestar(
        route_handlers=[*ROUTES, static],
        # Bodies first: nothing after this waits on a slow client or holds an oversize body.
        middleware=[body_limits_middleware, idempotency_middleware],
        request_max_body_size=DEFAULT_MAX_BODY,  # a route that takes more declares its own
        state=State(
            {"pairing": Pairing(config, now=clock.now), "security": policy, "clock": clock}
        ),
        lifespan=[lifespan],
        dependencies=DEPENDENCIES,
        guards=[require_token],
        before_request=check_body_strictly,
        exception_handlers={Exception: handle_error},
        openapi_config=OpenAPIConfig(title="Study Notifier", version=__version__, path="/schema"),
        logging_config=None,  # logs.py owns logging
        debug=False,
    )


@contextlib.contextmanager
def _without_pydantic() -> Iterator[None]:
    """Build the app without Litestar's pydantic plugins.

    Litestar adds them whenever pydantic is importable, and it is (the
    Anthropic SDK needs it): about 0.2 s and 8 MB at every start for nothing,
    as the handlers use msgspec only. For the time the app is built, Litestar's
    plugin module answers "pydantic is not installed"; pydantic itself is left
    alone, for the SDK to load if Claude is set up.
    """
    name = "litestar.plugins.pydantic"
    saved = sys.modules.get(name)
    stub = types.ModuleType(name)

    def missing(attribute: str) -> Any:
        raise MissingDependencyException("pydantic")  # what Litestar reads as "not installed"

    stub.__getattr__ = missing  # type: ignore[method-assign]
    sys.modules[name] = stub
    try:
        yield
    finally:
        if saved is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = saved


async def _stop_lan_https(state: State) -> None:
    lan = state.get("lan_https")
    if lan is not None:
        await lan.stop()


async def _stop(task: asyncio.Task[None], scheduler: Scheduler) -> None:
    """Stop the loop, then give in-flight sends a moment to record their results."""
    await _cancel(task)
    await scheduler.stop()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
