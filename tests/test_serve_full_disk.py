"""A full or read-only disk, for real: a small tmpfs (needs root to mount; skipped otherwise).

Reads keep working on a full disk (bookkeeping writes are best effort), a
change says the disk is full, and a start on a full or read-only disk gives
one sentence and exit code 2 without touching the data.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from procs import ServerProcess, notifier_cli
from test_serve_startup import snapshot, start, the_sentence, unchanged

pytestmark = pytest.mark.slow


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A fresh 8 MiB tmpfs; unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0 or not _mount(
        "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(where)
    ):
        pytest.skip("mounting a tmpfs needs root")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the disk holding `folder` has no room left."""
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as out:
        block = b"\0" * 65536
        try:
            while True:
                out.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        try:  # the last partial page
            while True:
                out.write(b"\0")
        except OSError:
            pass
    return filler


def empty_wal(db: Path) -> None:
    """Fold the WAL into the database and cut it to nothing, so the next write needs new room."""
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0


def test_reads_keep_working_on_a_full_disk(disk: Path) -> None:
    data = disk  # the data folder is the whole disk (the server's output goes beside it)
    server = ServerProcess(data).start()
    try:
        owner = {"Authorization": f"Bearer {notifier_cli(data, 'token')}"}
        block = {"title": "Reading", "start": "2026-12-01T09:00", "duration_minutes": 30}
        assert httpx.post(f"{server.url}/api/blocks", json=block, headers=owner).status_code == 201
        fresh = {
            "Authorization": f"Bearer {notifier_cli(data, 'token')}"
        }  # never used: its first use is recorded
        empty_wal(data / "notifier.sqlite3")
        filler = fill(disk)

        for path in (
            "/api/blocks",
            "/api/agenda?from=2026-11-30T00:00:00Z&to=2026-12-07T00:00:00Z",
            "/api/settings",
            "/api/devices",
            "/api/reminders",
            "/api/bootstrap",
        ):
            response = httpx.get(f"{server.url}{path}", headers=fresh)
            assert response.status_code == 200, (path, response.text)
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        assert httpx.get(f"{server.url}/").status_code == 200

        refused = httpx.post(f"{server.url}/api/blocks", json=block, headers=owner)
        assert (refused.status_code, refused.json()) == (
            507,
            {
                "error": "storage_full",
                "detail": "The server's disk is full, so this change was not saved; "
                "free some space on it and try again.",
            },
        )
        filler.unlink()
        assert httpx.post(f"{server.url}/api/blocks", json=block, headers=owner).status_code == 201
    finally:
        server.terminate()


def test_a_start_on_a_full_disk(disk: Path) -> None:
    data = disk  # the data folder is the whole disk (the server's output goes beside it)
    ServerProcess(data).start().terminate()
    fill(disk)
    before = snapshot(data)
    sentence = the_sentence(start(data))  # the log cannot take it: stderr only
    assert sentence.startswith("The disk holding ") and sentence.endswith(
        " is full; free some space, then start Study Notifier again."
    )
    assert str(data) in sentence
    assert unchanged(before, data)


def test_a_start_on_a_read_only_disk(disk: Path) -> None:
    data = disk  # the data folder is the whole disk (the server's output goes beside it)
    ServerProcess(data).start().terminate()
    before = snapshot(data)
    assert _mount("-o", "remount,ro", str(disk))
    sentence = the_sentence(start(data))
    assert sentence == (
        f"{data / 'notifier.lock'} cannot be written (Read-only file system); make the data "
        "folder writable by you, or choose another with --data-dir."
    )
    assert unchanged(before, data)
