/* Admin pages: upload progress and HTMX error swaps. Everything works without it. */
(function () {
  "use strict";

  function progressOf(form) {
    var box = form.querySelector(".upload-progress");
    return box ? { box: box, bar: box.querySelector("progress"),
                   text: box.querySelector(".upload-progress-text") } : null;
  }

  // Upload progress: forms marked data-upload-progress show a <progress> while HTMX sends.
  document.addEventListener("htmx:xhr:loadstart", function (evt) {
    var form = evt.target.closest && evt.target.closest("form[data-upload-progress]");
    var p = form && progressOf(form);
    if (!p) return;
    p.box.hidden = false;
    p.bar.value = 0;
    p.bar.removeAttribute("value");  // indeterminate until the first progress event
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
  });
  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = evt.target.closest && evt.target.closest("form[data-upload-progress]");
    var p = form && progressOf(form);
    if (!p || !evt.detail.lengthComputable) return;
    var percent = Math.round(evt.detail.loaded / evt.detail.total * 100);
    p.bar.value = percent;
    if (p.text) p.text.textContent = percent + " %";
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.target.closest && evt.target.closest("form[data-upload-progress]");
    if (!form || !document.body.contains(form)) return;
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = false;
  });

  // Forms marked data-swap-errors show the server's 4xx page part (the field errors)
  // instead of ignoring it, as HTMX does by default.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    var form = elt && elt.closest && elt.closest("[data-swap-errors]");
    var status = evt.detail.xhr && evt.detail.xhr.status;
    if (form && status >= 400 && status < 500) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  // The registration code field only matters when registration is by code.
  function syncCode() {
    var mode = document.getElementById("f-registration_mode");
    var code = document.getElementById("f-registration_code");
    if (!mode || !code) return;
    code.closest(".field").hidden = mode.value !== "code";
  }
  document.addEventListener("change", function (evt) {
    if (evt.target && evt.target.id === "f-registration_mode") syncCode();
  });
  document.addEventListener("DOMContentLoaded", syncCode);
})();
