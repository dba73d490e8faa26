// Podium contestant pages: progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  if (window.podiumContest) return;  // included by the page and by the contest menu
  var store = {
    get: function (k) { try { return window.localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { window.localStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  };

  // -- countdowns ------------------------------------------------------------------------
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var nodes = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i], left = Math.floor((new Date(el.dataset.countdown) - new Date()) / 1000);
      var value = el.querySelector(".countdown-value") || el;
      if (left <= 0) {
        if (!el.dataset.done) { el.dataset.done = "1"; el.classList.add("countdown-done"); value.textContent = "0:00:00"; }
        continue;
      }
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
      var m = Math.floor(left % 3600 / 60), s = left % 60;
      value.textContent = (d ? d + "d " : "") + h + ":" + two(m) + ":" + two(s);
    }
  }

  // -- unread clarifications -------------------------------------------------------------
  function slugOf(url) { var m = /^\/contests\/([^/]+)/.exec(url || ""); return m ? m[1] : ""; }
  function seenKey(slug) { return "podium.clar.seen." + slug; }
  function seen(slug) {
    var raw = store.get(seenKey(slug));
    return raw ? raw.split(",") : null;
  }
  function markSeen(slug, ids) {
    var have = seen(slug) || [];
    for (var i = 0; i < ids.length; i++) if (have.indexOf(ids[i]) < 0) have.push(ids[i]);
    store.set(seenKey(slug), have.slice(-500).join(","));
  }
  function updateBadge() {
    var badge = document.getElementById("clar-unread");
    if (!badge || badge.dataset.ids === undefined) return;
    var slug = slugOf(badge.dataset.url), ids = badge.dataset.ids ? badge.dataset.ids.split(",") : [];
    var onPage = location.pathname === badge.dataset.url;
    var known = seen(slug);
    if (known === null || onPage) {  // first visit: nothing old counts as news
      markSeen(slug, ids);
      known = seen(slug) || [];
    }
    var fresh = ids.filter(function (id) { return known.indexOf(id) < 0; });
    badge.textContent = fresh.length ? String(fresh.length) : "";
    badge.hidden = !fresh.length;
    badge.title = fresh.length ? fresh.length + " unread" : "";
    var banner = document.getElementById("clar-banner");
    if (fresh.length && !onPage) {
      if (!banner) {
        banner = document.createElement("div");
        banner.id = "clar-banner";
        banner.className = "clar-banner";
        banner.setAttribute("role", "status");
        var main = document.getElementById("main");
        if (main) main.insertBefore(banner, main.firstChild);
      }
      banner.innerHTML = "";
      var link = document.createElement("a");
      link.href = badge.dataset.url;
      link.textContent = (badge.dataset.banner || "✉") + " (" + fresh.length + ")";
      banner.appendChild(link);
    } else if (banner) {
      banner.parentNode.removeChild(banner);
    }
  }

  // -- submit form: remembered language, CodeMirror -------------------------------------
  function editor() {
    var form = document.querySelector("form.submit-form");
    if (!form) return;
    var lang = form.querySelector("select[name=language]"), key = "podium.lang." + form.dataset.slug;
    if (lang) {
      var saved = store.get(key);
      if (saved && form.dataset.rerender !== "1" && lang.querySelector('option[value="' + saved + '"]')) lang.value = saved;
      lang.addEventListener("change", function () { store.set(key, lang.value); });
    }
    var area = form.querySelector("textarea[name=source]");
    if (!area || !window.CodeMirror) return;
    function mode() {
      var opt = lang && lang.options[lang.selectedIndex];
      return opt ? opt.getAttribute("data-mode") || null : null;
    }
    var cm = window.CodeMirror.fromTextArea(area, {
      mode: mode(), lineNumbers: true, indentUnit: 4, tabSize: 4, indentWithTabs: false,
      viewportMargin: Infinity, extraKeys: { Tab: function (c) { c.replaceSelection("    "); } }
    });
    cm.getWrapperElement().classList.add("code-editor");
    if (lang) lang.addEventListener("change", function () { cm.setOption("mode", mode()); });
    var file = form.querySelector("input[type=file][name=file]");
    if (file && lang) file.addEventListener("change", function () {  // pick the language by extension
      var name = file.files && file.files[0] ? file.files[0].name : "";
      var ext = name.indexOf(".") >= 0 ? name.split(".").pop().toLowerCase() : "";
      var byExt = { py: "python3", c: "c", cpp: "cpp", cc: "cpp", cxx: "cpp", java: "java", js: "javascript", rs: "rust" };
      if (byExt[ext] && lang.querySelector('option[value="' + byExt[ext] + '"]')) { lang.value = byExt[ext]; cm.setOption("mode", mode()); }
    });
  }
  function viewers() {
    if (!window.CodeMirror) return;
    var blocks = document.querySelectorAll("pre.source-code");
    for (var i = 0; i < blocks.length; i++) {
      var pre = blocks[i], host = document.createElement("div");
      pre.parentNode.insertBefore(host, pre);
      window.CodeMirror(host, { value: pre.textContent, mode: pre.dataset.mode || null,
        readOnly: true, lineNumbers: true, viewportMargin: Infinity });
      pre.hidden = true;
    }
  }

  // -- math ------------------------------------------------------------------------------
  function math() {
    if (!window.katex) return;
    var nodes = document.querySelectorAll(".statement .math");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i], tex = el.textContent.replace(/^\\\(|\\\)$/g, "").replace(/^\\\[|\\\]$/g, "").replace(/^\$\$?|\$\$?$/g, "");
      try {
        window.katex.render(tex, el, { displayMode: el.classList.contains("block") || el.classList.contains("display"), throwOnError: false });
      } catch (e) { /* keep the TeX source */ }
    }
  }

  // -- live submissions --------------------------------------------------------------------
  document.addEventListener("htmx:oobBeforeSwap", function (e) {
    // A new row the page already shows (it was rendered after the submission): skip it.
    var frag = e.detail && e.detail.fragment;
    var row = frag && frag.querySelector ? frag.querySelector("tr[id^=sub-]") : null;
    if (row && e.detail.target && e.detail.target.id === "submission-rows" && document.getElementById(row.id)) {
      e.preventDefault();
    }
  });
  document.addEventListener("htmx:wsAfterMessage", function () {
    var empty = document.getElementById("no-submissions");
    if (empty && document.querySelector("#submission-rows tr")) empty.hidden = true;
    var live = document.querySelector("[data-live-submission]");
    if (live) {  // the detail page of a pending submission: show the full result when judged
      var cell = document.querySelector("#sub-" + live.dataset.liveSubmission + " .verdict");
      if (cell && cell.dataset.verdict !== "pending") location.reload();
    }
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.target && (e.target.id === "clar-unread" || (e.detail && e.detail.elt && e.detail.elt.id === "clar-unread"))) updateBadge();
  });
  document.addEventListener("htmx:afterSettle", function () { updateBadge(); });

  function start() {
    tick(); setInterval(tick, 1000);
    editor(); viewers(); math(); updateBadge();
    var onClar = document.querySelectorAll("[data-clar-id]"), ids = [];
    for (var i = 0; i < onClar.length; i++) ids.push(onClar[i].dataset.clarId);
    var slug = slugOf(location.pathname);
    if (ids.length && slug && /\/clarifications$/.test(location.pathname)) markSeen(slug, ids);
  }
  window.podiumContest = { updateBadge: updateBadge, markSeen: markSeen };
  // Deferred scripts (CodeMirror, KaTeX) run after this one: start once the document is done.
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
