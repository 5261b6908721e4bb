// The site's small behaviours, on every page:
// - a form with class "confirm" asks first, in the confirmation sheet (the <dialog> of base.html):
//   its data-confirm text, a button named after the action (data-confirm-button, or the form's
//   own button) and "Go back". Esc or "Go back" leaves everything as it was. Without script the
//   form is sent as it is.
// - a form that carries an idempotency key, or that was confirmed, is sent only once: its buttons
//   are disabled once it is on its way (after the browser has read the pressed button's name).
// - a page that comes back with errors shows the first one: it is scrolled into view and takes
//   the focus (the error summary or alert is role="alert", so it is also read out).
(function () {
  "use strict";
  var sheet = document.getElementById("confirm-sheet");
  var pending = null;

  function sendOnce(form) {
    form.dataset.sent = "1";
    window.setTimeout(function () {
      form.querySelectorAll("button, input[type=submit]").forEach(function (button) {
        button.disabled = true;
      });
    }, 0);
  }

  function ask(form, submitter) {
    var yes = sheet.querySelector("[data-sheet=confirm]");
    var label = form.dataset.confirmButton || (submitter && submitter.textContent.trim());
    sheet.querySelector(".sheet-title").textContent = form.dataset.confirm;
    if (label) {
      yes.textContent = label;
    }
    yes.className = "btn btn-block " + ("confirmPrimary" in form.dataset ? "btn-primary" : "btn-danger");
    yes.disabled = false;
    pending = { form: form, submitter: submitter };
    sheet.showModal();
    sheet.querySelector("[data-sheet=cancel]").focus();
  }

  if (sheet && typeof sheet.showModal === "function") {
    sheet.querySelector("[data-sheet=confirm]").addEventListener("click", function () {
      var chosen = pending;
      pending = null;
      if (!chosen) {
        return; // a second tap: the form is already on its way
      }
      this.disabled = true;
      sheet.close();
      chosen.form.dataset.confirmed = "1";
      if (chosen.submitter && typeof chosen.form.requestSubmit === "function") {
        chosen.form.requestSubmit(chosen.submitter);
      } else if (typeof chosen.form.requestSubmit === "function") {
        chosen.form.requestSubmit();
      } else {
        sendOnce(chosen.form);
        chosen.form.submit();
      }
    });
    sheet.querySelector("[data-sheet=cancel]").addEventListener("click", function () {
      sheet.close();
    });
    // Esc, "Go back" or a tap on the dimmed page: nothing is sent, the focus goes back.
    sheet.addEventListener("close", function () {
      if (pending && pending.submitter) {
        pending.submitter.focus();
      }
      pending = null;
    });
    sheet.addEventListener("click", function (event) {
      if (event.target === sheet) {
        sheet.close();
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.querySelector) {
      return;
    }
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    var asks = form.classList.contains("confirm") && form.dataset.confirm;
    if (asks && !form.dataset.confirmed && sheet && typeof sheet.showModal === "function") {
      event.preventDefault();
      ask(form, event.submitter);
      return;
    }
    if (asks || form.querySelector("input[name=idempotency_key]")) {
      sendOnce(form);
    }
  });

  // Back to a page kept in the browser's cache: its forms can be sent again (with the same key,
  // which replays the first outcome).
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
      delete form.dataset.confirmed;
      form.querySelectorAll("button, input[type=submit]").forEach(function (button) {
        button.disabled = false;
      });
    });
  });

  // Tabs that jump within the page (vouchers, perks): the one last chosen is the current one.
  function markChosenTab() {
    document.querySelectorAll("nav.tabs").forEach(function (nav) {
      var links = nav.querySelectorAll("a[href^='#']");
      var chosen = location.hash && nav.querySelector("a[href='" + CSS.escape(location.hash) + "']");
      if (!links.length || !chosen) {
        return;
      }
      links.forEach(function (link) {
        link.removeAttribute("aria-current");
      });
      chosen.setAttribute("aria-current", "true");
    });
  }
  window.addEventListener("hashchange", markChosenTab);
  markChosenTab();

  function showFirstError() {
    var error = document.querySelector("main .error-summary, main .alert-error");
    if (!error) {
      return;
    }
    if (!error.hasAttribute("tabindex")) {
      error.setAttribute("tabindex", "-1");
    }
    error.focus({ preventScroll: true });
    error.scrollIntoView({ block: "center" });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showFirstError);
  } else {
    showFirstError();
  }
})();
