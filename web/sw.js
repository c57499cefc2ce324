/* Study Notifier service worker.
 *
 * - App shell: precached in a versioned cache, so the app opens offline. Served
 *   network-first (with a short timeout) so a new server version shows at once.
 * - /api/ GETs: network-first; when the network fails the last good answer is
 *   served, marked `X-SN-Cache: hit` (or a 503 marked `offline` if there is none).
 * - push: ALWAYS shows a notification (iOS revokes subscriptions that stay
 *   silent). Expects the payload of notifier/payload.py, version PAYLOAD_VERSION:
 *   {"v":1,"kind","title","body","url","tag","due","actions":[…],"action_token"}.
 * - notificationclick: focus an open window and send it to payload.url, or open
 *   one; the Done/Snooze buttons POST /api/actions without opening anything.
 * - pushsubscriptionchange: subscribe again and tell the server.
 *
 * The shell list and cache name come from the server (/sw-shell.js, made from
 * the files in web/, named after the package version and their contents), and
 * the code the page shares (IndexedDB, uuid, base64url, the subscription POST)
 * from /js/shared.js. A classic script on purpose (importScripts, no `import`):
 * module service workers are newer than the browsers we want to reach.
 */

importScripts("/js/shared.js", "/sw-shell.js");

const { kvGet, queueAdd, uuid, b64urlToBytes, saveSubscription } = self.studyNotifier;
const { version: VERSION, cache: SHELL_CACHE, files: SHELL } = self.SHELL;
const PAYLOAD_VERSION = 1;
const API_CACHE = "sn-api-v1";
// Answers that must not be kept on the device: the backup holds the keys, the feed's address is its secret.
const NEVER_CACHED = new Set(["/api/backup", "/api/calendar.ics", "/api/calendar-feed"]);
const NETWORK_TIMEOUT_MS = 4000;
const SHELL_PATHS = new Set(SHELL);

// ---- lifecycle ---------------------------------------------------------------

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("sn-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  const msg = event.data || {};
  if (msg.type === "clear-api-cache") event.waitUntil(caches.delete(API_CACHE));
  if (msg.type === "version" && event.ports[0]) event.ports[0].postMessage({ version: VERSION, payload: PAYLOAD_VERSION });
});

// ---- fetch -------------------------------------------------------------------

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // changes go straight to the network (the app queues them)
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (NEVER_CACHED.has(url.pathname)) return; // downloads holding keys or the feed secret
  if (url.pathname.startsWith("/api/")) {
    event.respondWith(apiNetworkFirst(request));
  } else if (request.mode === "navigate") {
    // every navigation inside the app is the shell; other pages (docs, pairing) fall back to it offline
    event.respondWith(networkFirst(request, url.pathname === "/" || url.pathname === "/index.html" ? "/" : null, "/"));
  } else if (SHELL_PATHS.has(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname, url.pathname));
  }
});

/**
 * Network first. `storeKey`: where a good answer is cached (null: not cached);
 * `fallbackKey`: what to serve from the shell cache if the network fails or
 * is slower than NETWORK_TIMEOUT_MS (a phone far from home should not stare at a blank screen).
 */
async function networkFirst(request, storeKey, fallbackKey) {
  const cache = await caches.open(SHELL_CACHE);
  const fromNetwork = fetch(request).then((res) => {
    if (res.ok && storeKey) cache.put(storeKey, res.clone()).catch(() => {});
    return res;
  });
  return raceCache(fromNetwork, () => cache.match(fallbackKey, { ignoreSearch: true, ignoreVary: true }));
}

function raceCache(fromNetwork, fromCache) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn, value) => { if (!settled) { settled = true; fn(value); } };
    const timer = setTimeout(async () => {
      const hit = await fromCache();
      if (hit) settle(resolve, hit);
    }, NETWORK_TIMEOUT_MS);
    fromNetwork.then(
      (res) => { clearTimeout(timer); settle(resolve, res); },
      async (err) => {
        clearTimeout(timer);
        const hit = await fromCache();
        if (hit) settle(resolve, hit);
        else settle(reject, err);
      },
    );
  });
}

