"""Restore drill: serve with Litestream replicating, load it, lose the server and its disk, restore, count.

A fresh Đức Thọ deployment (survey + export + contest, the soak's: bench/soak.py) gets a
``[replication]`` table with a folder replica; ``ccch replication run`` (Litestream) and ``ccch
serve`` (gunicorn) run beside each other while citizens submit the SIPAS survey and contest
participants register, answer and submit (the soak's load threads). Every acknowledged write is
stamped with the moment its acknowledgement arrived. Then, at once:

1. the server and Litestream are killed with SIGKILL (the machine is gone) and the deployment's
   folder is deleted, database, WAL and Litestream's state with it;
2. on a "fresh machine" — a new folder with only ``ccch.toml``, ``plan.toml`` and ``secret_key``
   copied back, as docs/deploy.md says to keep them — ``ccch restore`` brings the database back
   from the replica;
3. the restored database must pass ``PRAGMA integrity_check`` and the soak's consistency checks,
   and hold every acknowledged write older than the loss bound (the sync interval plus Litestream's
   one-second look at the WAL); the writes it lacks give the measured window of loss;
4. ``ccch restore --at`` a moment in the middle of the load gives a database with every write
   acknowledged well before that moment and nothing submitted after it.

    .venv/bin/python bench/restore_drill.py --seconds 30 --citizens 4 --participants 4

``tests/test_restore_drill.py`` runs it (shorter) in the normal suite; docs/reliability.md has the
figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import soak as soak_module  # the soak's deployment, load and checks
from _common import free_port

CCCH = soak_module.CCCH


class _AfterTheKill:
    """Stands in for the ``time`` module of the soak's load threads once the server is gone: a
    submission that got no answer is normally re-sent for 90 s; here its deadline has passed."""

    def time(self) -> float:
        return time.time() + 1000.0

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, 0.05))


def _start(command: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not happen within {seconds:g} s")


def _healthy(port: int) -> bool:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read() == b"ok\n"
    except OSError:
        return False


def _scrape(port: int) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode("utf-8")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)[35789]\d{8}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def _check_log(path: Path, phones) -> dict:
    """The server's JSON log of the run: lines, request lines, and any phone number or address in it."""
    text = path.read_text(encoding="utf-8", errors="replace")
    records, broken = [], 0
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                broken += 1
    found = sorted({m.group(0) for m in _PHONE.finditer(text)} | {p for p in phones if p in text}
                   | {m.group(0) for m in _EMAIL.finditer(text)})
    return {"lines": len(records), "broken_lines": broken,
            "request_lines": sum(r.get("message") == "request" for r in records),
            "with_request_id": sum(bool(r.get("request_id")) for r in records), "personal_data": found}


