"""The contest manager's pages on a plan the size of the country (#26): no page lists every unit.

The plan is ``bench/national_plan.py``'s at 5 % (1,894 units: more than a list can hold,
ccch_core.unit_picker.PICKER_LIMIT), with communes of the same name in several provinces. The
set-up page lists the plan's groups and the units chosen, takes the organiser and each added unit
by name (the core's unit picker), and still saves a definition shown unchanged as it was; the
posters page lists the groups and takes one unit by name. Đức Thọ keeps its lists
(test_web_manage, test_setup_roundtrip, test_posters)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from ccch_contest.contests import get_contest, save_definition
from ccch_contest.definition import definition_from_dict
from test_setup_roundtrip import FormFields
from werkzeug.datastructures import MultiDict

from ccch_core.testing import login

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

import national_plan
import national_plugin_pages_bench

PAGE_LIMIT = 200 * 1024


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory):
    return national_plan.small_plan(tmp_path_factory.mktemp("national-plan"))


@pytest.fixture
def dep(make_deployment, plan_path):
    dep = make_deployment(plugins=("contest",), plan_path=plan_path)
    data = national_plugin_pages_bench._contest_definition(dep.plan)
    save_definition(dep, definition_from_dict(data, dep.plan), username="test")
    return dep


@pytest.fixture
def manager(dep, make_app, make_user):
    username, password = make_user(dep, "system_admin")
    client = make_app(dep).test_client()
    assert login(client, username, password).status_code == 302
    return client


def page_fields(client, url) -> tuple[str, MultiDict]:
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    parser = FormFields()
    parser.feed(html)
    return html, MultiDict(parser.fields)


SETUP = "/cuoc-thi/quan-ly/tim-hieu-cchc/thiet-lap"


def test_the_setup_page_is_bounded_and_saves_the_contest_unchanged(dep, manager):
    before = get_contest(dep, "tim-hieu-cchc").definition
    html, fields = page_fields(manager, SETUP)
    assert len(html.encode()) < PAGE_LIMIT and html.count("<option") < 300
    commune = next(u for u in dep.plan.units if u.kind == "commune")
    assert commune.name not in html  # no list of every unit
    organiser = dep.plan.unit(before.organiser)
    assert f'name="organiser-ma" value="{organiser.id}"' in html and f'value="{organiser.name}"' in html
    assert 'data-unit-search="/don-vi/tim.json"' in html and 'name="excluded_units-them"' in html
    assert "Nhóm: UBND các xã, phường" in html
    saved = manager.post(SETUP, data=fields)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:3000]
    after = get_contest(dep, "tim-hieu-cchc").definition
    assert (after.organiser, after.units, after.eligibility.excluded_units) == \
        (before.organiser, before.units, before.eligibility.excluded_units)
    assert [a.units for a in after.audiences] == [a.units for a in before.audiences]


def test_a_unit_typed_beside_a_list_is_added_to_it(dep, manager):
    _, fields = page_fields(manager, SETUP)
    province = next(u for u in dep.plan.units if u.kind == "province")
    fields["excluded_units-them"] = province.name.lower()
    saved = manager.post(SETUP, data=fields)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:3000]
    assert get_contest(dep, "tim-hieu-cchc").definition.eligibility.excluded_units == (province.id,)
    # Shown again as chosen in its list, and saved again unchanged.
    html, fields = page_fields(manager, SETUP)
    assert f'<option value="{province.id}" selected>{province.name}</option>' in html
    assert manager.post(SETUP, data=fields).status_code == 303
    assert get_contest(dep, "tim-hieu-cchc").definition.eligibility.excluded_units == (province.id,)


def test_a_name_of_several_units_comes_back_with_them_and_the_form_kept(dep, manager):
    first, second = national_plan.namesake_communes(dep.plan)
    _, fields = page_fields(manager, SETUP)
    fields["title"] = "Tên mới của cuộc thi"
    fields["excluded_units-them"] = first.name
    refused = manager.post(SETUP, data=fields)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f"Thêm đơn vị: có nhiều đơn vị khớp với “{first.name}”" in html
    assert 'value="Tên mới của cuộc thi"' in html
    assert {first.id, second.id} <= set(re.findall(r'name="excluded_units-them-ma" value="([^"]+)"', html))
    assert get_contest(dep, "tim-hieu-cchc").definition.title != "Tên mới của cuộc thi"  # nothing saved
    fields["excluded_units-them-ma"] = second.id
    assert manager.post(SETUP, data=fields).status_code == 303
    assert get_contest(dep, "tim-hieu-cchc").definition.eligibility.excluded_units == (second.id,)


def test_an_unknown_organiser_is_refused_naming_it(dep, manager):
    _, fields = page_fields(manager, SETUP)
    fields["organiser"] = "Sở Không Có Thật"
    del fields["organiser-ma"]
    refused = manager.post(SETUP, data=fields)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Không tìm thấy đơn vị “Sở Không Có Thật” trong kế hoạch" in html
    assert 'value="Sở Không Có Thật"' in html and 'aria-invalid="true"' in html
    # Typed over the chosen organiser (its id still sent): the name typed counts, not the id.
    _, fields = page_fields(manager, SETUP)
    fields["organiser"] = "Sở Không Có Thật"
    assert manager.post(SETUP, data=fields).status_code == 422
    # A new contest's page is bounded too.
    new = manager.get("/cuoc-thi/quan-ly/tao")
    assert new.status_code == 200 and len(new.data) < PAGE_LIMIT


def test_the_posters_page_lists_groups_and_takes_one_unit_by_name(dep, manager):
    url = "/cuoc-thi/quan-ly/tim-hieu-cchc/poster"
    page = manager.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < 50_000 and html.count("<option") < 30
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    first, second = national_plan.namesake_communes(dep.plan)
    refused = manager.post(url, data={"csrf_token": token, "where": "", "don-vi": first.name, "place": "Nhà văn hóa",
                                      "size": "A4"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Đơn vị: có nhiều đơn vị khớp" in html and 'value="Nhà văn hóa"' in html
    unknown = manager.post(url, data={"csrf_token": token, "where": "", "don-vi": "xyz khong co", "size": "A4"})
    assert unknown.status_code == 422 and "“xyz khong co”" in unknown.get_data(as_text=True)
    pdf = manager.post(url, data={"csrf_token": token, "where": "", "don-vi": first.name, "don-vi-ma": second.id,
                                  "place": "Nhà văn hóa", "size": "A4"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_the_participation_page_charts_the_largest_and_pages_the_table(dep, manager):
    url = "/cuoc-thi/quan-ly/tim-hieu-cchc/tham-gia"
    page = manager.get(url)
    html = page.get_data(as_text=True)
    communes = [u for u in dep.plan.units if u.kind == "commune"]
    assert len(communes) > 100 and page.status_code == 200 and len(page.data) < 50_000
    assert html.count("<tr><td>") == 50  # a page of the table (levels.PAGE_SIZE)
    assert "Trang 1/" in html and "trang=2" in html
    last = manager.get(url, query_string={"trang": 999}).get_data(as_text=True)  # clamped to the last page
    assert 0 < last.count("<tr><td>") <= 50
    seen = set()
    for number in range(1, len(communes) // 50 + 2):
        rows = manager.get(url, query_string={"trang": number}).get_data(as_text=True)
        seen |= set(re.findall(r"<tr><td>([^<]+)</td>", rows))
    assert {u.name for u in communes} <= seen  # every unit is on some page
    assert manager.get(url, query_string={"trang": "x" * 500}).status_code in (200, 400)
