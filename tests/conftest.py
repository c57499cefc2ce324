"""Shared fixtures: every test gets its own data dir; apps run in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings

from notifier.access.tokens import mint_token
from notifier.app import create_app
from notifier.config import Config, load_config
from notifier.plan import prefs

TEST_SUBJECT = "mailto:tests@study-notifier.example"

# Hypothesis's wall-clock checks (200 ms an example, and how long data takes to make) fail
# property tests on CI's loaded 2-core machine, or call them flaky, over speed alone; speed
# is what bench/ measures. Every property still runs all its examples.
settings.register_profile("notifier", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("notifier")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the app at a temp data dir and away from any real API keys."""
    monkeypatch.setenv("NOTIFIER_DATA_DIR", str(tmp_path / "data"))
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "NOTIFIER_PUSH_EXTRA_HOSTS",
        "NOTIFIER_PUBLIC_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@dataclass
class Api:
    """An in-process app with an authorised client."""

    app: Any
    client: httpx.AsyncClient
    token: str

    @property
    def db(self) -> Any:
        return self.app.state.db

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.auth, **kw)

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.post(path, headers=self.auth, **kw)

    async def put(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.put(path, headers=self.auth, **kw)

    async def patch(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.patch(path, headers=self.auth, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.delete(path, headers=self.auth, **kw)


@asynccontextmanager
async def app_lifespan(app: Any) -> AsyncIterator[None]:
    """Run the app's lifespan in one task of its own.

    pytest-asyncio may tear a fixture down in another task than it set it up,
    and the lifespan's anyio cancel scopes must be exited where they were entered.
    """
    started, stop = asyncio.Event(), asyncio.Event()

    async def host() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(host())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # startup failed: raise its error here
    try:
        yield
    finally:
        stop.set()
        await task


@asynccontextmanager
async def running_api(
    config: Config, subject: str | None = TEST_SUBJECT, **app_kw: Any
) -> AsyncIterator[Api]:
    """Run the app's lifespan, mint a token and set the VAPID contact."""
    app = create_app(config, **app_kw)
    # The app runs in this test's own event loop (not a portal thread), so tests
    # may call app.state.db and the scheduler directly without crossing loops.
    transport = httpx.ASGITransport(app=app)
    async with (
        app_lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client,
    ):
        _, token = await mint_token(app.state.db, "tests", now=app.state.clock.now())
        if subject:
            await prefs.update(app.state.db, {"vapid_subject": subject})
        yield Api(app, client, token)


@pytest.fixture
def make_api(data_dir: Path):
    """Factory: `async with make_api(extra_hosts=…) as api:`."""

    def factory(*, extra_hosts: str = "", subject: str | None = TEST_SUBJECT, **app_kw: Any):
        config = load_config({"data_dir": str(data_dir), "push_extra_hosts": extra_hosts})
        return running_api(config, subject=subject, **app_kw)

    return factory


@pytest.fixture
async def api(make_api) -> AsyncIterator[Api]:
    async with make_api() as api:
        yield api


@pytest.fixture(scope="session")
def wpt():
    """web-push-testing, the real mock push service, on 127.0.0.1 for the session."""
    from peers.webpush_testing import WebPushTesting

    with WebPushTesting() as service:
        yield service


@pytest.fixture
def stub():
    """A scriptable stub push service on 127.0.0.1."""
    from peers.stub_push import StubPushService

    with StubPushService() as service:
        yield service


def browser_keys() -> dict[str, str]:
    """A browser-like subscription key pair (p256dh, auth) for stub endpoints."""
    import base64
    import secrets as pysecrets

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return {"p256dh": b64(point), "auth": b64(pysecrets.token_bytes(16))}


@pytest.fixture
def https_server(data_dir: Path) -> Any:
    """A real server process with the LAN HTTPS listener on 127.0.0.1 (`.https_port`)."""
    from procs import ServerProcess, free_port

    port = free_port()
    proc = ServerProcess(
        data_dir,
        env={"NOTIFIER_HTTPS_HOST": "127.0.0.1"},
        args=("--https", "--https-port", str(port)),
    ).start()
    proc.https_port = port  # type: ignore[attr-defined]
    yield proc
    proc.kill()


@pytest.fixture
async def sched(make_api, wpt, clock):
    """An app on the module's `clock` fixture with no background loop (tests call tick()),
    in Berlin time with reminders at the start and 15 minutes before, one phone on
    web-push-testing."""
    async with make_api(extra_hosts=wpt.host_port, clock=clock, run_scheduler=False) as api:
        await api.put(
            "/api/settings", json={"timezone": "Europe/Berlin", "default_offsets": [0, 15]}
        )
        key = (await api.client.get("/api/push/vapid-public-key")).json()["key"]
        api.subscription = wpt.subscribe(key)
        assert (await api.post("/api/push/subscriptions", json=api.subscription)).status_code == 201
        api.scheduler = api.app.state.scheduler
        yield api
