"""The call built with the web form (Thiết lập): it writes the same TOML the file would."""

from __future__ import annotations

import re

import pytest
from ccch_initiatives.calls import get_call
from ccch_initiatives.definition import loads_definition
from ccch_initiatives.setup_form import SetupError, definition_from_form, form_values
from initiatives_testing import SLUG, example_text, post


def test_the_form_writes_back_the_example_call_unchanged(dep):
    example = loads_definition(example_text(), dep.plan)
    _text, again = definition_from_form(form_values(example), dep.plan)
    assert again == example


def test_a_new_call_from_the_form_gets_keys_from_names(dep):
    values = form_values(loads_definition(example_text(), dep.plan))
    values = {k: v for k, v in values.items() if not k.endswith("_key") and not k.startswith("tie_")}
    values.update({"slug": "sang-kien-2025", "criterion_5_name": "Tính bền vững", "criterion_5_weight": "1,5",
                   "criterion_5_min": "0", "criterion_5_max": "5", "tie_1": "submitted"})
    text, definition = definition_from_form(values, dep.plan)
    assert [c.key for c in definition.criteria] == ["tinh-moi-sang-tao", "tinh-kha-thi", "hieu-qua",
                                                    "kha-nang-nhan-rong", "tinh-ben-vung"]
    assert definition.criteria[-1].weight == 1.5 and definition.criteria[-1].high == 5
    assert definition.slug == "sang-kien-2025" and 'slug = "sang-kien-2025"' in text


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"closes_date": "31/02/2024"}, "closes_date", "Hết hạn nhận bài: không có ngày giờ này."),
    ({"opens_date": "2024-07-01"}, "opens_date", "Mở nhận bài: cần ngày dạng 30/09/2024."),
    ({"closes_date": "01/06/2024"}, "closes_date", "Hết hạn nhận bài: phải sau call.opens."),
    ({"judges_per_entry": "٣"}, "judges_per_entry", "cần một số nguyên từ 1 đến 15"),
    ({"criterion_1_weight": "-2"}, "criterion_1_weight", "trọng số không hợp lệ"),
    ({"criterion_2_max": "0"}, "criterion_2_max", "điểm cao nhất không hợp lệ"),
    ({"title": ""}, "title", "Tên cuộc thi: không được để trống."),
    ({"units": "khong-co"}, "units", "không có đơn vị hay nhóm đơn vị “khong-co”"),
    ({"award_1_count": "0"}, "award_1_count", "số giải cần từ 1 đến 100"),
])
def test_each_problem_is_under_its_field(dep, changes, field, message):
    values = {**form_values(loads_definition(example_text(), dep.plan)), **changes}
    with pytest.raises(SetupError) as caught:
        definition_from_form(values, dep.plan)
    assert message in caught.value.errors[field], caught.value.errors


def test_a_manager_edits_a_call_with_the_form(dep, call, client_for, make_user):
    manager, _ = make_user(dep, "contest_manager")
    client = client_for(manager)
    url = f"/sang-kien/hoi-dong/{SLUG}/thiet-lap"
    page = client.get(url).get_data(as_text=True)
    assert 'value="30/09/2024"' in page and 'value="17:00"' in page and 'value="Tính mới, sáng tạo"' in page
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)" value="([^"]*)"', page))
    fields.update({k: "1" for k in re.findall(r'name="(entrant_\w+)" value="1" checked', page)})
    fields["rules"] = "Thể lệ mới."
    fields["closes_date"] = "31/02/2024"
    fields.pop("csrf_token", None)
    response = post(client, url, fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Hết hạn nhận bài: không có ngày giờ này." in page
    assert 'value="31/02/2024"' in page  # kept as typed
    fields["closes_date"] = "15/10/2024"
    assert post(client, url, fields).status_code == 303
    saved = get_call(dep.db, SLUG).definition
    assert saved.rules == "Thể lệ mới." and saved.closes_at.astimezone().date().isoformat() == "2024-10-15"
    assert [c.key for c in saved.criteria] == [c.key for c in call.definition.criteria]  # keys kept
    viewer, _ = make_user(dep, "viewer")
    assert client_for(viewer).get(url).status_code == 403
