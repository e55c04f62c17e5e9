"""The core's commands: init, plan, status, measure, report-activity, plugins, db, backup."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import sys
import time
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path

import attrs
import click

from .. import audit, privacy, progress, storage
from ..cli import CliState, echo_json, pass_deployment, table
from ..config import (
    CONFIG_FILENAME,
    ConfigError,
    check_base_url,
    load_config,
    render_config,
)
from ..deployment import Deployment
from ..hookspecs import hookimpl
from ..limits import (
    DEFAULT_LIMITS,
    ImportLimits,
    LimitError,
    csv_records,
    limits_of,
    read_limited,
)
from ..model import ASSUMED_LABEL_VI, Plan
from ..periods import VN_TZ, Period, PeriodError, PeriodType, utc_now
from ..planfile import PlanFileError, load_plan
from ..plugins import (
    DEFAULT_PLUGINS,
    PluginError,
    installed_plugins,
    make_plugin_manager,
)


def _period_option(required: bool = False):
    return click.option(
        "--period", "-p", "period_text", required=required, metavar="PERIOD",
        help="2024-03 (month), 2024-Q1, 2024-H1 or 2024. Default: this month if the plan covers it, else the plan's year.",
    )


def _plan_option():
    return click.option("--plan", "plan_id", metavar="ID",
                        help="One of the deployment's plans by id (ccch plan list); default: its default plan.")


def _chosen_plan(deployment: Deployment, plan_id: str | None) -> Plan:
    try:
        return deployment.plan_by_id(plan_id)
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="--plan") from None


def _plan_choice_option(default: str):
    """``--plan ID``: another year's plan of the deployment (``ccch plan list``); ``default`` says
    which plan is used without it."""
    return click.option("--plan", "plan_id", metavar="ID", help=f"The plan (ccch plan list); default: {default}.")


def _plan_holding(deployment: Deployment, period_text: str) -> Plan:
    """The deployment's plan whose span holds the period (the default plan first; another year's
    plan of the same issuing unit next); the default plan when none does (it then says why)."""
    try:
        period = Period.parse(period_text)
    except PeriodError:
        return deployment.plan
    for plan in deployment.plans.values():
        if plan.issuing_unit == deployment.plan.issuing_unit and plan.starts_on <= period.end_date \
                and period.start_date <= plan.ends_on:
            return plan
    return deployment.plan


def _resolve_period(plan: Plan, text: str | None) -> Period:
    if text:
        try:
            return Period.parse(text)
        except PeriodError as exc:
            raise click.BadParameter(str(exc), param_hint="--period") from None
    current = Period.current()
    if plan.starts_on <= current.start_date <= plan.ends_on:
        return current
    return Period.year_of(plan.year)


def _period_in_plan(plan: Plan, text: str | None) -> Period:
    period = _resolve_period(plan, text)
    if period.end_date < plan.starts_on or period.start_date > plan.ends_on:
        raise click.BadParameter(
            f"{period} is outside the plan ({plan.starts_on} – {plan.ends_on})", param_hint="--period"
        )
    return period


def _fmt(value: float | None, percent: bool = False) -> str:
    """A figure for a terminal table. Percentages are cut, not rounded, to one decimal so that
    99.97% never shows as a met "100%"."""
    if value is None:
        return "–"
    if percent:
        value = math.floor(value * 10 + 1e-9) / 10
        text = f"{value:.1f}".removesuffix(".0")
        return text + "%"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _fmt_result(result) -> tuple[str, str]:
    """(value, target) texts of an indicator result."""
    indicator = result.indicator
    if indicator.kind.value == "yes_no":
        yes_no = {None: "–", 1.0: "Có", 0.0: "Không"}
        return yes_no.get(result.value, _fmt(result.value)), yes_no.get(result.target, _fmt(result.target))
    return _fmt(result.value, indicator.is_percentage), _fmt(result.target, indicator.is_percentage)


def _count(number: int, noun: str) -> str:
    """"1 reporting rule", "2 reporting rules", "0 tasks"."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _load_plan_or_fail(path: str) -> Plan:
    try:
        return load_plan(path)
    except FileNotFoundError:
        raise click.ClickException(f"{path}: no such file") from None
    except PlanFileError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add the core's commands to the root group."""

    # -- init -------------------------------------------------------------------------------

    @cli.command()
    @click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--plan", "plan_file", required=True, type=click.Path(exists=True, dir_okay=False),
                  help="The plan file the deployment runs; it is copied into FOLDER as plan.toml.")
    @click.option("--name", default=None, help="Deployment name (default: the plan's issuing unit).")
    @click.option("--public-base-url", default="http://127.0.0.1:8000", show_default=True,
                  help="The address citizens reach; QR codes carry it.")
    @click.option("--plugin", "plugins", multiple=True, help="Enable a plugin (repeat for several).")
    @click.option("--force", is_flag=True, help="Overwrite an existing ccch.toml and plan.toml in FOLDER.")
    @click.pass_obj
    def init(state: CliState, folder: Path, plan_file: str, name: str | None, public_base_url: str, plugins: tuple[str, ...], force: bool):
        """Create a deployment in FOLDER: config, plan copy and migrated database.

        Running it again on an existing deployment without --force changes nothing and says so.
        """
        plan = _load_plan_or_fail(plan_file)
        try:
            base_url = check_base_url(public_base_url, "--public-base-url")
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--public-base-url") from None
        installed = state.available if state.available is not None else installed_plugins()
        missing = [p for p in plugins if p not in installed]
        if missing:
            raise click.BadParameter(
                f"not installed: {', '.join(missing)} (installed: {', '.join(sorted(installed)) or 'none'})",
                param_hint="--plugin",
            )
        config_path = folder / CONFIG_FILENAME
        if config_path.exists() and not force:
            raise click.ClickException(f"{config_path} exists; use --force to overwrite it")
        folder.mkdir(parents=True, exist_ok=True)
        target_plan = folder / "plan.toml"
        if Path(plan_file).resolve() != target_plan.resolve():
            shutil.copyfile(plan_file, target_plan)
        config_path.write_text(
            render_config(
                name=name or plan.unit(plan.issuing_unit).name,
                plan="plan.toml",
                database="ccch.db",
                public_base_url=base_url,
                plugins=list(plugins),
            ),
            encoding="utf-8",
        )
        try:
            config = load_config(config_path)
            deployment = Deployment(config, pm=make_plugin_manager(config.plugins, strict=config.strict_plugins,
                                                                   available=state.available))
            deployment.migrate()
            deployment.pm.hook.startup(deployment=deployment)
            deployment.close()
        except (ConfigError, PluginError, storage.StorageError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Created {config_path} for plan {plan.id!r} ({plan.title}).")
        click.echo(f"Database: {folder / 'ccch.db'}")
        click.echo(f"Next: ccch --config {config_path} status")

    # -- plan -------------------------------------------------------------------------------

    @cli.group()
    def plan():
        """Validate and show plan files."""

    @plan.command("validate")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--json", "as_json", is_flag=True, help="Print problems as JSON.")
    def plan_validate(file: str, as_json: bool):
        """Check a plan file and report every problem at once (exit 1 if any)."""
        try:
            loaded = load_plan(file)
        except FileNotFoundError:
            raise click.ClickException(f"{file}: no such file") from None
        except PlanFileError as exc:
            if as_json:
                echo_json({"ok": False, "problems": [
                    {"file": p.file, "line": p.line, "where": p.where, "message": p.message} for p in exc.problems
                ]})
            else:
                click.echo(str(exc), err=True)
            raise SystemExit(1) from None
        if as_json:
            echo_json({"ok": True, "plan": loaded.id, "problems": []})
            return
        quantitative = sum(1 for i in loaded.indicators if i.quantitative)
        click.echo(
            f"OK: {file}: plan {loaded.id!r}, {_count(len(loaded.units), 'unit')}, "
            f"{_count(len(loaded.indicators), 'indicator')} ({quantitative} quantitative), "
            f"{_count(len(loaded.tasks), 'task')}, {_count(len(loaded.reporting_rules), 'reporting rule')}."
        )

    @plan.command("add")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.pass_obj
    def plan_add(state: CliState, file: str):
        """Add another year's plan FILE to the deployment: it is checked, copied into the
        deployment's folder as plan-<id>.toml and listed in [deployment] plans of ccch.toml (the
        default plan stays the default). Pages choose it with ?plan=<id>, commands with --plan."""
        import re
        import tomllib

        dep = state.deployment()
        added = _load_plan_or_fail(file)
        for other in dep.plans.values():
            if other.id == added.id:
                raise click.ClickException(f"{file}: the deployment already has a plan {added.id!r}")
            if (other.issuing_unit, other.year) == (added.issuing_unit, added.year):
                raise click.ClickException(f"{file}: {added.year} already has a plan of {added.issuing_unit} "
                                           f"({other.id!r}); one plan per issuing unit and year")
        config_path = dep.config.path
        folder = config_path.parent
        target = folder / f"plan-{added.id}.toml"
        if target.exists():
            raise click.ClickException(f"{target} exists; remove it or list it in [deployment] plans by hand")
        text = config_path.read_text(encoding="utf-8")
        listed = list(tomllib.loads(text).get("deployment", {}).get("plans", []))
        line = "plans = [" + ", ".join(f'"{p}"' for p in [*listed, target.name]) + "]"
        if listed:
            existing = re.compile(r"(?m)^plans\s*=\s*\[[^\]\n]*\]\s*$")
            if not existing.search(text):
                raise click.ClickException(f"{config_path}: [deployment] plans spans several lines; add "
                                           f'"{target.name}" to it by hand after copying {file} to {target}')
            new_text = existing.sub(line, text, count=1)
        else:
            new_text = re.sub(r"(?m)^\[deployment\]\s*$", "[deployment]\n# Other years' plans (ccch plan add), relative "
                              "to this file.\n" + line, text, count=1)
        shutil.copyfile(file, target)
        config_path.write_text(new_text, encoding="utf-8")
        try:  # the deployment must open with it, or nothing changes
            Deployment.open(config_path).close()
        except (ConfigError, PlanFileError, ValueError) as exc:
            config_path.write_text(text, encoding="utf-8")
            target.unlink()
            raise click.ClickException(f"{file}: not added: {exc}") from None
        click.echo(f"Added plan {added.id!r} ({added.title}) as {target.name}; choose it with ?plan={added.id} "
                   f"on the pages and --plan {added.id} in commands.")

    @plan.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def plan_list(state: CliState, as_json: bool):
        """The deployment's plans: the default one, then the other years' ([deployment] plans)."""
        dep = state.deployment()
        plans = list(dep.plans.values())
        if as_json:
            echo_json([{"id": p.id, "year": p.year, "title": p.title, "default": p is dep.plan,
                        "issuing_unit": p.issuing_unit, "parent_plan": p.parent_plan} for p in plans])
            return
        click.echo(table([(p.id, p.year, "mặc định" if p is dep.plan else "", p.title) for p in plans],
                         ["Mã", "Năm", "", "Kế hoạch"], max_width=70))

    @plan.command("show")
    @click.option("--file", "file", type=click.Path(dir_okay=False), help="A plan file instead of the deployment's plan.")
    @_plan_option()
    @click.option("--unit", "unit_id", help="Only the tasks of this unit.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def plan_show(state: CliState, file: str | None, plan_id: str | None, unit_id: str | None, as_json: bool):
        """Targets, tasks by unit and deadlines of the plan."""
        the_plan = _load_plan_or_fail(file) if file else _chosen_plan(state.deployment(), plan_id)
        if unit_id and not the_plan.has_unit(unit_id):
            raise click.BadParameter(f"unknown unit {unit_id!r}", param_hint="--unit")
        data = plan_summary(the_plan, unit_id)
        if as_json:
            echo_json(data)
            return
        click.echo(f"{the_plan.title} ({the_plan.number_and_symbol})")
        click.echo(f"{the_plan.unit(the_plan.issuing_unit).name} · {the_plan.starts_on} – {the_plan.ends_on}\n")

        def mark(value, entry: dict, field: str) -> str:
            """The value, marked when the plan does not state it."""
            shown = "–" if value is None or value == "" else str(value)
            return f"{shown} ({ASSUMED_LABEL_VI})" if field in entry["assumed"] or "*" in entry["assumed"] else shown

        click.echo("Chỉ tiêu (targets)")
        click.echo(table(
            [(t["code"], t["kind"], mark(_target_text(t), t, "target"), t["applies_to_text"],
              t["short_name"] or t["text"], t["source_of"] or "–") for t in data["targets"]],
            ["Mã", "Loại", "Chỉ tiêu", "Áp dụng", "Nội dung", "Nguồn"], max_width=48,
        ))
        click.echo("\nNhiệm vụ theo đơn vị chủ trì (tasks by lead unit)")
        rows = []
        summaries = {t["id"]: t for t in data["tasks"]}
        for lead in data["tasks_by_lead"]:
            for task_id in lead["tasks"]:
                task = summaries[task_id]
                timing = mark(task["timing"], task, "timing")
                if task["starts_in"]:
                    timing += f" · từ {Period.parse(task['starts_in']).label_vi}"
                if task["evidence_per"]:
                    timing += f" · minh chứng mỗi {PeriodType(task['evidence_per']).label_vi}"
                rows.append((lead["name"], task_id, task["duty"], timing))
        click.echo(table(rows, ["Chủ trì", "TT", "Nhiệm vụ", "Thời gian"], max_width=48))
        click.echo("\nThời hạn (deadlines)")
        click.echo(table([(d["id"], mark(d["last_day"], d, "due"), d["what"], d["source_of"] or "–")
                          for d in data["deadlines"]], ["Mã", "Hạn chót", "Nội dung", "Nguồn"]))
        click.echo("\nChế độ báo cáo (reporting rules)")
        click.echo(table(
            [(r["id"], r["frequency"], mark(r["due_day"], r, "due_day"), "; ".join(x["name"] for x in r["recipients"]),
              r["what"], r["source_of"] or "–") for r in data["reporting_rules"]],
            ["Mã", "Kỳ", "Hạn (ngày)", "Gửi", "Nội dung", "Nguồn"], max_width=48,
        ))
        if data["assumed"]:
            click.echo(f"\nGiả định ({ASSUMED_LABEL_VI}): {len(data['assumed'])}")
            click.echo(table([(a["where"], a["reason"]) for a in data["assumed"]], ["Ở đâu", "Lý do"], max_width=72))

    @plan.command("units")
    @click.option("--file", "file", type=click.Path(dir_okay=False), help="A plan file instead of the deployment's plan.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def plan_units(state: CliState, file: str | None, as_json: bool):
        """The unit tree of the plan."""
        the_plan = _load_plan_or_fail(file) if file else state.deployment().plan
        if as_json:
            echo_json([
                {"id": u.id, "name": u.name, "kind": u.kind, "parent": u.parent, "retired_on": u.retired_on,
                 "merged_into": u.merged_into}
                for u in the_plan.units
            ])
            return

        def walk(units, depth):
            for u in units:
                flags = " [đã giải thể]" if u.retired_on else ""
                click.echo(f"{'  ' * depth}{u.name} ({u.id}, {the_plan.unit_kinds.get(u.kind, u.kind)}){flags}")
                walk(the_plan.children(u.id), depth + 1)

        walk(the_plan.roots(), 0)

    # -- status -----------------------------------------------------------------------------

    @cli.command()
    @_period_option()
    @_plan_option()
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.option("--units", "with_units", is_flag=True,
                  help="With --json: every applicable unit's value under each indicator (large for a big plan).")
    @pass_deployment
    def status(deployment, period_text: str | None, plan_id: str | None, as_json: bool, with_units: bool):
        """Where the plan stands for a period: indicators and missing reports."""
        the_plan = _chosen_plan(deployment, plan_id)
        period = _period_in_plan(the_plan, period_text)
        now = utc_now()
        results = progress.evaluate_plan(deployment.db, the_plan, period, now=now,
                                         measures=deployment.measures, deployment=deployment)
        completeness = progress.reporting_completeness(deployment.db, the_plan, period, now=now)
        if as_json:
            echo_json({
                "plan": the_plan.id,
                "period": str(period),
                "period_label": period.label_vi,
                "indicators": [r.to_dict(units=with_units) for r in results],
                "reporting": completeness.to_dict(),
            })
            return
        click.echo(f"{the_plan.title} — {period.label_vi}\n")
        rows = []
        for r in results:
            value_text, target_text = _fmt_result(r)
            rows.append((
                r.indicator.code,
                value_text,
                target_text,
                r.status.label_vi,
                f"{len(r.units_without_data)}/{len(r.units)}",
                r.indicator.label,
            ))
        click.echo(table(rows, ["Mã", "Giá trị", "Chỉ tiêu", "Tình trạng", "Thiếu số liệu", "Nội dung"], max_width=50))
        click.echo(
            f"\nBáo cáo: {completeness.received}/{completeness.expected} đã nộp"
            f" (tỷ lệ báo cáo {_fmt(completeness.reporting_rate, True)},"
            f" đúng hạn {_fmt(completeness.on_time_rate, True)})"
        )
        missing = completeness.missing_units()
        if missing:
            click.echo("Chưa nộp (quá hạn): " + ", ".join(u.name for u in missing))

    # -- measure ----------------------------------------------------------------------------

    @cli.group()
    def measure():
        """Record and list indicator values."""

    @measure.command("record")
    @click.argument("indicator")
    @click.argument("unit")
    @click.argument("period")
    @click.argument("value", required=False)
    @click.option("--numerator", help="For ratio indicators: the numerator.")
    @click.option("--denominator", help="For ratio indicators: the denominator.")
    @click.option("--note", help="A note kept with the value.")
    @click.option("--by", "recorded_by", default="cli", show_default=True, help="Who records it.")
    @click.option("--json", "as_json", is_flag=True, help="Print the stored measurement as JSON.")
    @_plan_choice_option("the plan whose year holds PERIOD")
    @pass_deployment
    def measure_record(deployment, indicator, unit, period, value, numerator, denominator, note, recorded_by, as_json,
                       plan_id):
        """Record VALUE of INDICATOR for UNIT in PERIOD (yes/no: có/không or 1/0)."""
        deployment = deployment.with_plan(_chosen_plan(deployment, plan_id) if plan_id
                                          else _plan_holding(deployment, period))
        try:
            with storage.write_transaction(deployment.db):
                m = progress.record_measurement(
                    deployment.db, deployment.plan, indicator, unit, period, value,
                    numerator=numerator, denominator=denominator, note=note, recorded_by=recorded_by,
                )
                audit.record(deployment.db, audit.cli_actor(), "measurement.record",
                             f"{m.indicator} — {_unit_name(deployment.plan, m.unit_id)} — {m.period.label_vi}",
                             _measurement_detail(m, recorded_by))
        except progress.ProgressError as exc:
            raise click.ClickException(str(exc)) from None
        if as_json:
            echo_json({"indicator": m.indicator, "unit": m.unit_id, "period": str(m.period), "value": m.value,
                       "numerator": m.numerator, "denominator": m.denominator})
        else:
            click.echo(f"Recorded {m.indicator} = {_fmt(m.value)} for {m.unit_id} in {m.period}.")

    @measure.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--by", "recorded_by", default="import", show_default=True, help="Who records the values.")
    @_progress_option()
    @_plan_choice_option("the deployment's default plan")
    @pass_deployment
    def measure_import(deployment, file: str, recorded_by: str, show_progress: bool | None, plan_id: str | None):
        """Import values from a CSV file (UTF-8, with or without BOM).

        Columns: indicator, unit, period, value, numerator, denominator, note. Every row is
        checked first; if any row is bad, each bad row is reported with its line and nothing
        is recorded. The rows are values of one plan's indicators (--plan for another year's).
        """
        import_measurement_csv(deployment.with_plan(_chosen_plan(deployment, plan_id)), Path(file), recorded_by,
                               show_progress)

    @measure.command("list")
    @_period_option()
    @click.option("--indicator", help="Only this indicator.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @_plan_choice_option("the deployment's default plan")
    @pass_deployment
    def measure_list(deployment, period_text, indicator, as_json, plan_id):
        """Values recorded for a period (and the periods inside it)."""
        deployment = deployment.with_plan(_chosen_plan(deployment, plan_id))
        period = _resolve_period(deployment.plan, period_text)
        periods = {period, *period.months(), *(m.rollup(t) for m in period.months() for t in type(period.type))}
        periods = [p for p in periods if period.contains(p)]
        found = progress.measurements(deployment.db, deployment.plan, periods, indicator)
        if as_json:
            echo_json([{"indicator": m.indicator, "unit": m.unit_id, "period": str(m.period), "value": m.value,
                        "numerator": m.numerator, "denominator": m.denominator, "note": m.note,
                        "recorded_by": m.recorded_by, "recorded_at": m.recorded_at} for m in found])
            return
        click.echo(table([(m.indicator, m.unit_id, m.period, _fmt(m.value), m.note) for m in found],
                         ["Mã", "Đơn vị", "Kỳ", "Giá trị", "Ghi chú"]))

    # -- reports sent to further recipients ---------------------------------------------------

    @cli.command("report-sent")
    @click.argument("unit")
    @click.argument("period")
    @click.argument("recipient")
    @click.option("--on", "sent_on", required=True, metavar="YYYY-MM-DD", help="The day the report was sent.")
    @click.option("--reference", help="The dispatch number (số công văn), e.g. 45/BC-VHTT.")
    @click.option("--by", "recorded_by", default="cli", show_default=True, help="Who records it.")
    @click.option("--plan", "plan_id", metavar="ID",
                  help="The plan whose rule it is (ccch plan list); default: the plan whose year holds PERIOD.")
    @pass_deployment
    def report_sent(deployment, unit, period, recipient, sent_on, reference, recorded_by, plan_id):
        """Record that UNIT sent its PERIOD report to RECIPIENT, a further recipient of its
        reporting rule ("báo cáo UBND huyện, tỉnh": the report in ccch serves the first)."""
        plan = _chosen_plan(deployment, plan_id) if plan_id else _plan_holding(deployment, period)
        parsed = _resolve_period(plan, period)
        if parsed.end_date < plan.starts_on or parsed.start_date > plan.ends_on:
            raise click.ClickException(f"period: {parsed} is outside plan {plan.id!r} "
                                       f"({plan.starts_on} – {plan.ends_on}); see ccch plan list")
        try:
            with storage.write_transaction(deployment.db):
                row = progress.record_report_delivery(deployment.db, plan, unit, period, recipient, sent_on,
                                                      reference=reference, recorded_by=recorded_by)
                # Audited as the web form's record is (report.deliver), in the same transaction.
                audit.record(deployment.db, audit.cli_actor(), "report.deliver",
                             f"{_unit_name(plan, unit)} — {Period.parse(row['period']).label_vi}",
                             f"gửi {plan.reference_name(recipient)} ngày "
                             f"{dt.date.fromisoformat(row['sent_on']):%d/%m/%Y}"
                             + (f", số {row['reference']}" if row["reference"] else ""))
        except progress.ProgressError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Recorded: {plan.unit(unit).name} sent its {period} report to {plan.unit(recipient).name} on {sent_on}.")

    # -- activity reports -------------------------------------------------------------------

    @cli.command("report-activity")
    @click.argument("unit", required=False)
    @click.argument("period", required=False)
    @click.option("--item", "items", multiple=True, metavar="CATEGORY=COUNT[|TITLE[|LINK[|TASK]]]",
                  help=f"One activity line (repeat). Categories: {', '.join(progress.ACTIVITY_CATEGORIES)}.")
    @click.option("--note", help="Free text for the report.")
    @click.option("--by", "submitted_by", default="cli", show_default=True, help="Who submits it.")
    @click.option("--from-csv", "csv_file", type=click.Path(exists=True, dir_okay=False),
                  help="Import reports from a CSV instead (columns: unit, period, category, count, title, link, "
                       "task, note, submitted_at). All rows are checked first; nothing is stored if one is bad.")
    @click.option("--json", "as_json", is_flag=True, help="Print the stored report as JSON.")
    @_progress_option()
    @_plan_choice_option("the plan whose year holds PERIOD; with --from-csv, the deployment's default plan")
    @pass_deployment
    def report_activity(deployment, unit, period, items, note, submitted_by, csv_file, as_json, show_progress,
                        plan_id):
        """Submit UNIT's activity report for PERIOD (replaces an earlier one for the same period).

        Example: ccch report-activity xa-an-dung 2024-03 --item "broadcast=4|Nêu gương người tốt, việc tốt"
        """
        deployment = deployment.with_plan(_chosen_plan(deployment, plan_id) if plan_id or not period
                                          else _plan_holding(deployment, period))
        if csv_file:
            if unit or period or items:
                raise click.UsageError("give either --from-csv or UNIT PERIOD --item …, not both")
            import_activity_csv(deployment, Path(csv_file), submitted_by, show_progress)
            return
        if not unit or not period:
            raise click.UsageError("UNIT and PERIOD are required (or use --from-csv FILE)")
        parsed = []
        for index, text in enumerate(items):
            head, *rest = text.split("|")
            if "=" not in head:
                raise click.BadParameter(f"{text!r}: write CATEGORY=COUNT, e.g. published=3", param_hint=f"--item #{index + 1}")
            category, count = head.split("=", 1)
            fields = dict(zip(("title", "link", "task_id"), rest))
            parsed.append({"category": category.strip(), "count": count.strip(), **fields})
        try:
            with storage.write_transaction(deployment.db):
                report = progress.record_activity_report(
                    deployment.db, deployment.plan, unit, period, parsed, note=note, submitted_by=submitted_by
                )
                audit.record(deployment.db, audit.cli_actor(), "report.submit",
                             f"{_unit_name(deployment.plan, unit)} — {report.period.label_vi}",
                             f"lần {report.revision}, {len(report.items)} hoạt động; người nộp: {submitted_by}")
        except progress.ProgressError as exc:
            raise click.ClickException(str(exc)) from None
        if as_json:
            echo_json({"id": report.id, "unit": report.unit_id, "period": str(report.period),
                       "revision": report.revision, "submitted_at": report.submitted_at,
                       "items": [attrs.asdict(i) for i in report.items]})
        else:
            click.echo(f"Report of {unit} for {report.period} saved (revision {report.revision}, {len(report.items)} item(s)).")

    # -- plugins ----------------------------------------------------------------------------

    @cli.command("plugins")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.option("--all", "show_all", is_flag=True, help="Also list the core's own plugin modules.")
    @click.pass_obj
    def plugins_command(state: CliState, as_json: bool, show_all: bool):
        """Loaded plugins with versions and hooks; installed-but-disabled and broken ones."""
        if state.error is not None:
            raise click.ClickException(str(state.error))
        pm = state.pm
        loaded = [
            {"name": name, "version": pm.versions.get(name), "hooks": pm.hooks_of(name), "core": name in DEFAULT_PLUGINS}
            for name in pm.plugin_names()
            if show_all or name not in DEFAULT_PLUGINS
        ]
        data = {
            "loaded": loaded,
            "installed_not_enabled": list(pm.blocked_names),
            "broken": [{"name": b.name, "error": b.error} for b in pm.broken],
        }
        if as_json:
            echo_json(data)
            return
        if loaded:
            click.echo(table([(p["name"], p["version"] or "", ", ".join(p["hooks"])) for p in loaded],
                             ["Plugin", "Version", "Hooks"], max_width=80))
        else:
            click.echo("No plugins enabled.")
        if pm.blocked_names:
            click.echo("Installed, not enabled: " + ", ".join(pm.blocked_names))
        for b in pm.broken:
            click.echo(f"Failed to load: {b.name}: {b.error}")

    # -- database ---------------------------------------------------------------------------

    @cli.group()
    def db():
        """Database migrations."""

    @db.command("migrate")
    @click.pass_obj
    def db_migrate(state: CliState):
        """Apply pending migrations of the core and every enabled plugin (idempotent)."""
        deployment = state.deployment(migrate=False, startup=False)
        applied = deployment.migrate()
        if not applied:
            click.echo("Database is up to date.")
        for set_name, names in applied.items():
            click.echo(f"{set_name}: applied {', '.join(names)}")

    @db.command("status")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def db_status(state: CliState, as_json: bool):
        """Applied and pending migrations per migration set."""
        deployment = state.deployment(migrate=False, startup=False)
        applied = storage.applied_migrations(deployment.db)
        pending = deployment.prepare_database(migrate=False)
        data = {s.migrations.name: {"applied": applied.get(s.migrations.name, []), "pending": pending.get(s.migrations.name, [])}
                for s in deployment.migration_sets}
        if as_json:
            echo_json(data)
            return
        click.echo(table([(k, len(v["applied"]), ", ".join(v["pending"]) or "–") for k, v in data.items()],
                         ["Set", "Applied", "Pending"]))

    @cli.command()
    @click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="Overwrite DESTINATION if it exists.")
    @click.pass_obj
    def backup(state: CliState, destination: Path, force: bool):
        """Copy the live database to DESTINATION (safe while the app is serving)."""
        deployment = state.deployment(migrate=False, startup=False)
        try:
            path = storage.backup(deployment.config.database_path, destination, overwrite=force)
        except storage.StorageError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Backup written to {path} (integrity check ok).")

    # -- a new plugin's skeleton -------------------------------------------------------------

    @cli.group("plugin")
    def plugin_group():
        """Write a new plugin (``ccch plugins`` lists the installed ones)."""

    @plugin_group.command("new")
    @click.argument("name")
    @click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
                  help="Where to write it (default: ./ccch-NAME).")
    def plugin_new(name: str, folder: Path | None):
        """Write the skeleton of plugin NAME: a distribution ccch-NAME with a table, two commands, a
        report section, a settings check and tests that pass as written (pip install -e '.[test]',
        then pytest)."""
        from ..skeleton import SkeletonError, new_plugin

        folder = folder or Path(f"ccch-{name}")
        try:
            written = new_plugin(name, folder)
        except SkeletonError as exc:
            raise click.BadParameter(str(exc), param_hint="NAME" if exc.field == "name" else "--dir") from None
        click.echo(f"Wrote {len(written)} files to {folder}. Next:\n  cd {folder}\n"
                   "  pip install -e '.[test]'\n  python -m pytest")

    # -- personal data and the audit log ----------------------------------------------------

    @cli.group("privacy")
    def privacy_group():
        """Personal data (Decree 13/2023/NĐ-CP): erase a person's data on request, purge expired data."""

    @privacy_group.command("erase")
    @click.option("--phone", help="The person's phone number (any usual form: 0912 345 678, +84912345678).")
    @click.option("--citizen-id", "citizen_id", help="The person's 12-digit citizen ID number (CCCD).")
    @click.option("--email", help="The person's e-mail address (messages sent to it, unit contacts).")
    @click.option("--dry-run", is_flag=True, help="Only show what would be erased; change nothing.")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @pass_deployment
    def privacy_erase(deployment, phone, citizen_id, email, dry_run, yes):
        """Erase one person's personal data in every enabled plugin that holds any.

        Names, phone and ID numbers and contact details are erased; anonymous statistics (survey
        answers, contest attempts without a name, counts by unit) are kept. The person is looked up
        by the keyed hash of each number, never by a clear-text search. The erasure is recorded in
        the audit log (with masked numbers only).
        """
        if not phone and not citizen_id and not email:
            raise click.UsageError("give --phone, --citizen-id or --email (or several)")
        try:
            phone = privacy.normalise_phone(phone) if phone else None
        except privacy.PersonalDataError as exc:
            raise click.BadParameter(str(exc), param_hint="--phone") from None
        try:
            citizen_id = privacy.normalise_citizen_id(citizen_id) if citizen_id else None
        except privacy.PersonalDataError as exc:
            raise click.BadParameter(str(exc), param_hint="--citizen-id") from None
        try:
            email = privacy.normalise_email_address(email) if email else None
        except privacy.PersonalDataError as exc:
            raise click.BadParameter(str(exc), param_hint="--email") from None
        who = privacy.describe_person(phone, citizen_id, email)
        found = privacy.erase_person(deployment, phone=phone, citizen_id=citizen_id, email=email, dry_run=True)
        if not any(r.items for r in found):
            searched = ", ".join(privacy.plugins_holding_personal_data(deployment)) or "không có phần mở rộng nào"
            raise click.ClickException(
                f"Không tìm thấy dữ liệu cá nhân nào của {who} (đã tìm trong: {searched}). Không có gì bị xóa.")
        click.echo(f"Dữ liệu cá nhân của {who}:")
        _echo_erasures(found)
        if dry_run:
            click.echo("Chạy thử (--dry-run): chưa xóa gì.")
            return
        if not yes:
            click.confirm("Xóa vĩnh viễn các dữ liệu cá nhân trên? Không thể hoàn tác", abort=True)
        erased = privacy.erase_person(deployment, phone=phone, citizen_id=citizen_id, email=email,
                                      actor=audit.cli_actor())
        click.echo("Đã xóa:")
        _echo_erasures(erased)
        click.echo("Số liệu thống kê ẩn danh được giữ lại; việc xóa đã được ghi vào nhật ký thao tác.")

    @privacy_group.command("purge")
    @click.option("--dry-run", is_flag=True, help="Only show what would be erased; change nothing.")
    @pass_deployment
    def privacy_purge(deployment, dry_run):
        """Erase personal data kept past each plugin's retention time (run it daily).

        The contest plugin erases participants' names and numbers personal_data_retention_days
        after a contest's last round closed (and clear contact phones after contact_retention_days);
        the survey plugin erases contact details contact_retention_days after they were given.
        Rankings, counts by unit and answers stay as anonymous statistics. docs/deploy.md has a
        systemd timer that runs this every night.
        """
        results = privacy.purge_expired(deployment, dry_run=dry_run, actor=audit.cli_actor())
        if not any(r.items for r in results):
            click.echo("Không có dữ liệu cá nhân nào quá thời hạn lưu trữ.")
            return
        click.echo("Sẽ xóa (chạy thử, chưa xóa gì):" if dry_run else "Đã xóa dữ liệu cá nhân quá thời hạn lưu trữ:")
        _echo_erasures(results)

    @cli.command("audit")
    @click.option("--user", "username", help="Only the actions of this account (cli:NAME for the command line).")
    @click.option("--action", help="Only this action code, e.g. user.create or contest.erase.")
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="Rows to print.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_deployment
    def audit_command(deployment, username, action, limit, as_json):
        """The audit log, newest first: who did what, when (Vietnam time)."""
        rows = audit.entries(deployment.db, username=username, action=action, limit=limit)
        if as_json:
            echo_json([attrs.asdict(r) for r in rows])
            return
        click.echo(table([(storage.parse_utc(r.at).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S"), r.username or "–",
                           r.label, r.target or "", r.detail or "") for r in rows],
                         ["Thời điểm", "Người thực hiện", "Thao tác", "Đối tượng", "Chi tiết"], max_width=40))


def _echo_erasures(results) -> None:
    for result in results:
        for item in result.items:
            click.echo(f"  [{result.plugin}] {item.what}")


def _unit_name(plan: Plan, unit_id: str) -> str:
    return plan.unit(unit_id).name if plan.has_unit(unit_id) else unit_id


def _measurement_detail(m: progress.Measurement, recorded_by: str | None) -> str:
    if m.numerator is not None or m.denominator is not None:
        value = f"{_fmt(m.numerator)}/{_fmt(m.denominator)}"
    else:
        value = _fmt(m.value)
    return f"giá trị {value}" + (f"; người ghi: {recorded_by}" if recorded_by else "")


def _target_text(target: dict) -> str:
    value = target["target"]
    if value is None:
        return "–"
    if target["kind"] in ("share_of_units", "ratio", "percentage"):
        return f"{target['comparison']} {_fmt(value)}%"
    if target["kind"] == "count":
        per = {"month": "tháng", "quarter": "quý", "half": "6 tháng", "year": "năm"}.get(target["target_per"], "")
        each = " mỗi đơn vị" if target["scope"] == "each" else ""
        return f"{_fmt(value)} {target['unit_label'] or ''}/{per}{each}".replace("  ", " ")
    return "Có" if value else "Không"


def plan_summary(plan: Plan, unit_id: str | None = None) -> dict:
    """The plan as JSON-ready data: header, targets, tasks, tasks by lead unit, deadlines, rules."""

    def refs(values):
        return [{"id": r, "name": plan.reference_name(r)} for r in values]

    tasks = [t for t in plan.tasks if unit_id is None or t in plan.tasks_of(unit_id)["lead"] + plan.tasks_of(unit_id)["coordinating"]]
    by_lead: dict[str, list[str]] = {}
    for task in tasks:
        for ref in task.lead:
            by_lead.setdefault(ref, []).append(task.id)
    def provenance(p) -> dict:
        return {"source": p.source, "field_sources": dict(p.field_sources), "assumed": dict(p.assumed)}

    return {
        "plan": {
            "id": plan.id,
            "title": plan.title,
            "document_type": plan.document_type,
            "number_and_symbol": plan.number_and_symbol,
            "issuing_unit": plan.issuing_unit,
            "place": plan.place,
            "issued_on": plan.issued_on,
            "year": plan.year,
            "starts_on": plan.starts_on,
            "ends_on": plan.ends_on,
            "signatory": None if plan.signatory is None else {
                "authority": list(plan.signatory.authority), "title": plan.signatory.title, "name": plan.signatory.name,
            },
        },
        "targets": [
            {
                "code": i.code,
                "text": i.text,
                "short_name": i.short_name,
                "kind": i.kind.value,
                "quantitative": i.quantitative,
                "target": i.target,
                "comparison": i.comparison.value,
                "target_per": i.target_per.value if i.target_per else None,
                "scope": i.scope.value,
                "period_type": i.period_type.value,
                "unit_label": i.unit_label,
                "applies_to": refs(i.applies_to),
                "applies_to_text": plan.applies_to_text(i),
                "whole_plan": not i.applies_to,
                "source": i.source,
                "reference": i.reference,
                "source_of": i.provenance.source_of() or i.reference,
                "assumed": dict(i.provenance.assumed),
                "provenance": provenance(i.provenance),
            }
            for i in plan.indicators
        ],
        "tasks": [
            {
                "id": t.id,
                "number": t.number,
                "duty": t.duty,
                "products": list(t.products),
                "lead": refs(t.lead),
                "coordinating": refs(t.coordinating),
                "coordinating_units": [u.id for u in plan.coordinating_units(t)],
                "timing": t.timing,
                "starts_on": t.starts_on,
                "starts_in": str(t.starts_in) if t.starts_in else None,
                "ends_on": t.ends_on,
                "evidence_per": t.evidence_per.value if t.evidence_per else None,
                "assumed": dict(t.provenance.assumed),
                "provenance": provenance(t.provenance),
                "frequencies": [{"count": f.count, "per": f.per.value, "label": f.label} for f in t.frequencies],
                "budget_source": t.budget_source,
            }
            for t in tasks
        ],
        "tasks_by_lead": [{"id": ref, "name": plan.reference_name(ref), "tasks": ids} for ref, ids in by_lead.items()],
        "deadlines": [
            {"id": d.id, "what": d.what, "due": d.due, "inclusive": d.inclusive, "last_day": d.last_day,
             "who": refs(d.who), "to": d.to, "source_of": d.provenance.source_of() or d.reference,
             "assumed": dict(d.provenance.assumed), "provenance": provenance(d.provenance)}
            for d in plan.deadlines
        ],
        "reporting_rules": [
            {"id": r.id, "what": r.what, "reporters": refs(r.reporters), "to": r.to, "to_name": plan.reference_name(r.to),
             "via": r.via, "frequency": r.frequency.value, "due_day": r.due_day, "tracked": r.tracked,
             "recipients": refs(r.recipients), "source_of": r.provenance.source_of() or r.reference,
             "assumed": dict(r.provenance.assumed), "provenance": provenance(r.provenance)}
            for r in plan.reporting_rules
        ],
        "report_grace_days": plan.report_grace_days,
        "assumed": [
            {"section": a.section, "entry": a.entry_id, "field": a.field, "reason": a.reason, "where": a.where}
            for a in plan.assumed_facts()
        ],
    }


MEASUREMENT_COLUMNS = ("indicator", "unit", "period", "value", "numerator", "denominator", "note")


def read_measurement_csv(path: Path, limits: ImportLimits = DEFAULT_LIMITS) -> list[tuple[int, dict]]:
    """Rows of a measurement CSV with their line numbers (click error on a bad header or encoding,
    or a file over ``limits``)."""
    return _read_csv(path, MEASUREMENT_COLUMNS, {"indicator", "unit", "period"}, limits)


ACTIVITY_COLUMNS = ("unit", "period", "category", "count", "title", "link", "task", "note", "submitted_at")


def _read_csv(path: Path, columns: tuple[str, ...], required: set[str],
              limits: ImportLimits = DEFAULT_LIMITS) -> list[tuple[int, dict]]:
    """The rows of a CSV after its header, each with its row number (the header is row 1) and its
    non-blank fields by column name. The file is measured against ``limits`` (size, rows,
    columns, cell length) before anything is imported: over a limit, nothing is."""
    header, records = _read_csv_records(path, columns, required, limits)
    rows = []
    for line, record in enumerate(records, start=2):
        if not record:
            continue  # an empty line, as csv.DictReader skips it
        rows.append((line, {name: value for name, value in zip(header, map(str.strip, record)) if value}))
    return rows


def _read_csv_records(path: Path, columns: tuple[str, ...], required: set[str],
                      limits: ImportLimits = DEFAULT_LIMITS) -> tuple[list[str], list[list[str]]]:
    """The header of a CSV (its names stripped, each one of ``columns``, ``required`` among them,
    none twice) and its records after it as lists of fields, unstripped: record ``i`` is row
    ``i + 2``. Measured against ``limits`` as :func:`_read_csv` says; a click error otherwise."""
    try:
        text = read_limited(path, path.name, limits).decode("utf-8-sig")
        records = csv_records(text, path.name, limits)
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None
    except LimitError as exc:
        raise click.ClickException(f"{exc} ({exc.setting}). Nothing was imported." if exc.key else
                                   f"{exc} Nothing was imported.") from None
    header = [h.strip() for h in (records[0] if records else [])]
    unknown = [h for h in header if h not in columns]
    if unknown or not required <= set(header):
        raise click.ClickException(
            f"{path}:1: the header must name the columns {', '.join(columns)} "
            f"({', '.join(sorted(required))} required); unknown: {', '.join(unknown) or 'none'}"
        )
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise click.ClickException(f"{path}:1: the header names the column(s) {', '.join(twice)} more than once; "
                                   "nothing was imported")
    return header, records[1:]


def _csv_fields(header: list[str], records: list[list[str]], columns: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """Each non-empty record of :func:`_read_csv_records` as its row number and the stripped
    fields of ``columns``, in that order, a column the header lacks read as blank. By position,
    not a dict per row: a month of a national plan is 43,186 rows."""
    width = len(header)
    fields = itemgetter(*(header.index(name) if name in header else -1 for name in columns))
    for line, record in enumerate(records, start=2):
        if not record:
            continue  # an empty line, as csv.DictReader skips it
        if len(record) < width:
            record.extend([""] * (width - len(record)))
        record.append("")  # what index -1 reads: a column the header lacks
        yield line, list(map(str.strip, fields(record)))


def parse_local_instant(text: str) -> dt.datetime:
    """A submission time written in Vietnam time ("2024-04-03" or "2024-04-03 08:30") as UTC.

    A date alone means noon of that day, so that on-time checks depend only on the day.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            local = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(12, 0))
        else:
            local = dt.datetime.fromisoformat(text)
    except ValueError:
        raise progress.ProgressError("submitted_at", f"{text!r} is not a date (2024-04-03) or time (2024-04-03 08:30)", text) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=VN_TZ)
    return local.astimezone(dt.UTC)


def import_measurement_csv(deployment, path: Path, recorded_by: str, show_progress: bool | None = False) -> None:
    """Import measurements from CSV (``ccch measure import``) into ``deployment.plan``.

    Every row is checked first and every bad one reported with its line; if any is bad, nothing
    is stored and the command exits with status 1."""
    header, records = _read_csv_records(path, MEASUREMENT_COLUMNS, {"indicator", "unit", "period"},
                                        limits_of(deployment))
    lines, rows = [], []
    for line, (indicator, unit, period, value, numerator, denominator, note) in _csv_fields(
            header, records, MEASUREMENT_COLUMNS):
        lines.append(line)
        rows.append({"indicator": indicator, "unit_id": unit, "period": period, "value": value or None,
                     "numerator": numerator or None, "denominator": denominator or None, "note": note or None})
    meter = ImportProgress(len(rows), show_progress)
    try:
        checked = progress.check_measurements(deployment.plan, rows,
                                              on_progress=lambda count: meter.update("checked", count))
    except progress.BadRows as bad:
        meter.done()
        click.echo(f"{len(bad.problems)} bad row(s); nothing was imported:", err=True)
        for index, problem in bad.problems:
            click.echo(f"  {path}:{lines[index]}: {problem}", err=True)
        raise SystemExit(1) from None
    meter.update("storing", 0, force=True)
    with storage.write_transaction(deployment.db):
        stored = progress.record_measurements(deployment.db, deployment.plan, checked, recorded_by=recorded_by)
        audit.record(deployment.db, audit.cli_actor(), "measurement.import", path.name,
                     f"{stored} giá trị; người ghi: {recorded_by}")
    meter.update("stored", stored, force=True)
    # The dashboard's trends read each month's stored figures (#26): the months this file moved
    # are evaluated once here (about 90 ms a month at national size), not on the first view.
    progress.refresh_month_figures(deployment.db, deployment.plan, {row["period"] for row in checked})
    meter.done()
    click.echo(f"Imported {stored} value(s) from {path}.")


def import_activity_csv(deployment, path: Path, submitted_by: str, show_progress: bool | None = False) -> None:
    """Import activity reports from CSV: one report per (unit, period), one item per row.

    Every row is checked first and every bad one reported with its line (a unit that owes no
    report is reported on each of its rows); if any is bad, nothing is stored."""
    header, records = _read_csv_records(path, ACTIVITY_COLUMNS, {"unit", "period", "category", "count"},
                                        limits_of(deployment))
    reports: dict[tuple[str, str], dict] = {}
    problems = []
    instants: dict[str, dt.datetime] = {}  # a report's rows repeat its submission time
    rows = 0
    for line, (unit, period, category, number, title, link, task, note, text) in _csv_fields(
            header, records, ACTIVITY_COLUMNS):
        rows += 1
        report = reports.get((unit, period))
        if report is None:
            report = reports[(unit, period)] = {"lines": [], "items": [], "note": None, "submitted_at": None}
        report["lines"].append(line)
        report["items"].append({"category": category, "count": number, "title": title or None,
                                "link": link or None, "task_id": task or None})
        if note and not report["note"]:
            report["note"] = note
        if text:
            at = instants.get(text)
            if at is None:
                try:
                    at = instants[text] = parse_local_instant(text)
                except progress.ProgressError as exc:
                    problems.append(f"{path}:{line}: {exc}")
            if at is not None:
                report["submitted_at"] = at
    meter = ImportProgress(rows, show_progress)
    # Check every report as recording does, each item on its own so that every bad row is named
    # (a unit or period that is wrong on each row of its report, a note on the report's first);
    # a bad file changes nothing.
    plan = deployment.plan
    keys = list(reports)
    try:
        checked = progress.check_activity_reports(
            plan, ({"unit_id": unit, "period": period, "items": report["items"], "note": report["note"],
                    "submitted_at": report["submitted_at"]} for (unit, period), report in reports.items()),
            on_progress=lambda done: meter.update("checked", done),
        )
    except progress.BadRows as bad:
        for index, exc in bad.problems:
            lines = reports[keys[index]]["lines"]
            field = exc.field
            if field.startswith("items["):
                item = int(field[len("items["):field.index("]")])
                problems.append(f"{path}:{lines[item]}: {str(exc)[field.index(']') + 2:]}")
            elif field == "note":
                problems.append(f"{path}:{lines[0]}: {exc}")
            else:
                problems.extend(f"{path}:{line}: {exc}" for line in lines)
    if problems:
        meter.done()
        click.echo(f"{len(problems)} bad row(s); nothing was imported:", err=True)
        for p in problems:
            click.echo(f"  {p}", err=True)
        raise SystemExit(1)
    meter.update("storing", 0, force=True)
    db = deployment.db
    with storage.write_transaction(db):
        stored = progress.record_activity_reports(db, plan, checked, submitted_by=submitted_by)
        audit.record(db, audit.cli_actor(), "report.import", path.name,
                     f"{stored} báo cáo, {rows} dòng hoạt động; người nộp: {submitted_by}")
    meter.update("stored", rows, force=True)
    meter.done()
    click.echo(f"Imported {stored} report(s) ({rows} item(s)) from {path}.")


def _progress_option():
    return click.option(
        "--progress/--no-progress", "show_progress", default=None,
        help="Show how far a long import has got, on standard error (default: when it is a terminal).",
    )


class ImportProgress:
    """How far an import has got, on standard error: ``checked 20,000/43,186 rows``.

    Shown when asked (``--progress``), or by default when standard error is a terminal and the
    file has at least :attr:`MIN_ROWS` rows; never with ``--no-progress``. On a terminal the line
    is rewritten in place (``\\r``); otherwise each update is a line of its own. At most one
    update per :attr:`EVERY` seconds, so that printing costs nothing next to the import.
    """

    MIN_ROWS = 5_000
    EVERY = 0.5

    def __init__(self, total: int, show: bool | None):
        self.terminal = sys.stderr.isatty()
        self.enabled = show if show is not None else (self.terminal and total >= self.MIN_ROWS)
        self.total = total
        self.last = 0.0
        self.shown = False

    def update(self, stage: str, count: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < self.EVERY and count != self.total:
            return
        self.last = now
        text = f"{stage} {count:,}/{self.total:,} rows" if stage != "storing" else f"storing {self.total:,} rows…"
        if self.terminal:
            click.echo(f"\r{text}\x1b[K", err=True, nl=False)
        else:
            click.echo(text, err=True)
        self.shown = True

    def done(self) -> None:
        if self.enabled and self.terminal and self.shown:
            click.echo("", err=True)
