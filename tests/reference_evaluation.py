"""The evaluation of a plan's figures as it was before #26 (one ``Measurement`` per row), and
reporting completeness as it was (further recipients found by resolving every rule for every
unit): kept as the reference the faster code in ``ccch_core.progress`` must agree with, value for
value (tests/test_evaluation_reference.py). Copied unchanged from progress.py at 10c9ac7; do not
"improve" it — its point is to be the old behaviour."""

# ruff: noqa

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlite_utils import Database

from ccch_core.model import CountScope, Indicator, IndicatorKind, Plan
from ccch_core.periods import Period, PeriodType, utc_now
from ccch_core.storage import parse_utc
from ccch_core.progress import (
    DEFAULT_GRACE_DAYS,
    Completeness,
    ExpectedReport,
    ReportState,
    _delivered,
    _due_days,
    IndicatorResult,
    MeasureContext,
    MeasureValue,
    Status,
    UnitResult,
    _subperiods,
    measurements,
)


def _value_periods(indicator: Indicator, period: Period) -> list[Period]:
    """The recording periods whose values count for ``period``."""
    if indicator.period_type.months <= period.type.months:
        return _subperiods(period, indicator.period_type)
    # A longer recording period (a yearly figure) seen from a month: use the containing period.
    return [period.rollup(indicator.period_type)]


def _plan_months(plan: Plan, period: Period) -> int:
    return sum(1 for m in period.months() if m.end_date >= plan.starts_on and m.start_date <= plan.ends_on)


