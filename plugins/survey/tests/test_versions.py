"""Versioned surveys: editing a survey that has responses never mislabels earlier answers."""

from __future__ import annotations

import json

import pytest
from ccch_survey.definition import DefinitionError, load_definition, loads_definition
from ccch_survey.exports import wide_rows
from ccch_survey.results import compute_results
from ccch_survey.store import add_placement, get_version, save_survey, versions
from ccch_survey_testing import REQUIRED_SCALE, SIPAS, store_response

from ccch_core import accounts
from ccch_core.periods import Period
from ccch_core.testing import login

V1 = '''
id = "quay"
title = "Ý kiến về quầy một cửa"

[[questions]]
key = "thai-do"
type = "scale5"
prompt = "Thái độ của công chức"

[[questions]]
key = "kenh"
type = "single"
prompt = "Ông/Bà biết đến thủ tục qua đâu?"
options = [{ key = "loa", label = "Loa truyền thanh" }, { key = "zalo", label = "Zalo của xã" }]

[[questions]]
key = "cu"
type = "short_text"
prompt = "Câu hỏi sẽ bị bỏ"
required = false
'''

# Version 2: the scale prompt is reworded, two options reworded (confirmed in [reworded], with
# their old labels) and one added, a question removed, a new one added.
V2 = '''
id = "quay"
title = "Ý kiến về Bộ phận một cửa"

[[questions]]
key = "thai-do"
type = "scale5"
prompt = "Thái độ giao tiếp của công chức tiếp nhận hồ sơ"

[[questions]]
key = "kenh"
type = "single"
prompt = "Ông/Bà biết đến thủ tục qua kênh nào?"
options = [{ key = "zalo", label = "Nhóm Zalo của thôn, xã" }, { key = "loa", label = "Đài truyền thanh xã" },
           { key = "web", label = "Trang thông tin điện tử" }]

[[questions]]
key = "moi"
type = "scale5"
prompt = "Thời gian chờ"

[reworded]
"kenh"."loa" = "Loa truyền thanh"
"kenh"."zalo" = "Zalo của xã"
'''


@pytest.fixture
def edited(dep):
    v1, v2 = loads_definition(V1), loads_definition(V2)
    assert save_survey(dep.db, v1) == (1, True)
    place = add_placement(dep.db, dep.plan, "quay", "xa-an-dung.mot-cua", "Quầy 1")
    store_response(dep, place, {"thai-do": "5", "kenh": "loa"}, text={"cu": ("Ý kiến cũ",)})
    assert save_survey(dep.db, v2, note="Sửa câu chữ") == (2, True)
    store_response(dep, place, {"thai-do": "2", "kenh": "loa", "moi": "4"})
    return place


def test_saving_unchanged_content_creates_no_version(dep, sipas):
    assert save_survey(dep.db, sipas) == (1, False)
    assert save_survey(dep.db, load_definition(SIPAS)) == (1, False)


def test_old_answers_keep_their_labels(dep, edited):
    assert [v["version"] for v in versions(dep.db, "quay")] == [2, 1]
    assert [v["responses"] for v in versions(dep.db, "quay")] == [1, 1]
    header, rows = wide_rows(dep.db, dep.plan, "quay", None, None)
    rows = list(rows)
    columns = {name.split(" — ")[0]: i for i, name in enumerate(header)}
    first, second = rows
    assert first[columns["kenh"]] == "Loa truyền thanh"  # the label citizens saw in version 1
    assert second[columns["kenh"]] == "Đài truyền thanh xã"  # same key, version 2's label
    assert first[columns["cu"]] == "Ý kiến cũ" and second[columns["cu"]] == ""
    assert (first[columns["moi"]], second[columns["moi"]]) == ("", "Hài lòng")
    assert (first[2], second[2]) == (1, 2)


def test_results_aggregate_by_key_across_versions(dep, edited):
    res = compute_results(dep.db, dep.plan, "quay", Period.parse("2024-03"))
    thai_do = next(q for q in res.questions if q.key == "thai-do")
    assert thai_do.prompt == "Thái độ giao tiếp của công chức tiếp nhận hồ sơ" and thai_do.score.counts == (0, 1, 0, 0, 1)
    kenh = next(q for q in res.questions if q.key == "kenh")
    assert kenh.options == (("zalo", "Nhóm Zalo của thôn, xã", 0), ("loa", "Đài truyền thanh xã", 2),
                            ("web", "Trang thông tin điện tử", 0))
    assert get_version(dep.db, "quay", 1).question("kenh").option("loa").label == "Loa truyền thanh"


