"""Contest definitions: the TOML format, every problem reported with where and the line, unknown
keys, round times in Vietnam time, the round trip to TOML."""

from __future__ import annotations

import datetime as dt

import pytest
from ccch_contest.definition import (
    DefinitionError,
    definition_from_dict,
    definition_to_toml,
    load_definition,
    loads_definition,
    parse_instant,
    unit_choices,
)
from ccch_contest_testing import CONTEST_TOML, contest_data

from ccch_core.periods import VN_TZ

MINIMAL = """
format = 1
[contest]
slug = "thi-thu"
title = "Thi thử"
[[rounds]]
opens = 2024-06-03T07:00:00
closes = 2024-06-09T23:59:59
"""


def test_the_example_definition_loads(duc_tho_plan):
    d = load_definition(CONTEST_TOML, duc_tho_plan)
    assert d.slug == "tim-hieu-cchc-2024"
    assert [a.key for a in d.audiences] == ["cbccvc", "nhan-dan"]
    assert d.questions_for(d.audience("nhan-dan")) == 15
    assert d.audience("cbccvc").quota_total == 16
    assert d.tie_breaks == ("prediction", "time", "submitted")
    assert [r.number for r in d.rounds] == [1, 2, 3, 4]
    assert d.rounds[0].closes == dt.datetime(2024, 6, 9, 23, 59, 59, tzinfo=VN_TZ)
    assert sum(p.count for p in d.audience("cbccvc").prizes) == 11


def test_minimal_definition_gets_the_defaults(duc_tho_plan):
    d = loads_definition(MINIMAL, duc_tho_plan)
    assert d.questions_per_attempt == 20 and d.time_limit_minutes == 15 and d.attempts_per_round == 1
    assert d.prediction == "count" and d.tie_breaks == ("prediction", "time", "submitted")
    assert [a.key for a in d.audiences] == ["chung"]
    assert d.rounds[0].name == "Vòng 1"
    # Default unit choices: the district's offices and communes, no facilities, no external units.
    choices = {u.id for u in unit_choices(d, None, duc_tho_plan)}
    assert "xa-an-dung" in choices and "phong-noi-vu" in choices
    assert "cong-ttdt-huyen" not in choices and "xa-an-dung.truyen-thanh" not in choices


def test_every_problem_is_reported_with_where_and_line(duc_tho_plan):
    text = """format = 1
[contest]
slug = "Sai Slug"
title = "Thi"
time_limit_minute = 15
tie_breaks = ["time", "luck"]
organiser = "phong-noi-vuu"

[[audiences]]
key = "cbccvc"
name = "Cán bộ"
quotas = { "Văn bản" = 30 }
units = ["xa-khong-co"]

[[rounds]]
opens = 2024-06-03T07:00:00
closes = 2024-06-01T23:59:59

[[rounds]]
number = 2
opens = "không phải ngày"
closes = 2024-06-20
"""
    with pytest.raises(DefinitionError) as caught:
        loads_definition(text, duc_tho_plan, file="cuoc-thi.toml")
    problems = {p.where: p for p in caught.value.problems}
    assert problems["contest.slug"].line == 3
    assert "unknown key" in problems["contest.time_limit_minute"].message
    assert 'did you mean "time_limit_minutes"' in problems["contest.time_limit_minute"].message
    assert problems["contest.time_limit_minute"].line == 5
    assert "'luck'" in problems["contest.tie_breaks"].message and problems["contest.tie_breaks"].line == 6
    assert 'did you mean "phong-noi-vu"' in problems["contest.organiser"].message
    assert "more than the 20 drawn" in problems["audiences[0].quotas"].message
    assert problems["audiences[0].quotas"].line == 12
    assert "xa-khong-co" in problems["audiences[0].units"].message
    assert problems["rounds[0].closes"].message == "must be after opens" and problems["rounds[0].closes"].line == 17
    assert "not a date and time" in problems["rounds[1].opens"].message and problems["rounds[1].opens"].line == 21
    assert str(caught.value).count("cuoc-thi.toml:") == len(caught.value.problems)


def test_overlapping_rounds_and_duplicate_keys(duc_tho_plan):
    data = contest_data()
    data["rounds"][1]["opens"] = data["rounds"][0]["closes"]
    data["audiences"][1]["key"] = "cbccvc"
    with pytest.raises(DefinitionError) as caught:
        definition_from_dict(data, duc_tho_plan)
    messages = " | ".join(str(p) for p in caught.value.problems)
    assert "rounds must not overlap" in messages
    assert "'cbccvc' is used by another audience" in messages


def test_prediction_tie_break_needs_a_prediction(duc_tho_plan):
    data = contest_data(prediction={"kind": "none"})
    with pytest.raises(DefinitionError, match='"prediction" is a tie-break but'):
        definition_from_dict(data, duc_tho_plan)
    data = contest_data(prediction={"kind": "none"}, tie_breaks=["submitted"])
    assert definition_from_dict(data, duc_tho_plan).tie_breaks == ("submitted",)


def test_unknown_top_level_and_nested_keys(duc_tho_plan):
    data = contest_data()
    data["giai"] = []
    data["audiences"][0]["prizes"][0]["tien"] = 5
    data["contest"]["eligibility"]["who"] = "tre-em"
    with pytest.raises(DefinitionError) as caught:
        definition_from_dict(data, duc_tho_plan)
    wheres = {p.where for p in caught.value.problems}
    assert {"giai", "audiences[0].prizes[0].tien", "contest.eligibility.who"} <= wheres


def test_round_times_are_vietnam_times():
    assert parse_instant(dt.date(2024, 6, 9), end_of_day=True) == dt.datetime(2024, 6, 9, 23, 59, 59, tzinfo=VN_TZ)
    assert parse_instant(dt.date(2024, 6, 3), end_of_day=False) == dt.datetime(2024, 6, 3, 0, 0, tzinfo=VN_TZ)
    assert parse_instant("09/06/2024 23:59:59", end_of_day=True) == dt.datetime(2024, 6, 9, 23, 59, 59, tzinfo=VN_TZ)
    aware = dt.datetime(2024, 6, 9, 16, 59, 59, tzinfo=dt.UTC)
    assert parse_instant(aware, end_of_day=True) == dt.datetime(2024, 6, 9, 23, 59, 59, tzinfo=VN_TZ)
    d = loads_definition(MINIMAL, None)
    # Open until the last second: the first closed instant is 00:00:00 Vietnam time, 17:00 UTC.
    assert d.rounds[0].ends == dt.datetime(2024, 6, 9, 17, 0, tzinfo=dt.UTC)
    assert d.current_round(dt.datetime(2024, 6, 9, 16, 59, 59, 999000, tzinfo=dt.UTC)) is d.rounds[0]
    assert d.current_round(dt.datetime(2024, 6, 9, 17, 0, tzinfo=dt.UTC)) is None


def test_toml_round_trip(duc_tho_plan):
    d = load_definition(CONTEST_TOML, duc_tho_plan)
    text = definition_to_toml(d)
    assert loads_definition(text, duc_tho_plan) == d
    assert 'slug = "tim-hieu-cchc-2024"' in text and "[[audiences]]" in text
