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

  // Show the rows whose text holds every word typed; say how many are shown.
  function filter(input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var rows = table.tBodies[0].rows, shown = 0;
    each(rows, function (row) {
      var text = row.textContent.toLowerCase();
      row.hidden = !words.every(function (w) { return text.indexOf(w) !== -1; });
      shown += row.hidden ? 0 : 1;
    });
    var count = document.querySelector('output[data-count="' + table.id + '"]');
    if (count) count.textContent = words.length ? shown + " of " + rows.length + " shown" : "";
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
    input.addEventListener("input", function () { filter(input); });
  });
  each(document.querySelectorAll(".table-tools[hidden]"), function (el) { el.hidden = false; });
})();
