"""Results: satisfaction indices and mean scores per criterion, unit, placement and period.

The **satisfaction index** of a question is the share of its answers that are 4 ("Hài lòng") or
5 ("Rất hài lòng") among all answers to it, as SIPAS reports it; the **mean score** is the mean
of the 1–5 answers. A section's (factor's) and a unit's index pool the answers of their
satisfaction questions (answer-weighted). Every figure comes with the number of answers behind it.

Figures are read from ``survey_tallies`` (counts per day, question, placement and option, kept
in each submission's transaction), so a month's indices over a million responses read a few
thousand rows. Excluded responses are not counted. Flagged responses (not yet reviewed) count in
the official figures until an officer excludes them; ``without_flagged`` leaves them out too, by
subtracting ``survey_flagged_tallies`` (the same counts for flagged responses only).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import attrs
from sqlite_utils import Database

from ccch_core.model import Plan, Unit
from ccch_core.periods import Period
from ccch_core.progress import MeasureContext, MeasureValue
from ccch_core.questions import SCALE_LABELS, QuestionType

from .definition import SurveyDefinition
from .store import (
    SATISFIED,
    Placement,
    get_version,
    list_placements,
    list_surveys,
    period_days,
)

SCALE_KEYS = ("1", "2", "3", "4", "5")
RETIRED_MARK = " (phương án không còn hỏi)"
"""Appended to the label of an option that earlier versions offered and the latest one no longer does."""


@attrs.frozen
class Score:
    """Answers to satisfaction questions: counts per scale point (1…5)."""

    counts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)

    @property
    def n(self) -> int:
        """Number of answers."""
        return sum(self.counts)

    @property
    def satisfied(self) -> int:
        """Answers 4 or 5."""
        return self.counts[3] + self.counts[4]

    @property
    def index(self) -> float | None:
        """Satisfaction index in percent (None without answers)."""
        return 100.0 * self.satisfied / self.n if self.n else None

    @property
    def mean(self) -> float | None:
        """Mean score 1–5 (None without answers)."""
        return sum((i + 1) * c for i, c in enumerate(self.counts)) / self.n if self.n else None

    def __add__(self, other: Score) -> Score:
        return Score(tuple(a + b for a, b in zip(self.counts, other.counts)))


def score_of(option_counts: dict[str, int]) -> Score:
    """A :class:`Score` from {scale option key: count}."""
    return Score(tuple(option_counts.get(k, 0) for k in SCALE_KEYS))


def total(scores: Iterable[Score]) -> Score:
    """The sum of scores."""
    result = Score()
    for score in scores:
        result = result + score
    return result


@attrs.frozen
class QuestionResult:
    """One question's figures in a scope and period."""

    key: str
    prompt: str
    section: str | None
    type: QuestionType
    score: Score
    options: tuple[tuple[str, str, int], ...] = ()
    """(option key, label, count) for single and multiple choice: the options of the latest version
    that asked the question, in its order, each labelled as that version labels it; then options
    only earlier versions offered that have answers in the scope, labelled from the latest version
    that had them and marked :data:`RETIRED_MARK` (their answers stay counted and visible)."""
    current: bool = True
    """False for a question only earlier versions asked."""
    retired: tuple[str, ...] = ()
    """Keys of the options listed that the latest version asking the question no longer offers."""


@attrs.frozen
class PlacementResult:
    """A placement's scans, responses, conversion and pooled score in the period."""

    placement: Placement
    scans: int
    responses: int
    score: Score
    flagged: int = 0
    """Responses flagged and not yet reviewed (counted in ``responses`` unless ``without_flagged``)."""

    @property
    def conversion(self) -> float | None:
        """Responses per scan, in percent (None without scans, and for kiosks, whose form resets
        in place for each citizen without a new page view)."""
        if self.placement.is_kiosk or not self.scans:
            return None
        return 100.0 * self.responses / self.scans


@attrs.frozen
class SurveyResults:
    """What the results page, the report section and the exports show."""

    survey_id: str
    title: str
    period: Period | None
    questions: tuple[QuestionResult, ...]
    sections: tuple[tuple[str, Score], ...]
    overall: Score
    units: tuple[tuple[Unit, Score, int], ...]
    """(unit, pooled score, responses) for every unit with placements in the scope."""
    placements: tuple[PlacementResult, ...]
    responses: int
    scans: int
    flagged: int = 0
    """Responses flagged and not yet reviewed in the scope and period."""
    without_flagged: bool = False
    """Whether the figures leave the flagged responses out (else: the official figures)."""

    @property
    def conversion(self) -> float | None:
        """Responses per scan over the scope's posters (kiosks left out), in percent."""
        posters = [p for p in self.placements if not p.placement.is_kiosk]
        scans = sum(p.scans for p in posters)
        return 100.0 * sum(p.responses for p in posters) / scans if scans else None

    @property
    def scale_questions(self) -> tuple[QuestionResult, ...]:
        """The satisfaction criteria."""
        return tuple(q for q in self.questions if q.type is QuestionType.SCALE5)


