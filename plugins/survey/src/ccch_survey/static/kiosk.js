/* ccch survey — kiosk mode (a tablet at a counter). No answer is lost when the network drops:
   a submission that cannot be sent is kept in this browser's localStorage and sent when the
   connection returns (the server stores a resent submission once: it carries its submission id).
   The form is cleared for the next citizen after each submission and after a period without
   activity: every field is emptied, its default value too, so that nothing of a citizen's answers
   (a page the server sent back to correct carries them as default values) can come back for the
   next one. A kept submission the server will never accept leaves the queue and is counted on the
   screen for the staff, without its content. Without JavaScript the page is an ordinary form. */
(function () {
  "use strict";
  var form = document.getElementById("kiosk");
  if (!form || !window.fetch || !window.FormData || !window.URLSearchParams) { return; }
  var status = document.getElementById("kiosk-status");
  var key = "ccch-khao-sat-chua-gui:" + form.getAttribute("action");
  /* Kept submissions that could not be stored as they were: when and why, never their content. */
  var reportKey = "ccch-khao-sat-khong-gui-duoc:" + form.getAttribute("action");
  var REPORT_DAYS = 7;
  /* Contact details are stored all together or not at all (consent). */
  var CONTACT = ["lien-he", "ho-ten", "dien-thoai"];
  var idleMs = (parseInt(form.getAttribute("data-idle"), 10) || 90) * 1000;
  var thanksMs = (parseInt(form.getAttribute("data-thanks"), 10) || 8) * 1000;
  var idleTimer = null, sending = false;

  function say(text) { status.textContent = text; }
  function load() { try { return JSON.parse(window.localStorage.getItem(key) || "[]"); } catch (e) { return []; } }
  function store(items) { window.localStorage.setItem(key, JSON.stringify(items)); }
  function pending() { return load().length; }
  function reports() {
    var since = Date.now() - REPORT_DAYS * 86400000;
    try {
      return JSON.parse(window.localStorage.getItem(reportKey) || "[]").filter(function (r) { return r.at > since; });
    } catch (e) { return []; }
  }
  function report(kind) {
    var kept = reports();
    kept.push({ at: Date.now(), kind: kind });
    try { window.localStorage.setItem(reportKey, JSON.stringify(kept)); } catch (e) { /* the count is lost, not an answer */ }
  }
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
  /* Resolves to { outcome, fields }: "sent"; "invalid" (422: the server wants changes to the
     fields named in X-Survey-Invalid); "gone" (survey closed, poster removed); "refused" (never
     accepted as it is: too large, or a form token refused again after a fresh one); or "later"
     (no network, rate limit, server busy: worth sending again). */
  function send(items, retried) {
    return fetch(form.action, { method: "POST", body: body(items), credentials: "same-origin" }).then(function (r) {
      if (r.ok && r.headers.get("X-Survey-Result") === "stored") { return { outcome: "sent" }; }
      if (r.status === 422) {
        return { outcome: "invalid", fields: (r.headers.get("X-Survey-Invalid") || "").split(" ").filter(Boolean) };
      }
      if (r.status === 400 && !retried) {
        return refreshToken(items).then(function () { return send(items, true); },
                                        function () { return { outcome: "later" }; });
      }
      if (r.status === 404 || r.status === 410) { return { outcome: "gone" }; }
      if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) { return { outcome: "refused" }; }
      return { outcome: "later" };
    }, function () { return { outcome: "later" }; });
  }
  /* A kept submission, sent again after its citizen has left. When the server wants changes, the
     answers it refused are left out (contact details all together: without valid consent they may
     not be stored) and the rest is sent once more: what can be stored is stored. Resolves to
     "later" (stays queued) or what became of it (leaves the queue). */
  function resend(items) {
    return send(items).then(function (result) {
      if (result.outcome !== "invalid" || !result.fields.length) { return result.outcome; }
      var drop = {};
      result.fields.forEach(function (name) {
        drop[name] = true;
        if (CONTACT.indexOf(name) >= 0) { CONTACT.forEach(function (n) { drop[n] = true; }); }
      });
      var rest = items.filter(function (kv) { return !drop[kv[0]]; });
      return send(rest).then(function (second) {
        return second.outcome === "sent" ? "trimmed" : second.outcome === "invalid" ? "invalid" : second.outcome;
      });
    });
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
  /* Every field empty, and its default value too: form.reset() alone would bring back what a page
     sent back for correction carried (the previous citizen's answers and contact details). */
  function blank() {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.type === "hidden" || el.type === "submit" || el.type === "button" || !el.name) { return; }
      if (el.type === "radio" || el.type === "checkbox") {
        el.checked = false;
        el.defaultChecked = false;
      } else {
        el.value = "";
        el.defaultValue = "";
      }
      el.removeAttribute("aria-invalid");
    });
  }
  function reset(message) {
    blank();
    Array.prototype.forEach.call(form.querySelectorAll(".q-bad"), function (box) { box.classList.remove("q-bad"); });
    // The error summary and notices stand above the form: they would tell the next citizen about the last one.
    Array.prototype.forEach.call(document.querySelectorAll(".err, .summary"), function (el) { el.parentNode.removeChild(el); });
    var sid = newSid();
    form.querySelector("input[name=sid]").value = sid;
    tokenFor(sid).then(function (token) {
      if (form.querySelector("input[name=sid]").value === sid) { form.querySelector("input[name=csrf_token]").value = token; }
    }, function () { /* offline: the token is fetched again before this submission is sent */ });
    window.scrollTo(0, 0);
    say(message);
    window.setTimeout(function () { if (status.textContent === message) { say(note()); } }, thanksMs);
  }
  /* The status line, for the staff at the counter: counts and reasons, never an answer. */
  function note() {
    var n = pending(), counts = {};
    reports().forEach(function (r) { counts[r.kind] = (counts[r.kind] || 0) + 1; });
    var text = n ? n + " ý kiến đang chờ gửi (sẽ tự gửi khi có mạng)." : "";
    var why = {
      trimmed: " ý kiến gửi sau khi có mạng đã được lưu nhưng bỏ bớt câu trả lời không hợp lệ (hoặc thông tin liên hệ chưa có đồng ý).",
      invalid: " ý kiến lưu trên máy không gửi được vì câu trả lời không hợp lệ.",
      refused: " ý kiến lưu trên máy không gửi được vì máy chủ từ chối (phiếu quá lớn hoặc biểu mẫu không hợp lệ).",
      gone: " ý kiến lưu trên máy không gửi được vì khảo sát đã đóng hoặc poster đã gỡ."
    };
    var problems = false;
    ["trimmed", "invalid", "refused", "gone"].forEach(function (kind) {
      if (counts[kind]) { text += " " + counts[kind] + why[kind]; problems = problems || kind !== "trimmed"; }
    });
    if (problems) { text += " Cán bộ tại quầy vui lòng báo bộ phận phụ trách khảo sát."; }
    return text.trim();
  }
  /* Sends every kept submission, one after the other: one the server will never accept no longer
     holds up the others (it leaves the queue and is counted for the staff). */
  function flush() {
    if (sending) { return; }
    var items = load();
    if (!items.length) { return; }
    sending = true;
    var done = {}, i = 0;
    function next() {
      if (i >= items.length) {
        sending = false;
        // Read the queue again: a citizen may have added to it meanwhile.
        store(load().filter(function (kept) { return !done[sidOf(kept)]; }));
        if (!/Cảm ơn/.test(status.textContent)) { say(note()); }
        return;
      }
      var item = items[i++];
      resend(item).then(function (outcome) {
        if (outcome !== "later") { done[sidOf(item)] = true; }
        if (outcome !== "later" && outcome !== "sent") { report(outcome); }
        next();
      });
    }
    next();
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
    send(items).then(function (result) {
      var outcome = result.outcome;
      if (outcome === "sent") { reset("Cảm ơn bạn! Ý kiến đã được gửi. Mời người tiếp theo."); return; }
      // The server shows what to correct (the next reset empties that page's fields too).
      if (outcome === "invalid") { form.submit(); return; }
      if (outcome === "gone") { say("Khảo sát đã đóng: ý kiến này không gửi được. Xin cảm ơn bạn."); return; }
      if (outcome === "refused") {
        // The citizen is still here: the answers stay on screen to shorten and send again.
        say("Chưa gửi được: phiếu quá lớn hoặc không hợp lệ. Vui lòng rút ngắn ý kiến dài rồi bấm Gửi ý kiến lại, "
            + "hoặc báo cán bộ tại quầy.");
        return;
      }
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
