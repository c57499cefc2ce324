"""Browser-test helpers: the real server in a child process and Debian's Chromium via Playwright.

Import the fixtures into a test module with `from browser import *  # noqa: F403`
(they are plain pytest fixtures; conftest.py stays as it is). Every browser
context is a 390x844 phone unless a test asks otherwise; screenshots go to
tests/artifacts/ (ignored by git) so a person can look at them.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from procs import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 390, "height": 844}
VAPID_SUBJECT = "mailto:browser-tests@study-notifier.example"

__all__ = [
    "ARTIFACTS",
    "PHONE",
    "LiveServer",
    "Phone",
    "browser",
    "live_server",
    "make_phone",
    "phone",
    "pw",
]


# Module scope, not session: `from browser import *` registers the fixtures once
# per importing module, and a module's driver must be stopped before the next one
# starts. A running sync Playwright also keeps an event loop marked as running in
# this thread, which would break the async tests that come after ours.
@pytest.fixture(scope="module")
def pw() -> Iterator[Any]:
    """The Playwright driver (never `playwright install`: we use Debian's Chromium)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} is missing: run `bash tests/run.sh` (it installs Debian's chromium)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright (tests extra)"
    )
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(pw: Any) -> Iterator[Any]:
    chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


# ---- the server ----------------------------------------------------------------


