"""Which attempts count and in what order: the stored ranking keys, the counted attempt, the
rankings' version counter. Storage-level helpers that attempts, rankings, moderation and personal
data all call inside their own transactions, so they live below all of them.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from .definition import PERCENT_SCALE, ContestDefinition

PREDICTION_MISSING = 2**53
"""Stands for "no prediction" in the ranking keys: farther from any true figure than any prediction."""

TIME_IMPLAUSIBLE = 2**53
"""The time tie-break's key of an attempt flagged as answered faster than a reader could, while
the flag is not cleared (``contest_attempts.implausible``): slower than any real attempt, so its
time wins no tie."""


def ms(instant: dt.datetime) -> int:
    """Whole milliseconds since the epoch."""
    return int(instant.timestamp() * 1000)


def iso_ms(instant: dt.datetime) -> str:
    """UTC ISO text with milliseconds (attempt instants)."""
    return instant.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def from_ms(value: int) -> dt.datetime:
    """The instant of ``value`` milliseconds since the epoch (UTC)."""
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC)


def scaled_prediction(kind: str, prediction: float | None) -> int:
    """The prediction as the integer stored in the ranking keys."""
    if prediction is None:
        return PREDICTION_MISSING
    return round(prediction * PERCENT_SCALE) if kind == "percent" else round(prediction)


def rank_keys(definition: ContestDefinition, score: int, duration_ms: int, submitted_ms: int,
              prediction: float | None, implausible: bool = False) -> tuple[int, int, int, int]:
    """(rk0, rk1, rk2, rk3) of a submitted attempt: −score, then the tie-breaks in order; an
    ``implausible`` attempt's time is :data:`TIME_IMPLAUSIBLE`."""
    values = {"time": TIME_IMPLAUSIBLE if implausible else duration_ms, "submitted": submitted_ms,
              "prediction": scaled_prediction(definition.prediction, prediction)}
    keys = [values[name] for name in definition.tie_breaks]
    keys += [0] * (3 - len(keys))
    return (-score, keys[0], keys[1], keys[2])


def prediction_base(definition: ContestDefinition, truth: float | None) -> int | None:
    """What a round's stored prediction keys are distances from: the round's true figure as the
    integer the keys use, when the prediction is among the tie-breaks and the round has a figure;
    None while the keys hold the predictions themselves (see :func:`rebase_predictions`)."""
    if "prediction" not in definition.tie_breaks or truth is None:
        return None
    return scaled_prediction(definition.prediction, truth)


REBUILD_RANK_INDEXES_AT = 10_000
"""From how many submitted attempts in a round :func:`rebase_predictions` drops the ranking
indexes, rewrites the keys and builds the indexes again (when the round is also at least a quarter
of the indexed attempts): SQLite builds an index of a million attempts by sorting in a few seconds,
while moving a million entries one by one took 18–36 s; at 10,000 both take 0.06 s, at 40,000
moving took 0.44–0.60 s and rebuilding 0.24–0.25 s (docs/performance.md)."""


