"""The contest under load: the real server as ``ccch serve`` runs it (gunicorn), over loopback.

What it measures, in one run, against the same server:

1. the trivial endpoint ``/healthz`` (requests/s and p99), with this script's own client and, for
   reference, with wrk;
2. each step of an attempt — register (the code goes to the phone through the outbox), the code
   (typed on /xac-nhan), start (draw and store, POST), the attempt page (render, GET), answer (the
   page's autosave, POST), submit (POST, answered with the result page), the result page again
   (GET) — as requests/s and p99, and both as ratios to the trivial endpoint;
3. finished attempts per second the way a participant makes them: each simulated participant,
   with fresh cookies, opens the landing page (which carries the registration form since session
   11; a build whose form has its own page gets that page loaded too), registers (the form's
   "start now" box, checked by default; the answer is the code page — a build that answers with a
   303 to it gets the code page loaded as a browser would, one request more), types the code its
   phone received (the answer is the attempt page), answers (one autosave), submits and sees the
   result page it gets back — 5 requests (6 before session 11); and the same without JavaScript from a link to the
   registration form — 4 requests;
   50 participants at a time. The client reads each code from the outbox table (as the phone
   would receive it); the server's deliverer runs beside it, as `ccch serve` runs it;
4. a count check: every submission the server acknowledged (the result page, with
   ``X-Contest-Submission: accepted``) is stored, and nothing else is;
5. the attempt page's first-load weight (HTML + CSS + JS);
6. ranking a round of 1,000,000 attempts (the full ordered ranking, streamed) and the leaderboard
   page of that round, first (computed) and then cached;
7. the peers' flow (``bench/peers_client.py``, a separate process): participants with fresh
   cookies whose every form is parsed (landing, registration without a code, attempt page, one
   autosave, submission), as Moodle's 9.5 finished attempts a second were measured; the rate, the
   multiple of Moodle's figure and whether the client or the server was the limit
   (``--peers-runs 3 --peers-seconds 30``; 0 runs to skip).

The load generator is one Python process with asyncio and raw HTTP/1.1 connections (no
threads): on a 2-core machine it takes a share of the CPU, reported next to the figures, so the
server has the rest. For the per-step figures each request is encoded before the timed run and
its response read after it, and each step runs in chunks, each right after a short /healthz run
that its ratio is computed against. Each simulated participant has its own cookies; connections
are reused where the server keeps them open (latencies exclude TCP/TLS set-up).

    .venv/bin/python bench/contest_bench.py [--participants 3000] [--concurrency 50]
        [--seconds 10] [--finished-seconds 20] [--questions 2000] [--million 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from _common import free_port, letters, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
CCCH = str(Path(sys.executable).with_name("ccch"))
SLUG = "bench"
CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
OPTION = re.compile(rb'name="q(\d+)" value="(\d+)"')
CANONICAL = re.compile(rb'data-canonical="([^"]+)"')


# -- a small asyncio HTTP/1.1 client ------------------------------------------------------------


class Response:
    __slots__ = ("body", "cookies", "headers", "seconds", "status")

    def __init__(self, status, headers, cookies, body, seconds):
        self.status, self.headers, self.cookies, self.body, self.seconds = status, headers, cookies, body, seconds


class Connection:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def _open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, *, cookies: dict | None = None, form=None,
                      headers: dict | None = None) -> Response:
        return await self.send(build(self.host, self.port, method, path, cookies=cookies, form=form,
                                     headers=headers))

    async def send(self, payload: bytes) -> Response:
        """Send a request already encoded (see :func:`build`) and read the response."""
        for attempt in (1, 2):
            if self.writer is None:
                await self._open()
            started = time.perf_counter()
            try:
                self.writer.write(payload)
                await self.writer.drain()
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.writer = None
                if attempt == 2:
                    raise
                continue
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            response_headers, set_cookies = {}, {}
            for line in header_lines:
                if not line:
                    continue
                name, _, value = line.partition(":")
                name, value = name.strip().lower(), value.strip()
                if name == "set-cookie":
                    cookie = value.split(";", 1)[0]
                    k, _, v = cookie.partition("=")
                    set_cookies[k] = v
                else:
                    response_headers[name] = value
            if response_headers.get("transfer-encoding") == "chunked":
                chunks = []
                while True:
                    size = int((await self.reader.readline()).strip(), 16)
                    if size == 0:
                        await self.reader.readline()
                        break
                    chunks.append(await self.reader.readexactly(size))
                    await self.reader.readline()
                data = b"".join(chunks)
            else:
                data = await self.reader.readexactly(int(response_headers.get("content-length", "0")))
            seconds = time.perf_counter() - started
            if response_headers.get("connection", "").lower() == "close":
                self.writer.close()
                self.writer = None
            return Response(status, response_headers, set_cookies, data, seconds)
        raise RuntimeError("unreachable")


def build(host, port, method: str, path: str, *, cookies: dict | None = None, form=None,
          headers: dict | None = None) -> bytes:
    """The bytes of an HTTP/1.1 request."""
    body = b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: contest-bench"]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    if form is not None:
        body = urllib.parse.urlencode(form, doseq=True).encode()
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Recorder:
    """Latencies per step."""

    def __init__(self):
        self.samples: dict[str, list[float]] = {}

    def add(self, step: str, seconds: float):
        self.samples.setdefault(step, []).append(seconds)


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# -- the simulated participant --------------------------------------------------------------------


_CODES: dict = {}


def code_for(phone: str) -> str:
    """The one-time code just queued for ``phone``: what its SMS says (read from the outbox)."""
    db = _CODES.get("db")
    if db is None:
        db = _CODES["db"] = sqlite3.connect(f"file:{_CODES['path']}?mode=ro", uri=True)
    row = db.execute("select params from messages where address = ? and template = 'otp' order by id desc limit 1",
                     [phone]).fetchone()
    return json.loads(row[0])["code"]


class Participant:
    def __init__(self, number: int, phone: str):
        self.number = number
        self.phone = phone
        self.cookies: dict[str, str] = {}
        self.csrf = None
        self.form_on_landing = False
        self.attempt_url = None
        self.form = None
        self.result_url = None

    def fill_in(self, attempt_page: bytes, rng) -> None:
        """Choose an option for every question of the attempt page, and a prediction."""
        options: dict[str, list[str]] = {}
        for q, v in OPTION.findall(attempt_page):
            options.setdefault(q.decode(), []).append(v.decode())
        self.form = {"csrf_token": self.csrf, "du_doan": str(rng.randint(0, 5000))}
        for q, values in options.items():
            self.form[f"q{q}"] = rng.choice(values)

    def absorb(self, response: Response):
        self.cookies.update(response.cookies)
        match = CSRF.search(response.body)
        if match:
            self.csrf = match.group(1).decode()


BASE = f"/cuoc-thi/{SLUG}"


async def step_landing(conn, p, rec):
    r = await conn.request("GET", BASE, cookies=p.cookies)
    assert r.status == 200, r.status
    p.absorb(r)
    p.form_on_landing = b'name="full_name"' in r.body  # the registration form at the landing page's foot
    rec.add("landing", r.seconds)


async def step_register_form(conn, p, rec):
    r = await conn.request("GET", BASE + "/dang-ky", cookies=p.cookies)
    assert r.status == 200, r.status
    p.absorb(r)
    rec.add("register form", r.seconds)


async def step_register(conn, p, rec, *, start_now=False, rng=None):
    form = {"csrf_token": p.csrf, "full_name": f"Người Dự Thi {letters(p.number)}", "phone": p.phone,
            "birth_year": "1985", "audience": "cbccvc", "unit_id": "xa-an-dung", "consent": "1"}
    if start_now:
        form["start_now"] = "1"  # "Bắt đầu làm bài ngay sau khi đăng ký", checked by default on the form
    r = await conn.request("POST", BASE + "/dang-ky", cookies=p.cookies, form=form)
    p.absorb(r)
    rec.add("register", r.seconds)
    if r.status == 303:
        # Before issue #16's change the registration answered with a 303 to the code page, which a
        # browser then loads: one request more per participant.
        assert r.headers["location"].endswith("/xac-nhan"), (r.status, r.headers)
        r = await conn.request("GET", urllib.parse.urlsplit(r.headers["location"]).path, cookies=p.cookies)
        p.absorb(r)
        rec.add("code page", r.seconds)
    assert r.status == 200 and b'name="ma"' in r.body, (r.status, r.body[:300])  # the code page
    r = await conn.request("POST", BASE + "/xac-nhan", cookies=p.cookies,
                           form={"csrf_token": p.csrf, "ma": code_for(p.phone)})
    assert r.status == (200 if start_now else 303), (r.status, r.body[:300])
    p.absorb(r)
    if start_now:  # the answer is the attempt page itself
        p.attempt_url = CANONICAL.search(r.body).group(1).decode()
        assert "/bai-thi/" in p.attempt_url, p.attempt_url
        p.fill_in(r.body, rng)
        rec.add("code and start", r.seconds)
    else:
        rec.add("code", r.seconds)


async def step_start(conn, p, rec):
    r = await conn.request("POST", BASE + "/bat-dau", cookies=p.cookies, form={"csrf_token": p.csrf})
    assert r.status == 303 and "/bai-thi/" in r.headers["location"], (r.status, r.body[:300])
    p.absorb(r)
    p.attempt_url = urllib.parse.urlsplit(r.headers["location"]).path
    rec.add("start", r.seconds)



async def step_answer(conn, p, rec):
    r = await conn.request("POST", p.attempt_url + "/luu", cookies=p.cookies, form=p.form,
                           headers={"X-Requested-With": "fetch", "Accept": "application/json"})
    assert r.status == 200 and b'"saved":true' in r.body.replace(b" ", b""), (r.status, r.body[:200])
    rec.add("answer (autosave)", r.seconds)


async def step_submit(conn, p, rec, acknowledged):
    r = await conn.request("POST", p.attempt_url + "/nop", cookies=p.cookies, form=p.form)
    submitted(p, r, acknowledged)
    rec.add("submit", r.seconds)


def submitted(p, r, acknowledged):
    """The submission's answer is the result page, with the outcome in ``X-Contest-Submission``."""
    assert r.status == 200 and r.headers.get("x-contest-submission") == "accepted", (r.status, r.body[:300])
    assert "Bài thi đã được ghi nhận".encode() in r.body, r.body[:300]  # the score after the round
    token = p.attempt_url.rsplit("/", 1)[-1]
    p.result_url = f"{BASE}/ket-qua/{token}"
    acknowledged.add(token)



