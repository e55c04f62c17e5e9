"""The year's figures read from SQLite against built from its months' kept rows (#26).

A year's dashboard evaluates the twelve months for its trends; since 422d890 ``evaluate_plan``
keeps each month's measurement rows while the database does not change, and the year is then
built from them. This prints, per run, the CPU time of the year evaluated with nothing kept
(read from SQLite), of its twelve months, and of the year again (built from their rows), and
checks that both years give the same figures.

    .venv/bin/python bench/year_from_months_bench.py --keep /tmp/national --repeat 6

``--keep``: the folder of ``national_pages_bench.py`` (built there when missing; full size).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import national_pages_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True, help="national_pages_bench.py's folder")
    parser.add_argument("--scale", type=float, default=1.0, help="as bench/national_plan.py (default 1)")
    parser.add_argument("--repeat", type=int, default=6, help="runs (default 6)")
    args = parser.parse_args()
    from ccch_core import plancache, progress
    from ccch_core.periods import Period

    args.keep.mkdir(parents=True, exist_ok=True)
    dep = national_pages_bench.load(args.keep, args.scale)
    plan, db = dep.plan, dep.db
    plancache.freeze_loaded_plans()  # as the server's workers do
    year = Period.year_of(plan.year)
    now = progress.utc_now()
    read, months, built = [], [], []

    def cpu(function):
        started = time.process_time()
        result = function()
        return result, (time.process_time() - started) * 1000

    for _ in range(args.repeat):
        progress.forget_kept(plan)
        first, ms = cpu(lambda: progress.evaluate_plan(db, plan, year, now=now))
        read.append(ms)
        _, ms = cpu(lambda: [progress.evaluate_plan(db, plan, m, now=now) for m in year.months()])
        months.append(ms)
        second, ms = cpu(lambda: progress.evaluate_plan(db, plan, year, now=now))
        built.append(ms)
        assert second == first, "the year built from its months differs from the year read"
    print(f"{len(plan.units):,} units; load average {os.getloadavg()[0]:.1f}; CPU ms per run:")
    for label, figures in (("the year read from SQLite", read), ("its twelve months", months),
                           ("the year from the months' kept rows", built)):
        print(f"  {label:38} {' '.join(f'{x:.0f}' for x in figures)} (median {statistics.median(figures):.0f})")
    print(f"ratio, built / read: {statistics.median(built) / statistics.median(read):.2f}")


if __name__ == "__main__":
    main()
