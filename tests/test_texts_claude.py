"""The composer with the real anthropic SDK against a fake Messages API on loopback.

Every failure must still produce a fitting text, on time: the LLM is never on
the send path, and `compose` never raises.
"""

from __future__ import annotations

import collections
import json
import os
import re
import stat
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from peers.fake_anthropic import (
    FakeAnthropic,
    empty,
    markdown,
    overloaded,
    overlong,
    rate_limited,
    reply_json,
    server_error,
    slow,
)

from notifier.clock import utcnow
from notifier.config import load_config
from notifier.errors import BadRequest, ConfigError
from notifier.push import payload as payloads
from notifier.texts import api_key as llm_key
from notifier.texts.claude import (
    BACKOFF,
    BODY_MAX,
    MAX_TOKENS,
    TITLE_MAX,
    Composer,
    MessageContext,
    build_prompt,
    validate_output,
)

MODEL = "claude-haiku-4-5"
PERSONA = "You are Captain Cram, a pirate who nags sailors to study."
TIMEOUT = 0.5
# Tests about counting, caps and retries are not about speed: a loaded machine
# must not turn their first request into a timeout and an extra, counted retry.
RELAXED = 10.0
# One attempt, one short wait, one retry, plus slack for a loaded machine.
TIME_LIMIT = TIMEOUT * 2 + BACKOFF + 0.5
PARIS = timezone(timedelta(hours=1))
EVENING = datetime(2026, 11, 23, 18, 45, tzinfo=PARIS)
CTX = MessageContext(
    kind="reminder",
    seed="block:7:20261123T174500Z:15",
    local_time=EVENING,
    block_title="Organic chemistry",
    block_notes="Flashcards 1-40",
    minutes_until=15,
    done_today=1,
    planned_today=3,
    persona=PERSONA,
)


class CallCounter:
    """An in-memory `count_call`; in the app the database keeps the count across restarts."""

    def __init__(self) -> None:
        self.days: collections.Counter[date] = collections.Counter()

    async def __call__(self, day: date) -> int:
        self.days[day] += 1
        return self.days[day]


@pytest.fixture
def fake():
    with FakeAnthropic() as service:
        yield service


@pytest.fixture
async def make_composer(fake: FakeAnthropic):
    """Factory for composers pointed at the fake; all are closed afterwards."""
    made: list[Composer] = []

    def factory(**kw) -> Composer:
        values = dict(
            api_key=fake.api_key,
            base_url=fake.base_url,
            model=MODEL,
            timeout=RELAXED,
            max_retries=1,
            daily_cap=100,
            count_call=CallCounter(),
            clock=utcnow,
        )
        made.append(Composer(**{**values, **kw}))
        return made[-1]

    yield factory
    for composer in made:
        await composer.close()


async def timed_compose(composer: Composer, ctx: MessageContext = CTX):
    await composer.warm_up()  # time the API, not the one-off SDK import
    started = time.monotonic()
    text = await composer.compose(ctx)
    return text, time.monotonic() - started


def assert_request_carries_the_context(fake: FakeAnthropic) -> None:
    assert fake.bodies, "the fake saw no request"
    for body in fake.bodies:
        assert body["model"] == MODEL and body["max_tokens"] == MAX_TOKENS
        assert PERSONA in body["system"]
        assert "Organic chemistry" in body["messages"][0]["content"]


def assert_sensible_fallback(text, error_pattern: str) -> None:
    assert text.source == "fallback"
    assert re.search(error_pattern, text.error or "", re.I), text.error
    assert 0 < len(text.title) <= TITLE_MAX and 0 < len(text.body) <= BODY_MAX
    assert "Organic chemistry" in text.title + text.body


# -- talking to the fake -------------------------------------------------------


async def test_a_good_reply_is_used(fake: FakeAnthropic, make_composer) -> None:
    fake.queue(reply_json("Organic chem in 15!", "Flashcards at the ready, matey."))
    text, _ = await timed_compose(make_composer())
    assert (text.title, text.body, text.source, text.error) == (
        "Organic chem in 15!",
        "Flashcards at the ready, matey.",
        "llm",
        None,
    )
    assert len(fake.calls) == 1  # no retry
    assert_request_carries_the_context(fake)
    assert fake.calls[0].headers["Authorization"] == f"Bearer {fake.api_key}"