async def run_pool(host, port, concurrency, items, work):
    """Run ``work(conn, item)`` over ``items`` with ``concurrency`` connections; returns elapsed."""
    queue = list(items)
    queue.reverse()

    async def worker():
        conn = Connection(host, port)
        while queue:
            item = queue.pop()
            await work(conn, item)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def run_for(host, port, concurrency, seconds, work):
    """Run ``work(conn)`` repeatedly on ``concurrency`` connections for ``seconds``; returns (count, elapsed)."""
    deadline = time.perf_counter() + seconds
    count = 0

    async def worker():
        nonlocal count
        conn = Connection(host, port)
        while time.perf_counter() < deadline:
            await work(conn)
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count, time.perf_counter() - started


# -- the server and its deployment ----------------------------------------------------------------


def cpu_seconds_of_group(pgid: int) -> float:
    """User + system CPU seconds of every live process in a process group (from /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            # utime + stime, and cutime + cstime: the master has reaped recycled workers.
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
    return total


def make_deployment(folder: Path, questions: int, million: int, limits_open: bool, contest_extra: str = "") -> Path:
    """A throw-away deployment with the benchmark's contest (``contest_extra``: more lines of its
    ``[contest]`` table, e.g. ``score_disclosure = "immediately"``)."""
    subprocess.run([CCCH, "init", str(folder), "--plan", str(ROOT / "examples/duc-tho-2024/plan.toml"),
                    "--plugin", "contest"], check=True, capture_output=True)
    config = folder / "ccch.toml"
    if limits_open:
        # One address (loopback) registers thousands of people: lift the per-address limits.
        text = config.read_text(encoding="utf-8")
        text += ("\n[plugins.contest]\nlimit_register = [10000000, 60]\nlimit_identify = [10000000, 60]\n"
                 "limit_start = [1000, 60]\nlimit_codes = [10000000, 60]\n")
        # Thousands of codes a minute: lift the day's cap of one-time codes too.
        text = text.replace("[messages.daily_caps]\notp = 1000\n", "[messages.daily_caps]\notp = 10000000\n")
        config.write_text(text, encoding="utf-8")
    now = dt.datetime.now(dt.UTC)
    vn = dt.timezone(dt.timedelta(hours=7))

    def local(x):
        return x.astimezone(vn).replace(tzinfo=None, microsecond=0).isoformat()

    definition = f"""format = 1
