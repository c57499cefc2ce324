// The offline queue. Every change (create/edit/delete a block, done/skip/snooze)
// is written to IndexedDB first with its own Idempotency-Key, then sent in order.
// The server replays the first response for a repeated key, so sending an item
// twice (a lost response, two tabs) never makes two changes.
//
// Outcomes per item: 2xx → removed; 5xx, 408, 429 or no network → kept, retried
// later in order; 401 → kept, the pairing screen is shown; any other 4xx → kept
// as "failed" with the server's words until the person dismisses it.

import { errorFrom, requestInit } from "./api.js";
import { bus } from "./events.js";
import { kvGet, kvSet, queueAdd, queueAll, queueDelete, queuePut, uuid } from "./idb.js";

const TMP_PREFIX = "tmp-";
const MAX_BACKOFF_MS = 60_000;

let cache = [];
let running = null;
let retryTimer = null;
let backoff = 0;
const results = new Map(); // item id → response JSON, for the code that submitted it
const claimed = new Set(); // items whose submitter is waiting to show the outcome itself

export const tempId = () => TMP_PREFIX + uuid();
export const isTempId = (id) => String(id).startsWith(TMP_PREFIX);

/** The queue as last read (oldest first). */
export function items() {
  return cache;
}

export const pendingItems = () => cache.filter((i) => i.state !== "failed");
/** Refused changes to show in the banner (not the one a screen is reporting itself right now). */
export const failedItems = () => cache.filter((i) => i.state === "failed" && !claimed.has(i.id));

export async function reload() {
  try {
    cache = await queueAll();
  } catch (err) {
    console.warn("cannot read the offline queue", err);
    cache = [];
  }
  bus.emit("queue", cache);
  return cache;
}

/** Store one change; it is sent by drain(). */
export async function enqueue({ method, path, body, kind, label, meta = {} }) {
  const item = {
    id: uuid(), method, path, body, kind, label, meta,
    state: "pending", created_at: new Date().toISOString(), attempts: 0,
  };
  item.seq = await queueAdd(item);
  await reload();
  return item;
}

/**
 * Enqueue and try to send now. Resolves with {state: "sent", result} when the
 * server took it, {state: "queued"} when it is waiting for the network, or
 * {state: "failed", error} when the server rejected it.
 */
export async function submit(op) {
  const item = await enqueue(op);
  claimed.add(item.id);
  try {
    await drain();
  } finally {
    claimed.delete(item.id);
  }
  if (results.has(item.id)) {
    const result = results.get(item.id);
    results.delete(item.id);
    return { state: "sent", result };
  }
  const still = cache.find((i) => i.id === item.id);
  if (still && still.state === "failed") return { state: "failed", error: still.error, status: still.status, item: still };
  return { state: "queued", item: still || item };
}

/** Send everything pending, oldest first; only one drain runs at a time. */
export function drain() {
  if (!running) {
    const work = () => drainOnce().finally(() => { running = null; });
    running = navigator.locks ? navigator.locks.request("sn-queue-drain", work) : work();
  }
  return running;
}

