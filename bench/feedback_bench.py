"""Benchmark of the feedback plugin: asking through the real server, and the Q&A search.

Builds a throw-away Đức Thọ deployment with the feedback plugin, loads 100,000 answered and
published questions (synthetic, from a vocabulary of procedures, with their folded text in the FTS5
index, as approval puts them there), then:

1. search in-process, as the Q&A page's view runs it (``store.search``): a mix of queries typed
   without and with tones, common ("dang ky", matching a large share of the items) and rare, first
   page of 20 by FTS5 rank; p50 / p99 / max over ``--queries`` queries;
2. starts ``ccch serve`` (gunicorn with its defaults: one sync worker per core) and measures with wrk
   (Debian package ``wrk``) in alternating rounds: the trivial endpoint ``/healthz`` (the reference)
   and asking (POST of the public form, a fresh submission id and form token each, as the form page
   hands them out): requests/s and p99 as ratios to /healthz, and the server's CPU per request;
   then a count check: every answered 303 (the redirect to the status page) is a stored item;
3. the search page through the same server (``GET /hoi-dap/?q=…``, cycling through the queries);
4. the form page's transferred size (page + stylesheet).

Every request comes from 127.0.0.1, so the per-address limit is set where it is never reached (its
counter runs, as in production).

    .venv/bin/python bench/feedback_bench.py [--seconds 10] [--connections 50] [--items 100000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
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

# The same wrk helpers as the survey's benchmark.
from _common import free_port, wait_until_up
from survey_bench import LUA_COMMON, wrk

ROOT = Path(__file__).resolve().parents[1]
CCCH = str(Path(sys.executable).with_name("ccch"))

OBJECTS = ["giấy khai sinh", "đăng ký kết hôn", "giấy chứng nhận quyền sử dụng đất", "hộ kinh doanh",
           "chứng thực bản sao", "giấy phép xây dựng", "đăng ký thường trú", "trợ cấp xã hội", "bảo hiểm y tế",
           "khai tử", "căn cước công dân", "đăng ký doanh nghiệp", "cấp đổi giấy phép lái xe", "hộ nghèo",
           "chuyển nhượng đất", "tách thửa", "đăng ký tạm trú", "giấy xác nhận tình trạng hôn nhân",
           "hỗ trợ người có công", "cấp phiếu lý lịch tư pháp", "thuế môn bài", "đăng ký nhãn hiệu"]
VERBS = ["Thủ tục", "Hồ sơ", "Thời hạn giải quyết", "Lệ phí", "Nơi nộp hồ sơ", "Cấp lại", "Điều kiện",
         "Nộp trực tuyến", "Sửa đổi thông tin", "Xin xác nhận"]
PLACES = ["tại xã An Dũng", "ở thị trấn Đức Thọ", "tại Bộ phận một cửa huyện", "cho người cao tuổi",
          "khi đi làm ăn xa", "của doanh nghiệp nhỏ", "cho con dưới 6 tuổi", "tại UBND xã", ""]
FILLER = ["Tôi muốn hỏi cần chuẩn bị những giấy tờ gì.", "Xin cho biết thời gian giải quyết bao lâu.",
          "Có thể nộp qua Cổng dịch vụ công quốc gia không?", "Gia đình tôi ở xa nên không đi lại được nhiều lần.",
          "Cán bộ hướng dẫn chưa rõ ràng.", "Đề nghị cơ quan hướng dẫn cụ thể."]
ANSWERS = ["Hồ sơ gồm tờ khai theo mẫu và giấy tờ chứng minh.", "Thời hạn giải quyết là 03 ngày làm việc.",
           "Công dân có thể nộp trực tuyến trên Cổng dịch vụ công quốc gia.",
           "Lệ phí theo Nghị quyết của Hội đồng nhân dân tỉnh.", "Đề nghị liên hệ Bộ phận một cửa để được hướng dẫn.",
           "Căn cứ Luật Hộ tịch và các văn bản hướng dẫn thi hành."]
QUERIES = ["giay khai sinh", "giấy khai sinh", "dang ky", "Đăng ký kết hôn", "quyen su dung dat", "giay phep xay dung",
           "ho kinh doanh", "bao hiem y te", "thuong tru", "tro cap xa hoi", "khai tu", "can cuoc",
           "ly lich tu phap", "nhan hieu", "tach thua", "thoi han giai quyet", "le phi", "nop truc tuyen",
           "xa an dung", "mot cua", "nguoi co cong", "thue mon bai", "dang", "giay"]
FIELDS = ["ho-tich", "chung-thuc", "dat-dai", "xay-dung", "dang-ky-kinh-doanh", "lao-dong-xa-hoi", "cu-tru", "khac"]
UNITS = ["phong-tu-phap", "phong-tckh", "phong-noi-vu", "xa-an-dung", "tt-duc-tho", "trung-tam-hcc"]


def ccch(config: str, *args: str) -> str:
    return subprocess.run([CCCH, "-c", config, *args], check=True, capture_output=True, text=True).stdout


def load_items(database: Path, count: int) -> float:
    """``count`` answered, published questions with their index rows; seconds taken."""
    from ccch_feedback.store import fold_text

    rng = random.Random(21)
    started = time.perf_counter()
    conn = sqlite3.connect(database)
    conn.execute("pragma journal_mode = wal")
    items, index = [], []
    for n in range(1, count + 1):
        obj = rng.choice(OBJECTS)
        title = f"{rng.choice(VERBS)} {obj} {rng.choice(PLACES)}".strip()
        body = f"{title}? " + " ".join(rng.sample(FILLER, 3))
        answer = " ".join(rng.sample(ANSWERS, 3)) + f" Về {obj}: xem hướng dẫn tại Bộ phận một cửa."
        day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        at = f"{day}T03:00:{n % 60:02d}+00:00"
        items.append((n, f"B{n:09d}", rng.choice(FIELDS), rng.choice(UNITS), title, body, answer, at, day,
                      rng.randint(1, 5)))
        index.append((n, fold_text(f"{title}\n{body}\n{answer}")))
    with conn:
        conn.executemany(
            "insert into feedback_items (id, code, kind, requester, field, unit_id, status, title, body, public_wanted, "
            "published, public_title, public_body, public_answer, answer, answered_at, answered_day, on_time, "
            "received_at, received_day, due_day, updated_at, asked_count) values (?1, ?2, 'question', 'citizen', ?3, "
            "?4, 'answered', ?5, ?6, 1, 1, ?5, ?6, ?7, ?7, ?8, ?9, 1, ?8, ?9, ?9, ?8, ?10)", items)
        conn.executemany("insert into feedback_search (rowid, text) values (?, ?)", index)
        conn.execute("insert into feedback_search (feedback_search) values ('optimize')")
    conn.close()
    return time.perf_counter() - started


def search_timing(config: str, queries: int) -> dict:
    """In-process ``store.search`` as the view calls it: first page (20 + 1 rows)."""
    from ccch_feedback import store

    from ccch_core.deployment import Deployment

    dep = Deployment.open(config)
    db = dep.db
    times, hits = [], {}
    for q in QUERIES:  # warm the page cache
        store.search(db, q, limit=21)
    for n in range(queries):
        q = QUERIES[n % len(QUERIES)]
        t = time.perf_counter()
        rows = store.search(db, q, limit=21)
        times.append((time.perf_counter() - t) * 1000)
        hits[q] = len(rows)
    matches = {q: db.execute("select count(*) from feedback_search where feedback_search match ?",
                             [store.match_expression(q)]).fetchone()[0] for q in ("dang ky", "giay khai sinh", "tach thua")}
    dep.close()
    times.sort()
    return {"p50": statistics.median(times), "p99": times[int(len(times) * 0.99) - 1], "max": times[-1],
            "n": len(times), "matches": matches, "empty": [q for q, h in hits.items() if not h]}


def ask_tokens(config: str, count: int, run: int) -> list[tuple[str, str]]:
    """(submission id, form token) pairs as the form page hands them out."""
    from ccch_core.web import create_app
    from ccch_core.web.formtoken import issue_form_token

    app = create_app(config, migrate=False)
    with app.app_context():
        return [(sid, issue_form_token("feedback-ask", sid))
                for sid in (f"bench{run:02d}{n:010d}" for n in range(count))]


def ask_script(path: Path, tokens: list[tuple[str, str]]) -> None:
    """POSTs of the public form, a new submission id (and its token) each; a 303 is acknowledged."""
    base = {"loai": "hoi-dap", "nguoi-hoi": "ca-nhan", "linh-vuc": "ho-tich", "tieu-de": "Cấp bản sao giấy khai sinh",
            "noi-dung": "Tôi cần cấp bản sao giấy khai sinh cho con, nộp ở đâu và mất bao lâu?",
            "cong-khai": "cong-khai"}
    fixed = urllib.parse.urlencode(base)
    items = ",\n".join(f'"csrf_token={urllib.parse.quote(token)}&sid={sid}&{fixed}"' for sid, token in tokens)
    path.write_text(LUA_COMMON + f"""
