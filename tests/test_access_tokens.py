"""Every route needs a token unless the design lists it as public (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime

from fakeclock import FakeClock
from litestar.routes import HTTPRoute

from notifier.access.tokens import hash_token
from notifier.clock import utcnow

# The HTTP API contract (docs/ARCHITECTURE.md): the public routes (plus the PWA's static files,
# served by the catch-all file route).
PUBLIC = {("GET", "/healthz"), ("GET", "/api/push/vapid-public-key"), ("GET", "/sw-shell.js")}
UNAUTHORIZED = {
    "error": "unauthorized",
    "detail": "This needs a device token: pair this device or run `notifier token`.",
}


def _concrete(path: str) -> str:
    """Fill path parameters with plausible values."""
    return re.sub(r"\{(\w+):(\w+)\}", lambda m: "1" if m.group(2) == "int" else "x", path)


def body_kwargs(app, path: str) -> dict:
    """A body of the type the route takes: JSON, or what it names (the .ics upload: text/calendar)."""
    for route in app.routes:
        if isinstance(route, HTTPRoute) and _concrete(route.path) == path:
            for handler in route.route_handlers:
                if types := handler.opt.get("body_types"):
                    return {"content": b"", "headers": {"Content-Type": types[0]}}
    return {"json": {}}


def protected_routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.opt.get("public"):
                continue
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((method, _concrete(route.path)))
    return found


async def test_every_protected_route_answers_401_without_a_token(api) -> None:
    routes = protected_routes(api.app)
    assert ("POST", "/api/push/subscriptions") in routes
    assert ("GET", "/schema/openapi.json") in routes
    for method, path in routes:
        response = await api.client.request(method, path, **body_kwargs(api.app, path))
        assert response.status_code == 401, (method, path, response.text)
        assert response.json() == UNAUTHORIZED, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"


async def test_public_routes_answer_without_a_token(api) -> None:
    for method, path in PUBLIC:
        response = await api.client.request(method, path)
        assert response.status_code == 200, path
    assert (await api.client.get("/")).status_code == 200


async def test_a_revoked_or_unknown_token_is_refused(api) -> None:
    row = await api.db.token_by_hash(hash_token(api.token))
    assert (await api.get("/api/push/subscriptions")).status_code == 200
    assert (await api.delete(f"/api/devices/{row.id}")).status_code == 204
    response = await api.get("/api/push/subscriptions")
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "detail": "Unknown or revoked token."}
    response = await api.client.get(
        "/api/push/subscriptions", headers={"Authorization": "Bearer snt_nope"}
    )
    assert response.status_code == 401


async def test_a_malformed_authorization_header_is_refused(api) -> None:
    response = await api.client.get(
        "/api/push/subscriptions", headers={"Authorization": f"Basic {api.token}"}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Authorization must be 'Bearer <token>'"


async def test_loopback_is_not_identity(api) -> None:
    # Tunnels deliver strangers from 127.0.0.1: the peer address proves nothing.
    response = await api.client.get(
        "/api/push/subscriptions", headers={"X-Forwarded-For": "127.0.0.1"}
    )
    assert response.status_code == 401


async def test_tokens_are_stored_hashed_and_touched_on_use(api) -> None:
    with sqlite3.connect(api.app.state.config.db_path) as conn:
        stored = conn.execute("SELECT * FROM tokens").fetchall()
    conn.close()
    assert stored and all(api.token not in row for row in stored)
    assert hash_token(api.token) in {value for row in stored for value in row}
    assert (await api.db.token_by_hash(hash_token(api.token))).last_used_at is None
    await api.get("/api/push/subscriptions")
    assert (await api.db.token_by_hash(hash_token(api.token))).last_used_at is not None


async def test_a_token_is_touched_by_the_apps_clock(make_api) -> None:
    """The guard records a token's use at the app's time (which tests move), at most once a minute."""
    clock = FakeClock(datetime(2031, 5, 6, 7, 8, tzinfo=UTC))
    async with make_api(clock=clock, run_scheduler=False) as api:

        async def last_used() -> datetime | None:
            return (await api.db.token_by_hash(hash_token(api.token))).last_used_at

        await api.get("/api/push/subscriptions")
        assert await last_used() == clock.now()
        first = clock.now()
        clock.advance(seconds=30)
        await api.get("/api/push/subscriptions")
        assert await last_used() == first  # within a minute: not written again
        clock.advance(minutes=2)
        await api.get("/api/push/subscriptions")
        assert await last_used() == clock.now()


# The pairing flow adds three public routes: the exchange (the contract lists it),
# the launcher's login link, and the local CA certificate (public by nature, and
# needed before a phone can be paired).
PAIRING_PUBLIC = {
    ("POST", "/api/pairing/exchange"),
    ("GET", "/login"),
    ("GET", "/ca/study-notifier-ca.crt"),
}
REVOKED = {"error": "unauthorized", "detail": "Unknown or revoked token."}
# Routes that carry their own credential instead of a device token (the
# push payload: the action token authorises just that notification's buttons).
OWN_CREDENTIAL = {("POST", "/api/actions")}


def openapi_operations(doc: dict) -> list[tuple[str, str]]:
    found = []
    for path, item in doc["paths"].items():
        for method in item:
            if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                found.append((method.upper(), path))
    return found


async def test_openapi_scan_without_credentials_and_with_a_revoked_token(api) -> None:
    from notifier.access.tokens import mint_token

    doc = (await api.get("/schema/openapi.json")).json()
    operations = openapi_operations(doc)
    assert len(operations) >= 15 and set(operations) >= PAIRING_PUBLIC
    revoked_id, revoked = await mint_token(api.db, "lost phone", now=api.app.state.clock.now())
    await api.db.revoke_device(revoked_id, utcnow())

    for method, path in operations:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        public = (method, path) in PUBLIC | PAIRING_PUBLIC
        for headers, expected in (
            ({}, UNAUTHORIZED),
            ({"Authorization": f"Bearer {revoked}"}, REVOKED),
        ):
            api.client.cookies.clear()
            body = body_kwargs(api.app, concrete)
            headers = {**headers, **body.pop("headers", {})}
            response = await api.client.request(method, concrete, headers=headers, **body)
            if public:
                assert response.status_code != 401, (method, path, response.text)
            elif (method, path) in OWN_CREDENTIAL:
                assert 400 <= response.status_code < 500, (method, path, response.text)
            else:
                assert response.status_code == 401, (method, path, response.status_code)
                assert response.json() == expected, (method, path)

    # A revoked token in the cookie is refused just the same.
    api.client.cookies.clear()
    response = await api.client.get("/api/devices", cookies={"notifier_session": revoked})
    assert response.status_code == 401 and response.json() == REVOKED
