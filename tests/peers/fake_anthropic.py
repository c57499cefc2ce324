"""A fake Anthropic Messages API on 127.0.0.1, reached by the real SDK through `base_url`.

Answers follow the Messages API's JSON shapes (a `message` object on success,
`{"type": "error", "error": {...}}` otherwise) so the SDK parses them exactly
as it would the real service's. The loopback server, its thread and request
recording are the stub push service's; only the answers differ.

    with FakeAnthropic() as fake:
        fake.queue(rate_limited(), reply_json("Maths now", "Go!"))
        composer = Composer(api_key=fake.api_key, base_url=fake.base_url, ...)
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from .stub_push import RecordedRequest, ScriptedResponse, StubPushService

MESSAGES_PATH = "/v1/messages"
TEST_KEY = "sk-ant-api03-fake-key-for-tests-only-0123456789"
DEFAULT_TITLE = "Maths in 15, buddy"
DEFAULT_BODY = "Snacks ready? Maths starts in 15 minutes and I expect greatness."


def _json(
    status: int, data: dict[str, Any], headers: dict[str, str] | None = None, delay: float = 0.0
) -> ScriptedResponse:
    headers = {
        "Content-Type": "application/json",
        "request-id": f"req_fake_{uuid.uuid4().hex[:12]}",
        **(headers or {}),
    }
    return ScriptedResponse(status=status, headers=headers, body=json.dumps(data), delay=delay)


def reply_text(
    text: str, *, delay: float = 0.0, model: str = "claude-haiku-4-5"
) -> ScriptedResponse:
    """A successful message whose only content block is `text` (after `delay` seconds)."""
    content = [{"type": "text", "text": text}] if text else []
    message = {
        "id": f"msg_fake_{uuid.uuid4().hex[:16]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 120, "output_tokens": max(1, len(text) // 4)},
    }
    return _json(200, message, delay=delay)


def reply_json(title: str, body: str, *, delay: float = 0.0) -> ScriptedResponse:
    """A successful message whose text is the JSON the composer asks for."""
    return reply_text(json.dumps({"title": title, "body": body}), delay=delay)


def reply_error(
    status: int, error_type: str, message: str, *, retry_after: float | None = None
) -> ScriptedResponse:
    """An API error in the documented shape, optionally with Retry-After (seconds)."""
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    return _json(
        status, {"type": "error", "error": {"type": error_type, "message": message}}, headers
    )


def rate_limited(retry_after: float | None = 0) -> ScriptedResponse:
    return reply_error(
        429,
        "rate_limit_error",
        "Number of requests has exceeded your rate limit.",
        retry_after=retry_after,
    )


def overloaded(retry_after: float | None = None) -> ScriptedResponse:
    return reply_error(529, "overloaded_error", "Overloaded", retry_after=retry_after)


def server_error() -> ScriptedResponse:
    return reply_error(500, "api_error", "Internal server error")


def unauthorized() -> ScriptedResponse:
    return reply_error(401, "authentication_error", "invalid x-api-key")


def slow(delay: float) -> ScriptedResponse:
    """A good answer that comes only after `delay` seconds (longer than the client's timeout)."""
    return reply_json(DEFAULT_TITLE, DEFAULT_BODY, delay=delay)


def empty() -> ScriptedResponse:
    """A message with no text at all."""
    return reply_text("")


def overlong() -> ScriptedResponse:
    """Valid JSON, but a body far longer than a notification shows."""
    return reply_json("Maths time", "Okay so listen. " * 20)


def markdown() -> ScriptedResponse:
    """Valid JSON, but markdown inside."""
    return reply_json("**Maths** now", "- open the book\n- read `chapter 4`")


def _api_key(headers: CIMultiDict[str]) -> str | None:
    """The key a request carries: `x-api-key`, or `Authorization: Bearer` (what SDK 2.x sends)."""
    if key := headers.get("x-api-key"):
        return key
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else None


class FakeAnthropic(StubPushService):
    """The Messages API at /v1/messages: scripted answers in order, then `default`."""

    def __init__(self, api_key: str = TEST_KEY, default: ScriptedResponse | None = None) -> None:
        super().__init__(default or reply_json(DEFAULT_TITLE, DEFAULT_BODY))
        self.api_key = api_key

    @property
    def base_url(self) -> str:
        return self.origin

    def queue(self, *replies: ScriptedResponse) -> None:
        """Answer the next requests with `replies`, one each, in order."""
        self.script(MESSAGES_PATH, *replies)

    @property
    def calls(self) -> list[RecordedRequest]:
        """Requests to the Messages API, oldest first (wrong-key ones included)."""
        return self.requests_for(MESSAGES_PATH)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON body of each call: model, system, messages, max_tokens."""
        return [json.loads(call.body) for call in self.calls]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == MESSAGES_PATH and _api_key(CIMultiDict(request.headers)) == self.api_key:
            return await super()._handle(request)
        # A wrong key is answered at once and consumes no scripted reply.
        body = await request.read()
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    request.query_string,
                    CIMultiDict(request.headers),
                    body,
                    time.time(),
                )
            )
        if request.path != MESSAGES_PATH:
            answer = reply_error(404, "not_found_error", f"no route {request.path}")
        else:
            answer = unauthorized()
        return web.Response(status=answer.status, headers=answer.headers, body=answer.body)
