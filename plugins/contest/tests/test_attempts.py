"""Attempts: the draw (quotas, no repeats, option order), the attempt limit, the server's clock
(time limit, grace, a round closing at 23:59:59 Vietnam time), concurrent double submissions and
starts, overdue attempts, which attempt counts, predictions."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter

import pytest
from ccch_contest import attempts as A
from ccch_contest import counting
from ccch_contest.bank import load_bank
from ccch_contest.contests import get_contest
from ccch_contest.definition import definition_from_dict
from ccch_contest_testing import (
    Form,
    add_participant,
    answers_for,
    contest_data,
    correct_form,
    load_contest,
)

from ccch_core.periods import VN_TZ

UTC = dt.UTC


def now_utc():
    return dt.datetime.now(UTC)


# -- the draw -------------------------------------------------------------------------------------


def test_draw_respects_quotas_and_never_repeats(dep, contest):
    bank = load_bank(dep, contest.id, contest.bank_version)
    rng = random.Random(7)
    d = contest.definition
    for audience in d.audiences:
        quota = dict(audience.quotas)
        for _ in range(300):
            drawn = A.draw(bank, d, audience, rng)
            ids = [qid for qid, _ in drawn]
            assert len(ids) == d.questions_for(audience)
            assert len(set(ids)) == len(ids), "a question repeats within an attempt"
            counts = Counter(bank.questions[qid].category for qid in ids)
            for category, n in quota.items():
                assert counts[category] == n, (audience.key, category, counts)
            # The rest comes from categories without a quota, and only from the audience's pool.
            assert sum(counts.values()) - sum(quota.values()) == sum(n for c, n in counts.items() if c not in quota)
            assert all(not bank.audiences[qid] or audience.key in bank.audiences[qid] for qid in ids)


def test_citizens_never_draw_civil_servant_questions(dep, contest):
    bank = load_bank(dep, contest.id, contest.bank_version)
    only_cbccvc = {qid for qid in bank.active if bank.audiences[qid] == frozenset({"cbccvc"})}
    assert len(only_cbccvc) == 13
    rng = random.Random(1)
    seen = set()
    for _ in range(300):
        seen.update(qid for qid, _ in A.draw(bank, contest.definition, contest.definition.audience("nhan-dan"), rng))
    assert not seen & only_cbccvc
    assert len(seen) > 60  # the draw reaches across the pool


def test_option_order_is_drawn_and_form_positions_map_back(dep, contest):
    bank = load_bank(dep, contest.id, contest.bank_version)
    orders = Counter()
    for _ in range(200):
        for qid, order in A.draw(bank, contest.definition, contest.definition.audience("cbccvc"), random.Random()):
            assert sorted(order) == [str(i) for i in range(len(bank.questions[qid].options))]
            if bank.questions[qid].type == "true_false":
                assert order == "01"
            else:
                orders[order] += 1
    assert len(orders) > 10  # option orders vary


def test_an_option_order_is_the_shuffle_of_the_option_indexes(dep, contest):
    """The drawn order is the permutation random.shuffle makes of the option indexes, stored as
    their digits: the same generator gives the same draw, and leaves the same state behind (the
    order is shuffled as text, issue #16)."""
    bank = load_bank(dep, contest.id, contest.bank_version)
    definition = contest.definition
    audience = definition.audience("cbccvc")
    assert definition.shuffle_questions and definition.shuffle_options
    plan = A.draw_plan(bank, definition, audience)
    for seed in range(20):
        drawn = A.draw(bank, definition, audience, rng := random.Random(seed))
        reference = random.Random(seed)
        chosen = []
        for pool, count in plan.quotas:
            chosen.extend(reference.sample(pool, count))
        chosen.extend(reference.sample(plan.rest, plan.wanted - len(chosen)))
        reference.shuffle(chosen)
        orders = []
        for qid in chosen:
            indexes = list(range(len(bank.questions[qid].options)))
            if bank.questions[qid].type != "true_false":
                reference.shuffle(indexes)
            orders.append((qid, "".join(map(str, indexes))))
        assert drawn == orders
        assert rng.random() == reference.random()


def test_draw_refuses_when_the_bank_is_short(dep):
    data = contest_data()
    data["audiences"][0]["quotas"] = {"Văn bản": 18}
    contest = load_contest(dep, data, publish=False)
    bank = load_bank(dep, contest.id, contest.bank_version)
    with pytest.raises(A.BankNotReady):
        A.draw(bank, contest.definition, contest.definition.audience("cbccvc"), random.Random())
    from ccch_contest.checks import readiness

    assert any("nhóm “Văn bản” cần 18 câu nhưng ngân hàng chỉ có 17" in c.message for c in readiness(dep, contest))


# -- starting -------------------------------------------------------------------------------------


def test_start_stores_the_draw_and_a_double_tap_resumes(dep, contest):
    person = add_participant(dep, contest, 1)
    first = A.start_attempt(dep, contest, person.id)
    again = A.start_attempt(dep, contest, person.id)
    assert not first.resumed and again.resumed
    assert again.attempt.token == first.attempt.token
    assert len(first.attempt.questions) == 20
    row = dep.db.execute("select count(*), min(status) from contest_attempts").fetchone()
    assert row == (1, "open")


def test_attempt_limit_per_round(dep, contest):
    person = add_participant(dep, contest, 1)
    started = A.start_attempt(dep, contest, person.id)
    A.submit_attempt(dep, contest, started.attempt, {}, 3.0)
    with pytest.raises(A.AttemptLimitReached, match="hết lượt thi"):
        A.start_attempt(dep, contest, person.id)


def test_no_round_open(dep):
    now = now_utc()
    contest = load_contest(dep, contest_data(rounds=[(now + dt.timedelta(days=1), now + dt.timedelta(days=2))]))
    person = add_participant(dep, contest, 1)
    with pytest.raises(A.RoundNotOpen, match="Vòng tiếp theo bắt đầu lúc"):
        A.start_attempt(dep, contest, person.id)


def test_concurrent_starts_open_one_attempt(dep, contest):
    person = add_participant(dep, contest, 1)
    barrier = threading.Barrier(4)
    tokens, errors = [], []

    def run():
        try:
            barrier.wait()
            tokens.append(A.start_attempt(dep, contest, person.id).attempt.token)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            dep.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(tokens)) == 1
    assert dep.db.execute("select count(*) from contest_attempts").fetchone()[0] == 1


