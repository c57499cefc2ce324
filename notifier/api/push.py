"""Push subscription API and test pushes."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from notifier import base64url
from notifier.api.injected import Injected
from notifier.clock import Clock, iso
from notifier.config import Config
from notifier.db import Database
from notifier.db.records import Subscription
from notifier.errors import BadRequest, InvalidEndpoint, NotFound
from notifier.plan import prefs as prefs_mod
from notifier.push import payload as payloads
from notifier.push.delivery import deliver
from notifier.push.endpoints import check_endpoint
from notifier.push.sender import PushSender
from notifier.push.vapid import VapidKeys


class SubscriptionKeys(msgspec.Struct):
    p256dh: Annotated[str, msgspec.Meta(max_length=200)]
    auth: Annotated[str, msgspec.Meta(max_length=100)]


class SubscriptionIn(msgspec.Struct):
    """The browser's `PushSubscription.toJSON()`, plus an optional label."""

    endpoint: Annotated[str, msgspec.Meta(max_length=2048)]
    keys: SubscriptionKeys
    expirationTime: int | float | None = None
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""


class TestPushIn(msgspec.Struct):
    subscription_id: int | None = None


def _b64url_decode(name: str, value: str) -> bytes:
    try:
        return base64url.decode(value)
    except ValueError:
        raise BadRequest(f"keys.{name}: must be base64url") from None


def check_keys(keys: SubscriptionKeys) -> None:
    """p256dh must be a P-256 point and auth a 16-byte secret (RFC 8291 §3)."""
    raw = _b64url_decode("p256dh", keys.p256dh)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise BadRequest("keys.p256dh: not a valid P-256 public key") from None
    if len(_b64url_decode("auth", keys.auth)) != 16:
        raise BadRequest("keys.auth: must be 16 bytes")


def _iso(dt: datetime | None) -> str | None:
    return iso(dt) if dt else None


class SubscriptionOut(msgspec.Struct):
    """A stored push subscription and how its deliveries went (the keys are never returned)."""

    id: int
    endpoint: str
    label: str
    expiration_time: int | None
    created_at: str
    updated_at: str
    last_success_at: str | None
    last_error: str | None
    last_error_at: str | None
    failure_count: int


class VapidKeyOut(msgspec.Struct):
    key: str  # the application server key, base64url


class PushResultOut(msgspec.Struct, forbid_unknown_fields=True):
    """What one device's push service answered."""

    subscription_id: int
    outcome: Literal["delivered", "gone", "retry", "error"]  # gone: the subscription was removed
    status: int | None  # the push service's HTTP status
    detail: str | None


class TestPushOut(msgspec.Struct):
    results: list[PushResultOut]
    sent_at: str


def subscription_out(sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,
        endpoint=sub.endpoint,
        label=sub.label,
        expiration_time=sub.expiration_time,
        created_at=iso(sub.created_at),
        updated_at=iso(sub.updated_at),
        last_success_at=_iso(sub.last_success_at),
        last_error=sub.last_error,
        last_error_at=_iso(sub.last_error_at),
        failure_count=sub.failure_count,
    )


class PushController(Controller):
    path = "/api/push"
    tags = ("push",)

    @get("/vapid-public-key", opt={"public": True})
    async def vapid_public_key(self, vapid: Injected[VapidKeys]) -> VapidKeyOut:
        """The application server key the browser subscribes with."""
        return VapidKeyOut(key=vapid.public_key_b64)

    @post("/subscriptions", status_code=201)
    async def subscribe(
        self,
        data: JSONBody[SubscriptionIn],
        db: Injected[Database],
        config: Injected[Config],
        clock: Injected[Clock],
        request: Request[Any, Any, Any],
    ) -> SubscriptionOut:
        """Store a subscription; the same endpoint again updates it."""
        endpoint = check_endpoint(data.endpoint, config.push_extra_hosts)
        check_keys(data.keys)
        expiration = int(data.expirationTime) if data.expirationTime is not None else None
        sub = await db.upsert_subscription(
            endpoint=endpoint,
            p256dh=data.keys.p256dh,
            auth=data.keys.auth,
            label=data.label.strip(),
            expiration_time=expiration,
            token_id=request.state.get("token_id"),
            now=clock.now(),
        )
        return subscription_out(sub)

    @get("/subscriptions")
    async def list_subscriptions(self, db: Injected[Database]) -> list[SubscriptionOut]:
        return [subscription_out(r) for r in await db.subscriptions()]

    @delete("/subscriptions/{sub_id:int}", status_code=204)
    async def delete_subscription(self, sub_id: FromPath[int], db: Injected[Database]) -> None:
        if not await db.delete_subscription(sub_id):
            raise NotFound(f"no subscription {sub_id}")

    @delete("/subscriptions", status_code=204)
    async def delete_by_endpoint(
        self,
        db: Injected[Database],
        config: Injected[Config],
        endpoint: Annotated[str, QueryParameter(max_length=2048)],
    ) -> None:
        try:
            endpoint = check_endpoint(endpoint, config.push_extra_hosts)
        except InvalidEndpoint:
            pass  # not one we would have stored: nothing to find under its normal form
        if not await db.delete_subscription_by_endpoint(endpoint):
            raise NotFound("no subscription with that endpoint")

    @post("/test", status_code=200)
    async def test_push(
        self,
        db: Injected[Database],
        sender: Injected[PushSender],
        clock: Injected[Clock],
        data: JSONBody[TestPushIn | None] = None,
    ) -> TestPushOut:
        """Send a test notification now and report each device's outcome."""
        ids = None
        if data is not None and data.subscription_id is not None:
            if await db.subscription(data.subscription_id) is None:
                raise NotFound(f"no subscription {data.subscription_id}")
            ids = [data.subscription_id]
        prefs = await prefs_mod.load(db)
        now = clock.now()
        tag = f"test:{secrets.token_hex(4)}"
        message = payloads.build(
            kind="test",
            title="Study Notifier is connected",
            body="If you can read this, your study reminders will reach this device. 📚",
            url="/",
            tag=tag,
            due=now,
        )
        results = await deliver(
            db,
            sender,
            message,
            subject=prefs.vapid_subject or None,
            subscription_ids=ids,
            now=clock.now,
            topic=payloads.topic_for(tag),
            ttl=300,
        )
        return TestPushOut(
            results=[msgspec.convert(r.as_json(), PushResultOut) for r in results],
            sent_at=iso(now),
        )
