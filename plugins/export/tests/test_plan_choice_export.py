"""The export plugin's pages follow the plan the reader chose (#19 part 1: every page and report
says which plan and year it shows, and lets you choose): the report downloads ``/xuat/bao-cao``,
the unit picker's answer, the dashboard's "Tải báo cáo" panel and the written report
``/xuat/viet`` of another year's plan (``?plan=``). The chosen plan's figures are in the file, not
the default's; an unknown plan is a 404 in words. A deployment holding Đức Thọ 2024 (the default)
and the 2025 example plan beside it."""

from __future__ import annotations

import json
import re

import attrs
import pytest
from ccch_export import written

from ccch_core import progress
from ccch_core.periods import Period
from ccch_core.testing import csrf_token

PLAN_2025 = "duc-tho-2025"


@pytest.fixture
def dep(make_deployment, duc_tho_plan_path):
    dep = make_deployment(["export"], more_plans=[duc_tho_plan_path.parents[1] / "duc-tho-2025" / "plan.toml"])
    # The district's radio programme: 2 issues in March 2024, 5 in March 2025.
    progress.record_measurement(dep.db, dep.plan, "I7", "trung-tam-vhtt", "2024-03", 2)
    progress.record_measurement(dep.db, dep.plan_by_id(PLAN_2025), "I7", "trung-tam-vhtt", "2025-03", 5)
    return dep


def i7(report: dict) -> float:
    table = report["sections"][0]["blocks"][1]
    return next(row[2] for row in table["rows"] if row[0] == "I7")


def test_a_report_of_another_year_s_plan_is_that_plan_s(admin):
    default = admin.get("/xuat/bao-cao?period=2024-03&format=json")
    assert default.status_code == 200
    data = json.loads(default.data)
    assert data["plan"]["id"] == "duc-tho-2024" and i7(data) == 2

    chosen = admin.get(f"/xuat/bao-cao?plan={PLAN_2025}&period=2025-03&format=json")
    assert chosen.status_code == 200
    data = json.loads(chosen.data)
    assert data["plan"]["id"] == PLAN_2025 and data["plan"]["title"].endswith("năm 2025")
    assert data["period"]["key"] == "2025-03" and i7(data) == 5
    assert f"bao-cao-{PLAN_2025}-2025-03.json" in chosen.headers["Content-Disposition"]
    # 2025's month under the default plan is outside it: refused in words, as before.
    outside = admin.get("/xuat/bao-cao?period=2025-03&format=json")
    assert outside.status_code == 400 and "nằm ngoài thời gian của kế hoạch" in outside.get_data(as_text=True)


@pytest.mark.parametrize("url", [
    "/xuat/bao-cao?plan=khong-co&period=2024-03&format=json",
    "/xuat/bao-cao/chon-don-vi?plan=khong-co&period=2024-03&q=an",
    "/xuat/viet?plan=khong-co",
    "/xuat/viet/tai-ve?plan=khong-co",
])
def test_an_unknown_plan_is_refused_in_words(admin, url):
    response = admin.get(url)
    assert response.status_code == 404
    assert "Không có kế hoạch “khong-co” trong hệ thống" in response.get_data(as_text=True)


def test_the_unit_picker_keeps_the_chosen_plan(admin):
    found = admin.get(f"/xuat/bao-cao/chon-don-vi?plan={PLAN_2025}&period=2025-03&q=xa+an+dung&format=json")
    assert found.status_code == 302
    assert f"plan={PLAN_2025}" in found.headers["Location"] and "unit=xa-an-dung" in found.headers["Location"]
    listed = admin.get(f"/xuat/bao-cao/chon-don-vi?plan={PLAN_2025}&period=2025-03&q=xa&format=json")
    html = listed.get_data(as_text=True)
    assert listed.status_code == 200
    assert f'<option value="{PLAN_2025}" selected>Năm 2025 · ' in html  # which plan, and the choice
    assert '<input type="hidden" name="plan" value="duc-tho-2025">' in html  # the search keeps it
    links = re.findall(r'href="(/xuat/bao-cao\?[^"]*)"', html)
    assert links and all(f"plan={PLAN_2025}" in link for link in links)


