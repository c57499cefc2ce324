// IndexedDB for the app's modules: the store shared.js opens for the page and
// the service worker alike (one definition of the database, its version and stores).

export const {
  DB_NAME, DB_VERSION, openDb, kvGet, kvSet, kvDelete, queueAll, queueAdd, queuePut, queueDelete, uuid, b64urlToBytes,
  saveSubscription,
} = globalThis.studyNotifier;
