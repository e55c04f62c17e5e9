"""Journey 1: a citizen scans a printed poster with a cheap phone on a slow connection.

The poster PDF is printed by `ccch survey posters`, its page turned into an image by pdftoppm, and
the QR decoded from the image by zxing-cpp — the path a real phone camera takes. The URL opens in a
390×844 viewport on a throttled network; the first submission misses a required answer (the form
comes back with everything kept and the problem at the question), the second goes through to the
thank-you page, and the response is stored against the poster's placement and unit.
"""

from __future__ import annotations

import sqlite3
import subprocess

import zxingcpp
from PIL import Image

from .conftest import ROOT, ccch

PLUGINS = ("survey",)
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 50 * 1024, "uploadThroughput": 25 * 1024}


def test_citizen_scans_a_poster_and_answers(server, browser, shot, tmp_path):
    ccch(server.config, "survey", "load", ROOT / "examples" / "surveys" / "sipas.toml")
    code = ccch(server.config, "survey", "place", "sipas", "xa-an-dung.mot-cua",
                "--place", "Quầy tiếp nhận hồ sơ").split()[0]
    pdf = tmp_path / "poster.pdf"
    # The test server listens on loopback: say so, or `posters` refuses an address phones cannot reach.
    ccch(server.config, "survey", "posters", "sipas", "--code", code, "--allow-local-url", "-o", pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "poster")], check=True)
    decoded = zxingcpp.read_barcodes(Image.open(tmp_path / "poster.png"))
    urls = [b.text for b in decoded if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert urls == [f"{server.base}/k/{code}"]

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN", is_mobile=True,
                                has_touch=True)
    page = phone.new_page()
    cdp = phone.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    transferred = []
    page.on("response", lambda r: transferred.append(r.url))
    page.goto(urls[0])
    assert "hài lòng" in page.content()
    assert all(url.startswith(server.base) for url in transferred)  # nothing from elsewhere

    # Answer everything required but one (the overall judgement), plus a comment.
    required = page.locator("fieldset[data-required]")
    names = [required.nth(i).get_attribute("id") for i in range(required.count())]
    skipped = "q-chung"
    for name in names:
        if name != skipped:
            page.check(f"input[name='{name}'][value='4']")
    page.fill("#i-q-gop-y-them", "Cán bộ hướng dẫn tận tình; mong có thêm ghế chờ.")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    problem = page.locator(f"#{skipped}")
    assert "q-bad" in (problem.get_attribute("class") or "")
    assert problem.locator(".err").is_visible()
    assert page.is_checked(f"input[name='{names[0]}'][value='4']")  # answers kept
    assert page.input_value("#i-q-gop-y-them").startswith("Cán bộ hướng dẫn tận tình")
    shot(page, "1-rejected-survey")

    page.check(f"input[name='{skipped}'][value='5']")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "cảm ơn" in page.content().lower()
    shot(page, "2-thank-you")
    phone.close()

    db = sqlite3.connect(server.config.parent / "ccch.db")
    rows = db.execute(
        "select p.code, r.unit_id from survey_responses r join survey_placements p on p.id = r.placement_id"
    ).fetchall()
    assert rows == [(code, "xa-an-dung.mot-cua")]
