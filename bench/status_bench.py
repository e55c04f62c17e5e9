"""`ccch status` and the plan's evaluation at the size of the country (#26 part 2).

Generates the national plan with ``bench/national_plan.py`` (36,647 units, a year of monthly data),
builds a deployment in a temporary folder and loads the year's 518,232 measurements and 39,852
activity reports straight into their tables (one transaction; the import commands themselves are
measured by ``bench/national_bench.py``), then times, in this process:

- loading the plan: parsing and validating the TOML, and from the plan cache (``plancache``);
- ``evaluate_plan`` and ``reporting_completeness`` for a month and for the year;
- ``ccch status --period 2024-03`` and ``--period 2024`` (text and ``--json``), from the CLI's entry
  to its output, the plan read from the cache as a new command would (the in-process copy is
  dropped before each run), interpreter start-up excluded. Targets: a month < 300 ms, the year < 1 s.

    .venv/bin/python bench/status_bench.py                  # full size, 5 runs each
    .venv/bin/python bench/status_bench.py --scale 0.1 --repeat 3
    .venv/bin/python bench/status_bench.py --data /tmp/national   # reuse generated files
    .venv/bin/python bench/status_bench.py --example        # the Đức Thọ example: old vs new

``--example`` times, on the Đức Thọ plan with a year of demo data (``dashboard_bench.build``), the
evaluation of each month and of the year by the code before #26 (kept in
``tests/reference_evaluation.py``) and by ``progress.evaluate_plan``, in the same process on the
same database, and checks that they agree: the example's figures must not get worse.

Every figure is the median of ``--repeat`` runs. Run it on a quiet machine (the load average is
printed).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

MONTH_TARGET_MS = 300.0
YEAR_TARGET_MS = 1000.0


def _local_to_utc(text: str) -> str:
    from ccch_core.periods import VN_TZ

    local = dt.datetime.fromisoformat(text).replace(tzinfo=VN_TZ)
    return local.astimezone(dt.UTC).isoformat(timespec="seconds")


def build(folder: Path, data: Path) -> Path:
    """A deployment of the generated plan in ``folder`` with the year's data; its ccch.toml."""
    from ccch_core.config import load_config
    from ccch_core.deployment import Deployment

    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    shutil.copyfile(data / "plan.toml", folder / "plan.toml")
    (folder / "ccch.toml").write_text(
        '[deployment]\nname = "Bench"\nplan = "plan.toml"\ndatabase = "ccch.db"\n'
        'public_base_url = "https://cchc.example.gov.vn"\nplugins = []\n', encoding="utf-8")
    dep = Deployment(load_config(folder / "ccch.toml"))
    dep.migrate()
    plan, db = dep.plan, dep.db
    kinds = {i.code: i.kind.value for i in plan.indicators}
    stamp = "2025-01-10T00:00:00+00:00"
    with db.conn:
        for entry in manifest["measurements"]:
            rows = []
            with open(data / entry["file"], encoding="utf-8") as f:
                for r in csv.DictReader(f):
                    num = float(r["numerator"]) if r["numerator"] else None
                    den = float(r["denominator"]) if r["denominator"] else None
                    if kinds[r["indicator"]] == "ratio":
                        value = 100.0 * num / den if den else None
                    else:
                        value = float(r["value"])
                    rows.append((plan.id, r["indicator"], r["unit"], r["period"], value, num, den, "bench", stamp))
            db.conn.executemany(
                "insert into measurements (plan_id, indicator, unit_id, period, value, numerator, denominator, "
                "recorded_by, recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        for entry in manifest["activity"]:
            with open(data / entry["file"], encoding="utf-8") as f:
                reports: dict[tuple[str, str], list[dict]] = {}
                for r in csv.DictReader(f):
                    reports.setdefault((r["unit"], r["period"]), []).append(r)
            for (unit, period), items in reports.items():
                at = _local_to_utc(items[0]["submitted_at"])
                report_id = db.conn.execute(
                    "insert into activity_reports (unit_id, period, note, submitted_by, submitted_at, updated_at, "
                    "revision) values (?, ?, ?, 'bench', ?, ?, 1)", (unit, period, items[0]["note"] or None, at, at),
                ).lastrowid
                db.conn.executemany(
                    "insert into activity_items (report_id, category, count, title) values (?, ?, ?, ?)",
                    [(report_id, i["category"], int(i["count"]), i["title"] or None) for i in items])
    dep.close()
    return folder / "ccch.toml"


def _forget_plans() -> None:
    """Drop the in-process copies of parsed plans, so the next command reads the cache file, and
    free what the last run left (a new command starts with nothing to free)."""
    import gc

    try:
        from ccch_core import plancache
    except ImportError:  # a tree before the plan cache
        return
    plancache.clear_memory()
    gc.collect()


def example(repeat: int) -> None:
    """Old against new evaluation on the Đức Thọ example (see the module docstring)."""
    import dashboard_bench

    sys.path.insert(0, str(ROOT.parent / "tests"))
    import reference_evaluation

    from ccch_core import progress
    from ccch_core.periods import Period

    folder = Path(tempfile.mkdtemp(prefix="ccch-status-example-"))
    try:
        dep = dashboard_bench.build(folder)
        plan, db = dep.plan, dep.db
        now = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f}")
        periods = [*Period.year_of(2024).months(), Period.year_of(2024)]
        for label, function in (("before #26 (reference)", reference_evaluation.evaluate_plan),
                                ("aggregated (progress)", progress.evaluate_plan)):
            def run(f=function):
                return [f(db, plan, p, now=now, measures=dep.measures, deployment=dep) for p in periods]

            run()
            # Nothing kept from the run before (since 422d890 a period's rows are kept while the
            # database does not change): within a run, the year is built from its months' rows.
            ms, _ = median_ms(run, repeat, before=lambda: forget(plan))
            print(f"evaluate 12 months and the year, {label}: {ms:.1f} ms median of {repeat} "
                  f"({LAST_CPU_MS:.1f} ms CPU)")
        for p in periods:
            old = reference_evaluation.evaluate_plan(db, plan, p, now=now, measures=dep.measures, deployment=dep)
            new = progress.evaluate_plan(db, plan, p, now=now, measures=dep.measures, deployment=dep)
            assert new == old, p
        print("the two agree on every figure of every period")
        dep.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def forget(plan) -> None:
    """What the process keeps for ``plan`` between calls forgotten (a run as a new command's)."""
    from ccch_core import progress

    if hasattr(progress, "forget_kept"):
        progress.forget_kept(plan)


