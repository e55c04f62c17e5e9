"""The plan dashboard: where the plan stands for a chosen period."""

from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, abort, g, render_template, request

from .. import charts, levels, progress
from ..accounts import Role
from ..model import Plan
from ..periods import Period, PeriodError, PeriodType, to_local, utc_now
from . import deployment
from .auth import login_required
from .params import page_arg, search_arg
from .plan_choice import chosen_plan, keep_plan_choice, plan_choice

__all__ = [
    "chosen_period", "levels_context", "period_choices", "viewing_scope",
]

bp = keep_plan_choice(Blueprint("dashboard", __name__))


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


def latest_month_with_data(db, plan: Plan) -> Period | None:
    """The last month within the plan's span for which a measurement or an activity report was
    recorded, or None."""
    first, last = str(Period.of_date(plan.starts_on)), str(Period.of_date(plan.ends_on))
    row = db.execute(
        "select max(period) from (select period from measurements where plan_id = ? and period between ? and ? "
        "and length(period) = 7 union all select period from activity_reports where period between ? and ? "
        "and length(period) = 7)", [plan.id, first, last, first, last]).fetchone()
    if not row or not row[0]:
        return None
    try:
        return Period.parse(row[0])
    except PeriodError:
        return None


def default_period(plan: Plan, default_type: PeriodType = PeriodType.MONTH, db=None) -> tuple[Period, str | None]:
    """The period a page opens on when none is asked for, and a sentence saying why when it is
    not the current one.

    Within the plan's span: the current period. After it: the latest month that has data (with
    ``db``), else the plan's last period — not "Tháng 12/2024" with every indicator empty and
    every report overdue. Before it: the plan's first period.
    """
    current = Period.current(default_type)
    if current.start_date > plan.ends_on:
        latest = latest_month_with_data(db, plan) if db is not None else None
        if latest is not None:
            period = latest if default_type is PeriodType.MONTH else latest.rollup(default_type)
            return period, (f"Kế hoạch đã kết thúc ngày {plan.ends_on:%d/%m/%Y}; đang xem {period.label_vi.lower()}, "
                            "kỳ gần nhất có số liệu. Chọn kỳ khác ở ô Kỳ báo cáo.")
        period = Period.of_date(plan.ends_on, default_type)
        return period, (f"Kế hoạch đã kết thúc ngày {plan.ends_on:%d/%m/%Y} và chưa có số liệu; đang xem "
                        f"{period.label_vi.lower()}, kỳ cuối của kế hoạch.")
    if current.end_date < plan.starts_on:
        period = Period.of_date(plan.starts_on, default_type)
        return period, (f"Kế hoạch bắt đầu ngày {plan.starts_on:%d/%m/%Y}; đang xem {period.label_vi.lower()}, "
                        "kỳ đầu của kế hoạch.")
    return current, None


def chosen_period(plan: Plan, default_type: PeriodType = PeriodType.MONTH, db=None) -> Period:
    """The ``period`` query argument, or :func:`default_period` (this month; once the plan is
    over, its latest month with data when ``db`` is given, else its last month).

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
    return default_period(plan, default_type, db)[0]


def chosen_plan_and_period(dep, default_type: PeriodType = PeriodType.MONTH) -> tuple[Plan, Period, str | None]:
    """The plan (:func:`~ccch_core.web.plan_choice.chosen_plan`) and the period a page of that
    plan shows, with :func:`default_period`'s sentence when none was asked for. A period asked
    for together with another plan but outside that plan's span (the chooser sends this year's
    month with next year's plan) opens the chosen plan's default period rather than a 400."""
    plan = chosen_plan(dep)
    asked = request.args.get("period")
    if asked and not (request.args.get("plan") and period_outside(plan, asked)):
        return plan, chosen_period(plan, default_type, dep.db), None
    return (plan, *default_period(plan, default_type, dep.db))


def plan_months(plan: Plan) -> list[Period]:
    """The months of the plan's span, in order."""
    return [m for m in Period.year_of(plan.year).months()
            if m.end_date >= plan.starts_on and m.start_date <= plan.ends_on]


_CHARTS_CACHE: dict[tuple, dict[str, object]] = {}
_CHARTS_CACHE_SIZE = 64


def database_version(db) -> tuple[int, int]:
    """:func:`ccch_core.progress.database_version`: equal versions, nothing in any table (the
    core's or a plugin's) has changed since (but the month figures stored for the trends)."""
    return progress.database_version(db)


