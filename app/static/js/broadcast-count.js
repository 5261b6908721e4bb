// The live count of a broadcast's owners: asks the server as the manager changes the filters.
(function () {
  "use strict";
  var form = document.getElementById("broadcast-form");
  var filters = document.getElementById("broadcast-filters");
  if (!form || !filters || !window.fetch || !window.URLSearchParams) { return; }
  var output = document.getElementById("live-count");
  var timer = null;
  var asked = 0;

  function count() {
    var url = new URL(form.dataset.countUrl, window.location.href);
    filters.querySelectorAll("input, select").forEach(function (input) {
      if (!input.name || ((input.type === "checkbox" || input.type === "radio") && !input.checked)) { return; }
      url.searchParams.append(input.name, input.value);
    });
    var mine = ++asked;
    fetch(url.toString(), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (mine !== asked) { return; }  // an older answer arriving late
        output.textContent = data.error || data.text;
      })
      .catch(function () { /* the Count button still works */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(count, 300);
  }
  filters.addEventListener("input", later);
  filters.addEventListener("change", later);
}());
