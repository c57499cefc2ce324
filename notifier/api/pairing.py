"""Pairing a phone, the desktop login link, and the devices that hold tokens."""

from __future__ import annotations

import html
import unicodedata
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import MediaType, Request, Response, delete, get, patch, post
from litestar.datastructures import Cookie
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Redirect

from notifier.access.pairing import LOGIN, PAIR, Pairing, pair_url, phone_can_use, qr_svg
from notifier.access.tokens import SESSION_COOKIE, credentials_of, hash_token
from notifier.api.injected import Injected
from notifier.clock import Clock, iso
from notifier.config import Config
from notifier.db import Database
from notifier.db.records import DeviceStatus
from notifier.errors import (
    BadRequest,
    InvalidCode,
    NoPhoneOrigin,
    NotFound,
    NotifierError,
    TooManyRequests,
)
from notifier.host.lan import LanListener

COOKIE_LIFETIME = timedelta(days=400)  # the longest browsers keep a cookie (RFC 6265bis §5.5)
CA_FILENAME = "study-notifier-ca.crt"


class ExchangeIn(msgspec.Struct):
    code: Annotated[str, msgspec.Meta(max_length=32)]
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""


class ExchangeOut(msgspec.Struct):
    token: str  # shown once; the cookie carries it too
    device: DeviceOut


def session_cookie(request: Request[Any, Any, Any], token: str | None) -> Cookie:
    """The device token as a cookie the page's scripts cannot read; None clears it."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token or "",
        max_age=int(COOKIE_LIFETIME.total_seconds()) if token else 0,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


# What each kind of token is to a person: a paired device (phone, tablet), the
# desktop browser the launcher signed in, or a script's `notifier token`.
DEVICE_KINDS: dict[str, Literal["phone", "desktop", "script"]] = {
    "device": "phone",
    "browser": "desktop",
    "cli": "script",
}
MAX_NAME = 100


class DeviceOut(msgspec.Struct):
    """One device that can sign in: a phone, this computer's browser, or a script."""

    id: int
    name: str
    kind: Literal["phone", "desktop", "script"]
    paired_at: str
    last_seen_at: str | None  # its last request (recorded at most once a minute)
    notifications: bool  # it has a push subscription
    last_delivery_at: str | None  # a push service last accepted a notification for it
    last_delivery_error: str | None  # the latest refusal, if any
    current: bool  # the device asking


class DevicePatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str


def _iso(dt: datetime | None) -> str | None:
    return iso(dt) if dt else None


def device_out(device: DeviceStatus, current_id: int | None) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        name=device.label,
        kind=DEVICE_KINDS.get(device.kind, "script"),
        paired_at=iso(device.created_at),
        last_seen_at=_iso(device.last_used_at),
        notifications=device.subscriptions > 0,
        last_delivery_at=_iso(device.last_delivery_at),
        last_delivery_error=device.last_delivery_error,
        current=device.id == current_id,
    )


def device_name(text: str) -> str:
    """A name a person gave a device: one line, not empty, at most MAX_NAME characters."""
    name = " ".join("".join(" " if unicodedata.category(c)[0] == "C" else c for c in text).split())
    if not name:
        raise BadRequest("name: must not be empty")
    if len(name) > MAX_NAME:
        raise BadRequest(f"name: must be at most {MAX_NAME} characters")
    return name


def _client(request: Request[Any, Any, Any]) -> str | None:
    # A rate-limit key only, never identity (the security middleware already
    # replaced it with the forwarded address when the peer is a trusted proxy).
    return request.client.host if request.client else None


class PairingOut(msgspec.Struct):
    code: str
    url: str  # the link in the QR code: always https, never a loopback address
    qr_svg: str
    expires_at: str


class PhoneWay(msgspec.Struct):
    """One way to give phones an https address, as the 409 no_phone_origin lists them."""

    way: Literal["lan_https", "public_url"]
    title: str
    detail: str
    setting: str  # the field of PUT /api/settings that turns it on
    available: bool
    problem: str | None = None  # why it does not work right now


