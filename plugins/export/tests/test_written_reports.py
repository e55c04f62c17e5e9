"""The report the officer writes (#23 parts 2, 3 and 4): the page pre-fills suggestions, saves a
draft, marks the report final and freezes it with its figures; a later data correction shows as a
difference while the frozen document stays as sent; a quarter offers its months' final texts; a
commune's own monthly report as a Decree 30 DOCX; a deployment's template."""

from __future__ import annotations

import datetime as dt
import io
import re

import docx
import pytest
from ccch_export import written
from click.testing import CliRunner
from export_testing import DEMO, load_demo

from ccch_core import progress
from ccch_core.cli import make_cli
from ccch_core.periods import Period
from ccch_core.testing import csrf_token, login

URL = "/xuat/viet"


@pytest.fixture
def dep(make_deployment):
    dep = make_deployment(["export"])
    load_demo(dep)
    progress.record_activity_report(dep.db, dep.plan, "xa-yen-ho", "2024-03", [{"category": "broadcast", "count": 3}],
                                    note="Loa trạm truyền thanh thôn 3 hỏng, đề nghị hỗ trợ kinh phí sửa chữa",
                                    now=dt.datetime(2024, 4, 3, tzinfo=dt.UTC))
    return dep


def docx_text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    body = [p.text for p in document.paragraphs]
    cells = [p.text for t in document.tables for row in t.rows for c in row.cells for p in c.paragraphs]
    return "\n".join(body + cells)


def post(client, data, period="2024-03", unit=None):
    query = f"?period={period}" + (f"&unit={unit}" if unit else "")
    token = csrf_token(client, URL + query)
    return client.post(URL + query, data={"csrf_token": token, **data})


def test_the_page_drafts_from_the_data_and_prefills_suggestions(admin):
    page = admin.get(URL + "?period=2024-03").get_data(as_text=True)
    assert "Số chuyên mục CCHC phát sóng: 2 số trong tháng 3/2024; lũy kế từ đầu năm 4/15 số, đạt 26,6% kế hoạch năm." in page
    assert "Chưa lưu: dưới đây là dự thảo" in page
    box = re.search(r'<textarea id="t-de_xuat"[^>]*>(.*?)</textarea>', page, re.DOTALL).group(1)
    assert "Khó khăn, đề xuất của các đơn vị:" in box
    assert "- UBND xã Yên Hồ: Loa trạm truyền thanh thôn 3 hỏng, đề nghị hỗ trợ kinh phí sửa chữa." in box
    assessment = re.search(r'<textarea id="t-danh_gia"[^>]*>(.*?)</textarea>', page, re.DOTALL).group(1)
    assert "Chỉ tiêu chưa đạt tiến độ:" in assessment and "UBND xã Đức Đồng: trễ hoặc chưa nộp 3 kỳ" in assessment


def test_draft_final_and_a_later_correction(dep, admin):
    texts = {"chi_dao": "UBND huyện ban hành văn bản chỉ đạo.", "danh_gia": "Ưu điểm: các xã duy trì chuyên mục.",
             "phuong_huong": "Tiếp tục phát sóng chuyên mục CCHC.", "de_xuat": "Đề nghị tỉnh hỗ trợ kinh phí."}
    response = post(admin, {**texts, "action": "save"})
    assert response.status_code == 303
    saved = written.get_written(dep.db, dep.plan, Period.parse("2024-03"), None)
    assert saved.status == "draft" and saved.texts == texts and saved.document is None
    page = admin.get(URL + "?period=2024-03").get_data(as_text=True)
    assert "Bản nháp" in page and "Ưu điểm: các xã duy trì chuyên mục." in page

    assert post(admin, {**texts, "action": "final"}).status_code == 303
    final = written.get_written(dep.db, dep.plan, Period.parse("2024-03"), None)
    assert final.final and final.finalised_by and final.revision == 2
    sent = admin.get(URL + "/tai-ve?period=2024-03").data
    assert sent == final.document
    text = docx_text(sent)
    assert "lũy kế từ đầu năm 4/15 số, đạt 26,6% kế hoạch năm" in text
    assert "Đề nghị tỉnh hỗ trợ kinh phí." in text
    assert "Loa trạm truyền thanh thôn 3" not in text  # a final report holds what the officer wrote

    # The Centre corrects March: 3 issues, not 2.
    progress.record_measurement(dep.db, dep.plan, "I7", "trung-tam-vhtt", "2024-03", 3)
    assert admin.get(URL + "/tai-ve?period=2024-03").data == sent  # the frozen document stays as sent
    page = admin.get(URL + "?period=2024-03").get_data(as_text=True)
    assert "Số liệu đã thay đổi sau khi báo cáo hoàn thành" in page
    assert "lũy kế từ đầu năm 4/15 số" in page and "lũy kế từ đầu năm 5/15 số, đạt 33,3% kế hoạch năm" in page
    changes = written.differences(final.frozen, written.draft(dep, Period.parse("2024-03"), None))
    assert [c.key for c in changes] == ["ket_qua.chi_tieu.I7"]
    assert "3 số trong tháng 3/2024" in changes[0].after and "2 số trong tháng 3/2024" in changes[0].before

    # A final report is not edited again: the reason is shown and the words come back.
    refused = post(admin, {**texts, "danh_gia": "Sửa lại đánh giá", "action": "save"})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "đã hoàn thành và được chốt số liệu" in body and "Sửa lại đánh giá" in body
    assert written.get_written(dep.db, dep.plan, Period.parse("2024-03"), None).texts == texts