def dashboard_charts(dep, plan: Plan, period: Period, results, now, level: levels.Level | None = None,
                     rows: tuple = (), figures: dict[Period, dict[str, float | None]] | None = None
                     ) -> dict[str, object]:
    """The dashboard's pictures (server-rendered SVG, :mod:`ccch_core.charts`): the year's grid of
    units × months by report state, progress toward each target in ``period``, and each
    indicator's trend over the plan's months up to the end of ``period``.

    The trends take each month's figures (:func:`trend_figures`); the pictures are kept per
    process until anything in the database changes or the hour turns (a due date may pass): the
    same for every reader looking from the same unit at the same page of rows.

    The grid has one row per report of a small scope, one row per unit one level below a large
    one (``level``'s mode, ``rows`` the page shown): never the whole plan's 3,321 communes.
    ``figures``: the trend's months' figures when the request has them already (:func:`trend_figures`)."""
    scope = level.scope.id if level is not None and level.scope is not None else None
    shown_rows = tuple(getattr(r, "unit", r).id for r in rows) if level is not None and level.mode == "units" else ()
    key = (str(dep.config.database_path), id(dep.db.conn), plan.id, str(period), database_version(dep.db),
           to_local(now).strftime("%Y%m%d%H"), scope, level.mode if level else None, shown_rows)
    cached = _CHARTS_CACHE.get(key)
    if cached is not None:
        return cached
    if len(_CHARTS_CACHE) >= _CHARTS_CACHE_SIZE:
        _CHARTS_CACHE.clear()
    _CHARTS_CACHE[key] = drawn = _draw_charts(dep, plan, period, results, now, level, rows, figures)
    return drawn


def _draw_charts(dep, plan: Plan, period: Period, results, now, level=None, rows=(), figures=None) -> dict[str, object]:
    months = plan_months(plan)
    year = Period.year_of(plan.year)
    title = f"Báo cáo hằng tháng của các đơn vị năm {plan.year}"
    if level is None:
        grid = charts.report_grid_chart(progress.reporting_completeness(dep.db, plan, year, now=now), months,
                                        title=title)
    else:
        # One row per unit one level below (a large scope, the page of rows shown) or per unit
        # that owes reports (a small one), counted without one object per report.
        scope_id = level.scope.id if level.scope is not None else None
        if level.mode == "units":
            units = ([t.unit for t in rows if isinstance(t, levels.Tally)]  # a filtered list: the first page
                     or [t.unit for t in level.tallies[:levels.PAGE_SIZE]])
        else:
            units = list({r.unit.id: r.unit for r in level.reports if r.recipient is None}.values())
        counted = levels.monthly_counts(dep.db, plan, months, levels.row_finder(plan, [u.id for u in units], scope_id),
                                        now=now)
        own = " (riêng)" if level.mode == "units" else ""
        grid = charts.level_grid_chart(
            [(u.name + (own if u.id == scope_id else ""), counted.get(u.id, {})) for u in units], months, title=title)
    shown = [m for m in months if m.start_date <= period.end_date] or months[:1]
    if figures is None or any(m not in figures for m in shown if m != period):
        figures = trend_figures(dep, plan, period, now)
    own = {r.indicator.code: r.value for r in results}
    by_month = [own if m == period else figures[m] for m in shown]
    trends = []
    for i, result in enumerate(results):
        if result.indicator.kind.value == "yes_no":
            continue
        code = result.indicator.code
        points = [charts.TrendPoint(m, values[code]) for m, values in zip(shown, by_month, strict=True)
                  if code in values]
        trends.append((result, charts.trend_chart(result, points, ident=f"xu-huong-{i}")))
    return {
        "grid": grid,
        "progress": charts.progress_chart(results, title=f"Tiến độ đạt mục tiêu — {period.label_vi}"),
        "trends": trends,
    }


_MONTHS_CACHE: dict[tuple, dict[str, float | None]] = {}
_MONTHS_CACHE_SIZE = 512


def _measured_figures(dep, plan: Plan, month: Period, now) -> dict[str, float | None]:
    """A month's figures of the indicators a plugin measures (survey satisfaction, contest
    turnout), which read the plugin's tables: kept per process, for a month not yet over until
    anything in the database changes; a month that is over no longer gets answers, so its
    figures are kept for the hour (as the charts are), which bounds how long an erasure or an
    import of old answers takes to show."""
    measured = [i for i in plan.indicators if i.measure_name]
    if not measured:
        return {}
    stamp = to_local(now).strftime("%Y%m%d%H") if now >= month.end_utc else database_version(dep.db)
    key = (str(dep.config.database_path), id(dep.db.conn), plan.id, str(month), stamp)
    cached = _MONTHS_CACHE.get(key)
    if cached is None:
        if len(_MONTHS_CACHE) >= _MONTHS_CACHE_SIZE:
            _MONTHS_CACHE.clear()
        cached = _MONTHS_CACHE[key] = {
            i.code: progress.evaluate_indicator(dep.db, plan, i, month, now=now, measures=dep.measures,
                                                deployment=dep).value for i in measured}
    return cached


