"""What the database hands out: frozen records with parsed values, never raw rows.

Times are aware UTC datetimes, a block's zone is a loaded `ZoneInfo` and its
start a naive local wall time, an occurrence's start is parsed from its key.
Callers read fields; nothing above db/ parses stored text again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict
from zoneinfo import ZoneInfo

# A value as the settings table stores it (JSON).
JSON = str | int | float | bool | None | list["JSON"] | dict[str, "JSON"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """A study block: one-off, or repeating by an RFC 5545 RRULE."""

    id: int
    title: str
    notes: str
    start_local: datetime  # naive wall time in `tz`
    tz: ZoneInfo
    duration_minutes: int
    rrule: str | None  # without "RRULE:"
    reminder_offsets: tuple[int, ...] | None  # None: the settings' default
    reminders: bool
    ical_uid: str | None = None  # the UID of an imported calendar event
    ical_source: str | None = None  # the calendar it came from
    created_at: datetime
    updated_at: datetime

    @property
    def timezone(self) -> str:
        """The IANA name of the block's zone."""
        return self.tz.key


@dataclass(frozen=True, slots=True, kw_only=True)
class OccurrenceState:
    """What happened to one occurrence of a block (done, skipped, snoozed)."""

    block_id: int
    key: str  # the start in UTC as YYYYMMDDTHHMMSSZ
    start: datetime  # the same, parsed
    status: str  # planned | done | skipped
    snoozed_until: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OccurrenceChange:
    """How one session differs from its series (RFC 5545 RDATE, EXDATE, RECURRENCE-ID)."""

    block_id: int
    key: str  # the original start in UTC, YYYYMMDDTHHMMSSZ
    original_local: datetime  # the same start as naive wall time in the block's zone
    added: bool  # an extra date the rule does not produce
    cancelled: bool
    start_local: datetime | None  # moved here (naive local); None = not moved
    duration_minutes: int | None  # None = the block's


@dataclass(frozen=True, slots=True, kw_only=True)
class Reminder:
    """One row of the outbox: a notification to send once, and what became of it."""

    id: int
    key: str  # identity; the notification tag
    kind: str  # reminder | summary | missed
    block_id: int | None
    occurrence_key: str | None
    occurrence_start: datetime | None  # `occurrence_key` parsed
    offset_minutes: int | None
    missed_count: int | None  # for kind "missed": how many reminders it stands for
    due_at: datetime
    held_from: datetime | None  # held through quiet hours: when it was first due
    next_attempt_at: datetime | None
    status: str  # pending | sending | sent | failed | missed | cancelled
    late: bool
    title: str | None
    body: str | None
    text_source: str | None  # llm | fallback
    text_error: str | None
    attempts: int
    sent_at: datetime | None
    error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NewReminder:
    """A reminder to add to the outbox (ignored if its key exists)."""

    key: str
    kind: str
    due_at: datetime
    block_id: int | None = None
    occurrence_start: datetime | None = None
    offset_minutes: int | None = None
    missed_count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What one device's push service said about one reminder."""

    reminder_id: int
    subscription_id: int
    outcome: str  # delivered | gone | retry | error
    status: int | None
    detail: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """A browser's PushSubscription and its delivery health."""

    id: int
    endpoint: str
    p256dh: str
    auth: str
    label: str
    expiration_time: int | None  # ms since the epoch, from the browser
    token_id: int | None
    created_at: datetime
    updated_at: datetime
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failure_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """A live bearer token: a paired phone, a desktop browser or a script."""

    id: int
    label: str
    kind: str  # device | browser | cli
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStatus(Device):
    """A device with its push subscriptions summed up (the devices list)."""

    subscriptions: int  # how many it has
    last_delivery_at: datetime | None  # a push service last accepted one for it
    last_delivery_error: str | None  # the latest refusal, if any


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredResponse:
    """The first response to a request with an Idempotency-Key."""

    method: str
    path: str
    status: int
    body: bytes


class BlockChanges(TypedDict, total=False):
    """The fields of a block to set (all of them to create one)."""

    title: str
    notes: str
    start_local: datetime  # naive wall time
    timezone: str  # IANA name, already checked
    duration_minutes: int
    rrule: str | None  # canonical, already checked
    reminder_offsets: tuple[int, ...] | None
    reminders: bool
    ical_uid: str | None
    ical_source: str | None
