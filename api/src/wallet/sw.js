// Tillcode wallet's service worker: keeps the app shell so that, after one
// visit with a network, the wallet opens and shows a valid payment code with
// none (the code is made on the phone: docs/protocol.md sections 5 and 6).
// Pages and files are fetched from the network first (so a new release is
// picked up at once), and from the cache when the network fails or hangs.
// The API (/v1/...) is never cached: balances and tokens go to the network.

const CACHE = "tillcode-wallet-v1";
// Every /wallet/{slug} is the same page; it is kept under one address.
const PAGE = "/wallet/index";
const SHELL = [
  PAGE,
  "/wallet/wallet.css",
  "/wallet/app.mjs",
  "/wallet/codes.mjs",
  "/wallet/qrcode.mjs",
  "/wallet/manifest.webmanifest",
  "/wallet/icon.svg",
  "/till/signing.mjs",
  "/till/page.mjs",
];
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function fromNetwork(request, key) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("network timeout")), NETWORK_TIMEOUT_MS);
    fetch(request).then(
      (res) => {
        clearTimeout(timer);
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        resolve(res);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const page = request.mode === "navigate" && url.pathname.startsWith("/wallet/");
  const key = page ? PAGE : url.pathname;
  if (!page && !SHELL.includes(key)) return;
  event.respondWith(
    fromNetwork(request, key).catch(async (e) => {
      const kept = await caches.match(key);
      if (kept) return kept;
      throw e;
    }),
  );
});
