"""Kiosk mode in a real browser (Debian's Chromium driven by Playwright, never a downloaded
browser): an answer given while the network is down is kept in the tablet and sent once when the
network returns; the form resets for the next citizen and after inactivity; the page runs under the
app's Content-Security-Policy (``script-src 'self'``) without a JavaScript error.

When Chromium is missing and the tests run as root with apt, the Debian package is installed (as the
core's browser journeys do), so that a fresh CI machine passes.
"""

from __future__ import annotations

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
    in_own_thread(lambda: kiosk_journey(chromium, *served))


def kiosk_journey(chromium_path: str, dep, url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=FLAGS)
        try:
            journey(browser, dep, url)
        finally:
            browser.close()


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
