"""What collecting the metrics costs the hot paths: the same app with and without them (A/B).

Builds the soak's Đức Thọ deployment (survey + export + contest, limits for one address lifted),
gives it the folder of workers' counts that ``ccch serve`` makes under gunicorn (so the counts are
written to their file, at most once a second, as in production), and builds the web app from it: A as it is, B with
the two request hooks of :mod:`ccch_core.metrics` taken out (the same app object; nothing else
differs). Then, in
alternating rounds so that the machine's load drifts equally over both, it serves through Flask's
test client in this one process and measures the process's CPU time per request of:

- ``GET /healthz`` — the cheapest request: the worst case for the ratio;
- ``GET /k/<code>`` — a citizen opening the survey from a poster;
- ``POST /k/<code>`` — a survey submission (a new submission id and form token each: a database
  write, the hot path of a burst);
- ``GET /cuoc-thi/<slug>`` — the contest's landing page.

Each figure is the median over the rounds of the CPU time of a batch divided by its requests. The
test client's own work is in both A and B, so the ratio (A − B) / B understates the cost a little;
the difference A − B, in µs, is the cost itself. Finally a scrape of ``/metrics`` is timed (it
runs the counting queries of the core and the plugins), and again after a million survey responses
and a million contest attempts are added.

    .venv/bin/python bench/metrics_bench.py [--rounds 9] [--batch 300]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import soak as soak_module  # the soak's deployment


def without_metrics(app):
    """B: the app with the metrics' two request hooks removed."""
    def is_metrics(function) -> bool:
        return function.__module__ == "ccch_core.metrics"

    app.before_request_funcs[None] = [f for f in app.before_request_funcs[None] if not is_metrics(f)]
    app.after_request_funcs[None] = [f for f in app.after_request_funcs[None] if not is_metrics(f)]
    return app


