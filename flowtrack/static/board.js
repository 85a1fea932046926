// The week board: SortableJS moves cards between cells; each drop is posted with htmx, and the server's
// answer (the whole board, moved or as it was with the reason) replaces it. The server is the judge.
(function () {
  function cardOrder(cell) {
    return Array.prototype.map.call(cell.querySelectorAll(".job-card"), function (card) {
      return card.dataset.workOrder;
    }).join(",");
  }

  function dropped(event) {
    var cell = event.to;
    var board = document.getElementById("board");
    if (cell.hasAttribute("data-tray") || (event.from === cell && event.oldIndex === event.newIndex)) {
      return;
    }
    htmx.ajax("POST", board.dataset.placeUrl, {
      target: "#board",
      swap: "innerHTML",
      values: {
        work_order: event.item.dataset.workOrder,
        technician: cell.dataset.technician,
        day: cell.dataset.day,
        week: board.querySelector("table.board").dataset.week,
        order: cardOrder(cell)
      }
    });
  }

  function setUp(root) {
    if (typeof Sortable === "undefined" || !root.querySelectorAll) {
      return;
    }
    root.querySelectorAll(".board-cell").forEach(function (cell) {
      var tray = cell.hasAttribute("data-tray");
      Sortable.create(cell, {
        group: { name: "board", pull: true, put: !tray },
        sort: !tray,
        draggable: ".job-card[data-movable]",
        filter: "a",
        preventOnFilter: false,
        animation: 120,
        onEnd: dropped
      });
    });
  }

  document.addEventListener("htmx:load", function (event) { setUp(event.detail.elt); });
})();