def evaluate_indicator(
    db: Database,
    plan: Plan,
    indicator: Indicator,
    period: Period,
    *,
    now: dt.datetime | None = None,
    measures: Mapping[str, Callable[[MeasureContext], Mapping[str, MeasureValue]]] | None = None,
    deployment: Any = None,
    within: str | None = None,
) -> IndicatorResult:
    """Evaluate one indicator for ``period``; see :func:`evaluate_plan` for the rules.

    ``within``: only the applicable units at or below this unit (a commune's own figures).
    """
    now = now or utc_now()
    units = plan.indicator_units(indicator, period)
    if within is not None:
        units = tuple(u for u in units if plan.is_within(u.id, within))
    value_periods = _value_periods(indicator, period)
    # Per unit: values per recording period.
    per_unit: dict[str, list[tuple[Period, float | None, float | None, float | None]]] = {}
    if indicator.measure_name:
        function = (measures or {}).get(indicator.measure_name)
        if function is None:
            return IndicatorResult(
                indicator, period, None, indicator.target, Status.NO_DATA,
                tuple(UnitResult(u, None) for u in units),
                explanation=f"measure {indicator.measure_name!r} is not available (plugin not enabled?)",
            )
        # A plugin computes over the whole period at once (a quarter's satisfaction pools all
        # its answers; it is not the last month's figure).
        measure_periods = [period] if indicator.period_type.months <= period.type.months else value_periods
        for vp in measure_periods:
            computed = function(MeasureContext(deployment, indicator, vp, units))
            for unit_id, mv in computed.items():
                per_unit.setdefault(unit_id, []).append((vp, mv.value, mv.numerator, mv.denominator))
    else:
        for m in measurements(db, plan, value_periods, indicator.code):
            per_unit.setdefault(m.unit_id, []).append((m.period, m.value, m.numerator, m.denominator))

    kind = indicator.kind
    target = indicator.target
    ended = now >= period.end_utc
    unit_results: list[UnitResult] = []
    if kind is IndicatorKind.COUNT:
        months = _plan_months(plan, period)
        per_unit_expected = (target or 0) * months / indicator.target_per.months if indicator.target_per else None
        fraction = period.elapsed_fraction(now)
        for unit in units:
            values = [v for _, v, _, _ in per_unit.get(unit.id, []) if v is not None]
            total = sum(values) if values else None
            expected = per_unit_expected if indicator.scope is CountScope.EACH else None
            met = None if expected is None or total is None else indicator.comparison.holds(total, expected)
            unit_results.append(UnitResult(unit, total, expected=expected, met=met))
        have = [u for u in unit_results if u.value is not None]
        if not have:
            return IndicatorResult(indicator, period, None, _count_target(indicator, per_unit_expected, len(units)),
                                   Status.NO_DATA, tuple(unit_results), explanation="no values recorded")
        value = sum(u.value for u in have)
        if indicator.scope is CountScope.EACH:
            period_target = (per_unit_expected or 0) * len(units)
            to_date = [(per_unit_expected or 0) * fraction] * len(units)
            values_each = [u.value or 0 for u in unit_results]
            met_all = all(indicator.comparison.holds(v, per_unit_expected or 0) for v in values_each)
            on_track = all(indicator.comparison.holds(v, e) for v, e in zip(values_each, to_date))
            expected_to_date = sum(to_date)
        else:
            period_target = per_unit_expected or 0
            met_all = indicator.comparison.holds(value, period_target)
            expected_to_date = period_target * fraction
            on_track = indicator.comparison.holds(value, expected_to_date)
        if met_all:
            status = Status.MET
        elif not ended and on_track:
            status = Status.ON_TRACK
        else:
            status = Status.BEHIND
        return IndicatorResult(indicator, period, value, period_target, status, tuple(unit_results),
                               expected_to_date=None if ended else expected_to_date)

    # State-like kinds: the latest value in the period counts (DHIS2 aggregation "last").
    for unit in units:
        entries = sorted(per_unit.get(unit.id, []), key=lambda e: e[0])
        if not entries:
            unit_results.append(UnitResult(unit, None))
            continue
        _, value, num, den = entries[-1]
        met = None
        if value is not None and target is not None:
            if kind in (IndicatorKind.SHARE_OF_UNITS, IndicatorKind.YES_NO):
                met = value >= 0.5
            else:
                met = indicator.comparison.holds(value, target)
        unit_results.append(UnitResult(unit, value, num, den, met=met))
    have = [u for u in unit_results if u.value is not None or u.denominator is not None]
    if not have:
        return IndicatorResult(indicator, period, None, target, Status.NO_DATA, tuple(unit_results),
                               explanation="no values recorded")
    if kind is IndicatorKind.SHARE_OF_UNITS:
        # Units without a value count as not meeting the condition: the denominator is every
        # applicable unit, as the plan's "100% of …" means.
        value = 100.0 * sum(1 for u in unit_results if (u.value or 0) >= 0.5) / len(unit_results)
    elif kind is IndicatorKind.YES_NO:
        value = 1.0 if all((u.value or 0) >= 0.5 for u in unit_results) else 0.0
    elif kind is IndicatorKind.RATIO:
        num = sum(u.numerator or 0 for u in have)
        den = sum(u.denominator or 0 for u in have)
        value = 100.0 * num / den if den else None
    else:  # PERCENTAGE: unweighted mean of the units' values
        values = [u.value for u in have if u.value is not None]
        value = sum(values) / len(values) if values else None
    if value is None:
        return IndicatorResult(indicator, period, None, target, Status.NO_DATA, tuple(unit_results),
                               explanation="denominators are zero")
    missing = [u for u in unit_results if u.value is None and u.denominator is None]
    if target is None:
        status = Status.NO_DATA
    elif indicator.comparison.holds(value, target) and not (missing and kind in (IndicatorKind.RATIO, IndicatorKind.PERCENTAGE, IndicatorKind.YES_NO)):
        status = Status.MET
    else:
        status = Status.BEHIND
    explanation = f"{len(missing)} of {len(unit_results)} units without data" if missing else ""
    return IndicatorResult(indicator, period, value, target, status, tuple(unit_results), explanation=explanation)


def _count_target(indicator: Indicator, per_unit_expected: float | None, units: int) -> float | None:
    if per_unit_expected is None:
        return None
    return per_unit_expected * units if indicator.scope is CountScope.EACH else per_unit_expected


