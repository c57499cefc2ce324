"""The push payload contract (docs/ARCHITECTURE.md); `web/sw.js` reads it.

Keep both sides in step: bump `PAYLOAD_VERSION` on an incompatible change.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from notifier import base64url
from notifier.clock import iso

PAYLOAD_VERSION = 1
# Push services accept 4096 bytes of ciphertext; aes128gcm adds an 86-byte
# header and 17 bytes of padding delimiter and tag; we keep to 3 KB of JSON.
MAX_PAYLOAD_BYTES = 3072
# What a phone shows without cutting: iOS and Android both truncate a notification
# title around 60 characters and a collapsed body around 180. These are the limits
# of every reminder text (texts/message.py: the prompt asks for a little less, the
# check of Claude's reply and the built-in texts keep to them) and the payload clips
# to them again, so nothing longer reaches a phone.
TITLE_MAX = 60
BODY_MAX = 180
SHRUNK_TITLE_MAX = 40  # after a 413 Payload Too Large
SHRUNK_BODY_MIN = 20

Kind = Literal["reminder", "summary", "test", "missed", "check"]


def reminder_actions(snooze_minutes: int) -> tuple[dict[str, str], ...]:
    """A reminder's buttons; the snooze label says the length the settings give it."""
    return (
        {"action": "done", "title": "Done"},
        {"action": "snooze", "title": f"Snooze {snooze_minutes} min"},
    )


def check_actions(snooze_minutes: int) -> tuple[dict[str, str], ...]:
    """The end-of-block question's buttons; `more` asks again after the snooze length."""
    return (
        {"action": "done", "title": "Done"},
        {"action": "not_done", "title": "Not done"},
        {"action": "more", "title": f"+{snooze_minutes} min"},
    )


def topic_for(key: str) -> str:
    """A Web Push `Topic` for a reminder key: ≤ 32 URL-safe base64 chars (RFC 8030 §5.4).

    A resend of the same reminder carries the same topic, so a push service
    still holding the first copy replaces it instead of delivering two.
    """
    return base64url.encode(hashlib.sha256(key.encode("utf-8")).digest())[:32]


def build(
    *,
    kind: Kind,
    title: str,
    body: str,
    url: str,
    tag: str,
    due: datetime | None = None,
    actions: tuple[dict[str, str], ...] = (),
    action_token: str | None = None,
    snooze_minutes: int | None = None,
) -> dict[str, Any]:
    """One payload dict, with fields clipped to what a notification can show."""
    if not url.startswith("/") or url.startswith("//"):
        raise ValueError("payload url must be a same-origin path")
    payload: dict[str, Any] = {
        "v": PAYLOAD_VERSION,
        "kind": kind,
        "title": clip(title, TITLE_MAX),
        "body": clip(body, BODY_MAX),
        "url": url,
        "tag": tag,
        "due": iso(due) if due else None,
        "actions": [dict(a) for a in actions],
    }
    if action_token:
        payload["action_token"] = action_token
    if snooze_minutes is not None:
        # what the Snooze button does; the service worker shows it when it must queue the tap offline
        payload["snooze_minutes"] = snooze_minutes
    return payload


def clip(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters at a word boundary and marked with "…".

    The one clip of the program: notification fields, built-in texts and what
    goes into Claude's prompt.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:  # a word boundary not too far back
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def encode(payload: dict[str, Any]) -> bytes:
    """Serialise, shrinking the body until the JSON fits MAX_PAYLOAD_BYTES."""
    data = _dumps(payload)
    while len(data) > MAX_PAYLOAD_BYTES and len(payload.get("body", "")) > SHRUNK_BODY_MIN:
        payload = shrink(payload)
        data = _dumps(payload)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError("payload does not fit in a push message")
    return data


def shrink(payload: dict[str, Any]) -> dict[str, Any]:
    """A smaller copy of the payload (for a 413 or an oversized text)."""
    smaller = dict(payload)
    body = smaller.get("body", "")
    smaller["body"] = clip(body, max(SHRUNK_BODY_MIN, len(body) // 2))
    smaller["title"] = clip(smaller.get("title", ""), SHRUNK_TITLE_MAX)
    return smaller


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
