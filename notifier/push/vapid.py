"""The VAPID key pair (RFC 8292) and the JWT claims for each push."""

from __future__ import annotations

import ipaddress
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


# Names that only mean something on this computer or this network.
_LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".lan", ".home.arpa")


def _subject_host(subject: str) -> str | None:
    """The host a mailto: or https: contact names, lower-cased; None for other schemes."""
    if subject.startswith("mailto:"):
        return subject.rpartition("@")[2].lower().rstrip(".") if "@" in subject else ""
    if subject.startswith("https://"):
        try:
            return (urlsplit(subject).hostname or "").lower().rstrip(".")
        except ValueError:
            return ""
    return None


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "." not in host  # a bare machine name
    return not ip.is_global


@lru_cache(maxsize=64)  # pure, and asked once per push
def subject_problem(subject: str | None) -> str | None:
    """Why a VAPID contact would be rejected by push services, or None if fine; in plain words."""
    if not subject:
        return (
            "No contact for push services is set. They require one before they deliver "
            "notifications: set an email address (mailto:you@example.com) or a website "
            "(https://…) in Settings."
        )
    host = _subject_host(subject)
    if host and _is_local(host):
        return (
            f"Push services reject a contact at a local address like {host}: Apple's "
            "refuses it, so notifications would never reach an iPhone. Use an email "
            "address or website on the internet, like mailto:you@example.com."
        )
    if host is None or not _SUBJECT.match(subject):
        return (
            "The contact for push services must be an email address written "
            "mailto:you@example.com, or a website starting with https://."
        )
    return None