def phone_ways(pairing: Pairing, lan: LanListener | None, config: Config) -> list[PhoneWay]:
    """How this computer could get an https address a phone can use, and what stands in the way."""
    if lan is None:
        lan_problem: str | None = "This server was started without the LAN listener."
    elif lan.running and pairing.lan_origin() is None:
        lan_problem = "This computer has no network address a phone could reach right now."
    elif lan.running:
        lan_problem = f"It serves {pairing.lan_origin()}, which is not an address phones can use."
    else:
        lan_problem = lan.error
    public = pairing.public_url
    return [
        PhoneWay(
            way="lan_https",
            title="Turn on HTTPS for your home network",
            detail=(
                "For a phone on the same Wi-Fi as this computer. The phone trusts this "
                "computer's own certificate once (the pairing page shows how on Android and iPhone)."
            ),
            setting="lan_https",
            available=lan is not None,
            problem=lan_problem,
        ),
        PhoneWay(
            way="public_url",
            title="Use a tunnel",
            detail=(
                "For a phone anywhere: a tunnel such as Tailscale Funnel or Cloudflare Tunnel "
                "gives this computer an https address; enter it as the public URL."
            ),
            setting="public_url",
            available=not config.public_url or phone_can_use(public),
            problem=(
                f"The public URL {public} is not an https address a phone can use."
                if public and not phone_can_use(public)
                else None
            ),
        ),
    ]


@post("/api/pairing", status_code=201, tags=["pairing"])
async def start_pairing(
    db: Injected[Database],
    pairing: Injected[Pairing],
    config: Injected[Config],
    lan: Injected[LanListener | None],
) -> PairingOut:
    """A single-use pairing code for a new phone, with the link and QR code to scan.

    409 `no_phone_origin`, with `ways`, while no https address a phone can reach exists.
    """
    origin = pairing.phone_origin()
    if origin is None:
        ways = phone_ways(pairing, lan, config)
        raise NoPhoneOrigin(
            "A phone needs an https address to pair and get notifications, and this "
            "computer has none yet: turn on HTTPS for your home network, or use a tunnel.",
            extra={"ways": msgspec.to_builtins(ways)},
        )
    issued = await pairing.issue(db, PAIR)
    url = pair_url(origin, issued.code)
    return PairingOut(
        code=issued.code, url=url, qr_svg=qr_svg(url), expires_at=iso(issued.expires_at)
    )


@post("/api/pairing/exchange", status_code=201, opt={"public": True}, tags=["pairing"])
async def exchange_code(
    data: JSONBody[ExchangeIn],
    db: Injected[Database],
    pairing: Injected[Pairing],
    request: Request[Any, Any, Any],
) -> Response[ExchangeOut]:
    """Trade a pairing code for this device's token: set as a cookie, and returned once."""
    label = data.label.strip() or "Phone"
    token_id, token = await pairing.redeem(
        db, PAIR, data.code, client=_client(request), label=label
    )
    [row] = [r for r in await db.devices() if r.id == token_id]
    body = ExchangeOut(token=token, device=device_out(row, token_id))
    return Response(body, status_code=201, cookies=[session_cookie(request, token)])


LOGIN_FAILED_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
  <title>{title} · Study Notifier</title>
  <meta name="color-scheme" content="light dark">
  <link rel="icon" type="image/png" sizes="32x32" href="/icons/icon-32.png">
  <link rel="stylesheet" href="/css/app.css">
</head>
<body>
  <main class="main">
    <h1>{title}</h1>
    <p>{why}</p>
    <p>If this browser is already signed in, it can simply
      <a class="button" href="/">open Study Notifier</a></p>
    <p>Otherwise, get a fresh link on the computer that runs Study Notifier: start it
      again (a double-click, or <code>notifier</code>), which opens a signed-in page, or run
      <code>notifier login</code>.</p>
  </main>
