"""Backups of the data folder: one .zip with the database and the secret files, and restore.

The database is copied with SQLite's online backup API (https://www.sqlite.org/backup.html),
so a backup taken while the app runs is consistent: a plain file copy can miss what
still sits in the -wal file. The secret files (VAPID key, action secret, API key, the
LAN CA) travel with it, so a restored app keeps its phones: their subscriptions are
bound to the VAPID key. A manifest lists every member with its SHA-256; restore checks
all of it (hashes, SQLite's integrity check, schema version) in a staging folder
before it touches the data folder, and moves the previous contents aside, never away.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO

from notifier import __version__
from notifier.clock import iso
from notifier.db.migrations import SCHEMA_VERSION
from notifier.errors import BackupError

FORMAT = "study-notifier-backup"
FORMAT_VERSION = 1
DB_NAME = "notifier.sqlite3"
MANIFEST = "manifest.json"
FILES = "files/"  # the other files of the data folder, by their path in it
# Not data: which process holds the folder, and its logs (they are no use on another machine).
SKIPPED = frozenset({"notifier.lock", "instance.json", "logs"})
MAX_MEMBER = 1 << 30  # a member bigger than this is not ours (a zip bomb, say)
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Manifest:
    """What a backup holds: its schema version and each member's SHA-256."""

    created_at: str
    app_version: str
    schema_version: int
    files: dict[str, str]  # member name -> sha256 hex

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": self.created_at,
                "app_version": self.app_version,
                "schema_version": self.schema_version,
                "files": self.files,
            },
            indent=2,
        ).encode()


def default_name(now: datetime) -> str:
    """The file name `notifier backup` picks: sortable by date, no characters Windows refuses."""
    return f"study-notifier-backup-{now:%Y%m%d-%H%M%S}.zip"


def write_backup(data_dir: Path, out: IO[bytes], now: datetime) -> Manifest:
    """Write a backup of `data_dir` as a zip to `out` (the app may be running)."""
    db_path = data_dir / DB_NAME
    if not db_path.is_file():
        raise BackupError(f"There is no database at {db_path}: nothing to back up.")
    with tempfile.TemporaryDirectory(prefix="notifier-backup-") as tmp:  # mode 0700
        snapshot = Path(tmp) / DB_NAME
        version = _snapshot(db_path, snapshot)
        members: dict[str, Path] = {DB_NAME: snapshot}
        for rel, path in _data_files(data_dir):
            members[FILES + rel] = path
        hashes: dict[str, str] = {}
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, path in members.items():
                digest = hashlib.sha256()
                info = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16
                with open(path, "rb") as src, zf.open(info, "w") as dst:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        dst.write(chunk)
                hashes[name] = digest.hexdigest()
            manifest = Manifest(iso(now), __version__, version, hashes)
            zf.writestr(MANIFEST, manifest.to_json())
    return manifest


def backup_bytes(data_dir: Path, now: datetime) -> bytes:
    """A backup as bytes (the download in the app)."""
    buf = io.BytesIO()
    write_backup(data_dir, buf, now)
    return buf.getvalue()


def backup_to_file(data_dir: Path, target: Path, now: datetime) -> Manifest:
    """Write a backup to a new file `target`, readable by its owner only."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise BackupError(f"{target} already exists; choose another file name.") from None
    except OSError as exc:
        raise BackupError(f"Cannot write {target}: {exc.strerror}.") from None
    try:
        with os.fdopen(fd, "wb") as out:
            manifest = write_backup(data_dir, out, now)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return manifest


def _snapshot(db_path: Path, target: Path) -> int:
    """Copy the live database with the online backup API; return its schema version."""
    try:
        src = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)
        try:
            src.execute("PRAGMA busy_timeout = 5000")
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
                _drop_kept_agenda(dst)
                # One self-contained file: no -wal beside it in the archive.
                dst.execute("PRAGMA journal_mode = DELETE")
                version = int(dst.execute("PRAGMA user_version").fetchone()[0])
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"Cannot read the database {db_path}: {exc}.") from None
    os.chmod(target, 0o600)
    return version


def _drop_kept_agenda(conn: sqlite3.Connection) -> None:
    """Leave out the agenda's kept items (tens of MB with thousands of blocks): they are
    made from the blocks again after a restore (see plan.agenda.keep)."""
    kept = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agenda_items'"
    ).fetchone()
    if kept is not None:
        with conn:
            conn.execute("DELETE FROM agenda_items")
            conn.execute("DELETE FROM agenda_span")
            conn.execute("DELETE FROM agenda_stale")
        conn.execute("VACUUM")


def _data_files(data_dir: Path) -> Iterator[tuple[str, Path]]:
    """(path relative to the folder, path) of every file to back up besides the database."""
    for folder, dirs, files in os.walk(data_dir):
        here = Path(folder)
        rel_dir = here.relative_to(data_dir)
        if rel_dir == Path("."):
            dirs[:] = [d for d in dirs if d not in SKIPPED]
        dirs.sort()
        for name in sorted(files):
            if rel_dir == Path(".") and (name in SKIPPED or name.startswith(DB_NAME)):
                continue  # the database (and its -wal, -shm) goes in through the snapshot
            if name.endswith(".tmp"):
                continue  # a secret being written right now
            path = here / name
            if path.is_file() and not path.is_symlink():
                yield (rel_dir / name).as_posix(), path


# -- restore ------------------------------------------------------------------------


def check_archive(archive: Path, staging: Path) -> Manifest:
    """Unpack `archive` into the empty folder `staging`, checking everything on the way.

    Raises BackupError saying what is wrong; `staging` then holds nothing useful.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except FileNotFoundError:
        raise BackupError(f"There is no file {archive}.") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(
            f"{archive} is not a Study Notifier backup, or it is cut short ({exc})."
        ) from None
    with zf:
        manifest = _read_manifest(zf, archive)
        names = set(zf.namelist()) - {MANIFEST}
        if names != set(manifest.files):
            extra = sorted(names ^ set(manifest.files))
            raise BackupError(
                f"{archive} was changed after it was made: {extra[0]!r} does not match its list of files."
            )
        for name, expected in manifest.files.items():
            target = staging.joinpath(*_safe_parts(name, archive))
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            digest = hashlib.sha256()
            size = 0
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            try:
                with zf.open(name) as src, os.fdopen(os.open(target, flags, 0o600), "wb") as dst:
                    while chunk := src.read(_CHUNK):
                        size += len(chunk)
                        if size > MAX_MEMBER:
                            raise BackupError(f"{archive}: {name} is far too large for a backup.")
                        digest.update(chunk)
                        dst.write(chunk)
            except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
                raise BackupError(f"{archive} is damaged: {name} cannot be read ({exc}).") from None
            if digest.hexdigest() != expected:
                raise BackupError(
                    f"{archive} was damaged or changed: {name} does not match its checksum."
                )
    _check_database(staging / DB_NAME, manifest, archive)
    return manifest


