"""base64url: one encoding for Web Push keys, topics and action tokens, strict on input."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier import base64url


@given(st.binary(max_size=200))
def test_round_trip_unpadded_and_padded(data: bytes) -> None:
    text = base64url.encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert base64url.decode(text) == data
    assert base64url.decode(base64.urlsafe_b64encode(data).decode()) == data  # padded too


@given(st.binary(min_size=1, max_size=64), st.sampled_from("+/ .!\n"))
def test_characters_outside_the_alphabet_are_refused(data: bytes, bad: str) -> None:
    text = base64url.encode(data)
    with pytest.raises(ValueError):
        base64url.decode(text[:1] + bad + text[1:])


@pytest.mark.parametrize("text", ["A", "AB=", "AB===", "AR", "AAB", "=AAA"])
def test_impossible_lengths_bad_padding_and_stray_bits_are_refused(text: str) -> None:
    # "AR" and "AAB" decode to the same bytes as "AQ" and "AAA" with unused bits set:
    # refusing them gives each value one spelling (a token cannot be re-spelled).
    with pytest.raises(ValueError):
        base64url.decode(text)
