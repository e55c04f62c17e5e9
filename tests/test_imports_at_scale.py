"""Imports at the size of a country (#26 part 1): ``measure import`` and ``report-activity
--from-csv`` on a generated national plan (``bench/national_plan.py`` at a small scale) with files
of more than 20,000 rows.

A bad row anywhere still rejects the whole file, and every bad row is reported with its line,
field and value, however far apart they are; a good file is stored whole, and imported again it
corrects rather than duplicates (the history is kept in ``measurement_log``, a report's revision
goes up and its first submission time stays). Progress goes to standard error when asked.
"""

from __future__ import annotations

import csv
import importlib.util
import pickle
import sqlite3
from pathlib import Path

import pytest
from ccch_testing import make_deployment_folder
from click.testing import CliRunner

from ccch_core import progress
from ccch_core.builtin.commands import parse_local_instant
from ccch_core.cli import make_cli
from ccch_core.config import load_config
from ccch_core.deployment import Deployment
from ccch_core.periods import Period
from ccch_core.planfile import load_plan
from ccch_core.storage import utc_now_iso

ROOT = Path(__file__).resolve().parents[1]
SCALE = 0.05  # 166 communes and 1,659 facilities: 2,174 values a month
MONTHS = 10


def _generator():
    spec = importlib.util.spec_from_file_location("national_plan", ROOT / "bench" / "national_plan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """The generated plan and ten months of data (written once for the module)."""
    folder = tmp_path_factory.mktemp("national")
    manifest = _generator().generate(folder, scale=SCALE, seed=11, months=MONTHS)
    return folder, manifest


@pytest.fixture
def deployment(national, tmp_path):
    folder, _manifest = national
    config = make_deployment_folder(tmp_path / "dep", folder / "plan.toml")
    with config.open("a", encoding="utf-8") as f:
        f.write("\n[limits]\nmax_rows = 100000\nmax_file_bytes = 20000000\n")
    return config


def invoke(config, *args):
    return CliRunner().invoke(make_cli(config), [str(a) for a in args])


def count(config, sql):
    conn = sqlite3.connect(str(load_config(config).database_path))
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def all_months(folder: Path, kind: str) -> tuple[list[str], list[list[str]]]:
    """Every month's rows of ``kind`` (measurements or activity) in one list."""
    header, rows = None, []
    for path in sorted((folder / kind).glob("*.csv")):
        header, part = read_rows(path)
        rows += part
    return header, rows


def test_a_year_of_measurements_with_bad_rows_far_apart_is_refused_whole(national, deployment, tmp_path):
    folder, manifest = national
    header, rows = all_months(folder, "measurements")
    assert len(rows) > 20_000
    # (index in the file's rows, column, bad value, what the message must say)
    count_row = next(i for i, r in enumerate(rows) if r[0] == "I7" and i > 7_000)  # a count
    bad = {
        2: ("unit", "t01.x001.khong-co", "unit: unknown unit 't01.x001.khong-co'"),
        count_row: ("value", "nhiều", "value: 'nhiều' is not a number"),
        14_003: ("period", f"{manifest['year'] + 1}-01", "period: "),
        len(rows) - 1: ("indicator", "I99", "indicator: unknown indicator 'I99'"),
    }
    position = {name: i for i, name in enumerate(header)}
    for index, (column, value, _message) in bad.items():
        rows[index][position[column]] = value
    # A value for a unit the indicator does not apply to: I7 (communes) for a radio station.
    radio = next(i for i, r in enumerate(rows) if r[0] == "I1" and i > 10_000)
    rows[radio][0] = "I7"
    bad[radio] = ("indicator", "I7", "unit: I7 does not apply to")
    # A ratio whose numerator is larger than its denominator.
    ratio = next(i for i, r in enumerate(rows) if r[0] == "I2" and i > 18_000)
    rows[ratio][position["numerator"]] = "500"
    rows[ratio][position["denominator"]] = "400"
    bad[ratio] = ("numerator", "500", "numerator: 500 is larger than the denominator 400")
    path = write_rows(tmp_path / "ca-nam.csv", header, rows)

    result = invoke(deployment, "measure", "import", path)

    assert result.exit_code == 1
    assert f"{len(bad)} bad row(s); nothing was imported" in result.output
    for index, (_column, _value, message) in sorted(bad.items()):
        line = index + 2  # the header is line 1
        reported = [text for text in result.output.splitlines() if text.strip().startswith(f"{path}:{line}: ")]
        assert len(reported) == 1 and message in reported[0], (line, message, result.output[-2000:])
    assert len([t for t in result.output.splitlines() if t.strip().startswith(f"{path}:")]) == len(bad)
    assert count(deployment, "select count(*) from measurements") == 0
    assert count(deployment, "select count(*) from measurement_log") == 0
    assert count(deployment, "select count(*) from audit_log where action = 'measurement.import'") == 0


def test_a_year_of_measurements_is_stored_whole_and_corrected_on_reimport(national, deployment, tmp_path):
    folder, _manifest = national
    header, rows = all_months(folder, "measurements")
    path = write_rows(tmp_path / "ca-nam.csv", header, rows)

    result = invoke(deployment, "measure", "import", path)
    assert result.exit_code == 0, result.output[-2000:]
    assert f"Imported {len(rows)} value(s)" in result.output
    assert count(deployment, "select count(*) from measurements") == len(rows)
    assert count(deployment, "select count(*) from measurement_log where action = 'insert'") == len(rows)
    # What was stored is what check_measurement makes of the row: a ratio's value in %.
    first_ratio = next(r for r in rows if r[0] == "I2")
    conn = sqlite3.connect(str(load_config(deployment).database_path))
    value, numerator, denominator, by = conn.execute(
        "select value, numerator, denominator, recorded_by from measurements where indicator = 'I2' and unit_id = ? "
        "and period = ?", [first_ratio[1], first_ratio[2]]).fetchone()
    conn.close()
    assert (numerator, denominator, by) == (float(first_ratio[4]), float(first_ratio[5]), "import")
    assert value == pytest.approx(100 * float(first_ratio[4]) / float(first_ratio[5]))

    # Imported again with one value changed: corrected in place, every row logged as an update.
    changed = next(i for i, r in enumerate(rows) if r[0] == "I7")
    rows[changed][3] = "9"
    write_rows(path, header, rows)
    again = invoke(deployment, "measure", "import", path, "--by", "so-lieu-bo-sung")
    assert again.exit_code == 0, again.output[-2000:]
    assert count(deployment, "select count(*) from measurements") == len(rows)
    assert count(deployment, "select count(*) from measurement_log where action = 'update'") == len(rows)
    assert count(deployment, "select count(*) from measurements where recorded_by = 'so-lieu-bo-sung'") == len(rows)
    assert count(deployment, f"select value from measurements where indicator = 'I7' and unit_id = '{rows[changed][1]}' "
                             f"and period = '{rows[changed][2]}'") == 9
    assert count(deployment, "select count(*) from audit_log where action = 'measurement.import'") == 2


def test_activity_reports_with_bad_rows_far_apart_are_refused_whole(national, deployment, tmp_path):
    folder, manifest = national
    header, rows = all_months(folder, "activity")
    position = {name: i for i, name in enumerate(header)}
    # A report of one row only, so that the unit's problem is reported on exactly that line.
    singles = [i for i in range(1, len(rows) - 1)
               if rows[i][:2] != rows[i - 1][:2] and rows[i][:2] != rows[i + 1][:2]]
    far = [singles[0], singles[len(singles) // 3], singles[2 * len(singles) // 3]]
    rows[far[0]][position["unit"]] = "t01.x001.mot-cua"  # a one-stop desk owes no report
    rows[far[1]][position["category"]] = "nhảy múa"
    rows[far[2]][position["submitted_at"]] = "31/04/2024"
    last = len(rows) - 1
    rows[last][position["count"]] = "-3"
    # The report's note is that of its first row.
    first_of_last = last
    while rows[first_of_last - 1][:2] == rows[last][:2]:
        first_of_last -= 1
    rows[first_of_last][position["note"]] = "x" * 5001
    path = write_rows(tmp_path / "bao-cao.csv", header, rows)

    result = invoke(deployment, "report-activity", "--from-csv", path)

    assert result.exit_code == 1
    lines = [t.strip() for t in result.output.splitlines() if t.strip().startswith(f"{path}:")]
    expected = {
        far[0] + 2: "unit: t01.x001.mot-cua (Bộ phận một cửa",
        far[1] + 2: "category: 'nhảy múa' is not one of",
        far[2] + 2: "submitted_at: '31/04/2024' is not a date",
        last + 2: "count: -3 is not a count",
    }
    for line, message in expected.items():
        assert any(t.startswith(f"{path}:{line}: ") and message in t for t in lines), (line, message, lines)
    # The note too long is named on the first row of its report.
    assert f"{path}:{first_of_last + 2}: note: longer than 5000 characters" in lines
    assert f"{len(lines)} bad row(s); nothing was imported" in result.output
    assert count(deployment, "select count(*) from activity_reports") == 0
    assert count(deployment, "select count(*) from activity_items") == 0
    assert manifest["reports"] > 0


def test_activity_reports_are_stored_and_replaced_on_reimport(national, deployment, tmp_path):
    folder, manifest = national
    header, rows = all_months(folder, "activity")
    path = write_rows(tmp_path / "bao-cao.csv", header, rows)
    reports = manifest["communes"] * MONTHS

    result = invoke(deployment, "report-activity", "--from-csv", path)
    assert result.exit_code == 0, result.output[-2000:]
    assert f"Imported {reports} report(s) ({len(rows)} item(s))" in result.output
    assert count(deployment, "select count(*) from activity_reports") == reports
    assert count(deployment, "select count(*) from activity_items") == len(rows)
    assert count(deployment, "select count(distinct revision) from activity_reports") == 1
    # The generated submission times are Vietnam time: 2024-02-01 10:41 is 03:41 UTC.
    first = rows[0]
    conn = sqlite3.connect(str(load_config(deployment).database_path))
    submitted = conn.execute("select submitted_at from activity_reports where unit_id = ? and period = ?",
                             first[:2]).fetchone()[0]
    conn.close()
    assert submitted == utc_now_iso(parse_local_instant(first[position_of(header, "submitted_at")]))

    # Imported again (a later transcription): items replaced, revision 2, first submission kept.
    for row in rows:
        row[position_of(header, "submitted_at")] = f"{manifest['year'] + 1}-06-30"
    write_rows(path, header, rows)
    again = invoke(deployment, "report-activity", "--from-csv", path)
    assert again.exit_code == 0, again.output[-2000:]
    assert count(deployment, "select count(*) from activity_reports") == reports
    assert count(deployment, "select count(*) from activity_items") == len(rows)
    assert count(deployment, "select min(revision) from activity_reports") == 2
    conn = sqlite3.connect(str(load_config(deployment).database_path))
    assert conn.execute("select submitted_at from activity_reports where unit_id = ? and period = ?",
                        first[:2]).fetchone()[0] == submitted
    conn.close()
    # The reports count as received in the month's completeness.
    march = f"{manifest['year']}-03"
    status = invoke(deployment, "status", "--period", march, "--json")
    assert status.exit_code == 0
    assert '"missing": 0' in status.output


def position_of(header: list[str], name: str) -> int:
    return header.index(name)


def test_progress_goes_to_stderr_when_asked_and_not_otherwise(national, deployment):
    folder, manifest = national
    path = folder / manifest["measurements"][0]["file"]
    rows = manifest["measurements"][0]["rows"]
    quiet = invoke(deployment, "measure", "import", path)
    assert quiet.exit_code == 0
    assert "rows" not in quiet.stderr  # not a terminal and not asked: nothing but the result
    assert quiet.stdout.strip() == f"Imported {rows} value(s) from {path}."

    shown = invoke(deployment, "measure", "import", path, "--progress")
    assert shown.exit_code == 0
    assert f"checked {rows:,}/{rows:,} rows" in shown.stderr
    assert f"stored {rows:,}/{rows:,} rows" in shown.stderr
    assert shown.stdout.strip() == f"Imported {rows} value(s) from {path}."

    activity = folder / manifest["activity"][0]["file"]
    items = manifest["activity"][0]["rows"]
    shown = invoke(deployment, "report-activity", "--from-csv", activity, "--progress")
    assert shown.exit_code == 0, shown.output
    assert f"checked {items:,}/{items:,} rows" in shown.stderr
    assert "rows" not in invoke(deployment, "report-activity", "--from-csv", activity, "--no-progress").stderr


def test_record_measurements_names_the_bad_row_and_stores_nothing(deployment):
    dep = Deployment.open(deployment, migrate=True)
    try:
        db, plan = dep.db, dep.plan
        good = {"indicator": "I7", "unit_id": plan.resolve(["cac-xa"])[0].id, "period": "2024-03", "value": "1"}
        with pytest.raises(progress.ProgressError) as caught:
            progress.record_measurements(db, plan, [good, {**good, "value": "-1"}])
        assert caught.value.field == "rows[1].value"
        assert db.execute("select count(*) from measurements").fetchone()[0] == 0
        assert progress.record_measurements(db, plan, [good, {**good, "value": "2"}], recorded_by="t") == 2
        assert db.execute("select value, recorded_by from measurements").fetchall() == [(2.0, "t")]
        assert [r[0] for r in db.execute("select action from measurement_log order by id")] == ["insert", "update"]
        # The same history as record_measurement writes, one row at a time.
        progress.record_measurement(db, plan, "I7", good["unit_id"], "2024-03", "3")
        assert [r[0] for r in db.execute("select action from measurement_log order by id")] == [
            "insert", "update", "update"]
    finally:
        dep.close()


def test_plan_answers_are_remembered_but_not_pickled(national):
    folder, _manifest = national
    plan = load_plan(folder / "plan.toml")
    march = Period.parse("2024-03")
    communes = plan.resolve(["cac-xa"], march)
    assert plan.resolve(["cac-xa"], march) is communes  # the second time from memory
    assert plan.resolve_ids(["cac-xa"], march) == {u.id for u in communes}
    assert plan.expected_reporter_ids(march) == {u.id for u in plan.expected_reporters(march)}
    assert {u.kind for u in communes} == {"commune"}
    i2 = plan.indicator("I2")
    assert plan.indicator_unit_ids(i2, march) == {u.id for u in plan.indicator_units(i2, march)}
    copy = pickle.loads(pickle.dumps(plan))
    assert copy == plan
    assert copy._memo._answers == {}
    assert copy.resolve_ids(["cac-xa"], march) == plan.resolve_ids(["cac-xa"], march)
