"""Documents fit to sign (#18 part 5): the DOCX's addressee and recipients agree, "Ủy" is spelt
one way, table header rows repeat and rows do not split (checked in the XML and, rendered by
LibreOffice, in the PDF), figures are cut as the web cuts them; the XLSX has whole-word sheet
names, number formats, frozen headers and an A4 fit-to-width print set-up.

The PDF check needs LibreOffice Writer and poppler's pdftotext (Debian packages). As the browser
journeys do for Chromium, the set-up installs them when the tests run as root with apt (a fresh CI
machine) and otherwise fails with the command to run.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess

import docx
import openpyxl
import pytest
from ccch_export import tabular
from ccch_export.docx_nd30 import format_cell, one_spelling
from ccch_export.plugin import export_report
from docx.oxml.ns import qn
from export_testing import pdf_text

from ccch_core import progress
from ccch_core.report import Column

AFTER = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)


@pytest.fixture
def dep(make_deployment):
    dep = make_deployment(["export"])
    plan, db = dep.plan, dep.db
    # 3999 of 4000 procedures published: 99.975 %, which the web shows as 99,9 %.
    progress.record_measurement(db, plan, "I2", "trung-tam-hcc", "2024-03", numerator=3999, denominator=4000)
    progress.record_measurement(db, plan, "I7", "trung-tam-vhtt", "2024-03", 2)
    progress.record_activity_report(db, plan, "xa-an-dung", "2024-03",
                                    [{"category": "broadcast", "count": 4, "title": "Phát thanh", "task_id": "T11"}],
                                    now=dt.datetime(2024, 4, 2, tzinfo=dt.UTC))
    return dep


def produce(dep, fmt, period="2024-03", unit=None) -> bytes:
    return export_report(dep, period, unit, fmt, now=AFTER)[0]


def recipients_and_addressee(document) -> tuple[list[str], list[str]]:
    addressee = [p.text for p in document.paragraphs if p.text.startswith("Kính gửi")]
    closing = document.tables[-1].rows[0].cells[0]
    return addressee, [p.text for p in closing.paragraphs if p.text.startswith("- ")]


def test_a_report_without_addressee_has_no_nhu_tren(dep):
    document = docx.Document(io.BytesIO(produce(dep, "docx")))
    addressee, recipients = recipients_and_addressee(document)
    assert addressee == []  # the whole plan's monthly report stays inside the district
    assert recipients == ["- Lưu: VT, VH."]


@pytest.mark.parametrize(("period", "unit"), [("2024-03", "xa-an-dung"), ("2024-Q1", None)])
def test_a_report_with_addressee_lists_it_as_nhu_tren(dep, period, unit):
    document = docx.Document(io.BytesIO(produce(dep, "docx", period=period, unit=unit)))
    addressee, recipients = recipients_and_addressee(document)
    assert len(addressee) == 1 and addressee[0].endswith(".")
    assert recipients[0] == "- Như trên;" and recipients[-1] == "- Lưu: VT, VH."


def test_uy_is_spelt_one_way_in_header_and_signature(dep):
    document = docx.Document(io.BytesIO(produce(dep, "docx")))
    text = "\n".join(p.text for t in document.tables for row in t.rows for c in row.cells for p in c.paragraphs)
    assert "ỦY BAN NHÂN DÂN\nHUYỆN ĐỨC THỌ" in text
    assert "TM. ỦY BAN NHÂN DÂN" in text  # the plan file writes "TM. UỶ BAN NHÂN DÂN"
    assert "UỶ" not in text and "Uỷ" not in text
    assert one_spelling("Uỷ ban nhân dân; UỶ BAN; uỷ quyền") == "Ủy ban nhân dân; ỦY BAN; ủy quyền"


def test_table_header_rows_repeat_and_rows_do_not_split(dep):
    document = docx.Document(io.BytesIO(produce(dep, "docx")))
    data_tables = document.tables[1:-1]
    assert len(data_tables) >= 3
    for table in data_tables:
        rows = table.rows
        header = rows[0]._tr.trPr
        assert header is not None and header.find(qn("w:tblHeader")) is not None
        for row in rows:
            assert row._tr.trPr.find(qn("w:cantSplit")) is not None
        assert all(p.paragraph_format.keep_with_next for c in rows[0].cells for p in c.paragraphs)
        for row in rows[1:]:
            assert row._tr.trPr.find(qn("w:tblHeader")) is None


def test_percentages_are_cut_as_the_web_cuts_them(dep):
    document = docx.Document(io.BytesIO(produce(dep, "docx")))
    indicators = document.tables[1]
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in indicators.rows[1:]}
    assert rows["I2"][2] == "99,9" and rows["I2"][4] == "%"  # the web: 99,9%; never 99,97 nor 100
    assert rows["I2"][5] != "Đạt"
    assert format_cell(99.975, "percent") == "99,9"
    assert format_cell(1234567, "integer") == "1.234.567"
    assert format_cell(1.25, "number") == "1,25"


def test_xlsx_sheet_names_whole_words_formats_frozen_and_print_setup(dep):
    workbook = openpyxl.load_workbook(io.BytesIO(produce(dep, "xlsx")))
    for name in workbook.sheetnames:
        assert len(name) <= 31
    assert workbook.sheetnames[0] == "Kết quả thực hiện chỉ tiêu"  # not "…chỉ tiêu — Th"
    sheet = workbook.worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert rows["I2"][2].value == pytest.approx(99.9) and rows["I2"][2].number_format == "#,##0.0#"
    assert rows["I7"][2].value == 2 and rows["I7"][2].number_format == "#,##0"
    counts = next(ws for ws in workbook.worksheets if ws["B1"].value == "Nhiệm vụ")
    assert counts.cell(row=2, column=6).number_format == "#,##0"


@pytest.mark.parametrize(("title", "expected"), [
    ("Kết quả thực hiện chỉ tiêu — Tháng 3/2024", "Kết quả thực hiện chỉ tiêu"),
    ("Ngắn", "Ngắn"),
    ("Mộttừrấtdàikhôngcókhoảngtrắngnàocảđâuđấy", "Mộttừrấtdàikhôngcókhoảngtrắngnà"),
    ("Số người dự thi theo đơn vị: [vòng 1]", "Số người dự thi theo đơn vị"),
])
def test_sheet_names_are_cut_at_a_word(title, expected):
    assert tabular.sheet_name(title, set()) == expected


def test_sheet_names_stay_unique_and_whole_words():
    taken: set[str] = set()
    first = tabular.sheet_name("Tình hình gửi báo cáo của các đơn vị cấp xã", taken)
    second = tabular.sheet_name("Tình hình gửi báo cáo của các đơn vị cấp xã", taken)
    assert first == "Tình hình gửi báo cáo của các" and second == "Tình hình gửi báo cáo của (2)"
    assert len(second) <= 31


def test_raw_tables_keep_general_format_for_speed():
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    tabular.add_sheet(workbook, "Dữ liệu", [Column("id", "Mã", "integer")], iter([(12345,)]), set())
    buffer = io.BytesIO()
    workbook.save(buffer)
    sheet = openpyxl.load_workbook(buffer).worksheets[0]
    assert sheet["A2"].value == 12345 and sheet["A2"].number_format == "General"


# -- rendered by LibreOffice ----------------------------------------------------------------------


def pdf_pages(content: bytes, folder) -> list[str]:
    """The DOCX rendered to PDF by LibreOffice, as the text of each page, columns kept on a line."""
    text = pdf_text(content, folder, layout=True)
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def test_the_pdf_repeats_header_rows_and_agrees_on_addressee(dep, tmp_path):
    plan, db = dep.plan, dep.db
    # Every unit reports, so the reporting table runs over several pages.
    for unit in plan.units:
        if unit.kind == "commune":
            progress.record_activity_report(db, plan, unit.id, "2024-03",
                                            [{"category": "broadcast", "count": 2, "title": "Phát thanh"}],
                                            now=dt.datetime(2024, 4, 3, tzinfo=dt.UTC))
    pages = pdf_pages(produce(dep, "docx", unit=None, period="2024-Q1"), tmp_path)
    assert len(pages) >= 3
    # A row of the reporting table: its unit, then "Tháng" and the due date on the same line.
    row = re.compile(r"Tháng\s+\d\d/\d\d/\d{4}")
    holding = [i for i, page in enumerate(pages) if row.search(page)]
    assert len(holding) >= 2, "the reporting table should run over two pages at least"
    for i in holding:
        assert "Hạn nộp" in pages[i] and "Ngày nộp" in pages[i], \
            f"page {i + 1} holds rows of the reporting table without its header row"
    whole = "\n".join(pages)
    assert ("Kính gửi:" in whole) == ("- Như trên;" in whole)
    assert "UỶ" not in whole
    for page in pages:  # no page ends on a table's header row
        lines = [line for line in page.splitlines() if line.strip()]
        assert not lines or "Hạn nộp" not in lines[-1] and "(hết ngày)" not in lines[-1]
    images = subprocess.run(["pdfimages", "-list", str(tmp_path / "bao-cao.pdf")], check=True, capture_output=True,
                            text=True).stdout.splitlines()[2:]
    assert len(images) >= 2, "the charts should be pictures in the PDF"
    signature = next(page for page in pages if "Nơi nhận:" in page)
    assert "PHÓ CHỦ TỊCH" in signature and "Hoàng Xuân Hùng" in signature  # the block is not split


def test_charts_come_out_as_pictures_with_their_words(dep):
    document = docx.Document(io.BytesIO(produce(dep, "docx")))
    shapes = list(document.inline_shapes)
    assert len(shapes) >= 2  # progress toward the targets, the year's reporting grid
    titles = [s._inline.docPr.get("title") for s in shapes]
    assert "Tiến độ đạt mục tiêu — Tháng 3/2024" in titles
    assert "Báo cáo hằng tháng của các đơn vị năm 2024" in titles
    assert "Xu hướng các chỉ tiêu theo tháng đến tháng 3/2024" in titles  # January to March
    assert all(s._inline.docPr.get("descr") for s in shapes)
    assert all(abs(s.width.cm - 16.0) < 0.1 for s in shapes)  # the text width, within the margins
    captions = [p.text for p in document.paragraphs]
    assert "Tiến độ đạt mục tiêu — Tháng 3/2024" in captions


def test_figure_png_draws_vietnamese_text_and_refuses_garbage():
    from ccch_export.docx_nd30 import figure_png

    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 40" width="100%">'
           '<text x="4" y="24" font-family="system-ui, sans-serif">Đúng hạn, trễ hạn, chưa nộp</text></svg>')
    png = figure_png(svg, 400)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    blank = figure_png(svg.replace("Đúng hạn, trễ hạn, chưa nộp", ""), 400)
    assert png != blank  # the letters were drawn (the font is found without system fonts)
    assert figure_png("<not svg") is None
