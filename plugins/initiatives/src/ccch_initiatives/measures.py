"""Measures that feed plan indicators from the initiative-writing contest (``register_measures``).

A plan can follow participation as an indicator::

    [[indicators]]
    code = "I10"
    text = "Số sáng kiến về CCHC tham gia cuộc thi"
    kind = "count"
    target = 1
    target_per = "year"
    source = "plugin:initiatives_entries"
    applies_to = ["cac-xa-thi-tran"]
    period_type = "year"

``initiatives_entries``: for each applicable unit, the entries (of every call) submitted in the
period by that unit or a unit below it — an entry sent at 23:30 on 31 December, Vietnam time,
counts for that year. Withdrawn entries do not count. ``initiatives_units``: 1 for a unit that
sent at least one entry in the period (itself or a unit below it), else 0 — with ``kind =
"percentage"`` and ``applies_to`` a group, the share of units that took part.
"""

from __future__ import annotations

from ccch_core.progress import MeasureContext, MeasureValue
from ccch_core.storage import utc_now_iso


def _rolled_up(context: MeasureContext) -> dict[str, int]:
    plan = context.deployment.plan
    start, end = utc_now_iso(context.period.start_utc), utc_now_iso(context.period.end_utc)
    counts = dict(context.deployment.db.execute(
        "select unit_id, count(*) from initiative_entries where status = 'submitted' and submitted_at >= ? and "
        "submitted_at < ? group by unit_id", [start, end]).fetchall())
    within = plan.sums_within({unit_id: (n,) for unit_id, n in counts.items()})
    return {unit.id: int(within[unit.id][0]) if unit.id in within else 0 for unit in context.units}


def entries_measure(context: MeasureContext) -> dict[str, MeasureValue]:
    """Entries per applicable unit (units without any are reported as 0)."""
    return {unit_id: MeasureValue(float(n)) for unit_id, n in _rolled_up(context).items()}


def units_measure(context: MeasureContext) -> dict[str, MeasureValue]:
    """1 for a unit with at least one entry in the period, else 0 (numerator/denominator given)."""
    return {unit_id: MeasureValue(1.0 if n else 0.0, numerator=1.0 if n else 0.0, denominator=1.0)
            for unit_id, n in _rolled_up(context).items()}
