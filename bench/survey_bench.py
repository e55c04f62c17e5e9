"""Benchmark of the survey plugin: the real server as ``ccch serve`` runs it, over loopback.

Builds a throw-away Đức Thọ deployment with the survey plugin and the SIPAS template, places a
poster at every one-stop desk and post-culture point, starts ``ccch serve`` (gunicorn with its
defaults: one sync worker per core) and measures, with wrk (Debian package ``wrk``, C,
two threads, so the load generator takes little of the machine's CPU):

1. the trivial endpoint ``/healthz``: requests/s and p99 latency — the reference;
2. survey submissions (POST, a fresh submission id each, one browser session): submissions/s and
   p99 as ratios to /healthz; then a count check: every submission acknowledged (the thank-you
   page, 200 with ``X-Survey-Result: stored``) must
   be in the database, and nothing else;
3. completed citizen responses: each simulated citizen has no cookies, opens the survey page,
   submits it with the form token and cookie it got, and gets the thank-you page as the answer
   (2 requests); only a thank-you page counts. 50 connections = 50 concurrent citizens;
4. the citizen page's transferred size (page + stylesheet, headers included, gzip as a phone
   accepts it; ``bench/wire_bench.py`` measures it with a phone's headers) and number of requests;
5. batch posters: A4 pages per second, QR generation included (in-process, server stopped);
6. a month's indices over 1,000,000 responses (13 satisfaction answers each): the results page's
   computation from the tallies, the plan measure, and — for comparison — the same GROUP BY over
   the raw answers with a covering index;
7. the peers' flow (``bench/peers_client.py``, a separate process): citizens with fresh cookies
   whose every form is parsed, as LimeSurvey's 19.4 completed responses a second were measured;
   completions a second, the multiple of LimeSurvey's figure, and whether the client or the
   server was the limit (``--peers-runs 3 --peers-seconds 30``; 0 runs to skip).

Every request comes from 127.0.0.1: the once-a-day rule is switched off in this deployment and the
per-address limit set where it is never reached (its counter runs, as in production), otherwise
the server would (rightly) refuse most of them. For the same reason the scans' per-address cap and
the address-burst flag are set where they are never reached (their counters still run), and the
reading-time flag is off (it costs no database work; everything the benchmark sends is faster than
a person). The answers vary from one submission to the next (scores 1–5), as citizens' do, so the
identical-answers flag keeps its default and looks, as for real citizens, without finding any. The
benchmark looks up known codes only: the unknown-code limit is only read.

    .venv/bin/python bench/survey_bench.py [--seconds 10] [--connections 50] [--responses 1000000]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
import urllib.request
from pathlib import Path

from _common import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
CCCH = str(Path(sys.executable).with_name("ccch"))
SCALE = ("tiep-can.1", "tiep-can.2", "tiep-can.3", "thu-tuc.1", "thu-tuc.2", "cong-chuc.1", "cong-chuc.2",
         "cong-chuc.3", "ket-qua.1", "ket-qua.2", "gop-y.1", "gop-y.2", "chung")
REQUIRED = [k for k in SCALE if k != "gop-y.2"]


def ccch(config: str, *args: str) -> str:
    return subprocess.run([CCCH, "-c", config, *args], check=True, capture_output=True, text=True).stdout


def parse_wrk(out: str) -> dict:
    """Requests/s, p99 (ms) and the counters our Lua scripts print."""
    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    result = {"rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
              "p99": ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1)),
              "p50": ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))}
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1) if errors else ""
    for key, value in re.findall(r"^COUNT (\w+) (\d+)$", out, re.MULTILINE):
        result[key] = int(value)
    return result


def wrk(url: str, seconds: int, connections: int, script: str | None = None, pgid: int | None = None) -> dict:
    """One wrk run; with ``pgid``, also the server's CPU time per request (robust to other load on
    the machine, unlike requests per second)."""
    before = server_cpu(pgid) if pgid else 0.0
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", script]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = parse_wrk(out) | {"raw": out}
    if pgid:
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        result["cpu_ms"] = (server_cpu(pgid) - before) * 1000 / max(requests, 1)
    return result


LUA_COMMON = r'''
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for _, name in ipairs(NAMES) do
      totals[name] = (totals[name] or 0) + (thread:get(name) or 0)
    end
  end
  for _, name in ipairs(NAMES) do io.write(string.format("COUNT %s %d\n", name, totals[name])) end
end
'''


def form_tokens(config: str, codes: list[str], run: int, count: int) -> list[tuple[str, str, str]]:
    """(code, submission id, form token) for ``count`` submissions, as the survey page would hand
    them out: a form token is good for one submission id of one placement's form."""
    from ccch_core.web import create_app
    from ccch_core.web.formtoken import issue_form_token

    app = create_app(config, migrate=False)
    with app.app_context():
        out = []
        for n in range(count):
            code, sid = codes[n % len(codes)], f"bench{run:02d}{n:014d}xx"
            out.append((code, sid, issue_form_token("survey", f"{code}|{sid}")))
    return out


