"""Progress data: what the indicators measured and what units did, and where the plan stands.

- :func:`record_measurement` stores a value of an indicator for a unit and a period (and keeps
  every earlier value in ``measurement_log``).
- :func:`record_activity_report` stores a unit's periodic activity report (items published,
  broadcast, printed, trainings held…).
- :func:`evaluate_plan` computes every indicator for a period: value, target, status and the
  units without data.
- :func:`reporting_completeness` gives, as DHIS2 does, the reporting rate and the on-time rate.

Each write is one short transaction.
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
import functools
import itertools
import math
import operator
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
from sqlite_utils import Database

from .model import CountScope, Indicator, IndicatorKind, Plan, Unit
from .periods import VN_TZ, Period, PeriodType, utc_now
from .storage import parse_utc, utc_now_iso, write_transaction, write_transaction_if_free
from .text import clean, fold

__all__ = [
    "ACTIVITY_CATEGORIES",
    "ActivityItem",
    "ActivityReport",
    "BadRows",
    "CheckedActivityReports",
    "CheckedMeasurements",
    "Completeness",
    "ExpectedReport",
    "IndicatorResult",
    "MeasureContext",
    "MeasureValue",
    "Measurement",
    "ProgressError",
    "ReportLocked",
    "ReportState",
    "Status",
    "TaskEvidence",
    "UnitResult",
    "check_activity_report",
    "check_activity_reports",
    "check_measurement",
    "check_measurements",
    "database_version",
    "evaluate_indicator",
    "evaluate_plan",
    "forget_kept",
    "get_activity_report",
    "measurement_revisions",
    "measurements",
    "month_figures",
    "parse_number",
    "parse_yes_no",
    "record_activity_report",
    "record_activity_reports",
    "record_measurement",
    "record_measurements",
    "refresh_month_figures",
    "reopen_activity_report",
    "reporting_completeness",
    "task_evidence",
]


class ProgressError(ValueError):
    """Bad progress input. ``field`` names the offending field, ``value`` the value given."""

    def __init__(self, field: str, message: str, value: Any = None):
        self.field = field
        self.value = value
        super().__init__(f"{field}: {message}")


# --------------------------------------------------------------------------------------------
# Measurements


@attrs.frozen
class Measurement:
    """A value of an indicator for one unit and one period."""

    plan_id: str
    indicator: str
    unit_id: str
    period: Period
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    note: str | None = None
    recorded_by: str | None = None
    recorded_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Measurement:
        """Build from a ``measurements`` row."""
        return cls(
            plan_id=row["plan_id"],
            indicator=row["indicator"],
            unit_id=row["unit_id"],
            period=Period.parse(row["period"]),
            value=row["value"],
            numerator=row["numerator"],
            denominator=row["denominator"],
            note=row["note"],
            recorded_by=row["recorded_by"],
            recorded_at=parse_utc(row["recorded_at"]) if row["recorded_at"] else None,
        )


YES_WORDS = {"1", "yes", "y", "true", "có", "co", "đạt", "dat", "x"}
NO_WORDS = {"0", "no", "n", "false", "không", "khong", "chưa", "chua", "không đạt", "khong dat"}


def parse_yes_no(value: Any, field: str = "value") -> float:
    """1.0 for yes (có, đạt, 1, true…), 0.0 for no (không, chưa, 0, false…)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and value in (0, 1):
        return float(value)
    key = fold(str(value))
    if key in YES_WORDS:
        return 1.0
    if key in NO_WORDS:
        return 0.0
    raise ProgressError(field, f"{value!r} is not yes or no (có/không, 1/0)", value)


