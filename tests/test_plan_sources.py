"""Plan format 2 (#19 part 3): every fact's source, several recipients per reporting rule, a grace
period for rules without a due day, vague cadences tracked as monthly evidence, starts given as a
period, groups that leave out a task's lead, and targets of the whole plan. Loader, model and
progress, on real SQLite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ccch_core import model
from ccch_core.periods import Period, PeriodType
from ccch_core.planfile import PlanFileError, load_plan, loads_plan
from ccch_core.progress import (
    DEFAULT_GRACE_DAYS,
    ProgressError,
    ReportState,
    Status,
    evaluate_indicator,
    further_recipients,
    record_activity_report,
    record_measurement,
    record_report_delivery,
    reporting_completeness,
    task_evidence,
)

UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[1]

PLAN = """\
format = 2

[plan]
id = "thu-2024"
title = "Kế hoạch tuyên truyền CCHC huyện Thử năm 2024"
issuing_unit = "ubnd-huyen"
year = 2024
starts_on = 2024-01-01
ends_on = 2024-12-31
source = "Phần mở đầu"

[[units]]
id = "ubnd-tinh"
name = "UBND tỉnh"
kind = "people_committee"
external = true

[[units]]
id = "ubnd-huyen"
name = "UBND huyện Thử"
kind = "district"

[[units]]
id = "phong-vhtt"
name = "Phòng Văn hóa - Thông tin"
kind = "department"
parent = "ubnd-huyen"

[[units]]
id = "phong-noi-vu"
name = "Phòng Nội vụ"
kind = "department"
parent = "ubnd-huyen"

[[units]]
id = "xa-a"
name = "UBND xã An"
kind = "commune"
parent = "ubnd-huyen"

[[unit_groups]]
id = "cac-phong"
name = "Các phòng, ban"
kinds = ["department"]
excludes_lead = true
source = "Phụ lục"

[[unit_groups]]
id = "cac-xa"
name = "UBND các xã"
kinds = ["commune"]

[[indicators]]
code = "I1"
text = "100% xã có chuyên mục CCHC"
kind = "share_of_units"
target = 100
applies_to = ["cac-xa"]
source = "I.2"

[[indicators]]
code = "I3"
text = "Tỷ lệ hài lòng đạt trên 90%"
kind = "percentage"
target = 90
period_type = "year"
source = "I.2, gạch đầu dòng 3"
assumed = { period_type = "Kế hoạch không nói đo khi nào; đo một lần cuối năm" }

[[indicators]]
code = "I4"
text = "Số người tham gia cuộc thi"
kind = "count"
target = 500
target_per = "year"
measure = "plugin:contest.participants"
applies_to = ["phong-noi-vu"]

[[tasks]]
id = "T1"
number = 1
duty = "Tuyên truyền trên Cổng thông tin điện tử huyện"
lead = ["phong-vhtt"]
coordinating = ["cac-phong", "cac-xa"]
timing = "Thường xuyên"
evidence_per = "month"
starts_on = "2024-Q2"
source = { duty = "Phụ lục, dòng 1", timing = "Phụ lục, dòng 1" }

[[deadlines]]
id = "ke-hoach-xa"
what = "Kế hoạch của các xã gửi về UBND huyện"
due = 2024-01-20
who = ["cac-xa"]
to = "ubnd-huyen"
source = "IV.7"

[[reporting_rules]]
id = "bao-cao-thang"
what = "Báo cáo tháng"
reporters = ["cac-xa"]
to = "ubnd-huyen"
via = "phong-vhtt"
frequency = "month"
due_day = 5
source = "Đoạn kết"
assumed = { due_day = "Kế hoạch chỉ nêu \\"hàng tháng\\"; ngày 5 là lựa chọn của huyện" }

[[reporting_rules]]
id = "tong-hop-quy"
what = "Tổng hợp, báo cáo quý"
reporters = ["phong-vhtt"]
to = ["ubnd-huyen", "ubnd-tinh"]
frequency = "quarter"
source = "IV.1"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> dict[str, str]:
    with pytest.raises(PlanFileError) as info:
        load_plan(write(tmp_path, text))
    return {p.where: p.message for p in info.value.problems}


@pytest.fixture
def plan():
    return loads_plan(PLAN, "thu.toml")


# -- every fact's source ------------------------------------------------------------------------


