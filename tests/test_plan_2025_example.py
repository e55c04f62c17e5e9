"""The 2025 demo plan (#19 part 4) and `ccch plan add`: examples/duc-tho-2025/plan.toml loads beside
2024's, says that every fact of 2025 is assumed (the seed holds only 2024's plan) and why, keeps the
units and the documents as they are; `plan add` checks a plan, copies it in and lists it, or changes
nothing; the demo's commune plans run under it."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from ccch_core import local_plans as lp
from ccch_core import progress
from ccch_core.cli import make_cli
from ccch_core.deployment import Deployment
from ccch_core.planfile import load_plan

ROOT = Path(__file__).resolve().parent.parent
PLAN_2025 = ROOT / "examples" / "duc-tho-2025" / "plan.toml"


@pytest.fixture(scope="module")
def plans():
    return load_plan(ROOT / "examples" / "duc-tho-2024" / "plan.toml"), load_plan(PLAN_2025)


def test_the_2025_plan_marks_every_fact_of_2025_assumed_with_its_reason(plans):
    old, new = plans
    assert (new.id, new.year, new.starts_on, new.ends_on) == ("duc-tho-2025", 2025, dt.date(2025, 1, 1),
                                                              dt.date(2025, 12, 31))
    assert new.title == "Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025"
    assert "không có trong tài liệu gốc" in new.provenance.assumption("title")
    for entry in (*new.indicators, *new.tasks, *new.deadlines, *new.reporting_rules, *new.channels):
        reason = entry.provenance.assumption(None)
        assert reason and "Kế hoạch năm 2025 của huyện không có trong tài liệu gốc" in reason, entry
    # `plan show` lists them as assumptions, none as a fact read from a 2025 plan.
    assumed = {(f.section, f.entry_id) for f in new.assumed_facts()}
    assert {("indicators", i.code) for i in new.indicators} <= assumed
    assert new.signatory is None  # who signs 2025's plan is not known
    # The same targets and tasks, moved to 2025.
    assert [(i.code, i.target) for i in new.indicators] == [(i.code, i.target) for i in old.indicators]
    assert [t.id for t in new.tasks] == [t.id for t in old.tasks]
    assert new.task("T12").starts_in is not None and str(new.task("T12").starts_in) == "2025-Q1"
    assert new.deadlines[0].due == dt.date(2025, 1, 20) and new.deadlines[0].local_plans
    # Units keep their ids (their history) and the documents their own dates.
    assert [u.id for u in new.units] == [u.id for u in old.units]
    assert [(d.id, d.issued_on, d.title) for d in new.legal_documents] == \
        [(d.id, d.issued_on, d.title) for d in old.legal_documents]
    assert "2024" not in "".join(t.timing or "" for t in new.tasks)


def run(config, *args):
    return CliRunner().invoke(make_cli(config), [str(a) for a in args])


def test_plan_add_checks_copies_and_lists_or_changes_nothing(make_deployment, tmp_path):
    dep = make_deployment()
    config = dep.config.path
    progress.record_measurement(dep.db, dep.plan, "I7", "trung-tam-vhtt", "2024-03", 2)
    before = config.read_text(encoding="utf-8")
    # A broken file is refused and nothing changes.
    broken = tmp_path / "broken.toml"
    broken.write_text(PLAN_2025.read_text(encoding="utf-8").replace("year = 2025", "year = 2025x"), encoding="utf-8")
    refused = run(config, "plan", "add", broken)
    assert refused.exit_code != 0 and config.read_text(encoding="utf-8") == before
    assert not (config.parent / "plan-duc-tho-2025.toml").exists()
    # The same plan again (same id, and 2024 already has a plan of UBND huyện) is refused.
    again = run(config, "plan", "add", config.parent / "plan.toml")
    assert again.exit_code == 1 and "already has a plan 'duc-tho-2024'" in again.output
    added = run(config, "plan", "add", PLAN_2025)
    assert added.exit_code == 0, added.output
    assert "?plan=duc-tho-2025" in added.output
    assert tomllib.loads(config.read_text(encoding="utf-8"))["deployment"]["plans"] == ["plan-duc-tho-2025.toml"]
    assert run(config, "plan", "add", PLAN_2025).exit_code == 1  # once only
    listing = run(config, "plan", "list")
    assert "duc-tho-2024  2024  mặc định" in listing.output and "duc-tho-2025  2025" in listing.output
    reopened = Deployment.open(config)
    try:
        assert reopened.plan.id == "duc-tho-2024"  # the default stays the default
        assert set(reopened.plans) == {"duc-tho-2024", "duc-tho-2025"}
        assert progress.measurements(reopened.db, reopened.plan, ["2024-03"], "I7")[0].value == 2
    finally:
        reopened.close()


def test_the_demo_runs_the_communes_plans_under_2025(make_deployment):
    dep = make_deployment()
    config = dep.config.path
    assert run(config, "plan", "add", PLAN_2025).exit_code == 0
    assert run(config, "local-plans", "demo").exit_code == 0
    result = run(config, "local-plans", "demo", "--plan", "duc-tho-2025")
    assert result.exit_code == 0, result.output
    reopened = Deployment.open(config)
    try:
        plan = reopened.plan_by_id("duc-tho-2025")
        an_dung = lp.get(reopened.db, plan, "xa-an-dung")
        assert an_dung.status is lp.Status.APPROVED and lp.is_late(plan, an_dung) is False
        assert an_dung.sent_at.date() == dt.date(2025, 1, 15)
        duc_dong = lp.get(reopened.db, plan, "xa-duc-dong")
        assert duc_dong.status is lp.Status.RETURNED and duc_dong.comment
        assert lp.is_late(plan, duc_dong) is True  # sent 22/01/2025, after "trước 20/01/2025"
        assert lp.get(reopened.db, reopened.plan, "xa-an-dung").status is lp.Status.APPROVED  # 2024's own
        assert any(t["timing"] == "Quý II/2025" for t in an_dung.tasks)
    finally:
        reopened.close()
