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
from ccch_contest.participants import REFUSED
from test_setup_roundtrip import FormFields
from werkzeug.datastructures import MultiDict

from ccch_core import unit_picker
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


# -- The public registration form at national size ---------------------------------------------
#
# Residents pick the commune they live in (166 communes in the 5 % plan, verified by a code sent
# to the phone); civil servants pick the commune's People's Committee or its one-stop desk where
# they work (332 units): 498 options together, more than a list holds (PICKER_LIMIT, 300), so
# the form asks for the unit by name, resolved by the server within the chosen audience's units.

BASE = "/cuoc-thi/tim-hieu-cchc"
MESSAGES = {"channels": {"sms": {"sender": "folder"}}}
PUBLIC_LIMIT = 30_000  # a citizen's page on a cheap phone (the list was 162 KB at national size)


@pytest.fixture
def national(make_deployment, plan_path):
    return national_contest(make_deployment, plan_path)


def national_contest(make_deployment, plan_path, settings=None):
    from ccch_contest import bank
    from ccch_contest.lifecycle import set_status

    dep = make_deployment(plugins=("contest",), plan_path=plan_path, messages=MESSAGES,
                          plugin_settings={"contest": settings} if settings else None)
    data = national_plugin_pages_bench._contest_definition(dep.plan)
    groups = {g.id for g in dep.plan.unit_groups}
    assert {"cac-xa", "bo-phan-mot-cua"} <= groups
    data["contest"]["verification"] = {"phone_channel": "sms", "daily_codes": 1000}
    data["audiences"] = [
        {"key": "nhan-dan", "name": "Nhân dân", "units": ["cac-xa"], "verify": "phone"},
        {"key": "cbccvc", "name": "Cán bộ, công chức", "description": "Cán bộ, công chức cấp xã.",
         "units": ["cac-xa", "bo-phan-mot-cua"], "verify": "none"}]
    contest, _ = save_definition(dep, definition_from_dict(data, dep.plan), username="test")
    rows = bank.read_question_file(ROOT / "examples" / "duc-tho-2024" / "questions.csv")
    found, audiences, _problems = bank.parse_rows(rows, contest.definition, plan=None)
    bank.import_questions(dep.db, contest.id, found, audiences, replace=True, username="test")
    set_status(dep, get_contest(dep, "tim-hieu-cchc"), "published", username="test")
    return dep


@pytest.fixture
def citizen(national, make_app):
    return make_app(national).test_client()


def unique_commune(plan):
    return next(u for u in plan.units if u.kind == "commune" and sum(1 for v in plan.units if v.name == u.name) == 1)


def registration(phone="0912345678", **overrides) -> dict:
    return {"full_name": "Trần Thị Mai", "phone": phone, "birth_year": "1988", "audience": "nhan-dan",
            "consent": "1", "start_now": "1", **overrides}


def post_registration(client, **overrides):
    html = client.get(BASE + "/dang-ky").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return client.post(BASE + "/dang-ky", data={"csrf_token": token, **registration(**overrides)})


def codes_sent(dep) -> list[str]:
    import json

    rows = dep.db.execute("select params from messages where template = 'otp' order by id").fetchall()
    return [json.loads(p)["code"] for (p,) in rows]


def participants(dep) -> list[tuple]:
    return dep.db.execute("select full_name, audience, unit_id from contest_participants").fetchall()


def test_the_registration_page_asks_for_the_unit_by_name_without_a_list(national, citizen):
    from ccch_contest.web.public import form_picker

    contest = get_contest(national, "tim-hieu-cchc")
    assert form_picker(contest.definition, national.plan)
    page = citizen.get(BASE + "/dang-ky")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < PUBLIC_LIMIT, len(page.data)
    assert html.count("<option") == 0 and "<select" not in html  # not one option per unit
    assert '<input id="unit_id" type="search" name="unit_id"' in html
    assert "<script" not in html and "/don-vi/tim.json" not in html  # no script, no signed-in search
    commune = unique_commune(national.plan)
    assert commune.name not in html
    # The residents' own words: where they live, not the People's Committee.
    assert "Nhân dân: xã, phường, thị trấn nơi cư trú" in html and "Cán bộ, công chức: đơn vị công tác" in html
    # The landing page stays as it was for such a contest: the form on its own page.
    landing = citizen.get(BASE).get_data(as_text=True)
    assert 'name="full_name"' not in landing and f'href="{BASE}/dang-ky"' in landing