def test_sources_and_assumptions_are_read(plan):
    assert plan.provenance.source == "Phần mở đầu"
    rule = plan.reporting_rules[0]
    assert rule.provenance.source == "Đoạn kết"
    assert rule.provenance.is_assumed("due_day")
    assert rule.provenance.assumption("due_day").startswith('Kế hoạch chỉ nêu "hàng tháng"')
    assert not rule.provenance.is_assumed("what")
    assert rule.provenance.source_of("what") == "Đoạn kết"
    assert rule.provenance.source_of("due_day") is None  # assumed: no place in the plan
    task = plan.task("T1")
    assert task.provenance.source is None
    assert task.provenance.source_of("duty") == "Phụ lục, dòng 1"
    assert plan.deadlines[0].provenance.source == "IV.7"
    assert plan.group("cac-phong").provenance.source == "Phụ lục"
    assert plan.indicator("I3").provenance.is_assumed("period_type")
    assert plan.indicator("I3").provenance.source_of("text") == "I.2, gạch đầu dòng 3"


def test_a_whole_entry_may_be_assumed(tmp_path):
    text = PLAN.replace('source = "IV.7"', 'assumed = "Kế hoạch không nêu người nhận; hiểu là UBND huyện"')
    plan = load_plan(write(tmp_path, text))
    deadline = plan.deadlines[0]
    assert deadline.provenance.is_assumed()
    assert deadline.provenance.is_assumed("due")  # every field of an assumed entry is assumed
    assert deadline.provenance.assumed_fields == ("*",)


@pytest.mark.parametrize(("old", "new", "where", "says"), [
    ('assumed = { period_type = "Kế hoạch không nói đo khi nào; đo một lần cuối năm" }',
     'assumed = { periode_type = "x" }', "indicators[1].assumed.periode_type",
     'not a field of this entry (did you mean "period_type"?)'),
    ('assumed = { period_type = "Kế hoạch không nói đo khi nào; đo một lần cuối năm" }',
     'assumed = { target_per = "x" }', "indicators[1].assumed.target_per", "is marked assumed but is not given"),
    ('assumed = { period_type = "Kế hoạch không nói đo khi nào; đo một lần cuối năm" }',
     'assumed = { period_type = "" }', "indicators[1].assumed.period_type", "write why it is assumed as text"),
    ('source = "IV.7"', 'assumed = ""', "deadlines[0].assumed", "write why the entry is assumed"),
    ('source = "IV.7"', 'assumed = 5', "deadlines[0].assumed", "write why the entry is assumed"),
    ('source = "IV.7"', 'source = "IV.7"\nassumed = "đoán"', "deadlines[0].assumed",
     "cannot also have a source"),
    ('source = { duty = "Phụ lục, dòng 1", timing = "Phụ lục, dòng 1" }',
     'source = { duty = "Phụ lục" }\nassumed = { duty = "đoán" }', "tasks[0].assumed.duty",
     "cannot both have a source and be assumed"),
    ('source = { duty = "Phụ lục, dòng 1", timing = "Phụ lục, dòng 1" }',
     'source = { dutty = "Phụ lục" }', "tasks[0].source.dutty", 'did you mean "duty"'),
    ('source = "IV.7"', "source = 7", "deadlines[0].source", "must be text"),
])
def test_source_and_assumed_validation(tmp_path, old, new, where, says):
    found = problems_of(tmp_path, PLAN.replace(old, new, 1))
    assert where in found, found
    assert says in found[where]


def test_format_1_keeps_source_as_the_measure(tmp_path):
    """Existing plan files keep loading: in format 1 an indicator's source is how it is measured."""
    text = (PLAN.replace("format = 2", "format = 1")
            .replace('measure = "plugin:contest.participants"', 'source = "plugin:contest.participants"')
            .replace('source = "I.2"\n', "").replace('source = "I.2, gạch đầu dòng 3"\n', ""))
    plan = load_plan(write(tmp_path, text))
    assert plan.indicator("I4").source == "plugin:contest.participants"
    assert plan.indicator("I4").measure_name == "contest.participants"
    assert plan.deadlines[0].provenance.source == "IV.7"  # other entries may carry a source in format 1 too


def test_format_2_measure_key(plan, tmp_path):
    assert plan.indicator("I4").measure_name == "contest.participants"
    assert plan.indicator("I1").source == "entered"
    found = problems_of(tmp_path, PLAN.replace('measure = "plugin:contest.participants"', 'measure = "plugin:"'))
    assert "write \"entered\" or \"plugin:<measure name>\"" in found["indicators[2].measure"]


