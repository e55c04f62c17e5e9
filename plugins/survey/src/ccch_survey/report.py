"""The survey section of periodic reports (``report_sections``)."""

from __future__ import annotations

from ccch_core.report import Column, Figure, Paragraph, Section, Table

from . import charts
from .results import LEGEND, compute_results
from .store import list_surveys


def _pct(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{int(value * 10 + 1e-9) / 10:g}%".replace(".", ",")


def survey_sections(request) -> list[Section]:
    """One section with every survey that has answers in the report's period and scope."""
    dep = request.deployment
    blocks = []
    for survey in list_surveys(dep.db):
        res = compute_results(dep.db, request.plan, survey.id, request.period,
                              within=request.unit.id if request.unit else None)
        if not res.responses and not res.overall.n:
            continue
        if res.overall.n:
            text = (f"{res.title}: {res.responses} phiếu trả lời qua {len(res.placements)} nơi đặt poster/máy tính "
                    f"bảng ({res.scans} lượt quét mã). Chỉ số hài lòng chung {_pct(res.overall.index)} (tỷ lệ câu "
                    f"trả lời “Hài lòng” và “Rất hài lòng” trên {res.overall.n} câu trả lời); điểm trung bình "
                    f"{res.overall.mean:.2f}/5.".replace(f"{res.overall.mean:.2f}/5", f"{res.overall.mean:.2f}/5".replace(".", ",")))
        else:
            text = f"{res.title}: {res.responses} phiếu trả lời, chưa có câu trả lời về mức độ hài lòng."
        if res.flagged:
            # Flagged responses count until an officer reviews them: the reader sees how many, and
            # the index without them.
            clean = compute_results(dep.db, request.plan, survey.id, request.period,
                                    within=request.unit.id if request.unit else None, without_flagged=True)
            text += (f" Trong đó {res.flagged} phiếu bị hệ thống đánh dấu đáng ngờ (nhiều phiếu từ một địa chỉ mạng, "
                     f"câu trả lời trùng hệt hoặc gửi nhanh hơn thời gian đọc câu hỏi) chưa được xem xét; không tính "
                     f"các phiếu này, chỉ số hài lòng chung là {_pct(clean.overall.index)}.")
        blocks.append(Paragraph(text))
        blocks.append(Table(
            key=f"khao_sat_{survey.id}_tieu_chi",
            title=f"Chỉ số hài lòng theo tiêu chí — {res.title}",
            columns=[Column("nhom", "Yếu tố / tiêu chí"), Column("so_tra_loi", "Số câu trả lời", "integer"),
                     Column("chi_so", "Chỉ số hài lòng", "percent"), Column("diem_tb", "Điểm trung bình", "number")],
            rows=[*((title, s.n, s.index, s.mean) for title, s in res.sections),
                  *((f"{q.key}. {q.prompt}", q.score.n, q.score.index, q.score.mean) for q in res.scale_questions)],
        ))
        if res.units:
            blocks.append(Table(
                key=f"khao_sat_{survey.id}_don_vi",
                title=f"Chỉ số hài lòng theo đơn vị — {res.title}",
                columns=[Column("don_vi", "Đơn vị"), Column("phieu", "Số phiếu", "integer"),
                         Column("so_tra_loi", "Số câu trả lời", "integer"),
                         Column("chi_so", "Chỉ số hài lòng", "percent"), Column("diem_tb", "Điểm trung bình", "number")],
                rows=[(u.name, n, s.n, s.index, s.mean) for u, s, n in res.units],
            ))
        blocks.append(Figure(
            title=f"Phân bố câu trả lời — {res.title}",
            svg=charts.distribution_chart(res.title, [(q.prompt, q.score.counts, q.score.index)
                                                      for q in res.scale_questions], LEGEND,
                                          ident=f"bc-{survey.id}"),
            alt="; ".join(f"{q.prompt}: {_pct(q.score.index)}" for q in res.scale_questions),
        ))
    if not blocks:
        return []
    return [Section("khao_sat", "Kết quả khảo sát sự hài lòng của người dân, tổ chức", blocks, order=40)]
