"""The ``ccch`` command line, every command through click's CliRunner on real SQLite files."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sqlite3
import unicodedata
from pathlib import Path

import click
import pytest
from ccch_testing import (
    CORE_STEPS,
    DUC_THO_PLAN,
    load_plugin_samples,
    make_deployment_folder,
)
from click.testing import CliRunner

from ccch_core import hookspecs
from ccch_core.cli import make_cli
from ccch_core.config import load_config
from ccch_core.plugins import DEFAULT_PLUGINS, installed_plugins
from ccch_core.storage import MIGRATIONS_TABLE

samples = load_plugin_samples()

TRUYEN_THANH = [
    "tt-duc-tho.truyen-thanh", "xa-an-dung.truyen-thanh", "xa-bui-la-nhan.truyen-thanh",
    "xa-duc-dong.truyen-thanh", "xa-duc-lang.truyen-thanh", "xa-hoa-lac.truyen-thanh",
    "xa-lam-trung-thuy.truyen-thanh", "xa-lien-minh.truyen-thanh", "xa-quang-vinh.truyen-thanh",
    "xa-tan-dan.truyen-thanh", "xa-tan-huong.truyen-thanh", "xa-thanh-binh-thinh.truyen-thanh",
    "xa-truong-son.truyen-thanh", "xa-tung-anh.truyen-thanh", "xa-tung-chau.truyen-thanh",
    "xa-yen-ho.truyen-thanh",
]


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def invoke(runner, deployment_config):
    """Run a command against the fixture deployment, building the CLI anew as ``ccch`` does."""

    def run(*args, config=deployment_config, available=None):
        cli = make_cli(config, available=available)
        return runner.invoke(cli, [str(a) for a in args])

    return run


@pytest.fixture
def no_config(tmp_path, monkeypatch):
    """A working folder without ccch.toml (and no $CCCH_CONFIG)."""
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def json_of(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def db_rows(config_path, sql, args=()):
    conn = sqlite3.connect(str(load_config(config_path).database_path))
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def broken_plan(folder: Path) -> Path:
    """A copy of the Đức Thọ plan with two problems (an unknown key and a bad period type)."""
    text = DUC_THO_PLAN.read_text(encoding="utf-8")
    assert text.count('code = "I7"\n') == 1 and text.count('target_per = "year"\n') == 1
    text = text.replace('code = "I7"\n', 'code = "I7"\nbogus_key = 1\n')
    text = text.replace('target_per = "year"\n', 'target_per = "fortnight"\n')
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(needle):
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# -- init ---------------------------------------------------------------------------------------


def test_init_creates_config_plan_and_migrated_database(runner, no_config, tmp_path):
    folder = tmp_path / "ductho"
    result = runner.invoke(make_cli(), ["init", str(folder), "--plan", str(DUC_THO_PLAN),
                                        "--public-base-url", "https://cchc.ductho.hatinh.gov.vn/"])
    assert result.exit_code == 0, result.output
    assert f"Created {folder / 'ccch.toml'}" in result.output
    assert "duc-tho-2024" in result.output
    assert (folder / "plan.toml").read_bytes() == DUC_THO_PLAN.read_bytes()
    config = load_config(folder / "ccch.toml")
    assert config.name == "Ủy ban nhân dân huyện Đức Thọ"
    assert config.public_base_url == "https://cchc.ductho.hatinh.gov.vn"
    assert config.plugins == ()
    assert config.plan_path == (folder / "plan.toml").resolve()
    assert config.database_path == (folder / "ccch.db").resolve()
    conn = sqlite3.connect(str(folder / "ccch.db"))
    try:
        applied = conn.execute(f"select migration_set, name from {MIGRATIONS_TABLE}").fetchall()
    finally:
        conn.close()
    assert applied == [("core", name) for name in CORE_STEPS]
    # The new deployment works.
    status = runner.invoke(make_cli(folder / "ccch.toml"), ["status", "--period", "2024-03"])
    assert status.exit_code == 0, status.output


def test_init_twice_without_force_fails_and_changes_nothing(runner, no_config, tmp_path):
    folder = tmp_path / "ductho"
    first = runner.invoke(make_cli(), ["init", str(folder), "--plan", str(DUC_THO_PLAN), "--name", "Đức Thọ"])
    assert first.exit_code == 0, first.output
    before = (folder / "ccch.toml").read_bytes()
    again = runner.invoke(make_cli(), ["init", str(folder), "--plan", str(DUC_THO_PLAN), "--name", "Khác"])
    assert again.exit_code == 1
    assert "exists" in again.output and "--force" in again.output
    assert (folder / "ccch.toml").read_bytes() == before


def test_init_with_force_rewrites_config_and_keeps_the_data(runner, no_config, tmp_path):
    folder = tmp_path / "ductho"
    assert runner.invoke(make_cli(), ["init", str(folder), "--plan", str(DUC_THO_PLAN)]).exit_code == 0
    config = folder / "ccch.toml"
    recorded = runner.invoke(make_cli(config), ["measure", "record", "I7", "trung-tam-vhtt", "2024-03", "2"])
    assert recorded.exit_code == 0, recorded.output
    forced = runner.invoke(make_cli(), ["init", str(folder), "--plan", str(DUC_THO_PLAN), "--name", "Khác", "--force"])
    assert forced.exit_code == 0, forced.output
    assert load_config(config).name == "Khác"
    assert db_rows(config, "select indicator, value from measurements") == [("I7", 2.0)]


def test_init_with_an_unknown_plugin_fails(runner, no_config, tmp_path):
    folder = tmp_path / "ductho"
    result = runner.invoke(make_cli(), ["init", str(folder), "--plan", str(DUC_THO_PLAN), "--plugin", "no-such-plugin"])
    assert result.exit_code == 2
    assert "--plugin" in result.output
    assert "not installed: no-such-plugin" in result.output
    assert not (folder / "ccch.toml").exists()


@pytest.mark.parametrize("url", ["ftp://cchc.example.gov.vn", "cchc.example.gov.vn", "https://x.vn/?a=1", "https://"])
def test_init_with_a_bad_public_base_url_fails(runner, no_config, tmp_path, url):
    folder = tmp_path / "ductho"
    result = runner.invoke(make_cli(), ["init", str(folder), "--plan", str(DUC_THO_PLAN), "--public-base-url", url])
    assert result.exit_code == 2
    assert "--public-base-url" in result.output
    assert repr(url) in result.output
    assert not folder.exists()


def test_init_with_a_broken_plan_lists_every_problem(runner, no_config, tmp_path):
    plan = broken_plan(tmp_path / "plans")
    folder = tmp_path / "ductho"
    result = runner.invoke(make_cli(), ["init", str(folder), "--plan", str(plan)])
    assert result.exit_code == 1
    assert "2 problems" in result.output
    assert f"{plan}:{line_of(plan, 'bogus_key')}: indicators[6].bogus_key" in result.output
    fortnight = line_of(plan, 'target_per = "fortnight"')
    assert f"{plan}:{fortnight}: indicators[6].target_per" in result.output
    assert not (folder / "ccch.toml").exists()


def test_init_with_a_missing_plan_file_fails(runner, no_config, tmp_path):
    result = runner.invoke(make_cli(), ["init", str(tmp_path / "d"), "--plan", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "nope.toml" in result.output


# -- plan ---------------------------------------------------------------------------------------


def test_plan_validate_good_example(runner, no_config):
    result = runner.invoke(make_cli(), ["plan", "validate", str(DUC_THO_PLAN)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK")
    assert "'duc-tho-2024'" in result.output
    assert "10 indicators (8 quantitative), 12 tasks" in result.output


def test_plan_validate_good_example_json(runner, no_config):
    assert json_of(runner.invoke(make_cli(), ["plan", "validate", str(DUC_THO_PLAN), "--json"])) == {
        "ok": True, "plan": "duc-tho-2024", "problems": [],
    }


def test_plan_validate_broken_copy(runner, no_config, tmp_path):
    plan = broken_plan(tmp_path)
    result = runner.invoke(make_cli(), ["plan", "validate", str(plan)])
    assert result.exit_code == 1
    assert "OK" not in result.output
    assert f"{plan}:{line_of(plan, 'bogus_key')}: indicators[6].bogus_key: unknown key" in result.output
    assert f"{plan}:{line_of(plan, 'target_per')}: indicators[6].target_per:" in result.output
    assert "fortnight" in result.output


def test_plan_validate_broken_copy_json(runner, no_config, tmp_path):
    plan = broken_plan(tmp_path)
    result = runner.invoke(make_cli(), ["plan", "validate", str(plan), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False
    assert [set(p) for p in data["problems"]] == [{"file", "line", "where", "message"}] * 2
    assert {(p["where"], p["line"]) for p in data["problems"]} == {
        ("indicators[6].bogus_key", line_of(plan, "bogus_key")),
        ("indicators[6].target_per", line_of(plan, 'target_per = "fortnight"')),
    }
    assert all(p["file"] == str(plan) for p in data["problems"])


def test_plan_validate_missing_file(runner, no_config, tmp_path):
    result = runner.invoke(make_cli(), ["plan", "validate", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1
    assert "no such file" in result.output


def test_plan_show_json_of_the_deployment(invoke):
    data = json_of(invoke("plan", "show", "--json"))
    assert data["plan"]["id"] == "duc-tho-2024"
    assert data["plan"]["starts_on"] == "2024-01-01" and data["plan"]["ends_on"] == "2024-12-31"
    assert [t["code"] for t in data["targets"]] == ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "Q1", "Q2"]
    assert sum(1 for t in data["targets"] if t["quantitative"]) == 8
    i7 = next(t for t in data["targets"] if t["code"] == "I7")
    assert (i7["kind"], i7["target"], i7["target_per"], i7["unit_label"]) == ("count", 15, "year", "số")
    assert [t["id"] for t in data["tasks"]] == [f"T{n}" for n in range(1, 13)]
    for task in data["tasks"]:
        assert task["lead"], task["id"]
        for ref in task["lead"] + task["coordinating"]:
            assert ref["id"] and ref["name"] and ref["name"] != ref["id"], (task["id"], ref)
    t2 = next(t for t in data["tasks"] if t["id"] == "T2")
    assert t2["lead"] == [{"id": "trung-tam-vhtt", "name": "Trung tâm Văn hóa - Truyền thông huyện"}]
    assert [d["last_day"] for d in data["deadlines"]] == ["2024-01-19"]
    monthly = next(r for r in data["reporting_rules"] if r["id"] == "bao-cao-thang")
    assert (monthly["frequency"], monthly["due_day"], monthly["via"]) == ("month", 5, "phong-vhtt")
    by_lead = {lead["id"]: lead["tasks"] for lead in data["tasks_by_lead"]}
    assert by_lead["trung-tam-vhtt"] == ["T2", "T8", "T9", "T10"]


def test_plan_show_with_file_needs_no_deployment(runner, no_config):
    data = json_of(runner.invoke(make_cli(), ["plan", "show", "--file", str(DUC_THO_PLAN), "--json"]))
    assert data["plan"]["id"] == "duc-tho-2024"
    assert len(data["tasks"]) == 12


def test_plan_show_for_one_unit(invoke):
    data = json_of(invoke("plan", "show", "--unit", "trung-tam-vhtt", "--json"))
    ids = [t["id"] for t in data["tasks"]]
    assert {"T2", "T8", "T9", "T10"} <= set(ids)  # leads
    assert "T3" in ids  # coordinates
    assert "T12" not in ids and "T11" not in ids
    assert len(ids) < 12
    for task in data["tasks"]:
        refs = {r["id"] for r in task["lead"] + task["coordinating"]}
        assert refs, task["id"]


def test_plan_show_unknown_unit(invoke):
    result = invoke("plan", "show", "--unit", "xa-khong-co")
    assert result.exit_code == 2
    assert "--unit" in result.output and "xa-khong-co" in result.output


def test_plan_show_text(invoke):
    result = invoke("plan", "show")
    assert result.exit_code == 0, result.output
    assert "Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2024" in result.output
    assert "Chỉ tiêu (targets)" in result.output
    assert "15 số/năm" in result.output
    assert "Chế độ báo cáo" in result.output


def test_plan_units(invoke):
    result = invoke("plan", "units")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    huyen = next(i for i, line in enumerate(lines) if "(ubnd-huyen," in line)
    an_dung = next(i for i, line in enumerate(lines) if "(xa-an-dung," in line)
    station = next(i for i, line in enumerate(lines) if "(xa-an-dung.truyen-thanh," in line)
    indent = [len(lines[i]) - len(lines[i].lstrip()) for i in (huyen, an_dung, station)]
    assert indent[0] < indent[1] < indent[2]
    assert huyen < an_dung < station
    assert "Ủy ban nhân dân huyện Đức Thọ" in lines[huyen]


def test_plan_units_json(invoke):
    result = invoke("plan", "units", "--json")
    data = json_of(result)
    text = json.dumps(data, ensure_ascii=False)
    assert "xa-an-dung.truyen-thanh" in text and "trung-tam-vhtt" in text


# -- measure record and status ------------------------------------------------------------------


def test_status_after_recording_measurements(invoke):
    for unit in TRUYEN_THANH[:4]:
        result = invoke("measure", "record", "I5", unit, "2024-03", "có")
        assert result.exit_code == 0, result.output
        assert f"Recorded I5 = 1 for {unit} in 2024-03." in result.output
    assert invoke("measure", "record", "I5", TRUYEN_THANH[4], "2024-03", "không").exit_code == 0
    assert invoke("measure", "record", "I7", "trung-tam-vhtt", "2024-03", "2").exit_code == 0
    ratio = invoke("measure", "record", "I2", "trung-tam-hcc", "2024-03", "--numerator", "38", "--denominator", "40")
    assert ratio.exit_code == 0, ratio.output
    assert invoke("measure", "record", "Q1", "trung-tam-vhtt", "2024-03", "yes").exit_code == 0

    data = json_of(invoke("status", "--period", "2024-03", "--json", "--units"))
    assert (data["plan"], data["period"], data["period_label"]) == ("duc-tho-2024", "2024-03", "Tháng 3/2024")
    by_code = {i["code"]: i for i in data["indicators"]}
    assert list(by_code) == ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "Q1", "Q2"]

    i5 = by_code["I5"]
    assert i5["value"] == pytest.approx(25.0)
    assert i5["status"] == "behind" and i5["status_vi"] == "Chưa đạt"
    assert i5["units_applicable"] == 16
    assert sorted(i5["units_without_data"]) == sorted(TRUYEN_THANH[5:])
    assert {u["unit"]: u["value"] for u in i5["units"] if u["value"] is not None} == {
        **{u: 1.0 for u in TRUYEN_THANH[:4]}, TRUYEN_THANH[4]: 0.0,
    }

    i7 = by_code["I7"]
    assert i7["value"] == 2
    assert i7["target"] == pytest.approx(1.25)  # 15 a year, one month of it
    assert i7["status"] == "met" and i7["status_vi"] == "Đạt"

    i2 = by_code["I2"]
    assert i2["value"] == pytest.approx(95.0)
    assert i2["status"] == "behind"
    hcc = next(u for u in i2["units"] if u["unit"] == "trung-tam-hcc")
    assert (hcc["numerator"], hcc["denominator"]) == (38.0, 40.0)

    assert by_code["Q1"]["value"] == 1.0 and by_code["Q1"]["status"] == "met"
    for code in ("I1", "I3", "I4", "I6", "I8", "Q2"):
        assert by_code[code]["value"] is None and by_code[code]["status"] == "no_data", code

    reporting = data["reporting"]
    assert reporting["period"] == "2024-03"
    assert reporting["expected"] == len(reporting["reports"]) > 0
    assert reporting["received"] == 0


def test_status_json_leaves_the_per_unit_values_out_unless_asked(invoke):
    # At national size the per-unit rows were 9 MB of a month's JSON (#26): only with --units.
    assert invoke("measure", "record", "I7", "trung-tam-vhtt", "2024-03", "2").exit_code == 0
    short = json_of(invoke("status", "--period", "2024-03", "--json"))
    full = json_of(invoke("status", "--period", "2024-03", "--json", "--units"))
    assert [i["code"] for i in short["indicators"]] == [i["code"] for i in full["indicators"]]
    for brief, whole in zip(short["indicators"], full["indicators"], strict=True):
        assert "units" not in brief and len(whole["units"]) == whole["units_applicable"]
        assert {k: v for k, v in whole.items() if k != "units"} == brief
    assert short["reporting"] == full["reporting"]


def test_status_text_has_vietnamese_labels(invoke):
    assert invoke("measure", "record", "I7", "trung-tam-vhtt", "2024-03", "2").exit_code == 0
    result = invoke("status", "--period", "2024-03")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Tháng 3/2024" in out
    for label in ("Mã", "Giá trị", "Chỉ tiêu", "Tình trạng", "Thiếu số liệu", "Đạt", "Chưa có số liệu", "Báo cáo:"):
        assert label in out, label
    i7 = next(line for line in out.splitlines() if line.startswith("I7 "))
    assert "Đạt" in i7 and "Số chuyên mục CCHC phát sóng" in i7


def test_status_default_period_outside_the_plan_is_the_plans_year(invoke):
    data = json_of(invoke("status", "--json"))
    # The plan covers 2024; today is not in it, so the whole year is shown.
    assert data["period"] == "2024"
    assert data["period_label"] == "Năm 2024"


@pytest.mark.parametrize("period", ["2024-13", "2024-3", "march", "2024-Q5"])
def test_status_with_a_bad_period_fails_clearly(invoke, period):
    result = invoke("status", "--period", period)
    assert result.exit_code == 2
    assert "--period" in result.output
    assert repr(period) in result.output
    assert "Traceback" not in result.output


def test_measure_record_json_and_correction_kept_in_the_log(invoke, deployment_config):
    first = json_of(invoke("measure", "record", "I7", "trung-tam-vhtt", "2024-03", "2", "--json"))
    assert first == {"indicator": "I7", "unit": "trung-tam-vhtt", "period": "2024-03", "value": 2.0,
                     "numerator": None, "denominator": None}
    second = json_of(invoke("measure", "record", "I7", "trung-tam-vhtt", "2024-03", "3", "--json", "--by", "cán bộ"))
    assert second["value"] == 3.0
    assert db_rows(deployment_config, "select value, recorded_by from measurements") == [(3.0, "cán bộ")]
    assert db_rows(deployment_config, "select value, action from measurement_log order by id") == [
        (2.0, "insert"), (3.0, "update"),
    ]


def test_measure_record_accepts_decomposed_vietnamese(invoke):
    nfd_yes = unicodedata.normalize("NFD", "có")
    nfd_note = unicodedata.normalize("NFD", "Phát sóng thứ Hai")
    assert nfd_yes != "có"
    result = invoke("measure", "record", "Q1", "trung-tam-vhtt", "2024-03", nfd_yes, "--note", nfd_note)
    assert result.exit_code == 0, result.output
    listed = json_of(invoke("measure", "list", "--period", "2024-03", "--json"))
    assert [(m["value"], m["note"]) for m in listed] == [(1.0, "Phát sóng thứ Hai")]


@pytest.mark.parametrize(
    ("args", "field", "detail"),
    [
        (["I99", "trung-tam-vhtt", "2024-03", "1"], "indicator", "unknown indicator 'I99'"),
        (["I5", "xa-an-dung", "2024-03", "có"], "unit", "does not apply to xa-an-dung"),
        (["I5", "xa-khong-co.truyen-thanh", "2024-03", "có"], "unit", "unknown unit"),
        (["I5", "xa-an-dung.truyen-thanh", "2024-Q1", "có"], "period", "2024-Q1 is a quarter"),
        (["I5", "xa-an-dung.truyen-thanh", "2025-01", "có"], "period", "outside the plan"),
        (["I5", "xa-an-dung.truyen-thanh", "2024-13", "có"], "period", "2024-13"),
        (["I7", "trung-tam-vhtt", "2024-03", "abc"], "value", "'abc' is not a number"),
        (["I7", "trung-tam-vhtt", "2024-03", "2.5"], "value", "not a count"),
        (["I7", "trung-tam-vhtt", "2024-03"], "value", "missing value"),
        (["I5", "xa-an-dung.truyen-thanh", "2024-03", "maybe"], "value", "not yes or no"),
        (["I2", "trung-tam-hcc", "2024-03", "--numerator", "5"], "denominator", "give both numerator and denominator"),
        (["I2", "trung-tam-hcc", "2024-03", "--denominator", "5"], "numerator", "give both"),
        (["I2", "trung-tam-hcc", "2024-03", "--numerator", "50", "--denominator", "40"], "numerator",
         "larger than the denominator"),
        (["I2", "trung-tam-hcc", "2024-03", "--numerator", "-1", "--denominator", "40"], "numerator", "negative"),
    ],
)
def test_measure_record_errors_name_the_field(invoke, deployment_config, args, field, detail):
    result = invoke("measure", "record", *args)
    assert result.exit_code == 1
    assert f"Error: {field}: " in result.output
    assert detail in result.output
    assert db_rows(deployment_config, "select count(*) from measurements") == [(0,)]


# -- measure import and list --------------------------------------------------------------------


def write_csv(path: Path, rows: list[str], bom: bool = False) -> Path:
    text = "\r\n".join(rows) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_measure_import_good_csv_with_bom(invoke, tmp_path, deployment_config):
    csv_path = write_csv(tmp_path / "so-lieu.csv", [
        "indicator,unit,period,value,numerator,denominator,note",
        "I5,xa-an-dung.truyen-thanh,2024-03,có,,,Phát sóng thứ Hai hằng tuần",
        "I2,trung-tam-hcc,2024-03,,38,40,",
        "I7,trung-tam-vhtt,2024-03,2,,,",
    ], bom=True)
    result = invoke("measure", "import", csv_path)
    assert result.exit_code == 0, result.output
    assert "Imported 3 value(s)" in result.output
    listed = json_of(invoke("measure", "list", "--period", "2024-03", "--json"))
    assert [(m["indicator"], m["unit"], m["value"], m["note"], m["recorded_by"]) for m in listed] == [
        ("I2", "trung-tam-hcc", 95.0, None, "import"),
        ("I5", "xa-an-dung.truyen-thanh", 1.0, "Phát sóng thứ Hai hằng tuần", "import"),
        ("I7", "trung-tam-vhtt", 2.0, None, "import"),
    ]
    # The month's figures for the dashboard's trends are stored by the import (#26).
    assert db_rows(deployment_config, "select period from period_figures") == [("2024-03",)]


def test_serve_stores_the_months_figures_before_its_workers_start(invoke, tmp_path, deployment_config, monkeypatch):
    """After an upgrade or an edited plan no stored month figure is current: ``ccch serve``
    evaluates them before serving, so the first dashboard reads them (#26)."""
    from ccch_core import progress
    from ccch_core.web import server

    csv_path = write_csv(tmp_path / "so-lieu.csv", ["indicator,unit,period,value,numerator,denominator,note",
                                                   "I2,trung-tam-hcc,2024-03,,38,40,"])
    assert invoke("measure", "import", csv_path).exit_code == 0
    conn = sqlite3.connect(str(load_config(deployment_config).database_path))
    conn.execute("delete from period_figures")  # as after an upgrade: nothing current
    conn.commit()
    conn.close()
    served = []
    monkeypatch.setattr(server, "run_server", lambda config, **options: served.append(
        db_rows(deployment_config, "select period from period_figures order by period")))
    result = invoke("serve", "--no-deliver")
    assert result.exit_code == 0, result.output
    (stored,) = served  # stored before the server ran
    assert [p for (p,) in stored] == [f"2024-{m:02d}" for m in range(1, 13)]
    # and current: reading them evaluates nothing
    from ccch_core.deployment import Deployment

    deployment = Deployment(load_config(deployment_config))

    def no_evaluation(*args, **kwargs):
        raise AssertionError("a stored month was evaluated again")

    monkeypatch.setattr(progress, "evaluate_plan", no_evaluation)
    months = list(progress.Period.parse("2024").months())
    figures = progress.month_figures(deployment.db, deployment.plan, months)
    assert figures[progress.Period.parse("2024-03")]["I2"] == 95.0


def test_measure_import_with_bad_rows_reports_each_and_imports_nothing(invoke, tmp_path):
    csv_path = write_csv(tmp_path / "so-lieu.csv", [
        "indicator,unit,period,value,numerator,denominator,note",
        "I5,xa-an-dung.truyen-thanh,2024-03,có,,,",
        "I5,xa-an-dung,2024-03,có,,,",
        "I7,trung-tam-vhtt,2024-03,2,,,",
        "I7,trung-tam-vhtt,2024-04,abc,,,",
    ])
    result = invoke("measure", "import", csv_path)
    assert result.exit_code == 1
    assert "2 bad row(s); nothing was imported" in result.output
    assert f"{csv_path}:3: unit: I5 does not apply to xa-an-dung" in result.output
    assert f"{csv_path}:5: value: 'abc' is not a number" in result.output
    assert f"{csv_path}:2:" not in result.output and f"{csv_path}:4:" not in result.output
    assert json_of(invoke("measure", "list", "--period", "2024", "--json")) == []


def test_measure_import_with_a_bad_header(invoke, tmp_path):
    csv_path = write_csv(tmp_path / "so-lieu.csv", ["indicator,unit,when,value", "I7,trung-tam-vhtt,2024-03,2"])
    result = invoke("measure", "import", csv_path)
    assert result.exit_code == 1
    assert f"{csv_path}:1:" in result.output
    assert "unknown: when" in result.output


def test_measure_import_not_utf8(invoke, tmp_path):
    path = tmp_path / "so-lieu.csv"
    path.write_bytes("indicator,unit,period,value,note\nI7,trung-tam-vhtt,2024-03,2,Phát sóng\n".encode("cp1258"))
    result = invoke("measure", "import", path)
    assert result.exit_code == 1
    assert "UTF-8" in result.output
    assert json_of(invoke("measure", "list", "--period", "2024", "--json")) == []


def test_measure_list_filters_by_period_and_indicator(invoke):
    assert invoke("measure", "record", "I7", "trung-tam-vhtt", "2024-03", "2").exit_code == 0
    assert invoke("measure", "record", "I7", "trung-tam-vhtt", "2024-05", "1").exit_code == 0
    assert invoke("measure", "record", "Q1", "trung-tam-vhtt", "2024-03", "có").exit_code == 0
    march = json_of(invoke("measure", "list", "--period", "2024-03", "--json"))
    assert [(m["indicator"], m["period"]) for m in march] == [("I7", "2024-03"), ("Q1", "2024-03")]
    q1 = json_of(invoke("measure", "list", "--period", "2024-Q1", "--indicator", "I7", "--json"))
    assert [(m["indicator"], m["period"], m["value"]) for m in q1] == [("I7", "2024-03", 2.0)]
    year = json_of(invoke("measure", "list", "--period", "2024", "--indicator", "I7", "--json"))
    assert [m["period"] for m in year] == ["2024-03", "2024-05"]
    assert set(year[0]) == {"indicator", "unit", "period", "value", "numerator", "denominator", "note",
                            "recorded_by", "recorded_at"}
    text = invoke("measure", "list", "--period", "2024-03")
    assert text.exit_code == 0
    assert "Đơn vị" in text.output and "trung-tam-vhtt" in text.output


# -- report-activity ----------------------------------------------------------------------------


def test_report_activity_and_resubmission(invoke, deployment_config):
    first = invoke("report-activity", "xa-an-dung", "2024-03",
                   "--item", "broadcast=4|Nêu gương người tốt, việc tốt",
                   "--item", "published=2|Bài về DVC trực tuyến|https://ductho.hatinh.gov.vn/bai-1|T7",
                   "--note", "Tháng 3")
    assert first.exit_code == 0, first.output
    assert "revision 1, 2 item(s)" in first.output
    second = json_of(invoke("report-activity", "xa-an-dung", "2024-03", "--item", "broadcast=5", "--json"))
    assert second["unit"] == "xa-an-dung" and second["period"] == "2024-03"
    assert second["revision"] == 2
    assert second["items"] == [{"category": "broadcast", "count": 5, "title": None, "link": None, "task_id": None}]
    assert db_rows(deployment_config, "select count(*) from activity_reports") == [(1,)]
    assert db_rows(deployment_config, "select category, count from activity_items") == [("broadcast", 5)]
    third = json_of(invoke("report-activity", "xa-an-dung", "2024-03", "--item", "broadcast=5", "--json"))
    assert third["revision"] == 3 and third["id"] == second["id"]
    # The report counts as received.
    reporting = json_of(invoke("status", "--period", "2024-03", "--json"))["reporting"]
    assert reporting["received"] == 1
    mine = [r for r in reporting["reports"] if r["unit"] == "xa-an-dung"]
    assert len(mine) == 1 and mine[0]["state"] in ("on_time", "late")


def test_report_activity_items_with_title_link_and_task(invoke):
    data = json_of(invoke("report-activity", "trung-tam-vhtt", "2024-03", "--json",
                          "--item", "published=2|Bài về DVC trực tuyến|https://ductho.hatinh.gov.vn/bai-1|T7"))
    assert data["revision"] == 1
    assert data["items"] == [{"category": "published", "count": 2, "title": "Bài về DVC trực tuyến",
                              "link": "https://ductho.hatinh.gov.vn/bai-1", "task_id": "T7"}]


@pytest.mark.parametrize(
    ("args", "exit_code", "expected"),
    [
        (["xa-an-dung.truyen-thanh", "2024-03", "--item", "broadcast=4"], 1, "unit: xa-an-dung.truyen-thanh"),
        (["ubnd-huyen", "2024-03", "--item", "broadcast=1"], 1, "owes no"),
        (["xa-an-dung", "2024-Q1", "--item", "broadcast=1"], 1, "owes no"),
        (["xa-khong-co", "2024-03", "--item", "broadcast=1"], 1, "unit: unknown unit"),
        (["xa-an-dung", "2025-03", "--item", "broadcast=1"], 1, "period:"),
        (["xa-an-dung", "2024-13", "--item", "broadcast=1"], 1, "period:"),
        (["xa-an-dung", "2024-03", "--item", "dance=4"], 1, "items[0].category: 'dance'"),
        (["xa-an-dung", "2024-03", "--item", "broadcast=1", "--item", "broadcast=-1"], 1, "items[1].count"),
        (["xa-an-dung", "2024-03", "--item", "broadcast=x"], 1, "items[0].count: 'x' is not a number"),
        (["xa-an-dung", "2024-03", "--item", "broadcast=1.5"], 1, "items[0].count"),
        (["xa-an-dung", "2024-03", "--item", "broadcast"], 2, "--item #1"),
        (["xa-an-dung", "2024-03", "--item", "published=1|t|ftp://x.vn/a"], 1, "items[0].link"),
        (["xa-an-dung", "2024-03", "--item", "published=1|t||T99"], 1, "items[0].task_id"),
        (["xa-an-dung"], 2, "UNIT and PERIOD are required"),
    ],
)
def test_report_activity_errors(invoke, deployment_config, args, exit_code, expected):
    result = invoke("report-activity", *args)
    assert result.exit_code == exit_code, result.output
    assert expected in result.output
    assert db_rows(deployment_config, "select count(*) from activity_reports") == [(0,)]


def test_report_activity_from_csv(invoke, tmp_path):
    csv_path = write_csv(tmp_path / "bao-cao.csv", [
        "unit,period,category,count,title,link,task,note,submitted_at",
        "xa-an-dung,2024-03,broadcast,4,Nêu gương người tốt,,,Báo cáo tháng 3,2024-04-03",
        "xa-an-dung,2024-03,published,2,,,,,",
        "trung-tam-vhtt,2024-03,published,6,,,T2,,2024-04-09",
    ], bom=True)
    result = invoke("report-activity", "--from-csv", csv_path)
    assert result.exit_code == 0, result.output
    assert "Imported 2 report(s) (3 item(s))" in result.output
    reports = json_of(invoke("status", "--period", "2024-03", "--json"))["reporting"]["reports"]
    states = {r["unit"]: r["state"] for r in reports if r["state"] != "missing"}
    assert states == {"xa-an-dung": "on_time", "trung-tam-vhtt": "late"}


def test_report_activity_from_csv_with_bad_rows_imports_nothing(invoke, deployment_config, tmp_path):
    csv_path = write_csv(tmp_path / "bao-cao.csv", [
        "unit,period,category,count",
        "xa-an-dung,2024-03,broadcast,4",
        "xa-an-dung,2024-03,dance,2",
        "ubnd-huyen,2024-03,published,1",
    ])
    result = invoke("report-activity", "--from-csv", csv_path)
    assert result.exit_code == 1
    assert "2 bad row(s); nothing was imported" in result.output
    assert f"{csv_path}:3: category: 'dance'" in result.output
    assert f"{csv_path}:4: unit: ubnd-huyen" in result.output
    assert db_rows(deployment_config, "select count(*) from activity_reports") == [(0,)]


def test_report_activity_from_csv_and_arguments_together_is_refused(invoke, tmp_path):
    csv_path = write_csv(tmp_path / "bao-cao.csv", ["unit,period,category,count", "xa-an-dung,2024-03,broadcast,4"])
    result = invoke("report-activity", "xa-an-dung", "2024-03", "--from-csv", csv_path)
    assert result.exit_code == 2
    assert "either --from-csv" in result.output


# -- plugins ------------------------------------------------------------------------------------


ALL_HOOKS = sorted(  # the good sample plugin implements every hook
    name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), f"{hookspecs.PROJECT}_spec")
)