def test_the_examples_still_load():
    for path in (ROOT / "examples").glob("*/plan.toml"):
        assert load_plan(path).units


# -- several recipients -------------------------------------------------------------------------


def test_a_rule_with_several_recipients(plan):
    rule = plan.reporting_rules[1]
    assert rule.to == "ubnd-huyen"
    assert rule.recipients == ("ubnd-huyen", "ubnd-tinh")
    assert plan.reporting_rules[0].recipients == ("ubnd-huyen",)  # one `to`: one recipient
    assert further_recipients(plan, "phong-vhtt", PeriodType.QUARTER) == ("ubnd-tinh",)
    assert further_recipients(plan, "xa-a", PeriodType.MONTH) == ()


@pytest.mark.parametrize(("to", "where", "says"), [
    ('["ubnd-huyen", "ubnd-tinhh"]', "reporting_rules[1].to", 'unknown unit "ubnd-tinhh" (did you mean "ubnd-tinh"'),
    ('["ubnd-huyen", "ubnd-huyen"]', "reporting_rules[1].to", '"ubnd-huyen" is named twice'),
    ("[]", "reporting_rules[1]", "must not be empty"),
    ('["cac-xa"]', "reporting_rules[1].to", 'unknown unit "cac-xa"'),  # a group is not a recipient
])
def test_recipient_validation(tmp_path, to, where, says):
    found = problems_of(tmp_path, PLAN.replace('to = ["ubnd-huyen", "ubnd-tinh"]', f"to = {to}"))
    assert any(w.startswith(where) and says in m for w, m in found.items()), found


def test_the_model_keeps_to_first():
    with pytest.raises(ValueError, match="recipients must start with to"):
        model.ReportingRule(id="r", what="x", reporters=("a",), to="a", recipients=("b", "a"), frequency="month")


def test_each_recipient_is_tracked(fresh_db, plan):
    after = dt.datetime(2024, 5, 1, tzinfo=UTC)
    q1 = reporting_completeness(fresh_db, plan, "2024-Q1", now=after)
    quarterly = [r for r in q1.reports if r.period == Period.parse("2024-Q1")]
    assert [(r.unit.id, r.recipient, r.state) for r in quarterly] == [
        ("phong-vhtt", None, ReportState.MISSING), ("phong-vhtt", "ubnd-tinh", ReportState.MISSING),
    ]
    record_activity_report(fresh_db, plan, "phong-vhtt", "2024-Q1", [], now=dt.datetime(2024, 4, 3, tzinfo=UTC))
    record_report_delivery(fresh_db, plan, "phong-vhtt", "2024-Q1", "ubnd-tinh", "2024-04-08",
                           reference="45/BC-VHTT", recorded_by="vhtt", now=after)
    again = reporting_completeness(fresh_db, plan, "2024-Q1", now=after)
    quarterly = [r for r in again.reports if r.period == Period.parse("2024-Q1")]
    assert [r.state for r in quarterly] == [ReportState.SUBMITTED, ReportState.SUBMITTED]
    assert quarterly[1].submitted_at.astimezone(dt.timezone(dt.timedelta(hours=7))).date() == dt.date(2024, 4, 8)
    assert again.to_dict()["reports"][-1]["recipient"] == "ubnd-tinh"
    # Recording again replaces the record.
    record_report_delivery(fresh_db, plan, "phong-vhtt", "2024-Q1", "ubnd-tinh", "2024-04-09", now=after)
    assert fresh_db["report_deliveries"].count == 1


@pytest.mark.parametrize(("args", "field"), [
    (("phong-vhtt", "2024-Q1", "ubnd-huyen", "2024-04-08"), "recipient"),   # the first: served by ccch
    (("xa-a", "2024-03", "ubnd-tinh", "2024-04-02"), "recipient"),          # not a recipient of xã's reports
    (("phong-vhtt", "2024-Q1", "ubnd-tinh", "08/04/2024"), "sent_on"),
    (("phong-vhtt", "2024-Q1", "ubnd-tinh", "2023-12-31"), "sent_on"),      # before the period
    (("phong-vhtt", "2024-Q1", "ubnd-tinh", "2024-06-01"), "sent_on"),      # in the future
    (("khong-co", "2024-Q1", "ubnd-tinh", "2024-04-08"), "unit"),
    (("phong-vhtt", "2024-Q5", "ubnd-tinh", "2024-04-08"), "period"),
])
def test_bad_deliveries_change_nothing(fresh_db, plan, args, field):
    with pytest.raises(ProgressError) as info:
        record_report_delivery(fresh_db, plan, *args, now=dt.datetime(2024, 5, 1, tzinfo=UTC))
    assert info.value.field == field
    assert fresh_db["report_deliveries"].count == 0


