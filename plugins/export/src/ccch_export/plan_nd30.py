"""A plan (Kế hoạch) as a Word document in the Decree 30/2020/NĐ-CP layout.

The core builds the plan as data (:class:`ccch_core.documents.PlanDocument`; a commune's plan by
:func:`ccch_core.local_plans.to_document`); this module writes it. Page set-up, fonts, header
blocks and the "Nơi nhận" / signature block are the decision's (:mod:`ccch_export.decision_nd30`);
the body is laid out as Appendix I lays out a plan:

- "Số: …/KH-UBND" under the issuing body (KH-<body> for a body that is not a People's Committee:
  plain "KH", since the plan holds no abbreviation of it); place and date in italics;
- "KẾ HOẠCH" and its summary (bold, centred), a short rule;
- the opening paragraph ("Thực hiện …"), then sections "I. MỤC ĐÍCH, YÊU CẦU", "II. …" in bold
  capitals with their headings ("1. Mục đích", bold), paragraphs (justified, first-line indent)
  and tables; the closing paragraph ending "./.";
- "Nơi nhận:" bottom left, the signature block bottom right;
- the annex on a new page with the header blocks again, "PHỤ LỤC", its title in capitals,
  "(Kèm theo Kế hoạch số …/KH-UBND ngày … của …)" in italics, and the table with its header row
  repeated on every page.
"""

from __future__ import annotations

from typing import IO

from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Cm

from ccch_core.documents import PlanDocument
from ccch_core.report import Heading, Paragraph, Table

from .decision_nd30 import MEDIA_TYPE, _closing, _header, _set_widths, dated_line
from .docx_nd30 import PEOPLE_COMMITTEE_KINDS, ROMAN, TEXT_WIDTH_CM, _add_table, _para, _rule, a4_document

CENTER = WD_ALIGN_PARAGRAPH.CENTER
LEFT = WD_ALIGN_PARAGRAPH.LEFT


def plan_symbol(document: PlanDocument) -> str:
    """"KH-UBND" for a People's Committee, plain "KH" for another body."""
    return "KH-UBND" if document.issuer.kind in PEOPLE_COMMITTEE_KINDS else "KH"


def _number(document: PlanDocument) -> str:
    number = document.number or "……"
    return number.zfill(2) if number.isdigit() else number  # "Số: 07/KH-UBND"


# The annex table's columns share the text width by these weights (a duty needs room, a number none).
_ANNEX_WEIGHTS = {"duty": 5, "products": 4, "lead": 3, "coordinating": 3, "timing": 2.6}


def annex_widths(table: Table) -> list:
    """Widths of the annex's columns, filling the 16.5 cm text width: the TT column narrow, text
    columns by :data:`_ANNEX_WEIGHTS` (weight 3 for another)."""
    narrow = [c for c in table.columns if c.kind == "integer"]
    free = TEXT_WIDTH_CM - 1.1 * len(narrow)
    weights = [_ANNEX_WEIGHTS.get(c.key, 3) for c in table.columns if c.kind != "integer"]
    total = sum(weights) or 1
    return [Cm(1.1) if c.kind == "integer" else Cm(free * _ANNEX_WEIGHTS.get(c.key, 3) / total) for c in table.columns]


def write_plan(document: PlanDocument, stream: IO[bytes]) -> None:
    """Write ``document`` as a Decree 30 "Kế hoạch" (DOCX) to ``stream``."""
    word = a4_document()
    symbol = plan_symbol(document)
    number = _number(document)
    year = document.day.year if document.day else document.plan.year
    place = document.place or document.plan.place or ""
    _header(word, document, f"Số: {number}/{symbol}", dated_line(place, document.day, year))

    _para(word, "KẾ HOẠCH", 14, bold=True, align=CENTER, after=0, before=18)
    _para(word, document.summary.rstrip("."), 14, bold=True, align=CENTER, after=0)
    _rule(word, 3)
    for text in document.opening:
        _para(word, text, 14)
    for index, section in enumerate(document.sections):
        numeral = ROMAN[index] if index < len(ROMAN) else str(index + 1)
        # A heading is never the last line of a page: it stays with what follows it.
        _para(word, f"{numeral}. {section.title.upper()}", 14, bold=True, align=LEFT, indent=False,
              before=6).paragraph_format.keep_with_next = True
        for block in section.blocks:
            if isinstance(block, Heading):
                _para(word, block.text, 14, bold=True, italic=block.level > 2, align=LEFT,
                      indent=False).paragraph_format.keep_with_next = True
            elif isinstance(block, Paragraph):
                _para(word, block.text, 14)
            elif isinstance(block, Table):
                _add_table(word, block)
    if document.closing:
        closing = document.closing.strip().rstrip(".")
        _para(word, f"{closing}./.", 14)

    _para(word, "", 6, after=0)
    _closing(word, document)

    if document.annex is not None:
        # The annex starts a new page and repeats the header blocks (without number and date), as
        # the seed plan's appendix does, then says which plan it goes with.
        word.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        _header(word, document, "", "")
        _para(word, "PHỤ LỤC", 14, bold=True, align=CENTER, after=0, before=12)
        _para(word, document.annex_title.upper(), 14, bold=True, align=CENTER, after=0)
        when = (f"ngày {document.day.day:02d}/{document.day.month:02d}/{document.day.year}"
                if document.day else f"ngày ……/……/{year}")
        _para(word, f"(Kèm theo Kế hoạch số {number}/{symbol} {when} của {document.issuer.name})", 14, italic=True,
              align=CENTER, after=0)
        _rule(word, 3)
        _add_table(word, document.annex)
        _set_widths(word.tables[-1], annex_widths(document.annex))
    word.save(stream)


class PlanWriter:
    """The document writer the export plugin registers for plans (``register_document_writers``)."""

    kind = "plan"
    extension = "docx"
    media_type = MEDIA_TYPE
    label = "Kế hoạch (Word, thể thức Nghị định 30/2020)"

    def write(self, document: PlanDocument, stream: IO[bytes]) -> None:
        write_plan(document, stream)

