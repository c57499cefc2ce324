"""Reminder texts written by Claude, with a built-in text whenever that fails.

`Composer.compose` never raises and keeps to a time budget (`timeout` per
attempt, at most one retry after a wait of at most MAX_RETRY_WAIT), so the
scheduler can prepare texts ahead and a reminder is never late because of the
LLM (issue 4). The anthropic SDK is imported on first use, in a thread:
importing it costs over a second (`warm_up` does it ahead of time).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from notifier.plan.prefs import DEFAULT_PERSONA
from notifier.texts.fallback import fallback_text
from notifier.texts.message import (
    BODY_MAX,
    TITLE_MAX,
    MessageContext,
    Situation,
    Text,
    clip,
    situation,
    time_of_day,
)

log = logging.getLogger(__name__)

MAX_TOKENS = 300  # a JSON title + body is well under 100 tokens; room for chatter we reject
BACKOFF = 0.25  # seconds before the one retry when the API names no Retry-After
MAX_RETRY_WAIT = 1.0  # a longer Retry-After means: give up now, the fallback is fine
MAX_PAUSE = 3600.0  # longest we stay away after a 429/529 with a long Retry-After

# -- the prompt ---------------------------------------------------------------

# The prompt asks for a little less than a text may have (TITLE_MAX, BODY_MAX): models
# miscount characters, and a near miss should still pass `validate_output`.
ASK_TITLE_MAX = TITLE_MAX - 10
ASK_BODY_MAX = BODY_MAX - 20

SYSTEM_RULES = f"""\
You write the text of one phone notification for a study reminder app.
Rules:
- Answer with only a JSON object and nothing else: {{"title": "...", "body": "..."}}
- title: at most {ASK_TITLE_MAX} characters. body: at most {ASK_BODY_MAX} characters, one or two short sentences.
- Plain text only. No markdown: no asterisks, no underscores for emphasis, no # headings, \
no backticks, no links, no lists. At most one emoji.
- Write in the same language as the block title.
- Sound like a friend texting: specific to this block and this moment, never generic. \
Mention the block by its title.
- Use only the facts given. Do not invent deadlines, grades or plans."""

SITUATIONS: dict[Situation, str] = {
    "before": "A reminder shortly before a study block starts.",
    "now": "A reminder that a study block starts right now.",
    "started": "A reminder for a study block that has already started.",
    "late": (
        "A late reminder: the computer was off or asleep, so this goes out after it was "
        "due. Own it lightly and still nudge them to start."
    ),
    "missed": (
        "A catch-up note: reminders were missed while the computer was off. Say how many, "
        "be kind, and point them to today's plan. Do not list the missed blocks."
    ),
    "summary": "The daily summary: today's study blocks at a glance.",
    "check": (
        "The study block just ended. Ask how it went, warmly and briefly; the notification "
        "has buttons for done, not done and a few more minutes, so do not list options."
    ),
    "test": "A test notification the user sent to check that notifications reach their phone.",
}
USER_CLOSING = "Reply with the JSON object only."
PROMPT_TITLE_MAX = 200  # of the block title and notes quoted in the prompt
PROMPT_NOTES_MAX = 500
PROMPT_SUMMARY_TITLE_MAX = 80  # of each block title in a summary's list


def _starts(minutes: int) -> str:
    if minutes == 0:
        return "now"
    unit = "minute" if abs(minutes) == 1 else "minutes"
    return f"in {minutes} {unit}" if minutes > 0 else f"{-minutes} {unit} ago"


def build_prompt(ctx: MessageContext) -> tuple[str, str]:
    """The (system, user) prompt for a context; pure, so tests can read it."""
    persona = ctx.persona.strip() or DEFAULT_PERSONA
    system = f"{persona}\n\n{SYSTEM_RULES}"
    lines = [SITUATIONS[situation(ctx)]]
    if ctx.kind in ("reminder", "missed", "check") and ctx.block_title.strip():
        lines.append(f"Block title: {clip(ctx.block_title, PROMPT_TITLE_MAX)}")
    if ctx.kind == "reminder":
        lines.append(f"Block notes: {clip(ctx.block_notes, PROMPT_NOTES_MAX) or 'none'}")
        lines.append(f"Starts: {_starts(ctx.minutes_until)}")
    local = ctx.local_time.strftime("%A %H:%M")
    lines.append(f"Local time: {local} ({time_of_day(ctx.local_time)})")
    if ctx.kind == "missed":
        lines.append(f"Missed reminders: {ctx.missed_count}")
    if ctx.kind in ("reminder", "missed") and ctx.planned_today:
        lines.append(f"Progress today: {ctx.done_today} of {ctx.planned_today} study blocks done")
    if ctx.kind == "summary":
        items = "; ".join(
            f"{hhmm} {clip(title, PROMPT_SUMMARY_TITLE_MAX)}" for hhmm, title in ctx.summary_items
        )
        lines.append(f"Today's blocks still ahead: {items or 'none'}")
        if ctx.yesterday is not None:
            lines.append(f"Yesterday: {ctx.yesterday[0]} of {ctx.yesterday[1]} study blocks done")
    lines.append(USER_CLOSING)
    return system, "\n".join(lines)


# -- checking the model's reply -----------------------------------------------

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S | re.I)
_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“"}
_MARKDOWN = (
    (re.compile(r"[*`]"), "asterisks or backticks"),
    (re.compile(r"__|~~"), "markdown emphasis"),
    # `_word_` emphasis; snake_case underscores inside words are plain text.
    (re.compile(r"(?<!\w)_+(?=\S).*?(?<=\S)_+(?!\w)"), "underscore emphasis"),
    (re.compile(r"^\s{0,3}#{1,6}(\s|$)", re.M), "a markdown heading"),
    (re.compile(r"\]\("), "a markdown link"),  # "](" is a link, or half of one
    (re.compile(r"^\s*(?:[-+•]|\d{1,3}[.)])(?:\s|$)", re.M), "a list"),
    (re.compile(r"^\s*(?:=+|-+|_{3,})\s*$", re.M), "a markdown rule or underline"),
    (re.compile(r"^\s*>", re.M), "a quote block"),
    (re.compile(r"</?[A-Za-z][^>]*>"), "HTML"),
)


def markdown_problem(text: str) -> str | None:
    """What makes `text` look like markdown or HTML, or None when it is plain."""
    for pattern, what in _MARKDOWN:
        if pattern.search(text):
            return what
    return None


def _strip_quotes(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and _QUOTE_PAIRS.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def _field(name: str, value: Any, limit: int, max_newlines: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a string")
    text = _strip_quotes(value.replace("\r\n", "\n"))
    if not text:
        raise ValueError(f"{name} is empty")
    if len(text) > limit:
        raise ValueError(f"{name} is {len(text)} characters, more than {limit}")
    if text.count("\n") > max_newlines:
        raise ValueError(f"{name} has more than {max_newlines} line break(s)")
    if any(c != "\n" and unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text):
        raise ValueError(f"{name} contains control characters")
    if problem := markdown_problem(text):
        raise ValueError(f"{name} contains {problem}")
    return text


def validate_output(raw: str) -> tuple[str, str]:
    """The (title, body) of the model's JSON reply; ValueError says why it is unusable."""
    text = raw.strip()
    # A code fence around the whole JSON is packaging, not content: unwrap it.
    if fence := _FENCE.match(text):
        text = fence.group(1)
    if not text:
        raise ValueError("empty reply")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # deep nesting exhausts the parser's recursion
        raise ValueError("reply is not JSON") from None
    if not isinstance(data, dict) or set(data) != {"title", "body"}:
        raise ValueError('reply is not a JSON object with just "title" and "body"')
    return _field("title", data["title"], TITLE_MAX, 0), _field("body", data["body"], BODY_MAX, 1)