def grow(database: Path, rows: int) -> tuple[int, int, int]:
    """``rows`` more survey responses (spread over the posters' daily counts for a year, as the
    submissions keep them), contest participants and submitted attempts: what the scrape counts."""
    db = soak_module.sqlite3.connect(database)
    series = "with recursive n(i) as (select 1 union all select i + 1 from n where i < ?) "
    with db:
        db.execute(
            series + "insert into survey_responses (survey_id, version, placement_id, unit_id, submitted_at, day, "
            "submission_id, device_key, channel, excluded) select r.survey_id, r.version, r.placement_id, r.unit_id, "
            "r.submitted_at, r.day, 'grown' || n.i, null, r.channel, 0 from n, (select * from survey_responses "
            "limit 1) r", [rows])
        placements = [row[0] for row in db.execute("select distinct placement_id from survey_daily")]
        per_row = max(1, rows // (len(placements) * 365))
        db.executemany("insert into survey_daily (placement_id, day, responses) values (?, ?, ?) "
                       "on conflict (placement_id, day) do update set responses = responses + excluded.responses",
                       [(pid, day, per_row) for pid in placements for day in range(1, 366)])
        contest_id, round_id = db.execute("select contest_id, id from contest_rounds order by id limit 1").fetchone()
        first = db.execute("select coalesce(max(id), 0) from contest_participants").fetchone()[0]
        db.execute(
            series + "insert into contest_participants (id, contest_id, audience, consent_at, consent_version, "
            "created_at) select ? + n.i, ?, 'cbccvc', '2026-01-01', 'v1', '2026-01-01' from n",
            [rows, first, contest_id])
        db.execute(
            series + "insert into contest_attempts (token, contest_id, round_id, participant_id, audience, attempt_no, "
            "status, started_at, started_ms, deadline_ms, accept_until_ms, questions, submitted_at, score, total) "
            "select 'grown' || n.i, ?, ?, ? + n.i, 'cbccvc', 1, 'submitted', '2026-01-01', 0, 0, 0, '[]', "
            "'2026-01-01', 0, 0 from n", [rows, contest_id, round_id, first])
    counts = tuple(db.execute(f"select count(*) from {table}").fetchone()[0]
                   for table in ("survey_responses", "contest_participants", "contest_attempts"))
    db.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch", type=int, default=300)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to add before timing the scrape again")
    args = parser.parse_args()
    from ccch_core import metrics

    folder = Path(tempfile.mkdtemp(prefix="ccch-metrics-bench-"))
    multiprocess = metrics.start_multiprocess()
    try:
        config, codes, definition = soak_module.make_deployment(folder)
        slug = definition["contest"]["slug"]
        from ccch_core.web import create_app
        from ccch_core.web.formtoken import issue_form_token

        # One app; its metrics hooks are taken out for B's rounds and put back for A's, so that nothing
        # but the hooks differs (two app objects differed by more than the hooks cost, either way).
        app = create_app(str(config), migrate=False)
        with_hooks = (list(app.before_request_funcs[None]), list(app.after_request_funcs[None]))
        plain = without_metrics(app)
        without_hooks = (list(plain.before_request_funcs[None]), list(plain.after_request_funcs[None]))
        assert len(with_hooks[0]) == len(without_hooks[0]) + 1 and len(with_hooks[1]) == len(without_hooks[1]) + 1

        def use(name: str) -> None:
            before, after = with_hooks if name == "A" else without_hooks
            app.before_request_funcs[None], app.after_request_funcs[None] = list(before), list(after)

        apps = {"A": app, "B": app}
        client = app.test_client()
        clients = {"A": client, "B": client}
        code = codes[0]
        required = soak_module.REQUIRED.findall(clients["A"].get(f"/k/{code}").get_data(as_text=True))
        version = "1"
        serial = iter(range(10**9))

        def submission(name: str):
            n = next(serial)
            sid = f"metrics{n:014d}{name}x"
            with apps[name].app_context():
                token = issue_form_token("survey", f"{code}|{sid}")
            form = {"csrf_token": token, "sid": sid, "v": version}
            form.update({q: str(n % 5 + 1) for q in required})
            return form

        paths = {
            "GET /healthz": lambda name, client: client.get("/healthz"),
            "GET /k/<code> (survey page)": lambda name, client: client.get(f"/k/{code}"),
            "POST /k/<code> (survey submission)": None,
            "GET /cuoc-thi/<slug> (contest landing)": lambda name, client: client.get(f"/cuoc-thi/{slug}"),
        }
        results: dict[str, dict[str, list[float]]] = {path: {"A": [], "B": []} for path in paths}
        for path, call in paths.items():
            for name, client in clients.items():  # warm up both
                use(name)
                for _ in range(30):
                    if call is None:
                        response = client.post(f"/k/{code}", data=submission(name))
                        assert response.status_code in (200, 303), response.status_code
                    else:
                        assert call(name, client).status_code == 200
            for round_no in range(args.rounds):
                order = ("A", "B") if round_no % 2 == 0 else ("B", "A")
                for name in order:
                    client = clients[name]
                    use(name)
                    if call is None:
                        forms = [submission(name) for _ in range(args.batch)]
                        t0 = time.process_time()
                        for form in forms:
                            client.post(f"/k/{code}", data=form)
                    else:
                        t0 = time.process_time()
                        for _ in range(args.batch):
                            call(name, client)
                    results[path][name].append((time.process_time() - t0) / args.batch)
        # The hooks alone, many times over in one request context: a precise figure of what A adds.
        use("A")
        start = next(f for f in app.before_request_funcs[None] if f.__module__ == "ccch_core.metrics")
        count = next(f for f in app.after_request_funcs[None] if f.__module__ == "ccch_core.metrics")
        hook_us = []
        with app.test_request_context(f"/k/{code}", method="POST"):
            response = app.response_class("ok")
            for _ in range(5):
                t0 = time.process_time()
                for _ in range(20_000):
                    start()
                    count(response)
                hook_us.append((time.process_time() - t0) / 20_000 * 1e6)
        hook = statistics.median(hook_us)
        scrape_client = clients["A"]
        scrape_client.get("/metrics")
        t0 = time.perf_counter()
        for _ in range(20):
            assert scrape_client.get("/metrics").status_code == 200
        scrape_ms = (time.perf_counter() - t0) / 20 * 1000
        responses = soak_module.sqlite3.connect(folder / "d" / "ccch.db").execute(
            "select count(*) from survey_responses").fetchone()[0]
        big = grow(folder / "d" / "ccch.db", args.rows) if args.rows else None
        if big is not None:
            scrape_client.get("/metrics")
            t0 = time.perf_counter()
            for _ in range(5):
                assert scrape_client.get("/metrics").status_code == 200
            big_ms = (time.perf_counter() - t0) / 5 * 1000

        print(f"metrics cost, A/B in one process: {platform.python_implementation()} {platform.python_version()}, "
              f"{os.cpu_count()} cores, load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}; "
              f"workers' counts folder as under gunicorn; {args.rounds} alternating rounds of "
              f"{args.batch} requests")
        print(f"  {'request':40} {'A: with (µs)':>13} {'B: without (µs)':>16} {'A − B (µs)':>11} {'ratio':>7}")
        worst = 0.0
        for path, by in results.items():
            a, b = statistics.median(by["A"]) * 1e6, statistics.median(by["B"]) * 1e6
            ratio = (a - b) / b
            if not path.startswith("GET /healthz"):
                worst = max(worst, ratio)
            print(f"  {path:40} {a:>13.1f} {b:>16.1f} {a - b:>11.1f} {ratio:>+7.1%}")
        print(f"  worst hot path (healthz aside): {worst:+.1%} (whole requests: the spread between rounds on a "
              "shared machine is larger than the cost)")
        print(f"  the two hooks alone (timer at the start, the count at the end): {hook:.2f} µs a request")
        for path, by in results.items():
            b = statistics.median(by["B"]) * 1e6
            print(f"    = {hook / b:.2%} of {path} ({b:.0f} µs)")
        print(f"  one scrape of /metrics: {scrape_ms:.1f} ms ({responses:,} survey responses in the database)")
        if big is not None:
            print(f"  one scrape of /metrics with {big[0]:,} survey responses, {big[1]:,} contest participants and "
                  f"{big[2]:,} attempts: {big_ms:.0f} ms")
    finally:
        metrics.stop_multiprocess(multiprocess)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