def test_the_cli_lists_the_differences_and_writes_the_frozen_document(dep):
    written.save(dep, Period.parse("2024-03"), None, {"danh_gia": "Đạt kế hoạch."}, by="admin", final=True)
    progress.record_measurement(dep.db, dep.plan, "I7", "trung-tam-vhtt", "2024-03", 3)
    runner = CliRunner()
    result = runner.invoke(make_cli(dep.config.path), ["report-narrative", "-p", "2024-03", "--differences"])
    assert result.exit_code == 0, result.output
    assert "ket_qua.chi_tieu.I7" in result.output and "5/15" in result.output
    out = dep.config.folder / "bc.docx"
    result = runner.invoke(make_cli(dep.config.path), ["report-narrative", "-p", "2024-03", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == written.get_written(dep.db, dep.plan, Period.parse("2024-03"), None).document
    not_final = runner.invoke(make_cli(dep.config.path), ["report-narrative", "-p", "2024-02", "--differences"])
    assert not_final.exit_code != 0 and "not final yet" in not_final.output
    bad = runner.invoke(make_cli(dep.config.path), ["report-narrative", "-p", "2024-13"])
    assert bad.exit_code != 0 and "--period" in bad.output


def test_a_quarter_offers_its_months_final_texts(dep, admin):
    written.save(dep, Period.parse("2024-03"), None,
                 {"phuong_huong": "- Sửa chữa loa trạm truyền thanh Yên Hồ\n- Tăng tin bài về DVC trực tuyến"},
                 by="admin", final=True)
    page = admin.get(URL + "?period=2024-Q1").get_data(as_text=True)
    box = re.search(r'<textarea id="t-phuong_huong"[^>]*>(.*?)</textarea>', page, re.DOTALL).group(1)
    assert "Báo cáo tháng 3/2024 (đã hoàn thành):\n- Sửa chữa loa trạm truyền thanh Yên Hồ\n- Tăng tin bài" in box
    assert "Số chuyên mục CCHC phát sóng: 4 số trong quý I/2024" in page


def test_a_communes_own_report_as_a_decree_30_docx(dep, make_app, make_user):
    client = make_app(dep).test_client()
    name, password = make_user(dep, "unit_officer", "xa-an-dung")
    login(client, name, password)
    page = client.get(URL + "?period=2024-03")
    assert page.status_code == 200
    assert "UBND xã An Dũng" in page.get_data(as_text=True)
    assert client.get(URL + "?period=2024-03&unit=xa-yen-ho").status_code == 403
    token = csrf_token(client, URL + "?period=2024-03")
    assert client.post(URL + "?period=2024-03&unit=xa-yen-ho",
                       data={"csrf_token": token, "de_xuat": "x", "action": "final"}).status_code == 403
    assert written.get_written(dep.db, dep.plan, Period.parse("2024-03"), "xa-yen-ho") is None
    response = post(client, {"danh_gia": "Xã duy trì phát thanh 11 tin bài.", "action": "final"})
    assert response.status_code == 303
    content = client.get(URL + "/tai-ve?period=2024-03").data
    text = docx_text(content)
    assert "ỦY BAN NHÂN DÂN\nXÃ AN DŨNG" in text
    assert "Kính gửi: Ủy ban nhân dân huyện Đức Thọ (qua Phòng Văn hóa - Thông tin)." in text
    assert "Phát sóng (truyền thanh, truyền hình): 11, do 1 đơn vị thực hiện (UBND xã An Dũng 11)." in text
    assert "Xã duy trì phát thanh 11 tin bài." in text
    assert "Trung tâm Văn hóa - Truyền thông huyện 6" not in text  # not the commune's


def test_the_cli_writes_a_communes_own_draft_in_any_format(dep):
    out = dep.config.folder / "an-dung.md"
    result = CliRunner().invoke(make_cli(dep.config.path), ["report-narrative", "-p", "2024-03", "--unit", "xa-an-dung",
                                                            "-f", "md", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "Phát sóng (truyền thanh, truyền hình): 11, do 1 đơn vị thực hiện (UBND xã An Dũng 11)." in text
    assert "Tin, bài đăng tải: 66" not in text  # the district's total is not the commune's
    bad = CliRunner().invoke(make_cli(dep.config.path), ["report-narrative", "-p", "2024-03", "--unit", "xa-khong-co"])
    assert bad.exit_code != 0 and "unknown unit 'xa-khong-co'" in bad.output


@pytest.mark.parametrize("role", ["viewer", "contest_manager"])
def test_who_may_not_write(dep, make_app, make_user, role):
    client = make_app(dep).test_client()
    name, password = make_user(dep, role)
    login(client, name, password)
    if role == "contest_manager":
        assert client.get(URL + "?period=2024-03").status_code == 403
        return
    page = client.get(URL + "?period=2024-03")
    assert page.status_code == 200 and "Lưu bản nháp" not in page.get_data(as_text=True)
    token = csrf_token(client, URL + "?period=2024-03")
    assert client.post(URL + "?period=2024-03", data={"csrf_token": token, "action": "save"}).status_code == 403


def test_without_a_period_the_page_opens_on_last_month_within_the_plan(admin):
    page = admin.get(URL).get_data(as_text=True)
    assert "Báo cáo kết quả tuyên truyền CCHC — Tháng 12/2024" in page  # the 2024 plan has ended
    from ccch_export.pages import default_period

    from ccch_core.planfile import load_plan

    plan = load_plan(DEMO.parent / "plan.toml")
    assert str(default_period(plan, dt.datetime(2024, 4, 10, tzinfo=dt.UTC))) == "2024-03"
    assert str(default_period(plan, dt.datetime(2024, 1, 10, tzinfo=dt.UTC))) == "2024-01"  # not December 2023


@pytest.mark.parametrize(("query", "status", "words"), [
    ("period=2024-13", 400, "Kỳ báo cáo không hợp lệ (ví dụ: 2024-03"),
    ("period=" + "x" * 300, 400, "Kỳ báo cáo không hợp lệ (ví dụ: 2024-03"),
    ("period=2023-12", 400, "Kỳ Tháng 12/2023 nằm ngoài thời gian của kế hoạch."),
    ("period=2024-03&unit=khong-co", 404, ""),
])
def test_bad_periods_and_units_are_clear_errors_not_500s(admin, query, status, words):
    for url in (URL, f"{URL}/tai-ve"):
        response = admin.get(f"{url}?{query}")
        assert response.status_code == status, (url, response.status_code)
        assert response.mimetype == "text/html" and words in response.get_data(as_text=True), url


def test_bad_actions_and_overlong_texts_are_refused_with_the_text_kept(dep, admin):
    assert post(admin, {"action": "xoa"}).status_code == 400
    response = post(admin, {"danh_gia": "x" * (written.MAX_TEXT + 1), "action": "save"})
    assert response.status_code == 400
    assert "Mục quá dài: 20.001 ký tự, tối đa 20.000." in response.get_data(as_text=True)
    assert written.get_written(dep.db, dep.plan, Period.parse("2024-03"), None) is None


def test_a_deployment_template_renames_and_reorders(make_deployment, make_app, make_user, tmp_path):
    template = tmp_path / "mau.toml"
    template.write_text('[[sections]]\nkey = "ket_qua"\ntitle = "Kết quả nổi bật"\n'
                        '[[sections]]\nkey = "de_xuat"\ntitle = "Kiến nghị với cấp trên"\n', encoding="utf-8")
    dep = make_deployment(["export"], plugin_settings={"export": {"template": str(template)}})
    client = make_app(dep).test_client()
    name, password = make_user(dep, "plan_admin")
    login(client, name, password)
    page = client.get(URL + "?period=2024-03").get_data(as_text=True)
    assert page.index("1. Kết quả nổi bật") < page.index("2. Kiến nghị với cấp trên")
    assert "Đánh giá chung" not in page


def test_a_bad_template_stops_the_deployment_with_file_and_key(make_deployment, tmp_path):
    template = tmp_path / "mau.toml"
    template.write_text('[sentences]\ncount = "{label} {so_luong}"\n', encoding="utf-8")
    with pytest.raises(Exception, match=r"mau.toml: sentences.count: unknown placeholder \{so_luong\}"):
        make_deployment(["export"], plugin_settings={"export": {"template": str(template)}})
