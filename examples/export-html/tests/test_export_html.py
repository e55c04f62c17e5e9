"""The example third-party format: registered through the hook, usable from the CLI and the web."""

from __future__ import annotations

from html.parser import HTMLParser

from click.testing import CliRunner

from ccch_core import progress
from ccch_core.cli import make_cli


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells: list[str] = []

    def handle_data(self, data):
        self.cells.append(data)


def test_html_format_through_ccch_report(make_deployment, monkeypatch):
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    dep = make_deployment(["export", "export-html"])
    progress.record_measurement(dep.db, dep.plan, "I7", "trung-tam-vhtt", "2024-03", 2)
    assert "html" in dep.exporters
    out = dep.config.folder / "bao-cao.html"
    result = CliRunner().invoke(make_cli(dep.config.path), ["report", "-p", "2024-03", "-f", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "http" not in html  # self-contained
    parser = _Text()
    parser.feed(html)
    assert "Số chuyên mục CCHC phát sóng" in parser.cells and "1,25" in parser.cells


def test_without_the_plugin_there_is_no_html_format(make_deployment):
    dep = make_deployment(["export"])
    assert "html" not in dep.exporters
    result = CliRunner().invoke(make_cli(dep.config.path), ["report", "-p", "2024-03", "-f", "html"])
    assert result.exit_code == 2 and "unknown format 'html'" in result.output
