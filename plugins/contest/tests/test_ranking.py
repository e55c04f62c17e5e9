"""Rankings: each tie-break rule on a crafted case, every configurable order against a plain sort,
the prediction's true figure, disqualification, masked leaderboards, prize lists, participation
and collective prizes against headcounts."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest
from ccch_contest import attempts as A
from ccch_contest import counting
from ccch_contest import ranking as R
from ccch_contest.contests import get_contest, save_definition
from ccch_contest.definition import definition_from_dict
from ccch_contest.moderation import disqualify_attempt, set_disqualified
from ccch_contest.personal_data import erase_participant
from ccch_contest_testing import (
    add_participant,
    answers_for,
    contest_data,
    load_contest,
)

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)
OPENS = NOW - dt.timedelta(days=10)
CLOSES = NOW - dt.timedelta(days=1)


def closed_contest(dep, **overrides):
    """A contest whose only round ran from 10 days ago to yesterday."""
    return load_contest(dep, contest_data(rounds=[(OPENS, CLOSES)], **overrides))


def entry(dep, contest, n, *, start_min=0, seconds=300, wrong=0, prediction=None, audience="cbccvc",
          unit_id="xa-an-dung", name=None):
    """Participant n's attempt: started start_min minutes after the round opened, taking seconds."""
    person = add_participant(dep, contest, n, audience=audience, unit_id=unit_id, name=name)
    start = OPENS + dt.timedelta(hours=1, minutes=start_min)
    attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
    result = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt, wrong=wrong), prediction,
                              now=start + dt.timedelta(seconds=seconds))
    assert result.outcome == "accepted"
    return person, result.attempt


def ranked_names(dep, contest, audience=None):
    contest = R.ensure_closed(dep, get_contest(dep, contest.slug), NOW)
    round_state = contest.rounds[0]
    return [e.full_name for e in R.entries(dep.db, contest, round_state, audience)]


def crafted(dep, tie_breaks):
    contest = closed_contest(dep, tie_breaks=tie_breaks)
    entry(dep, contest, 1, name="Người Một", seconds=600, prediction=4)       # perfect, distance 0
    entry(dep, contest, 2, name="Người Hai", seconds=300, prediction=3)       # perfect, distance 1 (below)
    entry(dep, contest, 3, name="Người Ba", seconds=100, prediction=11)       # perfect, distance 7
    entry(dep, contest, 4, name="Người Bốn", seconds=50, prediction=4, wrong=1)
    entry(dep, contest, 5, name="Người Năm", seconds=200, prediction=5)       # perfect, distance 1 (above)
    entry(dep, contest, 7, name="Người Bảy", start_min=0, seconds=300, prediction=4, wrong=2)
    entry(dep, contest, 6, name="Người Sáu", start_min=1, seconds=300, prediction=4, wrong=2)  # same time, later
    entry(dep, contest, 8, name="Người Tám", seconds=1, prediction=None, wrong=2)              # no prediction
    return contest


def test_score_then_prediction_then_time_then_submission(dep):
    contest = crafted(dep, ["prediction", "time", "submitted"])
    contest = R.ensure_closed(dep, contest, NOW)
    assert contest.rounds[0].truth == 4.0 and contest.rounds[0].perfect_count == 4  # Một, Hai, Ba, Năm
    assert contest.rounds[0].entrant_count == 8 and contest.rounds[0].entrants_by_audience == {"cbccvc": 8}
    assert ranked_names(dep, contest) == [
        "Người Một",   # 20, distance 0
        "Người Năm",   # 20, distance 1, 200 s — the same distance as Hai, who is below the figure: time decides
        "Người Hai",   # 20, distance 1, 300 s
        "Người Ba",    # 20, distance 7
        "Người Bốn",   # 19
        "Người Bảy",   # 18, distance 0, 300 s, submitted first
        "Người Sáu",   # 18, distance 0, 300 s, submitted a minute later
        "Người Tám",   # 18, no prediction: last of its score
    ]


