// What the till's and the wallet's pages share, served at /till/page.mjs:
// screens shown one at a time, text and field errors written as text, and
// records kept in IndexedDB.

const $ = (id) => document.getElementById(id);

/**
 * `show(name, focusId)` for the sections `screen-<name>` of `names`: shows
 * that one, hides the others, and moves the focus to `focusId` or to the
 * screen's visible heading.
 */
export function screens(names) {
  return (name, focusId = null) => {
    for (const s of names) $(`screen-${s}`).hidden = s !== name;
    document.body.dataset.screen = name;
    const target = focusId ? $(focusId) : $(`screen-${name}`).querySelector("h1:not([hidden])");
    target?.focus();
  };
}

/** Writes `text` into the element (as text), hidden while there is none. */
export function setText(id, text) {
  const el = $(id);
  el.textContent = text ?? "";
  el.hidden = !text;
}

/** Shows `message` under the input (`<id>-error`) and marks it invalid, or clears both. */
export function fieldError(inputId, message) {
  const input = $(inputId);
  setText(`${inputId}-error`, message);
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

// Records kept in one IndexedDB object store, by key: the till keeps its
// terminal there and the wallet its devices, each with non-extractable
// CryptoKey objects (IndexedDB keeps such a key without exposing its bytes).

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
