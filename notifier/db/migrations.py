"""Schema migrations: an ordered list of small named functions, applied once each.

The schema version is `PRAGMA user_version` = number of migrations applied.
A database with a higher version than this list was written by a newer app;
it is refused and left untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


async def m001_initial(db: aiosqlite.Connection) -> None:
    """Settings, device tokens, push subscriptions and idempotency records."""
    await db.execute(
        """CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL              -- JSON
        )"""
    )
    await db.execute(
        """CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE, -- sha256 hex of the bearer token
            label TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT 'device',
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )"""
    )
    await db.execute(
        """CREATE TABLE push_subscriptions (
            id INTEGER PRIMARY KEY,
            endpoint TEXT NOT NULL UNIQUE,
            p256dh TEXT NOT NULL,
            auth TEXT NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            expiration_time INTEGER,         -- ms since epoch, from the browser
            token_id INTEGER REFERENCES tokens(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            last_success_at TEXT,
            last_error TEXT,
            last_error_at TEXT,
            failure_count INTEGER NOT NULL DEFAULT 0
        )"""
    )
    await db.execute(
        """CREATE TABLE idempotency (
            token_id INTEGER NOT NULL,
            key TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            status INTEGER NOT NULL,
            body BLOB NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (token_id, key)
        )"""
    )


async def m002_scheduling(db: aiosqlite.Connection) -> None:
    """Study blocks, occurrence state, the reminders outbox and its delivery log."""
    await db.execute(
        """CREATE TABLE blocks (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            notes TEXT NOT NULL DEFAULT '',
            start_local TEXT NOT NULL,       -- naive wall time 'YYYY-MM-DDTHH:MM[:SS]'
            timezone TEXT NOT NULL,          -- IANA name
            duration_minutes INTEGER NOT NULL,
            rrule TEXT,                      -- RFC 5545 RRULE without 'RRULE:'
            reminder_offsets TEXT,           -- JSON list; NULL = the settings' default
            reminders INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    await db.execute(
        """CREATE TABLE occurrence_state (
            block_id INTEGER NOT NULL REFERENCES blocks(id) ON DELETE CASCADE,
            occurrence_key TEXT NOT NULL,    -- start in UTC, YYYYMMDDTHHMMSSZ
            status TEXT NOT NULL DEFAULT 'planned',  -- planned | done | skipped
            snoozed_until TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (block_id, occurrence_key)
        )"""
    )
    await db.execute(
        """CREATE TABLE reminders (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,        -- identity: one row, one notification tag
            kind TEXT NOT NULL,              -- reminder | summary | missed
            block_id INTEGER REFERENCES blocks(id) ON DELETE SET NULL,
            occurrence_key TEXT,
            offset_minutes INTEGER,
            due_at TEXT NOT NULL,
            next_attempt_at TEXT,            -- a retry after 429/5xx; NULL = due_at
            status TEXT NOT NULL DEFAULT 'pending',
            late INTEGER NOT NULL DEFAULT 0,
            title TEXT,
            body TEXT,
            text_source TEXT,                -- llm | fallback
            text_error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            sent_at TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    await db.execute("CREATE INDEX reminders_by_status_due ON reminders (status, due_at)")
    await db.execute("CREATE INDEX reminders_by_block ON reminders (block_id, occurrence_key)")
    await db.execute(
        """CREATE TABLE deliveries (
            reminder_id INTEGER NOT NULL REFERENCES reminders(id) ON DELETE CASCADE,
            subscription_id INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            status INTEGER,
            detail TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL,
            PRIMARY KEY (reminder_id, subscription_id)
        )"""
    )
    await db.execute(
        """CREATE TABLE scheduler_state (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )"""
    )
    await db.execute(
        """CREATE TABLE llm_usage (
            day TEXT PRIMARY KEY,            -- local date
            calls INTEGER NOT NULL
        )"""
    )


async def m003_pairing(db: aiosqlite.Connection) -> None:
    """One-time codes: phone pairing codes and desktop login links, stored hashed."""
    await db.execute(
        """CREATE TABLE pairing_codes (
            id INTEGER PRIMARY KEY,
            code_hash TEXT NOT NULL UNIQUE,  -- sha256 hex of kind:code
            kind TEXT NOT NULL,              -- pair | login
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            token_id INTEGER REFERENCES tokens(id) ON DELETE SET NULL
        )"""
    )


async def m004_calendar(db: aiosqlite.Connection) -> None:
    """One-session changes (RFC 5545 RDATE, EXDATE and RECURRENCE-ID overrides) and the
    calendar identity (UID) of imported blocks."""
    await db.execute(
        """CREATE TABLE occurrence_changes (
            block_id INTEGER NOT NULL REFERENCES blocks(id) ON DELETE CASCADE,
            occurrence_key TEXT NOT NULL,    -- original start in UTC, YYYYMMDDTHHMMSSZ (RECURRENCE-ID)
            original_local TEXT NOT NULL,    -- the same start as naive wall time in the block's zone
            added INTEGER NOT NULL DEFAULT 0,      -- 1: an extra date (RDATE), not from the rule
            cancelled INTEGER NOT NULL DEFAULT 0,  -- 1: this session is off (EXDATE)
            start_local TEXT,                -- moved to this naive local time; NULL = not moved
            duration_minutes INTEGER,        -- NULL = the block's
            updated_at TEXT NOT NULL,
            PRIMARY KEY (block_id, occurrence_key)
        )"""
    )
    await db.execute("ALTER TABLE blocks ADD COLUMN ical_uid TEXT")  # UID of an imported event
    await db.execute(
        "ALTER TABLE blocks ADD COLUMN ical_source TEXT"
    )  # which calendar it came from
    await db.execute(
        "CREATE UNIQUE INDEX blocks_by_ical_uid ON blocks (ical_uid) WHERE ical_uid IS NOT NULL"
    )


async def m005_plan_version(db: aiosqlite.Connection) -> None:
    """A counter that every change to what the agenda shows moves on (kept by triggers).

    Caches of expanded days (the context of a reminder's text) compare it instead of
    expanding every block again; triggers also catch writes from another process.
    """
    await db.execute(
        """CREATE TABLE plan_version (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        )"""
    )
    await db.execute("INSERT INTO plan_version (id, version) VALUES (1, 0)")
    for table in ("blocks", "occurrence_state", "occurrence_changes", "settings"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            await db.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_plan AFTER {event} ON {table} "
                "BEGIN UPDATE plan_version SET version = version + 1; END"
            )


async def m006_quiet_hours(db: aiosqlite.Connection) -> None:
    """A reminder held through quiet hours keeps the time it was first due (it says it was held)."""
    await db.execute("ALTER TABLE reminders ADD COLUMN held_from TEXT")


async def m007_action_uses(db: aiosqlite.Connection) -> None:
    """Each notification button (action token, action) applies once; kept until the token expires."""
    await db.execute(
        """CREATE TABLE action_uses (
            token_mac TEXT NOT NULL,         -- the token's MAC: its identity
            action TEXT NOT NULL,
            used_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            PRIMARY KEY (token_mac, action)
        )"""
    )


async def m008_missed_count(db: aiosqlite.Connection) -> None:
    """The count of a "you missed N" reminder in its own column, not only inside its key."""
    await db.execute("ALTER TABLE reminders ADD COLUMN missed_count INTEGER")
    # Keys of such rows are missed:<n>:<stamp>; the key itself stays as it is (it is the tag).
    await db.execute(
        "UPDATE reminders SET missed_count = CAST(substr(key, 8, instr(substr(key, 8), ':') - 1) AS INTEGER) "
        "WHERE kind = 'missed' AND key LIKE 'missed:%:%'"
    )


async def m009_agenda_items(db: aiosqlite.Connection) -> None:
    """The agenda's items kept as JSON text for the weeks around now (plan/agenda.py).

    An item depends on its block and the block's one-session changes only (its state is
    joined when it is read), so triggers drop a block's items and mark it stale whenever
    either changes, from this process or another: kept items are never out of date.
    """
    await db.execute(
        """CREATE TABLE agenda_items (
            start_utc TEXT NOT NULL,          -- as clock.iso writes it: sorts as the instants do
            block_id INTEGER NOT NULL REFERENCES blocks(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,             -- the item's place among its block's at one start
            occurrence_key TEXT NOT NULL,     -- whose occurrence_state the item shows
            item TEXT NOT NULL,               -- the item's JSON, without state
            state_at INTEGER NOT NULL,        -- where its status text begins
            state_end INTEGER NOT NULL,       -- where the text after its snoozed_until begins
            fixed_status TEXT,                -- a status no state changes (cancelled)
            PRIMARY KEY (start_utc, block_id, seq)
        ) WITHOUT ROWID"""
    )
    await db.execute("CREATE INDEX agenda_items_by_block ON agenda_items (block_id)")
    await db.execute(
        """CREATE TABLE agenda_span (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            start_utc TEXT NOT NULL,          -- the items of every block starting in
            end_utc TEXT NOT NULL             -- [start_utc, end_utc) are kept, but the stale's
        )"""
    )
    await db.execute("CREATE TABLE agenda_stale (block_id INTEGER PRIMARY KEY)")
    stale = (
        "DELETE FROM agenda_items WHERE block_id = {row}.block_id; "
        "INSERT OR IGNORE INTO agenda_stale (block_id) VALUES ({row}.block_id);"
    )
    await db.execute(
        "CREATE TRIGGER blocks_insert_agenda AFTER INSERT ON blocks BEGIN "
        "INSERT OR IGNORE INTO agenda_stale (block_id) VALUES (NEW.id); END"
    )
    await db.execute(
        "CREATE TRIGGER blocks_update_agenda AFTER UPDATE ON blocks BEGIN "
        "DELETE FROM agenda_items WHERE block_id = OLD.id; "
        "INSERT OR IGNORE INTO agenda_stale (block_id) VALUES (NEW.id); END"
    )
    await db.execute(
        "CREATE TRIGGER blocks_delete_agenda AFTER DELETE ON blocks BEGIN "
        "DELETE FROM agenda_stale WHERE block_id = OLD.id; END"
    )
    for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        await db.execute(
            f"CREATE TRIGGER occurrence_changes_{event.lower()}_agenda AFTER {event} "
            f"ON occurrence_changes BEGIN {stale.format(row=row)} END"
        )


MIGRATIONS: tuple[Migration, ...] = (
    m001_initial,
    m002_scheduling,
    m003_pairing,
    m004_calendar,
    m005_plan_version,
    m006_quiet_hours,
    m007_action_uses,
    m008_missed_count,
    m009_agenda_items,
)

SCHEMA_VERSION = len(MIGRATIONS)
