"""Rankings, the prediction's true figure, leaderboards, prize lists and participation per unit.

**Order.** Score first, then the contest's tie-breaks in their configured order (``prediction``:
the distance of the prediction from the true figure, smaller first, no prediction last; ``time``:
time taken, shorter first; ``submitted``: the earlier submission first), and the attempt's id
last, so no two entries share a rank. Only the counted attempt of each participant (``best`` or
``first``) that is not disqualified is ranked.

**Speed.** Submitted attempts store their ranking keys (``rk0`` = −score, ``rk1``…``rk3`` = the
tie-break values in order) and a partial index lists a round's counted attempts in that order,
so a ranking is an index scan. The prediction's distance depends on the true figure, known only
when the round has closed: storing the figure rewrites the round's prediction keys as distances
from it (``counting.rebase_predictions``, a few seconds for a million attempts, once), so the
final order is one plain index scan too — a million attempts in about half a second, reading
only the ids (docs/performance.md). Before the figure, the order leaves the prediction out.

**Truth.** The prediction's true figure is computed when a round has closed (on first need, or
``ccch contest close-round``): the number of counted, not disqualified attempts that answered every
question correctly (``count``), or that number as a percentage of the round's entrants with five
decimals (``percent``). Disqualifying or reinstating someone recomputes it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import attrs

from ccch_core.periods import utc_now
from ccch_core.storage import utc_now_iso
from ccch_core.text import sort_key

from .attempts import finish_overdue_attempts
from .contests import Contest, RoundState, get_contest
from .counting import (
    from_ms,
    invalidate_rankings,
    ms,
    prediction_base,
    rebase_predictions,
    recount_round,
    scaled_prediction,
    under_review,
)
from .definition import PERCENT_SCALE, Prize
from .locking import serialized
from .settings import settings_of
from .sql import query

# -- the true figure ------------------------------------------------------------------------------


def compute_truth(db, contest: Contest, round_id: int) -> tuple[float | None, int, int]:
    """(true figure, perfect attempts, entrants) of a round from its counted attempts."""
    perfect = db.execute("select count(*) from contest_attempts where round_id = ? and counted = 1 and "
                         "disqualified = 0 and perfect = 1", [round_id]).fetchone()[0]
    entrants = db.execute("select count(*) from contest_attempts where round_id = ? and counted = 1 and "
                          "disqualified = 0", [round_id]).fetchone()[0]
    kind = contest.definition.prediction
    if kind == "none":
        return None, perfect, entrants
    if kind == "percent":
        truth = round(perfect * 100 * PERCENT_SCALE / entrants) / PERCENT_SCALE if entrants else 0.0
        return truth, perfect, entrants
    return float(perfect), perfect, entrants


def close_round(deployment, contest: Contest, round_state: RoundState, *, now: dt.datetime | None = None,
                force: bool = False) -> RoundState:
    """Finish the round's overdue attempts and store its true figure (once the round has closed).
    Idempotent; ``force`` recomputes a stored figure."""
    now = now or utc_now()
    if round_state.state(now) != "closed":
        return round_state
    if round_state.truth_at and not force:
        return round_state
    finish_overdue_attempts(deployment, contest, round_state.id, now=now)
    db = deployment.db
    with serialized(deployment):
        truth, perfect, entrants = compute_truth(db, contest, round_state.id)
        by_audience = json.dumps(dict(db.execute(
            "select audience, count(*) from contest_attempts indexed by contest_attempts_rank_audience "
            "where round_id = ? and counted = 1 and disqualified = 0 group by audience", [round_state.id]).fetchall()),
            sort_keys=True)
        row = db.execute("select truth, perfect_count, entrant_count, truth_at, entrants_by_audience, prediction_base "
                         "from contest_rounds where id = ?", [round_state.id]).fetchone()
        base = prediction_base(contest.definition, truth)
        if row[3] is None or (row[0], row[1], row[2], row[4], row[5]) != (truth, perfect, entrants, by_audience, base):
            db.execute("update contest_rounds set truth = ?, perfect_count = ?, entrant_count = ?, truth_at = ?, "
                       "entrants_by_audience = ? where id = ?",
                       [truth, perfect, entrants, utc_now_iso(now), by_audience, round_state.id])
            # The final order is an index scan once the prediction keys are distances from the figure.
            rebase_predictions(db, contest.definition, round_state.id, truth)
            # With "best" counted, the prediction's distance may decide between someone's attempts.
            recount_round(db, contest.definition, round_state.id)
            invalidate_rankings(db, contest.id)
    fresh = get_contest(deployment, contest.slug)
    return fresh.round_by_id(round_state.id)


def ensure_closed(deployment, contest: Contest, now: dt.datetime | None = None) -> Contest:
    """Compute the true figure of every closed round that has none yet; returns the fresh contest."""
    now = now or utc_now()
    changed = False
    for round_state in contest.rounds:
        if round_state.state(now) == "closed" and not round_state.truth_at:
            close_round(deployment, contest, round_state, now=now)
            changed = True
    return get_contest(deployment, contest.slug) if changed else contest


def refresh_truths(deployment, slug: str, now: dt.datetime | None = None) -> None:
    """Recompute the stored true figures of closed rounds (after a disqualification)."""
    contest = get_contest(deployment, slug)
    now = now or utc_now()
    for round_state in contest.rounds:
        if round_state.state(now) == "closed":
            close_round(deployment, contest, round_state, now=now, force=True)
            contest = get_contest(deployment, slug)


# -- the ranking stream ---------------------------------------------------------------------------


class RankKey(NamedTuple):
    """The stored keys of a ranked attempt. The ranking streams yield plain tuples whose first
    value is the attempt id (only the id, where the order comes from the index): a million named
    tuples cost a tenth of a second more, every key handed over from SQLite about 0.1 s a million,
    and only the id is needed downstream."""

    attempt_id: int
    rk0: int
    rk1: int
    rk2: int
    rk3: int


def _where(audience: str | None) -> tuple[str, list[Any]]:
    if audience:
        return "round_id = ? and audience = ? and counted = 1 and disqualified = 0", [audience]
    return "round_id = ? and counted = 1 and disqualified = 0", []


def _index(audience: str | None) -> str:
    return "contest_attempts_rank_audience" if audience else "contest_attempts_rank"


def _prediction_base(db, round_id: int) -> int | None:
    """What the round's stored prediction keys are distances from (``counting.rebase_predictions``)."""
    return db.execute("select prediction_base from contest_rounds where id = ?", [round_id]).fetchone()[0]


