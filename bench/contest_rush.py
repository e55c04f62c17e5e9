"""A contest round's last minute with an open arrival model (issue #20 part 1), through the real
server as ``ccch serve`` runs it (gunicorn, its defaults), over loopback.

Unlike ``bench/contest_bench.py``, whose participants are closed loops (a new one starts when one
finishes, so the server is never offered more than it can take), here people arrive on a clock,
whatever the server is doing — as they do when a round closes at 23:59:

- **newcomers**: ``--arrivals`` (5,000) arriving over ``--seconds`` (60) on a linear ramp (from
  none to twice the mean rate), each with fresh cookies doing what a phone does: the landing page,
  the registration form, register (the code goes to the phone through the outbox; the answer is the
  code page, or a 303 to it that is followed), type the code (answered with the attempt page), one
  autosave, submit (answered with the result page), ``--think`` seconds between steps;
- **mid-attempt**: ``--mid`` (2,000) participants registered and started before the minute, each
  autosaving at random (on average every ``--autosave-every`` seconds) and submitting at a random
  moment of the minute;
- **readers** of the round's live leaderboard, ``--board-rate`` a second (the contest discloses
  scores immediately, so the board is computed, not hidden).

Each request has 60 s (nginx's ``proxy_read_timeout`` in docs/deploy.md) before it counts as a
timeout; latencies include connecting (a sync worker closes each connection, and a connection that
waits for a worker waits in the kernel's queue). A request refused for having queued past ``[web]
queue_limit_seconds`` (503 with Retry-After, ``ccch_core.web.admission``) is tried again after
the Retry-After, as the refusal page does by itself, at most twice.

Reported: p50, p99 and max per step; errors by kind (target 0: refusals with "thử lại" are counted
apart); how late the client started arrivals against their schedule (a late client means the
client, not the server, was the limit); what was stored against what was acknowledged.

``--knee`` instead finds the arrival rate where the p99 of a newcomer's requests passes 1 s: short
runs of newcomers only, at a constant rate, rising until it does, then halving the step between
the last rate under and the first over.

    .venv/bin/python bench/contest_rush.py [--arrivals 5000] [--mid 2000] [--seconds 60]
    .venv/bin/python bench/contest_rush.py --knee [--knee-seconds 20] [--knee-start 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import re
import resource
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import contest_bench as cb
from _common import free_port, letters, wait_until_up

BASE = cb.BASE
TIMEOUT = 60.0
ATTEMPT_URL = re.compile(rb'data-canonical="([^"]+/bai-thi/[^"]+)"')


class Outcomes:
    """Latencies per step and what went wrong, by kind."""

    def __init__(self):
        self.seconds: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.gave_up = 0

    def ok(self, step: str, seconds: float):
        self.seconds.setdefault(step, []).append(seconds)

    def error(self, step: str, kind: str):
        key = f"{step}: {kind}"
        self.errors[key] = self.errors.get(key, 0) + 1


class Stop(Exception):
    """This person's flow ends here (an error was recorded)."""


async def fetch(out: Outcomes, step: str, method: str, path: str, p: cb.Participant, *, form=None,
                headers=None, expect=(200,), host="127.0.0.1", port=0, retries: int = 2) -> cb.Response:
    """One request on a fresh connection, timed from connecting to the last byte; a 503 with
    Retry-After is tried again after it (as the refusal page does), at most ``retries`` times."""
    for attempt in range(retries + 1):
        conn = cb.Connection(host, port)
        started = time.perf_counter()
        try:
            r = await asyncio.wait_for(conn.request(method, path, cookies=p.cookies, form=form, headers=headers),
                                       TIMEOUT)
        except TimeoutError:
            out.error(step, "timeout (60 s)")
            raise Stop from None
        except (OSError, asyncio.IncompleteReadError) as exc:
            out.error(step, f"connection: {type(exc).__name__}")
            raise Stop from None
        finally:
            if conn.writer is not None:
                conn.writer.close()
        seconds = time.perf_counter() - started
        if r.status == 503 and "retry-after" in r.headers:
            out.refused[step] = out.refused.get(step, 0) + 1
            if attempt == retries:
                out.gave_up += 1
                raise Stop
            await asyncio.sleep(int(r.headers["retry-after"]))
            continue
        if r.status not in expect:
            out.error(step, f"HTTP {r.status}")
            raise Stop
        out.ok(step, seconds)
        p.absorb(r)
        return r
    raise AssertionError("unreachable")


