"""The officers' survey results follow the plan the reader chose (#19 part 1: every page says
which plan and year it shows, and lets you choose). With another year's plan (``?plan=``) the
results, free-text answers, flagged responses and CSV use that plan's units and names and offer
that plan's periods; links and forms keep the choice; an unknown plan is a 404 in words. A
deployment holding Đức Thọ 2024 (the default) and a 2025 plan in which An Dũng's one-stop desk,
where the poster hangs, is renamed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from ccch_survey.store import add_placement, save_survey
from ccch_survey_testing import store_response

from ccch_core.testing import login

PLAN_2025 = "duc-tho-2025"


@pytest.fixture
def dep(make_deployment, survey_plan_path, duc_tho_plan_path, sipas, tmp_path):
    text = (duc_tho_plan_path.parents[1] / "duc-tho-2025" / "plan.toml").read_text(encoding="utf-8")
    renamed = text.replace('name = "Bộ phận tiếp nhận và trả kết quả xã An Dũng"', 'name = "Bộ phận một cửa xã An Dũng mới"', 1)
    assert renamed != text
    (tmp_path / "plan-2025.toml").write_text(renamed, encoding="utf-8")
    dep = make_deployment(plugins=("survey",), plan_path=survey_plan_path, more_plans=[tmp_path / "plan-2025.toml"])
    save_survey(dep.db, sipas)
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    store_response(dep, poster, {"chung": "5", "cong-chuc.1": "5"}, text={"gop-y-them": ("Năm 2024 phục vụ tốt",)})
    store_response(dep, poster, {"chung": "2", "cong-chuc.1": "1"}, when=dt.datetime(2025, 3, 14, 3, tzinfo=dt.UTC),
                   text={"gop-y-them": ("Năm 2025 chờ lâu",)})
    return dep


@pytest.fixture
def officer(dep, make_app, make_user):
    client = make_app(dep).test_client()
    name, password = make_user(dep, "plan_admin")
    assert login(client, name, password).status_code == 302
    return client


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def test_results_under_another_year_s_plan(officer):
    default = page(officer, "/khao-sat/sipas?ky=2024-03")
    assert '<option value="duc-tho-2024" selected>Năm 2024 · ' in default
    assert "Bộ phận tiếp nhận và trả kết quả xã An Dũng</a>" in default and "An Dũng mới" not in default

    chosen = page(officer, f"/khao-sat/sipas?plan={PLAN_2025}&ky=2025-03")
    assert f'<option value="{PLAN_2025}" selected>Năm 2025 · ' in chosen
    assert "Bộ phận một cửa xã An Dũng mới</a>" in chosen  # the unit as 2025's plan names it
    # The periods offered are 2025's; the period form keeps the year.
    assert '<option value="2025-Q1">' in chosen and '<option value="2024-Q1">' not in chosen
    assert f'<input type="hidden" name="plan" value="{PLAN_2025}">' in chosen
    # Every link to the survey's other pages keeps the year.
    links = re.findall(r'href="(/khao-sat/sipas[^"]*)"', chosen)
    assert links and all(f"plan={PLAN_2025}" in link for link in links), links


def test_the_chosen_year_opens_on_its_own_period_and_refuses_another_year_s(officer):
    opened = page(officer, f"/khao-sat/sipas?plan={PLAN_2025}")
    assert "Tháng 12/2025" in opened  # the plan is over: its last month, not this month of 2026
    refused = page(officer, f"/khao-sat/sipas?plan={PLAN_2025}&ky=2024-03", status=400)
    assert "Kỳ Tháng 3/2024 nằm ngoài thời gian của Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2025." in refused
    # Without a choice the survey pages accept any period, as before.
    page(officer, "/khao-sat/sipas?ky=2025-03")


def test_comments_flags_index_and_csv_follow_the_chosen_plan(officer):
    comments = page(officer, f"/khao-sat/sipas/y-kien?plan={PLAN_2025}&ky=2025-03")
    assert "Năm 2025 chờ lâu" in comments and "Năm 2024 phục vụ tốt" not in comments
    assert "Bộ phận một cửa xã An Dũng mới" in comments
    assert f'<option value="{PLAN_2025}" selected>' in comments
    flags = page(officer, f"/khao-sat/sipas/dang-ngo?plan={PLAN_2025}&ky=2025-03")
    assert f'<option value="{PLAN_2025}" selected>' in flags and '<option value="2025-03" selected>' in flags
    index = page(officer, f"/khao-sat/?plan={PLAN_2025}&ky=2025-03")
    assert f'<option value="{PLAN_2025}" selected>' in index
    assert f'href="/khao-sat/sipas?ky=2025-03&amp;plan={PLAN_2025}"' in index
    csv = page(officer, f"/khao-sat/sipas/tai-ve.csv?plan={PLAN_2025}&ky=2025-03")
    assert "Bộ phận một cửa xã An Dũng mới" in csv and csv.count("\n") == 2  # the header and 2025's one response


@pytest.mark.parametrize("url", ["/khao-sat/?plan=khong-co", "/khao-sat/sipas?plan=khong-co",
                                 "/khao-sat/sipas/y-kien?plan=khong-co", "/khao-sat/sipas/dang-ngo?plan=khong-co"])
def test_an_unknown_plan_is_refused_in_words(officer, url):
    assert "Không có kế hoạch “khong-co” trong hệ thống" in page(officer, url, status=404)

