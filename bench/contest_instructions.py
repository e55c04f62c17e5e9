"""A contest's new participant counted in machine instructions: a figure other load cannot move.

``bench/contest_bench.py`` measures finished attempts per second through the real server, and on
a shared machine its rates move by a third from one run to the next. This benchmark runs the same
person in one process over Flask's test client — the landing page, the registration form (its own
page, or none when the landing page carries the form, as it does since session 11), register
(answered with the code page; a tree before the code step answers with the attempt page), the
code read from the outbox as the phone receives it (answered with the attempt page), one autosave,
submit (answered with the result page) — against a deployment made by that tree's own
``contest_bench.make_deployment`` (2,000 questions), and delivers the outbox every 10 participants
in the same process (the SMS each code costs, through the development folder sender, as the
deliverer beside ``ccch serve`` does). It counts the CPU instructions with Valgrind's cachegrind
(Debian package ``valgrind``): the count for ``--participants`` less the count for none (start-up,
plan parsing and 20 warm-up participants are in both), divided by ``--participants``. What gunicorn
does per request is not in it (about 0.25 ms a request on this machine: docs/performance.md). It
also prints the CPU time a participant takes without Valgrind (best of 5 batches), which load moves.

To compare with an earlier commit, check it out with ``git worktree add``, copy this file into its
``bench/`` and run it there with that tree's code first on the path::

    .venv/bin/python bench/contest_instructions.py [--participants 100]
    PYTHONPATH=/tmp/wt/src:/tmp/wt/plugins/contest/src .venv/bin/python /tmp/wt/bench/contest_instructions.py

Each side takes a few minutes under Valgrind.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contest_bench as cb  # this tree's own deployment and page parsing

WARM_UP = 20
DELIVER_EVERY = 10
ENVIRON = {"REMOTE_ADDR": "127.0.0.1"}


def make_deployment(folder: Path, questions: int) -> str:
    """This tree's contest_bench deployment; thousands of starts a minute from one address allowed."""
    config = cb.make_deployment(folder, questions, 0, limits_open=True)
    text = config.read_text(encoding="utf-8").replace("limit_start = [1000, 60]", "limit_start = [10000000, 60]")
    config.write_text(text, encoding="utf-8")
    return str(config)


