"""Kiosk mode in a real browser (Debian's Chromium driven by Playwright, never a downloaded
browser): the tablet is enrolled through the enrolment page (the officer's code typed, or the QR
code's link opened) before anything else; an answer given while the network is down is kept in the tablet and sent once when the
network returns; the form resets for the next citizen and after inactivity, blank even after a page
the server sent back for correction; a kept answer the server refuses does not hold up the others;
the page runs under the app's Content-Security-Policy (``script-src 'self'``) without a JavaScript
error.

When Chromium is missing and the tests run as root with apt, the Debian package is installed (as the
core's browser journeys do), so that a fresh CI machine passes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest
from ccch_survey.store import add_placement, get_placement
from ccch_survey_testing import new_enrolment
from waitress.server import create_server

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def chromium() -> str:
    """The path of Debian's Chromium, installed if missing (as root with apt)."""
    if not shutil.which("chromium"):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, capture_output=True,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        else:
            pytest.fail("the kiosk browser test needs Chromium: sudo apt-get install -y chromium")
    return shutil.which("chromium") or "/usr/bin/chromium"


def in_own_thread(function, timeout: float = 240) -> None:
    """Run ``function`` in a thread of its own: Playwright's sync API refuses a thread where another
    Playwright (the core's browser journeys, in the same pytest session) already runs."""
    failure: list[BaseException] = []

    def target():
        try:
            function()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the browser check did not finish"
    if failure:
        raise failure[0]


def serve_kiosk(make_app, dep, kiosk):
    """Serve ``dep``'s app with waitress on a free loopback port; yields (dep, the kiosk's URL)
    until the test is done."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # poll(), not select(): late in a long pytest session this process may hold more than 1,024
    # file descriptors, and select() refuses any above that ("filedescriptor out of range").
    server = create_server(make_app(dep), host="127.0.0.1", port=port, threads=4, asyncore_use_poll=True)
    threading.Thread(target=server.run, daemon=True).start()
    yield dep, f"http://127.0.0.1:{port}/k/{kiosk.code}"
    server.close()


@pytest.fixture
def served(survey_deployment, make_app):
    """The app of a deployment whose kiosks reset after 15 s idle, served by waitress on loopback."""
    dep = survey_deployment(kiosk_idle_seconds=15, kiosk_thanks_seconds=2)
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    yield from serve_kiosk(make_app, dep, kiosk)


def wait_until(predicate, what: str, timeout: float = 20) -> None:
    """Poll from Python: the page's CSP forbids the eval that Playwright's own waits use."""
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            pytest.fail(f"timed out waiting for: {what}")
        time.sleep(0.1)


def test_kiosk_keeps_offline_answers_and_sends_them_once(chromium, served):
    in_own_thread(lambda: kiosk_journey(chromium, journey, *served))


def test_after_a_page_sent_back_for_correction_the_next_citizen_gets_a_blank_form(chromium, served):
    in_own_thread(lambda: kiosk_journey(chromium, correction_journey, *served))


def test_a_kept_answer_the_server_refuses_does_not_hold_up_the_others(chromium, served):
    in_own_thread(lambda: kiosk_journey(chromium, refused_journey, *served))


def tablet_context(browser, dep, url: str):
    """A browser context enrolled as the kiosk's tablet through the enrolment page, the officer's
    code typed by hand as the staff at the counter would."""
    context = browser.new_context()
    page = context.new_page()
    code = new_enrolment(dep, get_placement(dep.db, url.rsplit("/", 1)[1]))
    page.goto(url + "/dang-ky")
    page.fill("#i-ma", code.lower())  # typed without care: lower case works
    page.click("button[type=submit]")
    wait_until(lambda: page.url == url and "<form" in page.content(), "the kiosk page after enrolment")
    assert page.locator("#kiosk").count() == 1
    page.close()
    return context


def kiosk_journey(chromium_path: str, run, dep, url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=FLAGS)
        try:
            run(browser, dep, url)
        finally:
            browser.close()


class Kiosk:
    """The kiosk page of one browser context, with what the tests read from it."""

    def __init__(self, browser, dep, url: str):
        self.dep, self.url = dep, url
        self.context = tablet_context(browser, dep, url)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        # Resource errors are expected (requests made while offline, the 422 and 413 answers).
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type == "error" and "Failed to load resource" not in m.text else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)

    def stored(self) -> int:
        return self.dep.db.execute("select count(*) from survey_responses").fetchone()[0]

    def status(self) -> str:
        return self.page.locator("#kiosk-status").text_content() or ""

    def answer_all(self, score: str) -> None:
        for fieldset in self.page.locator("fieldset[data-required]").all():
            fieldset.locator(f"input[value='{score}']").check()

    def content(self) -> str:
        """The page's HTML, or "" while it is navigating (Playwright refuses to read it then)."""
        from playwright.sync_api import Error

        try:
            return self.page.content()
        except Error:
            return ""

    def queue_key(self) -> str:
        return "ccch-khao-sat-chua-gui:" + self.url[self.url.index("/k/"):]

    def queued(self) -> int:
        return len(json.loads(self.page.evaluate("k => localStorage.getItem(k) || '[]'", self.queue_key())))

    def what_the_next_citizen_sees(self) -> dict:
        """Everything the form would show or send: checked boxes, typed text, and the defaults a
        form.reset() would bring back."""
        page = self.page
        return {
            "checked": page.locator("#kiosk input:checked").count(),
            "default checked": page.locator("#kiosk input[checked]").count(),
            "text": [v for v in page.locator("#kiosk input[type=text], #kiosk input[type=tel], #kiosk textarea")
                     .evaluate_all("els => els.map(e => e.value)") if v],
            "errors shown": page.locator("#kiosk .err, .summary, .q-bad").count(),
        }


