"""Static files behind the gate, odd paths and deep JSON answered 4xx, a log nothing can forge.

Against a real server process on loopback.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from procs import ServerProcess
from test_edge_gate import assert_security_headers

from notifier.serve.logs import FORMAT, OneLineFormatter

ROOT = Path(__file__).resolve().parents[1]
ASSETS = (
    "/js/app.js",
    "/css/app.css",
    "/icons/icon-192.png",
    "/sw.js",
    "/manifest.webmanifest",
    "/",
)
FORGED = "2099-01-01 00:00:00,000 ERROR   notifier: forged"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    proc = ServerProcess(tmp_path_factory.mktemp("static") / "data").start()
    yield proc
    proc.kill()


def get(server: Any, path: str, **headers: str) -> httpx.Response:
    # the path goes out exactly as written (no client-side normalising of %2e or ..)
    with httpx.Client(trust_env=False, timeout=10) as client:
        request = client.build_request("GET", server.url, headers=headers)
        request.url = request.url.copy_with(raw_path=path.encode())
        return client.send(request)


@pytest.mark.slow
@pytest.mark.parametrize("path", ASSETS)
def test_static_files_pass_the_host_check_and_carry_the_security_headers(
    server: Any, path: str
) -> None:
    served = get(server, path)
    assert served.status_code == 200
    assert_security_headers(served)
    refused = get(server, path, Host="evil.example")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_host"
    assert_security_headers(refused)
    # revalidation is cheap: the same file again is a 304 without a body
    again = get(server, path, **{"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [
        "/js/%00",
        "/sw.js/x",
        "/index.html/x",
        "/icons/make_icons.py",
        "/js/..%2f..%2fpyproject.toml",
        "/js/%2e%2e/%2e%2e/pyproject.toml",
        "/.git/config",
        "/css/",
        f"/index.html/x%0a{FORGED.replace(' ', '%20')}",
    ],
)
def test_odd_paths_are_a_plain_404_and_forge_no_log_line(server: Any, path: str) -> None:
    response = get(server, path)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "not_found"
    assert_security_headers(response)
    assert "forged" not in logged_lines(server)


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/api/pairing/exchange", "/api/actions", "/api/blocks"])
def test_deeply_nested_json_is_a_4xx(server: Any, path: str) -> None:
    depth = 100_000
    for body in ("[" * depth + "]" * depth, '{"code":' + "[" * depth + "]" * depth + "}"):
        response = httpx.post(
            f"{server.url}{path}",
            content=body,
            headers={"Content-Type": "application/json"},
            trust_env=False,
        )
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["error"] in ("bad_request", "too_large", "unauthorized")
    assert httpx.get(f"{server.url}/healthz", trust_env=False).status_code == 200


@pytest.mark.slow
def test_a_refused_request_is_logged_on_one_line(server: Any) -> None:
    path = f"/api/x%0d%0a{FORGED.replace(' ', '%20')}"
    assert get(server, path, Host="evil.example").status_code == 400
    log = logged_lines(server)
    assert "refused GET /api/x\\x0d\\x0a2099-01-01" in log
    assert not any(line.startswith("2099") for line in log.splitlines())


def logged_lines(server: Any) -> str:
    logs = server.data_dir / "logs" / "notifier.log"
    return logs.read_text() if logs.exists() else ""


def test_the_formatter_escapes_controls_and_indents_tracebacks() -> None:
    formatter = OneLineFormatter(FORMAT)
    record = logging.LogRecord(
        "n", logging.ERROR, __file__, 1, "path %s", ("/a\n\r\x1b[2J\u2028b\x85",), None
    )
    assert formatter.format(record).endswith("n: path /a\\x0a\\x0d\\x1b[2J\\u2028b\\x85")
    try:
        raise ValueError(f"bad\n{FORGED}")
    except ValueError:
        record = logging.LogRecord("n", logging.ERROR, __file__, 1, "oops", (), sys.exc_info())
    lines = formatter.format(record).splitlines()
    assert lines[0].endswith("n: oops") and all(line.startswith("    ") for line in lines[1:])
    assert not any(re.match(r"\d{4}-", line) for line in lines[1:])


def test_the_icon_script_lives_outside_web_and_still_draws_the_committed_icons() -> None:
    assert not list((ROOT / "web").rglob("*.py"))
    script = ROOT / "tools" / "make_icons.py"
    drawn = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import make_icons as m; "
            "sys.stdout.buffer.write(m.png(32, m.render(32, full_bleed=False)))",
            str(script.parent),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    assert drawn == (ROOT / "web" / "icons" / "icon-32.png").read_bytes()
