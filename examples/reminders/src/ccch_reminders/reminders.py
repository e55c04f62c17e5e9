"""The reminder log (nhật ký nhắc báo cáo): which units' monthly reports are overdue, and the
reminders the Culture & Information office sent them.

The command line, the web page, the report section and the data table all use these functions,
so the rules live in one place. Only the core's public API is used.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from typing import Any

import attrs

from ccch_core import Period, PeriodError, PeriodType, reporting_completeness
from ccch_core.accounts import Role
from ccch_core.periods import iter_periods, to_utc, utc_now
from ccch_core.progress import ExpectedReport, ReportState
from ccch_core.storage import write_transaction

CHANNELS: dict[str, str] = {
    "dien-thoai": "Điện thoại",
    "zalo": "Zalo",
    "cong-van": "Công văn",
    "email": "Thư điện tử",
    "truc-tiep": "Trực tiếp",
    "sms": "Tin nhắn SMS",
}
"""How a unit was reminded: the key stored in the table → the Vietnamese label shown. The keys
``email``, ``zalo`` and ``sms`` are also the core's channels: an automatic reminder
(:mod:`ccch_reminders.sending`) is logged under the channel its message travels by."""

OVERDUE = (ReportState.MISSING, ReportState.LATE)
"""Report states that call for a reminder: still missing after the due day, or sent late."""

OFFICE_ROLES = (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN)
"""Who sends reminders: the Culture & Information office (plan_admin) and the IT officer."""

NOTE_MAX = 500
"""Longest note kept with a reminder, in characters."""


class ReminderError(ValueError):
    """Bad reminder input. ``errors`` maps each bad field (unit, period, channel, note) to a
    Vietnamese message, so that a form can mark every field at once."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()))


