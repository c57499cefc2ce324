"""Forwarded headers from a trusted proxy, against a real server process: the forwarded
host passes the same allow-list as Host, and only the proxy's own entry is believed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from procs import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir = tmp_path_factory.mktemp("proxied") / "data"
    proc = ServerProcess(
        data_dir,
        env={
            "NOTIFIER_TRUSTED_PROXIES": "127.0.0.1",
            "NOTIFIER_PUBLIC_URL": "https://box.tail1.ts.net",
        },
    ).start()
    yield proc
    proc.kill()


@pytest.mark.parametrize(
    ("host", "forwarded_host", "status"),
    [
        ("evil.example", "localhost", 400),  # the Host itself must be ours too
        ("evil.example", "box.tail1.ts.net", 400),
        ("localhost", "evil.example", 400),
        ("box.tail1.ts.net", "evil.example", 400),
        ("127.0.0.1", "box.tail1.ts.net", 200),  # a proxy that rewrites Host to its upstream
        ("box.tail1.ts.net", "box.tail1.ts.net", 200),  # one that passes it on
    ],
)
def test_the_forwarded_host_passes_the_same_allow_list_as_host(
    behind_proxy: Any, host: str, forwarded_host: str, status: int
) -> None:
    for path in ("/healthz", "/", "/js/app.js"):
        response = httpx.get(
            f"{behind_proxy.url}{path}",
            headers={"Host": host, "X-Forwarded-Host": forwarded_host},
            trust_env=False,
        )
        assert response.status_code == status, (path, response.text)
        if status == 400:
            assert response.json()["error"] == "invalid_host"