def rebase_predictions(db, definition: ContestDefinition, round_id: int, truth: float | None) -> int:
    """Make the round's stored prediction keys distances from its true figure ``truth`` (inside the
    caller's transaction, in the same one that stores the figure), or the predictions themselves
    again when ``truth`` is None. Returns how many attempts were re-keyed (0: already so).

    Why: the final order is score, then the distance of the prediction from the true figure, known
    only once the round has closed. With the distance stored in the prediction's key column (every
    submitted attempt of the round, counted or not, disqualified or not, so that a later change of
    who counts needs nothing more), the ranking indexes list the round in its final order and a
    ranking is one index scan. ``contest_rounds.prediction_base`` records which figure the keys are
    distances from; every writer of ranking keys keeps it true (the round's figure, a changed
    closing time, re-keying after a new tie-break order). Nothing is submitted into a round once
    its figure is stored (:mod:`ccch_contest.attempts` refuses it), so the keys stay right."""
    base = prediction_base(definition, truth)
    current = db.execute("select prediction_base from contest_rounds where id = ?", [round_id]).fetchone()[0]
    if base == current:
        return 0
    if "prediction" not in definition.tie_breaks:  # re-keying wrote plain keys already
        db.execute("update contest_rounds set prediction_base = null where id = ?", [round_id])
        return 0
    column = f"rk{definition.tie_breaks.index('prediction') + 1}"
    if current is None:  # the keys are the scaled predictions: exact integer arithmetic
        value, params = f"abs({column} - ?)", [base]
    else:  # distances from another figure: from the predictions again, as rank_keys scales them
        kind = definition.prediction
        db.conn.create_function("ccch_prediction_key", 1, lambda p: scaled_prediction(kind, p), deterministic=True)
        value, params = ("ccch_prediction_key(prediction)" if base is None
                         else "abs(ccch_prediction_key(prediction) - ?)"), ([] if base is None else [base])
    update = f"update contest_attempts set {column} = {value} where round_id = ? and status = 'submitted'"
    count = db.execute("select count(*) from contest_attempts where round_id = ? and status = 'submitted'",
                       [round_id]).fetchone()[0]
    rebuilt: list[str] = []
    stats: list[tuple] = []
    if count >= REBUILD_RANK_INDEXES_AT:
        indexed = db.execute("select count(*) from contest_attempts where counted = 1 and disqualified = 0").fetchone()[0]
        if 4 * count >= indexed:
            analyzed = db.execute("select 1 from sqlite_master where name = 'sqlite_stat1'").fetchone()
            try:
                for name, sql in db.execute("select name, sql from sqlite_master where type = 'index' and "
                                            "tbl_name = 'contest_attempts' and sql is not null").fetchall():
                    if column in {row[2] for row in db.execute(f"pragma index_info('{name}')")}:
                        # Dropping an index drops its statistics, and the planner needs them.
                        kept = db.execute("select tbl, idx, stat from sqlite_stat1 where idx = ?",
                                          [name]).fetchall() if analyzed else []
                        db.execute(f"drop index {name}")
                        rebuilt.append(sql)
                        stats += kept
            except sqlite3.OperationalError:
                # "database table is locked": a statement of this connection still reads the table
                # (a ranking stream not read to its end), and no index can be dropped under it.
                # The entries are moved in place instead: slower, the same result.
                _build_indexes(db, rebuilt, stats)
                rebuilt, stats = [], []
    db.execute(update, [*params, round_id])
    _build_indexes(db, rebuilt, stats)
    db.execute("update contest_rounds set prediction_base = ? where id = ?", [base, round_id])
    return count


def _build_indexes(db, sqls: list[str], stats: list[tuple]) -> None:
    """Create the indexes ``sqls`` again with their statistics (``sqlite_stat1`` rows)."""
    for sql in sqls:
        db.execute(sql)
    if stats:
        # The same shape as before (only the prediction's values changed): kept rather than
        # measured again, and loaded for this connection as other connections load them.
        db.conn.executemany("insert into sqlite_stat1 (tbl, idx, stat) values (?, ?, ?)", stats)
        db.execute("analyze sqlite_schema")


def rekey_attempts(db, contest_id: int, definition: ContestDefinition) -> None:
    """Recompute the ranking keys (and which attempt counts) of every submitted attempt after the
    tie-break order or the counted attempt changed (inside the caller's transaction); the rounds
    with a true figure get their prediction keys as distances from it again."""
    rows = db.execute("select id, score, duration_ms, submitted_ms, prediction, implausible from contest_attempts "
                      "where contest_id = ? and status = 'submitted'", [contest_id]).fetchall()
    db.conn.executemany("update contest_attempts set rk0 = ?, rk1 = ?, rk2 = ?, rk3 = ? where id = ?",
                        [(*rank_keys(definition, s, d, sub, p, bool(x)), i) for i, s, d, sub, p, x in rows])
    db.execute("update contest_rounds set prediction_base = null where contest_id = ?", [contest_id])
    for round_id, truth in db.execute("select id, truth from contest_rounds where contest_id = ? and truth_at is not "
                                      "null", [contest_id]).fetchall():
        rebase_predictions(db, definition, round_id, truth)
    pairs = db.execute("select distinct participant_id, round_id from contest_attempts where contest_id = ?",
                       [contest_id]).fetchall()
    for participant_id, round_id in pairs:
        refresh_counted(db, definition, participant_id, round_id)


def _best_order(db, definition: ContestDefinition, round_id: int):
    """The sort key, over rows (id, rk0, rk1, rk2, rk3), of the round's ranking order: score, then
    the tie-breaks in the contest's order, then the attempt's id. The prediction is compared by its
    distance from the round's true figure once the round's figures are computed, and left out
    before — exactly as :func:`ccch_contest.ranking.ranked_keys` orders the round."""
    pos = definition.tie_breaks.index("prediction") + 1 if "prediction" in definition.tie_breaks else None
    if pos is None:
        return lambda r: (r[1], r[2], r[3], r[4], r[0])
    truth, truth_at, base = db.execute("select truth, truth_at, prediction_base from contest_rounds where id = ?",
                                       [round_id]).fetchone()
    if truth is None or truth_at is None:  # provisional: the prediction is left out
        return lambda r: (r[1], *(r[i] for i in (2, 3, 4) if i != pos + 1), r[0])
    if base is not None:  # the keys are the distances already (rebase_predictions)
        return lambda r: (r[1], r[2], r[3], r[4], r[0])
    target = scaled_prediction(definition.prediction, truth)
    return lambda r: (r[1], *(abs(r[i] - target) if i == pos + 1 else r[i] for i in (2, 3, 4)), r[0])