async function apiNetworkFirst(request) {
  const cache = await caches.open(API_CACHE);
  const fromNetwork = fetch(request).then((res) => {
    if (res.status === 200) cache.put(request, res.clone()).catch(() => {});
    return res;
  });
  const fromCache = async () => {
    const hit = await cache.match(request, { ignoreVary: true });
    return hit ? marked(hit, "hit") : null;
  };
  try {
    return await raceCache(fromNetwork, fromCache);
  } catch {
    return new Response(JSON.stringify({ error: "offline", detail: "Can't reach your computer, and nothing is saved on this device for this page yet." }), {
      status: 503, headers: { "Content-Type": "application/json", "X-SN-Cache": "offline" },
    });
  }
}

/** A copy of a cached response with a header saying where it came from. */
async function marked(res, how) {
  const headers = new Headers(res.headers);
  headers.set("X-SN-Cache", how);
  return new Response(await res.blob(), { status: res.status, statusText: res.statusText, headers });
}

// ---- push --------------------------------------------------------------------

self.addEventListener("push", (event) => {
  event.waitUntil(onPush(event));
});

async function onPush(event) {
  let payload = null;
  try {
    payload = event.data ? event.data.json() : null;
  } catch {
    payload = null; // not JSON: still show something below
  }
  const { title, options } = toNotification(payload);
  try {
    await self.registration.showNotification(title, options);
  } catch (err) {
    // e.g. a bad action list on some platform: never stay silent
    await self.registration.showNotification(title, { body: options.body, tag: options.tag, data: options.data, icon: options.icon });
  }
  await tellClients({ type: "refresh", kind: options.data.kind });
}

/** Payload → showNotification() arguments; a generic notification if the payload is unusable. */
function toNotification(p) {
  const generic = {
    title: "Study Notifier",
    options: {
      body: "You have a new study reminder. Tap to open the app.",
      tag: "study-notifier",
      data: { v: PAYLOAD_VERSION, kind: "unknown", url: "/" },
      icon: "/icons/icon-192.png",
      badge: "/icons/badge-96.png",
    },
  };
  if (!p || typeof p !== "object" || typeof p.title !== "string" || !p.title.trim()) return generic;
  if (p.v !== PAYLOAD_VERSION) console.warn(`push payload v${p.v}; this service worker expects v${PAYLOAD_VERSION}`);
  const url = samePath(p.url);
  const token = typeof p.action_token === "string" && p.action_token ? p.action_token : null;
  const max = (self.Notification && self.Notification.maxActions) || 2;
  // buttons only when there is a token to act with; otherwise they would do nothing
  const actions = token && Array.isArray(p.actions)
    ? p.actions.filter((a) => a && typeof a.action === "string" && typeof a.title === "string").slice(0, max)
      .map((a) => ({ action: a.action, title: a.title }))
    : [];
  const due = p.due ? Date.parse(p.due) : NaN;
  const options = {
    body: typeof p.body === "string" ? p.body : "",
    data: { v: p.v, kind: p.kind || "reminder", url, tag: p.tag || null, due: p.due || null, action_token: token,
      snooze_minutes: Number.isInteger(p.snooze_minutes) ? p.snooze_minutes : null },
    icon: "/icons/icon-192.png",
    badge: "/icons/badge-96.png",
    actions,
  };
  if (typeof p.tag === "string" && p.tag) options.tag = p.tag; // a resend replaces, never stacks
  if (Number.isFinite(due)) options.timestamp = due;
  return { title: p.title, options };
}

/** Only same-origin paths are followed from a payload. */
function samePath(url) {
  try {
    const u = new URL(url || "/", self.location.origin);
    return u.origin === self.location.origin ? u.pathname + u.search + u.hash : "/";
  } catch {
    return "/";
  }
}

self.addEventListener("notificationclick", (event) => {
  const notification = event.notification;
  const data = notification.data || {};
  notification.close();
  const work = ACTION_LABELS[event.action] && data.action_token
    ? runAction(event.action, data)
    : openApp(data.url || "/");
  keepAlive(event, work);
});

/** waitUntil throws for untrusted (synthetic) events; the work still runs. */
function keepAlive(event, promise) {
  try {
    event.waitUntil(promise);
  } catch {
    promise.catch((err) => console.warn(err));
  }
}

