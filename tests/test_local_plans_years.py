"""Commune plans under another year's plan (#19 part 1's chooser on the Kế hoạch các xã pages and
the local-plans commands): the pages say which plan they show and let you choose it with ?plan=,
every link and form keeps the choice, and each year's commune plans are kept apart. Flask's test
client and the CLI on a deployment holding the Đức Thọ 2024 plan and a 2025 plan beside it."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from test_plan_years import plan_2025, with_plan_2025

from ccch_core import local_plans as lp
from ccch_core.cli import make_cli
from ccch_core.testing import csrf_token

UNIT = "xa-an-dung"


@pytest.fixture
def dep(make_deployment, duc_tho_plan_path):
    dep = with_plan_2025(make_deployment(), plan_2025(duc_tho_plan_path.read_text(encoding="utf-8")))
    yield dep
    dep.close()


def test_the_board_says_which_plan_and_offers_the_other_years(dep, client_as):
    admin = client_as("plan_admin")
    html = admin.get("/ke-hoach-xa").get_data(as_text=True)
    assert '<option value="duc-tho-2024" selected>' in html and '<option value="duc-tho-2025">' in html
    assert "theo Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2024" in html
    html = admin.get("/ke-hoach-xa?plan=duc-tho-2025").get_data(as_text=True)
    assert '<option value="duc-tho-2025" selected>Năm 2025 · Kế hoạch tuyên truyền CCHC' in html  # the year first: titles differ at the end
    assert "theo Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025" in html
    assert "trước ngày 20/01/2025" in html
    # The communes' links keep the choice.
    assert f'href="/ke-hoach-xa/{UNIT}?plan=duc-tho-2025"' in html
    missing = admin.get("/ke-hoach-xa?plan=khong-co")
    assert missing.status_code == 404 and "Không có kế hoạch “khong-co” trong hệ thống" in missing.get_data(as_text=True)


def test_a_commune_drafts_and_sends_under_the_chosen_year_and_the_other_year_is_untouched(dep, client_as):
    lp.start(dep.db, dep.plan, UNIT, by="canbo")  # 2024's plan, a draft
    officer = client_as("unit_officer", UNIT)
    url = f"/ke-hoach-xa/{UNIT}?plan=duc-tho-2025"
    page = officer.get(url).get_data(as_text=True)
    assert "năm 2025" in page and "Bắt đầu soạn kế hoạch" in page  # 2025's is not started yet
    assert f'action="/ke-hoach-xa/{UNIT}/bat-dau?plan=duc-tho-2025"' in page
    started = officer.post(f"/ke-hoach-xa/{UNIT}/bat-dau?plan=duc-tho-2025", data={"csrf_token": csrf_token(officer, url)})
    assert started.status_code == 303 and started.headers["Location"].endswith(url)
    page = officer.get(url).get_data(as_text=True)
    assert re.search(r'<form method="post" class="form" novalidate action="/ke-hoach-xa/xa-an-dung\?plan=duc-tho-2025"',
                     page)
    sent = officer.post(f"/ke-hoach-xa/{UNIT}/gui?plan=duc-tho-2025", data={"csrf_token": csrf_token(officer, url)})
    assert sent.status_code == 303
    plan_2025 = dep.plan_by_id("duc-tho-2025")
    assert lp.get(dep.db, plan_2025, UNIT).status is lp.Status.SENT
    assert lp.get(dep.db, dep.plan, UNIT).status is lp.Status.DRAFT  # 2024's draft stays a draft
    rows = {(r["parent_plan"], r["status"]) for r in dep.db.query("select parent_plan, status from local_plans")}
    assert rows == {("duc-tho-2024", "draft"), ("duc-tho-2025", "sent")}
    # The default page is still 2024's draft.
    assert "Đang soạn" in officer.get(f"/ke-hoach-xa/{UNIT}").get_data(as_text=True)


def test_commands_take_the_plan(dep):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(make_cli(dep.config.path), [str(a) for a in args])

    result = run("local-plans", "demo", "--plan", "duc-tho-2025")
    assert result.exit_code == 0, result.output
    listing = run("local-plans", "list", "--plan", "duc-tho-2025")
    assert listing.output.startswith("Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025:")
    an_dung = next(line for line in listing.output.splitlines() if line.startswith("xa-an-dung "))
    assert "Đã phê duyệt" in an_dung and "đúng hạn" in an_dung  # sent 15/01/2025, before 20/01/2025
    assert "Chưa soạn" in next(line for line in run("local-plans", "list").output.splitlines()
                               if line.startswith("xa-an-dung "))  # nothing under 2024's
    exported = run("local-plans", "export", UNIT, "--plan", "duc-tho-2025")
    assert exported.exit_code == 0 and 'parent_plan = "duc-tho-2025"' in exported.output
    assert run("local-plans", "export", UNIT).exit_code == 1
    wrong = run("local-plans", "list", "--plan", "khong-co")
    assert wrong.exit_code == 2 and "duc-tho-2024, duc-tho-2025" in wrong.output


def test_reports_sent_to_a_further_recipient_under_the_chosen_year(dep, client_as):
    officer = client_as("unit_officer", "phong-vhtt")
    url = "/bao-cao/phong-vhtt/gui-noi-nhan-khac?plan=duc-tho-2025"
    html = officer.get(url).get_data(as_text=True)
    assert '<option value="duc-tho-2025" selected>' in html and "Quý I/2025" in html and "Quý I/2024" not in html
    assert 'action="/bao-cao/phong-vhtt/gui-noi-nhan-khac?plan=duc-tho-2025"' in html
    response = officer.post(url, data={"csrf_token": csrf_token(officer, url), "period": "2025-Q1",
                                       "recipient": "ubnd-tinh", "sent_on": "2025-04-08"})
    assert response.status_code == 303 and response.headers["Location"].endswith(url)
    # 2024's period is not one of 2025's plan.
    refused = officer.post(url, data={"csrf_token": csrf_token(officer, url), "period": "2024-Q1",
                                      "recipient": "ubnd-tinh", "sent_on": "2024-04-08"})
    assert refused.status_code == 422
    assert [r["period"] for r in dep.db.query("select period from report_deliveries")] == ["2025-Q1"]


def test_the_dashboard_panel_counts_the_communes_plans_of_the_year_shown(dep, client_as):
    plan_2025 = dep.plan_by_id("duc-tho-2025")
    lp.start(dep.db, plan_2025, UNIT, by="canbo")
    lp.send(dep.db, plan_2025, UNIT, by="canbo")
    admin = client_as("plan_admin")
    html = admin.get("/?plan=duc-tho-2025&period=2025-03").get_data(as_text=True)
    assert "Kế hoạch các xã, thị trấn năm 2025" in html
    assert "Đã gửi <strong>1/16</strong>" in html and 'href="/ke-hoach-xa?plan=duc-tho-2025"' in html
    html = admin.get("/?period=2024-03").get_data(as_text=True)
    assert "Kế hoạch các xã, thị trấn năm 2024" in html and "Đã gửi <strong>0/16</strong>" in html


def test_unit_reports_of_another_year_are_filed_under_its_plan(dep, client_as):
    officer = client_as("unit_officer", UNIT)
    html = officer.get("/bao-cao?plan=duc-tho-2025").get_data(as_text=True)
    assert '<option value="duc-tho-2025" selected>' in html and "Tháng 12/2025" in html
    assert f'href="/bao-cao/{UNIT}/2025-' in html
    # Another year's month with this year's plan chosen opens the chosen plan's default month.
    assert officer.get("/bao-cao?plan=duc-tho-2025&period=2024-03").status_code == 200
    url = f"/bao-cao/{UNIT}/2025-03"
    page = officer.get(url)
    assert page.status_code == 200  # the month belongs to 2025's plan, not to the default one
    saved = officer.post(url, data={"csrf_token": csrf_token(officer, url), "item-0-category": "broadcast",
                                    "item-0-count": "3", "item-0-title": "Phát thanh chuyên mục CCHC"})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:500]
    row = next(dep.db.query("select unit_id, period from activity_reports"))
    assert (row["unit_id"], row["period"]) == (UNIT, "2025-03")
    assert officer.get(f"/bao-cao/{UNIT}/2026-03").status_code == 404  # no plan holds it


def test_report_sent_files_a_delivery_under_the_year_of_its_period(dep):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(make_cli(dep.config.path), [str(a) for a in args])

    result = run("report-sent", "phong-vhtt", "2025-Q1", "ubnd-tinh", "--on", "2025-04-08")
    assert result.exit_code == 0, result.output  # 2025-Q1 belongs to 2025's plan, found by its year
    forced = run("report-sent", "phong-vhtt", "2025-Q2", "ubnd-tinh", "--on", "2025-07-08", "--plan", "duc-tho-2024")
    assert forced.exit_code == 1 and "2025-Q2" not in [r["period"] for r in dep.db.query("select period from report_deliveries")]
    assert run("report-sent", "phong-vhtt", "2025-Q2", "ubnd-tinh", "--on", "2025-07-08", "--plan", "khong-co").exit_code == 2
    assert [r["period"] for r in dep.db.query("select period from report_deliveries")] == ["2025-Q1"]
