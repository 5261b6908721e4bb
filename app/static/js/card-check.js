// The staff card check without signal: with signal the form goes to the server as before; without,
// this phone checks the owner's live card code itself (card-code.js) with the club's public keys
// the page brought, against its own clock, and refuses a code older than one it already accepted
// from the same phone (a screenshot shown again). The site's service worker keeps this page.
import { verifyCode } from "./card-code.js";
import { keepThisPage } from "./site-worker.js";

const root = document.getElementById("card-check");
if (root) { start(root); }

function start(root) {
  const cfg = root.dataset;
  const settings = JSON.parse(cfg.offline);
  const form = document.getElementById("card-check-form");
  const field = form.querySelector("textarea");
  const resultBox = document.getElementById("card-check-result");
  const offlineLine = document.getElementById("card-check-offline");
  const SEEN = "carclub.cardcheck.seen";

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function seen() {
    try { return JSON.parse(localStorage.getItem(SEEN)) || {}; } catch (err) { return {}; }
  }

  function remember(deviceId, madeAt) {
    const kept = seen();
    const cutoff = Date.now() / 1000 - 3600;
    for (const [id, at] of Object.entries(kept)) { if (at < cutoff) { delete kept[id]; } }
    kept[deviceId] = madeAt;
    try { localStorage.setItem(SEEN, JSON.stringify(kept)); } catch (err) { /* memory only */ }
  }

  function show(ok, lines) {
    const section = element("section", `result ${ok ? "result-ok" : "result-bad"}`);
    section.setAttribute("role", ok ? "status" : "alert");
    section.dataset.offline = "1";
    section.append(element("p", "result-title", `${ok ? "✓" : "✗"} ${ok ? cfg.tValid : cfg.tRefused}`));
    for (const [className, text] of lines) { section.append(element("p", className, text)); }
    resultBox.replaceChildren(section);
  }

  async function checkHere(text) {
    if (!text.startsWith("CC2.")) { show(false, [["", cfg.tNumberNeedsSignal]]); return; }
    const verdict = await verifyCode(text, settings.keys, { windowSeconds: settings.window_seconds });
    if (!verdict.valid) { show(false, [["", settings.messages[verdict.reason] || settings.messages.forged]]); return; }
    const last = seen()[verdict.deviceId];
    if (last !== undefined && verdict.madeAt < last) { show(false, [["", settings.messages.replayed]]); return; }
    remember(verdict.deviceId, verdict.madeAt);
    const number = verdict.cardNumber.replace(/(\d{4})(?=\d)/g, "$1 ");
    const lines = [["result-name", verdict.name], ["mono", number], ["help", cfg.tCheckedHere]];
    if (last === verdict.madeAt) { lines.push(["help", cfg.tSeen]); }
    show(true, lines);
  }

  function renderStatus() { offlineLine.hidden = navigator.onLine; }

  form.addEventListener("submit", (event) => {
    if (navigator.onLine) { return; } // the server checks it, revocations and replays included
    event.preventDefault();
    const text = field.value.trim();
    field.value = "";
    if (text) { checkHere(text).catch(() => show(false, [["", settings.messages.malformed]])); }
  });
  window.addEventListener("online", renderStatus);
  window.addEventListener("offline", renderStatus);
  renderStatus();
  keepThisPage(cfg.swUrl)
    .then((kept) => { if (kept) { root.dataset.kept = "1"; } })
    .catch(() => { /* works online without it */ });
}
