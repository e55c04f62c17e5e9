// The survey builder's question rows: a row is moved by dragging its handle or with the "Lên" and
// "Xuống" buttons, and every "Thứ tự" box is renumbered (the server sorts by those numbers).
// Without JavaScript the handle and buttons stay hidden and the officer types the numbers.
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
  // Drag and drop: only the handle is draggable (it carries its row), so text in the row's boxes
  // can still be selected with the mouse.
  var dragged = null;
  list.addEventListener("dragover", function (event) {
    var over = event.target.closest ? event.target.closest(".q-row") : null;
    if (!dragged || !over || over === dragged) { return; }
    event.preventDefault();
    var box = over.getBoundingClientRect();
    list.insertBefore(dragged, event.clientY < box.top + box.height / 2 ? over : over.nextElementSibling);
  });
  list.addEventListener("drop", function (event) { if (dragged) { event.preventDefault(); } });
  list.querySelectorAll(".q-row").forEach(function (row) {
    var handle = row.querySelector(".drag-handle");
    if (handle) {
      handle.hidden = false;
      handle.draggable = true;
      handle.addEventListener("dragstart", function (event) {
        dragged = row;
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", "");
        row.classList.add("dragging");
      });
      handle.addEventListener("dragend", function () {
        row.classList.remove("dragging");
        dragged = null;
        renumber();
      });
    }
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
