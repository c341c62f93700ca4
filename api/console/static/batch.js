// The new-batch page: "select all on this page" and the running count and total of the
// chosen lines (amounts are integer fen in data-fen; shown as yuan with separators).
// Without script the lines are chosen one by one and the batch page shows the total.
(function () {
  "use strict";
  var form = document.getElementById("batch-form");
  if (!form) { return; }
  var boxes = form.querySelectorAll("input[name=line]");
  var all = document.getElementById("select-page");
  function yuan(fen) {
    var whole = Math.floor(fen / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var part = (fen % 100).toString();
    return whole + "." + (part.length < 2 ? "0" + part : part);
  }
  function refresh() {
    var count = 0, fen = 0;
    boxes.forEach(function (box) {
      if (box.checked) { count += 1; fen += parseInt(box.getAttribute("data-fen"), 10); }
    });
    document.getElementById("chosen-count").textContent = count;
    document.getElementById("chosen-total").textContent = yuan(fen);
  }
  boxes.forEach(function (box) { box.addEventListener("change", refresh); });
  if (all) {
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      refresh();
    });
  }
  refresh();
}());