@pytest.fixture
def good_config(tmp_path):
    return make_deployment_folder(tmp_path / "with-good", plugins=["good"])


def test_plugins_json_lists_loaded_and_blocked_plugins(invoke, good_config):
    available = samples.available("good", "typo", "dup_measure")
    data = json_of(invoke("plugins", "--json", config=good_config, available=available))
    assert data["loaded"] == [{"name": "good", "version": "1.0", "hooks": ALL_HOOKS, "core": False}]
    assert data["installed_not_enabled"] == ["dup_measure", "typo"]
    assert data["broken"] == []


def test_plugins_text(invoke, good_config):
    available = samples.available("good", "typo", "dup_measure")
    result = invoke("plugins", config=good_config, available=available)
    assert result.exit_code == 0, result.output
    good_line = next(line for line in result.output.splitlines() if line.startswith("good "))
    # Hooks in alphabetical order, the line cut at 80 columns with an ellipsis.
    assert "1.0" in good_line and "dashboard_panels, erase_personal_data, navigation_items" in good_line
    assert "Installed, not enabled: dup_measure, typo" in result.output


def test_plugins_all_includes_the_core_modules(invoke, good_config):
    data = json_of(invoke("plugins", "--all", "--json", config=good_config, available=samples.available("good")))
    assert [(p["name"], p["core"]) for p in data["loaded"]] == [
        *((name, True) for name in DEFAULT_PLUGINS), ("good", False),
    ]
    assert data["loaded"][0]["hooks"] == ["register_migrations"]


