"""The page where the officer writes the periodic report (/xuat/viet) and ``ccch report-narrative``.

The page shows the report drafted from the data, pre-fills the sections the officer writes with
suggestions (targets behind schedule, units often late, the units' own "khó khăn, đề xuất",
attributed; for a roll-up, what its months' final reports said), saves drafts, marks the report
final (frozen with its figures) and offers the DOCX. After a final report, a correction of the data
shows as a list of differences; the frozen document stays as it was sent.
"""

from __future__ import annotations

import io
from pathlib import Path

import click
from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from ccch_core.accounts import Role
from ccch_core.periods import Period, PeriodError, utc_now
from ccch_core.report import call_exporter
from ccch_core.storage import open_private
from ccch_core.web import deployment as current_deployment
from ccch_core.web.auth import login_required, unit_scope
from ccch_core.web.plan_choice import chosen_plan, keep_plan_choice, plan_choice

from . import written


def plan_option(command):
    """``--plan ID`` on a report command: another year's plan of the deployment (``ccch plan list``)."""
    return click.option("--plan", "plan_id", metavar="ID",
                        help="The plan to report on (ccch plan list); default: the deployment's default plan.")(command)


def with_chosen_plan(deployment, plan_id: str | None):
    """The deployment seen through ``--plan`` (unchanged without it); a usage error naming the
    deployment's plans for an unknown id."""
    try:
        return deployment.with_plan(deployment.plan_by_id(plan_id))
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="--plan") from None


def report_period(deployment, period_text: str, unit_id: str | None) -> Period:
    """The --period of a report command, checked against the plan, and its --unit: a click error
    naming the option otherwise. Shared by `ccch report` and `ccch report-narrative`."""
    try:
        period = Period.parse(period_text)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    plan = deployment.plan
    if period.end_date < plan.starts_on or period.start_date > plan.ends_on:
        others = [p.id for p in deployment.plans.values() if p.id != plan.id
                  and p.starts_on <= period.end_date and period.start_date <= p.ends_on]
        raise click.BadParameter(f"{period} is outside the plan {plan.id!r} ({plan.starts_on} – {plan.ends_on})"
                                 + (f"; choose its plan with --plan {others[0]}" if others else ""),
                                 param_hint="--period")
    if unit_id and not plan.has_unit(unit_id):
        raise click.BadParameter(f"unknown unit {unit_id!r}", param_hint="--unit")
    return period


bp = keep_plan_choice(Blueprint("export_written", __name__, template_folder="templates"))

WRITERS = (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.UNIT_OFFICER)
"""Who may write a report: the plan's administrators (any scope) and a unit's officer (their own
unit's report, as ``unit_scope`` allows). Viewers read it."""


def default_period(plan, now=None) -> Period:
    """The month whose report is being written: last month (Vietnam time), kept within the plan."""
    month = Period.current(now=now).previous()
    first, last = Period.of_date(plan.starts_on), Period.of_date(plan.ends_on)
    return min(max(month, first), last)


def _period_arg(dep) -> Period:
    text = request.values.get("period", "")
    if not text:
        return default_period(dep.plan)
    try:
        period = Period.parse(text)
    except PeriodError:
        abort(400, description="Kỳ báo cáo không hợp lệ (ví dụ: 2024-03, 2024-Q1, 2024-H1, 2024).")
    if period.end_date < dep.plan.starts_on or period.start_date > dep.plan.ends_on:
        abort(400, description=f"Kỳ {period.label_vi} nằm ngoài thời gian của kế hoạch.")
    return period


def _deployment():
    """The deployment seen through the plan the page shows: the default, or another year's
    chosen with ``?plan=`` (an unknown one is a 404 in words)."""
    dep = current_deployment()
    return dep.with_plan(chosen_plan(dep))


def _scope():
    if g.user.role is Role.CONTEST_MANAGER:
        abort(403)
    return unit_scope(request.values.get("unit") or None)