def submissions_script(path: Path, tokens: list[tuple[str, str, str]], cookie: str) -> None:
    """POSTs of complete answers, a new submission id (and its form token) each, one device cookie."""
    def body(n: int) -> str:  # answers vary as citizens' do: the n-th submission's scores, in base 5
        return "&".join(f"q-{urllib.parse.quote(k)}={n // 5 ** i % 5 + 1}" for i, k in enumerate(REQUIRED))

    items = ",\n".join(f'{{"/k/{code}", "csrf_token={urllib.parse.quote(token)}&v=1&sid={sid}&{body(n)}"}}'
                        for n, (code, sid, token) in enumerate(tokens))
    path.write_text(LUA_COMMON + f"""
NAMES = {{"acked", "other"}}
local items = {{
{items}
}}
local n = 0
acked, other = 0, 0
function request()
  n = n + 1
  local item = items[((n - 1) * 2 + tid - 1) % #items + 1]
  return wrk.format("POST", item[1],
    {{["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = "{cookie}"}}, item[2])
end
function response(status, headers, body)
  if status == 200 and headers["X-Survey-Result"] == "stored" then acked = acked + 1 else other = other + 1 end
end
""")


def citizens_script(path: Path, codes: list[str]) -> None:
    """Fresh citizens: GET the page without cookies, POST it with what it gave; the answer to the
    POST is the thank-you page."""
    keys = ", ".join(f'"q-{urllib.parse.quote(k)}"' for k in REQUIRED)
    path.write_text(LUA_COMMON + textwrap.dedent(f'''
        NAMES = {{"pages", "acked", "thanks", "other"}}
        local codes = {{{", ".join(f'"{c}"' for c in codes)}}}
        local keys = {{{keys}}}
        local posts = {{}}
        local n = 0
        pages, acked, thanks, other = 0, 0, 0, 0
        local function urlencode(s)
          return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
        end
        local function answers()  -- each citizen answers as they see fit
          local out = {{}}
          for _, key in ipairs(keys) do table.insert(out, key .. "=" .. math.random(1, 5)) end
          return table.concat(out, "&")
        end
        function request()
          if #posts > 0 then
            local p = table.remove(posts, 1)
            return wrk.format("POST", p.path, {{["Content-Type"] = "application/x-www-form-urlencoded",
              ["Cookie"] = p.cookie}}, p.body)
          end
          n = n + 1
          return wrk.format("GET", "/k/" .. codes[(n % #codes) + 1])
        end
        function response(status, headers, body)
          if status == 200 and body:find('name="csrf_token"', 1, true) then
            pages = pages + 1
            local token = body:match('name="csrf_token" value="([^"]+)"')
            local sid = body:match('name="sid" value="([^"]+)"')
            local action = body:match('<form method="post" action="([^"]+)"')
            local cookie = (headers["Set-Cookie"] or ""):match("^([^;]+)") or ""
            table.insert(posts, {{path = action, cookie = cookie,
              body = "csrf_token=" .. urlencode(token) .. "&v=1&sid=" .. sid .. "&" .. answers()}})
          elseif status == 200 and headers["X-Survey-Result"] == "stored" then
            acked = acked + 1
            if body:find("đã góp ý!", 1, true) then thanks = thanks + 1 end  -- the thank-you page's heading
          else
            other = other + 1
          end
        end
    '''))


