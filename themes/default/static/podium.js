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
  window.podium = { orderRows: orderRows };
})();
