// The app shell: start-up, hash router, banners, and the link to the service worker.
// Routes (all deep-linkable):
//   #/today  #/week[/YYYY-MM-DD]  #/block/new  #/block/<id>/edit
//   #/occurrence/<block_id>/<YYYYMMDDTHHMMSSZ>  #/settings  #/devices

import { captureTokenFromUrl, exchangePairingCode, takePairingCode } from "./auth.js";
import { loadBootstrap, loadSettings, zoneOf } from "./data.js";
import { bus } from "./events.js";
import { countVisit, dismissInstall, installOffer, promptInstall } from "./install.js";
import * as push from "./push.js";
import * as queue from "./queue.js";
import { checkReadiness, readiness } from "./readiness.js";
import { h, shareIcon, toast } from "./ui.js";
import * as blockForm from "./views/block-form.js";
import { errorCard } from "./views/common.js";
import * as devices from "./views/devices.js";
import * as historyView from "./views/history.js";
import * as occurrence from "./views/occurrence.js";
import * as pair from "./views/pair.js";
import * as settingsView from "./views/settings.js";
import * as today from "./views/today.js";
import * as week from "./views/week.js";

const ROUTES = [
  { name: "today", re: /^\/today$/, view: today, tab: "today", live: true },
  { name: "week", re: /^\/week(?:\/(\d{4}-\d{2}-\d{2}))?$/, view: week, tab: "week", live: true },
  { name: "new", re: /^\/block\/new$/, view: blockForm, tab: "new" },
  { name: "edit", re: /^\/block\/([^/]+)\/edit$/, view: blockForm, tab: null },
  { name: "occurrence", re: /^\/occurrence\/([^/]+)\/(\d{8}T\d{6}Z)$/, view: occurrence, tab: null, live: true },
  { name: "settings", re: /^\/settings(?:\/([a-z-]+))?$/, view: settingsView, tab: "settings" },
  { name: "devices", re: /^\/devices$/, view: devices, tab: "devices" },
  // /reminders is where a "you missed N" notification points
  { name: "history", re: /^\/(?:history|reminders)(?:\/(week|month)\/(\d{4}-\d{2}-\d{2}))?$/, view: historyView, tab: "week", live: true },
];

const state = {
  settings: null,
  authError: null,
  reachable: true,
  renderId: 0,
  cleanups: [],
  route: null,
  queueSig: "",
};

const $ = (id) => document.getElementById(id);

function currentPath() {
  const hash = location.hash.replace(/^#/, "");
  return hash.startsWith("/") ? hash : "/today";
}

function match(path) {
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (m) return { ...r, params: m.slice(1) };
  }
  return { ...ROUTES[0], params: [] };
}

function navigate(hash, { replace = false } = {}) {
  if (location.hash === hash) return render();
  if (replace) {
    history.replaceState(null, "", hash);
    return render();
  }
  location.hash = hash; // hashchange renders
  return undefined;
}

