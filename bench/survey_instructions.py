"""The survey's citizen path counted in machine instructions: a figure other load cannot move.

``bench/survey_bench.py`` measures the real server over loopback, and on a shared machine its
rates move by a third from one run to the next. This benchmark runs the same citizen — the page
without cookies, then the answers with the form token and cookie it gave, answered by the
thank-you page — in one process over Flask's test client, against a throw-away deployment made
as survey_bench makes it (SIPAS, 33 posters, the same limit settings), and counts the CPU
instructions it takes with Valgrind's cachegrind (Debian package ``valgrind``): the count for
``--citizens`` citizens less the count for none (start-up, plan parsing and 30 warm-up citizens
are in both), divided by ``--citizens``. Everything the app does per request is in it (hooks,
view, SQLite); what gunicorn does is not (see docs/performance.md). It also prints the CPU time
a citizen takes without Valgrind (best of 10 batches), which load does move.

To compare two trees (an earlier commit checked out with ``git worktree add``), run the same
script with that tree's code first on the path::

    .venv/bin/python bench/survey_instructions.py [--citizens 100]
    PYTHONPATH=/tmp/wt/src:/tmp/wt/plugins/survey/src .venv/bin/python /tmp/wt/bench/survey_instructions.py

(a tree older than this file: copy it there). Each side takes a few minutes under Valgrind.

``--served`` counts the server instead: ``ccch serve`` with its defaults (gunicorn, its workers)
runs under Valgrind's callgrind (every process it forks is counted), and a client in this process,
outside Valgrind, sends warm-up citizens (four to each placement, so that every worker has every
placement's page in its cache) and then ``--citizens`` more over loopback, one at a time, as a phone
would (the page, then the answers with its form token and cookie). The counters of the server's
processes are read with ``callgrind_control`` after the warm-up, after the counted citizens' pages
and after their answers (each phone's answers are sent after every page was fetched, so that the two
requests are counted apart), and the difference per citizen is printed, in all and for each request:
what gunicorn does per request is in it, which the in-process count leaves out. What the kernel does
for the sockets is not (Valgrind counts user space); it is the same for both trees. The message
deliverer that ``ccch serve`` starts beside it is left out (the survey sends nothing; it polls on a
clock). Each run starts the server under Valgrind (about a minute) and serves at about a fiftieth of
its speed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CCCH = str(Path(sys.executable).with_name("ccch"))
SCALE = ("tiep-can.1", "tiep-can.2", "tiep-can.3", "thu-tuc.1", "thu-tuc.2", "cong-chuc.1", "cong-chuc.2",
         "cong-chuc.3", "ket-qua.1", "ket-qua.2", "gop-y.1", "chung")
WARM_UP = 30


def make_deployment(folder: Path) -> str:
    """A survey deployment as bench/survey_bench.py makes it; returns the config's path."""
    import ccch_survey.settings as survey_settings

    subprocess.run([CCCH, "init", str(folder), "--plan", str(ROOT / "examples/duc-tho-2024/plan.toml"),
                    "--public-base-url", "http://127.0.0.1:8000"], check=True, capture_output=True)
    config = folder / "ccch.toml"
    text = re.sub(r"plugins = \[.*\]", 'plugins = ["survey"]', config.read_text(encoding="utf-8"))
    text += "\n[plugins.survey]\nresponses_per_device_per_day = 0\nsubmissions_per_address_per_hour = 1000000\n"
    if "scan_devices_per_address_per_day" in survey_settings.SurveySettings.__annotations__:
        # Issue #17's limits and flags (a tree before it does not know them): never reached, as
        # in survey_bench, their counters running.
        text += ("scan_devices_per_address_per_day = 1000000\nflag_responses_per_address_per_hour = 1000000\n"
                 "flag_reading_chars_per_second = 0\n")
    config.write_text(text, encoding="utf-8")

    def ccch(*args: str) -> str:
        return subprocess.run([CCCH, "-c", str(config), *args], check=True, capture_output=True, text=True).stdout

    ccch("survey", "load", str(ROOT / "examples/surveys/sipas.toml"))
    ccch("survey", "place-kind", "sipas", "one_stop_desk", "--place", "Quầy tiếp nhận hồ sơ")
    ccch("survey", "place-kind", "sipas", "post_culture_point")
    ccch("survey", "place", "sipas", "trung-tam-hcc", "--place", "Sảnh chờ")
    return str(config)


