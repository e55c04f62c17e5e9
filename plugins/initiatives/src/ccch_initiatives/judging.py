"""The panel's work: conflicts of interest, assigning judges, scores, aggregation, ranking, awards.

**Conflicts.** A judge never gets an entry from their own unit: the entry's unit or any author's
unit is the judge's unit, below it, or above it (a judge of a commune's one-stop desk and an entry
of that commune). A judge may also declare a conflict on any entry (a relative, a former
colleague); the declaration removes their assignment and any scores they gave it.

**Assignment.** Each entry gets ``judges_per_entry`` judges (``final_judges_per_entry`` in the
final round). The most constrained entries are served first, each by the least-loaded eligible
judges; a second pass moves unscored assignments from the most to the least loaded judge while it
narrows the spread. Without conflicts the loads differ by at most one.

**Scores.** A judge gives every criterion a whole number on its scale, with a comment. The judge's
score out of 100 is Σ weightᵢ·(scoreᵢ − minᵢ)/(maxᵢ − minᵢ) / Σ weightᵢ × 100. An entry's score in
a round is the mean of its judges' scores (``weighted_mean``), or, with ``trimmed_mean`` and 4
judges or more, the mean after dropping one highest and one lowest. Entries whose judges' scores
differ by more than ``disagreement_threshold`` points are flagged for discussion or another judge.
Only scores a judge has sent (``submitted_at``) count. Every change to a score is in the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from typing import Any

import attrs

from ccch_core import audit
from ccch_core.storage import utc_now_iso, write_transaction

from .calls import JUDGE, ROUNDS, Call, Seat, panel, plan_of_call
from .entries import Entry, entries_of, get_entry


class JudgingError(ValueError):
    """A refused action of the panel (Vietnamese message); ``errors`` by form field when it is
    about a scoring form."""

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        self.errors = errors or {}
        super().__init__(message)


# -- conflicts --------------------------------------------------------------------------------------


def unit_conflict(plan, judge_unit: str | None, entry: Entry) -> bool:
    """Whether an entry comes from the judge's unit (the same, below or above it)."""
    return units_conflict(plan, judge_unit, entry.units)


def units_conflict(plan, judge_unit: str | None, units) -> bool:
    """Whether any of ``units`` is the judge's unit, below it or above it."""
    if not judge_unit or not plan.has_unit(judge_unit):
        return False
    for unit_id in units:
        if not plan.has_unit(unit_id):
            continue
        if plan.is_within(unit_id, judge_unit) or plan.is_within(judge_unit, unit_id):
            return True
    return False


def declared_conflicts(db, call_id: int) -> set[tuple[str, int]]:
    return {(r[0], r[1]) for r in db.execute(
        "select username, entry_id from initiative_conflicts where call_id = ?", [call_id])}


def may_judge(plan, seat: Seat, entry: Entry, declared: set[tuple[str, int]]) -> bool:
    """The one rule every judge's page and every assignment goes through."""
    return (seat.role == JUDGE and entry.status == "submitted" and (seat.username, entry.id) not in declared
            and not unit_conflict(plan, seat.unit_id, entry))


def declare_conflict(deployment, call: Call, seat: Seat, entry: Entry, reason: str, *,
                     now: dt.datetime | None = None) -> None:
    """A judge declares a conflict on an entry: their assignments to it and its scores go."""
    with write_transaction(deployment.db) as db:
        db.execute("insert or replace into initiative_conflicts (call_id, username, entry_id, reason, declared_at) "
                   "values (?, ?, ?, ?, ?)", [call.id, seat.username, entry.id, reason[:500], utc_now_iso(now)])
        ids = [r[0] for r in db.execute("select id from initiative_assignments where entry_id = ? and username = ?",
                                        [entry.id, seat.username])]
        for assignment_id in ids:
            db.execute("delete from initiative_scores where assignment_id = ?", [assignment_id])
            db.execute("delete from initiative_assignments where id = ?", [assignment_id])
        audit.record(db, seat.username, "initiatives.conflict", f"{call.title} — bài {entry.code}",
                     f"Lý do: {reason[:300]}; bỏ {len(ids)} lượt chấm", label="Khai báo xung đột lợi ích")


