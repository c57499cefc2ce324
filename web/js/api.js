// fetch() for the server's JSON API: auth header, cookie, errors as exceptions.

import { authHeaders } from "./auth.js";
import { bus } from "./events.js";

/** The server answered with an error body `{"error": code, "detail": text}`. */
export class ApiError extends Error {
  constructor(status, code, detail, body = null) {
    super(detail || code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail || "";
    this.body = body; // the whole error body, for errors that carry more (e.g. 409 no_phone_origin's ways)
  }
}

/** The server could not be reached (offline, or the home computer is off). */
export class OfflineError extends Error {
  constructor(message = "Can't reach your computer right now.") {
    super(message);
    this.name = "OfflineError";
  }
}

/** Build the request options every call shares (also used by the offline queue). */
export function requestInit(method, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...authHeaders(), ...extraHeaders };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return init;
}

/** Turn a non-2xx response into an ApiError, reading the JSON error body if any. */
export async function errorFrom(res) {
  let code = `http_${res.status}`;
  let detail = res.statusText || "";
  let body = null;
  try {
    const data = await res.json();
    if (data && typeof data === "object") {
      body = data;
      code = data.error || code;
      detail = data.detail || detail;
    }
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, code, detail, body);
}

/**
 * Call the API. Resolves with the parsed JSON (null for 204); rejects with
 * ApiError or OfflineError. A 401 also tells the app to show the pairing screen.
 */
export async function api(method, path, body, { headers = {}, signal } = {}) {
  let res;
  try {
    res = await fetch(path, { ...requestInit(method, body, headers), signal });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    bus.emit("reachability", { reachable: false });
    throw new OfflineError();
  }
  // The service worker answers with a cached copy (or this marker) when the network is gone.
  const cached = res.headers.get("X-SN-Cache");
  if (cached === "offline") {
    bus.emit("reachability", { reachable: false });
    throw new OfflineError();
  }
  bus.emit("reachability", { reachable: cached !== "hit" });
  if (res.status === 401) {
    const err = await errorFrom(res);
    bus.emit("unauthorized", err);
    throw err;
  }
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return null;
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (cached === "hit" && data && typeof data === "object") fromCache.add(data);
  return data;
}

const fromCache = new WeakSet();

/** Whether an answer is the service worker's last good copy (the computer was not reached). */
export const isCachedAnswer = (data) => Boolean(data) && typeof data === "object" && fromCache.has(data);

export const get = (path, opts) => api("GET", path, undefined, opts);
