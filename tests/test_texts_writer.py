"""The composer task in the app: Claude's texts prepared ahead, never on the send path.

The real anthropic SDK talks to the fake Messages API on loopback (through
ANTHROPIC_BASE_URL), pushes go to web-push-testing, and time is a FakeClock:
the tests call `composing.run_once()` and `scheduler.tick()` themselves.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from fakeclock import FakeClock
from hypothesis import given
from hypothesis import strategies as st
from peers.fake_anthropic import FakeAnthropic, reply_json, slow
from test_texts_claude import FAILURES, MODEL, PERSONA, RELAXED

from notifier.texts import api_key as llm_key
from notifier.texts.message import BODY_MAX, TITLE_MAX
from notifier.texts.writer import preview_due

TITLE = "Linear algebra"
TZ = "Europe/Berlin"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the block, 10:00 in Berlin
DUE = START - timedelta(minutes=15)


@pytest.fixture
def fake():
    with FakeAnthropic() as service:
        yield service


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch, fake: FakeAnthropic) -> None:
    """The app reaches the fake through the SDK's own variables; no key unless a test sets one."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)


@pytest.fixture
def with_key(monkeypatch: pytest.MonkeyPatch, llm_env, fake: FakeAnthropic) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", fake.api_key)


@pytest.fixture
def make_app(make_api, wpt, clock, llm_env):
    """An app on the fake clock with no background loops, a phone on web-push-testing, a filled outbox."""

    @asynccontextmanager
    async def factory(timeout: float = RELAXED, **kw):
        # RELAXED unless a test is about the timeout: on a loaded machine a quick answer
        # must not time out and become a retry, a second call or a fallback.
        options = dict(
            clock=clock, run_scheduler=False, composer_options={"timeout": timeout}, **kw
        )
        async with make_api(extra_hosts=wpt.host_port, **options) as api:
            await api.put(
                "/api/settings", json={"timezone": TZ, "persona": PERSONA, "llm_model": MODEL}
            )
            vapid_key = (await api.client.get("/api/push/vapid-public-key")).json()["key"]
            api.subscription = wpt.subscribe(vapid_key)
            assert (
                await api.post("/api/push/subscriptions", json=api.subscription)
            ).status_code == 201
            api.scheduler = api.app.state.scheduler
            api.composing = api.app.state.composing
            await api.scheduler.tick()  # the outbox exists from T0 on
            yield api

    return factory


@pytest.fixture
async def app(with_key, make_app):
    async with make_app() as api:
        yield api


async def plan(api, **fields) -> str:
    """A block at 10:00 Berlin with a reminder 15 minutes before; returns that reminder's key."""
    body = {
        "title": TITLE,
        "notes": "Eigenvalues, sheet 4",
        "start": "2026-11-23T10:00",
        "duration_minutes": 60,
        "reminder_offsets": [15],
        **fields,
    }
    response = await api.post("/api/blocks", json=body)
    assert response.status_code == 201, response.text
    return f"b{response.json()['id']}:20261123T090000Z:15"


async def send_at(api, clock: FakeClock, when: datetime) -> float:
    """Move the clock, let the scheduler send what is due; returns the wall time it took."""
    clock.set(when)
    started = time.monotonic()
    await api.scheduler.tick()
    await api.scheduler.drain()
    return time.monotonic() - started


async def log_entry(api, key: str) -> dict:
    rows = (await api.get("/api/reminders", params={"limit": 500})).json()
    return next(r for r in rows if r["key"] == key)


def assert_request_carries_the_context(fake: FakeAnthropic, model: str = MODEL) -> None:
    assert fake.bodies, "the fake saw no request"
    for body in fake.bodies:
        assert body["model"] == model
        assert PERSONA in body["system"]
        assert TITLE in body["messages"][0]["content"]


# -- prepared ahead, sent as stored -----------------------------------------------