def page_weight(base: str, code: str) -> tuple[int, int, list[str]]:
    """Bytes on the wire (status line, headers, body) of the survey page and everything it loads."""
    parts = urllib.parse.urlsplit(base)
    total, requests, names = 0, 0, []
    paths = [f"/k/{code}"]
    while paths:
        path = paths.pop(0)
        conn = http.client.HTTPConnection(parts.hostname, parts.port)
        conn.request("GET", path, headers={"Accept-Encoding": "gzip, deflate, br"})
        response = conn.getresponse()
        body = response.read()
        head = f"HTTP/1.1 {response.status} {response.reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in response.getheaders()) + "\r\n"
        total += len(head.encode()) + len(body)
        requests += 1
        names.append(f"{path} ({len(body)} B body)")
        conn.close()
        if path.startswith("/k/"):
            text = (gzip.decompress(body) if response.getheader("Content-Encoding") == "gzip" else body).decode()
            paths += re.findall(r'<link rel="stylesheet" href="([^"]+)"', text)
            paths += re.findall(r'<script src="([^"]+)"', text)
            paths += re.findall(r'<img [^>]*src="([^"]+)"', text)
    return total, requests, names


def server_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the server's process group, workers that gunicorn
    recycled (``max_requests``) included: the master's ``cutime``/``cstime`` count its reaped children."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += int(fields[11]) + int(fields[12])  # utime, stime
            if int(entry) == pgid:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime: reaped workers
    return total / ticks


def count_responses(database: Path) -> int:
    """Stored responses, once the server has finished what was still queued when wrk stopped (its
    last requests may wait in the listen backlog): the count must stay the same for half a second."""
    last = None
    while True:
        with sqlite3.connect(database) as conn:
            now = conn.execute("select count(*) from survey_responses").fetchone()[0]
        if now == last:
            return now
        last = now
        time.sleep(0.5)


def poster_rate(config: str, pages: int) -> dict:
    """Batch A4 posters in-process (server stopped), QR generation included."""
    from ccch_survey import posters
    from ccch_survey.settings import settings_of
    from ccch_survey.store import list_placements, placement_url

    from ccch_core.deployment import Deployment

    dep = Deployment.open(config)
    settings = settings_of(dep)
    placed = list_placements(dep.db, survey_id="sipas")
    items = [posters.PosterItem(placement_url(dep.public_base_url, settings, f"Q{i:05d}"), f"Q{i:05d}",
                                dep.plan.unit(placed[i % len(placed)].unit_id).name, placed[i % len(placed)].place)
             for i in range(pages)]
    text = posters.PosterText(dep.config.name)
    result = {}
    for label, workers in (("one process", 1), (f"{os.cpu_count()} processes for QR codes", None)):
        start = time.perf_counter()
        data = posters.posters_pdf(items, text, "A4", workers=workers)
        elapsed = time.perf_counter() - start
        result[label] = (pages / elapsed, len(data))
    start = time.perf_counter()
    for item in items:
        posters.qr_matrix(item.url)
    result["qr"] = (time.perf_counter() - start) / pages * 1000
    dep.close()
    return result


