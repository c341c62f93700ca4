// Live preview of the policy decision on the booking form: as the user types, the form is
// posted (with its CSRF token) to the same-origin preview URL and the panel is replaced.
// Without script, the "preview" button does the same with a full page.
(function () {
  "use strict";
  var form = document.getElementById("book-form");
  if (!form) { return; }
  var url = form.getAttribute("data-preview");
  var timer = null;
  var sent = 0;
  function refresh() {
    var mine = ++sent;
    fetch(url, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (mine !== sent) { return; }
        var panel = document.getElementById("preview");
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#preview");
        if (panel && fresh) { panel.replaceWith(fresh); }
      });
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
