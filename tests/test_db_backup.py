"""Backup and restore: taken while reminders go out, restored into a fresh folder, phones keep working.

Bad archives (truncated, tampered, not ours, from a newer version) are refused with a
clear message and leave the data folder exactly as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import running_api
from fakeclock import FakeClock

from notifier.access.tokens import mint_token
from notifier.config import load_config
from notifier.db.backup import DB_NAME, MANIFEST, check_only, restore
from notifier.errors import BackupError

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NOTIFIER_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "notifier", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its hash: to show that nothing changed."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "notifier.lock"  # the lock a refused restore takes is no data
    }


async def test_backup_while_sending_then_restore_keeps_blocks_settings_devices_and_phones(
    make_api, wpt, tmp_path, data_dir
):
    clock = FakeClock(T0)
    async with make_api(extra_hosts=wpt.host_port, clock=clock, run_scheduler=False) as api:
        await api.put(
            "/api/settings", json={"timezone": "Europe/Berlin", "default_offsets": [0, 5, 10]}
        )
        key = (await api.client.get("/api/push/vapid-public-key")).json()["key"]
        phone = wpt.subscribe(key)
        assert (await api.post("/api/push/subscriptions", json=phone)).status_code == 201
        for n in range(6):
            body = {
                "title": f"Block {n}",
                "start": f"2026-11-23T09:{10 + n:02d}",
                "duration_minutes": 30,
            }
            assert (await api.post("/api/blocks", json=body)).status_code == 201
        move = await api.patch(
            "/api/blocks/1/occurrences/20261123T081000Z", json={"start": "2026-11-23T12:00"}
        )
        assert move.status_code == 200
        before_blocks = (await api.get("/api/blocks")).json()
        before_settings = (await api.get("/api/settings")).json()
        before_devices = (await api.get("/api/devices")).json()
        before_changes = await api.db.occurrence_changes()
        week = {"from": "2026-11-23T00:00", "to": "2026-11-30T00:00"}
        before_agenda = (await api.get("/api/agenda", params=week)).json()
        assert len(before_agenda["occurrences"]) == 6

        sending = asyncio.Event()

        async def send_reminders() -> int:
            """Step through the morning's reminders while the backup runs."""
            sent = 0
            await api.app.state.scheduler.tick()
            while clock.now() < T0 + timedelta(hours=1):
                clock.advance(minutes=1)
                await api.app.state.scheduler.tick()
                await api.app.state.scheduler.drain()
                sent = len(wpt.messages(phone))
                if sent:
                    sending.set()
            return sent

        sender = asyncio.create_task(send_reminders())
        await asyncio.wait_for(sending.wait(), 60)
        archive = tmp_path / "backup.zip"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "notifier", "backup", str(archive),
            env={**os.environ, "NOTIFIER_DATA_DIR": str(data_dir)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert "Backup written to" in out.decode()
        assert await sender > 0
        vapid_key = key

    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
    assert {DB_NAME, MANIFEST, "files/vapid_private.pem", "files/action_secret"} <= names
    assert not any("lock" in n or "instance.json" in n or n.startswith("files/logs") for n in names)
    with zipfile.ZipFile(archive) as zf:  # the agenda's kept items are left out: made again
        (tmp_path / "archived.sqlite3").write_bytes(zf.read(DB_NAME))
    archived = sqlite3.connect(tmp_path / "archived.sqlite3")
    assert archived.execute("SELECT count(*) FROM agenda_items").fetchone() == (0,)
    assert archived.execute("SELECT count(*) FROM blocks").fetchone() == (6,)
    archived.close()
    # The API hands out the same kind of archive.
    async with make_api(run_scheduler=False) as api:
        # A paired phone's token may not carry the keys away; the computer's own may.
        refused = await api.get("/api/backup")
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        _, script_token = await mint_token(
            api.app.state.db, "backup script", kind="cli", now=api.app.state.clock.now()
        )
        download = await api.client.get(
            "/api/backup", headers={"Authorization": f"Bearer {script_token}"}
        )
        assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
        assert "attachment" in download.headers["content-disposition"]
        assert zipfile.ZipFile(io.BytesIO(download.content)).testzip() is None
        assert (await api.client.get("/api/backup")).status_code == 401

    fresh = tmp_path / "restored"
    result = cli("restore", str(archive), data_dir=fresh)
    assert result.returncode == 0, result.stderr
    assert "Restored" in result.stdout
    assert stat.S_IMODE((fresh / "vapid_private.pem").stat().st_mode) == 0o600

    config = load_config({"data_dir": str(fresh), "push_extra_hosts": wpt.host_port})
    async with running_api(
        config, subject=None, clock=FakeClock(T0 + timedelta(hours=2)), run_scheduler=False
    ) as api:
        assert (await api.get("/api/blocks")).json() == before_blocks
        after_settings = (await api.get("/api/settings")).json()
        assert after_settings == before_settings

        def same(d):  # what a device is (not when it was last seen)
            return (d["id"], d["name"], d["kind"], d["paired_at"], d["notifications"])

        devices = {same(d) for d in (await api.get("/api/devices")).json()}
        assert {same(d) for d in before_devices} < devices  # plus this test's own token
        assert await api.db.occurrence_changes() == before_changes
        assert (await api.get("/api/agenda", params=week)).json() == before_agenda
        assert (await api.client.get("/api/push/vapid-public-key")).json()["key"] == vapid_key
        # The phone's subscription still works: the push service checks the same VAPID key.
        count = len(wpt.messages(phone))
        test = await api.post("/api/push/test")
        assert test.status_code == 200, test.text
        assert [r["outcome"] for r in test.json()["results"]] == ["delivered"]
        assert len(wpt.wait_for_messages(phone, count + 1)) == count + 1


def test_restore_refuses_while_the_app_runs_and_keeps_the_old_folder(tmp_path, data_dir):
    assert cli("token", data_dir=data_dir).returncode == 0  # a data folder with a database
    archive = tmp_path / "b.zip"
    assert cli("backup", str(archive), data_dir=data_dir).returncode == 0
    again = cli("backup", str(archive), data_dir=data_dir)
    assert again.returncode == 1 and "already exists" in again.stderr

    from notifier.serve.instance import InstanceLock

    with InstanceLock(data_dir):  # what a running app holds
        before = snapshot(data_dir)
        busy = cli("restore", str(archive), data_dir=data_dir)
        assert busy.returncode == 1 and "already running" in busy.stderr
        assert snapshot(data_dir) == before
    (data_dir / "notes-to-self.txt").write_text("mine")
    done = cli("restore", str(archive), data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("data.before-restore-")]
    assert len(aside) == 1 and (aside[0] / "notes-to-self.txt").read_text() == "mine"
    assert not (data_dir / "notes-to-self.txt").exists()
    assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name]  # no staging left over