def drill(seconds: float = 20.0, citizens: int = 3, participants: int = 3, workers: int = 2,
          sync_interval: int = 1, keep: bool = False, min_acknowledged: int = 0) -> dict:
    """Run the drill; returns its figures and ``problems`` (empty when it held). With
    ``min_acknowledged``, the load goes on past ``seconds`` (up to four times as long) until each kind
    of write has had that many acknowledged: a busy machine does fewer a second, and a drill over a
    handful of writes proves little."""
    folder = Path(tempfile.mkdtemp(prefix="ccch-drill-"))
    problems: list[str] = []
    processes: list[subprocess.Popen] = []
    try:
        config, codes, definition = soak_module.make_deployment(folder)
        replica = folder / "replica"  # "another disk": it survives the loss of d/
        with config.open("a", encoding="utf-8") as handle:
            handle.write(f'\n[replication]\nreplica = "{replica.as_posix()}"\nsync_interval_seconds = {sync_interval}\n'
                         '\n[web]\nlog_format = "json"\n')
        litestream = _start([CCCH, "-c", str(config), "replication", "run"], folder / "litestream.log")
        processes.append(litestream)
        _wait_for(lambda: any(replica.glob("ltx/*/*.ltx")), 30, "Litestream's first snapshot")
        port = free_port()
        server = _start([CCCH, "-c", str(config), "serve", "--port", str(port), "--workers", str(workers)],
                        folder / "serve.log")
        processes.append(server)
        _wait_for(lambda: _healthy(port), 60, "the server's start")

        slug = definition["contest"]["slug"]
        excluded = set(definition["contest"].get("eligibility", {}).get("excluded_units", []))
        load = soak_module.Soak(port, slug, excluded)
        load.database = folder / "d" / "ccch.db"
        acked: dict[str, dict[str, float]] = {"survey": {}, "phones": {}, "attempts": {}}
        watching = threading.Event()

        def watch():  # when each acknowledgement arrived (within 20 ms)
            while not watching.is_set():
                now = time.time()
                for kind, ids in load.snapshot().items():
                    seen = acked[kind]
                    for item in ids:
                        seen.setdefault(item, now)
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        threads = [threading.Thread(target=soak_module.citizen, args=(load, codes, i), daemon=True)
                   for i in range(citizens)]
        threads += [threading.Thread(target=soak_module.participant, args=(load, i), daemon=True)
                    for i in range(participants)]
        started = time.time()
        for thread in threads:
            thread.start()
        time.sleep(seconds / 2)
        middle = time.time()
        time.sleep(seconds / 2)
        while (min(len(ids) for ids in acked.values()) < min_acknowledged
               and time.time() < started + 4 * seconds):
            time.sleep(0.25)

        # /metrics from the 2 workers: their request counts added up (each writes its own at most once
        # a second), the database's figures read at the scrape.
        scraped_at = time.time()
        scraped = _scrape(port)
        survey_acked_before = sum(1 for t in acked["survey"].values() if t < scraped_at - 1.5)

        # -- the machine is lost ----------------------------------------------------------------
        for process in (server, litestream):
            os.killpg(process.pid, signal.SIGKILL)
        killed = time.time()
        for process in (server, litestream):
            process.wait()
        watching.set()
        watcher.join()
        load.stop.set()
        soak_module.time = _AfterTheKill()
        for thread in threads:
            thread.join(timeout=10)
        last = load.snapshot()
        for kind, ids in last.items():  # acknowledged between the watcher's last look and the kill
            for item in ids:
                acked[kind].setdefault(item, killed)
        secret = (folder / "d" / "secret_key").read_text(encoding="utf-8").strip()
        fresh = folder / "fresh"
        fresh.mkdir()
        for name in ("ccch.toml", "plan.toml", "secret_key"):
            shutil.copy2(folder / "d" / name, fresh / name)
        shutil.rmtree(folder / "d")

        # -- the fresh machine --------------------------------------------------------------------
        t0 = time.time()
        subprocess.run([CCCH, "-c", str(fresh / "ccch.toml"), "restore"], check=True, capture_output=True, text=True)
        restore_seconds = time.time() - t0
        db = sqlite3.connect(fresh / "ccch.db")
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        consistency = soak_module.consistency(db)
        stored = {
            "survey": {row[0] for row in db.execute("select submission_id from survey_responses")},
        }
        contest = soak_module.stored_contest(db, slug, secret)
        stored["phones"] = contest["phones"]
        stored["attempts"] = {t for t, row in contest["attempts"].items() if row[0] == "submitted"}
        size = (fresh / "ccch.db").stat().st_size
        db.close()

        bound = sync_interval + 1.0  # Litestream looks at the WAL every second, then sends within the interval
        figures: dict = {"seconds": round(killed - started, 1), "restore_seconds": round(restore_seconds, 2),
                         "database_bytes": size, "integrity": integrity, "bound_seconds": bound,
                         "sync_interval": sync_interval, "kinds": {}}
        worst = 0.0
        for kind, label in (("survey", "survey submissions"), ("phones", "contest registrations"),
                            ("attempts", "contest submissions")):
            times = acked[kind]
            lost = {item: killed - at for item, at in times.items() if item not in stored[kind]}
            old_lost = {item: age for item, age in lost.items() if age > bound}
            worst = max([worst, *lost.values()])
            figures["kinds"][label] = {"acknowledged": len(times), "restored": len(set(times) & stored[kind]),
                                       "lost": len(lost), "lost_older_than_bound": len(old_lost),
                                       "oldest_lost_seconds": round(max(lost.values(), default=0.0), 2)}
            if old_lost:
                problems.append(f"{len(old_lost)} {label} acknowledged more than {bound:g} s before the kill are not "
                                f"in the restored database (oldest {max(old_lost.values()):.1f} s)")
        figures["window_seconds"] = round(worst, 2)
        if integrity != "ok":
            problems.append(f"restored database: integrity_check {integrity}")
        problems += [f"restored database: {n} {what}" for what, n in consistency.items() if n]
        if not acked["survey"] or not acked["attempts"]:
            problems.append("the load acknowledged no survey or no contest submission: nothing was tested")

        # -- point in time ------------------------------------------------------------------------
        at = dt.datetime.fromtimestamp(middle, dt.UTC).replace(microsecond=0)
        earlier = fresh / "at-middle.db"
        subprocess.run([CCCH, "-c", str(fresh / "ccch.toml"), "restore", "--at", at.isoformat(), "--output",
                        str(earlier)], check=True, capture_output=True, text=True)
        db = sqlite3.connect(earlier)
        sids = {row[0] for row in db.execute("select submission_id from survey_responses")}
        latest_submitted = db.execute("select max(submitted_at) from survey_responses").fetchone()[0]
        db.close()
        before = {sid for sid, t in acked["survey"].items() if t < at.timestamp() - bound}
        figures["point_in_time"] = {"at": at.isoformat(), "survey_responses": len(sids),
                                    "acknowledged_before": len(before), "missing": len(before - sids),
                                    "latest_submitted_at": latest_submitted}
        if before - sids:
            problems.append(f"restore --at {at.isoformat()}: {len(before - sids)} survey submissions acknowledged "
                            "before it are missing")
        if latest_submitted and dt.datetime.fromisoformat(latest_submitted) > at + dt.timedelta(seconds=1):
            problems.append(f"restore --at {at.isoformat()} holds a response submitted at {latest_submitted}")
        figures["metrics"] = {
            "survey_requests": sum(v for (name, labels), v in scraped.items()
                                   if name == "ccch_http_request_duration_seconds_count"
                                   and dict(labels).get("group") == "survey_public"),
            "survey_acknowledged_before": survey_acked_before,
            "survey_responses": sum(v for (name, _), v in scraped.items() if name == "ccch_survey_responses_total"),
            "replication_lag": scraped.get(("ccch_replication_lag_seconds", ())),
        }
        # Each citizen opened the page and then submitted: at least two counted requests a submission.
        if figures["metrics"]["survey_requests"] < 2 * survey_acked_before:
            problems.append(f"/metrics counted {figures['metrics']['survey_requests']} survey requests for "
                            f"{survey_acked_before} submissions acknowledged before the scrape")
        figures["log"] = log = _check_log(folder / "serve.log", acked["phones"])
        if log["personal_data"]:
            problems.append(f"the server's log holds personal data: {log['personal_data'][:3]}")
        if log["request_lines"] < len(acked["survey"]):
            problems.append(f"the server's log has {log['request_lines']} request lines for "
                            f"{len(acked['survey'])} survey submissions alone")
        figures["problems"] = problems
        return figures
    finally:
        soak_module.time = time  # the soak's threads are done; a later run in this process needs the real one
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if keep or problems:
            print(f"drill folder kept: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load before the loss")
    parser.add_argument("--citizens", type=int, default=4)
    parser.add_argument("--participants", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sync-interval", type=int, default=1, help="Litestream's sync-interval, seconds")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    figures = drill(args.seconds, args.citizens, args.participants, args.workers, args.sync_interval, args.keep)
    print(f"restore drill: {figures['seconds']} s of load, {args.citizens} citizens, {args.participants} contest "
          f"participants, {args.workers} gunicorn workers, {os.cpu_count()} cores; Litestream sync-interval "
          f"{figures['sync_interval']} s to a folder replica; server and Litestream SIGKILLed, folder deleted")
    print(f"  restore on a fresh folder: {figures['restore_seconds']} s, {figures['database_bytes']:,} bytes, "
          f"integrity_check {figures['integrity']}")
    print(f"  {'what':24} {'acknowledged':>12} {'restored':>9} {'lost':>5} {'lost older than bound':>22} "
          f"{'oldest lost (s)':>15}")
    for label, row in figures["kinds"].items():
        print(f"  {label:24} {row['acknowledged']:>12,} {row['restored']:>9,} {row['lost']:>5} "
              f"{row['lost_older_than_bound']:>22} {row['oldest_lost_seconds']:>15}")
    print(f"  measured window of loss: {figures['window_seconds']} s (bound: {figures['bound_seconds']} s)")
    pit = figures["point_in_time"]
    print(f"  restore --at {pit['at']}: {pit['survey_responses']:,} survey responses, every one of the "
          f"{pit['acknowledged_before']:,} acknowledged before it present (missing {pit['missing']}); latest "
          f"submitted_at {pit['latest_submitted_at']}")
    m = figures["metrics"]
    print(f"  /metrics just before the loss: {m['survey_requests']:,.0f} survey requests counted across the workers "
          f"for {m['survey_acknowledged_before']:,} submissions acknowledged 1.5 s before; "
          f"ccch_survey_responses_total {m['survey_responses']:,.0f}; replication lag {m['replication_lag']} s")
    log = figures["log"]
    print(f"  server log (JSON): {log['lines']:,} lines, {log['request_lines']:,} request lines, "
          f"{log['with_request_id']:,} with a request id, {log['broken_lines']} not JSON; phone numbers or "
          f"e-mail addresses found: {len(log['personal_data'])}")
    print("RESULT: " + ("ok" if not figures["problems"] else "PROBLEM\n  - " + "\n  - ".join(figures["problems"])))
    sys.exit(1 if figures["problems"] else 0)


if __name__ == "__main__":
    main()