def test_score_then_time_before_prediction(dep):
    contest = crafted(dep, ["time", "prediction", "submitted"])
    assert ranked_names(dep, contest) == ["Người Ba", "Người Năm", "Người Hai", "Người Một", "Người Bốn",
                                          "Người Tám", "Người Bảy", "Người Sáu"]


def test_score_then_submission_time_only(dep):
    contest = crafted(dep, ["submitted"])
    # Submission instants: each started an hour after opening (Sáu one minute later), plus its time.
    assert ranked_names(dep, contest) == ["Người Ba", "Người Năm", "Người Hai", "Người Một", "Người Bốn",
                                          "Người Tám", "Người Bảy", "Người Sáu"]


def test_prediction_as_the_last_tie_break(dep):
    contest = crafted(dep, ["time", "submitted", "prediction"])
    assert ranked_names(dep, contest)[:4] == ["Người Ba", "Người Năm", "Người Hai", "Người Một"]


def brute_force(rows, order, truth_scaled):
    def key(r):
        values = []
        for name in order:
            if name == "time":
                values.append(r["duration_ms"])
            elif name == "submitted":
                values.append(r["submitted_ms"])
            else:
                p = counting.scaled_prediction("count", r["prediction"])
                values.append(abs(p - truth_scaled))
        return (-r["score"], *values, r["id"])

    return [r["id"] for r in sorted(rows, key=key)]


