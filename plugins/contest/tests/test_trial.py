"""The trial copy of a contest: rounds moved so that one is open now, the source file untouched,
and a participant can start an attempt in the loaded copy straight away."""

from __future__ import annotations

import datetime as dt

import attrs
from ccch_contest import attempts as A
from ccch_contest import bank
from ccch_contest.contests import get_contest
from ccch_contest.definition import load_definition
from ccch_contest.lifecycle import set_status
from ccch_contest.trial import shifted_to_now
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


def test_load_trial_opens_a_round_now_and_never_touches_the_file(dep):
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    config = str(dep.config.path)
    before = CONTEST_TOML.read_bytes()

    def run(*args):
        dep.close()  # the CLI opens its own connection, as a separate process would
        return CliRunner().invoke(make_cli(config), ["-c", config, *args], catch_exceptions=False)

    loaded = run("contest", "load", str(CONTEST_TOML), "--trial")
    assert loaded.exit_code == 0 and "Trial: the rounds are moved so that" in loaded.output
    assert CONTEST_TOML.read_bytes() == before
    contest = get_contest(dep, "tim-hieu-cchc-2024")
    assert contest.current_round(dt.datetime.now(VN_TZ)).number == 1
    # The participant flow works in the loaded trial now, with no date edited by hand.
    found, audiences, problems = bank.parse_rows(bank.read_question_file(QUESTIONS_CSV), contest.definition)
    assert not problems
    bank.import_questions(dep.db, contest.id, found, audiences, replace=True, username="test")
    contest = set_status(dep, contest, "published", username="test")
    person = add_participant(dep, contest, 1)
    assert A.start_attempt(dep, contest, person.id).attempt.status == "open"
    # Round 2 instead; an unknown round and --open-round without --trial are refused.
    assert run("contest", "load", str(CONTEST_TOML), "--trial", "--open-round", "2").exit_code == 0
    assert get_contest(dep, contest.slug).current_round(dt.datetime.now(VN_TZ)).number == 2
    unknown = run("contest", "load", str(CONTEST_TOML), "--trial", "--open-round", "9")
    assert unknown.exit_code == 1 and "there is no round 9" in unknown.output
    assert run("contest", "load", str(CONTEST_TOML), "--open-round", "2").exit_code == 2
