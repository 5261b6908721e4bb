// Asks before a destructive form is sent (forms with class "confirm" and a data-confirm text).
document.addEventListener("submit", function (event) {
  "use strict";
  var form = event.target;
  if (form.classList && form.classList.contains("confirm") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
