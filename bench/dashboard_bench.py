"""The dashboard's server time for one month, with the example plan and a year of demo data.

Builds a deployment in a temporary folder with the Đức Thọ 2024 plan and every plugin the demo
enables, then a year of data: the example's first-quarter measurements repeated for each month of
2024 (values varied), and an activity report from every unit that owes one each month (about one in
eight late, one in ten missing). The dashboard of each month is then rendered through Flask's test
client — the whole request inside the server process (routing, sign-in check, queries, charts,
template), without network or browser — several times, and the median and 95th percentile per
request are printed. The target (#18): under 150 ms for a month.

    .venv/bin/python bench/dashboard_bench.py               # 12 months × 5 requests
    .venv/bin/python bench/dashboard_bench.py --repeat 20
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "duc-tho-2024"
PLUGINS = ("export", "survey", "contest", "feedback", "initiatives")
TARGET_MS = 150.0


def build(folder: Path):
    from ccch_core import progress
    from ccch_core.config import load_config
    from ccch_core.deployment import Deployment
    from ccch_core.periods import Period
    from ccch_core.plugins import make_plugin_manager

    shutil.copyfile(EXAMPLE / "plan.toml", folder / "plan.toml")
    (folder / "ccch.toml").write_text(
        '[deployment]\nname = "Bench"\nplan = "plan.toml"\ndatabase = "ccch.db"\n'
        'public_base_url = "https://cchc.example.gov.vn"\n'
        f"plugins = [{', '.join(repr(p).replace(chr(39), chr(34)) for p in PLUGINS)}]\n", encoding="utf-8")
    config = load_config(folder / "ccch.toml")
    dep = Deployment(config, pm=make_plugin_manager(config.plugins, strict=True))
    dep.migrate()
    dep.pm.hook.startup(deployment=dep)
    plan, db = dep.plan, dep.db
    rng = random.Random(18)
    with open(EXAMPLE / "demo" / "measurements-2024-q1.csv", encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f) if r["period"] == "2024-01"]
    for month in range(1, 13):
        period = f"2024-{month:02d}"
        for r in rows:
            value = r["value"] or None
            if value and value.replace(".", "").isdigit():
                value = float(value) + rng.randint(-1, 2)
            num = int(r["numerator"]) + rng.randint(0, 5) if r["numerator"] else None
            den = max(int(r["denominator"]), num or 0) if r["denominator"] else None
            try:
                progress.record_measurement(db, plan, r["indicator"], r["unit"], period, value,
                                            numerator=num, denominator=den)
            except progress.ProgressError:
                continue
        for unit in plan.expected_reporters(Period.parse(period)):
            luck = rng.random()
            if luck < 0.1:
                continue  # missing
            start = Period.parse(period).end_utc
            submitted = start + dt.timedelta(days=rng.randint(1, 4) if luck > 0.22 else rng.randint(7, 20))
            progress.record_activity_report(db, plan, unit.id, period,
                                            [{"category": "broadcast", "count": rng.randint(1, 6),
                                              "title": "Tin bài về CCHC", "task_id": f"T{rng.randint(1, 12)}"}],
                                            now=submitted)
    return dep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="requests per month (default 5)")
    args = parser.parse_args()
    from ccch_core import accounts
    from ccch_core.web import create_app

    folder = Path(tempfile.mkdtemp(prefix="ccch-dashboard-bench-"))
    try:
        started = time.perf_counter()
        dep = build(folder)
        print(f"built a year of demo data in {time.perf_counter() - started:.1f} s "
              f"({dep.db.execute('select count(*) from measurements').fetchone()[0]} measurements, "
              f"{dep.db.execute('select count(*) from activity_reports').fetchone()[0]} activity reports)")
        accounts.create_user(dep.db, dep.plan, "admin", "mat-khau-bench-2024", "plan_admin")
        app = create_app(deployment_obj=dep, test_config={"TESTING": True, "WTF_CSRF_ENABLED": False})
        client = app.test_client()
        from ccch_core.testing import login

        assert login(client, "admin", "mat-khau-bench-2024").status_code == 302
        assert client.get("/?period=2024-01").status_code == 200  # warm the caches and templates
        from ccch_core.web import dashboard

        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f}")
        results = {}
        from ccch_core import progress as progress_module
        from ccch_core.periods import Period

        admin_unit = next(iter(dep.plan.expected_reporters(Period.parse("2024-01")))).id
        wrote = [0]

        def write_to(month: int) -> None:
            # A unit's report for the month shown saved again: what happens before the first view
            # after a change (the database's version and that month's figures move).
            wrote[0] += 1
            progress_module.record_activity_report(dep.db, dep.plan, admin_unit, f"2024-{month:02d}",
                                                   [{"category": "broadcast", "count": wrote[0]}],
                                                   respect_lock=False)

        for label, mode in (("first view after a write to the month shown (charts drawn, other months kept)",
                             "write"),
                            ("cold (nothing kept or stored: every month evaluated)", "cold"),
                            ("warm (charts kept: nothing written since)", "warm")):
            times: list[float] = []
            for month in range(1, 13):
                for _ in range(args.repeat):
                    if mode == "cold":
                        if dep.db["period_figures"].exists():  # the months' figures stored (#26) too
                            with dep.db.conn:
                                dep.db.execute("delete from period_figures")
                        dashboard._CHARTS_CACHE.clear()
                        dashboard._MONTHS_CACHE.clear()
                        if hasattr(progress_module, "forget_kept"):  # each period's reports, each month's counts
                            progress_module.forget_kept(dep.plan)
                    elif mode == "write":
                        write_to(month)
                    t0 = time.perf_counter()
                    response = client.get(f"/?period=2024-{month:02d}")
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200
            times.sort()
            median = statistics.median(times)
            p95 = times[int(len(times) * 0.95) - 1]
            results[mode] = p95
            print(f"dashboard of one month, {label}, {len(times)} requests: median {median:.1f} ms, "
                  f"p95 {p95:.1f} ms, max {times[-1]:.1f} ms (median/target {median / TARGET_MS:.2f})")
        dep.close()
        sys.exit(0 if results["write"] < TARGET_MS else 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
