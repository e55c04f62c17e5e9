"""Plugin measures' roll-up at national size: "the unit and the units below it".

The contest, survey, feedback and initiatives measures sum counts kept per unit into every
applicable unit at or above it. Asking ``Plan.is_within`` for each applicable unit and each unit
with counts grows with their product; ``Plan.sums_within`` walks each counted unit's chain of
parents once. This prints both on the generated national plan (``bench/national_plan.py``) for a
count on each of its 33,189 facilities and the 3,321 communes as the applicable units — the old
way extrapolated from ``--sample`` communes — checks that they agree, and prints the ratio::

    .venv/bin/python bench/rollup_bench.py                     # generates the plan in a temp folder
    .venv/bin/python bench/rollup_bench.py --plan /tmp/national/plan.toml
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", type=Path, help="a generated plan file (default: generate one)")
    parser.add_argument("--scale", type=float, default=1.0, help="generator scale when no --plan")
    parser.add_argument("--sample", type=int, default=50, help="communes asked the old way")
    args = parser.parse_args()
    from ccch_core.planfile import load_plan

    with tempfile.TemporaryDirectory() as tmp:
        path = args.plan
        if path is None:
            import national_plan

            national_plan.generate(Path(tmp), scale=args.scale, months=1)
            path = Path(tmp) / "plan.toml"
        plan = load_plan(path)
    rng = random.Random(1)
    facilities = [u.id for u in plan.units if plan.depth(u.id) >= 3]
    communes = [u for u in plan.units if u.kind == "commune"]
    rows = {f: (rng.randint(0, 5),) for f in facilities}

    started = time.process_time()
    within = plan.sums_within(rows)
    new = time.process_time() - started
    values = {u.id: within.get(u.id, (0,))[0] for u in communes}

    sample = communes[: args.sample]
    started = time.process_time()
    old = {u.id: sum(n for uid, (n,) in rows.items() if plan.has_unit(uid) and plan.is_within(uid, u.id))
           for u in sample}
    old_total = (time.process_time() - started) / len(sample) * len(communes)
    assert all(old[u.id] == values[u.id] for u in sample), "the two ways disagree"
    print(f"{len(plan.units):,} units, counts on {len(rows):,}, {len(communes):,} communes applicable")
    print(f"sums_within (each counted unit's parents once): {new * 1000:.1f} ms CPU")
    print(f"is_within per commune and counted unit (from {len(sample)} communes): {old_total:.1f} s CPU")
    print(f"ratio old/new: {old_total / new:,.0f}")


if __name__ == "__main__":
    main()
