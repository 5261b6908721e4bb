// The site's service worker (served by /card/sw.js with scope "/", which puts
// `const SITE = {version, assets, pages, logout}` before this code). It keeps the owner's own
// pages (home, card, tickets, vouchers) and the staff card check for opening without signal:
// network first, the kept copy when there is no signal or it is too slow. Nothing else is kept.
// The kept pages are one person's: logging out (or out everywhere) forgets them and the card's
// key, so a shared phone never shows the previous owner's card.
/* global SITE */
const ASSET_CACHE = "carclub-site-assets-" + SITE.version;
const PAGE_CACHE = "carclub-site-pages";
const CARD_DB = "carclub-card";
const PAGE_WAIT_MS = 3000;
const ASSETS = new Map(SITE.assets.map((asset) => [new URL(asset, self.location).pathname, asset]));
const PAGES = SITE.pages.map((page) => new RegExp("^" + page.replace("*", "[0-9]+") + "$"));

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(ASSET_CACHE)
      .then((cache) => cache.addAll(SITE.assets))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names
          .filter((name) => name.startsWith("carclub-site-assets-") && name !== ASSET_CACHE)
          .map((name) => caches.delete(name)),
      ))
      .then(() => self.clients.claim()),
  );
});

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
    // A redirect (to the login page) or an error page is not the page: keep the last good one.
    if (response.ok && response.type === "basic" && !response.redirected) {
      await cache.put(key, response.clone());
    } else if (response.type === "opaqueredirect" || response.status === 403) {
      // Logged out (or someone else is logged in): the kept copy is no longer this person's.
      await cache.delete(key);
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
  return fetch(request);
}
