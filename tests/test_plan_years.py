"""Several years side by side (#19 part 1): a 2025 plan loads beside 2024's in one deployment,
2024's figures do not change, units keep their history across the files, and commands say which
plan they show and let you choose."""

from __future__ import annotations

import datetime as dt
import json
import re

import attrs
import pytest
from click.testing import CliRunner

from ccch_core import progress
from ccch_core.cli import make_cli
from ccch_core.deployment import Deployment
from ccch_core.periods import Period

UTC = dt.UTC
NOW = dt.datetime(2026, 2, 1, tzinfo=UTC)


def plan_2025(text_2024: str) -> str:
    """2025's plan from 2024's: the same units and targets, the year's dates, and An Dũng renamed
    from 1 July 2025 (its id, and so its history, stays)."""
    text = text_2024.replace('id = "duc-tho-2024"', 'id = "duc-tho-2025"', 1)
    text = text.replace("năm 2024", "năm 2025").replace("year = 2024", "year = 2025")
    text = re.sub(r"\b2024-(\d\d)-(\d\d)\b", r"2025-\1-\2", text)
    text = text.replace('"2024-Q1"', '"2025-Q1"')
    text = text.replace('id = "xa-an-dung"\nname = "UBND xã An Dũng"',
                        'id = "xa-an-dung"\nname = "UBND xã An Dũng mới"\n'
                        'former_names = [{ name = "UBND xã An Dũng", until = 2025-07-01 }]', 1)
    assert 'former_names = [{ name = "UBND xã An Dũng"' in text
    return text


def add_plans(config_path, *files):
    text = config_path.read_text(encoding="utf-8")
    listed = ", ".join(f'"{f}"' for f in files)
    config_path.write_text(text.replace("[deployment]\n", f"[deployment]\nplans = [{listed}]\n", 1), encoding="utf-8")


def with_plan_2025(first, plan_text: str) -> Deployment:
    """``first`` (a deployment of the 2024 example, closed here) reopened with ``plan_text`` as a
    second plan, ``plan-2025.toml`` beside its config."""
    (first.config.path.parent / "plan-2025.toml").write_text(plan_text, encoding="utf-8")
    add_plans(first.config.path, "plan-2025.toml")
    first.close()
    return Deployment.open(first.config.path)


def figures(dep, plan, period):
    results = progress.evaluate_plan(dep.db, plan, period, now=NOW, measures=dep.measures, deployment=dep)
    completeness = progress.reporting_completeness(dep.db, plan, period, now=NOW)
    return json.dumps([r.to_dict() for r in results], default=str), json.dumps(completeness.to_dict(), default=str)


@pytest.fixture
def years(make_deployment, duc_tho_plan_path):
    dep = make_deployment()
    plan = dep.plan
    progress.record_measurement(dep.db, plan, "I8", "xa-an-dung", "2024-03", 1)
    progress.record_measurement(dep.db, plan, "I7", "trung-tam-vhtt", "2024-03", 2)
    progress.record_activity_report(dep.db, plan, "xa-an-dung", "2024-03", [{"category": "broadcast", "count": 4}],
                                    now=dt.datetime(2024, 4, 2, tzinfo=UTC))
    before = {p: figures(dep, plan, p) for p in ("2024-03", "2024-Q1", "2024")}
    folder = dep.config.path.parent
    (folder / "plan-2025.toml").write_text(plan_2025(duc_tho_plan_path.read_text(encoding="utf-8")), encoding="utf-8")
    add_plans(dep.config.path, "plan-2025.toml")
    dep.close()
    both = Deployment.open(dep.config.path, migrate=True)
    yield both, before
    both.close()