def test_a_delivery_outside_the_plan_is_refused_by_record_report_delivery_itself(fresh_db, plan):
    # Its callers (the web form, ccch report-sent) check the period first; the public function
    # must refuse too: a 2025 quarter recorded under 2024's plan would count for no plan.
    later = dt.datetime(2025, 5, 1, tzinfo=UTC)
    with pytest.raises(ProgressError) as info:
        record_report_delivery(fresh_db, plan, "phong-vhtt", "2025-Q1", "ubnd-tinh", "2025-04-08", now=later)
    assert info.value.field == "period"
    assert info.value.value == "2025-Q1"
    assert "outside the plan" in str(info.value) and "2024-01-01 – 2024-12-31" in str(info.value)
    assert fresh_db["report_deliveries"].count == 0
    # The same unit, recipient and kind of period within the plan is recorded.
    record_report_delivery(fresh_db, plan, "phong-vhtt", "2024-Q4", "ubnd-tinh", "2025-01-08", now=later)
    assert fresh_db["report_deliveries"].count == 1


@pytest.mark.parametrize(("old", "new", "where", "says"), [
    # A group leaving out the task's lead.
    ("excludes_lead = true", 'excludes_lead = "yes"', "unit_groups[0].excludes_lead",
     "must be true or false, not 'yes'"),
    ("excludes_lead = true", "excludes_leads = true", "unit_groups[0].excludes_leads",
     'unknown key (did you mean "excludes_lead"?)'),
    # A vague cadence made trackable.
    ('evidence_per = "month"', 'evidence_per = "tuan"', "tasks[0].evidence_per", "'tuan' is not a period type"),
    ('evidence_per = "month"', "evidence_per = 3", "tasks[0].evidence_per", "3 is not a period type"),
    # The communes' plans under this one, and a plan written under another.
    ('source = "IV.7"', 'source = "IV.7"\nlocal_plans = "co"', "deadlines[0].local_plans",
     "must be true or false, not 'co'"),
    ('source = "Phần mở đầu"', 'source = "Phần mở đầu"\nparent_plan = "Ke hoach!"', "plan.parent_plan",
     "'Ke hoach!' is not a plan id"),
    # The grace period of a rule without a due day.
    ('source = "Phần mở đầu"', 'source = "Phần mở đầu"\nreport_grace_days = -1', "plan.report_grace_days",
     "-1 is out of range (0–90)"),
])
def test_part_3_fields_validation_messages(tmp_path, old, new, where, says):
    """#19's "every part-3 field, with its validation messages": the fields not covered above."""
    assert old in PLAN
    found = problems_of(tmp_path, PLAN.replace(old, new, 1))
    assert where in found, found
    assert says in found[where]


# -- grace period ---------------------------------------------------------------------------------


def test_a_rule_without_a_due_day_gets_the_grace_period(fresh_db, plan):
    q1 = Period.parse("2024-Q1")
    just_after = q1.end_utc + dt.timedelta(days=1)
    within = reporting_completeness(fresh_db, plan, "2024-Q1", now=just_after)
    assert {r.state for r in within.reports if r.period == q1} == {ReportState.NOT_DUE}
    after_grace = reporting_completeness(fresh_db, plan, "2024-Q1", now=q1.end_utc + dt.timedelta(days=DEFAULT_GRACE_DAYS))
    assert {r.state for r in after_grace.reports if r.period == q1} == {ReportState.MISSING}
    # A rule with a due day is unchanged: the monthly report of March is missing after 5 April.
    march = [r for r in after_grace.reports if r.period == Period.parse("2024-03")]
    assert [r.state for r in march] == [ReportState.MISSING]