def _read_manifest(zf: zipfile.ZipFile, archive: Path) -> Manifest:
    try:
        raw = json.loads(zf.read(MANIFEST))
        if raw.get("format") != FORMAT:
            raise ValueError("not our format")
        manifest = Manifest(
            created_at=str(raw["created_at"]),
            app_version=str(raw["app_version"]),
            schema_version=int(raw["schema_version"]),
            files={str(k): str(v) for k, v in dict(raw["files"]).items()},
        )
    except KeyError:
        raise BackupError(
            f"{archive} is not a Study Notifier backup (it has no manifest)."
        ) from None
    except (ValueError, TypeError, AttributeError, zipfile.BadZipFile):
        raise BackupError(
            f"{archive} is not a Study Notifier backup (its manifest is unreadable)."
        ) from None
    if int(raw.get("format_version", 0)) > FORMAT_VERSION:
        raise BackupError(f"{archive} was made by a newer version of Study Notifier; update first.")
    if DB_NAME not in manifest.files:
        raise BackupError(f"{archive} holds no database.")
    return manifest


def _safe_parts(name: str, archive: Path) -> tuple[str, ...]:
    """A member name as path parts inside the staging folder; anything else is refused."""
    path = PurePosixPath(name)
    if name == DB_NAME:
        return (DB_NAME,)
    parts = path.parts
    if (
        not name.startswith(FILES)
        or path.is_absolute()
        or "\\" in name
        or any(p in ("", ".", "..") or ":" in p for p in parts)
        or len(parts) < 2
        or parts[1] in SKIPPED
        or parts[1].startswith(DB_NAME)
    ):
        raise BackupError(f"{archive} holds a file it should not: {name!r}.")
    return parts[1:]


def _check_database(path: Path, manifest: Manifest, archive: Path) -> None:
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{archive}: the database in it is not usable ({exc}).") from None
    if result != [("ok",)]:
        raise BackupError(f"{archive}: the database in it fails SQLite's integrity check.")
    if version != manifest.schema_version:
        raise BackupError(f"{archive}: the database does not match its manifest.")
    if version > SCHEMA_VERSION:
        raise BackupError(
            f"{archive} was made by a newer version of Study Notifier (schema {version}; this "
            f"version knows {SCHEMA_VERSION}). Restore it with that version or newer."
        )


def restore(archive: Path, data_dir: Path, now: datetime, *, keep: frozenset[str]) -> Path | None:
    """Replace the contents of `data_dir` with the backup in `archive`.

    The caller holds the folder's instance lock (so no app runs on it); `keep` names
    entries that stay where they are (that lock file). The archive is checked in full
    first; the previous contents go to a folder beside `data_dir`, whose path is
    returned (None when there was nothing to keep aside).
    """
    stamp = f"{now:%Y%m%d-%H%M%S}"
    parent = data_dir.parent
    staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restore-", dir=parent))
    try:
        check_archive(archive, staging)
        aside = parent / f"{data_dir.name}.before-restore-{stamp}"
        old = [p for p in sorted(data_dir.iterdir()) if p.name not in keep]
        moved: list[tuple[Path, Path]] = []
        placed: list[Path] = []
        try:
            if old:
                aside.mkdir(mode=0o700)
                for path in old:
                    os.replace(path, aside / path.name)
                    moved.append((aside / path.name, path))
            for item in sorted(staging.iterdir()):
                dest = data_dir / item.name
                os.replace(item, dest)
                placed.append(dest)
        except OSError as exc:
            for dest in placed:  # put everything back as it was
                if dest.is_dir():
                    shutil.rmtree(dest, ignore_errors=True)
                else:
                    dest.unlink(missing_ok=True)
            for src, dest in reversed(moved):
                os.replace(src, dest)
            if old:
                aside.rmdir()
            raise BackupError(
                f"Restoring into {data_dir} failed ({exc}); nothing was changed."
            ) from None
        return aside if old else None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_only(archive: Path) -> Manifest:
    """Check an archive without restoring it (a dry run)."""
    with tempfile.TemporaryDirectory(prefix="notifier-check-") as tmp:
        return check_archive(archive, Path(tmp))
