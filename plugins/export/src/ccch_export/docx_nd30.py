"""A report as a Word document laid out as a Vietnamese administrative document
(Decree 30/2020/NĐ-CP, Appendix I).

A4 portrait; margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New Roman; body 14 pt,
justified, first-line indent 1.27 cm, 6 pt after each paragraph. Page 1 opens with two blocks side
by side: the issuing body (parent body regular, the body itself bold, a short rule, "Số: …/BC-…")
and the national name and motto (bold, the motto underlined by a rule) with place and date in
italics. Then the document type and summary (bold, centred), "Kính gửi:", the body with roman
numbered headings, and at the end "Nơi nhận:" (bold italic 12 pt, list 11 pt) on the left and
the signature block (authority prefix, title, name) on the right. Page numbers from page 2, top
centre.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from typing import IO, Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from ccch_core.model import Plan, Unit
from ccch_core.periods import to_local
from ccch_core.report import Figure, Heading, Paragraph, Report, Table

FONT = "Times New Roman"
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV")
PEOPLE_COMMITTEE_KINDS = {"people_committee", "province", "district", "commune", "ward", "town"}
LEVEL_WORDS = ("thành phố", "thị trấn", "thị xã", "huyện", "quận", "tỉnh", "xã", "phường")
# "Uỷ" (tone on y) and "Ủy" (tone on u) are both in use; a document must not mix them (header
# "ỦY", signature "UỶ"). Decree 30's own samples write "ỦY BAN NHÂN DÂN", so that is the form kept.
_UY = {"UỶ": "ỦY", "Uỷ": "Ủy", "uỷ": "ủy"}
_UY_PATTERN = re.compile("|".join(_UY))


def one_spelling(text: str) -> str:
    """``text`` with "Uỷ"/"UỶ" written as "Ủy"/"ỦY" (NFC input), so that the header, the addressee
    and the signature block of one document spell "Ủy ban" the same way."""
    return _UY_PATTERN.sub(lambda m: _UY[m.group(0)], text)


def split_body_name(name: str) -> tuple[str, str]:
    """"Ủy ban nhân dân huyện Đức Thọ" → ("ỦY BAN NHÂN DÂN", "HUYỆN ĐỨC THỌ"): the two lines of the
    issuing body in the header. A name without a level word stays on one line."""
    name = re.sub(r"^UBND\b", "Ủy ban nhân dân", name.strip())
    lower = name.lower()
    for word in LEVEL_WORDS:
        index = lower.find(" " + word + " ")
        if index > 0:
            return name[:index].upper(), name[index + 1:].upper()
    return name.upper(), ""


def header_lines(plan: Plan, unit: Unit) -> tuple[str, str, str]:
    """(parent line, body line(s), symbol suffix) for the issuing body block."""
    if unit.kind in PEOPLE_COMMITTEE_KINDS:
        first, second = split_body_name(unit.name)
        return "", f"{first}\n{second}".strip(), "BC-UBND"
    parent = plan.unit(unit.parent).name if unit.parent and plan.has_unit(unit.parent) else ""
    parent = re.sub(r"^Ủy ban nhân dân", "UBND", parent)
    return parent.upper(), unit.name.upper(), "BC"


def vietnamese_date(place: str, day: dt.date) -> str:
    """"Đức Thọ, ngày 05 tháng 01 năm 2024": days below 10 and months 1–2 get a leading zero."""
    d = f"{day.day:02d}" if day.day < 10 else str(day.day)
    m = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {d} tháng {m} năm {day.year}"


@functools.lru_cache(maxsize=64)
def _run_properties(size: float, bold: bool, italic: bool, underline: bool):
    """The run properties (w:rPr) of one font style, built once through python-docx's own setters
    and copied into each run: setting them run by run cost half a report's writing time."""
    run = Document().add_paragraph().add_run()
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    run.font.underline = underline
    # East-Asian and complex-script slots too, or Word substitutes another font for Vietnamese.
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)
    return rpr


def _font(run, size: float, bold: bool = False, italic: bool = False, underline: bool = False) -> None:
    """Give ``run`` the document's font at ``size`` points with these styles (replacing any it had)."""
    element = run._element
    if element.rPr is not None:
        element.remove(element.rPr)
    element.insert(0, copy.deepcopy(_run_properties(float(size), bool(bold), bool(italic), bool(underline))))


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """Text without the control characters XML (and so Word) cannot hold: a report must not fail
    because an input let one through."""
    return _NOT_XML.sub("", text)