def test_the_plan_sets_its_own_grace_period(fresh_db, tmp_path):
    plan = load_plan(write(tmp_path, PLAN.replace('source = "Phần mở đầu"', 'source = "Phần mở đầu"\nreport_grace_days = 20')))
    assert plan.report_grace_days == 20
    q1 = Period.parse("2024-Q1")
    at = q1.end_utc + dt.timedelta(days=15)
    states = {r.state for r in reporting_completeness(fresh_db, plan, "2024-Q1", now=at).reports if r.period == q1}
    assert states == {ReportState.NOT_DUE}
    states = {r.state for r in reporting_completeness(fresh_db, plan, "2024-Q1", now=at, grace_days=0).reports
              if r.period == q1}
    assert states == {ReportState.MISSING}
    found = problems_of(tmp_path, PLAN.replace('source = "Phần mở đầu"', "report_grace_days = 91"))
    assert "91 is out of range (0–90)" in found["plan.report_grace_days"]


# -- vague cadences, loose starts -------------------------------------------------------------------


def test_start_as_a_period(plan, tmp_path):
    task = plan.task("T1")
    assert task.starts_on is None
    assert task.starts_in == Period.parse("2024-Q2")
    for bad, says in (('"Quý I/2024"', "neither a date (YYYY-MM-DD) nor a period"),
                      ('"2024-Q5"', "neither a date"),
                      ('"2024-02-30"', "impossible date 2024-02-30")):
        found = problems_of(tmp_path, PLAN.replace('starts_on = "2024-Q2"', f"starts_on = {bad}"))
        assert says in found["tasks[0].starts_on"]
    found = problems_of(tmp_path, PLAN.replace('starts_on = "2024-Q2"', 'starts_on = "2024-Q2"\nends_on = 2024-03-31'))
    assert "before starts_on 2024-Q2" in found["tasks[0].ends_on"]
    dated = load_plan(write(tmp_path, PLAN.replace('starts_on = "2024-Q2"', "starts_on = 2024-04-15")))
    assert dated.task("T1").starts_on == dt.date(2024, 4, 15) and dated.task("T1").starts_in is None


def test_vague_cadence_is_tracked_as_monthly_evidence(fresh_db, plan):
    assert plan.task("T1").evidence_per is PeriodType.MONTH
    record_activity_report(fresh_db, plan, "xa-a", "2024-05", [{"category": "published", "count": 3, "task_id": "T1"}])
    # The lead's own report carries the evidence; a coordinating commune's item does not count for the lead.
    evidence = task_evidence(fresh_db, plan, "2024-Q2")
    assert [(e.unit.id, str(e.period), e.shown) for e in evidence] == [
        ("phong-vhtt", "2024-04", False), ("phong-vhtt", "2024-05", False), ("phong-vhtt", "2024-06", False),
    ]
    # Before the task starts (2024-Q2) nothing is owed.
    assert task_evidence(fresh_db, plan, "2024-Q1") == []


def test_evidence_comes_from_the_leads_reports(fresh_db, tmp_path):
    text = PLAN.replace('reporters = ["cac-xa"]', 'reporters = ["cac-xa", "phong-vhtt"]')
    plan = load_plan(write(tmp_path, text))
    record_activity_report(fresh_db, plan, "phong-vhtt", "2024-05",
                           [{"category": "published", "count": 3, "task_id": "T1"},
                            {"category": "broadcast", "count": 2, "task_id": "T1"},
                            {"category": "other", "count": 9}])
    record_activity_report(fresh_db, plan, "phong-vhtt", "2024-Q2", [{"category": "published", "count": 1, "task_id": "T1"}])
    by_month = {str(e.period): (e.items, e.count) for e in task_evidence(fresh_db, plan, "2024-Q2")}
    assert by_month == {"2024-04": (0, 0), "2024-05": (2, 5), "2024-06": (0, 0)}
    # Over the year, one row a month from April (the task's start) to December.
    assert len(task_evidence(fresh_db, plan, "2024")) == 9


# -- groups leaving out the lead, whole-plan targets -----------------------------------------------------


def test_a_group_leaves_out_the_tasks_lead(plan):
    task = plan.task("T1")
    assert [u.id for u in plan.coordinating_units(task)] == ["phong-noi-vu", "xa-a"]
    assert plan.tasks_of("phong-vhtt") == {"lead": [task], "coordinating": []}
    assert plan.tasks_of("phong-noi-vu") == {"lead": [], "coordinating": [task]}
    without = model.Plan(**{**_fields(plan), "unit_groups": [
        model.UnitGroup(id="cac-phong", name="Các phòng, ban", kinds=("department",)),
        model.UnitGroup(id="cac-xa", name="UBND các xã", kinds=("commune",)),
    ]})
    assert [u.id for u in without.coordinating_units(task)] == ["phong-vhtt", "phong-noi-vu", "xa-a"]