def ranked_keys(db, contest: Contest, round_state: RoundState, audience: str | None = None,
                *, provisional: bool | None = None) -> Iterator[tuple]:
    """The round's ranked attempts in order (a stream of tuples, the attempt id first).
    ``provisional`` (default: while the round has no true figure) leaves the prediction out of the
    order. Once the round's figure is stored, the prediction keys are its distances from it
    (``counting.rebase_predictions``), so the final order is one scan of a ranking index."""
    order = contest.definition.tie_breaks
    pos = order.index("prediction") + 1 if "prediction" in order else None
    truth = round_state.truth
    if provisional is None:
        provisional = pos is not None and (truth is None or not round_state.truth_at)
    where, extra = _where(audience)
    params = [round_state.id, *extra]
    index = _index(audience)
    if pos is None:
        yield from _plain(db, where, params, index)
    elif provisional:
        keys = ", ".join(k for i, k in enumerate(("rk1", "rk2", "rk3"), start=1) if i != pos)
        sql = f"select id from contest_attempts where {where} order by rk0, {keys}, id"
        yield from db.conn.execute(sql, params)
    else:
        target = scaled_prediction(contest.definition.prediction, truth)
        if _prediction_base(db, round_state.id) == target:
            yield from _plain(db, where, params, index)
        else:  # ``round_state`` was read before the figure changed: rank by the figure it carries
            yield from _sorted_by_distance(db, contest, where, params, pos, target)


