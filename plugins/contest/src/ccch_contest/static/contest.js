/* Contest attempt page: countdown, autosave, one submit. The server keeps the time and the
   answers; without this script the page works the same (deadline shown, "Lưu tạm" button). */
(function () {
  "use strict";
  // The attempt page answers the registration POST and the result page the submission: give the
  // address bar the page's own address, so that reloading it does not send the form again.
  var canonical = document.querySelector("[data-canonical]");
  if (canonical && window.history && window.history.replaceState &&
      window.location.pathname !== canonical.getAttribute("data-canonical")) {
    window.history.replaceState(null, "", canonical.getAttribute("data-canonical"));
  }
  var timer = document.getElementById("dem-nguoc");
  var form = document.getElementById("bai-thi");
  if (!timer || !form) { return; }
  var deadline = parseInt(timer.getAttribute("data-deadline-ms"), 10);
  var offset = Date.now() - parseInt(timer.getAttribute("data-now-ms"), 10);
  var submitted = false;
  var status = document.createElement("span");
  status.className = "saved";
  status.setAttribute("aria-live", "polite");

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var left = Math.max(0, Math.floor((deadline - (Date.now() - offset)) / 1000));
    timer.textContent = "Thời gian còn lại: " + Math.floor(left / 60) + ":" + two(left % 60) + " ";
    timer.appendChild(status);
    if (left <= 60) { timer.className = "timer low"; }
    if (left === 0 && !submitted) {
      submitted = true;
      var flag = document.createElement("input");
      flag.type = "hidden"; flag.name = "het_gio"; flag.value = "1";
      form.appendChild(flag);
      form.submit();
      return;
    }
    window.setTimeout(tick, 1000 - ((Date.now() - offset) % 1000));
  }

  var pending = null;
  var dirty = false;
  function save() {
    pending = null;
    if (!dirty || submitted || !window.fetch || !window.FormData) { return; }
    dirty = false;
    window.fetch(form.getAttribute("data-save"), {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (response) {
      if (response.ok) {
        var now = new Date();
        status.textContent = "· đã lưu lúc " + two(now.getHours()) + ":" + two(now.getMinutes()) + ":" + two(now.getSeconds());
      } else { dirty = true; }
    }).catch(function () { dirty = true; });
  }
  form.addEventListener("change", function () {
    dirty = true;
    if (pending) { window.clearTimeout(pending); }
    pending = window.setTimeout(save, 1500);
  });
  window.setInterval(function () { if (dirty && !pending) { save(); } }, 30000);
  form.addEventListener("submit", function () { submitted = true; });
  tick();
}());
