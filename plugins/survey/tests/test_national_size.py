"""The survey's officer pages on a plan the size of the country (#26): no page lists every unit.

The plan is ``bench/national_plan.py``'s at 5 % (1,894 units: more than a list can hold,
ccch_core.unit_picker.PICKER_LIMIT), with communes of the same name in several provinces. The
results' unit filter and the placements form take a unit typed by name (the core's unit picker);
Đức Thọ keeps its lists (test_results, test_posters)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from ccch_survey.store import list_placements, save_survey

from ccch_core.testing import login

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

import national_plan

PAGE_LIMIT = 200 * 1024


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory):
    return national_plan.small_plan(tmp_path_factory.mktemp("national-plan"))


@pytest.fixture
def dep(make_deployment, plan_path, sipas):
    dep = make_deployment(plugins=("survey",), plan_path=plan_path)
    save_survey(dep.db, sipas)
    return dep


@pytest.fixture
def client_as(dep, make_app, make_user):
    app = make_app(dep)

    def factory(role, unit_id=None):
        username, password = make_user(dep, role, unit_id=unit_id)
        client = app.test_client()
        assert login(client, username, password).status_code == 302
        return client

    return factory


def test_the_results_page_filters_by_a_unit_typed_without_a_list(dep, client_as):
    admin = client_as("plan_admin")
    page = admin.get("/khao-sat/sipas")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < PAGE_LIMIT and html.count("<option") < 40
    assert 'id="don-vi" type="search" name="don-vi"' in html and "scope=mine" in html
    province = next(u for u in dep.plan.units if u.kind == "province")
    html = admin.get("/khao-sat/sipas", query_string={"don-vi": province.name.lower()}).get_data(as_text=True)
    assert f'value="{province.name.lower()}"' in html and "field-error" not in html
    html = admin.get("/khao-sat/sipas", query_string={"don-vi": province.id}).get_data(as_text=True)
    assert f'value="{province.name}"' in html  # an id (a link) shows the unit's name


def test_a_name_of_several_units_offers_links_and_an_unknown_one_says_so(dep, client_as):
    admin = client_as("plan_admin")
    first, second = national_plan.namesake_communes(dep.plan)
    page = admin.get("/khao-sat/sipas", query_string={"don-vi": first.name, "ky": "2024"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "có nhiều đơn vị khớp" in html.lower()
    links = re.findall(r'href="(/khao-sat/sipas\?[^"]*don-vi=[^"]+)"', html)
    assert any(second.id in link and "ky=2024" in link for link in links), links
    assert admin.get(next(link for link in links if second.id in link).replace("&amp;", "&")).status_code == 200
    unknown = admin.get("/khao-sat/sipas", query_string={"don-vi": "khong co xa nay"}).get_data(as_text=True)
    assert "Không tìm thấy đơn vị “khong co xa nay”" in unknown
    for hostile in ("x" * 5000, "<b>", "\x00"):
        assert admin.get("/khao-sat/sipas", query_string={"don-vi": hostile}).status_code in (200, 404)


@pytest.mark.parametrize("extra", ["survey_id", "endpoint", "_external", "_anchor", "_method", "_scheme"])
def test_a_name_of_several_units_with_a_crafted_parameter_is_no_500(dep, client_as, extra):
    """The candidates' links keep the page's other parameters: one named like the page's own
    (``survey_id``) or like url_for's (``endpoint``, ``_external`` …) is left out, not a 500."""
    admin = client_as("plan_admin")
    first, second = national_plan.namesake_communes(dep.plan)
    page = admin.get("/khao-sat/sipas", query_string={"don-vi": first.name, "ky": "2024", extra: "x"})
    assert page.status_code == 200
    links = re.findall(r'href="(/khao-sat/sipas\?[^"]*don-vi=[^"]+)"', page.get_data(as_text=True))
    assert any(second.id in link and "ky=2024" in link for link in links), links


def test_an_officer_keeps_a_short_list_of_their_units_and_sees_no_other(dep, client_as):
    provinces = [u for u in dep.plan.units if u.kind == "province"]
    officer = client_as("unit_officer", provinces[0].id)
    mine = [provinces[0], *dep.plan.descendants(provinces[0].id)]
    assert len(mine) <= 300  # a province of the 5 % plan: its list stays a list
    html = officer.get("/khao-sat/sipas").get_data(as_text=True)
    assert '<select id="don-vi" name="don-vi">' in html
    assert html.count("<option") < len(mine) + 30  # their units and the periods, no other unit
    outside = next(u for u in dep.plan.descendants(provinces[1].id) if u.kind == "commune")
    assert outside.name not in html
    assert officer.get("/khao-sat/sipas", query_string={"don-vi": outside.id}).status_code == 403
    assert officer.get("/khao-sat/sipas", query_string={"don-vi": outside.name}).status_code == 404


