// The owner's invite link: share it through the phone's share sheet, or copy it.
(function () {
  "use strict";
  var box = document.querySelector(".invite-share");
  if (!box) { return; }
  var input = document.getElementById("invite-url");
  var said = document.getElementById("invite-said");
  var share = document.getElementById("invite-share");
  var copy = document.getElementById("invite-copy");

  if (navigator.share) {
    share.hidden = false;
    share.addEventListener("click", function () {
      navigator.share({title: box.dataset.title, text: box.dataset.text, url: box.dataset.url})
        .catch(function () { /* the owner closed the sheet */ });
    });
  }
  if (navigator.clipboard && window.isSecureContext) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(box.dataset.url)
        .then(function () { said.textContent = box.dataset.tCopied; })
        .catch(function () { said.textContent = box.dataset.tNotCopied; input.select(); });
    });
  }
  input.addEventListener("focus", function () { input.select(); });
}());
