// Progressive enhancement only: the pages work without it.
// 1. Forms with data-confirm ask before they submit (deleting a configuration).
// 2. While a check runs, poll the page quietly and swap it in when the check is done,
//    instead of the meta refresh reloading it every few seconds (focus and scroll stay).
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
(function () {
  var progress = document.getElementById("progress");
  if (!progress || !window.fetch) {
    return;
  }
  var refresh = document.querySelector('meta[http-equiv="refresh"]');
  if (refresh) {
    refresh.parentNode.removeChild(refresh);
  }
  function poll() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          window.location.reload();
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        var next = new DOMParser().parseFromString(html, "text/html");
        if (next.getElementById("progress")) {
          window.setTimeout(poll, 2000);
          return;
        }
        var main = document.getElementById("main");
        main.innerHTML = next.getElementById("main").innerHTML;
        document.title = next.title;
        var verdict = document.getElementById("verdict");
        if (verdict) {
          verdict.setAttribute("tabindex", "-1");
          verdict.focus();
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }
  window.setTimeout(poll, 2000);
})();
