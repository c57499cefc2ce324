"""Message previews: the text a reminder would get now, from the live composer."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import post
from litestar.params import JSONBody

from notifier.api.injected import Injected
from notifier.texts.writer import Composing


class PreviewIn(msgspec.Struct, forbid_unknown_fields=True):
    block_id: int | None = None
    kind: Literal["reminder", "summary"] | None = None


class PreviewOut(msgspec.Struct):
    """The text a reminder would get now."""

    title: str
    body: str
    source: Literal["llm", "fallback"]
    error: str | None  # why Claude's text was not used


@post("/api/messages/preview", status_code=200, tags=["messages"])
async def preview_message(composing: Injected[Composing], data: JSONBody[PreviewIn]) -> PreviewOut:
    """A reminder for `block_id` (minutes until its next occurrence, or now), or today's summary.

    `source` is llm or fallback; `error` says why Claude's text was not used.
    """
    text = await composing.preview(data.block_id, data.kind)
    return PreviewOut(title=text.title, body=text.body, source=text.source, error=text.error)


class KeyCheckOut(msgspec.Struct):
    ok: bool
    detail: str


@post("/api/settings/anthropic-key/check", status_code=200, tags=["settings"])
async def check_anthropic_key(composing: Injected[Composing]) -> KeyCheckOut:
    """Make one small real call to Claude with the stored key and say what happened."""
    ok, detail = await composing.check_key()
    return KeyCheckOut(ok=ok, detail=detail)
