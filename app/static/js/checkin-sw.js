// The event gate's service worker (served by /admin/events/checkin-sw.js, which puts
// `const WORKER = {version, assets, common}` before this code). It controls one gate page (its
// scope): the page is fetched from the network while there is signal and from the cache without
// it; the scripts, styles and icons it needs are kept per version and served from the cache.
/* global WORKER, keepAssets, networkFirst, cacheFirst */
importScripts(WORKER.common);

const PAGE_CACHE = "carclub-gate-pages";
const PAGE_WAIT_MS = 4000; // weak signal: give up on the network and show the kept page
const ASSETS = keepAssets("carclub-gate-assets-", WORKER.version, WORKER.assets);

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  const page = new URL(self.registration.scope).pathname;
  if (request.mode === "navigate" && url.pathname === page) {
    event.respondWith(networkFirst(request, url.pathname, { pageCache: PAGE_CACHE, waitMs: PAGE_WAIT_MS }));
  } else if (ASSETS.paths.has(url.pathname)) {
    event.respondWith(cacheFirst(request, ASSETS.paths.get(url.pathname), ASSETS.cache));
  }
});
