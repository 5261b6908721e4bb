// Registers the site's service worker (/card/sw.js, scope "/") and makes sure it keeps the page
// that asked: the first visit happened before the worker existed. Resolves to true once the page
// opens without signal.
const PAGE_CACHE = "carclub-site-pages";

export async function keepThisPage(url) {
  if (!("serviceWorker" in navigator) || !("caches" in window)) { return false; }
  await navigator.serviceWorker.register(url, { scope: "/" });
  await navigator.serviceWorker.ready;
  const pages = await caches.open(PAGE_CACHE);
  if (!(await pages.match(location.pathname))) {
    const response = await fetch(location.pathname, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok || response.redirected) { return false; }
    await pages.put(location.pathname, response);
  }
  return true;
}