def test_every_order_against_a_plain_sort(dep):
    """Random attempts with many ties; every order of the tie-breaks, all audiences or one."""
    contest = closed_contest(dep)
    rng = random.Random(42)
    people = [add_participant(dep, contest, n, audience=rng.choice(["cbccvc", "nhan-dan"]),
                              unit_id="xa-yen-ho") for n in range(240)]
    round_id = contest.rounds[0].id
    base = int(OPENS.timestamp() * 1000)
    rows = []
    scores = [rng.choice([20, 20, 19, 18]) for _ in people]
    perfect = scores.count(20)  # the true figure: predictions around it, on both sides and equal
    for person, score in zip(people, scores):
        rows.append({"participant_id": person.id, "audience": person.audience, "score": score,
                     "duration_ms": rng.choice([60_000, 61_000, 120_000]),
                     "submitted_ms": base + rng.choice([1_000, 2_000, 3_000, 4_000]) * 1000,
                     "prediction": rng.choice([None, 0.0, 400.0, *(float(perfect + d) for d in (-6, -3, 0, 3, 6))])})
    for n, r in enumerate(rows):
        r["id"] = dep.db.execute(
            "insert into contest_attempts (token, contest_id, round_id, participant_id, audience, unit_id, attempt_no, "
            "status, started_at, started_ms, deadline_ms, accept_until_ms, questions, submitted_at, submitted_ms, "
            "duration_ms, finish, score, total, perfect, prediction) values (?, ?, ?, ?, ?, 'xa-yen-ho', 1, 'submitted', "
            "'x', 0, 0, 0, '[]', ?, ?, ?, 'participant', ?, 20, ?, ?)",
            [f"t{n}", contest.id, round_id, r["participant_id"], r["audience"],
             counting.iso_ms(counting.from_ms(r["submitted_ms"])), r["submitted_ms"], r["duration_ms"], r["score"],
             int(r["score"] == 20), r["prediction"]]).lastrowid
    dep.db.conn.commit()
    orders = [list(p) for k in (1, 2, 3) for p in itertools.permutations(["prediction", "time", "submitted"], k)]
    orders += [["time"], ["submitted", "time"]]
    checked = 0
    for order in orders:
        data = contest_data(rounds=[(OPENS, CLOSES)], tie_breaks=order)
        save_definition(dep, definition_from_dict(data, dep.plan))  # re-keys the attempts for this order
        current = get_contest(dep, contest.slug)
        round_state = R.close_round(dep, current, current.rounds[0], now=NOW, force=True)
        current = get_contest(dep, contest.slug)
        truth = round_state.truth
        assert truth == sum(1 for r in rows if r["score"] == 20)
        for audience in (None, "cbccvc", "nhan-dan"):
            subset = [r for r in rows if audience in (None, r["audience"])]
            expected = brute_force(subset, order, int(truth))
            got = [k[0] for k in R.ranked_keys(dep.db, current, round_state, audience)]
            assert got == expected, (order, audience)
            # rank_of agrees with the stream for a few entries.
            for position in (1, len(expected) // 2, len(expected)):
                assert R.rank_of(dep.db, current, round_state, expected[position - 1], audience) == position
            checked += 1
    assert checked == len(orders) * 3


def test_percent_prediction_truth(dep):
    contest = closed_contest(dep, prediction={"kind": "percent"})
    entry(dep, contest, 1, prediction=33.33333)
    entry(dep, contest, 2, prediction=50.0, wrong=1)
    entry(dep, contest, 3, prediction=30.0, wrong=1)
    contest = R.ensure_closed(dep, get_contest(dep, contest.slug), NOW)
    assert contest.rounds[0].truth == 33.33333  # 1 of 3 with every answer right, 5 decimals
    names = ranked_names(dep, contest)
    assert names[0].endswith(" B")  # participant 1 (letters(1) = "B") has the only perfect score
    assert names[1:] == ["Nguyễn Văn Thí Sinh D", "Nguyễn Văn Thí Sinh C"]  # 30 is closer to 33.33333 than 50


def test_disqualification_updates_ranking_and_truth(dep):
    contest = crafted(dep, ["prediction", "time", "submitted"])
    contest = R.ensure_closed(dep, contest, NOW)
    board = R.leaderboard(dep, contest, contest.rounds[0], now=NOW)
    assert board.rows[0]["full_name"] == "Người Một"
    winner = dep.db.execute("select id from contest_participants where full_name = 'Người Một'").fetchone()[0]
    set_disqualified(dep, contest, winner, True, "Thi hộ người khác", "noivu", now=NOW)
    contest = get_contest(dep, contest.slug)
    assert contest.rounds[0].truth == 3.0  # one perfect entry fewer
    # Distances now from 3: Hai (3) first, then Năm (5, distance 2), then Ba (11).
    assert ranked_names(dep, contest)[:3] == ["Người Hai", "Người Năm", "Người Ba"]
    board = R.leaderboard(dep, contest, contest.rounds[0], now=NOW)
    assert [r["full_name"] for r in board.rows][:2] == ["Người Hai", "Người Năm"]
    assert "Người Một" not in [r["full_name"] for r in board.rows]
    log = dep.db.execute("select action, detail, username from contest_log where participant_id = ?", [winner]).fetchall()
    assert ("disqualify", "Thi hộ người khác", "noivu") in log
    set_disqualified(dep, contest, winner, False, "", "noivu", now=NOW)
    assert ranked_names(dep, get_contest(dep, contest.slug))[0] == "Người Một"


def test_disqualifying_one_attempt_lets_the_next_best_count(dep):
    contest = closed_contest(dep, attempts_per_round=2)
    person = add_participant(dep, contest, 1)
    start = OPENS + dt.timedelta(hours=1)
    best = A.start_attempt(dep, contest, person.id, now=start).attempt
    A.submit_attempt(dep, contest, best, answers_for(dep, contest, best), 1.0, now=start + dt.timedelta(minutes=2))
    other = A.start_attempt(dep, contest, person.id, now=start + dt.timedelta(minutes=5)).attempt
    A.submit_attempt(dep, contest, other, answers_for(dep, contest, other, wrong=4), 1.0,
                     now=start + dt.timedelta(minutes=7))
    disqualify_attempt(dep, contest, best.id, True, "Lỗi hệ thống ghi nhận", "noivu", now=NOW)
    rows = dict(dep.db.execute("select id, counted from contest_attempts").fetchall())
    assert rows == {best.id: 0, other.id: 1}
    with pytest.raises(ValueError, match="lý do"):
        disqualify_attempt(dep, contest, other.id, True, "  ", "noivu")


def test_leaderboard_masks_phones_and_is_cached(dep):
    contest = crafted(dep, ["prediction", "time", "submitted"])
    contest = R.ensure_closed(dep, contest, NOW)
    board = R.leaderboard(dep, contest, contest.rounds[0], now=NOW)
    assert len(board.rows) == 8 and not board.provisional and board.truth == 4.0
    for row in board.rows:
        assert "***" in row["phone_masked"] and len(row["phone_masked"]) == 10
    stored = dep.db.execute("select data from contest_leaderboards").fetchone()[0]
    assert all(phone not in stored for phone in (f"09{n:08d}" for n in range(12345670, 12345680)))
    # Served from the cache: the stored computation time does not change.
    again = R.leaderboard(dep, contest, contest.rounds[0], now=NOW + dt.timedelta(hours=1))
    assert again.computed_at == board.computed_at


def test_open_round_leaderboard_is_provisional_without_prediction(dep, contest):
    person = add_participant(dep, contest, 1)
    attempt = A.start_attempt(dep, contest, person.id).attempt
    A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 999.0)
    current = contest.current_round(dt.datetime.now(UTC))
    board = R.leaderboard(dep, get_contest(dep, contest.slug), current)
    assert board.provisional and board.truth is None and board.rows[0]["score"] == 20
    assert R.rank_of(dep.db, contest, current, attempt.id) == 1


