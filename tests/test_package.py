"""The built executable (PyInstaller onefile), what a user downloads: a smoke test.

The build happens once per source state (tests/frozen.py) and is reused while
nothing that goes into it changes. Linux only: it reads /proc to find the
onefile child process and its unpack folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import TEST_SUBJECT
from procs import ServerProcess, alive, process_tree, recording_browser, unpack_dirs

from notifier import __version__

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


@pytest.fixture(scope="module")
def exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("PyInstaller")
    from frozen import executable

    built = executable()
    # Run a copy: another test run may replace dist/notifier while this one runs.
    copy = tmp_path_factory.mktemp("exe") / built.name
    shutil.copy2(built, copy)
    return copy


def run(exe: Path, *args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, **kw)


def kill_tree(pids: list[int]) -> None:
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_version_and_help_work_in_the_executable(exe: Path) -> None:
    out = run(exe, "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"notifier {__version__}"
    out = run(exe, "--help")
    assert out.returncode == 0 and all(
        word in out.stdout for word in ("serve", "token", "pair", "login")
    )


def test_the_executable_serves_pushes_and_stops_cleanly_on_sigterm(
    exe: Path, data_dir: Path, wpt, tmp_path: Path
) -> None:
    from peers.fake_anthropic import FakeAnthropic

    with FakeAnthropic() as llm:
        env = {
            "NOTIFIER_PUSH_EXTRA_HOSTS": wpt.host_port,
            "ANTHROPIC_API_KEY": llm.api_key,  # the SDK is imported lazily: is it in the bundle?
            "ANTHROPIC_BASE_URL": llm.base_url,
            "PYTHONTZPATH": "",  # no system zoneinfo: time zones must come from the bundled tzdata
        }
        server = ServerProcess(data_dir, env=env, command=(str(exe),))
        server.start(timeout=90)
        pids = process_tree(server.proc.pid)
        try:
            assert len(pids) == 2, f"expected the onefile parent and its child, got {pids}"
            unpacked = unpack_dirs(pids)
            assert len(unpacked) == 1 and next(iter(unpacked)).is_dir()

            health = httpx.get(f"{server.url}/healthz").json()
            assert health == {"status": "ok", "version": __version__}
            index = httpx.get(f"{server.url}/")
            assert (
                index.status_code == 200 and "text/html" in index.headers["content-type"]
            )  # web/ is inside

            minted = run(exe, "token", "--data-dir", str(data_dir), "--label", "smoke")
            assert minted.returncode == 0, minted.stderr
            auth = {"Authorization": f"Bearer {minted.stdout.strip()}"}
            with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
                settings = client.put(
                    "/api/settings",
                    json={"vapid_subject": TEST_SUBJECT, "timezone": "America/New_York"},
                )
                assert settings.status_code == 200, settings.text
                assert settings.json()["timezone"] == "America/New_York"

                key = client.get("/api/push/vapid-public-key").json()["key"]
                subscription = wpt.subscribe(key)
                stored = client.post(
                    "/api/push/subscriptions", json={**subscription, "label": "phone"}
                )
                assert stored.status_code == 201, stored.text
                results = client.post("/api/push/test").json()["results"]
                assert [r["outcome"] for r in results] == ["delivered"], results
                [message] = wpt.wait_for_messages(subscription)
                assert message["kind"] == "test" and message["title"]

                preview = client.post("/api/messages/preview", json={})
                assert preview.status_code == 200, preview.text
                assert preview.json()["source"] == "llm", preview.json()
            assert llm.calls

            second_launch_opens_the_running_instance(exe, server, tmp_path)

            assert server.terminate(timeout=30) == 0, server.output()
            assert not [pid for pid in pids if alive(pid)], "a process was left running"
            assert not [d for d in unpacked if d.exists()], (
                "the onefile unpack folder was left behind"
            )
        finally:
            kill_tree(pids)


def second_launch_opens_the_running_instance(
    exe: Path, server: ServerProcess, tmp_path: Path
) -> None:
    """A double-click (no arguments) while one runs: a fresh login link in the browser, exit 0."""
    browser, opened = recording_browser(tmp_path)
    second = run(
        exe, env={**os.environ, "NOTIFIER_DATA_DIR": str(server.data_dir), "BROWSER": browser}
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already running" in second.stdout
    [link] = opened.read_text().split()
    assert link.startswith(f"{server.url}/login?t=")
    response = httpx.get(link, follow_redirects=False)
    assert response.status_code == 303 and "notifier_session=" in response.headers.get(
        "set-cookie", ""
    )
    assert httpx.get(f"{server.url}/healthz").status_code == 200  # the running one carries on
