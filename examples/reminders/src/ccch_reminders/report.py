"""The reminder log in periodic reports (a section) and in raw data exports (a data table)."""

from __future__ import annotations

from ccch_core.report import (
    Column,
    DataScope,
    DataTable,
    Paragraph,
    ReportRequest,
    Section,
    Table,
    lower_first,
)

from .reminders import CHANNELS, OFFICE_ROLES, reminders_sent


def reminder_section(report: ReportRequest) -> Section:
    """"Nhắc nhở báo cáo": the reminders sent during the report's period, within its unit scope."""
    plan, period = report.plan, report.period
    sent = [r for r in reminders_sent(report.deployment.db, period.start_utc, period.end_utc)
            if report.includes(r.unit_id)]
    if not sent:
        text = f"Trong {lower_first(period.label_vi)}, không có lượt nhắc báo cáo nào."
        return Section("nhac_bao_cao", "Nhắc nhở báo cáo", [Paragraph(text)], order=35)
    units = len({r.unit_id for r in sent})
    text = f"Trong {lower_first(period.label_vi)}, đã nhắc báo cáo {len(sent)} lượt tới {units} đơn vị."
    table = Table(
        key="nhac_bao_cao",
        title=f"Các lượt nhắc báo cáo — {period.label_vi}",
        columns=[Column("don_vi", "Đơn vị"), Column("bao_cao", "Báo cáo"), Column("hinh_thuc", "Hình thức"),
                 Column("ghi_chu", "Ghi chú"), Column("nguoi_nhac", "Người nhắc"),
                 Column("thoi_diem", "Thời điểm nhắc", "datetime")],
        rows=[(plan.unit(r.unit_id).name, r.period.label_vi, r.channel_label, r.note or "", r.sent_by or "",
               r.sent_at) for r in sent],
    )
    return Section("nhac_bao_cao", "Nhắc nhở báo cáo", [Paragraph(text), table], order=35)


def _where(scope: DataScope) -> tuple[str, list[str]]:
    """SQL restricting the reminders to the months of ``scope.period`` (all when None)."""
    if scope.period is None:
        return "", []
    months = [str(m) for m in scope.period.months()]
    return f" where period in ({', '.join('?' * len(months))})", months


def reminder_rows(deployment, scope: DataScope):
    """Stream the log row by row (a generator over a cursor), within the scope's unit and period."""
    plan = deployment.plan
    names = {u.id: u.name for u in plan.units}
    where, args = _where(scope)
    cursor = deployment.db.execute(
        f"select id, period, unit_id, channel, note, sent_by, sent_at from reminders{where} "
        "order by period, sent_at, id",
        args,
    )
    for id_, period, unit_id, channel, note, sent_by, sent_at in cursor:
        if scope.unit_id is None or plan.is_within(unit_id, scope.unit_id):
            yield (id_, period, unit_id, names.get(unit_id, unit_id), CHANNELS.get(channel, channel), note,
                   sent_by, sent_at)


def reminder_count(deployment, scope: DataScope) -> int:
    """How many rows :func:`reminder_rows` yields at most (for progress bars)."""
    where, args = _where(scope)
    return deployment.db.execute(f"select count(*) from reminders{where}", args).fetchone()[0]


REMINDERS_TABLE = DataTable(
    name="reminders",
    title="Nhật ký nhắc báo cáo",
    columns=[Column("id", "STT", "integer"), Column("period", "Báo cáo tháng"), Column("unit_id", "Mã đơn vị"),
             Column("unit_name", "Đơn vị"), Column("channel", "Hình thức"), Column("note", "Ghi chú"),
             Column("sent_by", "Người nhắc"), Column("sent_at", "Thời điểm nhắc", "datetime")],
    rows=reminder_rows,
    count=reminder_count,
    roles=tuple(role.value for role in OFFICE_ROLES),
)