BLANK = {"checked": 0, "default checked": 0, "text": [], "errors shown": 0}


def correction_journey(browser, dep, url: str) -> None:
    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page

    def rejected_with_contact_details(score: str) -> None:
        kiosk.answer_all(score)
        page.fill("#i-q-gop-y-them", "Quầy số 3 phục vụ chu đáo")
        page.fill("#i-ho-ten", "Trần Thị Bình")
        page.fill("#i-dien-thoai", "0912345678")  # the consent box left unticked: the server sends it back
        page.click("button[type=submit]")
        wait_until(lambda: "chưa đánh dấu đồng ý" in kiosk.content(), "the page sent back for correction")
        # The citizen who is still there sees their own answers, to correct them.
        assert page.input_value("#i-ho-ten") == "Trần Thị Bình"
        assert page.locator("input[type=radio]:checked").count() == 12

    # A correction, then the send: the next citizen gets a blank form.
    rejected_with_contact_details("2")
    page.check("input[name=lien-he]")
    page.click("button[type=submit]")
    wait_until(lambda: "đã được gửi" in kiosk.status(), "the sent message")
    assert kiosk.stored() == 1
    assert dep.db.execute("select name, phone from survey_contacts").fetchall() == [("Trần Thị Bình", "0912345678")]
    assert kiosk.what_the_next_citizen_sees() == BLANK
    page.evaluate("() => document.getElementById('kiosk').reset()")  # what the old reset did
    assert kiosk.what_the_next_citizen_sees() == BLANK
    html = page.content()
    for secret in ("Trần Thị Bình", "0912345678", "Quầy số 3"):
        assert secret not in html, html[max(0, html.find(secret) - 300):html.find(secret) + 100]

    # A page sent back for correction and left as it is: cleared after kiosk_idle_seconds.
    rejected_with_contact_details("3")
    wait_until(lambda: "làm mới" in kiosk.status(), "the idle reset", timeout=40)
    assert kiosk.what_the_next_citizen_sees() == BLANK
    page.evaluate("() => document.getElementById('kiosk').reset()")
    assert kiosk.what_the_next_citizen_sees() == BLANK
    assert "Trần Thị Bình" not in page.content()
    assert kiosk.stored() == 1 and kiosk.errors == []
    kiosk.context.close()


def refused_journey(browser, dep, url: str) -> None:
    """Three answers kept offline: one the server refuses (too large), one with contact details
    but no consent (sent back), one fine. All three leave the queue; what can be stored is."""
    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page
    kiosk.context.set_offline(True)
    kiosk.answer_all("1")
    page.click("button[type=submit]")
    wait_until(lambda: "lưu trên máy" in kiosk.status(), "the first kept answer")
    kiosk.answer_all("4")
    page.click("button[type=submit]")
    wait_until(lambda: kiosk.queued() == 2, "the second kept answer")
    queue = json.loads(page.evaluate("k => localStorage.getItem(k)", kiosk.queue_key()))
    # The second one given a name without consent, as a page older than the offline check kept it
    # (the script now asks the citizen to correct that before keeping an answer).
    queue[1] = [[k, "Lê Văn Cường" if k == "ho-ten" else v] for k, v in queue[1]]
    # The first kept answer made too large to be accepted (as a form from an older, longer version
    # of the page could be): it comes first in the queue, where it used to block the others forever.
    oversized = [list(kv) for kv in queue[0]] + [["q-gop-y-them", "ệ" * 100_000]]
    oversized = [kv for kv in oversized if kv[0] != "sid"] + [["sid", "kiosk-qua-lon-0123456789"]]
    page.evaluate("([k, v]) => localStorage.setItem(k, v)",
                  [kiosk.queue_key(), json.dumps([oversized, *queue])])
    assert kiosk.queued() == 3 and kiosk.stored() == 0

    kiosk.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(lambda: kiosk.queued() == 0, "the queue to empty")
    assert kiosk.stored() == 2  # the two that can be stored are, in spite of the refused one
    scores = [r[0] for r in dep.db.execute(
        "select option_key from survey_answers where question_key = 'chung' order by response_id")]
    assert scores == ["1", "4"]
    assert dep.db.execute("select count(*) from survey_contacts").fetchone()[0] == 0  # no consent, not stored
    wait_until(lambda: "máy chủ từ chối" in kiosk.status(), "the staff notice")
    status = kiosk.status()
    assert "1 ý kiến lưu trên máy không gửi được vì máy chủ từ chối" in status
    assert "1 ý kiến gửi sau khi có mạng đã được lưu nhưng bỏ bớt" in status and "Thông tin liên hệ" in status
    assert "báo bộ phận phụ trách" in status
    assert "Lê Văn Cường" not in page.content()  # counts for the staff, never an answer
    # The staff notice survives a reload of the page (it is kept on the tablet, without content).
    page.reload()
    wait_until(lambda: "máy chủ từ chối" in kiosk.status(), "the notice after a reload")
    assert kiosk.stored() == 2 and kiosk.errors == []
    kiosk.context.close()


