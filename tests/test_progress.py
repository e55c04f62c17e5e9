"""Measurements, activity reports, indicator evaluation and reporting completeness, on real
SQLite with the Đức Thọ plan and small plans built in Python."""

from __future__ import annotations

import datetime as dt

import pytest

from ccch_core import model
from ccch_core.periods import Period
from ccch_core.progress import (
    MeasureValue,
    ProgressError,
    ReportState,
    Status,
    evaluate_indicator,
    evaluate_plan,
    get_activity_report,
    record_activity_report,
    record_measurement,
    reporting_completeness,
)

UTC = dt.UTC
AFTER_2024 = dt.datetime(2025, 2, 1, tzinfo=UTC)
COMMUNES = [
    "tt-duc-tho", "xa-an-dung", "xa-bui-la-nhan", "xa-duc-dong", "xa-duc-lang", "xa-hoa-lac",
    "xa-lam-trung-thuy", "xa-lien-minh", "xa-quang-vinh", "xa-tan-dan", "xa-tan-huong",
    "xa-thanh-binh-thinh", "xa-truong-son", "xa-tung-anh", "xa-tung-chau", "xa-yen-ho",
]


def result_of(db, plan, code, period, now=AFTER_2024, **kwargs):
    return evaluate_indicator(db, plan, plan.indicator(code), Period.parse(period), now=now, **kwargs)


# -- recording ----------------------------------------------------------------------------------


def test_record_and_correct_keeps_history(fresh_db, duc_tho_plan):
    record_measurement(fresh_db, duc_tho_plan, "I7", "trung-tam-vhtt", "2024-03", 2, recorded_by="a")
    m = record_measurement(fresh_db, duc_tho_plan, "I7", "trung-tam-vhtt", "2024-03", "3", recorded_by="b")
    assert m.value == 3
    rows = list(fresh_db.query("select value, recorded_by from measurements"))
    assert rows == [{"value": 3.0, "recorded_by": "b"}]
    log = list(fresh_db.query("select value, action from measurement_log order by id"))
    assert log == [{"value": 2.0, "action": "insert"}, {"value": 3.0, "action": "update"}]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("I99", "trung-tam-vhtt", "2024-03", 1), "indicator"),
        (("I7", "khong-co", "2024-03", 1), "unit"),
        (("I7", "phong-vhtt", "2024-03", 1), "unit"),  # I7 does not apply to Phòng VH-TT
        (("I7", "trung-tam-vhtt", "2024-Q1", 1), "period"),  # recorded per month
        (("I7", "trung-tam-vhtt", "2023-12", 1), "period"),  # before the plan
        (("I7", "trung-tam-vhtt", "2024-3", 1), "period"),
        (("I7", "trung-tam-vhtt", "2024-03", "abc"), "value"),
        (("I7", "trung-tam-vhtt", "2024-03", -1), "value"),
        (("I7", "trung-tam-vhtt", "2024-03", 1.5), "value"),
        (("I7", "trung-tam-vhtt", "2024-03", None), "value"),
        (("I7", "trung-tam-vhtt", "2024-03", "nan"), "value"),
        (("I5", "xa-an-dung.truyen-thanh", "2024-03", "có lẽ"), "value"),
        (("I2", "trung-tam-hcc", "2024-03", None), "numerator"),
    ],
)
def test_bad_measurements_name_the_field(fresh_db, duc_tho_plan, args, field):
    with pytest.raises(ProgressError) as info:
        record_measurement(fresh_db, duc_tho_plan, *args)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:")
    assert fresh_db["measurements"].count == 0


def test_ratio_checks_numerator_and_denominator(fresh_db, duc_tho_plan):
    with pytest.raises(ProgressError, match="larger than the denominator"):
        record_measurement(fresh_db, duc_tho_plan, "I2", "trung-tam-hcc", "2024-03", numerator=5, denominator=4)
    with pytest.raises(ProgressError) as info:
        record_measurement(fresh_db, duc_tho_plan, "I2", "trung-tam-hcc", "2024-03", numerator=1, denominator=-2)
    assert info.value.field == "denominator"
    m = record_measurement(fresh_db, duc_tho_plan, "I2", "trung-tam-hcc", "2024-03", numerator="95", denominator="100")
    assert m.value == pytest.approx(95.0)


