// The event gate: scan tickets with the camera (scanner.js, or a photo, or the code field) and
// show the answer big and in colour. What it reads: a ticket's QR, a ticket's short code typed,
// or the owner's live member card (card-code.js); staff can also find an attendee by name or
// plate in the list and check them in by a tap (recorded as manual). With signal the server checks each scan; without it (or when the
// server is slow) this phone verifies the signature with the event's public keys and its copy
// of the attendee list, queues the scan and uploads it when the signal returns. Every scan
// carries a random nonce: an upload sent twice, or a scan the server saw before the phone gave
// up waiting, is counted once.
import { verifyToken } from "./checkin-verify.js";
import { CODE_PREFIX, verifyCode } from "./card-code.js";
import { mountScanner } from "./scanner.js";

const ONLINE_WAIT_MS = 800; // the gate answers in under a second, with or without the server
const REFRESH_MS = 30000;
const MAX_UPLOAD = 200;
const KEEP_LIST_MS = 2 * 24 * 3600 * 1000; // attendee lists are dropped two days after the event
const PAGE_CACHE = "carclub-gate-pages";
const MARKS = { ok: "✓", warn: "!", bad: "✗" };
const CODE_PATTERN = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/; // a ticket's short code
const normalizeCode = (text) => text.replace(/[\s-]+/g, "").toUpperCase();

const root = document.getElementById("gate");
if (root) { start(root); }

