"""One-time codes that turn into device tokens: phone pairing codes and desktop login links.

A pairing code is short enough to type (8 Crockford base32 characters, 40
bits), so it lives 10 minutes, works once, is stored only as a hash, and
guessing is limited two ways (access/ratelimit.py): a client gets
GUESSES_PER_CLIENT guesses per window, admitted before any is checked, so at
most that many of any burst reach the database; and a code dies after
WRONG_GUESSES_PER_CODE wrong guesses from anyone, so an attacker with many
addresses has at most that many tries at each code (in 2**40), while the
owner's next code starts afresh. A login link (what the launcher opens, like a
notebook server's token URL) carries 256 random bits instead: nobody can guess
it, so it is checked without any limit, and is single-use too.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from notifier.access.ratelimit import Guess, GuessLimiter, client_key
from notifier.access.tokens import hash_token, new_token
from notifier.config import Config
from notifier.db import Database
from notifier.errors import InvalidCode, TooManyRequests
from notifier.host.lan import Lan

# Crockford base32: no I, L, O or U; typed I/L/O are read as 1/1/0.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TYPOS = str.maketrans({"I": "1", "L": "1", "O": "0"})
CODE_LENGTH = 8
CODE_TTL = timedelta(minutes=10)
LOGIN_TTL = timedelta(minutes=10)

GUESSES_PER_CLIENT = 5
WRONG_GUESSES_PER_CODE = 50
GUESS_WINDOW = 15 * 60.0  # seconds

PAIR, LOGIN = "pair", "login"
NO_PHONE_ORIGIN = (
    "To pair a phone, it needs an https address: turn on HTTPS for your home network "
    "under Pair a phone in the dashboard, or set a tunnel's address as the public URL."
)

log = logging.getLogger(__name__)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: object) -> str | None:
    """The canonical code from what a person typed (case, dashes, spaces, O/0 forgiven)."""
    if not isinstance(text, str) or len(text) > 32:
        return None
    code = "".join(ch for ch in text.upper() if ch not in " -").translate(_TYPOS)
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def display_code(code: str) -> str:
    """`ABCD-EF12`: easier to read aloud and type."""
    return f"{code[:4]}-{code[4:]}"


def code_hash(kind: str, code: str) -> str:
    """Random, short-lived secrets need no slow hash; the kind keeps the two namespaces apart."""
    return hashlib.sha256(f"{kind}:{code}".encode()).hexdigest()


def pair_url(origin: str, code: str) -> str:
    """The link in the QR code. The code rides in the fragment, which browsers never send or log."""
    return f"{origin}/pair#code={code}"


def qr_svg(text: str) -> str:
    """An SVG QR code (no XML declaration, so it can go straight into the page)."""
    import segno

    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, svgclass="qr", lineclass=None
    )
    return out.getvalue().decode()


def qr_terminal(text: str) -> str:
    """The same QR code as text blocks, for `notifier pair`."""
    import segno

    out = io.StringIO()
    segno.make(text, error="m", micro=False).terminal(out=out, compact=True)
    return out.getvalue()


def lan_origin(config: Config, lan: Lan | None) -> str | None:
    """The LAN HTTPS listener's origin as a phone on the network would use it: the
    name set for it, else the address it is bound to, else the LAN's main address."""
    bound = config.https_host not in ("0.0.0.0", "::", "")
    address = config.https_name or (
        config.https_host if bound else (lan.primary if lan is not None else None)
    )
    if not address:
        return None
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{config.https_port}"


def phone_can_use(origin: str | None) -> bool:
    """Whether a phone can install the app and get push from `origin`.

    Push needs a secure context, so https; and a loopback name or address would
    point the phone at itself.
    """
    if not origin:
        return False
    parts = urlsplit(origin)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme != "https" or not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def phone_origin(public_url: str | None, lan_https: str | None) -> str | None:
    """The origin a phone should use: the public URL, else the LAN HTTPS one; None if neither works."""
    for origin in (public_url, lan_https):
        if phone_can_use(origin):
            return origin
    return None


@dataclass(frozen=True)
class Issued:
    code: str
    expires_at: datetime


class Pairing:
    """Issues and redeems one-time codes; holds the failure limiter and the clocks."""

    def __init__(
        self,
        config: Config,
        *,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.now = now
        self.lan: Lan | None = None  # set by the LAN listener once it has looked
        self.lan_serving = False  # the LAN HTTPS listener is running
        self.public_url = config.public_url  # NOTIFIER_PUBLIC_URL, else the app's setting
        self.limiter = GuessLimiter(
            per_client=GUESSES_PER_CLIENT,
            per_secret=WRONG_GUESSES_PER_CODE,
            window=GUESS_WINDOW,
            secret_lifetime=CODE_TTL,
            monotonic=monotonic,
        )
        self.checked = 0  # pairing codes that reached the database (what the limit bounds)

    def lan_origin(self) -> str | None:
        """The LAN HTTPS origin while the listener runs."""
        return lan_origin(self.config, self.lan) if self.lan_serving else None

    def phone_origin(self) -> str | None:
        """Where a phone reaches us over https, or None: then pairing cannot work yet."""
        return phone_origin(self.public_url, self.lan_origin())

    async def issue(self, db: Database, kind: str = PAIR) -> Issued:
        """A fresh code of `kind` (a pairing code, or a login ticket)."""
        now = self.now()
        code = new_code() if kind == PAIR else secrets.token_urlsafe(32)
        expires = now + (CODE_TTL if kind == PAIR else LOGIN_TTL)
        await db.add_code(code_hash(kind, code), kind, now, expires)
        return Issued(code, expires)

    async def redeem(
        self, db: Database, kind: str, secret: object, *, client: str | None, label: str
    ) -> tuple[int, str]:
        """Exchange a code for a new device token: (token id, token in clear)."""
        if kind == LOGIN:
            token_id, token = await self._redeem(db, LOGIN, _ticket(secret), label, None)
            if token_id is None:
                raise InvalidCode("That login link is wrong, already used or expired.")
            return token_id, token
        code = normalize_code(secret)
        key = client_key(client)
        # Admitted (and counted) before the first await: a burst of concurrent
        # guesses cannot all pass the check before any of them is counted.
        guess = self.limiter.admit(key, self.now(), counts=code is not None)
        if not isinstance(guess, Guess):
            raise TooManyRequests(
                "Too many wrong codes; wait a few minutes and try again.",
                retry_after=math.ceil(guess),
            )
        token_id, token = await self._redeem(db, PAIR, code, label, guess.burned_before)
        if token_id is None:
            log.warning("wrong pairing code from %s", key)
            raise InvalidCode("That pairing code is wrong, already used or expired.")
        self.limiter.right(guess)
        return token_id, token

    async def _redeem(
        self, db: Database, kind: str, code: str | None, label: str, burned_before: datetime | None
    ) -> tuple[int | None, str]:
        if code is None:
            return None, ""
        if kind == PAIR:
            self.checked += 1
        token = new_token()
        token_id = await db.redeem_code(
            code_hash(kind, code),
            kind,
            self.now(),
            token_hash=hash_token(token),
            label=label,
            token_kind="device" if kind == PAIR else "browser",
            created_after=burned_before,
        )
        return token_id, token


def _ticket(secret: object) -> str | None:
    return secret if isinstance(secret, str) and 0 < len(secret) <= 100 else None


async def login_link(pairing: Pairing, db: Database, base_url: str) -> str:
    """A fresh one-time link that signs a desktop browser in (what the launcher opens)."""
    issued = await pairing.issue(db, LOGIN)
    return f"{base_url}/login?t={issued.code}"