def evaluate_plan(
    db: Database,
    plan: Plan,
    period: Period | str,
    *,
    now: dt.datetime | None = None,
    measures: Mapping[str, Callable[[MeasureContext], Mapping[str, MeasureValue]]] | None = None,
    deployment: Any = None,
    within: str | None = None,
) -> list[IndicatorResult]:
    """Evaluate every indicator of the plan for ``period``.

    Rules (documented in docs/indicators.md):

    - share_of_units: the latest yes/no per applicable unit in the period; value = units
      meeting the condition over *all* applicable units (a unit without data does not meet it).
    - yes_no: met when every applicable unit's latest answer is yes.
    - ratio: Σ numerators / Σ denominators of the units' latest values, in percent.
    - percentage: the mean of the units' latest values.
    - count: the sum of the values recorded in the period, against the target scaled to the
      period (15 a year is 3.75 a quarter); scope "each" requires every unit to reach it. While
      the period is running, a count at or above the pro-rata expectation is "on track".
    - a ratio, percentage or yes/no with units still missing is not "met".

    ``within`` restricts every indicator to the units at or below one unit, and leaves out the
    indicators that apply to none of them.
    """
    if isinstance(period, str):
        period = Period.parse(period)
    results = [
        evaluate_indicator(db, plan, ind, period, now=now, measures=measures, deployment=deployment, within=within)
        for ind in plan.indicators
    ]
    # Within one unit, indicators that apply to none of its units are left out.
    return [r for r in results if within is None or r.units]


def further_recipients(plan: Plan, unit_id: str, ptype: PeriodType) -> tuple[str, ...]:
    """The recipients beyond the first that ``unit_id``'s reports of ``ptype`` go to, under the
    plan's tracked rules, in plan order (each one is tracked as its own expected report)."""
    primary = set()
    found: list[str] = []
    for rule in plan.tracked_rules(ptype):
        if any(u.id == unit_id for u in plan.resolve(rule.reporters)):
            primary.add(rule.to)
            found.extend(r for r in rule.recipients[1:] if r not in found)
    return tuple(r for r in found if r not in primary)


def reporting_completeness(
    db: Database, plan: Plan, period: Period | str, *, now: dt.datetime | None = None, grace_days: int | None = None
) -> Completeness:
    """Which expected reports for ``period`` came in on time, late, or not at all.

    For a longer period, reports of every shorter tracked frequency inside it count: a
    quarter's completeness covers its three monthly reports from each unit plus the quarterly
    roll-ups. Only periods within the plan are counted. A report under a rule without a due day
    is missing only ``grace_days`` after its period ends (the plan's ``report_grace_days``,
    else :data:`DEFAULT_GRACE_DAYS`). A rule with several recipients owes one report to each:
    the activity report in ccch for the first, a recorded delivery for each further one.
    """
    if isinstance(period, str):
        period = Period.parse(period)
    now = now or utc_now()
    if grace_days is None:
        grace_days = plan.report_grace_days if plan.report_grace_days is not None else DEFAULT_GRACE_DAYS
    frequencies = sorted({r.frequency for r in plan.tracked_rules()}, key=lambda t: t.months)
    rows: list[ExpectedReport] = []
    further: dict[tuple[str, PeriodType], tuple[str, ...]] = {}
    for ptype in frequencies:
        if ptype.months > period.type.months:
            continue
        due_days = _due_days(plan, ptype)
        subperiods = [period] if ptype is period.type else [
            p for p in _subperiods(period, ptype)
        ]
        for sub in subperiods:
            if sub.end_date < plan.starts_on or sub.start_date > plan.ends_on:
                continue
            units = plan.expected_reporters(sub)
            if not units:
                continue
            submitted = {
                r["unit_id"]: parse_utc(r["submitted_at"])
                for r in db.query("select unit_id, submitted_at from activity_reports where period = ?", [str(sub)])
            }
            delivered = _delivered(db, sub)
            grace_end = sub.end_utc + dt.timedelta(days=grace_days)
            for unit in units:
                day, due_assumed = due_days.get(unit.id, (None, False))
                due_at = sub.due_at(day) if day else None
                key = (unit.id, ptype)
                if key not in further:  # once per unit and frequency, not per period (a year: 12×)
                    further[key] = further_recipients(plan, unit.id, ptype)
                for recipient in (None, *further[key]):
                    at = submitted.get(unit.id) if recipient is None else delivered.get((unit.id, recipient))
                    if at is not None:
                        state = ReportState.SUBMITTED if due_at is None else (
                            ReportState.ON_TIME if at < due_at else ReportState.LATE
                        )
                    elif due_at is not None and now < due_at or due_at is None and now < grace_end:
                        state = ReportState.NOT_DUE
                    else:
                        state = ReportState.MISSING
                    rows.append(ExpectedReport(unit, sub, due_at, state, at, recipient, due_assumed))
    return Completeness(period, tuple(rows))
