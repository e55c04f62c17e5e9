"""The plan dashboard: where the plan stands for a chosen period."""

from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, abort, g, render_template, request

from .. import progress
from ..model import Plan
from ..periods import Period, PeriodError, PeriodType, utc_now
from . import deployment
from .auth import login_required

__all__ = [
    "chosen_period", "period_choices",
]

bp = Blueprint("dashboard", __name__)


def period_choices(plan: Plan) -> list[tuple[str, str]]:
    """(value, label) of every period of the plan: months, quarters, halves, the year."""
    year = Period.year_of(plan.year)
    choices = [(str(year), year.label_vi)]
    for half in sorted({m.rollup(PeriodType.HALF) for m in year.months()}):
        choices.append((str(half), half.label_vi))
    for quarter in sorted({m.rollup(PeriodType.QUARTER) for m in year.months()}):
        choices.append((str(quarter), quarter.label_vi))
    for month in year.months():
        if month.end_date >= plan.starts_on and month.start_date <= plan.ends_on:
            choices.append((str(month), month.label_vi))
    return choices


def chosen_period(plan: Plan, default_type: PeriodType = PeriodType.MONTH) -> Period:
    """The ``period`` query argument, or this month (or the plan's last month once it is over).

    A malformed or out-of-plan period is a 400 with the reason in Vietnamese.
    """
    text = request.args.get("period")
    if text:
        try:
            period = Period.parse(text)
        except PeriodError:
            abort(400, description=f"Kỳ báo cáo “{text}” không hợp lệ. Dùng dạng 2024-03, 2024-Q1, 2024-H1 hoặc 2024.")
        if period.end_date < plan.starts_on or period.start_date > plan.ends_on:
            abort(400, description=f"Kỳ {period.label_vi} nằm ngoài thời gian của kế hoạch.")
        return period
    current = Period.current(default_type)
    if current.start_date > plan.ends_on:
        return Period.of_date(plan.ends_on, default_type)
    if current.end_date < plan.starts_on:
        return Period.of_date(plan.starts_on, default_type)
    return current


def task_activity(db, plan: Plan, period: Period) -> dict[str, int]:
    """How many activity items reported in ``period`` (and the periods inside it) name each task."""
    periods = [str(p) for p in {period, *period.months()} if period.contains(p)]
    counts: dict[str, int] = defaultdict(int)
    sql = (
        "select i.task_id, sum(i.count) as total from activity_items i join activity_reports r on r.id = i.report_id "
        f"where i.task_id is not null and r.period in ({', '.join('?' * len(periods))}) group by i.task_id"
    )
    for row in db.query(sql, periods):
        counts[row["task_id"]] = row["total"]
    return counts


@bp.route("/")
@login_required
def index():
    """Indicators, reporting completeness, tasks and the unit tree for the chosen period."""
    dep = deployment()
    plan = dep.plan
    period = chosen_period(plan)
    now = utc_now()
    results = progress.evaluate_plan(dep.db, plan, period, now=now, measures=dep.measures, deployment=dep)
    completeness = progress.reporting_completeness(dep.db, plan, period, now=now)
    panels = []
    for result in dep.pm.hook.dashboard_panels(deployment=dep, user=g.user, period=period):
        panels.extend(result or [])
    panels.sort(key=lambda p: p.get("order", 100))
    return render_template(
        "dashboard.html",
        period=period,
        choices=period_choices(plan),
        results=results,
        completeness=completeness,
        states=progress.ReportState,
        tasks=plan.tasks,
        task_counts=task_activity(dep.db, plan, period),
        panels=panels,
    )


@bp.route("/don-vi")
@login_required
def units():
    """The unit tree of the plan, with kinds, retirements and mergers."""
    return render_template("units.html")
