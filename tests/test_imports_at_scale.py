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
from ccch_core.storage import parse_utc, utc_now_iso

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


def _activity_tables(config) -> tuple[list, list, int]:
    """Every stored report and item (items by their report's unit and period) and the audit lines."""
    conn = sqlite3.connect(str(load_config(config).database_path))
    try:
        reports = conn.execute("select unit_id, period, note, submitted_by, submitted_at, updated_at, revision, status "
                               "from activity_reports order by unit_id, period").fetchall()
        items = conn.execute("select r.unit_id, r.period, i.category, i.count, i.title, i.link, i.task_id "
                             "from activity_items i join activity_reports r on r.id = i.report_id "
                             "order by r.unit_id, r.period, i.id").fetchall()
        audit_lines = conn.execute("select count(*) from audit_log").fetchone()[0]
    finally:
        conn.close()
    return reports, items, audit_lines


def test_activity_file_with_hundreds_of_bad_rows_names_each_and_changes_nothing(national, deployment, tmp_path):
    """All errors at once at size: a bad row every seven, the same bad values again and again (a
    value is checked once when good, never assumed good when bad), a unit and a period wrong on
    whole reports; each bad row is named once with its line, field and value, no good row is,
    and the month already stored is left exactly as it was."""
    folder, manifest = national
    first = folder / manifest["activity"][0]["file"]
    assert invoke(deployment, "report-activity", "--from-csv", first).exit_code == 0
    before = _activity_tables(deployment)
    header, rows = all_months(folder, "activity")  # the first month again: corrections of stored reports
    at = {name: i for i, name in enumerate(header)}
    wrong = [
        ("count", "mười", "count: 'mười' is not a number"),
        ("count", "-3", "count: -3 is not a count"),
        ("count", "2,5", "count: 2.5 is not a count"),
        ("category", "nhảy múa", "category: 'nhảy múa' is not one of published"),
        ("link", "www.example.vn", "link: 'www.example.vn' is not an http(s) link"),
        ("task", "T99", "task_id: unknown task 'T99'"),
        ("title", "Tin " + "x" * 500, "title: longer than 500 characters"),
        ("submitted_at", "31/04/2024", "submitted_at: '31/04/2024' is not a date (2024-04-03) or time"),
    ]
    bad: dict[int, str] = {}  # the file's line -> what its message says
    for n, i in enumerate(range(3, len(rows), 7)):
        column, value, message = wrong[n % len(wrong)]
        rows[i][at[column]] = value
        bad[i + 2] = message
    # Whole reports whose unit owes no report, or whose period is not one: every row of each is named.
    by_report: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        by_report.setdefault((row[at["unit"]], row[at["period"]]), []).append(i)
    clean_reports = [lines for lines in by_report.values() if not any(i + 2 in bad for i in lines)]
    assert len(clean_reports) > 40
    for lines in clean_reports[5:25]:
        for i in lines:
            rows[i][at["unit"]] = rows[i][at["unit"]] + ".mot-cua"  # the commune's one-stop desk
            bad[i + 2] = "unit: "
    for lines in clean_reports[30:40]:
        for i in lines:
            rows[i][at["period"]] = "2024-13"
            bad[i + 2] = "period: "
    path = write_rows(tmp_path / "bao-cao.csv", header, rows)

    result = invoke(deployment, "report-activity", "--from-csv", path)

    assert result.exit_code == 1
    named = [t.strip() for t in result.output.splitlines() if t.strip().startswith(f"{path}:")]
    lines = [int(t[len(f"{path}:"):].split(":", 1)[0]) for t in named]
    assert sorted(lines) == sorted(bad), "each bad row named exactly once, no good row named"
    for text, line in zip(named, lines):
        assert text.startswith(f"{path}:{line}: {bad[line]}"), (text, bad[line])
    assert len(bad) > 500
    assert f"{len(bad)} bad row(s); nothing was imported" in result.output
    assert _activity_tables(deployment) == before


def test_record_activity_reports_stores_as_record_activity_report_does(national, tmp_path):
    """The batch store keeps what the one-report function keeps: revisions, the first submission
    time, a reopened report submitted again, items replaced in order; a report given twice in one
    call is stored twice, as two calls would."""
    folder, _manifest = national
    one = {"category": "published", "count": "2", "title": "Tin  CCHC"}
    two = {"category": "broadcast", "count": "1"}
    batches = []
    deployments = []
    for name in ("batch", "one-by-one"):
        config = make_deployment_folder(tmp_path / name, folder / "plan.toml")
        deployments.append(Deployment.open(config, migrate=True))
    plan = deployments[0].plan
    a, b, c = sorted(plan.expected_reporter_ids(Period.parse("2024-03")))[:3]
    batches = [
        [(a, "2024-03", [one, two], "Báo cáo"), (b, "2024-03", [one], None)],
        [(b, "2024-03", [two, one, two], "Sửa lại"), (c, "2024-03", [two], None), (c, "2024-03", [one], "Lần hai"),
         (a, "2024-04", [one], None)],
    ]
    times = [parse_utc("2024-04-02T03:00:00+00:00"), parse_utc("2024-05-20T09:30:00+00:00")]
    try:
        batch, single = deployments
        for number, (reports, now) in enumerate(zip(batches, times)):
            if number == 1:  # the plan admin reopened b's report before the correction
                for dep in deployments:
                    progress.reopen_activity_report(dep.db, b, "2024-03", reopened_by="admin", now=now)
            stored = progress.record_activity_reports(
                batch.db, batch.plan,
                [{"unit_id": u, "period": p, "items": items, "note": note} for u, p, items, note in reports],
                submitted_by="cli", now=now)
            assert stored == len(reports)
            for u, p, items, note in reports:
                progress.record_activity_report(single.db, single.plan, u, p, items, note=note, submitted_by="cli",
                                                now=now)
        found = [_activity_tables(dep.config.path) for dep in deployments]
        assert found[0][:2] == found[1][:2]
        reports = {(r[0], r[1]): r for r in found[0][0]}
        assert reports[(b, "2024-03")][2:] == ("Sửa lại", "cli", "2024-04-02T03:00:00+00:00",
                                               "2024-05-20T09:30:00+00:00", 2, "submitted")
        assert reports[(c, "2024-03")][6] == 2
        assert [i[2:4] for i in found[0][1] if i[:2] == (b, "2024-03")] == [("broadcast", 1), ("published", 2),
                                                                          ("broadcast", 1)]
        assert {i[4] for i in found[0][1] if i[2] == "published"} == {"Tin CCHC"}
    finally:
        for dep in deployments:
            dep.close()


