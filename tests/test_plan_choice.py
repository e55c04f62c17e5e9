"""The plan/year chooser on the core's remaining pages (#19 part 1: "every page says which plan and
year it shows, and lets you choose"): the roll-up ``/tong-hop``, the units ``/don-vi`` and its
search, and the reports list's search. Each page shows the chosen plan's data, not the default's;
its links and forms keep the choice; an unknown plan is a 404 in words, never a 500. Flask's test
client on a deployment holding the Đức Thọ 2024 plan (the default) and a 2025 plan beside it, in
which An Dũng is renamed "UBND xã An Dũng mới"."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from test_plan_years import plan_2025, with_plan_2025

from ccch_core import progress
from ccch_core.testing import login

UTC = dt.UTC


@pytest.fixture
def dep(make_deployment, duc_tho_plan_path):
    dep = with_plan_2025(make_deployment(), plan_2025(duc_tho_plan_path.read_text(encoding="utf-8")))
    # March of each year: An Dũng broadcast 4 times in 2024 and 9 times in 2025.
    progress.record_activity_report(dep.db, dep.plan, "xa-an-dung", "2024-03", [{"category": "broadcast", "count": 4}],
                                    now=dt.datetime(2024, 4, 2, tzinfo=UTC))
    p2025 = dep.plan_by_id("duc-tho-2025")
    progress.record_activity_report(dep.db, p2025, "xa-an-dung", "2025-03", [{"category": "broadcast", "count": 9}],
                                    now=dt.datetime(2025, 4, 2, tzinfo=UTC))
    yield dep
    dep.close()


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def broadcast_total(html: str) -> str:
    """The roll-up's total of broadcasts (the activity table's footer, the broadcast column)."""
    foot = re.search(r"<tfoot><tr><th scope=\"row\">Tổng cộng</th>(.*?)</tr></tfoot>", html, re.DOTALL).group(1)
    return re.findall(r"<td>(\d+)</td>", foot)[list(progress.ACTIVITY_CATEGORIES).index("broadcast")]


def test_the_roll_up_shows_the_chosen_plan_s_figures(client_as):
    admin = client_as("plan_admin")
    default = page(admin, "/tong-hop?period=2024-03")
    assert "Theo Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2024." in default
    assert '<option value="duc-tho-2024" selected>Năm 2024 · ' in default
    assert '<option value="duc-tho-2025">Năm 2025 · ' in default
    assert broadcast_total(default) == "4"

    chosen = page(admin, "/tong-hop?plan=duc-tho-2025&period=2025-03")
    assert "<h1>Tổng hợp báo cáo — Tháng 3/2025</h1>" in chosen
    assert "Theo Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025." in chosen
    assert '<option value="duc-tho-2025" selected>Năm 2025 · ' in chosen
    assert broadcast_total(chosen) == "9"  # 2025's March, not 2024's
    assert "UBND xã An Dũng mới" in chosen  # the unit as 2025's plan names it
    # Its period list is 2025's.
    assert '<option value="2025-Q1">' in chosen and '<option value="2024-Q1">' not in chosen
    # Switching the year with last year's month still selected opens the chosen year, not a 400.
    switched = page(admin, "/tong-hop?plan=duc-tho-2025&period=2024-03")
    assert "Theo Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025." in switched
    # A period outside the chosen plan without a switch is still refused in words.
    refused = page(admin, "/tong-hop?period=2025-03", status=400)
    assert "nằm ngoài thời gian của kế hoạch" in refused


def test_the_roll_up_s_links_keep_the_chosen_plan(client_as):
    html = page(client_as("plan_admin"), "/tong-hop?plan=duc-tho-2025&period=2025-03")
    links = re.findall(r'href="(/tong-hop[^"]*)"', html)
    assert links and all("plan=duc-tho-2025" in link for link in links), links
    assert '<input type="hidden" name="plan" value="duc-tho-2025">' in html  # the reports' search form


@pytest.mark.parametrize("url", [
    "/tong-hop?plan=khong-co", "/don-vi?plan=khong-co", "/don-vi/tim.json?plan=khong-co&q=an",
    "/bao-cao?plan=khong-co", "/?plan=" + "x" * 5000,
])
def test_an_unknown_plan_is_refused_in_words(client_as, url):
    response = client_as("plan_admin").get(url)
    assert response.status_code == 404
    if not url.startswith("/don-vi/tim.json"):
        html = response.get_data(as_text=True)
        assert "Không có kế hoạch “" in html and "trong hệ thống" in html
        assert "x" * 61 not in html  # a long id is not echoed whole


def test_the_units_page_shows_the_chosen_plan_s_units(client_as):
    viewer = client_as("viewer")
    default = page(viewer, "/don-vi")
    assert "UBND xã An Dũng" in default and "UBND xã An Dũng mới" not in default
    assert '<option value="duc-tho-2024" selected>Năm 2024 · ' in default
    chosen = page(viewer, "/don-vi?plan=duc-tho-2025")
    assert "UBND xã An Dũng mới" in chosen
    assert '<option value="duc-tho-2025" selected>Năm 2025 · ' in chosen
    # The search form keeps the choice, and searching finds 2025's name.
    assert '<input type="hidden" name="plan" value="duc-tho-2025">' in chosen
    found = page(viewer, "/don-vi?plan=duc-tho-2025&q=an+dung+moi")
    assert "1 đơn vị khớp" in found and "UBND xã An Dũng mới" in found
    assert page(viewer, "/don-vi?q=an+dung+moi").count("UBND xã An Dũng mới") == 0
    # Links to a unit and back keep the chosen plan.
    links = re.findall(r'href="(/don-vi[^"]*)"', found)
    assert links and all("plan=duc-tho-2025" in link for link in links), links
    level = page(viewer, "/don-vi?plan=duc-tho-2025&unit=ubnd-huyen")
    assert "UBND xã An Dũng mới" in level
    assert all("plan=duc-tho-2025" in link for link in re.findall(r'href="(/don-vi[^"]*)"', level))


def test_the_unit_picker_searches_the_chosen_plan(client_as):
    viewer = client_as("viewer")
    names = [u["name"] for u in viewer.get("/don-vi/tim.json?q=an+dung&plan=duc-tho-2025").get_json()["units"]]
    assert "UBND xã An Dũng mới" in names
    names = [u["name"] for u in viewer.get("/don-vi/tim.json?q=an+dung").get_json()["units"]]
    assert "UBND xã An Dũng" in names and "UBND xã An Dũng mới" not in names


def test_the_reports_list_s_search_keeps_the_chosen_plan(client_as):
    html = page(client_as("plan_admin"), "/bao-cao?plan=duc-tho-2025&period=2025-03")
    assert "Theo Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025." in html
    search = html.split('role="search"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="plan" value="duc-tho-2025">' in search
    filtered = page(client_as("plan_admin"), "/bao-cao?plan=duc-tho-2025&period=2025-03&state=received")
    assert "UBND xã An Dũng mới" in filtered
    assert 'href="/bao-cao?period=2025-03&amp;plan=duc-tho-2025"' in filtered  # "Bỏ lọc" keeps the year


def test_every_plugin_s_dashboard_panel_opens_under_another_year(make_deployment, duc_tho_plan_path, make_app,
                                                                  make_user):
    """The dashboard hands its panels the view of the plan it shows (Deployment.with_plan): each
    plugin's panel must still draw, under 2025's plan as under the default."""
    dep = make_deployment(["contest", "survey", "export", "feedback", "initiatives"],
                          more_plans=[duc_tho_plan_path.parents[1] / "duc-tho-2025" / "plan.toml"])
    client = make_app(dep).test_client()
    username, password = make_user(dep, "plan_admin")
    assert login(client, username, password).status_code == 302
    html = page(client, "/?plan=duc-tho-2025&period=2025-03")
    assert "<h1>Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025</h1>" in html
    assert "Tải báo cáo" in html and '<input type="hidden" name="plan" value="duc-tho-2025">' in html
    # The dashboard's links to its own pages keep the year the reader chose.
    assert 'href="/don-vi?plan=duc-tho-2025"' in html
