"""HTTPS for the LAN: a second embedded granian server beside the loopback one.

granian's embedded Server binds one address, and the desktop keeps plain
http://127.0.0.1 while phones need HTTPS. So the process runs two Servers in
one loop on the same app object: the loopback one runs the ASGI lifespan
(`Interfaces.ASGI`), this one does not (`Interfaces.ASGINL`), so both share the
state that lifespan opened (one database connection, one scheduler). This one
must stop before the other's lifespan closes that state.

Every `check_every` seconds the names and addresses are looked at again; when
the certificate has to change, the server is restarted with the new one
(granian loads certificates only at start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from notifier.access.pairing import lan_origin
from notifier.config import Config
from notifier.errors import ConfigError
from notifier.host.lan import Lan, discover
from notifier.serve.limits import granian_options
from notifier.serve.startup import refuse_if_listening

if TYPE_CHECKING:
    from notifier.host.tls import TlsFiles

log = logging.getLogger(__name__)

START_GRACE = 0.5  # seconds to notice a bind failure


class LanHttps:
    """Starts, renews and stops the LAN HTTPS server."""

    def __init__(self, app: Any, config: Config, *, check_every: float = 600.0) -> None:
        self.app = app
        self.config = config
        self.check_every = check_every
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.error: str | None = None  # why the last start failed

    @property
    def url(self) -> str | None:
        return self.app.state.pairing.lan_origin()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def _refresh(self) -> tuple[Lan, TlsFiles]:
        # Certificates and x509 load here, when HTTPS is turned on, not at every start.
        from notifier.host.tls import ensure_certificates

        loop = asyncio.get_running_loop()
        lan = await loop.run_in_executor(None, discover, self.config.https_name)
        files = await loop.run_in_executor(None, ensure_certificates, self.config.data_dir, lan)
        self.app.state.pairing.lan = lan
        return lan, files

    async def start(self) -> None:
        """Make sure the certificate fits, then listen; raises if the port cannot be bound.

        Starting a running listener does nothing.
        """
        if self.running:
            return
        _, files = await self._refresh()
        try:
            await self._listen(files)
        except OSError as exc:
            self.error = f"cannot serve HTTPS on port {self.config.https_port}: {exc}"
            raise
        self.error = None
        self.app.state.pairing.lan_serving = True
        self._watcher = asyncio.create_task(self._watch(), name="lan-https-renewal")

    async def _listen(self, files: TlsFiles) -> None:
        from granian.constants import Interfaces, SSLProtocols
        from granian.server.embed import Server

        try:  # granian would share a port something already listens on (SO_REUSEPORT)
            refuse_if_listening(self.config.https_host, self.config.https_port, "--https-port")
        except ConfigError as refused:
            raise OSError(refused.detail) from None
        self._server = Server(
            self.app,
            address=self.config.https_host,
            port=self.config.https_port,
            interface=Interfaces.ASGINL,
            websockets=False,
            log_enabled=False,
            **granian_options(),
            ssl_cert=files.cert,
            ssl_key=files.key,
            # TLS 1.2 so phones a few years old still connect (granian defaults to 1.3).
            ssl_protocol_min=SSLProtocols.tls12,
        )
        self._task = asyncio.create_task(self._server.serve(), name="lan-https")
        done, _ = await asyncio.wait({self._task}, timeout=START_GRACE)
        if done:
            # granian reports a bind failure as RuntimeError("Address already in use ...").
            exc = self._task.exception()
            self._server = self._task = None
            raise OSError(
                (str(exc).splitlines() or ["unknown error"])[0]
                if exc
                else "the LAN HTTPS server stopped at once"
            )
        log.info(
            "serving HTTPS for the LAN at %s",
            lan_origin(self.config, self.app.state.pairing.lan) or self.config.https_port,
        )

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.check_every)
            try:
                _, files = await self._refresh()
                if files.renewed:
                    log.info("restarting the LAN HTTPS server with its new certificate")
                    await self._stop_server()
                    await self._listen(files)
            except Exception:  # a failed renewal must not take the app down; say so and retry later
                log.exception("could not renew the LAN certificate")

    async def _stop_server(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.stop()
            with contextlib.suppress(Exception):
                await self._task
        self._server = self._task = None

    async def stop(self) -> None:
        """Stop renewing and serving (before the loopback server's lifespan closes the app)."""
        self.app.state.pairing.lan_serving = False
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self._stop_server()


async def attach_lan_https(app: Any, config: Config) -> LanHttps:
    """Make the app's LAN HTTPS listener (PUT /api/settings {"lan_https": …} switches it) and
    start it when it is wanted: `--https` / NOTIFIER_HTTPS, or the choice kept in the settings.

    A listener the person chose in the app that cannot start (port taken) is logged and left
    off, and the app starts anyway; one asked for at start-up raises OSError.
    """
    from notifier.plan import prefs as prefs_mod

    lan = LanHttps(app, config)
    app.state.lan_https = lan
    if config.https:
        await lan.start()
    elif (await prefs_mod.load(app.state.db)).lan_https:
        try:
            await lan.start()
        except OSError:
            log.error("%s", lan.error)
    return lan