class Flow:
    """New participants through one app, one after another."""

    def __init__(self, config: str):
        from ccch_core.deployment import Deployment
        from ccch_core.web import create_app

        self.app = create_app(config, migrate=False)
        self.deployment = Deployment.open(config)
        self.codes = sqlite3.connect(Path(config).with_name("ccch.db"))
        self.rng = random.Random(1)
        # Phone numbers of their own per process: the two counted runs share one database.
        self.first = 10_000_000 + (os.getpid() % 8_000) * 10_000
        self.served = 0
        self.kind = None  # "code step" or "no code step", as the tree answers

    def _deliver(self) -> None:
        try:
            from ccch_core.messages.delivery import Deliverer
        except ImportError:  # a tree without the outbox: nothing to deliver
            return
        deliverer = Deliverer(self.deployment)
        try:
            deliverer.run_once()
        finally:
            deliverer.close()

    def _code(self, phone: str) -> str:
        row = self.codes.execute("select params from messages where address = ? and template = 'otp' "
                                 "order by id desc limit 1", [phone]).fetchone()
        return json.loads(row[0])["code"]

    def participant(self) -> None:
        self.served += 1
        number = self.first + self.served
        p = cb.Participant(number, f"08{number:08d}")
        client = self.app.test_client()  # fresh cookies: a new phone

        def absorb(response):
            match = cb.CSRF.search(response.data)
            if match:
                p.csrf = match.group(1).decode()
            return response

        base = cb.BASE
        landing = absorb(client.get(base, environ_base=ENVIRON))
        if b'name="full_name"' not in landing.data:  # a landing page without the form: open its page
            absorb(client.get(base + "/dang-ky", environ_base=ENVIRON))
        r = absorb(client.post(base + "/dang-ky", environ_base=ENVIRON, data={
            "csrf_token": p.csrf, "full_name": f"Người Dự Thi {cb.letters(number)}", "phone": p.phone,
            "birth_year": "1985", "audience": "cbccvc", "unit_id": "xa-an-dung", "consent": "1", "start_now": "1"}))
        if r.status_code == 303:  # a build that sent a 303 to the code page: the browser loads it
            r = absorb(client.get(r.headers["Location"], environ_base=ENVIRON))
        if r.status_code == 200 and b'name="ma"' in r.data:
            self.kind = "code step"
            r = absorb(client.post(base + "/xac-nhan", environ_base=ENVIRON,
                                   data={"csrf_token": p.csrf, "ma": self._code(p.phone)}))
        else:
            self.kind = "no code step"
        match = cb.CANONICAL.search(r.data)
        if r.status_code != 200 or match is None or b"/bai-thi/" not in match.group(1):
            raise SystemExit(f"no attempt page: {r.status_code} {r.data[:300]!r}")
        p.attempt_url = match.group(1).decode()
        p.fill_in(r.data, self.rng)
        saved = client.post(p.attempt_url + "/luu", data=p.form, environ_base=ENVIRON,
                            headers={"X-Requested-With": "fetch", "Accept": "application/json"})
        if saved.status_code != 200 or b'"saved":true' not in saved.data.replace(b" ", b""):
            raise SystemExit(f"the autosave was not saved: {saved.status_code} {saved.data[:200]!r}")
        done = client.post(p.attempt_url + "/nop", data=p.form, environ_base=ENVIRON)
        if done.status_code != 200 or done.headers.get("X-Contest-Submission") != "accepted":
            raise SystemExit(f"the submission was not accepted: {done.status_code} {done.data[:300]!r}")
        if self.served % DELIVER_EVERY == 0:
            self._deliver()


def participants(config: str, count: int, timed: bool = False) -> tuple[float | None, str]:
    """Serve ``WARM_UP`` + ``count`` new participants in this process; with ``timed``, the best CPU
    time one took over 5 batches (ms). Also says whether the tree has the code step."""
    flow = Flow(config)
    for _ in range(WARM_UP):
        flow.participant()
    if not timed:
        for _ in range(count):
            flow.participant()
        return None, flow.kind
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(count):
            flow.participant()
        best = min(best, (time.process_time() - start) / count * 1000)
    return best, flow.kind


def instructions(config: str, count: int) -> int:
    """Instructions (cachegrind's "I refs") of a child process serving ``count`` participants."""
    out = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          sys.executable, __file__, "--child", config, "--participants", str(count)],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "0"}).stderr  # the same start-up both times
    return int(re.search(r"I\s+refs:\s+([\d,]+)", out).group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--no-valgrind", action="store_true", help="only the CPU time")
    parser.add_argument("--child", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        participants(args.child, args.participants)
        return
    import ccch_core

    folder = Path(tempfile.mkdtemp(prefix="ccch-contest-instructions-"))
    try:
        config = make_deployment(folder / "d", args.questions)
        print(f"code: {Path(ccch_core.__file__).parents[1]}; load average {os.getloadavg()[0]:.2f}")
        best, kind = participants(config, args.participants, timed=True)
        print(f"CPU a new participant to a finished attempt ({kind}; in process, best of 5 x "
              f"{args.participants}): {best:.3f} ms")
        if args.no_valgrind:
            return
        if not shutil.which("valgrind"):
            raise SystemExit("valgrind is not installed (apt-get install valgrind): no instruction count")
        config = make_deployment(folder / "v", args.questions)  # a fresh database for both counts
        base = instructions(config, 0)
        total = instructions(config, args.participants)
        print(f"instructions a new participant to a finished attempt ({kind}; cachegrind, "
              f"{args.participants} less none): {(total - base) / args.participants:,.0f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