def journey(browser, dep, url: str) -> None:
    context = tablet_context(browser, dep, url)
    page = context.new_page()
    errors: list[str] = []
    # Resource errors are expected (the favicon the browser asks for, requests made while offline).
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)

    def stored() -> int:
        return dep.db.execute("select count(*) from survey_responses").fetchone()[0]

    def status() -> str:
        return page.locator("#kiosk-status").text_content() or ""

    def checked() -> int:
        return page.locator("input[type=radio]:checked").count()

    def answer_all(score: str) -> None:
        for fieldset in page.locator("fieldset[data-required]").all():
            fieldset.locator(f"input[value='{score}']").check()

    def queued() -> list[int]:
        return page.evaluate("Object.keys(localStorage).map(k => JSON.parse(localStorage[k]).length)")

    # Online: sent at once; the form clears for the next citizen.
    answer_all("5")
    page.click("button[type=submit]")
    wait_until(lambda: "đã được gửi" in status(), "the sent message")
    assert stored() == 1 and checked() == 0

    # A required question left out: marked, nothing kept or sent.
    page.locator("fieldset[data-required]").first.locator("input[value='4']").check()
    page.click("button[type=submit]")
    wait_until(lambda: "đánh dấu đỏ" in status(), "the missing-answers message")
    assert page.locator("fieldset.q-bad").count() == 11 and stored() == 1

    # Offline: kept on the tablet, the citizen is told, the form clears.
    context.set_offline(True)
    answer_all("3")
    page.click("button[type=submit]")
    wait_until(lambda: "lưu trên máy" in status(), "the kept-offline message")
    assert queued() == [1] and stored() == 1 and checked() == 0

    # Back online: the kept answer is sent, and only once.
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(lambda: stored() == 2, "the kept answer to arrive")
    wait_until(lambda: queued() == [0], "the queue to empty")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    time.sleep(0.5)
    assert stored() == 2
    scores = [r[0] for r in dep.db.execute(
        "select option_key from survey_answers where question_key = 'chung' order by response_id")]
    assert scores == ["5", "3"]

    # Inactivity: a half-filled form is cleared after kiosk_idle_seconds.
    page.locator("fieldset[data-required]").first.locator("input[value='2']").check()
    wait_until(lambda: checked() == 0, "the idle reset", timeout=30)
    assert "làm mới" in status()
    assert errors == []
    context.close()


# -- the next citizen's Back and Forward buttons ------------------------------------------------------

SECRETS = ("Trần Thị Bình", "0912345678", "Quầy số 3")


def test_back_and_forward_after_a_correction_and_a_send_show_nothing_of_the_previous_citizen(chromium, served):
    in_own_thread(lambda: kiosk_journey(chromium, lambda b, d, u: history_journey(b, d, u, idle=False), *served))


def test_back_and_forward_after_an_idle_reset_show_nothing_of_the_previous_citizen(chromium, served):
    in_own_thread(lambda: kiosk_journey(chromium, lambda b, d, u: history_journey(b, d, u, idle=True), *served))


