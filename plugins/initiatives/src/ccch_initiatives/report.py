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
        rows = sorted(((plan.unit(u).name, n) for u, n in counts.items()), key=lambda r: (-r[1], r[0]))
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
