// The member card's QR. The page carries the server's short-lived signed token and draws its QR
// here (zxing), at once. With WebCrypto this browser keeps its own card key (made here, never
// readable, in IndexedDB), has the club certify it whenever there is signal, and draws a fresh
// signed code every few seconds by itself, so the card works without signal and a screenshot
// stops working within a minute (app/cards/devices.py). Without WebCrypto it falls back to
// fetching a new server token every minute. The site's service worker keeps this page for
// opening without signal.
import { makeCode, newDeviceKey, publicKeyText } from "./card-code.js";
import { base64urlDecode } from "./checkin-verify.js";
import { keepThisPage } from "./site-worker.js";

const DB_NAME = "carclub-card";
const STORE = "device";
const RECORD = "current";
const SVG = "http://www.w3.org/2000/svg";

const box = document.getElementById("qr-box");
if (box) { start(box); }

function start(box) {
  const cfg = box.dataset;
  const $ = (id) => document.getElementById(id);
  const qr = $("qr");
  const status = $("qr-status");
  const offline = $("qr-offline");
  const countdown = $("qr-countdown");
  const period = Math.max(5, parseInt(cfg.codeSeconds, 10) || 20);
  let expiresAt = Date.parse(cfg.expiresAt);
  let device = null; // {privateKey, certificate (bytes), notAfter (ms), cardNumber}
  let shownSlot = null;

  function say(element, text) {
    if (element.textContent !== text) { element.textContent = text; }
  }

  // ------------------------------------------------------------------- the key's store

  function openStore() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => {
        const db = request.result;
        // Logging out deletes the store (the service worker): let it.
        db.onversionchange = () => db.close();
        resolve(db);
      };
      request.onerror = () => reject(request.error);
    });
  }

  function storeCall(mode, call) {
    return openStore().then((db) => new Promise((resolve, reject) => {
      const request = call(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    }));
  }

  const readRecord = () => storeCall("readonly", (store) => store.get(RECORD));
  const writeRecord = (record) => storeCall("readwrite", (store) => store.put(record, RECORD));

  // --------------------------------------------------------------------- certification

  async function keyForThisCard() {
    const kept = await readRecord();
    // A key belongs to one card: a new number (reissue, or another owner on this browser)
    // gets a new key.
    if (kept && kept.cardNumber === cfg.cardNumber && kept.privateKey) { return kept; }
    const pair = await newDeviceKey();
    const record = {
      cardNumber: cfg.cardNumber,
      privateKey: pair.privateKey,
      publicKey: await publicKeyText(pair.publicKey),
      certificate: null,
      notAfter: 0,
    };
    await writeRecord(record);
    return record;
  }

  async function certify(record) {
    const response = await fetch(cfg.certifyUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": cfg.csrf },
      body: JSON.stringify({ public_key: record.publicKey }),
    });
    if (!response.ok) { throw new Error(String(response.status)); }
    const body = await response.json();
    if (body.card_number !== record.cardNumber) { throw new Error("another card"); }
    record.certificate = body.certificate;
    record.notAfter = Date.parse(body.not_after);
    await writeRecord(record);
    return record;
  }

  async function setUp() {
    if (!window.crypto || !crypto.subtle || !window.indexedDB || !window.ZXing) { return null; }
    let record = await keyForThisCard();
    if (navigator.onLine) {
      // Each visit with signal renews the certificate; without, the kept one serves.
      record = await certify(record).catch(() => record);
    }
    if (!record.certificate) { return null; }
    return {
      privateKey: record.privateKey,
      certificate: base64urlDecode(record.certificate),
      notAfter: record.notAfter,
    };
  }

  // ------------------------------------------------------------------------ the codes

  function drawQr(text) {
    const ZXing = window.ZXing;
    const hints = new Map([[ZXing.EncodeHintType.CHARACTER_SET, "ISO-8859-1"]]);
    const matrix = ZXing.QRCodeEncoder.encode(text, ZXing.QRCodeDecoderErrorCorrectionLevel.M, hints).getMatrix();
    const n = matrix.getWidth();
    const border = 4;
    let path = "";
    for (let y = 0; y < n; y += 1) {
      for (let x = 0; x < n; x += 1) {
        if (matrix.get(x, y) !== 1) { continue; }
        let run = 1;
        while (x + run < n && matrix.get(x + run, y) === 1) { run += 1; }
        path += `M${x + border} ${y + border}h${run}v1h-${run}z`;
        x += run - 1;
      }
    }
    const size = n + 2 * border;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "qr");
    svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
    svg.setAttribute("role", "img");
    const title = document.createElementNS(SVG, "title");
    title.textContent = cfg.tTitle;
    const light = document.createElementNS(SVG, "rect");
    light.setAttribute("width", String(size));
    light.setAttribute("height", String(size));
    light.setAttribute("fill", "#fff");
    const dark = document.createElementNS(SVG, "path");
    dark.setAttribute("d", path);
    dark.setAttribute("fill", "#111");
    svg.append(title, light, dark);
    qr.replaceChildren(svg);
    qr.dataset.code = text;
  }

  async function tick() {
    const now = Date.now();
    if (now >= device.notAfter) {
      // Not online for CARD_DEVICE_DAYS: the certificate lapsed; only signal renews it.
      box.classList.add("stale");
      countdown.hidden = true;
      offline.hidden = false;
      say(offline, cfg.tLapsed);
      return;
    }
    const seconds = Math.floor(now / 1000);
    const slot = Math.floor(seconds / period);
    if (slot !== shownSlot) {
      shownSlot = slot;
      drawQr(await makeCode(device.certificate, device.privateKey, seconds));
      box.classList.remove("stale");
    }
    countdown.hidden = false;
    say(countdown, cfg.tCountdown.split("{n}").join(String(period - (seconds % period))));
    offline.hidden = navigator.onLine;
    say(offline, cfg.tOfflineWorks);
  }

  // ------------------------------------------------------------- without WebCrypto

  function showToken(token, svg) {
    if (window.ZXing) {
      drawQr(token);
    } else if (svg) {
      // Our own server's drawing (segno output), never user input.
      qr.innerHTML = svg;
    }
  }

  function markStale() {
    const stale = Date.now() >= expiresAt;
    box.classList.toggle("stale", stale);
    offline.hidden = navigator.onLine && !stale;
  }

  function refresh() {
    fetch(cfg.refreshUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then((r) => { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then((data) => {
        showToken(data.token, data.svg);
        expiresAt = Date.parse(data.expires_at);
        markStale();
      })
      .catch(markStale);
  }

  function fallBack() {
    const every = Math.max(15, parseInt(cfg.refreshSeconds, 10) || 60) * 1000;
    setInterval(refresh, every);
    setInterval(markStale, 5000);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) { refresh(); } });
    window.addEventListener("online", refresh);
    window.addEventListener("offline", markStale);
    markStale();
  }

  // --------------------------------------------------------------------------- start

  keepThisPage(cfg.swUrl)
    .then((kept) => { if (kept) { box.dataset.kept = "1"; } })
    .catch(() => { /* the card works online without it */ });
  // A page opened without signal shows yesterday's server token until the first code.
  if (window.ZXing) { drawQr(cfg.token); } else { refresh(); }
  markStale();
  setUp()
    .then(async (ready) => {
      if (!ready) { fallBack(); return; }
      device = ready;
      await tick();
      // The first code is drawn: from now on the QR is this phone's own.
      box.dataset.mode = "device";
      say(status, cfg.tDevice);
      setInterval(tick, 1000);
      window.addEventListener("online", tick);
      window.addEventListener("offline", tick);
    })
    .catch(fallBack);
}
