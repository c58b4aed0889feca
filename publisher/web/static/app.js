/* Disc publisher pages: confirmation of destructive buttons and "Back" links. No inline script
   (the Content-Security-Policy forbids it), no framework. */
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var button = ev.submitter || ev.target.querySelector("button[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
    }
  });
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a[data-back]");
    if (link && window.history.length > 1) {
      ev.preventDefault();
      window.history.back();
    }
  });
})();
