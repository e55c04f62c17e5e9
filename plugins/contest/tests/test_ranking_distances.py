"""The final order from stored distances (issue #16: a million attempts ranked under a second).

When a round's true figure is stored, its prediction keys become each prediction's distance from
the figure (``counting.rebase_predictions``) and the final ranking is one index scan. Checked here
against a brute-force sort in Python on random rounds: predictions on both sides of the figure
and at equal distances, no prediction, attempts flagged as too fast, disqualified attempts and
people, several attempts a person with the best counted, two audiences, count and percent figures;
then every change that moves the figure or the keys: a disqualification, reinstating, a new
closing time, a new tie-break order, the migration of a round closed before, the big-round path
that rebuilds the indexes, an overdue attempt finished after the figure, a round read before
its figure changed."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from ccch_contest import attempts as A
from ccch_contest import counting
from ccch_contest import ranking as R
from ccch_contest.contests import get_contest, save_definition
from ccch_contest.definition import PERCENT_SCALE, definition_from_dict
from ccch_contest.moderation import set_disqualified
from ccch_contest.schema import migrations
from ccch_contest_testing import add_participant, contest_data, load_contest

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)
OPENS = NOW - dt.timedelta(days=10)
CLOSES = NOW - dt.timedelta(days=1)
BASE_MS = int(OPENS.timestamp() * 1000)
ORDERS = [["prediction", "time", "submitted"], ["time", "prediction", "submitted"],
          ["submitted", "time", "prediction"], ["prediction"]]


def scaled(kind, value):
    """The prediction as an integer, written out again here (not the plugin's function)."""
    if value is None:
        return 2**53
    return round(value * PERCENT_SCALE) if kind == "percent" else round(value)


def expected_truth(kind, rows):
    counted = best_attempts(rows, None, kind)
    perfect = sum(1 for r in counted if r["score"] == 20)
    if kind == "percent":
        return round(perfect * 100 * PERCENT_SCALE / len(counted)) / PERCENT_SCALE if counted else 0.0
    return float(perfect)


def order_key(order, kind, target):
    """Score, then the tie-breaks (the prediction by its distance from ``target``, or left out
    while ``target`` is None; a flagged time is the worst), then the attempt."""
    def key(r):
        values = []
        for name in order:
            if name == "time":
                values.append(counting.TIME_IMPLAUSIBLE if r["implausible"] else r["duration_ms"])
            elif name == "submitted":
                values.append(r["submitted_ms"])
            elif target is not None:
                values.append(abs(scaled(kind, r["prediction"]) - target))
        return (-r["score"], *values, r["id"])
    return key


def best_attempts(rows, key, kind):
    """Each person's counted attempt: the best by ``key`` (None: the highest score, enough for the
    figure) among the attempts not disqualified."""
    people: dict[int, list] = {}
    for r in rows:
        if not r["disqualified"] and not r["person_out"]:
            people.setdefault(r["participant_id"], []).append(r)
    key = key or (lambda r: (-r["score"], r["id"]))
    return [min(attempts, key=key) for attempts in people.values()]


def brute_force(rows, order, kind, audience=None):
    """The final ranking (attempt ids) by sorting everything in Python."""
    target = scaled(kind, expected_truth(kind, rows)) if "prediction" in order else None
    key = order_key(order, kind, target)
    ranked = [r for r in best_attempts(rows, key, kind) if audience in (None, r["audience"])]
    return [r["id"] for r in sorted(ranked, key=key)]


def random_round(dep, rng, *, kind="count", order=None, people=90, attempts_per_round=2):
    """A closed round of random attempts written straight into the tables (keys and the counted
    attempt by the plugin's storage helpers); returns (contest, rows)."""
    order = order or ORDERS[0]
    data = contest_data(rounds=[(OPENS, CLOSES)], tie_breaks=order, attempts_per_round=attempts_per_round,
                        counted_attempt="best", prediction={"kind": kind})
    contest = load_contest(dep, data)
    definition = contest.definition
    round_id = contest.rounds[0].id
    persons = [add_participant(dep, contest, n, audience=rng.choice(["cbccvc", "nhan-dan"]), unit_id="xa-yen-ho")
               for n in range(people)]
    # (score, disqualified) of each attempt; the figure they give, to place predictions around it.
    sheets = {p.id: [(rng.choice([20, 20, 19, 18]), int(rng.random() < 0.05))
                     for _ in range(rng.choice([1, attempts_per_round]))] for p in persons}
    perfect = sum(1 for s in sheets.values() if (20, 0) in s)
    entrants = sum(1 for s in sheets.values() if any(not dq for _, dq in s))
    if kind == "percent":
        guess = round(perfect * 100 * PERCENT_SCALE / entrants) / PERCENT_SCALE
        step = 1 / PERCENT_SCALE
    else:
        guess, step = perfect, 1
    rows = []
    db = dep.db
    for person in persons:
        for attempt_no, (score, disqualified) in enumerate(sheets[person.id], start=1):
            prediction = rng.choice([None, 0.0, 400.0, *(round(guess + d * step, 5) for d in (-3, -1, 0, 0, 1, 3))])
            if kind == "count" and prediction is not None:
                prediction = float(round(prediction))
            r = {"participant_id": person.id, "audience": person.audience, "score": score,
                 "duration_ms": rng.choice([60_000, 61_000, 120_000]),
                 "submitted_ms": BASE_MS + rng.choice([1_000, 2_000, 3_000]) * 1000 + attempt_no,
                 "prediction": prediction, "implausible": int(rng.random() < 0.1),
                 "disqualified": disqualified, "person_out": False}
            keys = counting.rank_keys(definition, score, r["duration_ms"], r["submitted_ms"], prediction,
                                      bool(r["implausible"]))
            r["id"] = db.execute(
                "insert into contest_attempts (token, contest_id, round_id, participant_id, audience, unit_id, "
                "attempt_no, status, started_at, started_ms, deadline_ms, accept_until_ms, questions, submitted_at, "
                "submitted_ms, duration_ms, finish, score, total, perfect, prediction, implausible, disqualified, "
                "disqualified_reason, rk0, rk1, rk2, rk3) values (?, ?, ?, ?, ?, 'xa-yen-ho', ?, 'submitted', 'x', 0, 0, "
                "0, '[]', ?, ?, ?, 'participant', ?, 20, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [f"t{person.id}-{attempt_no}", contest.id, round_id, person.id, person.audience, attempt_no,
                 counting.iso_ms(counting.from_ms(r["submitted_ms"])), r["submitted_ms"], r["duration_ms"], score,
                 int(score == 20), prediction, r["implausible"], disqualified, "Lỗi ghi nhận" if disqualified else None,
                 *keys]).lastrowid
            rows.append(r)
        counting.refresh_counted(db, definition, person.id, round_id)
    db.conn.commit()
    return get_contest(dep, contest.slug), rows


