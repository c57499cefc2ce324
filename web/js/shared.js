/* Code the page and the service worker both run, written once.
 *
 * A classic script on purpose: sw.js loads it with importScripts() (module
 * service workers are newer than the browsers we want to reach), and
 * index.html with a plain <script> before the app's modules, which read it
 * from `globalThis.studyNotifier` (see idb.js, queue.js, push.js).
 *
 * - IndexedDB "study-notifier": `kv` for small values (the token and device
 *   name the service worker needs), `queue` for changes waiting to be sent.
 * - uuid() for Idempotency-Keys; b64urlToBytes() for the VAPID key.
 * - saveSubscription(): the one way a push subscription is told to the server.
 */
(function (root) {
  "use strict";

  const DB_NAME = "study-notifier";
  const DB_VERSION = 1;
  let opening = null;

  /** Open (and create) the database once per page or worker. */
  function openDb() {
    if (!opening) {
      opening = new Promise((resolve, reject) => {
        const req = indexedDB.open(DB_NAME, DB_VERSION);
        req.onupgradeneeded = () => {
          const db = req.result;
          if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
          if (!db.objectStoreNames.contains("queue")) db.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
        };
        req.onsuccess = () => {
          const db = req.result;
          // another tab or the service worker upgrading: let go so it can proceed
          db.onversionchange = () => { db.close(); opening = null; };
          resolve(db);
        };
        req.onerror = () => { opening = null; reject(req.error); };
        req.onblocked = () => console.warn("IndexedDB upgrade blocked by another tab");
      });
    }
    return opening;
  }

  /** Run one request on one store and resolve with its result. */
  async function withStore(name, mode, fn) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const req = fn(db.transaction(name, mode).objectStore(name));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  function uuid() {
    if (root.crypto.randomUUID) return root.crypto.randomUUID();
    const b = root.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function b64urlToBytes(b64) {
    const bin = atob((b64 + "=".repeat((4 - (b64.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  const kvSet = (key, value) => withStore("kv", "readwrite", (s) => s.put(value, key));

  /**
   * POST a push subscription (the same endpoint updates) with this device's name.
   * `send(method, path, body)` does the HTTP: the page's api(), or the worker's fetch.
   */
  async function saveSubscription(sub, label, send) {
    const json = typeof sub.toJSON === "function" ? sub.toJSON() : sub;
    // the worker needs the name when the push service replaces the subscription
    await kvSet("label", label).catch(() => {});
    return send("POST", "/api/push/subscriptions", {
      endpoint: json.endpoint, expirationTime: json.expirationTime ?? null, keys: json.keys, label,
    });
  }

  root.studyNotifier = Object.freeze({
    DB_NAME,
    DB_VERSION,
    openDb,
    kvGet: (key) => withStore("kv", "readonly", (s) => s.get(key)),
    kvSet,
    kvDelete: (key) => withStore("kv", "readwrite", (s) => s.delete(key)),
    /** All queued changes, oldest first (the key is an auto-increment sequence). */
    queueAll: () => withStore("queue", "readonly", (s) => s.getAll()),
    queueAdd: (item) => withStore("queue", "readwrite", (s) => s.add(item)),
    queuePut: (item) => withStore("queue", "readwrite", (s) => s.put(item)),
    queueDelete: (seq) => withStore("queue", "readwrite", (s) => s.delete(seq)),
    uuid,
    b64urlToBytes,
    saveSubscription,
  });
})(self);
