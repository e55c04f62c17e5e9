"""Journey: the Interior office sets up a contest from nothing through the forms only — a round, an
audience by name, a prize, a collective prize by unit — imports its own Excel bank with Vietnamese
headings, publishes, and a citizen takes the contest. No step types a code (issue #27)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import openpyxl

from .conftest import sign_in

PLUGINS = ("contest",)
VN = dt.timezone(dt.timedelta(hours=7))
TITLE = "Tìm hiểu cải cách hành chính năm nay"
SLUG = "tim-hieu-cai-cach-hanh-chinh-nam-nay"  # made from the title, never typed


def bank_file(path):
    """The office's own workbook: Vietnamese headings, the type and the answer in words."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Câu hỏi", "Phương án A", "Phương án B", "Phương án C", "Đáp án", "Loại", "Chủ đề", "Giải thích"])
    for n in range(1, 6):
        sheet.append([f"Câu hỏi số {n} về cải cách thủ tục hành chính?", "Đúng theo quy định", "Sai quy định",
                      "Không rõ", "A", "Chọn một đáp án", "Thủ tục hành chính", f"Kế hoạch, mục {n}"])
    workbook.save(path)
    return path


def test_a_contest_set_up_through_the_forms_only(server, browser, shot, tmp_path):
    manager, password = server.user("noivu", "contest_manager")
    office = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = office.new_page()
    sign_in(page, server.base, manager, password)
    page.goto(server.base + "/cuoc-thi/quan-ly/tao")
    now = dt.datetime.now(VN)
    page.fill("#title", TITLE)
    page.fill("#questions_per_attempt", "3")
    page.fill("#rounds-0-name", "Vòng 1")
    page.fill("#rounds-0-opens_date", (now - dt.timedelta(days=1)).strftime("%Y-%m-%d"))
    page.fill("#rounds-0-closes_date", (now + dt.timedelta(days=6)).strftime("%Y-%m-%d"))
    page.fill("#audiences-0-name", "Nhân dân")
    page.fill("#audiences-0-prize-0-name", "Giải Nhất")
    page.fill("#audiences-0-prize-0-count", "1")
    page.fill("#audiences-0-prize-0-value", "500.000 đồng")
    page.fill("#collective-0-name", "Xã có nhiều người dự thi nhất")
    page.fill("#collective-0-count", "1")
    page.fill("input.unit-search[data-filters='collective-0-among']", "cac xa")  # the search box, by name
    page.select_option("#collective-0-among", label="Nhóm: UBND các xã, thị trấn")
    page.check("input[name='collective-0-rounds'][value='1']")
    shot(page, "0-setup")
    with page.expect_navigation():
        page.click("form button[type=submit]:has-text('Tạo cuộc thi')")
    assert f"/cuoc-thi/quan-ly/{SLUG}" in page.url, page.content()[:3000]

    page.goto(f"{server.base}/cuoc-thi/quan-ly/{SLUG}/cau-hoi")
    page.set_input_files("#file", str(bank_file(tmp_path / "ngan-hang-cau-hoi.xlsx")))
    with page.expect_navigation():
        page.click("form button:has-text('Nhập')")
    assert "5" in page.inner_text("main") and "Thủ tục hành chính" in page.content(), page.content()[:3000]
    page.goto(f"{server.base}/cuoc-thi/quan-ly/{SLUG}")
    with page.expect_navigation():
        page.click("button:has-text('Công bố cuộc thi')")
    shot(page, "1-published")
    office.close()

    db = sqlite3.connect(server.config.parent / "ccch.db")
    definition, status = db.execute("select definition, status from contest_contests where slug = ?",
                                    [SLUG]).fetchone()
    db.close()
    saved = json.loads(definition)
    assert status == "published"
    assert [(a["key"], a["name"]) for a in saved["audiences"]] == [("chung", "Nhân dân")]
    assert saved["collective_prizes"][0]["among"] == ["cac-xa-thi-tran"]

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    citizen = phone.new_page()
    citizen.goto(f"{server.base}/cuoc-thi/{SLUG}")
    assert TITLE in citizen.content()
    with citizen.expect_navigation():
        citizen.click("a:has-text('Đăng ký dự thi')")
    citizen.fill("input[name=full_name]", "Trần Văn Nam")
    citizen.fill("input[name=phone]", "0987 654 321")
    citizen.fill("input[name=birth_year]", "1985")
    citizen.select_option("select[name=unit_id]", "xa-an-dung")
    if citizen.locator("input[name=occupation]").count():
        citizen.fill("input[name=occupation]", "Nông dân")
    citizen.check("input[name=consent]")
    if not citizen.is_checked("input[name=start_now]"):
        citizen.check("input[name=start_now]")
    with citizen.expect_navigation():
        citizen.click("form button[type=submit]")
    db = sqlite3.connect(server.config.parent / "ccch.db")
    otp = json.loads(db.execute("select params from messages where template = 'otp' order by id desc").fetchone()[0])
    db.close()
    citizen.fill("input[name=ma]", otp["code"])
    with citizen.expect_navigation():
        citizen.click("form button:has-text('Xác nhận')")
    assert "/bai-thi/" in citizen.url, citizen.content()[:2000]
    names = sorted(set(citizen.eval_on_selector_all("#bai-thi input[type=radio]", "els => els.map(e => e.name)")))
    assert len(names) == 3
    for name in names:
        citizen.locator(f"#bai-thi input[name='{name}']").first.check()
    citizen.fill("#du_doan", "12")  # the default tie-break question of a new contest
    with citizen.expect_navigation():
        citizen.click("#bai-thi button[type=submit]:not([formaction])")
    assert "Bài thi đã được ghi nhận" in citizen.content()
    shot(citizen, "2-taken")
    phone.close()