# -- submitting -----------------------------------------------------------------------------------


def test_scoring_on_the_server(dep, contest):
    person = add_participant(dep, contest, 1)
    attempt = A.start_attempt(dep, contest, person.id).attempt
    answers = answers_for(dep, contest, attempt, wrong=3)
    result = A.submit_attempt(dep, contest, attempt, answers, 12.0)
    assert result.outcome == "accepted"
    assert (result.attempt.score, result.attempt.total, result.attempt.perfect) == (17, 20, False)
    assert result.attempt.counted and result.attempt.prediction == 12.0


def test_concurrent_double_submission_is_counted_once(dep, contest):
    for n in range(5):
        person = add_participant(dep, contest, n)
        attempt = A.start_attempt(dep, contest, person.id).attempt
        answers = answers_for(dep, contest, attempt, wrong=n)
        barrier = threading.Barrier(3)
        outcomes = []

        def run(barrier=barrier, outcomes=outcomes, attempt=attempt, answers=answers):
            barrier.wait()
            try:
                outcomes.append(A.submit_attempt(dep, contest, attempt, answers, 5.0).outcome)
            finally:
                dep.close()

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["accepted", "already", "already"], outcomes
        rows = dep.db.execute("select status, score, counted from contest_attempts where id = ?", [attempt.id]).fetchall()
        assert rows == [("submitted", 20 - n, 1)]
    assert dep.db.execute("select count(*) from contest_attempts where counted = 1").fetchone()[0] == 5


def test_a_late_submission_is_refused_and_saved_answers_count(dep, contest):
    person = add_participant(dep, contest, 1)
    start = now_utc() - dt.timedelta(minutes=20)
    attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
    assert attempt.deadline_ms - attempt.started_ms == 15 * 60_000
    saved = answers_for(dep, contest, attempt, wrong=10)
    assert A.save_answers(dep, contest, attempt, saved, 7.0, now=start + dt.timedelta(minutes=5))
    # 15 minutes + 30 s grace: still accepted at 15:29 — and the answers sent then count.
    # At 15:31 the submission is late: all-correct answers sent now do not count, the saved ones do.
    late = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 7.0,
                            now=start + dt.timedelta(minutes=15, seconds=31))
    assert late.outcome == "late"
    assert late.attempt.status == "submitted" and late.attempt.finish == "overdue"
    assert late.attempt.score == 10
    assert late.attempt.duration_ms == 15 * 60_000
    assert not A.save_answers(dep, contest, late.attempt, saved, None, now=start + dt.timedelta(minutes=16))


