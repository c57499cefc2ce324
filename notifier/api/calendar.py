"""Calendar import (.ics upload), the calendar feed and its one-off download."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter

from notifier.access.pairing import qr_svg
from notifier.calendar import feed
from notifier.calendar.ics_export import calendar_bytes
from notifier.calendar.ics_import import MAX_ICS_BYTES
from notifier.calendar.imports import import_calendar
from notifier.errors import NotFound, PayloadTooLarge
from notifier.plan import prefs as prefs_mod
from notifier.plan.blocks import effective_timezone

ICS = "text/calendar; charset=utf-8"
TOO_LARGE = f"The calendar file is larger than {MAX_ICS_BYTES // 2**20} MB, more than any timetable needs; export a shorter range."


async def _body(request: Request[Any, Any, Any]) -> bytes:
    """The upload, refused as soon as it is too large (never buffered whole)."""
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > MAX_ICS_BYTES:
        raise PayloadTooLarge(TOO_LARGE)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_ICS_BYTES:
            raise PayloadTooLarge(TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


@post(
    "/api/import/ics",
    status_code=200,
    tags=["calendar"],
    request_max_body_size=MAX_ICS_BYTES,  # edge/bodies.py refuses more, in these words
    opt={"body_types": ("text/calendar",), "too_large": TOO_LARGE},
)
async def import_ics(
    request: Request[Any, Any, Any],
    state: State,
    dry_run: Annotated[bool, QueryParameter(name="dry_run")] = False,
) -> dict[str, Any]:
    """Import an .ics file (body `text/calendar`): events become blocks, updated by UID on a
    second import. `?dry_run=true` previews without changing anything."""
    data = await _body(request)
    prefs = await prefs_mod.load(state.db)
    now = state.clock.now()
    outcome = await import_calendar(state.db, data, effective_timezone(prefs), now, dry_run=dry_run)
    await state.planner.blocks_written(outcome.block_ids)
    return outcome.to_json()


def _feed_json(state: State, secret: str) -> dict[str, Any]:
    # No https address for other devices yet: this computer's own, and the note says so.
    origin = state.pairing.phone_origin() or state.config.local_url
    url = f"{origin}{feed.feed_path(secret)}"
    parts = urlsplit(url)
    remote = parts.scheme == "https"
    webcal = "webcal://" + url.split("://", 1)[1]
    return {
        "url": url,
        "webcal_url": webcal,
        "qr_svg": qr_svg(webcal),
        "reachable_from_other_devices": remote,
        "note": None
        if remote
        else (
            "This address works on this computer only. For a phone or an online calendar, "
            "turn on LAN HTTPS or set a public URL (NOTIFIER_PUBLIC_URL)."
        ),
    }


@get("/api/calendar-feed", tags=["calendar"])
async def calendar_feed(state: State) -> dict[str, Any]:
    """The private address of the calendar feed (made on first use)."""
    secret = await asyncio.to_thread(feed.feed_secret, state.config.data_dir)
    return _feed_json(state, secret)


@post("/api/calendar-feed/rotate", status_code=200, tags=["calendar"])
async def rotate_calendar_feed(state: State) -> dict[str, Any]:
    """A new feed address; the old one stops working (calendars subscribed to it too)."""
    secret = await asyncio.to_thread(feed.rotate, state.config.data_dir)
    return _feed_json(state, secret)


async def _ics(state: State) -> bytes:
    rows = await state.db.blocks()
    changes = await state.db.occurrence_changes()
    return await asyncio.to_thread(calendar_bytes, rows, changes, state.clock.now())


@get("/feed/{name:str}", opt={"public": True}, include_in_schema=False)
async def serve_feed(state: State, name: FromPath[str]) -> Response[bytes]:
    """The feed itself; public by its secret, which is compared in constant time."""
    secret = name.removesuffix(".ics")
    if not name.endswith(".ics") or not feed.matches(state.config.data_dir, secret):
        raise NotFound("No such calendar feed (its address may have been changed).")
    return Response(
        await _ics(state),
        media_type=ICS,
        headers={"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"},
    )


@get("/api/calendar.ics", tags=["calendar"])
async def download_calendar(state: State) -> Response[bytes]:
    """Every block as an .ics file to download once (to import into another calendar)."""
    return Response(
        await _ics(state),
        media_type=ICS,
        headers={"Content-Disposition": 'attachment; filename="study-notifier.ics"'},
    )


ROUTES = [import_ics, calendar_feed, rotate_calendar_feed, serve_feed, download_calendar]