def _para(container, text: str = "", size: float = 14, *, bold=False, italic=False, underline=False,
          align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True, after: float = 6, before: float = 0):
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_after = Pt(after)
    fmt.space_before = Pt(before)
    fmt.line_spacing = 1.15
    if indent and align == WD_ALIGN_PARAGRAPH.JUSTIFY:
        fmt.first_line_indent = Cm(1.27)
    if text:
        for i, line in enumerate(one_spelling(xml_text(text)).split("\n")):
            if i:
                paragraph.add_run().add_break()
            _font(paragraph.add_run(line), size, bold, italic, underline)
    return paragraph


def _rule(container, width_cm: float, total_cm: float = 16.5) -> None:
    """A short centred rule under a header line (a bottom border on an empty narrow paragraph)."""
    paragraph = container.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fmt = paragraph.paragraph_format
    fmt.space_after = Pt(4)
    fmt.space_before = Pt(0)
    margin = Cm(max((total_cm - width_cm) / 2, 0))
    fmt.left_indent = margin
    fmt.right_indent = margin
    ppr = paragraph._element.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.append(borders)
    _font(paragraph.add_run(""), 2)


def _fix_widths(table, widths) -> None:
    """Fixed column widths that Word and LibreOffice both honour (grid, every cell, fixed layout)."""
    table.autofit = False
    tbl_pr = table._element.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def _no_borders(table) -> None:
    tbl_pr = table._element.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    tbl_pr.append(borders)


def _page_numbers_from_page_two(section) -> None:
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run()
    _font(run, 13)
    for tag, attrs in (("w:fldChar", {"w:fldCharType": "begin"}), ("w:instrText", None),
                       ("w:fldChar", {"w:fldCharType": "end"})):
        element = OxmlElement(tag)
        if attrs:
            for key, value in attrs.items():
                element.set(qn(key), value)
        else:
            element.set(qn("xml:space"), "preserve")
            element.text = "PAGE"
        run._element.append(element)


def _cell_text(cell, text: str, size: float, bold: bool = False, align=WD_ALIGN_PARAGRAPH.LEFT) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    _font(paragraph.add_run(one_spelling(xml_text(text))), size, bold)


def format_cell(value: Any, kind: str) -> str:
    """A table value as Vietnamese text, as the web's ``figure`` filter writes it (decimal comma;
    percentages cut, never rounded up, to one decimal; other figures to two)."""
    if value is None:
        return "–"
    if kind == "datetime":
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, dt.datetime):
            return to_local(value).strftime("%d/%m/%Y %H:%M") if value.tzinfo else value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        if kind == "percent":
            value = int(value * 10 + 1e-9) / 10
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
        return text.replace(",", " ").replace(".", ",").replace(" ", ".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", ".")
    return str(value)


