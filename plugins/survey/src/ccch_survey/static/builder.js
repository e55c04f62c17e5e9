// The survey builder's question rows: "Lên" and "Xuống" buttons move a row and renumber every
// "Thứ tự" box, which is what the server sorts by. Without JavaScript the buttons stay hidden and
// the officer types the numbers.
(function () {
  "use strict";
  var list = document.getElementById("cac-cau-hoi");
  if (!list) { return; }
  function renumber() {
    var n = 1;
    list.querySelectorAll(".q-row").forEach(function (row) {
      var box = row.querySelector("input.order");
      if (box) { box.value = String(n); }
      n += 1;
    });
  }
  list.querySelectorAll(".q-row").forEach(function (row) {
    var up = row.querySelector("button.move-up");
    var down = row.querySelector("button.move-down");
    if (!up || !down) { return; }
    up.hidden = false;
    down.hidden = false;
    up.addEventListener("click", function () {
      var before = row.previousElementSibling;
      if (before) { list.insertBefore(row, before); renumber(); up.focus(); }
    });
    down.addEventListener("click", function () {
      var after = row.nextElementSibling;
      if (after) { list.insertBefore(after, row); renumber(); down.focus(); }
    });
  });
}());
