"""Message previews: the text a reminder would get now, from the live composer."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import post
from litestar.datastructures import State
from litestar.params import JSONBody


class PreviewIn(msgspec.Struct, forbid_unknown_fields=True):
    block_id: int | None = None
    kind: Literal["reminder", "summary"] | None = None


@post("/api/messages/preview", status_code=200, tags=["messages"])
async def preview_message(state: State, data: JSONBody[PreviewIn]) -> dict[str, Any]:
    """A reminder for `block_id` (minutes until its next occurrence, or now), or today's summary.

    `source` is llm or fallback; `error` says why Claude's text was not used.
    """
    text = await state.composing.preview(data.block_id, data.kind)
    return {"title": text.title, "body": text.body, "source": text.source, "error": text.error}


class KeyCheckOut(msgspec.Struct):
    ok: bool
    detail: str


@post("/api/settings/anthropic-key/check", status_code=200, tags=["settings"])
async def check_anthropic_key(state: State) -> KeyCheckOut:
    """Make one small real call to Claude with the stored key and say what happened."""
    ok, detail = await state.composing.check_key()
    return KeyCheckOut(ok=ok, detail=detail)
