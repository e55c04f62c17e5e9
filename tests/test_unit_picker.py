"""The unit picker's resolution (ccch_core.unit_picker) and its template macro, on the generated
national plan at 5 % (1,894 units, communes of the same name in several provinces) and on Đức Thọ."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from flask import render_template_string

from ccch_core import unit_picker
from ccch_core.planfile import load_plan
from ccch_core.unit_picker import UnitChoice, chosen, needs_picker, problem_vi, resolve_posted, resolve_unit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import national_plan


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    return load_plan(national_plan.small_plan(tmp_path_factory.mktemp("national-plan")))


def test_a_unit_is_found_by_its_id_its_name_or_its_name_without_tones(plan, duc_tho_plan):
    commune = next(u for u in duc_tho_plan.units if u.name == "UBND xã An Dũng")
    assert resolve_unit(duc_tho_plan, commune.id).unit == commune
    assert resolve_unit(duc_tho_plan, "UBND xã An Dũng").unit == commune
    assert resolve_unit(duc_tho_plan, "  ubnd xa an dung ").unit == commune  # no tones, any case
    # The only unit whose names contain every word typed: the desk of An Dũng.
    desk = resolve_unit(duc_tho_plan, "tiếp nhận an dũng").unit
    assert desk is not None and desk.parent == commune.id
    # NFD input (some keyboards) is the same name.
    import unicodedata
    assert resolve_unit(duc_tho_plan, unicodedata.normalize("NFD", "UBND xã An Dũng")).unit == commune
    # A name whose words another unit's names contain too ("UBND xã Tân Dân": two units fit) typed with
    # two spaces or a tab between words (pasted) is still that unit's own name.
    tan_dan = next(u for u in duc_tho_plan.units if u.name == "UBND xã Tân Dân")
    assert resolve_unit(duc_tho_plan, "UBND xã Tân Dân").unit == tan_dan
    for typed in ("UBND xã  Tân Dân", "UBND\txã Tân Dân", "ubnd  xa tan dan"):
        assert resolve_unit(duc_tho_plan, typed).unit == tan_dan, typed


def test_a_name_of_several_units_offers_them_with_the_unit_above_each(plan):
    first, second = national_plan.namesake_communes(plan)
    choice = resolve_unit(plan, first.name)
    assert choice.unit is None and choice.problem == "ambiguous"
    assert {first.id, second.id} <= {u.id for u in choice.candidates}
    labels = dict(zip((u.id for u in choice.candidates), choice.labels, strict=True))
    assert labels[first.id] == f"{first.name} — {plan.unit(first.parent).name}"
    assert labels[first.id] != labels[second.id]
    message = problem_vi(choice, "Đơn vị tổ chức")
    assert message.startswith("Đơn vị tổ chức: ") and f"“{first.name}”" in message
    # The reader picks one: the id sent beside the text is taken, since the text fits it.
    picked = resolve_posted(plan, {"don-vi": first.name, "don-vi-ma": second.id}, "don-vi")
    assert picked.unit == second and picked.problem is None


def test_a_short_text_matching_thousands_shows_ten_and_counts_the_rest(plan):
    choice = resolve_unit(plan, "ubnd")
    assert choice.unit is None and len(choice.candidates) == unit_picker.CANDIDATES_SHOWN
    assert choice.more > 100
    assert "gõ thêm tên" in problem_vi(choice, "Đơn vị")


def test_one_or_two_letters_are_not_searched(plan):
    for text in ("x", "xa", "xã", "xa a", "Đ"):
        choice = resolve_unit(plan, text)
        assert choice.problem == "too_short" and choice.candidates == (), text
        assert problem_vi(choice, "Đơn vị") == (f"Đơn vị: “{text}” quá ngắn: gõ tên đơn vị, có ít nhất một chữ "
                                                 "từ 3 chữ cái trở lên.")
    assert resolve_unit(plan, "xa a b c thon").problem == "ambiguous"  # one word long enough: searched


def test_an_id_sent_beside_a_text_that_no_longer_fits_it_is_not_taken(plan):
    first, _ = national_plan.namesake_communes(plan)
    province = next(u for u in plan.units if u.kind == "province")
    # The page showed `first`; the reader typed a province's name over it.
    choice = resolve_posted(plan, {"u": province.name, "u-ma": first.id}, "u")
    assert choice.unit == province
    # An empty text with a chosen id keeps the id (a candidate picked, the text cleared).
    assert resolve_posted(plan, {"u": "", "u-ma": first.id}, "u").unit == first


def test_unknown_empty_long_and_hostile_texts_give_no_unit_and_never_raise(plan):
    assert resolve_unit(plan, "").problem is None and resolve_unit(plan, None).unit is None
    unknown = resolve_unit(plan, "Phường Không Có Thật")
    assert unknown.problem == "unknown" and unknown.candidates == ()
    assert problem_vi(unknown, "Đơn vị liên quan") == (
        "Đơn vị liên quan: không tìm thấy đơn vị “Phường Không Có Thật” trong kế hoạch. Gõ tên đơn vị "
        "(có dấu hoặc không), ví dụ “UBND xã …”.")
    assert problem_vi(unknown) == problem_vi(unknown, "Đơn vị liên quan").split(": ", 1)[1].replace("k", "K", 1)
    long = resolve_unit(plan, "x" * 201)
    assert long.problem == "too_long" and "200" in problem_vi(long, "Đơn vị")
    for text in ("\x00", "' or 1=1 --", "<script>", "%", "đ" * 200, "\u202e"):
        assert resolve_unit(plan, text).unit is None
    assert resolve_posted(plan, {"u": "", "u-ma": "x" * 500}, "u").unit is None
    assert resolve_posted(plan, {"u": "", "u-ma": "khong-co"}, "u").unit is None


def test_allowed_limits_what_may_be_chosen(plan):
    commune = next(u for u in plan.units if u.kind == "commune")
    only_provinces = lambda u: u.kind == "province"
    assert resolve_unit(plan, commune.id, allowed=only_provinces).unit is None
    assert resolve_unit(plan, "", chosen_id=commune.id, allowed=only_provinces).unit is None
    assert resolve_unit(plan, commune.name, allowed=only_provinces).unit is None
    province = next(u for u in plan.units if u.kind == "province")
    assert resolve_unit(plan, province.name, allowed=only_provinces).unit == province


def test_a_unit_of_the_plan_that_the_field_does_not_take_is_said_so_not_unknown(plan):
    """A commune typed where only provinces are taken exists: the message says it cannot be chosen
    here, not that it is missing from the plan; a text no unit fits is still unknown."""
    commune = next(u for u in plan.units if u.kind == "commune")
    only_provinces = lambda u: u.kind == "province"
    for text in (commune.name, commune.id):
        choice = resolve_unit(plan, text, allowed=only_provinces)
        assert choice.unit is None and choice.problem == "not_offered"
        assert problem_vi(choice, "Tỉnh") == (f"Tỉnh: “{commune.name}” không phải là đơn vị có thể chọn ở mục "
                                              "này. Gõ tên một đơn vị khác.")
    unknown = resolve_unit(plan, "Phường Không Có Thật", allowed=only_provinces)
    assert unknown.problem == "unknown" and problem_vi(unknown).startswith("Không tìm thấy đơn vị")
    assert resolve_unit(plan, commune.name).unit == commune or resolve_unit(plan, commune.name).candidates


def test_chosen_and_the_limit(plan, duc_tho_plan):
    commune = next(u for u in plan.units if u.kind == "commune")
    assert chosen(plan, commune.id) == UnitChoice(commune.name, commune)
    assert chosen(plan, "khong-co") == UnitChoice("") and chosen(plan, None) == UnitChoice("")
    assert not needs_picker(len(duc_tho_plan.units)) and needs_picker(len(plan.units))


def test_the_macro_renders_the_field_the_chosen_id_and_the_candidates(plan, make_deployment, make_app):
    app = make_app(make_deployment())
    first, _ = national_plan.namesake_communes(plan)
    template = ('{% from "_unit_picker.html" import unit_picker %}'
                '{{ unit_picker("don-vi", "i-don-vi", choice, search_url=url, invalid=bad) }}')
    with app.test_request_context("/"):
        shown = render_template_string(template, choice=chosen(plan, first.id), url=None, bad=False)
        assert f'value="{first.name}"' in shown and f'name="don-vi-ma" value="{first.id}"' in shown
        assert "datalist" not in shown and "unit-picker." not in shown  # no suggestions asked for
        many = resolve_unit(plan, first.name)
        shown = render_template_string(template, choice=many, url="/don-vi/tim.json", bad=True)
        assert 'aria-invalid="true"' in shown and 'data-unit-search="/don-vi/tim.json"' in shown
        assert "/static/unit-picker." in shown and 'type="hidden"' not in shown
        assert shown.count('type="radio" name="don-vi-ma"') == len(many.candidates) >= 2
        assert "<script>" not in render_template_string(template, choice=UnitChoice("<script>"), url=None, bad=True)
