"""Journey: the Culture & Information office builds a survey in the builder (no TOML, no code
typed), previews it at phone size, reorders a question with the "Lên" button, places it at a
one-stop desk, a citizen answers it on a phone; the office then fixes an option's wording (ticking
"Chỉ sửa câu chữ, nghĩa không đổi") and changes another option's meaning, and the export still
shows the earlier answer with the label the citizen saw (issue #27, part 3)."""

from __future__ import annotations

import csv
import io
import sqlite3

from .conftest import sign_in

PLUGINS = ("survey",)
TITLE = "Ý kiến về quầy một cửa"
SURVEY = "y-kien-ve-quay-mot-cua"  # made from the title, never typed
UNIT = "Bộ phận tiếp nhận và trả kết quả xã An Dũng"
CHANNEL = "Anh/chị biết thủ tục qua đâu?"
SCALE = "Thái độ phục vụ của công chức"


def export(page, base: str) -> list[dict]:
    """The officers' CSV of every response, read through the signed-in browser context."""
    response = page.request.get(f"{base}/khao-sat/{SURVEY}/tai-ve.csv?ky=tat-ca")
    assert response.ok, response.status
    return list(csv.DictReader(io.StringIO(response.text().lstrip("\ufeff"))))


def answer(browser, base: str, code: str, channel_label: str) -> None:
    phone = browser.new_context(viewport={"width": 360, "height": 780}, locale="vi-VN", is_mobile=True,
                                has_touch=True)
    page = phone.new_page()
    page.goto(f"{base}/k/{code}")
    page.get_by_label(channel_label).check()
    page.locator("fieldset", has_text=SCALE).get_by_label("Hài lòng", exact=True).check()
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "cảm ơn" in page.content().lower(), page.content()[:2000]
    phone.close()


def test_a_survey_built_in_the_form_keeps_earlier_answers_labelled(server, browser, shot):
    officer, password = server.user("vhtt", "plan_admin")
    office = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = office.new_page()
    sign_in(page, server.base, officer, password)
    page.goto(server.base + "/khao-sat/")
    with page.expect_navigation():
        page.click("main a:has-text('Tạo khảo sát')")
    page.fill("#tieu_de", TITLE)
    page.fill("#q0_cau_hoi", SCALE)
    page.select_option("#q0_loai", label="Mức độ hài lòng (5 mức, từ Rất không hài lòng đến Rất hài lòng)")
    page.fill("#q1_cau_hoi", CHANNEL)
    page.select_option("#q1_loai", label="Chọn một phương án")
    page.fill("#q1_p0_nhan", "Loa truyền thanh")
    page.fill("#q1_p1_nhan", "Zalo của xã")
    page.click("#cau-1 button:has-text('Lên')")  # JavaScript moves the row and renumbers Thứ tự
    assert page.input_value("#q1_thu_tu") == "1" and page.input_value("#q0_thu_tu") == "2"
    page.set_viewport_size({"width": 1280, "height": 6000})  # every row on screen: a drag does not scroll
    page.locator("#cau-2 .drag-handle").drag_to(page.locator("#cau-0 > legend"))  # a blank row dragged above
    assert [page.input_value(f"#q{i}_thu_tu") for i in range(3)] == ["3", "1", "2"]
    page.locator("#cau-2 .drag-handle").drag_to(page.locator("#cau-0 > details > summary"))  # and back down
    assert [page.input_value(f"#q{i}_thu_tu") for i in range(3)] == ["2", "1", "3"]
    page.set_viewport_size({"width": 1280, "height": 900})
    with page.expect_navigation():
        page.click("button:has-text('Xem trước')")
    box = page.locator(".phone-preview")
    assert box.bounding_box()["width"] <= 360
    assert box.inner_text().index(CHANNEL) < box.inner_text().index(SCALE)  # the new order
    assert "Rất hài lòng" in box.inner_text() and "Zalo của xã" in box.inner_text()
    shot(page, "0-preview")
    with page.expect_navigation():
        page.click("button:has-text('Lưu')")
    assert page.url.endswith(f"/khao-sat/{SURVEY}"), page.content()[:3000]
    assert "Đã lưu phiên bản 1" in page.content()

    page.goto(server.base + "/khao-sat/noi-dat")
    page.select_option("#survey_id", label=TITLE)
    page.select_option("#unit_id", label=UNIT)
    page.fill("#place", "Quầy tiếp nhận hồ sơ")
    with page.expect_navigation():
        page.click("button:has-text('Tạo nơi đặt')")
    db = sqlite3.connect(server.config.parent / "ccch.db")
    (code,) = db.execute("select code from survey_placements where survey_id = ?", [SURVEY]).fetchone()

    answer(browser, server.base, code, "Zalo của xã")

    page.goto(f"{server.base}/khao-sat/{SURVEY}")
    with page.expect_navigation():
        page.click("main a:has-text('Sửa khảo sát')")
    page.fill("input[value='Loa truyền thanh']", "Loa truyền thanh của xã")  # a wording fix …
    page.locator(".opt-row", has=page.locator("input[value='Loa truyền thanh']")).get_by_label(
        "Chỉ sửa câu chữ, nghĩa không đổi").check()
    page.fill("input[value='Zalo của xã']", "Trang thông tin điện tử của xã")  # … and a new meaning
    shot(page, "1-edit")
    with page.expect_navigation():
        page.click("button:has-text('Lưu')")
    assert "Đã lưu phiên bản 2" in page.content(), page.content()[:3000]

    answer(browser, server.base, code, "Trang thông tin điện tử của xã")
    answer(browser, server.base, code, "Loa truyền thanh của xã")

    rows = export(page, server.base)
    column = next(name for name in rows[0] if name.endswith(CHANNEL))
    assert sorted((r["Phiên bản"], r[column]) for r in rows) == [
        ("1", "Zalo của xã"), ("2", "Loa truyền thanh của xã"), ("2", "Trang thông tin điện tử của xã")]
    options = db.execute("select definition from survey_versions where survey_id = ? order by version",
                         [SURVEY]).fetchall()
    db.close()
    assert '"Zalo của xã"' in options[0][0] and '"Zalo của xã"' not in options[1][0]

    page.set_viewport_size({"width": 360, "height": 780})  # the builder on an officer's phone
    page.goto(f"{server.base}/khao-sat/{SURVEY}/soan")
    with page.expect_navigation():
        page.click("button:has-text('Xem trước')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "2-builder-360")
    office.close()