def test_grace_accepts_a_submission_just_after_the_limit(dep, contest):
    person = add_participant(dep, contest, 1)
    start = now_utc() - dt.timedelta(minutes=20)
    attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
    result = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 1.0,
                              now=start + dt.timedelta(minutes=15, seconds=29))
    assert result.outcome == "accepted" and result.attempt.score == 20


def test_discard_policy_drops_overdue_attempts(dep):
    contest = load_contest(dep, contest_data(overdue="discard"))
    person = add_participant(dep, contest, 1)
    start = now_utc() - dt.timedelta(minutes=30)
    attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
    A.save_answers(dep, contest, attempt, answers_for(dep, contest, attempt), 2.0, now=start + dt.timedelta(minutes=1))
    assert A.finish_overdue_attempts(dep, contest) == 1
    row = A.get_attempt_by_id(dep.db, attempt.id)
    assert (row.status, row.counted, row.score) == ("abandoned", False, None)


def test_round_closing_at_235959_vietnam_time(dep):
    """Open until the last second 23:59:59 (Vietnam); a submission at 00:00:00 is late."""
    opens = dt.datetime(2024, 6, 3, 7, 0, tzinfo=VN_TZ)
    closes = dt.datetime(2024, 6, 9, 23, 59, 59, tzinfo=VN_TZ)
    contest = load_contest(dep, contest_data(rounds=[(opens, closes)]))
    a = add_participant(dep, contest, 1)
    b = add_participant(dep, contest, 2)
    start = dt.datetime(2024, 6, 9, 23, 50, tzinfo=VN_TZ)
    first = A.start_attempt(dep, contest, a.id, now=start).attempt
    second = A.start_attempt(dep, contest, b.id, now=start).attempt
    # A 15-minute attempt started at 23:50 ends with the round, and no grace goes past the round.
    assert counting.from_ms(first.deadline_ms) == dt.datetime(2024, 6, 10, 0, 0, tzinfo=VN_TZ)
    assert counting.from_ms(first.accept_until_ms) == dt.datetime(2024, 6, 10, 0, 0, tzinfo=VN_TZ)
    on_time = A.submit_attempt(dep, contest, first, answers_for(dep, contest, first), 1.0,
                               now=dt.datetime(2024, 6, 9, 23, 59, 59, 999000, tzinfo=VN_TZ))
    late = A.submit_attempt(dep, contest, second, answers_for(dep, contest, second), 1.0,
                            now=dt.datetime(2024, 6, 10, 0, 0, 0, tzinfo=VN_TZ))
    assert on_time.outcome == "accepted" and on_time.attempt.score == 20
    assert late.outcome == "late" and late.attempt.score == 0  # nothing was saved before midnight
    with pytest.raises(A.RoundNotOpen):
        A.start_attempt(dep, contest, add_participant(dep, contest, 3).id,
                        now=dt.datetime(2024, 6, 10, 0, 0, 0, tzinfo=VN_TZ))


@pytest.mark.parametrize("rule", ["best", "first"])
def test_which_attempt_counts(dep, rule):
    contest = load_contest(dep, contest_data(attempts_per_round=3, counted_attempt=rule))
    person = add_participant(dep, contest, 1)
    now = now_utc()
    scores = []
    for i, wrong in enumerate([5, 1, 3]):
        attempt = A.start_attempt(dep, contest, person.id, now=now + dt.timedelta(minutes=20 * i)).attempt
        A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt, wrong=wrong), 1.0,
                         now=now + dt.timedelta(minutes=20 * i + 5))
        scores.append(20 - wrong)
    counted = dep.db.execute("select score from contest_attempts where counted = 1").fetchall()
    assert counted == [(19,)] if rule == "best" else [(15,)]
    with pytest.raises(A.AttemptLimitReached, match="3 lượt"):
        A.start_attempt(dep, contest, person.id, now=now + dt.timedelta(minutes=70))


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("count", "125", 125.0), ("count", "1.250", 1250.0), ("count", " 42 ", 42.0), ("count", "", None),
    ("percent", "87,65432", 87.65432), ("percent", "12.5", 12.5), ("percent", "100", 100.0),
])
def test_prediction_parsing(kind, text, expected):
    assert A.parse_prediction(kind, text) == expected