async def test_the_llm_text_is_prepared_ahead_and_is_what_the_phone_gets(
    app, fake, clock, wpt
) -> None:
    fake.queue(reply_json("Linear algebra in 15!", "Arr, hoist yer eigenvectors, sailor."))
    key = await plan(app)
    clock.set(DUE - timedelta(minutes=40))  # not yet within the look-ahead
    assert await app.composing.run_once() == 0 and fake.calls == []

    clock.set(DUE - timedelta(minutes=10))
    assert await app.composing.run_once() == 1
    stored = await log_entry(app, key)
    assert (stored["title"], stored["text_source"], stored["text_error"]) == (
        "Linear algebra in 15!",
        "llm",
        None,
    )
    assert_request_carries_the_context(fake)
    prompt = fake.bodies[0]["messages"][0]["content"]
    assert (
        "Starts: in 15 minutes" in prompt
        and "Eigenvalues, sheet 4" in prompt
        and "morning" in prompt
    )
    assert await app.composing.run_once() == 0  # written once

    await send_at(app, clock, DUE)
    [message] = wpt.wait_for_messages(app.subscription, 1)
    assert (message["title"], message["body"]) == (
        "Linear algebra in 15!",
        "Arr, hoist yer eigenvectors, sailor.",
    )
    entry = await log_entry(app, key)
    assert (entry["status"], entry["text_source"], entry["text_error"]) == ("sent", "llm", None)
    assert len(fake.calls) == 1  # sending never asks the LLM


@pytest.mark.parametrize("reply, attempts, error, timeout", FAILURES)
async def test_llm_failures_leave_a_fallback_that_goes_out_on_time(
    with_key, make_app, fake, clock, wpt, reply, attempts, error, timeout
) -> None:
    fake.queue(
        *(reply() for _ in range(attempts))
    )  # a good answer would follow: it must not be asked for
    async with make_app(timeout=timeout) as app:
        key = await plan(app)
        clock.set(DUE - timedelta(minutes=10))
        assert await app.composing.run_once() == 1
        assert len(fake.calls) == attempts
        assert_request_carries_the_context(fake)

        assert await send_at(app, clock, DUE) < 2.0
        [message] = wpt.wait_for_messages(app.subscription, 1)
        assert TITLE in message["title"] + message["body"]
        assert 0 < len(message["title"]) <= TITLE_MAX and 0 < len(message["body"]) <= BODY_MAX
        entry = await log_entry(app, key)
        assert (entry["status"], entry["late"], entry["text_source"]) == (
            "sent",
            False,
            "fallback",
        )
        assert (entry["title"], entry["body"]) == (message["title"], message["body"])
        assert re.search(error, entry["text_error"] or ""), entry["text_error"]


