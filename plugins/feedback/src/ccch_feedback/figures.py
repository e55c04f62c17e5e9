"""Figures for the plan: answered on time per unit (measures), the report section, the data
table for exports, and the dashboard panel's overdue counts.

An item counts in a period when it was received in it (Vietnam days). Of those, the ones that
are *due* — answered, or still open past their due day — form the denominator; the ones answered
by their due day the numerator. Items still open and not yet due are not counted yet; refused
and merged items are not counted at all.
"""

from __future__ import annotations

import datetime as dt

from ccch_core.periods import Period
from ccch_core.progress import MeasureContext, MeasureValue
from ccch_core.report import Column, DataTable, Heading, Paragraph, Section, Table
from ccch_core.text import sort_key

from .settings import KIND_LABELS, REQUESTERS
from .store import today_local


def _tallies(db, period: Period, today: dt.date, *, requester: str | None = None) -> dict[str | None, tuple[int, int, int, int]]:
    """Per assigned unit: (received, answered, answered on time, overdue and open) of the items
    received in ``period``."""
    sql = ("select unit_id, count(*), sum(status = 'answered'), sum(status = 'answered' and on_time = 1), "
           "sum(status in ('new', 'assigned', 'drafted') and due_day < ?) from feedback_items "
           "where received_day >= ? and received_day <= ? and status not in ('refused', 'merged')")
    params = [today.isoformat(), period.start_date.isoformat(), period.end_date.isoformat()]
    if requester:
        sql += " and requester = ?"
        params.append(requester)
    sql += " group by unit_id"
    return {row[0]: tuple(int(v or 0) for v in row[1:]) for row in db.execute(sql, params)}


def _measure(context: MeasureContext, requester: str | None) -> dict[str, MeasureValue]:
    dep = context.deployment
    plan = dep.plan
    tallies = _tallies(dep.db, context.period, today_local(), requester=requester)
    within = plan.sums_within({unit_id: (in_time, answered + overdue)
                               for unit_id, (_, answered, in_time, overdue) in tallies.items()})
    values = {}
    for unit in context.units:
        on_time, due = within.get(unit.id, (0, 0))
        if due:
            values[unit.id] = MeasureValue(100.0 * on_time / due, float(on_time), float(due))
    return values


def on_time_measure(context: MeasureContext) -> dict[str, MeasureValue]:
    """``feedback_on_time``: per applicable unit, the share (%) of the items assigned to it or the
    units below it, received in the period and due, that were answered by their due day."""
    return _measure(context, None)


def business_on_time_measure(context: MeasureContext) -> dict[str, MeasureValue]:
    """``feedback_business_on_time``: the same for items sent by businesses and organisations
    (target I6: businesses get answers to their questions online)."""
    return _measure(context, "business")


def _rate(on_time: int, due: int) -> float | None:
    return round(100.0 * on_time / due, 1) if due else None