# (a reply, how many requests it takes with the one retry, the error it leaves, the
# composer's timeout); tests/test_texts_writer.py runs the same cases through the app.
# Only the slow case is about the timeout: the others get RELAXED, so a loaded machine
# cannot turn their quick answer into a timeout, an extra request and another error.
FAILURES = [
    pytest.param(lambda: rate_limited(retry_after=0), 2, r"rate limited.*429", RELAXED, id="429"),
    pytest.param(overloaded, 2, r"overloaded \(529\)", RELAXED, id="529"),
    pytest.param(server_error, 2, r"server error \(500\)", RELAXED, id="500"),
    pytest.param(lambda: slow(TIMEOUT + 0.5), 2, r"timed out after 0.5 s", TIMEOUT, id="slow"),
    pytest.param(empty, 1, r"unusable reply: empty", RELAXED, id="empty"),
    pytest.param(overlong, 1, r"unusable reply: body .* more than 180", RELAXED, id="overlong"),
    pytest.param(markdown, 1, r"unusable reply: .*(asterisks|markdown)", RELAXED, id="markdown"),
]


@pytest.mark.parametrize("reply, attempts, error, timeout", FAILURES)
async def test_failures_fall_back_on_time(
    fake: FakeAnthropic, make_composer, reply, attempts, error, timeout
) -> None:
    fake.queue(*(reply() for _ in range(attempts)))  # the fake answers well after these
    text, elapsed = await timed_compose(make_composer(timeout=timeout))
    assert_sensible_fallback(text, error)
    assert elapsed < TIME_LIMIT
    assert len(fake.calls) == attempts  # retried once at most; bad output is not retried
    assert_request_carries_the_context(fake)


async def test_a_wrong_key_falls_back_and_stops_asking(fake: FakeAnthropic, make_composer) -> None:
    composer = make_composer(api_key="sk-ant-api03-not-the-right-key-0000000000")
    text, elapsed = await timed_compose(composer)
    assert_sensible_fallback(text, r"key rejected \(401\)")
    assert elapsed < TIME_LIMIT and len(fake.calls) == 1
    assert_request_carries_the_context(fake)
    again = await composer.compose(CTX)
    assert_sensible_fallback(again, r"401")
    assert len(fake.calls) == 1


async def test_one_failure_then_success_uses_the_retry(fake: FakeAnthropic, make_composer) -> None:
    counter = CallCounter()
    fake.queue(server_error(), reply_json("Chem o'clock", "Go go go."))
    text = await make_composer(count_call=counter).compose(CTX)
    assert (text.source, text.title) == ("llm", "Chem o'clock")
    assert len(fake.calls) == 2 and sum(counter.days.values()) == 2


async def test_a_long_retry_after_is_not_waited_for_but_respected(
    fake: FakeAnthropic, make_composer
) -> None:
    composer = make_composer()
    fake.queue(rate_limited(retry_after=30))
    text, elapsed = await timed_compose(composer)
    assert_sensible_fallback(text, r"rate limited.*retry after 30 s")
    assert elapsed < TIME_LIMIT and len(fake.calls) == 1  # not the 30 s asked for
    later = await composer.compose(CTX)
    assert_sensible_fallback(later, r"rate limited.*trying again in")
    assert len(fake.calls) == 1


async def test_a_retry_after_within_reach_is_honoured(fake: FakeAnthropic, make_composer) -> None:
    # The wait asked for is recorded, not timed: a loaded machine stretches the time
    # between two requests, never the wait the composer chose (not BACKOFF, not the cap).
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    fake.queue(overloaded(retry_after=0.4))
    text = await make_composer(sleep=sleep).compose(CTX)
    assert text.source == "llm" and len(fake.calls) == 2
    assert waits == [0.4]


async def test_the_daily_cap_stops_calls_and_survives_a_restart(
    fake: FakeAnthropic, make_composer
) -> None:
    counter = CallCounter()
    composer = make_composer(daily_cap=2, count_call=counter)
    assert [(await composer.compose(CTX)).source for _ in range(3)] == ["llm", "llm", "fallback"]
    restarted = make_composer(daily_cap=2, count_call=counter)
    text = await restarted.compose(CTX)
    assert_sensible_fallback(text, r"daily cap of 2 LLM calls reached")
    assert len(fake.calls) == 2


