"""Sending reminders for real (gửi nhắc thật): messages through the core's outbox.

:func:`send_reminders` finds the reports units owe that are overdue, or due within a few days,
and queues one message per contact of the unit (``ccch contacts``) on the chosen channels, each
logged as one row of the ``reminders`` table. It only queues: ``ccch messages send``, or the
delivery loop of ``ccch serve``, delivers.

Each unit is one short write transaction: its messages and their rows are stored together or not
at all. The idempotency key names the kind, the month, the unit, the contact and the Vietnam day,
so running it twice a day queues nothing twice, and a contact gets at most one reminder a day about
each report.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

import attrs

from ccch_core import VN_TZ, audit, reporting_completeness
from ccch_core.contacts import Contact, contacts_of
from ccch_core.messages import CHANNELS as MESSAGE_CHANNELS
from ccch_core.messages import DailyCapReached, MessageError, queue_message
from ccch_core.periods import to_utc, utc_now
from ccch_core.progress import ExpectedReport, ReportState
from ccch_core.report import lower_first
from ccch_core.storage import write_transaction

from .reminders import ReminderError, plan_months

TEMPLATES = {"overdue": "report_overdue", "due-soon": "report_due"}
"""The kinds of automatic reminder → the core's message template each one sends."""

KIND_LABELS = {"overdue": "quá hạn", "due-soon": "sắp đến hạn"}

SEND_CHANNELS = ("email", "zalo", "sms")
"""The channels a reminder can travel by (keys of the core's channels and of our CHANNELS)."""

DEFAULT_CHANNELS = ("email", "zalo")

DUE_WITHIN_DAYS = 3
"""Remind a unit whose report is not in yet from this many days before it falls due."""

OVERDUE_WITHIN_DAYS = 30
"""Remind about a missing report during this many days after it fell due; after that the office
phones (a message a day for months would be read as spam, and would teach units to ignore it)."""

AUTOMATIC = "ccch (tự động)"
"""``sent_by`` of the rows written when no one is named (the daily timer)."""

VIA = {"email": "thư điện tử", "zalo": "Zalo", "sms": "tin nhắn SMS"}
"""How the log's note names a channel: "… qua thư điện tử tới v***@andung.ductho.gov.vn"."""

DAY = dt.timedelta(days=1)


@attrs.frozen
class ReportToRemind:
    """A report that calls for a reminder now: ``overdue`` (still missing after its due day) or
    ``due-soon`` (not in yet, due within a few days)."""

    kind: str
    report: ExpectedReport
    deadline: dt.datetime
    """The exclusive bound (UTC): the due instant, or the month's end for a rule without a due day."""
    days_left: int | None = None
    """``due-soon``: whole days left, at least 0."""

    @property
    def unit(self):
        return self.report.unit

    @property
    def period(self):
        return self.report.period

    @property
    def template(self) -> str:
        return TEMPLATES[self.kind]

    @property
    def due_date(self) -> dt.date:
        """The due day in Vietnam (the deadline is local midnight after it)."""
        return (self.deadline.astimezone(VN_TZ) - dt.timedelta(microseconds=1)).date()

    def params(self, link: str) -> dict[str, str]:
        """The parameters of the core's template ``report_overdue`` or ``report_due``."""
        params = {"unit_name": self.unit.name, "period_label": lower_first(self.period.label_vi),
                  "due_date": self.due_date.strftime("%d/%m/%Y"), "link": link}
        if self.kind == "due-soon":
            params["days_left"] = str(self.days_left)
        return params

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "unit": self.unit.id, "unit_name": self.unit.name, "period": str(self.period),
                "due_date": self.due_date.isoformat(), "days_left": self.days_left}


@attrs.frozen
class ReminderMessage:
    """One message to one contact about one report: queued, already queued today, or skipped."""

    kind: str
    unit_id: str
    unit_name: str
    period: str
    channel: str
    contact_id: int
    address_masked: str
    message_id: int | None = None
    """The outbox message (None in a dry run, or when the channel has no sender)."""
    reminder_id: int | None = None
    """Its row in the ``reminders`` table."""

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class UnitFailure:
    """A unit for which nothing was queued nor logged because queueing failed."""

    unit_id: str
    unit_name: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.define
