// Records kept in one IndexedDB object store, by key: the till keeps its
// terminal there and the wallet its devices, each with non-extractable
// CryptoKey objects (IndexedDB keeps such a key without exposing its bytes).
// Served at /till/keystore.mjs and shared by both pages.

/** The store `storeName` of the database `dbName` (version 1). */
export function idbStore(dbName, storeName) {
  // `action(store)` in a transaction of `mode`; resolves with its request's
  // result once the transaction has completed.
  const run = (mode, action) =>
    new Promise((resolve, reject) => {
      const open = indexedDB.open(dbName, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(storeName);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        const tx = db.transaction(storeName, mode);
        const req = action(tx.objectStore(storeName));
        tx.oncomplete = () => {
          db.close();
          resolve(req.result);
        };
        tx.onerror = tx.onabort = () => {
          db.close();
          reject(tx.error);
        };
      };
    });
  return {
    get: (key) => run("readonly", (s) => s.get(key)),
    put: (key, value) => run("readwrite", (s) => s.put(value, key)),
    delete: (key) => run("readwrite", (s) => s.delete(key)),
  };
}
