"""Measures that feed plan indicators from the contest (the ``register_measures`` hook).

A plan can follow contest participation as an indicator::

    [[indicators]]
    code = "I9"
    text = "Số người tham gia cuộc thi tìm hiểu về CCHC"
    kind = "count"
    source = "plugin:contest_participants"
    applies_to = ["cac-xa-thi-tran"]
    period_type = "month"

``contest_participants``: for each applicable unit, the people (of every contest of the
deployment) who chose that unit or a unit below it and submitted an attempt in the period — an
attempt submitted on 31 March at 23:30 Vietnam time counts for March. Disqualified attempts and
erased participants do not count.

``contest_participation_rate``: the same people per 100 of the unit's ``headcount`` (numerator and
denominator given, so a plan-wide rate is the sum of people over the sum of headcounts); units
without a headcount have no value.
"""

from __future__ import annotations

from ccch_core.progress import MeasureContext, MeasureValue
from ccch_core.storage import utc_now_iso

from .sql import query


def _people_by_unit(context: MeasureContext) -> dict[str, int]:
    db = context.deployment.db
    start = utc_now_iso(context.period.start_utc)
    end = utc_now_iso(context.period.end_utc)
    counts: dict[str, int] = {}
    # Distinct people per chosen unit; a person counts once per unit even with several attempts.
    for row in query(db, 
        "select unit_id, count(distinct participant_id) as n from contest_attempts where status = 'submitted' "
        "and disqualified = 0 and submitted_at >= ? and submitted_at < ? group by unit_id", [start, end]):
        if row["unit_id"]:
            counts[row["unit_id"]] = row["n"]
    return counts


def _rolled_up(context: MeasureContext) -> dict[str, int]:
    plan = context.deployment.plan
    counts = _people_by_unit(context)
    within = plan.sums_within({unit_id: (n,) for unit_id, n in counts.items()})
    return {unit.id: int(within[unit.id][0]) if unit.id in within else 0 for unit in context.units}


def participants_measure(context: MeasureContext) -> dict[str, MeasureValue]:
    """People who took part, per applicable unit (units with nobody are reported as 0)."""
    return {unit_id: MeasureValue(float(n)) for unit_id, n in _rolled_up(context).items()}


def rate_measure(context: MeasureContext) -> dict[str, MeasureValue]:
    """People who took part per 100 of the unit's headcount (units with a headcount only)."""
    out = {}
    counts = _rolled_up(context)
    for unit in context.units:
        if unit.headcount:
            n = counts.get(unit.id, 0)
            out[unit.id] = MeasureValue(100.0 * n / unit.headcount, numerator=float(n), denominator=float(unit.headcount))
    return out
