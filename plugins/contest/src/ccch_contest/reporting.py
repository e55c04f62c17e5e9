"""The contest's section of the periodic report (``report_sections``) and its bar chart."""

from __future__ import annotations

from html import escape

from ccch_core.report import Column, Figure, Paragraph, Section, Table


def bar_chart_svg(rows: list[tuple[str, float, str]], *, title: str, width: int = 640) -> str:
    """A horizontal bar chart as SVG (no script, no style attribute: allowed by the CSP):
    ``rows`` are (label, value, value text)."""
    bar_h, gap, label_w, top = 22, 6, 230, 8
    height = top * 2 + len(rows) * (bar_h + gap)
    biggest = max((v for _, v, _ in rows), default=0) or 1
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>')]
    for i, (label, value, text) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = int((width - label_w - 70) * value / biggest)
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12" fill="#1a1a1a">'
                     f'{escape(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1)}" height="{bar_h}" fill="#9b1c1c"/>')
        parts.append(f'<text x="{label_w + max(w, 1) + 6}" y="{y + 15}" font-size="12" fill="#1a1a1a">'
                     f'{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def contest_sections(report) -> list[Section] | None:
    """A section per contest with a round in the report's period: rounds, participation per unit
    (within the report's unit scope) with a chart, and the prize winners of rounds closed in it."""
    from .contests import list_contests
    from .ranking import ensure_closed, participation, prize_list

    deployment = report.deployment
    period = report.period
    sections = []
    for contest in list_contests(deployment):
        if contest.status == "draft":
            continue
        rounds = [r for r in contest.rounds if r.opens < period.end_utc and r.ends > period.start_utc]
        if not rounds:
            continue
        contest = ensure_closed(deployment, contest, report.now)
        rounds = [contest.round_by_id(r.id) for r in rounds]
        db = deployment.db
        round_rows = []
        for r in rounds:
            people = db.execute("select count(distinct participant_id), count(*) from contest_attempts where round_id = ? "
                                "and status = 'submitted' and disqualified = 0", [r.id]).fetchone()
            round_rows.append((r.number, r.name, r.opens, r.closes, people[0], people[1], r.perfect_count,
                               r.truth if contest.definition.has_prediction else None))
        blocks = [
            Paragraph(f"{contest.title}: {len(rounds)} vòng thi diễn ra trong kỳ báo cáo; "
                      f"{sum(r[4] for r in round_rows)} lượt người dự thi, {sum(r[5] for r in round_rows)} bài thi."),
            Table("cuoc_thi_vong", "Các vòng thi", [
                Column("vong", "Vòng", "integer"), Column("ten", "Tên vòng"), Column("mo", "Mở", "datetime"),
                Column("dong", "Đóng", "datetime"), Column("nguoi", "Số người dự thi", "integer"),
                Column("bai", "Số bài thi", "integer"), Column("dung_het", "Số người đúng hết", "integer"),
                Column("dap_an_du_doan", "Đáp án câu dự đoán", "number")], round_rows),
        ]
        units = participation(deployment, contest, None, [r.id for r in rounds])
        units = [u for u in units if report.includes(u.unit_id)]
        if units:
            blocks.append(Table("cuoc_thi_don_vi", "Số người dự thi theo đơn vị", [
                Column("don_vi", "Đơn vị"), Column("so_nguoi", "Số người dự thi", "integer"),
                Column("bien_che", "Số người của đơn vị", "integer"), Column("ty_le", "Tỷ lệ tham gia", "percent")],
                [(u.name, u.participants, u.headcount, round(u.rate, 2) if u.rate is not None else None) for u in units]))
            top = sorted(units, key=lambda u: -u.participants)[:20]
            blocks.append(Figure("Số người dự thi theo đơn vị",
                                 bar_chart_svg([(u.name, u.participants, str(u.participants)) for u in top],
                                               title="Số người dự thi theo đơn vị"),
                                 alt="Biểu đồ cột: " + "; ".join(f"{u.name}: {u.participants}" for u in top)))
        winners = []
        for r in rounds:
            if r.truth_at and period.start_utc <= r.closes < period.end_utc:
                for audience in contest.definition.audiences:
                    for w in prize_list(deployment, contest, r, audience.key):
                        if report.includes(w.entry.unit_id) if w.entry.unit_id else report.unit is None:
                            unit = deployment.plan.unit(w.entry.unit_id).name if w.entry.unit_id else ""
                            winners.append((r.number, audience.name, w.prize, w.entry.full_name, w.entry.phone_masked,
                                            unit, w.entry.score))
        if winners:
            blocks.append(Table("cuoc_thi_giai", "Danh sách đạt giải", [
                Column("vong", "Vòng", "integer"), Column("doi_tuong", "Đối tượng"), Column("giai", "Giải"),
                Column("ho_ten", "Họ và tên"), Column("dien_thoai", "Điện thoại"), Column("don_vi", "Đơn vị"),
                Column("diem", "Số câu đúng", "integer")], winners))
        sections.append(Section(f"contest_{contest.slug}", f"Cuộc thi tìm hiểu về CCHC: {contest.title}", blocks,
                                order=40, source="contest"))
    return sections or None
