// The contest setup form's unit pickers: a search box above each list of units filters its options
// by name, without diacritics ("an dung" finds "UBND xã An Dũng"). Without JavaScript the boxes
// stay hidden and the lists work as they are.
(function () {
  "use strict";
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
  }
  document.querySelectorAll("input.unit-search").forEach(function (box) {
    var list = document.getElementById(box.getAttribute("data-filters"));
    if (!list) { return; }
    box.hidden = false;
    box.addEventListener("input", function () {
      var wanted = fold(box.value.trim());
      Array.prototype.forEach.call(list.options, function (option) {
        option.hidden = wanted !== "" && !option.selected && fold(option.text).indexOf(wanted) === -1;
      });
    });
  });
}());