def trend_figures(dep, plan: Plan, period: Period, now) -> dict[Period, dict[str, float | None]]:
    """The figures of each month the trends of ``period`` show (the plan's months up to its
    end, but ``period`` itself, whose own figures the page has), per indicator code: the
    measured ones from :func:`ccch_core.progress.month_figures` (stored in the database, so a
    server just started reads them instead of evaluating twelve months; a month whose data moved
    is evaluated again), the plugins' from :func:`_measured_figures`.

    For a year, half or quarter the dashboard asks for them before it evaluates ``period``: a
    month evaluated here keeps its measurement rows, so a period seen when none of its months'
    figures are stored is then built from those rows instead of read from the measurements
    again. For a month, only when its pictures are not kept."""
    shown = [m for m in plan_months(plan) if m.start_date <= period.end_date and m != period]
    figures = progress.month_figures(dep.db, plan, shown, now=now)
    for month in shown:
        measured = _measured_figures(dep, plan, month, now)
        if measured:
            figures[month] = {**figures[month], **measured}
    return figures


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
    plan, period, period_note = chosen_plan_and_period(dep)
    now = utc_now()
    # A longer period's trend months first (see trend_figures); a month's only if its pictures
    # are not kept (its own figures do not come from the other months' rows).
    figures = trend_figures(dep, plan, period, now) if period.type is not PeriodType.MONTH else None
    results = progress.evaluate_plan(dep.db, plan, period, now=now, measures=dep.measures, deployment=dep)
    completeness = progress.reporting_completeness(dep.db, plan, period, now=now)
    panels = []
    # A panel reads deployment.plan: the year the reader chose (?plan=), not always the default.
    for result in dep.pm.hook.dashboard_panels(deployment=dep.with_plan(plan), user=g.user, period=period):
        panels.extend(result or [])
    panels.sort(key=lambda p: p.get("order", 100))
    level_ctx = levels_context(plan, completeness)
    return render_template(
        "dashboard.html",
        **level_ctx,
        period=period,
        choices=period_choices(plan),
        results=results,
        completeness=completeness,
        states=progress.ReportState,
        tasks=plan.tasks,
        task_counts=task_activity(dep.db, plan, period),
        panels=panels,
        period_note=period_note,
        charts=dashboard_charts(dep, plan, period, results, now, level_ctx["level"], level_ctx["rows"].items,
                                figures),
        **plan_choice(plan, dep),
    )


STATE_FILTERS = {
    "missing": (progress.ReportState.MISSING,),
    "late": (progress.ReportState.LATE,),
    "not_due": (progress.ReportState.NOT_DUE,),
    "received": (progress.ReportState.ON_TIME, progress.ReportState.LATE, progress.ReportState.SUBMITTED),
}
"""The ``state`` filter of the reports tables: overdue, late, not yet due, received."""


def viewing_scope(plan: Plan, small: bool = False) -> str | None:
    """The unit a page of reports looks from: ``?unit=`` when given, else the reader's own scope
    (a unit officer's unit; the whole plan, None, for the other roles). In a ``small``
    deployment (every report fits one list) a unit officer too sees the whole plan's list, as
    before pages were sized by level: aggregation must not hide what a small plan shows.

    An unknown unit is a 404. A unit officer may look only at or below their unit (403), as for
    every unit's data. The other roles may look from any unit: the pages show them each
    unit's report state already (the plan-wide picture), and looking from a unit only narrows it.
    """
    unit_id = request.args.get("unit") or None
    if unit_id is not None:
        if len(unit_id) > 200 or not plan.has_unit(unit_id):
            abort(404, description="Không có đơn vị này trong kế hoạch.")
        if g.user.role is Role.UNIT_OFFICER and not g.user.can_see_unit(plan, unit_id):
            abort(403)
        return unit_id
    if g.user.role is Role.UNIT_OFFICER and g.user.unit_id and not small:
        if not plan.has_unit(g.user.unit_id):  # another year's plan (?plan=) without their unit
            abort(404, description=f"Đơn vị của anh/chị không có trong “{plan.title}”: chọn kế hoạch của năm khác.")
        return g.user.unit_id
    return None


