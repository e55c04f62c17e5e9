"""The plugins' pages that offer a choice of unit, on a plan the size of the country (#26 part 3).

The contest, survey, feedback and initiatives plugins each have pages where an officer (or a
citizen) chooses a unit: the contest's set-up page (organiser, eligible units) and its posters
page, its public registration form; the survey's results and placements (posters) pages; the
feedback plugin's public form, public list, officer's item page (assign/forward to a unit) and
placements page; the initiatives' set-up page. On the national plan (``bench/national_plan.py``:
36,647 units, 3,321 communes) a page that lists every unit is megabytes; this bench renders each
through Flask's test client (the whole request: routing, sign-in, queries, template) as the plan
administrator, or as a citizen for the public pages, and prints its size and its median wall and
CPU time over ``--repeat`` requests after one warm-up. Target: every page ≤ 200 KB. Then what
the unit picker costs when a form is sent with a name typed (``unit_picker.resolve_unit``, in
process) and the whole post of the feedback form naming a commune two provinces share.

The deployment is made from the generated plan alone (these pages do not read the year's
measurements): the plan file of ``--plan`` (default: the one in ``--keep``'s ``data/`` folder,
generated there when missing), one contest, the SIPAS survey of ``examples/surveys`` with a poster,
one question asked through the public form, one call for initiatives.

    .venv/bin/python bench/national_plugin_pages_bench.py --keep /tmp/national-plugins --repeat 3
    .venv/bin/python bench/national_plugin_pages_bench.py --scale 0.05      # a quick run (1,894 units)
    .venv/bin/python bench/national_plugin_pages_bench.py --plan examples/duc-tho-2024/plan.toml  # Đức Thọ
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

PAGE_LIMIT = 200 * 1024
PASSWORD = "mat-khau-bench-2026"
PLUGINS = ("contest", "survey", "feedback", "initiatives")


def _contest_definition(plan) -> dict:
    """A small contest for the whole plan: citizens of every commune, one round open now."""
    from ccch_core.periods import VN_TZ

    now = dt.datetime.now(VN_TZ).replace(tzinfo=None, microsecond=0)
    organiser = next(u for u in plan.units if not u.external and u.parent is None)
    communes = next(g.id for g in plan.unit_groups if "commune" in g.kinds)  # "cac-xa"; Đức Thọ: "cac-xa-thi-tran"
    return {"format": 1,
            "contest": {"slug": "tim-hieu-cchc", "title": "Tìm hiểu cải cách hành chính", "organiser": organiser.id,
                        "rules": "Mỗi người thi một lượt mỗi vòng.", "questions_per_attempt": 1,
                        "time_limit_minutes": 20, "attempts_per_round": 1, "units": [communes]},
            "audiences": [{"key": "nhan-dan", "name": "Nhân dân", "units": [communes], "verify": "none"}],
            "rounds": [{"number": 1, "name": "Vòng 1", "opens": now - dt.timedelta(days=1),
                        "closes": now + dt.timedelta(days=30)}]}


def load(folder: Path, scale: float, plan_file: Path | None = None):
    """A deployment in ``folder`` with the plugins of these pages and the data they show (made once)."""
    from ccch_core.config import load_config
    from ccch_core.deployment import Deployment
    from ccch_core.plugins import make_plugin_manager

    config_path = folder / "ccch.toml"
    if not config_path.exists():
        if plan_file is None:
            plan_file = folder / "data" / "plan.toml"
            if not plan_file.exists():
                import national_plan

                national_plan.generate(folder / "data", scale=scale, months=1)
        shutil.copyfile(plan_file, folder / "plan.toml")
        with open(plan_file, "rb") as f:
            root = next(u["id"] for u in tomllib.load(f)["units"] if not u.get("parent"))
        config_path.write_text('[deployment]\nname = "Bench"\nplan = "plan.toml"\ndatabase = "ccch.db"\n'
                               'public_base_url = "https://cchc.example.gov.vn"\n'
                               f"plugins = [{', '.join(f'{chr(34)}{p}{chr(34)}' for p in PLUGINS)}]\n"
                               f'[plugins.feedback]\ntriage_unit = "{root}"\n',
                               encoding="utf-8")
    config = load_config(config_path)
    dep = Deployment(config, pm=make_plugin_manager(config.plugins, strict=True))
    dep.migrate()
    return dep


def prepare(dep) -> dict:
    """One contest, the SIPAS survey with a poster, one call for initiatives (each made once)."""
    from ccch_contest import bank
    from ccch_contest.contests import get_contest, save_definition
    from ccch_contest.definition import definition_from_dict
    from ccch_contest.lifecycle import set_status
    from ccch_survey.definition import load_definition
    from ccch_survey.store import add_placement, get_survey, list_placements, save_survey

    plan = dep.plan
    desk = next((u for u in plan.units if u.kind == "one_stop_desk"), None) or \
        next(u for u in plan.units if u.kind == "commune")
    if get_contest(dep, "tim-hieu-cchc") is None:
        contest, _ = save_definition(dep, definition_from_dict(_contest_definition(plan), plan), username="bench")
        rows = bank.read_question_file(ROOT / "examples" / "duc-tho-2024" / "questions.csv")
        found, audiences, _problems = bank.parse_rows(rows, contest.definition, plan=None)
        bank.import_questions(dep.db, contest.id, found, audiences, replace=True, username="bench")
        contest = get_contest(dep, contest.slug)
        set_status(dep, contest, "published", username="bench")
    if get_survey(dep.db, "sipas") is None:
        save_survey(dep.db, load_definition(ROOT / "examples" / "surveys" / "sipas.toml"))
    if not list_placements(dep.db, plan=plan):
        add_placement(dep.db, plan, "sipas", desk.id, "Quầy tiếp nhận hồ sơ")
    from ccch_initiatives.calls import get_call, save_call

    if get_call(dep.db, CALL) is None:
        # The example call for initiatives, open now to every unit of the plan, organised at the root.
        now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)
        text = (ROOT / "examples" / "duc-tho-2024" / "initiatives.toml").read_text(encoding="utf-8")
        for key, value in (("slug", f'"{CALL}"'), ("organiser", f'"{plan.units[0].id}"'), ("units", "[]"),
                           ("opens", (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")),
                           ("closes", (now + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S"))):
            text = re.sub(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text, count=1)
        save_call(dep, text, actor="bench")
    return {"desk": desk}


CALL = "sang-kien-cchc"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="as bench/national_plan.py (default 1: full size)")
    parser.add_argument("--repeat", type=int, default=3, help="requests per measured page (default 3)")
    parser.add_argument("--keep", type=Path, help="a folder to build in and keep (reused when it exists)")
    parser.add_argument("--plan", type=Path, help="a generated plan file to use (default: generate one)")
    args = parser.parse_args()
    from ccch_core import accounts
    from ccch_core.testing import login
    from ccch_core.web import create_app

    folder = args.keep or Path(tempfile.mkdtemp(prefix="ccch-national-plugin-pages-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        dep = load(folder, args.scale, args.plan)
        plan = dep.plan
        made = prepare(dep)
        for username, role in (("admin", "plan_admin"), ("he-thong", "system_admin")):
            if not accounts.find_user(dep.db, username):
                accounts.create_user(dep.db, plan, username, PASSWORD, role)
        app = create_app(deployment_obj=dep, test_config={"TESTING": True, "WTF_CSRF_ENABLED": False})
        print(f"plan: {len(plan.units):,} units; ready in {time.perf_counter() - started:.1f} s")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f}")
        citizen = app.test_client()
        # One question asked through the public form, for the officer's item page.
        html = citizen.get("/hoi-dap/gui").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        sid = re.search(r'name="sid" value="([^"]+)"', html).group(1)
        field = re.search(r'name="linh-vuc"[^>]*><option value="">[^<]*</option>\s*<option value="([^"]+)"', html).group(1)
        citizen.post("/hoi-dap/gui", data={"csrf_token": token, "sid": sid, "loai": "hoi-dap", "linh-vuc": field,
                                           "nguoi-hoi": "ca-nhan", "tieu-de": "Hỏi về đăng ký khai sinh",
                                           "noi-dung": "Tôi cần giấy tờ gì để đăng ký khai sinh cho con?",
                                           "cong-khai": "cong-khai"})
        item_id = dep.db.execute("select max(id) from feedback_items").fetchone()[0]
        admin = app.test_client()
        assert login(admin, "admin", PASSWORD).status_code == 302
        system = app.test_client()  # the contest's and the initiatives' set-up: a system administrator
        assert login(system, "he-thong", PASSWORD).status_code == 302
        poster = dep.db.execute("select code from placements where target = 'feedback' limit 1").fetchone()
        pages = [
            ("contest", "set-up page, new contest", system, "/cuoc-thi/quan-ly/tao"),
            ("contest", "set-up page of a contest", system, "/cuoc-thi/quan-ly/tim-hieu-cchc/thiet-lap"),
            ("contest", "posters page", system, "/cuoc-thi/quan-ly/tim-hieu-cchc/poster"),
            ("contest", "participation per unit", system, "/cuoc-thi/quan-ly/tim-hieu-cchc/tham-gia"),
            ("survey", "results, administrator", admin, "/khao-sat/sipas"),
            ("survey", "placements (posters), administrator", admin, "/khao-sat/noi-dat"),
            ("feedback", "public form (citizen)", citizen, "/hoi-dap/gui"),
            ("feedback", "public list of answers (citizen)", citizen, "/hoi-dap/"),
            ("feedback", "item page, officer", admin, f"/phan-anh/{item_id}"),
            ("feedback", "placements (posters), officer", admin, "/phan-anh/noi-dat"),
            ("initiatives", "set-up page, new call", system, "/sang-kien/hoi-dong/thiet-lap"),
            ("initiatives", "set-up page of a call", system, f"/sang-kien/hoi-dong/{CALL}/thiet-lap"),
            ("initiatives", "panel members (judges' units)", system, f"/sang-kien/hoi-dong/{CALL}/thanh-vien"),
            ("initiatives", "entry form (public)", citizen, f"/sang-kien/{CALL}/nop-bai"),
        ]
        pages.append(("contest", "public registration form", citizen, "/cuoc-thi/tim-hieu-cchc/dang-ky"))
        if poster:
            pages.append(("feedback", "public form from a poster's QR", citizen, f"/hoi-dap/gui/{poster[0]}"))
        del made
        failed = []
        for plugin, name, client, url in pages:
            client.get(url)  # warm-up: templates, the plan's indexes
            times, cpu = [], []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                response = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            size = len(response.get_data())
            ok = response.status_code == 200 and size <= PAGE_LIMIT
            if not ok:
                failed.append(f"{plugin}: {name}")
            print(f"{plugin:12} {name:40} {response.status_code} {size / 1024:8.1f} KB  "
                  f"median {statistics.median(times):7.1f} ms (CPU {statistics.median(cpu):7.1f} ms)"
                  f"{'' if ok else '  ← over'}", flush=True)
        # What the unit picker costs the server when a form is sent with a name typed (the public
        # forms resolve it on every post): typical names, and texts matching thousands of units.
        from ccch_core import unit_picker

        twice = {}
        for u in plan.units:
            if u.kind == "commune":
                twice.setdefault(u.name, []).append(u)
        shared = next((n for n, us in twice.items() if len(us) > 1), plan.units[1].name)
        for text in (shared, unit_picker.chosen(plan, plan.units[1].id).text, "an hung", "ubnd", "thon", "xa a",
                     "a thon", "Phường Không Có Thật"):
            times, cpu = [], []
            for _ in range(max(args.repeat, 3)):
                t0, c0 = time.perf_counter(), time.process_time()
                choice = unit_picker.resolve_unit(plan, text)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            print(f"{'unit picker':12} {'resolve ' + repr(text):40} {choice.problem or 'unit'!s:>12}  "
                  f"median {statistics.median(times):7.1f} ms (CPU {statistics.median(cpu):7.1f} ms), "
                  f"{len(choice.candidates) + choice.more} units fit", flush=True)
        # The citizen's post of the feedback form naming a commune two provinces share: the form
        # comes back with both (422), the whole request.
        times, cpu = [], []
        for _ in range(args.repeat):
            html = citizen.get("/hoi-dap/gui").get_data(as_text=True)
            token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
            sid = re.search(r'name="sid" value="([^"]+)"', html).group(1)
            t0, c0 = time.perf_counter(), time.process_time()
            response = citizen.post("/hoi-dap/gui", data={
                "csrf_token": token, "sid": sid, "loai": "hoi-dap", "nguoi-hoi": "ca-nhan", "linh-vuc": field,
                "don-vi": shared, "tieu-de": "Hỏi về đăng ký khai sinh",
                "noi-dung": "Tôi cần giấy tờ gì để đăng ký khai sinh cho con?", "cong-khai": "cong-khai"})
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        print(f"{'feedback':12} {'public form sent, a shared name':40} {response.status_code} "
              f"{len(response.get_data()) / 1024:8.1f} KB  median {statistics.median(times):7.1f} ms "
              f"(CPU {statistics.median(cpu):7.1f} ms)", flush=True)
        dep.close()
        print("all pages within bounds" if not failed else f"over a bound: {', '.join(failed)}")
        sys.exit(1 if failed else 0)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