class ReminderRun:
    """What :func:`send_reminders` did (or, with ``dry_run``, would do)."""

    now: dt.datetime
    dry_run: bool
    channels: tuple[str, ...]
    channels_unavailable: tuple[str, ...]
    """Chosen channels this deployment has no sender for (``[messages.channels.<channel>]``)."""
    reports: list[ReportToRemind] = attrs.field(factory=list)
    """Every report that called for a reminder."""
    queued: list[ReminderMessage] = attrs.field(factory=list)
    already_sent: list[ReminderMessage] = attrs.field(factory=list)
    """Messages queued earlier the same Vietnam day: not queued again."""
    unavailable: list[ReminderMessage] = attrs.field(factory=list)
    """Messages not queued because their contact's channel has no sender."""
    no_contact: list[ReportToRemind] = attrs.field(factory=list)
    """Reports of units without a contact on a channel that can send: phone them."""
    failed: list[UnitFailure] = attrs.field(factory=list)

    @property
    def day(self) -> dt.date:
        """The Vietnam day of the run."""
        return self.now.astimezone(VN_TZ).date()

    @property
    def units_reminded(self) -> list[str]:
        """Names of the units with a message queued, in the order they were reminded."""
        return list(dict.fromkeys(m.unit_name for m in self.queued))

    @property
    def units_without_contact(self) -> list[str]:
        """Names of the units to phone."""
        return list(dict.fromkeys(r.unit.name for r in self.no_contact))

    def summary(self) -> list[str]:
        """The run in a few Vietnamese sentences (the command line prints them, the page flashes them)."""
        overdue = sum(1 for r in self.reports if r.kind == "overdue")
        lines = [(f"Nhắc báo cáo ngày {self.day:%d/%m/%Y}: {overdue} báo cáo quá hạn, "
                  f"{len(self.reports) - overdue} báo cáo sắp đến hạn.")]
        if self.dry_run:
            lines.append(f"Chạy thử, chưa xếp tin nào: sẽ xếp {len(self.queued)} tin nhắn nhắc "
                         f"{len(self.units_reminded)} đơn vị.")
        elif self.queued:
            lines.append(f"Đã xếp {len(self.queued)} tin nhắn vào hộp thư đi, nhắc {len(self.units_reminded)} đơn vị.")
        elif self.reports:
            lines.append("Không có tin nhắn mới nào được xếp.")
        if self.already_sent:
            lines.append(f"{len(self.already_sent)} tin đã xếp gửi hôm nay trước đó, không gửi lại.")
        if self.no_contact:
            names = self.units_without_contact
            lines.append(f"{len(names)} đơn vị chưa có đầu mối liên hệ, hãy gọi điện: {', '.join(names)}.")
        for channel in dict.fromkeys(m.channel for m in self.unavailable):
            contacts = len({m.contact_id for m in self.unavailable if m.channel == channel})
            lines.append(f"Chưa cấu hình kênh {MESSAGE_CHANNELS[channel]} ([messages.channels.{channel}] trong "
                         f"ccch.toml): bỏ qua {contacts} đầu mối.")
        for failure in self.failed:
            lines.append(f"Không xếp được tin nhắn cho {failure.unit_name}: {failure.reason}; "
                         "chưa gửi và chưa ghi gì cho đơn vị này.")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (addresses masked)."""
        return {
            "now": self.now.isoformat(), "day": self.day.isoformat(), "dry_run": self.dry_run,
            "channels": list(self.channels), "channels_unavailable": list(self.channels_unavailable),
            "reports": [r.to_dict() for r in self.reports],
            "queued": [m.to_dict() for m in self.queued],
            "already_sent": [m.to_dict() for m in self.already_sent],
            "unavailable": [m.to_dict() for m in self.unavailable],
            "no_contact": [r.to_dict() for r in self.no_contact],
            "failed": [f.to_dict() for f in self.failed],
            "summary": self.summary(),
        }


# -- which reports call for a reminder ------------------------------------------------------------


def reports_to_remind(deployment, *, now: dt.datetime | None = None, due_within_days: int = DUE_WITHIN_DAYS,
                      overdue_within_days: int | None = OVERDUE_WITHIN_DAYS) -> list[ReportToRemind]:
    """The monthly reports that call for a reminder at ``now``, month by month in plan order:
    every report still missing after its due day that fell due at most ``overdue_within_days``
    ago (None: however long ago), and every report not yet in whose due instant is at most
    ``due_within_days`` days away."""
    now = to_utc(now or utc_now())
    found = []
    for month in plan_months(deployment.plan):
        if month.start_utc > now:
            break
        if overdue_within_days is not None and now - (month.end_utc + 28 * DAY) > overdue_within_days * DAY:
            continue  # its reports fell due (by day 28 of the next month at the latest) long ago
        for report in reporting_completeness(deployment.db, deployment.plan, month, now=now).reports:
            if report.period != month:
                continue
            deadline = report.due_at or month.end_utc
            recent = overdue_within_days is None or now - deadline <= overdue_within_days * DAY
            soon = report.due_at is not None and deadline - now <= due_within_days * DAY
            if report.state is ReportState.MISSING and recent:
                found.append(ReportToRemind("overdue", report, deadline))
            elif report.state is ReportState.NOT_DUE and soon:
                found.append(ReportToRemind("due-soon", report, deadline, max(0, (deadline - now) // DAY)))
    return found


def report_link(deployment, unit_id: str, period) -> str:
    """The unit's report form for the month: ``https://…/bao-cao/xa-yen-ho/2024-03``."""
    return f"{deployment.public_base_url}/bao-cao/{urllib.parse.quote(unit_id)}/{period}"