def levels_context(plan: Plan, completeness: progress.Completeness) -> dict[str, object]:
    """What the reports table of a page needs (``_completeness.html``): the level seen from
    :func:`viewing_scope`, and the page of rows the request asks for — rows per unit one level
    below (a large scope), each report (a small one), or the reports matching ``?q=`` (a unit's
    name, searched) and ``?state=`` (missing, late, not_due, received), paginated by ``?trang=``.
    """
    small = len({r.unit.id for r in completeness.reports}) <= levels.LIST_LIMIT
    scope_id = viewing_scope(plan, small)
    query = search_arg("q")
    state = request.args.get("state") or ""
    if state and state not in STATE_FILTERS:
        abort(400, description="Tình trạng không hợp lệ: chọn chưa nộp, trễ hạn, chưa đến hạn hoặc đã nộp.")
    level = levels.level_view(plan, completeness, scope_id, descend=request.args.get("unit") is None)
    if query or state:
        reports = list(level.reports)
        if state:
            wanted = STATE_FILTERS[state]
            reports = [r for r in reports if r.state in wanted]
        if query:
            ids = {u.id for u in levels.search_units(plan, query, only={r.unit.id for r in reports})}
            reports = [r for r in reports if r.unit.id in ids]
        shown = "filtered"
        items = reports
    elif level.mode == "units":
        shown, items = "units", list(level.tallies)
    else:
        shown, items = "list", list(level.reports)
    size = levels.PAGE_SIZE if shown == "units" else levels.LIST_PAGE_SIZE
    return {"level": level, "rows": levels.paginate(items, page_arg("trang"), size), "shown": shown, "query": query,
            "state": state, "state_filters": STATE_FILTERS}


def period_outside(plan: Plan, text: str) -> bool:
    """Whether the period ``text`` names lies outside ``plan``'s span (False when it does not parse:
    chosen_period says what is wrong with it). The dashboard and the reports list share it."""
    try:
        period = Period.parse(text)
    except PeriodError:
        return False  # chosen_period says what is wrong with it
    return period.end_date < plan.starts_on or period.start_date > plan.ends_on


TREE_LIMIT = 300
"""A plan with at most this many units shows its whole tree on the units page (Đức Thọ: 113);
a larger one is browsed one level at a time."""


@bp.route("/don-vi")
@login_required
def units():
    """The plan's units, with kinds, retirements and mergers: the whole tree for a small plan;
    for a large one, one unit's children at a time (``?unit=``, paginated by ``?trang=``) with
    its path from the root, and a search by name (``?q=``, tones optional). Another year's plan
    is chosen with ``?plan=`` (the page says which, with a chooser)."""
    dep = deployment()
    plan = chosen_plan(dep)
    choice = plan_choice(plan, dep)
    query = search_arg("q")
    unit_id = request.args.get("unit") or None
    if unit_id is not None and (len(unit_id) > 200 or not plan.has_unit(unit_id)):
        abort(404, description="Không có đơn vị này trong kế hoạch.")
    page = page_arg("trang")
    if query:
        found = levels.search_units(plan, query, within=unit_id)
        return render_template("units.html", mode="search", query=query, rows=levels.paginate(found, page),
                               scope=plan.unit(unit_id) if unit_id else None, **choice)
    if unit_id is None and len(plan.units) <= TREE_LIMIT:
        return render_template("units.html", mode="tree", query="", rows=None, scope=None, **choice)
    scope = plan.unit(unit_id) if unit_id else None
    children = plan.children(unit_id) if unit_id else plan.roots()
    return render_template("units.html", mode="level", query="", scope=scope,
                           path=[*reversed(plan.ancestors(unit_id)), scope] if scope else [],
                           rows=levels.paginate(children, page), **choice)


@bp.route("/don-vi/tim.json")
@login_required
def unit_search_json():
    """Units matching ``?q=`` as JSON, for a unit picker's suggestions (progressive enhancement:
    the picker works without it). ``?scope=mine`` keeps the units whose data the reader may see;
    at most 20, each ``{"id", "name", "in"}`` (``in``: the unit above it, to tell apart two
    communes of the same name). ``?plan=`` searches another year's plan."""
    plan = chosen_plan(deployment())
    query = search_arg("q")
    found = levels.search_units(plan, query, limit=400) if len(query) >= 2 else []
    if request.args.get("scope") == "mine":
        found = [u for u in found if g.user.can_see_unit(plan, u.id)]
    return {"units": [{"id": u.id, "name": u.name, "in": plan.unit(u.parent).name if u.parent else ""}
                      for u in found[:20]]}
