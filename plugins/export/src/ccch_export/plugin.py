"""The export plugin's hooks: exporters, ``ccch report`` / ``ccch export``, download pages."""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from ccch_core import PluginError, hookimpl, levels
from ccch_core.accounts import Role
from ccch_core.periods import Period, PeriodError
from ccch_core.report import DataScope, ExportOptions, build_report, call_exporter
from ccch_core.storage import open_private
from ccch_core.text import slugify
from ccch_core.web import deployment as current_deployment
from ccch_core.web.auth import login_required, unit_scope
from ccch_core.web.dashboard import chosen_period
from ccch_core.web.params import page_arg, search_arg
from ccch_core.web.plan_choice import chosen_plan, keep_plan_choice, plan_choice

from . import pages, tabular, written
from .decision_nd30 import DecisionWriter
from .exporters import EXPORTERS
from .plan_nd30 import PlanWriter

NAME = "export"
DATA_FORMATS = {"csv": ("csv", "text/csv; charset=utf-8"),
                "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                "json": ("json", "application/json")}


class ExportError(ValueError):
    """Bad export request (message in Vietnamese for the web, English-ish for the CLI is fine)."""


# -- services -------------------------------------------------------------------------------------


def report_options(deployment, report) -> ExportOptions:
    """The options an exporter receives: the deployment, and the signatory and addressee of the
    report document.

    The whole plan's report is signed as the plan was (the plan's signatory) and addressed to
    the bodies outside the issuer that the plan's reporting rules of that period type send to;
    a unit's report is addressed to whom its rules send, via whom they say, and signed as
    ``[plugins.export.signatories.<unit id>]`` says (title, name, authority lines).
    """
    plan = deployment.plan
    unit = report.request.unit
    settings = deployment.plugin_settings(NAME)
    issuer = unit.id if unit else plan.issuing_unit
    recipients: list[str] = []
    for rule in plan.reporting_rules:
        if rule.frequency is not report.period.type and not (unit and rule.frequency.months <= report.period.type.months):
            continue
        if unit is not None and unit.id not in {u.id for u in plan.resolve(rule.reporters)}:
            continue
        for to in rule.recipients:  # a rule may send to several ("báo cáo UBND huyện, tỉnh")
            if plan.is_within(to, issuer):
                continue  # reports inside the issuer's own organisation are not addressed outward
            text = plan.reference_name(to)
            if rule.via and rule.via != issuer:
                text += f" (qua {plan.reference_name(rule.via)})"
            if text not in recipients:
                recipients.append(text)
    signatory = None
    configured = settings.get("signatories", {}).get(issuer)
    if configured:
        signatory = {"authority": configured.get("authority", []), "title": configured.get("title"),
                     "name": configured.get("name")}
    elif unit is None and plan.signatory:
        signatory = {"authority": list(plan.signatory.authority), "title": plan.signatory.title,
                     "name": plan.signatory.name}
    return ExportOptions(deployment, recipient="; ".join(recipients) or None, signatory=signatory)


def report_filename(deployment, period: Period, unit_id: str | None, extension: str) -> str:
    """"bao-cao-xa-an-dung-2024-03.docx" (ASCII, safe everywhere)."""
    scope = slugify(deployment.plan.unit(unit_id).name) if unit_id else slugify(deployment.plan.id)
    return f"bao-cao-{scope}-{period}.{extension}"


def export_report(deployment, period: Period | str, unit_id: str | None, format_name: str,
                  now: dt.datetime | None = None) -> tuple[bytes, str, str]:
    """Build and export a report: (content, filename, media type)."""
    exporter = deployment.exporters.get(format_name)
    if exporter is None:
        raise ExportError(f"unknown format {format_name!r}; available: {', '.join(sorted(deployment.exporters))}")
    if isinstance(period, str):
        period = Period.parse(period)
    report = build_report(deployment, period, unit_id, now=now)
    buffer = io.BytesIO()
    call_exporter(exporter, report, buffer, report_options(deployment, report))
    return buffer.getvalue(), report_filename(deployment, period, unit_id, exporter.extension), exporter.media_type


def write_data_table(table, rows, format_name: str, target, *, meta: dict[str, Any], on_row=None) -> int:
    """Stream ``rows`` of a data table to ``target`` (a path or a binary stream); returns rows written."""
    if format_name == "csv":
        own = isinstance(target, (str, Path))
        # A data table may hold personal data: a file of ours is created owner-only (0600).
        stream = open_private(target, "w", encoding="utf-8", newline="") if own else io.TextIOWrapper(target, "utf-8", newline="")
        try:
            return tabular.write_csv(table.columns, rows, stream, on_row=on_row)
        finally:
            if own:
                stream.close()
            else:
                stream.flush()
                stream.detach()
    if format_name == "xlsx":
        # The streaming writer, not openpyxl: a million rows in seconds, not a minute (xlsx_stream).
        from .xlsx_stream import write_xlsx

        if isinstance(target, (str, Path)):
            with open_private(target, "wb") as stream:
                return write_xlsx(stream, table.title, table.columns, rows, on_row=on_row)
        return write_xlsx(target, table.title, table.columns, rows, on_row=on_row)
    if format_name == "json":
        counter = _Counter(rows, on_row)
        own = isinstance(target, (str, Path))
        stream = open_private(target, "wb") if own else target
        try:
            for chunk in tabular.iter_json(table.columns, counter, meta):
                stream.write(chunk)
        finally:
            if own:
                stream.close()
        return counter.count
    raise ExportError(f"unknown format {format_name!r}; use csv, xlsx or json")


class _Counter:
    def __init__(self, rows, on_row):
        self.rows, self.on_row, self.count = rows, on_row, 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            if self.on_row and self.count % 1000 == 0:
                self.on_row(1000)
            yield row
        if self.on_row:
            self.on_row(self.count % 1000)


def _parse_period(text: str | None) -> Period | None:
    return Period.parse(text) if text else None


# -- hooks ------------------------------------------------------------------------------------------


@hookimpl
def register_exporters(register):
    for exporter in EXPORTERS:
        register(exporter)


@hookimpl
def register_document_writers(register):
    """The export plugin writes decisions (the initiatives plugin's awards) and plans (a commune's
    "Kế hoạch", ``ccch_core.local_plans.to_document``) as Decree 30 DOCX."""
    register(DecisionWriter())
    register(PlanWriter())


@hookimpl
def register_migrations(register):
    register(written.migrations)


@hookimpl
def startup(deployment):
    settings = deployment.plugin_settings(NAME)
    unknown = set(settings) - {"signatories", "template"}
    if unknown:
        raise PluginError(f"[plugins.export] in ccch.toml: unknown key(s) {', '.join(sorted(unknown))} "
                          "(known: signatories, template)")
    if "template" in settings:
        # A mistake in the report template is found when the deployment starts, not when an
        # officer first opens the report page.
        try:
            written.template_of(deployment)
        except ValueError as exc:
            raise PluginError(f"[plugins.export] template in ccch.toml: {exc}") from None
    for unit_id, sign in settings.get("signatories", {}).items():
        if not deployment.plan.has_unit(unit_id):
            raise PluginError(f"[plugins.export.signatories] in ccch.toml: unknown unit {unit_id!r}")
        bad = set(sign) - {"authority", "title", "name"}
        if bad:
            raise PluginError(
                f"[plugins.export.signatories.{unit_id}] in ccch.toml: unknown key(s) {', '.join(sorted(bad))} (authority, title, name)")


class _FormatOption(click.Option):
    """``--format`` of ``ccch report``: its help lists the formats this deployment's enabled
    plugins registered (``register_exporters``), with their labels."""

    def get_help_record(self, ctx):
        pm = getattr(ctx.find_root().obj, "pm", None)
        if pm is not None:
            formats = [f"{e.name}: {getattr(e, 'label', e.name)}" for _, e in pm.collect("register_exporters")]
            if formats:
                self.help = "One of " + "; ".join(formats) + "."
        return super().get_help_record(ctx)


@hookimpl
def register_commands(cli):
    from ccch_core.cli import pass_deployment
    from ccch_core.cli import table as text_table

    pages.register_commands(cli)

    @cli.command("report")
    @click.option("--period", "-p", "period_text", required=True, help="2024-03, 2024-Q1, 2024-H1 or 2024.")
    @click.option("--unit", "unit_id", help="Report of this unit and the units below it (default: the whole plan).")
    @click.option("--format", "-f", "format_name", default="docx", show_default=True, cls=_FormatOption,
                  help="The file format.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Output file (default: a name like bao-cao-duc-tho-2024-2024-03.docx in this folder).")
    @pages.plan_option
    @pass_deployment
    def report_command(deployment, period_text, unit_id, format_name, output, plan_id):
        """Build the periodic report of the plan (or of one unit) and write it in a format."""
        deployment = pages.with_chosen_plan(deployment, plan_id)
        period = pages.report_period(deployment, period_text, unit_id)
        try:
            content, filename, _ = export_report(deployment, period, unit_id, format_name)
        except ExportError as exc:
            raise click.BadParameter(str(exc), param_hint="--format") from None
        path = output or Path(filename)
        with open_private(path, "wb") as handle:  # a report names officers and units: owner-only
            handle.write(content)
        click.echo(f"Wrote {path} ({len(content):,} bytes).")

    @cli.command("export")
    @click.argument("table_name", required=False)
    @click.option("--format", "-f", "format_name", type=click.Choice(sorted(DATA_FORMATS)), default="csv",
                  show_default=True, help="File format.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Output file.")
    @click.option("--period", "-p", "period_text", help="Only rows of this period (and the periods inside it).")
    @click.option("--unit", "unit_id", help="Only rows of this unit and the units below it.")
    @click.option("--list", "list_tables", is_flag=True, help="List the tables that can be exported.")
    @pass_deployment
    def export_command(deployment, table_name, format_name, output, period_text, unit_id, list_tables):
        """Stream a raw table (measurements, activity_items, plugins' tables) to CSV, XLSX or JSON."""
        tables = deployment.data_tables
        if list_tables or not table_name:
            click.echo(text_table([(t.name, t.title, "yes" if t.personal_data else "", ", ".join(t.roles))
                                   for t in tables.values()], ["Table", "Title", "Personal data", "Roles"]))
            return
        table = tables.get(table_name)
        if table is None:
            raise click.BadParameter(f"unknown table {table_name!r}; see ccch export --list", param_hint="TABLE")
        try:
            period = _parse_period(period_text)
        except PeriodError as exc:
            raise click.BadParameter(str(exc), param_hint="--period") from None
        if unit_id and not deployment.plan.has_unit(unit_id):
            raise click.BadParameter(f"unknown unit {unit_id!r}", param_hint="--unit")
        scope = DataScope(unit_id, period)
        path = output or Path(f"{table.name}.{DATA_FORMATS[format_name][0]}")
        total = table.count(deployment, scope) if table.count else None
        meta = {"schema": "ccch.table/1", "table": table.name, "title": table.title,
                "period": str(period) if period else None, "unit": unit_id}
        with click.progressbar(length=total or 0, label=f"{table.name} → {path}", show_pos=True,
                               file=sys.stderr) as bar:
            written = write_data_table(table, table.rows(deployment, scope), format_name, path, meta=meta,
                                       on_row=bar.update)
        click.echo(f"Wrote {written:,} rows to {path}.")


bp = keep_plan_choice(Blueprint("export", __name__, template_folder="templates"))


def _deployment():
    """The deployment seen through the plan the request names (``?plan=``: another year's; an
    unknown one is a 404 in words), else the default plan."""
    dep = current_deployment()
    return dep.with_plan(chosen_plan(dep))


def _content_disposition(filename: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@bp.route("/bao-cao")
@login_required
def download_report():
    """Download the report for a period (and unit) in a chosen format, of the default plan or
    of another year's (``?plan=``)."""
    dep = _deployment()
    try:
        period = Period.parse(request.args.get("period", ""))
    except PeriodError:
        abort(400, description="Kỳ báo cáo không hợp lệ (ví dụ: 2024-03, 2024-Q1, 2024-H1, 2024).")
    if period.end_date < dep.plan.starts_on or period.start_date > dep.plan.ends_on:
        abort(400, description=f"Kỳ {period.label_vi} nằm ngoài thời gian của kế hoạch.")
    # The core's one rule: a unit's report only for who may see the unit (as /bao-cao/<unit>/…).
    unit_id = unit_scope(request.args.get("unit") or None)
    format_name = request.args.get("format", "docx")
    if format_name not in dep.exporters:
        abort(400, description=f"Định dạng “{format_name}” không được hỗ trợ.")
    content, filename, media_type = export_report(dep, period, unit_id, format_name)
    return Response(content, content_type=media_type,
                    headers={"Content-Disposition": _content_disposition(filename)})


@bp.route("/bao-cao/chon-don-vi")
@login_required
def choose_unit():
    """The unit picker's answer (works without JavaScript): the units matching ``?q=`` whose
    report the reader may download for ``?period=``; one match (or one name typed exactly)
    goes straight to the download, several are listed as download links, paginated. The plan
    is the default or another year's (``?plan=``; the page says which, with a chooser)."""
    dep = _deployment()
    plan = dep.plan
    period = chosen_period(plan, db=dep.db)  # none: the dashboard's default; a bad one: 400 in words
    format_name = request.args.get("format", "docx")
    if format_name not in dep.exporters:
        abort(400, description="Định dạng không được hỗ trợ.")
    query = search_arg("q")
    allowed = [u.id for u in downloadable_units(plan, g.user, period)]
    found = levels.search_units(plan, query, only=allowed) if query else []
    exact = [u for u in found if levels.search_key(u.name) == levels.search_key(query)]
    chosen = found if len(found) == 1 else exact if len(exact) == 1 else []
    if chosen:
        return redirect(url_for(".download_report", period=str(period), unit=chosen[0].id, format=format_name))
    return render_template("export/choose_unit.html", period=period, format_name=format_name, query=query,
                           rows=levels.paginate(found, page_arg("trang")), exporter=dep.exporters[format_name],
                           **plan_choice(plan, dep))


@bp.route("/du-lieu")
@login_required
def data_index():
    """The raw tables the user may export."""
    dep = current_deployment()
    tables = [t for t in dep.data_tables.values() if g.user.role.value in t.roles
              and (g.user.role is not Role.UNIT_OFFICER or t.unit_scoped)]
    if not tables:
        abort(403)
    return render_template("export/data.html", tables=tables, formats=DATA_FORMATS)


@bp.route("/du-lieu/<name>")
@login_required
def data_download(name: str):
    """Stream one raw table as CSV, XLSX or JSON, limited to the user's units."""
    dep = current_deployment()
    table = dep.data_tables.get(name)
    if table is None:
        abort(404)
    if g.user.role.value not in table.roles or (g.user.role is Role.UNIT_OFFICER and not table.unit_scoped):
        abort(403)
    format_name = request.args.get("format", "csv")
    if format_name not in DATA_FORMATS:
        abort(400, description="Định dạng không được hỗ trợ (csv, xlsx, json).")
    try:
        period = _parse_period(request.args.get("period"))
    except PeriodError:
        abort(400, description="Kỳ không hợp lệ.")
    # A raw table holds every year's rows (not per plan): its unit is checked in the default plan,
    # whatever ?plan= a link from a chosen year's page carries.
    unit_id = unit_scope(request.args.get("unit") or None, dep.plan)
    scope = DataScope(unit_id, period)
    extension, media_type = DATA_FORMATS[format_name]
    filename = f"{table.name}{'-' + str(period) if period else ''}{'-' + slugify(unit_id) if unit_id else ''}.{extension}"
    headers = {"Content-Disposition": _content_disposition(filename)}
    meta = {"schema": "ccch.table/1", "table": table.name, "title": table.title,
            "period": str(period) if period else None, "unit": unit_id}
    if format_name == "csv":
        body = tabular.iter_csv(table.columns, table.rows(dep, scope))
    elif format_name == "json":
        body = tabular.iter_json(table.columns, table.rows(dep, scope), meta)
    else:
        # The workbook is streamed to a temporary file (a zip's directory comes last); send that file.
        import tempfile

        handle = tempfile.TemporaryFile()  # noqa: SIM115 - read by the streamed response
        write_data_table(table, table.rows(dep, scope), "xlsx", handle, meta=meta)
        handle.seek(0)
        body = iter(lambda: handle.read(256 * 1024), b"")
    return Response(stream_with_context(body), content_type=media_type, headers=headers)


@hookimpl
def register_blueprints(register, deployment):
    register(bp, url_prefix="/xuat")
    register(pages.bp, url_prefix="/xuat/viet")


@hookimpl
def navigation_items(deployment, user):
    if user is None:
        return []
    if any(user.role.value in t.roles for t in deployment.data_tables.values()):
        return [{"label": "Xuất dữ liệu", "endpoint": "export.data_index", "order": 70}]
    return []


def downloadable_units(plan, user, period: Period) -> list:
    """The units whose report ``user`` may download for ``period``: the units that owe one (one
    resolution of the reporting rules for the whole scope, never one per unit), kept by the
    core's one rule — every unit for admins, the officer's unit and those below it, none for
    viewers and contest managers."""
    if user is None or not (user.is_admin or user.role is Role.UNIT_OFFICER and user.unit_id):
        return []
    reporters = plan.expected_reporters(period.months()[-1])
    if user.is_admin:
        return list(reporters)
    return [u for u in reporters if plan.is_within(u.id, user.unit_id)]


@hookimpl
def dashboard_panels(deployment, user, period):
    units = downloadable_units(deployment.plan, user, period)
    exporters = [e for e in deployment.exporters.values()]
    # A long list is a search box (the unit picker), not thousands of options.
    picker = len(units) > levels.LIST_LIMIT
    return [{"title": "Tải báo cáo", "template": "export/panel.html", "order": 5,
             "context": {"units": [] if picker else units, "picker": picker, "count": len(units),
                         "exporters": exporters,
                         "whole_plan": user is None or user.role is not Role.UNIT_OFFICER}}]