# -- sending --------------------------------------------------------------------------------------


def check_channels(channels: Iterable[str]) -> tuple[str, ...]:
    """The channels, without repeats; :class:`ReminderError` for one a reminder cannot travel by."""
    chosen = tuple(dict.fromkeys(channels))
    wrong = [c for c in chosen if c not in SEND_CHANNELS]
    if wrong or not chosen:
        raise ReminderError({"channel": f"Kênh gửi nhắc “{', '.join(wrong)}” không hợp lệ; chọn trong: "
                                        f"{', '.join(SEND_CHANNELS)}."})
    return chosen


def send_reminders(deployment, *, now: dt.datetime | None = None, due_within_days: int = DUE_WITHIN_DAYS,
                   channels: Iterable[str] = DEFAULT_CHANNELS, dry_run: bool = False, actor: str | None = None,
                   overdue_within_days: int | None = OVERDUE_WITHIN_DAYS) -> ReminderRun:
    """Queue a reminder to every contact, on ``channels``, of every unit whose report is overdue
    or due soon (:func:`reports_to_remind`), and log each one in the ``reminders`` table.

    One write transaction per unit: if queueing one of its messages fails (a daily cap reached,
    a bad address), none of the unit's messages and rows is stored, the unit is listed in
    ``failed`` and the others go on. ``actor``: who asked (the account, ``--by``); None for the
    daily timer. ``dry_run``: find and report everything, change nothing.
    """
    now = to_utc(now or utc_now()).replace(microsecond=0)
    channels = check_channels(channels)
    messaging = deployment.messaging
    run = ReminderRun(now=now, dry_run=dry_run, channels=channels,
                      channels_unavailable=tuple(c for c in channels if not messaging.available(c)))
    run.reports = reports_to_remind(deployment, now=now, due_within_days=due_within_days,
                                    overdue_within_days=overdue_within_days)
    by_unit: dict[str, list[ReportToRemind]] = {}
    for item in run.reports:
        by_unit.setdefault(item.unit.id, []).append(item)
    for unit_id, items in by_unit.items():
        found = contacts_of(deployment.db, unit_id, channels)
        usable = [c for c in found if messaging.available(c.channel)]
        run.unavailable.extend(_message(item, c) for item in items for c in found if c not in usable)
        if not usable:
            run.no_contact.extend(items)
            continue
        try:
            queued, already = _remind_unit(deployment, items, usable, now, actor, dry_run)
        except MessageError as exc:  # the unit's transaction was rolled back: nothing of it is stored
            run.failed.append(UnitFailure(unit_id, items[0].unit.name, _reason(exc)))
            continue
        run.queued.extend(queued)
        run.already_sent.extend(already)
    return run