# -- assignment -------------------------------------------------------------------------------------


@attrs.frozen
class Assignment:
    id: int
    call_id: int
    round: str
    entry_id: int
    username: str
    comment: str | None
    submitted_at: str | None


def _assignment(row) -> Assignment:
    return Assignment(*row)


_A_COLUMNS = "id, call_id, round, entry_id, username, comment, submitted_at"


def assignments(db, call_id: int, round_: str, *, username: str | None = None,
                entry_id: int | None = None) -> list[Assignment]:
    sql = f"select {_A_COLUMNS} from initiative_assignments where call_id = ? and round = ?"
    args: list[Any] = [call_id, round_]
    if username is not None:
        sql += " and username = ?"
        args.append(username)
    if entry_id is not None:
        sql += " and entry_id = ?"
        args.append(entry_id)
    return [_assignment(r) for r in db.execute(sql + " order by entry_id, username", args)]


def get_assignment(db, assignment_id: int) -> Assignment | None:
    row = db.execute(f"select {_A_COLUMNS} from initiative_assignments where id = ?", [assignment_id]).fetchone()
    return _assignment(row) if row else None


def round_entries(db, call: Call, round_: str) -> list[Entry]:
    entries = entries_of(db, call.id)
    return [e for e in entries if e.finalist] if round_ == "final" else entries


def _tie(username: str, entry_id: int) -> str:
    return hashlib.blake2b(f"{username}:{entry_id}".encode(), digest_size=4).hexdigest()


@attrs.frozen
class AssignmentReport:
    created: int
    moved: int
    short: tuple[tuple[int, int], ...]  # (entry id, judges missing)
    loads: dict[str, int]


def assign_judges(deployment, call: Call, round_: str, *, actor: str | None, per_entry: int | None = None,
                  now: dt.datetime | None = None) -> AssignmentReport:
    """Give every entry of the round its number of judges, load balanced (see the module)."""
    if round_ not in ROUNDS:
        raise JudgingError("Vòng chấm không hợp lệ.")
    definition = call.definition
    need = per_entry or (definition.final_judges_per_entry if round_ == "final" else definition.judges_per_entry)
    plan = plan_of_call(deployment, call)
    stamp = utc_now_iso(now)
    with write_transaction(deployment.db) as db:
        judges = panel(db, call.id, JUDGE)
        if not judges:
            raise JudgingError("Hội đồng chưa có giám khảo nào.")
        entries = round_entries(db, call, round_)
        declared = declared_conflicts(db, call.id)
        existing = assignments(db, call.id, round_)
        load = {s.username: 0 for s in judges}
        by_entry: dict[int, set[str]] = defaultdict(set)
        scored = {r[0] for r in db.execute(
            "select a.id from initiative_assignments a where a.call_id = ? and a.round = ? and (a.submitted_at is "
            "not null or exists (select 1 from initiative_scores s where s.assignment_id = a.id))",
            [call.id, round_])}
        for a in existing:
            by_entry[a.entry_id].add(a.username)
            if a.username in load:
                load[a.username] += 1
        eligible = {e.id: [s for s in judges if may_judge(plan, s, e, declared)] for e in entries}
        new: list[tuple[int, str]] = []
        short = []
        for entry in sorted(entries, key=lambda e: (len(eligible[e.id]), e.id)):
            missing = need - len(by_entry[entry.id])
            if missing <= 0:
                continue
            candidates = [s.username for s in eligible[entry.id] if s.username not in by_entry[entry.id]]
            candidates.sort(key=lambda u: (load[u], _tie(u, entry.id)))
            for username in candidates[:missing]:
                by_entry[entry.id].add(username)
                load[username] += 1
                new.append((entry.id, username))
            if len(candidates) < missing:
                short.append((entry.id, missing - len(candidates)))
        # Second pass: move unscored assignments from the most to the least loaded judge.
        movable = {(a.entry_id, a.username): a.id for a in existing if a.id not in scored}
        movable.update({pair: None for pair in new})
        moved = 0
        by_judge: dict[str, list[int]] = defaultdict(list)
        for entry_id, username in movable:
            by_judge[username].append(entry_id)
        entry_index = {e.id: e for e in entries}
        for _ in range(len(movable) + 1):
            heavy = max(load, key=lambda u: (load[u], u))
            light_order = sorted(load, key=lambda u: (load[u], u))
            done = False
            for light in light_order:
                if load[heavy] - load[light] <= 1:
                    break
                seat = next(s for s in judges if s.username == light)
                for entry_id in by_judge[heavy]:
                    entry = entry_index.get(entry_id)
                    if entry is None or light in by_entry[entry_id] or not may_judge(plan, seat, entry, declared):
                        continue
                    old_id = movable.pop((entry_id, heavy))
                    if old_id is not None:
                        db.execute("delete from initiative_assignments where id = ?", [old_id])
                    else:
                        new.remove((entry_id, heavy))
                    new.append((entry_id, light))
                    movable[(entry_id, light)] = None
                    by_judge[heavy].remove(entry_id)
                    by_judge[light].append(entry_id)
                    by_entry[entry_id].discard(heavy)
                    by_entry[entry_id].add(light)
                    load[heavy] -= 1
                    load[light] += 1
                    moved += 1
                    done = True
                    break
                if done:
                    break
            if not done:
                break
        db.conn.executemany(
            "insert into initiative_assignments (call_id, round, entry_id, username, assigned_at, assigned_by) "
            "values (?, ?, ?, ?, ?, ?)", [(call.id, round_, e, u, stamp, actor) for e, u in new])
        audit.record(db, actor, "initiatives.assign", f"{call.title} — {ROUNDS[round_]}",
                     f"{len(new)} lượt phân công mới, {moved} lượt chuyển; {len(short)} bài thiếu giám khảo",
                     label="Phân công giám khảo chấm sáng kiến")
    return AssignmentReport(len(new), moved, tuple(short), dict(load))


