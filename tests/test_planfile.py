"""The plan-file loader: the Đức Thọ example, and every kind of problem, reported with file,
line, entry and message, all at once."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import attrs
import pytest

from ccch_core.model import CountScope, IndicatorKind, Plan
from ccch_core.periods import Period, PeriodType
from ccch_core.planfile import PlanFileError, Problem, load_plan, loads_plan

ROOT = Path(__file__).resolve().parents[1]
DUC_THO_PLAN = ROOT / "examples" / "duc-tho-2024" / "plan.toml"


# =============================================================================================
# The Đức Thọ example


def test_duc_tho_loads(duc_tho_plan):
    assert isinstance(duc_tho_plan, Plan)
    assert duc_tho_plan.id == "duc-tho-2024"
    assert duc_tho_plan.year == 2024
    assert duc_tho_plan.issuing_unit == "ubnd-huyen"
    assert duc_tho_plan.starts_on == dt.date(2024, 1, 1)
    assert duc_tho_plan.ends_on == dt.date(2024, 12, 31)
    assert duc_tho_plan.source_path == str(DUC_THO_PLAN)
    assert len(duc_tho_plan.units) == 113


def test_duc_tho_indicators(duc_tho_plan):
    codes = [i.code for i in duc_tho_plan.indicators]
    assert codes == ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "Q1", "Q2"]
    quantitative = [i.code for i in duc_tho_plan.indicators if i.quantitative]
    assert quantitative == ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8"]
    for code in ("Q1", "Q2"):
        assert duc_tho_plan.indicator(code).kind is IndicatorKind.YES_NO
    for code in ("I1", "I2", "I3", "I4", "I5", "I6"):
        indicator = duc_tho_plan.indicator(code)
        assert indicator.is_percentage
        assert indicator.target == 100


def test_duc_tho_i7_is_15_a_year(duc_tho_plan):
    i7 = duc_tho_plan.indicator("I7")
    assert i7.kind is IndicatorKind.COUNT
    assert i7.target == 15
    assert i7.target_per is PeriodType.YEAR
    assert i7.scope is CountScope.TOTAL
    assert i7.applies_to == ("trung-tam-vhtt",)


def test_duc_tho_i8_is_1_a_month_for_each_commune(duc_tho_plan):
    i8 = duc_tho_plan.indicator("I8")
    assert i8.kind is IndicatorKind.COUNT
    assert i8.target == 1
    assert i8.target_per is PeriodType.MONTH
    assert i8.scope is CountScope.EACH
    applied = duc_tho_plan.resolve(i8.applies_to)
    assert len(applied) == 16
    assert {u.kind for u in applied} == {"commune", "town"}
    assert [u.id for u in applied if u.kind == "town"] == ["tt-duc-tho"]


def test_duc_tho_tasks(duc_tho_plan):
    assert [t.id for t in duc_tho_plan.tasks] == [f"T{n}" for n in range(1, 13)]
    assert [t.number for t in duc_tho_plan.tasks] == list(range(1, 13))
    for task in duc_tho_plan.tasks:
        assert task.lead, task.id
        assert duc_tho_plan.resolve(task.lead), task.id
    t2 = duc_tho_plan.task("T2")
    assert t2.frequencies[0].count == 15
    assert t2.frequencies[0].per is PeriodType.YEAR
    assert t2.indicators == ("I7",)


def test_duc_tho_deadline(duc_tho_plan):
    [deadline] = duc_tho_plan.deadlines
    assert deadline.id == "ke-hoach-xa"
    assert deadline.due == dt.date(2024, 1, 20)
    assert deadline.inclusive is False
    assert deadline.last_day == dt.date(2024, 1, 19)
    assert deadline.who == ("cac-xa-thi-tran",)
    assert deadline.to == "ubnd-huyen"


def test_duc_tho_monthly_reporting_rule(duc_tho_plan):
    monthly = duc_tho_plan.tracked_rules(PeriodType.MONTH)
    main = [r for r in monthly if r.via == "phong-vhtt"]
    assert len(main) == 1
    rule = main[0]
    assert rule.id == "bao-cao-thang"
    assert rule.frequency is PeriodType.MONTH
    assert rule.due_day == 5
    assert rule.to == "ubnd-huyen"
    assert rule.tracked
    assert set(rule.reporters) == {"phong-ban-nganh-huyen", "cac-xa-thi-tran"}
    assert len(duc_tho_plan.expected_reporters(Period.parse("2024-03"))) == 23


def test_duc_tho_header_lists(duc_tho_plan):
    assert duc_tho_plan.signatory is not None
    assert duc_tho_plan.signatory.name == "Hoàng Xuân Hùng"
    assert duc_tho_plan.signatory.title == "PHÓ CHỦ TỊCH"
    assert duc_tho_plan.signatory.authority == ("TM. UỶ BAN NHÂN DÂN", "KT. CHỦ TỊCH")
    assert len(duc_tho_plan.purposes) == 6
    assert len(duc_tho_plan.requirements) == 3
    assert len(duc_tho_plan.recipients) == 9
    assert duc_tho_plan.recipients[-1] == "Lưu: VT, VH."
    assert len(duc_tho_plan.legal_documents) == 11
    assert len(duc_tho_plan.topics) == 6
    assert len(duc_tho_plan.channels) == 7
    assert duc_tho_plan.number is None
    assert duc_tho_plan.symbol == "KH-UBND"


def _strings(value):
    """Every string inside a loaded plan (attrs objects, tuples, dicts)."""
    if isinstance(value, str):
        yield value
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            if not field.name.startswith("_"):
                yield from _strings(getattr(value, field.name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def test_duc_tho_text_is_nfc(duc_tho_plan):
    texts = list(_strings(duc_tho_plan))
    assert len(texts) > 1000
    assert "Hoàng Xuân Hùng" in texts
    not_nfc = [t for t in texts if not unicodedata.is_normalized("NFC", t)]
    assert not_nfc == []


def test_decomposed_plan_file_loads_as_nfc(tmp_path):
    """A file typed with a decomposed (NFD) input method gives the same plan as an NFC one."""
    path = tmp_path / "plan.toml"
    path.write_text(unicodedata.normalize("NFD", BASE), encoding="utf-8")
    plan = load_plan(path)
    reference = loads_plan(BASE)
    assert unicodedata.normalize("NFD", BASE) != BASE
    assert plan.title == reference.title == "Kế hoạch tuyên truyền CCHC huyện Thử năm 2024"
    assert plan.unit("phong-vhtt").name == "Phòng Văn hóa - Thông tin"
    assert all(unicodedata.is_normalized("NFC", t) for t in _strings(plan))
    assert plan.find_unit_by_name("Phòng Văn hóa - Thông tin").id == "phong-vhtt"


def test_load_plan_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_plan(tmp_path / "khong-co.toml")


# =============================================================================================
# Problems, one kind at a time, on a small plan written to tmp_path

BASE = """\
format = 1

