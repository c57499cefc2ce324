"""Push endpoint validation: the allow-list and its known bypasses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.errors import InvalidEndpoint
from notifier.push.endpoints import check_endpoint, origin

GOOD = [
    "https://fcm.googleapis.com/fcm/send/abc:APA91b",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
    "https://web.push.apple.com/QGx1a2U",
    "https://wns2-by3p.notify.windows.com/w/?token=BQYAAA",
    "https://FCM.googleapis.com/fcm/send/x",
    "https://fcm.googleapis.com:443/fcm/send/x",
]

BAD = [
    "https://192.168.1.1/admin?x=.google.com/",
    "https://fcm.googleapis.com@192.168.1.1/x",
    "https://user:pw@fcm.googleapis.com/x",
    "https://fcm.googleapis.com:8443/x",
    "http://fcm.googleapis.com/x",
    "https://fcm.googleapis.com.evil.example/x",
    "https://evilfcm.googleapis.com/x",
    "https://notify.windows.com/x",
    "https://x.notify.windows.com.evil.example/x",
    "https://127.0.0.1/x",
    "https://[::1]/x",
    "https://2130706433/x",
    "https://0x7f.1/x",
    "https://fcm.googleapis.com./x",
    "https://fcm.googleapis.com/x#frag",
    "https://fcm.googleapis.com\\@evil.example/x",
    "https://fcm.googleapis.com/x y",
    "file:///etc/passwd",
    "gopher://fcm.googleapis.com/x",
    "https://fcm.googleapis.com:0/x",
    "https://fcm.googleapis.com:99999/x",
    "//fcm.googleapis.com/x",
    "",
    "https://localhost/x",
    "https://" + "a" * 3000 + ".com/",
    "https://a..notify.windows.com/w/?token=x",  # empty DNS label: getaddrinfo cannot encode it
    "https://" + "a" * 64 + ".notify.windows.com/w/",  # a label over 63 characters
]


@pytest.mark.parametrize("url", GOOD)
def test_known_push_services_are_accepted(url: str) -> None:
    normal = check_endpoint(url)
    assert normal == url.replace("FCM.", "fcm.").replace(":443/", "/")  # stored in one normal form
    assert check_endpoint(normal) == normal


@pytest.mark.parametrize("url", BAD)
def test_bypass_attempts_are_refused(url: str) -> None:
    with pytest.raises(InvalidEndpoint):
        check_endpoint(url)


def test_extra_hosts_allow_exactly_that_host_and_port_even_over_http() -> None:
    extra = frozenset({"127.0.0.1:9123"})
    assert check_endpoint("http://127.0.0.1:9123/push/1", extra)
    for url in (
        "http://127.0.0.1:9124/push/1",
        "http://127.0.0.2:9123/p",
        "http://u@127.0.0.1:9123/p",
    ):
        with pytest.raises(InvalidEndpoint):
            check_endpoint(url, extra)


def test_non_strings_are_refused() -> None:
    for value in (None, 42, b"https://fcm.googleapis.com/x", ["x"]):
        with pytest.raises(InvalidEndpoint):
            check_endpoint(value)


@given(st.text(max_size=200))
def test_any_text_is_either_refused_or_an_allowed_https_host(text: str) -> None:
    try:
        url = check_endpoint(text)
    except InvalidEndpoint:
        return
    assert origin(url).lower() in {
        "https://fcm.googleapis.com",
        "https://android.googleapis.com",
        "https://updates.push.services.mozilla.com",
        "https://push.services.mozilla.com",
        "https://web.push.apple.com",
    } or origin(url).lower().endswith(".notify.windows.com")


@given(st.sampled_from(GOOD), st.text(alphabet="@:#\\ %/.", min_size=1, max_size=5))
def test_splicing_tricks_into_the_authority_never_escape_the_allow_list(
    url: str, junk: str
) -> None:
    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    candidate = f"{scheme}://{host}{junk}evil.example/{path}"
    try:
        check_endpoint(candidate)
    except InvalidEndpoint:
        return
    assert "evil.example" not in origin(candidate)


# -- the same refusals through the API: at subscribe, and again at send ----------------


async def test_bypass_attempts_are_refused_at_subscribe_and_nothing_is_stored(api) -> None:
    from conftest import browser_keys

    for url in BAD + [
        "https://fcm.googleapis.com:443@127.0.0.1/x",
        "https://fcm.googleapis.com%2f@127.0.0.1/",
    ]:
        response = await api.post(
            "/api/push/subscriptions", json={"endpoint": url, "keys": browser_keys()}
        )
        assert response.status_code == 400, url
        assert response.json()["error"] in ("invalid_endpoint", "bad_request"), url
    assert await api.db.subscriptions() == []


async def test_an_endpoint_that_slipped_into_the_database_is_refused_at_send(api, stub) -> None:
    # E.g. stored while NOTIFIER_PUSH_EXTRA_HOSTS allowed it, then the setting was removed.
    from conftest import browser_keys

    from notifier.clock import utcnow

    sub = await api.db.upsert_subscription(
        endpoint=stub.endpoint("/lan-admin"),
        **browser_keys(),
        label="",
        expiration_time=None,
        token_id=None,
        now=utcnow(),
    )
    [result] = (await api.post("/api/push/test")).json()["results"]
    assert result["subscription_id"] == sub.id and result["outcome"] == "error"
    assert result["detail"].startswith("endpoint refused")
    assert stub.requests == []