def citizens(config: str, count: int, timed: bool = False) -> float | None:
    """Serve ``WARM_UP`` + ``count`` citizens in this process; with ``timed``, the best CPU time a
    citizen took over 10 batches (ms)."""
    import random

    from ccch_core.web import create_app

    app = create_app(config, migrate=False)
    codes = [p.code for p in _placements(app)]
    token_re = re.compile(rb'name="csrf_token" value="([^"]+)"')
    sid_re = re.compile(rb'name="sid" value="([^"]+)"')
    action_re = re.compile(rb'<form method="post" action="([^"]+)"')
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    rng = random.Random(1)
    served = [0]

    def citizen():
        served[0] += 1
        client = app.test_client()  # no cookies: a new phone
        page = client.get("/k/" + codes[served[0] % len(codes)], environ_base=environ)
        body = page.data
        data = {"csrf_token": token_re.search(body).group(1).decode(), "v": "1",
                "sid": sid_re.search(body).group(1).decode()}
        data.update({"q-" + key: str(rng.randint(1, 5)) for key in SCALE})  # answers vary, as citizens' do
        answer = client.post(action_re.search(body).group(1).decode(), data=data, environ_base=environ)
        if answer.status_code != 200 or answer.headers.get("X-Survey-Result") != "stored":
            raise SystemExit(f"a citizen's answers were not stored: {answer.status_code}")

    for _ in range(WARM_UP):
        citizen()
    if not timed:
        for _ in range(count):
            citizen()
        return None
    best = float("inf")
    for _ in range(10):
        start = time.process_time()
        for _ in range(count):
            citizen()
        best = min(best, (time.process_time() - start) / count * 1000)
    return best


def _placements(app):
    from ccch_survey.store import list_placements

    with app.app_context():
        return list_placements(app.extensions["ccch"].db, survey_id="sipas")


def instructions(config: str, count: int) -> int:
    """Instructions (cachegrind's "I refs") of a child process serving ``count`` citizens."""
    out = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          sys.executable, __file__, "--child", config, "--citizens", str(count)],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "0"}).stderr  # the same start-up both times
    return int(re.search(r"I\s+refs:\s+([\d,]+)", out).group(1).replace(",", ""))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_counts(session: int) -> dict[int, int]:
    """Instructions so far of each process of the server (Valgrind's callgrind, read while it runs
    with ``callgrind_control``), the message deliverer left out; ``session``: the server's
    process group, so that other callgrind runs on the machine are not read."""
    out = subprocess.run(["callgrind_control", "-e", "Ir"], check=True, capture_output=True, text=True).stdout
    counts: dict[int, int] = {}
    pid = None
    for line in out.splitlines():
        head = re.match(r"PID (\d+): (.*)", line)
        if head:
            pid = int(head.group(1))
            try:
                ours = os.getpgid(pid) == session
            except ProcessLookupError:
                ours = False
            # The deliverer beside the server polls on a clock and serves no citizen.
            pid = pid if ours and "messages send" not in head.group(2) else None
            continue
        thread = re.match(r"\s+Th \d+\s+([\d,]+)", line)
        if thread and pid is not None:
            counts[pid] = counts.get(pid, 0) + int(thread.group(1).replace(",", ""))
    return counts


