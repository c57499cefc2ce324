"""create_app: handlers receive what they use by Provide, never the app's state."""

from __future__ import annotations

import inspect

from litestar.handlers import HTTPRouteHandler

from notifier.app import DEPENDENCIES, create_app
from notifier.config import load_config


def test_no_handler_reaches_into_the_apps_state(data_dir) -> None:
    app = create_app(load_config({"data_dir": str(data_dir)}))
    handlers = [
        h
        for route in app.routes
        for h in getattr(route, "route_handlers", ())
        if isinstance(h, HTTPRouteHandler)
    ]
    assert len(handlers) > 30
    takes_state = []
    provided_by_name = set()
    for handler in handlers:
        parameters = inspect.signature(handler.fn).parameters
        if "state" in parameters:
            takes_state.append(handler.handler_name)
        provided_by_name |= set(parameters) & set(DEPENDENCIES)
    assert takes_state == []
    # Every dependency app.py declares is used by some handler (none is left over).
    assert provided_by_name == set(DEPENDENCIES)