async def test_a_retry_counts_against_the_cap(fake: FakeAnthropic, make_composer) -> None:
    fake.queue(server_error())
    text = await make_composer(daily_cap=1).compose(CTX)
    assert_sensible_fallback(text, r"daily cap of 1")
    assert len(fake.calls) == 1


async def test_calls_are_counted_on_the_users_local_day(fake: FakeAnthropic, make_composer) -> None:
    counter = CallCounter()
    late_utc = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # already the 24th in Paris
    await make_composer(count_call=counter, clock=lambda: late_utc).compose(CTX)
    assert counter.days == {date(2026, 11, 24): 1}


@pytest.mark.parametrize(
    "kw, error",
    [
        ({"api_key": None}, r"no Anthropic API key"),
        ({"api_key": ""}, r"no Anthropic API key"),
        ({"enabled": False}, r"turned off"),
        ({"daily_cap": 0}, r"cap is 0"),
    ],
)
async def test_without_a_key_or_when_off_nothing_is_sent(
    fake: FakeAnthropic, make_composer, kw, error
) -> None:
    counter = CallCounter()
    composer = make_composer(count_call=counter, **kw)
    assert_sensible_fallback(await composer.compose(CTX), error)
    await composer.warm_up()
    assert fake.calls == [] and not counter.days and composer._client is None


async def test_compose_never_raises(make_composer) -> None:
    async def broken_counter(day: date) -> int:
        raise RuntimeError("database is locked")

    text = await make_composer(count_call=broken_counter).compose(CTX)
    assert_sensible_fallback(text, r"internal error.*database is locked")


async def test_one_client_serves_every_call(fake: FakeAnthropic, make_composer) -> None:
    composer = make_composer()
    await composer.warm_up()
    client = composer._client
    assert client is not None and fake.calls == []
    first = await composer.compose(CTX)
    second = await composer.compose(CTX)
    assert first.source == second.source == "llm" and composer._client is client
    await composer.close()
    assert composer._client is None


def test_more_than_one_retry_is_refused() -> None:
    with pytest.raises(ValueError, match="at most one retry"):
        Composer(
            api_key="k",
            base_url=None,
            model=MODEL,
            daily_cap=1,
            count_call=CallCounter(),
            clock=utcnow,
            max_retries=2,
        )


def test_importing_the_composer_does_not_import_the_sdk() -> None:
    code = "import sys, notifier.texts.claude, notifier.texts.fallback, notifier.texts.api_key; sys.exit('anthropic' in sys.modules)"
    root = Path(__file__).resolve().parent.parent
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


# -- the prompt ----------------------------------------------------------------


def test_the_prompt_carries_what_makes_a_message_good() -> None:
    system, user = build_prompt(CTX)
    assert system.startswith(PERSONA) and "JSON" in system and "markdown" in system
    assert "same language as the block title" in system
    for fact in ("Organic chemistry", "Flashcards 1-40", "in 15 minutes", "evening", "1 of 3"):
        assert fact in user
    assert (
        "now"
        in build_prompt(
            MessageContext(kind="reminder", seed="s", local_time=EVENING, minutes_until=0)
        )[1]
    )
    late = build_prompt(
        MessageContext(kind="reminder", seed="s", local_time=EVENING, late=True, minutes_until=-4)
    )[1]
    assert "late reminder" in late and "4 minutes ago" in late
    missed = build_prompt(
        MessageContext(kind="missed", seed="s", local_time=EVENING, missed_count=3)
    )[1]
    assert "Missed reminders: 3" in missed
    items = (("09:00", "Maths"), ("14:00", "Essay"))
    summary = build_prompt(
        MessageContext(kind="summary", seed="s", local_time=EVENING, summary_items=items)
    )[1]
    assert "09:00 Maths; 14:00 Essay" in summary
    blank_persona = build_prompt(
        MessageContext(kind="test", seed="s", local_time=EVENING, persona="  ")
    )[0]
    assert blank_persona.startswith("You are the user's study buddy")