</body>
</html>
"""


def login_failed_page(exc: NotifierError) -> Response[str]:
    """A page a person can act on, for a sign-in link that did not work (not a JSON error)."""
    if exc.status == 429:
        title, why = "Too many tries", html.escape(exc.detail)
    else:
        title = "This sign-in link has already been used"
        why = (
            "Sign-in links work once and only for a few minutes, so a link copied from the "
            "browser's history or a log cannot be used again, by you or anyone else."
        )
    page = LOGIN_FAILED_PAGE.format(title=title, why=why)
    return Response(page, status_code=exc.status, media_type="text/html", headers=exc.headers)


@get(
    "/login",
    opt={"public": True},
    tags=["pairing"],
    media_type=MediaType.HTML,
    responses={303: ResponseSpec(None, description="Signed in: on to the dashboard")},
    response_description="A page saying what to do instead (the link was used, expired or wrong)",
)
async def login(
    db: Injected[Database],
    pairing: Injected[Pairing],
    request: Request[Any, Any, Any],
    t: Annotated[str, QueryParameter(max_length=100)],
) -> Redirect | Response[str]:
    """The launcher's one-time link: swap it for a session cookie, then show the dashboard.

    A used, expired or wrong link gets an HTML page saying what to do instead.
    """
    presented = credentials_of(request.scope)  # type: ignore[arg-type]
    previous = presented.token if presented.via == "cookie" else None
    try:
        token_id, token = await pairing.redeem(
            db, LOGIN, t, client=_client(request), label="Desktop browser"
        )
    except (InvalidCode, TooManyRequests) as exc:
        return login_failed_page(exc)
    if previous:
        # This browser's old desktop session is replaced, not left lying around.
        row = await db.token_by_hash(hash_token(previous))
        if row is not None and row.kind == "browser":
            await db.replace_token(row.id, token_id, pairing.now())
    return Redirect(path="/", status_code=303, cookies=[session_cookie(request, token)])


@get("/api/devices", tags=["devices"])
async def list_devices(db: Injected[Database], request: Request[Any, Any, Any]) -> list[DeviceOut]:
    """Every device that can sign in (paired phones, desktop browsers, scripts), oldest first."""
    current = request.state.get("token_id")
    return [device_out(row, current) for row in await db.devices()]


@patch("/api/devices/{device_id:int}", tags=["devices"])
async def rename_device(
    device_id: FromPath[int],
    data: JSONBody[DevicePatch],
    db: Injected[Database],
    request: Request[Any, Any, Any],
) -> DeviceOut:
    """Give a device a name a person recognises ("Kim's phone")."""
    if not await db.rename_token(device_id, device_name(data.name)):
        raise NotFound(f"no device {device_id}")
    [row] = [r for r in await db.devices() if r.id == device_id]
    return device_out(row, request.state.get("token_id"))


@delete(
    "/api/devices/{device_id:int}",
    status_code=204,
    tags=["devices"],
    responses={204: ResponseSpec(None, description="Revoked (this device's own cookie cleared)")},
)
async def revoke_device(
    device_id: FromPath[int],
    db: Injected[Database],
    clock: Injected[Clock],
    request: Request[Any, Any, Any],
) -> Response[None]:
    """Revoke a device's token and drop its push subscriptions."""
    if not await db.revoke_device(device_id, clock.now()):
        raise NotFound(f"no device {device_id}")
    cookies = [session_cookie(request, None)] if device_id == request.state.get("token_id") else []
    return Response(None, status_code=204, cookies=cookies)


class TlsOut(msgspec.Struct):
    """Where phones reach this computer and which certificate they must trust."""

    https: bool  # the LAN HTTPS listener is running
    phone_origin: str | None
    ca_page: str | None  # the page that explains installing the certificate
    ca_fingerprint_sha256: str | None


@get("/api/tls", tags=["devices"])
async def tls_info(
    config: Injected[Config], pairing: Injected[Pairing], lan: Injected[LanListener | None]
) -> TlsOut:
    """Where phones reach us and which CA they must trust (for the dashboard to show)."""
    from notifier.host.tls import (
        ca_der,
        fingerprint,
    )  # cryptography.x509 loads on use, not at every start

    der = ca_der(config.data_dir)
    lan_url = pairing.lan_origin()
    return TlsOut(
        https=bool(lan is not None and lan.running),
        phone_origin=pairing.phone_origin(),
        ca_page=f"{lan_url}/ca/" if der and lan_url else None,
        ca_fingerprint_sha256=fingerprint(der) if der else None,
    )


@get(
    "/ca/" + CA_FILENAME,
    opt={"public": True},
    tags=["devices"],
    media_type="application/x-x509-ca-cert",
    response_description="The CA certificate (DER)",
)
async def download_ca(config: Injected[Config]) -> Response[bytes]:
    """The local CA certificate (public by nature: it holds no secret)."""
    from notifier.host.tls import ca_der

    der = ca_der(config.data_dir)
    if der is None:
        raise NotFound("HTTPS on the LAN is off, so there is no certificate to install.")
    # No Content-Disposition: iOS Safari offers to install a profile from this
    # MIME type, and browsers name the download after the path's last segment.
    return Response(der, media_type="application/x-x509-ca-cert")


ROUTES = [
    start_pairing,
    exchange_code,
    login,
    list_devices,
    rename_device,
    revoke_device,
    tls_info,
    download_ca,
]