def all_versions(db: Database, survey_id: str) -> list[SurveyDefinition]:
    """Every version's definition, oldest first."""
    count = db.execute("select max(version) from survey_versions where survey_id = ?", [survey_id]).fetchone()[0]
    return [get_version(db, survey_id, v) for v in range(1, (count or 0) + 1)]


def tally_rows(db: Database, survey_ids: Iterable[str], period: Period | None, *,
               without_flagged: bool = False) -> Iterator[tuple]:
    """(survey, question key, placement id, option key, count) summed over the period's days; with
    ``without_flagged``, less the answers of flagged responses not yet reviewed."""
    ids = list(survey_ids)
    if not ids:
        return iter(())
    where = f"where survey_id in ({', '.join('?' * len(ids))})"
    args: list = list(ids)
    if period is not None:
        first, last = period_days(period)
        where += " and day between ? and ?"
        args += [first, last]
    group = " group by survey_id, question_key, placement_id, option_key"
    sql = f"select survey_id, question_key, placement_id, option_key, sum(n) from survey_tallies {where}{group}"
    if not without_flagged:
        return db.execute(sql, args)
    flagged = {row[:4]: row[4] for row in db.execute(
        f"select survey_id, question_key, placement_id, option_key, sum(n) from survey_flagged_tallies {where}{group}",
        args)}
    if not flagged:
        return db.execute(sql, args)
    return iter([(*row[:4], row[4] - flagged.get(tuple(row[:4]), 0)) for row in db.execute(sql, args)])


def daily_counts(db: Database, placement_ids: Iterable[int], period: Period | None) -> dict[int, tuple[int, int, int]]:
    """{placement id: (scans, responses, flagged responses not yet reviewed)} over the period."""
    ids = list(placement_ids)
    if not ids:
        return {}
    sql = ("select placement_id, sum(scans), sum(responses), sum(flagged) from survey_daily "
           f"where placement_id in ({', '.join('?' * len(ids))})")
    args: list = list(ids)
    if period is not None:
        first, last = period_days(period)
        sql += " and day between ? and ?"
        args += [first, last]
    return {r[0]: (r[1] or 0, r[2] or 0, r[3] or 0) for r in db.execute(sql + " group by placement_id", args)}


def compute_results(db: Database, plan: Plan, survey_id: str, period: Period | None, *, within: str | None = None,
                    placement_code: str | None = None, without_flagged: bool = False) -> SurveyResults:
    """Figures of a survey for ``period`` (None: all time), for the placements at or below ``within`` (None: all)
    or for one placement. The official figures count every response not excluded; ``without_flagged``
    also leaves out the flagged responses no officer has reviewed yet."""
    versions = all_versions(db, survey_id)
    current = versions[-1]
    placements = {p.id: p for p in list_placements(db, survey_id=survey_id, plan=plan, within=within)
                  if (placement_code is None or p.code == placement_code)}
    per_question: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for _, key, pid, option, n in tally_rows(db, [survey_id], period, without_flagged=without_flagged):
        if pid in placements and n:
            per_question[key][pid][option] = n
    # Labels from the current version, or from the latest version that asked the question; an
    # option's label from the latest version that offered it (check_evolution keeps its meaning).
    known: dict[str, tuple] = {}
    option_labels: dict[str, dict[str, str]] = defaultdict(dict)
    for version in versions:
        for q in version.questions:
            known[q.key] = (q, version is current)
            option_labels[q.key].update((o.key, o.label) for o in q.options)
    order = [q.key for q in current.questions] + [k for k in known if not current.has_question(k)]
    questions: list[QuestionResult] = []
    unit_scores: dict[str, Score] = defaultdict(Score)
    placement_scores: dict[int, Score] = defaultdict(Score)
    section_scores: dict[str, Score] = {}
    for key in order:
        question, is_current = known[key]
        data = per_question.get(key, {})
        if not is_current and not data:
            continue
        if question.type is QuestionType.SCALE5:
            by_placement = {pid: score_of(opts) for pid, opts in data.items()}
            score = total(by_placement.values())
            for pid, s in by_placement.items():
                unit_scores[placements[pid].unit_id] += s
                placement_scores[pid] += s
            if is_current:
                title = question.section or "Đánh giá chung"
                section_scores[title] = section_scores.get(title, Score()) + score
            questions.append(QuestionResult(key, question.prompt, question.section, question.type, score,
                                            current=is_current))
        else:
            counts: dict[str, int] = defaultdict(int)
            for opts in data.values():
                for option, n in opts.items():
                    counts[option] += n
            options = [(o.key, o.label, counts.get(o.key, 0)) for o in question.options]
            offered = {o.key for o in question.options}
            retired = [k for k in option_labels[key] if k not in offered and counts.get(k)]
            # A key no version knows cannot come from a validated submission; shown by key rather than dropped.
            retired += sorted(k for k in counts if counts[k] and k not in offered and k not in option_labels[key])
            options += [(k, option_labels[key].get(k, k) + RETIRED_MARK, counts[k]) for k in retired]
            questions.append(QuestionResult(key, question.prompt, question.section, question.type, Score(),
                                            tuple(options), current=is_current, retired=tuple(retired)))
    counts = daily_counts(db, placements, period)
    placement_results = []
    for pid, p in placements.items():
        scans, responses, flagged = counts.get(pid, (0, 0, 0))
        placement_results.append(PlacementResult(p, scans, responses - flagged if without_flagged else responses,
                                                 placement_scores.get(pid, Score()), flagged))
    placement_results = tuple(placement_results)
    unit_responses: dict[str, int] = defaultdict(int)
    for pr in placement_results:
        unit_responses[pr.placement.unit_id] += pr.responses
    plan_order = {u.id: i for i, u in enumerate(plan.units)}
    units = tuple((plan.unit(uid), unit_scores.get(uid, Score()), unit_responses.get(uid, 0))
                  for uid in sorted({p.unit_id for p in placements.values() if plan.has_unit(p.unit_id)},
                                    key=plan_order.__getitem__))
    return SurveyResults(
        survey_id=survey_id,
        title=current.title,
        period=period,
        questions=tuple(questions),
        sections=tuple(section_scores.items()),
        overall=total(q.score for q in questions if q.type is QuestionType.SCALE5),
        units=units,
        placements=placement_results,
        responses=sum(p.responses for p in placement_results),
        scans=sum(p.scans for p in placement_results),
        flagged=sum(p.flagged for p in placement_results),
        without_flagged=without_flagged,
    )


