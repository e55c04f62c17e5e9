"""The report model: the core's sections, unit scope, and plugin sections through the hook."""

from __future__ import annotations

import datetime as dt

import pytest
from ccch_testing import load_plugin_samples

from ccch_core import progress
from ccch_core.report import (
    Column,
    Paragraph,
    Section,
    Table,
    build_report,
    lower_first,
)

samples = load_plugin_samples()
AFTER = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)


@pytest.fixture
def recorded(make_deployment):
    dep = make_deployment()
    plan, db = dep.plan, dep.db
    progress.record_measurement(db, plan, "I7", "trung-tam-vhtt", "2024-03", 2)
    progress.record_measurement(db, plan, "I8", "xa-an-dung", "2024-03", 1)
    progress.record_measurement(db, plan, "I5", "xa-an-dung.truyen-thanh", "2024-03", "có")
    progress.record_measurement(db, plan, "Q1", "trung-tam-vhtt", "2024-03", "có")
    progress.record_activity_report(db, plan, "xa-an-dung", "2024-03",
                                    [{"category": "broadcast", "count": 4, "task_id": "T11"}],
                                    now=dt.datetime(2024, 4, 2, tzinfo=dt.UTC))
    return dep


def test_core_sections_and_figures(recorded):
    report = build_report(recorded, "2024-03", now=AFTER)
    # minh_chung: the monthly evidence of the tasks the plan says are done "thường xuyên" (#19).
    assert [s.key for s in report.sections] == ["chi_tieu", "hoat_dong", "nhiem_vu", "bao_cao", "minh_chung"]
    assert report.title == ("Báo cáo kết quả công tác tuyên truyền CCHC tháng 3/2024 — "
                            "Ủy ban nhân dân huyện Đức Thọ")
    indicators = {row[0]: row for row in report.tables()[0].rows}
    assert indicators["I7"][2] == 2 and indicators["I7"][3] == pytest.approx(1.25)
    assert indicators["Q1"][2:4] == ("Có", "Có")
    activity = dict(report.tables()[1].rows)
    assert activity["Phát sóng (truyền thanh, truyền hình)"] == 4
    tasks = {row[0]: row for row in report.tables()[2].rows}
    assert tasks[11][5] == 4 and tasks[2][5] == 0
    completeness = report.tables()[3]
    assert len(completeness.rows) == 23
    an_dung = next(r for r in completeness.rows if r[0] == "UBND xã An Dũng")
    assert an_dung[2] == dt.date(2024, 4, 5)  # the due day, not the midnight after it
    assert an_dung[4] == "Đúng hạn"
    assert "Đã nhận 1/23 báo cáo" in report.sections[3].blocks[0].text


def test_unit_scope_limits_every_section(recorded):
    report = build_report(recorded, "2024-Q1", "xa-an-dung", now=AFTER)
    assert report.title.endswith("quý I/2024 — UBND xã An Dũng")
    codes = [row[0] for row in report.tables()[0].rows]
    assert "I7" not in codes and {"I5", "I8"} <= set(codes)
    units = {row[0] for row in report.tables()[3].rows}
    assert units == {"UBND xã An Dũng"}


def test_plugin_sections_come_through_the_hook(make_deployment):
    without = build_report(make_deployment(), "2024-03", now=AFTER)
    assert "good" not in [s.key for s in without.sections]
    dep = make_deployment(["good"], available=samples.available("good"))
    with_plugin = build_report(dep, "2024-03", now=AFTER)
    good = next(s for s in with_plugin.sections if s.key == "good")
    assert good.source == "good"
    assert [s.order for s in with_plugin.sections] == sorted(s.order for s in with_plugin.sections)


def test_table_rows_must_match_columns():
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        Table("t", "T", [Column("a", "A"), Column("b", "B")], [("x",)])
    with pytest.raises(ValueError):
        Column("a", "A", "money")


def test_lower_first_keeps_roman_numerals():
    assert lower_first("Quý IV/2024") == "quý IV/2024"
    assert isinstance(Section("s", "S", [Paragraph("p")]).blocks[0], Paragraph)