def history_journey(browser, dep, url: str, *, idle: bool) -> None:
    """A citizen's form is sent back (contact details without consent) and corrected in the page
    itself, then sent (or left alone until the idle reset): no history entry, no cache and no
    restored form state shows that citizen's answers when the next one presses Back or Forward."""
    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page
    entries = page.evaluate("history.length")
    kiosk.answer_all("2")
    page.fill("#i-q-gop-y-them", "Quầy số 3 phục vụ chu đáo")
    page.fill("#i-ho-ten", "Trần Thị Bình")
    page.fill("#i-dien-thoai", "0912345678")
    page.click("button[type=submit]")
    wait_until(lambda: "chưa đánh dấu đồng ý" in kiosk.content(), "the problems shown in the page")
    # Shown in place: the summary and the message beside the contact details, nothing navigated,
    # everything the citizen typed still there.
    assert page.locator("#loi").count() == 1 and "Còn 1 mục cần xem lại" in page.locator("#loi").text_content()
    assert "chưa đánh dấu đồng ý" in page.locator("fieldset#lien-he .err").text_content()
    assert page.locator("fieldset#lien-he.q-bad").count() == 1
    assert page.evaluate("history.length") == entries and page.url == url
    assert page.input_value("#i-ho-ten") == "Trần Thị Bình"
    assert page.input_value("#i-q-gop-y-them") == "Quầy số 3 phục vụ chu đáo"
    assert page.locator("input[type=radio]:checked").count() == 12
    if idle:
        wait_until(lambda: "làm mới" in kiosk.status(), "the idle reset", timeout=40)
        assert kiosk.stored() == 0
    else:
        page.check("input[name=lien-he]")
        page.click("button[type=submit]")
        wait_until(lambda: "đã được gửi" in kiosk.status(), "the sent message")
        assert kiosk.stored() == 1
    assert kiosk.what_the_next_citizen_sees() == BLANK

    def nothing_of_the_previous_citizen(where: str) -> None:
        page.wait_for_load_state()
        html = kiosk.content()
        for secret in SECRETS:
            assert secret not in html, f"{where}: {secret} in {html[max(0, html.find(secret) - 300):][:400]}"
        if page.locator("#kiosk").count():
            assert kiosk.what_the_next_citizen_sees() == BLANK, where
            values = page.locator("#kiosk input, #kiosk textarea").evaluate_all("els => els.map(e => e.value)")
            assert not any(secret in v for v in values for secret in SECRETS), where

    page.go_back()
    nothing_of_the_previous_citizen("Back")
    page.go_forward()
    nothing_of_the_previous_citizen("Forward")
    if page.url != url:  # Forward may not come back (no entry): the kiosk is opened again
        page.goto(url)
    # The form still works for the next citizen.
    before = kiosk.stored()
    kiosk.answer_all("5")
    page.click("button[type=submit]")
    wait_until(lambda: "đã được gửi" in kiosk.status(), "the next citizen's answer sent")
    assert kiosk.stored() == before + 1 and kiosk.errors == []
    kiosk.context.close()


# -- what the server would refuse, checked before "saved on this device" -----------------------------

COUNTER = '''
id = "quay"
title = "Ý kiến tại quầy"
ask_contact = true

[[questions]]
key = "hai-long"
type = "scale5"
prompt = "Mức độ hài lòng"

[[questions]]
key = "chi-phi"
type = "number"
prompt = "Số tiền đã nộp (đồng)"
min_value = 0
max_value = 10000000

[[questions]]
key = "kenh"
type = "multiple"
prompt = "Bạn biết đến dịch vụ qua"
required = false
options = ["Loa", "Zalo", "Bạn bè"]

[[questions]]
key = "ghi-chu"
type = "short_text"
prompt = "Ghi chú"
required = false
max_length = 20
'''


def counter_kiosk(survey_deployment, idle_seconds: int):
    """A deployment with the counter survey (a required number question, 0 to 10.000.000) and a
    kiosk placement of it: (dep, kiosk)."""
    from ccch_survey.definition import loads_definition
    from ccch_survey.store import save_survey

    dep = survey_deployment(kiosk_idle_seconds=idle_seconds, kiosk_thanks_seconds=2)
    save_survey(dep.db, loads_definition(COUNTER))
    return dep, add_placement(dep.db, dep.plan, "quay", "xa-an-dung.mot-cua", "Máy tính bảng quầy 2", mode="kiosk")


@pytest.fixture
def served_counter(survey_deployment, make_app):
    """The counter survey's kiosk (60 s idle reset), served on loopback."""
    yield from serve_kiosk(make_app, *counter_kiosk(survey_deployment, 60))


def test_an_offline_answer_the_server_would_refuse_is_caught_before_it_is_saved(chromium, served_counter):
    in_own_thread(lambda: kiosk_journey(chromium, offline_check_journey, *served_counter))


def offline_check_journey(browser, dep, url: str) -> None:
    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page
    kiosk.context.set_offline(True)
    page.check("#q-hai-long input[value='4']")
    page.fill("#i-q-chi-phi", "50,000")  # fifty thousand to an English writer, fifty to a Vietnamese one
    page.fill("#i-ho-ten", "Phạm Văn Dũng")  # consent not ticked
    page.click("button[type=submit]")
    wait_until(lambda: "chưa được gửi" in kiosk.status(), "the problems found offline")
    assert "lưu trên máy này" in kiosk.status() and "đã được lưu" not in kiosk.status()
    assert kiosk.queued() == 0
    # Beside each question, the server's own words; what the citizen typed stays to be corrected.
    assert "“50,000” không rõ nghĩa" in page.locator("#q-chi-phi .err").text_content()
    assert page.get_attribute("#i-q-chi-phi", "aria-invalid") == "true"
    assert "chưa đánh dấu đồng ý" in page.locator("#lien-he .err").text_content()
    assert "Còn 2 mục cần xem lại" in page.locator("#loi").text_content()
    assert page.input_value("#i-q-chi-phi") == "50,000" and page.input_value("#i-ho-ten") == "Phạm Văn Dũng"

    # Out of range, then a text longer than its question allows (typed past maxlength by a script
    # or an older page), are caught too.
    page.fill("#i-q-chi-phi", "12.000.000")
    page.fill("#i-ho-ten", "")
    page.evaluate("() => { const el = document.getElementById('i-q-ghi-chu'); el.removeAttribute('maxlength');"
                  " el.value = 'x'.repeat(21); el.setAttribute('maxlength', '20'); }")
    page.click("button[type=submit]")
    wait_until(lambda: "Số lớn nhất được nhập là 10.000.000." in kiosk.content(), "the range message")
    assert "Câu trả lời dài quá 20 ký tự." in page.locator("#q-ghi-chu .err").text_content()
    assert page.locator("#lien-he .err").count() == 0 and kiosk.queued() == 0

    # Corrected: now kept, and the citizen is told so.
    page.fill("#i-q-chi-phi", "50.000")
    page.fill("#i-q-ghi-chu", "")
    page.click("button[type=submit]")
    wait_until(lambda: "đã được lưu trên máy này" in kiosk.status(), "the kept-offline message")
    assert kiosk.queued() == 1 and kiosk.what_the_next_citizen_sees() == BLANK
    kiosk.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(lambda: kiosk.stored() == 1, "the kept answer to arrive")
    assert dep.db.execute("select value from survey_answers where question_key = 'chi-phi'").fetchall() == [("50000",)]
    assert kiosk.errors == []
    kiosk.context.close()