def _plain(db, where: str, params: list[Any], index: str) -> Iterator[tuple]:
    sql = f"select id from contest_attempts indexed by {index} where {where} order by rk0, rk1, rk2, rk3, id"
    yield from db.conn.execute(sql, params)


def _sorted_by_distance(db, contest: Contest, where: str, params: list[Any], pos: int,
                        target: int) -> Iterator[tuple]:
    """The final order by a figure that is not the one the keys are distances from: a sort in
    Python, with each distance from the stored prediction (seconds for a million attempts; only
    a caller holding a round read before its figure changed gets here)."""
    kind = contest.definition.prediction
    rows = db.conn.execute(f"select id, rk0, rk1, rk2, rk3, prediction from contest_attempts where {where}",
                           params).fetchall()

    def key(r):
        keys = [abs(scaled_prediction(kind, r[5]) - target) if i == pos else r[1 + i] for i in (1, 2, 3)]
        return (r[1], *keys, r[0])

    for r in sorted(rows, key=key):
        yield (r[0],)


def rank_round(deployment, contest: Contest, round_state: RoundState, audience: str | None = None) -> dict[str, Any]:
    """Rank a whole round (for the benchmark and ``ccch contest ranking --all``): the true figure,
    every entry's rank, and how long it took. Returns counts and timings, not the rows."""
    started = time.perf_counter()
    count = 0
    first: list[int] = []
    for count, key in enumerate(ranked_keys(deployment.db, contest, round_state, audience), start=1):
        if count <= 3:
            first.append(key[0])
    return {"entries": count, "seconds": time.perf_counter() - started, "top": first}


# -- entries with names ---------------------------------------------------------------------------


@attrs.frozen
class Entry:
    """A ranked entry as shown on leaderboards and prize lists."""

    rank: int
    attempt_id: int
    participant_id: int
    full_name: str
    phone_masked: str
    unit_id: str | None
    audience: str
    score: int
    total: int
    duration_ms: int
    submitted_at: str
    prediction: float | None
    distance: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return attrs.asdict(self)


