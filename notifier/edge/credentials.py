"""Reading a request's credentials: the one parser of Authorization and the session cookie.

Everything that needs to know how a request authenticates (the cross-site
rule, the token guard, Idempotency-Key scoping) uses what this module read,
so a header that two parsers would read differently cannot split them.
"""

from __future__ import annotations

from notifier.access.tokens import NONE, SESSION_COOKIE, Credentials

BAD_AUTHORIZATION = "Authorization must be 'Bearer <token>'"
TWO_AUTHORIZATIONS = "Send one Authorization header, not several."
TWO_SESSIONS = "Two different session cookies were sent; sign in again."


def read_credentials(headers: dict[str, list[str]]) -> Credentials:
    """The credentials in these headers (lower-case names, repeats kept).

    A present Authorization header decides, even when it is empty or
    malformed: it is then refused, never passed over for the cookie.
    """
    authorization = headers.get("authorization")
    if authorization is not None:
        if len(authorization) > 1:
            return Credentials("bearer", None, TWO_AUTHORIZATIONS)
        return _bearer(authorization[0])
    tokens = session_cookies(headers.get("cookie", []))
    if not tokens:
        return NONE
    if len(set(tokens)) > 1:
        return Credentials("cookie", None, TWO_SESSIONS)
    return Credentials("cookie", tokens[0])


def _bearer(header: str) -> Credentials:
    scheme, _, value = header.strip().partition(" ")
    token = value.strip()
    if scheme.lower() != "bearer" or not token or any(ch.isspace() for ch in token):
        return Credentials("bearer", None, BAD_AUTHORIZATION)
    return Credentials("bearer", token)


def session_cookies(cookie_headers: list[str]) -> list[str]:
    """Every non-empty value of the session cookie, in order.

    Parsed the way browsers write the header (RFC 6265 §5.4: `name=value`
    pairs split at ";"), leniently: a malformed pair before ours (`x=a b`,
    `x="`) does not hide it, as it would from Python's SimpleCookie. HTTP/2
    sends each cookie as its own header field; they are one list (RFC 9113
    §8.2.3), so a second field is never overlooked.
    """
    found = []
    for header in cookie_headers:
        for pair in header.split(";"):
            name, sep, value = pair.partition("=")
            if not sep or name.strip() != SESSION_COOKIE:
                continue
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if value:
                found.append(value)
    return found