def test_a_key_cannot_change_type(dep, edited):
    with pytest.raises(DefinitionError, match="“moi”: trước đây là loại scale5.*nay là number.*cần một key mới"):
        save_survey(dep.db, loads_definition(V2.replace('key = "moi"\ntype = "scale5"', 'key = "moi"\ntype = "number"')))
    # An old version's question keeps its type even after it was dropped.
    with pytest.raises(DefinitionError, match="“cu”: trước đây là loại short_text"):
        save_survey(dep.db, loads_definition(V2 + '\n[[questions]]\nkey = "cu"\ntype = "scale5"\nprompt = "x"\n'))


def test_definition_problems_are_all_listed():
    with pytest.raises(DefinitionError) as caught:
        loads_definition('id = "Bad Id"\nextra = 1\n[[questions]]\nkey = "a"\ntype = "nope"\nprompt = "x"\n'
                         '[[questions]]\nkey = "b"\ntype = "single"\nprompt = "y"\ncorrect = "a"\n')
    text = str(caught.value)
    assert "id" in text and "extra" in text and "title" in text and "nope" in text and "correct" in text
    assert len(caught.value.problems) >= 5


def test_example_template_is_the_packaged_one():
    from importlib import resources

    packaged = (resources.files("ccch_survey") / "templates" / "survey" / "sipas.toml").read_text(encoding="utf-8")
    assert packaged == SIPAS.read_text(encoding="utf-8")
    definition = load_definition(SIPAS)
    assert 10 <= len(definition.questions) <= 16
    sections = [title for title, _ in definition.sections()]
    for factor in ("Tiếp cận dịch vụ", "Thủ tục hành chính", "Công chức trực tiếp giải quyết công việc",
                   "Kết quả cung ứng dịch vụ", "Tiếp nhận, giải quyết góp ý, phản ánh, kiến nghị"):
        assert any(factor in s for s in sections), factor
    assert loads_definition(definition.to_toml()).fingerprint == definition.fingerprint


def test_the_template_asks_expectation_as_sipas_does():
    """SIPAS asks opinion, satisfaction and expectation: besides the scale questions, the citizen
    can say which of the five factors should improve first. Optional, so that the benchmarks'
    forms (every required question, all scale) stay valid."""
    definition = load_definition(SIPAS)
    expectation = definition.question("mong-muon")
    assert expectation.type.value == "multiple" and not expectation.required
    assert [o.key for o in expectation.options] == ["tiep-can", "thu-tuc", "cong-chuc", "ket-qua", "gop-y"]
    factors = [title for title, _ in definition.sections()][:5]
    for option, factor in zip(expectation.options, factors):
        assert any(q.key.startswith(option.key + ".") and q.section == factor for q in definition.questions)
    # bench/survey_bench.py and bench/soak.py submit exactly these: the required questions stay the scale ones.
    assert {q.key for q in definition.questions if q.required} == set(REQUIRED_SCALE)


def test_editing_in_the_web_ui_creates_a_version(app, dep, sipas):
    accounts.create_user(dep.db, dep.plan, "vhtt", "mat-khau-thu-nghiem-2024", "plan_admin")
    client = app.test_client()
    login(client, "vhtt")
    page = client.get("/khao-sat/sipas/sua").get_data(as_text=True)
    assert 'key = &#34;chung&#34;' in page or 'key = "chung"' in page
    from ccch_core.testing import csrf_token

    token = csrf_token(client, "/khao-sat/sipas/sua")
    bad = client.post("/khao-sat/sipas/sua", data={"csrf_token": token, "dinh_nghia": 'id = "sipas"\n'})
    assert bad.status_code == 422 and "questions" in bad.get_data(as_text=True)
    assert 'id = &#34;sipas&#34;' in bad.get_data(as_text=True)  # the text typed is kept
    text = sipas.to_toml().replace("Nhìn chung", "Nói chung")
    ok = client.post("/khao-sat/sipas/sua", data={"csrf_token": token, "dinh_nghia": text, "ghi_chu": "Sửa câu 13"})
    assert ok.status_code == 303
    assert next((v["version"], v["created_by"], v["note"]) for v in versions(dep.db, "sipas")) == (2, "vhtt", "Sửa câu 13")
    assert get_version(dep.db, "sipas").question("chung").prompt.startswith("Nói chung")


# -- the reviewer's case: options written as plain labels are keyed a, b, c… by position -------

PLAIN_V1 = '''id = "kenh-tt"
title = "Kênh thông tin"

[[questions]]
key = "kenh"
type = "single"
prompt = "Ông/Bà biết đến thủ tục qua đâu?"
options = ["Loa", "Zalo", "Khác"]
'''


