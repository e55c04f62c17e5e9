"""The initiatives' pages on a plan the size of the country (#26): no page lists every unit.

The plan is ``bench/national_plan.py``'s at 5 % (1,894 units: more than a list can hold,
ccch_core.unit_picker.PICKER_LIMIT), with communes of the same name in several provinces. The
entry form (public, no JavaScript) takes the entrant's and each author's unit typed by name; the
set-up and panel pages take the organiser and a judge's unit the same way. Đức Thọ keeps its lists
(test_entries, test_setup_form, test_panel_web)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from ccch_initiatives.calls import get_call, panel, save_call
from initiatives_testing import SLUG, docx, entry_form, example_text, post, post_public

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

import national_plan

PAGE_LIMIT = 200 * 1024


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory):
    return national_plan.small_plan(tmp_path_factory.mktemp("national-plan"))


@pytest.fixture
def dep(make_deployment, plan_path):
    return make_deployment(["initiatives"], plan_path=plan_path)


@pytest.fixture
def call(dep, clock):
    # Open to every unit of the plan (1,894), organised by the ministry.
    return save_call(dep, example_text(organiser='"bo-noi-vu"', units="[]"), actor="test")[0]


@pytest.fixture
def app(dep, make_app):
    return make_app(dep)


FORM = f"/sang-kien/{SLUG}/nop-bai"


def entry(**changes):
    return {**entry_form(**changes), "document": (__import__("io").BytesIO(docx()), "sang-kien.docx")}


def test_the_entry_form_is_bounded_and_has_no_script(call, app, dep):
    page = app.test_client().get(FORM)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < 60_000 and "<script" not in html
    assert html.count("<option") < 30
    assert '<input id="f-unit_id" type="search" name="unit_id"' in html
    assert 'name="author_unit_2"' in html


def test_an_entry_names_its_units_by_name_and_namesakes_are_offered(call, app, dep):
    first, second = national_plan.namesake_communes(dep.plan)
    client = app.test_client()
    refused = post_public(client, FORM, entry(unit_id=first.name), content_type="multipart/form-data")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422, html[:2000]
    assert f"Có nhiều đơn vị khớp với “{first.name}”" in html
    assert 'value="Tổ hỗ trợ dịch vụ công trực tuyến"' in html  # the form kept
    assert {first.id, second.id} <= set(re.findall(r'name="unit_id-ma" value="([^"]+)"', html))
    unknown = post_public(client, FORM, entry(unit_id=second.name, author_unit_1="Phòng Không Có"),
                          content_type="multipart/form-data")
    assert unknown.status_code == 422
    assert "Không tìm thấy đơn vị “Phòng Không Có”" in unknown.get_data(as_text=True)
    province = next(u for u in dep.plan.units if u.kind == "province")
    done = post_public(client, FORM, {**entry(unit_id=first.name, author_unit_1=province.name.lower()),
                                      "unit_id-ma": second.id}, content_type="multipart/form-data")
    assert done.status_code == 200, done.get_data(as_text=True)[:2000]
    stored = dep.db.execute("select unit_id from initiative_entries").fetchone()[0]
    assert stored == second.id
    authors = dep.db.execute("select authors from initiative_entries").fetchone()[0]
    assert province.id in authors


def test_setup_and_panel_pages_take_units_by_name(call, app, dep, make_user):
    from ccch_core.testing import login

    username, password = make_user(dep, "system_admin")
    client = app.test_client()
    assert login(client, username, password).status_code == 302
    for url in ("/sang-kien/hoi-dong/thiet-lap", f"/sang-kien/hoi-dong/{SLUG}/thiet-lap",
                f"/sang-kien/hoi-dong/{SLUG}/thanh-vien"):
        page = client.get(url)
        assert page.status_code == 200 and len(page.data) < PAGE_LIMIT, url
        assert page.get_data(as_text=True).count("<option") < 40, url
    html = client.get(f"/sang-kien/hoi-dong/{SLUG}/thiet-lap").get_data(as_text=True)
    assert 'name="organiser-ma" value="bo-noi-vu"' in html
    judge, _ = make_user(dep, "viewer")
    first, second = national_plan.namesake_communes(dep.plan)
    url = f"/sang-kien/hoi-dong/{SLUG}/thanh-vien"
    refused = post(client, url, {"username": judge, "role": "judge", "unit_id": first.name})
    assert refused.status_code == 422 and "có nhiều đơn vị khớp" in refused.get_data(as_text=True).lower()
    assert post(client, url, {"username": judge, "role": "judge", "unit_id": first.name,
                              "unit_id-ma": second.id}).status_code == 303
    assert [(s.username, s.unit_id) for s in panel(dep.db, get_call(dep.db, SLUG).id)] == [(judge, second.id)]


def test_an_entry_is_corrected_through_the_unit_picker(call, app, dep):
    """Looked up by its tracking code, the entry's form shows its units by name (the picker); sent
    back as shown with a field corrected, or with another unit typed, it is saved — the replace
    path resolves the typed names as the first submission does."""
    first, second = national_plan.namesake_communes(dep.plan)
    client = app.test_client()
    done = post_public(client, FORM, {**entry(unit_id=first.name), "unit_id-ma": first.id},
                       content_type="multipart/form-data")
    assert done.status_code == 200
    code = re.search(r"SK-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", done.get_data(as_text=True)).group(0)
    url = f"/sang-kien/{SLUG}/tra-cuu"
    page = post_public(client, url, {"code": code}).get_data(as_text=True)
    assert f'name="unit_id-ma" value="{first.id}"' in page
    shown = {**entry_form(title="Tên đã sửa", unit_id=first.name), "unit_id-ma": first.id, "code": code,
             "action": "replace"}
    response = post_public(client, url, shown, token_url=FORM, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    row = dep.db.execute("select title, unit_id from initiative_entries").fetchone()
    assert tuple(row) == ("Tên đã sửa", first.id)
    province = next(u for u in dep.plan.units if u.kind == "province")
    moved = {**entry_form(unit_id=province.name.lower()), "unit_id-ma": first.id, "code": code, "action": "replace"}
    response = post_public(client, url, moved, token_url=FORM, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    assert dep.db.execute("select unit_id from initiative_entries").fetchone()[0] == province.id
    several = {**entry_form(unit_id=second.name), "code": code, "action": "replace"}
    refused = post_public(client, url, several, token_url=FORM, content_type="multipart/form-data")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert f"Có nhiều đơn vị khớp với “{second.name}”" in html and 'value="Tổ hỗ trợ dịch vụ công trực tuyến"' in html
    assert dep.db.execute("select unit_id from initiative_entries").fetchone()[0] == province.id


def test_a_form_open_too_long_comes_back_with_the_units_typed(call, app, dep, monkeypatch):
    """A form sent after its token expired (a long form filled slowly) comes back asking for the
    document again; the units typed by name are kept like every other field, not emptied."""
    import time as real_time

    from ccch_core.web import formtoken

    first, _second = national_plan.namesake_communes(dep.plan)
    province = next(u for u in dep.plan.units if u.kind == "province")
    client = app.test_client()
    token = re.search(r'name="form_token" value="([^"]+)"', client.get(FORM).get_data(as_text=True)).group(1)
    later = real_time.time() + formtoken.DEFAULT_MAX_AGE + 3600
    monkeypatch.setattr(formtoken, "time", type("Later", (), {"time": staticmethod(lambda: later)}))
    data = {**entry(unit_id=first.name, author_unit_1=province.name.lower()), "unit_id-ma": first.id,
            "form_token": token}
    page = client.post(FORM, data=data, content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "Biểu mẫu đã mở quá lâu" in html
    assert 'value="Tổ hỗ trợ dịch vụ công trực tuyến"' in html
    assert f'name="unit_id" value="{first.name}"' in html and f'name="unit_id-ma" value="{first.id}"' in html
    assert f'name="author_unit_1" value="{province.name.lower()}"' in html
    assert dep.db.execute("select count(*) from initiative_entries").fetchone()[0] == 0
