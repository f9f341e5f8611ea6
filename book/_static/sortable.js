// The Claims page's findings table sorts by any column: click a header (again: the other direction).
// Numbers sort as numbers ("ratio 1.58", "+0.317", "8/8", "3.3e-16"), the rest as text.
(function () {
  "use strict";
  function key(cell) {
    const text = cell.textContent.trim();
    const number = parseFloat(text.replace(/^ratio /, "").replace("−", "-"));
    return Number.isNaN(number) ? text.toLowerCase() : number;
  }
  function compare(a, b) {
    if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
    return typeof a === "number" ? -1 : 1; // numbers before text
  }
  function sortable(table) {
    const body = table.tBodies[0];
    table.querySelectorAll("thead th").forEach(function (th, column) {
      th.style.cursor = "pointer";
      th.title = "sort by this column";
      th.addEventListener("click", function () {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const rows = Array.from(body.rows);
        rows.sort(function (r, s) {
          const order = compare(key(r.cells[column]), key(s.cells[column]));
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".claims-findings table").forEach(sortable);
  });
})();
