"""The trial copy of a contest: rounds moved so that one is open now, the source file untouched,
and a participant can start an attempt in the loaded copy straight away."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from ccch_contest import attempts as A
from ccch_contest import bank
from ccch_contest.contests import save_definition, set_status
from ccch_contest.definition import load_definition, loads_definition
from ccch_contest.trial import main, shifted_to_now, trial_toml
from ccch_contest_testing import CONTEST_TOML, QUESTIONS_CSV, add_participant

from ccch_core.periods import VN_TZ

NOW = dt.datetime(2026, 11, 26, 15, 30, 12, tzinfo=VN_TZ)


def test_the_first_round_opens_today_keeping_times_and_lengths():
    example = load_definition(CONTEST_TOML, None)
    trial = shifted_to_now(example, NOW)
    first = trial.rounds[0]
    assert first.opens == dt.datetime(2026, 11, 26, 7, 0, tzinfo=VN_TZ)
    assert first.closes == dt.datetime(2026, 12, 2, 23, 59, 59, tzinfo=VN_TZ)
    assert trial.current_round(NOW) == first
    assert [(r.closes - r.opens, r.number, r.name) for r in trial.rounds] == \
        [(r.closes - r.opens, r.number, r.name) for r in example.rounds]
    assert len({r.opens - e.opens for r, e in zip(trial.rounds, example.rounds, strict=True)}) == 1
    assert trial.rounds != example.rounds and attrs.evolve(trial, rounds=example.rounds) == example  # nothing else


def test_before_the_rounds_time_of_day_it_opens_a_day_earlier():
    early = NOW.replace(hour=6)
    trial = shifted_to_now(load_definition(CONTEST_TOML, None), early)
    assert trial.rounds[0].opens == dt.datetime(2026, 11, 25, 7, 0, tzinfo=VN_TZ)
    assert trial.current_round(early).number == 1


def test_open_round_two_leaves_round_one_closed():
    trial = shifted_to_now(load_definition(CONTEST_TOML, None), NOW, open_round=2)
    assert trial.current_round(NOW).number == 2
    assert trial.rounds[0].ends <= NOW


def test_the_command_writes_a_loadable_copy_and_never_touches_the_source(tmp_path, dep, capsys):
    before = CONTEST_TOML.read_bytes()
    out = tmp_path / "contest-trial.toml"
    assert main([str(CONTEST_TOML), "-o", str(out)]) == 0
    assert CONTEST_TOML.read_bytes() == before
    trial = loads_definition(out.read_text(encoding="utf-8"), dep.plan, file=str(out))
    assert trial.slug == "tim-hieu-cchc-2024" and trial.current_round(dt.datetime.now(VN_TZ)).number == 1
    # The participant flow works in the loaded copy now, with no date edited by hand.
    contest, _ = save_definition(dep, trial, username="test")
    found, audiences, problems = bank.parse_rows(bank.read_question_file(QUESTIONS_CSV), contest.definition)
    assert not problems
    bank.import_questions(dep.db, contest.id, found, audiences, replace=True, username="test")
    contest = set_status(dep, contest, "published", username="test")
    person = add_participant(dep, contest, 1)
    assert A.start_attempt(dep, contest, person.id).attempt.status == "open"


def test_the_command_refuses_to_overwrite_its_source_and_unknown_rounds(tmp_path, capsys):
    copy = tmp_path / "contest.toml"
    copy.write_bytes(CONTEST_TOML.read_bytes())
    with pytest.raises(SystemExit):
        main([str(copy), "-o", str(copy)])
    assert copy.read_bytes() == CONTEST_TOML.read_bytes()
    assert main([str(copy), "--open-round", "9"]) == 1
    assert "there is no round 9" in capsys.readouterr().err


def test_the_copy_says_what_it_is():
    text = trial_toml(CONTEST_TOML, NOW)
    assert text.startswith("# Bản chạy thử của contest.toml") and "opens = 2026-11-26T07:00:00" in text
