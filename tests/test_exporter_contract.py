"""The exporter contract of docs/plugins.md: ``export(report, stream, options)`` with an
``ExportOptions`` (the deployment, recipient, signatory), and the two earlier signatures still served."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from ccch_core import PluginError
from ccch_core.cli import make_cli
from ccch_core.report import ExportOptions, build_report, call_exporter


class Documented:
    """Written to today's document: the options object, with the deployment in it."""

    def export(self, report, stream, options):
        stream.write(f"{report.period} {options.recipient} {options.deployment.plan.id}".encode())


class Earliest:
    """Written to the first document: ``export(report, stream)``."""

    def export(self, report, stream):
        stream.write(str(report.period).encode())


class Keywords:
    """Written to the export plugin's earlier code: ``export(report, stream, **options)``."""

    def export(self, report, stream, **options):
        stream.write(f"{options['recipient']}|{options['signatory']['name']}".encode())


@pytest.fixture
def report(make_deployment):
    dep = make_deployment()
    return dep, build_report(dep, "2024-03")


def test_the_documented_signature_gets_the_options_with_the_deployment(report):
    dep, built = report
    stream = io.BytesIO()
    call_exporter(Documented(), built, stream, ExportOptions(dep, recipient="UBND tỉnh"))
    assert stream.getvalue().decode() == "2024-03 UBND tỉnh duc-tho-2024"


def test_the_two_earlier_signatures_still_work(report):
    dep, built = report
    stream = io.BytesIO()
    call_exporter(Earliest(), built, stream, ExportOptions(dep, recipient="x"))
    assert stream.getvalue() == b"2024-03"
    stream = io.BytesIO()
    call_exporter(Keywords(), built, stream, ExportOptions(dep, recipient="Sở Nội vụ",
                                                           signatory={"name": "Nguyễn Văn A"}))
    assert stream.getvalue().decode() == "Sở Nội vụ|Nguyễn Văn A"


def test_every_exporter_in_the_repository_takes_the_options(make_deployment):
    """The in-repository exporters are written to the contract (three parameters, no **kwargs)."""
    import inspect

    dep = make_deployment(["export", "export-html"])
    assert {"docx", "xlsx", "csv", "json", "md", "html"} <= set(dep.exporters)
    for name, exporter in dep.exporters.items():
        parameters = list(inspect.signature(exporter.export).parameters)
        assert parameters == ["report", "stream", "options"], f"{name}: export{tuple(parameters)}"


def test_export_html_reads_its_setting_through_the_deployment(make_deployment):
    dep = make_deployment(["export", "export-html"],
                          plugin_settings={"export-html": {"footer": "Lưu hành nội bộ"}})
    out = dep.config.folder / "bao-cao.html"
    result = CliRunner().invoke(make_cli(dep.config.path), ["report", "-p", "2024-03", "-f", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "<footer><p>Lưu hành nội bộ</p></footer>" in out.read_text(encoding="utf-8")


def test_export_html_refuses_an_unknown_setting_with_plugin_error(make_deployment):
    with pytest.raises(PluginError, match=r"\[plugins.export-html\].*unknown key\(s\) colour"):
        make_deployment(["export", "export-html"], plugin_settings={"export-html": {"colour": "red"}})


def test_every_hookspec_says_which_exception_reports_a_problem():
    """Each hook's docstring names the exception that reports a problem (or says none is expected)."""
    import re

    from ccch_core import hookspecs

    silent = [name for name, value in vars(hookspecs).items()
              if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec")
              and not re.search(r"\w*(Error|Exception)\b|\braises?\b|none are expected", value.__doc__ or "")]
    assert not silent, (f"hookspecs {silent}: add an 'Errors:' paragraph to the docstring naming the exception "
                        "that reports a problem (PluginError at start-up, click.ClickException in a command…)")


def test_the_export_plugins_settings_are_refused_with_plugin_error(make_deployment):
    """The export plugin's ``startup`` reports a bad ``[plugins.export]`` as the hook says: PluginError,
    naming the table in ccch.toml and the value."""
    with pytest.raises(PluginError, match=r"\[plugins.export\] in ccch.toml: unknown key\(s\) colour"):
        make_deployment(["export"], plugin_settings={"export": {"colour": 1}})
    with pytest.raises(PluginError, match=r"\[plugins.export.signatories\] in ccch.toml: unknown unit 'xa-khong-co'"):
        make_deployment(["export"], plugin_settings={"export": {"signatories": {"xa-khong-co": {"name": "A"}}}})