def test_vietnamese_yes_no_and_decimal_comma(fresh_db, duc_tho_plan):
    yes = record_measurement(fresh_db, duc_tho_plan, "I5", "xa-an-dung.truyen-thanh", "2024-03", "Có")
    no = record_measurement(fresh_db, duc_tho_plan, "I5", "xa-yen-ho.truyen-thanh", "2024-03", "không")
    assert (yes.value, no.value) == (1.0, 0.0)


def test_computed_indicator_cannot_be_entered(fresh_db):
    plan = small_plan(indicators=[model.Indicator(code="S1", text="Hài lòng", kind="percentage", target=90,
                                                  applies_to=("xa-a",), source="plugin:sipas")])
    with pytest.raises(ProgressError, match="computed by plugin:sipas"):
        record_measurement(fresh_db, plan, "S1", "xa-a", "2024-03", 95)


# -- evaluation -----------------------------------------------------------------------------------


def test_share_of_units_counts_units_without_data_as_not_meeting(fresh_db, duc_tho_plan):
    for commune in COMMUNES[:8]:
        record_measurement(fresh_db, duc_tho_plan, "I5", f"{commune}.truyen-thanh", "2024-03", "có")
    result = result_of(fresh_db, duc_tho_plan, "I5", "2024-03")
    assert result.value == pytest.approx(50.0)
    assert result.target == 100
    assert result.status is Status.BEHIND
    assert len(result.units) == 16
    assert {u.id for u in result.units_without_data} == {f"{c}.truyen-thanh" for c in COMMUNES[8:]}
    for commune in COMMUNES[8:]:
        record_measurement(fresh_db, duc_tho_plan, "I5", f"{commune}.truyen-thanh", "2024-03", "có")
    result = result_of(fresh_db, duc_tho_plan, "I5", "2024-03")
    assert (result.value, result.status) == (100.0, Status.MET)


def test_share_of_units_over_a_quarter_uses_the_latest_month(fresh_db, duc_tho_plan):
    for commune in COMMUNES:
        record_measurement(fresh_db, duc_tho_plan, "I5", f"{commune}.truyen-thanh", "2024-01", "không")
        record_measurement(fresh_db, duc_tho_plan, "I5", f"{commune}.truyen-thanh", "2024-03", "có")
    record_measurement(fresh_db, duc_tho_plan, "I5", "xa-yen-ho.truyen-thanh", "2024-04", "không")
    assert result_of(fresh_db, duc_tho_plan, "I5", "2024-Q1").status is Status.MET
    q2 = result_of(fresh_db, duc_tho_plan, "I5", "2024-Q2")
    assert q2.value == pytest.approx(0.0)  # only one unit reported in Q2, and it said no
    assert q2.status is Status.BEHIND


def test_ratio_sums_numerators_and_denominators(fresh_db, duc_tho_plan):
    record_measurement(fresh_db, duc_tho_plan, "I2", "trung-tam-hcc", "2024-03", numerator=90, denominator=100)
    record_measurement(fresh_db, duc_tho_plan, "I2", "xa-an-dung.mot-cua", "2024-03", numerator=10, denominator=10)
    result = result_of(fresh_db, duc_tho_plan, "I2", "2024-03")
    assert result.value == pytest.approx(100.0 * 100 / 110)
    assert result.status is Status.BEHIND
    assert "units without data" in result.explanation


def test_count_total_scales_the_yearly_target_to_the_period(fresh_db, duc_tho_plan):
    for month, count in (("2024-01", 2), ("2024-02", 1), ("2024-03", 1)):
        record_measurement(fresh_db, duc_tho_plan, "I7", "trung-tam-vhtt", month, count)
    q1 = result_of(fresh_db, duc_tho_plan, "I7", "2024-Q1")
    assert q1.target == pytest.approx(15 * 3 / 12)
    assert (q1.value, q1.status) == (4, Status.MET)
    march = result_of(fresh_db, duc_tho_plan, "I7", "2024-03")
    assert march.target == pytest.approx(1.25)
    assert march.status is Status.BEHIND