def test_a_commune_typed_without_tones_registers_the_resident_there_through_the_code_step(national, citizen):
    from ccch_core.text import strip_diacritics

    commune = unique_commune(national.plan)
    typed = strip_diacritics(commune.name.removeprefix("UBND ")).lower()  # "xa loc minh"
    sent = post_registration(citizen, unit_id=typed)
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200 and "Nhập mã xác nhận" in html, html[:2000]
    assert participants(national) == []  # not before the code
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    done = citizen.post(BASE + "/xac-nhan", data={"csrf_token": token, "ma": codes_sent(national)[-1]})
    assert done.status_code == 200 and "/bai-thi/" in done.get_data(as_text=True)
    assert participants(national) == [("Trần Thị Mai", "nhan-dan", commune.id)]


def test_a_residents_whole_commune_name_is_that_commune_not_one_holding_its_words(national, citizen):
    """"xã Nam Thanh" typed by a resident is the commune of that name, though "xã Thanh Nam" (or
    "xã Tân Nam Thanh") holds the same words: the words alone would fit both."""
    from ccch_core import levels
    from ccch_core.text import strip_diacritics

    communes = [u for u in national.plan.units if u.kind == "commune"]
    key = {u.id: levels.search_key(u.name) for u in communes}
    named, other = next((a, b) for a in communes for b in communes
                        if b is not a and key[b.id] != key[a.id] and sum(key[u.id] == key[a.id] for u in communes) == 1
                        and all(w in key[b.id] for w in key[a.id].split()))
    typed = strip_diacritics(named.name.removeprefix("UBND "))
    assert post_registration(citizen, unit_id=typed, audience="cbccvc").status_code == 422  # the name as it is: both
    done = post_registration(citizen, unit_id=typed, audience="nhan-dan")
    assert done.status_code == 200 and "Nhập mã xác nhận" in done.get_data(as_text=True), other.name
    again = citizen.get(BASE + "/dang-ky").get_data(as_text=True)
    assert f'name="unit_id-ma" value="{named.id}"' in again


