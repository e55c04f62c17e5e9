"""``[plugins.survey]`` settings checked at start-up, and the ``ccch survey`` commands."""

from __future__ import annotations

import csv
import io
import json

import pypdfium2 as pdfium
import pytest
from ccch_survey.settings import SettingsError, parse_settings
from ccch_survey.store import add_placement, placement_url
from ccch_survey_testing import SIPAS, answers, store_response, submit
from click.testing import CliRunner

from ccch_core.cli import make_cli
from ccch_core.plugins import PluginError


@pytest.mark.parametrize("raw,message", [
    ({"short_path": "khao-sat"}, "short_path"), ({"short_path": "K/"}, "short_path"),
    ({"responses_per_device_per_day": -1}, "responses_per_device_per_day"),
    ({"max_submission_bytes": "20k"}, "max_submission_bytes"), ({"kiosk_idle": 5}, "unknown key"),
    ({"measure_surveys": "sipas"}, "measure_surveys"),
])
def test_bad_settings_are_refused(raw, message):
    with pytest.raises(SettingsError, match=message):
        parse_settings(raw)


def test_bad_settings_stop_start_up(make_deployment, survey_plan_path):
    with pytest.raises(PluginError, match="submissions_per_address_per_hour"):
        make_deployment(plugins=("survey",), plan_path=survey_plan_path,
                        plugin_settings={"survey": {"submissions_per_address_per_hour": True}})


def test_short_path_is_configurable(survey_deployment, make_app):
    dep = survey_deployment(short_path="ks")
    placement = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    from ccch_survey.settings import settings_of

    assert placement_url(dep.public_base_url, settings_of(dep), placement.code).endswith(f"/ks/{placement.code}")
    client = make_app(dep).test_client()
    assert client.get(f"/k/{placement.code}").status_code == 404
    assert submit(client, f"/ks/{placement.code}", answers()).status_code == 200


@pytest.fixture
def cli(dep):
    path = dep.config.folder / "ccch.toml"
    path.write_text(
        '[deployment]\nname = "Huyện Đức Thọ"\nplan = "plan.toml"\ndatabase = "ccch.db"\n'
        'public_base_url = "https://cchc.example.gov.vn"\nplugins = ["survey"]\n', encoding="utf-8")
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(make_cli(path), list(args), catch_exceptions=False)
        return result

    return run


def test_cli_load_place_print_and_read(cli, dep, tmp_path):
    assert "unchanged (version 1)" in cli("survey", "load", str(SIPAS)).output
    result = cli("survey", "place-kind", "sipas", "one_stop_desk", "--place", "Quầy tiếp nhận hồ sơ")
    assert "16 created, 0 already placed." in result.output
    listed = json.loads(cli("survey", "placements", "--json").output)
    assert len(listed) == 16 and listed[0]["url"].startswith("https://cchc.example.gov.vn/k/")
    out = tmp_path / "posters.pdf"
    result = cli("survey", "posters", "sipas", "--kind", "one_stop_desk", "--size", "A3", "-o", str(out))
    assert result.exit_code == 0 and "16 posters written" in result.output
    assert len(pdfium.PdfDocument(out.read_bytes())) == 16
    png = tmp_path / "qr.png"
    assert cli("survey", "qr", listed[0]["code"], "-o", str(png)).exit_code == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    placement = next(p for p in dep.db.query("select * from survey_placements where unit_id = 'xa-an-dung.mot-cua'"))
    from ccch_survey.store import get_placement

    store_response(dep, get_placement(dep.db, placement["code"]), {"chung": "5", "cong-chuc.1": "2"})
    data = json.loads(cli("survey", "results", "sipas", "--period", "2024-03", "--json").output)
    assert data["overall"]["answers"] == 2 and data["overall"]["index"] == 50.0
    assert data["units"][0]["unit"] == "tt-duc-tho.mot-cua"
    csv_file = tmp_path / "out.csv"
    assert "1 responses" in cli("survey", "export", "sipas", "-o", str(csv_file)).output
    rows = list(csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2 and "Rất hài lòng" in rows[1]
    assert "tally rows written" in cli("survey", "retally").output
    assert "sipas: closed." in cli("survey", "close", "sipas").output
    placed = cli("survey", "place", "sipas", "trung-tam-hcc", "--place", "Sảnh", "--kiosk").output.split()
    assert len(placed) == 2 and placed[1] == f"https://cchc.example.gov.vn/k/{placed[0]}"
    assert dep.db.execute("select mode from survey_placements where code = ?", [placed[0]]).fetchone()[0] == "kiosk"


def test_cli_forget_contact(cli, app, dep):
    placement = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    submit(app.test_client(), f"/k/{placement.code}", {**answers(), "lien-he": "dong-y", "dien-thoai": "0912345678"})
    assert dep.db.execute("select count(*) from survey_contacts").fetchone()[0] == 1
    assert "1 contact(s) deleted." in cli("survey", "forget-contact", "--phone", "+84912345678").output
    assert dep.db.execute("select count(*) from survey_contacts").fetchone()[0] == 0
    assert dep.db.execute("select count(*) from survey_responses").fetchone()[0] == 1