def _fields(plan):
    import attrs
    return {a.name: getattr(plan, a.name) for a in attrs.fields(type(plan)) if a.init}


def test_a_target_for_the_whole_plan(fresh_db, plan):
    i3 = plan.indicator("I3")
    assert i3.applies_to == ()
    assert [u.id for u in plan.indicator_units(i3)] == ["ubnd-huyen"]
    assert plan.applies_to_text(i3) == model.WHOLE_PLAN_LABEL_VI
    assert plan.applies_to_text(plan.indicator("I1")) == "UBND các xã"
    result = evaluate_indicator(fresh_db, plan, i3, Period.parse("2024"), now=dt.datetime(2025, 2, 1, tzinfo=UTC))
    assert result.status is Status.NO_DATA
    record_measurement(fresh_db, plan, "I3", "ubnd-huyen", "2024", 92.5)
    result = evaluate_indicator(fresh_db, plan, i3, Period.parse("2024"), now=dt.datetime(2025, 2, 1, tzinfo=UTC))
    assert result.value == pytest.approx(92.5)
    assert result.status is Status.MET
    with pytest.raises(ProgressError) as info:
        record_measurement(fresh_db, plan, "I3", "xa-a", "2024", 92.5)
    assert info.value.field == "unit"


# -- shown where officers read the plan ----------------------------------------------------------


def test_plan_show_marks_assumed_facts(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, PLAN)
    result = CliRunner().invoke(make_cli(None), ["plan", "show", "--file", str(path)])
    assert result.exit_code == 0, result.output
    rule_line = next(line for line in result.output.splitlines() if line.startswith("bao-cao-thang"))
    assert "5 (giả định: kế hoạch không nêu)" in rule_line
    assert "Đoạn kết" in rule_line
    quarterly = next(line for line in result.output.splitlines() if line.startswith("tong-hop-quy"))
    assert "UBND huyện Thử; UBND tỉnh" in quarterly
    assert "(giả định" not in quarterly
    assert "Toàn kế hoạch" in result.output
    assert "từ Quý II/2024" in result.output
    assert "Giả định (giả định: kế hoạch không nêu): 2" in result.output
    assert "reporting_rules bao-cao-thang.due_day" in result.output
    data = json.loads(CliRunner().invoke(make_cli(None), ["plan", "show", "--file", str(path), "--json"]).output)
    assert [a["where"] for a in data["assumed"]] == ["indicators I3.period_type", "reporting_rules bao-cao-thang.due_day"]
    rule = data["reporting_rules"][1]
    assert [r["id"] for r in rule["recipients"]] == ["ubnd-huyen", "ubnd-tinh"]
    task = data["tasks"][0]
    assert task["starts_in"] == "2024-Q2" and task["evidence_per"] == "month"
    assert task["coordinating_units"] == ["phong-noi-vu", "xa-a"]
    assert data["targets"][1]["whole_plan"] is True


def test_format_2_still_reads_the_old_spelling_of_the_measure(tmp_path):
    """The plugins' pages write source = "plugin:…": in format 2 that is still the measure."""
    plan = load_plan(write(tmp_path, PLAN.replace('measure = "plugin:contest.participants"',
                                                  'source = "plugin:contest.participants"')))
    assert plan.indicator("I4").measure_name == "contest.participants"
    assert plan.indicator("I4").provenance.source is None
    found = problems_of(tmp_path, PLAN.replace('measure = "plugin:contest.participants"',
                                               'measure = "plugin:contest.participants"\nsource = "entered"'))
    assert "keep measure only" in found["indicators[2].source"]


def test_dashboard_marks_assumed_facts_and_each_recipient(tmp_path, make_deployment, make_app, make_user):
    from ccch_core.testing import login

    path = write(tmp_path, PLAN)
    dep = make_deployment(plan_path=path)
    app = make_app(dep)
    username, password = make_user(dep, "plan_admin")
    client = app.test_client()
    login(client, username, password)
    html = client.get("/?period=2024-Q1").get_data(as_text=True)
    # The monthly due day (5) is the district's choice, not the plan's.
    assert html.count("giả định: kế hoạch không nêu") == 3  # one a month in the quarter: xã An's reports
    # The quarterly roll-up is owed to two recipients, each on its own row.
    assert "gửi UBND tỉnh" in html
    # A whole-plan target says so.
    html_year = client.get("/?period=2024").get_data(as_text=True)
    assert "Toàn kế hoạch" in html_year