def test_the_dashboard_panel_downloads_the_year_shown(admin):
    html = admin.get(f"/?plan={PLAN_2025}&period=2025-03").get_data(as_text=True)
    panel = html.split("Tải báo cáo", 1)[1]
    form = panel.split("</form>", 1)[0]
    assert '<input type="hidden" name="period" value="2025-03">' in form
    assert f'<input type="hidden" name="plan" value="{PLAN_2025}">' in form
    assert f'href="/xuat/viet?period=2025-03&amp;plan={PLAN_2025}"' in panel
    # The default year's panel names no plan: the default needs no argument.
    default = admin.get("/?period=2024-03").get_data(as_text=True).split("Tải báo cáo", 1)[1]
    assert 'name="plan" value=' not in default.split("</form>", 1)[0]


def test_the_written_report_of_another_year(dep, admin):
    url = f"/xuat/viet?plan={PLAN_2025}&period=2025-03"
    page = admin.get(url).get_data(as_text=True)
    assert f'<option value="{PLAN_2025}" selected>Năm 2025 · ' in page
    assert "Số chuyên mục CCHC phát sóng: 5 số trong tháng 3/2025" in page
    assert '<input type="hidden" name="plan" value="duc-tho-2025">' in page  # the period form keeps the year
    assert f'href="/xuat/viet/tai-ve?period=2025-03&amp;plan={PLAN_2025}"' in page
    saved = admin.post(url, data={"csrf_token": csrf_token(admin, url), "action": "save",
                                  "chi_dao": "UBND huyện ban hành văn bản chỉ đạo năm 2025."})
    assert saved.status_code == 303 and f"plan={PLAN_2025}" in saved.headers["Location"]
    march_2025 = Period.parse("2025-03")
    assert written.get_written(dep.db, dep.plan_by_id(PLAN_2025), march_2025, None).texts["chi_dao"].endswith("2025.")
    assert dep.db["written_reports"].count == 1
    download = admin.get(f"/xuat/viet/tai-ve?plan={PLAN_2025}&period=2025-03")
    assert download.status_code == 200 and f"bao-cao-{PLAN_2025}-2025-03" in download.headers["Content-Disposition"]
    # The default plan's page is 2024's, unchanged.
    assert "Số chuyên mục CCHC phát sóng: 2 số trong tháng 3/2024" in admin.get("/xuat/viet?period=2024-03").get_data(
        as_text=True)


def test_with_plan_is_a_view_of_the_same_deployment(dep):
    p2025 = dep.plan_by_id(PLAN_2025)
    view = dep.with_plan(p2025)
    assert view.plan is p2025 and view.db is dep.db and view.exporters is dep.exporters
    assert dep.plan.id == "duc-tho-2024"  # the deployment itself is unchanged
    assert list(view.plans) == ["duc-tho-2024", PLAN_2025]
    assert dep.with_plan(dep.plan) is dep
    with pytest.raises(KeyError, match="not one of this deployment's plans"):
        dep.with_plan(attrs.evolve(p2025, id="khac"))  # a plan the deployment does not hold


def test_the_report_commands_take_plan(dep, tmp_path):
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    runner = CliRunner()

    def run(*args):
        return runner.invoke(make_cli(dep.config.path), [str(a) for a in args])

    out = tmp_path / "r.json"
    done = run("report", "--plan", PLAN_2025, "--period", "2025-03", "--format", "json", "-o", out)
    assert done.exit_code == 0, done.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["plan"]["id"] == PLAN_2025 and i7(data) == 5
    # Without --plan, 2025's month is outside the default plan: the error says which plan to choose.
    outside = run("report", "--period", "2025-03", "--format", "json", "-o", out)
    assert outside.exit_code == 2
    assert "2025-03 is outside the plan 'duc-tho-2024'" in outside.output
    assert f"choose its plan with --plan {PLAN_2025}" in outside.output
    unknown = run("report", "--plan", "khong-co", "--period", "2024-03", "--format", "json", "-o", out)
    assert unknown.exit_code == 2 and "no plan 'khong-co' in this deployment" in unknown.output
    narrative = run("report-narrative", "--plan", PLAN_2025, "--period", "2025-03", "--format", "md", "-o",
                    tmp_path / "n.md")
    assert narrative.exit_code == 0, narrative.output
    assert "5 số trong tháng 3/2025" in (tmp_path / "n.md").read_text(encoding="utf-8")
