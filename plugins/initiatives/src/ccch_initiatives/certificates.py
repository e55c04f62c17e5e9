"""Certificates (giấy chứng nhận) of the awarded initiatives: one A4 landscape page per award, with
Be Vietnam Pro embedded (every Vietnamese diacritic, as the core's posters), made with fpdf2."""

from __future__ import annotations

import datetime as dt
from importlib import resources

from ccch_core.periods import to_local, utc_now

from .calls import Call
from .judging import AwardRow


def _font(name: str) -> str:
    return str(resources.files("fontpkg_be_vietnam_pro") / "files" / name)


def certificates_pdf(plan, call: Call, awards: list[AwardRow], *, issued: dt.datetime | None = None) -> bytes:
    """A PDF with a certificate per award, in the order given."""
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(f"Giấy chứng nhận — {call.title}")
    pdf.set_creator("ccch")
    pdf.set_auto_page_break(False)
    pdf.add_font("BeVietnamPro", "", _font("BeVietnamPro-Regular.ttf"))
    pdf.add_font("BeVietnamPro", "B", _font("BeVietnamPro-Bold.ttf"))
    organiser = call.definition.organiser
    issuer = plan.unit(organiser).name if organiser and plan.has_unit(organiser) else plan.title
    day = to_local(issued or utc_now())
    categories = {c.key: c.name for c in call.definition.categories}
    for award in awards:
        entry = award.entry
        pdf.add_page()
        pdf.set_draw_color(160, 30, 30)
        pdf.set_line_width(1.2)
        pdf.rect(10, 10, 277, 190)
        pdf.set_line_width(0.3)
        pdf.rect(13, 13, 271, 184)
        pdf.set_text_color(0, 0, 0)
        pdf.set_xy(20, 20)
        pdf.set_font("BeVietnamPro", "B", 11)
        pdf.multi_cell(110, 6, issuer.upper(), align="C")
        pdf.set_xy(150, 20)
        pdf.multi_cell(127, 6, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc", align="C")
        pdf.set_xy(20, 55)
        pdf.set_text_color(160, 30, 30)
        pdf.set_font("BeVietnamPro", "B", 30)
        pdf.cell(257, 14, "GIẤY CHỨNG NHẬN", align="C")
        pdf.set_text_color(0, 0, 0)
        pdf.set_xy(30, 78)
        pdf.set_font("BeVietnamPro", "", 14)
        names = ", ".join(entry.author_names) or "(tác giả)"
        unit = plan.unit(entry.unit_id).name if plan.has_unit(entry.unit_id) else entry.unit_id
        pdf.multi_cell(237, 8, f"Chứng nhận: {names}", align="C")
        pdf.set_x(30)
        pdf.multi_cell(237, 8, f"Đơn vị: {unit}", align="C")
        pdf.set_x(30)
        pdf.set_font("BeVietnamPro", "B", 18)
        pdf.multi_cell(237, 11, f"Đạt {award.award_name}", align="C")
        pdf.set_x(30)
        pdf.set_font("BeVietnamPro", "", 13)
        pdf.multi_cell(237, 7, f"Lĩnh vực: {categories.get(award.category, award.category)}", align="C")
        pdf.set_x(30)
        pdf.multi_cell(237, 7, f"với sáng kiến “{entry.title}”", align="C")
        pdf.set_x(30)
        pdf.multi_cell(237, 7, f"tại {call.title}.", align="C")
        pdf.set_xy(150, 160)
        pdf.set_font("BeVietnamPro", "", 12)
        pdf.cell(127, 7, f"Ngày {day.day:02d} tháng {day.month:02d} năm {day.year}", align="C")
        pdf.set_xy(150, 168)
        pdf.set_font("BeVietnamPro", "B", 12)
        pdf.cell(127, 7, "TRƯỞNG BAN TỔ CHỨC", align="C")
    return bytes(pdf.output())
