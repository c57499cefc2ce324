"""The VAPID contact: the real reason a contact would be refused, in plain words."""

from __future__ import annotations

import pytest

from notifier.push.vapid import subject_problem


@pytest.mark.parametrize(
    "subject, host",
    [
        ("mailto:me@localhost", "localhost"),
        ("mailto:me@box.local", "box.local"),
        ("mailto:me@mybox", "mybox"),
        ("mailto:me@127.0.0.1", "127.0.0.1"),
        ("mailto:me@192.168.1.5", "192.168.1.5"),
        ("https://localhost/contact", "localhost"),
        ("https://nas.home.arpa", "nas.home.arpa"),
    ],
)
def test_a_local_contact_is_refused_for_what_it_is(subject: str, host: str) -> None:
    problem = subject_problem(subject)
    assert problem is not None and f"local address like {host}" in problem
    assert "must be" not in problem  # not a format error: the format was fine


@pytest.mark.parametrize("subject", ["me@example.com", "http://example.com", "mailto:", "x"])
def test_a_malformed_contact_says_how_to_write_one(subject: str) -> None:
    problem = subject_problem(subject)
    assert problem is not None and "mailto:you@example.com" in problem


@pytest.mark.parametrize(
    "subject", ["mailto:you@example.com", "https://example.com", "https://example.com/about"]
)
def test_real_contacts_pass(subject: str) -> None:
    assert subject_problem(subject) is None


async def test_settings_say_why_localhost_is_refused(api) -> None:
    response = await api.put("/api/settings", json={"vapid_subject": "mailto:me@localhost"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("vapid_subject: Push services reject a contact at a local address")