def test_a_2025_plan_loads_beside_2024_and_2024_does_not_change(years):
    dep, before = years
    assert list(dep.plans) == ["duc-tho-2024", "duc-tho-2025"]
    assert dep.plan.id == "duc-tho-2024"  # the default plan: what every plugin reads
    p2025 = dep.plan_by_id("duc-tho-2025")
    assert p2025.year == 2025 and p2025.starts_on == dt.date(2025, 1, 1)
    # 2025's work is recorded under the same units, in 2025's periods.
    progress.record_measurement(dep.db, p2025, "I8", "xa-an-dung", "2025-03", 3)
    progress.record_activity_report(dep.db, p2025, "xa-an-dung", "2025-03", [{"category": "published", "count": 9}],
                                    now=dt.datetime(2025, 4, 2, tzinfo=UTC))
    with pytest.raises(progress.ProgressError, match="outside the plan"):
        progress.record_measurement(dep.db, p2025, "I8", "xa-an-dung", "2024-03", 5)
    after = {p: figures(dep, dep.plan, p) for p in ("2024-03", "2024-Q1", "2024")}
    assert after == before
    march_2025 = progress.evaluate_indicator(dep.db, p2025, p2025.indicator("I8"), progress.Period.parse("2025-03"),
                                             now=NOW)
    an_dung = next(u for u in march_2025.units if u.unit.id == "xa-an-dung")
    assert an_dung.value == 3
    # History carries across: the unit is the same id, its 2024 name is its former name.
    unit = p2025.unit("xa-an-dung")
    assert unit.name_on(dt.date(2025, 3, 1)) == "UBND xã An Dũng"
    assert unit.name_on(dt.date(2025, 9, 1)) == "UBND xã An Dũng mới"
    assert progress.get_activity_report(dep.db, "xa-an-dung", "2024-03").items[0].count == 4


def test_commands_say_which_plan_and_let_you_choose(years):
    dep, _ = years
    runner = CliRunner()

    def run(*args):
        return runner.invoke(make_cli(dep.config.path), list(args))

    listing = run("plan", "list")
    assert listing.exit_code == 0, listing.output
    assert re.search(r"duc-tho-2024\s+2024\s+mặc định", listing.output)
    assert re.search(r"duc-tho-2025\s+2025\s+Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025", listing.output)
    status = run("status", "--plan", "duc-tho-2025", "--period", "2025-03")
    assert status.exit_code == 0, status.output
    assert status.output.startswith("Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025 — Tháng 3/2025")
    default = run("status", "--period", "2024-03")
    assert default.output.startswith("Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2024 — Tháng 3/2024")
    shown = json.loads(run("plan", "show", "--plan", "duc-tho-2025", "--json").output)
    assert shown["plan"]["id"] == "duc-tho-2025"
    wrong = run("status", "--plan", "duc-tho-2026")
    assert wrong.exit_code == 2 and "no plan 'duc-tho-2026'" in wrong.output and "duc-tho-2025" in wrong.output


def test_the_recording_commands_record_under_the_year_s_plan(years, tmp_path):
    """measure record|import|list and report-activity take --plan; a single period without it is
    recorded under the plan whose year holds it (as report-sent), so 2025's values need no flag."""
    dep, before = years
    runner = CliRunner()

    def run(*args):
        return runner.invoke(make_cli(dep.config.path), [str(a) for a in args])

    recorded = run("measure", "record", "I8", "xa-an-dung", "2025-03", "2")
    assert recorded.exit_code == 0, recorded.output
    assert dep.db.execute("select plan_id from measurements where period = '2025-03'").fetchone()[0] == "duc-tho-2025"
    reported = run("report-activity", "xa-an-dung", "2025-03", "--item", "broadcast=6")
    assert reported.exit_code == 0, reported.output
    assert progress.get_activity_report(dep.db, "xa-an-dung", "2025-03").items[0].count == 6
    # An explicit --plan that does not hold the period is refused, as before, in its own words.
    refused = run("measure", "record", "I8", "xa-an-dung", "2025-03", "2", "--plan", "duc-tho-2024")
    assert refused.exit_code == 1 and "outside the plan" in refused.output
    # A file of 2025's values with --plan; the list of 2025's values with --plan.
    (tmp_path / "m.csv").write_text("indicator,unit,period,value\nI8,xa-yen-ho,2025-04,1\n", encoding="utf-8")
    imported = run("measure", "import", tmp_path / "m.csv", "--plan", "duc-tho-2025")
    assert imported.exit_code == 0, imported.output
    without = run("measure", "import", tmp_path / "m.csv")
    assert without.exit_code == 1 and "outside the plan" in without.output
    listed = json.loads(run("measure", "list", "--plan", "duc-tho-2025", "--period", "2025", "--json").output)
    assert {(m["unit"], m["period"]) for m in listed} >= {("xa-an-dung", "2025-03"), ("xa-yen-ho", "2025-04")}
    unknown = run("measure", "list", "--plan", "khong-co", "--period", "2025")
    assert unknown.exit_code == 2 and "no plan 'khong-co'" in unknown.output
    # 2024's figures did not move.
    assert {p: figures(dep, dep.plan, p) for p in ("2024-03", "2024-Q1", "2024")} == before


