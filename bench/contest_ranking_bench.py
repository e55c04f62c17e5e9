"""The 1,000,000-attempt ranking (issue #16: "under 1 s") and what the round's closing costs.

    .venv/bin/python bench/contest_ranking_bench.py [--attempts 1000000] [--runs 3]
        [--folder DIR] [--no-disqualify]

Sets up a throw-away deployment with ``bench/contest_bench.py``'s own set-up (its contest and a
closed round of ``--attempts`` attempts written straight into SQLite; not timed), or reuses
``--folder`` when it holds one already, then measures in this process, through the plugin's code:

1. the round's closing (``close_round``: overdue attempts, the true figure, entrants per audience
   and, since session 11, re-keying the prediction as distances from the figure) — the first
   closing's cost when the folder is fresh;
2. the whole round's ranking (``rank_round``, every entry streamed in order) ``--runs`` times,
   wall and CPU seconds each, against the target of 1 s;
3. the top 50 with names (``leaderboard``, computed, not cached);
4. a changed figure: one participant with every answer right disqualified (the figure drops by
   one) and reinstated, each followed by a ranking (``--no-disqualify`` skips it);
5. the database's size and free pages.

Run it under the machine's benchmark lock; to compare two trees, run this file with
``PYTHONPATH`` set to each tree's ``src`` and ``plugins/contest/src`` (it uses only functions
both have had since issue #16's first session).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contest_bench as cb


def timed(action, *args):
    """(result, wall seconds, CPU seconds) of ``action(*args)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=1_000_000, help="attempts in the closed round")
    parser.add_argument("--runs", type=int, default=3, help="rankings of the whole round")
    parser.add_argument("--folder", type=Path, help="a deployment to make (or reuse) here; kept")
    parser.add_argument("--no-disqualify", action="store_true", help="skip the changed figure")
    args = parser.parse_args()

    made_here = args.folder is None
    folder = args.folder or Path(tempfile.mkdtemp(prefix="ccch-ranking-")) / "dep"
    if not (folder / "ccch.toml").exists():
        _, wall, _ = timed(cb.make_deployment, folder, 200, args.attempts, True)
        print(f"set-up: {args.attempts:,} attempts in a closed round, {wall:.0f} s (not measured)")

    from ccch_contest.contests import get_contest
    from ccch_contest.moderation import set_disqualified
    from ccch_contest.ranking import close_round, leaderboard, rank_round

    from ccch_core.deployment import Deployment

    try:
        dep = Deployment.open(folder / "ccch.toml")
        contest = get_contest(dep, cb.SLUG)
        round_state = contest.round(1)
        first = "first closing" if not round_state.truth_at else "closing again (the figure was stored already)"
        round_state, wall, cpu = timed(lambda: close_round(dep, contest, round_state, force=True))
        print(f"{first}: {wall:.2f} s ({cpu:.2f} s CPU); true figure {round_state.truth:g}")
        contest = get_contest(dep, cb.SLUG)
        seconds = []
        for _ in range(args.runs):
            result, wall, cpu = timed(rank_round, dep, contest, round_state)
            seconds.append(wall)
            print(f"ranking {result['entries']:,} entries: {wall:.3f} s ({cpu:.3f} s CPU); first {result['top']}")
        board, wall, _ = timed(leaderboard, dep, contest, round_state, "cbccvc")
        print(f"top {len(board.rows)} with names: {wall * 1000:.1f} ms")
        worst = max(seconds)
        print(f"target < 1 s: worst {worst:.3f} s = {worst:.0%} of the target — {'met' if worst < 1 else 'NOT met'}")
        if not args.no_disqualify:
            db = dep.db
            person = db.execute("select participant_id from contest_attempts where round_id = ? and counted = 1 and "
                                "disqualified = 0 and perfect = 1 limit 1", [round_state.id]).fetchone()[0]
            for flag in (True, False):
                _, wall, cpu = timed(set_disqualified, dep, contest, person, flag, "Thi hộ" if flag else "", "bench")
                contest = get_contest(dep, cb.SLUG)
                round_state = contest.round(1)
                result, rank_wall, _ = timed(rank_round, dep, contest, round_state)
                print(f"{'disqualifying' if flag else 'reinstating'} one participant with every answer right: "
                      f"{wall:.2f} s ({cpu:.2f} s CPU); figure {round_state.truth:g}; ranking after {rank_wall:.3f} s")
        pages, free, size = (dep.db.execute(f"pragma {name}").fetchone()[0]
                             for name in ("page_count", "freelist_count", "page_size"))
        print(f"database: {pages * size / 2**20:.0f} MiB, {free} free pages")
        dep.close()
    finally:
        if made_here:
            shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