async function openApp(path) {
  const target = new URL(samePath(path), self.location.origin);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const ours = windows.filter((c) => new URL(c.url).pathname === "/");
  const win = ours.find((c) => c.focused) || ours.find((c) => c.visibilityState === "visible") || ours[0];
  if (win) {
    win.postMessage({ type: "navigate", url: target.pathname + target.search + target.hash });
    try {
      await win.focus();
    } catch {
      /* focus needs a real click; the window still navigates */
    }
    return win;
  }
  return self.clients.openWindow(target.href);
}

// The buttons /api/actions knows: a reminder's Done and Snooze, the end-of-block
// question's Done, Not done and "+N min" (more). [queued label, shown when queued, what the app shows]
const ACTION_LABELS = {
  done: ["Done (from a notification)", "Marked done on this phone", () => ({ status: "done" })],
  snooze: ["Snooze (from a notification)", "Snoozed on this phone",
    (data) => (data.snooze_minutes ? { snooze_minutes: data.snooze_minutes } : {})],
  not_done: ["Not done (from a notification)", "Marked not done on this phone", () => ({ status: "skipped" })],
  more: ["A few more minutes (from a notification)", "Asking again later", () => ({})],
};

/** A button on the notification itself, sent with the payload's action token. */
async function runAction(action, data) {
  const key = uuid();
  const body = { action_token: data.action_token, action };
  let res;
  try {
    res = await fetch("/api/actions", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": key },
      body: JSON.stringify(body),
    });
  } catch {
    res = null;
  }
  if (res && res.ok) {
    await tellClients({ type: "refresh" });
    return;
  }
  if (res && res.status < 500 && res.status !== 408 && res.status !== 429) {
    // the token expired or the block is gone: say so, and let a tap open the app
    await self.registration.showNotification("Couldn't update that block", {
      body: "This reminder has expired. Tap to open Study Notifier.",
      tag: data.tag || "study-notifier", data: { kind: "action-failed", url: data.url || "/" },
      icon: "/icons/icon-192.png", badge: "/icons/badge-96.png",
    });
    return;
  }
  // no network or a server hiccup: hand it to the app's offline queue (same key, so no duplicates)
  const target = /^\/#\/occurrence\/([^/]+)\/(\d{8}T\d{6}Z)$/.exec(data.url || "");
  await queueAdd({
    id: key, method: "POST", path: "/api/actions", body, kind: "occurrence",
    label: ACTION_LABELS[action][0],
    meta: target ? { block_id: target[1], key: target[2], ...ACTION_LABELS[action][2](data) } : {},
    state: "pending", created_at: new Date().toISOString(), attempts: 0,
  });
  await tellClients({ type: "queue-changed" });
  await self.registration.showNotification(ACTION_LABELS[action][1], {
    body: "Your computer isn't reachable right now. It will be told as soon as the app can reach it.",
    tag: data.tag || "study-notifier", data: { kind: "queued", url: data.url || "/" }, silent: true,
    icon: "/icons/icon-192.png", badge: "/icons/badge-96.png",
  });
}

self.addEventListener("pushsubscriptionchange", (event) => {
  keepAlive(event, resubscribe(event));
});

/** The push service replaced or expired our subscription: make a new one and tell the server. */
async function resubscribe(event) {
  const old = event.oldSubscription || null;
  let sub = event.newSubscription || null;
  if (!sub) {
    const res = await fetch("/api/push/vapid-public-key", { credentials: "same-origin" });
    const { key } = await res.json();
    sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(key) });
  }
  const token = await kvGet("token");
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const send = (method, path, body) => fetch(path, { method, credentials: "same-origin", headers, body: JSON.stringify(body) });
  const res = await saveSubscription(sub, (await kvGet("label")) || "", send);
  if (!res.ok) throw new Error(`server refused the new subscription: HTTP ${res.status}`);
  const json = sub.toJSON();
  if (old && old.endpoint && old.endpoint !== json.endpoint) {
    await fetch(`/api/push/subscriptions?endpoint=${encodeURIComponent(old.endpoint)}`, { method: "DELETE", credentials: "same-origin", headers }).catch(() => {});
  }
  await tellClients({ type: "refresh" });
}

// ---- helpers -----------------------------------------------------------------

async function tellClients(message) {
  for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) client.postMessage(message);
}