def refresh_counted(db, definition: ContestDefinition, participant_id: int, round_id: int) -> None:
    """Mark which of a participant's attempts in a round counts (inside the caller's transaction):
    ``first`` — the first submitted one; ``best`` — the one the round's ranking would place
    highest: the highest score, then the contest's tie-breaks in their configured order (the
    prediction by its distance from the true figure once the round's figures are computed —
    :func:`recount_round` chooses again then), then the earlier attempt. Disqualified attempts
    never count."""
    rows = db.execute("select id, rk0, rk1, rk2, rk3, submitted_ms from contest_attempts where participant_id = ? "
                      "and round_id = ? and status = 'submitted' and disqualified = 0", [participant_id, round_id]).fetchall()
    if definition.counted_attempt == "first":
        key = lambda r: (r[5], r[0])
    elif len(rows) > 1:
        key = _best_order(db, definition, round_id)
    else:
        key = None
    chosen = min(rows, key=key)[0] if rows else None
    db.execute("update contest_attempts set counted = case when id = ? then 1 else 0 end where participant_id = ? "
               "and round_id = ? and counted != case when id = ? then 1 else 0 end",
               [chosen, participant_id, round_id, chosen])


def recount_round(db, definition: ContestDefinition, round_id: int) -> int:
    """Choose again which attempt counts for everyone with several in the round (inside the
    caller's transaction), after the round's true figure was stored or changed: with ``best`` and
    the prediction among the tie-breaks, the choice between attempts of equal score depends on it.
    The figure itself does not depend on that choice — it counts counted attempts by score alone,
    and every candidate has the best score. Returns how many participants were looked at."""
    if definition.counted_attempt != "best" or definition.attempts_per_round < 2 \
            or "prediction" not in definition.tie_breaks:
        return 0
    people = [r[0] for r in db.execute(
        "select participant_id from contest_attempts where round_id = ? and status = 'submitted' and disqualified = 0 "
        "group by participant_id having count(*) > 1", [round_id])]
    for participant_id in people:
        refresh_counted(db, definition, participant_id, round_id)
    return len(people)


def invalidate_rankings(db, contest_id: int) -> None:
    """Cached leaderboards of the contest are stale (inside the caller's transaction)."""
    db.execute("update contest_contests set ranking_version = ranking_version + 1 where id = ?", [contest_id])


def set_implausible(db, definition: ContestDefinition, attempt_id: int, implausible: bool) -> None:
    """Mark (or unmark) a submitted attempt as answered faster than a reader could (inside the
    caller's transaction): its time tie-break key becomes :data:`TIME_IMPLAUSIBLE` (or its time
    taken again), and the participant's counted attempt is chosen again. The caller invalidates
    the cached rankings."""
    row = db.execute("select participant_id, round_id, duration_ms, status from contest_attempts where id = ?",
                     [attempt_id]).fetchone()
    if row is None:
        return
    participant_id, round_id, duration_ms, status = row
    db.execute("update contest_attempts set implausible = ? where id = ?", [int(implausible), attempt_id])
    if status != "submitted":
        return
    if "time" in definition.tie_breaks:
        column = f"rk{definition.tie_breaks.index('time') + 1}"
        db.execute(f"update contest_attempts set {column} = ? where id = ?",
                   [TIME_IMPLAUSIBLE if implausible else duration_ms, attempt_id])
    refresh_counted(db, definition, participant_id, round_id)


def under_review(db, contest_id: int) -> tuple[set[int], set[int], set[int]]:
    """What prize lists hold back: flags of detection (``contest_flags``) nobody has reviewed yet.
    Returns (participants flagged on their registration, attempts flagged, every participant with
    any such flag)."""
    registrations: set[int] = set()
    attempts: set[int] = set()
    everyone: set[int] = set()
    for participant_id, attempt_id in db.execute(
            "select participant_id, attempt_id from contest_flags where contest_id = ? and status = 'open'",
            [contest_id]):
        everyone.add(participant_id)
        if attempt_id is None:
            registrations.add(participant_id)
        else:
            attempts.add(attempt_id)
    return registrations, attempts, everyone
