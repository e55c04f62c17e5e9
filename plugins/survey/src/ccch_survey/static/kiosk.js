/* ccch survey — kiosk mode (a tablet at a counter). No answer is lost when the network drops:
   a submission that cannot be sent is kept in this browser's localStorage and sent when the
   connection returns (the server stores a resent submission once: it carries its submission id).
   The form is cleared for the next citizen after each submission and after a period without
   activity. Without JavaScript the page is an ordinary form and still works. */
(function () {
  "use strict";
  var form = document.getElementById("kiosk");
  if (!form || !window.fetch || !window.FormData || !window.URLSearchParams) { return; }
  var status = document.getElementById("kiosk-status");
  var key = "ccch-khao-sat-chua-gui:" + form.getAttribute("action");
  var idleMs = (parseInt(form.getAttribute("data-idle"), 10) || 90) * 1000;
  var thanksMs = (parseInt(form.getAttribute("data-thanks"), 10) || 8) * 1000;
  var idleTimer = null, sending = false, lost = 0;

  function say(text) { status.textContent = text; }
  function load() { try { return JSON.parse(window.localStorage.getItem(key) || "[]"); } catch (e) { return []; } }
  function store(items) { window.localStorage.setItem(key, JSON.stringify(items)); }
  function pending() { return load().length; }
  function newSid() {
    var bytes = new Uint8Array(18), text = "";
    window.crypto.getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return window.btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function pairs() {
    var out = [];
    new FormData(form).forEach(function (value, name) { out.push([name, String(value)]); });
    return out;
  }
  function body(items) {
    var params = new URLSearchParams();
    items.forEach(function (kv) { params.append(kv[0], kv[1]); });
    return params;
  }
  function sidOf(items) {
    var sid = "";
    items.forEach(function (kv) { if (kv[0] === "sid") { sid = kv[1]; } });
    return sid;
  }
  /* A form token is good for one submission id: ask for one for a new citizen's sid, and for a
     kept submission's sid before resending it. */
  function tokenFor(sid) {
    return fetch(form.getAttribute("data-token") + "?sid=" + encodeURIComponent(sid),
                 { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (token) { return token.trim(); });
  }
  function refreshToken(items) {
    return tokenFor(sidOf(items)).then(function (token) {
      items.forEach(function (kv) { if (kv[0] === "csrf_token") { kv[1] = token; } });
    });
  }
  /* Resolves to "sent", "invalid" (the server wants changes), "gone" (survey closed) or "later". */
  function send(items, retried) {
    return fetch(form.action, { method: "POST", body: body(items), credentials: "same-origin" }).then(function (r) {
      if (r.ok && r.headers.get("X-Survey-Result") === "stored") { return "sent"; }
      if (r.status === 422) { return "invalid"; }
      if (r.status === 400 && !retried) { return refreshToken(items).then(function () { return send(items, true); }, function () { return "later"; }); }
      if (r.status === 404 || r.status === 410) { return "gone"; }
      return "later";
    }, function () { return "later"; });
  }
  function missing() {
    var first = null;
    Array.prototype.forEach.call(form.querySelectorAll("[data-required]"), function (box) {
      var answered = Array.prototype.some.call(box.querySelectorAll("input, textarea"), function (el) {
        return (el.type === "radio" || el.type === "checkbox") ? el.checked : el.value.trim() !== "";
      });
      box.classList.toggle("q-bad", !answered);
      if (!answered && !first) { first = box; }
    });
    return first;
  }
  function reset(message) {
    form.reset();
    Array.prototype.forEach.call(form.querySelectorAll(".q-bad"), function (box) { box.classList.remove("q-bad"); });
    Array.prototype.forEach.call(form.querySelectorAll(".err, .summary"), function (el) { el.parentNode.removeChild(el); });
    var sid = newSid();
    form.querySelector("input[name=sid]").value = sid;
    tokenFor(sid).then(function (token) {
      if (form.querySelector("input[name=sid]").value === sid) { form.querySelector("input[name=csrf_token]").value = token; }
    }, function () { /* offline: the token is fetched again before this submission is sent */ });
    window.scrollTo(0, 0);
    say(message);
    window.setTimeout(function () { if (status.textContent === message) { say(note()); } }, thanksMs);
  }
  function note() {
    var n = pending();
    var text = n ? n + " ý kiến đang chờ gửi (sẽ tự gửi khi có mạng)." : "";
    if (lost) { text += " " + lost + " ý kiến không gửi được vì khảo sát đã đóng hoặc không hợp lệ."; }
    return text.trim();
  }
  function flush() {
    if (sending) { return; }
    var items = load();
    if (!items.length) { return; }
    sending = true;
    send(items[0]).then(function (outcome) {
      sending = false;
      if (outcome === "later") { return; }
      if (outcome !== "sent") { lost += 1; }
      var rest = load();
      rest.shift();
      store(rest);
      if (!/Cảm ơn/.test(status.textContent)) { say(note()); }
      flush();
    });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var first = missing();
    if (first) {
      say("Vui lòng trả lời các câu được đánh dấu đỏ.");
      first.scrollIntoView();
      return;
    }
    var items = pairs();
    say("Đang gửi…");
    send(items).then(function (outcome) {
      if (outcome === "sent") { reset("Cảm ơn bạn! Ý kiến đã được gửi. Mời người tiếp theo."); return; }
      if (outcome === "invalid") { form.submit(); return; }  // the server shows what to correct
      if (outcome === "gone") { say("Khảo sát đã đóng: ý kiến này không gửi được. Xin cảm ơn bạn."); return; }
      try {
        var queued = load();
        queued.push(items);
        store(queued);
        reset("Cảm ơn bạn! Mạng đang gián đoạn: ý kiến đã được lưu trên máy này và sẽ tự gửi khi có mạng.");
      } catch (e) {
        say("Chưa gửi được ý kiến (mạng gián đoạn, máy không lưu được). Vui lòng báo cán bộ tại quầy rồi bấm Gửi lại.");
      }
    });
  });
  function activity() {
    if (idleTimer) { window.clearTimeout(idleTimer); }
    idleTimer = window.setTimeout(function () {
      var touched = pairs().some(function (kv) { return ["csrf_token", "sid", "v"].indexOf(kv[0]) < 0 && kv[1] !== ""; });
      if (touched) { reset("Biểu mẫu đã được làm mới cho người tiếp theo."); }
      activity();
    }, idleMs);
  }
  ["input", "change", "click", "keydown", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true });
  });
  window.addEventListener("online", flush);
  window.setInterval(flush, 30000);
  activity();
  say(note());
  flush();
}());
