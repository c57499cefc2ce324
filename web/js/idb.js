// A tiny promise wrapper over IndexedDB. sw.js opens the same database
// (keep DB_NAME, DB_VERSION and the stores in step with it).

export const DB_NAME = "study-notifier";
export const DB_VERSION = 1;

let opening = null;

/** Open (and create) the database: `kv` for small values, `queue` for offline changes. */
export function openDb() {
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

function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function store(name, mode) {
  const db = await openDb();
  return db.transaction(name, mode).objectStore(name);
}

export async function kvGet(key) {
  return done((await store("kv", "readonly")).get(key));
}

export async function kvSet(key, value) {
  return done((await store("kv", "readwrite")).put(value, key));
}

export async function kvDelete(key) {
  return done((await store("kv", "readwrite")).delete(key));
}

/** All queued changes, oldest first (the key is an auto-increment sequence). */
export async function queueAll() {
  return done((await store("queue", "readonly")).getAll());
}

export async function queueAdd(item) {
  return done((await store("queue", "readwrite")).add(item));
}

export async function queuePut(item) {
  return done((await store("queue", "readwrite")).put(item));
}

export async function queueDelete(seq) {
  return done((await store("queue", "readwrite")).delete(seq));
}
