/* covidct: filter, search and sort the catalog table; copy buttons. No dependencies, no network.
 *
 * The table is complete without this script; the script reveals the filter form and wires it up.
 * Row facets come from data-* attributes holding JSON arrays (read with JSON.parse, never eval);
 * nothing here writes HTML, only text and attributes. Filters are mirrored in the URL query
 * (?modality=CT&task=image-segmentation&q=...) so a filtered view can be linked.
 */
(function () {
  "use strict";

  var FACETS = ["modality", "task", "anatomy", "license", "access"];

  function parse(value) {
    try {
      var v = JSON.parse(value || "[]");
      return Array.isArray(v) ? v.map(String) : [];
    } catch (e) {
      return [];
    }
  }

  function setup(root) {
    if (root.getAttribute("data-covidct-ready")) return;
    root.setAttribute("data-covidct-ready", "1");
    var form = root.querySelector(".covidct-filters");
    var table = root.querySelector("table");
    var tbody = table.tBodies[0];
    var count = root.querySelector(".covidct-catalog__count");
    var empty = root.querySelector(".covidct-catalog__empty");
    var total = parseInt(root.getAttribute("data-total"), 10) || tbody.rows.length;
    var rows = Array.prototype.slice.call(tbody.rows).map(function (tr, index) {
      var facets = {};
      FACETS.forEach(function (f) { facets[f] = parse(tr.getAttribute("data-" + f)); });
      return { tr: tr, index: index, facets: facets, text: tr.getAttribute("data-search") || "" };
    });
    var controls = {};
    Array.prototype.forEach.call(form.querySelectorAll("[data-filter]"), function (el) {
      controls[el.getAttribute("data-filter")] = el;
    });

    function state() {
      var s = {};
      Object.keys(controls).forEach(function (k) {
        var v = controls[k].value.trim();
        if (v) s[k] = v;
      });
      return s;
    }

    function apply() {
      var s = state();
      var words = (s.q || "").toLocaleLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (r) {
        var ok = FACETS.every(function (f) { return !s[f] || r.facets[f].indexOf(s[f]) >= 0; });
        if (ok && words.length) {
          ok = words.every(function (w) { return r.text.indexOf(w) >= 0; });
        }
        r.tr.hidden = !ok;
        if (ok) shown += 1;
      });
      count.textContent = shown === total
        ? total + (total === 1 ? " dataset" : " datasets")
        : shown + " of " + total + " datasets";
      empty.hidden = shown !== 0;
      var params = new URLSearchParams();
      Object.keys(s).forEach(function (k) { params.set(k, s[k]); });
      var query = params.toString();
      var url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
      try { window.history.replaceState(null, "", url); } catch (e) { /* file:// */ }
    }

    function cellValue(r, col, type) {
      var cell = r.tr.cells[col];
      var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
      if (type === "number") return raw === "" ? null : Number(raw);
      return raw.trim().toLocaleLowerCase();
    }

    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    heads.forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir);
        var type = th.getAttribute("data-type");
        var sign = dir === "ascending" ? 1 : -1;
        rows.sort(function (a, b) {
          var x = cellValue(a, col, type), y = cellValue(b, col, type);
          if (x === null && y === null) return a.index - b.index;
          if (x === null) return 1; /* unknown numbers last, whatever the direction */
          if (y === null) return -1;
          if (x < y) return -sign;
          if (x > y) return sign;
          return a.index - b.index;
        });
        rows.forEach(function (r) { tbody.appendChild(r.tr); });
      });
    });

    var params = new URLSearchParams(window.location.search);
    Object.keys(controls).forEach(function (k) {
      var v = params.get(k);
      if (v === null) return;
      var el = controls[k];
      if (el.tagName === "SELECT") {
        var known = Array.prototype.some.call(el.options, function (o) { return o.value === v; });
        if (!known) return;
      }
      el.value = v;
    });
    Object.keys(controls).forEach(function (k) {
      controls[k].addEventListener(controls[k].tagName === "SELECT" ? "change" : "input", apply);
    });
    form.addEventListener("submit", function (ev) { ev.preventDefault(); });
    var reset = form.querySelector("[data-filter-reset]");
    if (reset) {
      reset.addEventListener("click", function () {
        Object.keys(controls).forEach(function (k) { controls[k].value = ""; });
        apply();
      });
    }
    form.hidden = false;
    apply();
  }

  /* "Copy BibTeX" buttons: copy the text of the element whose id the button names. */
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  /* One delegated listener: the theme may re-create the button's DOM node, a listener on the node would be lost. */
  document.addEventListener("click", function (ev) {
    var button = ev.target && ev.target.closest ? ev.target.closest("[data-covidct-copy]") : null;
    if (!button) return;
    var target = document.getElementById(button.getAttribute("data-covidct-copy"));
    if (!target) return;
    var label = button.getAttribute("data-covidct-label") || button.textContent;
    button.setAttribute("data-covidct-label", label);
    var source = target.querySelector("pre code") || target; /* the theme renames <pre> ids: name a wrapper */
    copyText(source.textContent.replace(/\s+$/, "")).then(function () {
      button.textContent = "Copied";
    }, function () {
      button.textContent = "Select and copy by hand";
    });
    window.setTimeout(function () { button.textContent = label; }, 2000);
  });

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-covidct-catalog]"), setup);
  }

  /* Material's instant navigation swaps pages without a reload: hook into its observable if present. */
  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
