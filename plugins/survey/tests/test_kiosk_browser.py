"""Kiosk mode in a real browser (Debian's Chromium driven by Playwright, never a downloaded
browser): an answer given while the network is down is kept in the tablet and sent once when the
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
from ccch_survey.store import add_placement
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


@pytest.fixture
def served(survey_deployment, make_app):
    """The app of a deployment whose kiosks reset after 15 s idle, served by waitress on loopback."""
    dep = survey_deployment(kiosk_idle_seconds=15, kiosk_thanks_seconds=2)
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = create_server(make_app(dep), host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield dep, f"http://127.0.0.1:{port}/k/{kiosk.code}"
    server.close()


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
        self.context = browser.new_context()
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
    page.fill("#i-ho-ten", "Lê Văn Cường")  # consent not ticked
    page.click("button[type=submit]")
    wait_until(lambda: kiosk.queued() == 2, "the second kept answer")
    # The first kept answer made too large to be accepted (as a form from an older, longer version
    # of the page could be): it comes first in the queue, where it used to block the others forever.
    queue = json.loads(page.evaluate("k => localStorage.getItem(k)", kiosk.queue_key()))
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
    assert "1 ý kiến gửi sau khi có mạng đã được lưu nhưng bỏ bớt" in status
    assert "báo bộ phận phụ trách" in status
    assert "Lê Văn Cường" not in page.content()  # counts for the staff, never an answer
    # The staff notice survives a reload of the page (it is kept on the tablet, without content).
    page.reload()
    wait_until(lambda: "máy chủ từ chối" in kiosk.status(), "the notice after a reload")
    assert kiosk.stored() == 2 and kiosk.errors == []
    kiosk.context.close()


def journey(browser, dep, url: str) -> None:
    context = browser.new_context()
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
