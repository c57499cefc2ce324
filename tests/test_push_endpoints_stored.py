"""Push endpoints are stored once, in one normal form, and the VAPID `aud` is its origin.

Against a real server process and the stub push service on loopback.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser import mint_token, set_prefs
from conftest import TEST_SUBJECT, browser_keys
from procs import ServerProcess

from notifier.push.endpoints import check_endpoint, origin
from notifier.push.vapid import VapidKeys

FCM = "https://fcm.googleapis.com/fcm/send/abc:DEF"


@pytest.mark.parametrize(
    "written",
    [
        FCM,
        "HTTPS://fcm.googleapis.com/fcm/send/abc:DEF",
        "https://FCM.GoogleAPIs.com/fcm/send/abc:DEF",
        "https://fcm.googleapis.com:443/fcm/send/abc:DEF",
        "hTTpS://FCM.googleapis.COM:443/fcm/send/abc:DEF",
    ],
)
def test_every_spelling_of_an_endpoint_has_one_normal_form(written: str) -> None:
    assert check_endpoint(written) == FCM  # the path keeps its case: it is the push service's
    assert origin(written) == "https://fcm.googleapis.com"


@pytest.mark.parametrize(
    "written",
    [
        "https://fcm.googleapis.com:0443/fcm/send/x",
        "https://fcm.googleapis.com:/fcm/send/x",
        "https://fcm.googleapis.com:00443/fcm/send/x",
        "https://fcm.googleapis.com:+443/fcm/send/x",
    ],
)
def test_odd_port_spellings_are_refused(written: str) -> None:
    from notifier.errors import InvalidEndpoint

    with pytest.raises(InvalidEndpoint, match="(?i)port"):
        check_endpoint(written)


def test_the_vapid_audience_is_the_normal_origin(tmp_path: Any) -> None:
    keys = VapidKeys.load_or_create(tmp_path)
    header = keys.authorization("https://FCM.googleapis.com:443/fcm/send/x", TEST_SUBJECT)
    token = header.split("t=", 1)[1].split(",", 1)[0]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["aud"] == "https://fcm.googleapis.com"


# -- a real server ------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Any, stub: Any) -> Iterator[Any]:
    data_dir = tmp_path / "data"
    set_prefs(data_dir, {"vapid_subject": TEST_SUBJECT})
    proc = ServerProcess(data_dir, env={"NOTIFIER_PUSH_EXTRA_HOSTS": stub.host_port}).start()
    proc.token = mint_token(data_dir)
    yield proc
    proc.kill()


def api(server: Any, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token}"}
    return httpx.request(method, f"{server.url}{path}", headers=headers, trust_env=False, **kw)


@pytest.mark.slow
def test_a_subscription_is_one_row_however_its_endpoint_is_written(server: Any, stub: Any) -> None:
    keys = browser_keys()
    plain = stub.endpoint("/push/one")
    spellings = [plain, plain.replace("http://", "HTTP://"), plain.replace("http://", "Http://")]
    ids = set()
    for endpoint in spellings:
        response = api(
            server, "POST", "/api/push/subscriptions", json={"endpoint": endpoint, "keys": keys}
        )
        assert response.status_code == 201, response.text
        assert response.json()["endpoint"] == plain
        ids.add(response.json()["id"])
    assert len(ids) == 1
    assert [s["endpoint"] for s in api(server, "GET", "/api/push/subscriptions").json()] == [plain]

    for odd in (
        "https://fcm.googleapis.com:0443/fcm/send/x",
        "https://fcm.googleapis.com:/fcm/send/x",
    ):
        refused = api(
            server, "POST", "/api/push/subscriptions", json={"endpoint": odd, "keys": keys}
        )
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_endpoint"

    sent = api(server, "POST", "/api/push/test", json={})
    assert [r["outcome"] for r in sent.json()["results"]] == ["delivered"]
    (request,) = stub.requests_for("/push/one")
    assert request.vapid_claims()["aud"] == stub.origin

    # deleting by another spelling finds the one row
    gone = api(server, "DELETE", "/api/push/subscriptions", params={"endpoint": spellings[1]})
    assert gone.status_code == 204
    assert api(server, "GET", "/api/push/subscriptions").json() == []