def test_prize_lists_per_audience_and_one_prize_per_person(dep):
    now = NOW
    rounds = [(now - dt.timedelta(days=20), now - dt.timedelta(days=15)), (OPENS, CLOSES)]
    data = contest_data(rounds=rounds, one_prize_per_person=True)
    data["audiences"][0]["prizes"] = [{"name": "Giải Nhất", "count": 1}, {"name": "Giải Nhì", "count": 2}]
    contest = load_contest(dep, data)
    round1 = contest.round(1)
    people = [add_participant(dep, contest, n) for n in range(5)]
    citizen = add_participant(dep, contest, 9, audience="nhan-dan")
    for rnd, start in ((1, round1.opens + dt.timedelta(hours=1)), (2, OPENS + dt.timedelta(hours=1))):
        for n, person in enumerate(people + [citizen]):
            attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
            A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt, wrong=n), 1.0,
                             now=start + dt.timedelta(minutes=3))
    contest = R.ensure_closed(dep, get_contest(dep, contest.slug), NOW)
    first = R.prize_list(dep, contest, contest.round(1), "cbccvc")
    assert [(w.prize, w.entry.participant_id) for w in first] == [
        ("Giải Nhất", people[0].id), ("Giải Nhì", people[1].id), ("Giải Nhì", people[2].id)]
    second = R.prize_list(dep, contest, contest.round(2), "cbccvc")
    # Round 1's winners are passed over in round 2.
    assert [w.entry.participant_id for w in second] == [people[3].id, people[4].id]
    citizens = R.prize_list(dep, contest, contest.round(1), "nhan-dan")
    assert [w.entry.participant_id for w in citizens] == [citizen.id]


def test_overall_ranking_sums_rounds(dep):
    rounds = [(NOW - dt.timedelta(days=20), NOW - dt.timedelta(days=15)), (OPENS, CLOSES)]
    contest = load_contest(dep, contest_data(rounds=rounds))
    a = add_participant(dep, contest, 1, name="Người Chăm")
    b = add_participant(dep, contest, 2, name="Người Nhanh")
    for number, start in ((1, contest.round(1).opens + dt.timedelta(hours=1)), (2, OPENS + dt.timedelta(hours=1))):
        for person, wrong, seconds in ((a, 1, 500), (b, 0, 100)):
            if person is b and number == 2:
                continue  # b only took part in round 1
            attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
            A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt, wrong=wrong), 1.0,
                             now=start + dt.timedelta(seconds=seconds))
    rows = R.overall_entries(dep.db, get_contest(dep, contest.slug))
    assert [(r["full_name"], r["score"], r["rounds"]) for r in rows] == [("Người Chăm", 38, 2), ("Người Nhanh", 20, 1)]