def test_count_during_the_year_is_on_track_against_the_pro_rata_target(fresh_db, duc_tho_plan):
    mid_april = dt.datetime(2024, 4, 15, tzinfo=UTC)
    for month in ("2024-01", "2024-02", "2024-03"):
        record_measurement(fresh_db, duc_tho_plan, "I7", "trung-tam-vhtt", month, 2)
    year = result_of(fresh_db, duc_tho_plan, "I7", "2024", now=mid_april)
    assert year.target == 15
    assert year.value == 6
    assert year.expected_to_date == pytest.approx(15 * Period.parse("2024").elapsed_fraction(mid_april))
    assert year.status is Status.ON_TRACK
    late_year = result_of(fresh_db, duc_tho_plan, "I7", "2024", now=dt.datetime(2024, 10, 1, tzinfo=UTC))
    assert late_year.status is Status.BEHIND
    after = result_of(fresh_db, duc_tho_plan, "I7", "2024")
    assert after.status is Status.BEHIND and after.expected_to_date is None


def test_count_each_requires_every_unit(fresh_db, duc_tho_plan):
    for commune in COMMUNES:
        record_measurement(fresh_db, duc_tho_plan, "I8", commune, "2024-03", 1)
    result = result_of(fresh_db, duc_tho_plan, "I8", "2024-03")
    assert (result.value, result.target, result.status) == (16, 16, Status.MET)
    record_measurement(fresh_db, duc_tho_plan, "I8", "xa-yen-ho", "2024-03", 0)
    record_measurement(fresh_db, duc_tho_plan, "I8", "xa-an-dung", "2024-03", 2)
    result = result_of(fresh_db, duc_tho_plan, "I8", "2024-03")
    assert result.value == 16  # the total is the same …
    assert result.status is Status.BEHIND  # … but Yên Hồ has no item this month
    behind = [u.unit.id for u in result.units if u.met is False]
    assert behind == ["xa-yen-ho"]


def test_yes_no_and_no_data(fresh_db, duc_tho_plan):
    assert result_of(fresh_db, duc_tho_plan, "Q1", "2024-03").status is Status.NO_DATA
    record_measurement(fresh_db, duc_tho_plan, "Q1", "trung-tam-vhtt", "2024-03", "đạt")
    assert result_of(fresh_db, duc_tho_plan, "Q1", "2024-03").status is Status.MET
    record_measurement(fresh_db, duc_tho_plan, "Q1", "trung-tam-vhtt", "2024-03", "không")
    assert result_of(fresh_db, duc_tho_plan, "Q1", "2024-03").status is Status.BEHIND


def test_evaluate_plan_covers_every_indicator(fresh_db, duc_tho_plan):
    results = evaluate_plan(fresh_db, duc_tho_plan, "2024-03", now=AFTER_2024)
    assert [r.indicator.code for r in results] == [i.code for i in duc_tho_plan.indicators]
    assert all(r.status is Status.NO_DATA for r in results)
    as_dict = results[0].to_dict()
    assert {"code", "value", "target", "status", "units_without_data"} <= set(as_dict)


def test_plugin_measure_is_called_per_recording_period(fresh_db):
    plan = small_plan(indicators=[model.Indicator(code="S1", text="Hài lòng", kind="ratio", target=90,
                                                  applies_to=("cac-xa",), source="plugin:sipas")])
    calls = []

    def sipas(context):
        calls.append(str(context.period))
        return {"xa-a": MeasureValue(None, numerator=45, denominator=50)}

    result = evaluate_indicator(fresh_db, plan, plan.indicator("S1"), Period.parse("2024-Q1"),
                                now=AFTER_2024, measures={"sipas": sipas})
    assert calls == ["2024-Q1"]  # once, over the whole quarter
    assert result.value == pytest.approx(90.0)
    missing = evaluate_indicator(fresh_db, plan, plan.indicator("S1"), Period.parse("2024-03"), now=AFTER_2024)
    assert missing.status is Status.NO_DATA and "not available" in missing.explanation