[contest]
slug = "{SLUG}"
title = "Cuộc thi tìm hiểu về CCHC (đo tải)"
organiser = "phong-noi-vu"
questions_per_attempt = 20
time_limit_minutes = 30
attempts_per_round = 1
tie_breaks = ["prediction", "time", "submitted"]
units = ["cac-xa-thi-tran"]
{contest_extra}
[contest.prediction]
kind = "count"
[contest.verification]
daily_codes = 1000000
[[audiences]]
key = "cbccvc"
name = "Cán bộ, công chức, viên chức"
quotas = {{ "Văn bản" = 4, "Chỉ tiêu" = 4, "Nhiệm vụ" = 4, "Trách nhiệm đơn vị" = 4 }}
prizes = [{{ name = "Giải Nhất", count = 1 }}, {{ name = "Giải Nhì", count = 2 }}, {{ name = "Giải Ba", count = 3 }}]
[[audiences]]
# wrk (a Lua script) cannot read a code from the outbox: its participants enter this audience,
# which does not verify (and has no prizes), so its figures are the flow without the code step.
key = "khach"
name = "Khách (không xác nhận)"
verify = "none"
quotas = {{ "Văn bản" = 4, "Chỉ tiêu" = 4, "Nhiệm vụ" = 4, "Trách nhiệm đơn vị" = 4 }}
[[rounds]]
number = 1
name = "Vòng 1 (1.000.000 bài)"
opens = {local(now - dt.timedelta(days=8))}
closes = {local(now - dt.timedelta(days=1))}
[[rounds]]
number = 2
name = "Vòng 2"
opens = {local(now - dt.timedelta(hours=1))}
closes = {local(now + dt.timedelta(days=2))}
"""
    (folder / "contest.toml").write_text(definition, encoding="utf-8")
    run = lambda *args: subprocess.run([CCCH, "-c", str(config), *args], check=True, capture_output=True)
    run("contest", "load", str(folder / "contest.toml"))
    # A bank of ``questions``: the 89 real questions, and copies with new keys up to the size.
    source = (ROOT / "examples/duc-tho-2024/questions.csv").read_text(encoding="utf-8").splitlines()
    header, rows = source[0], source[1:]
    lines = [header]
    for i in range(questions):
        row = rows[i % len(rows)]
        key, rest = row.split(",", 1)
        lines.append(f"{key}-{i // len(rows)}," + rest.replace("?", f" (bản {i // len(rows) + 1})?", 1)
                     if i >= len(rows) else row)
    (folder / "questions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run("contest", "questions", "import", SLUG, str(folder / "questions.csv"))
    run("contest", "publish", SLUG)
    if million:
        fill_closed_round(folder / "ccch.db", million)
    return config


def fill_closed_round(database: Path, count: int) -> None:
    """``count`` participants with one submitted attempt each in round 1 (already closed), written
    straight into SQLite (the ranking is what is measured, not the inserts)."""
    from ccch_core.privacy import mask_phone

    db = sqlite3.connect(database)
    db.execute("pragma synchronous = off")
    contest_id, = db.execute("select id from contest_contests where slug = ?", [SLUG]).fetchone()
    round_id, opens = db.execute("select id, opens_at from contest_rounds where contest_id = ? and number = 1",
                                 [contest_id]).fetchone()
    base = int(dt.datetime.fromisoformat(opens).timestamp() * 1000)
    rng = random.Random(2024)
    start_id = (db.execute("select max(id) from contest_participants").fetchone()[0] or 0) + 1
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    units = [r[0] for r in db.execute("select 'xa-an-dung' union all select 'xa-yen-ho' union all select 'tt-duc-tho'")]
    batch = 50_000
    for first in range(0, count, batch):
        people, attempts = [], []
        for n in range(first, min(first + batch, count)):
            pid = start_id + n
            phone = f"09{n:08d}"
            unit = units[n % len(units)]
            people.append((pid, contest_id, "cbccvc", f"Người Thứ {letters(n)}", f"h{n}", mask_phone(phone), unit,
                           now, "bench", now))
            score = rng.choices(range(10, 21), weights=[1, 1, 2, 3, 4, 6, 8, 10, 12, 14, 16])[0]
            duration = rng.randint(120_000, 1_800_000)
            submitted = base + rng.randint(0, 6 * 86_400_000)
            prediction = rng.randint(0, 200_000)
            attempts.append((f"m{n}", contest_id, round_id, pid, "cbccvc", unit, submitted - duration, submitted,
                             submitted, dt.datetime.fromtimestamp(submitted / 1000, dt.UTC).isoformat(timespec="milliseconds"),
                             submitted, duration, score, int(score == 20), float(prediction),
                             -score, prediction, duration, submitted))
        db.executemany("insert into contest_participants (id, contest_id, audience, full_name, phone_hash, phone_masked, "
                       "unit_id, consent_at, consent_version, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", people)
        db.executemany(
            "insert into contest_attempts (token, contest_id, round_id, participant_id, audience, unit_id, attempt_no, "
            "status, started_at, started_ms, deadline_ms, accept_until_ms, questions, submitted_at, submitted_ms, "
            "duration_ms, finish, score, total, perfect, prediction, counted, rk0, rk1, rk2, rk3) values "
            "(?, ?, ?, ?, ?, ?, 1, 'submitted', 'x', ?, ?, ?, '[]', ?, ?, ?, 'participant', ?, 20, ?, ?, 1, ?, ?, ?, ?)",
            attempts)
        db.commit()
    db.execute("analyze")
    db.commit()
    db.close()


def measure_ranking(config: Path) -> dict:
    """Rank round 1 (1,000,000 attempts) in this process through the plugin's own code."""
    from ccch_contest.contests import get_contest
    from ccch_contest.ranking import close_round, leaderboard, rank_round

    from ccch_core.deployment import Deployment

    dep = Deployment.open(config)
    contest = get_contest(dep, SLUG)
    round_state = contest.round(1)
    started = time.perf_counter()
    round_state = close_round(dep, contest, round_state, force=True)
    truth_seconds = time.perf_counter() - started
    contest = get_contest(dep, SLUG)
    runs = [rank_round(dep, contest, round_state) for _ in range(3)]
    started = time.perf_counter()
    board = leaderboard(dep, contest, round_state, "cbccvc")
    top_seconds = time.perf_counter() - started
    dep.close()
    return {"entries": runs[0]["entries"], "truth": round_state.truth, "truth_seconds": truth_seconds,
            "rank_seconds": [r["seconds"] for r in runs], "top50_seconds": top_seconds, "top": board.rows[0]["full_name"]}


