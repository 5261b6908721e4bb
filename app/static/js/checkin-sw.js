// The event gate's service worker (served by /admin/events/checkin-sw.js, which puts
// `const GATE = {version, assets}` before this code). It controls one gate page (its scope):
// the page is fetched from the network while there is signal and from the cache without it;
// the scripts, styles and icons it needs are kept per version and served from the cache.
/* global GATE */
const ASSET_CACHE = "carclub-gate-assets-" + GATE.version;
const PAGE_CACHE = "carclub-gate-pages";
const PAGE_WAIT_MS = 4000; // weak signal: give up on the network and show the kept page
// Asset URLs carry their version (?v=…); modules import each other without it: both find
// the kept copy, by path.
const ASSETS = new Map(GATE.assets.map((asset) => [new URL(asset, self.location).pathname, asset]));

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(ASSET_CACHE)
      .then((cache) => cache.addAll(GATE.assets))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names
          .filter((name) => name.startsWith("carclub-gate-assets-") && name !== ASSET_CACHE)
          .map((name) => caches.delete(name)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  const page = new URL(self.registration.scope).pathname;
  if (request.mode === "navigate" && url.pathname === page) {
    event.respondWith(networkFirst(request, url.pathname));
  } else if (ASSETS.has(url.pathname)) {
    event.respondWith(cacheFirst(request, ASSETS.get(url.pathname)));
  }
});

async function networkFirst(request, key) {
  const cache = await caches.open(PAGE_CACHE);
  try {
    const response = await Promise.race([
      fetch(request),
      new Promise((resolve, reject) => setTimeout(() => reject(new Error("slow")), PAGE_WAIT_MS)),
    ]);
    // A redirect (to the login page) or an error page is not the gate: keep the last good one.
    if (response.ok && response.type === "basic" && !response.redirected) {
      await cache.put(key, response.clone());
    }
    return response;
  } catch (err) {
    const kept = await cache.match(key);
    if (kept) { return kept; }
    throw err;
  }
}

async function cacheFirst(request, key) {
  const kept = await (await caches.open(ASSET_CACHE)).match(key);
  if (kept) { return kept; }
  try {
    return await fetch(request);
  } catch (err) {
    // Another gate page's newer worker may have kept it.
    const elsewhere = await caches.match(key);
    if (elsewhere) { return elsewhere; }
    throw err;
  }
}