class Rush:
    def __init__(self, port: int, args, out: Outcomes):
        self.port, self.args, self.out = port, args, out
        self.acknowledged: set[str] = set()
        self.saved: set[str] = set()
        self.registered = 0
        self.rng = random.Random(20)
        self.lag: list[float] = []

    def get(self, step, path, p, **kw):
        return fetch(self.out, step, "GET", path, p, port=self.port, **kw)

    def post(self, step, path, p, form, **kw):
        return fetch(self.out, step, "POST", path, p, form=form, port=self.port, **kw)

    async def think(self):
        if self.args.think:
            await asyncio.sleep(self.rng.expovariate(1 / self.args.think))

    async def newcomer(self, number: int):
        """A person arriving now: landing, form, register, code, one autosave, submit."""
        p = cb.Participant(number, f"07{number:08d}")
        try:
            await self.get("landing", BASE, p)
            await self.think()
            await self.get("registration form", BASE + "/dang-ky", p)
            await self.think()
            form = {"csrf_token": p.csrf, "full_name": f"Người Đến Sau {letters(number)}", "phone": p.phone,
                    "birth_year": "1990", "audience": "cbccvc", "unit_id": "xa-an-dung", "consent": "1",
                    "start_now": "1"}
            r = await self.post("register → code page", BASE + "/dang-ky", p, form, expect=(200, 303))
            if r.status == 303:  # a browser follows the redirect to the code page
                await self.get("code page", urllib.parse.urlsplit(r.headers["location"]).path, p)
            self.registered += 1
            await self.think()
            r = await self.post("code → attempt page", BASE + "/xac-nhan", p,
                                {"csrf_token": p.csrf, "ma": cb.code_for(p.phone)})
            match = ATTEMPT_URL.search(r.body)
            if match is None:
                self.out.error("code → attempt page", "no attempt page")
                return
            p.attempt_url = match.group(1).decode()
            p.fill_in(r.body, self.rng)
            await self.think()
            await self.autosave(p)
            await self.think()
            await self.submit(p, "submit")
        except Stop:
            return

    async def autosave(self, p, step="autosave"):
        r = await self.post(step, p.attempt_url + "/luu", p, p.form,
                            headers={"X-Requested-With": "fetch", "Accept": "application/json"}, expect=(200, 429))
        if r.status == 200 and b'"saved":true' in r.body.replace(b" ", b""):
            self.saved.add(p.attempt_url.rsplit("/", 1)[-1])

    async def submit(self, p, step):
        r = await self.post(step, p.attempt_url + "/nop", p, p.form)
        if r.headers.get("x-contest-submission") in ("accepted", "already"):
            self.acknowledged.add(p.attempt_url.rsplit("/", 1)[-1])
        else:
            self.out.error(step, f"not accepted ({r.headers.get('x-contest-submission')})")

    async def mid_attempt(self, p, submit_at: float, t0: float):
        """Autosave now and then until its moment to submit, then submit."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                wait = self.rng.expovariate(1 / self.args.autosave_every)
                if loop.time() + wait >= t0 + submit_at:
                    await asyncio.sleep(max(0.0, t0 + submit_at - loop.time()))
                    await self.submit(p, "submit (mid-attempt)")
                    return
                await asyncio.sleep(wait)
                await self.autosave(p, "autosave (mid-attempt)")
        except Stop:
            return

    async def reader(self):
        p = cb.Participant(0, "")
        try:
            await self.get("leaderboard", BASE + "/bang-xep-hang?vong=2&doi-tuong=cbccvc", p)
        except Stop:
            return


def ramp_times(count: int, seconds: float) -> list[float]:
    """Arrival instants of ``count`` people over ``seconds`` on a linear ramp from a rate of 0 to
    twice the mean: the k-th arrives when the ramp's integral reaches k (t = T·√(k/N))."""
    return [seconds * math.sqrt((k + 0.5) / count) for k in range(count)]


