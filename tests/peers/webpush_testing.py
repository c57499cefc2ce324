"""Run the npm mock push service web-push-testing on 127.0.0.1 and drive its HTTP API."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

NODE_DIR = Path(__file__).resolve().parent / "node"
_READY = re.compile(r"web-push-testing ready on 127\.0\.0\.1:(\d+)")
# Loopback only: never let an HTTP(S)_PROXY from the environment see these requests.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# What web-push-testing 1.2.2 answers to a push (see its src/server.js):
STATUS_DELIVERED = 201  # decrypted and stored
STATUS_EXPIRED = (
    410  # after expire(); body {"reason": "Push subscription has unsubscribed or expired."}
)
STATUS_REJECTED = (
    400  # everything else: bad/missing VAPID, TTL, encoding, Content-Type, unknown subscription
)


class WebPushTestingError(RuntimeError):
    """The web-push-testing process or one of its API calls failed."""


class WebPushTesting:
    """One web-push-testing server process on 127.0.0.1; use start()/stop() or `with`."""

    def __init__(self, port: int = 0, startup_timeout: float = 20.0, node: str = "node") -> None:
        """Configure; port 0 lets the server pick a free port and report it (no race)."""
        self._want_port = port
        self._startup_timeout = startup_timeout
        self._node = node
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._lines: list[str] = []
        self._ready = threading.Event()
        self.port: int | None = None

    # -- process lifecycle -------------------------------------------------

    def start(self) -> WebPushTesting:
        """Start serve.js and wait until it prints its ready line; raise with its output if not."""
        if self._proc is not None:
            raise WebPushTestingError("already started")
        if not (NODE_DIR / "node_modules" / "web-push-testing").is_dir():
            raise WebPushTestingError(
                f"{NODE_DIR}/node_modules is missing: run `bash tests/peers/install.sh`"
            )
        self._proc = subprocess.Popen(
            [self._node, str(NODE_DIR / "serve.js"), str(self._want_port)],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,  # closed by stop(); serve.js exits on EOF if we die without stopping it
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "WPT_EXIT_ON_STDIN_EOF": "1"},
        )
        # A reader thread keeps draining the pipe so the server never blocks on a full pipe.
        self._reader = threading.Thread(
            target=self._read_output, name="web-push-testing-output", daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._ready.wait(0.05):
            if (code := self._proc.poll()) is not None:
                self.stop()  # reaps it, joins the reader and closes the pipes
                raise WebPushTestingError(
                    f"web-push-testing exited with {code} before it was ready:\n{self.output}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise WebPushTestingError(
                    f"web-push-testing not ready after {self._startup_timeout}s:\n{self.output}"
                )
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the process by PID: terminate, then kill if it has not exited within timeout."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc.stdin:
            proc.stdin.close()
        if self._reader:
            self._reader.join(timeout)
        if proc.stdout:
            proc.stdout.close()

    def __enter__(self) -> WebPushTesting:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _read_output(self) -> None:
        assert self._proc and self._proc.stdout
        for line in self._proc.stdout:
            self._lines.append(line)
            match = _READY.search(line)
            if match and not self._ready.is_set():
                self.port = int(match.group(1))
                self._ready.set()

    @property
    def pid(self) -> int | None:
        """PID of the running node process, or None."""
        return self._proc.pid if self._proc else None

    @property
    def output(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return "".join(self._lines)

    @property
    def host_port(self) -> str:
        """ "127.0.0.1:PORT", the form NOTIFIER_PUSH_EXTRA_HOSTS takes."""
        if self.port is None:
            raise WebPushTestingError("not started")
        return f"127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """ "http://127.0.0.1:PORT", also the VAPID `aud` a sender should use."""
        return f"http://{self.host_port}"

    # -- HTTP API ----------------------------------------------------------

    def subscribe(self, application_server_key_b64url: str) -> dict[str, Any]:
        """Create a subscription for this VAPID public key; return PushSubscription.toJSON()'s shape."""
        # The service insists on the string "true", not a JSON boolean.
        options = {"userVisibleOnly": "true", "applicationServerKey": application_server_key_b64url}
        data = self._post("/subscribe", options)
        sub = data["data"]
        return {"endpoint": sub["endpoint"], "expirationTime": None, "keys": dict(sub["keys"])}

    def raw_messages(self, subscription: dict[str, Any]) -> list[str]:
        """Decrypted payloads received for this subscription so far, oldest first, as text."""
        data = self._post("/get-notifications", {"clientHash": self._client_hash(subscription)})
        return list(data["data"]["messages"])

    def messages(self, subscription: dict[str, Any]) -> list[Any]:
        """Decrypted payloads received for this subscription so far, each parsed as JSON."""
        return [json.loads(m) for m in self.raw_messages(subscription)]

    def wait_for_messages(
        self, subscription: dict[str, Any], count: int = 1, timeout: float = 5.0
    ) -> list[Any]:
        """Poll until at least `count` messages arrived; return them all (for app code that sends later)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(subscription)
            if len(found) >= count or time.monotonic() > deadline:
                if len(found) < count:
                    raise AssertionError(
                        f"expected {count} push message(s) within {timeout}s, got {found!r}"
                    )
                return found
            time.sleep(0.05)

    def expire(self, subscription: dict[str, Any]) -> None:
        """Expire the subscription: every later push to it gets STATUS_EXPIRED (410)."""
        self._post(f"/expire-subscription/{self._client_hash(subscription)}", None)

    def _client_hash(self, subscription: dict[str, Any]) -> str:
        # Endpoints are <origin>/notify/<clientHash>; the hash is the service's subscription id.
        prefix = f"{self.origin}/notify/"
        endpoint = subscription["endpoint"]
        if not endpoint.startswith(prefix):
            raise WebPushTestingError(f"{endpoint!r} is not a subscription of {self.origin}")
        return endpoint[len(prefix) :]

    def _post(self, path: str, body: dict[str, Any] | None) -> Any:
        req = urllib.request.Request(
            self.origin + path,
            data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with _OPENER.open(req, timeout=10) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as err:
            raise WebPushTestingError(
                f"POST {path} -> {err.code}: {err.read().decode(errors='replace')}"
            ) from None
        # Some endpoints answer with a bare "OK" (express sendStatus), not JSON.
        return json.loads(text) if text.startswith(("{", "[")) else text
