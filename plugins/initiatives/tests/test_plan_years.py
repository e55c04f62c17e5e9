"""A call of another year than the default plan's (#19's catch): a 2025 call in a deployment whose
default plan is still 2024's names, lists and checks 2025's units. 2025's plan here is 2024's with
the year's dates, An Dũng renamed and a commune that exists only from 2025."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ccch_initiatives.calls import CallError, plan_of_call, save_call
from ccch_initiatives.definition import DefinitionError
from initiatives_testing import example_text

from ccch_core.deployment import Deployment

PLAN_2024 = Path(__file__).resolve().parents[3] / "examples" / "duc-tho-2024" / "plan.toml"


def plan_2025() -> str:
    text = PLAN_2024.read_text(encoding="utf-8").replace('id = "duc-tho-2024"', 'id = "duc-tho-2025"', 1)
    text = text.replace("năm 2024", "năm 2025").replace("year = 2024", "year = 2025")
    text = re.sub(r"\b2024-(\d\d)-(\d\d)\b", r"2025-\1-\2", text).replace('"2024-Q1"', '"2025-Q1"')
    renamed = text.replace('id = "xa-an-dung"\nname = "UBND xã An Dũng"', 'id = "xa-an-dung"\nname = "UBND xã An Dũng mới"', 1)
    assert renamed != text
    new_commune = ('\n[[units]]\nid = "xa-moi-2025"\nname = "UBND xã Hợp Nhất"\nkind = "commune"\n'
                   'parent = "ubnd-huyen"\n')
    return renamed + new_commune


@pytest.fixture
def dep(make_deployment):
    first = make_deployment(["initiatives"])
    folder = first.config.path.parent
    (folder / "plan-2025.toml").write_text(plan_2025(), encoding="utf-8")
    config = first.config.path.read_text(encoding="utf-8")
    first.config.path.write_text(config.replace("[deployment]\n", '[deployment]\nplans = ["plan-2025.toml"]\n', 1),
                                 encoding="utf-8")
    first.close()
    dep = Deployment.open(first.config.path, migrate=True)
    yield dep
    dep.close()


def call_2025(**changes):
    return example_text(slug='"sang-kien-cchc-2025"', opens="2025-07-01T07:00:00", closes="2025-09-30T17:00:00",
                        **changes)


def test_a_calls_plan_is_the_one_of_the_year_it_opens_in(dep):
    call_2024, _ = save_call(dep, example_text(), actor="test")
    call, _ = save_call(dep, call_2025(units='["xa-moi-2025", "xa-an-dung"]'), actor="test")
    assert plan_of_call(dep, call_2024).id == "duc-tho-2024"
    assert plan_of_call(dep, call).id == "duc-tho-2025"
    assert plan_of_call(dep, None) is dep.plan
    # A unit of 2025 only is refused in a 2024 call, in words.
    with pytest.raises(DefinitionError, match="xa-moi-2025"):
        save_call(dep, example_text(units='["xa-moi-2025"]'), actor="test")


def test_the_public_form_of_a_2025_call_lists_2025s_units(dep, make_app, monkeypatch):
    import datetime as dt

    from ccch_initiatives import entries as entries_mod

    from ccch_core.periods import VN_TZ

    save_call(dep, call_2025(units='["xa-moi-2025", "xa-an-dung"]'), actor="test")
    monkeypatch.setattr(entries_mod, "clock", lambda: dt.datetime(2025, 8, 1, 9, 0, tzinfo=VN_TZ).astimezone(dt.UTC))
    html = make_app(dep).test_client().get("/sang-kien/sang-kien-cchc-2025/nop-bai").get_data(as_text=True)
    assert "UBND xã Hợp Nhất" in html and "UBND xã An Dũng mới" in html


def test_a_judge_of_a_2025_unit_may_sit_on_a_2025_call(dep, make_user):
    from ccch_initiatives.calls import appoint

    call, _ = save_call(dep, call_2025(), actor="test")
    username, _ = make_user(dep, "viewer")
    assert appoint(dep, call, username, "judge", "xa-moi-2025", actor="test").unit_id == "xa-moi-2025"
    call_2024, _ = save_call(dep, example_text(), actor="test")
    other, _ = make_user(dep, "viewer")
    with pytest.raises(CallError, match="xa-moi-2025"):
        appoint(dep, call_2024, other, "judge", "xa-moi-2025", actor="test")


def test_a_2025_calls_panel_and_results_name_2025s_units(dep, make_app, make_user, monkeypatch):
    # The members' page and the published results name units in the call's plan: with the
    # default plan's (the pages' own `plan`), a judge of a 2025-only commune showed "—" and an
    # entry of a commune renamed in 2025 its 2024 name.
    import datetime as dt

    from ccch_initiatives import entries as entries_mod
    from ccch_initiatives import judging
    from ccch_initiatives.calls import appoint
    from ccch_initiatives.documents import check_document
    from ccch_initiatives.entries import check_form, submit_entry
    from initiatives_testing import docx, entry_form

    from ccch_core.periods import VN_TZ
    from ccch_core.testing import PASSWORD, login

    during = dt.datetime(2025, 8, 1, 9, 0, tzinfo=VN_TZ).astimezone(dt.UTC)
    monkeypatch.setattr(entries_mod, "clock", lambda: during)
    call, _ = save_call(dep, call_2025(units='["xa-moi-2025", "xa-an-dung"]'), actor="test")
    fields = check_form(plan_of_call(dep, call), call, entry_form(unit_id="xa-an-dung"))
    entry = submit_entry(dep, call, fields, check_document(docx()), now=during)
    judge, _ = make_user(dep, "viewer")
    appoint(dep, call, judge, "judge", "xa-moi-2025", actor="test")
    judging.assign_judges(dep, call, "preliminary", actor="tk", per_entry=1)
    (assignment,) = judging.assignments(dep.db, call.id, "preliminary")
    values, overall = judging.check_scores(call, {f"score_{c.key}": "9" for c in call.definition.criteria})
    judging.save_scores(dep, call, assignment, values, overall, submit=True, actor=judge)
    judging.decide_awards(dep, call, actor="tk")
    judging.publish_results(dep, call, actor="tk")

    app = make_app(dep)
    results = app.test_client().get(f"/sang-kien/{call.slug}/ket-qua").get_data(as_text=True)
    assert entry.title in results and "UBND xã An Dũng mới" in results
    manager, _ = make_user(dep, "contest_manager")
    client = app.test_client()
    assert login(client, manager, PASSWORD).status_code == 302
    members = client.get(f"/sang-kien/hoi-dong/{call.slug}/thanh-vien").get_data(as_text=True)
    assert judge in members and "UBND xã Hợp Nhất" in members
