"""The push payload contract (DESIGN.md "Push payload"); `web/sw.js` reads it.

Keep both sides in step: bump `PAYLOAD_VERSION` on an incompatible change.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from notifier.clock import iso
from notifier.push.vapid import b64url

PAYLOAD_VERSION = 1
# Push services accept 4096 bytes of ciphertext; aes128gcm adds an 86-byte
# header and 17 bytes of padding delimiter and tag, and DESIGN.md keeps us to 3 KB.
MAX_PAYLOAD_BYTES = 3072
MAX_TITLE = 80
MAX_BODY = 400

Kind = Literal["reminder", "summary", "test", "missed"]

REMINDER_ACTIONS = (
    {"action": "done", "title": "Done"},
    {"action": "snooze", "title": "Snooze 10 min"},
)


def topic_for(key: str) -> str:
    """A Web Push `Topic` for a reminder key: ≤ 32 URL-safe base64 chars (RFC 8030 §5.4).

    A resend of the same reminder carries the same topic, so a push service
    still holding the first copy replaces it instead of delivering two.
    """
    return b64url(hashlib.sha256(key.encode("utf-8")).digest())[:32]


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
) -> dict[str, Any]:
    """One payload dict, with fields clipped to what a notification can show."""
    if not url.startswith("/") or url.startswith("//"):
        raise ValueError("payload url must be a same-origin path")
    payload: dict[str, Any] = {
        "v": PAYLOAD_VERSION,
        "kind": kind,
        "title": clip(title, MAX_TITLE),
        "body": clip(body, MAX_BODY),
        "url": url,
        "tag": tag,
        "due": iso(due) if due else None,
        "actions": [dict(a) for a in actions],
    }
    if action_token:
        payload["action_token"] = action_token
    return payload


def clip(text: str, limit: int) -> str:
    """Shorten text to `limit` characters, ending with an ellipsis when cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def encode(payload: dict[str, Any]) -> bytes:
    """Serialise, shrinking the body until the JSON fits MAX_PAYLOAD_BYTES."""
    data = _dumps(payload)
    while len(data) > MAX_PAYLOAD_BYTES and len(payload.get("body", "")) > 20:
        payload = shrink(payload)
        data = _dumps(payload)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError("payload does not fit in a push message")
    return data


def shrink(payload: dict[str, Any]) -> dict[str, Any]:
    """A smaller copy of the payload (for a 413 or an oversized text)."""
    smaller = dict(payload)
    body = smaller.get("body", "")
    smaller["body"] = clip(body, max(20, len(body) // 2))
    smaller["title"] = clip(smaller.get("title", ""), 40)
    return smaller


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