def _plain(options: str) -> str:
    return PLAIN_V1.replace('options = ["Loa", "Zalo", "Khác"]', f"options = {options}")


@pytest.fixture
def plain(dep):
    assert save_survey(dep.db, loads_definition(PLAIN_V1)) == (1, True)
    place = add_placement(dep.db, dep.plan, "kenh-tt", "xa-an-dung.mot-cua", "Quầy")
    store_response(dep, place, {"kenh": "b"})  # Zalo
    store_response(dep, place, {"kenh": "c"})  # Khác
    return place


def _kenh(dep):
    res = compute_results(dep.db, dep.plan, "kenh-tt", Period.parse("2024-03"))
    return next(q for q in res.questions if q.key == "kenh")


def test_inserting_a_plain_option_in_the_middle_is_refused(dep, plain):
    """v1 ["Loa","Zalo","Khác"] answered b and c; v2 ["Loa","Website","Zalo"] would relabel them."""
    with pytest.raises(DefinitionError) as caught:
        save_survey(dep.db, loads_definition(_plain('["Loa", "Website", "Zalo"]')))
    problems = caught.value.problems
    assert len(problems) == 2
    assert "“kenh”" in problems[0] and "“b”" in problems[0] and "“Zalo”" in problems[0] and "“Website”" in problems[0]
    assert "“c”" in problems[1] and "“Khác”" in problems[1] and "“Zalo”" in problems[1]
    assert "ở cuối" in problems[0] and "key" in problems[0]  # how to fix it
    assert [v["version"] for v in versions(dep.db, "kenh-tt")] == [1]
    assert _kenh(dep).options == (("a", "Loa", 0), ("b", "Zalo", 1), ("c", "Khác", 1))


def test_a_retired_key_cannot_come_back_with_another_meaning(dep, plain):
    assert save_survey(dep.db, loads_definition(_plain('["Loa", "Zalo"]')))[0] == 2
    with pytest.raises(DefinitionError, match="“c”.*“Khác”.*“Website”"):
        save_survey(dep.db, loads_definition(_plain('["Loa", "Zalo", "Website"]')))


def test_adding_at_the_end_or_with_keys_keeps_old_answers_labelled(dep, plain):
    """The fixes the message suggests: a new option at the end, or explicit keys (old ones kept)."""
    assert save_survey(dep.db, loads_definition(_plain('["Loa", "Zalo", "Khác", "Website"]')))[0] == 2
    assert _kenh(dep).options == (("a", "Loa", 0), ("b", "Zalo", 1), ("c", "Khác", 1), ("d", "Website", 0))
    keyed = ('[{ key = "a", label = "Loa" }, { key = "d", label = "Website" }, { key = "b", label = "Zalo" }, '
             '{ key = "c", label = "Khác" }]')
    assert save_survey(dep.db, loads_definition(_plain(keyed)))[0] == 3
    assert _kenh(dep).options == (("a", "Loa", 0), ("d", "Website", 0), ("b", "Zalo", 1), ("c", "Khác", 1))


def test_a_removed_option_keeps_its_answers_visible(dep, plain):
    """v2 drops “Khác”: its answer stays in the results, labelled and marked as no longer asked."""
    assert save_survey(dep.db, loads_definition(_plain('["Loa", "Zalo"]')))[0] == 2
    kenh = _kenh(dep)
    assert kenh.options == (("a", "Loa", 0), ("b", "Zalo", 1), ("c", "Khác (phương án không còn hỏi)", 1))
    assert kenh.retired == ("c",)
    # An option removed and never answered in the period is not shown.
    assert save_survey(dep.db, loads_definition(_plain('["Loa", "Zalo", "Khác", "Website"]')))[0] == 3
    assert save_survey(dep.db, loads_definition(_plain('["Loa", "Zalo", "Khác"]')))[0] == 4
    assert _kenh(dep).options == (("a", "Loa", 0), ("b", "Zalo", 1), ("c", "Khác", 1))


