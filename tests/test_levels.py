"""ccch_core.levels: reports counted per unit one level below a scope, pages, and the unit search."""

from __future__ import annotations

import datetime as dt

import pytest

from ccch_core import levels, progress
from ccch_core.periods import Period

NOW = dt.datetime(2024, 4, 20, tzinfo=dt.UTC)


def at(year, month, day):
    return dt.datetime(year, month, day, 3, tzinfo=dt.UTC)


@pytest.fixture
def march(deployment):
    plan, db = deployment.plan, deployment.db
    progress.record_activity_report(db, plan, "xa-an-dung", "2024-03", [{"category": "published", "count": 1}],
                                    now=at(2024, 4, 2))
    progress.record_activity_report(db, plan, "xa-yen-ho", "2024-03", [{"category": "published", "count": 1}],
                                    now=at(2024, 4, 12))
    return progress.reporting_completeness(db, plan, "2024-03", now=NOW)


def test_a_small_plan_is_listed_report_by_report_where_its_reports_are(deployment, march):
    # Đức Thọ's plan is rooted at the province, its 23 reporters all under the district: the view
    # moves down to the district and lists each report, as the page did before it was sized.
    level = levels.level_view(deployment.plan, march)
    assert [u.id for u in level.path] == ["ubnd-tinh", "ubnd-huyen"]
    assert level.mode == "list" and level.reporters == 23
    assert len(level.reports) == len(march.reports)
    assert level.total.received == 2 and level.total.count(progress.ReportState.LATE) == 1


def test_a_large_scope_is_counted_per_unit_one_level_below(deployment, march):
    level = levels.level_view(deployment.plan, march, list_limit=5)
    assert level.mode == "units"
    by_unit = {t.unit.id: t for t in level.tallies}
    assert by_unit["xa-an-dung"].report.state is progress.ReportState.ON_TIME
    assert by_unit["xa-yen-ho"].count(progress.ReportState.LATE) == 1
    assert not by_unit["xa-an-dung"].below  # its facilities owe no report: nothing to drill into
    assert sum(t.expected for t in level.tallies) == len(march.reports)
    assert sum(t.received for t in level.tallies) == march.received


def test_an_explicit_scope_does_not_move_and_keeps_only_its_reports(deployment, march):
    level = levels.level_view(deployment.plan, march, "xa-an-dung", descend=False)
    assert level.scope.id == "xa-an-dung" and level.mode == "list"
    assert {r.unit.id for r in level.reports} == {"xa-an-dung"}


def test_monthly_counts_agree_with_the_completeness_and_go_to_their_rows(deployment):
    plan, db = deployment.plan, deployment.db
    progress.record_activity_report(db, plan, "xa-an-dung", "2024-01", [{"category": "published", "count": 1}],
                                    now=at(2024, 2, 2))
    progress.record_activity_report(db, plan, "xa-yen-ho", "2024-02", [{"category": "published", "count": 1}],
                                    now=at(2024, 3, 20))
    months = Period.parse("2024").months()
    year = progress.reporting_completeness(db, plan, Period.parse("2024"), now=NOW)
    # Each reporter in its own row: the same states as the completeness, month by month.
    reporters = {r.unit.id for r in year.reports}
    counted = levels.monthly_counts(db, plan, months, levels.row_finder(plan, reporters, None), now=NOW)
    for r in year.reports:
        if r.recipient is None and r.period.type.value == "month":
            assert counted[r.unit.id][str(r.period)] == {r.state.value: 1}
    # Rows one level below the province: every reporter is under the district.
    rolled = levels.monthly_counts(db, plan, months, levels.row_finder(plan, ["ubnd-huyen"], "ubnd-tinh"), now=NOW)
    assert rolled["ubnd-huyen"]["2024-01"]["on_time"] == 1 and sum(rolled["ubnd-huyen"]["2024-01"].values()) == 23
    assert rolled["ubnd-huyen"]["2024-02"]["late"] == 1
    assert sum(rolled["ubnd-huyen"]["2024-06"].values()) == rolled["ubnd-huyen"]["2024-06"]["not_due"]  # after NOW


def test_monthly_counts_kept_per_month_follow_writes_and_deadlines(deployment):
    """Each month's counts are kept until that month's reports change or a deadline passes: what is
    kept always equals counting again (a row_of without a key is never kept)."""
    plan, db = deployment.plan, deployment.db
    months = Period.parse("2024").months()
    rows = ["ubnd-huyen"]

    def counts(now):
        kept = levels.monthly_counts(db, plan, months, levels.row_finder(plan, rows, "ubnd-tinh"), now=now)
        finder = levels.row_finder(plan, rows, "ubnd-tinh")
        fresh = levels.monthly_counts(db, plan, months, lambda unit_id: finder(unit_id), now=now)
        assert kept == fresh
        return kept["ubnd-huyen"]

    before = counts(NOW)
    assert counts(NOW) == before  # read from what was kept
    progress.record_activity_report(db, plan, "xa-an-dung", "2024-03", [{"category": "published", "count": 1}],
                                    now=at(2024, 4, 2))
    after = counts(NOW)
    assert after["2024-03"]["on_time"] == before["2024-03"].get("on_time", 0) + 1
    progress.record_activity_report(db, plan, "xa-an-dung", "2024-03", [{"category": "published", "count": 2}],
                                    now=at(2024, 4, 25))  # resubmitted: the same count, a new revision
    assert counts(NOW) == after
    # April's deadline passes between two views: its reports move from not yet due to missing.
    assert "missing" not in counts(at(2024, 5, 1))["2024-04"]
    assert sum(counts(at(2024, 6, 1))["2024-04"].values()) == counts(at(2024, 6, 1))["2024-04"]["missing"]


def test_paginate_clamps_to_the_first_and_last_page():
    items = list(range(120))
    assert levels.paginate(items, 1, 50).items == tuple(range(50))
    last = levels.paginate(items, 999, 50)
    assert (last.number, last.pages, last.items, last.first_index, last.last_index) == (3, 3, tuple(range(100, 120)),
                                                                                       101, 120)
    assert levels.paginate(items, -5, 50).number == 1
    empty = levels.paginate([], 4)
    assert (empty.number, empty.pages, empty.total, empty.first_index) == (1, 1, 0, 0)


def test_search_ignores_tones_case_and_word_order(deployment):
    plan = deployment.plan
    names = [u.name for u in levels.search_units(plan, "an dung")]
    assert names[0] == "UBND xã An Dũng"
    assert [u.name for u in levels.search_units(plan, "DŨNG an")][:1] == ["UBND xã An Dũng"]
    assert levels.search_units(plan, "   ") == []
    assert levels.search_units(plan, "không có đơn vị này") == []
    within = levels.search_units(plan, "truyen thanh", within="xa-an-dung")
    assert [u.id for u in within] == ["xa-an-dung.truyen-thanh"]
    assert len(levels.search_units(plan, "xa", limit=3)) == 3
    assert levels.search_key("Đức Thọ") == levels.search_key("duc tho") == "duc tho"
