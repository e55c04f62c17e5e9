"""Journey 2: a tablet at a counter loses its network. The citizen's answers are kept on the
tablet and sent when the network is back; the kiosk resets for the next citizen meanwhile."""

from __future__ import annotations

import sqlite3
import time

from .conftest import ROOT, ccch, sign_in

PLUGINS = ("survey",)


def answer_all(page, score: str) -> None:
    required = page.locator("fieldset[data-required]")
    for i in range(required.count()):
        name = required.nth(i).get_attribute("id")
        page.check(f"input[name='{name}'][value='{score}']")


def stored(server) -> int:
    db = sqlite3.connect(server.config.parent / "ccch.db")
    try:
        return db.execute("select count(*) from survey_responses where channel = 'kiosk'").fetchone()[0]
    finally:
        db.close()


def test_kiosk_keeps_answers_offline_and_sends_them_later(server, browser, shot):
    ccch(server.config, "survey", "load", ROOT / "examples" / "surveys" / "sipas.toml")
    code = ccch(server.config, "survey", "place", "sipas", "xa-an-dung.mot-cua", "--place", "Máy tính bảng quầy 1",
                "--kiosk").split()[0]
    # The commune's officer creates an enrolment code; the tablet types it once and is the kiosk.
    server.user("canbo.andung", "unit_officer", "xa-an-dung")
    officer = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN").new_page()
    sign_in(officer, server.base, "canbo.andung")
    officer.goto(f"{server.base}/khao-sat/noi-dat/{code}/may-tinh-bang")
    officer.fill("input[name=ten]", "Máy tính bảng quầy 1")
    officer.click("form.form button[type=submit]")
    enrolment = officer.locator("p.lead code").inner_text()
    tablet = browser.new_context(viewport={"width": 800, "height": 1280}, locale="vi-VN")
    page = tablet.new_page()
    page.goto(f"{server.base}/k/{code}")
    assert page.locator("#kiosk").count() == 0  # not enrolled: the public form, under the public limits
    page.goto(f"{server.base}/k/{code}/dang-ky")
    page.fill("#i-ma", enrolment)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{server.base}/k/{code}")
    assert page.locator("#kiosk").count() == 1

    # The network drops; the first citizen answers and sends.
    tablet.set_offline(True)
    answer_all(page, "5")
    page.click("form button[type=submit]")
    status = page.locator("#kiosk-status")
    status.filter(has_text="đã được lưu trên máy này").wait_for(timeout=10_000)
    assert page.evaluate("Object.keys(localStorage).length") == 1
    # The kiosk is already clean for the next citizen.
    assert not page.locator("input[type=radio]:checked").count()
    shot(page, "1-offline-kept")
    assert stored(server) == 0

    # The network returns: the kept answers are sent, once.
    tablet.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    deadline = time.time() + 15
    while stored(server) == 0 and time.time() < deadline:
        time.sleep(0.2)
    assert stored(server) == 1
    # A function, not an expression: Playwright eval()s an expression at each poll, which the
    # page's CSP (script-src 'self') refuses whenever the answers are not sent yet at the first check.
    page.wait_for_function("() => JSON.parse(Object.values(localStorage)[0] || '[]').length === 0", timeout=10_000)

    # The next citizen answers online: stored immediately, the kiosk resets again.
    answer_all(page, "4")
    page.click("form button[type=submit]")
    status.filter(has_text="Ý kiến đã được gửi").wait_for(timeout=10_000)
    assert not page.locator("input[type=radio]:checked").count()
    shot(page, "2-next-citizen")
    assert stored(server) == 2
    tablet.close()
