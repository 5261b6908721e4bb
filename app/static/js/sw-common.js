// What the site's and the gate's service workers share (loaded with importScripts by both):
// keep one version's files and drop the older versions' caches, open pages from the network
// while there is signal and from the kept copy without it, serve kept files from the cache.
/* exported keepAssets, networkFirst, cacheFirst */

/**
 * Keep ``assets`` (URLs with ?v=) in the cache ``prefix + version`` on install; on activate,
 * delete the caches of other versions and take over the open pages. Returns a Map from each
 * asset's path to its URL: modules import each other without ?v=, both find the kept copy.
 */
function keepAssets(prefix, version, assets) {
  const name = prefix + version;
  self.addEventListener("install", (event) => {
    event.waitUntil(
      caches.open(name)
        .then((cache) => cache.addAll(assets))
        .then(() => self.skipWaiting()),
    );
  });
  self.addEventListener("activate", (event) => {
    event.waitUntil(
      caches.keys()
        .then((names) => Promise.all(
          names.filter((old) => old.startsWith(prefix) && old !== name).map((old) => caches.delete(old)),
        ))
        .then(() => self.clients.claim()),
    );
  });
  return { cache: name, paths: new Map(assets.map((asset) => [new URL(asset, self.location).pathname, asset])) };
}

/**
 * The page from the network, kept in ``pageCache`` under ``key``; the kept copy when there is
 * no signal or no answer within ``waitMs``. A redirect (to the login page) or an error page is
 * not the page: the last good one stays. With ``forgetOnLogout``, a redirect or a 403 (logged
 * out, or someone else logged in) drops the kept copy: it is no longer this person's.
 */
async function networkFirst(request, key, { pageCache, waitMs, forgetOnLogout = false }) {
  const cache = await caches.open(pageCache);
  try {
    const response = await Promise.race([
      fetch(request),
      new Promise((resolve, reject) => setTimeout(() => reject(new Error("slow")), waitMs)),
    ]);
    if (response.ok && response.type === "basic" && !response.redirected) {
      await cache.put(key, response.clone());
    } else if (forgetOnLogout && (response.type === "opaqueredirect" || response.status === 403)) {
      await cache.delete(key);
    }
    return response;
  } catch (err) {
    const kept = await cache.match(key);
    if (kept) { return kept; }
    throw err;
  }
}

/** A kept file from ``assetCache``, else the network, else another worker's kept copy. */
async function cacheFirst(request, key, assetCache) {
  const kept = await (await caches.open(assetCache)).match(key);
  if (kept) { return kept; }
  try {
    return await fetch(request);
  } catch (err) {
    const elsewhere = await caches.match(key);
    if (elsewhere) { return elsewhere; }
    throw err;
  }
}
