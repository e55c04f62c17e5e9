"""Journey 4: a commune officer submits the monthly report with one bad value and fixes it; the
Culture & Information office sees it on the dashboard as on time and downloads the month's DOCX
report, which opens with python-docx and holds the figures."""

from __future__ import annotations

import docx

from .conftest import sign_in, this_month

PLUGINS = ("export",)


def test_officer_reports_and_plan_admin_downloads(server, browser, shot, tmp_path):
    officer, _ = server.user("canbo.andung", "unit_officer", "xa-an-dung")
    admin, _ = server.user("phongvhtt", "plan_admin")
    month = this_month()

    # -- the commune officer, on a phone --------------------------------------------------------
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = phone.new_page()
    sign_in(page, server.base, officer)
    page.goto(f"{server.base}/bao-cao?period={month}")
    with page.expect_navigation():
        page.click("a:has-text('Nộp báo cáo')")
    assert page.url.endswith(f"/bao-cao/xa-an-dung/{month}")
    page.select_option("#item-0-category", "broadcast")
    page.fill("#item-0-count", "bốn")  # the bad value
    page.fill("#item-0-title", "Nêu gương người tốt, việc tốt về CCHC trên trạm truyền thanh")
    page.select_option("#item-0-task", "T11")
    page.fill("#m-I8-xa-an-dung", "1")
    page.check("input[name='m-I5-xa-an-dung.truyen-thanh'][value='1']")
    with page.expect_navigation():
        page.click("form.report-form button[type=submit]")
    summary = page.locator(".error-summary")
    assert summary.is_visible() and "Báo cáo chưa được nộp" in summary.inner_text()
    assert page.get_attribute("#item-0-count", "aria-invalid") == "true"
    assert page.input_value("#item-0-count") == "bốn"  # everything typed is still there
    assert page.input_value("#item-0-title").startswith("Nêu gương người tốt")
    assert page.input_value("#m-I8-xa-an-dung") == "1"
    assert page.is_checked("input[name='m-I5-xa-an-dung.truyen-thanh'][value='1']")
    shot(page, "1-rejected-report")
    page.fill("#item-0-count", "4")
    with page.expect_navigation():
        page.click("form.report-form button[type=submit]")
    assert "Đã nộp báo cáo" in page.inner_text(".flash")
    assert "được khóa" in page.content()
    shot(page, "2-submitted-report")
    phone.close()

    # -- the Culture & Information office, on a desktop -------------------------------------------
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN", accept_downloads=True)
    page = desktop.new_page()
    sign_in(page, server.base, admin)
    page.goto(f"{server.base}/?period={month}")
    row = page.locator("table.completeness tr", has_text="UBND xã An Dũng").first
    assert "Đúng hạn" in row.inner_text()
    shot(page, "3-dashboard")
    page.select_option("#export-unit", "")
    page.select_option("#export-format", "docx")
    with page.expect_download() as download_info:
        page.click("form.export-form button[type=submit]")
    path = tmp_path / "bao-cao.docx"
    download_info.value.save_as(path)
    desktop.close()

    document = docx.Document(path)
    texts = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in texts
    indicators = {r.cells[0].text: [c.text for c in r.cells] for r in document.tables[1].rows[1:]}
    assert indicators["I8"][2] == "1"  # one item, from An Dũng
    completeness = [[c.text for c in r.cells] for r in document.tables[4].rows]
    assert any(r[0] == "UBND xã An Dũng" and r[-1] == "Đúng hạn" for r in completeness)