async def test_a_wrong_key_leaves_a_fallback_and_says_so(
    monkeypatch, make_app, fake, clock, wpt
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-not-the-right-key-000000000000")
    async with make_app() as api:
        key = await plan(api)
        clock.set(DUE - timedelta(minutes=10))
        assert await api.composing.run_once() == 1
        assert len(fake.calls) == 1 and fake.calls[0].headers["Authorization"].endswith(
            "000000000000"
        )
        assert_request_carries_the_context(fake)
        await send_at(api, clock, DUE)
        [message] = wpt.wait_for_messages(api.subscription, 1)
        assert TITLE in message["title"] + message["body"]
        entry = await log_entry(api, key)
        assert entry["text_source"] == "fallback" and "key rejected (401)" in entry["text_error"]


async def test_a_reminder_due_while_the_llm_is_still_thinking_goes_out_on_time(
    with_key, make_app, fake, clock, wpt
) -> None:
    # The LLM keeps the composer busy for two timeouts and a backoff (over 4 s), well
    # past the send's bound: a send that waited for it could not pass, even on a loaded
    # machine where the push itself takes a while.
    thinking = 2.0
    fake.queue(slow(thinking + 1), slow(thinking + 1))
    async with make_app(timeout=thinking) as app:
        key = await plan(app)
        clock.set(DUE - timedelta(seconds=5))
        composing = asyncio.create_task(app.composing.run_once())
        while not fake.calls:
            await asyncio.sleep(0.01)

        elapsed = await send_at(app, clock, DUE)
        [message] = wpt.wait_for_messages(app.subscription, 1)
        assert not composing.done() and elapsed < thinking  # the send did not wait for the LLM
        assert TITLE in message["title"] + message["body"]

        await composing  # gives up later; the text that went out stays on record
        entry = await log_entry(app, key)
        assert (entry["status"], entry["text_source"]) == ("sent", "fallback")
        assert (entry["title"], entry["body"]) == (message["title"], message["body"])


async def test_without_a_key_no_request_leaves(make_app, fake, clock, wpt) -> None:
    async with make_app() as api:
        key = await plan(api)
        clock.set(DUE - timedelta(minutes=10))
        assert await api.composing.run_once() == 0
        block_id = int(key[1:].split(":")[0])
        preview = (await api.post("/api/messages/preview", json={"block_id": block_id})).json()
        assert preview["source"] == "fallback" and "no Anthropic API key" in preview["error"]
        await send_at(api, clock, DUE)
        [message] = wpt.wait_for_messages(api.subscription, 1)
        assert TITLE in message["title"] + message["body"]
        assert (await log_entry(api, key))["text_source"] == "fallback"
    assert fake.calls == []


async def test_the_daily_summary_is_prepared_the_same_way(app, fake, clock, wpt) -> None:
    await app.put("/api/settings", json={"summary_enabled": True, "summary_time": "07:30"})
    await plan(app, start="2026-11-24T10:00", reminder_offsets=[])
    fake.queue(reply_json("Your Tuesday, matey", "Linear algebra at 10:00. Then rum. Kidding."))
    summary_due = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)  # 07:30 Berlin
    clock.set(summary_due - timedelta(minutes=20))
    assert await app.composing.run_once() == 1
    assert (
        "Today's blocks still ahead: 10:00 Linear algebra"
        in fake.bodies[0]["messages"][0]["content"]
    )

    await send_at(app, clock, summary_due)
    [message] = wpt.wait_for_messages(app.subscription, 1)
    assert (message["kind"], message["title"]) == ("summary", "Your Tuesday, matey")
    assert (await log_entry(app, "summary:2026-11-24"))["text_source"] == "llm"


async def test_the_background_task_writes_texts_when_the_scheduler_changes_something(
    with_key, make_app, fake, clock
) -> None:
    async with make_app(run_composer=True) as api:
        clock.set(DUE - timedelta(minutes=5))
        key = await plan(api)  # the scheduler's wake reaches the composer task: no 30 s wait
        # Polled against a deadline, not a count of short sleeps (a loaded machine is slower
        # to get there); unwoken, the composer would never write: its idle pause is on `clock`.
        deadline = time.monotonic() + 15
        while (row := await log_entry(api, key))["title"] is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert row["text_source"] == "llm" and len(fake.calls) == 1


# -- settings ------------------------------------------------------------------------


async def test_changing_llm_settings_rewrites_prepared_texts(app, fake, clock) -> None:
    key = await plan(app)
    clock.set(DUE - timedelta(minutes=10))
    assert await app.composing.run_once() == 1

    await app.put("/api/settings", json={"llm_model": "claude-sonnet-4-6"})
    assert (await log_entry(app, key))["title"] is None
    assert await app.composing.run_once() == 1
    assert fake.bodies[-1]["model"] == "claude-sonnet-4-6"

    await app.put(
        "/api/settings", json={"llm_model": "claude-sonnet-4-6", "snooze_minutes": 5}
    )  # no LLM change
    assert (await log_entry(app, key))["text_source"] == "llm"

    await app.put("/api/settings", json={"llm_enabled": False})
    assert await app.composing.run_once() == 0 and len(fake.calls) == 2
    preview = (await app.post("/api/messages/preview", json={})).json()
    assert preview["source"] == "fallback" and "turned off" in preview["error"]


