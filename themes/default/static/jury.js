// Jury pages: keyboard shortcuts on lists. The pages work without this file.
//   j / k   move the selection down / up        Enter  open the selected row
//   r       rejudge the selected submission (after a confirm)
//   /       focus the filter
// Keys do nothing while typing in a field, or with Ctrl/Alt/Meta held.
(function () {
  "use strict";
  var selectedId = null;

  function table() { return document.querySelector("table[data-keyboard-list]"); }
  function rows() {
    var t = table();
    return t ? Array.prototype.slice.call(t.querySelectorAll("tbody tr[data-id]")) : [];
  }
  function current() {
    var all = rows();
    for (var i = 0; i < all.length; i++) if (all[i].dataset.id === selectedId) return all[i];
    return null;
  }
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    if (!row) { selectedId = null; return; }
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    selectedId = row.dataset.id;
    row.scrollIntoView({ block: "nearest" });
  }
  function move(step) {
    var all = rows();
    if (!all.length) return;
    var at = all.indexOf(current());
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(at + step, 0), all.length - 1);
    select(all[next]);
  }
  function typing(target) {
    if (!target) return false;
    var tag = (target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }
  function rejudge(row) {
    var form = document.getElementById("rejudge-one");
    if (!form || !row) return;
    var question = (table().dataset.confirm || "Rejudge submission {id}?").replace("{id}", row.dataset.id);
    if (!window.confirm(question)) return;
    form.querySelector("input[name=submission_id]").value = row.dataset.id;
    form.submit();
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.altKey || e.metaKey || e.defaultPrevented || typing(e.target)) return;
    if (e.key === "/") {
      var filter = document.querySelector("[data-filter-focus]");
      if (filter) { e.preventDefault(); filter.focus(); }
      return;
    }
    if (!table()) return;
    if (e.key === "j") { e.preventDefault(); move(1); }
    else if (e.key === "k") { e.preventDefault(); move(-1); }
    else if (e.key === "Enter" && current()) { e.preventDefault(); window.location.href = current().dataset.href; }
    else if (e.key === "r" && current()) { e.preventDefault(); rejudge(current()); }
  });
  // Clicking a row selects it (links inside still work).
  document.addEventListener("click", function (e) {
    var row = e.target.closest && e.target.closest("table[data-keyboard-list] tbody tr[data-id]");
    if (row) select(row);
  });
  // The list refreshes itself (HTMX): keep the selection on the same submission.
  document.addEventListener("htmx:afterSettle", function () {
    if (selectedId !== null) { var row = current(); if (row) { row.classList.add("selected"); row.setAttribute("aria-selected", "true"); } }
  });
  // Source code: syntax colours from the vendored highlight.js, when it is there.
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.hljs) return;
    var blocks = document.querySelectorAll("code[data-highlight]");
    for (var i = 0; i < blocks.length; i++) window.hljs.highlightElement(blocks[i]);
  });
  window.podiumJury = { select: select, move: move };
})();