# -- measures (plan indicators with source = "plugin:survey_satisfaction") ----------------------


def _measure_surveys(deployment) -> list[str]:
    from .settings import settings_of

    wanted = settings_of(deployment).measure_surveys
    return list(wanted) if wanted else [s.id for s in list_surveys(deployment.db)]


def _scale_keys(db: Database, survey_ids: Iterable[str]) -> set[tuple[str, str]]:
    keys = set()
    for survey_id in survey_ids:
        for version in all_versions(db, survey_id):
            keys.update((survey_id, q.key) for q in version.scale_questions)
    return keys


def satisfaction_measure(context: MeasureContext) -> dict[str, MeasureValue]:
    """``survey_satisfaction``: per applicable unit, the satisfaction index (percent) of every
    satisfaction question answered through the placements at or below the unit in the period,
    with numerator (answers 4–5) and denominator (all answers), so that a ``ratio`` indicator
    pools units correctly. Units without answers get no value."""
    dep = context.deployment
    db, plan = dep.db, dep.plan
    surveys = _measure_surveys(dep)
    scale = _scale_keys(db, surveys)
    placement_unit = {p.id: p.unit_id for s in surveys for p in list_placements(db, survey_id=s)}
    by_unit: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for survey_id, key, pid, option, n in tally_rows(db, surveys, context.period):
        if (survey_id, key) not in scale or pid not in placement_unit:
            continue
        entry = by_unit[placement_unit[pid]]
        entry[1] += n
        if option in SATISFIED:
            entry[0] += n
    within = plan.sums_within(by_unit)
    values = {}
    for unit in context.units:
        sat, den = within.get(unit.id, (0, 0))
        if den:
            values[unit.id] = MeasureValue(100.0 * sat / den, numerator=sat, denominator=den)
    return values


def responses_measure(context: MeasureContext) -> dict[str, MeasureValue]:
    """``survey_responses``: per applicable unit, the number of responses received through the
    placements at or below it in the period (for ``count`` indicators such as "at least 100
    opinions a quarter")."""
    dep = context.deployment
    db, plan = dep.db, dep.plan
    surveys = _measure_surveys(dep)
    placements = {p.id: p.unit_id for s in surveys for p in list_placements(db, survey_id=s)}
    counts = daily_counts(db, placements, context.period)
    # Every placement's unit is in the roll-up (with 0 when it had no response), so a unit with
    # a placement at or below it reports 0 rather than nothing.
    per_unit: dict[str, list[int]] = {unit_id: [0] for unit_id in placements.values()}
    for pid, (_, resp, _) in counts.items():
        per_unit[placements[pid]][0] += resp
    within = plan.sums_within(per_unit)
    return {unit.id: MeasureValue(float(within[unit.id][0])) for unit in context.units if unit.id in within}


LEGEND = SCALE_LABELS