@dataclass
class LiveServer:
    """A running `notifier serve` and a device token for it."""

    proc: ServerProcess
    token: str

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def data_dir(self) -> Path:
        return self.proc.data_dir

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Call the API as a script would (bearer token, no proxy)."""
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        with httpx.Client(base_url=self.url, timeout=15, trust_env=False) as client:
            return client.request(method, path, headers=headers, **kw)

    def has_route(self, method: str, path: str) -> bool:
        """Whether the server implements an API route yet (not 404/405)."""
        return self.api(method, path, json={} if method != "GET" else None).status_code not in (
            404,
            405,
        )


def mint_token(data_dir: Path, label: str = "browser-tests") -> str:
    out = subprocess.run(
        [sys.executable, "-m", "notifier", "token", "--data-dir", str(data_dir), "--label", label],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def set_prefs(data_dir: Path, values: dict[str, Any]) -> None:
    """Store preferences before the server starts (the settings API may not exist yet)."""
    from notifier.config import load_config
    from notifier.db import Database
    from notifier.plan import prefs
    from notifier.secretfiles import ensure_private_dir

    async def run() -> None:
        ensure_private_dir(data_dir)
        db = await Database.open(load_config({"data_dir": str(data_dir)}).db_path)
        try:
            await prefs.update(db, values)
        finally:
            await db.close()

    # Playwright's sync API keeps an event loop running in this thread: use another one.
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: _run_catching(run, errors))
    worker.start()
    worker.join(30)
    if errors:
        raise errors[0]


def _run_catching(coro_fn: Any, errors: list[BaseException]) -> None:
    try:
        asyncio.run(coro_fn())
    except BaseException as exc:
        errors.append(exc)


@pytest.fixture
def live_server(data_dir: Path, wpt: Any) -> Iterator[LiveServer]:
    """The real server on a free loopback port, allowed to push to web-push-testing."""
    set_prefs(data_dir, {"vapid_subject": VAPID_SUBJECT})
    proc = ServerProcess(data_dir, env={"NOTIFIER_PUSH_EXTRA_HOSTS": wpt.host_port}).start()
    try:
        yield LiveServer(proc, mint_token(data_dir))
    finally:
        try:
            proc.terminate()
        except Exception:
            proc.kill()


# ---- the phone -----------------------------------------------------------------


@dataclass
class Phone:
    """One browser context (a device) with one page on the app."""

    context: Any
    page: Any
    server: LiveServer
    errors: list[str] = field(default_factory=list)

    # navigation ----------------------------------------------------------------

    def open(self, route: str = "#/today", *, with_token: bool = True) -> Phone:
        """Open the app; the first open hands over the token the way a pairing link would."""
        if with_token:
            self.page.goto(f"{self.server.url}/#token={self.server.token}")
            self.wait_ready()
            if route != "#/today":
                self.go(route)
        else:
            self.page.goto(f"{self.server.url}/{route}")
            self.wait_ready()
        return self

    def go(self, route: str, view: str | None = None) -> None:
        self.page.evaluate("document.documentElement.dataset.ready = ''")
        self.page.evaluate(
            "r => { if (location.hash === r) dispatchEvent(new HashChangeEvent('hashchange')); else location.hash = r; }",
            route,
        )
        self.wait_ready(view)

    def reload(self, view: str | None = None) -> None:
        self.page.reload()
        self.wait_ready(view)

    def wait_ready(self, view: str | None = None, timeout: float = 15_000) -> None:
        """Wait until the app says it drew a screen (and which one, if given)."""
        cond = "document.documentElement.dataset.ready === '1'"
        if view:
            cond += f" && document.documentElement.dataset.view === {json.dumps(view)}"
        try:
            self.page.wait_for_function(f"() => {cond}", timeout=timeout)
        except Exception as exc:
            state = self.page.evaluate(
                "() => [location.href, document.documentElement.dataset.view, document.body.innerText.slice(0, 400)]"
            )
            raise AssertionError(
                f"app not ready ({view or 'any view'}): {state}\nerrors: {self.errors}"
            ) from exc

    def wait_for_service_worker(self) -> None:
        """Until a service worker is active and controls the page (clients.claim)."""
        self.page.wait_for_function(
            "() => navigator.serviceWorker && !!navigator.serviceWorker.controller", timeout=15_000
        )

    # looking -------------------------------------------------------------------

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        """A 390x844 screenshot in tests/artifacts/ (what a person would see)."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.wait_for_timeout(150)  # let toasts/animations settle
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    def cdp(self) -> Any:
        return self.context.new_cdp_session(self.page)

    def idb_queue(self) -> list[dict[str, Any]]:
        """The offline queue as stored in IndexedDB."""
        return self.page.evaluate(
            """() => new Promise((resolve, reject) => {
                const req = indexedDB.open("study-notifier");
                req.onsuccess = () => {
                  const db = req.result;
                  if (!db.objectStoreNames.contains("queue")) { db.close(); return resolve([]); }
                  const get = db.transaction("queue").objectStore("queue").getAll();
                  get.onsuccess = () => { db.close(); resolve(get.result); };
                  get.onerror = () => reject(get.error);
                };
                req.onerror = () => reject(req.error);
            })"""
        )

    def notifications(self) -> list[dict[str, Any]]:
        """What the service worker registration is showing right now."""
        return self.page.evaluate(
            """async () => {
                const reg = await navigator.serviceWorker.ready;
                const list = await reg.getNotifications();
                return list.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
                                       actions: (n.actions || []).map(a => ({action: a.action, title: a.title}))}));
            }"""
        )

    def service_worker(self) -> Any:
        """Playwright's handle on the running service worker (for evaluate())."""
        for worker in self.context.service_workers:
            if worker.url.endswith("/sw.js"):
                return worker
        return self.context.wait_for_event("serviceworker", timeout=15_000)


def _phone_options(
    *,
    color_scheme: str = "light",
    user_agent: str | None = None,
    permissions: list[str] | None = None,
    viewport: dict[str, int] | None = None,
    timezone_id: str = "Europe/Berlin",
) -> dict[str, Any]:
    options: dict[str, Any] = dict(
        viewport=viewport or PHONE,
        device_scale_factor=2,
        is_mobile=viewport is None,
        has_touch=viewport is None,
        color_scheme=color_scheme,
        locale="en-GB",
        timezone_id=timezone_id,
        service_workers="allow",
        permissions=permissions or [],
    )
    if user_agent:
        options["user_agent"] = user_agent
    return options