def test_plugins_without_plugins(invoke):
    result = invoke("plugins", available={})
    assert result.exit_code == 0
    assert "No plugins enabled." in result.output


def test_plugins_lists_a_broken_plugin_when_not_strict(invoke, tmp_path, monkeypatch):
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "0")
    config = make_deployment_folder(tmp_path / "dep", plugins=["good", "broken"])
    available = samples.available("good", "broken")
    data = json_of(invoke("plugins", "--json", config=config, available=available))
    assert [p["name"] for p in data["loaded"]] == ["good"]
    assert [b["name"] for b in data["broken"]] == ["broken"]
    assert "ImportError" in data["broken"][0]["error"]
    text = invoke("plugins", config=config, available=available)
    assert "Failed to load: broken: ImportError" in text.output


def test_plugins_without_a_config_lists_installed_plugins_as_not_enabled(runner, no_config):
    data = json_of(runner.invoke(make_cli(), ["plugins", "--json"]))
    assert data["loaded"] == []
    assert data["installed_not_enabled"] == sorted(installed_plugins())


def test_plugins_command_reports_an_enabled_plugin_that_is_not_installed(invoke, tmp_path):
    """``ccch plugins`` is where an operator looks when plugins go wrong: it must not hide the error."""
    config = make_deployment_folder(tmp_path / "dep", plugins=["survey"])
    result = invoke("plugins", config=config, available={})
    assert 'plugin "survey" is enabled in the config but not installed' in result.output
    assert "No plugins enabled." not in result.output


