"""Built-in texts: always fitting, plain, specific to the block, stable per reminder key."""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.push import payload as payloads
from notifier.texts.claude import validate_output
from notifier.texts.fallback import EMPTY_BODIES, EMPTY_TITLES, NAME_MAX, fallback_text
from notifier.texts.message import BODY_MAX, TITLE_MAX, MessageContext

BERLIN = timezone(timedelta(hours=1))
EVENING = datetime(2026, 11, 23, 18, 45, tzinfo=BERLIN)

# Titles a user might type that are plain text themselves (no markdown, no list markers).
plain_titles = st.text(
    st.characters(categories=("L", "N"), include_characters=" ,!?'"), max_size=80
)
any_titles = st.text(max_size=200)
hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


def contexts(titles: st.SearchStrategy[str]) -> st.SearchStrategy[MessageContext]:
    return st.builds(
        MessageContext,
        kind=st.sampled_from(["reminder", "summary", "missed", "test"]),
        seed=st.text(max_size=60),
        local_time=st.datetimes(timezones=st.just(BERLIN)),
        block_title=titles,
        block_notes=titles,
        minutes_until=st.integers(-1440, 1440),
        late=st.booleans(),
        done_today=st.integers(0, 30),
        planned_today=st.integers(0, 30),
        summary_items=st.lists(st.tuples(hhmm, titles), max_size=12).map(tuple),
        missed_count=st.integers(0, 500),
    )


def _short(title: str) -> str | None:
    """The title as the text shows it, when it is short enough to be shown whole."""
    clean = " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in title).split())
    return clean if clean and len(clean) <= NAME_MAX else None


@settings(max_examples=300)
@given(contexts(any_titles))
def test_every_fallback_fits_a_notification(ctx: MessageContext) -> None:
    text = fallback_text(ctx)
    assert text.source == "fallback" and text.error is None
    assert 0 < len(text.title) <= TITLE_MAX and 0 < len(text.body) <= BODY_MAX
    message = payloads.build(kind="test", title=text.title, body=text.body, url="/", tag="k")
    assert (message["title"], message["body"]) == (text.title, text.body)  # never cut again
    assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text.title + text.body)


@settings(max_examples=300)
@given(contexts(plain_titles))
def test_fallbacks_from_plain_titles_pass_the_llm_output_check(ctx: MessageContext) -> None:
    text = fallback_text(ctx)
    raw = json.dumps({"title": text.title, "body": text.body})
    assert validate_output(raw) == (text.title.strip(), text.body.strip())


@settings(max_examples=300)
@given(contexts(any_titles))
def test_the_block_is_named_when_its_title_is_short(ctx: MessageContext) -> None:
    text = fallback_text(ctx)
    shown = f"{text.title}\n{text.body}"
    if ctx.kind in ("reminder", "missed") and (title := _short(ctx.block_title)):
        assert title in shown
    if ctx.kind == "summary" and ctx.summary_items and (first := _short(ctx.summary_items[0][1])):
        assert first in shown


@given(contexts(any_titles))
def test_the_same_reminder_key_gives_the_same_text(ctx: MessageContext) -> None:
    assert fallback_text(ctx) == fallback_text(ctx)


def reminder(seed: str, **kw) -> MessageContext:
    values = {
        "kind": "reminder",
        "local_time": EVENING,
        "block_title": "Organic chemistry",
        "minutes_until": 15,
    }
    return MessageContext(seed=seed, **{**values, **kw})


def test_texts_vary_between_reminders() -> None:
    texts = {fallback_text(reminder(f"block:1:2026-11-{day:02d}:15")) for day in range(1, 31)}
    assert len({t.title for t in texts}) >= 4 and len({t.body for t in texts}) >= 5


def test_reminder_texts_follow_the_situation() -> None:
    seeds = [f"k{i}" for i in range(20)]
    before = [fallback_text(reminder(s, minutes_until=90)) for s in seeds]
    assert all("1 h 30 min" in t.body for t in before)
    now = " ".join(fallback_text(reminder(s, minutes_until=0)).body for s in seeds)
    assert "in 15 min" not in now and "ago" not in now
    late = [fallback_text(reminder(s, minutes_until=-3, late=True)).body for s in seeds]
    assert all("started 3 min ago" in body for body in late)


def test_missed_summary_counts_and_names_the_last_block() -> None:
    ctx = MessageContext(
        kind="missed",
        seed="missed:2026-11-23",
        local_time=EVENING,
        missed_count=3,
        block_title="Physics",
    )
    text = fallback_text(ctx)
    assert "3 reminders" in text.title + text.body and "Physics" in text.body
    one = fallback_text(MessageContext(kind="missed", seed="m", local_time=EVENING, missed_count=1))
    assert "1 reminder" in one.body and "1 reminders" not in one.title + one.body


def test_daily_summary_lists_blocks_and_says_how_many_are_left_out() -> None:
    items = tuple(
        (f"{h:02d}:00", f"Chapter {h} of the very long textbook on thermodynamics")
        for h in range(8, 20)
    )
    text = fallback_text(
        MessageContext(
            kind="summary", seed="summary:2026-11-23", local_time=EVENING, summary_items=items
        )
    )
    assert "08:00 Chapter 8" in text.body and "more" in text.body and len(text.body) <= BODY_MAX
    empty = fallback_text(
        MessageContext(kind="summary", seed="summary:2026-11-24", local_time=EVENING)
    )
    assert empty.title in EMPTY_TITLES and empty.body in EMPTY_BODIES


def test_long_titles_are_shortened_with_an_ellipsis() -> None:
    text = fallback_text(reminder("k", block_title="A " + "very " * 40 + "long title"))
    assert "…" in text.title + text.body and len(text.title) <= TITLE_MAX


def test_a_missing_title_still_reads_well() -> None:
    bodies = [fallback_text(reminder(f"k{i}", block_title="  ")).body for i in range(10)]
    assert all(("study block" in b) and not b.startswith("your") for b in bodies)