def test_a_kept_answer_still_refused_later_is_reported_precisely(chromium, served_counter):
    in_own_thread(lambda: kiosk_journey(chromium, still_refused_journey, *served_counter))


def still_refused_journey(browser, dep, url: str) -> None:
    """A kept answer whose required number the server refuses (kept by an older script, which did
    not check numbers): it cannot be stored even without that answer; the staff are told which
    answer (when it was given) and which question, without its content."""
    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page
    kiosk.context.set_offline(True)
    page.check("#q-hai-long input[value='2']")
    page.fill("#i-q-chi-phi", "15.000")
    page.click("button[type=submit]")
    wait_until(lambda: kiosk.queued() == 1, "the kept answer")
    queue = json.loads(page.evaluate("k => localStorage.getItem(k)", kiosk.queue_key()))
    queue[0] = [[k, "50,000" if k == "q-chi-phi" else v] for k, v in queue[0]]
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [kiosk.queue_key(), json.dumps(queue)])
    kiosk.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(lambda: kiosk.queued() == 0, "the queue to empty")
    wait_until(lambda: "không lưu được" in kiosk.status(), "the staff notice")
    status = kiosk.status()
    assert kiosk.stored() == 0
    assert "1 ý kiến lưu trên máy (gửi lúc " in status
    assert "không nhận câu trả lời ở Câu 2 (câu bắt buộc)" in status
    assert "báo bộ phận phụ trách" in status and "50,000" not in status and "50,000" not in page.content()
    kiosk.context.close()


def test_the_offline_check_says_what_the_server_says(chromium, served_counter):
    """The script's mirror of the server's rules, value by value against the server's own code."""
    in_own_thread(lambda: kiosk_journey(chromium, mirror_journey, *served_counter))


NUMBERS = ["50", "50.000", "50,000", "1.500.000", "1.500,25", "2,5", "2.5", "87.25", "0,125", "0.125", "1,500,000",
           "1,500.5", "-3", "−3", "+7", "- 4", "1 500", "12.000.000", "10.000.000", "10.000.001", "-0", "0,0",
           "9.999.999,99", "abc", "1e5", "0x10", "٥٠", "١٢٫٥", "５０", "1.5e3", ".5", "5.", "05", "00,500",
           "100,000", "100,500", "1000,000", "0,000", "999999999999999", "1000000000000000", "1.000.000.000.000.000",
           " 42 ", "4\u00a02", "4\u202f2", "\u202e42", "4.50", "4.500", "0.500", "1,50", "12,345", "-12,345",
           "²", "1_000", "NaN", "inf", "", "   "]
PHONES = ["0912345678", "0912 345 678", "+84 912 345 678", "84912345678", "(091) 234-5678", "091.234.5678",
          "0212345678", "02123456789", "12345", "0112345678", "091234567", "09123456789", "+8491234567",
          "０９１２３４５６７８", "09١٢٣٤٥٦٧٨", "0912345678x", ""]


def mirror_journey(browser, dep, url: str) -> None:
    from ccch_core.privacy import PersonalDataError, normalise_phone
    from ccch_core.questions import AnswerError, Question

    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page
    questions = [Question("so", "number", "Số"), Question("so", "number", "Số", required=False),
                 Question("so", "number", "Số", min_value=0, max_value=10_000_000),
                 Question("so", "number", "Số", min_value=-1000.5, max_value=1e-7),
                 Question("so", "number", "Số", min_value=2.5, max_value=1e21)]
    for question in questions:
        for text in NUMBERS:
            try:
                question.check_answer([text])
                expected = ""
            except AnswerError as exc:
                expected = str(exc)
            js = page.evaluate("([q, v]) => window.ccchKiosk.checkAnswer(q, [v])",
                               [{"required": question.required, "options": None, "multiple": False, "number": True,
                                 "min": question.min_value, "max": question.max_value, "maxLength": 40}, text])
            assert js == expected, (question, text)
    text_question = Question("t", "short_text", "Chữ", max_length=5, required=False)
    for text in ["abcde", "abcdef", "  ab  cd  ", "ệệệệệ", "e\u0302\u0323" * 5, "𝟘𝟙𝟚𝟛𝟜", "𝟘𝟙𝟚𝟛𝟜𝟝", "a\x00b\u202ec",
                 "\ufeffabcd", "\ufeffabcde", " \t\n "]:
        try:
            text_question.check_answer([text])
            expected = ""
        except AnswerError as exc:
            expected = str(exc)
        js = page.evaluate("v => window.ccchKiosk.checkAnswer({required: false, options: null, number: false,"
                           " maxLength: 5}, [v])", text)
        assert js == expected, repr(text)
    for phone in PHONES:
        try:
            normalise_phone(phone)
            expected = True
        except PersonalDataError:
            expected = False
        assert page.evaluate("v => window.ccchKiosk.phoneOk(v)", phone) is expected, phone
    kiosk.context.close()


