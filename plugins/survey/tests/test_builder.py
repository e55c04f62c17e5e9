"""The survey builder (issue #27 part 3): a survey built and edited in a form of ordinary fields,
through Flask's test client on a real deployment. Each test reads the form the page drew (as a
browser would send it), changes what an officer would change, and posts it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from ccch_survey.exports import wide_rows
from ccch_survey.store import add_placement, get_survey, get_version, versions
from ccch_survey_testing import submit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccch_core import accounts
from ccch_core.testing import login

NEW = "/khao-sat/soan-moi"


class FormFields(HTMLParser):
    """The fields of the page's builder form, as a browser would send them (checkboxes only when
    ticked, a select's chosen option, no submit buttons)."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.inside = False
        self.textarea: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "soan-khao-sat":
            self.inside = True
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") == "checkbox":
            if "checked" in a:
                self.fields[a["name"]] = a.get("value", "on")
        elif tag == "input":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select and ("selected" in a or self.select not in self.fields):
            self.fields[self.select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None

    def handle_data(self, data):
        if self.textarea:
            self.fields[self.textarea] += data.removeprefix("\n") if not self.fields[self.textarea] else data


def fields_of(html: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(html)
    return parser.fields


def row_of(fields: dict, prompt: str) -> str:
    """The field prefix (``q3_``) of the row whose prompt is ``prompt``."""
    for name, value in fields.items():
        if name.endswith("_cau_hoi") and value == prompt:
            return name.removesuffix("cau_hoi")
    raise AssertionError(f"no row {prompt!r}")


def blank_row(fields: dict) -> str:
    for name, value in fields.items():
        if name.endswith("_cau_hoi") and not value:
            return name.removesuffix("cau_hoi")
    raise AssertionError("no blank row")


def option_of(fields: dict, row: str, label: str) -> str:
    for name, value in fields.items():
        if name.startswith(row + "p") and name.endswith("_nhan") and value == label:
            return name.removesuffix("nhan")
    raise AssertionError(f"no option {label!r} in {row}")


def summary(page: str) -> str:
    start = page.index('class="error-summary"')
    return page[start:page.index("</ul>", start)]


@pytest.fixture
def officer(app, dep):
    accounts.create_user(dep.db, dep.plan, "vhtt", "mat-khau-thu-nghiem-2024", "plan_admin")
    client = app.test_client()
    assert login(client, "vhtt").status_code == 302
    return client


def new_form(officer) -> dict:
    page = officer.get(NEW)
    assert page.status_code == 200
    return fields_of(page.get_data(as_text=True))


def build_quay(officer) -> str:
    """A new survey built from blank rows: a scale question and a channel question with two options."""
    form = new_form(officer)
    form["tieu_de"] = "Ý kiến về quầy một cửa"
    form["loi_mo_dau"] = "Xin anh/chị cho biết ý kiến."
    first, second = "q0_", "q1_"
    form.update({first + "cau_hoi": "Thái độ của công chức", first + "loai": "scale5", first + "nhom": "Công chức"})
    form.update({second + "cau_hoi": "Anh/chị biết thủ tục qua đâu?", second + "loai": "single",
                 second + "p0_nhan": "Loa truyền thanh", second + "p1_nhan": "Zalo của xã"})
    response = officer.post(NEW, data={**form, "hanh_dong": "luu"})
    assert response.status_code == 303, summary(response.get_data(as_text=True))
    assert response.headers["Location"].endswith("/khao-sat/y-kien-ve-quay-mot-cua")
    return "y-kien-ve-quay-mot-cua"


def edit_form(officer, survey_id: str) -> dict:
    page = officer.get(f"/khao-sat/{survey_id}/soan")
    assert page.status_code == 200
    return fields_of(page.get_data(as_text=True))


def save(officer, survey_id: str, form: dict, status: int = 303):
    response = officer.post(f"/khao-sat/{survey_id}/soan", data={"hanh_dong": "luu", **form})
    assert response.status_code == status, summary(response.get_data(as_text=True)) if status == 303 else status
    return response


def test_a_new_survey_is_built_from_blank_rows_without_a_code(officer, dep):
    page = officer.get(NEW).get_data(as_text=True)
    assert "Mức độ hài lòng (5 mức" in page and "Chọn một phương án" in page  # types in words
    assert "scale5" not in page.replace('value="scale5"', "")  # the code is only a value sent back
    assert "Nhập/xuất TOML" in page and 'href="/khao-sat/moi"' in page
    survey_id = build_quay(officer)
    d = get_version(dep.db, survey_id)
    assert d.title == "Ý kiến về quầy một cửa" and d.intro == "Xin anh/chị cho biết ý kiến."
    assert [(q.key, q.type.value, q.section) for q in d.questions] == [("c1", "scale5", "Công chức"),
                                                                        ("c2", "single", None)]
    assert [(o.key, o.label) for o in d.questions[1].options] == [("a", "Loa truyền thanh"), ("b", "Zalo của xã")]
    assert get_survey(dep.db, survey_id).current_version == 1
    again = officer.get(f"/khao-sat/{survey_id}/soan").get_data(as_text=True)
    assert "Loa truyền thanh" in again and "Chỉ sửa câu chữ, nghĩa không đổi" in again
    assert ">c1<" not in again and "“c1”" not in again  # keys only in hidden fields


def test_a_wording_fix_keeps_the_keys_and_is_recorded_as_reworded(officer, dep):
    survey_id = build_quay(officer)
    form = edit_form(officer, survey_id)
    row = row_of(form, "Anh/chị biết thủ tục qua đâu?")
    option = option_of(form, row, "Loa truyền thanh")
    form[option + "nhan"] = "Loa truyền thanh của xã"
    form[option + "giu_nghia"] = "1"
    form[row_of(form, "Thái độ của công chức") + "cau_hoi"] = "Thái độ phục vụ của công chức"  # prompt wording
    save(officer, survey_id, form)
    d = get_version(dep.db, survey_id)
    assert get_survey(dep.db, survey_id).current_version == 2
    assert [q.key for q in d.questions] == ["c1", "c2"]
    assert [(o.key, o.label) for o in d.questions[1].options] == [("a", "Loa truyền thanh của xã"), ("b", "Zalo của xã")]


def test_a_changed_option_without_the_tick_becomes_a_new_option(officer, dep, app):
    survey_id = build_quay(officer)
    placement = add_placement(dep.db, dep.plan, survey_id, "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    citizen = app.test_client()
    assert submit(citizen, f"/k/{placement.code}", {"q-c1": "5", "q-c2": "b"}).headers.get("X-Survey-Result") == "stored"
    form = edit_form(officer, survey_id)
    row = row_of(form, "Anh/chị biết thủ tục qua đâu?")
    form[option_of(form, row, "Zalo của xã") + "nhan"] = "Trang thông tin điện tử"  # a different meaning
    save(officer, survey_id, form)
    d = get_version(dep.db, survey_id)
    assert [(o.key, o.label) for o in d.question("c2").options] == [("a", "Loa truyền thanh"),
                                                                     ("c", "Trang thông tin điện tử")]
    _, rows = wide_rows(dep.db, dep.plan, survey_id, None, None)
    rows = list(rows)
    assert "Zalo của xã" in rows[0] and "Trang thông tin điện tử" not in rows[0]  # the answer kept its label
    # Changing the option back to the old words, still without the tick, makes yet another key: a
    # key is never reused with another meaning.
    form = edit_form(officer, survey_id)
    form[option_of(form, row_of(form, "Anh/chị biết thủ tục qua đâu?"), "Trang thông tin điện tử") + "nhan"] = "Zalo"
    save(officer, survey_id, form)
    assert [o.key for o in get_version(dep.db, survey_id).question("c2").options] == ["a", "d"]


def test_a_changed_type_gets_a_new_question_key(officer, dep):
    survey_id = build_quay(officer)
    form = edit_form(officer, survey_id)
    form[row_of(form, "Anh/chị biết thủ tục qua đâu?") + "loai"] = "multiple"
    save(officer, survey_id, form)
    d = get_version(dep.db, survey_id)
    assert [(q.key, q.type.value) for q in d.questions] == [("c1", "scale5"), ("c3", "multiple")]


def test_reorder_add_and_remove_questions(officer, dep):
    survey_id = build_quay(officer)
    form = edit_form(officer, survey_id)
    form[row_of(form, "Thái độ của công chức") + "thu_tu"] = "3"
    new = blank_row(form)
    form.update({new + "cau_hoi": "Anh/chị bao nhiêu tuổi?", new + "loai": "number", new + "thu_tu": "1",
                 new + "nho_nhat": "15", new + "lon_nhat": "100"})
    save(officer, survey_id, form)
    d = get_version(dep.db, survey_id)
    assert [(q.key, q.prompt) for q in d.questions] == [
        ("c3", "Anh/chị bao nhiêu tuổi?"), ("c2", "Anh/chị biết thủ tục qua đâu?"), ("c1", "Thái độ của công chức")]
    assert (d.questions[0].min_value, d.questions[0].max_value) == (15, 100)
    form = edit_form(officer, survey_id)
    form[row_of(form, "Anh/chị biết thủ tục qua đâu?") + "cau_hoi"] = ""  # a blank prompt removes the row
    save(officer, survey_id, form)
    assert [q.key for q in get_version(dep.db, survey_id).questions] == ["c3", "c1"]
    assert len(versions(dep.db, survey_id)) == 3


def test_adding_rows_and_the_preview_save_nothing(officer, dep):
    survey_id = build_quay(officer)
    form = edit_form(officer, survey_id)
    rows = int(form["so_cau"])
    more = officer.post(f"/khao-sat/{survey_id}/soan", data={**form, "hanh_dong": "them"})
    assert more.status_code == 200 and int(fields_of(more.get_data(as_text=True))["so_cau"]) == rows + 3
    form[row_of(form, "Thái độ của công chức") + "cau_hoi"] = "Thái độ của cán bộ, công chức"
    preview = officer.post(f"/khao-sat/{survey_id}/soan", data={**form, "hanh_dong": "xem-truoc"})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    box = page[page.index('class="phone-preview"'):page.index('<form method="post" class="form builder"')]
    assert "1. Thái độ của cán bộ, công chức" in box and "Rất hài lòng" in box and "Zalo của xã" in box
    assert fields_of(page)[row_of(form, "Thái độ của cán bộ, công chức") + "cau_hoi"]  # the form is kept
    assert get_survey(dep.db, survey_id).current_version == 1  # nothing saved


def test_an_empty_title_and_too_many_questions_are_refused_with_the_form_kept(officer, dep):
    form = new_form(officer)
    form["so_cau"] = "62"
    for i in range(62):
        form.update({f"q{i}_cau_hoi": f"Câu hỏi số {i + 1}", f"q{i}_loai": "scale5", f"q{i}_thu_tu": str(i + 1)})
    response = officer.post(NEW, data={**form, "hanh_dong": "luu"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    problems = summary(page)
    assert "Tiêu đề: chưa có" in problems and "có 62 câu hỏi, tối đa 60" in problems
    kept = fields_of(page)
    assert kept["q61_cau_hoi"] == "Câu hỏi số 62" and int(kept["so_cau"]) >= 62
    assert list(dep.db.query("select id from survey_surveys")) == [{"id": "sipas"}]


@pytest.mark.parametrize(("change", "expected"), [
    ({"tieu_de": "T" * 300}, "Tiêu đề: dài 300 ký tự, tối đa 200"),
    ({"loi_mo_dau": "x" * 100_000}, "Lời mở đầu: dài 100.000 ký tự, tối đa 2.000"),
    ({"q0_cau_hoi": "Câu " * 200}, "Câu hỏi: dài 800 ký tự, tối đa 500"),
    ({"q0_thu_tu": "1000"}, "Thứ tự “1000” phải là một số từ 1 đến 999"),
    ({"q0_thu_tu": "-1"}, "Thứ tự “-1” phải là một số từ 1 đến 999"),
    ({"q0_thu_tu": "9" * 5000}, "phải là một số từ 1 đến 999"),
    ({"q0_loai": "hack"}, "hãy chọn loại câu hỏi"),
    ({"q1_p0_nhan": ""}, "cần ít nhất 2 phương án (đang có 1)"),
    ({"q1_p0_nhan": "L" * 300}, "dài 300 ký tự, tối đa 200"),
    ({"q0_loai": "number", "q0_nho_nhat": "nhiều"}, "Số nhỏ nhất: “nhiều” không phải một số"),
    ({"q0_loai": "number", "q0_lon_nhat": "1e999"}, "Số lớn nhất: “1e999” không phải một số"),
    ({"q0_loai": "short_text", "q0_do_dai": "0"}, "Số ký tự tối đa: “0” phải là số từ 1 đến 20000"),
    ({"q0_loai": "long_text", "q0_do_dai": "99999999999999999999"}, "phải là số từ 1 đến 20000"),
    ({"q0_loai": "number", "q0_nho_nhat": "10", "q0_lon_nhat": "1"}, "lớn hơn giá trị lớn nhất"),
    ({"so_cau": "100000"}, "số dòng câu hỏi “100000” không hợp lệ"),
    ({"q1_so_pa": "-3"}, "số dòng phương án “-3” không hợp lệ"),
    ({"hanh_dong": "xoa"}, "Thao tác “xoa” không có; hãy bấm Lưu, Xem trước hoặc Thêm câu hỏi. Chưa lưu gì."),
])
def test_bad_input_is_named_in_words_and_the_form_is_kept(officer, dep, change, expected):
    survey_id = build_quay(officer)
    form = {**edit_form(officer, survey_id), **change}
    response = save(officer, survey_id, form, status=422)
    page = response.get_data(as_text=True)
    assert expected in summary(page), summary(page)
    kept = fields_of(page)
    for name, value in change.items():
        if name in kept and name not in ("so_cau", "q1_so_pa") and value != "hack":  # a select shows its choices
            assert kept[name] == value, name
    assert get_survey(dep.db, survey_id).current_version == 1


def test_tampered_hidden_keys_never_reuse_or_invent_a_key(officer, dep):
    survey_id = build_quay(officer)
    form = edit_form(officer, survey_id)
    row = row_of(form, "Anh/chị biết thủ tục qua đâu?")
    form[row + "ma"] = "c1"  # the scale question's key on the choice question's row
    form[option_of(form, row, "Zalo của xã") + "ma"] = "a"  # a duplicated option key
    scale = row_of(form, "Thái độ của công chức")
    form[scale + "ma"] = "<script>"  # a key the survey never had
    save(officer, survey_id, form)
    d = get_version(dep.db, survey_id)
    assert [(q.key, q.type.value) for q in d.questions] == [("c3", "scale5"), ("c4", "single")]


def test_the_builder_is_for_admins_and_checks_the_survey(app, dep, officer):
    assert officer.get("/khao-sat/khong-co/soan").status_code == 404
    accounts.create_user(dep.db, dep.plan, "andung", "mat-khau-thu-nghiem-2024", "unit_officer",
                         unit_id="xa-an-dung")
    other = app.test_client()
    login(other, "andung")
    assert other.get(NEW).status_code == 403 and other.get("/khao-sat/sipas/soan").status_code == 403


def test_the_sipas_template_round_trips_through_the_builder(officer, dep):
    """Every question of the shipped template (sections, help, optional questions, text limits)
    survives an unchanged save: no new version."""
    form = edit_form(officer, "sipas")
    response = save(officer, "sipas", form)
    assert response.status_code == 303
    assert get_survey(dep.db, "sipas").current_version == 1


def test_a_new_survey_can_start_from_the_sipas_template(officer, dep, sipas):
    page = officer.get(NEW + "?mau=sipas").get_data(as_text=True)
    form = fields_of(page)
    assert form["tieu_de"] == sipas.title
    assert not any(form[name] for name in form if name.endswith("_ma"))  # a copy: keys of its own
    save_to = officer.post(NEW, data={**form, "hanh_dong": "luu"})
    assert save_to.status_code == 303, summary(save_to.get_data(as_text=True))
    survey_id = save_to.headers["Location"].rsplit("/", 1)[1]
    copy = get_version(dep.db, survey_id)
    assert survey_id != "sipas" and [q.prompt for q in copy.questions] == [q.prompt for q in sipas.questions]
    assert [q.required for q in copy.questions] == [q.required for q in sipas.questions]


def test_a_made_survey_id_is_never_an_address_of_the_officers_pages(officer, dep):
    from ccch_survey.builder import new_survey_id

    assert new_survey_id("Nơi đặt", []) == "noi-dat-2"
    assert new_survey_id("!!!", ["khao-sat"]) == "khao-sat-2"
    assert len(new_survey_id("Khảo sát " * 20, [])) <= 40


def test_an_option_written_twice_is_refused(officer, dep):
    survey_id = build_quay(officer)
    form = edit_form(officer, survey_id)
    row = row_of(form, "Anh/chị biết thủ tục qua đâu?")
    form[row + "p2_nhan"] = "zalo  của xã"
    page = save(officer, survey_id, form, status=422).get_data(as_text=True)
    assert "phương án “zalo của xã” ghi hai lần (phương án 2 và 3)" in summary(page)


MARKUP = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "</textarea><svg onload=alert(1)>"]
NASTY = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "-1", "0", "81", "1e309", "NaN", "99999999999999999999999", "\x00", "\u202e",
                     "scale5", "single", "number", "luu", "xem-truoc", "them", "a", "c1", *MARKUP]),
    st.text(alphabet="0123456789-", max_size=6),
)


# The page's own fields (the first rows, an option row of a choice question of the SIPAS survey)
# and fields it never draws.
FUZZED_FIELDS = ["tieu_de", "loi_mo_dau", "loi_cam_on", "hoi_lien_he", "ghi_chu", "so_cau", "hanh_dong",
                 *[f"q{i}_{field}" for i in (0, 1, 13) for field in (
                     "ma", "so_pa", "thu_tu", "cau_hoi", "loai", "nhom", "goi_y", "bat_buoc", "nho_nhat", "lon_nhat",
                     "do_dai", "p0_ma", "p0_nhan", "p0_giu_nghia", "p1_nhan")],
                 "q99_cau_hoi", "q0_p9_nhan"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_the_builder_never_fails_on_any_form(officer, dep, data):
    """Any value in any field (and fields the page never drew): saved (303), drawn again (200) or
    refused with problems in words (422), never a server error, markup always escaped."""
    target = data.draw(st.sampled_from(["/khao-sat/sipas/soan", NEW]))
    form = fields_of(officer.get(target).get_data(as_text=True))
    for name in data.draw(st.lists(st.sampled_from(FUZZED_FIELDS), min_size=1, max_size=5)):
        form[name] = data.draw(NASTY)
    response = officer.post(target, data=form)
    assert response.status_code in (200, 303, 422), response.status_code
    page = response.get_data(as_text=True)
    for raw in MARKUP:
        assert raw not in page
    if response.status_code == 422:
        assert re.search(r'class="error-summary".*?<li>.{10,}?</li>', page, re.DOTALL)


def test_a_question_with_many_options_from_toml_stays_editable(officer, dep):
    """A survey file may list more options than a contest bank's columns: the builder keeps them all."""
    from ccch_survey.definition import loads_definition
    from ccch_survey.store import save_survey

    labels = [f"Lĩnh vực {n}" for n in range(1, 13)]
    save_survey(dep.db, loads_definition(
        'id = "linh-vuc"\ntitle = "Lĩnh vực"\n[[questions]]\nkey = "lv"\ntype = "single"\nprompt = "Lĩnh vực nào?"\n'
        f"options = {labels!r}\n".replace("'", '"')))
    form = edit_form(officer, "linh-vuc")
    form[option_of(form, "q0_", "Lĩnh vực 12") + "nhan"] = "Lĩnh vực mười hai"
    form[option_of(form, "q0_", "Lĩnh vực mười hai") + "giu_nghia"] = "1"
    save(officer, "linh-vuc", form)
    assert [o.key for o in get_version(dep.db, "linh-vuc").question("lv").options] == list("abcdefghijkl")
    form = edit_form(officer, "linh-vuc")
    for n in range(12, 28):  # 28 options: over the limit, still all read back
        form[f"q0_p{n}_nhan"] = f"Thêm {n}"
    form["q0_so_pa"] = "28"
    page = save(officer, "linh-vuc", form, status=422).get_data(as_text=True)
    assert "có 28 phương án, tối đa 26" in summary(page)
    assert fields_of(page)["q0_p27_nhan"] == "Thêm 27"


def test_a_form_too_large_for_the_payload_limit_is_named_by_question_number(officer, dep):
    form = new_form(officer)
    form["tieu_de"] = "Nhiều câu trả lời dài"
    form["so_cau"] = "60"
    for i in range(60):
        form.update({f"q{i}_cau_hoi": f"Ý kiến số {i + 1}", f"q{i}_loai": "long_text", f"q{i}_do_dai": "20000",
                     f"q{i}_thu_tu": str(i + 1)})
    page = officer.post(NEW, data={**form, "hanh_dong": "luu"})
    assert page.status_code == 422
    problem = summary(page.get_data(as_text=True))
    assert "quá giới hạn 1.000.000 byte" in problem and "(lớn nhất: Câu 1: 20.000, Câu 2: 20.000" in problem
    assert "max_length" not in problem and "c1" not in problem


def test_options_reordered_by_retyping_or_written_again_keep_their_keys(officer, dep):
    survey_id = build_quay(officer)
    form = edit_form(officer, survey_id)
    row = row_of(form, "Anh/chị biết thủ tục qua đâu?")
    first, second = option_of(form, row, "Loa truyền thanh"), option_of(form, row, "Zalo của xã")
    form[first + "nhan"], form[second + "nhan"] = "Zalo của xã", "loa truyền  thanh"  # swapped by retyping
    form[first + "giu_nghia"] = "1"  # a tick on a swap confirms nothing: the labels say where each went
    save(officer, survey_id, form)
    assert [(o.key, o.label) for o in get_version(dep.db, survey_id).question("c2").options] == [
        ("b", "Zalo của xã"), ("a", "loa truyền thanh")]
    form = edit_form(officer, survey_id)
    form[option_of(form, row, "Zalo của xã") + "nhan"] = "Trang thông tin điện tử"  # removed, another added …
    save(officer, survey_id, form)
    assert {o.key: o.label for o in get_version(dep.db, survey_id).question("c2").options} == {
        "c": "Trang thông tin điện tử", "a": "loa truyền thanh"}
    form = edit_form(officer, survey_id)
    form[row + "p2_nhan"] = "Zalo của xã"  # … and written again in a blank row: the same option
    save(officer, survey_id, form)
    assert {o.key: o.label for o in get_version(dep.db, survey_id).question("c2").options} == {
        "c": "Trang thông tin điện tử", "a": "loa truyền thanh", "b": "Zalo của xã"}
