"""The two-tier example (a province with communes directly below it, as since July 2025) loads and
reports exactly as the three-tier Đức Thọ plan does, through the same commands."""

from __future__ import annotations

import json
from pathlib import Path

from ccch_testing import TWO_TIER_PLAN as TWO_TIER
from click.testing import CliRunner

from ccch_core.cli import make_cli


def run(config, *args):
    result = CliRunner().invoke(make_cli(config), [str(a) for a in args])
    return result


def make(tmp_path) -> Path:
    folder = tmp_path / "ha-tinh"
    result = CliRunner().invoke(make_cli(None), ["init", str(folder), "--plan", str(TWO_TIER)])
    assert result.exit_code == 0, result.output
    return folder / "ccch.toml"


def test_two_tier_plan_validates(tmp_path):
    result = run(None, "plan", "validate", TWO_TIER)
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_two_tier_status_and_merged_ward(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = make(tmp_path)
    units = json.loads(run(config, "plan", "units", "--json").output)
    communes = [u for u in units if u["kind"] in ("commune", "ward")]
    assert communes and all(u["parent"] == "ubnd-tinh" for u in communes)  # directly under the province

    stations = [u["id"] for u in units if u["kind"] == "radio_station" and not u["retired_on"]]
    for station in stations:  # I1 is recorded per quarter in this plan
        assert run(config, "measure", "record", "I1", station, "2026-Q2", "có").exit_code == 0
    # The merged ward could report for March, before its merger on 1 April …
    assert run(config, "measure", "record", "I3", "phuong-bac-ha", "2026-03", "1").exit_code == 0
    # … but not for May, when it no longer exists.
    refused = run(config, "measure", "record", "I3", "phuong-bac-ha", "2026-05", "1")
    assert refused.exit_code == 1
    assert "did not exist during 2026-05" in refused.output

    status = json.loads(run(config, "status", "--period", "2026-05", "--json", "--units").output)
    by_code = {i["code"]: i for i in status["indicators"]}
    assert by_code["I1"]["value"] == 100.0 and by_code["I1"]["status"] == "met"
    assert "phuong-bac-ha" not in [u["unit"] for u in by_code["I3"]["units"]]
    march = json.loads(run(config, "status", "--period", "2026-03", "--json", "--units").output)
    i3 = {i["code"]: i for i in march["indicators"]}["I3"]
    assert {"unit": "phuong-bac-ha", "value": 1.0} in [{"unit": u["unit"], "value": u["value"]} for u in i3["units"]]
    reporters_march = {r["unit"] for r in march["reporting"]["reports"]}
    reporters_may = {r["unit"] for r in status["reporting"]["reports"]}
    assert "phuong-bac-ha" in reporters_march and "phuong-bac-ha" not in reporters_may


def test_status_outside_the_plan_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = make(tmp_path)
    result = run(config, "status", "--period", "2024-03")
    assert result.exit_code == 2
    assert "outside the plan" in result.output


def test_backup_onto_the_live_database_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = make(tmp_path)
    result = run(config, "backup", config.parent / "ccch.db", "--force")
    assert result.exit_code == 1
    assert "live database itself" in result.output
    assert (config.parent / "ccch.db").stat().st_size > 0


def test_json_instants_are_iso_8601(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = make(tmp_path)
    result = run(config, "report-activity", "xa-duc-tho", "2026-03", "--item", "published=2", "--json")
    assert result.exit_code == 0, result.output
    submitted = json.loads(result.output)["submitted_at"]
    assert "T" in submitted and submitted.endswith("+00:00")