def test_namesakes_are_offered_whatever_the_length_of_the_name_typed(national, citizen):
    """A resident's whole name is looked for again with "UBND " before it: a name typed at the
    field's length (past it with the prefix) still brings the namesakes, not "too long"."""
    first, second = national_plan.namesake_communes(national.plan)
    name = first.name.removeprefix("UBND ")
    word = " " + name.split()[-1]
    typed = name + word * ((unit_picker.TEXT_MAX - len(name)) // len(word))
    assert unit_picker.TEXT_MAX - len(word) < len(typed) <= unit_picker.TEXT_MAX
    html = post_registration(citizen, unit_id=typed).get_data(as_text=True)
    assert {first.id, second.id} <= set(re.findall(r'type="radio" name="unit_id-ma" value="([^"]+)"', html))
    assert "dài quá" not in html


def test_the_form_sent_back_from_the_code_page_shows_the_commune_chosen(national, citizen):
    commune = unique_commune(national.plan)
    assert post_registration(citizen, unit_id=commune.name.lower()).status_code == 200
    again = citizen.get(BASE + "/dang-ky").get_data(as_text=True)  # "Sửa thông tin đăng ký"
    label = commune.name.removeprefix("UBND ")
    assert f'value="{label}"' in again and f'name="unit_id-ma" value="{commune.id}"' in again
    assert 'value="Trần Thị Mai"' in again


def test_a_name_of_two_communes_comes_back_with_both_and_everything_typed(national, citizen):
    first, second = national_plan.namesake_communes(national.plan)
    name = first.name.removeprefix("UBND ")  # "xã An Hưng", as a resident says it
    refused = post_registration(citizen, unit_id=name, citizen_id="", full_name="Lê Văn Bình")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f"Có nhiều đơn vị khớp với “{name}”" in html and 'href="#unit_id"' in html
    assert 'value="Lê Văn Bình"' in html and 'value="0912345678"' in html and 'value="1988"' in html
    assert f'value="{name}"' in html
    assert set(re.findall(r'type="radio" name="unit_id-ma" value="([^"]+)"', html)) == {first.id, second.id}
    # Told apart by their provinces, in the residents' words (no "UBND").
    for unit in (first, second):
        province = national.plan.unit(unit.parent).name.removeprefix("UBND ")
        assert f"{name} — {province}" in html
    assert codes_sent(national) == []  # nothing sent for a form that comes back
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    chosen = citizen.post(BASE + "/dang-ky", data={"csrf_token": token, "unit_id-ma": second.id,
                                                   **registration(unit_id=name, full_name="Lê Văn Bình")})
    html = chosen.get_data(as_text=True)
    assert chosen.status_code == 200 and "Nhập mã xác nhận" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert citizen.post(BASE + "/xac-nhan", data={"csrf_token": token, "ma": codes_sent(national)[-1]}).status_code == 200
    assert participants(national) == [("Lê Văn Bình", "nhan-dan", second.id)]


def test_a_unit_of_another_audience_or_none_is_refused_naming_it(national, citizen):
    desk = next(u for u in national.plan.units if u.kind == "one_stop_desk")
    # A one-stop desk is a civil servant's workplace, not where a resident lives.
    refused = post_registration(citizen, unit_id=desk.name)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f"“{desk.name}” không có trong danh sách đơn vị của đối tượng “Nhân dân”" in html
    assert "Gõ tên xã, phường, thị trấn nơi bạn cư trú" in html and 'aria-invalid="true"' in html
    assert f'value="{desk.name}"' in html and 'value="Trần Thị Mai"' in html
    # The same desk for a civil servant (no code: this audience does not verify): registered there.
    done = post_registration(citizen, unit_id=desk.name, audience="cbccvc", phone="0912345679")
    assert done.status_code == 200 and "/bai-thi/" in done.get_data(as_text=True)
    assert participants(national) == [("Trần Thị Mai", "cbccvc", desk.id)]
    # A name nothing is called: refused in words, naming what was typed.
    unknown = post_registration(citizen, unit_id="Phường Không Có Thật", phone="0912345670")
    html = unknown.get_data(as_text=True)
    assert unknown.status_code == 422 and "Không tìm thấy xã, phường “Phường Không Có Thật”" in html
    assert codes_sent(national) == []


def test_an_id_chosen_for_another_audience_is_not_taken(national, citizen):
    """The namesake picked (its id) counts only within the audience chosen: a desk's id sent beside
    a resident's form is looked at as what the field says, not taken."""
    desk = next(u for u in national.plan.units if u.kind == "one_stop_desk")
    refused = post_registration(citizen, **{"unit_id": desk.name, "unit_id-ma": desk.id})
    assert refused.status_code == 422 and participants(national) == []
    by_id = post_registration(citizen, unit_id=desk.id)  # a unit's id typed: the same refusal
    assert by_id.status_code == 422 and "không có trong danh sách đơn vị của đối tượng" in by_id.get_data(as_text=True)


@pytest.mark.parametrize("field", ["unit_id", "full_name"])
@pytest.mark.parametrize("hostile", ["x" * 5000, "<script>alert(1)</script>", "An\x00Hưng", "\x00", "%' or 1=1 --"])
def test_hostile_text_comes_back_as_a_mistake_never_a_crash(national, citizen, field, hostile):
    response = post_registration(citizen, **{field: hostile})
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:2000]
    assert "<script>alert" not in html
    assert f'value="{"0912345678"}"' in html and ('value="Trần Thị Mai"' in html or field == "full_name")  # kept
    if field == "unit_id":  # comes back cleaned and bounded, as a name typed could be
        assert "\x00" not in html and "x" * 201 not in html and len(response.data) < PUBLIC_LIMIT
    assert participants(national) == [] and codes_sent(national) == []


