"""The streaming XLSX writer of raw data tables (ccch_export.xlsx_stream), read back with openpyxl:
the same cells, types and formats as the openpyxl path it replaced, the sheet set-up of issue #18,
continuation sheets, and text that would break XML or run as a formula."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from ccch_export import tabular
from ccch_export.xlsx_stream import write_xlsx
from openpyxl import Workbook

from ccch_core.report import Column

COLUMNS = [
    Column("at", "Thời điểm", "datetime"), Column("name", "Họ tên <ghi chú> & \"trích\"", "text"),
    Column("score", "Điểm", "integer"), Column("share", "Tỉ lệ", "percent"), Column("day", "Ngày", "date"),
    Column("value", "Giá trị", "number"),
]
ROWS = [
    ("2024-03-01T01:02:03+00:00", "Nguyễn Văn A", 5, 87.5, dt.date(2024, 3, 1), 1.5),
    (dt.datetime(2024, 2, 29, 17, 0, tzinfo=dt.UTC), "=HYPERLINK(\"x\")", 4, 100, "2024-03-02", 2),
    ("2024-03-01 08:00:00", "a & b <c> \x01\x1f", None, None, None, None),
    (None, None, True, 0, None, -3.25),
    ("không phải thời điểm", 12345, "7", 50.0, dt.date(1900, 3, 1), 1e20),
]


def read(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def stream_of(rows, **options) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, "Phiếu khảo sát: tháng 3/2024", COLUMNS, rows, **options)
    return buffer.getvalue()


def openpyxl_of(rows) -> bytes:
    """The writer this one replaced for data tables (still the one of reports' small tables)."""
    workbook = Workbook(write_only=True)
    tabular.add_sheet(workbook, "Phiếu khảo sát: tháng 3/2024", COLUMNS, rows, set())
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def cells(sheet):
    return [[(c.value, c.number_format) for c in row] for row in sheet.iter_rows()]


def test_same_cells_types_and_formats_as_the_openpyxl_path():
    ours, theirs = read(stream_of(ROWS)).worksheets[0], read(openpyxl_of(ROWS)).worksheets[0]
    assert ours.title == theirs.title == "Phiếu khảo sát tháng 3 2024"
    assert cells(ours) == cells(theirs)
    assert ours["A2"].value == dt.datetime(2024, 3, 1, 8, 2, 3)  # Vietnam time
    assert ours["B3"].value == "'=HYPERLINK(\"x\")"  # neutralised, not a formula
    assert ours["B4"].value == "a & b <c> "  # control characters a worksheet cannot hold are dropped
    assert ours["D2"].value == 0.875 and ours["D2"].number_format == "0.0%"


def test_sheet_set_up_as_issue_18_made_it():
    sheet = read(stream_of(ROWS)).worksheets[0]
    theirs = read(openpyxl_of(ROWS)).worksheets[0]
    assert sheet.freeze_panes == "A2" == theirs.freeze_panes
    assert sheet["A1"].font.b and sheet["A1"].alignment.wrap_text
    assert sheet.print_title_rows == "$1:$1" == theirs.print_title_rows
    assert sheet.page_setup.paperSize == 9 and sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.page_setup.orientation == "portrait" == theirs.page_setup.orientation  # six columns
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.print_options.gridLines
    for letter in "ABCDEF":
        assert sheet.column_dimensions[letter].width == theirs.column_dimensions[letter].width


def test_a_table_longer_than_a_sheet_continues_on_the_next():
    rows = [(None, f"người {i}", i, None, None, None) for i in range(7)]
    data = stream_of(rows, max_rows=3)
    book = read(data)
    assert book.sheetnames == ["Phiếu khảo sát tháng 3 2024", "Phiếu khảo sát tháng 3 2024 (2)",
                               "Phiếu khảo sát tháng 3 2024 (3)"]
    assert [[r[2] for r in s.iter_rows(min_row=2, values_only=True)] for s in book] == [[0, 1, 2], [3, 4, 5], [6]]
    assert all(s["A1"].value == "Thời điểm" and s.freeze_panes == "A2" for s in book)
    # Exactly full: no empty sheet after it.
    assert read(stream_of(rows[:6], max_rows=3)).sheetnames[-1] == "Phiếu khảo sát tháng 3 2024 (2)"


def test_empty_table_is_a_workbook_with_its_header():
    sheet = read(stream_of([])).worksheets[0]
    assert [c.value for c in sheet[1]] == [c.label for c in COLUMNS] and sheet.max_row == 1


def test_a_sheet_name_with_an_apostrophe_keeps_its_print_titles():
    buffer = io.BytesIO()
    write_xlsx(buffer, "Ý kiến 'khác' & <đề xuất>", COLUMNS, ROWS[:1])
    sheet = read(buffer.getvalue()).worksheets[0]
    assert sheet.title == "Ý kiến 'khác' & <đề xuất>" and sheet.print_title_rows == "$1:$1"


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match="a row has 2 cells for 6 columns"):
        stream_of([("2024-03-01T01:02:03+00:00", "x")])


def test_rows_are_counted_as_they_are_written():
    seen = []
    buffer = io.BytesIO()
    assert write_xlsx(buffer, "t", COLUMNS, [ROWS[0]] * 2500, on_row=seen.append) == 2500
    assert sum(seen) == 2500 and seen[:2] == [1000, 1000]
