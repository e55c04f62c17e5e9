"""The plan-neutral contest that ships in the wheel: it loads under the Đức Thọ plan (three tiers)
and the two-tier province plan alike, from ``--template`` or from the file ``ccch contest template``
writes; unknown names and a missing source are refused with the choices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ccch_contest.cli import CONTEST_TEMPLATES, contest_template_text
from ccch_contest.definition import loads_definition, unit_choices
from click.testing import CliRunner

from ccch_core.cli import make_cli

ROOT = Path(__file__).resolve().parents[3]
PLANS = {"duc-tho": ROOT / "examples" / "duc-tho-2024" / "plan.toml",
         "two-tier": ROOT / "examples" / "two-tier-province" / "plan.toml"}


def run(dep, *args):
    return CliRunner().invoke(make_cli(dep.config.path), list(args))


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_the_template_loads_under_any_plan(make_deployment, plan):
    dep = make_deployment(["contest"], plan_path=PLANS[plan])
    result = run(dep, "contest", "load", "--template", "tim-hieu-cchc", "--trial")
    assert result.exit_code == 0, result.output
    assert "Created contest tim-hieu-cchc" in result.output
    definition = loads_definition(contest_template_text("tim-hieu-cchc"), dep.plan)
    units = unit_choices(definition, definition.audiences[1], dep.plan)
    assert units and all(dep.plan.is_within(u.id, dep.plan.issuing_unit) for u in units)


def test_the_duc_tho_example_is_not_plan_neutral_but_the_template_is(make_deployment):
    dep = make_deployment(["contest"], plan_path=PLANS["two-tier"])
    example = run(dep, "contest", "check", str(ROOT / "examples" / "duc-tho-2024" / "contest.toml"))
    assert example.exit_code == 1 and "is not a unit of the plan" in example.output


def test_template_writes_a_file_to_adapt_then_check_and_load(make_deployment, tmp_path):
    dep = make_deployment(["contest"], plan_path=PLANS["two-tier"])
    target = tmp_path / "cuoc-thi.toml"
    assert run(dep, "contest", "template", "tim-hieu-cchc", "-o", str(target)).exit_code == 0
    target.write_text(target.read_text(encoding="utf-8").replace(
        'title = "Cuộc thi trực tuyến tìm hiểu về cải cách hành chính"',
        'title = "Cuộc thi tìm hiểu về CCHC tỉnh năm 2026"'), encoding="utf-8")
    checked = run(dep, "contest", "check", str(target))
    assert checked.exit_code == 0 and "Cuộc thi tìm hiểu về CCHC tỉnh năm 2026 (4 rounds, 2 audiences)" in checked.output
    again = run(dep, "contest", "template", "tim-hieu-cchc", "-o", str(target))
    assert again.exit_code == 2 and "exists" in again.output


def test_templates_lists_them_and_bad_requests_are_refused(make_deployment):
    dep = make_deployment(["contest"], plan_path=PLANS["two-tier"])
    [row] = json.loads(run(dep, "contest", "templates", "--json").output)
    assert row == {**row, "name": "tim-hieu-cchc", "rounds": 4, "audiences": 2}
    assert list(CONTEST_TEMPLATES) == ["tim-hieu-cchc"]
    typo = run(dep, "contest", "load", "--template", "tim-hieu")
    assert typo.exit_code == 2 and "Did you mean 'tim-hieu-cchc'?" in typo.output
    neither = run(dep, "contest", "load")
    assert neither.exit_code == 2 and "give a definition file PATH or --template NAME" in neither.output
    assert run(dep, "contest", "list", "--json").output.strip() == "[]"