async function drainOnce() {
  let sent = 0;
  const tried = new Set();
  // Re-read the queue before each item: sending a block made offline rewrites the
  // later items that point at its temporary id, and the service worker may add items.
  for (;;) {
    cache = await queueAll();
    const item = cache.find((i) => i.state !== "failed" && !tried.has(i.seq));
    if (!item) break;
    tried.add(item.seq);
    const blocker = dependencyFailure(item);
    if (blocker) {
      await markFailed(item, 0, `This depends on "${blocker.label}", which the server rejected.`);
      continue;
    }
    let res;
    try {
      res = await fetch(item.path, requestInit(item.method, item.body ?? undefined, { "Idempotency-Key": item.id }));
    } catch {
      scheduleRetry();
      break;
    }
    if (res.ok || (res.status === 404 && item.method === "DELETE")) {
      const text = res.status === 204 ? "" : await res.text();
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch { data = null; }
      await queueDelete(item.seq);
      results.set(item.id, data);
      if (item.kind === "create" && data && data.id !== undefined && item.meta.tmp_id) {
        await resolveTempId(item.meta.tmp_id, data.id);
      }
      sent += 1;
      backoff = 0;
      continue;
    }
    if (res.status === 401) {
      bus.emit("unauthorized", await errorFrom(res));
      break;
    }
    if (res.status >= 500 || res.status === 408 || res.status === 429 || res.status === 425) {
      const retryAfter = Number(res.headers.get("Retry-After"));
      item.attempts = (item.attempts || 0) + 1;
      await queuePut(item);
      scheduleRetry(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
      break;
    }
    const err = await errorFrom(res);
    await markFailed(item, res.status, err.detail || err.code);
  }
  await reload();
  if (sent) bus.emit("synced", { sent });
  return { sent, pending: pendingItems().length, failed: failedItems().length };
}

function dependencyFailure(item) {
  const tmp = [item.path, JSON.stringify(item.meta || {})].join(" ").match(/tmp-[0-9a-f-]{36}/);
  if (!tmp) return null;
  return cache.find((other) => other.state === "failed" && other.kind === "create" && other.meta.tmp_id === tmp[0]) || null;
}

async function markFailed(item, status, detail) {
  item.state = "failed";
  item.status = status;
  item.error = detail || "The server refused this change.";
  await queuePut(item);
  bus.emit("queue-failed", item);
}

/** A block made offline got its real id: point every later change (and the view) at it. */
async function resolveTempId(tmp, id) {
  const map = (await kvGet("idmap")) || {};
  map[tmp] = id;
  await kvSet("idmap", map);
  for (const other of await queueAll()) {
    const text = JSON.stringify([other.path, other.meta]);
    if (!text.includes(tmp)) continue;
    other.path = other.path.split(tmp).join(String(id));
    other.meta = JSON.parse(JSON.stringify(other.meta).split(tmp).join(String(id)));
    if (other.meta.block_id === String(id)) other.meta.block_id = id;
    await queuePut(other);
  }
  bus.emit("idmap", { tmp, id });
}

export async function realId(id) {
  if (!isTempId(id)) return id;
  const map = (await kvGet("idmap")) || {};
  return map[id] ?? id;
}

function scheduleRetry(ms) {
  backoff = ms ?? Math.min(MAX_BACKOFF_MS, backoff ? backoff * 2 : 5000);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => drain(), backoff);
}

/** Forget a failed change (the person has read why). */
export async function dismiss(seq) {
  await queueDelete(seq);
  await reload();
}

/** Try a failed change once more. */
export async function retry(seq) {
  const item = cache.find((i) => i.seq === seq);
  if (!item) return;
  item.state = "pending";
  delete item.error;
  await queuePut(item);
  await drain();
}

/** Start draining on the triggers that matter: app open, back online, app shown again. */
export function startQueue() {
  window.addEventListener("online", () => drain());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") drain();
  });
  navigator.serviceWorker?.addEventListener("message", (event) => {
    if (event.data && event.data.type === "queue-changed") drain();
  });
  return drain();
}

// ---- showing pending changes inside the views --------------------------

/**
 * Apply pending changes to a list of occurrences from the server, so the
 * person sees what they did while offline, marked as waiting to sync.
 * `from`/`to` are "YYYY-MM-DD" (to exclusive) for placing blocks made offline.
 */
export function overlay(occurrences, from, to) {
  const list = occurrences.map((o) => ({ ...o }));
  for (const item of pendingItems()) {
    const m = item.meta || {};
    if (item.kind === "occurrence") {
      for (const o of list) {
        if (String(o.block_id) === String(m.block_id) && o.key === m.key) {
          if (m.status) o.status = m.status;
          if (m.snooze_minutes) o.snoozed_until = new Date(Date.now() + m.snooze_minutes * 60000).toISOString();
          o.pending = true;
        }
      }
    } else if (item.kind === "edit") {
      for (const o of list) {
        if (String(o.block_id) === String(m.block_id)) {
          if (m.patch && m.patch.title) o.title = m.patch.title;
          o.pending = true;
        }
      }
    } else if (item.kind === "delete") {
      for (const o of list) if (String(o.block_id) === String(m.block_id)) { o.pending = true; o.deleting = true; }
    } else if (item.kind === "create" && m.first) {
      const day = m.first.start.slice(0, 10);
      if ((!from || day >= from) && (!to || day < to)) list.push({ ...m.first, pending: true });
    }
  }
  list.sort((a, b) => String(a.start_utc).localeCompare(String(b.start_utc)));
  return list;
}
