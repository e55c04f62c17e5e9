"""The surveys that ship in the wheel: ``ccch survey templates`` lists them and
``ccch survey load --template NAME`` loads one, with no path into a checkout; and the percentage
in ``ccch survey results`` is cut as ``ccch status`` and the report cut it."""

from __future__ import annotations

import json
from pathlib import Path

from ccch_survey.cli import SURVEY_TEMPLATES, _pct, template_text
from click.testing import CliRunner

from ccch_core.cli import make_cli
from ccch_core.report import cut_to_one_decimal

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "surveys" / "sipas.toml"


def run(dep, *args):
    return CliRunner().invoke(make_cli(dep.config.path), list(args))


def test_the_packaged_sipas_is_the_example(tmp_path):
    assert template_text("sipas") == EXAMPLE.read_text(encoding="utf-8")
    assert list(SURVEY_TEMPLATES) == ["sipas"]


def test_templates_lists_the_built_in_surveys(make_deployment):
    dep = make_deployment(["survey"])
    result = run(dep, "survey", "templates", "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row["name"] == "sipas" and row["questions"] == 16 and row["title"].startswith("Khảo sát sự hài lòng")


def test_load_template_then_the_same_file_is_unchanged(make_deployment):
    dep = make_deployment(["survey"])
    result = run(dep, "survey", "load", "--template", "sipas")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sipas: version 1 saved (16 questions)."
    again = run(dep, "survey", "load", str(EXAMPLE))
    assert again.output.strip() == "sipas: unchanged (version 1)."


def test_load_needs_a_file_or_a_known_template(make_deployment):
    dep = make_deployment(["survey"])
    neither = run(dep, "survey", "load")
    assert neither.exit_code == 2 and "give a survey FILE or --template NAME" in neither.output
    both = run(dep, "survey", "load", str(EXAMPLE), "--template", "sipas")
    assert both.exit_code == 2 and "one of them" in both.output
    typo = run(dep, "survey", "load", "--template", "sipa")
    assert typo.exit_code == 2 and "no built-in survey 'sipa'" in typo.output and "sipas" in typo.output
    assert dep.db.execute("select count(*) from survey_versions").fetchone()[0] == 0


def test_results_cut_percentages_as_status_and_the_report_do():
    assert _pct(100 * 11 / 12) == "91.6%" == f"{cut_to_one_decimal(100 * 11 / 12):.1f}%"
    assert _pct(99.97) == "99.9%" and _pct(None) == "–"