def add_judge(deployment, call: Call, entry: Entry, round_: str, *, actor: str | None,
              username: str | None = None, now: dt.datetime | None = None) -> str:
    """One more judge for an entry (a flagged disagreement): ``username`` or the least-loaded
    eligible judge. Returns the judge's username."""
    plan = plan_of_call(deployment, call)
    with write_transaction(deployment.db) as db:
        declared = declared_conflicts(db, call.id)
        taken = {a.username for a in assignments(db, call.id, round_, entry_id=entry.id)}
        load = dict(db.execute("select username, count(*) from initiative_assignments where call_id = ? and round = ? "
                               "group by username", [call.id, round_]).fetchall())
        candidates = [s for s in panel(db, call.id, JUDGE)
                      if s.username not in taken and may_judge(plan, s, entry, declared)]
        if username is not None:
            candidates = [s for s in candidates if s.username == username]
        if not candidates:
            raise JudgingError("Không còn giám khảo nào có thể chấm bài này (đã chấm, cùng đơn vị hoặc có xung đột "
                               "lợi ích).")
        chosen = min(candidates, key=lambda s: (load.get(s.username, 0), _tie(s.username, entry.id))).username
        db.execute("insert into initiative_assignments (call_id, round, entry_id, username, assigned_at, assigned_by) "
                   "values (?, ?, ?, ?, ?, ?)", [call.id, round_, entry.id, chosen, utc_now_iso(now), actor])
        audit.record(db, actor, "initiatives.assign_extra", f"{call.title} — bài {entry.code}",
                     f"{ROUNDS[round_]}: thêm giám khảo {chosen}", label="Thêm giám khảo chấm sáng kiến")
    return chosen


# -- scores -----------------------------------------------------------------------------------------


def scores_of(db, assignment_id: int) -> dict[str, tuple[int, str]]:
    return {r[0]: (r[1], r[2] or "") for r in db.execute(
        "select criterion, score, comment from initiative_scores where assignment_id = ?", [assignment_id])}