def test_a_wording_fix_needs_the_old_label_confirmed(dep, plain):
    """The same key with another label is refused unless [reworded] names its old label; the
    confirmation is not stored, and one naming a label that is no longer current does not apply."""
    fixed = _plain('["Loa truyền thanh", "Zalo", "Khác"]')
    with pytest.raises(DefinitionError, match="“a”.*“Loa”.*“Loa truyền thanh”"):
        save_survey(dep.db, loads_definition(fixed))
    confirmed = loads_definition(fixed + '\n[reworded]\n"kenh"."a" = "Loa"\n')
    assert save_survey(dep.db, confirmed)[0] == 2
    assert "reworded" not in get_version(dep.db, "kenh-tt").to_json()
    assert _kenh(dep).options == (("a", "Loa truyền thanh", 0), ("b", "Zalo", 1), ("c", "Khác", 1))
    # Kept in a file by mistake, the same confirmation does not let "a" change meaning later.
    with pytest.raises(DefinitionError, match="“a”"):
        save_survey(dep.db, loads_definition(_plain('["Website", "Zalo", "Khác"]') + '\n[reworded]\n"kenh"."a" = "Loa"\n'))
    # Case and spacing alone are no change of meaning.
    assert save_survey(dep.db, loads_definition(_plain('["loa  truyền thanh", "Zalo", "Khác"]')))[0] == 3


def test_reworded_must_name_an_option_of_this_version():
    with pytest.raises(DefinitionError) as caught:
        loads_definition(PLAIN_V1 + '\n[reworded]\n"kenh"."x" = "Loa"\n"khong-co"."a" = "Loa"\n"kenh"."a" = 1\n', "kt.toml")
    text = str(caught.value)
    assert "kt.toml.reworded" in text and "“x”" in text and "“khong-co”" in text and "phải là nhãn cũ" in text


def test_relabelling_a_scale_point_is_refused(dep, edited):
    """A scale point's label is its meaning, and the index counts 4 and 5 as satisfied."""
    relabelled = V2.replace('prompt = "Thời gian chờ"', 'prompt = "Thời gian chờ"\noptions = [{ key = "1", label = "Rất lâu" }, '
                            '{ key = "2", label = "Lâu" }, { key = "3", label = "Bình thường" }, '
                            '{ key = "4", label = "Tạm được" }, { key = "5", label = "Nhanh" }]')
    with pytest.raises(DefinitionError) as caught:
        save_survey(dep.db, loads_definition(relabelled))
    assert [p.split(":")[0] for p in caught.value.problems] == [f"Câu hỏi “moi”, phương án “{k}”" for k in "1245"]


def test_the_editor_refuses_a_relabel_then_saves_the_confirmed_wording_fix(app, dep, plain):
    from ccch_core.testing import csrf_token

    accounts.create_user(dep.db, dep.plan, "vhtt", "mat-khau-thu-nghiem-2024", "plan_admin")
    client = app.test_client()
    login(client, "vhtt")
    token = csrf_token(client, "/khao-sat/kenh-tt/sua")
    text = get_version(dep.db, "kenh-tt").to_toml().replace('label = "Loa"', 'label = "Loa truyền thanh"')
    refused = client.post("/khao-sat/kenh-tt/sua", data={"csrf_token": token, "dinh_nghia": text})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Câu hỏi “kenh”, phương án “a”: trước đây là “Loa”, nay là “Loa truyền thanh”" in page
    assert "[reworded] và &#34;kenh&#34;.&#34;a&#34; = &#34;Loa&#34;" in page  # the line to add
    confirmed = text + '\n[reworded]\n"kenh"."a" = "Loa"\n'
    assert client.post("/khao-sat/kenh-tt/sua", data={"csrf_token": token, "dinh_nghia": confirmed}).status_code == 303
    assert get_version(dep.db, "kenh-tt").question("kenh").option("a").label == "Loa truyền thanh"
    assert "reworded" not in client.get("/khao-sat/kenh-tt/sua").get_data(as_text=True).split('id="huong-dan"')[0]


def test_the_suggested_reworded_line_pasted_as_is_confirms_the_fix(dep):
    """The refusal's suggested ``[reworded]`` line is valid TOML even when the old label has quotes
    or a backslash: pasted as it is, it saves the wording fix."""
    old = 'Nhóm "Zalo" xã \\ thôn'
    v1 = PLAIN_V1.replace('options = ["Loa", "Zalo", "Khác"]', f'options = ["Loa", {json.dumps(old, ensure_ascii=False)}, "Khác"]')
    assert save_survey(dep.db, loads_definition(v1)) == (1, True)
    v2 = PLAIN_V1.replace('options = ["Loa", "Zalo", "Khác"]', 'options = ["Loa", "Nhóm Zalo của xã", "Khác"]')
    with pytest.raises(DefinitionError) as refused:
        save_survey(dep.db, loads_definition(v2))
    suggested = str(refused.value).split("hai dòng: [reworded] và ", 1)[1].split("\n", 1)[0].strip()
    assert save_survey(dep.db, loads_definition(v2 + "\n[reworded]\n" + suggested + "\n"))[0] == 2