def a4_document():
    """A new Word document set up as Decree 30 wants: A4 portrait, margins 20/20/30/15 mm, Times New
    Roman 14 pt, page numbers from page 2 (the report and the decision both start from it)."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    _page_numbers_from_page_two(section)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    return document


def write_docx(report: Report, stream: IO[bytes], *, signatory: dict | None = None,
               recipient: str | None = None, today: dt.date | None = None) -> None:
    """Write ``report`` as a Decree 30 administrative document (DOCX) to ``stream``."""
    plan = report.plan
    request = report.request
    issuer = request.unit or plan.unit(plan.issuing_unit)
    today = today or to_local(request.now).date()
    document = a4_document()

    # -- header blocks: issuing body | national name and motto --------------------------------------
    parent_line, body_line, symbol = header_lines(plan, issuer)
    header = document.add_table(rows=1, cols=2)
    header.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(header)
    _fix_widths(header, [Cm(6.3), Cm(10.2)])
    left, right = header.rows[0].cells
    left.paragraphs[0].paragraph_format.space_after = Pt(0)
    if parent_line:
        _para(left, parent_line, 13, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(left, body_line, 13, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _rule(left, 2.5, 6.3)
    _para(left, f"Số: ……/{symbol}", 13, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(right, "Độc lập - Tự do - Hạnh phúc", 13, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _rule(right, 5.5, 10.2)
    place = (plan.place if request.unit is None else split_body_name(issuer.name)[1].title().split(" ", 1)[-1]) or ""
    _para(right, vietnamese_date(place or plan.place or "", today), 13, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER,
          after=0)
    for cell in (left, right):
        first = cell.paragraphs[0]
        if not first.text:
            first._element.getparent().remove(first._element)

    # -- type, summary, addressee -------------------------------------------------------------------
    _para(document, "BÁO CÁO", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0, before=18)
    summary = f"Kết quả công tác tuyên truyền cải cách hành chính {report.period.label_vi[:1].lower()}{report.period.label_vi[1:]}"
    _para(document, summary, 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _rule(document, 3)
    if recipient:
        _para(document, f"Kính gửi: {recipient}.", 14, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)
    _para(document, f"Thực hiện {plan.title}"
          + (f" ({plan.document_type} số {plan.number_and_symbol})" if plan.symbol else "")
          + f", {issuer.name} báo cáo kết quả thực hiện {report.period.label_vi[:1].lower()}{report.period.label_vi[1:]} như sau:", 14)

    # -- body -----------------------------------------------------------------------------------------
    for number, sec in enumerate(report.sections):
        heading = f"{ROMAN[number] if number < len(ROMAN) else number + 1}. {sec.title.upper()}"
        # A heading is never the last line of a page: it stays with what follows it.
        _para(document, heading, 14, bold=True, indent=False, align=WD_ALIGN_PARAGRAPH.LEFT,
              before=6).paragraph_format.keep_with_next = True
        for block in sec.blocks:
            if isinstance(block, Heading):
                _para(document, block.text, 14, bold=True, italic=block.level > 2, align=WD_ALIGN_PARAGRAPH.LEFT,
                      indent=False).paragraph_format.keep_with_next = True
            elif isinstance(block, Paragraph):
                _para(document, block.text, 14)
            elif isinstance(block, Table):
                if not block.annex:  # an annex table goes to the spreadsheet; a paragraph says so
                    _add_table(document, block)
            elif isinstance(block, Figure):
                _add_figure(document, block)

    # -- recipients and signature -------------------------------------------------------------------
    _para(document, "", 6, after=0)
    closing = document.add_table(rows=1, cols=2)
    _no_borders(closing)
    _fix_widths(closing, [Cm(8), Cm(8.5)])
    _row_property(closing.rows[0], "w:cantSplit")  # the signature block is never cut by a page break
    left, right = closing.rows[0].cells
    recipients_title = left.paragraphs[0]
    recipients_title.paragraph_format.space_after = Pt(0)
    _font(recipients_title.add_run("Nơi nhận:"), 12, bold=True, italic=True)
    # "Như trên" stands for the bodies named after "Kính gửi"; a report with no addressee (the
    # whole plan's monthly report stays inside the issuer) lists only the file copy.
    lines = (["- Như trên;"] if recipient else []) + ["- Lưu: VT, VH."]
    for line in lines:
        _para(left, line, 11, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False, after=0)
    sign = signatory or {}
    authority = list(sign.get("authority") or (["TM. ỦY BAN NHÂN DÂN"] if issuer.kind in PEOPLE_COMMITTEE_KINDS else []))
    title = sign.get("title") or ("CHỦ TỊCH" if issuer.kind in PEOPLE_COMMITTEE_KINDS else "TRƯỞNG PHÒNG")
    sign_lines = authority + [title]
    first = right.paragraphs[0]
    first.alignment = WD_ALIGN_PARAGRAPH.CENTER
    first.paragraph_format.space_after = Pt(0)
    _font(first.add_run(one_spelling(xml_text(sign_lines[0]))), 13, bold=True)
    for line in sign_lines[1:]:
        _para(right, line, 13, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(right, "\n\n\n", 13, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(right, sign.get("name") or "", 13, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    document.save(stream)


TEXT_WIDTH_CM = 16.5  # A4 less the 30 mm and 15 mm margins


def column_widths(block: Table) -> list:
    """Widths that give text columns room and keep figures narrow, filling the text width."""
    fixed = {"integer": 1.7, "number": 2.0, "percent": 1.9, "date": 2.4, "datetime": 2.9}
    weights = []
    for i, column in enumerate(block.columns):
        if column.kind in fixed:
            weights.append(None)
            continue
        longest = max([len(column.label)] + [len(str(row[i])) for row in block.rows if row[i] is not None])
        weights.append(min(max(longest, 4), 60))
    fixed_total = sum(fixed[c.kind] for c in block.columns if c.kind in fixed)
    free = max(TEXT_WIDTH_CM - fixed_total, 2.0 * sum(1 for w in weights if w))
    text_total = sum(w for w in weights if w) or 1
    widths = []
    for column, weight in zip(block.columns, weights, strict=True):
        if weight is None:
            widths.append(Cm(fixed[column.kind]))
        else:
            widths.append(Cm(max(free * weight / text_total, 1.2)))
    return widths


@functools.lru_cache(maxsize=32)
def figure_png(svg: str, width_px: int = 1000) -> bytes | None:
    """A chart's SVG as a PNG for Word (which shows SVG only from 2016 on, and LibreOffice and
    phones' viewers not at all), drawn by resvg with Be Vietnam Pro — the font the posters embed,
    with every Vietnamese letter — and no system font, so the picture is the same on every
    machine. None when the SVG cannot be drawn (the caller writes the text alternative instead)."""
    from importlib import resources

    import resvg_py

    fonts = resources.files("fontpkg_be_vietnam_pro") / "files"
    try:
        return bytes(resvg_py.svg_to_bytes(
            svg_string=svg, width=width_px, background="#ffffff", skip_system_fonts=True,
            font_files=[str(fonts / "BeVietnamPro-Regular.ttf"), str(fonts / "BeVietnamPro-Bold.ttf")],
            font_family="Be Vietnam Pro", sans_serif_family="Be Vietnam Pro"))
    except (ValueError, OSError):
        return None


def _add_figure(document, block: Figure) -> None:
    """A chart as a picture across the text width, its title above (kept with it) and its text
    alternative as the picture's description, for screen readers."""
    title = _para(document, block.title, 13, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False, after=3)
    title.paragraph_format.keep_with_next = True
    png = figure_png(block.svg)
    if png is None:
        _para(document, block.alt, 13, italic=True)
        return
    import io

    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(6)
    run = paragraph.add_run()
    shape = run.add_picture(io.BytesIO(png), width=Cm(TEXT_WIDTH_CM - 0.5))
    doc_pr = shape._inline.docPr
    doc_pr.set("descr", xml_text(block.alt))
    doc_pr.set("title", xml_text(block.title))


