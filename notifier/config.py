"""Process configuration: one table of settings (name, default, env var, help).

These are the settings fixed at start-up (where to listen, where data lives).
What the user edits in the app (time zone, offsets, persona) lives in the
database instead, see `prefs.py`. The README's settings table is checked
against `SETTINGS` by `tests/test_docs.py`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from notifier.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One configuration knob: its default, environment variable and help."""

    name: str
    default: str | None
    env: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        None,
        "NOTIFIER_DATA_DIR",
        "Folder for the database, keys and logs. Default: the platform's user "
        "data dir (e.g. ~/.local/share/notifier).",
    ),
    Setting(
        "host",
        "127.0.0.1",
        "NOTIFIER_HOST",
        "Address to listen on. Loopback by default so nothing on the LAN can "
        "reach the app until you choose to.",
    ),
    Setting(
        "port",
        "8765",
        "NOTIFIER_PORT",
        "TCP port to listen on. Keep it stable: a phone's subscription belongs to "
        "the origin (scheme, host and port) it was made on.",
    ),
    Setting(
        "public_url",
        None,
        "NOTIFIER_PUBLIC_URL",
        "The https origin phones use (e.g. a Tailscale or Cloudflare tunnel "
        "address); used in QR codes and notification links.",
    ),
    Setting(
        "https",
        "off",
        "NOTIFIER_HTTPS",
        "on: also serve HTTPS on the LAN with a certificate from a local CA the "
        "app makes (install it on the phone from /ca/); the desktop keeps http://127.0.0.1.",
    ),
    Setting(
        "https_port",
        "8766",
        "NOTIFIER_HTTPS_PORT",
        "TCP port of the LAN HTTPS server (all interfaces). Keep it stable, like the port.",
    ),
    Setting(
        "https_host",
        "0.0.0.0",
        "NOTIFIER_HTTPS_HOST",
        "Address the LAN HTTPS server listens on: every IPv4 interface by default, "
        "as the LAN address may change.",
    ),
    Setting(
        "https_name",
        None,
        "NOTIFIER_HTTPS_NAME",
        "The name phones use for the LAN HTTPS server in QR codes and links, e.g. the "
        "name your router's DNS gives this computer (study.lan); it goes into the "
        "certificate. Unset: the computer's LAN address, which may change with DHCP.",
    ),
    Setting(
        "trusted_proxies",
        "",
        "NOTIFIER_TRUSTED_PROXIES",
        "Comma-separated IPs or CIDR blocks of reverse proxies or tunnel agents whose "
        "X-Forwarded-*/Forwarded headers are believed (e.g. 127.0.0.1 for a local "
        "tunnel agent). Empty: those headers are ignored.",
    ),
    Setting(
        "push_extra_hosts",
        "",
        "NOTIFIER_PUSH_EXTRA_HOSTS",
        "Comma-separated host:port list of extra push services to allow (a "
        "self-hosted or test push service); these may use plain http.",
    ),
    Setting(
        "anthropic_api_key",
        None,
        "ANTHROPIC_API_KEY",
        "API key for Claude, which writes the reminder texts. Without it, built-in texts are used.",
    ),
    Setting(
        "anthropic_base_url",
        None,
        "ANTHROPIC_BASE_URL",
        "Base URL of the Anthropic API (the SDK's own variable); for proxies and tests.",
    ),
    Setting(
        "log_level",
        "info",
        "NOTIFIER_LOG_LEVEL",
        "Logging level: debug, info, warning or error.",
    ),
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(raw: str) -> tuple[Network, ...]:
    """Comma-separated IPs or CIDR blocks (`127.0.0.1, 10.0.0.0/8`)."""
    nets = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"NOTIFIER_TRUSTED_PROXIES entries must be IPs or CIDR blocks, got {item!r}"
            ) from None
    return tuple(nets)


_BY_NAME = {s.name: s for s in SETTINGS}


