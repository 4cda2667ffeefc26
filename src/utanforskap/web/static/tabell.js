// Sortable tables (progressive enhancement): a header with data-sortera becomes a button;
// aria-sort says the order. Numeric columns sort by the cell's data-varde (raw value),
// empty values last. Without JavaScript the table stays in the server's order.
(function () {
  "use strict";
  const collator = new Intl.Collator("sv");
  function key(cell, kind) {
    if (!cell) return null;
    if (kind === "tal") {
      const raw = cell.dataset.varde ?? cell.textContent.replace(/\s/g, "").replace(",", ".").replace("−", "-");
      const v = parseFloat(raw);
      return Number.isNaN(v) ? null : v;
    }
    return cell.textContent.trim();
  }
  for (const table of document.querySelectorAll("table.sorterbar")) {
    const heads = Array.from(table.tHead.rows[0].cells);
    heads.forEach((th, index) => {
      const kind = th.dataset.sortera;
      if (!kind) return;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sortera";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", () => {
        const descending = th.getAttribute("aria-sort") === "ascending";
        heads.forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort((a, b) => {
          const x = key(a.cells[index], kind), y = key(b.cells[index], kind);
          if (x === null && y === null) return 0;
          if (x === null) return 1;
          if (y === null) return -1;
          const c = kind === "tal" ? x - y : collator.compare(x, y);
          return descending ? -c : c;
        });
        rows.forEach((r) => body.appendChild(r));
      });
    });
  }
})();