# -- merged and retired units -----------------------------------------------------------------


def small_plan(indicators=(), extra_units=(), rules=None):
    units = [
        model.Unit(id="tinh", name="UBND tỉnh", kind="province"),
        model.Unit(id="xa-a", name="UBND xã A", kind="commune", parent="tinh"),
        model.Unit(id="xa-b", name="UBND xã B", kind="commune", parent="tinh",
                   retired_on=dt.date(2024, 4, 1), merged_into="xa-a"),
        *extra_units,
    ]
    if rules is None:
        rules = [model.ReportingRule(id="thang", what="Báo cáo tháng", reporters=("cac-xa",), to="tinh",
                                     frequency="month", due_day=5)]
    return model.Plan(
        id="thu", title="Kế hoạch thử", year=2024, issuing_unit="tinh",
        starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31),
        units=units,
        unit_groups=[model.UnitGroup(id="cac-xa", name="Các xã", kinds=("commune",))],
        indicators=list(indicators) or [
            model.Indicator(code="X1", text="Mỗi xã 1 tin/tháng", kind="count", target=1, target_per="month",
                            scope="each", applies_to=("cac-xa",)),
        ],
        reporting_rules=rules,
    )


def test_history_of_a_merged_unit_is_kept(fresh_db):
    plan = small_plan()
    record_measurement(fresh_db, plan, "X1", "xa-b", "2024-03", 1)
    with pytest.raises(ProgressError, match="did not exist during 2024-04"):
        record_measurement(fresh_db, plan, "X1", "xa-b", "2024-04", 1)
    record_measurement(fresh_db, plan, "X1", "xa-a", "2024-04", 1)
    march = evaluate_indicator(fresh_db, plan, plan.indicator("X1"), Period.parse("2024-03"), now=AFTER_2024)
    assert {u.unit.id for u in march.units} == {"xa-a", "xa-b"}
    april = evaluate_indicator(fresh_db, plan, plan.indicator("X1"), Period.parse("2024-04"), now=AFTER_2024)
    assert [u.unit.id for u in april.units] == ["xa-a"]
    assert april.status is Status.MET
    assert plan.successor("xa-b").id == "xa-a"


# -- activity reports and completeness ----------------------------------------------------------


def test_activity_report_resubmission_keeps_first_submission_time(fresh_db, duc_tho_plan):
    first = dt.datetime(2024, 4, 3, 2, 0, tzinfo=UTC)
    later = dt.datetime(2024, 4, 20, 2, 0, tzinfo=UTC)
    record_activity_report(fresh_db, duc_tho_plan, "xa-an-dung", "2024-03",
                           [{"category": "broadcast", "count": 4, "title": "Nêu gương người tốt, việc tốt", "task_id": "T11"}],
                           submitted_by="xa", now=first)
    report = record_activity_report(fresh_db, duc_tho_plan, "xa-an-dung", "2024-03",
                                    [{"category": "published", "count": "2", "link": "https://ductho.hatinh.gov.vn/tin"}],
                                    note="Bổ sung", now=later)
    assert report.revision == 2
    assert report.submitted_at == first
    stored = get_activity_report(fresh_db, "xa-an-dung", "2024-03")
    assert [(i.category, i.count) for i in stored.items] == [("published", 2)]
    assert stored.note == "Bổ sung"
    completeness = reporting_completeness(fresh_db, duc_tho_plan, "2024-03", now=AFTER_2024)
    assert next(r for r in completeness.reports if r.unit.id == "xa-an-dung").state is ReportState.ON_TIME