def check_scores(call: Call, form, *, complete: bool = True) -> tuple[dict[str, tuple[int, str]], str]:
    """Scores and comments from a scoring form (``score_<key>``, ``comment_<key>``, ``comment``),
    each problem under its field. A draft (``complete=False``) may leave scores empty."""
    from ccch_core.inputs import parse_int

    from .definition import clean_block

    errors: dict[str, str] = {}
    values: dict[str, tuple[int, str]] = {}
    for c in call.definition.criteria:
        raw = form.get(f"score_{c.key}")
        score = parse_int(raw, c.low, c.high)
        if score is None and (complete or raw not in (None, "")):
            errors[f"score_{c.key}"] = (f"{c.name}: cần một số nguyên từ {c.low} đến {c.high}"
                                        + ("." if raw not in (None, "") else "; chưa nhập điểm."))
        comment_raw = form.get(f"comment_{c.key}") or ""
        comment = clean_block(comment_raw[:8000])
        if len(comment) > 2000:
            errors[f"comment_{c.key}"] = f"Nhận xét “{c.name}”: dài quá 2.000 ký tự."
        if score is not None:
            values[c.key] = (score, comment)
    overall = clean_block((form.get("comment") or "")[:20000])
    if len(overall) > 5000:
        errors["comment"] = "Nhận xét chung: dài quá 5.000 ký tự."
    if errors:
        raise JudgingError("Phiếu chấm chưa hợp lệ.", errors)
    return values, overall


def save_scores(deployment, call: Call, assignment: Assignment, values: dict[str, tuple[int, str]], overall: str,
                *, submit: bool, actor: str, now: dt.datetime | None = None) -> int:
    """Store a judge's scores (every change in the audit log, old and new value), and send them
    when ``submit``. Returns how many scores changed."""
    stamp = utc_now_iso(now)
    changed = 0
    with write_transaction(deployment.db) as db:
        if db.execute("select 1 from initiative_assignments where id = ?", [assignment.id]).fetchone() is None:
            raise JudgingError("Lượt chấm này không còn (đã khai báo xung đột hoặc ban thư ký đã đổi phân công).")
        if call.results_published_at:
            raise JudgingError("Kết quả đã công bố; không sửa điểm được nữa.")
        stage = db.execute("select stage from initiative_calls where id = ?", [call.id]).fetchone()[0]
        if assignment.round != stage:
            raise JudgingError(f"Vòng {ROUNDS[assignment.round].lower()} đã kết thúc; không sửa điểm vòng này được nữa.")
        old = scores_of(db, assignment.id)
        code = db.execute("select code from initiative_entries where id = ?", [assignment.entry_id]).fetchone()[0]
        for key, (score, comment) in values.items():
            if old.get(key) == (score, comment):
                continue
            db.execute("insert or replace into initiative_scores (assignment_id, criterion, score, comment, updated_at) "
                       "values (?, ?, ?, ?, ?)", [assignment.id, key, score, comment, stamp])
            before = old.get(key)
            detail = f"{ROUNDS[assignment.round]}, tiêu chí {key}: " + (
                f"{before[0]} → {score}" if before else f"{score}") + ("" if before is None or before[1] == comment
                                                                        else " (sửa nhận xét)")
            audit.record(db, actor, "initiatives.score", f"{call.title} — bài {code}", detail,
                         label="Chấm điểm sáng kiến", now=now)
            changed += 1
        updates: dict[str, Any] = {"comment": overall}
        if submit:
            if set(values) != {c.key for c in call.definition.criteria}:
                raise JudgingError("Cần chấm đủ mọi tiêu chí trước khi gửi phiếu.")
            if assignment.submitted_at is None:
                updates["submitted_at"] = stamp
                audit.record(db, actor, "initiatives.score_submit", f"{call.title} — bài {code}",
                             ROUNDS[assignment.round], label="Gửi phiếu chấm sáng kiến", now=now)
        db["initiative_assignments"].update(assignment.id, updates)
    return changed


# -- aggregation ------------------------------------------------------------------------------------


def judge_total(call: Call, scores: dict[str, int]) -> float:
    """A judge's score out of 100 (see the module)."""
    criteria = call.definition.criteria
    weights = sum(c.weight for c in criteria)
    return sum(c.weight * (scores[c.key] - c.low) / (c.high - c.low) for c in criteria) / weights * 100


def aggregate(totals: list[float], method: str) -> float | None:
    """An entry's score from its judges' scores: the mean, or with ``trimmed_mean`` and four or
    more judges the mean without one highest and one lowest."""
    if not totals:
        return None
    values = sorted(totals)
    if method == "trimmed_mean" and len(values) >= 4:
        values = values[1:-1]
    return sum(values) / len(values)