[plan]
id = "thu-2024"
title = "Kế hoạch tuyên truyền CCHC huyện Thử năm 2024"
issuing_unit = "ubnd-huyen"
year = 2024
starts_on = 2024-01-01
ends_on = 2024-12-31

[[units]]
id = "ubnd-huyen"
name = "UBND huyện Thử"
kind = "district"

[[units]]
id = "phong-vhtt"
name = "Phòng Văn hóa - Thông tin"
aliases = ["Phòng VHTT"]
kind = "department"
parent = "ubnd-huyen"

[[units]]
id = "xa-a"
name = "UBND xã An"
kind = "commune"
parent = "ubnd-huyen"

[[unit_groups]]
id = "cac-xa"
name = "UBND các xã"
kinds = ["commune"]

[[indicators]]
code = "I1"
text = "100% trạm truyền thanh có chuyên mục CCHC"
kind = "share_of_units"
target = 100
applies_to = ["cac-xa"]

[[indicators]]
code = "I2"
text = "15 số/năm"
kind = "count"
target = 15
target_per = "year"
applies_to = ["phong-vhtt"]

[[tasks]]
id = "T1"
number = 1
duty = "Tuyên truyền trên hệ thống truyền thanh cơ sở"
lead = ["phong-vhtt"]
coordinating = ["cac-xa"]
timing = "Thường xuyên"

[[deadlines]]
id = "ke-hoach-xa"
what = "Kế hoạch của các xã gửi về UBND huyện"
due = 2024-01-20
who = ["cac-xa"]
to = "ubnd-huyen"

