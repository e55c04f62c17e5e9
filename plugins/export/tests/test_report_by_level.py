"""The monthly report of a national plan summarises by level (#26 part 4): the DOCX to sign
counts the reports per province, then lists the units late or overdue, and points to the annex;
the full list is a sheet of the same report's XLSX. Đức Thọ's report keeps its full table (it is
small). The plan is bench/national_plan.py's at 5 % (17 provinces, 166 communes)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import docx
import openpyxl
import pytest
from ccch_export.plugin import export_report

from ccch_core.periods import Period

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    import national_pages_bench

    dep = national_pages_bench.load(tmp_path_factory.mktemp("national-report"), 0.05, months=3)
    yield dep
    dep.close()


def tables_of(content: bytes) -> list[list[list[str]]]:
    document = docx.Document(io.BytesIO(content))
    return [[[c.text for c in row.cells] for row in table.rows] for table in document.tables]


def test_the_docx_counts_per_province_then_lists_the_late(national):
    plan = national.plan
    provinces = [u for u in plan.units if u.kind == "province"]
    content, _, _ = export_report(national, "2024-03", None, "docx")
    tables = tables_of(content)
    by_level = next(t for t in tables if t[0][:2] == ["Đơn vị", "Phải nộp"])
    assert [row[0] for row in by_level[1:]] == [p.name for p in provinces]
    assert sum(int(row[1]) for row in by_level[1:]) == len(plan.expected_reporters(Period.parse("2024-03")))
    late = next(t for t in tables if t[0][:2] == ["Đơn vị", "Thuộc"])
    assert late[1:] and all(row[4] in ("Trễ hạn", "Chưa nộp (quá hạn)") for row in late[1:])
    assert all(row[1] in {p.name for p in provinces} for row in late[1:])
    # No table lists every commune: the full list is the annex.
    assert not any(t[0][:3] == ["Đơn vị", "Kỳ", "Hạn nộp (hết ngày)"] for t in tables)
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)
    assert "Danh sách đầy đủ 166 báo cáo phải nộp ở phụ lục" in text


def test_the_xlsx_of_the_same_report_carries_the_full_list(national):
    content, _, _ = export_report(national, "2024-03", None, "xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    full = next(ws for ws in workbook.worksheets if ws.title.startswith("Tình hình gửi báo cáo (đầy đủ"))
    rows = [r for r in full.iter_rows(values_only=True) if r and r[0]]
    assert sum(1 for r in rows if isinstance(r[1], str) and r[1].startswith("Tháng 3")) == 166




def test_a_small_plans_docx_keeps_its_full_table(make_deployment):
    dep = make_deployment(["export"])  # Đức Thọ: 23 units owe a monthly report
    content, _, _ = export_report(dep, "2024-03", None, "docx")
    tables = tables_of(content)
    full = next(t for t in tables if t[0][:3] == ["Đơn vị", "Kỳ", "Hạn nộp (hết ngày)"])
    assert len(full) - 1 >= 23
    assert not any(t[0][:2] == ["Đơn vị", "Phải nộp"] for t in tables)


def test_a_tables_copied_rows_are_the_rows_python_docx_writes():
    """The DOCX's tables copy their first plain row for the others (thousands of cells at national
    size): the XML is the same as python-docx building every cell, for plain texts, texts it
    writes with other elements (tab, line break, spaces at an end, empty) and a text with a
    character XML cannot hold."""
    from ccch_export.docx_nd30 import _add_table, a4_document

    from ccch_core.report import Column, Table

    rows = [("xa-1", "UBND xã An Dũng", 12, 97.25, None), ("xa-2", "Uỷ ban\tnhân dân", 0, 100.0, "x"),
            ("xa-3", " có khoảng trắng ", 3, 0.5, ""), ("xa-4", "hai\ndòng", 1_234_567, 12.0, "ghi chú"),
            ("xa-5", "ký tự\x07lạ", -1, None, "–")] * 3
    block = Table(key="t", title="Bảng thử", rows=rows,
                  columns=[Column("ma", "Mã"), Column("ten", "Tên"), Column("so", "Số", "integer"),
                           Column("ty_le", "Tỷ lệ", "percent"), Column("ghi_chu", "Ghi chú")])
    built = []
    for copy_rows in (True, False):
        document = a4_document()
        _add_table(document, block, copy_rows=copy_rows)
        built.append(document.element.body.xml)
    assert built[0] == built[1]
    table = docx.Document(io.BytesIO(_saved(built_document(block)))).tables[0]
    assert [c.text for c in table.rows[1].cells] == ["xa-1", "UBND xã An Dũng", "12", "97,2", "–"]
    assert table.rows[2].cells[1].text == "Ủy ban\tnhân dân" and len(table.rows) == 1 + len(rows)


def built_document(block):
    from ccch_export.docx_nd30 import _add_table, a4_document

    document = a4_document()
    _add_table(document, block)
    return document


def _saved(document) -> bytes:
    stream = io.BytesIO()
    document.save(stream)
    return stream.getvalue()
