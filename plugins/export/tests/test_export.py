"""Every format opened with its own reader; formula injection; unit scope in the CLI and the web."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile

import docx
import openpyxl
import pytest
from ccch_export.plugin import export_report
from click.testing import CliRunner
from docx.shared import Mm

from ccch_core import progress
from ccch_core.cli import make_cli
from ccch_core.testing import login

AFTER = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)
EVIL = "=HYPERLINK(\"http://evil.example\",\"Bấm vào đây\")"


@pytest.fixture
def dep(make_deployment):
    dep = make_deployment(["export"])
    plan, db = dep.plan, dep.db
    progress.record_measurement(db, plan, "I7", "trung-tam-vhtt", "2024-03", 2)
    progress.record_measurement(db, plan, "I5", "xa-an-dung.truyen-thanh", "2024-03", "có")
    progress.record_measurement(db, plan, "I5", "xa-yen-ho.truyen-thanh", "2024-03", "không")
    progress.record_measurement(db, plan, "I2", "trung-tam-hcc", "2024-03", numerator=90, denominator=100)
    progress.record_activity_report(db, plan, "xa-an-dung", "2024-03",
                                    [{"category": "broadcast", "count": 4, "title": "Nêu gương người tốt, việc tốt",
                                      "task_id": "T11"}], now=dt.datetime(2024, 4, 2, tzinfo=dt.UTC))
    progress.record_activity_report(db, plan, "xa-yen-ho", "2024-03",
                                    [{"category": "published", "count": 1, "title": EVIL}],
                                    now=dt.datetime(2024, 4, 9, tzinfo=dt.UTC))
    return dep


def produce(dep, fmt, period="2024-03", unit=None):
    content, filename, media_type = export_report(dep, period, unit, fmt, now=AFTER)
    return content, filename, media_type


def test_docx_has_the_decree_30_layout_and_the_figures(dep):
    content, filename, media_type = produce(dep, "docx")
    assert filename == "bao-cao-duc-tho-2024-2024-03.docx"
    assert media_type.endswith("wordprocessingml.document")
    document = docx.Document(io.BytesIO(content))
    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    assert (round(section.left_margin.mm), round(section.right_margin.mm)) == (30, 15)
    assert round(section.top_margin.mm) == 20 and section.different_first_page_header_footer
    assert "PAGE" in section.header._element.xml  # page numbers from page 2
    left, right = document.tables[0].rows[0].cells
    assert [p.text for p in left.paragraphs if p.text] == ["ỦY BAN NHÂN DÂN\nHUYỆN ĐỨC THỌ", "Số: ……/BC-UBND"]
    assert left.paragraphs[0].runs[0].bold
    texts = [p.text for p in right.paragraphs if p.text]
    assert texts[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    date_paragraph = next(p for p in right.paragraphs if p.text.startswith("Đức Thọ, ngày"))
    assert date_paragraph.text == "Đức Thọ, ngày 15 tháng 01 năm 2025"
    assert date_paragraph.runs[0].italic
    body = [p for p in document.paragraphs if p.text]
    assert body[0].text == "BÁO CÁO" and body[0].runs[0].bold
    assert body[1].text == "Kết quả công tác tuyên truyền cải cách hành chính tháng 3/2024"
    assert any(p.text == "I. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU" for p in body)
    fonts = {r.font.name for p in body for r in p.runs}
    assert fonts == {"Times New Roman"}
    assert {r.font.size.pt for p in body if p.text.startswith("Trong tháng") for r in p.runs} == {14}
    indicators = document.tables[1]
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in indicators.rows[1:]}
    assert rows["I7"][2:4] == ["2", "1,25"] and rows["I7"][5] == "Đạt"
    assert rows["I2"][2] == "90"
    assert rows["I5"][2] == "6,2"  # 1 of 16 stations: 6.25 %, cut to one decimal as the web shows it
    closing = document.tables[-1].rows[0].cells
    recipients = closing[0].paragraphs
    assert recipients[0].text == "Nơi nhận:" and recipients[0].runs[0].bold and recipients[0].runs[0].italic
    assert recipients[-1].text == "- Lưu: VT, VH."
    signature = [p.text for p in closing[1].paragraphs if p.text.strip()]
    assert signature == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Hoàng Xuân Hùng"]


def test_docx_of_a_commune_is_addressed_up_the_chain(dep):
    content, _, _ = produce(dep, "docx", unit="xa-an-dung")
    document = docx.Document(io.BytesIO(content))
    left = document.tables[0].rows[0].cells[0]
    assert left.paragraphs[0].text == "ỦY BAN NHÂN DÂN\nXÃ AN DŨNG" or left.paragraphs[0].text.endswith("XÃ AN DŨNG")
    texts = [p.text for p in document.paragraphs]
    assert "Kính gửi: Ủy ban nhân dân huyện Đức Thọ (qua Phòng Văn hóa - Thông tin)." in texts
    date = next(p.text for p in document.tables[0].rows[0].cells[1].paragraphs if "ngày" in p.text)
    assert date.startswith("An Dũng, ngày")


def test_xlsx_one_sheet_per_table_typed_and_frozen(dep):
    content, _filename, _ = produce(dep, "xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert len(workbook.sheetnames) == 5  # the fifth: monthly evidence of the tasks done "thường xuyên" (#19)
    sheet = workbook.worksheets[0]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Mã", "Chỉ tiêu", "Kết quả", "Mục tiêu"] and sheet["A1"].font.bold
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert rows["I7"][2].value == 2 and isinstance(rows["I7"][3].value, float)
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["A"].width
    completeness = workbook.worksheets[3]
    submitted = [r[3].value for r in completeness.iter_rows(min_row=2) if r[3].value is not None]
    assert submitted and all(isinstance(v, dt.datetime) for v in submitted)
    # Stored in Vietnam time: 2024-04-02T00:00Z is 07:00 in Đức Thọ.
    assert dt.datetime(2024, 4, 2, 7, 0) in submitted


def test_csv_zip_is_utf8_with_bom_and_complete(dep):
    content, filename, media_type = produce(dep, "csv")
    assert filename.endswith(".zip") and media_type == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = archive.namelist()
    assert names == ["01-chi_tieu.csv", "02-hoat_dong.csv", "03-nhiem_vu.csv", "04-tinh_hinh_bao_cao.csv",
                     "05-minh_chung.csv"]  # the evidence of the tasks done "thường xuyên" (#19)
    raw = archive.read(names[2])
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:2] == ["TT", "Nhiệm vụ"] and len(rows) == 13
    assert rows[11][1] == "Tuyên truyền trên hệ thống Trạm truyền thanh cơ sở." and rows[11][5] == "4"


def test_json_has_the_documented_schema(dep):
    content, _, _ = produce(dep, "json")
    data = json.loads(content)
    assert data["schema"] == "ccch.report/1"
    assert data["period"] == {"key": "2024-03", "type": "month", "label": "Tháng 3/2024",
                              "start": "2024-03-01", "end": "2024-03-31"}
    table = data["sections"][0]["blocks"][1]
    assert table["type"] == "table" and table["columns"][2] == {"key": "ket_qua", "label": "Kết quả", "kind": "number"}
    assert ["I7", "Số chuyên mục CCHC phát sóng", 2.0, 1.25] == table["rows"][6][:4]


def test_markdown_for_a_quick_look(dep):
    content, _, _ = produce(dep, "md")
    text = content.decode("utf-8")
    assert text.startswith("# Báo cáo kết quả công tác tuyên truyền CCHC tháng 3/2024")
    assert "| I7 | Số chuyên mục CCHC phát sóng | 2 | 1,25 |" in text


def test_formula_injection_is_neutralised_in_csv_and_xlsx(dep):
    runner = CliRunner()
    config = dep.config.path
    out = dep.config.folder / "items.csv"
    result = runner.invoke(make_cli(config), ["export", "activity_items", "-f", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    titles = [r[7] for r in rows[1:]]
    assert "'" + EVIL in titles and EVIL not in titles
    xlsx = dep.config.folder / "items.xlsx"
    assert runner.invoke(make_cli(config), ["export", "activity_items", "-f", "xlsx", "-o", str(xlsx)]).exit_code == 0
    sheet = openpyxl.load_workbook(xlsx).worksheets[0]
    values = [c.value for c in sheet["H"][1:]]
    assert "'" + EVIL in values
    assert all(c.data_type != "f" for c in sheet["H"])


def test_cli_export_json_and_scope(dep):
    runner = CliRunner()
    config = dep.config.path
    out = dep.config.folder / "m.json"
    result = runner.invoke(make_cli(config), ["export", "measurements", "-f", "json", "-o", str(out),
                                              "--unit", "xa-an-dung", "--period", "2024-Q1"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["table"] == "measurements" and data["unit"] == "xa-an-dung"
    assert [r[2] for r in data["rows"]] == ["xa-an-dung.truyen-thanh"]
    listing = runner.invoke(make_cli(config), ["export", "--list"])
    assert "measurements" in listing.output and "activity_items" in listing.output
    bad = runner.invoke(make_cli(config), ["export", "nothing"])
    assert bad.exit_code == 2 and "unknown table" in bad.output


def test_cli_report_command(dep):
    runner = CliRunner()
    out = dep.config.folder / "q1.docx"
    result = runner.invoke(make_cli(dep.config.path), ["report", "--period", "2024-Q1", "--unit", "xa-an-dung",
                                                       "--format", "docx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert docx.Document(out).paragraphs
    for args, message in ((["--period", "2024-13"], "--period"), (["--period", "2023-01"], "outside the plan"),
                          (["--period", "2024-03", "--unit", "xa-khong-co"], "unknown unit"),
                          (["--period", "2024-03", "--format", "pdf"], "unknown format")):
        bad = runner.invoke(make_cli(dep.config.path), ["report", *args, "-o", str(out)])
        assert bad.exit_code == 2 and message in bad.output


def test_web_downloads_respect_the_unit_scope(dep, make_app, make_user):
    app = make_app(dep)
    officer, password = make_user(dep, "unit_officer", "xa-an-dung")
    client = app.test_client()
    assert login(client, officer, password).status_code == 302
    page = client.get("/?period=2024-03").get_data(as_text=True)
    assert "Tải báo cáo" in page and 'value="xa-an-dung"' in page and 'value="xa-yen-ho"' not in page
    own = client.get("/xuat/bao-cao?period=2024-03&unit=xa-an-dung&format=xlsx")
    assert own.status_code == 200 and "attachment" in own.headers["Content-Disposition"]
    assert client.get("/xuat/bao-cao?period=2024-03&unit=xa-yen-ho&format=docx").status_code == 403
    default = client.get("/xuat/bao-cao?period=2024-03&format=json")
    assert json.loads(default.data)["unit"]["id"] == "xa-an-dung"  # an officer's default is their unit
    data = client.get("/xuat/du-lieu/activity_items?format=csv")
    assert data.status_code == 200
    rows = list(csv.reader(io.StringIO(data.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r[1] for r in rows[1:]} == {"xa-an-dung"}
    assert client.get("/xuat/du-lieu/activity_items?format=csv&unit=xa-yen-ho").status_code == 403
    assert client.get("/xuat/bao-cao?period=2024-13&format=docx").status_code == 400
    assert client.get("/xuat/du-lieu/khong-co").status_code == 404


def test_web_admin_downloads_everything(dep, make_app, make_user):
    app = make_app(dep)
    admin, password = make_user(dep, "plan_admin")
    client = app.test_client()
    login(client, admin, password)
    whole = client.get("/xuat/bao-cao?period=2024-03&format=docx")
    assert whole.status_code == 200
    assert docx.Document(io.BytesIO(whole.data)).tables[0].rows[0].cells[0].paragraphs[0].text.startswith("ỦY BAN")
    listing = client.get("/xuat/du-lieu").get_data(as_text=True)
    assert "Số liệu chỉ tiêu" in listing
    xlsx = client.get("/xuat/du-lieu/measurements?format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).worksheets[0]
    assert sheet.max_row == 1 + 4


def test_viewer_cannot_download_raw_data(dep, make_app, make_user):
    app = make_app(dep)
    viewer, password = make_user(dep, "viewer")
    client = app.test_client()
    login(client, viewer, password)
    assert client.get("/xuat/du-lieu").status_code == 403
    assert client.get("/xuat/du-lieu/measurements?format=csv").status_code == 403
    assert client.get("/xuat/bao-cao?period=2024-03&format=md").status_code == 200


@pytest.mark.parametrize("role", ["viewer", "contest_manager"])
def test_a_units_report_answers_as_the_units_page_does(dep, make_app, make_user, role):
    """The finding: a viewer or a contest manager downloaded any unit's full report from
    /xuat/bao-cao?unit=…, while /bao-cao/<unit>/… refused them. One rule, one answer."""
    app = make_app(dep)
    name, password = make_user(dep, role)
    client = app.test_client()
    assert login(client, name, password).status_code == 302
    for unit in ("xa-duc-dong", "xa-an-dung", "ubnd-huyen"):
        assert client.get(f"/bao-cao/{unit}/2024-03").status_code == 403
        for format_name in ("docx", "json", "md"):
            refused = client.get(f"/xuat/bao-cao?period=2024-03&unit={unit}&format={format_name}")
            assert refused.status_code == 403, (unit, format_name)
            assert "Content-Disposition" not in refused.headers
    assert client.get("/xuat/bao-cao?period=2024-03&unit=xa-khong-co&format=md").status_code == 404
    # The whole plan's picture (what the dashboard shows) stays theirs, and the dashboard offers
    # nothing else.
    whole = client.get("/xuat/bao-cao?period=2024-03&format=json")
    assert whole.status_code == 200 and json.loads(whole.data)["unit"] is None
    page = client.get("/?period=2024-03").get_data(as_text=True)
    panel = page.split('id="export-unit"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([^"]*)"', panel) == [""]


def test_signatory_settings_are_checked(make_deployment):
    with pytest.raises(Exception, match="unknown unit 'xa-khong-co'"):
        make_deployment(["export"], plugin_settings={"export": {"signatories": {"xa-khong-co": {"name": "A"}}}})
    dep = make_deployment(["export"], plugin_settings={"export": {"signatories": {"xa-an-dung": {
        "authority": ["TM. ỦY BAN NHÂN DÂN"], "title": "CHỦ TỊCH", "name": "Nguyễn Văn A"}}}})
    content, _, _ = export_report(dep, "2024-03", "xa-an-dung", "docx", now=AFTER)
    signature = [p.text for p in docx.Document(io.BytesIO(content)).tables[-1].rows[0].cells[1].paragraphs
                 if p.text.strip()]
    assert signature == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Nguyễn Văn A"]


def test_mm_unit_sanity():
    assert round(Mm(30).mm) == 30