def index_timing(config: str, responses: int) -> dict:
    """A month's indices over ``responses`` responses of 13 satisfaction answers each."""
    from ccch_survey.results import compute_results, satisfaction_measure
    from ccch_survey.store import list_placements, retally

    from ccch_core.deployment import Deployment
    from ccch_core.periods import Period
    from ccch_core.progress import MeasureContext

    dep = Deployment.open(config)
    db = dep.db
    placements = list_placements(db, survey_id="sipas")
    t0 = time.perf_counter()
    db.execute("delete from survey_answers")
    db.execute("delete from survey_responses")
    db.conn.commit()
    with db.conn:
        db.execute("create temp table pl (n integer primary key, id integer, unit_id text)")
        db.conn.executemany("insert into pl values (?, ?, ?)", [(i, p.id, p.unit_id) for i, p in enumerate(placements)])
        # March 2024: 31 days; 60% answer 5, 25% 4, 10% 3, 5% 1–2.
        db.execute(f"""
            insert into survey_responses (id, survey_id, version, placement_id, unit_id, submitted_at, day,
                                          submission_id, device_key, channel)
            with recursive n(i) as (select 1 union all select i + 1 from n where i < {responses})
            select i, 'sipas', 1, pl.id, pl.unit_id, '2024-03-15T03:00:00+00:00', 20240301 + (i % 31),
                   'bench-' || i, null, 'poster'
            from n join pl on pl.n = i % {len(placements)}""")
        values = ", ".join(f"('{k}')" for k in SCALE)
        db.execute(f"""
            insert into survey_answers (response_id, question_key, option_key, value)
            select r.id, q.column1, case when x < 60 then '5' when x < 85 then '4' when x < 95 then '3'
                                         when x < 98 then '2' else '1' end, null
            from (select id, abs(random()) % 100 as x from survey_responses) r cross join (values {values}) q
            order by r.id, q.column1""")
    t1 = time.perf_counter()
    retally(db, "sipas")
    t2 = time.perf_counter()
    answers = db.execute("select count(*) from survey_answers").fetchone()[0]
    march = Period.parse("2024-03")
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        res = compute_results(db, dep.plan, "sipas", march)
        timings.append(time.perf_counter() - start)
    assert res.overall.n == answers, (res.overall.n, answers)
    units = dep.plan.resolve(["bo-phan-mot-cua-xa", "trung-tam-hcc"], march)
    indicator = type("I", (), {"code": "KS1"})()
    start = time.perf_counter()
    measured = satisfaction_measure(MeasureContext(dep, indicator, march, units))
    measure_time = time.perf_counter() - start
    # For comparison: the same figures straight from the raw answers, with a covering index.
    start = time.perf_counter()
    db.execute("create index if not exists bench_raw on survey_responses (survey_id, day, placement_id, id)")
    db.conn.commit()
    raw_sql = ("select a.question_key, r.placement_id, a.option_key, count(*) from survey_responses r "
               "join survey_answers a on a.response_id = r.id where r.survey_id = 'sipas' and r.day between "
               "20240301 and 20240331 and r.excluded = 0 group by 1, 2, 3")
    index_time = time.perf_counter() - start
    start = time.perf_counter()
    raw_rows = db.execute(raw_sql).fetchall()
    raw_time = time.perf_counter() - start
    tally_rows = db.execute("select count(*) from survey_tallies where survey_id = 'sipas'").fetchone()[0]
    size = os.path.getsize(dep.config.database_path)
    dep.close()
    return {"responses": responses, "answers": answers, "load_s": t1 - t0, "retally_s": t2 - t1,
            "month_s": min(timings), "measure_s": measure_time, "units_measured": len(measured),
            "tally_rows": tally_rows, "raw_s": raw_time, "raw_groups": len(raw_rows), "raw_index_s": index_time,
            "db_mib": size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--posters", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating /healthz and submission runs.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary deployment.")
    parser.add_argument("--peers-runs", type=int, default=3, help="Runs of the peers' flow (0: skip).")
    parser.add_argument("--peers-seconds", type=float, default=30, help="Length of each run of the peers' flow.")
    parser.add_argument("--serve-args", default="", help='Extra `ccch serve` options, e.g. "--threads 1".')
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    folder = Path(tempfile.mkdtemp(prefix="ccch-survey-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    subprocess.run([CCCH, "init", str(folder), "--plan", str(ROOT / "examples/duc-tho-2024/plan.toml"),
                    "--public-base-url", base], check=True, capture_output=True)
    config = str(folder / "ccch.toml")
    text = Path(config).read_text(encoding="utf-8")
    text = re.sub(r"plugins = \[.*\]", 'plugins = ["survey"]', text)
    text += ("\n[plugins.survey]\n# Every request of the benchmark comes from 127.0.0.1: the per-device and\n"
             "# per-address limits would refuse them by design: the first is off, the second never reached.\n"
             "responses_per_device_per_day = 0\n"
             "submissions_per_address_per_hour = 1000000\n"
             "# Likewise the scans' per-address cap and the address-burst flag (their counters run), and\n"
             "# the reading-time flag (no database work; the benchmark answers faster than anyone reads).\n"
             "scan_devices_per_address_per_day = 1000000\nflag_responses_per_address_per_hour = 1000000\n"
             "flag_reading_chars_per_second = 0\n")
    Path(config).write_text(text, encoding="utf-8")
    ccch(config, "survey", "load", str(ROOT / "examples/surveys/sipas.toml"))
    ccch(config, "survey", "place-kind", "sipas", "one_stop_desk", "--place", "Quầy tiếp nhận hồ sơ")
    ccch(config, "survey", "place-kind", "sipas", "post_culture_point")
    ccch(config, "survey", "place", "sipas", "trung-tam-hcc", "--place", "Sảnh chờ")
    codes = re.findall(r"^([2-9A-Z]{6})\s", ccch(config, "survey", "placements"), re.MULTILINE)
    database = folder / "ccch.db"
    print(f"load average before: {os.getloadavg()[0]:.2f} (other processes share these cores)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; wrk -t2 -c{args.connections} -d{args.seconds}s; "
          f"`ccch serve {args.serve_args or '(defaults: gunicorn, one sync worker per core)'}`")
    server = subprocess.Popen([CCCH, "-c", config, "serve", "--port", str(port), *args.serve_args.split()],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_up(base + "/healthz")
        for code in codes:  # warm every worker
            urllib.request.urlopen(f"{base}/k/{code}").read()
        weight, requests, names = page_weight(base, codes[0])
        print(f"citizen page: {weight:,} bytes transferred in {requests} requests ({', '.join(names)}); "
              f"LimeSurvey 6 reference 1.2 MB in 28 requests: {1_200_000 / weight:.0f}x lighter")

        # One phone for the submission runs: its device cookie (form tokens are made below).
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", f"/k/{codes[0]}")
        page = conn.getresponse()
        cookies = "; ".join(c.split(";", 1)[0] for k, c in page.getheaders() if k.lower() == "set-cookie")
        page.read()
        conn.close()
        script = folder / "submit.lua"
        # Alternate the two runs (the machine's speed drifts); report the medians and every round.
        healths, subs = [], []
        for round_ in range(args.rounds):
            healths.append(wrk(base + "/healthz", args.seconds, args.connections, pgid=server.pid))
            before = count_responses(database)
            submissions_script(script, form_tokens(config, codes, round_, args.seconds * 3_000), cookies)
            sub = wrk(base + "/", args.seconds, args.connections, str(script), pgid=server.pid)
            sub["stored"] = count_responses(database) - before
            subs.append(sub)
            print(f"  round {round_ + 1}: /healthz {healths[-1]['rate']:,.0f} req/s p99 {healths[-1]['p99']:.1f} ms "
                  f"({healths[-1]['cpu_ms']:.2f} ms server CPU a request); submissions {sub['rate']:,.0f} req/s "
                  f"p99 {sub['p99']:.1f} ms ({sub['cpu_ms']:.2f} ms CPU) = {sub['rate'] / healths[-1]['rate']:.0%}")

        def median(values):
            values = sorted(values)
            return values[len(values) // 2]

        health = {k: median([h[k] for h in healths]) for k in ("rate", "p50", "p99", "cpu_ms")}
        sub = {k: median([s[k] for s in subs]) for k in ("rate", "p50", "p99", "cpu_ms")}
        ratio = median([s["rate"] / h["rate"] for s, h in zip(subs, healths)])
        print(f"/healthz:        {health['rate']:8,.0f} req/s   p50 {health['p50']:.1f} ms   p99 {health['p99']:.1f} ms")
        print(f"submissions:     {sub['rate']:8,.0f} req/s   p50 {sub['p50']:.1f} ms   p99 {sub['p99']:.1f} ms   "
              f"= {ratio:.0%} of /healthz's rate (median of {args.rounds} rounds), "
              f"p99 {sub['p99'] / health['p99']:.1f}x /healthz's")
        print(f"  server CPU a request: /healthz {health['cpu_ms']:.2f} ms, submission {sub['cpu_ms']:.2f} ms -> "
              f"{health['cpu_ms'] / sub['cpu_ms']:.0%}: the rate ratio on a machine where the server has the CPU")
        acked = sum(s["acked"] for s in subs)
        stored = sum(s["stored"] for s in subs)
        other = sum(s["other"] for s in subs)
        in_flight = args.connections * args.rounds
        verdict = "OK" if acked <= stored <= acked + in_flight and other == 0 else "FAILED"
        print(f"  count check: {acked:,} acknowledged (thank-you page), {other} other responses, {stored:,} stored; every "
              f"acknowledged submission is stored, the {stored - acked} more were in flight when wrk stopped "
              f"(at most {in_flight}) -> {verdict}")

        before = count_responses(database)
        script = folder / "citizens.lua"
        citizens_script(script, codes)
        cit = wrk(base + "/", args.seconds, args.connections, str(script), pgid=server.pid)
        stored = count_responses(database) - before
        print(f"citizens:        {cit['thanks'] / args.seconds:8,.0f} completed responses/s "
              f"({cit['pages']:,} pages, {cit['acked']:,} submissions acknowledged, {cit['thanks']:,} thank-you "
              f"pages, {cit['other']} other; {cit['rate']:,.0f} req/s, p99 {cit['p99']:.1f} ms, "
              f"{cit['cpu_ms'] * 2:.2f} ms server CPU a citizen); stored "
              f"{stored:,} -> {'OK' if cit['acked'] <= stored <= cit['acked'] + args.connections else 'FAILED'}; "
              f"LimeSurvey reference 19/s: "
              f"{cit['thanks'] / args.seconds / 19:.0f}x")
        if args.peers_runs:
            # The peers' flow: a separate Python process parsing every form, fresh cookies per citizen
            # (bench/peers_client.py), as LimeSurvey's 19.4/s was measured.
            from peers_client import run_peers

            before = count_responses(database)
            peers = run_peers("survey", port, codes[0], seconds=args.peers_seconds, users=args.connections,
                              runs=args.peers_runs, server_pgid=server.pid, server_cpu=server_cpu,
                              first_number=0)
            acked = sum(r["completions"] for r in peers)
            stored = count_responses(database) - before
            print(f"  peers' flow count check: {acked:,} acknowledged, {stored:,} stored -> "
                  f"{'OK' if stored == acked else 'FAILED'}")
        errors = [r["socket_errors"] for r in (*healths, *subs, cit) if r["socket_errors"]]
        if errors:
            print(f"  wrk socket errors: {'; '.join(errors)}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    rates = poster_rate(config, args.posters)
    qr = rates.pop("qr")
    for label, (rate, size) in rates.items():
        print(f"posters A4, {label}: {rate:,.0f} pages/s ({args.posters} pages, {size // 1024} KiB PDF)")
    print(f"  QR generation alone: {qr:.1f} ms a code")

    timing = index_timing(config, args.responses)
    print(f"indices: {timing['responses']:,} responses, {timing['answers']:,} satisfaction answers "
          f"(database {timing['db_mib']:,.0f} MiB; generated in {timing['load_s']:.0f} s, tallies rebuilt in "
          f"{timing['retally_s']:.1f} s = {timing['tally_rows']:,} tally rows)")
    print(f"  month's indices (results page, from tallies): {timing['month_s'] * 1000:,.0f} ms")
    print(f"  plan measure survey_satisfaction for {timing['units_measured']} units: {timing['measure_s'] * 1000:,.0f} ms")
    print(f"  for comparison, GROUP BY over the raw answers (covering index): {timing['raw_s'] * 1000:,.0f} ms "
          f"({timing['raw_groups']:,} groups)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.keep:
        print(f"kept: {folder}")
    else:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