def test_plugin_enabled_but_not_installed_is_a_clear_error(invoke, tmp_path):
    config = make_deployment_folder(tmp_path / "dep", plugins=["survey"])
    result = invoke("status", config=config, available={})
    assert result.exit_code == 1
    assert 'plugin "survey" is enabled in the config but not installed' in result.output


# -- db and backup ------------------------------------------------------------------------------


def test_db_migrate_twice(invoke, deployment_config):
    first = invoke("db", "migrate")
    assert first.exit_code == 0, first.output
    assert "core: applied " + ", ".join(CORE_STEPS) in first.output
    second = invoke("db", "migrate")
    assert second.exit_code == 0
    assert second.output.strip() == "Database is up to date."


def test_db_migrate_applies_plugin_sets(invoke, good_config):
    result = invoke("db", "migrate", config=good_config, available=samples.available("good"))
    assert result.exit_code == 0, result.output
    assert "core: applied " + ", ".join(CORE_STEPS) in result.output
    assert "good: applied m001_good_things" in result.output


def test_db_status_json(invoke):
    before = json_of(invoke("db", "status", "--json"))
    assert before == {"core": {"applied": [], "pending": CORE_STEPS}}
    assert invoke("db", "migrate").exit_code == 0
    after = json_of(invoke("db", "status", "--json"))
    assert after == {"core": {"applied": CORE_STEPS, "pending": []}}
    text = invoke("db", "status")
    assert text.exit_code == 0
    assert text.output.splitlines()[-1].split() == ["core", str(len(CORE_STEPS)), "–"]


