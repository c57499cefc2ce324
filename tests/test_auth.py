"""Every route needs a token unless DESIGN.md lists it as public."""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from notifier.auth import hash_token
from notifier.clock import utcnow

# DESIGN.md "HTTP API contract": the public routes (plus the PWA's static files,
# served by the catch-all file route).
PUBLIC = {("GET", "/healthz"), ("GET", "/api/push/vapid-public-key")}
UNAUTHORIZED = {
    "error": "unauthorized",
    "detail": "This needs a device token: pair this device or run `notifier token`.",
}


def _concrete(path: str) -> str:
    """Fill path parameters with plausible values."""
    return re.sub(r"\{(\w+):(\w+)\}", lambda m: "1" if m.group(2) == "int" else "x", path)


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
        response = await api.client.request(method, path, json={})
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
    assert await api.db.revoke_token(row["id"], utcnow())
    response = await api.get("/api/push/subscriptions")
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "detail": "Unknown or revoked token."}
    response = await api.client.get("/api/push/subscriptions", headers={"Authorization": "Bearer snt_nope"})
    assert response.status_code == 401


async def test_a_malformed_authorization_header_is_refused(api) -> None:
    response = await api.client.get("/api/push/subscriptions", headers={"Authorization": f"Basic {api.token}"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Authorization must be 'Bearer <token>'"


async def test_loopback_is_not_identity(api) -> None:
    # Tunnels deliver strangers from 127.0.0.1: the peer address proves nothing.
    response = await api.client.get("/api/push/subscriptions", headers={"X-Forwarded-For": "127.0.0.1"})
    assert response.status_code == 401


async def test_tokens_are_stored_hashed_and_touched_on_use(api) -> None:
    rows = await api.db.list_tokens()
    assert all(api.token not in dict(r).values() for r in rows)
    await api.get("/api/push/subscriptions")
    row = await api.db.token_by_hash(hash_token(api.token))
    assert row["last_used_at"] is not None
