"""The aggregated evaluation (#26 part 2) gives exactly what the old one gave.

``ccch_core.progress.evaluate_plan`` now reads each unit's latest value (or a count's sum) already
reduced by SQLite and builds per-unit results only when read. ``reference_evaluation`` is the old
code, one ``Measurement`` per row, kept unchanged. Both run here over every period of the year
(months, quarters, halves, the year), while the year runs and after it, for the whole plan and
within units, on the Đức Thọ example with a year of varied data and on a small generated national
plan with gaps, zero denominators and values recorded as missing; every figure, status,
explanation and per-unit result must be equal — exactly, not approximately.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import pickle
import random
import sys
from pathlib import Path

import attrs
import pytest
import reference_evaluation

from ccch_core import progress
from ccch_core.periods import Period, PeriodType
from ccch_core.progress import MeasureValue

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "duc-tho-2024"
UTC = dt.UTC
NOWS = (dt.datetime(2024, 6, 15, 3, tzinfo=UTC), dt.datetime(2025, 2, 1, tzinfo=UTC))


def periods_of(year: int) -> list[Period]:
    months = Period.year_of(year).months()
    return [*months, *{m.rollup(PeriodType.QUARTER): None for m in months},
            *{m.rollup(PeriodType.HALF): None for m in months}, Period.year_of(year)]


def fake_measures(plan):
    """A plugin measure for every measure the plan names: a ratio for some units, per period."""
    def measure(context):
        rng = random.Random(f"{context.indicator.code}-{context.period}")
        out = {}
        for unit in context.units:
            if rng.random() < 0.7:
                den = rng.randint(0, 20)
                num = rng.randint(0, den)
                out[unit.id] = MeasureValue(100.0 * num / den if den else None, numerator=num, denominator=den)
        return out

    return {i.measure_name: measure for i in plan.indicators if i.measure_name}


def assert_same(old: list, new: list) -> None:
    assert [r.indicator.code for r in new] == [r.indicator.code for r in old]
    for o, n in zip(old, new, strict=True):
        where = f"{o.indicator.code} {o.period}"
        assert (n.value, n.target, n.status, n.expected_to_date, n.explanation) == (
            o.value, o.target, o.status, o.expected_to_date, o.explanation), where
        assert [u.id for u in n.units_without_data] == [u.id for u in o.units_without_data], where
        assert len(n.units) == len(o.units), where
        assert tuple(n.units) == o.units, where
        assert n.to_dict() == o.to_dict(), where
        assert n == o, where


def compare(db, plan, *, scopes, measures=None) -> int:
    """Both evaluations over every period, while the year runs and after it; the ``scopes``
    (units to evaluate within) after it."""
    checked = 0
    for now in NOWS:
        for period in periods_of(plan.year):
            for within in (None, *scopes) if now == NOWS[-1] else (None,):
                old = reference_evaluation.evaluate_plan(db, plan, period, now=now, measures=measures, within=within)
                new = progress.evaluate_plan(db, plan, period, now=now, measures=measures, within=within)
                assert_same(old, new)
                checked += len(new)
    return checked


def compare_completeness(db, plan) -> int:
    """Reporting completeness, old and new, over every period while the year runs and after it."""
    checked = 0
    for now in NOWS:
        for period in periods_of(plan.year):
            new = progress.reporting_completeness(db, plan, period, now=now)
            assert new == reference_evaluation.reporting_completeness(db, plan, period, now=now), str(period)
            checked += new.expected
    return checked


def add_reports(db, plan, rng) -> None:
    """Activity reports for every period each unit owes one, some late, some missing, and some
    deliveries to further recipients."""
    for ptype in sorted({r.frequency for r in plan.tracked_rules()}, key=lambda t: t.months):
        for sub in {m.rollup(ptype): None for m in Period.year_of(plan.year).months()}:
            for unit in plan.expected_reporters(sub):
                luck = rng.random()
                if luck < 0.1:
                    continue
                days = rng.randint(1, 4) if luck > 0.3 else rng.randint(6, 30)
                progress.record_activity_report(db, plan, unit.id, sub, [{"category": "broadcast", "count": 1}],
                                                now=sub.end_utc + dt.timedelta(days=days))
                for recipient in progress.further_recipients(plan, unit.id, ptype):
                    if rng.random() < 0.6:
                        sent = (sub.end_utc + dt.timedelta(days=rng.randint(1, 20))).date()
                        progress.record_report_delivery(db, plan, unit.id, sub, recipient, sent,
                                                        now=dt.datetime(2025, 3, 1, tzinfo=UTC))


def test_duc_tho_year_agrees_with_the_reference(make_deployment):
    dep = make_deployment()
    plan, db = dep.plan, dep.db
    rng = random.Random(26)
    with open(EXAMPLE / "demo" / "measurements-2024-q1.csv", encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f) if r["period"] == "2024-01"]
    recorded = 0
    for month in range(1, 13):
        for r in rows:
            if rng.random() < 0.15:
                continue  # a unit that sent nothing this month
            value = r["value"] or None
            if value and value.replace(".", "").isdigit():
                value = float(value) + rng.randint(-1, 2)
                value = max(value, 0)
            num = int(r["numerator"]) + rng.randint(0, 5) if r["numerator"] else None
            den = max(int(r["denominator"]), num or 0) if r["denominator"] else None
            if den is not None and rng.random() < 0.1:
                num = den = 0  # nothing to publish this month: a zero denominator
            try:
                progress.record_measurement(db, plan, r["indicator"], r["unit"], f"2024-{month:02d}", value,
                                            numerator=num, denominator=den)
                recorded += 1
            except progress.ProgressError:
                continue
    assert recorded > 200
    scopes = (plan.issuing_unit, "xa-an-dung", "xa-an-dung.truyen-thanh")
    assert compare(db, plan, scopes=scopes) > 500
    # Every indicator computed by a plugin measure instead, with and without the plugin.
    measured = attrs.evolve(plan, indicators=tuple(attrs.evolve(i, source=f"plugin:fake-{i.code.lower()}")
                                                   for i in plan.indicators))
    assert compare(db, measured, scopes=("xa-an-dung",), measures=fake_measures(measured)) > 300
    assert compare(db, measured, scopes=()) > 0
    # Each period's expected reports are kept until its reports, deliveries or deadlines move:
    # compared before any report, then again after every period was written to.
    assert compare_completeness(db, plan) > 500
    add_reports(db, plan, rng)
    assert compare_completeness(db, plan) > 500


def test_small_national_plan_agrees_with_the_reference(make_deployment, tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import national_plan
    finally:
        sys.path.remove(str(ROOT / "bench"))
    data = tmp_path / "national"
    manifest = national_plan.generate(data, scale=0.01, seed=26)
    dep = make_deployment(plan_path=data / "plan.toml")
    plan, db = dep.plan, dep.db
    kinds = {i.code: i.kind.value for i in plan.indicators}
    rng = random.Random(7)
    rows = []
    for entry in manifest["measurements"]:
        with open(data / entry["file"], encoding="utf-8") as f:
            for r in csv.DictReader(f):
                luck = rng.random()
                if luck < 0.1:
                    continue  # missing
                num = float(r["numerator"]) if r["numerator"] else None
                den = float(r["denominator"]) if r["denominator"] else None
                if kinds[r["indicator"]] == "ratio":
                    if luck < 0.13:
                        num = den = 0.0
                    value = 100.0 * num / den if den else None
                else:
                    value = float(r["value"])
                rows.append((plan.id, r["indicator"], r["unit"], r["period"], value, num, den, "test",
                             "2025-01-10T00:00:00+00:00"))
    with db.conn:
        db.conn.executemany(
            "insert into measurements (plan_id, indicator, unit_id, period, value, numerator, denominator, "
            "recorded_by, recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    province = next(u.id for u in plan.units if u.kind == "province")
    commune = next(u.id for u in plan.units if u.kind == "commune")
    assert compare(db, plan, scopes=(province, commune)) > 500
    add_reports(db, plan, rng)
    assert compare_completeness(db, plan) > 500
    assert json.dumps(manifest)  # the generator's manifest is what the bench reads


def test_per_unit_results_are_built_only_when_read_and_behave_as_a_tuple(make_deployment):
    dep = make_deployment()
    plan, db = dep.plan, dep.db
    progress.record_measurement(db, plan, "I5", "xa-an-dung.truyen-thanh", "2024-03", "có")
    result = next(r for r in progress.evaluate_plan(db, plan, "2024-03") if r.indicator.code == "I5")
    units = result.units
    assert units._built is None  # nothing built for the figure, the count or the units without data
    assert len(units) == 16 and len(result.units_without_data) == 15 and result.value == pytest.approx(100 / 16)
    assert units._built is None
    first = units[0]
    assert units._built is not None and first.unit.id == plan.indicator_units(plan.indicator("I5"))[0].id
    assert list(units) == list(units._built) and units == tuple(units) and bool(units)
    assert [u.unit.id for u in units if u.value is not None] == ["xa-an-dung.truyen-thanh"]
    # A result pickles (a cached page keeps it) with its units as a plain tuple.
    again = pickle.loads(pickle.dumps(result))
    assert again == result and isinstance(again.units, tuple)


def _record_months(db, plan, months) -> None:
    with open(EXAMPLE / "demo" / "measurements-2024-q1.csv", encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f) if r["period"] == "2024-01"]
    for month in months:
        for i, r in enumerate(rows):
            if (i + month) % 5 == 0:
                continue  # a unit that sent nothing this month
            value = r["value"] or None
            if value and value.replace(".", "").isdigit():
                value = float(value) + month % 3
            try:
                progress.record_measurement(db, plan, r["indicator"], r["unit"], f"2024-{month:02d}", value,
                                            numerator=r["numerator"] or None, denominator=r["denominator"] or None)
            except progress.ProgressError:
                continue


def test_a_year_after_its_months_is_built_from_their_kept_rows_until_anything_changes(make_deployment):
    # A year's dashboard evaluates the months for its trends first (#26): the year's figures are
    # then built from the months' rows evaluate_plan kept, without reading the measurements
    # again, and are exactly the reference's; any write, by this connection or another, drops
    # what was kept.
    import sqlite3

    dep = make_deployment()
    plan, db = dep.plan, dep.db
    _record_months(db, plan, range(1, 13))
    now = NOWS[-1]
    year = Period.year_of(plan.year)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        for month in year.months():
            progress.evaluate_plan(db, plan, month, now=now)
        statements.clear()
        built = progress.evaluate_plan(db, plan, year, now=now)
        assert not [s for s in statements if "from measurements" in s]  # nothing read again
        progress.forget_kept(plan)
        statements.clear()
        read = progress.evaluate_plan(db, plan, year, now=now)
        assert [s for s in statements if "group by unit_id" in s]  # read from the database
    finally:
        db.conn.set_trace_callback(None)
    assert_same(reference_evaluation.evaluate_plan(db, plan, year, now=now), built)
    assert_same(read, built)
    # A write through this connection: what was kept is not used.
    for month in year.months():
        progress.evaluate_plan(db, plan, month, now=now)
    i1 = next(r for r in built if r.indicator.code == "I1")
    unit = next(u.unit.id for u in i1.units if u.value is not None and u.value >= 0.5)  # a "yes"
    progress.record_measurement(db, plan, "I1", unit, "2024-12", 0)
    after = progress.evaluate_plan(db, plan, year, now=now)
    assert_same(reference_evaluation.evaluate_plan(db, plan, year, now=now), after)
    assert after != built
    # A write committed by another connection (another worker, an import).
    for month in year.months():
        progress.evaluate_plan(db, plan, month, now=now)
    other = sqlite3.connect(dep.config.database_path)
    with other:
        other.execute("update measurements set value = 1 where plan_id = ? and indicator = 'I1' and unit_id = ? "
                      "and period = '2024-12'", [plan.id, unit])
    other.close()
    again = progress.evaluate_plan(db, plan, year, now=now)
    assert_same(reference_evaluation.evaluate_plan(db, plan, year, now=now), again)
    assert again != after


def test_stored_month_figures_are_the_reference_figures_and_follow_every_write(make_deployment):
    # #26: each month's figures for the trends are stored with the revisions of the
    # measurements they came from; a restarted server (another connection, nothing kept) reads
    # them without evaluating anything; a write by this connection or another moves exactly the
    # months it touched; every figure is the reference evaluation's, exactly.
    from ccch_core import storage

    dep = make_deployment()
    plan, db = dep.plan, dep.db
    _record_months(db, plan, range(1, 13))
    now = NOWS[-1]
    months = Period.year_of(plan.year).months()
    plain = [i.code for i in plan.indicators if not i.measure_name]

    def reference(p=plan):
        return {m: {r.indicator.code: r.value for r in reference_evaluation.evaluate_plan(db, p, m, now=now)
                    if not r.indicator.measure_name} for m in months}

    def evaluated_months(connection, call):
        statements: list[str] = []
        connection.conn.set_trace_callback(statements.append)
        try:
            figures = call()
        finally:
            connection.conn.set_trace_callback(None)
        read = [s for s in statements if "from measurements" in s]
        return figures, sorted({m for m in map(str, months) for s in read if f"'{m}'" in s})

    figures, evaluated = evaluated_months(db, lambda: progress.month_figures(db, plan, months, now=now))
    assert evaluated == [str(m) for m in months]
    assert figures == reference() and all(list(f) == plain for f in figures.values())
    assert db.execute("select count(*) from period_figures").fetchone()[0] == 12
    # Read back as they were stored: by this process with nothing kept, and by another
    # connection (a worker just started), without reading a measurement.
    progress.forget_kept(plan)
    again, evaluated = evaluated_months(db, lambda: progress.month_figures(db, plan, months, now=now))
    assert (again, evaluated) == (figures, [])
    other = storage.connect(dep.config.database_path)
    try:
        read, evaluated = evaluated_months(other, lambda: progress.month_figures(other, plan, months, now=now))
        assert (read, evaluated) == (figures, [])
    finally:
        other.close()
    # A write through this connection moves March alone.
    i1 = next(r for r in progress.evaluate_plan(db, plan, "2024-03", now=now) if r.indicator.code == "I1")
    unit = next(u.unit.id for u in i1.units if u.value is not None and u.value >= 0.5)
    progress.record_measurement(db, plan, "I1", unit, "2024-03", 0)
    after, evaluated = evaluated_months(db, lambda: progress.month_figures(db, plan, months, now=now))
    assert evaluated == ["2024-03"] and after == reference() and after != figures
    # Writes committed by another connection (another worker, an import) move July alone:
    # one value recorded, then every I1 value of July imported again, flipped.
    writer = storage.connect(dep.config.database_path)
    try:
        before = progress.measurement_revisions(db, plan, ["2024-07", "2024-Q3"])
        progress.record_measurement(writer, plan, "I1", unit, "2024-07", 1)
        july = [{"indicator": "I1", "unit_id": u, "period": "2024-07", "value": 1 - v} for u, v in writer.execute(
            "select unit_id, value from measurements where plan_id = ? and indicator = 'I1' and period = '2024-07' "
            "and value is not null", [plan.id])]
        assert len(july) > 3
        progress.record_measurements(writer, plan, july)
    finally:
        writer.close()
    assert progress.measurement_revisions(db, plan, ["2024-07", "2024-Q3"]) == {
        "2024-07": before["2024-07"] + 2, "2024-Q3": before["2024-Q3"]}  # once per call, not per row
    later, evaluated = evaluated_months(db, lambda: progress.month_figures(db, plan, months, now=now))
    assert evaluated == ["2024-07"] and later == reference() and later != after
    # Another plan under the same id (the plan file edited: an indicator gone, another's units
    # changed) does not read the first one's figures.
    edited = attrs.evolve(plan, indicators=tuple(
        attrs.evolve(i, applies_to=i.applies_to[:1]) if i.code == "I1" and len(i.applies_to) > 1 else i
        for i in plan.indicators if i.code != "I7"))
    other_figures, evaluated = evaluated_months(db, lambda: progress.month_figures(db, edited, months, now=now))
    assert evaluated == [str(m) for m in months] and other_figures == reference(edited)
    # Figures are not stored while another writer holds the database: given back all the same.
    db.execute("delete from period_figures")
    db.conn.commit()
    with storage.write_transaction(db):
        inside = progress.month_figures(db, plan, months[:2], now=now)
    assert inside == {m: later[m] for m in months[:2]}
    assert db.execute("select count(*) from period_figures").fetchone()[0] == 0


def test_an_import_refreshes_the_figures_of_the_months_it_touched(make_deployment):
    # #26: a bulk writer, once committed, stores the figures of the months its periods move (a
    # quarter's values move its three months), so the next dashboard evaluates none of them.
    dep = make_deployment()
    plan, db = dep.plan, dep.db
    _record_months(db, plan, (2, 7, 8, 9))
    now = NOWS[-1]
    refreshed = progress.refresh_month_figures(db, plan, ["2024-02", "2024-Q3"])
    assert [str(m) for m in refreshed] == ["2024-02", "2024-07", "2024-08", "2024-09"]
    assert sorted(r[0] for r in db.execute("select period from period_figures")) == [str(m) for m in refreshed]
    progress.forget_kept(plan)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        figures = progress.month_figures(db, plan, refreshed, now=now)
    finally:
        db.conn.set_trace_callback(None)
    assert not [s for s in statements if "from measurements" in s]
    assert figures == {m: {r.indicator.code: r.value for r in reference_evaluation.evaluate_plan(db, plan, m, now=now)
                           if not r.indicator.measure_name} for m in refreshed}
    assert progress.refresh_month_figures(db, plan, ["2023-12"]) == []  # outside the plan: nothing


def test_month_figures_are_given_back_when_they_cannot_be_stored(make_deployment):
    # Storing a month's figures only spares the next reader some work: when the database cannot
    # be written (read-only, disk full, a writer outside ccch holding its lock past the busy
    # timeout) the dashboard and an import that has committed still get them, unstored, instead
    # of an error.
    dep = make_deployment()
    plan, db = dep.plan, dep.db
    _record_months(db, plan, (2, 3))
    now = NOWS[-1]
    months = [Period.parse("2024-02"), Period.parse("2024-03")]
    db.execute("pragma query_only = on")  # every write fails, as on a read-only file
    try:
        figures = progress.month_figures(db, plan, months, now=now)
        assert progress.refresh_month_figures(db, plan, ["2024-03"]) == [months[1]]
    finally:
        db.execute("pragma query_only = off")
    assert figures == {m: {r.indicator.code: r.value for r in reference_evaluation.evaluate_plan(db, plan, m, now=now)
                           if not r.indicator.measure_name} for m in months}
    assert db.execute("select count(*) from period_figures").fetchone()[0] == 0
    assert progress.month_figures(db, plan, months, now=now) == figures  # and stored once it can be
    assert db.execute("select count(*) from period_figures").fetchone()[0] == 2


def test_rows_of_other_period_types_and_years_do_not_enter_a_range(make_deployment):
    # #26: a year's (half's, quarter's) rows are read as one range of period texts; rows of
    # another type for the same indicator (left by an older plan that recorded it per quarter)
    # or of the years around it sort outside every range, as they fall outside the list.
    dep = make_deployment()
    plan, db = dep.plan, dep.db
    _record_months(db, plan, range(1, 13))
    monthly = [i for i in plan.indicators if i.period_type.value == "month" and not i.measure_name]
    unit = plan.indicator_units(monthly[0])[0].id
    with db.conn:
        for ind in monthly:
            for period in ("2023-12", "2024", "2024-H1", "2024-H2", "2024-Q1", "2024-Q3", "2025-01"):
                db.execute("insert or replace into measurements (plan_id, indicator, unit_id, period, value, "
                           "recorded_at) values (?, ?, ?, ?, 7, 'x')", [plan.id, ind.code, unit, period])
    assert compare(db, plan, scopes=()) > 100


def test_a_plan_over_two_calendar_years_has_every_month_stored(make_deployment):
    # A plan from July to June: serve's store_month_figures and an import's refresh cover the
    # months of both years, not only those of plan.year.
    import attrs

    dep = make_deployment()
    plan = attrs.evolve(dep.plan, starts_on=dt.date(2024, 7, 1), ends_on=dt.date(2025, 6, 30))
    assert [str(m) for m in progress.refresh_month_figures(dep.db, plan, ["2025-03"])] == ["2025-03"]
    progress.store_month_figures(dep.db, [plan])
    stored = sorted(r[0] for r in dep.db.execute("select period from period_figures"))
    assert stored == [f"2024-{m:02d}" for m in range(7, 13)] + [f"2025-{m:02d}" for m in range(1, 7)]
