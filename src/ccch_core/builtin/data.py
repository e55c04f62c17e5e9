"""The core's raw tables offered for export: measurements and activity report items."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..report import Column, DataScope, DataTable


def _periods_sql(scope: DataScope, column: str) -> tuple[str, list[str]]:
    if scope.period is None:
        return "", []
    periods = sorted({str(scope.period), *(str(m) for m in scope.period.months()),
                      *(str(m.rollup(t)) for m in scope.period.months() for t in type(scope.period.type)
                        if scope.period.contains(m.rollup(t)))})
    return f" and {column} in ({', '.join('?' * len(periods))})", periods


def _in_scope(deployment, scope: DataScope, unit_id: str) -> bool:
    plan = deployment.plan
    return scope.unit_id is None or (plan.has_unit(unit_id) and plan.is_within(unit_id, scope.unit_id))


def _measurement_rows(deployment, scope: DataScope):
    where, args = _periods_sql(scope, "period")
    cursor = deployment.db.execute(
        "select period, indicator, unit_id, value, numerator, denominator, note, recorded_by, recorded_at "
        f"from measurements where plan_id = ?{where} order by period, indicator, unit_id",
        [deployment.plan.id, *args],
    )
    for row in cursor:
        if _in_scope(deployment, scope, row[2]):
            yield row


def _measurement_count(deployment, scope: DataScope) -> int:
    where, args = _periods_sql(scope, "period")
    return deployment.db.execute(
        f"select count(*) from measurements where plan_id = ?{where}", [deployment.plan.id, *args]
    ).fetchone()[0]


def _activity_rows(deployment, scope: DataScope):
    where, args = _periods_sql(scope, "r.period")
    cursor = deployment.db.execute(
        "select r.period, r.unit_id, r.submitted_at, r.revision, i.category, i.count, i.title, i.link, i.task_id "
        f"from activity_items i join activity_reports r on r.id = i.report_id where 1 = 1{where} "
        "order by r.period, r.unit_id, i.id",
        args,
    )
    names = {u.id: u.name for u in deployment.plan.units}
    for row in cursor:
        if _in_scope(deployment, scope, row[1]):
            yield (row[0], row[1], names.get(row[1], row[1]), *row[2:])


def _activity_count(deployment, scope: DataScope) -> int:
    where, args = _periods_sql(scope, "r.period")
    return deployment.db.execute(
        f"select count(*) from activity_items i join activity_reports r on r.id = i.report_id where 1 = 1{where}", args
    ).fetchone()[0]


OFFICERS = ("system_admin", "plan_admin", "unit_officer")


@hookimpl
def register_data_tables(register):
    register(DataTable(
        name="measurements",
        title="Số liệu chỉ tiêu",
        columns=[Column("period", "Kỳ"), Column("indicator", "Chỉ tiêu"), Column("unit_id", "Đơn vị"),
                 Column("value", "Giá trị", "number"), Column("numerator", "Tử số", "number"),
                 Column("denominator", "Mẫu số", "number"), Column("note", "Ghi chú"),
                 Column("recorded_by", "Người nhập"), Column("recorded_at", "Thời điểm nhập", "datetime")],
        rows=_measurement_rows, count=_measurement_count, roles=OFFICERS,
    ))
    register(DataTable(
        name="activity_items",
        title="Hoạt động tuyên truyền đã báo cáo",
        columns=[Column("period", "Kỳ"), Column("unit_id", "Mã đơn vị"), Column("unit_name", "Đơn vị"),
                 Column("submitted_at", "Thời điểm nộp", "datetime"), Column("revision", "Lần nộp", "integer"),
                 Column("category", "Loại hoạt động"), Column("count", "Số lượng", "integer"),
                 Column("title", "Nội dung"), Column("link", "Đường dẫn"), Column("task_id", "Nhiệm vụ")],
        rows=_activity_rows, count=_activity_count, roles=OFFICERS,
    ))