def assert_ranks_as_brute_force(dep, contest, rows, *, check_every_rank=False):
    contest = get_contest(dep, contest.slug)
    round_state = contest.rounds[0]
    d = contest.definition
    assert round_state.truth == expected_truth(d.prediction, rows)
    # The keys are distances from the figure: the order is the index's own (no slower way round).
    base = dep.db.execute("select prediction_base from contest_rounds where id = ?", [round_state.id]).fetchone()[0]
    assert base == (scaled(d.prediction, round_state.truth) if "prediction" in d.tie_breaks else None)
    for audience in (None, "cbccvc", "nhan-dan"):
        expected = brute_force(rows, list(d.tie_breaks), d.prediction, audience)
        got = [k[0] for k in R.ranked_keys(dep.db, contest, round_state, audience)]
        assert got == expected, audience
        assert [e.attempt_id for e in R.entries(dep.db, contest, round_state, audience)] == expected
        positions = range(1, len(expected) + 1) if check_every_rank else (1, 2, len(expected) // 2, len(expected))
        for position in positions:
            assert R.rank_of(dep.db, contest, round_state, expected[position - 1], audience) == position
    counted = {r[0] for r in dep.db.execute("select id from contest_attempts where round_id = ? and counted = 1 and "
                                            "disqualified = 0", [round_state.id])}
    assert counted == set(brute_force(rows, list(d.tie_breaks), d.prediction))
    return round_state


def close(dep, contest):
    return R.close_round(dep, contest, contest.rounds[0], now=NOW, force=True)


@pytest.mark.parametrize(("seed", "kind", "order"), [
    (1, "count", ORDERS[0]), (2, "count", ORDERS[1]), (3, "count", ORDERS[2]), (4, "count", ORDERS[3]),
    (5, "percent", ORDERS[0]), (6, "percent", ORDERS[1]),
])
def test_random_rounds_rank_as_a_plain_sort(dep, seed, kind, order):
    rng = random.Random(seed)
    contest, rows = random_round(dep, rng, kind=kind, order=order)
    round_state = close(dep, contest)
    stored = dep.db.execute("select prediction_base from contest_rounds where id = ?", [round_state.id]).fetchone()[0]
    assert stored == scaled(kind, round_state.truth)
    # Both sides of the figure and equal distances are present, so the test means something.
    target = stored
    predictions = [scaled(kind, r["prediction"]) for r in rows if r["prediction"] is not None]
    assert any(p < target for p in predictions) and any(p > target for p in predictions)
    assert any(2 * target - p in predictions for p in predictions if p != target)
    assert_ranks_as_brute_force(dep, contest, rows, check_every_rank=seed == 1)


def test_disqualifying_and_reinstating_move_the_figure_and_the_order(dep):
    rng = random.Random(11)
    contest, rows = random_round(dep, rng, kind="percent")
    close(dep, contest)
    assert_ranks_as_brute_force(dep, contest, rows)
    before = get_contest(dep, contest.slug).rounds[0].truth
    # A perfect person leaves: the figure changes (percent: so does every entrant count).
    leaving = next(r["participant_id"] for r in rows if r["score"] == 20 and not r["disqualified"])
    set_disqualified(dep, get_contest(dep, contest.slug), leaving, True, "Thi hộ", "noivu", now=NOW)
    for r in rows:
        r["person_out"] = r["participant_id"] == leaving
    assert get_contest(dep, contest.slug).rounds[0].truth != before
    assert_ranks_as_brute_force(dep, contest, rows)
    set_disqualified(dep, get_contest(dep, contest.slug), leaving, False, "", "noivu", now=NOW)
    for r in rows:
        r["person_out"] = False
    assert get_contest(dep, contest.slug).rounds[0].truth == before
    assert_ranks_as_brute_force(dep, contest, rows)


def test_a_round_read_before_its_figure_changed_still_ranks_by_its_figure(dep):
    rng = random.Random(12)
    contest, rows = random_round(dep, rng)
    stale = close(dep, contest)
    leaving = next(r["participant_id"] for r in rows if r["score"] == 20 and not r["disqualified"])
    set_disqualified(dep, get_contest(dep, contest.slug), leaving, True, "Thi hộ", "noivu", now=NOW)
    # The keys are now distances from the new figure; the old round state carries the old one.
    fresh = get_contest(dep, contest.slug)
    assert fresh.rounds[0].truth == stale.truth - 1
    d = fresh.definition
    target = scaled(d.prediction, stale.truth)
    key = order_key(list(d.tie_breaks), d.prediction, target)
    counted = {r[0] for r in dep.db.execute("select id from contest_attempts where counted = 1 and disqualified = 0")}
    expected = [r["id"] for r in sorted((r for r in rows if r["id"] in counted), key=key)]
    assert [k[0] for k in R.ranked_keys(dep.db, fresh, stale)] == expected
    for position in (1, len(expected) // 2, len(expected)):
        assert R.rank_of(dep.db, fresh, stale, expected[position - 1]) == position


def test_a_new_closing_time_gives_the_predictions_back(dep):
    rng = random.Random(13)
    contest, rows = random_round(dep, rng)
    close(dep, contest)
    # The round is moved (it closes again later): its figure is dropped and the keys are the
    # predictions themselves again, as the provisional order and a later figure expect.
    data = contest_data(rounds=[(OPENS, NOW + dt.timedelta(days=2))], tie_breaks=ORDERS[0], attempts_per_round=2,
                        counted_attempt="best", prediction={"kind": "count"})
    save_definition(dep, definition_from_dict(data, dep.plan))
    base, truth_at = dep.db.execute("select prediction_base, truth_at from contest_rounds").fetchone()
    assert base is None and truth_at is None
    for attempt_id, rk1 in dep.db.execute("select id, rk1 from contest_attempts"):
        assert rk1 == scaled("count", next(r["prediction"] for r in rows if r["id"] == attempt_id))
    # And it closes again where it was.
    data["rounds"][0]["closes"] = contest_data(rounds=[(OPENS, CLOSES)])["rounds"][0]["closes"]
    save_definition(dep, definition_from_dict(data, dep.plan))
    close(dep, get_contest(dep, contest.slug))
    assert_ranks_as_brute_force(dep, contest, rows)


def test_a_new_tie_break_order_after_the_figure_keys_distances_again(dep):
    rng = random.Random(14)
    contest, rows = random_round(dep, rng)
    close(dep, contest)
    for order in (ORDERS[2], ["time", "submitted"], ORDERS[0]):
        data = contest_data(rounds=[(OPENS, CLOSES)], tie_breaks=order, attempts_per_round=2,
                            counted_attempt="best", prediction={"kind": "count"})
        save_definition(dep, definition_from_dict(data, dep.plan))  # re-keys every attempt
        assert_ranks_as_brute_force(dep, contest, rows)


def test_big_rounds_rebuild_the_indexes_with_the_same_order(dep, monkeypatch):
    monkeypatch.setattr(counting, "REBUILD_RANK_INDEXES_AT", 1)
    indexes = dep.db.execute("select name, sql from sqlite_master where type = 'index' and "
                             "tbl_name = 'contest_attempts' order by name").fetchall()
    rng = random.Random(15)
    contest, rows = random_round(dep, rng)
    dep.db.execute("analyze")
    dep.db.conn.commit()
    stats = dep.db.execute("select idx, stat from sqlite_stat1 where idx like 'contest_attempts_rank%' order by idx").fetchall()
    assert len(stats) == 2
    statements: list[str] = []
    dep.db.conn.set_trace_callback(statements.append)
    close(dep, contest)
    dep.db.conn.set_trace_callback(None)
    assert {"drop index contest_attempts_rank", "drop index contest_attempts_rank_audience"} <= set(statements)
    # The planner keeps the indexes' statistics (without them it counted a round's perfect
    # attempts through the wrong index: 2.2 s instead of 0.02 s for a million).
    assert dep.db.execute("select idx, stat from sqlite_stat1 where idx like 'contest_attempts_rank%' "
                          "order by idx").fetchall() == stats
    assert_ranks_as_brute_force(dep, contest, rows)
    assert dep.db.execute("select name, sql from sqlite_master where type = 'index' and "
                          "tbl_name = 'contest_attempts' order by name").fetchall() == indexes
    plan = " ".join(r[-1] for r in dep.db.execute(
        "explain query plan select id from contest_attempts indexed by contest_attempts_rank where round_id = 1 and "
        "counted = 1 and disqualified = 0 order by rk0, rk1, rk2, rk3, id"))
    assert "contest_attempts_rank" in plan and "TEMP B-TREE" not in plan


def test_an_unfinished_ranking_stream_keeps_its_indexes_and_the_keys_move_in_place(dep, monkeypatch):
    """An index cannot be dropped while a statement of the same connection reads the table (a
    ranking stream not read to its end): the re-keying moves the entries in place instead."""
    monkeypatch.setattr(counting, "REBUILD_RANK_INDEXES_AT", 1)
    rng = random.Random(18)
    contest, rows = random_round(dep, rng)
    dep.db.execute("analyze")
    dep.db.conn.commit()
    indexes = dep.db.execute("select name, sql from sqlite_master where type = 'index' order by name").fetchall()
    stats = dep.db.execute("select idx, stat from sqlite_stat1 order by idx, stat").fetchall()
    reading = dep.db.conn.execute("select id from contest_attempts indexed by contest_attempts_rank where round_id = ? "
                                  "and counted = 1 and disqualified = 0 order by rk0", [contest.rounds[0].id])
    reading.fetchone()
    close(dep, contest)
    assert dep.db.execute("select name, sql from sqlite_master where type = 'index' order by name").fetchall() == indexes
    assert dep.db.execute("select idx, stat from sqlite_stat1 order by idx, stat").fetchall() == stats
    reading.close()
    assert_ranks_as_brute_force(dep, contest, rows)


def test_the_migration_converts_a_round_closed_before_it(dep):
    rng = random.Random(16)
    contest, rows = random_round(dep, rng)
    close(dep, contest)
    # As a database written before the migration: the figure stored, the keys the predictions.
    db = dep.db
    for r in rows:
        db.execute("update contest_attempts set rk1 = ? where id = ?", [scaled("count", r["prediction"]), r["id"]])
    db.execute("alter table contest_rounds drop column prediction_base")
    db.execute("delete from _sqlite_migrations where migration_set = 'contest' and name = 'm008_prediction_distances'")
    db.conn.commit()
    migrations.apply(db)
    truth = get_contest(dep, contest.slug).rounds[0].truth
    assert db.execute("select prediction_base from contest_rounds").fetchone()[0] == round(truth)
    assert_ranks_as_brute_force(dep, contest, rows)


def test_an_attempt_overdue_after_the_figure_is_dropped_not_ranked(dep):
    rng = random.Random(17)
    contest, rows = random_round(dep, rng, people=30)
    close(dep, contest)
    person = add_participant(dep, contest, 200, unit_id="xa-yen-ho")
    # Opened just before the round closed (its start got the lock as the figure was computed).
    late = dep.db.execute(
        "insert into contest_attempts (token, contest_id, round_id, participant_id, audience, unit_id, attempt_no, "
        "status, started_at, started_ms, deadline_ms, accept_until_ms, questions, prediction) values "
        "('late', ?, ?, ?, ?, 'xa-yen-ho', 1, 'open', 'x', ?, ?, ?, '[]', 7.0)",
        [contest.id, contest.rounds[0].id, person.id, person.audience, BASE_MS, BASE_MS + 60_000,
         BASE_MS + 60_000]).lastrowid
    dep.db.conn.commit()
    assert A.finish_overdue_attempts(dep, contest, contest.rounds[0].id, now=NOW) == 1
    assert dep.db.execute("select status, finish from contest_attempts where id = ?", [late]).fetchone() == (
        "abandoned", "overdue")
    assert_ranks_as_brute_force(dep, contest, rows)
