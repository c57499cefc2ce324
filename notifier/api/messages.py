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
