// Asks before a destructive form is sent (forms with class "confirm" and a data-confirm text),
// and sends a form that carries an idempotency key only once: its buttons are disabled once it
// is on its way (after the browser has read the pressed button's name and value).
document.addEventListener("submit", function (event) {
  "use strict";
  var form = event.target;
  if (form.classList && form.classList.contains("confirm") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (!form.querySelector || !form.querySelector("input[name=idempotency_key]")) {
    return;
  }
  if (form.dataset.sent) {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  window.setTimeout(function () {
    form.querySelectorAll("button, input[type=submit]").forEach(function (button) {
      button.disabled = true;
    });
  }, 0);
});

// Back to a page kept in the browser's cache: its forms can be sent again (with the same key,
// which replays the first outcome).
window.addEventListener("pageshow", function (event) {
  "use strict";
  if (!event.persisted) {
    return;
  }
  document.querySelectorAll("form[data-sent]").forEach(function (form) {
    delete form.dataset.sent;
    form.querySelectorAll("button, input[type=submit]").forEach(function (button) {
      button.disabled = false;
    });
  });
});