def test_the_prompt_asks_for_a_little_less_than_the_check_accepts() -> None:
    system, _ = build_prompt(CTX)
    asked = re.search(r"title: at most (\d+) characters\. body: at most (\d+) characters", system)
    assert asked is not None
    title, body = int(asked[1]), int(asked[2])
    assert 0.75 * TITLE_MAX <= title < TITLE_MAX and 0.75 * BODY_MAX <= body < BODY_MAX
    # A reply of exactly the asked length passes the check.
    assert validate_output(raw("T" * title, "b" * body)) == ("T" * title, "b" * body)


# -- checking the model's reply --------------------------------------------------


def raw(title: object, body: object) -> str:
    return json.dumps({"title": title, "body": body})


@pytest.mark.parametrize(
    "reply, expected",
    [
        (raw("Maths in 15", "Grab your notes."), ("Maths in 15", "Grab your notes.")),
        ('```json\n{"title": "Hi", "body": "Go."}\n```', ("Hi", "Go.")),
        (raw(' "Quoted" ', "“Fancy quotes”"), ("Quoted", "Fancy quotes")),
        (raw("exam_prep time", "Line one.\nLine two."), ("exam_prep time", "Line one.\nLine two.")),
        (
            raw("#1 fan of C# homework", "5 - 3 = 2, easy."),
            ("#1 fan of C# homework", "5 - 3 = 2, easy."),
        ),
    ],
)
def test_plain_replies_are_accepted(reply: str, expected: tuple[str, str]) -> None:
    assert validate_output(reply) == expected