def _rewrite(archive: Path, target: Path, change) -> Path:
    """A copy of `archive` with its members changed by change(name, data) -> data | None."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info.filename))
            if data is not None:
                dst.writestr(info.filename, data)
    return target


def _manifest_with(archive: Path, **fields):
    def change(name, data):
        if name != MANIFEST:
            return data
        return json.dumps({**json.loads(data), **fields}).encode()

    return change


@pytest.fixture
def good_archive(tmp_path, data_dir) -> Path:
    assert cli("token", data_dir=data_dir).returncode == 0
    archive = tmp_path / "good.zip"
    assert cli("backup", str(archive), data_dir=data_dir).returncode == 0
    (data_dir / "action_secret").exists() or (data_dir / "action_secret").write_bytes(b"x")
    return archive


def _flip_db_byte(name, data):
    if name != DB_NAME:
        return data
    return data[:5000] + bytes([data[5000] ^ 0xFF]) + data[5001:]


BAD = {
    "truncated": (
        lambda a, t: _write(t, a.read_bytes()[: a.stat().st_size // 2]),
        "cut short",
    ),
    "not a zip": (lambda a, t: _write(t, b"hello"), "not a Study Notifier backup"),
    "tampered database": (lambda a, t: _rewrite(a, t, _flip_db_byte), "checksum"),
    "extra file": (
        lambda a, t: _rewrite(a, t, lambda n, d: d) and _append(t, "files/evil.pem", b"x"),
        "does not match its list",
    ),
    "path outside": (
        lambda a, t: (
            _rewrite(a, t, _manifest_with(a, files={**_files(a), "files/../../evil": "0"}))
            and _append(t, "files/../../evil", b"x")
        ),
        "should not",
    ),
    "newer schema": (lambda a, t: _rewrite(a, t, _newer_db(a)), "newer version"),
    "no manifest": (
        lambda a, t: _rewrite(a, t, lambda n, d: None if n == MANIFEST else d),
        "no manifest",
    ),
}


def _write(target: Path, data: bytes) -> Path:
    target.write_bytes(data)
    return target


def _files(archive: Path) -> dict[str, str]:
    with zipfile.ZipFile(archive) as zf:
        return json.loads(zf.read(MANIFEST))["files"]


def _append(archive: Path, name: str, data: bytes) -> Path:
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(name, data)
    return archive


def _newer_db(archive: Path):
    """The database with a schema version from the future, and a manifest to match it."""
    import sqlite3
    import tempfile

    with zipfile.ZipFile(archive) as zf:
        db = zf.read(DB_NAME)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.sqlite3"
        path.write_bytes(db)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version = 999")
        conn.commit()
        conn.close()
        newer = path.read_bytes()
    files = {**_files(archive), DB_NAME: hashlib.sha256(newer).hexdigest()}

    def change(name, data):
        if name == DB_NAME:
            return newer
        if name == MANIFEST:
            return json.dumps({**json.loads(data), "schema_version": 999, "files": files}).encode()
        return data

    return change


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_archives_are_refused_and_change_nothing(good_archive, tmp_path, data_dir, case):
    make, message = BAD[case]
    bad = make(good_archive, tmp_path / f"{case.replace(' ', '_')}.zip")
    with pytest.raises(BackupError) as caught:
        check_only(bad)
    assert message in caught.value.detail
    before = snapshot(data_dir)
    result = cli("restore", str(bad), data_dir=data_dir)
    assert result.returncode == 1 and message in result.stderr
    assert snapshot(data_dir) == before
    assert [
        p.name for p in tmp_path.iterdir() if "before-restore" in p.name or ".restore-" in p.name
    ] == []
    with pytest.raises(BackupError):
        restore(bad, data_dir, T0, keep=frozenset({"notifier.lock"}))
    assert snapshot(data_dir) == before


def test_backup_of_a_folder_without_a_database_says_so(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("backup", str(tmp_path / "x.zip"), data_dir=empty)
    assert result.returncode == 1 and "nothing to back up" in result.stderr
    assert not (tmp_path / "x.zip").exists()
