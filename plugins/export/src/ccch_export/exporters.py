"""The report exporters this plugin registers: DOCX, XLSX, CSV (a zip of tables), JSON, Markdown.

An exporter has a ``name``, an ``extension``, a ``media_type``, a ``label`` and
``export(report, stream, options)`` writing bytes to ``stream`` (``options``: a
:class:`ccch_core.report.ExportOptions`, docs/plugins.md). Third parties add formats the same way (examples/export-html/).
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from typing import IO, Any

import attrs

from ccch_core.report import ExportOptions, Figure, Heading, Paragraph, Report, Table

from . import tabular
from .docx_nd30 import format_cell, write_docx

JSON_SCHEMA = "ccch.report/1"
"""Version of the JSON report layout (docs/export.md); bumped only on incompatible changes."""


@attrs.frozen
class DocxExporter:
    """Word, laid out as a Decree 30/2020 administrative document."""

    name: str = "docx"
    extension: str = "docx"
    media_type: str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    label: str = "Word (Nghị định 30/2020)"

    def export(self, report: Report, stream: IO[bytes], options: ExportOptions) -> None:
        write_docx(report, stream, signatory=options.signatory, recipient=options.recipient)


@attrs.frozen
class XlsxExporter:
    """Excel: one sheet per table, typed cells, frozen header, fitted widths."""

    name: str = "xlsx"
    extension: str = "xlsx"
    media_type: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    label: str = "Excel"

    def export(self, report: Report, stream: IO[bytes], options: ExportOptions) -> None:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        taken: set[str] = set()
        for table in report.tables():
            tabular.add_sheet(workbook, table.title, table.columns, table.rows, taken, sample=table.rows)
        if not taken:
            tabular.add_sheet(workbook, "Báo cáo", [], [], taken)
        workbook.save(stream)


@attrs.frozen
class CsvExporter:
    """CSV: one UTF-8 (with BOM) file per table, in a zip."""

    name: str = "csv"
    extension: str = "zip"
    media_type: str = "application/zip"
    label: str = "CSV (tệp nén)"

    def export(self, report: Report, stream: IO[bytes], options: ExportOptions) -> None:
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for number, table in enumerate(report.tables(), start=1):
                text = io.StringIO()
                tabular.write_csv(table.columns, table.rows, text)
                archive.writestr(f"{number:02d}-{table.key}.csv", text.getvalue().encode("utf-8"))


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report in the documented JSON layout (schema ``ccch.report/1``)."""
    plan = report.plan
    request = report.request

    def block(b):
        if isinstance(b, Table):
            return {"type": "table", "key": b.key, "title": b.title,
                    "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in b.columns],
                    "rows": [[tabular.json_value(v) for v in row] for row in b.rows]}
        if isinstance(b, Heading):
            return {"type": "heading", "text": b.text, "level": b.level}
        if isinstance(b, Paragraph):
            return {"type": "paragraph", "text": b.text}
        if isinstance(b, Figure):
            return {"type": "figure", "title": b.title, "alt": b.alt, "svg": b.svg}
        raise TypeError(type(b).__name__)

    return {
        "schema": JSON_SCHEMA,
        "title": report.title,
        "generated_at": request.now.isoformat(),
        "plan": {"id": plan.id, "title": plan.title, "number_and_symbol": plan.number_and_symbol,
                 "issuing_unit": plan.issuing_unit, "year": plan.year},
        "period": {"key": str(report.period), "type": report.period.type.value, "label": report.period.label_vi,
                   "start": report.period.start_date.isoformat(), "end": report.period.end_date.isoformat()},
        "unit": None if request.unit is None else {"id": request.unit.id, "name": request.unit.name},
        "sections": [{"key": s.key, "title": s.title, "source": s.source, "order": s.order,
                      "blocks": [block(b) for b in s.blocks]} for s in report.sections],
    }


@attrs.frozen
class JsonExporter:
    """JSON in the documented, stable ``ccch.report/1`` layout."""

    name: str = "json"
    extension: str = "json"
    media_type: str = "application/json"
    label: str = "JSON"

    def export(self, report: Report, stream: IO[bytes], options: ExportOptions) -> None:
        stream.write(json.dumps(report_to_dict(report), ensure_ascii=False, indent=2).encode("utf-8"))


_MD_PUNCTUATION = re.compile(r"([\\`*_\[\]])")


def _md_text(text: str) -> str:
    """Text from the data, shown literally by a Markdown viewer: markup as entities (no HTML runs),
    no link, emphasis or code made of it, no heading from a leading "#"."""
    text = _MD_PUNCTUATION.sub(r"\\\1", html.escape(str(text), quote=False))
    return re.sub(r"(?m)^(\s*)#", r"\1\\#", text)


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _md_line(text: str) -> str:
    return _md_text(text).replace("\r", " ").replace("\n", " ")


@attrs.frozen
class MarkdownExporter:
    """Markdown, for a quick look or a message."""

    name: str = "md"
    extension: str = "md"
    media_type: str = "text/markdown; charset=utf-8"
    label: str = "Markdown"

    def export(self, report: Report, stream: IO[bytes], options: ExportOptions) -> None:
        lines = [f"# {_md_line(report.title)}", ""]
        for section in report.sections:
            lines += [f"## {_md_line(section.title)}", ""]
            for b in section.blocks:
                if isinstance(b, Heading):
                    lines += [f"{'#' * min(b.level + 1, 6)} {_md_line(b.text)}", ""]
                elif isinstance(b, Paragraph):
                    lines += [_md_text(b.text), ""]
                elif isinstance(b, Figure):
                    lines += [f"*{_md_line(b.title)}*: {_md_line(b.alt)}", ""]
                elif isinstance(b, Table):
                    lines += [f"**{_md_line(b.title)}**", "",
                              "| " + " | ".join(_md_cell(c.label) for c in b.columns) + " |",
                              "|" + "|".join("---:" if c.kind in ("integer", "number", "percent") else "---"
                                             for c in b.columns) + "|"]
                    for row in b.rows:
                        lines.append("| " + " | ".join(_md_cell(format_cell(v, c.kind))
                                                       for v, c in zip(row, b.columns, strict=True)) + " |")
                    lines.append("")
        stream.write("\n".join(lines).encode("utf-8"))


EXPORTERS = (DocxExporter(), XlsxExporter(), CsvExporter(), JsonExporter(), MarkdownExporter())