async def scheduled(times: list[float], make, lag: list[float]):
    """Start ``make(i)`` at each of ``times`` (seconds from now), without waiting for any to end."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tasks = []
    for i, t in enumerate(times):
        delay = t0 + t - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lag.append(max(0.0, loop.time() - (t0 + t)))
        tasks.append(asyncio.ensure_future(make(i)))
    await asyncio.gather(*tasks)


async def prepare_mid(port: int, count: int, rng) -> list[cb.Participant]:
    """``count`` participants registered and started before the minute (the audience without a
    code, to save time: they registered earlier), 50 at a time."""
    people = [cb.Participant(60_000_000 + i, f"03{i:08d}") for i in range(count)]
    queue = list(people)

    async def worker():
        conn = cb.Connection("127.0.0.1", port)
        while queue:
            p = queue.pop()
            r = await conn.request("GET", BASE + "/dang-ky", cookies=p.cookies)
            p.absorb(r)
            r = await conn.request("POST", BASE + "/dang-ky", cookies=p.cookies, form={
                "csrf_token": p.csrf, "full_name": f"Người Đang Thi {letters(p.number)}", "phone": p.phone,
                "birth_year": "1988", "audience": "khach", "unit_id": "xa-an-dung", "consent": "1", "start_now": "1"})
            assert r.status == 200, (r.status, r.body[:300])
            p.absorb(r)
            p.attempt_url = ATTEMPT_URL.search(r.body).group(1).decode()
            p.fill_in(r.body, rng)

    await asyncio.gather(*(worker() for _ in range(50)))
    return people


def summary(out: Outcomes) -> dict:
    steps = {}
    for step, values in out.seconds.items():
        values.sort()
        steps[step] = {"n": len(values), "p50": cb.percentile(values, 50), "p99": cb.percentile(values, 99),
                       "max": values[-1]}
    return steps


def print_steps(steps: dict, out: Outcomes) -> None:
    print(f"  {'step':26} {'served':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'refused (503)':>14}")
    for step, s in steps.items():
        print(f"  {step:26} {s['n']:7,} {s['p50'] * 1000:8.0f} {s['p99'] * 1000:8.0f} {s['max'] * 1000:8.0f} "
              f"{out.refused.get(step, 0):14,}")
    for step, n in out.refused.items():
        if step not in steps:
            print(f"  {step:26} {0:7,} {'':8} {'':8} {'':8} {n:14,}")


async def last_minute(port: int, args, out: Outcomes, pgid: int) -> tuple[Rush, dict]:
    rush = Rush(port, args, out)
    rng = random.Random(7)
    started = time.perf_counter()
    mid = await prepare_mid(port, args.mid, rng) if args.mid else []
    print(f"prepared {len(mid):,} participants mid-attempt in {time.perf_counter() - started:.0f} s")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    cpu0, own0 = cb.cpu_seconds_of_group(pgid), time.process_time()
    board_times = []
    t = 0.0
    while args.board_rate and (t := t + rng.expovariate(args.board_rate)) < args.seconds:
        board_times.append(t)
    await asyncio.gather(
        scheduled(ramp_times(args.arrivals, args.seconds), lambda i: rush.newcomer(i), rush.lag),
        asyncio.gather(*(rush.mid_attempt(p, rng.uniform(0, args.seconds), t0) for p in mid)),
        scheduled(board_times, lambda i: rush.reader(), []),
    )
    elapsed = loop.time() - t0
    return rush, {"elapsed": elapsed, "server_cpu": (cb.cpu_seconds_of_group(pgid) - cpu0) / elapsed,
                  "client_cpu": (time.process_time() - own0) / elapsed}


async def constant_rate(port: int, args, rate: float, seconds: float, out: Outcomes, first: int) -> Rush:
    rush = Rush(port, args, out)
    count = max(1, int(rate * seconds))
    await scheduled([i / rate for i in range(count)], lambda i: rush.newcomer(first + i), rush.lag)
    return rush


def newcomer_p99(out: Outcomes) -> float:
    values = sorted(s for step, v in out.seconds.items() if "mid-attempt" not in step and step != "leaderboard"
                    for s in v)
    return cb.percentile(values, 99) if values else float("inf")


async def find_knee(port: int, args) -> list[dict]:
    """Constant-rate runs of newcomers, rising until the p99 of their requests passes 1 s, then
    bisecting between the last rate under and the first over."""
    runs = []
    first = 0

    async def run(rate):
        nonlocal first
        out = Outcomes()
        rush = await constant_rate(port, args, rate, args.knee_seconds, out, first)
        first += int(rate * args.knee_seconds) + 1
        p99 = newcomer_p99(out)
        errors = sum(out.errors.values())
        refused = sum(out.refused.values())
        late = cb.percentile(sorted(rush.lag), 99)
        runs.append({"rate": rate, "p99": p99, "errors": errors, "refused": refused, "client_lag_p99": late,
                     "finished": len(rush.acknowledged), "steps": summary(out)})
        print(f"  {rate:6.1f} arrivals/s: p99 {p99 * 1000:7.0f} ms, {len(rush.acknowledged):,} finished, "
              f"{refused} refused (503), {errors} errors; client started arrivals up to "
              f"{late * 1000:.0f} ms late (p99)", flush=True)
        await asyncio.sleep(args.knee_pause)  # let the queue drain before the next rate
        return p99

    rate = args.knee_start
    under = None
    while True:
        if await run(rate) > 1.0:
            over = rate
            break
        under = rate
        rate *= 1.5
        if rate > args.knee_max:
            return runs
    low = under if under is not None else 0.0
    for _ in range(args.knee_bisect):
        middle = (low + over) / 2
        if await run(middle) > 1.0:
            over = middle
        else:
            low = middle
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=5000, help="newcomers over the minute (default 5000)")
    parser.add_argument("--mid", type=int, default=2000, help="participants mid-attempt (default 2000)")
    parser.add_argument("--seconds", type=float, default=60, help="length of the last minute (default 60)")
    parser.add_argument("--autosave-every", type=float, default=20, help="mean seconds between a participant's autosaves")
    parser.add_argument("--board-rate", type=float, default=5, help="leaderboard readers a second (default 5)")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a newcomer's steps (default 1)")
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--knee", action="store_true", help="find the knee instead (newcomers only, constant rates)")
    parser.add_argument("--knee-start", type=float, default=10, help="first rate of the knee search (arrivals/s)")
    parser.add_argument("--knee-max", type=float, default=2000)
    parser.add_argument("--knee-seconds", type=float, default=20, help="length of each knee run")
    parser.add_argument("--knee-bisect", type=int, default=2, help="bisection steps after the knee is passed")
    parser.add_argument("--knee-pause", type=float, default=5, help="seconds between knee runs")
    parser.add_argument("--serve-option", action="append", default=[], metavar="OPTION")
    parser.add_argument("--keep", action="store_true", help="keep the temporary deployment")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of connections at once
    folder = Path(tempfile.mkdtemp(prefix="ccch-contest-rush-"))
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; load average before: {load_before}")
    config = cb.make_deployment(folder, args.questions, 0, limits_open=True,
                                contest_extra='score_disclosure = "immediately"\nlive_leaderboard = true')
    # Thousands of starts a minute from one address (loopback): lift the start limit as well.
    config.write_text(config.read_text(encoding="utf-8").replace("limit_start = [1000, 60]",
                                                                 "limit_start = [10000000, 60]"), encoding="utf-8")
    cb._CODES["path"] = folder / "ccch.db"
    port = free_port()
    # The server's log goes to a file, never to a pipe read only at the end: once a pipe's 64 KiB
    # are full (the deliverer logs every code it sends), every process of the server blocks in its
    # next write to it and stops answering — which is what the 60-s timeouts of the first runs were.
    server_log = folder / "serve.log"
    with server_log.open("wb") as log_file:
        server = subprocess.Popen([cb.CCCH, "-c", str(config), "serve", "--port", str(port), *args.serve_option],
                                  stdout=subprocess.DEVNULL, stderr=log_file, start_new_session=True)
    from ccch_core.web.admission import DEFAULT_QUEUE_LIMIT_SECONDS

    print(f"server: ccch serve {' '.join(args.serve_option) or '(defaults)'}; queue limit "
          f"{DEFAULT_QUEUE_LIMIT_SECONDS:g} s (503 with Retry-After past it)")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        if args.knee:
            print(f"knee: newcomers only (6–7 requests each, think {args.think:g} s), {args.knee_seconds:g} s a rate")
            runs = cb.run_client(find_knee(port, args))
            under = [r["rate"] for r in runs if r["p99"] <= 1.0]
            over = [r["rate"] for r in runs if r["p99"] > 1.0]
            print(f"\nknee: p99 ≤ 1 s up to {max(under, default=0):.1f} arrivals/s; passes 1 s from "
                  f"{min(over, default=float('nan')):.1f} arrivals/s")
            result = {"knee_runs": [{k: v for k, v in r.items() if k != "steps"} for r in runs]}
        else:
            out = Outcomes()
            print(f"last minute: {args.arrivals:,} newcomers on a ramp over {args.seconds:g} s (peak "
                  f"{2 * args.arrivals / args.seconds:.0f}/s), {args.mid:,} mid-attempt autosaving every "
                  f"{args.autosave_every:g} s on average and submitting, {args.board_rate:g} leaderboard reads/s")
            rush, cpu = cb.run_client(last_minute(port, args, out, server.pid))
            steps = summary(out)
            print(f"\nthe minute took {cpu['elapsed']:.0f} s to play out (the last arrivals finish after it); "
                  f"server CPU {cpu['server_cpu']:.0%}, client CPU {cpu['client_cpu']:.0%} (200% = both cores)")
            print_steps(steps, out)
            print(f"  errors: {sum(out.errors.values())} {json.dumps(out.errors, ensure_ascii=False)}; "
                  f"refused with 'thử lại' (503): {sum(out.refused.values())}, of them given up after 2 retries: "
                  f"{out.gave_up}")
            print(f"  client started arrivals late by p50 {cb.percentile(sorted(rush.lag), 50) * 1000:.0f} ms, "
                  f"p99 {cb.percentile(sorted(rush.lag), 99) * 1000:.0f} ms, max {max(rush.lag) * 1000:.0f} ms")
            result = {"steps": steps, "errors": out.errors, "refused": out.refused, "gave_up": out.gave_up,
                      "acknowledged": len(rush.acknowledged), "cpu": cpu}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    log = server_log.read_text(encoding="utf-8", errors="replace")
    refusals = sum(int(n) for n in re.findall(r"queue: refused (\d+) request", log))
    db = sqlite3.connect(folder / "ccch.db")
    stored = {row[0] for row in db.execute(
        "select token from contest_attempts where status = 'submitted'")}
    participants = db.execute("select count(*) from contest_participants where audience = 'cbccvc'").fetchone()[0]
    db.close()
    if not args.knee:
        missing = rush.acknowledged - stored
        print(f"\nstored against acknowledged: {len(rush.acknowledged):,} submissions acknowledged, "
              f"{len(rush.acknowledged & stored):,} of them stored, {len(missing)} missing; "
              f"{len(stored - rush.acknowledged)} stored that the client never saw acknowledged (a request the "
              f"client gave up on, served later); {len(rush.saved):,} attempts with an autosave acknowledged; "
              f"{rush.registered:,} newcomers shown the code page, {participants:,} registered "
              f"(verified) in the database; the server refused {refusals} requests (its log)")
        result.update(missing=len(missing), unacknowledged_stored=len(stored - rush.acknowledged))
    print(json.dumps(result, default=str))
    if not args.keep:
        import shutil

        shutil.rmtree(folder)
    if not args.knee and (missing or out.errors):
        raise SystemExit("ERRORS OR LOST ANSWERS (above)")


if __name__ == "__main__":
    main()
