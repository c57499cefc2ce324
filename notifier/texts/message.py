"""What a reminder text is made from and what it must fit: the context, the text, the limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from notifier.plan.prefs import DEFAULT_PERSONA
from notifier.push.payload import BODY_MAX, TITLE_MAX, clip

__all__ = [
    "BODY_MAX",
    "TITLE_MAX",
    "Kind",
    "MessageContext",
    "Situation",
    "Source",
    "Text",
    "clip",
    "situation",
    "span",
    "time_of_day",
]

# The limits of a text and its clip are the push payload's (push/payload.py): what a
# phone shows without cutting. Texts are written to fit them; the payload clips again.
Kind = Literal["reminder", "summary", "missed", "test", "check"]
Source = Literal["llm", "fallback"]
# What a text is about: a reminder before, at or after its block's start, or going out
# late; or one of the other kinds.
# "check" is the end of a block: how did it go?
Situation = Literal["before", "now", "started", "late", "missed", "summary", "test", "check"]


@dataclass(frozen=True, kw_only=True)
class MessageContext:
    """Everything a reminder text may talk about; pure data, built by the scheduler."""

    kind: Kind
    seed: str  # the reminder key: a resend gets the same fallback text
    local_time: datetime  # when the reminder is due, aware, in the user's time zone
    block_title: str = ""
    block_notes: str = ""
    minutes_until: int = 0  # until the block starts: 0 = now, negative = already started
    late: bool = False  # going out after its due time (within the late grace)
    done_today: int = 0
    planned_today: int = 0
    summary_items: tuple[tuple[str, str], ...] = ()  # (local "HH:MM", block title), still ahead
    yesterday: tuple[int, int] | None = None  # summary: (done, planned) yesterday, when planned
    missed_count: int = 0
    persona: str = DEFAULT_PERSONA


@dataclass(frozen=True)
class Text:
    """A notification text and where it came from; `error` says why the LLM's was not used."""

    title: str
    body: str
    source: Source
    error: str | None = None


def situation(ctx: MessageContext) -> Situation:
    """Which situation a context is in: decided here only, for Claude's prompt and the built-in texts."""
    if ctx.kind != "reminder":
        return ctx.kind
    if ctx.late:
        return "late"
    if ctx.minutes_until > 0:
        return "before"
    return "now" if ctx.minutes_until == 0 else "started"


def span(minutes: int) -> str:
    """A length of time as people write it: 15 min, 1 h, 1 h 30 min."""
    hours, mins = divmod(minutes, 60)
    if not hours:
        return f"{mins} min"
    return f"{hours} h" + (f" {mins} min" if mins else "")


def time_of_day(local_time: datetime) -> str:
    """morning, afternoon, evening or night, from the local hour."""
    hour = local_time.hour
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"