def served_instructions(config: str, count: int, folder: Path) -> tuple[int, int]:
    """Instructions of the processes of ``ccch serve``, run under Valgrind, while ``count``
    citizens are served over loopback one after another (after a warm-up that is not counted):
    the count of their pages and the count of their answers."""
    import random
    import urllib.parse

    out = Path(tempfile.mkdtemp(prefix="served-", dir=folder))
    port = _free_port()
    server = subprocess.Popen(["valgrind", "--tool=callgrind", "--trace-children=yes",
                               f"--callgrind-out-file={out}/cg.%p", "--log-file=/dev/null", CCCH, "-c", config,
                               "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                              env={**os.environ, "PYTHONHASHSEED": "0"})
    try:
        deadline = time.monotonic() + 600
        while True:  # under Valgrind the workers take a minute or two to import and start
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                connection.request("GET", "/healthz")
                if connection.getresponse().read() == b"ok\n":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("ccch serve did not start under Valgrind")
            time.sleep(2)
        from ccch_core.web import create_app

        codes = [p.code for p in _placements(create_app(config, migrate=False))]
        token_re = re.compile(rb'name="csrf_token" value="([^"]+)"')
        sid_re = re.compile(rb'name="sid" value="([^"]+)"')
        action_re = re.compile(rb'<form method="post" action="([^"]+)"')
        rng = random.Random(1)

        def page(number: int) -> tuple[str, dict, dict]:
            """A new phone opens a placement's page: what it will send back."""
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            connection.request("GET", "/k/" + codes[number % len(codes)])
            answer = connection.getresponse()
            body = answer.read()
            connection.close()
            cookie = "; ".join(c.split(";", 1)[0] for c in answer.headers.get_all("Set-Cookie") or [])
            data = {"csrf_token": token_re.search(body).group(1).decode(), "v": "1",
                    "sid": sid_re.search(body).group(1).decode()}
            data.update({"q-" + key: str(rng.randint(1, 5)) for key in SCALE})
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if cookie:
                headers["Cookie"] = cookie
            return action_re.search(body).group(1).decode(), data, headers

        def submit(action: str, data: dict, headers: dict) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            connection.request("POST", action, urllib.parse.urlencode(data), headers)
            answer = connection.getresponse()
            answer.read()
            connection.close()
            if answer.status != 200 or answer.headers.get("X-Survey-Result") != "stored":
                raise SystemExit(f"a citizen's answers were not stored: {answer.status}")

        # Each worker keeps its own cache of the placements' pages (rendered once, their fixed
        # parts deflated once), and the kernel, not the client, chooses the worker: enough warm-up
        # citizens that every worker has seen every placement, else the first visits of some fall
        # in the counted part and are charged to it (about 0.5 M instructions a citizen at 200).
        warm_up = max(WARM_UP, 4 * len(codes))
        for number in range(warm_up):
            submit(*page(number))
        # The counted citizens in two halves, read apart: every page first, then every answer.
        before = _server_counts(server.pid)
        forms = [page(number) for number in range(warm_up, warm_up + count)]
        between = _server_counts(server.pid)
        for form in forms:
            submit(*form)
        after = _server_counts(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=600)
    if not before or set(before) != set(between) or set(before) != set(after):
        raise SystemExit(f"the server's processes changed during the run: {sorted(before)} → {sorted(after)}")
    return (sum(between[pid] - before[pid] for pid in after), sum(after[pid] - between[pid] for pid in after))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=100)
    parser.add_argument("--served", action="store_true",
                        help="count the processes of `ccch serve` (gunicorn) instead of the app in this process")
    parser.add_argument("--child", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        citizens(args.child, args.citizens)
        return
    import ccch_core

    folder = Path(tempfile.mkdtemp(prefix="ccch-survey-instructions-"))
    try:
        config = make_deployment(folder / "d")
        print(f"code: {Path(ccch_core.__file__).parents[1]}; load average {os.getloadavg()[0]:.2f}")
        if args.served:
            if not shutil.which("valgrind"):
                raise SystemExit("valgrind is not installed (apt-get install valgrind): no instruction count")
            if not shutil.which("callgrind_control"):
                raise SystemExit("callgrind_control is missing (it comes with valgrind)")
            pages, answers = served_instructions(config, args.citizens, folder)
            print(f"instructions served by `ccch serve` (callgrind, every server process but the message "
                  f"deliverer, {args.citizens} citizens after the warm-up): a citizen "
                  f"{(pages + answers) / args.citizens:,.0f} (the page {pages / args.citizens:,.0f}, the answers "
                  f"{answers / args.citizens:,.0f})")
            return
        print(f"CPU a citizen (page + answers, in process, best of 10 x {args.citizens}): "
              f"{citizens(config, args.citizens, timed=True):.3f} ms")
        if not shutil.which("valgrind"):
            raise SystemExit("valgrind is not installed (apt-get install valgrind): no instruction count")
        base = instructions(config, 0)
        total = instructions(config, args.citizens)
        print(f"instructions a citizen (cachegrind, {args.citizens} citizens less none): "
              f"{(total - base) / args.citizens:,.0f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