# -- which answers of the server end a kept submission ---------------------------------------------------

def test_only_the_survey_servers_final_answers_take_a_kept_answer_out_of_the_queue(chromium, served):
    in_own_thread(lambda: kiosk_journey(chromium, decision_journey, *served))


def decision_journey(browser, dep, url: str) -> None:
    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page
    # In the page: a kept answer meets a proxy's 407, a captive portal's 401 and 403, and stays kept;
    # it is sent when the survey server answers.
    kiosk.context.set_offline(True)
    kiosk.answer_all("3")
    page.click("button[type=submit]")
    wait_until(lambda: kiosk.queued() == 1, "the kept answer")
    answered: list[int] = []

    def portal(route):
        if route.request.method != "POST":
            route.continue_()
            return
        code = (407, 401, 403)[min(len(answered), 2)]
        answered.append(code)
        route.fulfill(status=code, content_type="text/html", body="<p>Vui lòng đăng nhập Wi-Fi</p>")

    page.route(url, portal)
    kiosk.context.set_offline(False)  # fires "online" in the page: the first attempt
    for tries in (1, 2, 3):
        if tries > 1:
            page.evaluate("window.dispatchEvent(new Event('online'))")
        # Reading the page lets Playwright run the route handler (it runs inside Playwright's calls).
        wait_until(lambda n=tries: kiosk.queued() == 1 and len(answered) == n, f"attempt {tries}")
        page.wait_for_timeout(300)
        assert kiosk.queued() == 1, answered
    page.unroute(url)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(lambda: kiosk.queued() == 0, "the queue to empty")
    assert kiosk.stored() == 1 and answered == [407, 401, 403]
    assert "không gửi được" not in kiosk.status() and kiosk.errors == []

    # The whole table, asked of the script's own decision: (status, retried, X-Survey-Result, X-Survey-Invalid).
    verdict = "([s, retried, result, invalid]) => window.ccchKiosk.verdict(s, retried, result, invalid)"
    table = [
        ((200, False, "stored", None), "sent"),
        ((200, False, None, None), "later"),  # a captive portal's login page
        ((422, False, None, "q-chung"), "invalid"),
        ((422, False, None, None), "later"),  # not the survey's answer
        ((400, False, "refused", None), "retry"),  # the survey's own 400: a fresh token, once
        ((400, True, "refused", None), "refused"),
        ((400, False, None, None), "later"),  # a captive portal's or a proxy's 400 …
        ((400, True, None, None), "later"),
        ((413, False, "refused", None), "refused"),  # the survey's own 413 …
        ((413, False, None, None), "later"),  # … not a proxy's
        ((404, False, "gone", None), "gone"),  # the survey server's own 404 / a retired poster's 410 …
        ((410, False, "gone", None), "gone"),
        ((404, False, None, None), "later"),  # … not a proxy's
        ((410, False, None, None), "later"),
        ((410, False, "closed", None), "closed"),  # a closed survey may be opened again: kept
        ((200, False, "gone", None), "later"),
    ] + [((code, retried, None, None), "later")
         for code in (401, 403, 405, 407, 408, 409, 429, 451, 500, 502, 503, 504, 302) for retried in (False, True)]
    for args, expected in table:
        assert page.evaluate(verdict, list(args)) == expected, args
    kiosk.context.close()


# -- a submission on its way: the idle reset waits, each result goes to its own citizen ----------------

@pytest.fixture
def served_quick(survey_deployment, make_app):
    """The counter survey's kiosk with the shortest idle reset (15 s), served on loopback."""
    yield from serve_kiosk(make_app, *counter_kiosk(survey_deployment, 15))


def counter_answer(page, number: str, score: str = "4") -> None:
    page.check(f"#q-hai-long input[value='{score}']")
    page.fill("#i-q-chi-phi", number)


def hold_posts(kiosk) -> list:
    """Holds every POST of the form (the test releases them); the token requests go through."""
    held: list = []
    kiosk.page.route(kiosk.url, lambda r: held.append(r) if r.request.method == "POST" else r.continue_())
    return held


def resend_kept(kiosk) -> None:
    kiosk.page.unroute(kiosk.url)
    kiosk.page.evaluate("window.dispatchEvent(new Event('online'))")