def default(name: str) -> str | None:
    """A setting's default as the README and `--help` show it (None: none, or computed)."""
    return _BY_NAME[name].default


def default_data_dir() -> Path:
    """The platform's per-user data folder for the app."""
    return Path(platformdirs.user_data_dir("notifier", appauthor=False))


def _parse_port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"port must be a number, got {raw!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"port must be between 1 and 65535, got {port}")
    return port


def _parse_hosts(raw: str) -> frozenset[str]:
    hosts = set()
    for item in (part.strip().lower() for part in raw.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ConfigError(f"NOTIFIER_PUSH_EXTRA_HOSTS entries must be host:port, got {item!r}")
        hosts.add(f"{host}:{_parse_port(port)}")
    return frozenset(hosts)


_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def valid_hostname(name: str) -> bool:
    """A DNS name we may put in a certificate (no underscores, no empty labels)."""
    labels = name.lower().rstrip(".").split(".")
    return 0 < len(name) <= 253 and all(_DNS_LABEL.match(label) for label in labels)


def _parse_https_name(raw: str) -> str | None:
    name = raw.strip().lower().rstrip(".")
    if not name:
        return None
    try:
        return str(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        pass
    if not valid_hostname(name):
        raise ConfigError(
            f"NOTIFIER_HTTPS_NAME must be a host name or an address, got {raw[:100]!r}"
        )
    return name


def _parse_switch(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no", ""):
        return False
    raise ConfigError(f"expected on or off, got {raw!r}")


def parse_public_url(raw: str, what: str = "NOTIFIER_PUBLIC_URL") -> str | None:
    """An origin only: links and QR codes append their own paths. Also checks the app's setting."""
    raw = raw.strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    try:
        _ = parts.port  # raises on a bad port
    except ValueError:
        raise ConfigError(f"{what} has a bad port: {raw[:100]!r}") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.path
        or parts.query
    ):
        raise ConfigError(
            f"{what} must be an address like https://host[:port] (no path), got {raw[:100]!r}"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class Config:
    """Resolved start-up configuration, made by `load_config` (the defaults are in SETTINGS)."""

    data_dir: Path
    host: str
    port: int
    public_url: str | None
    https: bool
    https_port: int
    https_host: str
    https_name: str | None
    trusted_proxies: tuple[Network, ...]
    push_extra_hosts: frozenset[str]
    anthropic_api_key: str | None
    anthropic_base_url: str | None
    log_level: str

    @property
    def db_path(self) -> Path:
        return self.data_dir / "notifier.sqlite3"

    @property
    def local_url(self) -> str:
        """The URL the desktop browser uses."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


_PARSERS: dict[str, Callable[[str], object]] = {
    "data_dir": lambda v: Path(v).expanduser(),
    "port": _parse_port,
    "push_extra_hosts": _parse_hosts,
    "public_url": parse_public_url,
    "https": _parse_switch,
    "https_port": _parse_port,
    "https_name": _parse_https_name,
    "trusted_proxies": parse_proxies,
    "log_level": lambda v: v.lower(),
}


def load_config(
    overrides: Mapping[str, object | None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build a Config from defaults, then environment, then explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for setting in SETTINGS:
        raw = env.get(setting.env) or setting.default
        parse = _PARSERS.get(setting.name, str)
        values[setting.name] = None if raw is None else parse(raw)
    for name, value in (overrides or {}).items():
        if name not in _BY_NAME:
            raise ConfigError(f"unknown setting {name!r}")
        if value is not None:
            # Text is parsed like the environment's; typed values (from the CLI) are kept.
            values[name] = _PARSERS.get(name, str)(value) if isinstance(value, str) else value
    if values["data_dir"] is None:
        values["data_dir"] = default_data_dir()
    if values.get("log_level") not in ("debug", "info", "warning", "error"):
        raise ConfigError("log level must be debug, info, warning or error")
    return Config(**values)  # type: ignore[arg-type]