def idempotency_key(item: ReportToRemind, contact: Contact, now: dt.datetime) -> str:
    """``reminders:overdue:2024-03:xa-yen-ho:3:2024-04-08``: one message a Vietnam day per report
    and contact, however often the reminders are sent that day."""
    return f"reminders:{item.kind}:{item.period}:{item.unit.id}:{contact.id}:{now.astimezone(VN_TZ).date()}"


def _remind_unit(deployment, items: list[ReportToRemind], contacts: list[Contact], now: dt.datetime,
                 actor: str | None, dry_run: bool) -> tuple[list[ReminderMessage], list[ReminderMessage]]:
    queued, already = [], []
    # The office reads the log to see who was written to, at which address, and which outbox
    # message to look up if it did not arrive: so one row per message queued, each naming its
    # message, rather than one row per unit that would hide half of that.
    with nullcontext(deployment.db) if dry_run else write_transaction(deployment.db) as db:
        for item in items:
            link = report_link(deployment, item.unit.id, item.period)
            for contact in contacts:
                key = idempotency_key(item, contact, now)
                earlier = db.execute("select id, message_id from reminders where message_key = ?", [key]).fetchone()
                if earlier is not None:
                    already.append(_message(item, contact, message_id=earlier[1], reminder_id=earlier[0]))
                    continue
                if dry_run:
                    queued.append(_message(item, contact))
                    continue
                message_id = queue_message(deployment, channel=contact.channel, address=contact.address,
                                           template=item.template, params=item.params(link), idempotency_key=key,
                                           unit_id=item.unit.id, source="reminders", now=now)
                reminder_id = db["reminders"].insert({
                    "unit_id": item.unit.id, "period": str(item.period), "channel": contact.channel,
                    "note": _note(item, contact, message_id), "sent_by": actor or AUTOMATIC,
                    "sent_at": now.isoformat(), "message_id": message_id, "message_key": key,
                }).last_pk
                queued.append(_message(item, contact, message_id=message_id, reminder_id=reminder_id))
        if queued and not dry_run:
            what = "; ".join(dict.fromkeys(f"{lower_first(i.period.label_vi)} {KIND_LABELS[i.kind]}" for i in items))
            audit.record(db, actor, "reminders.send", items[0].unit.name, f"{len(queued)} tin nhắn: báo cáo {what}",
                         label="Gửi nhắc báo cáo qua hộp thư đi", now=now)
    return queued, already


def _note(item: ReportToRemind, contact: Contact, message_id: int) -> str:
    """"Tự động: nhắc báo cáo quá hạn (hạn 05/04/2024) qua thư điện tử tới v***@… (tin nhắn #12)":
    the address masked, never in clear."""
    return (f"Tự động: nhắc báo cáo {KIND_LABELS[item.kind]} (hạn {item.due_date:%d/%m/%Y}) qua "
            f"{VIA[contact.channel]} tới {contact.masked} (tin nhắn #{message_id})")


def _message(item: ReportToRemind, contact: Contact, **ids) -> ReminderMessage:
    return ReminderMessage(item.kind, item.unit.id, item.unit.name, str(item.period), contact.channel, contact.id,
                           contact.masked, **ids)


def _reason(exc: MessageError) -> str:
    if isinstance(exc, DailyCapReached):
        return "đã hết hạn mức tin nhắn trong ngày ([messages.daily_caps] trong ccch.toml)"
    return f"tin nhắn bị từ chối ({exc})"
