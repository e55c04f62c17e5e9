"""Soak and fault run: the real server under concurrent citizens, contest participants and officers, for a bounded time.

Serves a fresh Đức Thọ deployment (survey + export + contest plugins; the SIPAS survey on every
one-stop desk; the example contest ``examples/duc-tho-2024/contest.toml`` with its 89 questions, its
four weekly rounds moved so that round 2 is open for the whole run) with ``ccch serve`` (gunicorn,
4 workers), and from this second process on loopback runs, concurrently:

- citizens: each with fresh cookies opens a poster's survey and submits it with the page's form
  token and sid. Acknowledged: a 303 to ``…/cam-on``, or a 200 with ``X-Survey-Result: stored``
  (the thank-you page answered directly); every acknowledged submission id is remembered;
- contest participants: each with fresh cookies and a new phone number opens the landing page and
  the registration form, registers (half of them with "start now", answered with the attempt page;
  the others then press "start" on the landing page and load the attempt page), answers every
  question it shows (radio: one option, checkbox: one or two), autosaves twice in a row, submits
  and reads the result page that answers the submission. Acknowledged: a 200 with
  ``X-Contest-Submission: accepted`` or ``already`` (a resent submission the first one counted)
  and the attempt's result page. A submission that got no answer (the server was being killed) is
  sent again until it gets one, as a phone would (a submission counts once);
- officers: a plan admin reading the dashboard and the roll-up; a contest manager reading the
  contest's overview (live counts) and the open round's public leaderboard.

Optionally, in the middle: a backup taken under load (``--backup-at``), and the server killed with
SIGKILL and restarted (``--kill-at``).

At the end it checks, and prints as a table:

- every acknowledged survey submission is stored; every acknowledged registration is stored; every
  acknowledged contest submission is stored as submitted, scored, with the answers that were sent
  and the score its result page showed; nothing is stored that was not acknowledged unless its
  request got no answer (in flight at the kill); attempts left open only from flows the kill broke;
- ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check`` of the database;
- the backup: integrity, foreign keys, no survey answer without its response, no attempt without
  its participant or round, no submitted attempt without a score, every write acknowledged before
  the backup began is in it; and it restores: a copy of the deployment with the backup as its
  database is served, and result pages of attempts in the backup open for their participants;
- statuses: each kind of request has its expected statuses (``EXPECTED``); anything else is a problem
  (400, 403, 404, 422, 5xx, a 302 to the login page…). Connection failures are expected only
  while the killed server is down. The only intended 429 is ``contest-save-again``: a second
  autosave of the same attempt within a second (the plugin allows one save a second per attempt);
- server memory (RSS of the gunicorn master and workers summed, sampled every second): the level
  (median of 10 samples) at the start of the steady part — after ``--warmup`` seconds; the kill
  and the restarted server's own warm-up are left out — against the level at the end; "flat" when
  the growth stays under max(20 MiB, 10 % of the start), over the whole steady part and over each
  stretch of at least a minute served by one server process. Gunicorn recycles a worker after
  20,000 ± 2,000 requests: the RSS dips then, which is fine.

It exits non-zero on any problem. It stops by itself.

    .venv/bin/python bench/soak.py --minutes 1 --citizens 8 --participants 8 --kill-at 30 --backup-at 15
    .venv/bin/python bench/soak.py --minutes 5 --citizens 8 --participants 8 --kill-at 150 --backup-at 90
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path

from _common import free_port, letters

ROOT = Path(__file__).resolve().parents[1]
CCCH = str(Path(sys.executable).with_name("ccch"))
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SID = re.compile(r'name="sid" value="([^"]+)"')
REQUIRED = re.compile(r'<fieldset id="(q-[^"]+)" data-required')
CHOICE = re.compile(r'<input type="(radio|checkbox)" name="(q\d+)" value="(\d+)"')
CANONICAL = re.compile(r'data-canonical="([^"]+)"')
QUESTION = re.compile(r"<legend>Câu (\d+)\. ")
OPTGROUP = re.compile(r'<optgroup label="[^"]*">(.*?)</optgroup>', re.DOTALL)
OPTION_VALUE = re.compile(r'<option value="([^"]+)"')
AUDIENCE = re.compile(r'name="audience" value="([^"]+)"')
SCORE = re.compile(r"Số câu trả lời đúng: <strong>(\d+)/(\d+)</strong>")
PASSWORD = "mat-khau-soak-2024"
CONTEST_TOML = ROOT / "examples/duc-tho-2024/contest.toml"
QUESTIONS_CSV = ROOT / "examples/duc-tho-2024/questions.csv"
# Valid Vietnamese mobile prefixes (0[35789]x, after the 2018 renumbering).
PREFIXES = ("032", "038", "056", "058", "070", "077", "081", "086", "088", "091", "094", "097", "098", "099")
MIB = 1024  # RSS is sampled in KiB

# The statuses each kind of request may answer with; anything else is a problem. 429 appears once.
EXPECTED = {
    "citizen-get": {200},
    "citizen-post": {200, 303},          # acknowledged only as described in the docstring
    "officer-get": {200},
    "manager-get": {200},
    "contest-landing": {200},
    "contest-register-form": {200},
    "contest-register": {200, 303},      # 303: to the code page (the example verifies); 200/303 without verification
    "contest-code": {200, 303},          # 200: the attempt page ("start now"); 303: to the landing page
    "contest-start": {303},
    "contest-attempt": {200},
    "contest-save": {200},
    "contest-save-again": {200, 429},    # intended 429: a second save of one attempt within a second
    "contest-submit": {200},             # the result page, with X-Contest-Submission
}


def run(*args: str, stdin: str | None = None) -> str:
    return subprocess.run([CCCH, *args], check=True, capture_output=True, text=True, input=stdin).stdout


class Server:
    def __init__(self, config: Path, port: int):
        self.config, self.port, self.process = config, port, None

    def start(self) -> None:
        self.process = subprocess.Popen([CCCH, "-c", str(self.config), "serve", "--port", str(self.port),
                                         "--workers", "4"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("server did not start")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def rss_kib(self) -> tuple[int, set[int]]:
        """Total RSS of the server's processes (master and workers), and their pids."""
        total, seen = 0, set()
        try:
            pids = subprocess.run(["pgrep", "-g", str(os.getpgid(self.process.pid))], capture_output=True,
                                  text=True, check=False).stdout.split()
        except ProcessLookupError:
            return 0, seen
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        seen.add(int(pid))
            except OSError:
                pass
        return total, seen


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status, body=b"", headers=None):
        self.status, self.body, self.headers = status, body, headers

    @property
    def location(self) -> str:
        return (self.headers.get("Location") or "") if self.headers is not None else ""

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.location).path

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Client:
    """A tiny cookie-keeping HTTP client (one connection, reopened when the server closes it)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, form=None, headers: dict | None = None) -> Response:
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return Response(None)
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return Response(response.status, data, response.headers)

    def close(self) -> None:
        self.conn.close()


class Soak:
    """What the load threads share: counters, acknowledged writes, the server's down time."""

    def code_for(self, phone: str) -> str:
        """The one-time code just queued for ``phone`` (read from the outbox, as the SMS says it)."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            row = db.execute("select params from messages where address = ? and template = 'otp' order by id desc "
                             "limit 1", [phone]).fetchone()
        return json.loads(row[0])["code"] if row else ""

    def __init__(self, port: int, slug: str, excluded_units: set[str]):
        self.port, self.slug, self.excluded_units = port, slug, excluded_units
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.statuses: collections.Counter = collections.Counter()  # (kind, status or None)
        self.failures: list[tuple[str, float]] = []  # (kind, when) of requests that got no answer
        self.oddities: collections.Counter = collections.Counter()  # expected status, wrong content
        self.survey_ack: set[str] = set()
        self.survey_unanswered: set[str] = set()  # posted sids whose POST got no answer
        self.registered: set[str] = set()  # phone numbers whose registration was acknowledged
        self.database: Path | None = None  # the deployment's database: the outbox holds the codes
        self.register_unanswered = 0
        self.attempts: dict[str, dict] = {}  # acknowledged submissions: token -> what was sent and shown
        self.submit_unanswered: set[str] = set()  # tokens whose submission never got an answer
        self.broken_flows = 0  # participants who stopped after starting (or maybe starting) an attempt
        self.numbers = itertools.count()
        self.down: list[list[float]] = []  # [killed at, up again at]

    def record(self, kind: str, response: Response) -> Response:
        with self.lock:
            self.statuses[(kind, response.status)] += 1
            if response.status is None:
                self.failures.append((kind, time.time()))
        return response

    def odd(self, what: str) -> None:
        with self.lock:
            self.oddities[what] += 1

    def snapshot(self) -> dict:
        with self.lock:
            return {"survey": set(self.survey_ack), "phones": set(self.registered), "attempts": set(self.attempts)}


# -- citizens (survey) ----------------------------------------------------------------------------


def citizen(soak: Soak, codes: list[str], index: int) -> None:
    i = 0
    while not soak.stop.is_set():
        code = codes[(index + i) % len(codes)]
        i += 1
        client = Client(soak.port)  # fresh cookies: a new phone
        page = soak.record("citizen-get", client.request("GET", f"/k/{code}"))
        if page.status != 200:
            time.sleep(0.2)
            continue
        html = page.text
        token, sid, version = TOKEN.search(html), SID.search(html), re.search(r'name="v" value="(\d+)"', html)
        if not (token and sid and version):
            soak.odd("citizen-get 200 without form token, sid or version")
            continue
        sid = sid.group(1)
        form = [("csrf_token", token.group(1)), ("sid", sid), ("v", version.group(1))]
        form += [(name, "4") for name in REQUIRED.findall(html)]
        r = soak.record("citizen-post", client.request("POST", f"/k/{code}", form))
        acknowledged = ((r.status == 303 and r.path.endswith("/cam-on"))
                        or (r.status == 200 and r.headers.get("X-Survey-Result") == "stored"))
        with soak.lock:
            if acknowledged:
                soak.survey_ack.add(sid)
            elif r.status is None:
                soak.survey_unanswered.add(sid)
        if r.status in (200, 303) and not acknowledged:
            soak.odd(f"citizen-post {r.status} not acknowledged (Location {r.location!r}, "
                     f"X-Survey-Result {r.headers.get('X-Survey-Result')!r})")
        client.close()


# -- contest participants -------------------------------------------------------------------------


def phone_of(n: int) -> str:
    return PREFIXES[n % len(PREFIXES)] + f"{n // len(PREFIXES):07d}"


def participant(soak: Soak, index: int) -> None:
    rng = random.Random(index)
    while not soak.stop.is_set():
        with soak.lock:
            n = next(soak.numbers)
        try:
            unanswered = one_participant(soak, rng, n)
        except Exception as exc:  # noqa: BLE001 (a bug in this script must not pass for a quiet run)
            soak.odd(f"participant flow raised {type(exc).__name__}: {exc}")
            unanswered = False
        if unanswered:
            time.sleep(0.2)  # the server is down (killed): try again shortly, as the citizens do


def one_participant(soak: Soak, rng: random.Random, n: int) -> bool:
    """One participant's whole flow; finished even when the run is told to stop meanwhile. True
    when a request got no answer."""
    base = f"/cuoc-thi/{soak.slug}"
    client = Client(soak.port)
    state = {"csrf": None, "unanswered": False}

    def call(kind, method, path, form=None, headers=None):
        r = soak.record(kind, client.request(method, path, form, headers))
        if r.status is None:
            state["unanswered"] = True
        match = TOKEN.search(r.text) if r.status == 200 else None
        if match:
            state["csrf"] = match.group(1)
        return r

    try:
        if call("contest-landing", "GET", base).status != 200:
            return state["unanswered"]
        page = call("contest-register-form", "GET", base + "/dang-ky")
        if page.status != 200:
            return state["unanswered"]
        html = page.text
        # The audiences and the units each offers (one <optgroup> per audience, in order), as a
        # person would pick them; never the organisers' own unit (not eligible).
        audiences = AUDIENCE.findall(html)
        groups = [[u for u in OPTION_VALUE.findall(g) if u not in soak.excluded_units] for g in OPTGROUP.findall(html)]
        if not audiences or len(groups) != len(audiences) or not all(groups) or not state["csrf"]:
            soak.odd("registration form: no form token, or audiences and unit lists do not match")
            return state["unanswered"]
        which = rng.randrange(len(audiences))
        phone = phone_of(n)
        start_now = n % 2 == 0
        form = [("csrf_token", state["csrf"]), ("full_name", f"Người Dự Thi {letters(n)}"), ("phone", phone),
                ("birth_year", str(1960 + n % 45)), ("audience", audiences[which]),
                ("unit_id", rng.choice(groups[which])), ("occupation", "Chuyên viên" if n % 4 == 1 else ""),
                ("citizen_id", f"0421{n % 100:02d}{n:06d}" if n % 3 == 0 else ""), ("consent", "1"), ("website", "")]
        if start_now:
            form.append(("start_now", "1"))
        r = call("contest-register", "POST", base + "/dang-ky", form)
        if (r.status == 303 and r.path.endswith("/xac-nhan")) or (r.status == 200 and b'name="ma"' in r.body):
            # The example verifies with a one-time code to the phone (the registration is answered
            # with the code page; a 303 to it before issue #16's change): typed as the phone receives it.
            r = call("contest-code", "POST", base + "/xac-nhan", [("csrf_token", state["csrf"]),
                                                                   ("ma", soak.code_for(phone))])
        if r.status is None:
            with soak.lock:
                soak.register_unanswered += 1
                soak.broken_flows += start_now  # it may have started an attempt too
            return state["unanswered"]
        if r.status != (200 if start_now else 303):
            return state["unanswered"]
        with soak.lock:
            soak.registered.add(phone)
        attempt_html = None
        if start_now:
            match = CANONICAL.search(r.text)
            attempt_path = match.group(1) if match else ""
            if "/bai-thi/" not in attempt_path:
                soak.odd("register and start: the answer is not an attempt page")
                return state["unanswered"]
            attempt_html = r.text
        else:
            if r.path != base:
                soak.odd("register: 303 not to the landing page")
            landing = call("contest-landing", "GET", base)
            if landing.status != 200:
                return state["unanswered"]
            if 'action="' + base + '/bat-dau"' not in landing.text:
                soak.odd("landing page of a registered participant without the start button")
                return state["unanswered"]
            r = call("contest-start", "POST", base + "/bat-dau", [("csrf_token", state["csrf"])])
            if r.status is None:
                with soak.lock:
                    soak.broken_flows += 1
                return state["unanswered"]
            if r.status != 303:
                return state["unanswered"]
            attempt_path = r.path
            if "/bai-thi/" not in attempt_path:
                soak.odd("start: 303 not to an attempt")
                return state["unanswered"]
        token = attempt_path.rsplit("/", 1)[-1]
        answered = answer_and_submit(soak, rng, client, call, state, base, attempt_path, token, attempt_html)
        if not answered:
            with soak.lock:
                soak.broken_flows += 1
    finally:
        client.close()
    return state["unanswered"]


def answer_and_submit(soak: Soak, rng: random.Random, client: Client, call, state, base: str, attempt_path: str,
                      token: str, html: str | None = None) -> bool:
    """The attempt page (unless the registration answered with it), answers, two autosaves, the
    submission and its result page. False when the attempt was left open (a request got no answer
    or an unexpected status)."""
    if html is None:
        page = call("contest-attempt", "GET", attempt_path)
        if page.status != 200:
            return False
        html = page.text
    kinds: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for kind, name, value in CHOICE.findall(html):
        kinds[name] = kind
        values.setdefault(name, []).append(value)
    shown = len(QUESTION.findall(html))
    if not shown or sorted(values, key=lambda q: int(q[1:])) != [f"q{i}" for i in range(1, shown + 1)]:
        soak.odd("attempt page: questions and answer fields do not match")
        return False
    chosen = {name: sorted(rng.sample(opts, rng.choice((1, 2)) if kinds[name] == "checkbox" else 1), key=int)
              for name, opts in values.items()}
    answers = [(name, v) for name, vs in chosen.items() for v in vs]
    prediction = str(rng.randint(0, 5000))
    fetch = {"X-Requested-With": "fetch", "Accept": "application/json"}
    # The page's autosave after the first half, then at once again after the rest: the second is
    # within a second of the first, which the plugin refuses with 429 (one save a second per attempt).
    half = [(name, v) for name, v in answers if int(name[1:]) <= shown // 2]
    for kind, part in (("contest-save", half), ("contest-save-again", answers)):
        r = call(kind, "POST", attempt_path + "/luu", [("csrf_token", state["csrf"]), *part, ("du_doan", prediction)],
                 fetch)
        if r.status == 200 and b'"saved":true' not in r.body.replace(b" ", b""):
            soak.odd(f"{kind}: 200 without saved: true")
    form = [("csrf_token", state["csrf"]), *answers, ("du_doan", prediction)]
    deadline = time.time() + 90
    while True:
        r = call("contest-submit", "POST", attempt_path + "/nop", form)
        if r.status is not None or time.time() > deadline:
            break
        time.sleep(0.5)  # no answer: the server is down; send it again, as a phone would
    if r.status is None:
        with soak.lock:
            soak.submit_unanswered.add(token)
        return False
    if r.status != 200:
        return False
    outcome = r.headers.get("X-Contest-Submission")
    if outcome not in ("accepted", "already") or f'data-canonical="{base}/ket-qua/{token}"' not in r.text:
        soak.odd(f"submit: 200 without an acknowledgement ({outcome!r}) or not this attempt's result page")
        return False
    record = {"answers": {name[1:]: vs for name, vs in chosen.items()}, "prediction": float(prediction),
              "cookies": dict(client.cookies), "score": None, "shown": shown}
    with soak.lock:
        soak.attempts[token] = record
    match = SCORE.search(r.text)
    if match:
        record["score"] = (int(match.group(1)), int(match.group(2)))
    else:
        soak.odd("result page without the score")
    return True


def officer(soak: Soak, username: str, paths: list[str], kind: str) -> None:
    client = Client(soak.port)
    page = client.request("GET", "/dang-nhap")
    token = TOKEN.search(page.text).group(1)
    client.request("POST", "/dang-nhap", [("csrf_token", token), ("username", username), ("password", PASSWORD)])
    while not soak.stop.is_set():
        for path in paths:
            r = soak.record(kind, client.request("GET", path))
            if r.status is None:
                time.sleep(0.2)  # the server is restarting
            elif r.status == 302:  # session lost (a restarted server keeps the same key: should not happen)
                return


# -- the deployment -------------------------------------------------------------------------------


def contest_definition(folder: Path) -> tuple[Path, dict]:
    """The example contest with its rounds moved: the same four weekly rounds, round 2 open from a
    day ago to six days on (Vietnam time), so it is open for the whole run."""
    # Thousands of codes a day; and the score on the result page, which the consistency check
    # compares with the stored one (the example shows it only after the round: score_disclosure).
    text = (CONTEST_TOML.read_text(encoding="utf-8").replace("daily_codes = 1000\n", "daily_codes = 1000000\n")
            .replace('score_disclosure = "after_close"', 'score_disclosure = "immediately"'))
    first, last = text.index("[[rounds]]"), text.index("[[collective_prizes]]")
    names = re.findall(r'^name = "(.*)"$', text[first:last], re.MULTILINE)
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).replace(tzinfo=None, microsecond=0)
    opens = now - dt.timedelta(days=8)
    rounds = []
    for number, name in enumerate(names, start=1):
        start = opens + dt.timedelta(days=7 * (number - 1))
        end = start + dt.timedelta(days=7, seconds=-1)
        rounds.append(f'[[rounds]]\nnumber = {number}\nname = "{name}"\nopens = {start.isoformat()}\n'
                      f"closes = {end.isoformat()}\n")
    path = folder / "contest.toml"
    path.write_text(text[:first] + "\n".join(rounds) + "\n" + text[last:], encoding="utf-8")
    return path, tomllib.loads(path.read_text(encoding="utf-8"))


def make_deployment(folder: Path) -> tuple[Path, list[str], dict]:
    run("init", str(folder / "d"), "--plan", str(ROOT / "examples/duc-tho-2024/plan.toml"), "--plugin", "survey",
        "--plugin", "export", "--plugin", "contest")
    config = folder / "d" / "ccch.toml"
    # No per-device or per-address limits: every simulated phone comes from 127.0.0.1 (as in
    # bench/contest_bench.py for the contest's registrations and identification).
    with config.open("a", encoding="utf-8") as f:
        f.write("\n[plugins.survey]\nresponses_per_device_per_day = 0\nsubmissions_per_address_per_hour = 0\n"
                "\n[plugins.contest]\nlimit_register = [10000000, 60]\nlimit_identify = [10000000, 60]\n"
                "limit_start = [1000, 60]\nlimit_codes = [10000000, 60]\n")
    text = config.read_text(encoding="utf-8")  # thousands of one-time codes a day
    config.write_text(text.replace("[messages.daily_caps]\notp = 1000\n", "[messages.daily_caps]\notp = 10000000\n"),
                      encoding="utf-8")
    run("-c", str(config), "survey", "load", str(ROOT / "examples/surveys/sipas.toml"))
    run("-c", str(config), "survey", "place-kind", "sipas", "one_stop_desk", "--place", "Quầy tiếp nhận")
    codes = re.findall(r"^([A-Z0-9]{4,})\s", run("-c", str(config), "survey", "placements"), re.MULTILINE)
    path, definition = contest_definition(folder)
    slug = definition["contest"]["slug"]
    run("-c", str(config), "contest", "load", str(path))
    run("-c", str(config), "contest", "questions", "import", slug, str(QUESTIONS_CSV))
    run("-c", str(config), "contest", "publish", slug)
    run("-c", str(config), "users", "add", "admin", "--role", "plan_admin", "--password-stdin", stdin=PASSWORD + "\n")
    run("-c", str(config), "users", "add", "noivu", "--role", "contest_manager", "--password-stdin",
        stdin=PASSWORD + "\n")
    return config, codes, definition


# -- checks ---------------------------------------------------------------------------------------


def consistency(db: sqlite3.Connection) -> dict:
    """Parent/child consistency of the survey's and the contest's tables."""
    def one(sql):
        return db.execute(sql).fetchone()[0]

    return {
        "foreign key violations": len(db.execute("PRAGMA foreign_key_check").fetchall()),
        "survey answers without their response": one(
            "select count(*) from survey_answers a left join survey_responses r on r.id = a.response_id "
            "where r.id is null"),
        "survey responses without answers": one(
            "select count(*) from survey_responses r where not exists "
            "(select 1 from survey_answers a where a.response_id = r.id)"),
        "attempts without their participant": one(
            "select count(*) from contest_attempts a left join contest_participants p on p.id = a.participant_id "
            "where p.id is null"),
        "attempts without their round": one(
            "select count(*) from contest_attempts a left join contest_rounds r on r.id = a.round_id "
            "where r.id is null"),
        "submitted attempts without score or answers": one(
            "select count(*) from contest_attempts where status = 'submitted' and "
            "(score is null or total is null or submitted_ms is null or answers is null)"),
    }


def stored_contest(db: sqlite3.Connection, slug: str, secret: str) -> dict:
    from ccch_core.privacy import unseal

    contest_id = db.execute("select id from contest_contests where slug = ?", [slug]).fetchone()[0]
    attempts = {row[0]: row[1:] for row in db.execute(
        "select token, status, score, total, finish, answers, questions, prediction from contest_attempts "
        "where contest_id = ?", [contest_id])}
    # Contact numbers are sealed at rest (issue #16): opened with the deployment's secret.
    phones = {unseal(secret, "contest-contact", row[0]) for row in db.execute(
        "select contact_phone from contest_participants where contest_id = ?", [contest_id])}
    options = {row[0]: [o[0] for o in json.loads(row[1])] for row in db.execute(
        "select id, options from contest_questions where contest_id = ?", [contest_id])}
    return {"attempts": attempts, "phones": phones, "options": options}


def check_attempts(soak: Soak, stored: dict) -> collections.Counter:
    """Every acknowledged submission stored as submitted, by the participant, with the answers
    sent (displayed positions mapped back through the stored draw) and the score shown."""
    problems: collections.Counter = collections.Counter()
    for token, sent in soak.attempts.items():
        row = stored["attempts"].get(token)
        if row is None:
            problems["acknowledged attempt missing"] += 1
            continue
        status, score, total, finish, answers, questions, prediction = row
        if status != "submitted" or score is None or finish != "participant":
            problems[f"acknowledged attempt stored as {status}/{finish}, score {score}"] += 1
            continue
        drawn = json.loads(questions)
        kept = json.loads(answers or "{}")
        if total != len(drawn) or total != sent["shown"] or len(kept) != total:
            problems["acknowledged attempt with questions or answers missing"] += 1
            continue
        for position, values in sent["answers"].items():
            qid, order = drawn[int(position) - 1]
            keys = {stored["options"][qid][int(order[int(v) - 1])] for v in values}
            if set(kept.get(position, ())) != keys:
                problems["acknowledged attempt whose stored answers differ from those sent"] += 1
                break
        if prediction != sent["prediction"]:
            problems["acknowledged attempt with another prediction"] += 1
        if sent["score"] is not None and sent["score"] != (score, total):
            problems["result page showed another score than stored"] += 1
    return problems


def restore_check(folder: Path, backup: Path, soak: Soak, tokens: list[str], code: str) -> str:
    """Serve a copy of the deployment with the backup as its database (the restore of deploy.md):
    the survey page and the result pages of attempts acknowledged before the backup open."""
    target = folder / "restored"
    target.mkdir()
    for item in (folder / "d").iterdir():
        if item.is_file() and not item.name.startswith("ccch.db"):
            shutil.copy2(item, target / item.name)
    shutil.copy2(backup, target / "ccch.db")
    server = Server(target / "ccch.toml", free_port())
    server.start()
    try:
        ok = 0
        for token in tokens:
            client = Client(server.port)
            client.cookies = dict(soak.attempts[token]["cookies"])
            r = client.request("GET", f"/cuoc-thi/{soak.slug}/ket-qua/{token}")
            ok += r.status == 200 and SCORE.search(r.text) is not None
            client.close()
        survey = Client(server.port).request("GET", f"/k/{code}").status
    finally:
        server.stop()
    return f"served; survey page {survey}; {ok}/{len(tokens)} result pages of attempts in it open with their score"


def memory_verdict(memory: list[tuple[float, int, set[int]]], warmup: float, down: list[list[float]],
                   started: float) -> tuple[bool, list[str]]:
    """RSS at the start of the steady part, max and last, and the verdict. The steady part leaves
    out the first ``warmup`` seconds and, after a kill, the samples from the kill to ``warmup``
    seconds after the restart. A level is the median of 10 samples (one a second). "flat": the end
    level (last 10 steady samples) is within max(20 MiB, 10 %) of the start level (first 10), and
    so is every stretch of the steady part served by one server process of at least 60 samples
    (compared the same way: its last 10 against its first 10)."""
    restarts = [(k - started, u - started) for k, u in down]
    bounds = [0.0] + [u for _, u in restarts]
    segments: list[list[int]] = [[] for _ in bounds]
    for t, m, _ in memory:
        if t < warmup or not m or any(k - 1 <= t < u + warmup for k, u in restarts):
            continue
        segments[max(i for i, b in enumerate(bounds) if t >= b)].append(m)
    steady = [m for seg in segments for m in seg]
    if len(steady) < 20:
        return False, [f"too few steady samples ({len(steady)}) for a verdict: run longer or shorten --warmup"]

    def level(values):
        return statistics.median(values)

    start, end = level(steady[:10]), level(steady[-10:])
    bound = max(20 * MIB, 0.10 * start)
    growths = [("steady part", end - start)]
    growths += [(f"server {i + 1} alone", level(seg[-10:]) - level(seg[:10]))
                for i, seg in enumerate(segments) if len(segments) > 1 and len(seg) >= 60]
    flat = all(g <= bound for _, g in growths)
    pids = set().union(*(p for _, _, p in memory))
    recycled = max(0, len(pids) - 5 * len(segments))  # the master and 4 workers per server start
    lines = [(f"start {start / MIB:.0f} MiB (after {warmup:g} s warm-up), max {max(steady) / MIB:.0f}, "
              f"min {min(steady) / MIB:.0f}, last {steady[-1] / MIB:.0f} MiB; growth "
              + ", ".join(f"{what} {g / MIB:+.1f} MiB" for what, g in growths)
              + f"; bound {bound / MIB:.0f} MiB -> {'flat' if flat else 'GROWING'}"),
             (f"{len(steady)} steady samples of {len(memory)} (levels: medians of 10); workers recycled by "
              f"gunicorn: {recycled}"
              + (f"; samples from the kill to {warmup:g} s after the restart left out" if restarts else ""))]
    return flat, lines


# -- the run --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="length of the load (1, 5, 30…)")
    parser.add_argument("--citizens", type=int, default=8, help="survey citizens at a time")
    parser.add_argument("--participants", type=int, default=8, help="contest participants at a time")
    parser.add_argument("--officers", type=int, default=2, help="plan admins reading the dashboard")
    parser.add_argument("--managers", type=int, default=1, help="contest managers reading overview and leaderboard")
    parser.add_argument("--kill-at", type=float, help="SIGKILL the server this many seconds in, then restart it")
    parser.add_argument("--backup-at", type=float, help="take a backup this many seconds in")
    parser.add_argument("--warmup", type=float, help="seconds before the steady part of the memory check "
                                                      "(default: 15, or a quarter of a shorter run)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary deployment")
    args = parser.parse_args()
    seconds = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(15.0, seconds / 4)

    folder = Path(tempfile.mkdtemp(prefix="ccch-soak-"))
    config, codes, definition = make_deployment(folder)
    slug = definition["contest"]["slug"]
    excluded = set(definition["contest"].get("eligibility", {}).get("excluded_units", []))
    port = free_port()
    server = Server(config, port)
    server.start()
    soak = Soak(port, slug, excluded)
    soak.database = folder / "d" / "ccch.db"
    threads = [threading.Thread(target=citizen, args=(soak, codes, i)) for i in range(args.citizens)]
    threads += [threading.Thread(target=participant, args=(soak, i)) for i in range(args.participants)]
    threads += [threading.Thread(target=officer, args=(soak, "admin", ["/?period=2024-03", "/tong-hop?period=2024-Q1"],
                                                       "officer-get")) for _ in range(args.officers)]
    threads += [threading.Thread(target=officer, args=(soak, "noivu", [f"/cuoc-thi/quan-ly/{slug}",
                                                                      f"/cuoc-thi/{slug}/bang-xep-hang?vong=2"],
                                                       "manager-get")) for _ in range(args.managers)]
    for t in threads:
        t.start()
    started = time.time()
    memory: list[tuple[float, int, set[int]]] = []
    backup_path = folder / "backup.db"
    backup_done = kill_done = False
    before_backup = before_kill = None
    backup_seconds = 0.0
    while time.time() - started < seconds:
        time.sleep(1)
        elapsed = time.time() - started
        rss, pids = server.rss_kib()
        memory.append((elapsed, rss, pids))
        if args.backup_at is not None and not backup_done and elapsed >= args.backup_at:
            before_backup = soak.snapshot()
            t0 = time.time()
            run("-c", str(config), "backup", str(backup_path))
            backup_seconds = time.time() - t0
            backup_done = True
        if args.kill_at is not None and not kill_done and elapsed >= args.kill_at:
            before_kill = soak.snapshot()
            killed = time.time()
            server.kill()
            server.start()
            soak.down.append([killed, time.time()])
            kill_done = True
    soak.stop.set()
    for t in threads:
        t.join(timeout=120)
    stuck = sum(t.is_alive() for t in threads)
    server.stop()
    ran = time.time() - started

    # -- checks ------------------------------------------------------------------------------------
    problems: list[str] = []
    db = sqlite3.connect(folder / "d" / "ccch.db")
    stored_sids = {row[0] for row in db.execute("select submission_id from survey_responses")}
    secret = (folder / "d" / "secret_key").read_text(encoding="utf-8").strip()
    contest = stored_contest(db, slug, secret)
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    final_consistency = consistency(db)
    db.close()
    survey_lost = soak.survey_ack - stored_sids
    survey_extra = stored_sids - soak.survey_ack
    survey_extra_unexplained = survey_extra - soak.survey_unanswered
    phones_lost = soak.registered - contest["phones"]
    phones_extra = contest["phones"] - soak.registered
    submitted = {t for t, row in contest["attempts"].items() if row[0] == "submitted"}
    open_left = {t for t, row in contest["attempts"].items() if row[0] == "open"}
    other_states = collections.Counter(row[0] for row in contest["attempts"].values()
                                       if row[0] not in ("open", "submitted"))
    attempt_problems = check_attempts(soak, contest)
    attempts_extra = submitted - set(soak.attempts)
    attempts_extra_unexplained = attempts_extra - soak.submit_unanswered
    if survey_lost:
        problems.append(f"{len(survey_lost)} acknowledged survey submissions not stored")
    if survey_extra_unexplained:
        problems.append(f"{len(survey_extra_unexplained)} survey submissions stored that were never acknowledged "
                        "nor left unanswered")
    if phones_lost:
        problems.append(f"{len(phones_lost)} acknowledged registrations not stored")
    if len(phones_extra) > soak.register_unanswered:
        problems.append(f"{len(phones_extra)} registrations stored that were never acknowledged "
                        f"(only {soak.register_unanswered} got no answer)")
    problems += [f"{count} × {what}" for what, count in attempt_problems.items()]
    if attempts_extra_unexplained:
        problems.append(f"{len(attempts_extra_unexplained)} attempts stored as submitted that were never "
                        "acknowledged nor left unanswered")
    if other_states:
        problems.append(f"attempts in unexpected states: {dict(other_states)}")
    if len(open_left) > soak.broken_flows:
        problems.append(f"{len(open_left)} attempts left open, only {soak.broken_flows} flows broken by the kill")
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    problems += [f"database: {count} {what}" for what, count in final_consistency.items() if count]
    unexpected = {k: v for k, v in soak.statuses.items() if k[1] is not None and k[1] not in EXPECTED[k[0]]}
    out_of_window = [(kind, when) for kind, when in soak.failures
                     if not any(k - 1 <= when <= u + 5 for k, u in soak.down)]
    if unexpected:
        problems.append("unexpected statuses: " + ", ".join(f"{k} {s} ×{v}" for (k, s), v in sorted(unexpected.items())))
    if out_of_window:
        problems.append(f"{len(out_of_window)} requests got no answer while the server was up "
                        f"({collections.Counter(k for k, _ in out_of_window)})")
    problems += [f"{count} × {what}" for what, count in soak.oddities.items()]
    if stuck:
        problems.append(f"{stuck} load threads did not finish")

    backup_lines = []
    if backup_done:
        b = sqlite3.connect(backup_path)
        b_integrity = b.execute("PRAGMA integrity_check").fetchone()[0]
        b_consistency = consistency(b)
        b_sids = {row[0] for row in b.execute("select submission_id from survey_responses")}
        b_contest = stored_contest(b, slug, secret)
        b.close()
        b_submitted = {t for t, row in b_contest["attempts"].items() if row[0] == "submitted"}
        missing = {"survey submissions": len(before_backup["survey"] - b_sids),
                   "registrations": len(before_backup["phones"] - b_contest["phones"]),
                   "contest submissions": len(before_backup["attempts"] - b_submitted)}
        in_backup = sorted(before_backup["attempts"] & b_submitted)
        restored = restore_check(folder, backup_path, soak, in_backup[:5], codes[0])
        backup_lines = [(f"taken at {args.backup_at:g} s under load in {backup_seconds:.1f} s: integrity "
                         f"{b_integrity}; {len(b_sids):,} survey responses, {len(b_contest['phones']):,} "
                         f"participants, {len(b_submitted):,} submitted attempts"),
                        "holds every write acknowledged before it began: "
                        + ", ".join(f"{what} missing {n}" for what, n in missing.items()),
                        "consistency: " + ", ".join(f"{what} {n}" for what, n in b_consistency.items()),
                        f"restored: {restored}"]
        if b_integrity != "ok":
            problems.append(f"backup integrity_check: {b_integrity}")
        problems += [f"backup: {n} {what}" for what, n in b_consistency.items() if n]
        problems += [f"backup: {n} {what} acknowledged before it began are not in it" for what, n in missing.items() if n]
        wanted = min(5, len(in_backup))
        if not restored.endswith(f"{wanted}/{wanted} result pages of attempts in it open with their score") \
                or "survey page 200" not in restored:
            problems.append(f"restored backup: {restored}")
    flat, memory_lines = memory_verdict(memory, warmup, soak.down, started)
    if not flat:
        problems.append("server memory: " + memory_lines[0])

    # -- summary -----------------------------------------------------------------------------------
    print(f"\nsoak: {ran:.0f} s of load ({args.minutes:g} min), {args.citizens} citizens, {args.participants} contest "
          f"participants, {args.officers} officers, {args.managers} contest manager(s); ccch serve, 4 gunicorn "
          f"workers, {os.cpu_count()} cores; load average now {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    rows = [("what", "acknowledged", "stored", "missing", "stored, not acknowledged (allowed: no answer)"),
            ("survey submissions", f"{len(soak.survey_ack):,}", f"{len(stored_sids):,}", f"{len(survey_lost)}",
             f"{len(survey_extra)} ({len(soak.survey_unanswered)} posts got no answer)"),
            ("contest registrations", f"{len(soak.registered):,}", f"{len(contest['phones']):,}", f"{len(phones_lost)}",
             f"{len(phones_extra)} ({soak.register_unanswered} got no answer)"),
            ("contest attempts submitted", f"{len(soak.attempts):,}", f"{len(submitted):,}",
             f"{attempt_problems.get('acknowledged attempt missing', 0)}",
             f"{len(attempts_extra)} ({len(soak.submit_unanswered)} never answered)"),
            ("contest attempts left open", "-", f"{len(open_left)}", "-",
             f"allowed up to {soak.broken_flows} (flows broken by the kill)")]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print(("  " + "  ".join(c.ljust(w) if i in (0, 4) else c.rjust(w)
                                for i, (c, w) in enumerate(zip(r, widths, strict=True)))).rstrip())
    checked = len(soak.attempts) - sum(attempt_problems.values())
    print(f"  acknowledged attempts stored as submitted with the answers sent and the score shown: "
          f"{checked:,} of {len(soak.attempts):,}")
    print("statuses by kind (expected in brackets; ! unexpected; 429 intended only for contest-save-again):")
    kinds = list(EXPECTED)
    for kind in kinds:
        seen = {s: c for (k, s), c in soak.statuses.items() if k == kind}
        if not seen:
            continue
        parts = []
        for s, c in sorted(seen.items(), key=lambda kv: kv[0] or 0):
            label = "no answer (server down)" if s is None else str(s)
            mark = "!" if s is not None and s not in EXPECTED[kind] else ""
            parts.append(f"{mark}{label}: {c:,}")
        expected = "[" + ",".join(map(str, sorted(EXPECTED[kind]))) + "]"
        print(f"  {kind:21} {expected:10} " + ", ".join(parts))
    total = sum(soak.statuses.values())
    print(f"  {total:,} requests, {total / ran:,.0f}/s")
    if kill_done:
        k, u = soak.down[0]
        print(f"kill: SIGKILL at {k - started:.0f} s ({len(before_kill['survey']):,} survey submissions, "
              f"{len(before_kill['attempts']):,} contest submissions acknowledged by then), back up in {u - k:.1f} s; "
              f"{len(soak.failures)} requests got no answer, {len(out_of_window)} of them outside the down time")
    print(f"database: integrity_check {integrity}; " + ", ".join(f"{what} {n}" for what, n in final_consistency.items()))
    for i, line in enumerate(backup_lines):
        print(("backup: " if i == 0 else "        ") + line)
    for i, line in enumerate(memory_lines):
        print(("server RSS: " if i == 0 else "            ") + line)
    print("RESULT: " + ("ok" if not problems else "PROBLEM\n  - " + "\n  - ".join(problems)))
    if args.keep or problems:
        print(f"deployment kept in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