def _row_property(row, tag: str) -> None:
    """Set an on/off row property (``w:tblHeader``, ``w:cantSplit``) on a table row."""
    tr_pr = row._tr.get_or_add_trPr()
    element = OxmlElement(tag)
    element.set(qn("w:val"), "true")
    tr_pr.append(element)


def _keep_with_next(row) -> None:
    for cell in row.cells:
        for paragraph in cell.paragraphs:
            paragraph.paragraph_format.keep_with_next = True


def _add_table(document, block: Table, *, copy_rows: bool = True) -> None:
    """A report table: the header row repeats at the top of every page (``w:tblHeader``), no row
    splits across a page (``w:cantSplit``), and the title and header row stay with the first data
    row, so that no page ends on a lone title or header. ``copy_rows`` False builds every row
    through python-docx (the tests compare the two)."""
    title = _para(document, block.title, 13, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False, after=3)
    title.paragraph_format.keep_with_next = True
    table = document.add_table(rows=1, cols=len(block.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = table.rows[0]
    for cell, column in zip(header.cells, block.columns, strict=True):
        _cell_text(cell, column.label, 12, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _row_property(header, "w:cantSplit")
    _row_property(header, "w:tblHeader")
    _keep_with_next(header)
    numeric = {"integer", "number", "percent"}
    _fix_widths(table, column_widths(block))
    template = None
    for row in block.rows:
        texts = [one_spelling(xml_text(format_cell(value, column.kind)))
                 for value, column in zip(row, block.columns, strict=True)]
        plain = copy_rows and all(_plain(text) for text in texts)
        if template is not None and plain:
            # The same row as python-docx would write (widths, alignment, font, cantSplit), copied
            # from the first one and given this row's texts: a national report's tables have
            # thousands of cells, and python-docx builds each one element by element.
            tr = copy.deepcopy(template)
            for t, text in zip(tr.iter(qn("w:t")), texts, strict=True):
                t.text = text
            table._tbl.append(tr)
            continue
        added = table.add_row()
        for cell, text, column in zip(added.cells, texts, block.columns, strict=True):
            align = WD_ALIGN_PARAGRAPH.RIGHT if column.kind in numeric else WD_ALIGN_PARAGRAPH.LEFT
            _cell_text(cell, text, 12, align=align)
        _row_property(added, "w:cantSplit")
        if template is None and plain:
            template = added._tr
    _para(document, "", 6, after=3)


def _plain(text: str) -> bool:
    """Whether python-docx writes ``text`` as one ``w:t`` with nothing else: not empty, no tab or
    line break (written as their own elements), no space at either end (``xml:space``)."""
    return bool(text) and text == text.strip() and not any(c in text for c in "\t\n\r")