def parse_number(value: Any, field: str) -> float:
    """A finite number; accepts Vietnamese decimal commas ("87,5")."""
    if isinstance(value, bool):
        raise ProgressError(field, f"{value!r} is not a number", value)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = clean(str(value)).replace(" ", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            raise ProgressError(field, f"{value!r} is not a number", value) from None
    if not math.isfinite(number):
        raise ProgressError(field, f"{value!r} is not a finite number", value)
    return number


def _check_value(indicator: Indicator, value: Any, numerator: Any, denominator: Any):
    """Validate and normalise what is entered for an indicator of each kind."""
    kind = indicator.kind
    if kind is IndicatorKind.RATIO:
        if numerator is None or denominator is None:
            raise ProgressError(
                "numerator" if numerator is None else "denominator",
                f"indicator {indicator.code} is a ratio: give both numerator and denominator",
            )
        num = parse_number(numerator, "numerator")
        den = parse_number(denominator, "denominator")
        if num < 0:
            raise ProgressError("numerator", f"{num:g} is negative", numerator)
        if den < 0:
            raise ProgressError("denominator", f"{den:g} is negative", denominator)
        if num > den:
            raise ProgressError("numerator", f"{num:g} is larger than the denominator {den:g}", numerator)
        value = 100.0 * num / den if den else None
        return value, num, den
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ProgressError("value", f"missing value for indicator {indicator.code}")
    if kind in (IndicatorKind.SHARE_OF_UNITS, IndicatorKind.YES_NO):
        return parse_yes_no(value), None, None
    number = parse_number(value, "value")
    if kind is IndicatorKind.PERCENTAGE and not 0 <= number <= 100:
        raise ProgressError("value", f"{number:g} is not a percentage between 0 and 100", value)
    if kind is IndicatorKind.COUNT:
        if number < 0 or number != int(number):
            raise ProgressError("value", f"{number:g} is not a count (a whole number ≥ 0)", value)
        if number > 1_000_000:
            raise ProgressError("value", f"{number:g} is implausibly large for a count", value)
    return number, None, None


_parse_period = functools.lru_cache(maxsize=256)(Period.parse)
"""Period.parse, remembered: an import names the same few periods on every row."""


class BadRows(ProgressError):
    """Several rows given at once (:func:`check_measurements`, :func:`record_measurements`) are bad.

    ``problems`` lists every bad row as ``(index, ProgressError)``, in order, so that a whole
    file's problems are reported at once; the exception itself names the first, as
    ``rows[index].field``.
    """

    def __init__(self, problems: list[tuple[int, ProgressError]]):
        self.problems = problems
        index, first = problems[0]
        super().__init__(f"rows[{index}].{first.field}", str(first).split(": ", 1)[-1], first.value)


class CheckedMeasurements(tuple):
    """Rows :func:`check_measurements` normalised for one plan: :func:`record_measurements`
    stores them for that plan without checking them again."""

    plan_id: str


def check_measurements(
    plan: Plan,
    rows: Iterable[Mapping[str, Any]],
    *,
    on_progress: Callable[[int], None] | None = None,
) -> CheckedMeasurements:
    """Check many values at once, as :func:`check_measurement` checks one, without writing.

    Each row holds ``indicator``, ``unit_id``, ``period``, ``value`` (or ``numerator`` and
    ``denominator``) and optionally ``note``. Returns the normalised rows, for
    :func:`record_measurements`; raises :class:`BadRows` listing every bad row.
    ``on_progress(count)`` is called every 1,000 rows and at the end (an import's progress).
    """
    checked, problems = [], []
    # What a row's indicator and period allow, worked out once per (indicator, period): a file
    # names a few of each on thousands of rows.
    targets: dict[tuple[Any, Any], tuple[Indicator, Period, str, frozenset[str]]] = {}
    # And each indicator's distinct texts (a yes/no's "1" and "0", a count's few numbers) parsed
    # once: only what passed is remembered, so a bad value is named on every row that has it.
    values: dict[tuple, tuple] = {}
    count = -1
    for count, row in enumerate(rows):
        try:
            key = (row.get("indicator") or "", row.get("period") or "")
            target = targets.get(key)
            if target is None:
                target = targets[key] = _measurement_target(plan, *key)
            checked.append(_checked_measurement(
                plan, *target, row.get("unit_id") or "", row.get("value"),
                numerator=row.get("numerator"), denominator=row.get("denominator"), note=row.get("note"),
                values=values,
            ))
        except ProgressError as exc:
            problems.append((count, exc))
        if on_progress is not None and count % 1000 == 999:
            on_progress(count + 1)
    if on_progress is not None:
        on_progress(count + 1)
    if problems:
        raise BadRows(problems)
    result = CheckedMeasurements(checked)
    result.plan_id = plan.id
    return result


def check_measurement(
    plan: Plan,
    indicator: str,
    unit_id: str,
    period: Period | str,
    value: Any = None,
    *,
    numerator: Any = None,
    denominator: Any = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Validate a measurement without writing it; returns the normalised fields.

    Checks that the indicator exists and is entered (not computed by a plugin), that the unit
    is one the indicator applies to and existed during the period, that the period has the
    indicator's period type and lies within the plan, and that the value suits the kind
    (yes/no, a count, a percentage, or numerator and denominator). Raises
    :class:`ProgressError` naming the field otherwise.
    """
    return _checked_measurement(plan, *_measurement_target(plan, indicator, period), unit_id, value,
                                numerator=numerator, denominator=denominator, note=note)


def _measurement_target(plan: Plan, indicator: str, period: Period | str
                        ) -> tuple[Indicator, Period, str, frozenset[str]]:
    """The indicator and period of a measurement, checked; with the period's text and the ids of
    the units a value may be recorded for."""
    try:
        ind = plan.indicator(indicator)
    except KeyError:
        codes = ", ".join(i.code for i in plan.indicators)
        raise ProgressError("indicator", f"unknown indicator {indicator!r} (the plan has {codes})", indicator) from None
    if ind.source != "entered":
        raise ProgressError("indicator", f"{ind.code} is computed by {ind.source}; it cannot be entered", indicator)
    if isinstance(period, str):
        try:
            period = _parse_period(period)
        except ValueError as exc:
            raise ProgressError("period", str(exc), period) from None
    if period.type is not ind.period_type:
        raise ProgressError(
            "period",
            f"{ind.code} is recorded per {ind.period_type.value}; {period} is a {period.type.value}",
            str(period),
        )
    if period.end_date < plan.starts_on or period.start_date > plan.ends_on:
        raise ProgressError("period", f"{period} is outside the plan ({plan.starts_on} – {plan.ends_on})", str(period))
    return ind, period, str(period), plan.indicator_unit_ids(ind, period)


def _checked_measurement(plan: Plan, ind: Indicator, period: Period, period_text: str, applicable: frozenset[str],
                         unit_id: str, value: Any, *, numerator: Any, denominator: Any, note: str | None,
                         values: dict[tuple, tuple] | None = None) -> dict[str, Any]:
    """The rest of :func:`check_measurement`, once the indicator and period are known; with
    ``values``, what a value given as texts checks to is remembered there by indicator and texts."""
    if unit_id not in applicable:
        if not plan.has_unit(unit_id):
            raise ProgressError("unit", f"unknown unit {unit_id!r}", unit_id)
        unit = plan.unit(unit_id)
        if not unit.active_during(period):
            raise ProgressError("unit", f"{unit_id} ({unit.name}) did not exist during {period}", unit_id)
        raise ProgressError("unit", f"{ind.code} does not apply to {unit_id} ({unit.name})", unit_id)
    if values is not None and (value is None or type(value) is str) and (numerator is None or type(numerator) is str) \
            and (denominator is None or type(denominator) is str):  # texts only: True == 1 == 1.0 as keys
        key = (ind.code, value, numerator, denominator)
        found = values.get(key)
        if found is None:
            found = values[key] = _check_value(ind, value, numerator, denominator)
        number, num, den = found
    else:
        number, num, den = _check_value(ind, value, numerator, denominator)
    note = clean(note) if note else None
    if note and len(note) > 2000:
        raise ProgressError("note", "longer than 2000 characters")
    return {
        "plan_id": plan.id,
        "indicator": ind.code,
        "unit_id": unit_id,
        "period": period_text,
        "value": number,
        "numerator": num,
        "denominator": den,
        "note": note,
    }


def record_measurement(
    db: Database,
    plan: Plan,
    indicator: str,
    unit_id: str,
    period: Period | str,
    value: Any = None,
    *,
    numerator: Any = None,
    denominator: Any = None,
    note: str | None = None,
    recorded_by: str | None = None,
    now: dt.datetime | None = None,
) -> Measurement:
    """Record (or correct) the value of ``indicator`` for ``unit_id`` in ``period``.

    Validates as :func:`check_measurement` does (raising :class:`ProgressError` naming the
    field). The previous value is kept in ``measurement_log``.
    """
    row = check_measurement(
        plan, indicator, unit_id, period, value, numerator=numerator, denominator=denominator, note=note
    )
    row = {**row, "recorded_by": recorded_by, "recorded_at": utc_now_iso(now)}
    with write_transaction(db):
        existing = db.execute(
            "select 1 from measurements where plan_id=? and indicator=? and unit_id=? and period=?",
            [row["plan_id"], row["indicator"], row["unit_id"], row["period"]],
        ).fetchone()
        db["measurements"].upsert(row, pk=("plan_id", "indicator", "unit_id", "period"))
        db["measurement_log"].insert({**row, "action": "update" if existing else "insert"})
        _revise(db, row["plan_id"], [row["period"]])
    return Measurement.from_row(row)


_MEASUREMENT_COLUMNS = ("plan_id", "indicator", "unit_id", "period", "value", "numerator", "denominator", "note",
                        "recorded_by", "recorded_at")


def _measurement_key(row: tuple) -> str:
    """Indicator, unit and period of a row of :data:`_MEASUREMENT_COLUMNS` (the plan is one per
    call) as one text that sorts as their tuple would (ids hold no NUL; if one did, only the order
    of storing would change, never what is stored): Python sorts 43,186 texts in 12 ms and as
    many tuples in 29."""
    return f"{row[1]}\x00{row[2]}\x00{row[3]}"


def record_measurements(
    db: Database,
    plan: Plan,
    rows: Iterable[Mapping[str, Any]],
    *,
    recorded_by: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Record (or correct) many values at once, as an import does; returns how many.

    Each row holds the arguments of :func:`record_measurement`: ``indicator``, ``unit_id``,
    ``period`` and ``value`` (or ``numerator`` and ``denominator``), and optionally ``note``.
    Every row is checked first, as :func:`check_measurements` does (rows it returned for this
    plan are not checked again); if any is bad, :class:`BadRows` lists them all and nothing is
    stored. Then all are stored in one transaction, each previous value kept in
    ``measurement_log`` as :func:`record_measurement` keeps it (a later row for the same
    indicator, unit and period corrects an earlier one).
    """
    if isinstance(rows, CheckedMeasurements) and rows.plan_id == plan.id:
        checked = rows
    else:
        checked = check_measurements(plan, rows)
    if not checked:
        return 0
    stamp = utc_now_iso(now)
    columns = ", ".join(_MEASUREMENT_COLUMNS)
    marks = ", ".join("?" * len(_MEASUREMENT_COLUMNS))
    changes = ", ".join(f"{c} = excluded.{c}" for c in _MEASUREMENT_COLUMNS[4:])
    with write_transaction(db):
        # One query for what is already there (to log "update" rather than "insert"), then two
        # executemany: the per-row upsert and log insert of record_measurement cost ~1 ms each
        # through sqlite-utils (table introspection), 40 s for a month of a national plan.
        periods = sorted({row["period"] for row in checked})
        seen = {
            tuple(r) for chunk in range(0, len(periods), 500)
            for r in db.execute(
                "select indicator, unit_id, period from measurements where plan_id = ? and period in "
                f"({', '.join('?' * len(periods[chunk:chunk + 500]))})", [plan.id, *periods[chunk:chunk + 500]],
            ).fetchall()
        }
        pick = operator.itemgetter(*_MEASUREMENT_COLUMNS[:8])
        values = [(*pick(row), recorded_by, stamp) for row in checked]
        log = []
        for record in values:
            key = record[1:4]  # indicator, unit, period
            log.append((*record, "update" if key in seen else "insert"))
            seen.add(key)
        # Upserted in the order of the table's key (indicator, unit, period), not the file's
        # (unit by unit): the key's two indexes are then walked forward, not across ten places
        # at once, a quarter less time at national size. A stable sort: a later row for the same
        # key still corrects an earlier one. The log keeps the file's order.
        db.conn.executemany(
            f"insert into measurements ({columns}) values ({marks}) "
            f"on conflict (plan_id, indicator, unit_id, period) do update set {changes}",
            sorted(values, key=_measurement_key),
        )
        db.conn.executemany(f"insert into measurement_log ({columns}, action) values ({marks}, ?)", log)
        _revise(db, plan.id, periods)
    return len(checked)


def measurements(db: Database, plan: Plan, periods: Iterable[Period], indicator: str | None = None) -> list[Measurement]:
    """Current measurements of ``plan`` for the given periods (optionally one indicator)."""
    keys = [str(p) for p in periods]
    if not keys:
        return []
    sql = f"select * from measurements where plan_id = ? and period in ({', '.join('?' * len(keys))})"
    args: list[Any] = [plan.id, *keys]
    if indicator:
        sql += " and indicator = ?"
        args.append(indicator)
    return [Measurement.from_row(r) for r in db.query(sql + " order by indicator, unit_id, period", args)]


# --------------------------------------------------------------------------------------------
# Activity reports

ACTIVITY_CATEGORIES: dict[str, str] = {
    "published": "Tin, bài đăng tải",
    "broadcast": "Phát sóng (truyền thanh, truyền hình)",
    "printed": "Ấn phẩm in (tờ rơi, pa nô, áp phích, băng rôn)",
    "training": "Tập huấn, hội nghị",
    "meeting": "Lồng ghép trong họp, Ngày pháp luật",
    "contest": "Cuộc thi tìm hiểu",
    "other": "Hoạt động khác",
}
"""Kinds of activity a unit reports, with Vietnamese labels."""


@attrs.frozen
class ActivityItem:
    """One line of an activity report: what kind, how many, optionally a title, link and task."""

    category: str
    count: int
    title: str | None = None
    link: str | None = None
    task_id: str | None = None


@attrs.frozen
class ActivityReport:
    """A unit's activity report for a period."""

    id: int
    unit_id: str
    period: Period
    items: tuple[ActivityItem, ...]
    note: str | None
    submitted_by: str | None
    submitted_at: dt.datetime
    updated_at: dt.datetime
    revision: int
    status: str = "submitted"
    """``submitted`` (locked for the unit) or ``reopened`` (the plan admin opened it for changes)."""

    @property
    def locked(self) -> bool:
        """Whether the unit may no longer change the report without it being reopened."""
        return self.status == "submitted"


class ReportLocked(ProgressError):
    """The report was submitted; the plan admin must reopen it before the unit changes it."""


def check_activity_item(plan: Plan, index: int, item: ActivityItem | Mapping[str, Any]) -> ActivityItem:
    """Validate one activity item; ProgressError names `items[index].field`."""
    where = f"items[{index}]"
    data = attrs.asdict(item) if isinstance(item, ActivityItem) else dict(item)
    unknown = set(data) - {"category", "count", "title", "link", "task_id"}
    if unknown:
        raise ProgressError(where, f"unknown field(s) {', '.join(sorted(unknown))}")
    category = data.get("category") or ""
    if not isinstance(category, str) or category not in ACTIVITY_CATEGORIES:  # a known one as typed is clean
        category = clean(str(category))
    if category not in ACTIVITY_CATEGORIES:
        raise ProgressError(f"{where}.category", f"{category!r} is not one of {', '.join(ACTIVITY_CATEGORIES)}", category)
    count = parse_number(data.get("count", ""), f"{where}.count")
    if count < 0 or count != int(count) or count > 1_000_000:
        raise ProgressError(f"{where}.count", f"{count:g} is not a count (a whole number ≥ 0)", data.get("count"))
    title = clean(data["title"]) if data.get("title") else None
    if title and len(title) > 500:
        raise ProgressError(f"{where}.title", "longer than 500 characters")
    link = clean(data["link"]) if data.get("link") else None
    if link and not link.startswith(("http://", "https://")):
        raise ProgressError(f"{where}.link", f"{link!r} is not an http(s) link", link)
    task_id = data.get("task_id") or None
    if task_id:
        try:
            plan.task(task_id)
        except KeyError:
            raise ProgressError(f"{where}.task_id", f"unknown task {task_id!r}", task_id) from None
    return ActivityItem(category, int(count), title, link, task_id)


_ITEM_FIELDS = frozenset({"category", "count", "title", "link", "task_id"})


def _item_key(item: Any) -> tuple | None:
    """What :func:`check_activity_item`'s result depends on, for an item given as a mapping of
    texts (as an import reads them); None for anything else (checked every time). Only texts:
    ``True``, ``1`` and ``1.0`` are equal keys but not equally valid counts."""
    if type(item) is not dict or not item.keys() <= _ITEM_FIELDS:
        return None
    key = (item.get("category"), item.get("count"), item.get("title"), item.get("link"), item.get("task_id"))
    for value in key:
        if value is not None and type(value) is not str:
            return None
    return key


def _activity_report_period(plan: Plan, unit_id: str, period: Period | str) -> Period:
    """The period of a report ``unit_id`` owes; ProgressError naming ``unit`` or ``period`` otherwise."""
    if isinstance(period, str):
        try:
            period = _parse_period(period)
        except ValueError as exc:
            raise ProgressError("period", str(exc), period) from None
    if not plan.has_unit(unit_id):
        raise ProgressError("unit", f"unknown unit {unit_id!r}", unit_id)
    if period.end_date < plan.starts_on or period.start_date > plan.ends_on:
        raise ProgressError("period", f"{period} is outside the plan ({plan.starts_on} – {plan.ends_on})", str(period))
    if unit_id not in plan.expected_reporter_ids(period):
        unit = plan.unit(unit_id)
        raise ProgressError(
            "unit",
            f"{unit_id} ({unit.name}) owes no {period.type.label_vi} report for {period} under the plan's reporting rules",
            unit_id,
        )
    return period


def _activity_note(note: str | None) -> str | None:
    """A report's note, cleaned; ProgressError naming ``note`` when it is too long."""
    note = clean(note) if note else None
    if note and len(note) > 5000:
        raise ProgressError("note", "longer than 5000 characters")
    return note


def check_activity_report(
    plan: Plan,
    unit_id: str,
    period: Period | str,
    items: Iterable[ActivityItem | Mapping[str, Any]] = (),
    *,
    note: str | None = None,
) -> tuple[Period, tuple[ActivityItem, ...], str | None]:
    """Validate a report without writing it, as :func:`record_activity_report` does: the unit
    owes a report for the period, each item is valid, the note is not too long. Returns the
    period, the checked items and the cleaned note; raises :class:`ProgressError` naming the
    field (``unit``, ``period``, ``items[i].count``, ``note``)."""
    period = _activity_report_period(plan, unit_id, period)
    checked = tuple(check_activity_item(plan, i, item) for i, item in enumerate(items))
    return period, checked, _activity_note(note)


class CheckedActivityReports(tuple):
    """Reports :func:`check_activity_reports` checked for one plan: :func:`record_activity_reports`
    stores them without checking them again."""

    plan_id: str


def check_activity_reports(
    plan: Plan,
    reports: Iterable[Mapping[str, Any]],
    *,
    on_progress: Callable[[int], None] | None = None,
) -> CheckedActivityReports:
    """Check many activity reports at once, as :func:`check_activity_report` checks one.

    Each report is a mapping as :func:`record_activity_reports` takes. Every item is checked on
    its own, so that a report with several bad items has each named. Returns the checked reports
    (``unit_id``, ``period`` as text, ``items`` as :class:`ActivityItem`, ``note``,
    ``submitted_at``); raises :class:`BadRows` listing ``(report index, ProgressError)`` for every
    problem, the error naming ``unit``, ``period``, ``items[i].field`` or ``note``. A report
    whose unit or period is bad has its items left unchecked. ``on_progress(items)`` is called
    every 1,000 items or so and at the end.
    """
    checked, problems = [], []
    done = last = 0
    # The reports a period's reporters owe, worked out once per period: a file names one or a few.
    owed: dict[str, tuple[Period, str, frozenset[str]]] = {}
    # A month's file repeats a few dozen distinct items and one or two notes thousands of times:
    # each distinct one is checked once and its result (frozen, so shareable) reused. Only what
    # passed is remembered; a bad value is checked, and named, on every row that has it.
    good_items: dict[tuple, ActivityItem] = {}
    good_notes: dict[str, str | None] = {}
    for index, report in enumerate(reports):
        raw_items = list(report.get("items", ()))
        unit_id, period_text = report.get("unit_id") or "", report.get("period") or ""
        known = owed.get(period_text) if isinstance(period_text, str) else None
        try:
            if known is not None and unit_id in known[2]:
                period, period_key = known[0], known[1]  # as _activity_report_period would find it
            else:
                period = _activity_report_period(plan, unit_id, period_text)
                period_key = str(period)
                if isinstance(period_text, str):
                    owed[period_text] = (period, period_key, plan.expected_reporter_ids(period))
        except ProgressError as exc:
            problems.append((index, exc))
            period = None
        items = []
        if period is not None:
            for i, item in enumerate(raw_items):
                key = _item_key(item)
                good = good_items.get(key) if key is not None else None
                if good is None:
                    try:
                        good = check_activity_item(plan, i, item)
                    except ProgressError as exc:
                        problems.append((index, exc))
                        continue
                    if key is not None:
                        good_items[key] = good
                items.append(good)
        raw_note = report.get("note")
        if isinstance(raw_note, str) and raw_note in good_notes:
            note = good_notes[raw_note]
        else:
            try:
                note = _activity_note(raw_note)
                if isinstance(raw_note, str):
                    good_notes[raw_note] = note
            except ProgressError as exc:
                problems.append((index, exc))
        if not problems:
            checked.append({"unit_id": report["unit_id"], "period": period_key, "items": tuple(items), "note": note,
                            "submitted_at": report.get("submitted_at")})
        done += len(raw_items)
        if on_progress is not None and done - last >= 1000:
            on_progress(done)
            last = done
    if on_progress is not None:
        on_progress(done)
    if problems:
        raise BadRows(problems)
    result = CheckedActivityReports(checked)
    result.plan_id = plan.id
    return result


def record_activity_reports(
    db: Database,
    plan: Plan,
    reports: Iterable[Mapping[str, Any]],
    *,
    submitted_by: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Submit many activity reports at once, as an import does; returns how many.

    Each report is a mapping with ``unit_id``, ``period``, ``items`` and optionally ``note`` and
    ``submitted_at`` (an aware datetime, for reports transcribed from paper; default ``now``).
    Every report is checked first, as :func:`check_activity_report` does; the first bad one raises
    :class:`ProgressError` naming ``reports[i].field`` and nothing is stored. Then all are stored
    in one transaction, exactly as :func:`record_activity_report` stores each: a report already
    there has its items replaced, its revision incremented and its first submission time kept.
    To report every bad item of a file at once, check with :func:`check_activity_report` first.
    """
    if not (isinstance(reports, CheckedActivityReports) and reports.plan_id == plan.id):
        try:
            reports = check_activity_reports(plan, reports)
        except BadRows as bad:
            index, exc = bad.problems[0]
            raise ProgressError(f"reports[{index}].{exc.field}", str(exc).split(": ", 1)[1], exc.value) from None
    stamps: dict[Any, str] = {}  # a file's reports share a few hundred submission times
    checked = []
    for r in reports:
        at = r["submitted_at"] or now
        stamp = stamps.get(at)
        if stamp is None:
            stamp = stamps[at] = utc_now_iso(at)
        checked.append((r["unit_id"], r["period"], r["items"], r["note"], stamp))
    if not checked:
        return 0
    with write_transaction(db):
        # Plain executemany in one transaction: through sqlite-utils each report cost three
        # introspected statements (~3 ms), a minute for a month of a national plan.
        periods = sorted({c[1] for c in checked})
        there = _activity_reports_there(db, periods)
        if len({(c[0], c[1]) for c in checked}) == len(checked):
            _store_activity_reports(db, checked, there, submitted_by)
            return len(checked)
        # The same report twice in one call: stored one after the other, as separate calls would
        # (the later one's items replace the earlier one's, which are not stored yet).
        items: dict[int, list[tuple]] = {}
        for unit_id, period, report_items, note, stamp in checked:
            if (unit_id, period) in there:
                report_id, revision = there[(unit_id, period)]
                db.conn.execute(
                    "update activity_reports set note = ?, submitted_by = ?, updated_at = ?, revision = ?, "
                    "status = 'submitted' where id = ?", (note, submitted_by, stamp, revision + 1, report_id))
                db.conn.execute("delete from activity_items where report_id = ?", (report_id,))
                there[(unit_id, period)] = (report_id, revision + 1)
            else:
                report_id = db.conn.execute(
                    "insert into activity_reports (unit_id, period, note, submitted_by, submitted_at, updated_at, "
                    "revision) values (?, ?, ?, ?, ?, ?, 1)", (unit_id, period, note, submitted_by, stamp, stamp),
                ).lastrowid
                there[(unit_id, period)] = (report_id, 1)
            items[report_id] = [(report_id, i.category, i.count, i.title, i.link, i.task_id) for i in report_items]
        db.conn.executemany(
            "insert into activity_items (report_id, category, count, title, link, task_id) values (?, ?, ?, ?, ?, ?)",
            [item for report in items.values() for item in report],
        )
    return len(checked)


def _activity_reports_there(db: Database, periods: list[str]) -> dict[tuple[str, str], tuple[int, int]]:
    """The stored reports of ``periods``: (unit, period) -> (id, revision)."""
    there: dict[tuple[str, str], tuple[int, int]] = {}
    for chunk in range(0, len(periods), 500):
        part = periods[chunk:chunk + 500]
        for report_id, unit_id, period, revision in db.execute(
            f"select id, unit_id, period, revision from activity_reports where period in ({', '.join('?' * len(part))})",
            part,
        ).fetchall():
            there[(unit_id, period)] = (report_id, revision)
    return there


def _store_activity_reports(db: Database, checked: list[tuple], there: dict[tuple[str, str], tuple[int, int]],
                            submitted_by: str | None) -> None:
    """Store ``checked`` (unit, period, items, note, stamp), no report twice, in the caller's
    transaction, as :func:`record_activity_report` stores each: a report already there (in
    ``there``) is updated, its revision incremented, its first submission time kept and its
    items replaced; a new one is inserted at revision 1. One ``executemany`` per statement,
    not a statement per report (a month of a national plan is 3,321 reports)."""
    updates, new = [], []
    for unit_id, period, _items, note, stamp in checked:
        known = there.get((unit_id, period))
        if known is None:
            new.append((unit_id, period, note, submitted_by, stamp, stamp))
        else:
            updates.append((note, submitted_by, stamp, known[1] + 1, known[0]))
    if updates:
        db.conn.executemany(
            "update activity_reports set note = ?, submitted_by = ?, updated_at = ?, revision = ?, "
            "status = 'submitted' where id = ?", updates)
        db.conn.executemany("delete from activity_items where report_id = ?", [(u[4],) for u in updates])
    if new:
        db.conn.executemany(
            "insert into activity_reports (unit_id, period, note, submitted_by, submitted_at, updated_at, "
            "revision) values (?, ?, ?, ?, ?, ?, 1)", new)
        # The new reports' ids, read back in the same transaction (no report was there before),
        # added to those already known: a corrected report may be of a period with no new one.
        there = {**there, **_activity_reports_there(db, sorted({n[1] for n in new}))}
    db.conn.executemany(
        "insert into activity_items (report_id, category, count, title, link, task_id) values (?, ?, ?, ?, ?, ?)",
        [(there[(unit_id, period)][0], i.category, i.count, i.title, i.link, i.task_id)
         for unit_id, period, report_items, _note, _stamp in checked for i in report_items],
    )


def record_activity_report(
    db: Database,
    plan: Plan,
    unit_id: str,
    period: Period | str,
    items: Iterable[ActivityItem | Mapping[str, Any]],
    *,
    note: str | None = None,
    submitted_by: str | None = None,
    now: dt.datetime | None = None,
    respect_lock: bool = False,
) -> ActivityReport:
    """Submit (or resubmit) a unit's activity report for a period.

    The unit must owe a report of that period's type under a tracked reporting rule. A
    resubmission replaces the items and increments ``revision``; ``submitted_at`` stays the time
    of the first submission, so correcting a report after the deadline does not make it late.
    With ``respect_lock`` (the web form of a unit officer), a submitted report that has not been
    reopened raises :class:`ReportLocked`; admins and the CLI replace it directly.
    """
    period = _activity_report_period(plan, unit_id, period)
    checked = [check_activity_item(plan, i, item) for i, item in enumerate(items)]
    note = _activity_note(note)
    stamp = utc_now_iso(now)
    with write_transaction(db):
        row = db.execute(
            "select id, submitted_at, revision, status from activity_reports where unit_id = ? and period = ?",
            [unit_id, str(period)],
        ).fetchone()
        if row:
            report_id, submitted_at, revision = row[0], row[1], row[2] + 1
            if respect_lock and row[3] == "submitted":
                raise ReportLocked(
                    "report",
                    f"the report of {unit_id} for {period} was submitted; ask the plan admin to reopen it",
                )
            db["activity_reports"].update(
                report_id,
                {"note": note, "submitted_by": submitted_by, "updated_at": stamp, "revision": revision,
                 "status": "submitted"},
            )
            db.execute("delete from activity_items where report_id = ?", [report_id])
        else:
            submitted_at, revision = stamp, 1
            report_id = db["activity_reports"].insert(
                {
                    "unit_id": unit_id,
                    "period": str(period),
                    "note": note,
                    "submitted_by": submitted_by,
                    "submitted_at": stamp,
                    "updated_at": stamp,
                    "revision": 1,
                }
            ).last_pk
        db["activity_items"].insert_all(
            [{"report_id": report_id, **attrs.asdict(item)} for item in checked]
        )
    return ActivityReport(
        id=report_id,
        unit_id=unit_id,
        period=period,
        items=tuple(checked),
        note=note,
        submitted_by=submitted_by,
        submitted_at=parse_utc(submitted_at),
        updated_at=parse_utc(stamp),
        revision=revision,
        status="submitted",
    )


def reopen_activity_report(
    db: Database, unit_id: str, period: Period | str, *, reopened_by: str | None = None, now: dt.datetime | None = None
) -> ActivityReport:
    """Open a submitted report for changes by its unit (the plan admin's action).

    The first submission time is kept: reopening never makes an on-time report late.
    """
    with write_transaction(db):
        changed = db.execute(
            "update activity_reports set status = 'reopened', reopened_at = ?, reopened_by = ? "
            "where unit_id = ? and period = ?",
            [utc_now_iso(now), reopened_by, unit_id, str(period)],
        ).rowcount
    if not changed:
        raise ProgressError("report", f"no report of {unit_id} for {period} to reopen")
    return get_activity_report(db, unit_id, period)


def get_activity_report(db: Database, unit_id: str, period: Period | str) -> ActivityReport | None:
    """The activity report of a unit for a period, or None."""
    row = next(
        db.query("select * from activity_reports where unit_id = ? and period = ?", [unit_id, str(period)]),
        None,
    )
    if row is None:
        return None
    items = tuple(
        ActivityItem(r["category"], r["count"], r["title"], r["link"], r["task_id"])
        for r in db.query("select * from activity_items where report_id = ? order by id", [row["id"]])
    )
    return ActivityReport(
        id=row["id"],
        unit_id=row["unit_id"],
        period=Period.parse(row["period"]),
        items=items,
        note=row["note"],
        submitted_by=row["submitted_by"],
        submitted_at=parse_utc(row["submitted_at"]),
        updated_at=parse_utc(row["updated_at"]),
        revision=row["revision"],
        status=row.get("status", "submitted"),
    )


# --------------------------------------------------------------------------------------------
# Reporting completeness


class ReportState(str, enum.Enum):
    """Where one expected report stands."""

    ON_TIME = "on_time"
    LATE = "late"
    SUBMITTED = "submitted"
    """Submitted, for a rule without a due day (timeliness cannot be judged)."""
    MISSING = "missing"
    NOT_DUE = "not_due"
    """Not submitted yet, but the due date has not passed."""

    @property
    def label_vi(self) -> str:
        """Vietnamese label."""
        return {
            "on_time": "Đúng hạn",
            "late": "Trễ hạn",
            "submitted": "Đã nộp",
            "missing": "Chưa nộp (quá hạn)",
            "not_due": "Chưa đến hạn",
        }[self.value]


@attrs.frozen
class ExpectedReport:
    """One report owed by one unit for one period (to one recipient)."""

    unit: Unit
    period: Period
    due_at: dt.datetime | None
    state: ReportState
    submitted_at: dt.datetime | None = None
    recipient: str | None = None
    """None: the activity report in ccch. A unit id: a further recipient the rule names, which
    the unit records having sent the report to (:func:`record_report_delivery`)."""
    due_assumed: bool = False
    """Whether the due day is one the plan does not state (``assumed = { due_day = … }``): pages
    mark it "giả định: kế hoạch không nêu"."""


class ReportRates:
    """The rates of a set of expected reports, from its ``count(*states)`` and ``expected``: shared by
    :class:`Completeness` and the level view's tallies (``ccch_core.levels``)."""

    __slots__ = ()

    @property
    def received(self) -> int:
        """Reports received (on time, late, or submitted under a rule without a due day)."""
        return self.count(ReportState.ON_TIME, ReportState.LATE, ReportState.SUBMITTED)

    @property
    def reporting_rate(self) -> float | None:
        """Reports received over reports expected, in percent."""
        return 100.0 * self.received / self.expected if self.expected else None

    @property
    def on_time_rate(self) -> float | None:
        """Reports received on time over reports expected, in percent."""
        return 100.0 * self.count(ReportState.ON_TIME) / self.expected if self.expected else None


@attrs.frozen
class Completeness(ReportRates):
    """Reporting completeness for a period (DHIS2's reporting rate and on-time rate).

    ``reporting_rate`` = reports received / reports expected; ``on_time_rate`` = reports
    received by their due date / reports expected. Both are percentages, None when nothing is
    expected.
    """

    period: Period
    reports: tuple[ExpectedReport, ...]
    _tally: dict[ReportState, int] | None = attrs.field(default=None, init=False, eq=False, repr=False)
    """How many reports are in each state, counted on first use (a national year's 39,852
    reports were counted again for each rate and each state shown)."""

    def count(self, *states: ReportState) -> int:
        """How many expected reports are in one of ``states``."""
        tally = self._tally
        if tally is None:
            tally = collections.Counter(map(_STATE, self.reports))
            object.__setattr__(self, "_tally", tally)
        return sum(tally[state] for state in states)

    @property
    def expected(self) -> int:
        """Reports expected."""
        return len(self.reports)


    def missing_units(self) -> list[Unit]:
        """Units with at least one overdue report, in plan order, without duplicates."""
        seen: dict[str, Unit] = {}
        for report in self.reports:
            if report.state is ReportState.MISSING:
                seen.setdefault(report.unit.id, report.unit)
        return list(seen.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "period": str(self.period),
            "expected": self.expected,
            "received": self.received,
            "on_time": self.count(ReportState.ON_TIME),
            "late": self.count(ReportState.LATE),
            "missing": self.count(ReportState.MISSING),
            "not_due": self.count(ReportState.NOT_DUE),
            "reporting_rate": self.reporting_rate,
            "on_time_rate": self.on_time_rate,
            "reports": [
                {
                    "unit": r.unit.id,
                    "unit_name": r.unit.name,
                    "period": str(r.period),
                    "state": r.state.value,
                    "due_at": r.due_at.isoformat() if r.due_at else None,
                    "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
                    "recipient": r.recipient,
                    "due_assumed": r.due_assumed,
                }
                for r in self.reports
            ],
        }


DEFAULT_GRACE_DAYS = 10
"""Days after a period ends within which a report under a rule without a due day still counts as
not yet due (the plan says "định kỳ quý" but no day). A plan sets its own with
``[plan] report_grace_days``."""


def _due_days(plan: Plan, ptype: PeriodType) -> dict[str, tuple[int | None, bool]]:
    """The earliest due day per unit among tracked rules of ``ptype`` (None: no fixed day), and
    whether the rule that sets it marks the day assumed. Worked out once per plan (a national
    plan's 3,321 reporters: 20 ms, on every view's completeness and grid before); read only."""
    index = _plan_index(plan)
    key = ("due days", ptype)
    days = index.get(key)
    if days is not None:
        return days
    days = {}
    for rule in plan.tracked_rules(ptype):
        assumed = rule.due_day is not None and rule.provenance.is_assumed("due_day")
        for unit in plan.resolve(rule.reporters):
            current = days.get(unit.id)
            if current is None or rule.due_day is not None and (current[0] is None or rule.due_day < current[0]):
                days[unit.id] = (rule.due_day, assumed)
    index[key] = days
    return days


def further_recipients(plan: Plan, unit_id: str, ptype: PeriodType) -> tuple[str, ...]:
    """The recipients beyond the first that ``unit_id``'s reports of ``ptype`` go to, under the
    plan's tracked rules, in plan order (each one is tracked as its own expected report)."""
    return _further_by_unit(plan, ptype).get(unit_id, ())


def _further_by_unit(plan: Plan, ptype: PeriodType) -> dict[str, tuple[str, ...]]:
    """:func:`further_recipients` of every unit that reports under a rule of ``ptype``, worked
    out once per plan: one pass over each rule's reporters instead of one per unit (3,321
    communes × 36,647 units at national size)."""
    index = _plan_index(plan)
    key = ("further", ptype)
    by_unit = index.get(key)
    if by_unit is None:
        primary: dict[str, set[str]] = {}
        found: dict[str, list[str]] = {}
        for rule in plan.tracked_rules(ptype):
            extra = rule.recipients[1:]
            for unit in plan.resolve(rule.reporters):
                primary.setdefault(unit.id, set()).add(rule.to)
                listed = found.setdefault(unit.id, [])
                listed.extend(r for r in extra if r not in listed)
        by_unit = index[key] = {uid: tuple(r for r in listed if r not in primary[uid])
                                for uid, listed in found.items()}
    return by_unit


def record_report_delivery(
    db: Database,
    plan: Plan,
    unit_id: str,
    period: Period | str,
    recipient: str,
    sent_on: dt.date | str,
    *,
    reference: str | None = None,
    recorded_by: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Record that ``unit_id`` sent its report for ``period`` to ``recipient``, a further
    recipient of one of its reporting rules (the report in ccch serves the first). ``sent_on`` is
    the local day it was sent; ``reference`` the dispatch number (số công văn). Recording again
    replaces the earlier record.

    A period outside the plan's span is refused here as well as by the callers (the web form and
    ``ccch report-sent`` check it first): a 2025 quarter must not be recorded under 2024's plan."""
    if isinstance(period, str):
        try:
            period = Period.parse(period)
        except ValueError as exc:
            raise ProgressError("period", str(exc), period) from None
    if period.end_date < plan.starts_on or period.start_date > plan.ends_on:
        raise ProgressError("period", f"{period} is outside the plan {plan.id!r} ({plan.starts_on} – {plan.ends_on})",
                            str(period))
    if not plan.has_unit(unit_id):
        raise ProgressError("unit", f"unknown unit {unit_id!r}", unit_id)
    allowed = further_recipients(plan, unit_id, period.type)
    if recipient not in allowed:
        names = ", ".join(allowed) or "none"
        raise ProgressError(
            "recipient",
            f"{recipient!r} is not a further recipient of {unit_id}'s {period.type.label_vi} reports "
            f"(the plan names: {names})",
            recipient,
        )
    if isinstance(sent_on, str):
        try:
            sent_on = dt.date.fromisoformat(sent_on.strip())
        except ValueError:
            raise ProgressError("sent_on", f"{sent_on!r} is not a date (YYYY-MM-DD)", sent_on) from None
    if sent_on < period.start_date:
        raise ProgressError("sent_on", f"{sent_on} is before the period {period} starts", str(sent_on))
    today = (now or utc_now()).astimezone(VN_TZ).date()
    if sent_on > today:
        raise ProgressError("sent_on", f"{sent_on} is in the future", str(sent_on))
    reference = clean(reference) if reference else None
    if reference and len(reference) > 200:
        raise ProgressError("reference", "longer than 200 characters")
    row = {"unit_id": unit_id, "period": str(period), "recipient": recipient, "sent_on": sent_on.isoformat(),
           "reference": reference, "recorded_by": recorded_by, "recorded_at": utc_now_iso(now)}
    with write_transaction(db):
        db.execute("delete from report_deliveries where unit_id = ? and period = ? and recipient = ?",
                   [unit_id, str(period), recipient])
        db["report_deliveries"].insert(row)
    return row


def _delivered(db: Database, period: Period) -> dict[tuple[str, str], dt.datetime]:
    """(unit, recipient) -> the instant the day it was sent ended, for one period."""
    if not db["report_deliveries"].exists():
        return {}
    return {
        (r["unit_id"], r["recipient"]): _local_midnight_after(dt.date.fromisoformat(r["sent_on"])) - dt.timedelta(seconds=1)
        for r in db.query("select unit_id, recipient, sent_on from report_deliveries where period = ?", [str(period)])
    }


def _activity_versions(db: Database, periods: Sequence[Period]) -> dict[str, tuple]:
    """Per period: how many activity reports, their last ``updated_at`` and the sum of their
    revisions — what moves when a report is submitted or resubmitted (the only ways ccch writes
    ``submitted_at``) or removed. What is counted from a period's reports is kept until it moves."""
    marks = ", ".join("?" * len(periods))
    return {period: (count, last, revisions) for period, count, last, revisions in db.execute(
        "select period, count(*), max(updated_at), total(revision) from activity_reports "
        f"where period in ({marks}) group by period", [str(p) for p in periods])}


_COMPLETENESS_KEPT = 512
"""Periods of expected reports kept per plan and database (reporting_completeness)."""


def forget_kept(plan: Plan) -> None:
    """Forget what is kept for ``plan`` between calls: each period's expected reports
    (:func:`reporting_completeness`), each month's counts (:func:`ccch_core.levels.monthly_counts`)
    and each recording period's measurement rows (:func:`evaluate_plan`).
    Nothing needs it to stay correct (what is kept is keyed by the data it came from); a
    benchmark measuring a first view with nothing kept does."""
    index = _plan_index(plan)
    index.pop("completeness", None)
    index.pop("monthly counts", None)
    index.pop("period rows", None)


_PERIOD_ROWS_KEPT = 26
"""Recording periods whose measurement rows are kept per plan and database (a year's months,
quarters and halves and the year itself fit)."""


def _kept_period_rows(db: Database, plan: Plan) -> dict[str, dict[str, dict[str, tuple]]]:
    """Each recording period's measurement rows read by :func:`evaluate_plan` (per indicator,
    per unit: value, numerator, denominator), kept per plan and database while nothing in the
    database changes: SQLite's ``data_version`` moves when another connection commits,
    ``total_changes`` when this one writes. A year's dashboard evaluates its months for the
    trends; the year's own figures are then built from their rows instead of read again."""
    by_db = _plan_index(plan).setdefault("period rows", weakref.WeakKeyDictionary())
    version = database_version(db)
    entry = by_db.get(db)
    if entry is None or entry[0] != version:
        entry = by_db[db] = (version, {})
    return entry[1]


def _expected_reporters(plan: Plan, period: Period) -> tuple[Unit, ...]:
    """:meth:`Plan.expected_reporters`; for a plan without dated units the same in every period
    of a type, so kept once per type in the plan's index (and with it in the plan cache)."""
    index = _plan_index(plan)
    if index["dated"]:
        return plan.expected_reporters(period)
    key = ("reporters", period.type)
    units = index.get(key)
    if units is None:
        units = index[key] = plan.expected_reporters(period)
    return units


def _local_midnight_after(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), VN_TZ).astimezone(dt.UTC)


def reporting_completeness(
    db: Database, plan: Plan, period: Period | str, *, now: dt.datetime | None = None, grace_days: int | None = None
) -> Completeness:
    """Which expected reports for ``period`` came in on time, late, or not at all.

    For a longer period, reports of every shorter tracked frequency inside it count: a
    quarter's completeness covers its three monthly reports from each unit plus the quarterly
    roll-ups. Only periods within the plan are counted. A report under a rule without a due day
    is missing only ``grace_days`` after its period ends (the plan's ``report_grace_days``,
    else :data:`DEFAULT_GRACE_DAYS`). A rule with several recipients owes one report to each:
    the activity report in ccch for the first, a recorded delivery for each further one.
    """
    if isinstance(period, str):
        period = Period.parse(period)
    now = now or utc_now()
    if grace_days is None:
        grace_days = plan.report_grace_days if plan.report_grace_days is not None else DEFAULT_GRACE_DAYS
    frequencies = sorted({r.frequency for r in plan.tracked_rules()}, key=lambda t: t.months)
    rows: list[ExpectedReport] = []
    # Each period's expected reports are kept (per plan and database) until its reports or
    # deliveries change or one of its deadlines passes: a national year is 39,852 of them, and a
    # view after a write to one month needs only that month's made again.
    kept = _plan_index(plan).setdefault("completeness", weakref.WeakKeyDictionary()).setdefault(db, {})
    for ptype in frequencies:
        if ptype.months > period.type.months:
            continue
        due_days = _due_days(plan, ptype)
        days = sorted({day for day, _ in due_days.values() if day})
        further_of = _further_by_unit(plan, ptype)
        subperiods = [period] if ptype is period.type else [
            p for p in _subperiods(period, ptype)
        ]
        subperiods = [sub for sub in subperiods if not (sub.end_date < plan.starts_on or sub.start_date > plan.ends_on)]
        versions = _activity_versions(db, subperiods) if subperiods else {}
        for sub in subperiods:
            units = _expected_reporters(plan, sub)
            if not units:
                continue
            delivered = _delivered(db, sub)
            grace_end = sub.end_utc + dt.timedelta(days=grace_days)
            key = (ptype, sub, grace_days, versions.get(str(sub)), tuple(sorted(delivered.items())),
                   tuple(now >= sub.due_at(day) for day in days), now >= grace_end)
            made = kept.get(key)
            if made is not None:
                rows.extend(made)
                continue
            first = len(rows)
            submitted = {  # rows as tuples: 40,000 of them for a national year
                unit_id: parse_utc(at)
                for unit_id, at in db.execute("select unit_id, submitted_at from activity_reports where period = ?",
                                              [str(sub)])
            }
            due_on: dict[int, dt.datetime] = {}  # due instant per due day (most units share one)
            for unit in units:
                day, due_assumed = due_days.get(unit.id, (None, False))
                if day:
                    due_at = due_on.get(day)
                    if due_at is None:
                        due_at = due_on[day] = sub.due_at(day)
                else:
                    due_at = None
                for recipient in (None, *further_of.get(unit.id, ())):
                    at = submitted.get(unit.id) if recipient is None else delivered.get((unit.id, recipient))
                    if at is not None:
                        state = ReportState.SUBMITTED if due_at is None else (
                            ReportState.ON_TIME if at < due_at else ReportState.LATE
                        )
                    elif due_at is not None and now < due_at or due_at is None and now < grace_end:
                        state = ReportState.NOT_DUE
                    else:
                        state = ReportState.MISSING
                    rows.append(ExpectedReport(unit, sub, due_at, state, at, recipient, due_assumed))
            if len(kept) >= _COMPLETENESS_KEPT:
                kept.clear()
            kept[key] = tuple(rows[first:])
    return Completeness(period, tuple(rows))


# --------------------------------------------------------------------------------------------
# Evidence for tasks with a vague cadence


@attrs.frozen
class TaskEvidence:
    """Whether a lead unit of a task with ``evidence_per`` showed evidence in one period: the
    activity report items that name the task ("thường xuyên" made trackable)."""

    task_id: str
    unit: Unit
    period: Period
    reported_by: Unit | None
    """Whose activity reports carry the evidence: the lead unit itself when it reports, else the
    nearest unit above it that does (a commune reports for its web page and radio station);
    None when no unit on that line reports (a requested body such as a party board)."""
    items: int
    """Activity report items naming the task in the unit's reports of this period."""
    count: int
    """The sum of those items' counts."""

    @property
    def shown(self) -> bool:
        """Whether the unit showed any evidence in the period."""
        return self.items > 0


def task_evidence(db: Database, plan: Plan, period: Period | str) -> list[TaskEvidence]:
    """For every task with ``evidence_per``, each lead unit's evidence in each period of that type
    inside ``period`` (within the task's start and the plan). Evidence is an activity report item
    whose task is this task, in a report for a period inside the evidence period, by the unit
    that reports for the lead (:attr:`TaskEvidence.reported_by`)."""
    if isinstance(period, str):
        period = Period.parse(period)
    result: list[TaskEvidence] = []
    for task in plan.tasks:
        if task.evidence_per is None or task.evidence_per.months > period.type.months:
            continue
        starts = task.starts_on or (task.starts_in.start_date if task.starts_in else plan.starts_on)
        for sub in [period] if task.evidence_per is period.type else _subperiods(period, task.evidence_per):
            if sub.end_date < max(starts, plan.starts_on) or sub.start_date > plan.ends_on:
                continue
            if task.ends_on and sub.start_date > task.ends_on:
                continue
            inside = [str(p) for p in _periods_inside(sub)]
            marks = ",".join("?" * len(inside))
            reporters = {u.id for p in _periods_inside(sub) for u in plan.expected_reporters(p)}
            counts = {
                r["unit_id"]: (r["items"], r["total"])
                for r in db.query(
                    "select r.unit_id, count(*) as items, coalesce(sum(i.count), 0) as total "
                    "from activity_items i join activity_reports r on r.id = i.report_id "
                    f"where i.task_id = ? and r.period in ({marks}) group by r.unit_id",
                    [task.id, *inside],
                )
            }
            for unit in plan.resolve(task.lead, sub):
                by = next((u for u in (unit, *plan.ancestors(unit.id)) if u.id in reporters), None)
                items, total = counts.get(by.id, (0, 0)) if by else (0, 0)
                result.append(TaskEvidence(task.id, unit, sub, by, items, total))
    return result


def _periods_inside(period: Period) -> list[Period]:
    """``period`` and every shorter period inside it (its months, quarters, halves)."""
    found: list[Period] = []
    for ptype in PeriodType:
        if ptype.months <= period.type.months:
            for sub in _subperiods(period, ptype):
                if sub not in found:
                    found.append(sub)
    return found


def _subperiods(period: Period, ptype: PeriodType) -> list[Period]:
    months = period.months()
    result: list[Period] = []
    for month in months:
        sub = month.rollup(ptype)
        if sub not in result:
            result.append(sub)
    return result


# --------------------------------------------------------------------------------------------
# Indicator evaluation


class Status(str, enum.Enum):
    """Where an indicator stands for a period."""

    MET = "met"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    NO_DATA = "no_data"

    @property
    def label_vi(self) -> str:
        """Vietnamese label."""
        return {"met": "Đạt", "on_track": "Đúng tiến độ", "behind": "Chưa đạt", "no_data": "Chưa có số liệu"}[self.value]


@attrs.frozen
class MeasureValue:
    """A value a plugin measure computed for one unit (numerator/denominator for ratios)."""

    value: float | None
    numerator: float | None = None
    denominator: float | None = None


@attrs.frozen
class MeasureContext:
    """What a plugin measure receives: the deployment, the indicator, the period, the units."""

    deployment: Any
    indicator: Indicator
    period: Period
    units: tuple[Unit, ...]


@attrs.frozen
class UnitResult:
    """An indicator's value for one applicable unit."""

    unit: Unit
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    expected: float | None = None
    met: bool | None = None


@attrs.frozen
class IndicatorResult:
    """An indicator evaluated for a period."""

    indicator: Indicator
    period: Period
    value: float | None
    target: float | None
    status: Status
    units: tuple[UnitResult, ...]
    expected_to_date: float | None = None
    explanation: str = ""
    without_data: tuple[Unit, ...] | None = attrs.field(default=None, eq=False, repr=False)
    """The applicable units without a value, when the evaluation knows them already (then
    :attr:`units_without_data` does not build the per-unit results to find them)."""

    @property
    def units_without_data(self) -> list[Unit]:
        """Applicable units that have no value for the period."""
        if self.without_data is not None:
            return list(self.without_data)
        return [u.unit for u in self.units if u.value is None]

    @property
    def progress(self) -> float | None:
        """Value over target in percent, capped at 100 (for progress bars)."""
        if self.value is None or not self.target:
            return None
        return max(0.0, min(100.0, 100.0 * self.value / self.target))

    def to_dict(self, *, units: bool = True) -> dict[str, Any]:
        """A JSON-ready form (stable keys; documented in docs/cli.md). ``units=False`` leaves out
        the per-unit rows (``units``): 36,000 of them per indicator at national size."""
        ind = self.indicator
        data = {
            "code": ind.code,
            "text": ind.text,
            "short_name": ind.short_name,
            "kind": ind.kind.value,
            "quantitative": ind.quantitative,
            "period": str(self.period),
            "value": self.value,
            "target": self.target,
            "comparison": ind.comparison.value,
            "unit_label": "%" if ind.is_percentage else ind.unit_label,
            "status": self.status.value,
            "status_vi": self.status.label_vi,
            "expected_to_date": self.expected_to_date,
            "explanation": self.explanation,
            "units_applicable": len(self.units),
            "units_without_data": [u.id for u in self.units_without_data],
        }
        if units:
            data["units"] = [
                {
                    "unit": u.unit.id,
                    "value": u.value,
                    "numerator": u.numerator,
                    "denominator": u.denominator,
                    "expected": u.expected,
                    "met": u.met,
                }
                for u in self.units
            ]
        return data


class _UnitResults(Sequence):
    """An indicator's per-unit results, built the first time they are read.

    A plan the size of the country has 36,000 applicable units per indicator; a figure, a count
    of units without data or a page of one province needs none of the 360,000 objects a full
    evaluation would build, so they are made on demand. It behaves as the tuple it stands for
    (length, indexing, iteration, equality) and pickles as that tuple."""

    __slots__ = ("_built", "_make", "_units")

    def __init__(self, units: tuple[Unit, ...], make: Callable[[Unit], UnitResult]):
        self._units = units
        self._make: Callable[[Unit], UnitResult] | None = make
        self._built: tuple[UnitResult, ...] | None = None

    def _all(self) -> tuple[UnitResult, ...]:
        if self._built is None:
            make = self._make
            self._built = tuple(make(u) for u in self._units)
            self._make = None
        return self._built

    def __len__(self) -> int:
        return len(self._units)

    def __getitem__(self, index):
        return self._all()[index]

    def __iter__(self):
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, _UnitResults)):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return repr(self._all())

    def __reduce__(self):
        return (tuple, (self._all(),))


_PLAN_INDEXES: dict[int, tuple[weakref.ref, dict[Any, Any]]] = {}


def _plan_index(plan: Plan, dated: bool | None = None) -> dict[Any, Any]:
    """A per-plan memo of what evaluation derives from the plan alone (the units an indicator
    applies to, the units within a scope), dropped with the plan. Plans are frozen, so what is
    derived from one never goes stale."""
    entry = _PLAN_INDEXES.get(id(plan))
    if entry is not None and entry[0]() is plan:
        return entry[1]
    key = id(plan)
    # ``dated`` given (the plan cache's): not worked out again over every unit.
    index: dict[Any, Any] = {"dated": plan.has_dated_units() if dated is None else dated}
    _PLAN_INDEXES[key] = (weakref.ref(plan, lambda _ref: _PLAN_INDEXES.pop(key, None)), index)
    return index


_DERIVED_KEYS = ("units", "due days", "further", "reporters")
"""The entries of a plan's index derived from the plan alone (not from stored data, not per
scope): what :func:`plan_derivations` hands to the plan cache."""


def plan_derivations(plan: Plan) -> dict[Any, Any]:
    """What evaluation and reporting completeness derive from ``plan`` alone, worked out now:
    the units each indicator applies to, and each tracked frequency's due days and further
    recipients. The plan cache (:mod:`ccch_core.plancache`) pickles it with the plan, so that a
    new command does not work it out again (about 35 ms at national size); nothing in it comes
    from stored data. Give it back to an equal plan with :func:`adopt_plan_derivations`."""
    for indicator in plan.indicators:
        _applicable_units(plan, indicator, plan.period, None)
    for ptype in {rule.frequency for rule in plan.tracked_rules()}:
        _due_days(plan, ptype)
        _further_by_unit(plan, ptype)
        _expected_reporters(plan, _subperiods(plan.period, ptype)[0])
    return {key: value for key, value in _plan_index(plan).items()
            if key in ("dated", "all units") or isinstance(key, tuple) and key[0] in _DERIVED_KEYS}


def adopt_plan_derivations(plan: Plan, derived: Mapping[Any, Any]) -> None:
    """Take what :func:`plan_derivations` worked out for a plan equal to ``plan`` (its units the
    same objects: pickled together), so that it is not worked out again for ``plan``."""
    index = _plan_index(plan, derived.get("dated"))
    for key, value in derived.items():
        if key in ("dated", "all units") or isinstance(key, tuple) and key[0] in _DERIVED_KEYS:
            index.setdefault(key, value)


_WITHIN_KEPT = 512
"""Scopes whose unit sets are kept per plan (one per officer's unit: a commune, a province)."""


def _within_ids(plan: Plan, scope_id: str) -> frozenset[str]:
    """The ids of ``scope_id`` and every unit below it (as :meth:`Plan.is_within` decides)."""
    index = _plan_index(plan)
    scopes = index.setdefault("within", {})
    ids = scopes.get(scope_id)
    if ids is None:
        ids = frozenset([scope_id, *(u.id for u in plan.descendants(scope_id))]) if plan.has_unit(scope_id) \
            else frozenset()
        if len(scopes) >= _WITHIN_KEPT:
            scopes.clear()
        scopes[scope_id] = ids
    return ids


def _all_indicator_units(plan: Plan) -> dict[tuple, tuple[Unit, ...]]:
    """:meth:`Plan.indicator_units` (without a period) of every indicator of the plan, found in
    one pass over the units: a unit is matched by its id and its kind against the indicators'
    references, instead of every group scanning all 36,647 units of a national plan in turn."""
    by_id: dict[str, list[int]] = {}
    by_kind: dict[str, list[int]] = {}
    within_groups: list[tuple[int, Any]] = []
    indicators = plan.indicators
    for i, ind in enumerate(indicators):
        for ref in ind.applies_to or (plan.issuing_unit,):
            if plan.has_unit(ref):
                by_id.setdefault(ref, []).append(i)
                continue
            group = plan.group(ref)
            for unit_id in group.units:
                by_id.setdefault(unit_id, []).append(i)
            if group.within is None:
                for kind in group.kinds:
                    by_kind.setdefault(kind, []).append(i)
            else:
                within_groups.append((i, group))
    by_kind = {kind: list(dict.fromkeys(codes)) for kind, codes in by_kind.items()}
    found: list[list[Unit]] = [[] for _ in indicators]
    nothing: list[int] = []
    for unit in plan.units:
        of_kind = by_kind.get(unit.kind)
        if not within_groups and unit.id not in by_id:  # the common case: matched by kind alone
            if of_kind:
                for i in of_kind:
                    found[i].append(unit)
            continue
        matches = (of_kind or nothing) + by_id.get(unit.id, nothing)
        for i, group in within_groups:
            if unit.kind in group.kinds and plan.is_within(unit.id, group.within):
                matches.append(i)
        for i in dict.fromkeys(matches):
            found[i].append(unit)
    return {("units", ind.code, ind.applies_to): tuple(units) for ind, units in zip(indicators, found)}


def _applicable_units(plan: Plan, indicator: Indicator, period: Period, within: str | None) -> tuple[Unit, ...]:
    """:meth:`Plan.indicator_units` for ``period``, restricted to ``within``; resolved once per
    plan and indicator (a plan without dated units has the same units in every period)."""
    index = _plan_index(plan)
    key = ("units", indicator.code, indicator.applies_to)
    units = index.get(key)
    if units is None and "all units" not in index:
        index["all units"] = True
        index.update(_all_indicator_units(plan))
        units = index.get(key)
    if units is None:  # an indicator that is not the plan's own
        units = index[key] = plan.indicator_units(indicator)
    if index["dated"]:
        units = tuple(u for u in units if u.active_during(period))
    if within is not None:
        ids = _within_ids(plan, within)
        units = tuple(u for u in units if u.id in ids)
    return units


def _value_periods(indicator: Indicator, period: Period) -> list[Period]:
    """The recording periods whose values count for ``period``."""
    if indicator.period_type.months <= period.type.months:
        return _subperiods(period, indicator.period_type)
    # A longer recording period (a yearly figure) seen from a month: use the containing period.
    return [period.rollup(indicator.period_type)]


def _seen_through(deployment: Any, plan: Plan) -> Any:
    """``deployment`` seen through ``plan`` (``Deployment.with_plan``) when it is one of its other
    years' plans, so that a measure reading ``context.deployment.plan`` (to sum counts up the units'
    tree: ``plan.sums_within``) reads the plan evaluated, whose units may differ from the default's
    (communes merged or renamed between years)."""
    if deployment is None or getattr(deployment, "plan", plan) is plan:
        return deployment
    try:
        return deployment.with_plan(plan)
    except (KeyError, AttributeError):  # a plan that is not the deployment's (a test's own)
        return deployment


def _plan_months(plan: Plan, period: Period) -> int:
    return sum(1 for m in period.months() if m.end_date >= plan.starts_on and m.start_date <= plan.ends_on)


def evaluate_indicator(
    db: Database,
    plan: Plan,
    indicator: Indicator,
    period: Period,
    *,
    now: dt.datetime | None = None,
    measures: Mapping[str, Callable[[MeasureContext], Mapping[str, MeasureValue]]] | None = None,
    deployment: Any = None,
    within: str | None = None,
    _prefetched: Callable[[Period], Mapping[str, Mapping[str, tuple]]] | None = None,
    _kept_rows: Callable[[list[Period]], list[Mapping[str, Mapping[str, tuple]]] | None] | None = None,
) -> IndicatorResult:
    """Evaluate one indicator for ``period``; see :func:`evaluate_plan` for the rules.

    ``within``: only the applicable units at or below this unit (a commune's own figures).

    Entered values are read already reduced by SQLite, one row per unit (its latest value in the
    period, or for a count the sum of its values), never one Python object per measurement; the
    per-unit results (:attr:`IndicatorResult.units`) are built only when something reads them.
    """
    now = now or utc_now()
    units = _applicable_units(plan, indicator, period, within)
    value_periods = _value_periods(indicator, period)
    kind = indicator.kind
    counting = kind is IndicatorKind.COUNT
    # Per unit: the latest (value, numerator, denominator) in the period, or for a count the sum.
    latest: dict[str, tuple[float | None, float | None, float | None]] = {}
    totals: dict[str, float] = {}
    if indicator.measure_name:
        function = (measures or {}).get(indicator.measure_name)
        if function is None:
            return IndicatorResult(
                indicator, period, None, indicator.target, Status.NO_DATA,
                _UnitResults(units, lambda u: UnitResult(u, None)),
                explanation=f"measure {indicator.measure_name!r} is not available (plugin not enabled?)",
                without_data=units,
            )
        # A plugin computes over the whole period at once (a quarter's satisfaction pools all
        # its answers; it is not the last month's figure).
        measure_periods = [period] if indicator.period_type.months <= period.type.months else value_periods
        per_unit: dict[str, list[tuple[Period, float | None, float | None, float | None]]] = {}
        seen = _seen_through(deployment, plan)
        for vp in measure_periods:
            computed = function(MeasureContext(seen, indicator, vp, units))
            for unit_id, mv in computed.items():
                per_unit.setdefault(unit_id, []).append((vp, mv.value, mv.numerator, mv.denominator))
        for unit_id, entries in per_unit.items():
            if counting:
                values = [v for _, v, _, _ in entries if v is not None]
                if values:
                    totals[unit_id] = sum(values)
            else:
                _, value, num, den = max(entries, key=lambda e: e[0])  # one entry per period
                latest[unit_id] = (value, num, den)
    elif len(value_periods) == 1 and _prefetched is not None:
        # One recording period, read with every other indicator's in one query (evaluate_plan):
        # a unit has at most one row per period, so its latest value is that row, and its sum
        # that row's value.
        rows = _prefetched(value_periods[0]).get(indicator.code, {})
        if counting:
            totals = {uid: float(v) for uid, (v, _, _) in rows.items() if v is not None}
        else:
            latest = rows
    elif _kept_rows is not None and (kept := _kept_rows(value_periods)) is not None:
        # Every recording period's rows were read already (a year's months, evaluated for the
        # trends) and nothing changed since: built from them instead of read again, the same
        # figures as the queries below give. A unit has at most one row per period (the
        # primary key), so its latest is its row of the latest period holding one — SQLite's
        # max(period) over the canonical texts, which sort as the periods do — and a count's
        # sum adds whole numbers (check_measurement), exact in any order.
        ordered = [rows.get(indicator.code, {}) for _, rows in
                   sorted(zip(map(str, value_periods), kept), key=operator.itemgetter(0))]
        if counting:
            for rows in ordered:
                for uid, (v, _, _) in rows.items():
                    if v is not None:
                        totals[uid] = totals.get(uid, 0.0) + v
        else:
            for rows in ordered:
                latest.update(rows)
    elif counting:
        totals = _entered_totals(db, plan, indicator, value_periods)
    else:
        latest = _entered_latest(db, plan, indicator, value_periods)
    if counting:
        return _evaluate_count(plan, indicator, period, units, totals, now)
    return _evaluate_state(indicator, period, units, latest)


_UNIT_ID = operator.attrgetter("id")
_STATE = operator.attrgetter("state")

_BY_PERIOD = "indexed by idx_measurements_by_period"
"""The index of measurements by (plan_id, period, recorded_at) (migration m013)."""


def _period_marks(periods: list[Period]) -> tuple[str, list[str]]:
    keys = [str(p) for p in periods]
    return ("period = ?" if len(keys) == 1 else f"period in ({', '.join('?' * len(keys))})"), keys


def _period_run(periods: list[Period]) -> tuple[str, list[str]]:
    """``periods`` — every period of one type inside a longer one, in order (:func:`_subperiods`)
    — as one range of texts: an indicator's rows hold periods of its own type, whose canonical
    texts sort as the periods do, and no text of another type sorts inside such a range
    (``2024`` < ``2024-01`` … ``2024-12`` < ``2024-H1`` < ``2024-Q1``). SQLite then walks the
    (plan, indicator, unit, period) index testing each row against two bounds instead of a list
    of twelve: a national year's latest values 290–320 → 240–265 ms of CPU."""
    keys = [str(p) for p in periods]
    if len(keys) == 1:
        return "period = ?", keys
    return "period between ? and ?", [keys[0], keys[-1]]


def _entered_latest(db: Database, plan: Plan, indicator: Indicator, periods: list[Period]
                    ) -> dict[str, tuple[float | None, float | None, float | None]]:
    """Each unit's latest entered (value, numerator, denominator) among ``periods``.

    The recording periods of one indicator all have its period type, whose canonical texts sort
    as the periods do (``2024-03`` < ``2024-11``; ``2024-Q1`` < ``2024-Q4``), so SQLite's ``max``
    picks the latest; a bare column beside ``max()`` comes from that row (documented SQLite)."""
    where, keys = _period_marks(periods)
    args = [plan.id, indicator.code, *keys]
    if len(keys) == 1:
        # One period (a month of a monthly indicator): the (plan_id, period, recorded_at) index of m013 finds
        # its rows directly; left to itself SQLite prefers the covering idx_measurements_by_unit
        # and reads every row of the plan (10× the time for a month of a national year).
        sql = (f"select unit_id, value, numerator, denominator from measurements {_BY_PERIOD} "
               f"where plan_id = ? and indicator = ? and {where}")
        return {r[0]: (r[1], r[2], r[3]) for r in db.execute(sql, args)}
    where, keys = _period_run(periods)
    sql = ("select unit_id, value, numerator, denominator, max(period) from measurements "
           f"where plan_id = ? and indicator = ? and {where} group by unit_id")
    return {r[0]: (r[1], r[2], r[3]) for r in db.execute(sql, [plan.id, indicator.code, *keys])}


def _entered_totals(db: Database, plan: Plan, indicator: Indicator, periods: list[Period]) -> dict[str, float]:
    """Each unit's sum of entered values among ``periods`` (units whose values are all missing
    are left out). Counts are whole numbers (:func:`check_measurement`), so the sum is exact in
    any order."""
    where, keys = _period_marks(periods)
    if len(keys) == 1:
        sql = (f"select unit_id, sum(value) from measurements {_BY_PERIOD} "
               f"where plan_id = ? and indicator = ? and {where} and value is not null group by unit_id")
    else:
        where, keys = _period_run(periods)
        sql = ("select unit_id, sum(value) from measurements "
               f"where plan_id = ? and indicator = ? and {where} and value is not null group by unit_id")
    return {r[0]: float(r[1]) for r in db.execute(sql, [plan.id, indicator.code, *keys])}


def _evaluate_count(plan: Plan, indicator: Indicator, period: Period, units: tuple[Unit, ...],
                    totals: Mapping[str, float], now: dt.datetime) -> IndicatorResult:
    target = indicator.target
    ended = now >= period.end_utc
    months = _plan_months(plan, period)
    per_unit_expected = (target or 0) * months / indicator.target_per.months if indicator.target_per else None
    fraction = period.elapsed_fraction(now)
    expected = per_unit_expected if indicator.scope is CountScope.EACH else None
    comparison = indicator.comparison

    def unit_result(unit: Unit) -> UnitResult:
        total = totals.get(unit.id)
        met = None if expected is None or total is None else comparison.holds(total, expected)
        return UnitResult(unit, total, expected=expected, met=met)

    # In plan order, as the sums always were (the same floats added in the same order).
    values = list(map(totals.get, map(_UNIT_ID, units)))
    without = tuple(u for u, v in zip(units, values) if v is None)
    results = _UnitResults(units, unit_result)
    if len(without) == len(units):
        return IndicatorResult(indicator, period, None, _count_target(indicator, per_unit_expected, len(units)),
                               Status.NO_DATA, results, explanation="no values recorded", without_data=without)
    value = sum(v for v in values if v is not None)
    if indicator.scope is CountScope.EACH:
        period_target = (per_unit_expected or 0) * len(units)
        to_date = [(per_unit_expected or 0) * fraction] * len(units)
        values_each = [v or 0 for v in values]
        met_all = all(comparison.holds(v, per_unit_expected or 0) for v in values_each)
        on_track = all(comparison.holds(v, e) for v, e in zip(values_each, to_date))
        expected_to_date = sum(to_date)
    else:
        period_target = per_unit_expected or 0
        met_all = comparison.holds(value, period_target)
        expected_to_date = period_target * fraction
        on_track = comparison.holds(value, expected_to_date)
    if met_all:
        status = Status.MET
    elif not ended and on_track:
        status = Status.ON_TRACK
    else:
        status = Status.BEHIND
    return IndicatorResult(indicator, period, value, period_target, status, results,
                           expected_to_date=None if ended else expected_to_date, without_data=without)


def _evaluate_state(indicator: Indicator, period: Period, units: tuple[Unit, ...],
                    latest: Mapping[str, tuple[float | None, float | None, float | None]]) -> IndicatorResult:
    # State-like kinds: the latest value in the period counts (DHIS2 aggregation "last").
    kind = indicator.kind
    target = indicator.target
    yes_no_like = kind in (IndicatorKind.SHARE_OF_UNITS, IndicatorKind.YES_NO)
    comparison = indicator.comparison
    nothing = (None, None, None)

    def unit_result(unit: Unit) -> UnitResult:
        entry = latest.get(unit.id)
        if entry is None:
            return UnitResult(unit, None)
        value, num, den = entry
        met = None
        if value is not None and target is not None:
            met = value >= 0.5 if yes_no_like else comparison.holds(value, target)
        return UnitResult(unit, value, num, den, met=met)

    # In plan order, as sums always were; latest.get(unit id, nothing) for each unit, in C.
    entries = list(map(latest.get, map(_UNIT_ID, units), itertools.repeat(nothing)))
    results = _UnitResults(units, unit_result)
    without = tuple(u for u, e in zip(units, entries) if e[0] is None)
    have = [e for e in entries if e[0] is not None or e[2] is not None]
    if not have:
        return IndicatorResult(indicator, period, None, target, Status.NO_DATA, results,
                               explanation="no values recorded", without_data=without)
    if kind is IndicatorKind.SHARE_OF_UNITS:
        # Units without a value count as not meeting the condition: the denominator is every
        # applicable unit, as the plan's "100% of …" means.
        value = 100.0 * sum(1 for e in entries if (e[0] or 0) >= 0.5) / len(entries)
    elif kind is IndicatorKind.YES_NO:
        value = 1.0 if all((e[0] or 0) >= 0.5 for e in entries) else 0.0
    elif kind is IndicatorKind.RATIO:
        num = sum(e[1] or 0 for e in have)
        den = sum(e[2] or 0 for e in have)
        value = 100.0 * num / den if den else None
    else:  # PERCENTAGE: unweighted mean of the units' values
        values = [e[0] for e in have if e[0] is not None]
        value = sum(values) / len(values) if values else None
    if value is None:
        return IndicatorResult(indicator, period, None, target, Status.NO_DATA, results,
                               explanation="denominators are zero", without_data=without)
    missing = len(entries) - len(have)
    if target is None:
        status = Status.NO_DATA
    elif comparison.holds(value, target) and not (missing and kind in (IndicatorKind.RATIO, IndicatorKind.PERCENTAGE, IndicatorKind.YES_NO)):
        status = Status.MET
    else:
        status = Status.BEHIND
    explanation = f"{missing} of {len(entries)} units without data" if missing else ""
    return IndicatorResult(indicator, period, value, target, status, results, explanation=explanation,
                           without_data=without)


def _count_target(indicator: Indicator, per_unit_expected: float | None, units: int) -> float | None:
    if per_unit_expected is None:
        return None
    return per_unit_expected * units if indicator.scope is CountScope.EACH else per_unit_expected


def evaluate_plan(
    db: Database,
    plan: Plan,
    period: Period | str,
    *,
    now: dt.datetime | None = None,
    measures: Mapping[str, Callable[[MeasureContext], Mapping[str, MeasureValue]]] | None = None,
    deployment: Any = None,
    within: str | None = None,
) -> list[IndicatorResult]:
    """Evaluate every indicator of the plan for ``period``.

    Rules (documented in docs/indicators.md):

    - share_of_units: the latest yes/no per applicable unit in the period; value = units
      meeting the condition over *all* applicable units (a unit without data does not meet it).
    - yes_no: met when every applicable unit's latest answer is yes.
    - ratio: Σ numerators / Σ denominators of the units' latest values, in percent.
    - percentage: the mean of the units' latest values.
    - count: the sum of the values recorded in the period, against the target scaled to the
      period (15 a year is 3.75 a quarter); scope "each" requires every unit to reach it. While
      the period is running, a count at or above the pro-rata expectation is "on track".
    - a ratio, percentage or yes/no with units still missing is not "met".

    ``within`` restricts every indicator to the units at or below one unit, and leaves out the
    indicators that apply to none of them.
    """
    if isinstance(period, str):
        period = Period.parse(period)
    by_period: dict[Period, dict[str, dict[str, tuple]]] = {}
    kept = _kept_period_rows(db, plan)

    def prefetched(recorded: Period) -> dict[str, dict[str, tuple]]:
        # Every indicator's rows of one recording period in one query, split by indicator: a
        # month's 43,000 rows read once instead of once per indicator; kept for the next call
        # until anything in the database changes.
        rows = by_period.get(recorded)
        if rows is None:
            rows = kept.get(str(recorded))
            if rows is not None:
                by_period[recorded] = rows
                return rows
            if len(kept) >= _PERIOD_ROWS_KEPT:
                kept.clear()
            rows = by_period[recorded] = {}
            of_indicator = rows.get
            for code, unit_id, value, num, den in db.execute(
                f"select indicator, unit_id, value, numerator, denominator from measurements {_BY_PERIOD} "
                "where plan_id = ? and period = ?", [plan.id, str(recorded)],
            ):
                found = of_indicator(code)  # not setdefault(code, {}): a new dict a row, 43,000 a month
                if found is None:
                    found = rows[code] = {}
                found[unit_id] = (value, num, den)
            kept[str(recorded)] = rows  # once whole: another thread of the server may read it
        return rows

    def kept_rows(periods: list[Period]) -> list[dict[str, dict[str, tuple]]] | None:
        found = [kept.get(str(p)) for p in periods]
        return None if any(rows is None for rows in found) else found

    results = [
        evaluate_indicator(db, plan, ind, period, now=now, measures=measures, deployment=deployment, within=within,
                           _prefetched=prefetched, _kept_rows=kept_rows)
        for ind in plan.indicators
    ]
    # Within one unit, indicators that apply to none of its units are left out.
    return [r for r in results if within is None or r.units]


# --------------------------------------------------------------------------------------------
# Each month's figures, stored for the next reader (#26: a restarted server's first dashboard)

_OWN_WRITES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per database: rows this process wrote to ``period_figures`` through that connection (what
:func:`database_version` leaves out)."""


def database_version(db: Database) -> tuple[int, int]:
    """Changes to the database by anyone: SQLite's ``data_version`` moves when another connection
    commits, ``total_changes`` when this one writes. Equal versions: nothing in any table (the
    core's or a plugin's) has changed since — apart from the month figures this connection
    stored itself (:func:`month_figures`), which change no figure and so must not drop what a
    process keeps (each period's measurement rows, the dashboard's pictures)."""
    return db.execute("pragma data_version").fetchone()[0], db.conn.total_changes - _OWN_WRITES.get(db, 0)


def measurement_revisions(db: Database, plan: Plan, periods: Iterable[Period | str]) -> dict[str, int]:
    """How many times each period's measurements of ``plan`` were written (0: never since
    migration m014): :func:`record_measurement` and :func:`record_measurements` — every form,
    import and command, in any process — move the revision of each period they write to, in
    their own transaction, so a period's revision moves with its data and with nothing else. A
    tool that writes the ``measurements`` table directly must do the same (or empty
    ``period_figures``). An empty dict for a database without that migration."""
    keys = sorted({str(p) for p in periods})
    if not keys or not _has_figures_tables(db):
        return {}
    where, args = _period_marks(keys)  # type: ignore[arg-type]
    found = dict(db.execute(f"select period, revision from measurement_revisions where plan_id = ? and {where}",
                            [plan.id, *args]))
    return {key: found.get(key, 0) for key in keys}


_TABLES_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _has_figures_tables(db: Database) -> bool:
    """Whether ``db`` has m014's tables (only a yes is remembered: a migration may add them)."""
    if db in _TABLES_SEEN:
        return True
    found = db.execute("select count(*) from sqlite_master where type = 'table' and name in "
                       "('measurement_revisions', 'period_figures')").fetchone()[0] == 2
    if found:
        _TABLES_SEEN[db] = True
    return found