@bp.route("", methods=["GET", "POST"])
@login_required
def write():
    """Draft, edit, save and finalise the report of a period (whole plan or one unit), of the
    default plan or another year's (``?plan=``; the page says which, with a chooser)."""
    dep = _deployment()
    period = _period_arg(dep)
    unit_id = _scope()
    may_write = g.user.role in WRITERS
    error = None
    saved = written.get_written(dep.db, dep.plan, period, unit_id)
    texts = dict(saved.texts) if saved else {}
    if request.method == "POST":
        if not may_write:
            abort(403)
        action = request.form.get("action")
        if action not in ("save", "final"):
            abort(400, description="Thao tác không hợp lệ.")
        posted = {key: request.form.get(key, "") for key in written.EDITABLE_SECTIONS if key in request.form}
        try:
            written.save(dep, period, unit_id, posted, by=g.user.username, final=action == "final")
        except written.WrittenReportError as exc:
            error = str(exc)
            texts = {k: v for k, v in posted.items()}  # the officer's words come back with the reason
        else:
            return redirect(url_for(".write", period=str(period), unit=unit_id or None,
                                    done="final" if action == "final" else "saved"), code=303)
    narrative = written.draft(dep, period, unit_id, texts=texts)
    saved = written.get_written(dep.db, dep.plan, period, unit_id)
    changes = written.differences(saved.frozen, narrative) if saved and saved.final and saved.frozen else []
    scope_name = dep.plan.unit(unit_id).name if unit_id else dep.plan.unit(dep.plan.issuing_unit).name
    return render_template("export/write.html", narrative=narrative, period=period, unit_id=unit_id,
                           scope_name=scope_name, saved=saved, texts=texts, may_write=may_write, error=error,
                           changes=changes, done=request.args.get("done"), max_text=written.MAX_TEXT,
                           **plan_choice(dep.plan, dep)), \
        (400 if error else 200)


@bp.route("/tai-ve")
@login_required
def download():
    """The report as DOCX: the frozen document of a final report, else today's draft."""
    dep = _deployment()
    period = _period_arg(dep)
    unit_id = _scope()
    content, filename = narrative_file(dep, period, unit_id)
    from .plugin import _content_disposition

    return Response(content, content_type=dep.exporters["docx"].media_type,
                    headers={"Content-Disposition": _content_disposition(filename)})


def narrative_file(dep, period: Period, unit_id: str | None, format_name: str = "docx") -> tuple[bytes, str]:
    """(content, file name) of the written report: the frozen DOCX once final, else the draft."""
    from .plugin import report_filename

    saved = written.get_written(dep.db, dep.plan, period, unit_id)
    exporter = dep.exporters[format_name]
    name = report_filename(dep, period, unit_id, exporter.extension)
    if saved and saved.final and format_name == "docx" and saved.document:
        return saved.document, name
    narrative = written.draft(dep, period, unit_id, texts=saved.texts if saved else {})
    if format_name == "docx":
        return written.narrative_document(dep, narrative, exporter), name.replace(".docx", "-du-thao.docx")
    buffer = io.BytesIO()
    from ccch_core.narrative import narrative_report

    from .plugin import report_options

    report = narrative_report(narrative, dep)
    call_exporter(exporter, report, buffer, report_options(dep, report))
    return buffer.getvalue(), name


def register_commands(cli) -> None:
    """``ccch report-narrative``: the written report from the terminal."""
    from ccch_core.cli import pass_deployment

    @cli.command("report-narrative")
    @click.option("--period", "-p", "period_text", required=True, help="2024-03, 2024-Q1, 2024-H1 or 2024.")
    @click.option("--unit", "unit_id", help="A unit's own report (default: the whole plan).")
    @click.option("--format", "-f", "format_name", default="docx", show_default=True,
                  help="docx, or another enabled report format (md, json…).")
    @click.option("--differences", "show_differences", is_flag=True,
                  help="List what reads differently today than in the final (frozen) report.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Output file.")
    @plan_option
    @pass_deployment
    def report_narrative(deployment, period_text, unit_id, format_name, show_differences, output, plan_id):
        """Write the report as prose: the final (frozen) document, or a draft with the texts saved on
        the web page and the suggestions for the sections not yet written."""
        deployment = with_chosen_plan(deployment, plan_id)
        period = report_period(deployment, period_text, unit_id)
        if format_name not in deployment.exporters:
            raise click.BadParameter(f"unknown format {format_name!r}; available: "
                                     f"{', '.join(sorted(deployment.exporters))}", param_hint="--format")
        if show_differences:
            saved = written.get_written(deployment.db, deployment.plan, period, unit_id)
            if not saved or not saved.final:
                raise click.ClickException(f"the report for {period} is not final yet: nothing is frozen to compare")
            changes = written.differences(saved.frozen, written.draft(deployment, period, unit_id, now=utc_now()))
            if not changes:
                click.echo("No difference: the data still read as in the final report.")
            for change in changes:
                click.echo(f"{change.key}\n  then: {change.before or '(none)'}\n  now:  {change.after or '(none)'}")
            return
        content, filename = narrative_file(deployment, period, unit_id, format_name)
        path = output or Path(filename)
        with open_private(path, "wb") as handle:
            handle.write(content)
        click.echo(f"Wrote {path} ({len(content):,} bytes).")
