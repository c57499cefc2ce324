"""A local certificate authority and the LAN server certificate it signs.

Phones give service workers and push only to a trusted HTTPS origin. On a home
LAN there is no public name to get a certificate for, so the app makes its own
CA once (the user installs and trusts it on the phone) and a server certificate
for this machine's current names and addresses, re-issued when those change or
when it nears expiry. Every file is mode 0600 in `<data dir>/tls/`; the CA key
is created once and never replaced (a new CA would need re-installing on every
phone).

Profile choices follow what phones accept for privately trusted roots
(Apple: support.apple.com/HT210176 — SAN required, serverAuth EKU, at most 825
days; we stay under the public 398-day limit too).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from notifier.clock import utcnow
from notifier.host.lan import Lan
from notifier.secretfiles import ensure_private_dir, load_or_create, read_secret, write_new_secret

log = logging.getLogger(__name__)

CA_VALIDITY = timedelta(days=3650)
SERVER_VALIDITY = timedelta(days=397)
RENEW_BEFORE = timedelta(days=30)
CLOCK_SKEW = timedelta(hours=1)  # phones with a clock a little behind still accept it

LOOPBACK_NAMES = ("localhost",)
LOOPBACK_IPS = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


@dataclass(frozen=True)
class TlsFiles:
    """The files granian serves with, and whether they were just re-issued."""

    ca_cert: Path
    cert: Path
    key: Path
    renewed: bool


def tls_dir(data_dir: Path) -> Path:
    return data_dir / "tls"


def _new_key_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(read_secret(path), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_ca_cert(folder: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(read_secret(folder / "ca.pem"))


def ca_der(data_dir: Path) -> bytes | None:
    """The CA certificate in DER (the form Android and iOS both install), if there is one."""
    if not (tls_dir(data_dir) / "ca.pem").exists():
        return None
    return load_ca_cert(tls_dir(data_dir)).public_bytes(serialization.Encoding.DER)


def fingerprint(der: bytes) -> str:
    """SHA-256 of a certificate as phones show it (AA:BB:…)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _ensure_ca(folder: Path, now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    load_or_create(folder / "ca.key", _new_key_pem)
    key = _load_key(folder / "ca.key")

    def make_cert() -> bytes:
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Study Notifier"),
                x509.NameAttribute(
                    NameOID.COMMON_NAME, f"Study Notifier local CA ({os.urandom(3).hex()})"
                ),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + CA_VALIDITY)
            # pathlen 0: it can sign server certificates, never another CA.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    load_or_create(folder / "ca.pem", make_cert)
    cert = load_ca_cert(folder)
    if cert.public_key() != key.public_key():
        raise ValueError(f"{folder / 'ca.pem'} does not belong to {folder / 'ca.key'}")
    return key, cert


def wanted_names(
    lan: Lan,
) -> tuple[frozenset[str], frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """The DNS names and IPs the server certificate should cover."""
    return frozenset((*LOOPBACK_NAMES, *lan.hostnames)), frozenset((*LOOPBACK_IPS, *lan.addresses))


def _cert_names(cert: x509.Certificate) -> tuple[frozenset[str], frozenset]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return frozenset(), frozenset()
    return frozenset(san.get_values_for_type(x509.DNSName)), frozenset(
        san.get_values_for_type(x509.IPAddress)
    )


def needs_renewal(
    cert: x509.Certificate, ca: x509.Certificate, lan: Lan, now: datetime
) -> str | None:
    """Why the server certificate must be re-issued, or None if it is fine."""
    if cert.issuer != ca.subject:
        return "it was not issued by the current CA"
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "its signature does not match the current CA"
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return "it expires soon"
    if _cert_names(cert) != wanted_names(lan):
        return "this machine's names or addresses changed"
    return None


def _issue_server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, lan: Lan, now: datetime
) -> tuple[bytes, bytes]:
    key_pem = _new_key_pem()
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the LAN server key is not an EC key")
    dns, ips = wanted_names(lan)
    common = (lan.hostnames or LOOPBACK_NAMES)[0]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + SERVER_VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    *(x509.DNSName(n) for n in sorted(dns)),
                    *(x509.IPAddress(a) for a in sorted(ips, key=str)),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def _replace_secret(path: Path, data: bytes) -> None:
    """Swap in a new 0600 file atomically, so granian never reads half a key."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    write_new_secret(tmp, data)
    os.replace(tmp, path)


def ensure_certificates(data_dir: Path, lan: Lan, now: datetime | None = None) -> TlsFiles:
    """Create the CA once, and (re-)issue the server certificate when needed."""
    now = now or utcnow()
    folder = ensure_private_dir(tls_dir(data_dir))
    ca_key, ca = _ensure_ca(folder, now)
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    reason: str | None = "there is none yet"
    if cert_path.exists() and key_path.exists():
        current = x509.load_pem_x509_certificate(read_secret(cert_path))
        reason = needs_renewal(current, ca, lan, now)
    if reason is None:
        return TlsFiles(folder / "ca.pem", cert_path, key_path, renewed=False)
    log.info("issuing a new LAN server certificate: %s", reason)
    key_pem, cert_pem = _issue_server_cert(ca_key, ca, lan, now)
    _replace_secret(key_path, key_pem)
    _replace_secret(cert_path, cert_pem)
    return TlsFiles(folder / "ca.pem", cert_path, key_path, renewed=True)
