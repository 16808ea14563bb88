// cegbench leaderboard: sortable tables and text filters. No dependencies; works from file://.
(function () {
  "use strict";
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  // The sort key of a cell: its data-sort attribute, else its text; "" (and "—") sort last.
  function key(cell) {
    var k = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    return k === "—" ? "" : k;
  }

  function sortBy(table, th) {
    var body = table.tBodies[0], col = th.cellIndex;
    var rows = Array.prototype.slice.call(body.rows);
    var keys = rows.map(function (r) { return key(r.cells[col]); });
    var numeric = keys.every(function (k) { return k === "" || !isNaN(Number(k)); });
    var sign = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var order = rows.map(function (r, i) { return i; });
    order.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      if (x === "" || y === "") return (x === "") - (y === "") || a - b;
      var c = numeric ? Number(x) - Number(y)
        : x.localeCompare(y, undefined, { numeric: true, sensitivity: "base" });
      return sign * c || a - b;
    });
    order.forEach(function (i) { body.appendChild(rows[i]); });
    each(th.parentNode.cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", sign === 1 ? "ascending" : "descending");
  }

  // A word typed matches where a word of the row starts with it: "agrees" finds "agrees",
  // not "disagrees"; "swig" finds "SwiGLU".
  function startsAWord(text, word) {
    var escaped = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return new RegExp("(^|[^\\p{L}\\p{N}])" + escaped, "u").test(text);
  }

  // Show the rows that hold every word typed (in their text or name) and match every
  // chosen facet (select[data-facet] against the row's data-<facet>); say how many are shown.
  function filter(table) {
    var input = document.querySelector('input[data-filter="' + table.id + '"]');
    var words = input ? input.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
    var facets = Array.prototype.filter.call(
      document.querySelectorAll('select[data-table="' + table.id + '"]'),
      function (s) { return s.value !== ""; });
    var rows = table.tBodies[0].rows, shown = 0;
    each(rows, function (row) {
      var text = (row.textContent + " " + (row.getAttribute("data-name") || "")).toLowerCase();
      row.hidden = !(words.every(function (w) { return startsAWord(text, w); }) &&
        facets.every(function (s) { return row.getAttribute("data-" + s.getAttribute("data-facet")) === s.value; }));
      if (!row.hidden) shown++;
    });
    var count = document.querySelector('output[data-count="' + table.id + '"]');
    if (count) count.textContent = words.length || facets.length ? shown + " of " + rows.length + " shown" : "";
  }

  each(document.querySelectorAll("table.sortable"), function (table) {
    each(table.tHead.rows[0].cells, function (th) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      th.addEventListener("click", function () { sortBy(table, th); });
    });
  });
  each(document.querySelectorAll("input[data-filter]"), function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    input.addEventListener("input", function () { filter(table); });
  });
  each(document.querySelectorAll("select[data-facet]"), function (select) {
    var table = document.getElementById(select.getAttribute("data-table"));
    select.addEventListener("change", function () { filter(table); });
  });
  each(document.querySelectorAll(".table-tools[hidden]"), function (el) { el.hidden = false; });
  // On a phone the filters start folded, so the first rows fit on the first screen.
  if (window.matchMedia && window.matchMedia("(max-width: 44rem)").matches) {
    each(document.querySelectorAll("details.filters"), function (d) { d.open = false; });
  }
})();
