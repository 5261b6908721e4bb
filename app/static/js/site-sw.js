// The site's service worker (served by /card/sw.js with scope "/", which puts
// `const WORKER = {version, assets, common, pages, logout}` before this code). It keeps the owner's own
// pages (home, card, tickets, vouchers) and the staff card check for opening without signal:
// network first, the kept copy when there is no signal or it is too slow. Nothing else is kept.
// The kept pages are one person's: logging out (or out everywhere) forgets them and the card's
// key, so a shared phone never shows the previous owner's card.
/* global WORKER, keepAssets, networkFirst, cacheFirst */
importScripts(WORKER.common);

const SITE = WORKER;
const PAGE_CACHE = "carclub-site-pages";
const CARD_DB = "carclub-card";
const PAGE_WAIT_MS = 3000;
const ASSETS = keepAssets("carclub-site-assets-", SITE.version, SITE.assets);
const PAGES = SITE.pages.map((page) => new RegExp("^" + page.replace("*", "[0-9]+") + "$"));

function forget() {
  return Promise.all([
    caches.delete(PAGE_CACHE),
    new Promise((resolve) => {
      const request = indexedDB.deleteDatabase(CARD_DB);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    }),
  ]);
}

self.addEventListener("message", (event) => {
  if (event.data === "forget") { event.waitUntil(forget()); }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST") {
    if (SITE.logout.includes(url.pathname)) {
      // Forget first, then log out: the answer's redirect must not find the old pages.
      event.respondWith(forget().then(() => fetch(request)));
    }
    return;
  }
  if (request.method !== "GET") { return; }
  if (request.mode === "navigate" && PAGES.some((page) => page.test(url.pathname)) && !url.search) {
    event.respondWith(networkFirst(request, url.pathname, {
      pageCache: PAGE_CACHE, waitMs: PAGE_WAIT_MS, forgetOnLogout: true,
    }));
  } else if (ASSETS.paths.has(url.pathname)) {
    event.respondWith(cacheFirst(request, ASSETS.paths.get(url.pathname), ASSETS.cache));
  }
});
