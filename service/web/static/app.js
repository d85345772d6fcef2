// xiaoqi web UI: small progressive enhancements; every page works without them. No inline
// script anywhere (the Content-Security-Policy forbids it): behaviour hangs on data- attributes.
(function () {
  "use strict";
  // <select data-autosubmit>: submit its form when the choice changes.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Every POST form carries the page's CSRF token (templates render it; this covers a form
  // that forgot to).
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) {
    document.querySelectorAll('form[method="post"]').forEach(function (form) {
      if (!form.querySelector('input[name="csrf_token"]')) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "csrf_token";
        input.value = meta.content;
        form.appendChild(input);
      }
    });
  }
  // <input data-filter-select="ID">: filter the options of <select id=ID> as you type.
  document.querySelectorAll("[data-filter-select]").forEach(function (input) {
    var select = document.getElementById(input.getAttribute("data-filter-select"));
    if (!select) return;
    input.addEventListener("input", function () {
      var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(select.options, function (opt) {
        var text = opt.text.toLowerCase();
        opt.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !input.value.trim()) e.preventDefault();
    });
  });
  // <input type=checkbox data-check-all="NAME">: tick or clear every checkbox named NAME.
  document.querySelectorAll("[data-check-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      var name = box.getAttribute("data-check-all");
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (b) {
        b.checked = box.checked;
      });
    });
  });
})();
