"""Unpadded base64url (RFC 4648 §5), the encoding of Web Push keys, topics and our tokens."""

from __future__ import annotations

import base64
import re

_TEXT = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def encode(data: bytes) -> str:
    """`data` as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """The bytes of base64url text (padded or not); ValueError for anything else.

    Strict: characters outside the alphabet and non-canonical spellings (stray
    bits in the last character) are refused, so each value has one text form.
    """
    if not isinstance(text, str) or not _TEXT.fullmatch(text):
        raise ValueError("not base64url")
    bare = text.rstrip("=")
    if len(text) > len(bare) and len(text) % 4:
        raise ValueError("not base64url: wrong padding")
    data = base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    if encode(data) != bare:
        raise ValueError("not base64url: not in canonical form")
    return data
