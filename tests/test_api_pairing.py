"""Pairing from the screen: a phone only ever gets an https, non-loopback link; LAN HTTPS and a
public URL can be turned on in the app, without a restart, and the choice is kept."""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest
from conftest import running_api
from procs import free_port

from notifier.access.pairing import Pairing, phone_can_use
from notifier.clock import utcnow
from notifier.config import load_config
from notifier.host.lan import Lan
from notifier.serve.lan_listener import attach_lan_https

TUNNEL = "https://study.example.ts.net"


async def pairing(api):
    return await api.post("/api/pairing")


async def test_without_an_https_address_pairing_says_how_to_get_one(api) -> None:
    response = await pairing(api)
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "no_phone_origin" and "https" in body["detail"]
    ways = {w["way"]: w for w in body["ways"]}
    assert set(ways) == {"lan_https", "public_url"}
    assert (
        ways["lan_https"]["setting"] == "lan_https"
        and ways["public_url"]["setting"] == "public_url"
    )
    assert all(w["title"] and w["detail"] for w in ways.values())


async def test_a_public_url_set_in_the_app_is_used_at_once(api) -> None:
    for bad in ("study.example.ts.net", "https://study.example.ts.net/app", "ftp://x.example"):
        response = await api.put("/api/settings", json={"public_url": bad})
        assert response.status_code == 400 and response.json()["detail"].startswith("public_url: ")
    settings = (await api.put("/api/settings", json={"public_url": TUNNEL + "/"})).json()
    assert settings["public_url"] == TUNNEL and settings["public_url_source"] == "app"
    assert settings["phone_origin"] == TUNNEL

    body = (await pairing(api)).json()
    assert body["url"] == f"{TUNNEL}/pair#code={body['code']}"
    # The gate now answers to the tunnel's name, as the phone will send it.
    via_tunnel = await api.client.get("/healthz", headers={"Host": "study.example.ts.net"})
    assert via_tunnel.status_code == 200
    assert (await api.client.get("/healthz", headers={"Host": "evil.example"})).status_code == 400

    # Cleared again: no phone origin, and the name is no longer ours.
    assert (await api.put("/api/settings", json={"public_url": ""})).status_code == 200
    assert (await pairing(api)).status_code == 409
    gone = await api.client.get("/healthz", headers={"Host": "study.example.ts.net"})
    assert gone.status_code == 400


async def test_a_plain_http_or_loopback_public_url_is_never_handed_to_a_phone(api) -> None:
    for url in ("http://study.example.ts.net", "https://127.0.0.1:8765", "https://localhost"):
        assert (await api.put("/api/settings", json={"public_url": url})).status_code == 200
        response = await pairing(api)
        assert response.status_code == 409, url
        problem = {w["way"]: w for w in response.json()["ways"]}["public_url"]["problem"]
        assert url in problem


async def test_the_environments_public_url_wins_and_says_so(data_dir) -> None:
    config = load_config({"data_dir": str(data_dir), "public_url": TUNNEL})
    async with running_api(config) as api:
        settings = (await api.get("/api/settings")).json()
        assert settings["public_url_source"] == "env" and settings["public_url_effective"] == TUNNEL
        response = await api.put("/api/settings", json={"public_url": "https://other.example"})
        assert response.status_code == 409 and "NOTIFIER_PUBLIC_URL" in response.json()["detail"]
        assert (await api.get("/api/settings")).json()["public_url_effective"] == TUNNEL


@pytest.mark.parametrize(
    "origin, usable",
    [
        ("https://192.168.1.23:8766", True),
        ("https://box.tail1.ts.net", True),
        ("https://[fd00::5]:8766", True),
        ("http://192.168.1.23:8765", False),
        ("https://127.0.0.1:8766", False),
        ("https://[::1]:8766", False),
        ("https://localhost:8766", False),
        ("https://app.localhost", False),
        (None, False),
    ],
)
def test_what_a_phone_can_use(origin: str | None, usable: bool) -> None:
    assert phone_can_use(origin) is usable


def test_the_lan_listener_is_a_phone_origin_only_while_it_runs(data_dir) -> None:
    import ipaddress

    config = load_config({"data_dir": str(data_dir), "https_port": "8766"})
    pairing = Pairing(config, now=utcnow)
    pairing.lan = Lan(("box.local",), (ipaddress.ip_address("192.168.1.23"),))
    assert pairing.phone_origin() is None
    pairing.lan_serving = True
    assert pairing.phone_origin() == "https://192.168.1.23:8766"
    pairing.public_url = TUNNEL  # a tunnel, when set, comes first
    assert pairing.phone_origin() == TUNNEL


# -- LAN HTTPS switched from the app --------------------------------------------------


def tls_answers(port: int) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
                return True
    except OSError:
        return False


def lan_config(data_dir, port: int):
    return load_config(
        {"data_dir": str(data_dir), "https_port": str(port), "https_host": "127.0.0.1"}
    )


async def attach(app) -> None:
    await attach_lan_https(app, app.state.config)


async def test_lan_https_starts_and_stops_without_a_restart_and_is_kept(data_dir) -> None:
    port = free_port()
    config = lan_config(data_dir, port)
    async with running_api(config, on_ready=attach) as api:
        assert not await asyncio.to_thread(tls_answers, port)
        settings = (await api.put("/api/settings", json={"lan_https": True})).json()
        assert settings["lan_https"] and settings["lan_https_running"]
        assert settings["lan_https_source"] == "app" and settings["lan_https_error"] is None
        assert await asyncio.to_thread(tls_answers, port)
        tls = (await api.get("/api/tls")).json()
        assert tls["https"] and tls["ca_page"] == f"https://127.0.0.1:{port}/ca/"

    # Started again: the choice was kept, the listener comes back by itself.
    async with running_api(config, on_ready=attach) as api:
        assert (await api.get("/api/settings")).json()["lan_https_running"]
        assert await asyncio.to_thread(tls_answers, port)
        settings = (await api.put("/api/settings", json={"lan_https": False})).json()
        assert not settings["lan_https"] and not settings["lan_https_running"]
        assert not await asyncio.to_thread(tls_answers, port)

    async with running_api(config, on_ready=attach) as api:
        assert not (await api.get("/api/settings")).json()["lan_https_running"]


async def test_a_taken_port_is_reported_and_changes_nothing(data_dir) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        async with running_api(lan_config(data_dir, port), on_ready=attach) as api:
            response = await api.put("/api/settings", json={"lan_https": True})
            assert response.status_code == 409
            assert response.json()["error"] == "lan_https_failed"
            assert f"port {port}" in response.json()["detail"]
            assert not (await api.get("/api/settings")).json()["lan_https"]


async def test_https_from_the_command_line_cannot_be_turned_off_in_the_app(data_dir) -> None:
    port = free_port()
    config = load_config(
        {
            "data_dir": str(data_dir),
            "https": True,
            "https_port": str(port),
            "https_host": "127.0.0.1",
        }
    )
    async with running_api(config, on_ready=attach) as api:
        settings = (await api.get("/api/settings")).json()
        assert settings["lan_https_source"] == "env" and settings["lan_https_running"]
        response = await api.put("/api/settings", json={"lan_https": False})
        assert response.status_code == 409 and "--https" in response.json()["detail"]
        assert await asyncio.to_thread(tls_answers, port)


async def test_without_the_listener_lan_https_cannot_be_turned_on(api) -> None:
    response = await api.put("/api/settings", json={"lan_https": True})
    assert response.status_code == 409
    assert not (await api.get("/api/settings")).json()["lan_https"]