def test_database_from_a_newer_ccch_is_refused_with_advice(invoke, deployment_config):
    assert invoke("db", "migrate").exit_code == 0
    path = load_config(deployment_config).database_path
    conn = sqlite3.connect(str(path))
    with conn:
        conn.execute(f"insert into {MIGRATIONS_TABLE} (migration_set, name, applied_at) "
                     "values ('core', 'm999_future', '2030-01-01')")
    conn.close()
    result = invoke("status", "--period", "2024-03")
    assert result.exit_code == 1
    assert "m999_future" in result.output
    assert "Upgrade ccch" in result.output
    assert "Traceback" not in result.output


def test_backup(invoke, deployment_config, tmp_path):
    assert invoke("measure", "record", "I7", "trung-tam-vhtt", "2024-03", "2").exit_code == 0
    destination = tmp_path / "backups" / "ccch-2024-03.db"
    first = invoke("backup", destination)
    assert first.exit_code == 0, first.output
    assert "integrity check ok" in first.output
    conn = sqlite3.connect(str(destination))
    try:
        assert conn.execute("select indicator, value from measurements").fetchall() == [("I7", 2.0)]
    finally:
        conn.close()
    again = invoke("backup", destination)
    assert again.exit_code == 1
    assert "exists" in again.output and "--force" in again.output
    forced = invoke("backup", destination, "--force")
    assert forced.exit_code == 0, forced.output