/** Draw the current route. `refresh` keeps the old screen up until the new one is ready (no flicker). */
async function render({ focus = true, refresh = false } = {}) {
  for (const fn of state.cleanups.splice(0)) {
    try { fn(); } catch { /* a view's cleanup must not stop the next one */ }
  }
  const id = ++state.renderId;
  const main = $("main");
  const app = document.querySelector(".app");
  const container = h("div", { class: "view" });

  if (state.authError) {
    app.classList.add("is-bare");
    setTabs(null);
    main.replaceChildren(container);
    pair.render(container, [], ctx(id));
    renderNotices();
    markReady("pair");
    container.querySelector("h1")?.focus({ preventScroll: true });
    return;
  }
  app.classList.remove("is-bare");

  const route = match(currentPath());
  state.route = route;
  setTabs(route.tab);
  renderNotices();
  const scroll = window.scrollY;
  if (!refresh) main.replaceChildren(container);
  try {
    await route.view.render(container, route.params.map((p) => p ?? ""), ctx(id));
  } catch (err) {
    console.error(err);
    container.append(errorCard(err, () => render({ refresh: true })));
  }
  if (id !== state.renderId) return; // a newer render took over
  if (refresh) {
    main.replaceChildren(container);
    window.scrollTo(0, scroll);
  } else if (focus) {
    container.querySelector("h1")?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  markReady(route.name);
}

function markReady(view) {
  document.documentElement.dataset.view = view;
  document.documentElement.dataset.ready = "1";
}

function ctx(id) {
  return {
    settings: state.settings || {},
    tz: zoneOf(state.settings),
    navigate,
    rerender: () => render({ refresh: true }),
    onCleanup: (fn) => { if (id === state.renderId) state.cleanups.push(fn); else fn(); },
    setSettings: (s) => { state.settings = s; refreshStatus(); },
    refreshStatus,
    unauthorized: () => { state.authError = { detail: "" }; render(); },
    paired: async () => {
      state.authError = null;
      state.settings = await loadSettings().catch(() => state.settings);
      if (state.authError) return; // that token did not work either: the pairing screen is back
      history.replaceState(null, "", "#/today");
      await render();
      afterAuth();
    },
    authError: state.authError,
  };
}

/** Ask again whether pushes can reach a phone (after a change that may have fixed it). */
function refreshStatus() {
  if (state.authError || !state.settings) return Promise.resolve(null);
  return checkReadiness().then(renderNotices, (err) => console.warn("status check failed", err));
}

function setTabs(active) {
  for (const a of document.querySelectorAll("#tabs a")) {
    if (a.dataset.tab === active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

// ---- banners ---------------------------------------------------------------

function renderNet() {
  const el = $("net-status");
  const text = !navigator.onLine ? "Offline" : !state.reachable ? "Can't reach your computer" : "";
  el.textContent = text;
  el.classList.toggle("is-offline", Boolean(text));
}

function renderNotices() {
  const box = $("notices");
  const out = [];
  if (!state.authError) {
    const failed = queue.failedItems();
    if (failed.length) {
      out.push(h("div", { class: "notice error", role: "alert", id: "sync-failed" },
        h("strong", {}, failed.length === 1 ? "Your computer refused a change" : `Your computer refused ${failed.length} changes`),
        h("ul", {}, failed.map((item) => {
          const retry = h("button", { type: "button", class: "btn btn-small" }, "Try again");
          retry.addEventListener("click", () => queue.retry(item.seq));
          const drop = h("button", { type: "button", class: "btn btn-small" }, "Dismiss");
          drop.addEventListener("click", () => queue.dismiss(item.seq));
          return h("li", { class: "stack-sm" }, h("span", {}, h("b", {}, item.label), `: ${item.error}`), h("span", { class: "row" }, retry, drop));
        }))));
    }
    const pending = queue.pendingItems();
    if (pending.length) {
      const sync = h("button", { type: "button", class: "btn btn-small" }, "Sync now");
      sync.addEventListener("click", () => queue.drain());
      out.push(h("div", { class: "notice warn", id: "sync-pending" },
        h("span", { class: "row-between" },
          h("span", {}, h("strong", {}, pending.length === 1 ? "1 change waiting to sync" : `${pending.length} changes waiting to sync`),
            "Saved on this device. It syncs when your computer is reachable."),
          navigator.onLine ? sync : null)));
    }
    const ready = readiness();
    if (ready && !ready.can_push && ready.problems.length) out.push(pushBanner(ready.problems[0]));
    // on an iPhone tab, Today already explains Add to Home Screen (for notifications)
    if (state.route && state.route.tab === "today") {
      const offer = installOffer();
      if (offer && offer !== "ios") out.push(installNotice(offer));
    }
  }
  box.replaceChildren(...out);
}

/** On every screen while pushes cannot be sent: why, and a link to the fix. */
function pushBanner(problem) {
  const here = location.hash.split("/").slice(0, 2).join("/") === problem.fix.split("/").slice(0, 2).join("/");
  return h("div", { class: "notice warn", id: "push-banner", role: "status" },
    h("strong", {}, "Reminders can't reach a phone yet"),
    h("p", {}, problem.text),
    here ? null : h("div", { class: "btn-row" }, h("a", { class: "btn btn-small", href: problem.fix }, /contact/.test(problem.code) ? "Set the contact" : problem.code === "no_device" ? "Set up a phone" : "See devices")));
}

function installNotice(offer) {
  const later = h("button", { type: "button", class: "btn btn-small", id: "install-dismiss" }, "Not now");
  later.addEventListener("click", () => dismissInstall());
  if (offer === "ios") {
    return h("div", { class: "notice", id: "install-offer" },
      h("strong", {}, "Add Study Notifier to your Home Screen"),
      h("p", {}, "Tap ", shareIcon(), " Share, then “Add to Home Screen”. Reminders on iPhone need this."),
      h("div", { class: "btn-row" }, later));
  }
  const install = h("button", { type: "button", class: "btn btn-primary btn-small", id: "install-go" }, "Install");
  install.addEventListener("click", async () => {
    const outcome = await promptInstall();
    if (outcome === "accepted") toast("Installed. Open it from your home screen.");
  });
  return h("div", { class: "notice", id: "install-offer" },
    h("strong", {}, "Install Study Notifier"),
    h("p", {}, "One tap to open it like an app, even offline."),
    h("div", { class: "btn-row" }, install, later));
}

// ---- service worker --------------------------------------------------------

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" }).catch((err) => {
    console.warn("service worker registration failed", err);
    push.noteWorkerError(err);
    if (!state.authError && document.documentElement.dataset.ready === "1") render({ refresh: true });
  });
  navigator.serviceWorker.addEventListener("message", (event) => {
    const msg = event.data || {};
    if (msg.type === "navigate" && msg.url) {
      const url = new URL(msg.url, location.origin);
      if (url.origin !== location.origin) return;
      if (url.pathname === location.pathname && url.search === location.search) navigate(url.hash || "#/today");
      else location.assign(url.href);
    } else if (msg.type === "refresh") {
      refreshLive();
    }
  });
  navigator.serviceWorker.startMessages?.();
}

function refreshLive() {
  if (!state.authError && state.route && state.route.live) render({ refresh: true });
}

function queueSignature() {
  return queue.items().map((i) => `${i.id}:${i.state}`).join(",");
}

/** Things that need a working credential: push re-sync and sending queued changes. */
function afterAuth() {
  queue.drain();
  renderNet();
  refreshStatus();
  push.resync().then((st) => {
    if (st.state === "error") console.warn("push re-sync failed:", st.detail);
  });
}

async function start() {
  countVisit();
  await captureTokenFromUrl();
  const code = takePairingCode();
  registerServiceWorker();
  if (code) {
    try {
      await exchangePairingCode(code, push.deviceLabel());
      toast("Paired! This device is connected to your Study Notifier.");
    } catch (err) {
      state.authError = { detail: err.message };
    }
  }

  bus.on("unauthorized", (err) => {
    if (state.authError) return;
    state.authError = err || { detail: "" };
    render();
  });
  bus.on("reachability", ({ reachable }) => {
    if (state.reachable !== reachable) {
      state.reachable = reachable;
      renderNet();
    }
  });
  bus.on("queue", () => {
    renderNotices();
    const sig = queueSignature();
    if (sig !== state.queueSig) {
      state.queueSig = sig;
      refreshLive();
    }
  });
  bus.on("install-changed", renderNotices);
  bus.on("readiness", renderNotices); // any status check (the checklist's too) redraws the banner
  bus.on("synced", async () => { // queued changes (settings too) reached the computer
    state.settings = await loadSettings().catch(() => state.settings);
    refreshStatus();
  });
  window.addEventListener("online", renderNet);
  window.addEventListener("offline", () => { state.reachable = false; renderNet(); });
  window.addEventListener("hashchange", () => render());
  renderNet();

  await queue.reload();
  state.queueSig = queueSignature();
  try {
    [state.settings] = await Promise.all([loadSettings(), loadBootstrap().catch(() => null)]);
  } catch {
    state.settings = null; // 401: the pairing screen is already up
  }
  await render({ focus: false });
  queue.startQueue();
  if (!state.authError) afterAuth();
}

start();
