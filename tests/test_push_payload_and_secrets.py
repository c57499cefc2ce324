"""Payload limits, topics, and secret files."""

from __future__ import annotations

import json
import os
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.errors import ConfigError
from notifier.push import payload as payloads
from notifier.push.vapid import VapidKeys
from notifier.secretfiles import load_or_create, read_secret

URLSAFE = set(string.ascii_letters + string.digits + "-_")


@given(st.text(min_size=1, max_size=300))
def test_topics_are_short_urlsafe_and_stable(key: str) -> None:
    topic = payloads.topic_for(key)
    assert 0 < len(topic) <= 32 and set(topic) <= URLSAFE
    assert payloads.topic_for(key) == topic


@given(st.text(max_size=5000), st.text(max_size=5000))
def test_any_text_encodes_within_the_size_limit(title: str, body: str) -> None:
    message = payloads.build(kind="reminder", title=title, body=body, url="/b/1", tag="k")
    data = payloads.encode(message)
    assert len(data) <= payloads.MAX_PAYLOAD_BYTES
    decoded = json.loads(data)
    assert len(decoded["title"]) <= payloads.TITLE_MAX and len(decoded["body"]) <= payloads.BODY_MAX


@given(st.text(max_size=400), st.integers(0, 300))
def test_clip_fits_keeps_what_fits_and_marks_a_cut(text: str, limit: int) -> None:
    one_line = " ".join(text.split())
    clipped = payloads.clip(text, limit)
    assert len(clipped) <= limit
    assert "\n" not in clipped and "  " not in clipped
    if len(one_line) <= limit:
        assert clipped == one_line
    elif limit > 1:
        assert clipped.endswith("…") and one_line.startswith(clipped[:-1])


def test_clip_cuts_at_a_word_boundary() -> None:
    assert payloads.clip("Organic chemistry, chapter 7: reactions", 20) == "Organic chemistry…"
    assert payloads.clip("Supercalifragilistic", 10) == "Supercali…"


def test_payload_urls_must_be_same_origin_paths() -> None:
    for url in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            payloads.build(kind="test", title="t", body="b", url=url, tag="k")


def test_secret_files_are_0600_and_never_replaced(tmp_path) -> None:
    path = tmp_path / "s"
    assert load_or_create(path, lambda: b"first") == b"first"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_or_create(path, lambda: b"second") == b"first"


def test_a_secret_readable_by_others_is_refused(tmp_path) -> None:
    path = tmp_path / "s"
    load_or_create(path, lambda: b"x")
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_secret(path)


def test_vapid_keys_are_created_once(tmp_path) -> None:
    first = VapidKeys.load_or_create(tmp_path)
    second = VapidKeys.load_or_create(tmp_path)
    assert first.public_key_b64 == second.public_key_b64
    assert len(first.public_key_b64) == 87  # 65-byte P-256 point, unpadded base64url