async def test_the_api_key_is_saved_privately_and_never_shown(
    make_app, fake, clock, data_dir
) -> None:
    async with make_app() as api:
        settings = (await api.get("/api/settings")).json()
        assert (settings["llm_key"], settings["llm_key_source"]) == (None, None)

        response = await api.put("/api/settings", json={"anthropic_api_key": f"  {fake.api_key}\n"})
        assert response.status_code == 200 and fake.api_key not in response.text
        assert (response.json()["llm_key"], response.json()["llm_key_source"]) == (
            "sk-ant-…6789",
            "file",
        )
        assert stat.S_IMODE(os.stat(data_dir / llm_key.KEY_FILE).st_mode) == 0o600
        assert fake.api_key not in (await api.get("/api/settings")).text
        fake.queue(reply_json("Summary time", "Nothing planned, just vibes."))
        preview = (await api.post("/api/messages/preview", json={})).json()
        assert (preview["source"], preview["title"]) == (
            "llm",
            "Summary time",
        )  # the new key is in use

        # A bad field changes nothing, the key included.
        response = await api.put(
            "/api/settings",
            json={"anthropic_api_key": "sk-ant-api03-other-1111", "llm_daily_cap": -1},
        )
        assert response.status_code == 400 and response.json()["detail"].startswith(
            "llm_daily_cap:"
        )
        assert llm_key.key_path(data_dir).read_text() == fake.api_key
        for bad, status in (("has spaces in it", 400), (42, 400)):
            assert (
                await api.put("/api/settings", json={"anthropic_api_key": bad})
            ).status_code == status

        response = await api.put("/api/settings", json={"anthropic_api_key": None})
        assert (response.json()["llm_key"], response.json()["llm_key_source"]) == (None, None)
        assert not llm_key.key_path(data_dir).exists()
        preview = (await api.post("/api/messages/preview", json={})).json()
        assert preview["source"] == "fallback" and "no Anthropic API key" in preview["error"]
    assert len(fake.calls) == 1


async def test_an_environment_key_is_shown_masked_and_cannot_be_replaced(app, fake) -> None:
    settings = (await app.get("/api/settings")).json()
    assert (settings["llm_key"], settings["llm_key_source"]) == ("sk-ant-…6789", "env")
    response = await app.put("/api/settings", json={"anthropic_api_key": "sk-ant-api03-mine-2222"})
    assert response.status_code == 409 and "ANTHROPIC_API_KEY" in response.json()["detail"]


# -- previews --------------------------------------------------------------------------


async def test_a_preview_is_the_text_a_reminder_would_get_now(app, fake, clock) -> None:
    await plan(app)
    block_id = (await app.get("/api/blocks")).json()[0]["id"]
    fake.queue(reply_json("Algebra in an hour", "Stretch, snack, then matrices."))
    response = await app.post("/api/messages/preview", json={"block_id": block_id})
    assert response.status_code == 200
    assert response.json() == {
        "title": "Algebra in an hour",
        "body": "Stretch, snack, then matrices.",
        "source": "llm",
        "error": None,
    }
    assert_request_carries_the_context(fake)
    # issue 14 item 15: the block is an hour away, its reminder goes out 15 minutes before it,
    # and the preview is that reminder's text: counted from when it is sent, not from now
    prompt = fake.bodies[-1]["messages"][0]["content"]
    assert "Starts: in 15 minutes" in prompt and "Local time: Monday 09:45" in prompt

    # reminders at 90 and 30 minutes before, 60 minutes ahead: the 90 has passed
    await app.patch(f"/api/blocks/{block_id}", json={"reminder_offsets": [90, 30]})
    await app.post("/api/messages/preview", json={"block_id": block_id})
    assert "Starts: in 30 minutes" in fake.bodies[-1]["messages"][0]["content"]

    clock.set(START + timedelta(minutes=10))  # the block is on: the preview says now
    await app.post("/api/messages/preview", json={"block_id": block_id, "kind": "reminder"})
    assert "Starts: now" in fake.bodies[-1]["messages"][0]["content"]

    # the summary counts what is still ahead: the block that began at 10:00 is behind
    summary = (await app.post("/api/messages/preview", json={"kind": "summary"})).json()
    assert summary["source"] == "llm"
    assert "Today's blocks still ahead: none" in fake.bodies[-1]["messages"][0]["content"]
    clock.set(START - timedelta(minutes=30))
    await app.post("/api/messages/preview", json={"kind": "summary"})
    assert (
        "Today's blocks still ahead: 10:00 Linear algebra"
        in fake.bodies[-1]["messages"][0]["content"]
    )
    assert (
        len(fake.calls) == 5
        and await app.db.reminders_needing_text(START + timedelta(days=2)) != []
    )


