// The device's credential. Pairing sets an HttpOnly cookie the app never sees;
// until then (and for scripts) a bearer token arrives once in the URL as
// `/#token=<t>` or `/?token=<t>`. We keep it in localStorage for the page and in
// IndexedDB for the service worker (which has no localStorage).

import { kvDelete, kvSet } from "./idb.js";

const KEY = "sn.token";
let token = null;

try {
  token = localStorage.getItem(KEY);
} catch {
  token = null;
}

/** A pairing code from the address bar (`#pair=…`, or `#code=…` on any page), scrubbed from the URL. */
export function takePairingCode() {
  const m = /^#(?:pair|code)=([A-Za-z0-9_-]{4,64})/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, "", `${location.pathname === "/pair" ? "/" : location.pathname}${location.search}#/today`);
  return m[1];
}

/**
 * Trade a single-use pairing code for this device's credential. The server
 * sets the HttpOnly cookie and also returns the token once: we keep it too,
 * because an iPhone's Home Screen app does not share Safari's cookies.
 */
export async function exchangePairingCode(code, label) {
  let res;
  try {
    res = await fetch("/api/pairing/exchange", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ code: code.trim(), label }),
    });
  } catch {
    throw new Error("Can't reach your computer. Is this phone on the same network?");
  }
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) throw new Error((data && data.detail) || `Pairing failed (HTTP ${res.status}).`);
  if (data && data.token) await setToken(data.token);
  return data;
}

/** Take a token from the address bar, store it, and scrub it from the URL. */
export async function captureTokenFromUrl() {
  const url = new URL(location.href);
  const fromQuery = url.searchParams.get("token");
  const hash = url.hash.replace(/^#/, "");
  const fromHash = /^token=/.test(hash) ? new URLSearchParams(hash).get("token") : null;
  const found = (fromQuery || fromHash || "").trim();
  if (!found) return false;
  await setToken(found);
  url.searchParams.delete("token");
  // never leave the token in history, bookmarks or a shared screenshot
  history.replaceState(null, "", url.pathname + url.search + (fromHash ? "#/today" : url.hash));
  return true;
}

export function getToken() {
  return token;
}

export async function setToken(value) {
  token = value || null;
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    /* private mode: the in-memory copy still works for this visit */
  }
  try {
    if (token) await kvSet("token", token);
    else await kvDelete("token");
  } catch (err) {
    console.warn("could not store the token for the service worker", err);
  }
}

export function authHeaders() {
  return token ? { Authorization: `Bearer ${token}` } : {};
}