def _revise(db: Database, plan_id: str, periods: Iterable[str]) -> None:
    """Move the revision of each period written to (:func:`measurement_revisions`), inside the
    writer's transaction. Once per period and call, not per row: a trigger per row doubled the
    time an import takes to store a month (bench/measure_revisions_bench.py)."""
    if _has_figures_tables(db):
        db.conn.executemany(
            "insert into measurement_revisions (plan_id, period, revision) values (?, ?, 1) "
            "on conflict (plan_id, period) do update set revision = revision + 1",
            [(plan_id, period) for period in dict.fromkeys(periods)])


def _figures_key(plan: Plan) -> str:
    """What a stored month figure depends on besides the month's data: the plan's id and span,
    each indicator's kind, recording period, source and the units it applies to (in plan order,
    with their dates when the plan has dated units), and the evaluation code itself (the plan
    cache's digest of ccch's version and these modules). Worked out once per plan."""
    index = _plan_index(plan)
    key = index.get("figures key")
    if key is None:
        import hashlib

        from .plancache import _code

        digest = hashlib.sha256(f"{_code()}|{plan.id}|{plan.year}|{plan.starts_on}|{plan.ends_on}".encode())
        dated = index["dated"]
        for ind in plan.indicators:
            digest.update(f"|{ind.code}|{ind.kind.value}|{ind.period_type.value}|{ind.source}|".encode())
            _applicable_units(plan, ind, Period.year_of(plan.year), None)  # fills the index
            units = index.get(("units", ind.code, ind.applies_to)) or plan.indicator_units(ind)
            if dated:  # which of them apply in a month depends on their dates
                digest.update("\x1f".join(f"{u.id}:{u.established_on}:{u.retired_on}" for u in units).encode())
            else:
                digest.update("\x1f".join(u.id for u in units).encode())
        key = index["figures key"] = digest.hexdigest()
    return key


