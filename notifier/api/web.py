"""The PWA's files (web/), served by the app so they pass the request gate like every route.

What is served is a catalogue made once at start: every file under web/ with a
type the app uses, each an exact route of its own. A request names one or gets
the router's 404; nothing is joined onto a folder, so `..`, NUL bytes or
`/sw.js/x` never reach the file system. The files are read once (about 300 KB) and revalidated by
ETag, which keeps page loads as fast as granian's own static serving was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import asgi

from notifier.errors import NotFound, NotifierError
from notifier.host.paths import web_root

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
# Pages, the service worker and the manifest are revalidated on every load, so
# an update reaches the phone on its next open; the rest may be kept an hour
# (the service worker fetches its shell with cache: "reload" anyway).
PAGE_CACHE = b"no-cache"
ASSET_CACHE = b"public, max-age=3600"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: bytes
    etag: bytes
    cache_control: bytes


def catalogue(root: Path) -> dict[str, Asset]:
    """URL path → file, for every servable file under `root` (a folder's index.html at its path)."""
    found: dict[str, Asset] = {}
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root)
        media_type = MEDIA_TYPES.get(file.suffix)
        if (
            media_type is None
            or not file.is_file()
            or any(p.startswith(".") for p in relative.parts)
        ):
            continue
        body = file.read_bytes()
        page = file.suffix in (".html", ".webmanifest") or file.name == "sw.js"
        asset = Asset(
            body,
            media_type.encode(),
            b'"' + hashlib.sha256(body).hexdigest()[:20].encode() + b'"',
            PAGE_CACHE if page else ASSET_CACHE,
        )
        url = "/" + relative.as_posix()
        found[url] = asset
        if file.name == "index.html":
            folder = url.removesuffix("index.html")
            found[folder] = asset
            if folder != "/":
                found[folder.rstrip("/")] = asset
    return found


def web_files(root: Path | None = None) -> Any:
    """The catch-all route for the PWA's files (public: they hold no secret)."""
    assets: Mapping[str, Asset] = catalogue(root or web_root())

    # Exact routes, not a mount at "/": Litestar hands a mount every method
    # of the paths below it, the API's DELETEs included.
    @asgi(sorted(assets), opt={"public": True}, include_in_schema=False, copy_scope=False)
    async def serve_web(scope: Any, receive: Any, send: Any) -> None:
        asset = assets.get(scope["path"])
        if asset is None:  # "/pair/" and "/pair" are one route to Litestar
            asset = assets.get(scope["path"].rstrip("/") + "/")
        if asset is None:
            raise NotFound("No such page or file.")
        if scope["method"] not in ("GET", "HEAD"):
            raise NotifierError(
                "Files are only read here.",
                code="method_not_allowed",
                status=405,
                headers={"Allow": "GET, HEAD"},
            )
        fresh = any(
            name == b"if-none-match" and asset.etag in value for name, value in scope["headers"]
        )
        headers = [
            (b"content-type", asset.media_type),
            (b"etag", asset.etag),
            (b"cache-control", asset.cache_control),
        ]
        body = b"" if fresh or scope["method"] == "HEAD" else asset.body
        headers.append((b"content-length", str(0 if fresh else len(asset.body)).encode()))
        await send(
            {"type": "http.response.start", "status": 304 if fresh else 200, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})

    return serve_web