[[reporting_rules]]
id = "bao-cao-thang"
what = "Báo cáo tháng"
reporters = ["cac-xa"]
to = "ubnd-huyen"
via = "phong-vhtt"
frequency = "month"
due_day = 5
"""


def line_of(text: str, line: str, after: str | None = None) -> int:
    """1-based number of the first line equal to ``line`` (stripped), at or after the first
    line equal to ``after``."""
    lines = [item.strip() for item in text.splitlines()]
    start = lines.index(after) if after is not None else 0
    return lines.index(line.strip(), start) + 1


def edit(text: str, old: str, new: str, after: str | None = None) -> str:
    """Replace the first line equal to ``old`` at or after the line ``after``."""
    lines = text.splitlines()
    index = line_of(text, old, after) - 1
    lines[index : index + 1] = new.splitlines()
    return "\n".join(lines) + "\n"


def problems(tmp_path: Path, text: str) -> tuple[Path, list[Problem]]:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanFileError) as info:
        load_plan(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert str(error).startswith(f"{len(error.problems)} problem")
    return path, error.problems


def only_problem(tmp_path: Path, text: str) -> tuple[Path, Problem]:
    path, found = problems(tmp_path, text)
    assert len(found) == 1, "\n".join(map(str, found))
    assert found[0].file == str(path)
    return path, found[0]


def assert_problem(problem: Problem, path: Path, where: str, line: int | None, *fragments: str):
    assert problem.file == str(path)
    assert problem.where == where, str(problem)
    assert problem.line == line, str(problem)
    for fragment in fragments:
        assert fragment in problem.message, str(problem)
    place = f"{path}:{line}" if line else str(path)
    assert str(problem) == f"{place}: {where}: {problem.message}"


def test_base_plan_is_valid():
    plan = loads_plan(BASE, "thu.toml")
    assert [u.id for u in plan.units] == ["ubnd-huyen", "phong-vhtt", "xa-a"]
    assert plan.source_path == "thu.toml"
    assert plan.deadlines[0].last_day == dt.date(2024, 1, 19)


def test_unknown_unit_in_task_lead(tmp_path):
    text = edit(BASE, 'lead = ["phong-vhtt"]', 'lead = ["phong-vhht"]')
    path, problem = only_problem(tmp_path, text)
    assert_problem(
        problem, path, "tasks[0].lead", line_of(text, 'lead = ["phong-vhht"]'),
        'unknown unit or group "phong-vhht"', '(did you mean "phong-vhtt", Phòng Văn hóa - Thông tin?)',
    )


def test_unknown_group_in_applies_to(tmp_path):
    text = edit(BASE, 'applies_to = ["cac-xa"]', 'applies_to = ["cac-xaa"]')
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "indicators[0].applies_to", line_of(text, 'applies_to = ["cac-xaa"]'),
                   '"cac-xaa"', 'did you mean "cac-xa"')


def test_duplicate_unit_id(tmp_path):
    text = edit(BASE, 'id = "xa-a"', 'id = "phong-vhtt"', after='name = "Phòng Văn hóa - Thông tin"')
    path, problem = only_problem(tmp_path, text)
    dup_line = line_of(text, 'id = "phong-vhtt"', after='name = "Phòng Văn hóa - Thông tin"')
    assert_problem(problem, path, "units[2].id", dup_line, 'duplicate id "phong-vhtt"', "units[1]")


def test_duplicate_indicator_code(tmp_path):
    text = edit(BASE, 'code = "I2"', 'code = "I1"')
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "indicators[1].code", line_of(text, 'code = "I1"', after='target = 100'),
                   'duplicate code "I1"', "indicators[0]")


@pytest.mark.parametrize("bad", ['"20/01/2024"', "20240120", '"2024-1-20x"'])
def test_bad_date(tmp_path, bad):
    text = edit(BASE, "due = 2024-01-20", f"due = {bad}")
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "deadlines[0].due", line_of(text, f"due = {bad}"), "bad date", "YYYY-MM-DD")


def test_date_with_a_time(tmp_path):
    text = edit(BASE, "due = 2024-01-20", "due = 2024-01-20T08:00:00")
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "deadlines[0].due", line_of(text, "due = 2024-01-20T08:00:00"), "without a time")


def test_quoted_iso_date_is_accepted():
    plan = loads_plan(edit(BASE, "due = 2024-01-20", 'due = "2024-01-20"'))
    assert plan.deadlines[0].due == dt.date(2024, 1, 20)


def test_percentage_target_out_of_range(tmp_path):
    text = edit(BASE, "target = 100", "target = 150")
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "indicators[0].target", line_of(text, "target = 150"), "150 is out of range", "0–100")


def test_negative_count_target(tmp_path):
    text = edit(BASE, "target = 15", "target = -3")
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "indicators[1].target", line_of(text, "target = -3"), "-3", "negative")


def test_yes_no_target_out_of_range(tmp_path):
    text = edit(BASE, 'kind = "share_of_units"', 'kind = "yes_no"')
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "indicators[0].target", line_of(text, "target = 100"), "yes/no")


def test_missing_required_field(tmp_path):
    text = edit(BASE, 'duty = "Tuyên truyền trên hệ thống truyền thanh cơ sở"', "")
    path, problem = only_problem(tmp_path, text)
    # a missing key is reported at the entry's [[tasks]] header
    assert_problem(problem, path, "tasks[0].duty", line_of(text, "[[tasks]]"), "missing required field")


def test_missing_required_unit_name(tmp_path):
    text = edit(BASE, 'name = "UBND xã An"', "")
    path, problem = only_problem(tmp_path, text)
    header = line_of(text, "[[units]]", after='aliases = ["Phòng VHTT"]')
    assert_problem(problem, path, "units[2].name", header, "missing required field")


def test_empty_required_text(tmp_path):
    text = edit(BASE, 'what = "Báo cáo tháng"', 'what = "   "')
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "reporting_rules[0].what", line_of(text, 'what = "   "'), "must not be empty")


def test_missing_plan_table(tmp_path):
    text = BASE.replace("[plan]\n", "[plan_]\n")
    _path, found = problems(tmp_path, text)
    wheres = [p.where for p in found]
    assert "plan" in wheres
    assert "plan_" in wheres


def test_unknown_key_with_suggestion(tmp_path):
    """``leed`` is an unknown key and leaves the required ``lead`` missing: two problems."""
    text = edit(BASE, 'lead = ["phong-vhtt"]', 'leed = ["phong-vhtt"]')
    path, found = problems(tmp_path, text)
    assert len(found) == 2, "\n".join(map(str, found))
    by_where = {p.where: p for p in found}
    assert_problem(by_where["tasks[0].leed"], path, "tasks[0].leed", line_of(text, 'leed = ["phong-vhtt"]'),
                   "unknown key", '(did you mean "lead"?)')
    assert_problem(by_where["tasks[0].lead"], path, "tasks[0].lead", line_of(text, "[[tasks]]"),
                   "missing required field")


def test_unknown_key_in_plan_header(tmp_path):
    text = edit(BASE, "year = 2024", "year = 2024\nnam = 2024")
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "plan.nam", line_of(text, "nam = 2024"), "unknown key")


def test_unknown_top_level_key(tmp_path):
    text = edit(BASE, "format = 1", "format = 1\nformats = 1")
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "formats", 2, "unknown top-level key", 'did you mean "format"')


def test_unknown_top_level_table(tmp_path):
    text = BASE + '\n[plan_extra]\nnote = "x"\n'
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "plan_extra", line_of(text, "[plan_extra]"), "unknown top-level key")


def test_unknown_top_level_array_of_tables(tmp_path):
    """A singular ``[[reporting_rule]]`` for ``[[reporting_rules]]``: the line of the header."""
    text = BASE + '\n[[reporting_rule]]\nid = "bao-cao-quy"\n'
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "reporting_rule", line_of(text, "[[reporting_rule]]"),
                   "unknown top-level key", 'did you mean "reporting_rules"')


def test_unknown_unit_kind(tmp_path):
    text = edit(BASE, 'kind = "commune"', 'kind = "comune"', after='id = "xa-a"')
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "units[2].kind", line_of(text, 'kind = "comune"'),
                   "'comune' is not one of", 'did you mean "commune"')


def test_declared_unit_kind_is_accepted():
    text = BASE + '\n[[unit_kinds]]\nid = "hamlet"\nlabel = "Thôn, tổ dân phố"\n'
    text = edit(text, 'kind = "commune"', 'kind = "hamlet"', after='id = "xa-a"')
    plan = loads_plan(text)
    assert plan.unit("xa-a").kind == "hamlet"
    assert plan.unit_kinds["hamlet"] == "Thôn, tổ dân phố"


def test_unknown_kind_in_unit_group(tmp_path):
    text = edit(BASE, 'kinds = ["commune"]', 'kinds = ["comune"]')
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "unit_groups[0].kinds", line_of(text, 'kinds = ["comune"]'),
                   'unknown unit kind "comune"', 'did you mean "commune"')


def test_parent_cycle(tmp_path):
    text = edit(BASE, 'kind = "district"', 'kind = "district"\nparent = "xa-a"')
    _path, found = problems(tmp_path, text)
    wheres = {p.where for p in found}
    # ubnd-huyen -> xa-a -> ubnd-huyen
    assert {"units[0].parent", "units[2].parent"} <= wheres
    for problem in found:
        assert "cycle" in problem.message or "own ancestor" in problem.message
    cycle = {p.where: p for p in found}
    assert cycle["units[0].parent"].line == line_of(text, 'parent = "xa-a"')
    assert cycle["units[2].parent"].line == line_of(text, 'parent = "ubnd-huyen"', after='id = "xa-a"')


def test_units_below_a_cycle_are_not_their_own_ancestors(tmp_path):
    """phong-vhtt hangs below the cycle ubnd-huyen <-> xa-a but is not part of it: only the
    units in the cycle are reported."""
    text = edit(BASE, 'kind = "district"', 'kind = "district"\nparent = "xa-a"')
    _path, found = problems(tmp_path, text)
    assert sorted(p.where for p in found) == ["units[0].parent", "units[2].parent"], "\n".join(map(str, found))


def test_cycle_reported_at_its_own_entry_after_a_rejected_unit(tmp_path):
    """Entry positions count every [[units]] block as written, even one that was rejected."""
    text = BASE + (
        '\n[[units]]\nid = "xa-b"\nname = "UBND xã Bình"\nkind = "comune"\nparent = "ubnd-huyen"\n'
        '\n[[units]]\nid = "xa-c"\nname = "UBND xã Cát"\nkind = "commune"\nparent = "xa-d"\n'
        '\n[[units]]\nid = "xa-d"\nname = "UBND xã Đông"\nkind = "commune"\nparent = "xa-c"\n'
    )
    _path, found = problems(tmp_path, text)
    by_where = {p.where: p for p in found}
    assert "units[3].kind" in by_where
    assert set(by_where) == {"units[3].kind", "units[4].parent", "units[5].parent"}, "\n".join(map(str, found))
    assert by_where["units[4].parent"].line == line_of(text, 'parent = "xa-d"')
    assert by_where["units[5].parent"].line == line_of(text, 'parent = "xa-c"')


def test_unit_its_own_parent(tmp_path):
    text = edit(BASE, 'parent = "ubnd-huyen"', 'parent = "phong-vhtt"')
    _path, found = problems(tmp_path, text)
    assert len(found) == 1, "\n".join(map(str, found))
    assert found[0].where.startswith("units[1]")
    assert "own parent" in found[0].message or "own ancestor" in found[0].message


@pytest.mark.parametrize(
    "old, new, where, fragment",
    [
        ("target = 100", 'target = "100"', "indicators[0].target", "must be a number"),
        ('timing = "Thường xuyên"', 'timing = "Thường xuyên"\nfrequencies = "15 số/năm"', "tasks[0].frequencies",
         "must be a list of tables"),
        ('lead = ["phong-vhtt"]', "lead = 5", "tasks[0].lead", "must be a list of text"),
        ('aliases = ["Phòng VHTT"]', "aliases = [1, 2]", "units[1].aliases", "must be a list of text"),
        ("year = 2024", 'year = "2024"', "plan.year", "must be a whole number"),
        ("due_day = 5", 'due_day = "5"', "reporting_rules[0].due_day", "must be a whole number"),
        ('name = "UBND xã An"', "name = 5", "units[2].name", "must be text"),
    ],
)
def test_wrong_type(tmp_path, old, new, where, fragment):
    text = edit(BASE, old, new)
    path, problem = only_problem(tmp_path, text)
    changed = new.splitlines()[-1]
    assert_problem(problem, path, where, line_of(text, changed), fragment)


def test_boolean_must_be_true_or_false(tmp_path):
    text = edit(BASE, 'kind = "district"', 'kind = "district"\nexternal = "yes"')
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "units[0].external", line_of(text, 'external = "yes"'), "must be true or false")


def test_missing_format(tmp_path):
    text = BASE.replace("format = 1\n", "")
    _path, problem = only_problem(tmp_path, text)
    assert problem.where == "format"
    assert "missing required field" in problem.message
    assert "format = 2" in problem.message


@pytest.mark.parametrize("value", ["3", "0", '"1"', "true", "1.0"])
def test_wrong_format_version(tmp_path, value):
    text = edit(BASE, "format = 1", f"format = {value}")
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "format", 1, "plan format 1 or 2")


def test_invalid_toml_reports_the_line(tmp_path):
    text = edit(BASE, 'name = "UBND xã An"', 'name = "UBND xã An')
    path, problem = only_problem(tmp_path, text)
    assert problem.where == ""
    assert problem.line == line_of(text, 'name = "UBND xã An')
    assert "not valid TOML" in problem.message
    assert str(problem).startswith(f"{path}:{problem.line}: not valid TOML")


def test_invalid_toml_missing_equals(tmp_path):
    text = edit(BASE, "year = 2024", "year 2024")
    _path, problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, "year 2024")
    assert "not valid TOML" in problem.message


def test_non_utf8_bytes(tmp_path):
    """A plan saved as Windows-1258: the file, what to do and the line of the bad byte."""
    path = tmp_path / "plan.toml"
    raw = BASE.encode("utf-8").replace("UBND xã An".encode(), "UBND x\xe3 An".encode("latin-1"))
    path.write_bytes(raw)
    with pytest.raises(PlanFileError) as info:
        load_plan(path)
    [problem] = info.value.problems
    assert problem.file == str(path)
    assert "not UTF-8" in problem.message
    assert "UTF-8" in str(info.value)
    assert problem.line == line_of(BASE, 'name = "UBND xã An"')


def test_count_indicator_without_target_per(tmp_path):
    text = edit(BASE, 'target_per = "year"', "")
    path, problem = only_problem(tmp_path, text)
    header = line_of(text, "[[indicators]]", after='applies_to = ["cac-xa"]')
    assert_problem(problem, path, "indicators[1].target_per", header, "count indicator needs target_per")


def test_target_per_shorter_than_period_type(tmp_path):
    text = edit(BASE, 'target_per = "year"', 'target_per = "month"\nperiod_type = "quarter"')
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "indicators[1].target_per", line_of(text, 'target_per = "month"'),
                   "shorter than period_type")


def test_vietnamese_period_types_are_accepted():
    text = edit(BASE, 'target_per = "year"', 'target_per = "năm"\nperiod_type = "quý"')
    indicator = loads_plan(text).indicator("I2")
    assert indicator.target_per is PeriodType.YEAR
    assert indicator.period_type is PeriodType.QUARTER


def test_unit_group_without_kinds_or_units(tmp_path):
    text = edit(BASE, 'kinds = ["commune"]', "")
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "unit_groups[0]", line_of(text, "[[unit_groups]]"), "needs kinds, units or both")


def test_retired_before_established(tmp_path):
    text = edit(BASE, 'kind = "commune"', 'kind = "commune"\nestablished_on = 2024-05-01\nretired_on = 2024-04-01')
    _path, problem = only_problem(tmp_path, text)
    assert problem.where.startswith("units[2]")
    assert "retired before it is established" in problem.message
    header = line_of(text, "[[units]]", after='aliases = ["Phòng VHTT"]')
    assert problem.line in (header, line_of(text, "retired_on = 2024-04-01"))


def test_merged_into_without_retired_on(tmp_path):
    text = edit(BASE, 'kind = "commune"', 'kind = "commune"\nmerged_into = "phong-vhtt"')
    _path, problem = only_problem(tmp_path, text)
    assert problem.where.startswith("units[2]")
    assert "merged_into" in problem.message and "retired_on" in problem.message
    header = line_of(text, "[[units]]", after='aliases = ["Phòng VHTT"]')
    assert problem.line in (header, line_of(text, 'merged_into = "phong-vhtt"'))


def test_merged_into_unknown_unit(tmp_path):
    text = edit(BASE, 'kind = "commune"', 'kind = "commune"\nretired_on = 2024-07-01\nmerged_into = "xa-bb"')
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "units[2].merged_into", line_of(text, 'merged_into = "xa-bb"'), 'unknown unit "xa-bb"')


def test_merger_and_rename_load():
    text = edit(
        BASE,
        'kind = "commune"',
        'kind = "commune"\nretired_on = 2024-07-01\nmerged_into = "phong-vhtt"\n'
        'former_names = [{ name = "UBND xã Cũ", until = 2024-03-01 }]',
    )
    unit = loads_plan(text).unit("xa-a")
    assert unit.retired_on == dt.date(2024, 7, 1)
    assert unit.name_on(dt.date(2024, 2, 1)) == "UBND xã Cũ"


def test_bad_reporting_rule_values(tmp_path):
    text = edit(BASE, 'frequency = "month"', 'frequency = "quy 1"')
    text = edit(text, "due_day = 5", "due_day = 31")
    _path, found = problems(tmp_path, text)
    by_where = {p.where: p for p in found}
    assert set(by_where) == {"reporting_rules[0].frequency", "reporting_rules[0].due_day"}
    assert by_where["reporting_rules[0].due_day"].line == line_of(text, "due_day = 31")
    assert "out of range (1–28)" in by_where["reporting_rules[0].due_day"].message
    assert "not a period type" in by_where["reporting_rules[0].frequency"].message


def test_loads_plan_default_file_name():
    with pytest.raises(PlanFileError) as info:
        loads_plan(edit(BASE, "target = 100", "target = 150"))
    assert info.value.problems[0].file == "<plan>"


# =============================================================================================
# All problems at once, on the real plan


def _units_index(text: str, line: int) -> int:
    """Index of the [[units]] block that contains 1-based ``line``."""
    return sum(1 for item in text.splitlines()[: line - 1] if item.strip() == "[[units]]") - 1


def test_all_problems_at_once_on_the_duc_tho_plan(tmp_path):
    """Five mistakes of different kinds in different sections: exactly five problems, each
    with its entry and line."""
    original = DUC_THO_PLAN.read_text(encoding="utf-8")
    text = original

    # 1. a typo in the lead unit of T4 (the 4th task)
    text = edit(text, 'lead = ["phong-tu-phap"]', 'lead = ["phong-tu-phapp"]', after='id = "T4"')
    # 2. a duplicate unit id: the post-culture point of Hòa Lạc given the one-stop desk's id
    text = edit(text, 'id = "xa-hoa-lac.buu-dien-vh"', 'id = "xa-hoa-lac.mot-cua"')
    # 3. a date written the Vietnamese way
    text = edit(text, "due = 2024-01-20", 'due = "20/01/2024"')
    # 4. a percentage target of 120 on I5 (the 5th indicator)
    text = edit(text, "target = 100", "target = 120", after='code = "I5"')
    # 5. an unknown key in T9 (the 9th task)
    text = edit(text, 'timing = "Thường xuyên trong năm 2024"', 'timming = "Thường xuyên trong năm 2024"',
                after='id = "T9"')
    assert text.count("\n") == original.count("\n"), "edits must keep line numbers"

    lead_line = line_of(text, 'lead = ["phong-tu-phapp"]')
    dup_line = line_of(text, 'id = "xa-hoa-lac.mot-cua"', after='name = "Bộ phận tiếp nhận và trả kết quả xã Hòa Lạc"')
    due_line = line_of(text, 'due = "20/01/2024"')
    target_line = line_of(text, "target = 120")
    timming_line = line_of(text, 'timming = "Thường xuyên trong năm 2024"')
    first_desk = _units_index(text, line_of(text, 'id = "xa-hoa-lac.mot-cua"'))
    dup_index = _units_index(text, dup_line)
    assert dup_index == first_desk + 2  # desk, radio station, then the post-culture point

    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanFileError) as info:
        load_plan(path)
    error = info.value

    found = {(p.where, p.line) for p in error.problems}
    assert found == {
        ("tasks[3].lead", lead_line),
        (f"units[{dup_index}].id", dup_line),
        ("deadlines[0].due", due_line),
        ("indicators[4].target", target_line),
        ("tasks[8].timming", timming_line),
    }, str(error)
    assert str(error).startswith("5 problems")
    assert all(p.file == str(path) for p in error.problems)

    messages = {p.where: p.message for p in error.problems}
    assert 'did you mean "phong-tu-phap"' in messages["tasks[3].lead"]
    assert f'duplicate id "xa-hoa-lac.mot-cua" (first used by units[{first_desk}])' in messages[f"units[{dup_index}].id"]
    assert "20/01/2024" in messages["deadlines[0].due"]
    assert "120 is out of range" in messages["indicators[4].target"]
    assert 'did you mean "timing"' in messages["tasks[8].timming"]
    # every problem appears, one per line, in the message
    for problem in error.problems:
        assert f"  {problem}" in str(error)


# =============================================================================================
# Messages that help (#19 part 5)


@pytest.mark.parametrize(("bad", "says"), [
    ('"2024-02-30"', "impossible date 2024-02-30: February 2024 has 29 days"),
    ('"2023-02-29"', "impossible date 2023-02-29: February 2023 has 28 days"),
    ('"2024-04-31"', "impossible date 2024-04-31: April 2024 has 30 days"),
    ('"2024-13-01"', "impossible date 2024-13-01: there is no month 13"),
    ('"2024-00-10"', "impossible date 2024-00-10: there is no month 0"),
])
def test_impossible_quoted_date_says_so(tmp_path, bad, says):
    text = edit(BASE, "due = 2024-01-20", f"due = {bad}")
    path, problem = only_problem(tmp_path, text)
    assert_problem(problem, path, "deadlines[0].due", line_of(text, f"due = {bad}"), says)
    assert "write it as" not in problem.message


@pytest.mark.parametrize(("bad", "says"), [
    ("2024-02-30", "February 2024 has 29 days"),
    ("2024-13-01", "there is no month 13"),
    ("2024-06-31", "June 2024 has 30 days"),
])
def test_impossible_bare_date_does_not_hide_the_other_problems(tmp_path, bad, says):
    """tomllib refuses an unquoted impossible date as a syntax error; the loader still checks the
    whole file and reports the date, where it is, next to every other problem."""
    text = edit(BASE, "due = 2024-01-20", f"due = {bad}  # trước ngày")
    text = edit(text, 'lead = ["phong-vhtt"]', 'lead = ["phong-vhht"]')
    text = edit(text, "due_day = 5", "due_day = 31")
    _path, found = problems(tmp_path, text)
    by_where = {p.where: p for p in found}
    assert set(by_where) == {"tasks[0].lead", "deadlines[0].due", "reporting_rules[0].due_day"}, found
    date = by_where["deadlines[0].due"]
    assert date.line == line_of(text, f"due = {bad}  # trước ngày")
    assert f"impossible date {bad}: {says}" in date.message
    assert "not valid TOML" not in str(found)


def test_impossible_bare_date_in_an_inline_table(tmp_path):
    text = edit(BASE, 'aliases = ["Phòng VHTT"]',
                'aliases = ["Phòng VHTT"]\nformer_names = [{ name = "Phòng Văn hóa", until = 2024-02-31 }]')
    _path, problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, 'former_names = [{ name = "Phòng Văn hóa", until = 2024-02-31 }]')
    assert "impossible date 2024-02-31: February 2024 has 29 days" in problem.message


def test_a_date_inside_a_string_is_left_alone(tmp_path):
    """Only bare dates are re-read as text: a syntax error on a line that merely mentions a date
    in a string stays a syntax error."""
    text = edit(BASE, 'timing = "Thường xuyên"', 'timing = "Từ 2024-02-30 "" thường xuyên"')
    _path, problem = only_problem(tmp_path, text)
    assert "not valid TOML" in problem.message
    assert "impossible" not in problem.message


def test_syntax_error_shows_the_line_and_says_the_rest_was_not_checked(tmp_path):
    text = edit(BASE, 'name = "UBND xã An"', 'name = "UBND xã An')
    text = edit(text, "due_day = 5", "due_day = 31")  # not reported: the file could not be read
    _path, problem = only_problem(tmp_path, text)
    assert problem.line == line_of(text, 'name = "UBND xã An')
    assert "not valid TOML" in problem.message
    assert 'the line reads: name = "UBND xã An' in problem.message
    assert "The rest of the file was not checked" in problem.message
    assert "(at line" not in problem.message  # the line is given once, in FILE:LINE


def test_syntax_error_context_is_bounded(tmp_path):
    long_value = "x" * 500
    text = edit(BASE, 'name = "UBND xã An"', f'name = "{long_value}')
    _path, problem = only_problem(tmp_path, text)
    assert len(problem.message) < 400
    assert "..." in problem.message


def test_many_impossible_dates_are_all_reported(tmp_path):
    lines = [BASE.rstrip()]
    for day in range(10):
        lines.append(f'\n[[deadlines]]\nid = "d{day}"\nwhat = "Việc {day}"\ndue = 2024-02-{30 + day % 2}\nwho = ["cac-xa"]')
    _path, found = problems(tmp_path, "\n".join(lines) + "\n")
    assert len(found) == 10
    assert all("impossible date 2024-02-3" in p.message for p in found)


@pytest.mark.parametrize(("written", "suggested"), [
    ("phong-vhtt-huyen", '"phong-vhtt", Phòng Văn hóa - Thông tin'),   # an id made from the name
    ("Phòng Văn hóa - Thông tin", '"phong-vhtt", Phòng Văn hóa - Thông tin'),  # the name itself
    ("Phòng VHTT", '"phong-vhtt", Phòng Văn hóa - Thông tin'),          # an alias
    ("ubnd-xa-an", '"xa-a", UBND xã An'),
    ("UBND các xã", '"cac-xa", UBND các xã'),                           # a group by its name
])
def test_suggestions_match_names_as_well_as_ids(tmp_path, written, suggested):
    text = edit(BASE, 'lead = ["phong-vhtt"]', f'lead = ["{written}"]')
    _path, problem = only_problem(tmp_path, text)
    assert f"(did you mean {suggested}?)" in problem.message, problem.message


def test_no_suggestion_for_something_unlike_any_unit(tmp_path):
    text = edit(BASE, 'lead = ["phong-vhtt"]', 'lead = ["so-tai-nguyen-moi-truong"]')
    _path, problem = only_problem(tmp_path, text)
    assert "did you mean" not in problem.message