def _month_stamp(revisions: Mapping[str, int], month: Period) -> str:
    """A month's figures depend on the month's measurements and, for indicators recorded per
    quarter, half or year, on the period around it that holds the month."""
    return ".".join(str(revisions.get(str(p), 0)) for p in (
        month, month.rollup(PeriodType.QUARTER), month.rollup(PeriodType.HALF), month.rollup(PeriodType.YEAR)))


def month_figures(db: Database, plan: Plan, months: Iterable[Period], *, now: dt.datetime | None = None,
                  store: bool = True) -> dict[Period, dict[str, float | None]]:
    """Each month's figure per indicator of the whole plan — :attr:`IndicatorResult.value` of
    :func:`evaluate_plan` for the month, exactly — for the trend charts, which need nothing else
    of a month.

    A month's figures are stored in the database (``period_figures``, migration m014) with the
    revisions of the measurements they came from (:func:`measurement_revisions`: the month's,
    and its quarter's, half's and year's for indicators recorded over those) and a key of the
    plan and the evaluation code (:func:`_figures_key`); they are read back while all of these
    are unchanged, by this process or another — a server just started reads twelve small rows
    instead of evaluating twelve months of measurements (about 90 ms each for a national plan).
    A write to a period's measurements, by anyone, moves its revision, so exactly the months it
    touched are evaluated again. Months evaluated here keep their measurement rows (as
    :func:`evaluate_plan` does), so a year evaluated just after is built from them.

    The figures are evaluated without plugin measures: indicators a plugin measures are left
    out (their figures come from the plugin's tables, which these revisions do not follow).
    ``store=False`` evaluates what is missing without writing it; a database without m014's
    tables is evaluated every time. Storing never waits for another writer: when the database
    is being written (an import), or cannot be written at all, the figures are given back unstored.
    """
    import json

    months = list(months)
    codes = {ind.code for ind in plan.indicators if not ind.measure_name}
    out: dict[Period, dict[str, float | None]] = {}
    if not months:
        return out
    tables = _has_figures_tables(db)
    # The revisions are read before anything is evaluated: a write landing in between gives
    # figures newer than their stamp, which the next reader evaluates again (never older ones).
    revisions = measurement_revisions(db, plan, [p for m in months for p in (
        m, m.rollup(PeriodType.QUARTER), m.rollup(PeriodType.HALF), m.rollup(PeriodType.YEAR))]) if tables else {}
    key = _figures_key(plan) if tables else ""
    stored: dict[str, tuple[str, str, str]] = {}
    if tables:
        where, args = _period_marks(months)
        stored = {period: (plan_key, stamp, figures) for period, plan_key, stamp, figures in db.execute(
            f"select period, plan_key, revisions, figures from period_figures where plan_id = ? and {where}",
            [plan.id, *args])}
    missing: list[tuple[Period, str]] = []
    for month in months:
        stamp = _month_stamp(revisions, month)
        found = stored.get(str(month))
        if found is not None and found[0] == key and found[1] == stamp:
            out[month] = {code: value for code, value in json.loads(found[2]) if code in codes}
            continue
        results = evaluate_plan(db, plan, month, now=now)
        out[month] = {r.indicator.code: r.value for r in results if r.indicator.code in codes}
        missing.append((month, stamp))
    if missing and tables and store:
        rows = [(plan.id, str(month), key, stamp, json.dumps(list(out[month].items())))
                for month, stamp in missing]
        try:
            with write_transaction_if_free(db) as free:
                if free:
                    cursor = db.conn.executemany(
                        "insert into period_figures (plan_id, period, plan_key, revisions, figures) "
                        "values (?, ?, ?, ?, ?) on conflict (plan_id, period) do update set "
                        "plan_key = excluded.plan_key, revisions = excluded.revisions, figures = excluded.figures",
                        rows)
                    _OWN_WRITES[db] = _OWN_WRITES.get(db, 0) + cursor.rowcount
        except sqlite3.OperationalError:
            # Only a saving for the next reader: a database that cannot be written now (read-only,
            # disk full, locked past the busy timeout by a writer outside ccch) gets the figures
            # unstored rather than failing the dashboard, or an import that has committed.
            pass
    return out


