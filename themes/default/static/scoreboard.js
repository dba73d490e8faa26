// Podium spectator scoreboard: group filter, favourite teams, recent-solves ticker, row
// animations and auto-scroll. The board is a plain table without this file; everything here
// reads only what the page and its public socket already show.
(function () {
  "use strict";

  var root, slug, rowsBody, store = {};
  var state = { filter: "", favourites: [], pin: false, solved: null, groupsKey: null };
  var FIXED = 4; // rank, team, points, time: the problem cells follow
  var TICKER_SIZE = 10;

  // -- storage (a browser without localStorage still works, without memory) ---------------
  function load(name, fallback) {
    try {
      var raw = window.localStorage.getItem("podium." + name + "." + slug);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) { return store[name] !== undefined ? store[name] : fallback; }
  }
  function save(name, value) {
    store[name] = value;
    try { window.localStorage.setItem("podium." + name + "." + slug, JSON.stringify(value)); }
    catch (e) { /* private mode: kept for this page only */ }
  }
  function t(key, values) {
    var text = root.getAttribute("data-t-" + key) || key;
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values && k in values ? values[k] : ""; });
  }
  function rows() {
    rowsBody = document.getElementById("board-rows");
    return rowsBody ? Array.prototype.slice.call(rowsBody.children) : [];
  }
  function isFavourite(teamId) { return state.favourites.indexOf(teamId) >= 0; }

  // -- decoration of rows: star, affiliation, favourite class --------------------------------
  function teamName(row) {
    var cell = row.querySelector(".team");
    if (!cell) return "";
    if (cell.dataset.name === undefined) cell.dataset.name = cell.textContent.trim();
    return cell.dataset.name;
  }
  function decorate(row) {
    var teamId = row.dataset.team, cell = row.querySelector(".team");
    if (!cell || !teamId) return;
    var name = teamName(row);
    if (!cell.querySelector(".fav-star")) {
      var star = document.createElement("button");
      star.type = "button";
      star.className = "fav-star";
      star.textContent = "★";
      star.setAttribute("aria-label", t("favourite", { team: name }));
      cell.insertBefore(star, cell.firstChild);
      if (row.dataset.affiliation) {
        var affiliation = document.createElement("small");
        affiliation.className = "affiliation";
        affiliation.textContent = row.dataset.affiliation;
        cell.appendChild(affiliation);
      }
    }
    var fav = isFavourite(teamId);
    row.classList.toggle("favourite", fav);
    cell.querySelector(".fav-star").setAttribute("aria-pressed", fav ? "true" : "false");
  }

  // -- group filter ------------------------------------------------------------------------
  function buildChips() {
    var board = document.getElementById("board"), chips = document.getElementById("group-chips");
    if (!board || !chips) return;
    var key = board.getAttribute("data-groups") || "[]";
    if (key === state.groupsKey) return;
    state.groupsKey = key;
    var groups = [];
    try { groups = JSON.parse(key); } catch (e) { groups = []; }
    Array.prototype.slice.call(chips.querySelectorAll(".chip-group")).forEach(function (c) { c.remove(); });
    var known = { "": true, fav: true };
    groups.forEach(function (g) {
      var chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip chip-group";
      chip.dataset.group = String(g.id);
      chip.textContent = g.name;
      if (g.kind) chip.title = g.kind;
      chips.appendChild(chip);
      known[String(g.id)] = true;
    });
    if (!known[state.filter]) state.filter = ""; // the group is gone
  }
  function matches(row) {
    if (state.filter === "") return true;
    if (state.filter === "fav") return isFavourite(row.dataset.team);
    return (" " + (row.dataset.groups || "") + " ").indexOf(" " + state.filter + " ") >= 0;
  }
  function applyFilter() {
    var all = rows(), shown = 0;
    all.forEach(function (row) {
      decorate(row);
      var ok = matches(row);
      row.classList.toggle("filtered-out", !ok);
      if (ok) shown++;
    });
    var chips = document.querySelectorAll("#group-chips .chip");
    for (var i = 0; i < chips.length; i++) {
      chips[i].setAttribute("aria-pressed", chips[i].dataset.group === state.filter ? "true" : "false");
    }
    var count = document.getElementById("filter-count");
    if (count) count.textContent = state.filter === "" ? "" : t("shown", { shown: shown, total: all.length });
    pinFavourites(all);
  }

  // -- favourites pinned on top: copies of their rows in a tbody before the board's ---------
  function pinFavourites(all) {
    var table = rowsBody && rowsBody.closest("table");
    if (!table) return;
    var pinned = document.getElementById("board-pinned");
    if (!state.pin || !state.favourites.length) {
      if (pinned) pinned.remove();
      return;
    }
    if (!pinned) {
      pinned = document.createElement("tbody");
      pinned.id = "board-pinned";
      pinned.className = "pinned";
      table.insertBefore(pinned, rowsBody);
    }
    var copies = [];
    all.forEach(function (row) {
      if (!isFavourite(row.dataset.team)) return;
      var copy = row.cloneNode(true);
      copy.removeAttribute("id");
      copy.classList.remove("filtered-out", "flip");
      copy.style.transform = "";
      copies.push(copy);
    });
    pinned.replaceChildren.apply(pinned, copies);
  }

  // -- recent solves: cells that became solved since the last message ---------------------
  function problemIds() {
    var heads = document.querySelectorAll("#board thead th");
    var ids = [];
    for (var i = FIXED; i < heads.length; i++) {
      ids.push({ id: heads[i].dataset.problem || String(i), label: heads[i].textContent.trim() });
    }
    return ids;
  }
  function solvedNow() {
    var problems = problemIds(), seen = {}, list = [];
    rows().forEach(function (row) {
      var cells = row.children;
      for (var i = FIXED; i < cells.length; i++) {
        var cell = cells[i];
        if (!cell.classList.contains("solved")) continue;
        var problem = problems[i - FIXED] || { id: String(i), label: "?" };
        var key = row.dataset.team + ":" + problem.id;
        seen[key] = true;
        list.push({ key: key, team: teamName(row), teamId: row.dataset.team, problem: problem.label,
                    first: cell.classList.contains("first"),
                    time: (cell.firstChild && cell.firstChild.nodeType === 3) ? cell.firstChild.nodeValue : "" });
      }
    });
    return { seen: seen, list: list };
  }
  function minutes(clock) {
    var parts = (clock || "").split(":");
    return parts.length === 2 ? (+parts[0]) * 60 + (+parts[1]) : 0;
  }
  function updateTicker() {
    var now = solvedNow();
    if (state.solved === null) { state.solved = now.seen; return; } // the page as loaded: no news
    var fresh = now.list.filter(function (s) { return !state.solved[s.key]; });
    state.solved = now.seen;
    if (!fresh.length) return;
    fresh.sort(function (a, b) { return minutes(a.time) - minutes(b.time); });
    var list = document.getElementById("ticker-items");
    if (!list) return;
    fresh.forEach(function (s) {
      var item = document.createElement("li");
      item.className = "ticker-item" + (s.first ? " first" : "") + (isFavourite(s.teamId) ? " favourite" : "");
      item.dataset.team = s.teamId;
      var when = document.createElement("span");
      when.className = "ticker-time";
      when.textContent = s.time;
      var text = document.createElement("span");
      text.className = "ticker-text";
      text.textContent = t("solved", { team: s.team, problem: s.problem });
      item.appendChild(when);
      item.appendChild(text);
      if (s.first) {
        var badge = document.createElement("strong");
        badge.className = "ticker-first";
        badge.textContent = t("first");
        item.appendChild(badge);
      }
      list.insertBefore(item, list.firstChild);
    });
    while (list.children.length > TICKER_SIZE) list.removeChild(list.lastChild);
    document.getElementById("ticker").classList.add("has-items");
  }

  // -- FLIP: rows slide to their new places -----------------------------------------------
  var before = null;
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function measure() {
    if (reduced) return null;
    var all = rows();
    if (!all.length || all.length > 1500) return null;
    var tops = {};
    all.forEach(function (row) { tops[row.id] = row.getBoundingClientRect().top; });
    return tops;
  }
  function animate(tops) {
    if (!tops) return;
    var moving = [];
    rows().forEach(function (row) {
      if (!(row.id in tops) || row.classList.contains("filtered-out")) return;
      var delta = tops[row.id] - row.getBoundingClientRect().top;
      if (Math.abs(delta) < 1) return;
      row.style.transition = "none";
      row.style.transform = "translateY(" + delta + "px)";
      row.classList.add("flip", delta > 0 ? "moved-up" : "moved-down");
      moving.push(row);
    });
    if (!moving.length) return;
    void document.body.offsetHeight; // apply the start positions before the transition
    moving.forEach(function (row) {
      row.style.transition = "";
      row.style.transform = "";
    });
    setTimeout(function () {
      moving.forEach(function (row) { row.classList.remove("flip", "moved-up", "moved-down"); });
    }, 2500);
  }

  // -- auto-scroll for long boards on a projector -----------------------------------------
  function autoScroll() {
    var param = new URLSearchParams(window.location.search).get("scroll");
    var on = param === "1" || (param !== "0" && document.body.classList.contains("autoscroll"));
    if (!on) return;
    var speed = +(new URLSearchParams(window.location.search).get("speed")) || 40; // px/s
    var PAUSE = 6000, USER_PAUSE = 20000;
    var phase = "top", until = Date.now() + PAUSE, last = null, carry = 0;
    document.documentElement.classList.add("autoscrolling");
    function userMoved() { phase = "user"; until = Date.now() + USER_PAUSE; }
    ["wheel", "touchstart", "keydown", "mousedown"].forEach(function (name) {
      window.addEventListener(name, userMoved, { passive: true });
    });
    function step(now) {
      var dt = last === null ? 0 : Math.min(now - last, 100) / 1000;
      last = now;
      var page = document.scrollingElement || document.documentElement;
      var bottom = page.scrollHeight - window.innerHeight;
      if (phase === "user" || phase === "top" || phase === "bottom") {
        if (Date.now() >= until) {
          if (phase === "bottom") {
            window.scrollTo({ top: 0, behavior: reduced ? "auto" : "smooth" });
            phase = "top";
            until = Date.now() + PAUSE;
          } else {
            phase = "down";
          }
        }
      } else if (bottom <= 2) {
        phase = "top"; until = Date.now() + PAUSE; // fits on the screen: nothing to scroll
      } else if (page.scrollTop >= bottom - 1) {
        phase = "bottom"; until = Date.now() + PAUSE;
      } else {
        carry += speed * dt;
        var whole = Math.floor(carry);
        if (whole >= 1) { carry -= whole; window.scrollBy(0, whole); }
      }
      window.requestAnimationFrame(step);
    }
    window.requestAnimationFrame(step);
    window.podiumAutoScroll = { phase: function () { return phase; } };
  }

  // -- wiring ------------------------------------------------------------------------------
  function refresh() {
    buildChips();
    applyFilter();
    updateTicker();
  }
  function init() {
    root = document.getElementById("spectator");
    if (!root) return;
    slug = root.dataset.contest || "";
    state.favourites = (load("favourites", []) || []).map(String);
    state.filter = String(load("filter", "") || "");
    state.pin = !!load("pin", false);
    var tools = document.getElementById("board-tools"), ticker = document.getElementById("ticker");
    if (tools) tools.hidden = false;
    if (ticker) ticker.hidden = false;
    var pin = document.getElementById("pin-favourites");
    if (pin) {
      pin.checked = state.pin;
      pin.addEventListener("change", function () { state.pin = pin.checked; save("pin", state.pin); applyFilter(); });
    }
    root.addEventListener("click", function (e) {
      var chip = e.target.closest(".chip");
      if (chip && chip.dataset.group !== undefined) {
        state.filter = chip.dataset.group;
        save("filter", state.filter);
        applyFilter();
        return;
      }
      var star = e.target.closest(".fav-star");
      if (star) {
        var teamId = star.closest("tr").dataset.team, at = state.favourites.indexOf(teamId);
        if (at >= 0) state.favourites.splice(at, 1); else state.favourites.push(teamId);
        save("favourites", state.favourites);
        applyFilter();
        return;
      }
      var item = e.target.closest(".ticker-item");
      if (item) {
        var row = document.getElementById("row-" + item.dataset.team);
        if (row) {
          row.scrollIntoView({ block: "center", behavior: reduced ? "auto" : "smooth" });
          row.classList.remove("spotlight");
          void row.offsetWidth;
          row.classList.add("spotlight");
        }
      }
    });
    document.addEventListener("htmx:wsBeforeMessage", function () { before = measure(); });
    // podium.js (loaded first) has put the rows in order by now.
    document.addEventListener("htmx:wsAfterMessage", function () {
      refresh();
      animate(before);
      before = null;
    });
    refresh();
    autoScroll();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  window.podiumScoreboard = { refresh: refresh, state: state };
})();