def wrk(url: str, seconds: int, connections: int) -> tuple[float, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0}[p99.group(2)]
    return rate, float(p99.group(1)) * scale


WRK_FLOW = r'''
-- Participants without JavaScript, as many at a time as wrk has connections: the registration
-- form (no cookies), "register and start" (answered with the attempt page), the submission
-- (answered with the result page). What one step's answer gives (cookie, token, attempt) travels
-- in the queued next request, so any connection of the thread may send it.
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
local queue = {}
local n = 0
finished, other = 0, 0
local function letters(k)
  local s = ""
  repeat s = string.char(65 + k % 26) .. s; k = math.floor(k / 26) until k == 0
  return s
end
local function cookie_of(headers, fallback)
  return (headers["Set-Cookie"] or ""):match("^([^;]+)") or fallback
end
local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
function request()
  if #queue > 0 then
    local item = table.remove(queue, 1)
    return wrk.format("POST", item.path, {["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = item.cookie}, item.body)
  end
  return wrk.format("GET", BASE .. "/dang-ky")
end
function response(status, headers, body)
  local canonical = body:match('data%-canonical="([^"]+)"')
  if status == 200 and headers["X-Contest-Submission"] == "accepted" then
    finished = finished + 1
  elseif status == 200 and canonical and canonical:find("/bai-thi/", 1, true) then
    local token = body:match('name="csrf_token" value="([^"]+)"')
    local parts, seen = {"csrf_token=" .. urlencode(token), "du_doan=7"}, {}
    for q, v in body:gmatch('name="q(%d+)" value="(%d+)"') do
      if not seen[q] then seen[q] = true; table.insert(parts, "q" .. q .. "=" .. v) end
    end
    table.insert(queue, {path = canonical .. "/nop", cookie = cookie_of(headers, ""), body = table.concat(parts, "&")})
  elseif status == 200 and body:find('name="consent"', 1, true) then
    n = n + 1
    local token = body:match('name="csrf_token" value="([^"]+)"')
    local phone = string.format("0%s%d%07d", ({"3", "5", "7", "9"})[RUN], tid + 1, n)  -- 0[35789]: mobile
    table.insert(queue, {path = BASE .. "/dang-ky", cookie = cookie_of(headers, ""),
      body = "csrf_token=" .. urlencode(token) .. "&full_name=" .. NAME .. letters(n + 1000 * tid) ..
             "&phone=" .. phone .. "&birth_year=1985&audience=khach&unit_id=xa-an-dung&consent=1&start_now=1"})
  else
    other = other + 1
  end
end
function done(summary, latency, requests)
  local f, o = 0, 0
  for _, thread in ipairs(threads) do f = f + thread:get("finished"); o = o + thread:get("other") end
  io.write(string.format("FINISHED %d\nOTHER %d\n", f, o))
end
'''