@attrs.frozen
class EntryResult:
    entry: Entry
    judges: int  # judges who sent their scores
    assigned: int
    totals: tuple[float, ...]
    score: float | None
    spread: float | None
    flagged: bool
    criterion_means: dict[str, float]
    rank: int | None = None


def results(db, call: Call, round_: str) -> list[EntryResult]:
    """Every entry of the round with its score, spread and flag, in one pass over the scores
    (ranked within each category by :func:`rank`)."""
    entries = round_entries(db, call, round_)
    keys = [c.key for c in call.definition.criteria]
    per_assignment: dict[int, dict[str, int]] = defaultdict(dict)
    assignment_entry: dict[int, int] = {}
    assigned: dict[int, int] = defaultdict(int)
    for a_id, entry_id, submitted in db.execute(
            "select id, entry_id, submitted_at from initiative_assignments where call_id = ? and round = ?",
            [call.id, round_]):
        assigned[entry_id] += 1
        if submitted:
            assignment_entry[a_id] = entry_id
    for a_id, criterion, score in db.execute(
            "select s.assignment_id, s.criterion, s.score from initiative_scores s join initiative_assignments a "
            "on a.id = s.assignment_id where a.call_id = ? and a.round = ? and a.submitted_at is not null",
            [call.id, round_]):
        per_assignment[a_id][criterion] = score
    by_entry: dict[int, list[dict[str, int]]] = defaultdict(list)
    for a_id, entry_id in assignment_entry.items():
        scores = per_assignment.get(a_id, {})
        if all(k in scores for k in keys):
            by_entry[entry_id].append(scores)
    out = []
    threshold = call.definition.disagreement_threshold
    for entry in entries:
        sheets = by_entry.get(entry.id, [])
        totals = tuple(judge_total(call, s) for s in sheets)
        score = aggregate(list(totals), call.definition.aggregation)
        spread = (max(totals) - min(totals)) if totals else None
        means = {k: sum(s[k] for s in sheets) / len(sheets) for k in keys} if sheets else {}
        out.append(EntryResult(entry, len(sheets), assigned.get(entry.id, 0), totals, score, spread,
                               bool(spread is not None and len(totals) >= 2 and spread > threshold), means))
    return out


def _sort_key(call: Call, result: EntryResult):
    key: list[Any] = [-(result.score if result.score is not None else -1.0)]
    for rule in call.definition.tie_breaks:
        if rule == "submitted":
            key.append(result.entry.submitted_at)
        else:
            key.append(-result.criterion_means.get(rule.split(":", 1)[1], -1.0))
    key.append(result.entry.id)
    return tuple(key)


def rank(call: Call, rows: list[EntryResult]) -> dict[str, list[EntryResult]]:
    """Results by category, best first: by score, then the call's tie-breaks in order (a
    criterion's mean score, higher first; ``submitted``: the earlier entry first), then the id."""
    by_category: dict[str, list[EntryResult]] = {c.key: [] for c in call.definition.categories}
    for row in rows:
        by_category.setdefault(row.entry.category, []).append(row)
    for key, items in by_category.items():
        scored = sorted((r for r in items if r.score is not None), key=lambda r: _sort_key(call, r))
        unscored = [r for r in items if r.score is None]
        by_category[key] = [attrs.evolve(r, rank=i) for i, r in enumerate(scored, 1)] + unscored
    return by_category


def advance_to_final(deployment, call: Call, *, actor: str | None, per_category: int | None = None) -> int:
    """Close the preliminary round: the best ``finalists_per_category`` of each category (all with
    a score when it is 0) go to the final round. Returns how many."""
    n = per_category if per_category is not None else call.definition.finalists_per_category
    ranked = rank(call, results(deployment.db, call, "preliminary"))
    chosen = []
    for items in ranked.values():
        scored = [r for r in items if r.score is not None]
        chosen.extend(r.entry.id for r in (scored[:n] if n else scored))
    if not chosen:
        raise JudgingError("Chưa có bài nào có điểm sơ khảo; chưa thể chuyển sang chung khảo.")
    with write_transaction(deployment.db) as db:
        db.execute("update initiative_entries set finalist = 0 where call_id = ?", [call.id])
        db.conn.executemany("update initiative_entries set finalist = 1 where id = ?", [(i,) for i in chosen])
        db.execute("update initiative_calls set stage = 'final' where id = ?", [call.id])
        audit.record(db, actor, "initiatives.final", call.title, f"{len(chosen)} bài vào chung khảo",
                     label="Chuyển sang vòng chung khảo sáng kiến")
    return len(chosen)


