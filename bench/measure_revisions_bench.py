"""What counting each period's writes adds to storing a month of measurements (#26).

Since m014 a write to ``measurements`` also moves its period's row of ``measurement_revisions``,
so that the dashboard's stored month figures (``progress.month_figures``) know exactly which
months moved. m014 did it with a trigger per row; since m015 ``progress.record_measurements``
does it once per period and call. This times ``progress.record_measurements`` — what ``ccch
measure import`` does after checking — storing one month of the generated national plan (43,186
rows at full size) into a new database, then storing it again over itself (every row an
update), three ways alternated run by run, in CPU time: as now (once per call), with m014's
triggers put back, and with no revisions at all (the table dropped: the code before m014). The
checking (the same in the three) is timed once, so the import's rate is printed as rows per CPU
second (checking + storing), against #26's target of 20,000.

    .venv/bin/python bench/measure_revisions_bench.py --data /tmp/national/data --repeat 6

``--data``: a folder of ``bench/national_plan.py`` (generated there at full size when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

WAYS = ("once per call (now)", "m014's row triggers", "no revisions")
BUMP = ("insert into measurement_revisions (plan_id, period, revision) values ({row}.plan_id, {row}.period, 1) "
        "on conflict (plan_id, period) do update set revision = revision + 1;")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="bench/national_plan.py's folder")
    parser.add_argument("--repeat", type=int, default=6, help="runs each way (default 6)")
    args = parser.parse_args()
    from ccch_core import plancache, progress, storage
    from ccch_core.builtin.commands import read_measurement_csv
    from ccch_core.builtin.schema import migrations
    from ccch_core.limits import ImportLimits

    if not (args.data / "manifest.json").exists():
        import national_plan

        national_plan.generate(args.data, 1.0, 26)
    manifest = json.loads((args.data / "manifest.json").read_text(encoding="utf-8"))
    plan = plancache.load_plan_cached(args.data / "plan.toml", limits=ImportLimits(max_file_bytes=50_000_000))
    entry = manifest["measurements"][0]
    rows = read_measurement_csv(args.data / entry["file"], ImportLimits(max_rows=1_000_000))
    started = time.process_time()
    checked = progress.check_measurements(plan, ({**row, "unit_id": row.get("unit")} for _line, row in rows))
    check_ms = (time.process_time() - started) * 1000
    figures: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="ccch-revisions-") as folder:
        for run in range(args.repeat):
            for way in WAYS[run % 3:] + WAYS[:run % 3]:
                path = Path(folder) / f"run-{run}.db"
                db = storage.connect(path)
                storage.migrate(db, [storage.MigrationSet("core", migrations)])
                if way == WAYS[1]:
                    db.execute(f"create temp trigger revise_insert after insert on measurements begin "
                               f"{BUMP.format(row='new')} end")
                    db.execute(f"create temp trigger revise_update after update on measurements begin "
                               f"{BUMP.format(row='new')} end")
                elif way == WAYS[2]:
                    db.execute("drop table measurement_revisions")
                for label in ("new month", "the month again"):
                    started = time.process_time()
                    progress.record_measurements(db, plan, checked, recorded_by="bench")
                    figures.setdefault((label, way), []).append((time.process_time() - started) * 1000)
                db.close()
                for leftover in Path(folder).iterdir():
                    leftover.unlink()
    print(f"{len(checked):,} rows ({entry['file']}); load average {os.getloadavg()[0]:.1f}; "
          f"checking {check_ms:.0f} ms CPU (once)")
    for label in ("new month", "the month again"):
        medians = {}
        for way in WAYS:
            runs = figures[(label, way)]
            medians[way] = statistics.median(runs)
            rate = len(checked) / ((check_ms + medians[way]) / 1000)
            print(f"  {label:16} {way:20} storing {' '.join(f'{x:.0f}' for x in runs)} ms CPU "
                  f"(median {medians[way]:.0f}); checking + storing {rate:,.0f} rows/s")
        print(f"  {label:16} ratio to no revisions: once per call {medians[WAYS[0]] / medians[WAYS[2]]:.2f}, "
              f"row triggers {medians[WAYS[1]] / medians[WAYS[2]]:.2f}")

if __name__ == "__main__":
    main()
