// Loading and changing the app's data: settings, agenda, blocks, occurrences.
// Reads go straight to the API (the service worker falls back to its cache);
// changes go through the offline queue.

import { ApiError, get, isCachedAnswer } from "./api.js";
import { addDays, dateToKey, deviceTimeZone, keyToDate, localToUtc, weekdayIndex, weeklyDays, DAY_CODES } from "./time.js";
import { drain, isTempId, items, overlay, pendingItems, submit, tempId } from "./queue.js";
import { kvGet, kvSet, queueDelete, queuePut } from "./idb.js";

const SETTINGS_CACHE = "sn.settings";
const BOOTSTRAP_CACHE = "sn.bootstrap";

function readJson(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled: the app still works online */
  }
}

/**
 * GET /api/bootstrap: the version, the VAPID key and the settings' defaults
 * (the server's own, never a copy here); the last answer is kept for offline starts.
 */
export async function loadBootstrap() {
  try {
    const boot = await get("/api/bootstrap");
    writeJson(BOOTSTRAP_CACHE, boot);
    return boot;
  } catch (err) {
    const cached = readJson(BOOTSTRAP_CACHE);
    if (cached && !(err instanceof ApiError && err.status === 401)) return cached;
    throw err;
  }
}

/** The last bootstrap answer seen, or {} (no request). */
export function lastBootstrap() {
  return readJson(BOOTSTRAP_CACHE) || {};
}

/** What the server accepts (title length, duration, offsets…), so forms can say so before sending; {} if unknown. */
export function limits() {
  return lastBootstrap().limits || {};
}

/** The zone the schedule lives in: the settings' zone, else the computer's, else this device's. */
export function zoneOf(settings) {
  return (settings && (settings.timezone || settings.timezone_effective)) || deviceTimeZone();
}

/**
 * Settings from the server, or the last copy we saw, or the server's defaults
 * (flagged `missing`); changes still waiting in the offline queue on top.
 */
export async function loadSettings() {
  try {
    const settings = await get("/api/settings");
    if (isCachedAnswer(settings)) return withPendingSettings({ ...settings, stale: true });
    writeJson(SETTINGS_CACHE, settings);
    return withPendingSettings(settings);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    const cached = readJson(SETTINGS_CACHE);
    if (cached) return withPendingSettings({ ...cached, stale: true });
    return { ...(lastBootstrap().settings_defaults || {}), missing: true, error: err };
  }
}

/** The settings changes waiting in the queue, oldest first, as one patch. */
export function pendingSettings() {
  return Object.assign({}, ...pendingItems().filter((i) => i.kind === "settings").map((i) => i.meta.patch));
}

function withPendingSettings(settings) {
  const patch = pendingSettings();
  return Object.keys(patch).length ? { ...settings, ...patch, pending: Object.keys(patch) } : settings;
}

/**
 * Change settings through the offline queue: sent now, or kept on this device
 * until the computer is reachable. Never use it for the Anthropic API key: a
 * secret does not wait in the phone's storage.
 */
export async function saveSettings(patch) {
  const outcome = await submit({ method: "PUT", path: "/api/settings", body: patch, kind: "settings", label: "Change settings", meta: { patch } });
  if (outcome.state === "sent" && outcome.result) writeJson(SETTINGS_CACHE, outcome.result);
  return outcome;
}

/** Occurrences from `fromDay` (inclusive) to `toDay` (exclusive), with pending changes applied. */
export async function loadAgenda(fromDay, toDay) {
  const q = new URLSearchParams({ from: `${fromDay}T00:00`, to: `${toDay}T00:00` });
  const data = await get(`/api/agenda?${q}`);
  const list = (data && data.occurrences) || [];
  remember(list);
  rememberBlocks(); // in the background: the list shows without waiting for it
  return overlay(list, fromDay, toDay);
}

// Every block as GET /api/blocks gave it, kept when a list loads, so the edit
// screen of a block never opened online still opens offline.
const BLOCKS_KV = "blocks";
const BLOCKS_FRESH_MS = 15_000;
let blocksFetchedAt = 0;

async function rememberBlocks() {
  if (Date.now() - blocksFetchedAt < BLOCKS_FRESH_MS) return;
  blocksFetchedAt = Date.now();
  try {
    const list = (await get("/api/blocks")) || [];
    await kvSet(BLOCKS_KV, Object.fromEntries(list.map((b) => [String(b.id), b])));
  } catch {
    blocksFetchedAt = 0; // offline or refused: try again with the next list
  }
}

async function rememberBlock(block) {
  try {
    const all = (await kvGet(BLOCKS_KV)) || {};
    all[String(block.id)] = block;
    await kvSet(BLOCKS_KV, all);
  } catch {
    /* no IndexedDB: the edit screen just needs the network */
  }
}

async function recalledBlock(id) {
  try {
    return ((await kvGet(BLOCKS_KV)) || {})[String(id)] || null;
  } catch {
    return null;
  }
}

/** A block with its edits still waiting in the queue on top (what the person last saved). */
function withPendingEdits(block) {
  const edits = pendingItems().filter((i) => i.kind === "edit" && String(i.meta.block_id) === String(block.id));
  return edits.length ? { ...block, ...Object.assign({}, ...edits.map((i) => i.meta.patch)), pending: true } : block;
}

// Occurrences seen lately, so a deep link or a tap on a row still opens offline.
const SEEN = "sn.seen-occurrences";
const SEEN_MAX = 400;

function remember(list) {
  try {
    const seen = JSON.parse(localStorage.getItem(SEEN) || "{}");
    for (const o of list) seen[`${o.block_id}/${o.key}`] = o;
    const keep = Object.entries(seen).sort((a, b) => String(b[1].start_utc).localeCompare(String(a[1].start_utc))).slice(0, SEEN_MAX);
    localStorage.setItem(SEEN, JSON.stringify(Object.fromEntries(keep)));
  } catch {
    /* storage full or disabled: offline deep links just show an error */
  }
}

