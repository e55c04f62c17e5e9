"""A decision (Quyết định cá biệt) as a Word document in the Decree 30/2020/NĐ-CP layout.

The page set-up, fonts and header blocks are the report's (:mod:`ccch_export.docx_nd30`); what
differs is the body, as Appendix I lays out an individual decision:

- "Số: …/QĐ-UBND" under the issuing body (QĐ-<body> for a body that is not a People's Committee);
- "QUYẾT ĐỊNH" and the summary "Về việc …" (bold, centred), a short rule;
- the competent authority in capitals, bold, centred ("CHỦ TỊCH ỦY BAN NHÂN DÂN HUYỆN ĐỨC THỌ");
- the legal bases, one "Căn cứ …;" paragraph each, and "Theo đề nghị của ….", in italics;
- "QUYẾT ĐỊNH:" bold, centred; the articles, each opening with a bold "Điều N."; the last one ends "./.";
- "Nơi nhận:" bottom left and the signature block bottom right, as in the report;
- an annex on a new page: its title in capitals, "(Kèm theo Quyết định số …/QĐ-… ngày … của …)"
  in italics, and its table with the header row repeated on every page.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import IO

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Cm, Pt

from ccch_core.documents import Decision

from .docx_nd30 import (
    PEOPLE_COMMITTEE_KINDS,
    TEXT_WIDTH_CM,
    _add_table,
    _fix_widths,
    _font,
    _no_borders,
    _para,
    _rule,
    a4_document,
    split_body_name,
    vietnamese_date,
)

CENTER = WD_ALIGN_PARAGRAPH.CENTER
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def decision_symbol(decision: Decision) -> str:
    """"QĐ-UBND" for a People's Committee, else "QĐ-" and the body's initials ("QĐ-NV" would need
    an abbreviation the plan does not hold, so other bodies get plain "QĐ")."""
    return "QĐ-UBND" if decision.issuer.kind in PEOPLE_COMMITTEE_KINDS else "QĐ"


def place_of(decision: Decision) -> str:
    """The place name of the date line: the plan's place, else the issuer's own level name."""
    return decision.plan.place or split_body_name(decision.issuer.name)[1].title().split(" ", 1)[-1]


def dated_line(place: str, day: dt.date | None, year: int) -> str:
    """"Đức Thọ, ngày 05 tháng 01 năm 2025", or with the day and month left as dots to be written
    when the decision is signed."""
    if day is None:
        return f"{place}, ngày      tháng      năm {year}"
    return vietnamese_date(place, day)


def _header(document, decision: Decision, number_line: str, date_line: str) -> None:
    """The two header blocks: issuing body and number | national name, motto, place and date."""
    issuer = decision.issuer
    if issuer.kind in PEOPLE_COMMITTEE_KINDS:
        first, second = split_body_name(issuer.name)
        parent_line, body_line = "", f"{first}\n{second}".strip()
    else:
        plan = decision.plan
        parent = plan.unit(issuer.parent).name if issuer.parent and plan.has_unit(issuer.parent) else ""
        parent_line, body_line = parent.upper(), issuer.name.upper()
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(table)
    _fix_widths(table, [Cm(6.3), Cm(10.2)])
    left, right = table.rows[0].cells
    if parent_line:
        _para(left, parent_line, 13, align=CENTER, after=0)
    _para(left, body_line, 13, bold=True, align=CENTER, after=0)
    _rule(left, 2.5, 6.3)
    if number_line:
        _para(left, number_line, 13, align=CENTER, after=0)
    _para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True, align=CENTER, after=0)
    _para(right, "Độc lập - Tự do - Hạnh phúc", 13, bold=True, align=CENTER, after=0)
    _rule(right, 5.5, 10.2)
    if date_line:
        _para(right, date_line, 13, italic=True, align=CENTER, after=0)
    for cell in (left, right):
        empty = cell.paragraphs[0]
        if not empty.text:
            empty._element.getparent().remove(empty._element)


def _article(document, number: int, text: str, last: bool) -> None:
    paragraphs = [p.strip() for p in text.strip().split("\n\n") if p.strip()]
    for i, body in enumerate(paragraphs):
        if last and i == len(paragraphs) - 1 and not body.endswith("./."):
            body = body.rstrip(".") + "./."
        paragraph = _para(document, "", 14)
        if i == 0:
            _font(paragraph.add_run(f"Điều {number}. "), 14, bold=True)
        for j, line in enumerate(body.split("\n")):
            if j:
                paragraph.add_run().add_break()
            _font(paragraph.add_run(line), 14)


def _closing(document, decision: Decision) -> None:
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    _fix_widths(table, [Cm(8), Cm(8.5)])
    left, right = table.rows[0].cells
    title = left.paragraphs[0]
    title.paragraph_format.space_after = Pt(0)
    _font(title.add_run("Nơi nhận:"), 12, bold=True, italic=True)
    recipients = list(decision.recipients) or ["Lưu: VT"]
    for i, line in enumerate(recipients):
        end = "." if i == len(recipients) - 1 else ";"
        _para(left, f"- {line.rstrip(';.')}{end}", 11, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False, after=0)
    sign = decision.signatory
    lines = [line for line in (sign.authority, sign.title) if line]
    first = right.paragraphs[0]
    first.alignment = CENTER
    first.paragraph_format.space_after = Pt(0)
    _font(first.add_run(lines[0].upper() if lines else ""), 13, bold=True)
    for line in lines[1:]:
        _para(right, line.upper(), 13, bold=True, align=CENTER, after=0)
    _para(right, "\n\n\n", 13, align=CENTER, after=0)
    _para(right, sign.name, 13, bold=True, align=CENTER, after=0)


def write_decision(decision: Decision, stream: IO[bytes]) -> None:
    """Write ``decision`` as a Decree 30 DOCX to ``stream``."""
    document = a4_document()
    symbol = decision_symbol(decision)
    number = decision.number or "……"
    if number.isdigit():
        number = number.zfill(2)  # "Số: 07/QĐ-UBND": numbers below 10 get a leading 0
    year = decision.day.year if decision.day else dt.date.today().year
    place = place_of(decision)
    _header(document, decision, f"Số: {number}/{symbol}", dated_line(place, decision.day, year))

    _para(document, "QUYẾT ĐỊNH", 14, bold=True, align=CENTER, after=0, before=18)
    _para(document, f"Về việc {decision.summary.removeprefix('Về việc ').rstrip('.')}", 14, bold=True,
          align=CENTER, after=0)
    _rule(document, 3)
    _para(document, decision.authority.upper(), 14, bold=True, align=CENTER, after=12, before=6)
    for basis in decision.bases:
        text = basis.strip().rstrip(";.")
        if not text.startswith("Căn cứ"):
            text = f"Căn cứ {text}"
        _para(document, f"{text};", 14, italic=True)
    if decision.proposal:
        text = decision.proposal.strip().rstrip(";.")
        if not text.startswith("Theo đề nghị"):
            text = f"Theo đề nghị của {text}"
        _para(document, f"{text}.", 14, italic=True)
    _para(document, "QUYẾT ĐỊNH:", 14, bold=True, align=CENTER, before=6, after=12)
    for number_, article in enumerate(decision.articles, 1):
        _article(document, number_, article.text, last=number_ == len(decision.articles))

    _para(document, "", 6, after=0)
    _closing(document, decision)

    if decision.annex is not None:
        # The annex starts a new page and repeats the header blocks (without number and date), as
        # an appendix does, then says which decision it goes with.
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        _header(document, decision, "", "")
        _para(document, decision.annex_title.upper(), 14, bold=True, align=CENTER, after=0, before=12)
        authority = decision.authority[:1].upper() + decision.authority[1:].lower()
        authority = authority.replace("ủy ban nhân dân", "Ủy ban nhân dân")
        when = (f"ngày {decision.day.day:02d}/{decision.day.month:02d}/{decision.day.year}"
                if decision.day else f"ngày     /     /{year}")
        _para(document, f"(Kèm theo Quyết định số {number}/{symbol} {when} của {_proper(authority, decision)})",
              14, italic=True, align=CENTER, after=0)
        _rule(document, 3)
        _add_table(document, decision.annex)
        _set_widths(document.tables[-1], annex_widths(decision.annex))
    document.save(stream)


# Text columns of an annex share the width left by the figures by these weights (a title needs room,
# an award name little), rather than by the length of their longest value, which starved the unit.
_TEXT_WEIGHTS = {"title": 5, "authors": 3.4, "unit": 3, "category": 3, "award": 2.6}
_FIGURE_CM = {"integer": 1.2, "number": 1.5, "percent": 1.5, "date": 2.4, "datetime": 2.9}


def annex_widths(table) -> list:
    """Column widths (filling the 16.5 cm text width) for an annex table: figures narrow, text
    columns by :data:`_TEXT_WEIGHTS` (weight 3 for a column not named there)."""
    fixed = sum(_FIGURE_CM.get(c.kind, 0) for c in table.columns if c.kind in _FIGURE_CM)
    weights = [_TEXT_WEIGHTS.get(c.key, 3) for c in table.columns if c.kind not in _FIGURE_CM]
    free = TEXT_WIDTH_CM - fixed
    widths, total = [], sum(weights) or 1
    for column in table.columns:
        if column.kind in _FIGURE_CM:
            widths.append(Cm(_FIGURE_CM[column.kind]))
        else:
            widths.append(Cm(free * _TEXT_WEIGHTS.get(column.key, 3) / total))
    return widths


def _set_widths(table, widths) -> None:
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def _proper(authority: str, decision: Decision) -> str:
    """The authority line in running text: "Chủ tịch Ủy ban nhân dân huyện Đức Thọ" (place names
    keep their capitals, taken from the issuer's own name)."""
    name = re.sub(r"^UBND\b", "Ủy ban nhân dân", decision.issuer.name)
    lowered = name.lower()
    index = authority.lower().find(lowered)
    if index >= 0:
        return authority[:index] + name[:1].upper() + name[1:] + authority[index + len(name):]
    return authority


class DecisionWriter:
    """The document writer the export plugin registers for decisions (``register_document_writers``)."""

    kind = "decision"
    extension = "docx"
    media_type = MEDIA_TYPE
    label = "Quyết định (Word, thể thức Nghị định 30/2020)"

    def write(self, document: Decision, stream: IO[bytes]) -> None:
        write_decision(document, stream)