@pytest.fixture
def make_phone(pw: Any, browser: Any, live_server: LiveServer, tmp_path: Path) -> Iterator[Any]:
    """Factory for phones (several devices, dark mode, another user agent…); all closed afterwards.

    persistent=True gives a real profile on disk instead of an incognito-like
    context: Chromium reports "in-incognito" as an installability error otherwise.
    """
    made: list[Phone] = []

    def factory(
        *, init_script: str | None = None, persistent: bool = False, **ctx_kw: Any
    ) -> Phone:
        options = _phone_options(**ctx_kw)
        if persistent:
            profile = tmp_path / f"profile-{len(made)}"
            context = pw.chromium.launch_persistent_context(
                str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, **options
            )
        else:
            context = browser.new_context(**options)
        if init_script:
            context.add_init_script(init_script)
        page = context.pages[0] if persistent and context.pages else context.new_page()
        phone = Phone(context, page, live_server)
        page.on("pageerror", lambda exc: phone.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: (
                phone.errors.append(f"console: {msg.text}")
                if msg.type == "error" and not _expected(msg.text)
                else None
            ),
        )
        made.append(phone)
        return phone

    yield factory
    for phone in made:
        phone.context.close()


def _expected(text: str) -> bool:
    """Console errors the browser itself prints for HTTP errors the app handles (401 → pairing screen)."""
    return bool(
        re.search(
            r"Failed to load resource: the server responded with a status of (400|401|404|409|422|503)",
            text,
        )
    )


@pytest.fixture
def phone(make_phone: Any) -> Phone:
    return make_phone()


def fake_push_script(subscription: dict[str, Any]) -> str:
    """An init script replacing PushManager.subscribe/getSubscription with a web-push-testing subscription.

    Headless Chromium has no real push service to talk to; the subscription comes
    from web-push-testing, so the server's pushes to it are real (VAPID, aes128gcm).
    It survives reloads like a real one (a flag in localStorage).
    """
    return """
(() => {
  const SUB = %s;
  const FLAG = "__test_push_subscribed";
  const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  function make(key) {
    return {
      endpoint: SUB.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: key || null },
      toJSON() { return { endpoint: SUB.endpoint, expirationTime: null, keys: SUB.keys }; },
      async unsubscribe() { localStorage.removeItem(FLAG); window.__pushUnsubscribed = (window.__pushUnsubscribed || 0) + 1; return true; },
    };
  }
  if (!self.PushManager) return;
  PushManager.prototype.subscribe = async function (options) {
    const key = options && options.applicationServerKey;
    localStorage.setItem(FLAG, key ? b64url(key) : "");
    window.__pushSubscribeCalls = (window.__pushSubscribeCalls || 0) + 1;
    return make(key ? new Uint8Array(key).buffer : null);
  };
  PushManager.prototype.getSubscription = async function () {
    const key = localStorage.getItem(FLAG);
    if (key === null) return null;
    return make(null);
  };
})();
""" % json.dumps(subscription)


def never_asked_script() -> str:
    """An init script playing a browser that has never asked for notifications.

    Headless Chromium answers "denied" until a test grants the permission; this
    answers "default" until the page asks, then remembers `window.__answer` (or
    "granted") across reloads; `window.__permissionAsked` counts the prompts.
    """
    return """
(() => {
  const KEY = "__test_permission";
  Object.defineProperty(Notification, "permission", { configurable: true, get: () => localStorage.getItem(KEY) || "default" });
  Notification.requestPermission = async () => {
    window.__permissionAsked = (window.__permissionAsked || 0) + 1;
    localStorage.setItem(KEY, window.__answer || "granted");
    return localStorage.getItem(KEY);
  };
})();
"""


def midday_zone() -> str:
    """A fixed-offset zone where it is 12:xx now (Etc/GMT signs are inverted).

    A test that plans "today" in it stays on one local day (and week, and month) for
    hours, whatever the hour CI runs it at: no midnight falls between its steps.
    """
    from datetime import UTC, datetime

    offset = 12 - datetime.now(UTC).hour  # -11 … +12 hours
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def wait_until(
    predicate: Any, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"
) -> Any:
    """Poll a Python predicate (e.g. the server's state) until it is truthy.

    Returns as soon as it holds, so the timeout costs only a failing test: it is the
    patience of a loaded 2-core CI machine (a browser, a server and the suite on it),
    never a claim about speed.
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


__all__ += [
    "fake_push_script",
    "midday_zone",
    "mint_token",
    "never_asked_script",
    "set_prefs",
    "wait_until",
]