def _details(db, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = query(db, 
        "select a.id, a.participant_id, a.audience, a.score, a.total, a.duration_ms, a.submitted_at, a.prediction, "
        f"a.unit_id, p.full_name, p.phone_masked from contest_attempts a join contest_participants p on "
        f"p.id = a.participant_id where a.id in ({marks})", list(ids))
    return {r["id"]: r for r in rows}


def entries(db, contest: Contest, round_state: RoundState, audience: str | None = None, *, limit: int | None = None,
            offset: int = 0, provisional: bool | None = None) -> Iterator[Entry]:
    """Ranked entries with names (masked phones), fetched in batches; ``limit`` stops early."""
    truth = round_state.truth if round_state.truth_at else None
    stream = ranked_keys(db, contest, round_state, audience, provisional=provisional)
    numbered = enumerate(stream, start=1)
    if offset:
        numbered = itertools.islice(numbered, offset, None)
    if limit is not None:
        numbered = itertools.islice(numbered, limit)
    while True:
        batch = list(itertools.islice(numbered, 500))
        if not batch:
            return
        details = _details(db, [k[0] for _, k in batch])
        for rank, key in batch:
            d = details[key[0]]
            distance = None
            if truth is not None and d["prediction"] is not None and contest.definition.has_prediction:
                distance = abs(d["prediction"] - truth)
            yield Entry(rank, key[0], d["participant_id"], d["full_name"] or "(đã xóa)", d["phone_masked"] or "",
                        d["unit_id"], d["audience"], d["score"], d["total"], d["duration_ms"], d["submitted_at"],
                        d["prediction"], distance)


def rank_of(db, contest: Contest, round_state: RoundState, attempt_id: int, audience: str | None = None) -> int | None:
    """The rank of one attempt (None when it is not ranked): one count of the entries before it."""
    where, extra = _where(audience)
    row = db.execute(f"select rk0, rk1, rk2, rk3, (select prediction_base from contest_rounds where id = ?) from "
                     f"contest_attempts where id = ? and {where}",
                     [round_state.id, attempt_id, round_state.id, *extra]).fetchone()
    if row is None:
        return None
    order = contest.definition.tie_breaks
    pos = order.index("prediction") + 1 if "prediction" in order else None
    final = bool(round_state.truth_at) and round_state.truth is not None
    target = scaled_prediction(contest.definition.prediction, round_state.truth) if final and pos else 0
    if final and pos and row[4] == target:
        pos = None  # the keys are the distances already: the index's own order
    elif final and pos and row[4] is not None:  # ``round_state`` was read before the figure changed
        ranked = ranked_keys(db, contest, round_state, audience)
        return next((n for n, key in enumerate(ranked, start=1) if key[0] == attempt_id), None)
    expressions, values = ["rk0"], [row[0]]
    for i in (1, 2, 3):
        if i == pos and not final:
            continue
        if i == pos:
            expressions.append(f"abs(rk{i} - {int(target)})")
            values.append(abs(row[i] - target))
        else:
            expressions.append(f"rk{i}")
            values.append(row[i])
    expressions.append("id")
    values.append(attempt_id)
    marks = ", ".join("?" * len(values))
    before = db.execute(f"select count(*) from contest_attempts where {where} and rk0 <= ? and "
                        f"({', '.join(expressions)}) < ({marks})",
                        [round_state.id, *extra, row[0], *values]).fetchone()[0]
    return before + 1


# -- overall ranking (the whole contest) ----------------------------------------------------------


# The overall ranking's key for each tie-break, aggregated over the rounds (see overall_entries).
# An attempt flagged as implausibly fast (not cleared) puts the participant behind everyone on time.
OVERALL_KEYS = {"prediction": "missed_predictions, distance", "time": "implausible, duration_ms",
                "submitted": "last_ms"}


def overall_entries(db, contest: Contest, audience: str | None = None, *, limit: int | None = None) -> list[dict]:
    """The whole contest: total score over the rounds' counted attempts, then the contest's
    tie-breaks in their configured order, each aggregated over the rounds — ``prediction``: first
    the number of rounds with a known true figure where the participant gave no prediction (fewer
    first, as a missing prediction ranks last in a round), then the sum of the prediction's
    distances from those rounds' true figures (a round still open, with no true figure yet,
    counts for neither); ``time``: the total time taken; ``submitted``: the earlier last
    submission — then the participant, so no two entries share a rank."""
    d = contest.definition
    # Distances in the stored precision (percent predictions keep five decimals), so that sums
    # of equal distances compare equal.
    scale = PERCENT_SCALE if d.prediction == "percent" else 1
    where = "a.contest_id = ? and a.counted = 1 and a.disqualified = 0"
    params: list[Any] = [contest.id]
    if audience:
        where += " and a.audience = ?"
        params.append(audience)
    judged = "r.truth_at is not null and r.truth is not null"
    order = ", ".join(OVERALL_KEYS[name] for name in d.tie_breaks)
    sql = ("select a.participant_id, sum(a.score) as score, sum(a.total) as total, sum(a.duration_ms) as duration_ms, "
           "max(a.submitted_ms) as last_ms, count(*) as rounds, sum(a.implausible) as implausible, "
           f"sum({judged} and a.prediction is null) as missed_predictions, "
           f"sum(case when {judged} and a.prediction is not null then abs(cast(round(a.prediction * {scale}) as integer)"
           f" - cast(round(r.truth * {scale}) as integer)) else 0 end) as distance "
           "from contest_attempts a join contest_rounds r on r.id = a.round_id "
           f"where {where} group by a.participant_id order by score desc, {order + ', ' if order else ''}"
           "a.participant_id")
    if limit is not None:
        sql += f" limit {int(limit)}"
    rows = list(query(db, sql, params))
    if not rows:
        return []
    marks = ", ".join("?" * len(rows))
    people = {r["id"]: r for r in query(db, 
        f"select id, full_name, phone_masked, unit_id, audience from contest_participants where id in ({marks})",
        [r["participant_id"] for r in rows])}
    out = []
    for rank, r in enumerate(rows, start=1):
        p = people[r["participant_id"]]
        out.append({"rank": rank, "participant_id": r["participant_id"], "full_name": p["full_name"] or "(đã xóa)",
                    "phone_masked": p["phone_masked"] or "", "unit_id": p["unit_id"], "audience": p["audience"],
                    "score": r["score"], "total": r["total"], "duration_ms": r["duration_ms"], "rounds": r["rounds"],
                    "last_submitted_at": from_ms(r["last_ms"]).isoformat(timespec="milliseconds"),
                    "missed_predictions": r["missed_predictions"],
                    "distance": r["distance"] / scale if scale != 1 else r["distance"]})
    return out


# -- leaderboards (cached) ------------------------------------------------------------------------


@attrs.frozen
class Leaderboard:
    """A leaderboard as shown: the top entries, whether it is provisional, the round's figures."""

    scope: str
    audience: str
    rows: tuple[dict[str, Any], ...]
    provisional: bool
    computed_at: str
    entrants: int
    truth: float | None
    perfect: int | None


def leaderboard(deployment, contest: Contest, round_state: RoundState | None, audience: str | None = None,
                *, now: dt.datetime | None = None, limit: int | None = None) -> Leaderboard:
    """The top entries of a round (or of the whole contest when ``round_state`` is None), cached
    in the database for every worker: a closed round's board until something changes it (a
    disqualification), an open round's for ``leaderboard_refresh_seconds``."""
    now = now or utc_now()
    db = deployment.db
    limit = limit or contest.definition.leaderboard_size
    scope = f"round:{round_state.id}" if round_state else "overall"
    provisional = round_state is None and any(r.state(now) != "closed" for r in contest.rounds) or (
        round_state is not None and not round_state.truth_at)
    state = f"v{contest.ranking_version}:{contest.version}:{limit}:{'p' if provisional else 'f'}"
    row = db.execute("select state, computed_ms, data, computed_at from contest_leaderboards where contest_id = ? and "
                     "scope = ? and audience = ?", [contest.id, scope, audience or ""]).fetchone()
    refresh_ms = settings_of(deployment).leaderboard_refresh_seconds * 1000
    if row is not None and row[0] == state and (not provisional or ms(now) - row[1] < refresh_ms):
        data = json.loads(row[2])
        return Leaderboard(scope, audience or "", tuple(data["rows"]), provisional, row[3], data["entrants"],
                           data["truth"], data["perfect"])
    if round_state is None:
        rows = overall_entries(db, contest, audience, limit=limit)
        entrants = db.execute("select count(distinct participant_id) from contest_attempts where contest_id = ? and "
                              "counted = 1 and disqualified = 0" + (" and audience = ?" if audience else ""),
                              [contest.id, *([audience] if audience else [])]).fetchone()[0]
        truth = perfect = None
    else:
        rows = [e.as_dict() for e in entries(db, contest, round_state, audience, limit=limit)]
        if round_state.truth_at and round_state.entrants_by_audience is not None:
            # Counted when the round closed: no count over a million attempts here.
            entrants = (round_state.entrants_by_audience.get(audience, 0) if audience
                        else round_state.entrant_count)
        else:
            where, extra = _where(audience)
            entrants = db.execute(f"select count(*) from contest_attempts where {where}",
                                  [round_state.id, *extra]).fetchone()[0]
        truth = round_state.truth if round_state.truth_at else None
        perfect = round_state.perfect_count if round_state.truth_at else None
    computed_at = utc_now_iso(now)
    data = json.dumps({"rows": rows, "entrants": entrants, "truth": truth, "perfect": perfect}, ensure_ascii=False)
    with serialized(deployment):
        db.execute("insert into contest_leaderboards (contest_id, scope, audience, state, computed_at, computed_ms, data) "
                   "values (?, ?, ?, ?, ?, ?, ?) on conflict (contest_id, scope, audience) do update set "
                   "state = excluded.state, computed_at = excluded.computed_at, computed_ms = excluded.computed_ms, "
                   "data = excluded.data", [contest.id, scope, audience or "", state, computed_at, ms(now), data])
    return Leaderboard(scope, audience or "", tuple(rows), provisional, computed_at, entrants, truth, perfect)


# -- prizes ---------------------------------------------------------------------------------------


@attrs.frozen
class Winner:
    """A prize and who won it. ``held``: the entry has a detection flag nobody has reviewed yet
    ("chờ xem xét"): it keeps its place, and the prize is not given until the manager clears the
    flag (or disqualifies the entry, and the next entry moves up)."""

    prize: str
    value: str | None
    entry: Entry | dict[str, Any]
    held: bool = False


def _winners(stream, prizes: Sequence[Prize], skip: set[int], key, held=lambda item: False) -> list[Winner]:
    slots = [p for p in prizes for _ in range(p.count)]
    winners: list[Winner] = []
    if not slots:
        return winners
    for item in stream:
        if key(item) in skip:
            continue
        prize = slots[len(winners)]
        winners.append(Winner(prize.name, prize.value, item, held(item)))
        if len(winners) == len(slots):
            break
    return winners


def prize_list(deployment, contest: Contest, round_state: RoundState, audience_key: str) -> list[Winner]:
    """Winners of a closed round for one audience, prize by prize down the ranking. With
    ``one_prize_per_person``, people who won in an earlier round are passed over."""
    audience = contest.definition.audience(audience_key)
    if not round_state.truth_at:
        return []
    skip: set[int] = set()
    if contest.definition.one_prize_per_person:
        for earlier in contest.rounds:
            if earlier.closes < round_state.closes and earlier.truth_at:
                skip.update(w.entry.participant_id for w in prize_list(deployment, contest, earlier, audience_key))
    stream = entries(deployment.db, contest, round_state, audience_key)
    registrations, attempts, _ = under_review(deployment.db, contest.id)
    return _winners(stream, audience.prizes, skip, key=lambda e: e.participant_id,
                    held=lambda e: e.attempt_id in attempts or e.participant_id in registrations)


def overall_prize_list(deployment, contest: Contest, audience_key: str) -> list[Winner]:
    """Winners of the whole contest for one audience (``overall_prizes``)."""
    audience = contest.definition.audience(audience_key)
    if not audience.overall_prizes:
        return []
    size = sum(p.count for p in audience.overall_prizes)
    rows = overall_entries(deployment.db, contest, audience_key, limit=size)
    _, _, flagged = under_review(deployment.db, contest.id)
    return _winners(rows, audience.overall_prizes, set(), key=lambda e: e["participant_id"],
                    held=lambda e: e["participant_id"] in flagged)


# -- participation per unit -----------------------------------------------------------------------


def _rounds_and_audience(params: list[Any], round_ids: Sequence[int] | None, audience: str | None) -> str:
    """The ``and …`` clauses that keep a participation count to some rounds and one audience (their
    values appended to ``params``)."""
    sql = ""
    if round_ids:
        sql += f" and round_id in ({', '.join('?' * len(round_ids))})"
        params.extend(round_ids)
    if audience:
        sql += " and audience = ?"
        params.append(audience)
    return sql


def participation_counts(db, contest: Contest, round_ids: Sequence[int] | None = None,
                         audience: str | None = None) -> dict[str | None, int]:
    """Distinct participants with a submitted, not disqualified attempt, by the unit they chose."""
    sql = ("select unit_id, count(distinct participant_id) as n from contest_attempts where contest_id = ? "
           "and status = 'submitted' and disqualified = 0")
    params: list[Any] = [contest.id]
    sql += _rounds_and_audience(params, round_ids, audience)
    return {r["unit_id"]: r["n"] for r in query(db, sql + " group by unit_id", params)}


@attrs.frozen
class UnitParticipation:
    """A unit's participation: people, headcount, rate (percent, None without a headcount)."""

    unit_id: str
    name: str
    participants: int
    headcount: int | None

    @property
    def rate(self) -> float | None:
        """Participants per 100 of the headcount."""
        if not self.headcount:
            return None
        return 100.0 * self.participants / self.headcount


def participation(deployment, contest: Contest, unit_refs: Sequence[str] | None = None,
                  round_ids: Sequence[int] | None = None, audience: str | None = None) -> list[UnitParticipation]:
    """Participation of each unit in ``unit_refs`` (default: every unit a participant of the
    contest, or of ``audience``, can choose — the audiences' lists as well as the contest's),
    counting everyone who chose the unit or a unit below it."""
    from .definition import all_unit_choices

    plan = deployment.plan
    counts = participation_counts(deployment.db, contest, round_ids, audience)
    units = plan.resolve(unit_refs) if unit_refs else all_unit_choices(contest.definition, plan, audience)
    within = plan.sums_within({unit_id: (n,) for unit_id, n in counts.items() if unit_id})
    return [UnitParticipation(unit.id, unit.name, int(within[unit.id][0]) if unit.id in within else 0, unit.headcount)
            for unit in units]


@attrs.frozen
class CollectiveWinner:
    """A unit that won a collective prize; ``place`` is shared by units with the same figure."""

    prize: str
    value: str | None
    place: int
    unit: UnitParticipation
    figure: float
    held: int = 0
    """Participants counted in the figure whose detection flags nobody has reviewed ("chờ xem xét")."""


def collective_winners(deployment, contest: Contest) -> list[tuple[Any, list[CollectiveWinner]]]:
    """Each collective prize with its winning units (ties at the last place all win)."""
    out = []
    _, _, flagged = under_review(deployment.db, contest.id)
    for prize in contest.definition.collective_prizes:
        rounds = [contest.round(n).id for n in prize.rounds] if prize.rounds else None
        units = participation(deployment, contest, prize.among, rounds, prize.audience)
        held = _held_by_unit(deployment, contest, flagged, rounds, prize.audience)
        if prize.measure == "rate":
            candidates = [(u.rate, u) for u in units if u.rate is not None and u.participants]
        else:
            candidates = [(float(u.participants), u) for u in units if u.participants]
        candidates.sort(key=lambda c: (-c[0], -c[1].participants, sort_key(c[1].name)))
        winners: list[CollectiveWinner] = []
        place = 0
        previous = None
        for index, (figure, unit) in enumerate(candidates, start=1):
            if figure != previous:
                place = index
                previous = figure
            if place > prize.count:
                break
            winners.append(CollectiveWinner(prize.name, prize.value, place, unit, figure, held(unit.unit_id)))
        out.append((prize, winners))
    return out


def _held_by_unit(deployment, contest: Contest, flagged: set[int], round_ids, audience):
    """unit id → how many participants counted for that unit (or a unit below it) have detection
    flags nobody has reviewed; counted as :func:`participation_counts` counts."""
    if not flagged:
        return lambda unit_id: 0
    sql = ("select unit_id, participant_id from contest_attempts where contest_id = ? and status = 'submitted' "
           "and disqualified = 0 and participant_id in (select participant_id from contest_flags where "
           "contest_id = ? and status = 'open')")
    params: list[Any] = [contest.id, contest.id]
    sql += _rounds_and_audience(params, round_ids, audience)
    people: dict[str | None, set[int]] = {}
    for unit_id, participant_id in deployment.db.execute(sql, params):
        people.setdefault(unit_id, set()).add(participant_id)
    within = deployment.plan.sums_within({u: (len(ids),) for u, ids in people.items() if u})
    return lambda unit_id: int(within[unit_id][0]) if unit_id in within else 0
