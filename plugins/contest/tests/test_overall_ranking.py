"""The whole contest's ranking follows the configured tie-break order: total score, then each
tie-break aggregated over the rounds (prediction: rounds without a prediction, then the sum of
distances over the rounds whose true figure is known; time: total time taken; submitted: the last
submission), then the participant. One crafted case, ranked under each order."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from ccch_contest import attempts as A
from ccch_contest import ranking as R
from ccch_contest.contests import get_contest
from ccch_contest_testing import (
    add_participant,
    answers_for,
    contest_data,
    load_contest,
)

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)
ROUNDS = [(NOW - dt.timedelta(days=20), NOW - dt.timedelta(days=15)),   # closed: 5 perfect attempts
          (NOW - dt.timedelta(days=10), NOW - dt.timedelta(days=1)),    # closed: 6 perfect attempts
          (NOW - dt.timedelta(hours=2), NOW + dt.timedelta(days=1))]    # open: no true figure yet

# name: (wrong answers in round 1, predictions in rounds 1-3, seconds taken in rounds 1-3,
#        minutes after round 3 opened that the attempt started)
PEOPLE = {
    "Người Đoán Trúng": (0, (5, 6, 9999), (600, 600, 200), 2),  # distance 0 + 0 (round 3's 9999 not yet judged)
    "Người Nhanh":      (0, (6, 5, 1), (100, 100, 200), 1),     # distance 1 + 1, 400 s in all
    "Người Hòa Giờ":    (0, (5, 7, 1), (100, 100, 200), 4),     # distance 0 + 1, 400 s in all
    "Người Nộp Sớm":    (0, (5, 9, 1), (300, 300, 200), 0),     # distance 0 + 3, the earliest last submission
    "Người Quên":       (0, (5, None, 1), (50, 50, 200), 3),    # no prediction in a judged round, fastest
    "Người Sai Một":    (1, (5, 6, 1), (10, 10, 200), 5),       # one point less: last whatever the order
}


@pytest.fixture
def contest(dep):
    contest = load_contest(dep, contest_data(rounds=ROUNDS))
    for n, (name, (wrong, predictions, seconds, minute)) in enumerate(PEOPLE.items(), start=1):
        person = add_participant(dep, contest, n, name=name)
        for number in (1, 2, 3):
            start = contest.round(number).opens + dt.timedelta(hours=1 if number < 3 else 0, minutes=minute)
            attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
            result = A.submit_attempt(dep, contest, attempt,
                                      answers_for(dep, contest, attempt, wrong=wrong if number == 1 else 0),
                                      predictions[number - 1], now=start + dt.timedelta(seconds=seconds[number - 1]))
            assert result.outcome == "accepted"
    contest = R.ensure_closed(dep, get_contest(dep, contest.slug), NOW)
    assert [r.truth for r in contest.rounds] == [5.0, 6.0, None]
    return contest


def ranked(dep, contest, tie_breaks):
    configured = attrs.evolve(contest, definition=attrs.evolve(contest.definition, tie_breaks=tuple(tie_breaks)))
    return [r["full_name"] for r in R.overall_entries(dep.db, configured)]


def test_prediction_first_sums_distances_over_judged_rounds(dep, contest):
    assert ranked(dep, contest, ["prediction", "time", "submitted"]) == [
        "Người Đoán Trúng",  # 0 — round 3's prediction is far off, but round 3 has no true figure yet
        "Người Hòa Giờ",     # 1
        "Người Nhanh",       # 2
        "Người Nộp Sớm",     # 3
        "Người Quên",        # a judged round without a prediction: after every full set of predictions
        "Người Sai Một",     # lower total score
    ]


def test_time_first_then_prediction(dep, contest):
    assert ranked(dep, contest, ["time", "prediction", "submitted"]) == [
        "Người Quên",        # 300 s
        "Người Hòa Giờ",     # 400 s, distance 1
        "Người Nhanh",       # 400 s, distance 2
        "Người Nộp Sớm",     # 800 s
        "Người Đoán Trúng",  # 1400 s
        "Người Sai Một",
    ]


def test_submission_first(dep, contest):
    assert ranked(dep, contest, ["submitted", "time", "prediction"]) == [
        "Người Nộp Sớm", "Người Nhanh", "Người Đoán Trúng", "Người Quên", "Người Hòa Giờ", "Người Sai Một"]


def test_submission_breaks_what_time_leaves_tied(dep, contest):
    # Nhanh and Hòa Giờ took 400 s each; Nhanh's last attempt was submitted three minutes earlier.
    assert ranked(dep, contest, ["time", "submitted"])[1:3] == ["Người Nhanh", "Người Hòa Giờ"]


def test_the_public_overall_board_uses_the_configured_order(dep, contest):
    board = R.leaderboard(dep, contest, None, "cbccvc", now=NOW)
    assert [r["full_name"] for r in board.rows][:3] == ["Người Đoán Trúng", "Người Hòa Giờ", "Người Nhanh"]
    assert [r["distance"] for r in board.rows][:3] == [0, 1, 2]
    quen = next(r for r in board.rows if r["full_name"] == "Người Quên")
    assert quen["missed_predictions"] == 1