def median_ms(function, repeat: int, before=None) -> tuple[float, object]:
    """The median wall time of ``repeat`` calls, in ms, and the last result; the median CPU time
    of the same calls is kept in ``LAST_CPU_MS`` (on a loaded machine, the steadier figure).
    ``before`` is called before each call, untimed."""
    global LAST_CPU_MS
    times, cpus, result = [], [], None
    for _ in range(repeat):
        if before is not None:
            before()
        t0, c0 = time.perf_counter(), time.process_time()
        result = function()
        times.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    LAST_CPU_MS = statistics.median(cpus)
    return statistics.median(times), result


LAST_CPU_MS = 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a folder written by national_plan.py (default: generate one)")
    parser.add_argument("--scale", type=float, default=1.0, help="the generator's scale (default 1)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each figure (default 5)")
    parser.add_argument("--example", action="store_true", help="the Đức Thọ example, old against new evaluation")
    args = parser.parse_args()
    if args.example:
        example(args.repeat)
        return
    import national_plan
    from click.testing import CliRunner

    from ccch_core import progress
    from ccch_core.cli import make_cli
    from ccch_core.config import load_config
    from ccch_core.deployment import Deployment
    from ccch_core.periods import Period
    from ccch_core.planfile import load_plan

    folder = Path(tempfile.mkdtemp(prefix="ccch-status-bench-"))
    try:
        data = args.data
        if data is None or not (data / "manifest.json").exists():
            data = data or folder / "data"
            national_plan.generate(data, scale=args.scale)
        started = time.perf_counter()
        config_path = build(folder, data)
        config = load_config(config_path)
        dep = Deployment(config)
        n_measurements = dep.db.execute("select count(*) from measurements").fetchone()[0]
        n_reports = dep.db.execute("select count(*) from activity_reports").fetchone()[0]
        print(f"built in {time.perf_counter() - started:.1f} s: {len(dep.plan.units):,} units, "
              f"{n_measurements:,} measurements, {n_reports:,} activity reports")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f}")

        parse_ms, plan = median_ms(lambda: load_plan(config.plan_path, limits=config.limits), args.repeat)
        print(f"plan parsed and validated from TOML: {parse_ms:.0f} ms ({LAST_CPU_MS:.0f} ms CPU)")
        try:
            from ccch_core import plancache
        except ImportError:
            plancache = None
        if plancache is not None:
            def cached():
                return plancache.load_plan_cached(config.plan_path, limits=config.limits, folder=config.folder)

            cached()  # writes the cache file
            # The copy in memory is dropped before each run, untimed: a new command has none to free.
            cache_ms, _ = median_ms(cached, args.repeat, before=_forget_plans)
            print(f"plan from the cache file: {cache_ms:.0f} ms ({LAST_CPU_MS:.0f} ms CPU; "
                  f"{parse_ms / cache_ms:.1f}× faster)")

        month, year = Period.parse("2024-03"), Period.parse("2024")
        now = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)
        for label, period in (("month", month), ("year", year)):
            ms, _ = median_ms(lambda p=period: progress.evaluate_plan(dep.db, plan, p, now=now), args.repeat,
                              before=lambda: forget(plan))  # each run reads its rows (not kept from the last)
            print(f"evaluate_plan, {label}: {ms:.0f} ms ({LAST_CPU_MS:.0f} ms CPU)")
            def completeness(p=period):
                if hasattr(progress, "forget_kept"):
                    progress.forget_kept(plan)  # worked out again, not read from what is kept
                return progress.reporting_completeness(dep.db, plan, p, now=now)

            ms, _ = median_ms(completeness, args.repeat)
            print(f"reporting_completeness, {label}: {ms:.0f} ms ({LAST_CPU_MS:.0f} ms CPU)")
        dep.close()

        runner = CliRunner()
        if hasattr(plancache, "freeze_loaded_plans"):
            # What `ccch` (cli.main) does before it runs a command: the plans it loads stay out of
            # the garbage collector's walks. The figures above are without it.
            plancache.freeze_loaded_plans()
        failed = False
        for label, period, target in (("month", "2024-03", MONTH_TARGET_MS), ("year", "2024", YEAR_TARGET_MS)):
            for extra in ((), ("--json",)):
                def run(p=period, e=extra):
                    result = runner.invoke(make_cli(config_path), ["status", "--period", p, *e])
                    assert result.exit_code == 0, result.output
                    return result.output

                run()  # the first run writes the plan cache
                # The plan in memory dropped before each run, untimed (freeing the last run's
                # 36,647 units is not a new command's work): it reads the cache file as one does.
                ms, output = median_ms(run, args.repeat, before=_forget_plans)
                size = len(output.encode("utf-8"))
                verdict = f"target {target:.0f} ms, ratio {ms / target:.2f}" if not extra else "no target"
                print(f"ccch status --period {period} {' '.join(extra)}: {ms:.0f} ms ({LAST_CPU_MS:.0f} ms CPU), "
                      f"{size:,} bytes ({verdict})")
                if not extra and ms >= target:
                    failed = True
        sys.exit(1 if failed else 0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