@given(
    ahead=st.one_of(st.none(), st.integers(-600, 3000)),
    offsets=st.lists(st.integers(0, 1440), max_size=4, unique=True),
)
def test_a_preview_is_timed_like_the_first_reminder_still_ahead(ahead, offsets) -> None:
    start = None if ahead is None else T0 + timedelta(minutes=ahead)
    due = preview_due(start, offsets, T0)
    sends = {start - timedelta(minutes=o) for o in offsets or [0]} if start else set()
    assert due >= T0  # never a reminder that already went out
    assert due in sends or (due == T0 and not any(s >= T0 for s in sends))
    assert not any(T0 <= s < due for s in sends)  # none of them goes out before it


@pytest.mark.parametrize(
    "body, status, detail",
    [
        (
            {"block_id": 1, "kind": "summary"},
            400,
            "block_id: a summary preview is not about one block",
        ),
        ({"block_id": 999}, 404, "no block 999"),
        ({"kind": "poem"}, 400, None),
        ({"colour": "red"}, 400, None),
    ],
)
async def test_bad_previews_are_refused(app, fake, body, status, detail) -> None:
    await plan(app)
    response = await app.post("/api/messages/preview", json=body)
    assert response.status_code == status, response.text
    if detail:
        assert response.json()["detail"] == detail
    assert fake.calls == []


async def test_a_reminder_preview_without_a_block_is_about_the_next_block(app, fake, clock) -> None:
    """Settings' "Preview for: The next block" sends {"kind": "reminder"}: the block whose
    next session comes first, not the summary (which is what {} asks for)."""
    body = {"kind": "reminder"}
    nothing = await app.post("/api/messages/preview", json=body)
    assert nothing.status_code == 400 and "nothing is planned" in nothing.json()["detail"]
    await plan(app)  # Linear algebra at 10:00 Berlin, an hour after the clock
    later = {"title": "Organic chemistry", "start": "2026-11-23T09:30", "duration_minutes": 30}
    assert (await app.post("/api/blocks", json=later)).status_code == 201
    fake.queue(reply_json("Chem soon", "Molecules await."))
    assert (await app.post("/api/messages/preview", json=body)).json()["source"] == "llm"
    assert "Organic chemistry" in fake.bodies[-1]["messages"][0]["content"]
    clock.set(T0 + timedelta(minutes=31))  # chemistry has begun: algebra is next
    fake.queue(reply_json("Algebra soon", "Matrices await."))
    await app.post("/api/messages/preview", json=body)
    assert TITLE in fake.bodies[-1]["messages"][0]["content"]
    summary = await app.post("/api/messages/preview", json={})
    assert "Today's blocks still ahead" in fake.bodies[-1]["messages"][0]["content"]
    assert summary.status_code == 200


async def test_check_key_makes_one_real_call_and_says_what_happened(
    make_app, fake, monkeypatch
) -> None:
    async with make_app() as api:  # no key yet
        answer = (await api.post("/api/settings/anthropic-key/check", json={})).json()
        assert answer["ok"] is False and "did not work" in answer["detail"]
        assert len(fake.calls) == 0
    monkeypatch.setenv("ANTHROPIC_API_KEY", fake.api_key)
    async with make_app() as api:
        answer = (await api.post("/api/settings/anthropic-key/check", json={})).json()
        assert answer["ok"] is True and answer["detail"].startswith("The key works")
        assert len(fake.calls) == 1
