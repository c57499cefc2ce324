"""Guessing pairing codes, against a real server process behind a (pretend) trusted proxy.

The owner is never locked out: login links are not limited at all, and a fresh
pairing code works while a guesser is held back. Only the proxy's own entry in
X-Forwarded-For names the client, and a burst of concurrent guesses from one
client reaches the database no more often than the documented limit.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser import mint_token
from procs import ServerProcess

from notifier.access.pairing import GUESSES_PER_CLIENT, WRONG_GUESSES_PER_CODE

pytestmark = pytest.mark.slow

WRONG = "ZZZZ-ZZZZ"


PUBLIC_URL = "https://study.example.test"


@pytest.fixture
def server(tmp_path: Any) -> Iterator[Any]:
    # A tunnel address, so the desktop can hand out pairing codes (a loopback-only
    # server answers 409 no_phone_origin); nothing here connects to it.
    proc = ServerProcess(
        tmp_path / "data",
        env={"NOTIFIER_TRUSTED_PROXIES": "127.0.0.1", "NOTIFIER_PUBLIC_URL": PUBLIC_URL},
    ).start()
    proc.token = mint_token(proc.data_dir)
    yield proc
    proc.kill()


def guess(server: Any, code: str, headers: list[tuple[str, str]] = ()) -> httpx.Response:  # type: ignore[assignment]
    return httpx.post(
        f"{server.url}/api/pairing/exchange",
        json={"code": code},
        headers=list(headers),
        trust_env=False,
    )


def via(address: str) -> list[tuple[str, str]]:
    return [("X-Forwarded-For", address)]


def new_code(server: Any) -> str:
    response = httpx.post(
        f"{server.url}/api/pairing",
        headers={"Authorization": f"Bearer {server.token}"},
        trust_env=False,
    )
    return response.json()["code"]


def checked(server: Any) -> int:
    """Guesses that reached the database, as the log counts them."""
    log = (server.data_dir / "logs" / "notifier.log").read_text()
    return len(re.findall(r"wrong pairing code from", log))


def test_the_owners_login_link_works_however_much_others_guess(server: Any) -> None:
    for _ in range(GUESSES_PER_CLIENT):  # the owner's own machine: every local client is 127.0.0.1
        assert guess(server, WRONG).status_code == 403
    assert guess(server, WRONG).status_code == 429
    for i in range(WRONG_GUESSES_PER_CODE):  # and strangers from many addresses
        assert guess(server, WRONG, via(f"198.51.100.{i}")).status_code == 403
    link = (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "notifier",
                "login",
                "--no-browser",
                "--data-dir",
                str(server.data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        .stdout.strip()
        .split()[-1]
    )
    assert "/login?t=" in link
    signed_in = httpx.get(link, trust_env=False, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    # a wrong link is a plain refusal, never a rate limit
    for _ in range(10):
        wrong = httpx.get(f"{server.url}/login?t=nope", trust_env=False)
        assert wrong.status_code == 403


def test_a_fresh_code_works_for_the_owner_while_guessers_are_held_back(server: Any) -> None:
    stale = new_code(server)
    for i in range(WRONG_GUESSES_PER_CODE):  # enough addresses to use up any global budget
        assert guess(server, WRONG, via(f"203.0.113.{i}")).status_code == 403
    for _ in range(GUESSES_PER_CLIENT):
        guess(server, WRONG, via("192.0.2.66"))
    assert guess(server, WRONG, via("192.0.2.66")).status_code == 429  # the guesser waits
    # the code that lived through all those guesses is spoiled...
    assert guess(server, stale, via("198.51.100.200")).json()["error"] == "invalid_code"
    # ...the owner's fresh one from the desktop works from the phone
    paired = guess(server, new_code(server), via("198.51.100.201"))
    assert paired.status_code == 201, paired.text


def test_only_the_proxys_own_entry_names_the_client(server: Any) -> None:
    for i in range(GUESSES_PER_CLIENT):
        spoofed = [
            ("Forwarded", f"for=198.51.100.{i}"),  # what a client can send through the tunnel
            ("X-Forwarded-For", f"10.1.2.{i}, 203.0.113.9"),
        ]
        assert guess(server, WRONG, spoofed).status_code == 403
    spoofed = [("Forwarded", "for=198.51.100.99"), ("X-Forwarded-For", "10.1.2.99, 203.0.113.9")]
    limited = guess(server, WRONG, spoofed)
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert int(limited.headers["retry-after"]) > 0


def test_a_burst_of_600_concurrent_guesses_reaches_the_database_at_most_the_limit(
    server: Any,
) -> None:
    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(
            base_url=server.url, trust_env=False, limits=limits, timeout=60
        ) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/api/pairing/exchange", json={"code": f"ZZZZ{i:04d}".replace("0", "Z")}
                    )
                    for i in range(600)
                )
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(burst())
    assert statuses.count(403) <= GUESSES_PER_CLIENT, statuses.count(403)
    assert statuses.count(429) == 600 - statuses.count(403)
    assert checked(server) <= GUESSES_PER_CLIENT
