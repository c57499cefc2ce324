"""Calendar import (.ics upload), the calendar feed and its one-off download."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response, get, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, QueryParameter

from notifier.access.pairing import Pairing, qr_svg
from notifier.api.injected import Injected
from notifier.calendar import feed
from notifier.calendar.ics_export import calendar_bytes
from notifier.calendar.ics_import import MAX_ICS_BYTES
from notifier.calendar.imports import import_calendar
from notifier.clock import Clock
from notifier.config import Config
from notifier.db import Database
from notifier.errors import NotFound, PayloadTooLarge
from notifier.plan import prefs as prefs_mod
from notifier.plan.blocks import effective_timezone
from notifier.schedule.planner import Planner

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


class SkippedOut(msgspec.Struct, forbid_unknown_fields=True):
    """An event that did not become a block, and why."""

    uid: str
    summary: str
    reason: str


class RemovedOut(msgspec.Struct, forbid_unknown_fields=True):
    """A block imported before whose event is no longer in the file (kept, not deleted)."""

    block_id: int
    uid: str
    title: str


class ImportItem(msgspec.Struct, forbid_unknown_fields=True):
    """One event of the file and what the import does with it."""

    uid: str
    title: str | None
    start: str | None  # local wall time
    timezone: str | None
    duration_minutes: int | None
    rrule: str | None
    changed_sessions: int  # moved or cancelled sessions of a series
    action: str  # create, update, unchanged...


class ImportOut(msgspec.Struct, forbid_unknown_fields=True):
    """What an import did (or, as a dry run, would do)."""

    dry_run: bool
    created: int
    updated: int
    unchanged: int
    skipped: list[SkippedOut]
    removed_from_file: list[RemovedOut]
    items: list[ImportItem]


class FeedOut(msgspec.Struct):
    """The private address of the calendar feed."""

    url: str
    webcal_url: str
    qr_svg: str
    reachable_from_other_devices: bool  # an https address other devices can reach
    note: str | None  # why not, and what to turn on


@dataclass
class _IcsUpload(Operation):
    """The import's body is the .ics file itself, not JSON."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"text/calendar": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
            description="An iCalendar (RFC 5545) file",
            required=True,
        )


@post(
    "/api/import/ics",
    status_code=200,
    tags=["calendar"],
    request_max_body_size=MAX_ICS_BYTES,  # edge/bodies.py refuses more, in these words
    opt={"body_types": ("text/calendar",), "too_large": TOO_LARGE},
    operation_class=_IcsUpload,
)
async def import_ics(
    request: Request[Any, Any, Any],
    db: Injected[Database],
    planner: Injected[Planner],
    clock: Injected[Clock],
    dry_run: Annotated[bool, QueryParameter(name="dry_run")] = False,
) -> ImportOut:
    """Import an .ics file (body `text/calendar`): events become blocks, updated by UID on a
    second import. `?dry_run=true` previews without changing anything."""
    data = await _body(request)
    prefs = await prefs_mod.load(db)
    now = clock.now()
    outcome = await import_calendar(db, data, effective_timezone(prefs), now, dry_run=dry_run)
    await planner.blocks_written(outcome.block_ids)
    return msgspec.convert(outcome.to_json(), ImportOut)


def _feed_out(pairing: Pairing, config: Config, secret: str) -> FeedOut:
    # No https address for other devices yet: this computer's own, and the note says so.
    origin = pairing.phone_origin() or config.local_url
    url = f"{origin}{feed.feed_path(secret)}"
    parts = urlsplit(url)
    remote = parts.scheme == "https"
    webcal = "webcal://" + url.split("://", 1)[1]
    return FeedOut(
        url=url,
        webcal_url=webcal,
        qr_svg=qr_svg(webcal),
        reachable_from_other_devices=remote,
        note=None
        if remote
        else (
            "This address works on this computer only. For a phone or an online calendar, "
            "turn on LAN HTTPS or set a public URL (NOTIFIER_PUBLIC_URL)."
        ),
    )


@get("/api/calendar-feed", tags=["calendar"])
async def calendar_feed(pairing: Injected[Pairing], config: Injected[Config]) -> FeedOut:
    """The private address of the calendar feed (made on first use)."""
    secret = await asyncio.to_thread(feed.feed_secret, config.data_dir)
    return _feed_out(pairing, config, secret)


@post("/api/calendar-feed/rotate", status_code=200, tags=["calendar"])
async def rotate_calendar_feed(pairing: Injected[Pairing], config: Injected[Config]) -> FeedOut:
    """A new feed address; the old one stops working (calendars subscribed to it too)."""
    secret = await asyncio.to_thread(feed.rotate, config.data_dir)
    return _feed_out(pairing, config, secret)


async def _ics(db: Database, clock: Clock) -> bytes:
    rows = await db.blocks()
    changes = await db.occurrence_changes()
    return await asyncio.to_thread(calendar_bytes, rows, changes, clock.now())


@get("/feed/{name:str}", opt={"public": True}, include_in_schema=False)
async def serve_feed(
    db: Injected[Database], clock: Injected[Clock], config: Injected[Config], name: FromPath[str]
) -> Response[bytes]:
    """The feed itself; public by its secret, which is compared in constant time."""
    secret = name.removesuffix(".ics")
    if not name.endswith(".ics") or not feed.matches(config.data_dir, secret):
        raise NotFound("No such calendar feed (its address may have been changed).")
    return Response(
        await _ics(db, clock),
        media_type=ICS,
        headers={"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"},
    )


@get(
    "/api/calendar.ics",
    tags=["calendar"],
    media_type=ICS,
    response_description="Every block as an iCalendar (RFC 5545) file",
)
async def download_calendar(db: Injected[Database], clock: Injected[Clock]) -> Response[bytes]:
    """Every block as an .ics file to download once (to import into another calendar)."""
    return Response(
        await _ics(db, clock),
        media_type=ICS,
        headers={"Content-Disposition": 'attachment; filename="study-notifier.ics"'},
    )


ROUTES = [import_ics, calendar_feed, rotate_calendar_feed, serve_feed, download_calendar]