function recalled(blockId, key) {
  try {
    return JSON.parse(localStorage.getItem(SEEN) || "{}")[`${blockId}/${key}`] || null;
  } catch {
    return null;
  }
}

const isoOffset = (d) => `${d.toISOString().slice(0, 19)}+00:00`;

/** One occurrence by block id and key, or null if it is not on the schedule. */
export async function loadOccurrence(blockId, key) {
  if (isTempId(blockId)) {
    return overlay([], null, null).find((o) => String(o.block_id) === String(blockId) && o.key === key) || null;
  }
  const at = keyToDate(key);
  if (!at) return null;
  const q = new URLSearchParams({ from: isoOffset(new Date(at.getTime() - 60000)), to: isoOffset(new Date(at.getTime() + 60000)) });
  let list;
  try {
    const data = await get(`/api/agenda?${q}`);
    list = (data && data.occurrences) || [];
    remember(list);
  } catch (err) {
    const known = err.name === "OfflineError" ? recalled(blockId, key) : null;
    if (!known) throw err;
    list = [known];
  }
  const found = overlay(list, null, null).find((o) => String(o.block_id) === String(blockId) && o.key === key);
  if (found) return found;
  // a session moved to another time keeps its original start as its key: look around it
  try {
    const wide = new URLSearchParams({ from: isoOffset(new Date(at.getTime() - 30 * 86400000)), to: isoOffset(new Date(at.getTime() + 30 * 86400000)) });
    const data = await get(`/api/agenda?${wide}`);
    const moved = ((data && data.occurrences) || []).filter((o) => String(o.block_id) === String(blockId) && o.key === key);
    remember(moved);
    return overlay(moved, null, null)[0] || null;
  } catch {
    return null;
  }
}

/**
 * A block from the server (offline: the copy kept when a list loaded), or from
 * the queue if it was made offline and is not sent yet; queued edits on top.
 */
export async function loadBlock(id) {
  if (isTempId(id)) {
    const item = items().find((i) => i.kind === "create" && i.meta.tmp_id === id);
    return item ? { ...item.body, id, pending: true } : null;
  }
  let block;
  try {
    block = await get(`/api/blocks/${encodeURIComponent(id)}`);
  } catch (err) {
    block = err.name === "OfflineError" ? await recalledBlock(id) : null;
    if (!block) throw err;
    return withPendingEdits(block);
  }
  await rememberBlock(block);
  return withPendingEdits(block);
}

export const loadBlocks = () => get("/api/blocks");

// ---- changes -------------------------------------------------------------

/** The first occurrence of a block, worked out here so a block made offline shows up at once. */
export function firstOccurrence(block, tz, id) {
  let start = block.start.slice(0, 16);
  const days = (block.repeat && block.repeat.days) || weeklyDays(block.rrule);
  if (days) {
    const day0 = start.slice(0, 10);
    for (let i = 0; i < 7; i += 1) {
      const d = addDays(day0, i);
      if (days.includes(DAY_CODES[weekdayIndex(d)])) {
        start = `${d}T${start.slice(11)}`;
        break;
      }
    }
  }
  const utc = localToUtc(start, tz);
  const key = dateToKey(utc);
  return {
    block_id: id, title: block.title, notes: block.notes || "", key, start,
    start_utc: utc.toISOString(), end_utc: new Date(utc.getTime() + block.duration_minutes * 60000).toISOString(),
    duration_minutes: block.duration_minutes, status: "planned", snoozed_until: null,
    url: `/#/occurrence/${id}/${key}`, local_only: true,
  };
}

export async function createBlock(body, tz) {
  const tmp = tempId();
  return submit({
    method: "POST", path: "/api/blocks", body, kind: "create",
    label: `Add "${body.title}"`, meta: { tmp_id: tmp, first: firstOccurrence(body, tz, tmp) },
  });
}

export async function updateBlock(id, body, tz) {
  if (isTempId(id)) {
    // still only on this phone: change the queued "add" instead of queueing an edit
    const item = items().find((i) => i.kind === "create" && i.meta.tmp_id === id && i.state !== "failed");
    if (item) {
      item.body = body;
      item.label = `Add "${body.title}"`;
      item.meta.first = firstOccurrence(body, tz, id);
      await queuePut(item);
      return { state: "queued", item };
    }
  }
  return submit({
    method: "PATCH", path: `/api/blocks/${id}`, body, kind: "edit",
    label: `Edit "${body.title}"`, meta: { block_id: id, patch: body },
  });
}

export async function deleteBlock(id, title) {
  if (isTempId(id)) {
    for (const item of items()) {
      if (JSON.stringify([item.path, item.meta]).includes(id)) await queueDelete(item.seq);
    }
    await drain();
    return { state: "sent", result: null };
  }
  return submit({
    method: "DELETE", path: `/api/blocks/${id}`, kind: "delete",
    label: `Delete "${title}"`, meta: { block_id: id },
  });
}

/** Done / skip / back to planned (`{status}`), or snooze (`{snooze_minutes}`). */
export async function changeOccurrence(occ, change) {
  const what = change.snooze_minutes ? `Snooze "${occ.title}"` : change.status === "done" ? `Done: "${occ.title}"`
    : change.status === "skipped" ? `Skip "${occ.title}"` : `Reopen "${occ.title}"`;
  return submit({
    method: "POST", path: `/api/blocks/${occ.block_id}/occurrences/${occ.key}`, body: change, kind: "occurrence",
    label: what, meta: { block_id: occ.block_id, key: occ.key, ...change },
  });
}