@attrs.frozen
class Reminder:
    """One reminder sent to a unit about its report for ``period`` (a month)."""

    id: int
    unit_id: str
    period: Period
    channel: str
    note: str | None
    sent_by: str | None
    sent_at: dt.datetime
    message_id: int | None = None
    """The outbox message of an automatic reminder (None: a reminder recorded by hand)."""

    @property
    def automatic(self) -> bool:
        """Whether the reminder is a message queued by :func:`ccch_reminders.sending.send_reminders`."""
        return self.message_id is not None

    @property
    def channel_label(self) -> str:
        """The channel in Vietnamese ("Điện thoại", "Zalo", "Công văn"…)."""
        return CHANNELS.get(self.channel, self.channel)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Reminder:
        """Build from a ``reminders`` row."""
        return cls(row["id"], row["unit_id"], Period.parse(row["period"]), row["channel"], row["note"],
                   row["sent_by"], dt.datetime.fromisoformat(row["sent_at"]), row.get("message_id"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the instant in UTC, ISO 8601)."""
        return {"id": self.id, "unit": self.unit_id, "period": str(self.period), "channel": self.channel,
                "channel_vi": self.channel_label, "note": self.note, "sent_by": self.sent_by,
                "sent_at": self.sent_at.isoformat(), "message_id": self.message_id}


# -- months -----------------------------------------------------------------------------------


def plan_months(plan) -> list[Period]:
    """The months the plan covers, in order."""
    return list(iter_periods(Period.of_date(plan.starts_on), Period.of_date(plan.ends_on)))


def default_month(plan, now: dt.datetime | None = None) -> Period:
    """Last month (its reports fell due this month), kept within the plan's months."""
    months = plan_months(plan)
    month = Period.current(PeriodType.MONTH, now).previous()
    return min(max(month, months[0]), months[-1])


def parse_month(plan, text: str) -> Period:
    """A month of the plan from its text form ("2024-03"); :class:`ReminderError` otherwise."""
    try:
        period = Period.parse(text)
    except PeriodError:
        raise ReminderError({"period": f"Kỳ “{text}” không hợp lệ: nhập một tháng, ví dụ 2024-03."}) from None
    if period.type is not PeriodType.MONTH:
        raise ReminderError({"period": f"{period.label_vi} không phải một tháng; nhập một tháng, ví dụ 2024-03."})
    if period not in plan_months(plan):
        raise ReminderError({"period": f"{period.label_vi} nằm ngoài thời gian của kế hoạch."})
    return period


# -- who is overdue -----------------------------------------------------------------------------


def overdue_reports(deployment, month: Period, *, now: dt.datetime | None = None) -> list[ExpectedReport]:
    """The reports owed for ``month`` that are missing after their due day or came in late, in
    plan order (from the core's :func:`ccch_core.reporting_completeness`)."""
    completeness = reporting_completeness(deployment.db, deployment.plan, month, now=now)
    return [r for r in completeness.reports if r.period == month and r.state in OVERDUE]


# -- recording and reading reminders ---------------------------------------------------------


def _clean(text: str | None) -> str:
    """NFC (input methods differ) with runs of white space collapsed."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def _fold(text: str) -> str:
    """"Điện thoại" → "dien-thoai": for matching what is typed on a command line."""
    decomposed = unicodedata.normalize("NFD", _clean(text).casefold().replace("đ", "d"))
    return "-".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def parse_channel(text: str | None) -> str:
    """The channel key for a key or a label, with or without diacritics ("Zalo", "điện thoại",
    "cong-van"); :class:`ReminderError` otherwise."""
    folded = _fold(text or "")
    for key, label in CHANNELS.items():
        if folded in (key, _fold(label)):
            return key
    if not folded:
        raise ReminderError({"channel": "Vui lòng chọn hình thức nhắc."})
    choices = ", ".join(CHANNELS.values())
    raise ReminderError({"channel": f"Không có hình thức nhắc “{_clean(text)}”; chọn một trong: {choices}."})


def check_reminder(plan, unit_id: str | None, period: Period | str | None, channel: str | None,
                   note: str | None = None) -> dict[str, Any]:
    """Validate a reminder without writing it; returns the row to store (without who and when).

    Every problem is reported at once in :class:`ReminderError`: the unit must be one that
    owes a report for the month under the plan's reporting rules, the month must be within the
    plan, the channel one of :data:`CHANNELS`, the note at most :data:`NOTE_MAX` characters.
    """
    errors: dict[str, str] = {}
    month = None
    try:
        month = parse_month(plan, str(period or ""))
    except ReminderError as exc:
        errors.update(exc.errors)
    unit_id = _clean(unit_id)
    if not unit_id:
        errors["unit"] = "Vui lòng chọn đơn vị được nhắc."
    elif not plan.has_unit(unit_id):
        errors["unit"] = f"Không có đơn vị “{unit_id}” trong kế hoạch."
    elif month is not None and unit_id not in {u.id for u in plan.expected_reporters(month)}:
        errors["unit"] = f"{plan.unit(unit_id).name} không phải gửi báo cáo {month.label_vi.lower()}."
    try:
        channel_key = parse_channel(channel)
    except ReminderError as exc:
        errors.update(exc.errors)
    note = _clean(note)
    if len(note) > NOTE_MAX:
        errors["note"] = f"Ghi chú dài {len(note)} ký tự, quá {NOTE_MAX} ký tự cho phép."
    if errors:
        raise ReminderError(errors)
    return {"unit_id": unit_id, "period": str(month), "channel": channel_key, "note": note or None}


def record_reminder(deployment, unit_id: str | None, period: Period | str | None, channel: str | None,
                    note: str | None = None, *, sent_by: str | None = None,
                    now: dt.datetime | None = None) -> Reminder:
    """Validate (as :func:`check_reminder`) and store a reminder, in one short transaction."""
    row = check_reminder(deployment.plan, unit_id, period, channel, note)
    sent_at = to_utc(now or utc_now()).replace(microsecond=0)  # stored in UTC, shown in Vietnam time
    row = {**row, "sent_by": sent_by, "sent_at": sent_at.isoformat()}
    with write_transaction(deployment.db) as db:
        reminder_id = db["reminders"].insert(row).last_pk
    return Reminder.from_row({"id": reminder_id, **row})


def reminders_by_unit(db, month: Period) -> dict[str, list[Reminder]]:
    """The reminders about reports for ``month``, by unit id, oldest first."""
    result: dict[str, list[Reminder]] = {}
    for row in db.query("select * from reminders where period = ? order by sent_at, id", [str(month)]):
        result.setdefault(row["unit_id"], []).append(Reminder.from_row(row))
    return result


def reminders_sent(db, start: dt.datetime, end: dt.datetime) -> list[Reminder]:
    """The reminders sent from ``start`` (inclusive) to ``end`` (exclusive), oldest first."""
    bounds = [to_utc(start).isoformat(timespec="seconds"), to_utc(end).isoformat(timespec="seconds")]
    rows = db.query("select * from reminders where sent_at >= ? and sent_at < ? order by sent_at, id", bounds)
    return [Reminder.from_row(row) for row in rows]