# -- no deployment, bad config ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["measure", "record", "I7", "trung-tam-vhtt", "2024-03", "2"],
        ["measure", "list"],
        ["report-activity", "xa-an-dung", "2024-03", "--item", "broadcast=1"],
        ["plan", "show"],
        ["db", "migrate"],
        ["db", "status"],
        ["backup", "x.db"],
    ],
)
def test_commands_needing_a_deployment_without_config_fail_clearly(runner, no_config, args):
    result = runner.invoke(make_cli(), args)
    assert result.exit_code == 1
    assert "no deployment config" in result.output
    assert "ccch init" in result.output
    assert "Traceback" not in result.output
    assert not (no_config / "x.db").exists()


def test_config_from_the_environment(runner, no_config, deployment_config, monkeypatch):
    monkeypatch.setenv("CCCH_CONFIG", str(deployment_config))
    result = runner.invoke(make_cli(), ["db", "status", "--json"])
    assert json.loads(result.output) == {"core": {"applied": [], "pending": CORE_STEPS}}


def test_config_option_on_the_command_line(runner, no_config, deployment_config):
    argv = ["--config", str(deployment_config), "db", "status", "--json"]
    result = runner.invoke(make_cli(argv=argv), argv)
    assert result.exit_code == 0, result.output
    assert "core" in json.loads(result.output)


