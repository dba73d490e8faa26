// Podium: small progressive enhancements. Pages work without this file.
(function () {
  "use strict";
  // Live scoreboard: the server swaps changed rows in place (hx-swap-oob); keep them ordered
  // by their data-pos after every message.
  function orderRows() {
    var body = document.getElementById("board-rows");
    if (!body) return;
    // A change of places comes as the whole order and the ranks in it.
    var order = document.getElementById("board-order");
    if (order && order.dataset.order) {
      var ids = order.dataset.order.split(","), ranks = order.dataset.ranks.split(",");
      for (var k = 0; k < ids.length; k++) {
        var row = document.getElementById("row-" + ids[k]);
        if (!row) continue;
        row.dataset.pos = String(k + 1);
        var cell = row.querySelector(".rank");
        if (cell) cell.textContent = ranks[k];
      }
    }
    var rows = Array.prototype.slice.call(body.children);
    var sorted = rows.slice().sort(function (a, b) {
      return (+a.dataset.pos) - (+b.dataset.pos);
    });
    for (var i = 0; i < sorted.length; i++) {
      if (body.children[i] !== sorted[i]) body.insertBefore(sorted[i], body.children[i] || null);
    }
  }
  document.addEventListener("htmx:wsAfterMessage", orderRows);

  // Times: the server writes UTC; show them in the viewer's time zone, the contest's on hover.
  var fmt = { dateStyle: "medium", timeStyle: "short" };
  function localTimes(root) {
    // The zone the user chose in their account settings, else the browser's.
    var own = document.body && document.body.dataset.userTz;
    var mine = own ? Object.assign({ timeZone: own }, fmt) : fmt;
    var nodes = (root || document).querySelectorAll("time[datetime]:not([data-local])");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i], when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) continue;
      el.dataset.local = "1";
      try {
        el.textContent = when.toLocaleString(undefined, mine);
        var tz = el.dataset.tz;
        if (tz) el.title = when.toLocaleString(undefined, Object.assign({ timeZone: tz }, fmt)) + " (" + tz + ")";
        else el.title = el.getAttribute("datetime");
      } catch (e) { /* unknown zone: keep the server's text */ }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { localTimes(); });
  document.addEventListener("htmx:afterSettle", function (e) { localTimes(e.target); });

  // Copy buttons: any element with data-copy copies its text (or data-copy's value) on click.
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-copy-target]");
    if (!el) return;
    var src = document.getElementById(el.getAttribute("data-copy-target"));
    if (src && navigator.clipboard) {
      navigator.clipboard.writeText(src.textContent).then(function () {
        var old = el.textContent; el.textContent = el.dataset.copied || "Copied";
        setTimeout(function () { el.textContent = old; }, 1200);
      });
    }
  });
  window.podium = { orderRows: orderRows, localTimes: localTimes };
})();