def test_two_plans_of_one_year_or_one_id_are_refused(make_deployment, duc_tho_plan_path):
    dep = make_deployment()
    folder = dep.config.path.parent
    text = duc_tho_plan_path.read_text(encoding="utf-8")
    (folder / "copy.toml").write_text(text.replace('id = "duc-tho-2024"', 'id = "duc-tho-2024-b"', 1), encoding="utf-8")
    (folder / "same-id.toml").write_text(plan_2025(text).replace('id = "duc-tho-2025"', 'id = "duc-tho-2024"', 1),
                                          encoding="utf-8")
    add_plans(dep.config.path, "copy.toml")
    with pytest.raises(ValueError, match="2024 already has a plan of ubnd-huyen"):
        Deployment.open(dep.config.path)
    config = dep.config.path.read_text(encoding="utf-8").replace('"copy.toml"', '"same-id.toml"')
    dep.config.path.write_text(config, encoding="utf-8")
    with pytest.raises(ValueError, match="plan id 'duc-tho-2024' is already"):
        Deployment.open(dep.config.path)


def test_the_dashboard_says_which_plan_and_lets_you_choose(years, make_app, make_user):
    from ccch_core.testing import login

    dep, _ = years
    app = make_app(dep)
    username, password = make_user(dep, "viewer")
    client = app.test_client()
    login(client, username, password)
    default = client.get("/?period=2024-03").get_data(as_text=True)
    assert "<h1>Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2024</h1>" in default
    assert '<option value="duc-tho-2025">Năm 2025 · Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025</option>' in default
    chosen = client.get("/?plan=duc-tho-2025&period=2025-03")
    assert chosen.status_code == 200
    html = chosen.get_data(as_text=True)
    assert "<h1>Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025</h1>" in html
    assert '<option value="duc-tho-2025" selected>' in html and "Tháng 3/2025" in html
    # Switching the year with last year's period selected opens the chosen plan, not an error.
    switched = client.get("/?plan=duc-tho-2025&period=2024-03")
    assert switched.status_code == 200 and "<h1>Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025</h1>" in \
        switched.get_data(as_text=True)
    assert client.get("/?plan=khong-co").status_code == 404
    assert client.get("/?plan=duc-tho-2025&period=2025-13").status_code == 400


def test_a_plugin_measure_of_another_years_plan_reads_that_plan(make_deployment, duc_tho_plan_path):
    # A measure sums its counts up the units' tree of context.deployment.plan: for 2025's plan that
    # must be 2025's plan (its units may differ), not the deployment's default (2024's).
    dep = with_plan_2025(make_deployment(), plan_2025(duc_tho_plan_path.read_text(encoding="utf-8")))
    try:
        p2025 = dep.plan_by_id("duc-tho-2025")
        seen = []

        def measure(context):
            seen.append(context.deployment.plan.id)
            return {u.id: progress.MeasureValue(1.0) for u in context.units}

        indicator = attrs.evolve(p2025.indicator("I5"), source="plugin:years_measure")
        progress.evaluate_indicator(dep.db, p2025, indicator, Period.parse("2025-03"), now=NOW,
                                    measures={"years_measure": measure}, deployment=dep)
        progress.evaluate_indicator(dep.db, dep.plan, attrs.evolve(dep.plan.indicator("I5"), source="plugin:years_measure"),
                                    Period.parse("2024-03"), now=NOW, measures={"years_measure": measure}, deployment=dep)
        assert seen == ["duc-tho-2025", "duc-tho-2024"]
        assert dep.plan.id == "duc-tho-2024"  # the deployment itself is unchanged
        # One view per plan, kept: caches keyed by the deployment object stay warm between evaluations.
        assert dep.with_plan(p2025) is dep.with_plan(p2025) and dep.with_plan(p2025).plan is p2025
        assert dep.with_plan(dep.plan) is dep
    finally:
        dep.close()
