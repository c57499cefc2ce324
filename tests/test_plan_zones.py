"""Time zones are IANA zone names: `right/…`, `posix/…` and other files of the zone folder are refused.

`right/Europe/Berlin` counts leap seconds: 10:00 there is 08:59:33Z, not 09:00Z.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser import mint_token
from procs import ServerProcess

from notifier.plan.recurrence import tz_from_name

REFUSED = [
    "right/Europe/Berlin",
    "posix/Europe/Berlin",
    "right/UTC",
    "posix/UTC",
    "localtime",
    "posixrules",
    "Factory",
    "europe/berlin",
    "Europe/Berlin/",
    "Europe//Berlin",
    "right",
    "",
]


@pytest.mark.parametrize("name", REFUSED)
def test_names_that_are_not_iana_zones_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        tz_from_name(name)


@pytest.mark.parametrize(
    "name", ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires", "US/Eastern", "Etc/GMT+5"]
)
def test_zone_names_and_their_links_load(name: str) -> None:
    assert tz_from_name(name).key == name


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    proc = ServerProcess(tmp_path_factory.mktemp("zones") / "data").start()
    proc.token = mint_token(proc.data_dir)
    yield proc
    proc.kill()


def api(server: Any, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token}"}
    return httpx.request(method, f"{server.url}{path}", headers=headers, trust_env=False, **kw)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["right/Europe/Berlin", "posix/Europe/Berlin", "localtime"])
def test_the_api_refuses_them_with_a_clear_400(server: Any, name: str) -> None:
    setting = api(server, "PUT", "/api/settings", json={"timezone": name})
    assert setting.status_code == 400, setting.text
    assert setting.json()["error"] == "bad_request" and name in setting.json()["detail"]
    block = api(
        server,
        "POST",
        "/api/blocks",
        json={
            "title": "Maths",
            "start": "2030-01-07T10:00",
            "duration_minutes": 60,
            "timezone": name,
        },
    )
    assert block.status_code == 400, block.text
    assert "timezone" in block.json()["detail"]
    assert api(server, "GET", "/api/blocks").json() == []


@pytest.mark.slow
def test_a_berlin_block_at_ten_starts_at_nine_utc(server: Any) -> None:
    block = api(
        server,
        "POST",
        "/api/blocks",
        json={
            "title": "Maths",
            "start": "2030-01-07T10:00",
            "duration_minutes": 60,
            "timezone": "Europe/Berlin",
        },
    )
    assert block.status_code == 201, block.text
    agenda = api(
        server, "GET", "/api/agenda", params={"from": "2030-01-07T00:00", "to": "2030-01-08T00:00"}
    )
    keys = [o["key"] for o in agenda.json()["occurrences"]]
    assert keys == ["20300107T090000Z"], agenda.json()
