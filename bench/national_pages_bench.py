"""The officers' pages of a plan the size of the country: server time and bytes per role (#26 part 3).

Generates the national plan and its year of data with ``bench/national_plan.py`` (``--scale`` as
there), loads the data straight into the database with SQL (the import commands are measured by
their own bench; here only the pages count), then renders, through Flask's test client (the whole
request inside the server: routing, sign-in, queries, template), for each role — the plan
administrator at the root, one province's officer, one commune's officer, a viewer:

- the dashboard for a month and for the year (median and worst of ``--repeat`` requests, after
  one warm-up request), in wall time and in the process's CPU time (on a shared machine the CPU
  time is the steadier figure), three times: "nothing kept" clears what the process keeps (the
  charts, the months' rows, expected reports and counts) before each request: a server just
  started, which finds the months' figures stored in the database (``period_figures``, #26);
  "nothing stored" also empties ``period_figures`` (every month evaluated for the trends: since
  ``ccch serve`` stores them before serving and imports store the months they touch, a reader
  meets this only after a write outside ccch — printed for the record, held to no target); "after a write" records one commune's
  measurement for March before each request and keeps what the server keeps (the first view
  after an officer's entry: the charts and March's figures are worked out again, the other
  months' are still valid);
- the report status page, the roll-up, the written report page (``/xuat/viet``), the unit pages
  and the unit search;
- the month's report of the whole plan as DOCX (summarised by level) and XLSX (with the full list);

and prints each page's size. Targets: every page < 200 KB; the dashboard for a month < 300 ms,
for the year < 1 s; the DOCX < 2 s.

    .venv/bin/python bench/national_pages_bench.py                    # full size (36,647 units)
    .venv/bin/python bench/national_pages_bench.py --scale 0.1 --repeat 3
    .venv/bin/python bench/national_pages_bench.py --keep /tmp/national  # reuse the folder next time
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

PAGE_LIMIT = 200 * 1024
MONTH_MS, YEAR_MS, DOCX_MS = 300.0, 1000.0, 2000.0
PASSWORD = "mat-khau-bench-2026"


def load(folder: Path, scale: float, months: int = 12, plugins: tuple[str, ...] = ("export",)):
    """A deployment in ``folder`` with the generated plan and ``months`` of data (made once; the
    tests of the sized pages use it at a small scale)."""
    from ccch_core.config import load_config
    from ccch_core.deployment import Deployment
    from ccch_core.periods import VN_TZ
    from ccch_core.plugins import make_plugin_manager

    config_path = folder / "ccch.toml"
    if not config_path.exists():
        import national_plan

        national_plan.generate(folder / "data", scale=scale, months=months)
        shutil.copyfile(folder / "data" / "plan.toml", folder / "plan.toml")
        config_path.write_text('[deployment]\nname = "Bench"\nplan = "plan.toml"\ndatabase = "ccch.db"\n'
                               'public_base_url = "https://cchc.example.gov.vn"\n'
                               f"plugins = [{', '.join(f'{p!r}' for p in plugins)}]\n".replace("'", '"'),
                               encoding="utf-8")
    config = load_config(config_path)
    dep = Deployment(config, pm=make_plugin_manager(config.plugins, strict=True))
    dep.migrate()
    db = dep.db
    if db.execute("select count(*) from activity_reports").fetchone()[0]:
        return dep
    stamp = dt.datetime.now(dt.UTC).isoformat()
    with db.conn:
        for path in sorted((folder / "data" / "measurements").glob("*.csv")):
            with open(path, encoding="utf-8") as f:
                db.conn.executemany(
                    "insert into measurements (plan_id, indicator, unit_id, period, value, numerator, denominator, "
                    "recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(dep.plan.id, r["indicator"], r["unit"], r["period"], float(r["value"]) if r["value"] else None,
                      float(r["numerator"]) if r["numerator"] else None,
                      float(r["denominator"]) if r["denominator"] else None, stamp) for r in csv.DictReader(f)])
        for path in sorted((folder / "data" / "activity").glob("*.csv")):
            with open(path, encoding="utf-8") as f:
                reports: dict[tuple[str, str], list[dict]] = {}
                for r in csv.DictReader(f):
                    reports.setdefault((r["unit"], r["period"]), []).append(r)
            for (unit, period), items in reports.items():
                local = dt.datetime.strptime(items[0]["submitted_at"], "%Y-%m-%d %H:%M").replace(tzinfo=VN_TZ)
                at = local.astimezone(dt.UTC).isoformat()
                report_id = db.conn.execute(
                    "insert into activity_reports (unit_id, period, submitted_at, updated_at, revision, status) "
                    "values (?, ?, ?, ?, 1, 'submitted')", (unit, period, at, at)).lastrowid
                db.conn.executemany(
                    "insert into activity_items (report_id, category, count, title) values (?, ?, ?, ?)",
                    [(report_id, i["category"], int(i["count"]), i["title"]) for i in items])
    return dep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="as bench/national_plan.py (default 1: full size)")
    parser.add_argument("--repeat", type=int, default=5, help="requests per measured page (default 5)")
    parser.add_argument("--keep", type=Path, help="a folder to build in and keep (reused when it exists)")
    parser.add_argument("--only", help="only the pages whose name holds this text (\"dashboard\"); no documents")
    args = parser.parse_args()
    from ccch_core import accounts
    from ccch_core.testing import login
    from ccch_core.web import create_app, dashboard

    folder = args.keep or Path(tempfile.mkdtemp(prefix="ccch-national-pages-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        dep = load(folder, args.scale)
        plan = dep.plan
        print(f"plan: {len(plan.units):,} units; data ready in {time.perf_counter() - started:.1f} s "
              f"({dep.db.execute('select count(*) from measurements').fetchone()[0]:,} measurements, "
              f"{dep.db.execute('select count(*) from activity_reports').fetchone()[0]:,} reports)")
        province = next(u for u in plan.units if u.kind == "province")
        commune = next(u for u in plan.units if u.kind == "commune")
        users = {"administrator at the root": ("admin", "plan_admin", None),
                 f"officer of {province.name}": ("tinh", "unit_officer", province.id),
                 f"officer of {commune.name}": ("xa", "unit_officer", commune.id),
                 "viewer": ("xem", "viewer", None)}
        for username, role, unit in users.values():
            if not accounts.find_user(dep.db, username):
                accounts.create_user(dep.db, plan, username, PASSWORD, role, unit_id=unit)
        app = create_app(deployment_obj=dep, test_config={"TESTING": True, "WTF_CSRF_ENABLED": False})
        from ccch_core import plancache

        if hasattr(plancache, "freeze_loaded_plans"):
            plancache.freeze_loaded_plans()  # as `ccch serve`'s workers do once their app is made
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f}")
        from ccch_core import progress

        share = next(i for i in plan.indicators if i.kind.value == "share_of_units")
        entered_by = plan.indicator_units(share)[0].id
        written = [0]

        def write() -> None:
            # An officer's entry for March (the value alternates, so every write is a change):
            # the database's version and March's figures move; the other months' do not.
            written[0] += 1
            progress.record_measurement(dep.db, plan, share.code, entered_by, "2024-03", written[0] % 2,
                                        recorded_by="bench")

        failed = []
        for label, (username, role, _unit) in users.items():
            client = app.test_client()
            assert login(client, username, PASSWORD).status_code == 302
            pages = [("dashboard, month", "/?period=2024-03", MONTH_MS),
                     ("dashboard, year", "/?period=2024", YEAR_MS),
                     ("units", "/don-vi", None),
                     ("unit search 'xa'", "/don-vi?q=xa", None)]
            if role != "viewer":
                pages.append(("report status, month", "/bao-cao?period=2024-03", None))
            if role == "plan_admin":
                pages.append(("roll-up, year", "/tong-hop?period=2024", None))
                pages.append(("written report, month", "/xuat/viet?period=2024-03", None))
                pages.append(("dashboard drill-down, one province", f"/?period=2024-03&unit={province.id}", MONTH_MS))
            for name, url, target in pages:
                if args.only and args.only not in name:
                    continue
                client.get(url)  # warm-up: templates, the plan's indexes
                for mode in (("nothing kept", "nothing stored", "after a write") if target else ("",)):
                    times, cpu = [], []
                    for _ in range(args.repeat if target else 1):
                        if mode in ("nothing kept", "nothing stored"):
                            if mode == "nothing stored" and dep.db["period_figures"].exists():
                                with dep.db.conn:  # as an import touching every month would leave them
                                    dep.db.execute("delete from period_figures")
                            dashboard._CHARTS_CACHE.clear()
                            dashboard._MONTHS_CACHE.clear()  # every request a first view: nothing kept
                            progress.forget_kept(plan)  # each period's expected reports, each month's counts
                        elif mode == "after a write":
                            write()
                        t0, c0 = time.perf_counter(), time.process_time()
                        response = client.get(url)
                        times.append((time.perf_counter() - t0) * 1000)
                        cpu.append((time.process_time() - c0) * 1000)
                    size = len(response.get_data())
                    median = statistics.median(times)
                    timed = target is not None and mode != "nothing stored"  # see the docstring
                    ok = response.status_code == 200 and size <= PAGE_LIMIT and (not timed or median < target)
                    shown = f"{name}, {mode}" if mode else name
                    if not ok:
                        failed.append(f"{label}: {shown}")
                    target_text = f" (target {target:.0f} ms)" if timed else " (no target: serve stores them)" \
                        if target else ""
                    print(f"{label:38} {shown:50} {response.status_code} {size / 1024:7.1f} KB  "
                          f"median {median:7.1f} ms (CPU {statistics.median(cpu):7.1f} ms), max {max(times):7.1f} ms"
                          f"{target_text}{'' if ok else '  ← over'}", flush=True)
        # The month's report as a document to sign (#26 part 4: summarised by level, < 2 s) and
        # its XLSX with the full list as an annex sheet.
        from ccch_export.plugin import export_report

        for format_name in ("docx", "xlsx") if not args.only else ():
            export_report(dep, "2024-02", None, format_name)  # warm-up
            times, cpu = [], []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                content, _, _ = export_report(dep, "2024-03", None, format_name)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            median = statistics.median(times)
            ok = format_name != "docx" or median < DOCX_MS
            if not ok:
                failed.append(f"report {format_name}")
            print(f"{'report of the whole plan, March':38} {format_name:36} {len(content) / 1024:11.1f} KB  "
                  f"median {median:7.1f} ms (CPU {statistics.median(cpu):7.1f} ms), max {max(times):7.1f} ms"
                  f"{' (target 2000 ms)' if format_name == 'docx' else ''}"
                  f"{'' if ok else '  ← over'}")
        dep.close()
        print("all pages within bounds" if not failed else f"over a bound: {', '.join(failed)}")
        sys.exit(1 if failed else 0)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
