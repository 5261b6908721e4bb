// The prize draw's live screen: asks for the board every few seconds and redraws the latest
// winners and each prize's list; a new winner is read out through the page's status line.
(function () {
  "use strict";
  var root = document.getElementById("draw-live");
  if (!root || !window.fetch) { return; }
  var EVERY_MS = 4000;
  var cfg = root.dataset;
  var latest = document.getElementById("draw-latest");
  var prizes = document.getElementById("draw-prizes");
  var announce = document.getElementById("draw-announce");
  var updated = document.getElementById("draw-updated");
  var seen = {};
  Array.prototype.forEach.call(root.querySelectorAll("[data-id]"), function (el) { seen[el.dataset.id] = true; });

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) { return name in values ? values[name] : all; });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function winnerItem(w, withPrize) {
    var li = el("li", "winner-" + w.status);
    li.dataset.id = w.id;
    li.appendChild(el("span", "draw-name", w.name));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "mono", w.mobile));
    if (withPrize) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", "draw-prize", w.prize));
    } else if (w.status === "absent") {
      li.appendChild(document.createTextNode(" · " + cfg.tAbsent));
    }
    return li;
  }

  function show(data) {
    latest.replaceChildren();
    data.latest.forEach(function (w) { latest.appendChild(winnerItem(w, true)); });
    if (!data.latest.length) { latest.appendChild(el("li", "empty", cfg.tNone)); }
    prizes.replaceChildren();
    data.prizes.forEach(function (p) {
      var box = el("section", "panel draw-prize-box");
      box.appendChild(el("h3", "", p.name));
      box.appendChild(el("p", "help", fill(cfg.tCount, {won: p.won, quantity: p.quantity})));
      var commitment = el("p", "help draw-commitment", cfg.tCommitment + " ");
      commitment.appendChild(el("code", "", p.commitment));
      box.appendChild(commitment);
      var list = el("ol", "draw-winners");
      p.winners.forEach(function (w) { list.appendChild(winnerItem(w, false)); });
      box.appendChild(list);
      prizes.appendChild(box);
    });
    var fresh = data.latest.filter(function (w) { return !seen[w.id]; }).reverse();
    data.prizes.forEach(function (p) { p.winners.forEach(function (w) { seen[w.id] = true; }); });
    if (fresh.length) {
      announce.textContent = fresh.map(function (w) { return fill(cfg.tNew, w); }).join(" ");
    }
    updated.textContent = cfg.tLive;
  }

  function poll() {
    fetch(cfg.url, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(show)
      .catch(function () { updated.textContent = cfg.tOffline; });
  }

  window.setInterval(poll, EVERY_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
}());
