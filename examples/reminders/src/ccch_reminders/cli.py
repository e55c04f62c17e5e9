"""``ccch reminders list`` and ``ccch reminders record``: the reminder log on the command line.

The group is a plain click group; the ``register_commands`` hook adds it to the root command
that the core builds for each invocation (nothing is attached at import time).
"""

from __future__ import annotations

import click

from ccch_core.cli import echo_json, pass_deployment, table

from .reminders import ReminderError, default_month, overdue_reports, parse_month, record_reminder, reminders_by_unit


@click.group("reminders")
def reminders():
    """Nhắc báo cáo: units whose monthly report is overdue, and the reminders sent to them."""


@reminders.command("list")
@click.option("--period", "-p", "period_text", metavar="MONTH",
              help="The month reported on, e.g. 2024-03 (default: last month, within the plan).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_deployment
def list_command(deployment, period_text, as_json):
    """Units whose report for a month is missing after the due day or came in late."""
    plan = deployment.plan
    try:
        month = parse_month(plan, period_text) if period_text else default_month(plan)
    except ReminderError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    sent = reminders_by_unit(deployment.db, month)
    rows = []
    for report in overdue_reports(deployment, month):
        log = sent.get(report.unit.id, [])
        rows.append({
            "unit": report.unit.id,
            "unit_name": report.unit.name,
            "state": report.state.value,
            "state_vi": report.state.label_vi,
            "due_at": report.due_at,
            "submitted_at": report.submitted_at,
            "reminders": len(log),
            "last_reminder_at": log[-1].sent_at if log else None,
        })
    if as_json:
        echo_json({"period": str(month), "overdue": rows})
        return
    if not rows:
        click.echo(f"Không có đơn vị nào quá hạn báo cáo {month.label_vi.lower()}.")
        return
    click.echo(f"Báo cáo {month.label_vi.lower()}: {len(rows)} đơn vị quá hạn hoặc trễ hạn.\n")
    click.echo(table([(r["unit"], r["unit_name"], r["state_vi"], r["reminders"]) for r in rows],
                     ["Mã", "Đơn vị", "Tình trạng", "Số lần nhắc"]))


@reminders.command("record")
@click.argument("unit")
@click.argument("period")
@click.option("--channel", required=True,
              help="How the unit was reminded: điện thoại, Zalo, công văn, email or trực tiếp.")
@click.option("--note", help="What was said, to whom (at most 500 characters).")
@click.option("--by", "sent_by", default="cli", show_default=True, help="Who sent the reminder.")
@pass_deployment
def record_command(deployment, unit, period, channel, note, sent_by):
    """Record that UNIT was reminded about its report for PERIOD (a month, e.g. 2024-03)."""
    try:
        reminder = record_reminder(deployment, unit, period, channel, note, sent_by=sent_by)
    except ReminderError as exc:
        raise click.ClickException(str(exc)) from None
    name = deployment.plan.unit(reminder.unit_id).name
    click.echo(f"Đã ghi lượt nhắc #{reminder.id}: {name}, báo cáo {reminder.period.label_vi.lower()}, "
               f"qua {reminder.channel_label}.")