function start(root) {
  const cfg = root.dataset;
  const eventId = Number(cfg.eventId);
  const $ = (id) => document.getElementById(id);
  const resultBox = $("gate-result");
  const network = $("gate-network");
  const count = $("gate-count");
  const queueLine = $("gate-queue");
  const ready = $("gate-ready");
  const form = $("gate-form");
  const field = form.querySelector("textarea");
  const reports = $("gate-conflict-list");

  const storeKey = (name) => `carclub.gate.${eventId}.${name}`;
  const read = (name, fallback) => {
    try { return JSON.parse(localStorage.getItem(storeKey(name))) || fallback; } catch (err) { return fallback; }
  };
  const write = (name, value) => {
    // A full or blocked storage leaves the page working from memory.
    try { localStorage.setItem(storeKey(name), JSON.stringify(value)); } catch (err) { /* see above */ }
  };

  let data = read("data", null); // {event, keys, attendees: {registration id: attendee}}
  let queue = read("queue", []); // [{ticket, nonce, scanned_at, registration_id}]
  let csrf = cfg.csrf;
  let needsLogin = false;
  let pageKept = false; // the service worker can open this page without signal
  let uploading = false;
  let retryTimer = null;
  let retryDelay = 5000;
  let notice = ""; // the last upload's outcome
  let scans = Promise.resolve();

  // ------------------------------------------------------------------------------ words

  function t(name, values) {
    let text = cfg["t" + name] || "";
    for (const [key, value] of Object.entries(values || {})) {
      text = text.split("{" + key + "}").join(String(value));
    }
    return text;
  }
  const titleOf = (status) => "t" + status.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join("");
  const timeFormat = new Intl.DateTimeFormat(cfg.locale === "zh" ? "zh-CN" : "en-GB", {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: cfg.timezone || undefined,
  });
  const hhmm = (iso) => (iso ? timeFormat.format(new Date(iso)) : "");

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // ----------------------------------------------------------------------------- answer

  function showResult(status, attendee, checkedInAt, offline, message) {
    const tone = status === "checked_in" ? "ok" : status === "already_checked_in" ? "warn" : "bad";
    const section = element("section", `gate-result gate-${tone}`);
    section.dataset.status = status;
    const title = (cfg[titleOf(status)] || status).split("{time}").join(hhmm(checkedInAt));
    section.append(element("p", "gate-title", `${MARKS[tone]} ${title}`));
    if (message) { section.append(element("p", "gate-line", message)); }
    if (attendee) {
      section.append(element("p", "gate-name", attendee.name));
      if (attendee.companions) {
        const names = attendee.companion_names ? ` (${attendee.companion_names})` : "";
        section.append(element("p", "gate-line", t("Companions", { n: attendee.companions }) + names));
      }
      if (attendee.car) {
        const car = [attendee.car.model, attendee.car.colour, attendee.car.plate].filter(Boolean);
        section.append(element("p", "gate-line", car.join(" · ")));
      }
    }
    if (offline) { section.append(element("p", "gate-note", t("OfflineResult"))); }
    resultBox.replaceChildren(section);
    if (navigator.vibrate) { navigator.vibrate(tone === "ok" ? 80 : [60, 60, 60]); }
  }

  function showProblem(text) {
    const section = element("section", "gate-result gate-bad");
    section.append(element("p", "gate-title", `${MARKS.bad} ${text}`));
    resultBox.replaceChildren(section);
  }

  function report(text) {
    const empty = $("gate-no-conflicts");
    if (empty) { empty.hidden = true; }
    reports.prepend(element("li", "", text));
  }

  function renderStatus() {
    const online = navigator.onLine;
    network.textContent = online ? t("Online") : t("Offline");
    network.className = `gate-network ${online ? "gate-online" : "gate-offline"}`;
    if (data) {
      const attendees = Object.values(data.attendees);
      count.textContent = t("Count", {
        n: attendees.filter((a) => a.checked_in_at).length,
        total: attendees.filter((a) => a.status === "ok").length,
      });
    }
    queueLine.textContent = queue.length ? t("Queue", { n: queue.length }) : notice;
    if (needsLogin && queue.length) { queueLine.textContent += " " + t("Login"); }
    queueLine.hidden = !queueLine.textContent;
    ready.hidden = !(pageKept && data);
  }

  function remember(attendee, checkedInAt) {
    if (!data || !attendee) { return; }
    const known = data.attendees[attendee.registration_id];
    if (known && checkedInAt) {
      known.checked_in_at = known.checked_in_at || checkedInAt;
      write("data", data);
    }
  }

  // ------------------------------------------------------------------------------ scans

  function randomNonce() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function post(url, body, signal) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
      signal,
    });
  }

  async function checkOnline(what, nonce) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ONLINE_WAIT_MS);
    try {
      const response = await post(cfg.checkUrl, { event_id: eventId, ...what, nonce }, controller.signal);
      if ([201, 409, 422].includes(response.status)) {
        const body = await response.json();
        // A 422 without a status is a body the API refused (e.g. too long): not a ticket.
        return body.status ? body : { status: "invalid" };
      }
      if (response.status === 401 || response.status === 403) { needsLogin = true; }
      if (response.status === 400) { refreshData(); } // a stale CSRF token: the list brings one
      return null;
    } catch (err) {
      return null; // no signal, or too slow: this phone answers
    } finally {
      clearTimeout(timer);
    }
  }

  async function sha256Hex(text) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // The attendee a scanned or typed text names, checked on this phone; or the refusal shown.
  async function findOffline(text) {
    const attendees = Object.values(data.attendees);
    if (text.startsWith(CODE_PREFIX)) {
      // The owner's live member card, judged by this phone's clock (cards/devices.py).
      const cards = data.cards || {};
      const verdict = await verifyCode(text, data.keys, { windowSeconds: cards.window_seconds });
      if (!verdict.valid) {
        const messages = cards.messages || {};
        return { refusal: ["card_refused", messages[verdict.reason] || messages.forged] };
      }
      const key = (await sha256Hex(`${eventId}:${verdict.cardNumber}`)).slice(0, 32);
      const mine = attendees.filter((a) => a.card === key);
      const attendee = mine.find((a) => a.status === "ok") || mine[0];
      return attendee ? { attendee } : { refusal: ["not_signed_up"] };
    }
    if (text.startsWith("CC1.")) {
      const verdict = await verifyToken(text, data.keys, "ticket");
      if (!verdict.valid) { return { refusal: ["invalid"] }; }
      const attendee = data.attendees[verdict.subjectId];
      return attendee ? { attendee } : { refusal: ["wrong_event"] };
    }
    // A ticket's short code: only those of this phone's list are known without signal.
    const code = normalizeCode(text);
    if (!CODE_PATTERN.test(code)) { return { refusal: ["invalid"] }; }
    const attendee = attendees.find((a) => a.code === code);
    return attendee ? { attendee } : { refusal: ["invalid", t("NoSuchCode")] };
  }

  async function checkOffline(text, nonce, registrationId) {
    if (!data) { showProblem(t("NoList")); return; }
    let attendee = registrationId ? data.attendees[registrationId] : null;
    if (registrationId && !attendee) { showResult("invalid", null, null, true); return; }
    if (!attendee) {
      const found = await findOffline(text);
      if (found.refusal) {
        showResult(found.refusal[0], null, null, true, found.refusal[1]);
        return;
      }
      attendee = found.attendee;
    }
    if (attendee.status !== "ok") { showResult(attendee.status, attendee, null, true); return; }
    if (attendee.checked_in_at) {
      showResult("already_checked_in", attendee, attendee.checked_in_at, true);
      return;
    }
    // The server's window, from the list: a scan outside it would be refused on upload.
    const now = new Date();
    const opens = new Date(data.event.checkin_opens_at);
    if (now < opens) {
      showResult("outside_window", attendee, null, true, t("OpensAt", { time: hhmm(opens) }));
      return;
    }
    if (now > new Date(data.event.checkin_closes_at)) {
      showResult("outside_window", attendee, null, true, t("Over"));
      return;
    }
    const scannedAt = now.toISOString();
    attendee.checked_in_at = scannedAt;
    const scan = registrationId
      ? { registration_id: registrationId, nonce, scanned_at: scannedAt, manual: true }
      : { ticket: text, nonce, scanned_at: scannedAt, registration_id: attendee.registration_id };
    queue.push(scan);
    write("data", data);
    write("queue", queue);
    notice = "";
    showResult("checked_in", attendee, scannedAt, true);
    // The server was only slow, or the signal is back: upload soon.
    if (navigator.onLine) { scheduleRetry(); }
  }

  async function scanOnce(ticket) {
    const nonce = randomNonce();
    const answer = navigator.onLine ? await checkOnline({ ticket }, nonce) : null;
    if (answer) {
      // A member card the server refused: its message says why (old code, signed-out phone).
      const status = answer.status === "invalid" && ticket.startsWith(CODE_PREFIX) ? "card_refused" : answer.status;
      showResult(status, answer.attendee, answer.checked_in_at, false, answer.message);
      remember(answer.attendee, answer.checked_in_at);
    } else {
      await checkOffline(ticket, nonce);
    }
    renderStatus();
  }

  // A tap on the list: recorded as manual; the nonce makes a double tap one check-in.
  async function tapOnce(registrationId, nonce) {
    const answer = navigator.onLine ? await checkOnline({ registration_id: registrationId }, nonce) : null;
    if (answer) {
      showResult(answer.status, answer.attendee, answer.checked_in_at, false, answer.message);
      remember(answer.attendee, answer.checked_in_at);
    } else {
      await checkOffline(null, nonce, registrationId);
    }
    renderStatus();
    renderMatches();
    // The answer, on top, in view.
    network.parentElement.scrollIntoView({ block: "start" });
  }

  // ----------------------------------------------------------------------------- search

  const MAX_MATCHES = 8;
  const searchBox = $("gate-search");
  const searchField = $("gate-search-field");
  const matches = $("gate-matches");
  const folded = (text) => String(text || "").toLowerCase().replace(/[\s·.\-]+/g, "");

  function statusLine(attendee) {
    if (attendee.checked_in_at) { return t("InAt", { time: hhmm(attendee.checked_in_at) }); }
    if (attendee.status !== "ok") { return cfg[titleOf(attendee.status)] || attendee.status; }
    return "";
  }

  function matchRow(attendee) {
    const row = element("li", "gate-match");
    row.dataset.registrationId = attendee.registration_id;
    const who = element("div", "gate-match-who");
    who.append(element("p", "gate-match-name", attendee.name));
    const car = attendee.car ? [attendee.car.model, attendee.car.colour, attendee.car.plate].filter(Boolean) : [];
    const companions = attendee.companions ? t("Companions", { n: attendee.companions }) : "";
    const details = [car.join(" · "), companions].filter(Boolean).join(" · ");
    if (details) { who.append(element("p", "gate-match-line", details)); }
    const state = statusLine(attendee);
    if (state) { who.append(element("p", "gate-match-state", state)); }
    row.append(who);
    if (attendee.status === "ok" && !attendee.checked_in_at) {
      const button = element("button", "btn btn-primary gate-match-button", t("CheckIn"));
      button.type = "button";
      button.addEventListener("click", () => askToCheckIn(row, attendee));
      row.append(button);
    }
    return row;
  }

  function askToCheckIn(row, attendee) {
    // One nonce per confirmation sheet: a double tap on "Yes" checks in once.
    const nonce = randomNonce();
    const sheet = element("div", "gate-confirm");
    sheet.setAttribute("role", "group");
    sheet.append(element("p", "gate-confirm-text", t("Confirm", { name: attendee.name })));
    const yes = element("button", "btn btn-primary", t("ConfirmYes"));
    yes.type = "button";
    const no = element("button", "btn", t("Cancel"));
    no.type = "button";
    yes.addEventListener("click", () => {
      yes.disabled = true;
      scans = scans.then(() => tapOnce(attendee.registration_id, nonce)).catch(() => showProblem(t("Invalid")));
    });
    no.addEventListener("click", renderMatches);
    sheet.append(yes, no);
    row.replaceChildren(sheet);
    yes.focus();
  }

  function renderMatches() {
    const query = folded(searchField.value);
    if (!query || !data) { matches.replaceChildren(); return; }
    const found = Object.values(data.attendees).filter((a) =>
      folded(a.name).includes(query) || (a.car && folded(a.car.plate).includes(query)));
    const rows = found.slice(0, MAX_MATCHES).map(matchRow);
    if (!found.length) { rows.push(element("li", "empty", t("NoMatch"))); }
    if (found.length > MAX_MATCHES) { rows.push(element("li", "help", t("More"))); }
    matches.replaceChildren(...rows);
  }

  function handleCode(text) {
    const ticket = String(text || "").trim();
    if (!ticket) { return scans; }
    // One scan at a time, in order.
    scans = scans.then(() => scanOnce(ticket)).catch(() => showProblem(t("Invalid")));
    return scans;
  }

  // ----------------------------------------------------------------------------- upload

  function scheduleRetry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(upload, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 60000);
  }

  async function upload() {
    if (uploading || !queue.length || !navigator.onLine) { return; }
    uploading = true;
    const batch = queue.slice(0, MAX_UPLOAD);
    try {
      const response = await post(cfg.batchUrl, {
        event_id: eventId,
        scans: batch.map(({ ticket, nonce, scanned_at, registration_id, manual }) => (
          manual ? { registration_id, nonce, scanned_at } : { ticket, nonce, scanned_at })),
      });
      if (response.status === 200) {
        const body = await response.json();
        const answered = new Set(body.results.map((r) => r.nonce));
        queue = queue.filter((scan) => !answered.has(scan.nonce));
        write("queue", queue);
        for (const item of body.results) {
          const name = item.attendee ? item.attendee.name : "";
          if (item.conflict) {
            const scan = batch.find((s) => s.nonce === item.nonce);
            report(t("Conflict", { name, time: hhmm(item.checked_in_at), scan: hhmm(scan && scan.scanned_at) }));
          } else if (item.status !== "checked_in") {
            const why = item.message ? ` (${item.message})` : "";
            report(`${name || "?"}: ${(cfg[titleOf(item.status)] || item.status).split("{time}").join("")}${why}`);
          }
          if (item.attendee && data) {
            const known = data.attendees[item.attendee.registration_id];
            if (known) { known.checked_in_at = item.checked_in_at; }
          }
        }
        if (data) { write("data", data); }
        needsLogin = false;
        retryDelay = 5000;
        notice = t("Uploaded", { n: body.results.length });
        if (queue.length) { setTimeout(upload, 0); }
      } else if (response.status === 401 || response.status === 403) {
        needsLogin = true;
        scheduleRetry();
      } else {
        if (response.status === 400) { await refreshData(); }
        scheduleRetry();
      }
    } catch (err) {
      scheduleRetry();
    } finally {
      uploading = false;
      renderStatus();
    }
  }

  async function refreshData() {
    if (!navigator.onLine) { return; }
    try {
      const response = await fetch(cfg.dataUrl, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
      const json = (response.headers.get("Content-Type") || "").includes("json");
      if (!response.ok || response.redirected || !json) {
        needsLogin = response.redirected || response.status === 401 || response.status === 403;
        return;
      }
      const fresh = await response.json();
      csrf = fresh.csrf_token || csrf;
      const attendees = {};
      for (const attendee of fresh.attendees) { attendees[attendee.registration_id] = attendee; }
      // Scans still queued here are check-ins the server does not know yet.
      for (const scan of queue) {
        const attendee = attendees[scan.registration_id];
        if (attendee && !attendee.checked_in_at) { attendee.checked_in_at = scan.scanned_at; }
      }
      data = {
        event: fresh.event, keys: fresh.keys, cards: fresh.cards, attendees, generated_at: fresh.generated_at,
      };
      write("data", data);
      needsLogin = false;
    } catch (err) {
      // No signal: keep the copy this phone has.
    } finally {
      renderStatus();
    }
  }

  function purgeOldLists() {
    for (let i = localStorage.length - 1; i >= 0; i -= 1) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith("carclub.gate.") || !key.endsWith(".data")) { continue; }
      const prefix = key.slice(0, -".data".length);
      try {
        const old = JSON.parse(localStorage.getItem(key));
        const waiting = JSON.parse(localStorage.getItem(prefix + ".queue") || "[]");
        const ended = old && old.event && Date.parse(old.event.ends_at) + KEEP_LIST_MS < Date.now();
        if (ended && !waiting.length) {
          localStorage.removeItem(key);
          localStorage.removeItem(prefix + ".queue");
        }
      } catch (err) {
        localStorage.removeItem(key);
      }
    }
  }

  // ------------------------------------------------------------------------------ start

  mountScanner($("gate-scanner"), {
    onCode: handleCode,
    onProblem: showProblem,
    // The answer and the camera on one screen.
    onStart: () => network.parentElement.scrollIntoView({ block: "start" }),
  });
  searchBox.hidden = false;
  searchField.addEventListener("input", renderMatches);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = field.value;
    field.value = "";
    handleCode(code);
  });
  // Keyboard-wedge scanners type the code and press Enter.
  field.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  window.addEventListener("online", () => { renderStatus(); refreshData().then(upload); });
  window.addEventListener("offline", renderStatus);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { refreshData().then(upload); }
  });
  setInterval(() => { refreshData().then(upload); }, REFRESH_MS);

  if ("serviceWorker" in navigator && "caches" in window) {
    navigator.serviceWorker.register(cfg.swUrl, { scope: cfg.swScope })
      .then(() => navigator.serviceWorker.ready)
      .then(async () => {
        // The worker keeps each visit it serves; the first one happened before it existed.
        const pages = await caches.open(PAGE_CACHE);
        if (!(await pages.match(location.pathname))) {
          const response = await fetch(location.pathname, { credentials: "same-origin", cache: "no-store" });
          if (!response.ok || response.redirected) { return; }
          await pages.put(location.pathname, response);
        }
        pageKept = true;
        renderStatus();
      })
      .catch(() => { /* the page works online without it */ });
  }

  purgeOldLists();
  renderStatus();
  refreshData().then(upload);
}