def chi_phi_stored(dep) -> list:
    return [r[0] for r in dep.db.execute("select value from survey_answers where question_key = 'chi-phi'")]


@pytest.mark.parametrize("release", ["network fails", "server wants a correction", "stored", "never answers"])
def test_the_idle_reset_waits_for_a_submission_on_its_way(chromium, served_quick, release):
    """The citizen who pressed Send is still at the counter: the form is not cleared under them
    while the answers are on their way (the reviewer's race: the answer was lost, or the next
    citizen saw the last one's input). Send is disabled meanwhile; a request that never answers
    ends after the script's timeout with the answer kept on the tablet."""
    in_own_thread(lambda: kiosk_journey(chromium, lambda b, d, u: waiting_journey(b, d, u, release), *served_quick))


def waiting_journey(browser, dep, url: str, release: str) -> None:
    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page
    held = hold_posts(kiosk)
    counter_answer(page, "50,000" if release == "server wants a correction" else "50.000")
    page.click("button[type=submit]")
    wait_until(lambda: kiosk.status() and len(held) == 1, "the POST held")
    assert page.locator("button[type=submit]").is_disabled()
    page.evaluate("() => document.getElementById('kiosk').requestSubmit()")  # a second tap (Enter, a script)
    page.wait_for_timeout(17_000)  # past kiosk_idle_seconds (15) since the tap on Send
    assert len(held) == 1, "sent twice"
    assert "Đang gửi" in kiosk.status() and "làm mới" not in kiosk.status()
    assert page.locator("#q-hai-long input:checked").count() == 1, "the form was cleared under the citizen"
    assert kiosk.queued() == 0 and kiosk.stored() == 0
    if release == "network fails":
        held[0].abort("failed")
        wait_until(lambda: "lưu trên máy này" in kiosk.status(), "the kept-offline message")
        assert kiosk.queued() == 1 and kiosk.what_the_next_citizen_sees() == BLANK
    elif release == "server wants a correction":
        held[0].continue_()
        wait_until(lambda: page.locator("#q-chi-phi .err").count() == 1, "the server's message, to the same citizen")
        assert "“50,000” không rõ nghĩa" in page.locator("#q-chi-phi .err").text_content()
        assert page.input_value("#i-q-chi-phi") == "50,000" and not page.locator("button[type=submit]").is_disabled()
        assert kiosk.queued() == 0 and kiosk.stored() == 0
        kiosk.context.close()
        return
    elif release == "stored":
        held[0].continue_()
        wait_until(lambda: "đã được gửi" in kiosk.status(), "the sent message")
        assert kiosk.stored() == 1 and kiosk.queued() == 0 and kiosk.what_the_next_citizen_sees() == BLANK
        kiosk.context.close()
        return
    else:  # never answers: the script gives up after its timeout (25 s) and keeps the answer
        wait_until(lambda: "lưu trên máy này" in kiosk.status(), "the timeout", timeout=15)
        assert kiosk.queued() == 1 and kiosk.what_the_next_citizen_sees() == BLANK
    assert not page.locator("button[type=submit]").is_disabled()
    resend_kept(kiosk)
    wait_until(lambda: kiosk.queued() == 0, "the kept answer sent")
    assert kiosk.stored() == 1 and chi_phi_stored(dep) == ["50000"]
    kiosk.context.close()


@pytest.mark.parametrize("release", ["network fails", "server wants a correction", "stored"])
def test_a_late_result_never_reaches_the_next_citizen(chromium, served_quick, release):
    """The form was reset while a submission was on its way (here the reset of a page shown again
    from the back/forward cache) and the next citizen has started: the late result leaves the
    screen alone — no summary, nothing of the last citizen, the new answers kept — and an answer
    not stored is kept on the tablet from what was sent, for the queue."""
    in_own_thread(lambda: kiosk_journey(chromium, lambda b, d, u: late_journey(b, d, u, release), *served_quick))


def late_journey(browser, dep, url: str, release: str) -> None:
    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page
    held = hold_posts(kiosk)
    counter_answer(page, "50,000" if release == "server wants a correction" else "50.000")
    page.click("button[type=submit]")
    wait_until(lambda: kiosk.status() and len(held) == 1, "the POST held")
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }))")
    wait_until(lambda: kiosk.what_the_next_citizen_sees() == BLANK, "the reset")
    assert not page.locator("button[type=submit]").is_disabled()  # the next citizen may send
    page.check("#q-hai-long input[value='2']")  # the next citizen starts
    if release == "network fails":
        held[0].abort("failed")
        wait_until(lambda: kiosk.queued() == 1, "the late failure kept")
    else:
        held[0].continue_()
        if release == "stored":
            wait_until(lambda: kiosk.stored() == 1, "the late answer stored")
        else:
            wait_until(lambda: kiosk.queued() == 1, "the late correction kept for the queue")
    page.wait_for_timeout(500)
    seen = kiosk.what_the_next_citizen_sees()
    assert seen["checked"] == 1 and page.is_checked("#q-hai-long input[value='2']"), seen
    assert seen["text"] == [] and seen["errors shown"] == 0, seen
    assert "50,000" not in kiosk.content() and "50.000" not in kiosk.content()
    assert "đã được gửi" not in kiosk.status() and "đánh dấu đỏ" not in kiosk.status()
    if release == "stored":
        assert kiosk.queued() == 0 and chi_phi_stored(dep) == ["50000"]
    else:
        resend_kept(kiosk)
        wait_until(lambda: kiosk.queued() == 0, "the queue to empty")
        if release == "network fails":
            assert kiosk.stored() == 1 and chi_phi_stored(dep) == ["50000"]
        else:  # its required number refused again: cannot be stored, the staff are told
            wait_until(lambda: "không lưu được" in kiosk.status(), "the staff notice")
            assert kiosk.stored() == 0 and "Câu 2 (câu bắt buộc)" in kiosk.status()
        assert page.is_checked("#q-hai-long input[value='2']")  # still the next citizen's answer
    kiosk.context.close()