def test_evidence_of_a_lead_that_does_not_report_comes_from_the_unit_above(fresh_db, tmp_path):
    """A commune's web page leads a task but files no report: the commune's report carries the
    evidence. A lead with no reporting unit above it shows none, and says so."""
    text = PLAN.replace('''[[unit_groups]]
id = "cac-phong"''', '''[[units]]
id = "xa-a.trang-ttdt"
name = "Trang thông tin điện tử xã An"
kind = "portal"
parent = "xa-a"

[[units]]
id = "ban-tuyen-giao"
name = "Ban Tuyên giáo Huyện ủy"
kind = "party_board"
requested = true

[[unit_groups]]
id = "cac-phong"''').replace('lead = ["phong-vhtt"]', 'lead = ["xa-a.trang-ttdt", "ban-tuyen-giao"]')
    plan = load_plan(write(tmp_path, text))
    record_activity_report(fresh_db, plan, "xa-a", "2024-04", [{"category": "published", "count": 4, "task_id": "T1"}])
    rows = [(e.unit.id, e.reported_by.id if e.reported_by else None, e.shown)
            for e in task_evidence(fresh_db, plan, "2024-04")]
    assert rows == [("xa-a.trang-ttdt", "xa-a", True), ("ban-tuyen-giao", None, False)]


# -- the Đức Thọ example uses all of it (#19 part 4) ----------------------------------------------