# -- the composer -------------------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    error: str
    retry_after: float | None = None  # None: do not retry


def _retry_after(headers: Any) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds form), if given."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return max(0.0, float(headers.get(name)) / scale)
        except (TypeError, ValueError):
            continue
    return None


def _status_error(status: int, api_message: str | None) -> str:
    known = {
        401: "API key rejected (401)",
        403: "API key not allowed to do this (403)",
        429: "rate limited by the API (429)",
        529: "API overloaded (529)",
    }
    if status in known:
        return known[status]
    if status >= 500:
        return f"API server error ({status})"
    return f"API refused the request ({status}): {api_message or 'no detail'}"[:200]


class Composer:
    """Writes reminder texts with Claude; any problem yields the fallback text instead."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        model: str,
        daily_cap: int,
        count_call: Callable[[date], Awaitable[int]],
        timeout: float = 8.0,
        max_retries: int = 1,
        enabled: bool = True,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`count_call(day)` records one API call on the user's local `day`, returns the day's total;
        `sleep` is the wait before the retry (tests record it instead of timing it)."""
        if max_retries not in (0, 1):
            raise ValueError("max_retries must be 0 or 1: at most one retry per call")
        self.api_key = api_key or None
        self.base_url = base_url or None
        self.model = model
        self.daily_cap = daily_cap
        self.timeout = timeout
        self.max_retries = max_retries
        self.enabled = enabled
        self._count_call = count_call
        self._clock = clock
        self._sleep = sleep
        self._client: Any = None
        self._key_rejected = False
        self._paused_until = 0.0  # time.monotonic(); set by a long Retry-After

    async def compose(self, ctx: MessageContext) -> Text:
        """Claude's text for `ctx`, or the fallback with the reason; never raises."""
        try:
            return await self._compose(ctx)
        except Exception as exc:  # the send path must never see an exception
            log.exception("composer failed for %s", ctx.seed)
            return self._fallback(ctx, f"internal error: {exc!r}"[:200])

    async def warm_up(self) -> None:
        """Load the SDK now, off the event loop, so the first compose does not pay for it."""
        if self._unavailable() is None:
            await self._sdk_client()

    async def close(self) -> None:
        """Close the SDK client's connections, if one was made."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    @property
    def configured(self) -> bool:
        """Set up to call the API at all: LLM texts on, a key, a cap above 0."""
        return self.enabled and bool(self.api_key) and self.daily_cap > 0

    def _unavailable(self) -> str | None:
        if not self.enabled:
            return "LLM texts are turned off"
        if not self.api_key:
            return "no Anthropic API key set"
        if self.daily_cap <= 0:
            return "daily LLM call cap is 0"
        if self._key_rejected:
            return "API key rejected (401); set a valid key"
        wait = self._paused_until - time.monotonic()
        if wait > 0:
            return f"rate limited by the API; trying again in {wait:.0f} s"
        return None

    async def _compose(self, ctx: MessageContext) -> Text:
        if reason := self._unavailable():
            return self._fallback(ctx, reason)
        system, user = build_prompt(ctx)
        today = self._clock().astimezone(ctx.local_time.tzinfo).date()
        failure = _Failure("no attempt made")
        for attempt in range(self.max_retries + 1):
            # Every request counts, retries too: the cap is what we may spend a day.
            if await self._count_call(today) > self.daily_cap:
                failure = _Failure(f"daily cap of {self.daily_cap} LLM calls reached")
                break
            result = await self._attempt(system, user)
            if isinstance(result, Text):
                return result
            failure = result
            if failure.retry_after is None or attempt == self.max_retries:
                break
            await self._sleep(failure.retry_after)
        log.warning("LLM text not used for %s: %s", ctx.seed, failure.error)
        return self._fallback(ctx, failure.error)

    async def _sdk_client(self) -> Any:
        if self._client is None:
            # Imported on first use, in a thread: it takes over a second, which
            # would stall start-up, or the scheduler if done on the event loop.
            anthropic = await asyncio.to_thread(importlib.import_module, "anthropic")
            if self._client is None:  # another compose may have made it meanwhile
                # Retries are ours (see _attempt): the SDK would sleep for any
                # Retry-After the server names, however long, and hide why it failed.
                self._client = anthropic.AsyncAnthropic(
                    api_key=self.api_key,
                    base_url=self.base_url,
                    timeout=self.timeout,
                    max_retries=0,
                )
        return self._client

    async def _attempt(self, system: str, user: str) -> Text | _Failure:
        """One request; a Text on success, else why not and whether to retry."""
        try:
            client = await self._sdk_client()
        except ImportError as exc:
            return _Failure(f"anthropic SDK not available: {exc}")
        try:
            # The SDK's timeout bounds each read, not the whole answer; this does.
            async with asyncio.timeout(self.timeout):
                message = await client.messages.create(
                    model=self.model,
                    max_tokens=MAX_TOKENS,
                    system=system,
                    messages=[{"role": "user", "content": user}],
                )
        except Exception as exc:
            return self._failure(exc)
        text = "".join(
            getattr(block, "text", "") for block in message.content if block.type == "text"
        )
        try:
            title, body = validate_output(text)
        except ValueError as exc:
            return _Failure(f"unusable reply: {exc}")
        return Text(title, body, "llm")

    def _failure(self, exc: Exception) -> _Failure:
        import anthropic

        if isinstance(exc, (TimeoutError, anthropic.APITimeoutError)):
            return _Failure(f"timed out after {self.timeout:g} s", BACKOFF)
        if isinstance(exc, anthropic.APIConnectionError):
            return _Failure(f"cannot reach the API: {exc.__cause__ or exc}"[:200], BACKOFF)
        if not isinstance(exc, anthropic.APIStatusError):
            return _Failure(f"API client error: {exc!r}"[:200])
        status = exc.status_code
        error = _status_error(status, getattr(exc, "api_message", None))
        if status == 401:
            self._key_rejected = True  # the same key will not start working; stop spending calls
        if status not in (408, 409, 429) and status < 500:
            return _Failure(error)
        wait = _retry_after(exc.response.headers)
        if wait is not None and wait > MAX_RETRY_WAIT:
            if status in (429, 529):
                self._paused_until = time.monotonic() + min(wait, MAX_PAUSE)
            return _Failure(f"{error}, retry after {wait:g} s")
        return _Failure(error, BACKOFF if wait is None else wait)

    def _fallback(self, ctx: MessageContext, error: str) -> Text:

        try:
            text = fallback_text(ctx)
        except Exception:  # a bug here must still not stop the reminder going out
            log.exception("fallback text failed for %s", ctx.seed)
            text = Text("Study time", "Time for your study block.", "fallback")
        return Text(text.title, text.body, "fallback", error)
