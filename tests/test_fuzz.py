"""Property-based fuzzing (hypothesis) of the core's inputs: plan files, question imports, the
login and report forms. Whatever comes in — NFD Vietnamese, control characters, huge numbers,
markup, duplicated fields, broken bytes — the answer is a clear error, never an unhandled
exception or a 500, and HTML is always escaped."""

from __future__ import annotations

import os
import string
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from ccch_core import progress
from ccch_core.planfile import PlanFileError, loads_plan
from ccch_core.questions import questions_from_rows
from ccch_core.testing import csrf_token, login

VIETNAMESE = "ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵĐ"
NASTY = st.one_of(
    st.text(alphabet=string.printable + VIETNAMESE, max_size=60),
    st.text(max_size=30),  # any Unicode, control characters included
    st.sampled_from(["", " ", "=1+1", "@SUM(A1)", "-2", "<script>alert(1)</script>", "1e309", "-1e309",
                     "99999999999999999999999", "NaN", "1,5", "٣", "\x00", "\u202e", "Có", "không"]),
    st.text(alphabet=VIETNAMESE, max_size=20).map(lambda t: unicodedata.normalize("NFD", t)),
)
BAD_VALUES = ["1", "-5", "1e400", "true", '""', "[]", "2024-13-45", '"xa-khong-co"']
SCALE = float(os.environ.get("CCCH_FUZZ_SCALE", "1"))  # e.g. 25 for a long run before a release
FUZZ = settings(max_examples=int(60 * SCALE), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=400))
def test_plan_loader_never_crashes_on_any_text(text):
    try:
        loads_plan(text, "fuzz.toml")
    except PlanFileError as error:
        assert error.problems and all(p.message for p in error.problems)


@FUZZ
@given(st.data())
def test_plan_loader_on_a_mutated_real_plan(duc_tho_plan_path, data):
    lines = duc_tho_plan_path.read_text(encoding="utf-8").splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "replace_value", "garble"]))
        if action == "drop":
            lines.pop(index)
        elif action == "dup":
            lines.insert(index, lines[index])
        elif action == "replace_value" and "=" in lines[index]:
            key = lines[index].split("=", 1)[0]
            value = data.draw(st.sampled_from(BAD_VALUES))
            lines[index] = f"{key}= {value}"
        else:
            lines[index] = data.draw(NASTY)
    try:
        plan = loads_plan("\n".join(lines), "plan.toml")
    except PlanFileError as error:
        for problem in error.problems:
            assert problem.file == "plan.toml" and problem.message
    else:
        assert plan.indicators and plan.units


@pytest.mark.parametrize("value", ["[]", "[\"a\", \"b\"]", "{ a = 1 }"])
@pytest.mark.parametrize("line", ['id = "bao-cao-thang"', 'id = "xa-an-dung"', 'code = "I7"'])
def test_plan_loader_reports_a_list_or_table_where_an_id_belongs(duc_tho_plan_path, line, value):
    """Found by the mutated-plan fuzzing (a TypeError: unhashable list, while checking ids for duplicates)."""
    text = duc_tho_plan_path.read_text(encoding="utf-8")
    assert line in text
    key = line.split(" = ")[0]
    with pytest.raises(PlanFileError) as caught:
        loads_plan(text.replace(line, f"{key} = {value}", 1), "plan.toml")
    assert any(f".{key}: must be text" in str(p) for p in caught.value.problems)


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["key", "type", "prompt", "option_a", "option_b", "option_c",
                                                 "correct", "category", "difficulty", "required", "__extra__"]),
                                NASTY, max_size=9), max_size=8))
def test_question_import_reports_rows_never_crashes(rows):
    questions, problems = questions_from_rows(list(enumerate(rows, start=2)), require_correct=True)
    assert len(questions) + len(problems) == len(rows)
    assert all(p.line >= 2 and p.message for p in problems)
    for question in questions:
        for option in question.options:
            assert option.label == unicodedata.normalize("NFC", option.label)


@FUZZ
@given(value=NASTY, numerator=NASTY, denominator=NASTY)
def test_measurement_values_are_checked_not_crashed(duc_tho_plan, value, numerator, denominator):
    for code, unit in (("I7", "trung-tam-vhtt"), ("I5", "xa-an-dung.truyen-thanh"), ("Q1", "trung-tam-vhtt")):
        try:
            progress.check_measurement(duc_tho_plan, code, unit, "2024-03", value)
        except progress.ProgressError as error:
            assert error.field in ("value",)
    try:
        progress.check_measurement(duc_tho_plan, "I2", "trung-tam-hcc", "2024-03",
                                   numerator=numerator, denominator=denominator)
    except progress.ProgressError as error:
        assert error.field in ("numerator", "denominator")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """One app for the form fuzzing (building one per example would be slow)."""
    # The module-scoped fixture cannot use the function-scoped factories; build by hand.
    import shutil

    from ccch_core import accounts
    from ccch_core.config import load_config
    from ccch_core.deployment import Deployment
    from ccch_core.testing import to_toml
    from ccch_core.web import create_app

    folder = tmp_path_factory.mktemp("fuzz")
    from ccch_testing import DUC_THO_PLAN

    shutil.copyfile(DUC_THO_PLAN, folder / "plan.toml")
    (folder / "ccch.toml").write_text(to_toml({"deployment": {
        "name": "Fuzz", "plan": "plan.toml", "database": "ccch.db", "public_base_url": "https://x.example"}}),
        encoding="utf-8")
    dep = Deployment(load_config(folder / "ccch.toml"))
    dep.migrate()
    accounts.create_user(dep.db, dep.plan, "canbo", "mat-khau-fuzz-2024", "unit_officer", unit_id="xa-an-dung")
    app = create_app(deployment_obj=dep, test_config={"TESTING": True})
    client = app.test_client()
    assert login(client, "canbo", "mat-khau-fuzz-2024").status_code == 302
    return dep, client


FIELDS = ["item-0-category", "item-0-count", "item-0-title", "item-0-link", "item-0-task", "item-7-count",
          "m-I8-xa-an-dung", "m-I5-xa-an-dung.truyen-thanh", "m-I2-xa-an-dung.mot-cua-num",
          "m-I2-xa-an-dung.mot-cua-den", "note", "unknown-field"]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(FIELDS), NASTY), max_size=14))
def test_report_form_fuzz(web, pairs):
    dep, client = web
    # Reopen (admin action in SQL) so the officer may post again; the form is locked after a success.
    dep.db.execute("update activity_reports set status = 'reopened'")
    data = [("csrf_token", csrf_token(client, "/bao-cao/xa-an-dung/2024-03")), *pairs]  # duplicates allowed
    response = client.post("/bao-cao/xa-an-dung/2024-03", data=MultiDict(data))
    assert response.status_code in (303, 422), response.status_code
    page = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "Traceback" not in page
    if response.status_code == 422:
        assert "Báo cáo chưa được nộp" in page


@FUZZ
@given(username=NASTY, password=NASTY, extra=st.lists(st.tuples(st.sampled_from(["username", "password", "next"]),
                                                                NASTY), max_size=3))
def test_login_form_fuzz(web, username, password, extra):
    dep, _ = web
    client = _fresh_client(web)
    response = client.post("/dang-nhap", data=MultiDict([("csrf_token", csrf_token(client)),
                                                         ("username", username), ("password", password), *extra]))
    assert response.status_code in (401, 422, 429), response.status_code
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    dep.db.execute("delete from login_failures")


def _fresh_client(web):
    _dep, client = web
    return client.application.test_client()
