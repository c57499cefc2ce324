"""`notifier import FILE`, `notifier backup [FILE]`, `notifier restore FILE`."""

from __future__ import annotations

from pathlib import Path

from notifier.clock import utcnow
from notifier.config import Config
from notifier.errors import BackupError, CalendarError


def import_file(config: Config, path: Path, *, dry_run: bool) -> int:
    """Import an .ics file straight into the database; a running app picks it up within a minute."""
    from notifier.calendar.imports import import_calendar
    from notifier.db import Database
    from notifier.plan import prefs as prefs_mod
    from notifier.plan.blocks import effective_timezone
    from notifier.serve.codes import with_database

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CalendarError(f"Cannot read {path}: {exc.strerror}.") from None

    async def run(db: Database) -> str:
        now = utcnow()
        prefs = await prefs_mod.load(db)
        outcome = await import_calendar(db, data, effective_timezone(prefs), now, dry_run=dry_run)
        if outcome.block_ids:
            # The scheduler (running now, or at its next start) recomputes reminders.
            await db.request_resync(now)
        lines = [outcome.summary()]
        lines += [f"  skipped: {s.summary or s.uid}: {s.reason}" for s in outcome.skipped]
        lines += [
            f"  no longer in the file: {r['title']} (block {r['block_id']})"
            for r in outcome.removed_from_file
        ]
        return "\n".join(lines)

    print(with_database(config, run))
    return 0


def backup(config: Config, target: Path | None) -> int:
    """Write a backup .zip (works while the app runs)."""
    from notifier.db.backup import backup_to_file, default_name

    now = utcnow()
    target = target or Path.cwd() / default_name(now)
    if not config.data_dir.is_dir():
        raise BackupError(f"There is no data folder at {config.data_dir}: nothing to back up.")
    manifest = backup_to_file(config.data_dir, target, now)
    print(
        f"Backup written to {target} (the database and {len(manifest.files) - 1} key file(s)).\n"
        "It holds your keys and device tokens: keep it as private as the data folder."
    )
    return 0


def restore(config: Config, archive: Path) -> int:
    """Restore a backup into the data folder; refuses while the app runs on it."""
    from notifier.db.backup import restore as restore_archive
    from notifier.secretfiles import ensure_private_dir
    from notifier.serve.instance import LOCK_FILE, InstanceLock

    if not archive.is_file():
        raise BackupError(f"There is no file {archive}.")
    ensure_private_dir(config.data_dir)
    with InstanceLock(config.data_dir):  # AlreadyRunning: the app is using the folder
        aside = restore_archive(archive, config.data_dir, utcnow(), keep=frozenset({LOCK_FILE}))
    print(f"Restored {archive} into {config.data_dir}.")
    if aside is not None:
        print(f"What was there before is kept in {aside}.")
    return 0
