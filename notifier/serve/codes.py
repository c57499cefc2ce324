"""`notifier pair` and `notifier login`: one-time codes minted from a terminal.

They write to the same database as the running server (SQLite serialises the
writers), so a code made here is redeemed there.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from notifier.access.pairing import (
    NO_PHONE_ORIGIN,
    PAIR,
    Issued,
    Pairing,
    display_code,
    lan_origin,
    login_link,
    pair_url,
    phone_origin,
)
from notifier.clock import Clock
from notifier.config import Config
from notifier.db import Database, opened
from notifier.serve.instance import running_instance

T = TypeVar("T")


def with_database(config: Config, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` on the data dir's database from a command (the server may be running too)."""

    async def run() -> T:
        async with opened(config) as db:
            return await work(db)

    return asyncio.run(run())


def _phone_origin(config: Config, info: dict[str, Any]) -> str | None:
    if info:
        return info.get("phone_url") or None  # what the running server serves
    lan = None
    if config.https:
        from notifier.host.lan import discover

        lan = discover(config.https_name)
    return phone_origin(config.public_url, lan_origin(config, lan) if config.https else None)


def pair(config: Config) -> int:
    """Print the pairing QR code, the code to type, and the link."""
    info = running_instance(config.data_dir) or {}
    origin = _phone_origin(config, info)
    if origin is None:
        print(NO_PHONE_ORIGIN, file=sys.stderr)
        return 1
    issued = with_database(config, lambda db: Pairing(config, now=Clock().now).issue(db, PAIR))
    show_code(origin, issued)
    if not info:
        print(
            "Note: Study Notifier is not running; start it before the code expires.",
            file=sys.stderr,
        )
    return 0


def show_code(origin: str, issued: Issued) -> None:
    """The QR code, the code to type and how long it works (also what the launcher shows)."""
    from notifier.serve.console import say, show_pairing_qr

    url = pair_url(origin, issued.code)
    until = issued.expires_at.astimezone().strftime("%H:%M")
    if show_pairing_qr(url):
        say(f"Scan this with the phone's camera, or open {origin} on the phone and type the code")
    else:
        say(f"Open {url} on the phone, or open {origin} there and type the code")
    say(f"\n    {display_code(issued.code)}\n", f"It works once, until {until}.")


def login(config: Config, *, open_browser: bool = True, show: bool = True) -> int:
    """Print (and open) a one-time link that signs this computer's browser in.

    `show=False` (a second launch without a terminal) only opens it: a live
    credential does not belong in a log or a service's journal.
    """
    info = running_instance(config.data_dir) or {}
    base = info.get("url") or config.local_url
    link = with_database(config, lambda db: login_link(Pairing(config, now=Clock().now), db, base))
    if show:
        print(link)
    if not info:
        print("Note: Study Notifier is not running; start it first.", file=sys.stderr)
    elif open_browser:
        from notifier.serve.console import open_in_browser

        open_in_browser(link)
    return 0