# -- a captive portal's answers never drop a kept answer -------------------------------------------------

@pytest.mark.parametrize("portal", ["POST 400", "POST 413", "token page"])
def test_a_captive_portals_answers_keep_the_kept_answer(chromium, served_quick, portal):
    """The reviewer's portal (GET: a 200 login page; POST: 400) emptied the queue. Neither its
    400 or 413 (no X-Survey-Result: refused) nor its login page in place of a form token (after
    the survey's own 400 for an expired token) drops a kept answer."""
    in_own_thread(lambda: kiosk_journey(chromium, lambda b, d, u: portal_journey(b, d, u, portal), *served_quick))


def portal_journey(browser, dep, url: str, portal: str) -> None:
    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page
    kiosk.context.set_offline(True)
    counter_answer(page, "50.000")
    page.click("button[type=submit]")
    wait_until(lambda: kiosk.queued() == 1, "the kept answer")
    asked: list[str] = []

    def login_page(route):
        method = route.request.method
        if portal == "token page" and "ma-bao-ve" not in route.request.url:
            route.continue_()  # the survey server itself answers the POST: 400, expired token
            return
        asked.append(method)
        status = 200 if method == "GET" else 400 if portal == "POST 400" else 413
        route.fulfill(status=status, content_type="text/html", body="<html><p>Đăng nhập Wi-Fi miễn phí</p></html>")

    if portal == "token page":  # the kept token no longer valid: the server asks for a fresh one
        queue = json.loads(page.evaluate("k => localStorage.getItem(k)", kiosk.queue_key()))
        queue[0] = [[k, "1.AAAAAAAAAAAAAAAAAAAAAA" if k == "csrf_token" else v] for k, v in queue[0]]
        page.evaluate("([k, v]) => localStorage.setItem(k, v)", [kiosk.queue_key(), json.dumps(queue)])
    page.route("**/*", login_page)
    kiosk.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    # Reading the page lets Playwright run the route handler (it runs inside Playwright's calls).
    wait_until(lambda: kiosk.queued() and ("GET" if portal == "token page" else "POST") in asked, "the portal's answer")
    page.wait_for_timeout(1000)
    assert kiosk.queued() == 1 and kiosk.stored() == 0, asked
    assert "không gửi được" not in kiosk.status()
    page.unroute("**/*")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(lambda: kiosk.queued() == 0, "the kept answer sent")
    assert kiosk.stored() == 1 and kiosk.errors == []
    kiosk.context.close()


# -- a closed survey keeps the answers for when it is opened again ---------------------------------------

def test_answers_kept_while_the_survey_is_closed_are_sent_when_it_opens_again(chromium, served_quick):
    in_own_thread(lambda: kiosk_journey(chromium, closed_journey, *served_quick))


def closed_journey(browser, dep, url: str) -> None:
    from ccch_survey.store import set_status

    kiosk = Kiosk(browser, dep, url)
    page = kiosk.page
    kiosk.context.set_offline(True)
    counter_answer(page, "50.000")
    page.click("button[type=submit]")
    wait_until(lambda: kiosk.queued() == 1, "the kept answer")
    set_status(dep.db, "quay", "closed")  # officers close the survey for a while
    kiosk.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(lambda: "Khảo sát đang đóng" in kiosk.status(), "the staff notice")
    assert kiosk.queued() == 1 and "sẽ tự gửi khi khảo sát mở lại" in kiosk.status()
    # A citizen answers meanwhile: kept too, and told so.
    page.wait_for_timeout(2500)  # the thank-you message of the first answer has gone
    counter_answer(page, "20.000", "5")
    page.click("button[type=submit]")
    wait_until(lambda: "khảo sát mở lại" in kiosk.status(), "the citizen told")
    assert kiosk.queued() == 2 and kiosk.what_the_next_citizen_sees() == BLANK
    set_status(dep.db, "quay", "open")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(lambda: kiosk.queued() == 0, "the kept answers sent")
    assert sorted(chi_phi_stored(dep)) == ["20000", "50000"]
    wait_until(lambda: "Khảo sát đang đóng" not in kiosk.status(), "the notice gone")
    assert kiosk.errors == []
    kiosk.context.close()