NAMES = {{"acked", "other"}}
local items = {{
{items}
}}
local n = 0
acked, other = 0, 0
function request()
  n = n + 1
  local body = items[((n - 1) * 2 + tid - 1) % #items + 1]
  return wrk.format("POST", "/hoi-dap/gui", {{["Content-Type"] = "application/x-www-form-urlencoded"}}, body)
end
function response(status, headers, body)
  if status == 303 then acked = acked + 1 else other = other + 1 end
end
""")


def search_script(path: Path) -> None:
    urls = ",\n".join(f'"/hoi-dap/?q={urllib.parse.quote_plus(q)}"' for q in QUERIES)
    path.write_text(LUA_COMMON + f"""
NAMES = {{"ok", "other"}}
local urls = {{
{urls}
}}
local n = 0
ok, other = 0, 0
function request()
  n = n + 1
  return wrk.format("GET", urls[(n * 2 + tid) % #urls + 1])
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end
""")


def count_items(database: Path) -> int:
    last = None
    while True:
        with sqlite3.connect(database) as conn:
            now = conn.execute("select count(*) from feedback_items").fetchone()[0]
        if now == last:
            return now
        last = now
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating /healthz and asking runs.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary deployment.")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    folder = Path(tempfile.mkdtemp(prefix="ccch-feedback-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    subprocess.run([CCCH, "init", str(folder), "--plan", str(ROOT / "examples/duc-tho-2024/plan.toml"),
                    "--public-base-url", base], check=True, capture_output=True)
    config = str(folder / "ccch.toml")
    text = Path(config).read_text(encoding="utf-8")
    text = re.sub(r"plugins = \[.*\]", 'plugins = ["feedback"]', text)
    text += ("\n[plugins.feedback]\n# Every request of the benchmark comes from 127.0.0.1: the per-address limit\n"
             "# is set where it is never reached (its counter still runs).\nasks_per_address_per_hour = 1000000\n")
    Path(config).write_text(text, encoding="utf-8")
    ccch(config, "db", "migrate")
    database = folder / "ccch.db"
    print(f"load average before: {os.getloadavg()[0]:.2f} (other processes share these cores)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; wrk -t2 -c{args.connections} -d{args.seconds}s; `ccch serve` defaults")
    took = load_items(database, args.items)
    print(f"loaded {args.items:,} answered questions with their search index in {took:.1f} s; "
          f"database {database.stat().st_size / 1e6:.0f} MB")
    s = search_timing(config, args.queries)
    print(f"search in-process over {args.items:,} answers ({s['n']:,} queries, {len(QUERIES)} kinds, first page): "
          f"p50 {s['p50']:.2f} ms, p99 {s['p99']:.2f} ms, max {s['max']:.2f} ms; "
          f"matches: {', '.join(f'{q!r} {c:,}' for q, c in s['matches'].items())}"
          + (f"; no result for {s['empty']}" if s["empty"] else ""))
    server = subprocess.Popen([CCCH, "-c", config, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_up(base + "/healthz")
        for _ in range(8):
            urllib.request.urlopen(base + "/hoi-dap/gui").read()
        page = urllib.request.urlopen(base + "/hoi-dap/gui")
        html = page.read()
        css = urllib.request.urlopen(base + "/static/public.css").read()
        print(f"form page: {len(html):,} bytes + stylesheet {len(css):,} bytes = {len(html) + len(css):,} bytes, "
              f"2 requests, no script")
        script = folder / "ask.lua"
        healths, asks, stored_before = [], [], count_items(database)
        for round_ in range(args.rounds):
            healths.append(wrk(base + "/healthz", args.seconds, args.connections, pgid=server.pid))
            ask_script(script, ask_tokens(config, 20_000, round_))
            ask = wrk(base + "/", args.seconds, args.connections, str(script), pgid=server.pid)
            asks.append(ask)
            print(f"  round {round_ + 1}: /healthz {healths[-1]['rate']:,.0f} req/s p99 {healths[-1]['p99']:.1f} ms "
                  f"({healths[-1]['cpu_ms']:.2f} ms CPU); asking {ask['rate']:,.0f} req/s p99 {ask['p99']:.1f} ms "
                  f"({ask['cpu_ms']:.2f} ms CPU); 303 {ask.get('acked', 0):,}, other {ask.get('other', 0):,}")
        health_rate = statistics.median(h["rate"] for h in healths)
        ask_rate = statistics.median(a["rate"] for a in asks)
        health_p99 = statistics.median(h["p99"] for h in healths)
        ask_p99 = statistics.median(a["p99"] for a in asks)
        health_cpu = statistics.median(h["cpu_ms"] for h in healths)
        ask_cpu = statistics.median(a["cpu_ms"] for a in asks)
        print(f"asking (medians of {args.rounds} rounds): {ask_rate:,.0f} req/s = {ask_rate / health_rate:.0%} of "
              f"/healthz ({health_rate:,.0f}); p99 {ask_p99:.1f} ms vs {health_p99:.1f} ms; server CPU a request "
              f"{ask_cpu:.2f} ms vs {health_cpu:.2f} ms")
        acked = sum(a.get("acked", 0) for a in asks)
        stored = count_items(database) - stored_before
        print(f"count check: {acked:,} acknowledged (303), {stored:,} stored"
              + (" — every acknowledged item is stored" if stored >= acked else " — MISSING ITEMS"))
        search_script(folder / "search.lua")
        sr = wrk(base + "/", args.seconds, args.connections, str(folder / "search.lua"), pgid=server.pid)
        print(f"search page through the server: {sr['rate']:,.0f} req/s, p50 {sr['p50']:.1f} ms, p99 "
              f"{sr['p99']:.1f} ms ({sr['cpu_ms']:.2f} ms CPU); 200 {sr.get('ok', 0):,}, other {sr.get('other', 0):,}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}")


if __name__ == "__main__":
    main()