def test_a_header_naming_a_column_twice_is_refused(national, deployment, tmp_path):
    folder, manifest = national
    header, rows = read_rows(folder / manifest["activity"][0]["file"])
    path = write_rows(tmp_path / "hai-cot.csv", [*header, "count"], [[*row, "9"] for row in rows])
    result = invoke(deployment, "report-activity", "--from-csv", path)
    assert result.exit_code == 1
    assert f"{path}:1: the header names the column(s) count more than once; nothing was imported" in result.output
    assert count(deployment, "select count(*) from activity_reports") == 0
    measurements = folder / manifest["measurements"][0]["file"]
    header, rows = read_rows(measurements)
    path = write_rows(tmp_path / "hai-cot-so-lieu.csv", [*header, "unit"], [[*row, row[1]] for row in rows])
    result = invoke(deployment, "measure", "import", path)
    assert result.exit_code == 1
    assert "names the column(s) unit more than once" in result.output
    assert count(deployment, "select count(*) from measurements") == 0


def test_one_file_correcting_a_stored_report_and_adding_another_months(tmp_path):
    """A file that corrects March's stored report and brings April's new one (a file of several
    months imported again) stores both: the batch store read back the new reports' ids for their
    periods only, and then failed (KeyError) on the corrected report of another period."""
    config = make_deployment_folder(tmp_path / "dep")
    header = ["unit", "period", "category", "count", "title", "link", "task", "note", "submitted_at"]
    first = write_rows(tmp_path / "thang-3.csv", header, [["phong-noi-vu", "2024-03", "published", "4", "Tin",
                                                           "", "", "", "2024-04-03"]])
    assert invoke(config, "report-activity", "--from-csv", first).exit_code == 0
    both = write_rows(tmp_path / "thang-3-4.csv", header, [
        ["phong-noi-vu", "2024-03", "published", "5", "Tin", "", "", "Sửa lại", "2024-04-03"],
        ["phong-noi-vu", "2024-03", "broadcast", "1", "", "", "", "Sửa lại", "2024-04-03"],
        ["phong-tu-phap", "2024-04", "published", "2", "Tin", "", "", "", "2024-05-04"]])
    result = invoke(config, "report-activity", "--from-csv", both)
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(str(load_config(config).database_path))
    try:
        rows = conn.execute("select r.unit_id, r.period, r.revision, i.category, i.count from activity_reports r "
                            "join activity_items i on i.report_id = r.id order by r.period, i.id").fetchall()
    finally:
        conn.close()
    assert rows == [("phong-noi-vu", "2024-03", 2, "published", 5), ("phong-noi-vu", "2024-03", 2, "broadcast", 1),
                    ("phong-tu-phap", "2024-04", 1, "published", 2)]


def test_check_measurements_names_a_repeated_bad_value_on_every_row(national):
    """A value's text is checked once per indicator when it is good and never assumed good when it
    is bad: each row with it is named, and the same text is judged by each row's indicator."""
    folder, _manifest = national
    plan = load_plan(folder / "plan.toml")
    march = Period.parse("2024-03")
    communes = sorted(plan.resolve_ids(["cac-xa"], march))[:60]
    stations = sorted(plan.indicator_unit_ids(plan.indicator("I1"), march))[:20]
    rows = [{"indicator": "I7", "unit_id": u, "period": "2024-03", "value": "-1" if i % 3 == 0 else "2"}
            for i, u in enumerate(communes)]
    rows += [{"indicator": "I1", "unit_id": u, "period": "2024-03", "value": "2"} for u in stations]  # not yes/no
    with pytest.raises(progress.BadRows) as caught:
        progress.check_measurements(plan, rows)
    named = [(index, problem.field) for index, problem in caught.value.problems]
    assert named == [(i, "value") for i in range(0, 60, 3)] + [(60 + i, "value") for i in range(20)]
    good = [r for i, r in enumerate(rows[:60]) if i % 3]
    checked = progress.check_measurements(plan, good)
    assert [r["value"] for r in checked] == [2.0] * len(good)