def test_duc_tho_example_is_faithful_where_the_format_could_not_say_it(duc_tho_plan):
    plan = duc_tho_plan
    assert (len(plan.units), len(plan.indicators), len(plan.tasks)) == (113, 10, 12)
    # Targets the plan assigns to no one are the whole plan's; I3's units are marked an inference.
    assert [i.code for i in plan.indicators if not i.applies_to] == ["I6", "Q2"]
    assert plan.indicator("I3").provenance.is_assumed("applies_to")
    assert all(i.provenance.is_assumed("period_type") for i in plan.indicators)
    # "hàng tháng" gives no day: the 5th is marked as the district's choice.
    monthly = [r for r in plan.reporting_rules if r.due_day is not None]
    assert [r.id for r in monthly] == ["bao-cao-thang", "tong-hop-trung-tam"]
    assert all(r.provenance.is_assumed("due_day") for r in monthly)
    # IV.1: quarterly, 6-monthly and yearly roll-ups to UBND huyện and UBND tỉnh.
    rollups = [r for r in plan.reporting_rules if r.reporters == ("phong-vhtt",)]
    assert [(r.frequency.value, r.recipients, r.due_day) for r in rollups] == [
        ("quarter", ("ubnd-huyen", "ubnd-tinh"), None),
        ("half", ("ubnd-huyen", "ubnd-tinh"), None),
        ("year", ("ubnd-huyen", "ubnd-tinh"), None),
    ]
    # "Từ Quý I/2024" is a period, not 1 January.
    t12 = plan.task("T12")
    assert (t12.starts_on, t12.starts_in) == (None, Period.parse("2024-Q1"))
    # The lead does not coordinate its own task through "các phòng, ban".
    for task_id, lead in (("T3", "phong-vhtt"), ("T7", "phong-vhtt"), ("T4", "phong-tu-phap")):
        assert lead not in {u.id for u in plan.coordinating_units(plan.task(task_id))}, task_id
    assert "phong-noi-vu" in {u.id for u in plan.coordinating_units(plan.task("T7"))}
    # Vague cadences are tracked as monthly evidence, and that choice is marked.
    vague = [t.id for t in plan.tasks if t.evidence_per is PeriodType.MONTH]
    assert vague == ["T1", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11"]
    assert all(plan.task(t).provenance.is_assumed("evidence_per") for t in vague)
    assert plan.task("T11").provenance.source == "Phụ lục, dòng 11"
    # The commune plans' deadline: IV.7, "trước 20/01/2024".
    deadline = plan.deadlines[0]
    assert (deadline.reference, deadline.last_day) == ("IV.7", dt.date(2024, 1, 19))


def test_reports_mark_assumed_facts_and_each_recipient(make_deployment):
    from ccch_core.report import Paragraph, build_report

    dep = make_deployment()
    report = build_report(dep, "2024-Q1", now=dt.datetime(2025, 2, 1, tzinfo=UTC))
    texts = [b.text for s in report.sections for b in s.blocks if isinstance(b, Paragraph)]
    period_note = next(t for t in texts if t.startswith("Kỳ đo của"))
    assert "I1, I2, I3, I4, I5, I6, I7, I8, Q1, Q2 (giả định: kế hoạch không nêu)" in period_note
    assert any(t.startswith("Đơn vị áp dụng của I3 (giả định: kế hoạch không nêu): Kế hoạch không nêu đơn vị")
               for t in texts)
    due_note = next(t for t in texts if t.startswith("Hạn nộp của"))
    assert "Báo cáo kết quả công tác tuyên truyền CCHC hàng tháng" in due_note
    assert "ngày 5 của tháng sau là lựa chọn của huyện" in due_note
    table = next(t for t in report.tables() if t.key == "tinh_hinh_bao_cao")
    assert any(row[0] == "Phòng Văn hóa - Thông tin (gửi Ủy ban nhân dân tỉnh Hà Tĩnh)" for row in table.rows)


def test_reports_track_vague_cadences_as_monthly_evidence(make_deployment):
    """Phụ lục, dòng 11 ("Tiếp phát thường xuyên"): each commune's evidence each month comes from
    its own activity report items that name T11."""
    from ccch_core.report import Paragraph, build_report

    dep = make_deployment()
    record_activity_report(dep.db, dep.plan, "xa-an-dung", "2024-01",
                           [{"category": "broadcast", "count": 8, "task_id": "T11"}])
    record_activity_report(dep.db, dep.plan, "xa-an-dung", "2024-03",
                           [{"category": "broadcast", "count": 6, "task_id": "T11"}])
    record_activity_report(dep.db, dep.plan, "xa-yen-ho", "2024-02", [{"category": "other", "count": 1}])
    report = build_report(dep, "2024-Q1", now=dt.datetime(2025, 2, 1, tzinfo=UTC))
    table = next(t for t in report.tables() if t.key == "minh_chung")
    rows = {(r[0], r[1]): r for r in table.rows}
    assert rows[(11, "UBND xã An Dũng")][2:] == ("UBND xã An Dũng", 2, 3)
    assert rows[(11, "UBND xã Yên Hồ")][2:] == ("UBND xã Yên Hồ", 0, 3)  # an item without the task is no evidence
    assert rows[(5, "Ban Tuyên giáo Huyện ủy")][2:] == ("không có đơn vị báo cáo", 0, 3)
    texts = [b.text for s in report.sections for b in s.blocks if isinstance(b, Paragraph)]
    summary = next(t for t in texts if t.startswith("Nhiệm vụ thực hiện thường xuyên"))
    shown = sum(r[3] for r in table.rows)
    assert shown == 2 and f"{shown}/{sum(r[4] for r in table.rows)} lượt tháng có minh chứng" in summary


def test_report_sent_command(make_deployment):
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    dep = make_deployment()

    def run(*args):
        return CliRunner().invoke(make_cli(dep.config.path), list(args))

    result = run("report-sent", "phong-vhtt", "2024-Q1", "ubnd-tinh", "--on", "2024-04-08", "--reference", "45/BC-VHTT")
    assert result.exit_code == 0, result.output
    assert "Phòng Văn hóa - Thông tin sent its 2024-Q1 report to Ủy ban nhân dân tỉnh Hà Tĩnh on 2024-04-08" in result.output
    row = next(dep.db.query("select * from report_deliveries"))
    assert (row["recipient"], row["sent_on"], row["reference"], row["recorded_by"]) == (
        "ubnd-tinh", "2024-04-08", "45/BC-VHTT", "cli")
    refused = run("report-sent", "phong-vhtt", "2024-Q1", "ubnd-huyen", "--on", "2024-04-08")
    assert refused.exit_code == 1 and "recipient:" in refused.output and "ubnd-tinh" in refused.output
    assert dep.db["report_deliveries"].count == 1
    # Audited as the web form's record is; the refused one left no row.
    audit = list(dep.db.query("select target, detail from audit_log where action = 'report.deliver'"))
    assert audit == [{"target": "Phòng Văn hóa - Thông tin — Quý I/2024",
                      "detail": "gửi Ủy ban nhân dân tỉnh Hà Tĩnh ngày 08/04/2024, số 45/BC-VHTT"}]