def wrk_flow(folder: Path, base: str, seconds: int, connections: int, run: int, pgid: int) -> dict:
    """Finished attempts without JavaScript driven by wrk (C, a Lua script), which leaves the server
    more of the machine than the Python client: a run of ``seconds`` at ``connections``."""
    script = folder / f"flow{run}.lua"
    name = urllib.parse.quote("Người Dự Thi ")
    script.write_text(f'BASE = "{BASE}"\nRUN = {run}\nNAME = "{name}"\n' + WRK_FLOW, encoding="utf-8")
    cpu0 = cpu_seconds_of_group(pgid)
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          base + "/"], capture_output=True, text=True, check=True).stdout
    finished = int(re.search(r"FINISHED (\d+)", out).group(1))
    elapsed = float(re.search(r"requests in ([\d.]+)(s|m)", out).group(1)) * (
        60 if re.search(r"requests in [\d.]+(s|m)", out).group(1) == "m" else 1)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"finished": finished, "rate": finished / elapsed,
            "client_cpu": (own1.ru_utime - own0.ru_utime + own1.ru_stime - own0.ru_stime) / elapsed, "other": int(re.search(r"OTHER (\d+)", out).group(1)),
            "p99": float(p99.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[p99.group(2)],
            "server_cpu": (cpu_seconds_of_group(pgid) - cpu0) / elapsed}


# -- the run --------------------------------------------------------------------------------------