def test_erased_participants_leave_the_rankings(dep):
    contest = crafted(dep, ["prediction", "time", "submitted"])
    winner = dep.db.execute("select id from contest_participants where full_name = 'Người Một'").fetchone()[0]
    erase_participant(dep, get_contest(dep, contest.slug), winner, None, now=NOW)
    row = dep.db.execute("select full_name, phone_hash, contact_phone, deleted_at from contest_participants where id = ?",
                         [winner]).fetchone()
    assert row[0] is None and row[1] is None and row[2] is None and row[3]
    assert "Người Một" not in ranked_names(dep, contest)


def test_an_erasure_leaves_a_closed_rounds_figure_and_keys_as_stored(dep):
    # An erasure is something the public can ask for; recomputing the figure re-keyed the whole round
    # (seconds at a national contest's size, holding the write lock). The figure is the round's
    # statistic as it closed; the erased person leaves the ranking only.
    contest = R.ensure_closed(dep, crafted(dep, ["prediction", "time", "submitted"]), NOW)
    stored = dep.db.execute("select truth, perfect_count, entrant_count, entrants_by_audience, prediction_base, truth_at "
                            "from contest_rounds where id = ?", [contest.rounds[0].id]).fetchone()
    keys = dep.db.execute("select id, rk0, rk1, rk2, rk3 from contest_attempts order by id").fetchall()
    winner = dep.db.execute("select id from contest_participants where full_name = 'Người Một'").fetchone()[0]
    erase_participant(dep, get_contest(dep, contest.slug), winner, None, now=NOW)
    assert dep.db.execute("select truth, perfect_count, entrant_count, entrants_by_audience, prediction_base, truth_at "
                          "from contest_rounds where id = ?", [contest.rounds[0].id]).fetchone() == stored
    assert dep.db.execute("select id, rk0, rk1, rk2, rk3 from contest_attempts order by id").fetchall() == keys
    assert ranked_names(dep, contest)[:3] == ["Người Năm", "Người Hai", "Người Ba"]
    # A manager's disqualification (the review queue) still recomputes the figure: one fewer perfect.
    third = dep.db.execute("select id from contest_participants where full_name = 'Người Ba'").fetchone()[0]
    set_disqualified(dep, get_contest(dep, contest.slug), third, True, "Gian lận", "noivu", now=NOW)
    assert dep.db.execute("select perfect_count from contest_rounds where id = ?",
                          [contest.rounds[0].id]).fetchone()[0] == stored[1] - 2


# -- participation and collective prizes ------------------------------------------------------------

SMALL_PLAN = """
format = 1
[plan]
id = "nho"
title = "Kế hoạch thử"
year = 2024
issuing_unit = "huyen"
starts_on = 2024-01-01
ends_on = 2024-12-31

[[units]]
id = "huyen"
name = "UBND huyện Thử"
kind = "people_committee"

[[units]]
id = "phong-a"
name = "Phòng A"
kind = "department"
parent = "huyen"
headcount = 10

[[units]]
id = "phong-b"
name = "Phòng B"
kind = "department"
parent = "huyen"
headcount = 40

[[units]]
id = "xa-c"
name = "UBND xã C"
kind = "commune"
parent = "huyen"
headcount = 25

[[units]]
id = "xa-c.thon-1"
name = "Thôn 1 xã C"
kind = "other"
parent = "xa-c"

[[unit_groups]]
id = "cac-phong"
name = "Các phòng"
kinds = ["department"]

[[indicators]]
code = "I9"
text = "Số người tham gia cuộc thi tìm hiểu về CCHC"
kind = "count"
target = 5
target_per = "month"
scope = "each"
source = "plugin:contest_participants"
applies_to = ["phong-a", "phong-b", "xa-c"]
period_type = "month"

[[indicators]]
code = "I10"
text = "Tỷ lệ cán bộ tham gia cuộc thi"
kind = "ratio"
target = 50
source = "plugin:contest_participation_rate"
applies_to = ["phong-a", "phong-b"]
period_type = "month"
"""