@pytest.mark.parametrize(
    ("unit", "items", "field"),
    [
        ("xa-an-dung.truyen-thanh", [], "unit"),  # facilities do not report monthly
        ("khong-co", [], "unit"),
        ("xa-an-dung", [{"category": "gossip", "count": 1}], "items[0].category"),
        ("xa-an-dung", [{"category": "printed", "count": -2}], "items[0].count"),
        ("xa-an-dung", [{"category": "printed", "count": 1, "link": "javascript:alert(1)"}], "items[0].link"),
        ("xa-an-dung", [{"category": "printed", "count": 1, "task_id": "T99"}], "items[0].task_id"),
        ("xa-an-dung", [{"category": "printed", "count": 1, "colour": "red"}], "items[0]"),
    ],
)
def test_bad_activity_reports_change_nothing(fresh_db, duc_tho_plan, unit, items, field):
    with pytest.raises(ProgressError) as info:
        record_activity_report(fresh_db, duc_tho_plan, unit, "2024-03", items)
    assert info.value.field == field
    assert fresh_db["activity_reports"].count == 0


def test_completeness_in_vietnam_time(fresh_db, duc_tho_plan):
    # Due by the end of 5 April, Vietnam time = 2024-04-05T17:00Z.
    on_time = dt.datetime(2024, 4, 5, 16, 59, 59, tzinfo=UTC)
    late = dt.datetime(2024, 4, 5, 17, 0, 0, tzinfo=UTC)
    record_activity_report(fresh_db, duc_tho_plan, "xa-an-dung", "2024-03", [], now=on_time)
    record_activity_report(fresh_db, duc_tho_plan, "xa-yen-ho", "2024-03", [], now=late)
    before_due = reporting_completeness(fresh_db, duc_tho_plan, "2024-03", now=dt.datetime(2024, 4, 2, tzinfo=UTC))
    assert before_due.expected == 23
    assert before_due.count(ReportState.NOT_DUE) == 21
    assert before_due.count(ReportState.MISSING) == 0
    after_due = reporting_completeness(fresh_db, duc_tho_plan, "2024-03", now=AFTER_2024)
    states = {r.unit.id: r.state for r in after_due.reports}
    assert states["xa-an-dung"] is ReportState.ON_TIME
    assert states["xa-yen-ho"] is ReportState.LATE
    assert after_due.received == 2
    assert after_due.reporting_rate == pytest.approx(100 * 2 / 23)
    assert after_due.on_time_rate == pytest.approx(100 * 1 / 23)
    assert len(after_due.missing_units()) == 21
    assert after_due.to_dict()["missing"] == 21


def test_quarter_completeness_covers_months_and_rollups(fresh_db, duc_tho_plan):
    completeness = reporting_completeness(fresh_db, duc_tho_plan, "2024-Q1", now=AFTER_2024)
    monthly = [r for r in completeness.reports if r.period.type.value == "month"]
    quarterly = [r for r in completeness.reports if r.period.type.value == "quarter"]
    assert len(monthly) == 3 * 23
    # IV.1: the roll-up goes to UBND huyện and UBND tỉnh; each recipient is tracked (#19). The
    # report in ccch serves the district; the one to the province is a recorded delivery.
    assert [(r.unit.id, r.recipient) for r in quarterly] == [("phong-vhtt", None), ("phong-vhtt", "ubnd-tinh")]
    assert quarterly[0].due_at is None  # the plan sets no day for roll-ups
    record_activity_report(fresh_db, duc_tho_plan, "phong-vhtt", "2024-Q1", [])
    again = reporting_completeness(fresh_db, duc_tho_plan, "2024-Q1", now=AFTER_2024)
    q1 = [r for r in again.reports if r.period == Period.parse("2024-Q1")]
    assert [r.state for r in q1] == [ReportState.SUBMITTED, ReportState.MISSING]


def test_retired_unit_owes_no_report_after_its_merger(fresh_db):
    plan = small_plan()
    march = reporting_completeness(fresh_db, plan, "2024-03", now=AFTER_2024)
    april = reporting_completeness(fresh_db, plan, "2024-04", now=AFTER_2024)
    assert {r.unit.id for r in march.reports} == {"xa-a", "xa-b"}
    assert {r.unit.id for r in april.reports} == {"xa-a"}
