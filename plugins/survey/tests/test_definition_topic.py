"""A survey question may not carry ``topic``: the shared question model accepts a plan content
topic (a contest draws and reports by it), but a survey neither uses nor checks it, so accepting it
would keep a value nobody validates and that ``survey show`` and the editor never show again.
Versions stored before the refusal still read."""

from __future__ import annotations

import json

import pytest
from ccch_survey.definition import (
    DefinitionError,
    definition_from_json,
    loads_definition,
)
from click.testing import CliRunner

from ccch_core.cli import make_cli
from ccch_core.testing import csrf_token, login

SURVEY = '''id = "co-chu-de"
title = "Khảo sát thử"

[[questions]]
key = "thai-do"
type = "scale5"
prompt = "Thái độ của công chức"

[[questions]]
key = "thoi-gian"
type = "scale5"
prompt = "Thời gian giải quyết"
topic = "1.3"
'''
MESSAGE = ("ks.toml.questions[2] (key “thoi-gian”): trường topic (chủ đề nội dung của kế hoạch) không dùng "
           "cho khảo sát; hãy xóa dòng topic = \"1.3\"")


def test_a_topic_is_refused_with_the_field_and_the_question_key():
    with pytest.raises(DefinitionError) as caught:
        loads_definition(SURVEY, "ks.toml")
    assert caught.value.problems == [MESSAGE]


def test_survey_load_refuses_it_and_saves_nothing(dep, tmp_path):
    path = dep.config.folder / "ccch.toml"
    path.write_text('[deployment]\nname = "Huyện Đức Thọ"\nplan = "plan.toml"\ndatabase = "ccch.db"\n'
                    'public_base_url = "https://cchc.example.gov.vn"\nplugins = ["survey"]\n', encoding="utf-8")
    file = tmp_path / "ks.toml"
    file.write_text(SURVEY, encoding="utf-8")
    result = CliRunner().invoke(make_cli(path), ["survey", "load", str(file)], catch_exceptions=False)
    assert result.exit_code == 1 and MESSAGE in result.output
    assert dep.db.execute("select count(*) from survey_surveys where id = 'co-chu-de'").fetchone()[0] == 0


def test_the_web_editor_refuses_it_and_keeps_the_text(dep, app, make_user):
    client = app.test_client()
    username, password = make_user(dep, "plan_admin", None)
    assert login(client, username, password).status_code == 302
    token = csrf_token(client, "/khao-sat/moi")
    response = client.post("/khao-sat/moi", data={"csrf_token": token, "dinh_nghia": SURVEY, "ghi_chu": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "(key “thoi-gian”): trường topic (chủ đề nội dung của kế hoạch) không dùng cho khảo sát" in html
    assert 'topic = &#34;1.3&#34;' in html or 'topic = &quot;1.3&quot;' in html  # the text comes back as typed
    assert dep.db.execute("select count(*) from survey_surveys where id = 'co-chu-de'").fetchone()[0] == 0


def test_a_version_stored_with_a_topic_still_reads():
    data = {"id": "cu", "title": "Cũ", "questions": [
        {"key": "a", "type": "scale5", "prompt": "Thái độ", "topic": "1.3",
         "options": [{"key": str(n), "label": str(n)} for n in range(1, 6)]}]}
    definition = definition_from_json(json.dumps(data, ensure_ascii=False))
    assert definition.questions[0].key == "a"
