"""A report format added by a third party: a self-contained, printable HTML page.

Everything an agency needs to add a format is here: an object with ``name``, ``extension``,
``media_type``, ``label`` and ``export(report, stream, options)``, registered through the
``register_exporters`` hook. It reads only the report model (``ccch_core.report``) and, from
``options`` (a :class:`ccch_core.report.ExportOptions`), the deployment's ``[plugins.export-html]``
settings.
"""

from __future__ import annotations

from html import escape
from typing import IO, Any

from ccch_core import PluginError, hookimpl
from ccch_core.report import ExportOptions, Figure, Heading, Paragraph, Report, Table

NAME = "export-html"
"""The plugin's one name (its entry point, ``[plugins.export-html]``)."""

STYLE = (
    "body{font-family:'Times New Roman',serif;max-width:50rem;margin:2rem auto;line-height:1.5}"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}"
    "th,td{border:1px solid #444;padding:.25rem .4rem;text-align:left;vertical-align:top}"
    "td.n{text-align:right}@media print{body{margin:0}}"
)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return escape(str(value))


class HtmlExporter:
    """A printable HTML page (one file, no external resources)."""

    name = "html"
    extension = "html"
    media_type = "text/html; charset=utf-8"
    label = "Trang HTML (in được)"

    def export(self, report: Report, stream: IO[bytes], options: ExportOptions) -> None:
        parts = [(f"<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{escape(report.title)}</title>"
                  f"<style>{STYLE}</style></head><body><h1>{escape(report.title)}</h1>")]
        for section in report.sections:
            parts.append(f"<h2>{escape(section.title)}</h2>")
            for block in section.blocks:
                if isinstance(block, Heading):
                    parts.append(f"<h{block.level + 1}>{escape(block.text)}</h{block.level + 1}>")
                elif isinstance(block, Paragraph):
                    parts.append(f"<p>{escape(block.text)}</p>")
                elif isinstance(block, Figure):
                    parts.append(f"<figure><figcaption>{escape(block.title)}</figcaption>"
                                 f"<p>{escape(block.alt)}</p></figure>")
                elif isinstance(block, Table):
                    numeric = {"integer", "number", "percent"}
                    head = "".join(f"<th scope=\"col\">{escape(c.label)}</th>" for c in block.columns)
                    number_cell = ' class="n"'
                    rows = "".join(
                        "<tr>" + "".join(f"<td{number_cell if c.kind in numeric else ''}>{_cell(v)}</td>"
                                         for v, c in zip(row, block.columns, strict=True)) + "</tr>"
                        for row in block.rows)
                    parts.append(f"<table><caption>{escape(block.title)}</caption><thead><tr>{head}</tr></thead>"
                                 f"<tbody>{rows}</tbody></table>")
        # The exporter's own settings, read through the deployment it receives.
        footer = options.deployment.plugin_settings(NAME).get("footer")
        if footer:
            parts.append(f"<footer><p>{escape(footer)}</p></footer>")
        parts.append("</body></html>")
        stream.write("".join(parts).encode("utf-8"))


@hookimpl
def register_exporters(register):
    register(HtmlExporter())


@hookimpl
def startup(deployment):
    """``[plugins.export-html]`` has one optional key, ``footer`` (a line printed under the report)."""
    settings = deployment.plugin_settings(NAME)
    unknown = sorted(set(settings) - {"footer"})
    if unknown:
        raise PluginError(f"[plugins.{NAME}] in ccch.toml: unknown key(s) {', '.join(unknown)} (known: footer)")
    if not isinstance(settings.get("footer", ""), str):
        raise PluginError(f"[plugins.{NAME}] footer in ccch.toml must be text, not {settings['footer']!r}")
