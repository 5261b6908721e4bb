// Keeps the member card's QR fresh: tokens expire after a few minutes, so screenshots stop working.
(function () {
  "use strict";
  var box = document.getElementById("qr-box");
  if (!box) { return; }
  var qr = document.getElementById("qr");
  var offline = document.getElementById("qr-offline");
  var url = box.dataset.refreshUrl;
  var every = Math.max(15, parseInt(box.dataset.refreshSeconds, 10) || 60) * 1000;
  var expiresAt = Date.parse(box.dataset.expiresAt);

  function markStale() {
    var stale = Date.now() >= expiresAt;
    box.classList.toggle("stale", stale);
    offline.hidden = navigator.onLine && !stale;
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        // The SVG comes from our own server (segno output), never from user input.
        qr.innerHTML = data.svg;
        expiresAt = Date.parse(data.expires_at);
        markStale();
      })
      .catch(markStale);
  }

  setInterval(refresh, every);
  setInterval(markStale, 5000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  window.addEventListener("online", refresh);
  window.addEventListener("offline", markStale);
})();