@pytest.fixture
def small(make_deployment, tmp_path):
    path = tmp_path / "nho.toml"
    path.write_text(SMALL_PLAN, encoding="utf-8")
    return make_deployment(plugins=("contest",), plan_path=path)


def small_contest(dep):
    opens = dt.datetime(2024, 3, 4, 7, 0, tzinfo=UTC)
    closes = dt.datetime(2024, 3, 31, 16, 59, 59, tzinfo=UTC)  # 31/3 23:59:59 Vietnam time
    data = contest_data(rounds=[(opens, closes)], units=["phong-a", "phong-b", "xa-c", "xa-c.thon-1"],
                        organiser=None, eligibility={"who": "everyone"})
    data["audiences"] = [{"key": "cbccvc", "name": "Mọi người"}]
    data["collective_prizes"] = [
        {"name": "Đông nhất", "measure": "count", "count": 1, "among": ["phong-a", "phong-b", "xa-c"]},
        {"name": "Tỷ lệ cao nhất", "measure": "rate", "count": 1, "among": ["cac-phong"]},
    ]
    contest = load_contest(dep, data)
    people = {"phong-a": 6, "phong-b": 8, "xa-c": 3, "xa-c.thon-1": 4}
    n = 0
    for unit, count in people.items():
        for _ in range(count):
            person = add_participant(dep, contest, n, unit_id=unit)
            start = dt.datetime(2024, 3, 31, 16, 30, tzinfo=UTC)  # 31/3 23:30 Vietnam time
            attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
            A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 1.0,
                             now=start + dt.timedelta(minutes=5))
            n += 1
    return get_contest(dep, contest.slug)


def test_participation_per_unit_with_rates_and_collective_prizes(small):
    contest = small_contest(small)
    units = {u.unit_id: u for u in R.participation(small, contest, ["phong-a", "phong-b", "xa-c"])}
    assert units["xa-c"].participants == 7  # the commune and its village
    assert units["phong-a"].rate == 60.0 and units["phong-b"].rate == 20.0 and units["xa-c"].rate == 28.0
    prizes = {p.name: w for p, w in R.collective_winners(small, contest)}
    assert [(w.unit.unit_id, w.figure) for w in prizes["Đông nhất"]] == [("phong-b", 8.0)]
    assert [(w.unit.unit_id, w.figure) for w in prizes["Tỷ lệ cao nhất"]] == [("phong-a", 60.0)]


def test_participation_feeds_the_plan_indicators(small):
    from ccch_core import evaluate_plan

    small_contest(small)
    results = {r.indicator.code: r for r in evaluate_plan(small.db, small.plan, "2024-03", measures=small.measures,
                                                          deployment=small)}
    counts = {u.unit.id: u.value for u in results["I9"].units}
    assert counts == {"phong-a": 6.0, "phong-b": 8.0, "xa-c": 7.0}
    assert results["I9"].value == 21.0
    rate = results["I10"]
    assert {u.unit.id: (u.numerator, u.denominator) for u in rate.units} == {"phong-a": (6.0, 10.0),
                                                                              "phong-b": (8.0, 40.0)}
    assert rate.value == pytest.approx(100 * 14 / 50)
    # Submissions at 23:35 on 31 March (Vietnam) count for March, not April.
    april = {r.indicator.code: r for r in evaluate_plan(small.db, small.plan, "2024-04", measures=small.measures,
                                                        deployment=small)}
    assert april["I9"].value in (None, 0.0)
