"""The survey's officer pages under another year's plan (``?plan=``) for an officer whose unit
that year's plan does not have (communes are merged and renamed between years): a 404 that
says so, not a 500 from looking their unit up in the other year's tree."""

from __future__ import annotations

import pytest
from ccch_survey.store import save_survey

from ccch_core.testing import login


@pytest.fixture
def officer(make_deployment, survey_plan_path, duc_tho_plan_path, sipas, tmp_path, make_app, make_user):
    text = (duc_tho_plan_path.parents[1] / "duc-tho-2025" / "plan.toml").read_text(encoding="utf-8")
    renamed = text.replace("xa-duc-dong", "xa-duc-dong-moi")
    assert renamed != text
    (tmp_path / "plan-2025.toml").write_text(renamed, encoding="utf-8")
    dep = make_deployment(plugins=("survey",), plan_path=survey_plan_path, more_plans=[tmp_path / "plan-2025.toml"])
    assert dep.plan.has_unit("xa-duc-dong") and not dep.plan_by_id("duc-tho-2025").has_unit("xa-duc-dong")
    save_survey(dep.db, sipas)
    client = make_app(dep).test_client()
    name, password = make_user(dep, "unit_officer", unit_id="xa-duc-dong")
    assert login(client, name, password).status_code == 302
    return client


@pytest.mark.parametrize("page", ["/khao-sat/sipas", "/khao-sat/sipas/y-kien", "/khao-sat/sipas/tai-ve.csv"])
def test_an_officer_whose_unit_the_chosen_year_lacks_gets_a_404_in_words(officer, page):
    assert officer.get(f"{page}?ky=2024-03").status_code == 200  # their own year works
    response = officer.get(f"{page}?plan=duc-tho-2025&ky=2025-03")
    assert response.status_code == 404  # was a 500
    assert "Đơn vị của anh/chị không có trong" in response.get_data(as_text=True)


def test_the_dashboard_panel_under_a_year_without_the_officer_s_unit(officer):
    """The survey's dashboard panel counts an officer's units in the year shown: a year whose plan
    lacks their unit shows no unit's figures, and no 500."""
    assert officer.get("/?period=2024-03").status_code == 200
    response = officer.get("/?plan=duc-tho-2025&period=2025-03")
    assert response.status_code == 200
    assert "Khảo sát sự hài lòng" in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["/khao-sat/sipas", "/khao-sat/sipas/y-kien"])
def test_a_unit_typed_by_name_under_a_year_without_the_officer_s_unit(officer, page):
    """A name typed in the unit filter (not an id) under such a year: a 404 (no such unit for
    them), not a 500 from listing the officer's units in that year's tree to decide whether the
    filter is the unit picker."""
    response = officer.get(f"{page}?plan=duc-tho-2025&ky=2025-03&don-vi=UBND xã Đức Đồng")
    assert response.status_code == 404
