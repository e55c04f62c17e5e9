/* ccch survey — kiosk mode (a tablet at a counter). No answer is lost when the network drops:
   a submission that cannot be sent is kept in this browser's localStorage and sent when the
   connection returns (the server stores a resent submission once: it carries its submission id).
   Before it is kept, the script checks what the server would refuse (the rules below mirror the
   server's), so that the citizen corrects it while still at the counter.
   Nothing of a citizen may reach the next one: the form is cleared after each submission and after
   a period without activity (every field emptied, its default value too); the page never navigates
   (a form the server sends back for correction is shown in place, from the server's own page), so
   no history entry holds a citizen's answers; kiosk forms say autocomplete="off", so the browser
   keeps no form state to restore on Back or Forward, and the pages are served with
   Cache-Control: no-store. A kept submission the server will never accept leaves the queue and is
   reported on the screen for the staff — when and why, never its content. Without JavaScript the
   page is an ordinary form. */
(function () {
  "use strict";

  /* -- What the server would refuse (a mirror of its rules) -----------------------------------------
     Asked only when the server cannot be (network down), before telling a citizen that an answer
     was saved on this device. These functions mirror, word for word in their messages, and must be
     kept in step with: ccch_core.text.clean, ccch_core.questions.parse_vietnamese_number and
     Question.check_answer, ccch_core.privacy.normalise_phone and ccch_survey.forms.check_form.
     test_kiosk_browser.py compares them with the server's on a table of values. */
  var INVISIBLE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
  // Python's \s once INVISIBLE is gone (JavaScript's \s also takes U+FEFF, Python's does not).
  var SPACES = /[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;
  var GROUPED = /^[1-9][0-9]{0,2}(?:\.[0-9]{3})+(?:,[0-9]+)?$/;          // 50.000 · 1.500.000 · 1.500,25
  var DECIMAL_COMMA = /^[0-9]+(?:,[0-9]+)?$/;                             // 50 · 2,5 · 0,125
  var DECIMAL_POINT = /^[0-9]+\.[0-9]+$/;                                 // 2.5 (a phone keypad's point)
  var ENGLISH_GROUPED = /^[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?$/;  // 50,000 · 1,500,000 · 1,500.5
  var FULL_WIDTH = { "\uff0c": ",", "\uff0e": ".", "\uff0b": "+", "\uff0d": "-" };
  var NUMBER_HELP = "viết dấu chấm để phân cách hàng nghìn (1.500.000) và dấu phẩy trước phần thập phân (2,5)";
  // Python's \d: any script's decimal digits.
  var MOBILE = /^0[35789]\p{Nd}{8}$/u, LANDLINE = /^02\p{Nd}{8,9}$/u;

  /* Python's len(): code points, not UTF-16 units. */
  function len(text) { return Array.from(text).length; }
  /* ccch_core.text.clean: NFC, no control characters or bidirectional overrides, white space
     collapsed to one space and trimmed. */
  function clean(text) {
    return String(text).normalize("NFC").replace(INVISIBLE, "").replace(SPACES, " ").replace(/^ | $/g, "");
  }
  function groupThousands(digits) { return digits.replace(/\B(?=(\d{3})+(?!\d))/g, "."); }
  /* A number written out without an exponent, as Python's Decimal formats it (1e-7 → 0.0000001). */
  function plain(value) {
    var text = String(value), m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
    if (!m) { return text; }
    var digits = m[2] + (m[3] || ""), point = 1 + parseInt(m[4], 10);
    if (point <= 0) { return m[1] + "0." + "0".repeat(-point) + digits; }
    if (point >= digits.length) { return m[1] + digits + "0".repeat(point - digits.length); }
    return m[1] + digits.slice(0, point) + "." + digits.slice(point);
  }
  /* A number as the server shows it in a message (1.500.000; 2,5; -1.000). */
  function vnNumber(value) {
    var parts = plain(value).split("."), sign = parts[0].charAt(0) === "-" ? "-" : "";
    return sign + groupThousands(parts[0].replace("-", "")) + (parts[1] ? "," + parts[1] : "");
  }
  /* parse_vietnamese_number: { value } or { error } (the server's message). */
  function parseNumber(text) {
    var raw = clean(text), sign = "", normalised;
    var body = raw.replace(/ /g, "").replace(/[\uff10-\uff19\uff0c\uff0e\uff0b\uff0d]/g, function (ch) {
      return FULL_WIDTH[ch] || String(ch.charCodeAt(0) - 0xff10);
    });
    if (/(?![\x00-\x7f])\p{N}/u.test(body)) {
      return { error: "“" + raw + "” có chữ số không phải 0–9; hãy gõ số bằng các chữ số 0–9." };
    }
    if (body && "+-\u2212".indexOf(body.charAt(0)) >= 0) { sign = body.charAt(0) === "+" ? "" : "-"; body = body.slice(1); }
    if (ENGLISH_GROUPED.test(body)) {
      var integerPart = body.split(".")[0], fraction = body.split(".")[1] || "", digits = integerPart.replace(/,/g, "");
      var english = sign + digits + (fraction ? "," + fraction : "");
      var plainWay = "Nếu là " + english + " thì viết " + sign + groupThousands(digits) + (fraction ? "," + fraction : "")
        + " hoặc " + english;
      if (fraction || integerPart.split(",").length > 2) { return { error: "“" + raw + "” viết theo kiểu Anh. " + plainWay + "." }; }
      var whole = integerPart.split(",")[0], decimals = integerPart.split(",")[1], trimmed = decimals.replace(/0+$/, "");
      var short = sign + whole + (trimmed ? "," + trimmed : "");
      var decimalWay = /0$/.test(decimals) ? "nếu là " + short + " thì viết " + short
        : "nếu là số thập phân " + sign + integerPart + " thì thêm một chữ số 0 ở cuối (" + sign + integerPart
          + "0) để không lẫn với cách viết hàng nghìn kiểu Anh";
      return { error: "“" + raw + "” không rõ nghĩa. " + plainWay + "; " + decimalWay + "." };
    }
    if (GROUPED.test(body)) {
      normalised = body.replace(/\./g, "").replace(",", ".");
    } else if (DECIMAL_COMMA.test(body)) {
      normalised = body.replace(",", ".");
    } else if (DECIMAL_POINT.test(body) && (body.split(".")[1].length !== 3 || body.split(".")[0] === "0")) {
      normalised = body;
    } else {
      return { error: "“" + raw + "” không phải là một số viết đúng cách: " + NUMBER_HELP + "." };
    }
    if (normalised.split(".")[0].replace(/^0+/, "").length > 15) {  // |value| ≥ 1e15, decided exactly
      return { error: "“" + raw + "” không phải là một số hợp lệ." };
    }
    return { value: Number(sign + normalised) };
  }
  /* Question.check_answer: "" or the server's message. ``q``: { required, options (option keys,
     for a choice question), multiple, number, min, max, maxLength }. */
  function checkAnswer(q, values) {
    values = values.map(clean).filter(Boolean);
    if (!values.length) {
      return !q.required ? "" : q.options ? "Vui lòng chọn một câu trả lời." : "Vui lòng trả lời câu hỏi này.";
    }
    if (q.options) {
      if (values.some(function (v) { return q.options.indexOf(v) < 0; })) { return "Lựa chọn không hợp lệ; vui lòng chọn lại."; }
      var unique = values.filter(function (v, i) { return values.indexOf(v) === i; });
      return !q.multiple && unique.length > 1 ? "Chỉ được chọn một câu trả lời." : "";
    }
    if (values.length > 1) { return "Câu trả lời bị gửi lặp; vui lòng nhập lại."; }
    if (q.number) {
      var parsed = parseNumber(values[0]);
      if (parsed.error) { return parsed.error; }
      if (q.min !== null && parsed.value < q.min) { return "Số nhỏ nhất được nhập là " + vnNumber(q.min) + "."; }
      if (q.max !== null && parsed.value > q.max) { return "Số lớn nhất được nhập là " + vnNumber(q.max) + "."; }
      return "";
    }
    return len(values[0]) > q.maxLength ? "Câu trả lời dài quá " + q.maxLength + " ký tự." : "";
  }
  /* normalise_phone: whether the server takes ``text`` as a Vietnamese phone number. */
  function phoneOk(text) {
    var digits = clean(text || "").replace(/[ .\-()]/g, "");
    if (digits.indexOf("+84") === 0) { digits = "0" + digits.slice(3); }
    else if (digits.indexOf("84") === 0 && (len(digits) === 11 || len(digits) === 12)) { digits = "0" + digits.slice(2); }
    return MOBILE.test(digits) || LANDLINE.test(digits);
  }
  /* check_form's contact rules: [[field, message]…] in the server's order. */
  function checkContact(consent, name, phone) {
    var problems = [];
    name = clean(name); phone = clean(phone);
    if (consent) {
      if (len(name) > 100) { problems.push(["ho-ten", "Họ tên dài quá 100 ký tự."]); }
      if (phone) {
        if (!phoneOk(phone)) { problems.push(["dien-thoai", "Số điện thoại không hợp lệ (ví dụ: 0912 345 678)."]); }
      } else if (!name) {
        problems.push(["dien-thoai", "Vui lòng để lại số điện thoại hoặc họ tên, hoặc bỏ đánh dấu đồng ý."]);
      }
    } else if (name || phone) {
      problems.push(["lien-he", "Ông/Bà đã ghi thông tin liên hệ nhưng chưa đánh dấu đồng ý. Hãy đánh dấu đồng ý "
                     + "hoặc xóa thông tin liên hệ; khảo sát vẫn gửi được mà không cần thông tin này."]);
    }
    return problems;
  }

  /* -- What becomes of a submission, from the server's answer ------------------------------------
     Final only when the survey server itself says so in X-Survey-Result (``result``; a captive
     portal's or a proxy's answer does not say it): 413 "refused" (too large: never accepted as it
     is), a 400 "refused" that repeats after a fresh form token, 404/410 "gone" (no such placement,
     poster retired), a 422 that names the fields at fault (X-Survey-Invalid). A 410 "closed" (the
     survey is closed, and officers may open it again) keeps a submission for later, the staff told.
     Anything else — no network, a timeout, 400/404/413 without the mark, 401/403/407 from a
     captive portal or a proxy on public Wi-Fi, 408, 409, 429, 5xx, a 200 that is not the survey's
     thank-you page — keeps it for later too. Returns "sent", "invalid", "retry" (a first 400: fetch
     a fresh token and send again), "refused", "gone", "closed" or "later". */
  function verdict(status, retried, result, invalidFields) {
    if (status >= 200 && status < 300 && result === "stored") { return "sent"; }
    if (status === 422 && invalidFields) { return "invalid"; }
    if (status === 400 && result === "refused") { return retried ? "refused" : "retry"; }
    if (status === 413 && result === "refused") { return "refused"; }
    if ((status === 404 || status === 410) && result === "gone") { return "gone"; }
    if (status === 410 && result === "closed") { return "closed"; }
    return "later";
  }
  // For the tests (and a curious look from the tablet's console): the rules above, nothing else.
  window.ccchKiosk = { clean: clean, parseNumber: parseNumber, vnNumber: vnNumber, checkAnswer: checkAnswer,
                       phoneOk: phoneOk, checkContact: checkContact, verdict: verdict };

  var form = document.getElementById("kiosk");
  if (!form || !window.fetch || !window.FormData || !window.URLSearchParams || !window.DOMParser) { return; }
  var status = document.getElementById("kiosk-status");
  var key = "ccch-khao-sat-chua-gui:" + form.getAttribute("action");
  /* Kept submissions that could not be stored as they were: when and why, never their content. */
  var reportKey = "ccch-khao-sat-khong-gui-duoc:" + form.getAttribute("action");
  var REPORT_DAYS = 7;
  /* Contact details are stored all together or not at all (consent). */
  var CONTACT = ["lien-he", "ho-ten", "dien-thoai"];
  var CONTACT_LABELS = { "lien-he": "Thông tin liên hệ", "ho-ten": "Họ tên", "dien-thoai": "Số điện thoại" };
  var idleMs = (parseInt(form.getAttribute("data-idle"), 10) || 90) * 1000;
  var thanksMs = (parseInt(form.getAttribute("data-thanks"), 10) || 8) * 1000;
  var idleTimer = null, sending = false;
  /* How long one request may take before its answers count as not sent ("later": kept on this
     device). Without it a request a bad network leaves hanging would keep the citizen waiting and
     the kiosk's sending stuck for good. Long enough for a slow mobile upload. */
  var SEND_MS = 25000;
  /* The submission id of the citizen's submission on its way (null: none): their Send button is
     disabled and the idle reset waits for it (SEND_MS bounds each request). */
  var sendingSid = null;
  /* The last resend met a closed survey (the answers stay kept: it may be opened again). */
  var closedSeen = false;
  var button = form.querySelector("button[type=submit]");
  /* What the survey's token endpoint answers: "<base36>.<22 characters>" (ccch_core.web.formtoken). */
  var TOKEN = /^[0-9a-z]+\.[A-Za-z0-9_-]{22}$/;

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
  function report(kind, fields) {
    var kept = reports();
    kept.push({ at: Date.now(), kind: kind, fields: (fields || []).map(describe) });
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
  function each(selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); }

  /* The question blocks of the form, in order (each has the id of its field, "q-…"). */
  function questionBoxes() { return Array.prototype.slice.call(form.querySelectorAll("fieldset[id^='q-'], div[id^='q-']")); }
  /* A field's name as the server's summary gives it ("Câu 3", "Họ tên"). */
  function labelOf(name) {
    if (CONTACT_LABELS[name]) { return CONTACT_LABELS[name]; }
    var i = questionBoxes().map(function (box) { return box.id; }).indexOf(name);
    return i >= 0 ? "Câu " + (i + 1) : name;
  }
  /* A field for the staff's notice: its label, and whether the question must be answered. */
  function describe(name) {
    var box = document.getElementById(name);
    return labelOf(name) + (box && box.hasAttribute("data-required") ? " (câu bắt buộc)" : "");
  }

  /* -- Problems shown in place: the summary above the form and a message beside each field ------- */
  function clearProblems() {
    each("#kiosk .err, .summary", function (el) { el.parentNode.removeChild(el); });
    each("#kiosk .q-bad", function (box) { box.classList.remove("q-bad"); box.removeAttribute("aria-describedby"); });
    each("#kiosk [aria-invalid]", function (el) { el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby"); });
  }
  /* ``problems``: [[field, message]…]. Built as the server's own page shows them (form.html). */
  function showProblems(problems) {
    clearProblems();
    var summary = document.createElement("div"), title = document.createElement("h2"), list = document.createElement("ul");
    summary.className = "summary";
    summary.id = "loi";
    summary.setAttribute("role", "alert");
    title.textContent = "Còn " + problems.length + " mục cần xem lại";
    summary.appendChild(title);
    summary.appendChild(list);
    problems.forEach(function (problem) {
      var name = problem[0], message = problem[1], item = document.createElement("li"), link = document.createElement("a");
      link.href = "#" + name;
      link.textContent = labelOf(name) + ": " + message;
      item.appendChild(link);
      list.appendChild(item);
      var box = document.getElementById(name);
      if (!box || !form.contains(box)) { return; }
      var err = document.createElement("span");
      err.className = "err";
      err.id = "e-" + name;
      err.textContent = message;
      box.classList.add("q-bad");
      var before = Array.prototype.filter.call(box.children, function (el) {
        return el.matches("input, textarea, label.opt");
      })[0] || null;
      box.insertBefore(err, before);
      if (box.tagName === "FIELDSET") { box.setAttribute("aria-describedby", err.id); }
      Array.prototype.forEach.call(box.querySelectorAll(":scope > input, :scope > textarea"), function (el) {
        el.setAttribute("aria-invalid", "true");
        el.setAttribute("aria-describedby", err.id);
      });
    });
    form.parentNode.insertBefore(summary, form);
    summary.scrollIntoView();
  }
  /* The problems the server's page (a 422) shows, in its order: [[field, message]…]. */
  function problemsIn(html, fields) {
    var page = new DOMParser().parseFromString(html, "text/html"), problems = [];
    Array.prototype.forEach.call(page.querySelectorAll("#loi li a[href^='#']"), function (link) {
      var name = link.getAttribute("href").slice(1), box = page.getElementById(name);
      var beside = box && box.querySelector(".err");
      var text = beside ? beside.textContent : link.textContent.replace(/^[^:]*:\s*/, "");
      problems.push([name, text.trim()]);
    });
    // Not the survey's page after all (a proxy's?): the header still names the fields.
    return problems.length ? problems : fields.map(function (name) { return [name, "Câu trả lời chưa hợp lệ; vui lòng xem lại."]; });
  }
  /* What the server would refuse in ``items`` (the submission as it was sent, not the page as it
     stands now), by the mirror above and the questions of this page. */
  function problemsOf(items) {
    var problems = [];
    function valuesOf(name) { return items.filter(function (kv) { return kv[0] === name; }).map(function (kv) { return kv[1]; }); }
    questionBoxes().forEach(function (box) {
      var inputs = Array.prototype.slice.call(box.querySelectorAll("input, textarea"));
      var choice = inputs.length && (inputs[0].type === "radio" || inputs[0].type === "checkbox");
      var field = inputs[0], message;
      if (!field) { return; }
      var q = { required: box.hasAttribute("data-required"), options: null, multiple: inputs[0].type === "checkbox",
                number: field.getAttribute("data-kind") === "number",
                min: field.hasAttribute("data-min") ? parseFloat(field.getAttribute("data-min")) : null,
                max: field.hasAttribute("data-max") ? parseFloat(field.getAttribute("data-max")) : null,
                maxLength: field.maxLength > 0 ? field.maxLength : 2000 };
      if (choice) {
        q.options = inputs.map(function (el) { return el.value; });
      }
      message = checkAnswer(q, valuesOf(field.name));
      if (message) { problems.push([box.id, message]); }
    });
    if (form.querySelector("input[name='lien-he']")) {
      problems = problems.concat(checkContact(valuesOf("lien-he").length > 0, valuesOf("ho-ten")[0] || "",
                                              valuesOf("dien-thoai")[0] || ""));
    }
    return problems;
  }

  /* -- Sending -------------------------------------------------------------------------------------- */
  /* A form token is good for one submission id: ask for one for a new citizen's sid, and for a
     kept submission's sid before resending it. */
  /* fetch, bounded: resolves to { r, text } (the response and its body) or rejects when the
     network fails or SEND_MS pass first (the request is then aborted). */
  function fetchWithin(url, options) {
    var controller = window.AbortController ? new AbortController() : null, timer;
    if (controller) { options.signal = controller.signal; }
    var timeout = new Promise(function (resolve, reject) {
      timer = window.setTimeout(function () {
        if (controller) { controller.abort(); }
        reject(new Error("timeout"));
      }, SEND_MS);
    });
    var done = fetch(url, options).then(function (r) {
      return r.text().then(function (text) { return { r: r, text: text }; }, function () { return { r: r, text: "" }; });
    });
    return Promise.race([done, timeout]).then(function (got) { window.clearTimeout(timer); return got; },
                                              function (error) { window.clearTimeout(timer); throw error; });
  }
  /* Resolves to the token; rejects with "gone" or "closed" (the survey server's own 404/410) or
     "later" (anything else: a captive portal's 200 login page is not a token). ``again``: for
     answers given earlier and sent again now (the server dates the token so that they do not look
     sent faster than a person reads). */
  function tokenFor(sid, again) {
    return fetchWithin(form.getAttribute("data-token") + "?sid=" + encodeURIComponent(sid) + (again ? "&gui-lai=1" : ""),
                       { credentials: "same-origin", cache: "no-store" })
      .then(function (got) {
        var r = got.r, result = r.headers.get("X-Survey-Result"), token = got.text.trim();
        if (r.ok && /^text\/plain/i.test(r.headers.get("Content-Type") || "") && TOKEN.test(token)) { return token; }
        return Promise.reject(!r.ok && (result === "gone" || result === "closed") ? result : "later");
      }, function () { return Promise.reject("later"); });
  }
  function refreshToken(items) {
    return tokenFor(sidOf(items), true).then(function (token) {
      items.forEach(function (kv) { if (kv[0] === "csrf_token") { kv[1] = token; } });
    });
  }
  /* Resolves to { outcome, fields, html } (see verdict; for "invalid", the fields named in
     X-Survey-Invalid and the server's page that shows the problems). */
  function send(items, retried) {
    return fetchWithin(form.action, { method: "POST", body: body(items), credentials: "same-origin",
                                      cache: "no-store" }).then(function (got) {
      var r = got.r, invalid = r.headers.get("X-Survey-Invalid");
      var outcome = verdict(r.status, !!retried, r.headers.get("X-Survey-Result"), invalid);
      if (outcome === "retry") {
        return refreshToken(items).then(function () { return send(items, true); }, function (why) {
          return { outcome: why === "gone" || why === "closed" ? why : "later" };
        });
      }
      if (outcome !== "invalid") { return { outcome: outcome }; }
      return { outcome: outcome, fields: invalid.split(" ").filter(Boolean), html: got.text };
    }, function () { return { outcome: "later" }; });
  }
  /* A kept submission, sent again after its citizen has left. When the server wants changes, the
     answers it refused are left out (contact details all together: without valid consent they may
     not be stored) and the rest is sent once more: what can be stored is stored. A response whose
     refused answer is a required question cannot be stored at all (the server refuses it again):
     it leaves the queue, reported with the questions at fault. Resolves to { outcome, fields }:
     "later" (stays queued) or what became of it (leaves the queue). */
  function resend(items) {
    return send(items).then(function (result) {
      if (result.outcome !== "invalid") { return result; }
      var drop = {};
      result.fields.forEach(function (name) {
        drop[name] = true;
        if (CONTACT.indexOf(name) >= 0) { CONTACT.forEach(function (n) { drop[n] = true; }); }
      });
      var rest = items.filter(function (kv) { return !drop[kv[0]]; });
      return send(rest).then(function (second) {
        if (second.outcome === "sent") { return { outcome: "trimmed", fields: result.fields }; }
        if (second.outcome !== "invalid") { return second; }
        return { outcome: "invalid", fields: result.fields.concat(second.fields.filter(function (name) {
          return result.fields.indexOf(name) < 0;
        })) };
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
    });
  }
  function reset(message) {
    blank();
    // The error summary and notices stand above the form: they would tell the next citizen about the last one.
    clearProblems();
    var sid = newSid();
    form.querySelector("input[name=sid]").value = sid;
    // A new citizen may send at once, even if the last one's answers are still on their way.
    if (button) { button.disabled = false; }
    tokenFor(sid).then(function (token) {
      if (form.querySelector("input[name=sid]").value === sid) { form.querySelector("input[name=csrf_token]").value = token; }
    }, function () { /* offline: the token is fetched again before this submission is sent */ });
    window.scrollTo(0, 0);
    say(message);
    window.setTimeout(function () { if (status.textContent === message) { say(note()); } }, thanksMs);
  }
  function when(at) {
    var d = new Date(at), two = function (n) { return (n < 10 ? "0" : "") + n; };
    return two(d.getHours()) + ":" + two(d.getMinutes()) + " ngày " + d.getDate() + "/" + (d.getMonth() + 1);
  }
  /* The status line, for the staff at the counter: counts, times and reasons, never an answer. */
  function note() {
    var n = pending(), counts = {}, left = [], text = n ? n + " ý kiến đang chờ gửi (sẽ tự gửi khi có mạng)." : "";
    var why = {
      trimmed: " ý kiến gửi sau khi có mạng đã được lưu nhưng bỏ bớt câu trả lời không hợp lệ (hoặc thông tin liên hệ chưa có đồng ý).",
      refused: " ý kiến lưu trên máy không gửi được vì máy chủ từ chối (phiếu quá lớn hoặc biểu mẫu không hợp lệ).",
      gone: " ý kiến lưu trên máy không gửi được vì poster (nơi đặt) đã gỡ hoặc không còn.",
      lost: " ý kiến không lưu được vào máy này (bộ nhớ trình duyệt đầy) nên đã mất."
    };
    if (n && closedSeen) {
      text += " Khảo sát đang đóng trên máy chủ nên chưa nhận ý kiến; các ý kiến vẫn giữ trên máy và sẽ tự gửi "
        + "khi khảo sát mở lại. Nếu khảo sát đã kết thúc hẳn, cán bộ vui lòng báo bộ phận phụ trách.";
    }
    var problems = false;
    reports().forEach(function (r) {
      if (r.kind === "invalid") {
        // One line each: which answer (when it was sent) and which questions the server refused.
        text += " 1 ý kiến lưu trên máy (gửi lúc " + when(r.at) + ") không lưu được vì máy chủ không nhận câu trả lời ở "
          + ((r.fields || []).join(", ") || "một số câu") + "; phiếu thiếu câu bắt buộc thì không lưu được.";
        problems = true;
      } else {
        counts[r.kind] = (counts[r.kind] || 0) + 1;
        (r.fields || []).forEach(function (field) { if (left.indexOf(field) < 0) { left.push(field); } });
      }
    });
    ["trimmed", "refused", "gone", "lost"].forEach(function (kind) {
      if (!counts[kind]) { return; }
      text += " " + counts[kind] + why[kind];
      if (kind === "trimmed" && left.length) { text = text.replace(/\.$/, "") + ", ở: " + left.join(", ") + "."; }
      problems = problems || kind !== "trimmed";
    });
    if (problems) { text += " Cán bộ tại quầy vui lòng báo bộ phận phụ trách khảo sát."; }
    return text.trim();
  }
  /* Sends every kept submission, one after the other: one the server will never accept no longer
     holds up the others (it leaves the queue and is reported for the staff). */
  function flush() {
    if (sending) { return; }
    var items = load();
    if (!items.length) { return; }
    sending = true;
    var done = {}, i = 0, closed = false;
    function next() {
      if (i >= items.length) {
        sending = false;
        closedSeen = closed;
        // Read the queue again: a citizen may have added to it meanwhile.
        store(load().filter(function (kept) { return !done[sidOf(kept)]; }));
        if (!/Cảm ơn/.test(status.textContent) && !sendingNow()) { say(note()); }
        return;
      }
      var item = items[i++];
      resend(item).then(function (result) {
        // "closed" stays kept, like "later": officers may open the survey again.
        if (result.outcome === "closed") { closed = true; return; }
        if (result.outcome !== "later") { done[sidOf(item)] = true; }
        if (result.outcome !== "later" && result.outcome !== "sent") { report(result.outcome, result.fields); }
      }).then(next, next);  // whatever happens, the queue moves on and `sending` ends
    }
    next();
  }
  function sidOnScreen() { return form.querySelector("input[name=sid]").value; }
  /* Whether the answers of the citizen now at the counter are on their way. */
  function sendingNow() { return sendingSid !== null && sendingSid === sidOnScreen(); }
  /* Keeps ``items`` for the queue; false when this device cannot (storage full or refused). */
  function keep(items) {
    try {
      var queued = load();
      queued.push(items);
      store(queued);
      return true;
    } catch (e) { return false; }
  }
  /* The result of a submission whose citizen has gone (the form was reset while it was on its way):
     nothing of it is shown to the one now at the counter. What was not stored is kept from the
     answers as they were sent, for the queue, which sends them again and, if the server still wants
     changes, stores what it can and tells the staff (as for any kept answer). */
  function settleLate(items, outcome) {
    if (outcome === "sent") { return; }
    if (outcome === "refused" || outcome === "gone") { report(outcome); }
    else if (!keep(items)) { report("lost"); }
    else if (outcome === "closed") { closedSeen = true; }
    if (!/Cảm ơn/.test(status.textContent) && !sendingNow()) { say(note()); }
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var sid = sidOnScreen();
    if (sendingSid === sid) { return; }  // a second tap on Send while these answers are on their way
    clearProblems();
    var first = missing();
    if (first) {
      say("Vui lòng trả lời các câu được đánh dấu đỏ.");
      first.scrollIntoView();
      return;
    }
    var items = pairs();
    sendingSid = sid;
    if (button) { button.disabled = true; }
    say("Đang gửi…");
    send(items).then(function (result) {
      var outcome = result.outcome;
      if (sendingSid === sid) { sendingSid = null; }
      activity();  // the idle period starts again from here
      if (sidOnScreen() !== sid) { settleLate(items, outcome); return; }
      if (button) { button.disabled = false; }
      if (outcome === "sent") { reset("Cảm ơn Ông/Bà! Ý kiến đã được gửi. Mời người tiếp theo."); return; }
      if (outcome === "invalid") {
        // Shown in this page, never by navigating to the server's: a page in the history would
        // show this citizen's answers to the next one on Back.
        showProblems(problemsIn(result.html, result.fields));
        say("Vui lòng xem lại các mục được đánh dấu đỏ rồi bấm Gửi ý kiến lại.");
        return;
      }
      if (outcome === "gone") { say("Khảo sát tại đây đã kết thúc: ý kiến này không gửi được. Xin cảm ơn Ông/Bà."); return; }
      if (outcome === "refused") {
        // The citizen is still here: the answers stay on screen to shorten and send again.
        say("Chưa gửi được: phiếu quá lớn hoặc không hợp lệ. Vui lòng rút ngắn ý kiến dài rồi bấm Gửi ý kiến lại, "
            + "hoặc báo cán bộ tại quầy.");
        return;
      }
      // The server cannot be asked: what it would refuse is checked here, while the citizen can
      // still correct it (a kept answer refused later could not be).
      var problems = problemsOf(items);
      if (problems.length) {
        showProblems(problems);
        say("Mạng đang gián đoạn nên ý kiến chưa được gửi, và có mục cần sửa (đánh dấu đỏ). Vui lòng sửa rồi bấm "
            + "Gửi ý kiến lại: ý kiến sẽ được lưu trên máy này và tự gửi khi có mạng.");
        return;
      }
      if (!keep(items)) {
        say("Chưa gửi được ý kiến (mạng gián đoạn, máy không lưu được). Vui lòng báo cán bộ tại quầy rồi bấm Gửi lại.");
        return;
      }
      if (outcome === "closed") {
        closedSeen = true;
        reset("Cảm ơn Ông/Bà! Khảo sát đang tạm đóng: ý kiến đã được lưu trên máy này và sẽ tự gửi khi khảo sát mở lại.");
        return;
      }
      reset("Cảm ơn Ông/Bà! Mạng đang gián đoạn: ý kiến đã được lưu trên máy này và sẽ tự gửi khi có mạng.");
    }).then(null, function () {
      // A fault of this script: the answers stay on screen, to send again.
      if (sendingSid === sid) { sendingSid = null; }
      if (button && sidOnScreen() === sid) { button.disabled = false; }
      say("Chưa gửi được ý kiến. Vui lòng bấm Gửi ý kiến lại hoặc báo cán bộ tại quầy.");
    });
  });
  function activity() {
    if (idleTimer) { window.clearTimeout(idleTimer); }
    idleTimer = window.setTimeout(function () {
      // The citizen is waiting for their answers to be sent (SEND_MS bounds the wait): not idle.
      if (sendingNow()) { activity(); return; }
      var touched = pairs().some(function (kv) { return ["csrf_token", "sid", "v"].indexOf(kv[0]) < 0 && kv[1] !== ""; });
      if (touched || document.querySelector(".summary")) { reset("Biểu mẫu đã được làm mới cho người tiếp theo."); }
      activity();
    }, idleMs);
  }
  ["input", "change", "click", "keydown", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true });
  });
  /* A page shown again from the back/forward cache, or by Back/Forward at all, starts blank with a
     new submission id (no-store and autocomplete="off" should already see to it). */
  window.addEventListener("pageshow", function (event) {
    var navigation = window.performance && performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
    if (event.persisted || (navigation && navigation.type === "back_forward")) { reset(note()); }
  });
  window.addEventListener("online", flush);
  window.setInterval(flush, 30000);
  activity();
  say(note());
  flush();
}());
