"""The VAPID key pair (RFC 8292) and the JWT claims for each push."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from notifier import base64url
from notifier.push.endpoints import origin
from notifier.secretfiles import load_or_create

KEY_FILE = "vapid_private.pem"
# RFC 8292 §2: exp must be no more than 24 h ahead; we keep to 12 h so a clock a
# little ahead of the push service's still signs claims it accepts.
CLAIMS_LIFETIME = 12 * 60 * 60

_SUBJECT = re.compile(r"^(mailto:[^@\s]+@[^@\s]+\.[^@\s]+|https://[^/\s]+\.[^/\s]+(/\S*)?)$")


def _new_private_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class VapidKeys:
    """The server's VAPID identity."""

    signer: Vapid02
    public_key_b64: str

    @classmethod
    def load_or_create(cls, data_dir: Path) -> VapidKeys:
        """Load the key pair from the data dir, creating it on first run only."""
        pem = load_or_create(data_dir / KEY_FILE, _new_private_pem)
        signer = Vapid02.from_pem(pem)
        raw = signer.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return cls(signer=signer, public_key_b64=base64url.encode(raw))

    def authorization(self, endpoint: str, subject: str, now: float | None = None) -> str:
        """The `Authorization: vapid t=…,k=…` header value for one push.

        A fresh claims dict every call: pywebpush's `webpush()` writes `aud` and
        `exp` into the dict it is given, so a shared dict would carry the first
        endpoint's audience to every other push service.
        """
        claims = {
            "aud": origin(endpoint),
            "exp": int((time.time() if now is None else now) + CLAIMS_LIFETIME),
            "sub": subject,
        }
        return self.signer.sign(claims)["Authorization"]


@lru_cache(maxsize=64)  # pure, and asked once per push
def subject_problem(subject: str | None) -> str | None:
    """Why a VAPID subject would be rejected by push services, or None if fine."""
    if not subject:
        return (
            "No VAPID contact is set. Push services require one: set a mailto: "
            "address or https: URL in Settings."
        )
    if not _SUBJECT.match(subject):
        return "The VAPID contact must be a mailto: address or an https: URL."
    host = (
        subject.split("@", 1)[-1]
        if subject.startswith("mailto:")
        else urlsplit(subject).hostname or ""
    )
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".local"
    ):
        return (
            "The VAPID contact uses a local address; Apple's push service rejects "
            "it. Use a real mailto: address or https: URL."
        )
    return None
