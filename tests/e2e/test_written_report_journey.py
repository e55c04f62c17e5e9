"""Journey (#23): the Culture & Information office writes last month's report on a 360 px phone —
the drafted results and a commune's own "khó khăn, đề xuất" are on the page, nothing scrolls
sideways, a draft is saved, the report is marked final and downloaded as DOCX holding the officer's
words; the commune's officer opens the commune's own report."""

from __future__ import annotations

import docx

from ccch_core.periods import Period

from .conftest import ccch, sign_in

PLUGINS = ("export",)
NOTE = "Loa trạm truyền thanh thôn 3 hỏng, đề nghị huyện hỗ trợ kinh phí sửa chữa"


def no_sideways_scroll(page) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url} scrolls sideways at {inner} px ({width} px wide)"


def test_the_office_writes_the_months_report_on_a_phone(server, browser, shot, tmp_path):
    month = Period.current().previous()
    ccch(server.config, "report-activity", "xa-an-dung", str(month), "--item", "broadcast=4|Phát thanh chuyên mục CCHC||T11",
         "--note", NOTE)
    admin, _ = server.user("phongvhtt", "plan_admin")
    officer, _ = server.user("canbo.andung", "unit_officer", "xa-an-dung")

    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN", accept_downloads=True)
    page = phone.new_page()
    sign_in(page, server.base, admin)
    page.goto(f"{server.base}/?period={month}")
    with page.expect_navigation():
        page.click(f"a:has-text('Viết báo cáo {month.label_vi.lower()}')")
    assert f"Tháng {month.index}/{month.year}" in page.inner_text("h1")
    assert "Phát sóng (truyền thanh, truyền hình): 4, do 1 đơn vị thực hiện (UBND xã An Dũng 4)." in page.content()
    assert f"UBND xã An Dũng: {NOTE}." in page.input_value("#t-de_xuat")
    no_sideways_scroll(page)
    shot(page, "1-draft")

    page.fill("#t-danh_gia", "Ưu điểm: các xã duy trì chuyên mục CCHC trên trạm truyền thanh.")
    with page.expect_navigation():
        page.click("button[value=save]")
    assert "Đã lưu bản nháp." in page.inner_text(".flash")
    assert page.input_value("#t-danh_gia") == "Ưu điểm: các xã duy trì chuyên mục CCHC trên trạm truyền thanh."
    with page.expect_navigation():
        page.click("button[value=final]")
    assert "đã hoàn thành" in page.inner_text(".flash")
    assert page.locator("button[value=save]").count() == 0  # frozen: no more saving
    no_sideways_scroll(page)
    shot(page, "2-final")
    with page.expect_download() as download_info:
        page.click("a:has-text('Tải báo cáo (Word)')")
    path = tmp_path / "bao-cao.docx"
    download_info.value.save_as(path)
    phone.close()
    text = "\n".join(p.text for p in docx.Document(path).paragraphs)
    assert "Ưu điểm: các xã duy trì chuyên mục CCHC trên trạm truyền thanh." in text
    assert "I. KẾT QUẢ THỰC HIỆN" in text and "II. ĐÁNH GIÁ CHUNG" in text  # I. (direction) was left empty: not printed

    # The commune's officer: the commune's own report, from what it entered.
    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = phone.new_page()
    sign_in(page, server.base, officer)
    page.goto(f"{server.base}/xuat/viet")
    assert "UBND xã An Dũng" in page.inner_text(".lead")
    assert "Nhiệm vụ 11 (Tuyên truyền trên hệ thống Trạm truyền thanh cơ sở): 1 đơn vị báo cáo 4 hoạt động" in page.content()
    no_sideways_scroll(page)
    phone.close()
