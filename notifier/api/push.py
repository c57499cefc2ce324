"""Push subscription API and test pushes."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from notifier import base64url
from notifier.clock import iso
from notifier.db.records import Subscription
from notifier.errors import BadRequest, InvalidEndpoint, NotFound
from notifier.plan import prefs as prefs_mod
from notifier.push import payload as payloads
from notifier.push.delivery import deliver
from notifier.push.endpoints import check_endpoint


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


def subscription_json(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "endpoint": sub.endpoint,
        "label": sub.label,
        "expiration_time": sub.expiration_time,
        "created_at": iso(sub.created_at),
        "updated_at": iso(sub.updated_at),
        "last_success_at": _iso(sub.last_success_at),
        "last_error": sub.last_error,
        "last_error_at": _iso(sub.last_error_at),
        "failure_count": sub.failure_count,
    }


class PushController(Controller):
    path = "/api/push"
    tags = ("push",)

    @get("/vapid-public-key", opt={"public": True})
    async def vapid_public_key(self, state: State) -> dict[str, str]:
        """The application server key the browser subscribes with."""
        return {"key": state.vapid.public_key_b64}

    @post("/subscriptions", status_code=201)
    async def subscribe(
        self, data: JSONBody[SubscriptionIn], state: State, request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        """Store a subscription; the same endpoint again updates it."""
        endpoint = check_endpoint(data.endpoint, state.config.push_extra_hosts)
        check_keys(data.keys)
        expiration = int(data.expirationTime) if data.expirationTime is not None else None
        sub = await state.db.upsert_subscription(
            endpoint=endpoint,
            p256dh=data.keys.p256dh,
            auth=data.keys.auth,
            label=data.label.strip(),
            expiration_time=expiration,
            token_id=request.state.get("token_id"),
            now=state.clock.now(),
        )
        return subscription_json(sub)

    @get("/subscriptions")
    async def list_subscriptions(self, state: State) -> list[dict[str, Any]]:
        return [subscription_json(r) for r in await state.db.subscriptions()]

    @delete("/subscriptions/{sub_id:int}", status_code=204)
    async def delete_subscription(self, sub_id: FromPath[int], state: State) -> None:
        if not await state.db.delete_subscription(sub_id):
            raise NotFound(f"no subscription {sub_id}")

    @delete("/subscriptions", status_code=204)
    async def delete_by_endpoint(
        self, state: State, endpoint: Annotated[str, QueryParameter(max_length=2048)]
    ) -> None:
        try:
            endpoint = check_endpoint(endpoint, state.config.push_extra_hosts)
        except InvalidEndpoint:
            pass  # not one we would have stored: nothing to find under its normal form
        if not await state.db.delete_subscription_by_endpoint(endpoint):
            raise NotFound("no subscription with that endpoint")

    @post("/test", status_code=200)
    async def test_push(
        self, state: State, data: JSONBody[TestPushIn | None] = None
    ) -> dict[str, Any]:
        """Send a test notification now and report each device's outcome."""
        ids = None
        if data is not None and data.subscription_id is not None:
            if await state.db.subscription(data.subscription_id) is None:
                raise NotFound(f"no subscription {data.subscription_id}")
            ids = [data.subscription_id]
        prefs = await prefs_mod.load(state.db)
        now = state.clock.now()
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
            state.db,
            state.sender,
            message,
            subject=prefs.vapid_subject or None,
            subscription_ids=ids,
            now=state.clock.now,
            topic=payloads.topic_for(tag),
            ttl=300,
        )
        return {"results": [r.as_json() for r in results], "sent_at": iso(now)}