@pytest.mark.parametrize(("kind", "text", "message"), [
    ("count", "12,5", "số nguyên"), ("count", "-3", "số nguyên"), ("count", "99999999999", "lớn nhất"),
    ("percent", "101", "từ 0 đến 100"), ("percent", "1,234567", "5 chữ số"), ("percent", "abc", "tỷ lệ"),
])
def test_bad_predictions(kind, text, message):
    with pytest.raises(A.PredictionError, match=message):
        A.parse_prediction(kind, text)


def test_answers_from_the_form_ignore_values_the_page_never_offered(dep, contest):
    person = add_participant(dep, contest, 1)
    attempt = A.start_attempt(dep, contest, person.id).attempt
    bank = A.bank_for(dep, contest, attempt)
    form = correct_form(dep, contest, attempt)
    form["q1"] = ["9", "b", "-1", ""]
    answers = A.answers_from_form(attempt, bank, Form(form))
    assert "1" not in answers
    single = next(i for i, (qid, _) in enumerate(attempt.questions, 1) if bank.questions[qid].type == "single")
    form[f"q{single}"] = ["1", "2"]
    answers = A.answers_from_form(attempt, bank, Form(form))
    assert len(answers[str(single)]) == 1  # one choice for a single-choice question


def test_a_position_is_one_or_two_ascii_digits_within_the_options(dep, contest):
    """What a form may send as a displayed position: "2", "02" or " 2 " are the second option;
    "0", "100", "2.0", "²", "٢", "-1" and an empty value are nothing the page offered."""
    person = add_participant(dep, contest, 1)
    attempt = A.start_attempt(dep, contest, person.id).attempt
    bank = A.bank_for(dep, contest, attempt)
    qid, order = attempt.questions[0]
    second = bank.questions[qid].options[int(order[1])][0]
    for sent in ("2", "02", " 2 ", ["2", "02"]):
        assert A.answers_from_form(attempt, bank, Form({"q1": sent})).get("1") == [second], sent
    last = str(len(order))
    assert A.answers_from_form(attempt, bank, Form({"q1": last}))["1"] == [bank.questions[qid].options[int(order[-1])][0]]
    for sent in ("0", "00", "100", str(len(order) + 1), "2.0", "\u00b2", "\u0662", "-1", "", " ", "b"):
        assert "1" not in A.answers_from_form(attempt, bank, Form({"q1": sent})), sent


def test_disqualified_participants_cannot_start(dep, contest):
    from ccch_contest.moderation import set_disqualified

    person = add_participant(dep, contest, 1)
    set_disqualified(dep, contest, person.id, True, "Khai thông tin của người khác", "noivu")
    with pytest.raises(A.NotAllowed, match="Khai thông tin của người khác"):
        A.start_attempt(dep, get_contest(dep, contest.slug), person.id)


def test_a_draft_contest_cannot_be_entered(dep):
    contest = load_contest(dep, contest_data(), publish=False)
    person = add_participant(dep, contest, 1)
    with pytest.raises(A.RoundNotOpen, match="chưa mở"):
        A.start_attempt(dep, contest, person.id)


def test_definition_change_of_order_rekeys_attempts(dep, contest):
    from ccch_contest.contests import save_definition

    person = add_participant(dep, contest, 1)
    attempt = A.start_attempt(dep, contest, person.id).attempt
    done = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 40.0).attempt
    before = dep.db.execute("select rk1, rk2, rk3 from contest_attempts where id = ?", [done.id]).fetchone()
    assert before == (40, done.duration_ms, done.submitted_ms)
    data = contest_data(tie_breaks=["time", "submitted", "prediction"])
    save_definition(dep, definition_from_dict(data, dep.plan))
    after = dep.db.execute("select rk1, rk2, rk3 from contest_attempts where id = ?", [done.id]).fetchone()
    assert after == (done.duration_ms, done.submitted_ms, 40)
