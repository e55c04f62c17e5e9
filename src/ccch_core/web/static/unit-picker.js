// The unit picker's suggestions (progressive enhancement): an <input data-unit-search="URL"
// list="ID"> gets, while the officer types, the names of up to 20 matching units in its
// <datalist>, from the server's search (/don-vi/tim.json). Without this script the form still
// works: the server searches what was typed and lists the matches.
(function () {
  "use strict";
  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.getAttribute("data-unit-search");
    var timer = null;
    var last = "";
    if (!list || !url) { return; }
    input.addEventListener("input", function () {
      // A name typed over a chosen unit: its id (the hidden NAME-ma field) no longer applies.
      var kept = input.form && input.form.querySelector('input[type="hidden"][name="' + input.name + '-ma"]');
      if (kept) { kept.parentNode.removeChild(kept); }
      var q = input.value.trim();
      if (q.length < 2 || q === last) { return; }
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        last = q;
        var sep = url.indexOf("?") < 0 ? "?" : "&";
        fetch(url + sep + "q=" + encodeURIComponent(q), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {units: []}; })
          .then(function (data) {
            while (list.firstChild) { list.removeChild(list.firstChild); }
            data.units.forEach(function (u) {
              var option = document.createElement("option");
              option.value = u.name;
              if (u["in"]) { option.label = u["in"]; }
              list.appendChild(option);
            });
          })
          .catch(function () { /* no suggestions: the form still works */ });
      }, 200);
    });
  }
  document.querySelectorAll("input[data-unit-search]").forEach(attach);
})();