def test_the_placements_form_takes_a_unit_typed_and_keeps_the_form_when_refused(dep, client_as):
    admin = client_as("plan_admin")
    page = admin.get("/khao-sat/noi-dat")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < 50_000 and html.count("<option") < 20
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    first, second = national_plan.namesake_communes(dep.plan)
    form = {"csrf_token": token, "survey_id": "sipas", "unit_id": first.name, "place": "Quầy số 3", "mode": "poster"}
    refused = admin.post("/khao-sat/noi-dat", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'value="Quầy số 3"' in html
    assert {first.id, second.id} <= set(re.findall(r'name="unit_id-ma" value="([^"]+)"', html))
    unknown = admin.post("/khao-sat/noi-dat", data={**form, "unit_id": "Xã Không Có"})
    assert unknown.status_code == 422 and "Không tìm thấy đơn vị “Xã Không Có”" in unknown.get_data(as_text=True)
    made = admin.post("/khao-sat/noi-dat", data={**form, "unit_id-ma": second.id})
    assert made.status_code == 303
    assert [p.unit_id for p in list_placements(dep.db, plan=dep.plan)] == [second.id]


def test_the_results_sum_units_one_level_below_the_scope_and_drill_down(dep, client_as):
    """Posters at more units than a list holds: one row per unit one level below the reader's
    scope (each summing its placements and those below it), names that drill down, and the
    placements' table in pages; the page stays under the bound at every level."""
    from ccch_survey.store import add_placement
    from ccch_survey_testing import store_response

    plan = dep.plan
    facilities = [u for u in plan.units if plan.depth(u.id) == 3][:360]
    placements = [add_placement(dep.db, plan, "sipas", u.id, "Bộ phận một cửa") for u in facilities]
    for placement, answer in zip(placements[:3], "541", strict=True):
        store_response(dep, placement, {"tiep-can.1": answer})
    admin = client_as("plan_admin")
    page = admin.get("/khao-sat/sipas", query_string={"ky": "2024-03"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < PAGE_LIMIT
    assert "Mỗi dòng gộp các nơi đặt" in html
    provinces = {plan.ancestors(u.id)[-2].id for u in facilities}
    unit_rows = re.findall(r'<th scope="row"><a href="[^"]*don-vi=([^"&]+)[^"]*">', html)
    assert set(unit_rows) == provinces and len(unit_rows) == len(provinces)
    # The three answers (5, 4, 1) sum into their province's row: 2 of 3 satisfied.
    first = plan.ancestors(facilities[0].id)[-2]
    row = re.search(rf'don-vi={first.id}[^"]*">[^<]*</a></th><td>([^<]*)</td><td>[^<]*</td><td>(\d+)</td>', html)
    assert row and row.group(2) == "3" and row.group(1) == "66,6%", row and row.groups()
    # the placements' table in pages of 50, the total row over all of them
    assert html.count('href="/khao-sat/sipas?ky=2024-03&amp;noi-dat=') == 50
    assert "Trang 1/8" in html and "1–50 / 360" in html
    last = admin.get("/khao-sat/sipas", query_string={"ky": "2024-03", "trang": 8}).get_data(as_text=True)
    assert last.count("noi-dat=") - last.count('name="noi-dat"') >= 10 and "Trang 8/8" in last
    assert admin.get("/khao-sat/sipas", query_string={"trang": "999999999999"}).status_code == 400
    # drill down: the province shows its communes (with placements below them), the commune its units
    html = admin.get("/khao-sat/sipas", query_string={"ky": "2024-03", "don-vi": first.id}).get_data(as_text=True)
    below = {u.id for u in facilities if plan.is_within(u.id, first.id)}
    shown = set(re.findall(r'<th scope="row"><a href="[^"]*don-vi=([^"&]+)[^"]*">', html))
    assert len(below) < 300 and shown == below  # fewer than a list holds: each unit, as on a small plan
    assert "Mỗi dòng gộp" not in html