def test_the_refusal_of_a_registered_number_still_reads_the_same(national, citizen, make_app):
    """A name typed and resolved changes nothing in what a taken number gets: the code page, as for
    a new number (the code goes out in every case: test_verification)."""
    commune = unique_commune(national.plan)
    sent = post_registration(citizen, unit_id=commune.name)
    token = re.search(r'name="csrf_token" value="([^"]+)"', sent.get_data(as_text=True)).group(1)
    citizen.post(BASE + "/xac-nhan", data={"csrf_token": token, "ma": codes_sent(national)[-1]})
    other = make_app(national).test_client()
    again = post_registration(other, unit_id=commune.name)
    assert again.status_code == 200 and "Nhập mã xác nhận" in again.get_data(as_text=True)
    assert len(codes_sent(national)) == 2


def test_a_districts_form_keeps_its_list(make_deployment, make_app):
    """Đức Thọ's form (under PICKER_LIMIT) lists its units as before, and its landing page carries it."""
    from ccch_contest.web.public import form_picker
    from ccch_contest_testing import contest_data, load_contest

    dep = make_deployment(plugins=("contest",))
    contest = load_contest(dep, contest_data())
    assert not form_picker(contest.definition, dep.plan)
    client = make_app(dep).test_client()
    html = client.get("/cuoc-thi/tim-hieu-cchc-2024/dang-ky").get_data(as_text=True)
    assert '<select id="unit_id" name="unit_id"' in html and '<option value="xa-an-dung"' in html
    assert 'type="search"' not in html
    assert '<select id="unit_id"' in client.get("/cuoc-thi/tim-hieu-cchc-2024").get_data(as_text=True)


def test_names_looked_up_count_against_the_registration_limit(make_deployment, plan_path, make_app):
    # Each name looked up among the plan's thousands of units costs milliseconds: a form sent back
    # for its unit counts like any registration, and an address over the limit gets the one
    # refusal without a look-up.
    dep = national_contest(make_deployment, plan_path, {"limit_register": [3, 3600]})
    client = make_app(dep).test_client()
    for n in range(3):
        refused = post_registration(client, phone=f"091234567{n}", unit_id=f"Phường Không Có Thật {n}")
        assert refused.status_code == 422 and "Không tìm thấy" in refused.get_data(as_text=True)
    over = post_registration(client, phone="0912345679", unit_id="Phường Không Có Thật 4")
    html = over.get_data(as_text=True)
    assert over.status_code == 422 and REFUSED in html and "Không tìm thấy" not in html
    assert "Trần Thị Mai" in html  # the form kept
    assert codes_sent(dep) == [] and participants(dep) == []



def test_a_refusal_reads_the_same_at_the_limit_and_for_a_registered_number(make_deployment, plan_path, make_app):
    # The one refusal says nothing of its reason (participants.REFUSED): a number registered and
    # an address at the limit answer the same page. The refusal at the limit, given before the
    # unit's look-up, emptied the unit field while a registered number's showed the unit found:
    # on a shared network that told a stranger which refusal was the number's.
    dep = national_contest(make_deployment, plan_path, {"limit_register": [3, 3600]})
    app = make_app(dep)
    commune = unique_commune(dep.plan)
    typed = commune.name.lower()
    done = post_registration(app.test_client(), audience="cbccvc", unit_id=typed)
    assert done.status_code in (200, 303) and len(participants(dep)) == 1
    stranger = app.test_client()

    def refusal():
        response = post_registration(stranger, audience="cbccvc", unit_id=typed)
        assert response.status_code == 422
        return re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True))

    registered = refusal()  # the second registration of the network's three
    assert REFUSED in registered
    refusal()  # the third
    assert refusal() == registered  # the address at the limit: no look-up, the same page
    assert f'value="{typed}"' in registered  # what was typed, kept
