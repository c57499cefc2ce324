"""The real server process: start, single instance per data dir, clean stop."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
from procs import ServerProcess, free_port, recording_browser


@pytest.fixture
def server(data_dir):
    proc = ServerProcess(data_dir).start()
    yield proc
    proc.kill()


def test_serves_health_and_stops_cleanly_on_sigterm(server) -> None:
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
    assert (server.data_dir / "vapid_private.pem").stat().st_mode & 0o777 == 0o600
    assert server.terminate() == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/healthz", timeout=1)
    assert not (server.data_dir / "instance.json").exists()


def test_a_second_instance_on_the_same_data_dir_refuses_to_start(server) -> None:
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "notifier",
            "serve",
            "--no-browser",
            "--data-dir",
            str(server.data_dir),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode == 3
    assert "already running" in second.stderr and server.url in second.stderr
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_the_lock_is_released_when_the_process_is_killed(server) -> None:
    server.kill()
    again = ServerProcess(server.data_dir).start()
    try:
        assert httpx.get(f"{again.url}/healthz").status_code == 200
    finally:
        again.terminate()


def test_token_command_prints_a_working_token(server) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "notifier",
            "token",
            "--data-dir",
            str(server.data_dir),
            "--label",
            "script",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    token = out.stdout.strip()
    assert token.startswith("snt_")
    response = httpx.get(
        f"{server.url}/api/push/subscriptions", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200 and response.json() == []


def test_the_vapid_key_survives_a_restart(server) -> None:
    key = httpx.get(f"{server.url}/api/push/vapid-public-key").json()["key"]
    server.terminate()
    again = ServerProcess(server.data_dir).start()
    try:
        assert httpx.get(f"{again.url}/api/push/vapid-public-key").json()["key"] == key
    finally:
        again.terminate()


def test_version_and_help() -> None:
    from notifier import __version__

    out = subprocess.run(
        [sys.executable, "-m", "notifier", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"notifier {__version__}"
    out = subprocess.run(
        [sys.executable, "-m", "notifier", "--help"], capture_output=True, text=True, check=True
    )
    assert "serve" in out.stdout and "token" in out.stdout


def test_assets_are_cached_for_an_hour_and_pages_revalidate(server) -> None:
    asset = httpx.get(f"{server.url}/js/app.js")
    assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
    assert asset.headers["cache-control"] == "public, max-age=3600"
    for page in ("/", "/sw.js", "/manifest.webmanifest"):
        response = httpx.get(f"{server.url}{page}")
        assert response.status_code == 200 and response.headers["cache-control"] == "no-cache", page
    assert httpx.get(f"{server.url}/js/../../pyproject.toml").status_code == 404


def test_bootstrap_hands_the_app_its_key_and_version(server) -> None:
    from notifier import __version__

    token = subprocess.run(
        [sys.executable, "-m", "notifier", "token", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    assert httpx.get(f"{server.url}/api/bootstrap").status_code == 401
    data = httpx.get(
        f"{server.url}/api/bootstrap", headers={"Authorization": f"Bearer {token}"}
    ).json()
    key = httpx.get(f"{server.url}/api/push/vapid-public-key").json()["key"]
    assert data["version"] == __version__ and data["vapid_public_key"] == key


def test_a_double_click_opens_the_browser_and_a_second_one_reuses_the_running_instance(
    data_dir, tmp_path
) -> None:
    browser, opened = recording_browser(tmp_path)
    first = ServerProcess(data_dir, env={"BROWSER": browser}, double_click=True).start()
    try:
        deadline = time.monotonic() + 10
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        [link] = opened.read_text().split()
        assert link.startswith(f"{first.url}/login?t=")
        assert "Data and logs:" in first.output() and (data_dir / "logs" / "notifier.log").exists()

        second = subprocess.run(
            [sys.executable, "-m", "notifier"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**first.env, "BROWSER": browser},
        )
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        assert (
            "/login?t=" not in second.stdout + first.output()
        )  # opened, never printed: no terminal
        first_link, second_link = opened.read_text().split()
        assert second_link != first_link and second_link.startswith(f"{first.url}/login?t=")
        for one_time in (first_link, second_link):
            signed_in = httpx.get(one_time, follow_redirects=False)
            assert (
                signed_in.status_code == 303
                and "notifier_session=" in signed_in.headers["set-cookie"]
            )
        assert first.terminate() == 0
    finally:
        first.kill()