def report_section(request) -> list[Section]:
    """The report's section "Hỏi đáp, phản ánh kiến nghị": per unit, received, answered, on time,
    overdue and the on-time rate, for the report's period and unit scope."""
    dep, plan = request.deployment, request.plan
    db = dep.db
    if db.execute("select 1 from feedback_items limit 1").fetchone() is None:
        return []
    tallies = _tallies(db, request.period, today_local(request.now))
    rows = []
    totals = [0, 0, 0, 0]
    def by_name(item) -> tuple:
        # Units in Vietnamese order of their names (not of their ids); the unassigned ones last.
        unit_id = item[0]
        if unit_id is None:
            return (1, ())
        return (0, sort_key(plan.unit(unit_id).name if plan.has_unit(unit_id) else unit_id))

    for unit_id, (received, answered, on_time, overdue) in sorted(tallies.items(), key=by_name):
        if unit_id is None:
            if request.unit is not None:
                continue
            name = "Chưa giao đơn vị"
        elif not request.includes(unit_id):
            continue
        else:
            name = plan.unit(unit_id).name if plan.has_unit(unit_id) else unit_id
        rows.append((name, received, answered, on_time, overdue, _rate(on_time, answered + overdue)))
        for i, v in enumerate((received, answered, on_time, overdue)):
            totals[i] += v
    if not rows:
        return []
    rows.append(("Tổng", *totals, _rate(totals[2], totals[1] + totals[3])))
    business = _tallies(db, request.period, today_local(request.now), requester="business")
    b_on_time = sum(v[2] for u, v in business.items() if u is None or request.includes(u))
    b_due = sum(v[1] + v[3] for u, v in business.items() if u is None or request.includes(u))
    table = Table("feedback_units", "Tiếp nhận và trả lời theo đơn vị",
                  (Column("unit", "Đơn vị"), Column("received", "Tiếp nhận", "integer"),
                   Column("answered", "Đã trả lời", "integer"), Column("on_time", "Đúng hạn", "integer"),
                   Column("overdue", "Quá hạn chưa trả lời", "integer"),
                   Column("rate", "Tỷ lệ đúng hạn", "percent")), rows)
    rate = _rate(b_on_time, b_due)
    business_text = (f"Doanh nghiệp, tổ chức: {b_on_time}/{b_due} câu hỏi, phản ánh đến hạn được trả lời đúng hạn"
                     f" ({rate:.1f}%)." if rate is not None else "Chưa có câu hỏi của doanh nghiệp, tổ chức đến hạn.")
    blocks = (Heading("Hỏi đáp, phản ánh kiến nghị", 1),
              Paragraph("Số câu hỏi, phản ánh, kiến nghị tiếp nhận trong kỳ; thời hạn tính theo ngày làm việc."),
              table, Paragraph(business_text))
    return [Section("feedback", "Hỏi đáp, phản ánh kiến nghị", blocks, order=60, source="feedback")]


ITEM_COLUMNS = (
    Column("code", "Mã theo dõi"), Column("kind", "Loại"), Column("requester", "Người gửi"),
    Column("field", "Lĩnh vực"), Column("unit_id", "Đơn vị trả lời"), Column("status", "Trạng thái"),
    Column("received_day", "Ngày tiếp nhận", "date"), Column("due_day", "Hạn trả lời", "date"),
    Column("answered_day", "Ngày trả lời", "date"), Column("on_time", "Đúng hạn"),
    Column("published", "Công khai"), Column("asked_count", "Số lượt hỏi", "integer"),
)


def _where(dep, scope) -> tuple[str, list]:
    where, params = [], []
    if scope is not None and scope.period is not None:
        where.append("received_day >= ? and received_day <= ?")
        params += [scope.period.start_date.isoformat(), scope.period.end_date.isoformat()]
    if scope is not None and scope.unit_id is not None:
        plan = dep.plan
        units = [scope.unit_id, *(u.id for u in plan.descendants(scope.unit_id))] if plan.has_unit(scope.unit_id) \
            else [scope.unit_id]
        where.append(f"unit_id in ({', '.join('?' for _ in units)})")
        params += units
    return (" where " + " and ".join(where)) if where else "", params


def item_rows(dep, scope):
    """The items without personal data, one tuple at a time (a cursor, never a list)."""
    where, params = _where(dep, scope)
    cursor = dep.db.execute(
        "select code, kind, requester, field, unit_id, status, received_day, due_day, answered_day, on_time, "
        f"published, asked_count from feedback_items{where} order by id", params)
    for row in cursor:
        (code, kind, requester, field, unit_id, status, received, due, answered, on_time, published, asked) = row
        yield (code, KIND_LABELS[kind], REQUESTERS[requester], field, unit_id, status,
               dt.date.fromisoformat(received), dt.date.fromisoformat(due),
               dt.date.fromisoformat(answered) if answered else None,
               None if on_time is None else ("có" if on_time else "không"), "có" if published else "không", asked)


def item_count(dep, scope) -> int:
    """How many rows :func:`item_rows` yields."""
    where, params = _where(dep, scope)
    return dep.db.execute(f"select count(*) from feedback_items{where}", params).fetchone()[0]


DATA_TABLES = (
    DataTable("feedback_items", "Câu hỏi, phản ánh, kiến nghị (không có thông tin cá nhân)", ITEM_COLUMNS,
              rows=item_rows, count=item_count, roles=("system_admin", "plan_admin", "unit_officer")),
)