@pytest.mark.parametrize(
    "reply, reason",
    [
        ("", "empty"),
        ("Sure! Here you go: Maths now", "not JSON"),
        ('["Maths", "now"]', 'just "title" and "body"'),
        ('{"title": "Maths", "body": "Go", "emoji": "x"}', "just"),
        (raw("Maths", 5), "body is not a string"),
        (raw("  ", "Go"), "title is empty"),
        (raw("x" * 61, "Go"), "title is 61 characters"),
        (raw("Maths", "y" * 181), "body is 181 characters"),
        (raw("Maths\nnow", "Go"), "title has more than 0 line break"),
        (raw("Maths", "a\nb\nc"), "body has more than 1 line break"),
        (raw("Maths", "tab\x07bell"), "control characters"),
        (raw("**Maths** now", "Go"), "asterisks"),
        (raw("Maths", "Go _now_ please"), "underscore emphasis"),
        (raw("Maths", "__init__ time"), "emphasis"),
        (raw("Maths", "# Maths"), "heading"),
        (raw("Maths", "Run `make study`"), "backticks"),
        (raw("Maths", "See [notes](https://example.org)"), "link"),
        (raw("Maths", "- open the book\n- read"), "list"),
        (raw("Maths", "Tip:\n1. read"), "list"),
        (raw("Maths", "> quoted"), "quote"),
        (raw("Maths", "<b>now</b>"), "HTML"),
        (raw("Maths", "~~later~~ now"), "emphasis"),
        (raw("Maths", "Big title\n==="), "underline"),
        (raw("Maths", "Go\n-"), "list"),
    ],
)
def test_unusable_replies_are_rejected_with_a_reason(reply: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        validate_output(reply)


MARKDOWN_ANYWHERE = [
    "**bold**",
    "*it*",
    "`code`",
    " _word_ ",
    "[notes](https://x.example)",
    "~~no~~",
    "<i>x</i>",
]
MARKDOWN_AT_LINE_START = ["# ", "## ", "- ", "+ ", "1. ", "2) ", "> "]
plain = st.text(
    st.characters(categories=("L", "N"), include_characters=" ,!?'"), min_size=1, max_size=60
)
noisy = st.text(st.sampled_from(list("ab _*#`[]()-+>1.\n\"'<>~") + ["x", " "]), max_size=250)


@given(plain, plain, st.sampled_from(MARKDOWN_ANYWHERE), st.integers(0, 60), st.booleans())
def test_markdown_anywhere_is_rejected(
    title: str, body: str, snippet: str, at: int, in_title: bool
) -> None:
    if in_title:
        title = title[:at] + snippet + title[at:]
    else:
        body = body[:at] + snippet + body[at:]
    with pytest.raises(ValueError):
        validate_output(raw(title, body))


@given(plain, plain, st.sampled_from(MARKDOWN_AT_LINE_START), st.booleans())
def test_markdown_blocks_are_rejected(
    title: str, body: str, marker: str, second_line: bool
) -> None:
    body = f"{body}\n{marker}{body}" if second_line else marker + body
    with pytest.raises(ValueError):
        validate_output(raw(title, body))


@given(noisy | st.text(max_size=250), noisy | st.text(max_size=250))
def test_whatever_is_accepted_fits_and_is_plain(title: str, body: str) -> None:
    try:
        got_title, got_body = validate_output(raw(title, body))
    except ValueError:
        return
    assert 0 < len(got_title) <= TITLE_MAX and 0 < len(got_body) <= BODY_MAX
    # The payload's limits are the same: an accepted text reaches the phone uncut.
    message = payloads.build(kind="reminder", title=got_title, body=got_body, url="/", tag="k")
    assert message["title"] == " ".join(got_title.split())
    assert message["body"] == " ".join(got_body.split())
    assert "\n" not in got_title and got_body.count("\n") <= 1
    for text in (got_title, got_body):
        assert not re.search(r"[*`]|\]\(|__|~~|</?[A-Za-z][^>]*>", text)
        for line in text.split("\n"):
            assert not re.match(r"\s*(#{1,6}(\s|$)|[-+](\s|$)|>|\d+[.)](\s|$)|[-=]+\s*$)", line), (
                line
            )


@given(st.text(max_size=300))
def test_any_reply_is_either_accepted_or_refused_with_value_error(reply: str) -> None:
    try:
        validate_output(reply)
    except ValueError:
        pass


# -- the API key -----------------------------------------------------------------

KEY = "sk-ant-api03-" + "x" * 80 + "abcd"


def test_the_environment_key_wins(tmp_path: Path) -> None:
    llm_key.save_key(tmp_path, "sk-ant-api03-from-the-settings-screen-1234")
    config = load_config({"data_dir": str(tmp_path)}, environ={"ANTHROPIC_API_KEY": KEY})
    assert llm_key.load_key(config) == KEY and llm_key.key_source(config) == "env"


def test_a_saved_key_is_private_replaceable_and_clearable(tmp_path: Path) -> None:
    config = load_config({"data_dir": str(tmp_path / "data")}, environ={})
    assert llm_key.load_key(config) is None and llm_key.key_source(config) is None
    llm_key.save_key(config.data_dir, f"  {KEY}\n")
    path = config.data_dir / llm_key.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert llm_key.load_key(config) == KEY and llm_key.key_source(config) == "file"
    llm_key.save_key(config.data_dir, "sk-ant-api03-the-new-one-5678")
    assert llm_key.load_key(config) == "sk-ant-api03-the-new-one-5678"
    assert sorted(p.name for p in config.data_dir.iterdir()) == [
        llm_key.KEY_FILE
    ]  # no temp files left
    assert llm_key.clear_key(config.data_dir) and not llm_key.clear_key(config.data_dir)
    assert llm_key.load_key(config) is None


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    llm_key.save_key(tmp_path, KEY)
    os.chmod(tmp_path / llm_key.KEY_FILE, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        llm_key.load_key(load_config({"data_dir": str(tmp_path)}, environ={}))


@pytest.mark.parametrize(
    "bad", ["", "   ", "sk-ant key with spaces", "sk-ant-\x00", "ключ-" * 5, "k" * 501]
)
def test_keys_that_are_not_keys_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(BadRequest):
        llm_key.save_key(tmp_path, bad)
    assert not (tmp_path / llm_key.KEY_FILE).exists()


def test_masked_keys_are_recognisable() -> None:
    assert llm_key.masked(KEY) == "sk-ant-…abcd"
    assert llm_key.masked("x" * 40 + "wxyz") == "…wxyz"
    assert llm_key.masked("sk-ant-short") == "…" and llm_key.masked(None) == ""


@given(
    st.text(st.characters(codec="ascii", categories=("L", "N", "P", "S")), min_size=1, max_size=200)
)
def test_a_masked_key_never_shows_the_key(key: str) -> None:
    shown = llm_key.masked(key)
    assert key not in shown and len(shown) <= len("sk-ant-…") + 4
