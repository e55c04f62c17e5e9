"""Benchmark of the initiatives plugin: a call with 2,000 entries judged by 5 judges each.

Builds a throw-away Đức Thọ deployment with the plugin and the example call (dates moved so that it
takes entries now), then measures, in process (the real Flask app through its test client, real
SQLite in WAL mode on disk):

1. entries: the submission of each of the 2,000 entries (a DOCX of about 400 words made for it:
   type check, zip check, text extraction, judges' copy, name check, fingerprint, and the
   near-duplicate comparison with every earlier entry of the call), by median and 95th percentile,
   and the last 100 apart (each compared with about 1,900 others);
2. assignment: 25 judges of 25 units, 5 judges per entry (10,000 assignments), conflicts excluded
   and loads balanced: the time of one run, and the spread of the loads;
3. scoring pages, as the judges use them: a judge's list (400 entries each), the scoring page of
   one entry (its text, blind), and the POST of a complete sheet (4 scores: validation, the audit
   rows, the write) — medians and p95 over 200 requests each;
4. aggregation: ``results`` (every sheet of the round in one pass: 10,000 sheets, 40,000 scores),
   the ranking by category with the tie-breaks, the awards, and the secretary's overview page.

    .venv/bin/python bench/initiatives_bench.py [--entries 2000] [--judges-per-entry 5] [--judges 25]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CCCH = str(Path(sys.executable).with_name("ccch"))
WORDS = ["thủ", "tục", "hành", "chính", "một", "cửa", "liên", "thông", "người", "dân", "doanh", "nghiệp", "hồ", "sơ", "trực", "tuyến", "cổng", "dịch", "vụ", "công", "định", "danh", "điện", "tử", "thời", "gian", "giải", "quyết", "chi", "phí", "tiết", "kiệm", "công", "chức", "tiếp", "nhận", "trả", "kết", "quả", "niêm", "yết", "hướng", "dẫn", "số", "hóa", "chữ", "ký", "số", "thanh", "toán", "trực", "tuyến", "phản", "ánh", "kiến", "nghị", "khảo", "sát", "hài", "lòng", "xã", "thị", "trấn", "huyện", "tỉnh", "quy", "trình", "nội", "bộ", "cải", "tiến", "giảm", "bớt", "giấy", "tờ", "bản", "sao", "chứng", "thực"]


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--judges-per-entry", type=int, default=5)
    parser.add_argument("--judges", type=int, default=25)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    from ccch_initiatives.calls import appoint, get_call
    from ccch_initiatives.cli import _trial
    from ccch_initiatives.documents import check_document, plain_docx
    from ccch_initiatives.entries import check_form, submit_entry
    from ccch_initiatives.judging import (
        assign_judges,
        assignments,
        decide_awards,
        rank,
        results,
    )

    from ccch_core import accounts
    from ccch_core.config import load_config
    from ccch_core.deployment import Deployment
    from ccch_core.testing import PASSWORD, csrf_token, login
    from ccch_core.web import create_app

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {__import__('sqlite3').sqlite_version}")
    rng = random.Random(22)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "dep"
        subprocess.run([CCCH, "init", str(folder), "--plan", str(ROOT / "examples/duc-tho-2024/plan.toml"),
                        "--plugin", "initiatives"], check=True, capture_output=True)
        call_file = Path(tmp) / "call.toml"
        text = (ROOT / "examples/duc-tho-2024/initiatives.toml").read_text(encoding="utf-8")
        call_file.write_text(_trial(text, dt.datetime.now(dt.UTC)).replace(
            "final_judges_per_entry = 5", f"final_judges_per_entry = {args.judges_per_entry}").replace(
            "judges_per_entry = 3", f"judges_per_entry = {args.judges_per_entry}"), encoding="utf-8")
        config = folder / "ccch.toml"
        subprocess.run([CCCH, "-c", str(config), "initiatives", "load", str(call_file)], check=True,
                       capture_output=True)
        dep = Deployment(load_config(config))
        dep.prepare_database(migrate=False)
        call = get_call(dep.db, "sang-kien-cchc-2024")
        plan = dep.plan
        communes = [u.id for u in plan.resolve(["cac-xa-thi-tran"])]
        offices = [u.id for u in plan.resolve(["phong-ban-nganh-huyen"])]
        units = communes + offices
        categories = [c.key for c in call.definition.categories]

        # 1. entries
        times = []
        for i in range(args.entries):
            unit = rng.choice(units)
            words = [rng.choice(WORDS) for _ in range(400)]
            paragraphs = [" ".join(words[j:j + 80]) for j in range(0, 400, 80)]
            form = {"title": f"Sáng kiến số {i + 1}: " + " ".join(words[:8]), "category": rng.choice(categories),
                    "entrant_kind": "person", "unit_id": unit, "author_1": f"Tác Giả Thứ {i + 1}",
                    "contact_email": f"tacgia{i}@ductho.gov.vn", "summary": " ".join(words[:60]), "consent": "1"}
            start = time.perf_counter()
            fields = check_form(plan, call, form)
            submit_entry(dep, call, fields, check_document(plain_docx(paragraphs)))
            times.append(time.perf_counter() - start)
        print(f"\n1. {args.entries} entries submitted: median {ms(statistics.median(times))}, "
              f"p95 {ms(pct(times, 0.95))}; the last 100: median {ms(statistics.median(times[-100:]))}, "
              f"p95 {ms(pct(times[-100:], 0.95))}; total {sum(times):.1f} s")
        size = os.path.getsize(folder / "ccch.db")
        print(f"   database: {size / 1e6:.1f} MB ({size / args.entries / 1000:.1f} KB an entry, documents included)")

        # 2. assignment
        judge_units = rng.sample(units, args.judges) if args.judges <= len(units) else [rng.choice(units)
                                                                                       for _ in range(args.judges)]
        names = []
        for n, unit in enumerate(judge_units):
            name = f"giamkhao{n}"
            accounts.create_user(dep.db, plan, name, PASSWORD, "viewer")
            appoint(dep, call, name, "judge", unit, actor="bench")
            names.append(name)
        secretary = "thuky"
        accounts.create_user(dep.db, plan, secretary, PASSWORD, "viewer")
        appoint(dep, call, secretary, "secretary", None, actor="bench")
        start = time.perf_counter()
        report = assign_judges(dep, call, "preliminary", actor="bench")
        took = time.perf_counter() - start
        loads = sorted(report.loads.values())
        print(f"\n2. assignment of {report.created} (entry, judge) pairs, {report.moved} moved: {took:.2f} s; "
              f"loads {loads[0]}–{loads[-1]} entries a judge; {len(report.short)} entries short of judges")

        # 3. scoring pages
        app = create_app(deployment_obj=dep, test_config={"TESTING": True})
        clients = {}
        for name in names:
            client = app.test_client()
            assert login(client, name, PASSWORD).status_code == 302
            clients[name] = client
        slug = call.slug
        lists, pages, posts = [], [], []
        every = assignments(dep.db, call.id, "preliminary")
        sample = rng.sample(every, min(args.requests, len(every)))
        for a in sample:
            client = clients[a.username]
            start = time.perf_counter()
            response = client.get(f"/sang-kien/hoi-dong/{slug}/cham")
            lists.append(time.perf_counter() - start)
            assert response.status_code == 200
            url = f"/sang-kien/hoi-dong/{slug}/cham/{a.id}"
            start = time.perf_counter()
            response = client.get(url)
            pages.append(time.perf_counter() - start)
            assert response.status_code == 200
            token = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)
            data = {"csrf_token": token, "action": "submit", "comment": "Nhận xét chung."}
            for c in call.definition.criteria:
                data[f"score_{c.key}"] = str(rng.randint(c.low, c.high))
                data[f"comment_{c.key}"] = "Nhận xét."
            start = time.perf_counter()
            response = client.post(url, data=data)
            posts.append(time.perf_counter() - start)
            assert response.status_code == 303, response.status_code
        per_judge = len(every) // len(names)
        print(f"\n3. scoring pages over {len(sample)} requests each (a judge has about {per_judge} entries):")
        print(f"   the judge's list:      median {ms(statistics.median(lists))}, p95 {ms(pct(lists, 0.95))}")
        print(f"   the scoring page:      median {ms(statistics.median(pages))}, p95 {ms(pct(pages, 0.95))}")
        print(f"   a sheet sent (POST):   median {ms(statistics.median(posts))}, p95 {ms(pct(posts, 0.95))}")

        # Every other sheet, sent straight into the tables (the figures below need them all).
        stamp = "2026-01-01T00:00:00+00:00"
        done = {a.id for a in sample}
        rows, sent = [], []
        for a in every:
            if a.id in done:
                continue
            for c in call.definition.criteria:
                rows.append((a.id, c.key, rng.randint(c.low, c.high), "", stamp))
            sent.append((stamp, a.id))
        with dep.db.conn:
            dep.db.conn.executemany("insert into initiative_scores (assignment_id, criterion, score, comment, "
                                    "updated_at) values (?, ?, ?, ?, ?)", rows)
            dep.db.conn.executemany("update initiative_assignments set submitted_at = ? where id = ?", sent)

        # 4. aggregation
        timings = {}
        for label, work in (("results (every sheet, one pass)", lambda: results(dep.db, call, "preliminary")),
                            ("results + ranking by category", lambda: rank(call, results(dep.db, call, "preliminary"))),
                            ("awards decided and stored", lambda: decide_awards(dep, call, actor="bench"))):
            runs = []
            for _ in range(5):
                start = time.perf_counter()
                out = work()
                runs.append(time.perf_counter() - start)
            timings[label] = (statistics.median(runs), out)
        flagged = sum(1 for r in results(dep.db, call, "preliminary") if r.flagged)
        sheets = dep.db.execute("select count(*) from initiative_assignments where submitted_at is not null").fetchone()[0]
        scores = dep.db.execute("select count(*) from initiative_scores").fetchone()[0]
        print(f"\n4. aggregation over {sheets} sheets ({scores} scores), median of 5 runs:")
        for label, (seconds, _out) in timings.items():
            print(f"   {label + ':':34} {ms(seconds)}")
        print(f"   {flagged} entries flagged (judges more than "
              f"{call.definition.disagreement_threshold:g} points apart; scores drawn at random)")
        secretary_client = app.test_client()
        assert login(secretary_client, secretary, PASSWORD).status_code == 302
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            response = secretary_client.get(f"/sang-kien/hoi-dong/{slug}")
            runs.append(time.perf_counter() - start)
            assert response.status_code == 200
        print(f"   the secretary's overview page:     {ms(statistics.median(runs))} "
              f"({len(response.get_data()) / 1e6:.1f} MB of HTML)")
        csrf_token  # noqa: B018 - imported for symmetry with the tests' helpers
        dep.close()


if __name__ == "__main__":
    main()