def decide_awards(deployment, call: Call, *, actor: str | None, now: dt.datetime | None = None) -> list[dict]:
    """Give the call's awards in each category from the last round's ranking: each award in the
    order written, to at most ``count`` entries of at least ``min_score``."""
    round_ = call.stage
    ranked = rank(call, results(deployment.db, call, round_))
    rows = []
    for category, items in ranked.items():
        queue = [r for r in items if r.score is not None]
        for award in call.definition.awards:
            taken = 0
            while queue and taken < award.count and queue[0].score >= award.min_score - 1e-9:
                r = queue.pop(0)
                rows.append({"call_id": call.id, "entry_id": r.entry.id, "award": award.key,
                             "award_name": award.name, "category": category, "rank": r.rank,
                             "score": round(r.score, 4), "decided_at": utc_now_iso(now)})
                taken += 1
    with write_transaction(deployment.db) as db:
        db.execute("delete from initiative_awards where call_id = ?", [call.id])
        if rows:
            db["initiative_awards"].insert_all(rows)
        audit.record(db, actor, "initiatives.awards", call.title, f"{len(rows)} giải ({ROUNDS[round_]})",
                     label="Xét giải cuộc thi viết sáng kiến")
    return rows


def discussion(db, call: Call, assignment: Assignment) -> list[dict] | None:
    """The other judges' sent sheets of a flagged entry, for a judge who has sent theirs (the
    discussion HotCRP opens after review): judges numbered, never named; None when the entry is
    not flagged or the judge has not sent their own sheet yet."""
    if assignment.submitted_at is None:
        return None
    row = next((r for r in results(db, call, assignment.round) if r.entry.id == assignment.entry_id), None)
    if row is None or not row.flagged:
        return None
    sheets = []
    others = [a for a in assignments(db, call.id, assignment.round, entry_id=assignment.entry_id)
              if a.submitted_at and a.id != assignment.id]
    for number, other in enumerate(others, 1):
        scores = scores_of(db, other.id)
        if len(scores) == len(call.definition.criteria):
            sheets.append({"number": number, "scores": scores, "comment": other.comment or "",
                           "total": judge_total(call, {k: v[0] for k, v in scores.items()})})
    return sheets


def publish_results(deployment, call: Call, *, actor: str | None, now: dt.datetime | None = None) -> None:
    with write_transaction(deployment.db) as db:
        if not db.execute("select 1 from initiative_awards where call_id = ?", [call.id]).fetchone():
            raise JudgingError("Chưa xét giải; hãy xét giải trước khi công bố.")
        db.execute("update initiative_calls set results_published_at = ? where id = ?", [utc_now_iso(now), call.id])
        audit.record(db, actor, "initiatives.publish", call.title, label="Công bố kết quả cuộc thi viết sáng kiến")


@attrs.frozen
class AwardRow:
    entry: Entry
    award: str
    award_name: str
    category: str
    rank: int
    score: float


def awards_of(db, call: Call) -> list[AwardRow]:
    order = {a.key: i for i, a in enumerate(call.definition.awards)}
    rows = []
    for entry_id, award, name, category, rank_, score in db.execute(
            "select entry_id, award, award_name, category, rank, score from initiative_awards where call_id = ?",
            [call.id]):
        entry = get_entry(db, entry_id)
        if entry is not None:
            rows.append(AwardRow(entry, award, name, category, rank_, score))
    cats = {c.key: i for i, c in enumerate(call.definition.categories)}
    rows.sort(key=lambda r: (cats.get(r.category, 99), order.get(r.award, 99), r.rank))
    return rows