def test_bad_config_is_reported_when_the_deployment_is_needed(runner, tmp_path):
    config = tmp_path / "ccch.toml"
    config.write_text('[deployment]\nplan = "plan.toml"\nplugns = ["survey"]\n', encoding="utf-8")
    cli = make_cli(config)
    result = runner.invoke(cli, ["status"])
    assert result.exit_code == 1
    assert "deployment.plugns: unknown key" in result.output
    assert 'did you mean "plugins"' in result.output
    # Commands that need no deployment still work.
    assert runner.invoke(make_cli(config), ["plan", "validate", str(DUC_THO_PLAN)]).exit_code == 0


def test_deployment_whose_plan_is_broken(runner, tmp_path):
    config = make_deployment_folder(tmp_path / "dep", plan_file=broken_plan(tmp_path / "plans"))
    result = runner.invoke(make_cli(config), ["status"])
    assert result.exit_code == 1
    assert "plan file has problems" in result.output
    assert "indicators[6].bogus_key" in result.output


# -- help ---------------------------------------------------------------------------------------


def _command_paths(group: click.Group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


EXPECTED_COMMANDS = {
    ("init",), ("plan",), ("plan", "validate"), ("plan", "show"), ("plan", "units"), ("status",),
    ("measure",), ("measure", "record"), ("measure", "import"), ("measure", "list"), ("report-activity",),
    ("plugins",), ("db",), ("db", "migrate"), ("db", "status"), ("backup",),
    ("users",), ("users", "add"), ("users", "list"), ("users", "set-role"), ("users", "disable"),
    ("users", "enable"), ("users", "passwd"), ("users", "totp"), ("users", "totp", "enable"),
    ("users", "totp", "reset"), ("users", "totp", "disable"), ("serve",),
    ("privacy",), ("privacy", "erase"), ("privacy", "purge"), ("audit",),
    ("messages",), ("messages", "send"), ("messages", "list"), ("messages", "show"), ("messages", "retry"),
    ("messages", "cancel"), ("messages", "test"), ("messages", "senders"),
    ("contacts",), ("contacts", "add"), ("contacts", "list"), ("contacts", "remove"), ("contacts", "import"),
    ("plugin",), ("plugin", "new"),
    ("doctor",), ("replication",), ("replication", "config"), ("replication", "run"), ("replication", "status"),
    ("restore",), ("scheduled-work",),
    ("plan", "list"), ("report-sent",),  # #19: other years' plans; a report sent to a further recipient
    ("local-plans",), ("local-plans", "list"), ("local-plans", "export"), ("local-plans", "demo"),  # #19
    ("local-plans", "document"), ("plan", "add"),  # #19: the Decree 30 "Kế hoạch"; another year's plan
}


def test_every_core_command_exists(no_config):
    assert {path for path, _ in _command_paths(make_cli())} == EXPECTED_COMMANDS


def test_help_of_every_command_and_subcommand(runner, no_config):
    root = runner.invoke(make_cli(), ["--help"])
    assert root.exit_code == 0
    assert "ccch" in root.output and "CCHC" in root.output
    for path, command in _command_paths(make_cli()):
        assert command.help and len(command.help.strip()) >= 15, path
        result = runner.invoke(make_cli(), [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output, path
        first_sentence = " ".join(command.help.strip().split("\n\n")[0].split())
        assert first_sentence in " ".join(result.output.split()), path
        result_short = runner.invoke(make_cli(), [*path, "-h"])
        assert result_short.exit_code == 0, path
    # Options are documented too.
    for path, command in _command_paths(make_cli()):
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, (path, param.name)


def test_help_of_a_plugin_command(runner, good_config):
    result = runner.invoke(make_cli(good_config, available=samples.available("good")), ["good", "hello", "--help"])
    assert result.exit_code == 0
    assert "Greet from the deployment." in result.output


def test_version(runner, no_config):
    result = runner.invoke(make_cli(), ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ccch, version {importlib.metadata.version('ccch-core')}"


@pytest.mark.parametrize("max_width", [1, 2, 5, 12, 30])
def test_a_long_table_cell_is_cut_to_the_longest_beginning_that_fits_with_its_ellipsis(max_width):
    from ccch_core.cli import display_width, table

    # Vietnamese with combining marks (width 0), wide characters (2) and plain ones (1).
    text = "Tuyên truyền CCHC 中文 " + "Thu\u0323c hie\u0302\u0323n ke\u0302\u0301 hoa\u0323ch " * 4
    cell = table([(text,)], ["x"], max_width=max_width).split("\n")[2].rstrip()
    assert cell.endswith("…")
    kept = cell[:-1]
    assert text.startswith(kept)
    assert display_width(kept) <= max_width - 1
    # One more character of the text would not fit (or the text is exhausted).
    assert display_width(text[:len(kept) + 1]) > max_width - 1


def test_json_is_indented_for_a_terminal_and_one_line_for_a_pipe(runner, no_config, monkeypatch):
    """`--json` output read by a program (a pipe, a file) is one line, encoded by the C encoder;
    at a terminal it is indented for a person. Both are the same JSON."""
    from ccch_core import cli as cli_module

    args = ["plan", "validate", str(DUC_THO_PLAN), "--json"]
    piped = runner.invoke(make_cli(), args)
    assert piped.exit_code == 0, piped.output
    assert piped.output.count("\n") == 1 and json.loads(piped.output)["ok"] is True
    monkeypatch.setattr(cli_module, "_stdout_is_terminal", lambda: True)
    at_terminal = runner.invoke(make_cli(), args)
    assert at_terminal.output.count("\n") > 1 and '\n  "ok": true' in at_terminal.output
    assert json.loads(at_terminal.output) == json.loads(piped.output)
