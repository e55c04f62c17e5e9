"""The initiative-writing contest in the periodic reports (``report_sections``): entries sent in
the period by unit, within the report's unit scope, and the awards of calls whose results were
published in the period. Every exporter (DOCX in the Decree 30/2020 layout, XLSX, CSV…) renders it."""

from __future__ import annotations

from ccch_core.report import (
    Column,
    Paragraph,
    ReportRequest,
    Section,
    Table,
    lower_first,
)
from ccch_core.storage import utc_now_iso
from ccch_core.text import sort_key

from .calls import list_calls
from .judging import awards_of


def initiatives_section(report: ReportRequest) -> Section | None:
    db, plan, period = report.deployment.db, report.plan, report.period
    start, end = utc_now_iso(period.start_utc), utc_now_iso(period.end_utc)
    counts: dict[str, int] = {}
    for unit_id, n in db.execute("select unit_id, count(*) from initiative_entries where status = 'submitted' "
                                 "and submitted_at >= ? and submitted_at < ? group by unit_id", [start, end]):
        if plan.has_unit(unit_id) and report.includes(unit_id):
            counts[unit_id] = n
    published = [c for c in list_calls(db) if c.results_published_at and start <= c.results_published_at < end]
    if not counts and not published:
        return None
    blocks = []
    when = lower_first(period.label_vi)
    if counts:
        blocks.append(Paragraph(f"Trong {when}, {len(counts)} đơn vị gửi {sum(counts.values())} sáng kiến dự thi viết "
                                "sáng kiến về CCHC."))
        rows = sorted(((plan.unit(u).name, n) for u, n in counts.items()), key=lambda r: (-r[1], sort_key(r[0])))
        blocks.append(Table("sang_kien_don_vi", f"Sáng kiến dự thi theo đơn vị — {period.label_vi}",
                            [Column("don_vi", "Đơn vị"), Column("so_bai", "Số sáng kiến", "integer")], rows))
    for call in published:
        awards = [a for a in awards_of(db, call) if report.includes(a.entry.unit_id)]
        if not awards:
            continue
        categories = {c.key: c.name for c in call.definition.categories}
        blocks.append(Table(f"sang_kien_giai_{call.id}", f"Sáng kiến đạt giải — {call.title}",
                            [Column("giai", "Giải"), Column("linh_vuc", "Lĩnh vực"), Column("ten", "Tên sáng kiến"),
                             Column("tac_gia", "Tác giả"), Column("don_vi", "Đơn vị"),
                             Column("diem", "Điểm", "number")],
                            [(a.award_name, categories.get(a.category, a.category), a.entry.title,
                              ", ".join(a.entry.author_names),
                              plan.unit(a.entry.unit_id).name if plan.has_unit(a.entry.unit_id) else a.entry.unit_id,
                              round(a.score, 2)) for a in awards]))
    return Section("sang_kien", "Cuộc thi viết sáng kiến về CCHC", blocks, order=47, source="initiatives")


def _entry_rows(deployment, scope):
    """Every entry, without personal data (no authors, no contact) and without its tracking code
    (the author's key), streamed from a cursor, within the scope's unit and period (by the instant
    the entry was sent)."""
    from ccch_core.report import DataScope  # noqa: F401 - the type of ``scope``

    plan = deployment.plan
    sql = ("select e.id, c.slug, e.title, e.category, e.entrant_kind, e.unit_id, e.status, e.finalist, "
           "e.submitted_at, w.award_name from initiative_entries e join initiative_calls c on c.id = e.call_id "
           "left join initiative_awards w on w.entry_id = e.id")
    args: list = []
    if scope.period is not None:
        sql += " where e.submitted_at >= ? and e.submitted_at < ?"
        args = [utc_now_iso(scope.period.start_utc), utc_now_iso(scope.period.end_utc)]
    for row in deployment.db.execute(sql + " order by e.id", args):
        unit_id = row[5]
        if scope.unit_id is not None and not (plan.has_unit(unit_id) and plan.is_within(unit_id, scope.unit_id)):
            continue
        name = plan.unit(unit_id).name if plan.has_unit(unit_id) else unit_id
        status = "Đã loại" if row[6] == "withdrawn" else "Hợp lệ"
        yield (*row[:5], unit_id, name, status, "Có" if row[7] else "", row[8], row[9] or "")


def _entry_count(deployment, scope) -> int:
    return deployment.db.execute("select count(*) from initiative_entries").fetchone()[0]


def data_tables():
    from ccch_core.report import DataTable

    return [DataTable(
        name="initiatives_entries", title="Bài dự thi viết sáng kiến (không có thông tin cá nhân)",
        columns=[Column("id", "STT", "integer"), Column("call", "Cuộc thi"), Column("title", "Tên sáng kiến"), Column("category", "Lĩnh vực"), Column("entrant", "Đối tượng"),
                 Column("unit_id", "Mã đơn vị"), Column("unit", "Đơn vị"), Column("status", "Trạng thái"),
                 Column("finalist", "Vào chung khảo"), Column("submitted_at", "Thời điểm nộp", "datetime"),
                 Column("award", "Giải")],
        rows=_entry_rows, count=_entry_count, roles=("system_admin", "plan_admin", "contest_manager"))]
