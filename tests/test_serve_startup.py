"""Start-up against a real process: one clear sentence and exit code 2, data left as it was.

Also: the port must be free, the data folder's mode is never changed, and the
login link is printed only on a terminal.
"""

from __future__ import annotations

import hashlib
import os
import pty
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from procs import ServerProcess, free_port, notifier_cli

pytestmark = pytest.mark.slow

EXIT_STARTUP = 2


def start(data_dir: Path, port: int | None = None, *extra: str) -> subprocess.CompletedProcess:
    """Run `notifier serve` expecting it to give up; returns the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "notifier", "serve", "--no-browser", "--data-dir", str(data_dir)]
        + ["--port", str(port or free_port()), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def the_sentence(result: subprocess.CompletedProcess, data_dir: Path | None = None) -> str:
    """The one line a failed start prints on stderr; also in the log when there is one."""
    assert result.returncode == EXIT_STARTUP, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    sentence = lines[0].removeprefix("error: ")
    if data_dir is not None:
        log = (data_dir / "logs" / "notifier.log").read_text()
        assert f"could not start: {sentence}" in log
    return sentence


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file's (sha256, mode), except what a start may always write: the log, the lock,
    and SQLite's -shm (a shared-memory index any reader may rebuild)."""
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.parts[len(folder.parts)] != "logs"
        and p.name != "notifier.lock"
        and not p.name.endswith("-shm")
    }


def unchanged(before: dict[str, tuple[str, int]], folder: Path) -> bool:
    after = snapshot(folder)
    return all(after.get(name) == value for name, value in before.items())


@pytest.fixture
def installed(data_dir: Path) -> Path:
    """A data folder as a first run leaves it (database, keys), not running."""
    ServerProcess(data_dir).start().terminate()
    return data_dir


# -- finding 6: start-up errors --------------------------------------------------------------


def test_a_damaged_database(installed: Path) -> None:
    db = installed / "notifier.sqlite3"
    db.write_bytes(os.urandom(8192))
    before = snapshot(installed)
    sentence = the_sentence(start(installed), installed)
    assert sentence == (
        f"The database {db} is damaged (file is not a database); restore it from a backup, "
        "or move it away to start with an empty one. The file was not changed."
    )
    assert unchanged(before, installed)


def test_a_database_from_a_newer_version(installed: Path) -> None:
    db = installed / "notifier.sqlite3"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 99")
    before = snapshot(installed)
    sentence = the_sentence(start(installed), installed)
    assert sentence.startswith(f"{db} was written by a newer version of Study Notifier (schema 99")
    assert sentence.endswith("the file was not changed.")
    assert unchanged(before, installed)


def test_a_key_file_others_can_read(installed: Path) -> None:
    key = installed / "vapid_private.pem"
    key.chmod(0o644)
    before = snapshot(installed)
    sentence = the_sentence(start(installed), installed)
    assert sentence == f"{key} is readable by other users (mode 644); run: chmod 600 {key}"
    assert unchanged(before, installed)  # the database was not even opened


# -- finding 5: the port ----------------------------------------------------------------------


def test_a_port_another_program_listens_on_is_refused(data_dir: Path) -> None:
    port = free_port()
    with socket.socket() as other:
        # As granian does: with SO_REUSEPORT a second listener would share the port silently.
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", port))
        other.listen()
        sentence = the_sentence(start(data_dir, port), data_dir)
    assert sentence == (
        f"Port {port} on 127.0.0.1 is already in use by another program (or another Study "
        "Notifier with a different data folder); stop it, or choose a free port with --port."
    )


def test_a_second_instance_with_another_data_dir_does_not_share_the_port(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "one").start()
    try:
        token = notifier_cli(first.data_dir, "token")
        second = start(tmp_path / "two", first.port)
        assert "is already in use" in the_sentence(second, tmp_path / "two")
        auth = {"Authorization": f"Bearer {token}"}
        # Each on a new connection: a shared port would hand some to the other process.
        statuses = {
            httpx.get(f"{first.url}/api/devices", headers=auth).status_code for _ in range(30)
        }
        assert statuses == {200}
    finally:
        first.terminate()


def test_the_lan_https_port_is_checked_too(data_dir: Path) -> None:
    https_port = free_port()
    with socket.create_server(("127.0.0.1", https_port)):
        result = start(data_dir, None, "--https", "--https-port", str(https_port))
        sentence = the_sentence(result, data_dir)
    assert sentence.startswith(f"Port {https_port} on ") and sentence.endswith(
        "choose a free port with --https-port."
    )


# -- finding 12: the data folder's mode -------------------------------------------------------


def test_a_folder_the_app_makes_is_private(tmp_path: Path) -> None:
    data = tmp_path / "new"
    ServerProcess(data).start().terminate()
    assert data.stat().st_mode & 0o777 == 0o700


def test_an_existing_private_folder_keeps_its_mode(tmp_path: Path) -> None:
    data = tmp_path / "mine"
    data.mkdir(mode=0o750)
    data.chmod(0o750)
    ServerProcess(data).start().terminate()
    assert data.stat().st_mode & 0o7777 == 0o750  # readable by the group: the user's choice


@pytest.mark.parametrize("mode", [0o1777, 0o775, 0o757], ids=oct)
def test_a_folder_others_can_write_to_is_refused_and_left_alone(tmp_path: Path, mode: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    (shared / "someone-elses.txt").write_text("not ours")
    result = start(shared)
    sentence = the_sentence(result)  # no log: nothing is written into a folder it refuses
    assert sentence == (
        f"{shared} can be changed by other users (mode {mode:o}), so it cannot hold Study "
        f"Notifier's keys; run `chmod go-w {shared}` or use a folder only you can write to."
    )
    assert shared.stat().st_mode & 0o7777 == mode
    assert sorted(p.name for p in shared.iterdir()) == ["someone-elses.txt"]


# -- finding 11: the login link ---------------------------------------------------------------


def test_the_login_link_is_not_printed_without_a_terminal(data_dir: Path) -> None:
    server = ServerProcess(data_dir).start()  # stdout is a file here, as in a service's journal
    try:
        time.sleep(0.5)
        output = server.output()
        assert "Study Notifier is running at" in output
        assert "/login?t=" not in output and "notifier login" in output
        link = subprocess.run(
            [
                sys.executable,
                "-m",
                "notifier",
                "login",
                "--no-browser",
                "--data-dir",
                str(data_dir),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        assert link.startswith(f"{server.url}/login?t=")
        signed_in = httpx.get(link, follow_redirects=False)
        assert signed_in.status_code == 303 and "notifier_session" in signed_in.cookies
    finally:
        server.terminate()
    assert "/login?t=" not in (data_dir / "logs" / "notifier.log").read_text()


def test_the_login_link_is_printed_on_a_terminal(data_dir: Path) -> None:
    port = free_port()
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "notifier", "serve", "--no-browser"]
        + ["--data-dir", str(data_dir), "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"/login?t=" not in seen and time.monotonic() < deadline:
            try:
                seen += os.read(leader, 65536)
            except OSError:
                break
    finally:
        proc.terminate()
        proc.wait(15)
        os.close(leader)
    assert f"Sign this computer's browser in with http://127.0.0.1:{port}/login?t=".encode() in seen
