"""The feedback pages on a plan the size of the country (#26): no page lists every unit.

The plan is ``bench/national_plan.py``'s at 5 % (1,894 units, about 360 a citizen may name: more
than a list can hold, ccch_core.unit_picker.PICKER_LIMIT), with communes of the same name in
several provinces. The public form takes the unit typed by name (no JavaScript) or from the
poster's QR code; a name of several units comes back with them to choose from, the form filled
in; the officer's pages choose through the same picker with suggestions. Đức Thọ's pages keep
their lists (test_public, test_flows, test_posters)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from ccch_feedback import store
from ccch_feedback_testing import TOKEN_RE, code_of, form_data, open_form

from ccch_core import placements
from ccch_core.testing import login

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

import national_plan

PUBLIC_LIMIT = 30_000  # a citizen's page, as test_public's


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory):
    return national_plan.small_plan(tmp_path_factory.mktemp("national-plan"))


@pytest.fixture
def dep(make_deployment, plan_path):
    return make_deployment(plugins=("feedback",), plan_path=plan_path,
                           plugin_settings={"feedback": {"triage_unit": "bo-noi-vu"}})


@pytest.fixture
def app(dep, make_app):
    return make_app(dep)


@pytest.fixture
def admin(app, dep, make_user):
    username, password = make_user(dep, "plan_admin")
    client = app.test_client()
    assert login(client, username, password).status_code == 302
    return client


def send(client, url="/hoi-dap/gui", **overrides):
    token, sid = open_form(client, url)
    return client.post(url, data={"csrf_token": token, "sid": sid, **form_data(**overrides)})


def test_the_public_form_is_small_has_no_list_of_units_and_no_script(app, dep):
    client = app.test_client()
    page = client.get("/hoi-dap/gui")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<script" not in html
    assert len(page.data) < PUBLIC_LIMIT, len(page.data)
    assert '<input id="i-don-vi" type="search" name="don-vi"' in html
    assert html.count("<option") < 30  # the fields only: no option per unit
    commune = next(u for u in dep.plan.units if u.kind == "commune")
    assert commune.name not in html


def test_a_unit_typed_without_tones_is_resolved_and_stored(app, dep):
    commune = next(u for u in dep.plan.units if u.kind == "commune" and
                   sum(1 for v in dep.plan.units if v.name == u.name) == 1)
    from ccch_core.text import strip_diacritics
    typed = strip_diacritics(commune.name).lower()
    code = code_of(send(app.test_client(), **{"don-vi": typed, "linh-vuc": ""}))
    assert store.item_by_code(dep.db, code).about_unit == commune.id


def test_a_name_of_several_communes_comes_back_filled_in_to_choose_one(app, dep):
    first, second = national_plan.namesake_communes(dep.plan)
    client = app.test_client()
    token, sid = open_form(client)
    data = {"csrf_token": token, "sid": sid, **form_data(**{"don-vi": first.name, "linh-vuc": ""})}
    refused = client.post("/hoi-dap/gui", data=data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f"Có nhiều đơn vị khớp với “{first.name}”" in html
    assert "Giấy khai sinh bản sao" in html and "mất bao lâu" in html  # nothing typed is lost
    assert f'value="{first.name}"' in html
    radios = re.findall(r'type="radio" name="don-vi-ma" value="([^"]+)"', html)
    assert {first.id, second.id} <= set(radios)
    assert f"{second.name} — {dep.plan.unit(second.parent).name}" in html
    token = TOKEN_RE.search(html).group(1)
    code = code_of(client.post("/hoi-dap/gui", data={**data, "csrf_token": token, "don-vi-ma": second.id}))
    assert store.item_by_code(dep.db, code).about_unit == second.id


def test_an_unknown_unit_is_refused_naming_it_with_the_form_kept(app):
    client = app.test_client()
    refused = send(client, **{"don-vi": "Phường Không Có Thật"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Không tìm thấy đơn vị “Phường Không Có Thật” trong kế hoạch" in html
    assert 'href="#don-vi"' in html and "Giấy khai sinh bản sao" in html
    assert 'aria-invalid="true"' in html
    for hostile in ("x" * 5000, "<script>alert(1)</script>", "\x00", "%' or 1=1"):
        response = send(client, **{"don-vi": hostile})
        assert response.status_code == 422 and "<script>alert" not in response.get_data(as_text=True)


def test_the_poster_gives_the_unit_and_the_citizen_may_keep_or_change_it(app, dep):
    first, _second = national_plan.namesake_communes(dep.plan)
    poster = placements.add_placement(dep.db, dep.plan, "feedback", first.id, "Nhà văn hóa")
    client = app.test_client()
    url = f"/hoi-dap/gui/{poster.code}"
    html = client.get(url).get_data(as_text=True)
    assert f'value="{first.name}"' in html and f'name="don-vi-ma" value="{first.id}"' in html
    # Kept as shown: the poster's own commune, not its namesake in another province.
    code = code_of(send(client, url, **{"don-vi": first.name, "don-vi-ma": first.id}))
    assert store.item_by_code(dep.db, code).about_unit == first.id
    # Another name typed over it: the unit typed.
    other = next(u for u in dep.plan.units if u.kind == "commune" and
                 sum(1 for v in dep.plan.units if v.name == u.name) == 1)
    code = code_of(send(client, url, **{"don-vi": other.name, "don-vi-ma": first.id}))
    assert store.item_by_code(dep.db, code).about_unit == other.id


def test_the_public_list_filters_by_a_unit_typed_and_offers_namesakes(app, dep):
    first, second = national_plan.namesake_communes(dep.plan)
    client = app.test_client()
    page = client.get("/hoi-dap/")
    assert page.status_code == 200 and len(page.data) < PUBLIC_LIMIT
    html = client.get("/hoi-dap/", query_string={"don-vi": first.name}).get_data(as_text=True)
    assert f"/hoi-dap/?don-vi={second.id}" in html and f"/hoi-dap/?don-vi={first.id}" in html
    html = client.get("/hoi-dap/", query_string={"don-vi": "khong co dau"}).get_data(as_text=True)
    assert "Không tìm thấy đơn vị “khong co dau”" in html
    assert client.get("/hoi-dap/", query_string={"don-vi": "x" * 5000}).status_code == 200
    assert client.get("/hoi-dap/", query_string={"don-vi": first.id}).status_code == 200


def test_the_public_list_counts_searches_by_name_per_address(make_deployment, make_app, plan_path):
    """A name typed on the public list searches every name of the plan (up to ~60 ms of CPU at
    national size): counted per address, past the limit the list comes back unfiltered with the
    field kept and a word why, not cached; a candidate's link (a unit's id) is never counted."""
    dep = make_deployment(plugins=("feedback",), plan_path=plan_path,
                          plugin_settings={"feedback": {"triage_unit": "bo-noi-vu",
                                                        "unit_searches_per_address_per_hour": 2}})
    first, second = national_plan.namesake_communes(dep.plan)
    client = make_app(dep).test_client()
    for _ in range(2):
        html = client.get("/hoi-dap/", query_string={"don-vi": first.name}).get_data(as_text=True)
        assert f"/hoi-dap/?don-vi={second.id}" in html
    refused = client.get("/hoi-dap/", query_string={"don-vi": first.name})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and refused.headers["Cache-Control"] == "no-store"
    assert "quá nhiều lần trong một giờ" in html and f"/hoi-dap/?don-vi={second.id}" not in html
    assert f'value="{first.name}"' in html  # what was typed is kept
    by_id = client.get("/hoi-dap/", query_string={"don-vi": second.id}).get_data(as_text=True)
    assert "quá nhiều lần" not in by_id and f'value="{second.name}"' in by_id
    other = client.get("/hoi-dap/", query_string={"don-vi": first.name}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert "quá nhiều lần" not in other.get_data(as_text=True)


def test_the_officer_assigns_by_a_name_typed_and_a_bad_name_keeps_the_page(app, dep, admin):
    code = code_of(send(app.test_client()))
    item = store.item_by_code(dep.db, code)
    page = admin.get(f"/phan-anh/{item.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < 200 * 1024
    assert 'data-unit-search="/don-vi/tim.json"' in html and html.count("<option") < 30
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    refused = admin.post(f"/phan-anh/{item.id}/xu-ly", data={"csrf_token": token, "thao-tac": "giao",
                                                             "don-vi": "Sở Không Có"})
    assert refused.status_code == 422
    assert "Không tìm thấy đơn vị “Sở Không Có”" in refused.get_data(as_text=True)
    department = next(u for u in dep.plan.units if u.kind == "provincial_department")
    done = admin.post(f"/phan-anh/{item.id}/xu-ly", data={"csrf_token": token, "thao-tac": "giao",
                                                          "don-vi": department.name})
    assert done.status_code == 303, done.get_data(as_text=True)[:500]
    assert store.get_item(dep.db, item.id).unit_id == department.id


def test_the_posters_page_places_by_a_name_typed(app, dep, admin):
    page = admin.get("/phan-anh/noi-dat")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < 50_000 and html.count("<option") < 30
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    first, second = national_plan.namesake_communes(dep.plan)
    refused = admin.post("/phan-anh/noi-dat", data={"csrf_token": token, "don-vi": first.name, "noi-dat": "Quầy 1"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Quầy 1" in html and "có nhiều đơn vị khớp" in html.lower()
    made = admin.post("/phan-anh/noi-dat", data={"csrf_token": token, "don-vi": first.name,
                                                 "don-vi-ma": second.id, "noi-dat": "Quầy 1"})
    assert made.status_code == 303
    assert [p.unit_id for p in placements.list_placements(dep.db, target="feedback")] == [second.id]


def test_a_provinces_department_may_be_named(app, dep):
    # A province's or the country's plan: the Sở answer citizens too (they were left out of the form).
    department = next(u for u in dep.plan.units if u.kind == "provincial_department" and not u.external)
    code = code_of(send(app.test_client(), **{"don-vi": department.name, "linh-vuc": ""}))
    assert store.item_by_code(dep.db, code).about_unit == department.id


def test_a_link_fills_in_only_a_unit_the_form_may_take(app, dep):
    # ?don-vi= fills the field in; a unit the form does not take (Bộ Nội vụ, a ministry) was put
    # there all the same, and sending the form then refused it.
    commune = next(u for u in dep.plan.units if u.kind == "commune")
    html = app.test_client().get(f"/hoi-dap/gui?don-vi={commune.id}").get_data(as_text=True)
    assert f'name="don-vi-ma" value="{commune.id}"' in html
    html = app.test_client().get("/hoi-dap/gui?don-vi=bo-noi-vu").get_data(as_text=True)
    assert "bo-noi-vu" not in html and "Bộ Nội vụ" not in html
