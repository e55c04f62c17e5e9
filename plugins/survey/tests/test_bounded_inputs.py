"""Issue #17 on the survey: odd numbers in the citizen's form and the officers' pages, a definition
nested 1,000 deep. Each was a 500 before; each is now a clear refusal, with nothing stored."""

from __future__ import annotations

import pytest
from ccch_survey.definition import DefinitionError, load_definition, loads_definition
from ccch_survey_testing import SIPAS, answers, open_form

from ccch_core.limits import ImportLimits
from ccch_core.testing import csrf_token, login

HUGE = "99999999999999999999"
DEEP = "x = " + "[" * 1000 + "]" * 1000 + "\n"


def responses(dep) -> int:
    return dep.db.execute("select count(*) from survey_responses").fetchone()[0]


@pytest.mark.parametrize("version", [HUGE, "9223372036854775808", "²", "٣", "-1", "0", "1" * 5000, ""])
def test_an_odd_version_in_the_citizens_form_is_400(app, dep, poster, version):
    """Issue #17: POST /k/<code> with v=99999999999999999999 was a 500 (SQLite's OverflowError)."""
    client = app.test_client()
    _, token, sid = open_form(client, f"/k/{poster.code}")
    response = client.post(f"/k/{poster.code}", data={"csrf_token": token, "sid": sid, "v": version, **answers()})
    assert response.status_code == 400
    assert "Phiên bản khảo sát không hợp lệ" in response.get_data(as_text=True)
    assert responses(dep) == 0
    response = client.post(f"/k/{poster.code}", data={"csrf_token": token, "sid": sid, "v": "1", **answers()})
    assert response.status_code == 200 and responses(dep) == 1


@pytest.fixture
def admin(app, dep, make_user):
    client = app.test_client()
    assert login(client, *make_user(dep, "system_admin")).status_code == 302
    return client


@pytest.mark.parametrize("value", ["9223372036854775807", HUGE, "²", "-1", "1" * 5000])
def test_a_page_of_comments_out_of_range_is_400(admin, value):
    """Issue #17: ?trang=9223372036854775807 on the comments page was a 500."""
    response = admin.get(f"/khao-sat/sipas/y-kien?trang={value}")
    assert response.status_code == 400
    assert "Số trang không hợp lệ" in response.get_data(as_text=True)
    assert admin.get("/khao-sat/sipas/y-kien?trang=100000").status_code == 200


@pytest.mark.parametrize("value", [HUGE, "٣", "abc"])
def test_an_odd_response_id_is_400(admin, value):
    token = csrf_token(admin, "/khao-sat/sipas/lien-he")
    response = admin.post("/khao-sat/sipas/lien-he/xoa", data={"csrf_token": token, "response_id": value})
    assert response.status_code == 400
    assert "Mã phản hồi không hợp lệ" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", [f"/khao-sat/phan-hoi/{HUGE}/loai", "/khao-sat/phan-hoi/٣/loai"])
def test_an_id_past_sqlites_range_in_a_path_is_404(admin, path):
    token = csrf_token(admin, "/khao-sat/sipas/lien-he")
    assert admin.post(path, data={"csrf_token": token}).status_code == 404
    assert admin.get(f"/khao-sat/sipas/phien-ban/{HUGE}").status_code == 404


def test_a_definition_nested_1000_deep_is_refused_with_the_text_kept(admin, dep):
    """Issue #17: a TOML text nested 1,000 deep was a RecursionError and a 500."""
    text = SIPAS.read_text(encoding="utf-8").replace('id = "sipas"', 'id = "sau"', 1) + DEEP
    token = csrf_token(admin, "/khao-sat/moi")
    response = admin.post("/khao-sat/moi", data={"csrf_token": token, "dinh_nghia": text, "ghi_chu": "thử"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "nội dung lồng nhau quá 20 tầng ([ ] hoặc { } trong nhau)" in html
    assert "[" * 50 in html  # the text comes back as typed
    assert dep.db.execute("select count(*) from survey_surveys where id = 'sau'").fetchone()[0] == 0


def test_definition_files_are_bounded(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        loads_definition(SIPAS.read_text(encoding="utf-8") + DEEP, "sau.toml")
    assert "sau.toml: dòng" in caught.value.problems[0]
    big = tmp_path / "lon.toml"
    big.write_text(SIPAS.read_text(encoding="utf-8") + "# " + "x" * 20_000 + "\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(big, limits=ImportLimits(max_file_bytes=10_000))
    assert "lon.toml: tệp nặng hơn 10 KB" in caught.value.problems[0]
    assert load_definition(big).id == "sipas"