async def load(host: str, port: int, args, acknowledged: set, page_sizes: list) -> dict:
    rng = random.Random(1)
    results: dict = {}
    client_cpu = {}

    async def timed(label, coro):
        cpu0 = time.process_time()
        cpu_server0 = cpu_seconds_of_group(args.server_pgid)
        value = await coro
        previous = client_cpu.get(label, (0.0, 0.0))
        client_cpu[label] = (previous[0] + time.process_time() - cpu0,
                             previous[1] + cpu_seconds_of_group(args.server_pgid) - cpu_server0)
        return value

    # Warm-up: every worker process builds its app and caches on first use.
    warm = Recorder()
    await run_for(host, port, args.concurrency, 2, lambda c: c.request("GET", "/healthz"))
    await run_for(host, port, 8, 1, lambda c: c.request("GET", BASE))

    # 1. The trivial endpoint.
    rec = Recorder()

    async def health(conn):
        r = await conn.request("GET", "/healthz")
        assert r.status == 200
        rec.add("healthz", r.seconds)

    count, elapsed = await timed("healthz", run_for(host, port, args.concurrency, args.seconds, health))
    results["healthz"] = (count / elapsed, percentile(rec.samples["healthz"], 99))

    # 2. Steps, each over the same set of participants, 50 at a time. Each request's bytes are
    #    prepared before the timed run and the responses read after it, so that the client does
    #    as little as possible while the server is measured (on 2 cores it shares the machine).
    people = [Participant(n, f"08{n:08d}") for n in range(args.participants)]
    steps = Recorder()

    async def do(step, prepare, expect, absorb):
        """The step over every participant, in ``args.chunks`` chunks, each right after a short run
        of the trivial endpoint: both halves of the ratio see the same machine (on a shared
        machine, its load changes within seconds)."""
        health_count = health_time = step_time = 0.0
        near = Recorder()

        async def near_health(conn):
            r = await conn.request("GET", "/healthz")
            near.add("healthz", r.seconds)

        for p in people:
            p.payload = prepare(p)

        async def work(conn, p):
            r = await conn.send(p.payload)
            assert r.status == expect, (step, r.status, r.body[:300])
            p.response = r
            steps.add(step, r.seconds)

        size = -(-len(people) // args.chunks)
        for start in range(0, len(people), size):
            count, elapsed = await run_for(host, port, args.concurrency, args.near_seconds, near_health)
            health_count += count
            health_time += elapsed
            step_time += await timed(step, run_pool(host, port, args.concurrency, people[start:start + size], work))
        for p in people:
            absorb(p, p.response)
        samples = steps.samples[step]
        results["healthz before " + step] = (health_count / health_time, percentile(near.samples["healthz"], 99))
        results[step] = (len(samples) / step_time, percentile(samples, 99))

    def req(method, path, p, form=None, headers=None):
        return build(host, port, method, path, cookies=p.cookies, form=form, headers=headers)

    def registration(p):
        return {"csrf_token": p.csrf, "full_name": f"Người Dự Thi {letters(p.number)}", "phone": p.phone,
                "birth_year": "1985", "audience": "cbccvc", "unit_id": "xa-an-dung", "consent": "1"}

    def keep(p, r):
        p.absorb(r)

    def started(p, r):
        p.absorb(r)
        p.attempt_url = urllib.parse.urlsplit(r.headers["location"]).path

    def answered(p, r):
        p.absorb(r)
        page_sizes.append(len(r.body))
        p.fill_in(r.body, rng)

    def saved(p, r):
        assert b'"saved":true' in r.body.replace(b" ", b""), r.body[:200]

    def shown(p, r):
        assert "Bài thi đã được ghi nhận".encode() in r.body

    if not args.only_finished:
        await do("landing", lambda p: req("GET", BASE, p), 200, keep)
        await do("register form", lambda p: req("GET", BASE + "/dang-ky", p), 200, keep)
        await do("register", lambda p: req("POST", BASE + "/dang-ky", p, registration(p)), 200, keep)
        await do("code", lambda p: req("POST", BASE + "/xac-nhan", p, {"csrf_token": p.csrf, "ma": code_for(p.phone)}),
                 303, keep)
        await do("start", lambda p: req("POST", BASE + "/bat-dau", p, {"csrf_token": p.csrf}), 303, started)
        await do("attempt page", lambda p: req("GET", p.attempt_url, p), 200, answered)
        await do("answer (autosave)", lambda p: req("POST", p.attempt_url + "/luu", p, p.form,
                                                    {"X-Requested-With": "fetch", "Accept": "application/json"}),
                 200, saved)
        await do("submit", lambda p: req("POST", p.attempt_url + "/nop", p, p.form), 200,
                 lambda p, r: submitted(p, r, acknowledged))
        await do("result page", lambda p: req("GET", p.result_url, p), 200, shown)

    # 3. Finished attempts per second, the way participants make them.
    counter = iter(range(args.participants, 10_000_000))
    flow = Recorder()

    async def participant(conn):
        p = Participant(next(counter), None)
        p.phone = f"08{p.number:08d}"
        await step_landing(conn, p, flow)
        if not p.form_on_landing:  # an older build: the form on its own page, one request more
            await step_register_form(conn, p, flow)
        await step_register(conn, p, flow, start_now=True, rng=rng)
        await step_answer(conn, p, flow)
        await step_submit(conn, p, flow, acknowledged)

    finished, elapsed = await timed("finished", run_for(host, port, args.concurrency, args.finished_seconds, participant))
    results["finished"] = (finished / elapsed, percentile([s for v in flow.samples.values() for s in v], 99))

    # The same on a phone without JavaScript, arriving from a link to the registration form: no
    # landing page, no autosave (the answers travel with the submission) — 3 requests.
    plain = Recorder()

    async def plain_participant(conn):
        p = Participant(next(counter), None)
        p.phone = f"08{p.number:08d}"
        await step_register_form(conn, p, plain)
        await step_register(conn, p, plain, start_now=True, rng=rng)
        await step_submit(conn, p, plain, acknowledged)

    finished, elapsed = await timed("finished without JavaScript", run_for(
        host, port, args.concurrency, args.finished_seconds, plain_participant))
    results["finished without JavaScript"] = (finished / elapsed,
                                              percentile([s for v in plain.samples.values() for s in v], 99))
    results["flow_p99"] = {k: percentile(v, 99) for k, v in flow.samples.items()}
    results["flow_median"] = {k: statistics.median(v) for k, v in flow.samples.items()}
    results["cpu"] = client_cpu
    del warm
    return results


def run_client(coroutine, plain: bool = False):
    """Run the load generator on uvloop when it is installed (``pip install -e '.[bench]'``): on 2
    cores the client shares the machine with the server, and uvloop needs less of it."""
    try:
        if plain:
            raise ImportError
        import uvloop
    except ImportError:
        print("client: asyncio (install uvloop for a lighter load generator: pip install -e '.[bench]')")
        return asyncio.run(coroutine)
    print(f"client: asyncio on uvloop {uvloop.__version__}")
    return uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=3000, help="participants per step (default 3000)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10, help="length of the first /healthz run")
    parser.add_argument("--near-seconds", type=int, default=2, help="length of each /healthz run between chunks")
    parser.add_argument("--chunks", type=int, default=3, help="chunks per step, each after a /healthz run")
    parser.add_argument("--finished-seconds", type=int, default=20, help="length of the finished-attempts run")
    parser.add_argument("--questions", type=int, default=2000, help="size of the question bank")
    parser.add_argument("--million", type=int, default=1_000_000, help="attempts in the ranked round (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary deployment")
    parser.add_argument("--peers-runs", type=int, default=3, help="runs of the peers' flow (0: skip)")
    parser.add_argument("--peers-seconds", type=float, default=30, help="length of each run of the peers' flow")
    parser.add_argument("--plain-asyncio", action="store_true", help="the client without uvloop even if installed")
    parser.add_argument("--only-finished", action="store_true",
                        help="measure only /healthz and the finished attempts (a quick comparison of two builds)")
    parser.add_argument("--serve-option", action="append", default=[], metavar="OPTION",
                        help="extra `ccch serve` option, e.g. --serve-option=--threads=1 (default: none, as ccch serve runs)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    folder = Path(tempfile.mkdtemp(prefix="ccch-contest-bench-"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; deployment in {folder}")
    args.load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    t0 = time.perf_counter()
    config = make_deployment(folder, args.questions, args.million, limits_open=True)
    _CODES["path"] = folder / "ccch.db"
    print(f"set-up: {args.questions} questions, {args.million:,} attempts in a closed round "
          f"({time.perf_counter() - t0:.0f} s)")
    ranking = measure_ranking(config) if args.million else None
    port = free_port()
    from ccch_core.web.server import DEFAULT_GUNICORN_THREADS, default_workers

    defaults = (f"(defaults: gunicorn, {default_workers()} workers, {DEFAULT_GUNICORN_THREADS} thread"
                f"{'s' if DEFAULT_GUNICORN_THREADS > 1 else ''} each)")
    print(f"server: ccch serve {' '.join(args.serve_option) or defaults}")
    server = subprocess.Popen([CCCH, "-c", str(config), "serve", "--port", str(port), *args.serve_option],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    args.server_pgid = server.pid
    base = f"http://127.0.0.1:{port}"
    acknowledged: set[str] = set()
    page_sizes: list[int] = []
    try:
        wait_until_up(base + "/healthz")
        results = run_client(load("127.0.0.1", port, args, acknowledged, page_sizes), args.plain_asyncio)
        wrk_rate = wrk(base + "/healthz", args.seconds, args.concurrency) if shutil.which("wrk") else None
        wrk_flows = [wrk_flow(folder, base, args.finished_seconds, args.concurrency, run, args.server_pgid)
                     for run in (1, 2)] if wrk_rate else []
        if args.peers_runs:
            # The peers' flow: a separate Python process parsing every form, fresh cookies per
            # participant (bench/peers_client.py), as Moodle's 9.5/s was measured. Its acknowledged
            # submissions join the count check below.
            from peers_client import run_peers

            for result in run_peers("contest", port, SLUG, seconds=args.peers_seconds, users=args.concurrency,
                                    runs=args.peers_runs, server_pgid=args.server_pgid,
                                    server_cpu=cpu_seconds_of_group, first_number=70_000_000):
                acknowledged.update(result["acknowledged"])
        # The leaderboard of the 1,000,000-attempt round, through the server: first, then cached.
        board = {}
        if args.million:
            url = f"{base}/cuoc-thi/{SLUG}/bang-xep-hang?vong=1&doi-tuong=cbccvc"
            db = sqlite3.connect(folder / "ccch.db")
            db.execute("delete from contest_leaderboards")  # the first request computes the board
            db.commit()
            db.close()
            started = time.perf_counter()
            with urllib.request.urlopen(url) as r:
                body = r.read()
            board["first"] = time.perf_counter() - started
            times = []
            for _ in range(200):
                started = time.perf_counter()
                with urllib.request.urlopen(url) as r:
                    r.read()
                times.append(time.perf_counter() - started)
            board["median"], board["p99"] = statistics.median(times), percentile(times, 99)
            board["rows"] = body.count(b"<tr><td>")
        # Asset weight of the attempt page's first load.
        assets = 0
        for asset in ("/static/public.css", "/cuoc-thi/static/contest.css", "/cuoc-thi/static/contest.js"):
            with urllib.request.urlopen(base + asset) as r:
                assets += len(r.read())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    # 4. The count check.
    db = sqlite3.connect(folder / "ccch.db")
    stored = {row[0] for row in db.execute("select token from contest_attempts a join contest_rounds r on "
                                           "r.id = a.round_id where r.number = 2 and a.status = 'submitted'")}
    db.close()
    missing = acknowledged - stored
    extra = stored - acknowledged
    # wrk's participants are counted, not listed: theirs are the stored submissions nobody else
    # acknowledged, as many as wrk counted plus at most one in flight per connection at its stop.
    wrk_acked = sum(f["finished"] for f in wrk_flows)
    wrk_ok = wrk_acked <= len(extra) <= wrk_acked + args.concurrency * len(wrk_flows)

    h_rate, h_p99 = results["healthz"]
    print(f"\n/healthz (this client): {h_rate:,.0f} req/s, p99 {h_p99 * 1000:.1f} ms"
          + (f"; wrk -c{args.concurrency}: {wrk_rate[0]:,.0f} req/s, p99 {wrk_rate[1] * 1000:.1f} ms" if wrk_rate else ""))
    print(f"{'step':22} {'req/s':>8} {'p99 ms':>8} | {'/healthz in between':>21} | {'ratio':>6} {'p99 ratio':>9} | "
          f"{'client CPU':>10} {'server CPU':>10}")
    for step in ("landing", "register form", "register", "code", "start", "attempt page", "answer (autosave)", "submit",
                 "result page"):
        if step not in results:
            continue  # --only-finished
        rate, p99 = results[step]
        near_rate, near_p99 = results["healthz before " + step]
        client, server_cpu = results["cpu"][step]
        elapsed = args.participants / rate
        print(f"{step:22} {rate:8,.0f} {p99 * 1000:8.1f} | {near_rate:8,.0f} req/s {near_p99 * 1000:6.1f} ms | "
              f"{rate / near_rate:6.0%} {p99 / near_p99:9.1f} | {client / elapsed:10.0%} {server_cpu / elapsed:10.0%}")
    client, server_cpu = results["cpu"]["healthz"]
    print(f"(first /healthz run: client CPU {client / args.seconds:.0%}, server CPU {server_cpu / args.seconds:.0%}; "
          f"200% = both cores; load average before the run: {args.load_before})")
    rate, p99 = results["finished"]
    client, server_cpu = results["cpu"]["finished"]
    print(f"\nfinished attempts (landing with the registration form, register → code page, code and start → "
          f"attempt page, autosave, submit → result page: 5 requests; 6 with the form on its own page), "
          f"{args.concurrency} participants at a time: {rate:,.1f} per second "
          f"({rate / 9.5:.0f}× Moodle's 9.5/s); p99 of any request {p99 * 1000:.1f} ms; client CPU "
          f"{client / args.finished_seconds:.0%}, server CPU {server_cpu / args.finished_seconds:.0%} (200% = both cores)")
    print("  median / p99 per request in that run: " + ", ".join(
        f"{k} {results['flow_median'][k] * 1000:.1f}/{results['flow_p99'][k] * 1000:.1f} ms" for k in results["flow_p99"]))
    rate, p99 = results["finished without JavaScript"]
    client, server_cpu = results["cpu"]["finished without JavaScript"]
    print(f"finished attempts without JavaScript (registration form, register → code page, code and start → "
          f"attempt page, submit → result page: 4 requests), {args.concurrency} at a time: {rate:,.1f} per second ({rate / 9.5:.0f}× Moodle's "
          f"9.5/s); p99 {p99 * 1000:.1f} ms; client CPU {client / args.finished_seconds:.0%}, server CPU "
          f"{server_cpu / args.finished_seconds:.0%}")
    for number, flow in enumerate(wrk_flows, start=1):
        print(f"finished attempts without JavaScript, driven by wrk (C; an audience without verification: "
              f"registration form, register and start, submit — 3 requests), {args.concurrency} "
              f"at a time, run {number}: {flow['rate']:,.1f} per second ({flow['rate'] / 9.5:.0f}× Moodle's 9.5/s); "
              f"p99 {flow['p99'] * 1000:.1f} ms; client (wrk) CPU {flow['client_cpu']:.0%}, server CPU "
              f"{flow['server_cpu']:.0%}; "
              f"{flow['other']} unexpected answers")
    print(f"\ncount check: {len(acknowledged)} submissions acknowledged by the Python client, {len(stored)} stored, "
          f"{len(missing)} acknowledged but missing; {wrk_acked} acknowledged by wrk, {len(extra)} stored that "
          f"the Python client did not acknowledge (allowed: up to {args.concurrency} in flight per wrk run at its "
          f"stop) -> {'OK' if not missing and wrk_ok else 'PROBLEM'}")
    if page_sizes:
        print(f"attempt page first load: HTML {statistics.median(page_sizes) / 1024:.1f} KB (median) + CSS/JS "
              f"{assets / 1024:.1f} KB = {(statistics.median(page_sizes) + assets) / 1024:.1f} KB in 4 requests "
              f"(uncompressed)")
    if ranking:
        print(f"\nranking a round of {ranking['entries']:,} attempts: "
              + ", ".join(f"{s:.2f} s" for s in ranking["rank_seconds"])
              + f" (full ordered ranking, streamed); true figure {ranking['truth']:g} computed in "
                f"{ranking['truth_seconds']:.2f} s; top 50 with names {ranking['top50_seconds']:.2f} s")
        print(f"leaderboard page of that round: first request {board['first'] * 1000:.0f} ms (computes and "
              f"caches), then median {board['median'] * 1000:.1f} ms, p99 {board['p99'] * 1000:.1f} ms over 200 "
              f"requests ({board['rows']} rows)")
    print(json.dumps({"healthz": results["healthz"], **{k: results[k] for k in results if k not in
                                                        ("cpu", "flow_p99", "flow_median")}}, default=str))
    if not args.keep:
        shutil.rmtree(folder)
    if missing or not wrk_ok:
        raise SystemExit("COUNT CHECK FAILED")


if __name__ == "__main__":
    main()