def store_month_figures(db: Database, plans: Iterable[Plan]) -> None:
    """Make the stored figures of every month of each of ``plans`` current (:func:`month_figures`),
    for ``ccch serve`` to call before its workers start.

    After an upgrade of ccch, an edited plan or a write outside ccch, no month's stored figures
    are current, and the first dashboard of a year would evaluate its twelve months (1.3–1.8 s at
    national size); the server's start pays that once instead. Months already current cost a read
    of their stored rows; nothing is stored while another writer holds the database."""
    for plan in plans:
        refresh_month_figures(db, plan, [Period.year_of(year)
                                         for year in range(plan.starts_on.year, plan.ends_on.year + 1)])


def refresh_month_figures(db: Database, plan: Plan, periods: Iterable[Period | str]) -> list[Period]:
    """Evaluate and store now the figures of every month of ``plan`` that writes to ``periods``
    moved (:func:`month_figures`: a month's figures follow the month's measurements and those of
    its quarter, half and year), and return those months.

    For a bulk writer once its transaction is committed (an import): the first dashboard after
    it then reads the months' figures instead of evaluating them (about 90 ms a month at
    national size), and the import pays that once. A month whose figures are stored and
    current already is not evaluated again; nothing is stored while another writer holds the
    database."""
    touched = {str(p) for p in periods}
    # Every month the plan runs over (a plan may span two calendar years: July to June).
    months = [m for year in range(plan.starts_on.year, plan.ends_on.year + 1) for m in Period.year_of(year).months()
              if m.end_date >= plan.starts_on and m.start_date <= plan.ends_on and touched & {
                  str(m), str(m.rollup(PeriodType.QUARTER)), str(m.rollup(PeriodType.HALF)),
                  str(m.rollup(PeriodType.YEAR))}]
    month_figures(db, plan, months)
    return months
