"""``ccch reminders list``, ``record`` and ``send``: the reminder log on the command line.

The group is a plain click group; the ``register_commands`` hook adds it to the root command
that the core builds for each invocation (nothing is attached at import time).
"""

from __future__ import annotations

import click

from ccch_core import Period
from ccch_core.cli import echo_json, pass_deployment, table

from .reminders import (
    ReminderError,
    default_month,
    overdue_reports,
    parse_month,
    record_reminder,
    reminders_by_unit,
)
from .sending import (
    DEFAULT_CHANNELS,
    DUE_WITHIN_DAYS,
    KIND_LABELS,
    OVERDUE_WITHIN_DAYS,
    SEND_CHANNELS,
    send_reminders,
)


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


@reminders.command("send")
@click.option("--due-within", "due_within", type=click.IntRange(0, 31), default=DUE_WITHIN_DAYS,
              show_default=True, metavar="DAYS",
              help="Also remind units whose report is not in yet and falls due within DAYS days.")
@click.option("--overdue-within", "overdue_within", type=click.IntRange(0, 3660), default=OVERDUE_WITHIN_DAYS,
              show_default=True, metavar="DAYS",
              help="Remind about missing reports that fell due at most DAYS days ago (older ones: phone the unit).")
@click.option("--channel", "channels", multiple=True, type=click.Choice(SEND_CHANNELS),
              help="Send on this channel (repeat for several; default: email and zalo).")
@click.option("--dry-run", is_flag=True, help="Show what would be queued; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (addresses masked).")
@click.option("--by", "sent_by", metavar="WHO", help="Who sends the reminders (default: ccch (tự động)).")
@pass_deployment
def send_command(deployment, due_within, overdue_within, channels, dry_run, as_json, sent_by):
    """Queue a reminder to the contacts of every unit whose report is overdue or due soon.

    One message per contact (`ccch contacts`) and report, at most once a Vietnam day: run it daily
    (e.g. at 08:00). It only queues: `ccch messages send`, or the delivery loop of `ccch serve`,
    sends the messages. Exits with 1 if a unit's messages could not be queued.
    """
    run = send_reminders(deployment, due_within_days=due_within, overdue_within_days=overdue_within,
                         channels=channels or DEFAULT_CHANNELS, dry_run=dry_run, actor=sent_by)
    if as_json:
        echo_json(run.to_dict())
    else:
        lines = run.summary()
        click.echo(lines[0])
        if run.queued:
            click.echo("")
            click.echo(table([(m.unit_name, Period.parse(m.period).label_vi, KIND_LABELS[m.kind],
                               m.channel, m.address_masked, "–" if m.message_id is None else f"#{m.message_id}")
                              for m in run.queued],
                             ["Đơn vị", "Báo cáo", "Tình trạng", "Kênh", "Người nhận", "Tin nhắn"]))
            click.echo("")
        for line in lines[1:]:
            click.echo(line)
        if run.queued and not dry_run:
            click.echo("Tin nhắn mới chỉ được xếp vào hộp thư đi: `ccch messages send` (hoặc vòng gửi tin của "
                       "`ccch serve`) sẽ gửi chúng đi.")
    if run.failed:
        raise SystemExit(1)
