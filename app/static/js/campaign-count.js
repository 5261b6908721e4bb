// The live count of a campaign group's filters: asks the server as the manager changes them.
(function () {
  "use strict";
  var form = document.getElementById("group-form");
  if (!form || !window.fetch) { return; }
  var output = document.getElementById("live-count");
  var overlap = document.getElementById("overlap");
  var overlapText = document.getElementById("overlap-text");
  var timer = null;
  var asked = 0;

  function count() {
    var params = new URLSearchParams(new FormData(form));
    params.delete("csrf_token");
    params.delete("action");
    var mine = ++asked;
    fetch(form.dataset.countUrl + "?" + params.toString(), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (mine !== asked) { return; }  // an older answer arriving late
        output.textContent = data.error || data.text;
        overlap.hidden = !data.overlap_text;
        overlapText.textContent = data.overlap_text || "";
      })
      .catch(function () { /* the Count button still works */ });
  }

  function later(event) {
    if (event.target.name === "confirm_overlap" || event.target.name === "name") { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(count, 300);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
}());
