"""The local CA, the LAN certificate, and a real HTTPS server beside the loopback one."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from procs import ServerProcess, free_port, notifier_cli

from notifier.clock import utcnow
from notifier.errors import ConfigError
from notifier.host.lan import Lan
from notifier.host.tls import SERVER_VALIDITY, ca_der, ensure_certificates, fingerprint, tls_dir

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
HOME = Lan(("studybox", "studybox.local"), (ipaddress.ip_address("192.168.1.23"),))
MOVED = Lan(("studybox", "studybox.local"), (ipaddress.ip_address("192.168.1.42"),))


def sans(path) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {
        str(a) for a in san.get_values_for_type(x509.IPAddress)
    }


def test_the_ca_and_certificate_are_made_once_with_private_files(data_dir) -> None:
    files = ensure_certificates(data_dir, HOME, NOW)
    assert files.renewed
    folder = tls_dir(data_dir)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()} == {
        "ca.key": 0o600,
        "ca.pem": 0o600,
        "server.key": 0o600,
        "server.pem": 0o600,
    }
    assert sans(files.cert) == (
        {"localhost", "studybox", "studybox.local"},
        {"127.0.0.1", "::1", "192.168.1.23"},
    )
    assert not ensure_certificates(data_dir, HOME, NOW + timedelta(days=1)).renewed

    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(files.cert.read_bytes())
    server.verify_directly_issued_by(ca)
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert server.not_valid_after_utc - server.not_valid_before_utc <= SERVER_VALIDITY + timedelta(
        hours=1
    )
    assert server.not_valid_after_utc - server.not_valid_before_utc <= timedelta(
        days=398
    )  # Apple's limit


def test_the_certificate_is_renewed_when_addresses_change_or_expiry_nears_but_the_ca_never(
    data_dir,
) -> None:
    ensure_certificates(data_dir, HOME, NOW)
    ca_key, ca_cert = (
        (tls_dir(data_dir) / "ca.key").read_bytes(),
        (tls_dir(data_dir) / "ca.pem").read_bytes(),
    )

    moved = ensure_certificates(data_dir, MOVED, NOW)
    assert (
        moved.renewed
        and "192.168.1.42" in sans(moved.cert)[1]
        and "192.168.1.23" not in sans(moved.cert)[1]
    )

    assert not ensure_certificates(
        data_dir, MOVED, NOW + SERVER_VALIDITY - timedelta(days=31)
    ).renewed
    assert ensure_certificates(data_dir, MOVED, NOW + SERVER_VALIDITY - timedelta(days=29)).renewed

    assert (tls_dir(data_dir) / "ca.key").read_bytes() == ca_key
    assert (tls_dir(data_dir) / "ca.pem").read_bytes() == ca_cert
    assert (tls_dir(data_dir) / "server.key").stat().st_mode & 0o777 == 0o600


def test_a_key_readable_by_others_is_refused(data_dir) -> None:
    ensure_certificates(data_dir, HOME, NOW)
    (tls_dir(data_dir) / "ca.key").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        ensure_certificates(data_dir, HOME, NOW)


# -- a real server ------------------------------------------------------------------


async def issue_code(data_dir) -> str:
    from notifier.access.pairing import PAIR, Pairing
    from notifier.config import load_config
    from notifier.db import Database

    config = load_config({"data_dir": str(data_dir)})
    db = await Database.open(config.db_path)
    try:
        return (await Pairing(config, now=utcnow).issue(db, PAIR)).code
    finally:
        await db.close()


def client_context(data_dir, **versions) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(tls_dir(data_dir) / "ca.pem"))
    for name, value in versions.items():
        setattr(ctx, name, value)
    return ctx


def handshake(port: int, ctx: ssl.SSLContext, name: str = "127.0.0.1") -> tuple[str, tuple]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            return tls.version(), tls.cipher()


def test_tls_handshakes_verify_against_the_generated_ca_including_a_tls12_only_client(
    https_server, data_dir
) -> None:
    port = https_server.https_port
    version, _ = handshake(port, client_context(data_dir))
    assert version in ("TLSv1.2", "TLSv1.3")
    old_phone = client_context(data_dir, maximum_version=ssl.TLSVersion.TLSv1_2)
    assert handshake(port, old_phone)[0] == "TLSv1.2"
    assert handshake(port, old_phone, "localhost")[0] == "TLSv1.2"

    # Nothing older than TLS 1.2 is spoken.
    too_old = client_context(data_dir)
    too_old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    too_old.maximum_version = ssl.TLSVersion.TLSv1_1
    too_old.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError):
        handshake(port, too_old)

    # A client that does not trust our CA refuses the server.
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(port, ssl.create_default_context())


def test_https_serves_the_app_the_ca_and_secure_cookies_while_loopback_stays_http(
    https_server, data_dir
) -> None:
    base = f"https://127.0.0.1:{https_server.https_port}"
    with httpx.Client(verify=client_context(data_dir), base_url=base) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        der = client.get("/ca/study-notifier-ca.crt")
        assert (
            der.status_code == 200 and der.headers["content-type"] == "application/x-x509-ca-cert"
        )
        assert der.content == ca_der(data_dir)
        assert (
            fingerprint(der.content).replace(":", "")
            == hashlib.sha256(der.content).hexdigest().upper()
        )
        assert (
            fingerprint(der.content) in https_server.output()
        )  # printed at start for comparing on the phone
        assert "Certificate Trust Settings" in client.get("/ca/").text

        token = subprocess.run(
            [sys.executable, "-m", "notifier", "token", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        # Listening on loopback only, the LAN listener has no address a phone could use:
        # the app refuses to hand out a link to it, and the code comes from the database
        # (as `notifier pair` makes it) to check the exchange over https.
        refused = client.post("/api/pairing", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 409 and refused.json()["error"] == "no_phone_origin"
        code = asyncio.run(issue_code(data_dir))
        paired = client.post(
            "/api/pairing/exchange", json={"code": code}, headers={"Sec-Fetch-Site": "same-origin"}
        )
        assert paired.status_code == 201
        assert "; secure" in paired.headers["set-cookie"].lower()

    assert (
        httpx.get(f"{https_server.url}/healthz").status_code == 200
    )  # the desktop keeps plain http
    assert https_server.terminate() == 0


async def test_the_lan_server_restarts_with_a_new_certificate_when_the_address_changes(
    data_dir, monkeypatch
) -> None:
    import asyncio
    from types import SimpleNamespace

    from notifier.access.pairing import Pairing
    from notifier.config import load_config
    from notifier.serve.lan_listener import LanHttps

    async def app(scope, receive, send):  # the real app is covered above; this is about the restart
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = load_config(
        {
            "data_dir": str(data_dir),
            "https": True,
            "https_port": free_port(),
            "https_host": "127.0.0.1",
        }
    )
    app.state = SimpleNamespace(pairing=Pairing(config, now=utcnow))
    seen = [HOME]
    monkeypatch.setattr("notifier.serve.lan_listener.discover", lambda name=None: seen[-1])

    def served_ips() -> set[str]:
        ctx = client_context(data_dir)
        with socket.create_connection(("127.0.0.1", config.https_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                der = tls.getpeercert(binary_form=True)
        san = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
        return {str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)}

    server = LanHttps(app, config, check_every=0.2)
    await server.start()
    try:
        assert "192.168.1.23" in await asyncio.to_thread(served_ips)
        assert app.state.pairing.lan_origin() == f"https://127.0.0.1:{config.https_port}"
        assert app.state.pairing.phone_origin() is None  # loopback: not an address for a phone
        seen.append(MOVED)
        # Against a deadline, not 50 short tries: a new certificate and a listener restart
        # take longer on a loaded machine; the answer is taken as soon as it is served.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            try:
                if "192.168.1.42" in await asyncio.to_thread(served_ips):
                    break
            except OSError:
                pass  # caught it between stop and start
        else:
            pytest.fail("the new certificate was never served")
    finally:
        await server.stop()


def test_a_name_for_the_lan_server_goes_into_the_link_the_certificate_and_the_allowed_hosts(
    data_dir,
) -> None:
    """NOTIFIER_HTTPS_NAME: phones get a stable name (a router's DNS name) instead of the
    DHCP address; the listener itself stays on loopback here."""
    port = free_port()
    server = ServerProcess(
        data_dir,
        env={"NOTIFIER_HTTPS_HOST": "127.0.0.1", "NOTIFIER_HTTPS_NAME": "Study.Lan."},
        args=("--https", "--https-port", str(port)),
    ).start()
    try:
        token = notifier_cli(data_dir, "token")
        issued = httpx.post(
            f"{server.url}/api/pairing", headers={"Authorization": f"Bearer {token}"}
        )
        assert issued.status_code == 201, issued.text
        assert issued.json()["url"].startswith(f"https://study.lan:{port}/pair#code=")
        dns, _ = sans(tls_dir(data_dir) / "server.pem")
        assert "study.lan" in dns
        assert handshake(port, client_context(data_dir), "study.lan")[0] in ("TLSv1.2", "TLSv1.3")
        base = f"https://127.0.0.1:{port}"
        with httpx.Client(verify=False, base_url=base) as client:
            assert client.get("/healthz", headers={"Host": f"study.lan:{port}"}).status_code == 200
            other = client.get("/healthz", headers={"Host": f"evil.example:{port}"})
            assert other.status_code == 400 and other.json()["error"] == "invalid_host"
    finally:
        server.kill()


def test_a_bad_name_for_the_lan_server_is_refused() -> None:
    from notifier.config import load_config

    assert load_config({"https_name": "192.168.1.9"}).https_name == "192.168.1.9"
    for bad in ("study_box.lan", "https://study.lan", "a..b"):
        with pytest.raises(ConfigError, match="NOTIFIER_HTTPS_NAME"):
            load_config({"https_name": bad})
