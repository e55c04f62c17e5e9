"""Unit reporting: the monthly report form, the list of a user's reports, the admin roll-up."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections import defaultdict
from typing import Any

import attrs
from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import audit, levels, progress, storage
from ..accounts import Role
from ..model import Indicator, IndicatorKind, Plan, Unit
from ..periods import VN_TZ, Period, PeriodError, PeriodType, utc_now
from . import deployment
from .auth import login_required, require_unit_access, roles_required
from .dashboard import (
    STATE_FILTERS,
    chosen_plan_and_period,
    levels_context,
    period_choices,
)
from .params import page_arg, search_arg
from .plan_choice import chosen_plan, keep_plan_choice, plan_choice

bp = keep_plan_choice(Blueprint("reports", __name__))

ITEM_ROWS = 8
"""Activity lines offered on the form (blank lines are ignored; no JavaScript needed)."""

ADMINS = (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN)

ITEM_LABELS = {"category": "loại hoạt động", "count": "số lượng", "title": "nội dung", "link": "đường dẫn",
               "task": "nhiệm vụ"}


@attrs.frozen
class MeasureField:
    """One indicator value a unit enters on its report form."""

    indicator: Indicator
    unit: Unit
    period: Period

    @property
    def name(self) -> str:
        """The form field name (``-num``/``-den`` suffixes for ratios)."""
        return f"m-{self.indicator.code}-{self.unit.id}"

    @property
    def kind(self) -> str:
        """yes_no, number or ratio: how the field is drawn."""
        if self.indicator.kind in (IndicatorKind.SHARE_OF_UNITS, IndicatorKind.YES_NO):
            return "yes_no"
        if self.indicator.kind is IndicatorKind.RATIO:
            return "ratio"
        return "number"


def measure_fields(plan: Plan, unit_id: str, month: Period) -> list[MeasureField]:
    """The entered indicators that apply to ``unit_id`` or the units below it, for ``month``.

    Monthly indicators are asked every month; quarterly, half-yearly and yearly ones in the last
    month of their period.
    """
    fields = []
    for indicator in plan.indicators:
        if indicator.source != "entered":
            continue
        if indicator.period_type is PeriodType.MONTH:
            period = month
        else:
            period = month.rollup(indicator.period_type)
            if period.months()[-1] != month:
                continue
        for unit in plan.indicator_units(indicator, period):
            if plan.is_within(unit.id, unit_id):
                fields.append(MeasureField(indicator, unit, period))
    return fields


def visible_reporters(plan: Plan, period: Period) -> list[Unit]:
    """Units that owe a report for ``period`` and the signed-in user may see."""
    return [u for u in plan.expected_reporters(period) if g.user.can_see_unit(plan, u.id)]


def _month(text: str) -> Period:
    try:
        period = Period.parse(text)
    except PeriodError:
        abort(404)
    return period


@bp.route("/bao-cao")
@login_required
def index():
    """The reports the user can open for a month, with their state (on time, late, missing…)."""
    if g.user.role not in (*ADMINS, Role.UNIT_OFFICER):
        abort(403)
    dep = deployment()
    plan, period, _ = chosen_plan_and_period(dep)
    if period.type is not PeriodType.MONTH:
        period = period.months()[-1]
    completeness = progress.reporting_completeness(dep.db, plan, period, now=utc_now())
    rows = [r for r in completeness.reports if r.period == period and r.recipient is None
            and g.user.can_see_unit(plan, r.unit.id)]
    # A province officer has a hundred communes, an administrator of a national plan 3,321: the
    # list is searched (?q=), filtered by state (?state=) and paginated (?trang=).
    query = search_arg("q")
    state = request.args.get("state") or ""
    if state and state not in STATE_FILTERS:
        abort(400, description="Tình trạng không hợp lệ: chọn chưa nộp, trễ hạn, chưa đến hạn hoặc đã nộp.")
    owed = len(rows)
    if state:
        rows = [r for r in rows if r.state in STATE_FILTERS[state]]
    if query:
        ids = {u.id for u in levels.search_units(plan, query, only={r.unit.id for r in rows})}
        rows = [r for r in rows if r.unit.id in ids]
    months = [c for c in period_choices(plan) if Period.parse(c[0]).type is PeriodType.MONTH]
    return render_template("reports_index.html", period=period, rows=levels.paginate(rows, page_arg("trang")),
                           owed=owed, query=query, state=state, months=months, further=further_reporters(plan),
                           **plan_choice(plan, dep))


def plan_of_month(dep, period: Period) -> Plan | None:
    """The deployment's plan a month's report belongs to: the default plan when the month is in its
    span, else another year's plan of the same issuing unit that holds it (a 2025 report under
    2025's plan), else None."""
    for plan in dep.plans.values():
        if plan.issuing_unit == dep.plan.issuing_unit and plan.starts_on <= period.end_date \
                and period.start_date <= plan.ends_on:
            return plan
    return None


def _existing_values(db, plan: Plan, fields: list[MeasureField]) -> dict[str, str]:
    values: dict[str, str] = {}
    periods = {f.period for f in fields}
    current = {(m.indicator, m.unit_id, str(m.period)): m for m in progress.measurements(db, plan, periods)}
    for field in fields:
        m = current.get((field.indicator.code, field.unit.id, str(field.period)))
        if m is None:
            continue
        if field.kind == "ratio":
            values[field.name + "-num"] = _plain(m.numerator)
            values[field.name + "-den"] = _plain(m.denominator)
        elif field.kind == "yes_no":
            values[field.name] = "1" if (m.value or 0) >= 0.5 else "0"
        else:
            values[field.name] = _plain(m.value)
    return values


def _plain(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else str(value)


def _form_from_report(report: progress.ActivityReport | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if report is None:
        return values
    values["note"] = report.note or ""
    for i, item in enumerate(report.items[:ITEM_ROWS]):
        values[f"item-{i}-category"] = item.category
        values[f"item-{i}-count"] = str(item.count)
        values[f"item-{i}-title"] = item.title or ""
        values[f"item-{i}-link"] = item.link or ""
        values[f"item-{i}-task"] = item.task_id or ""
    return values


def _parse_form(plan: Plan, form, fields: list[MeasureField]):
    """Validate the posted form. Returns (items, measurements, note, errors, labels): errors and
    their human labels are keyed by the form field name, so the page can mark each field, list
    the problems and keep what was typed."""
    errors: dict[str, str] = {}
    labels: dict[str, str] = {}
    items: list[dict[str, Any]] = []
    for i in range(ITEM_ROWS):
        raw = {key: (form.get(f"item-{i}-{key}") or "").strip() for key in ("category", "count", "title", "link", "task")}
        if not raw["count"] and not raw["title"] and not raw["link"]:
            continue  # a blank line
        item = {"category": raw["category"], "count": raw["count"], "title": raw["title"] or None,
                "link": raw["link"] or None, "task_id": raw["task"] or None}
        try:
            progress.check_activity_item(plan, i, item)
        except progress.ProgressError as exc:
            key = exc.field.rsplit(".", 1)[-1].replace("task_id", "task")
            errors[f"item-{i}-{key}"] = _vietnamese(exc)
            labels[f"item-{i}-{key}"] = f"Dòng {i + 1}, {ITEM_LABELS.get(key, key)}"
            continue
        items.append(item)
    measurements = []
    for field in fields:
        if field.kind == "ratio":
            num = (form.get(field.name + "-num") or "").strip()
            den = (form.get(field.name + "-den") or "").strip()
            if not num and not den:
                continue
            args = {"numerator": num or None, "denominator": den or None}
            value = None
        else:
            value = (form.get(field.name) or "").strip()
            if not value:
                continue
            args = {}
        try:
            row = progress.check_measurement(plan, field.indicator.code, field.unit.id, field.period, value, **args)
        except progress.ProgressError as exc:
            suffix = {"numerator": "-num", "denominator": "-den"}.get(exc.field, "")
            errors[field.name + suffix] = _vietnamese(exc, field.indicator)
            labels[field.name + suffix] = f"{field.indicator.code} — {field.unit.name}"
            continue
        measurements.append((field, row, value, args))
    note = (form.get("note") or "").strip()
    if len(note) > 5000:
        errors["note"] = "Ghi chú dài quá 5.000 ký tự."
        labels["note"] = "Ghi chú"
    return items, measurements, note, errors, labels


_MESSAGES_VI = (
    ("is not a number", "Vui lòng nhập một số."),
    ("is not a finite number", "Vui lòng nhập một số."),
    ("is not a count", "Vui lòng nhập số nguyên không âm."),
    ("implausibly large", "Số quá lớn, vui lòng kiểm tra lại."),
    ("is not a percentage", "Tỷ lệ phải từ 0 đến 100."),
    ("is larger than the denominator", "Tử số không được lớn hơn mẫu số."),
    ("give both numerator and denominator", "Vui lòng nhập cả tử số và mẫu số."),
    ("is negative", "Không được là số âm."),
    ("is not yes or no", "Vui lòng chọn Có hoặc Không."),
    ("is not one of", "Vui lòng chọn loại hoạt động."),
    ("is not an http(s) link", "Đường dẫn phải bắt đầu bằng http:// hoặc https://."),
    ("unknown task", "Nhiệm vụ không có trong kế hoạch."),
    ("is outside the plan", "Kỳ báo cáo nằm ngoài thời gian thực hiện của kế hoạch."),
    ("longer than", "Nội dung quá dài."),
)


def _vietnamese(exc: progress.ProgressError, indicator=None) -> str:
    """The error in Vietnamese; for a ratio, in the words of the form's own labels ("Số TTHC được
    niêm yết…", "Tổng số TTHC…"), not "tử số"/"mẫu số", which the form never shows."""
    text = str(exc)
    if indicator is not None and (indicator.numerator or indicator.denominator):
        numerator = indicator.numerator or "Tử số"
        denominator = indicator.denominator or "mẫu số"
        if "is larger than the denominator" in text:
            return f"“{numerator}” không được lớn hơn “{denominator}”."
        if "give both numerator and denominator" in text:
            return f"Vui lòng nhập cả “{numerator}” và “{denominator}”."
    for needle, message in _MESSAGES_VI:
        if needle in text:
            return message
    return text


@bp.route("/bao-cao/<unit_id>/<period_text>", methods=["GET", "POST"])
@login_required
def form(unit_id: str, period_text: str):
    """A unit's monthly report: activities and indicator values, submitted together."""
    if g.user.role not in (*ADMINS, Role.UNIT_OFFICER):
        abort(403)
    dep = deployment()
    db = dep.db
    period = _month(period_text)
    plan = plan_of_month(dep, period)
    if period.type is not PeriodType.MONTH or plan is None:
        abort(404)
    # The unit in the tree of the month's own plan (units are merged, renamed and moved between
    # years): checked in the default plan, a unit 2025 no longer has was a 500 for a 2025 month.
    require_unit_access(unit_id, plan)
    unit = plan.unit(unit_id)
    if unit not in plan.expected_reporters(period):
        abort(404, description=f"{unit.name} không phải gửi báo cáo {period.label_vi}.")
    report = progress.get_activity_report(db, unit_id, period)
    fields = measure_fields(plan, unit_id, period)
    locked = report is not None and report.locked and not g.user.is_admin
    completeness = progress.reporting_completeness(db, plan, period, now=utc_now())
    expected = next((r for r in completeness.reports if r.unit.id == unit_id and r.period == period), None)
    context = {"unit": unit, "period": period, "report": report, "fields": fields, "locked": locked,
               "expected": expected, "categories": progress.ACTIVITY_CATEGORIES, "rows": range(ITEM_ROWS),
               "tasks": plan.tasks, "plan": plan}
    if request.method == "GET":
        values = {**_existing_values(db, plan, fields), **_form_from_report(report)}
        return render_template("report_form.html", values=values, errors={}, labels={}, **context)

    if locked:
        abort(403, description="Báo cáo đã nộp. Liên hệ Phòng Văn hóa - Thông tin để mở lại nếu cần sửa.")
    items, measurements, note, errors, labels = _parse_form(plan, request.form, fields)
    if errors:
        # Everything typed comes back, with each problem shown at its field.
        return render_template("report_form.html", values=request.form, errors=errors, labels=labels,
                               **context), 422
    by = g.user.username
    try:
        with storage.write_transaction(db):
            for field, _row, value, args in measurements:
                progress.record_measurement(db, plan, field.indicator.code, field.unit.id, field.period, value,
                                            recorded_by=by, **args)
            saved = progress.record_activity_report(db, plan, unit_id, period, items, note=note or None,
                                                    submitted_by=by, respect_lock=not g.user.is_admin)
            audit.record(db, by, "report.submit", f"{unit.name} — {period.label_vi}",
                         f"lần {saved.revision}, {len(items)} hoạt động, {len(measurements)} số liệu chỉ tiêu")
    except progress.ReportLocked:
        abort(403, description="Báo cáo đã nộp. Liên hệ Phòng Văn hóa - Thông tin để mở lại nếu cần sửa.")
    except sqlite3.OperationalError as exc:
        if not (storage.is_busy(exc) or storage.is_full(exc)):
            raise
        # Nothing was stored (the transaction rolled back); give the form back as typed.
        message = ("Hệ thống đang bận, báo cáo chưa được lưu. Nội dung anh/chị nhập vẫn còn nguyên; vui lòng bấm "
                   "Nộp báo cáo lại sau ít giây." if storage.is_busy(exc) else
                   "Hệ thống tạm thời không lưu được dữ liệu. Nội dung anh/chị nhập vẫn còn nguyên; vui lòng thử lại "
                   "sau hoặc báo cán bộ quản trị.")
        return render_template("report_form.html", values=request.form, errors={"_save": message},
                               labels={"_save": "Lưu báo cáo"}, **context), 503, {"Retry-After": "5"}
    flash(f"Đã nộp báo cáo {period.label_vi} của {unit.name}.")
    return redirect(url_for("reports.form", unit_id=unit_id, period_text=str(period)), code=303)


@bp.route("/bao-cao/<unit_id>/<period_text>/mo-lai", methods=["POST"])
@roles_required(*ADMINS)
def reopen(unit_id: str, period_text: str):
    """Reopen a submitted report so the unit can correct it (plan admin)."""
    period = _month(period_text)
    dep = deployment()
    plan = plan_of_month(dep, period) or dep.plan  # the unit as the month's own plan has it (as form())
    require_unit_access(unit_id, plan)
    try:
        with storage.write_transaction(dep.db):
            progress.reopen_activity_report(dep.db, unit_id, period, reopened_by=g.user.username)
            audit.record(dep.db, g.user.username, "report.reopen",
                         f"{plan.unit(unit_id).name} — {period.label_vi}")
    except progress.ProgressError:
        abort(404)
    flash("Đã mở lại báo cáo để đơn vị chỉnh sửa.")
    return redirect(url_for("reports.form", unit_id=unit_id, period_text=str(period)), code=303)


@bp.route("/tong-hop")
@roles_required(*ADMINS)
def rollup():
    """Roll-up of the reports for a month, quarter, half-year or year (plan admin); another
    year's plan with ``?plan=`` (the page says which, with the period's chooser)."""
    dep = deployment()
    db = dep.db
    plan, period, _ = chosen_plan_and_period(dep)
    now = utc_now()
    completeness = progress.reporting_completeness(db, plan, period, now=now)
    months = [str(m) for m in period.months()]
    totals: dict[str, int] = defaultdict(int)
    by_unit: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sql = (
        "select r.unit_id, i.category, sum(i.count) as total from activity_items i "
        "join activity_reports r on r.id = i.report_id "
        f"where r.period in ({', '.join('?' * len(months))}) group by r.unit_id, i.category"
    )
    for row in db.query(sql, months):
        totals[row["category"]] += row["total"]
        by_unit[row["unit_id"]][row["category"]] += row["total"]
    context = levels_context(plan, completeness)
    level = context["level"]
    if level.mode == "units":
        # A large scope: the activities summed per unit one level below, the rows of the page
        # shown (a national plan: 34 provinces, not 3,321 communes).
        tallies = [t for t in context["rows"].items if isinstance(t, levels.Tally)] or list(level.tallies)
        row_of = levels.row_finder(plan, [t.unit.id for t in tallies], level.scope.id if level.scope else None)
        grouped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for unit_id, counts in by_unit.items():
            if (row := row_of(unit_id)) is not None:
                for key, total in counts.items():
                    grouped[row][key] += total
        by_unit, units = grouped, [t.unit for t in tallies if t.unit.id in grouped]
    else:
        units = [u for u in plan.units if u.id in by_unit]
    return render_template(
        "rollup.html", **context, period=period, choices=period_choices(plan), completeness=completeness,
        states=progress.ReportState, totals=totals, by_unit=by_unit, units=units,
        categories=progress.ACTIVITY_CATEGORIES,
        results=progress.evaluate_plan(db, plan, period, now=now, measures=dep.measures, deployment=dep),
        **plan_choice(plan, dep),
    )


# -- reports sent to further recipients ("báo cáo UBND huyện, tỉnh") -------------------------------

REFERENCE_MAX = 200
"""The longest dispatch number (số, ký hiệu công văn) kept, as ``progress.record_report_delivery``."""


def further_reporters(plan: Plan) -> list[Unit]:
    """The units the signed-in user may see that owe a report to a further recipient (a rule with
    several recipients names them as reporters), in plan order."""
    ids: set[str] = set()
    for rule in plan.tracked_rules():
        if len(rule.recipients) > 1:
            ids.update(u.id for u in plan.resolve(rule.reporters))
    return [u for u in plan.units if u.id in ids and g.user.can_see_unit(plan, u.id)
            and any(progress.further_recipients(plan, u.id, t) for t in {r.frequency for r in plan.tracked_rules()})]


def further_periods(plan: Plan, unit_id: str) -> list[tuple[Period, tuple[str, ...]]]:
    """The periods of the plan for which ``unit_id`` owes a report to a further recipient of one of
    its rules (beyond the report in ccch, which serves the first), with those recipients, in order."""
    found = []
    for ptype in sorted({r.frequency for r in plan.tracked_rules()}, key=lambda t: t.months):
        recipients = progress.further_recipients(plan, unit_id, ptype)
        if not recipients:
            continue
        seen: list[Period] = []
        for month in Period.year_of(plan.year).months():
            period = month.rollup(ptype)
            if period not in seen and period.end_date >= plan.starts_on and period.start_date <= plan.ends_on:
                seen.append(period)
        found.extend((period, recipients) for period in seen)
    return found


def _parse_day(text: str) -> dt.date:
    """A day typed as 2024-04-05 (the date field's value) or 05/04/2024; ValueError in words."""
    text = text.strip()
    if not text:
        raise ValueError("Vui lòng nhập ngày gửi.")
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    local = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if iso:
        year, month, day = (int(x) for x in iso.groups())
    elif local:
        day, month, year = (int(x) for x in local.groups())
    else:
        raise ValueError(f"“{text[:40]}” không phải một ngày; nhập ngày/tháng/năm, ví dụ 05/04/2024.")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"Ngày {day:02d}/{month:02d}/{year} không có trên lịch.") from None


@bp.route("/bao-cao/<unit_id>/gui-noi-nhan-khac", methods=["GET", "POST"])
@login_required
def deliveries(unit_id: str):
    """Record that a unit sent its report to a further recipient (the province, for the district's
    quarterly roll-up: "báo cáo UBND huyện, tỉnh"): which period, to whom, on which day, under which
    dispatch number; every period owed is listed with what is recorded. The unit's officer and the
    plan office record; each record is audited; a bad entry comes back as typed with the reason.
    Another year's plan is chosen with ``?plan=`` (the page shows which, with a chooser)."""
    if g.user.role not in (*ADMINS, Role.UNIT_OFFICER):
        abort(403)
    require_unit_access(unit_id)
    dep = deployment()
    plan, db = chosen_plan(dep), dep.db
    if not plan.has_unit(unit_id):
        abort(404)
    unit = plan.unit(unit_id)
    owed = further_periods(plan, unit_id)
    if not owed:
        abort(404, description=f"Theo kế hoạch, {unit.name} không gửi báo cáo tới nơi nhận nào ngoài hệ thống.")
    recorded = {(r["period"], r["recipient"]): {**r, "sent_on": dt.date.fromisoformat(r["sent_on"])} for r in db.query(
        "select period, recipient, sent_on, reference, recorded_by, recorded_at from report_deliveries "
        "where unit_id = ?", [unit_id])} if db["report_deliveries"].exists() else {}
    recipients = list(dict.fromkeys(r for _, rs in owed for r in rs))
    periods = {str(p): p for p, _ in owed}
    today = utc_now().astimezone(VN_TZ).date()
    choice = {"plan": plan.id} if plan.id != dep.plan.id else {}
    context = {"unit": unit, "owed": owed, "recorded": recorded, "recipients": recipients, "today": today,
               "reference_max": REFERENCE_MAX, **plan_choice(plan, dep), "choice": choice}
    if request.method == "GET":
        values = {"period": request.args.get("period", "")[:20], "recipient": request.args.get("recipient", "")[:100]}
        return render_template("report_deliveries.html", values=values, errors={}, **context)

    form = {key: str(request.form.get(key, ""))[:1000] for key in ("period", "recipient", "sent_on", "reference")}
    errors: dict[str, str] = {}
    period = periods.get(form["period"].strip())
    if period is None:
        errors["period"] = "Chọn kỳ báo cáo trong danh sách."
    recipient = form["recipient"].strip()
    if recipient not in recipients or period is not None and recipient not in dict(owed)[period]:
        errors["recipient"] = "Chọn nơi nhận trong danh sách."
    try:
        sent_on = _parse_day(form["sent_on"])
    except ValueError as exc:
        errors["sent_on"] = str(exc)
    else:
        if sent_on > today:
            errors["sent_on"] = f"Ngày gửi {sent_on:%d/%m/%Y} chưa tới (hôm nay là {today:%d/%m/%Y})."
        elif period is not None and sent_on < period.start_date:
            errors["sent_on"] = (f"Ngày gửi {sent_on:%d/%m/%Y} trước khi {period.label_vi} bắt đầu "
                                 f"({period.start_date:%d/%m/%Y}).")
    reference = " ".join(form["reference"].split())
    if len(reference) > REFERENCE_MAX:
        errors["reference"] = f"Số, ký hiệu công văn dài quá {REFERENCE_MAX} ký tự."
    if errors:
        return render_template("report_deliveries.html", values=form, errors=errors, **context), 422
    by = g.user.username
    try:
        with storage.write_transaction(db):
            progress.record_report_delivery(db, plan, unit_id, period, recipient, sent_on,
                                            reference=reference or None, recorded_by=by)
            audit.record(db, by, "report.deliver", f"{unit.name} — {period.label_vi}",
                         f"gửi {plan.reference_name(recipient)} ngày {sent_on:%d/%m/%Y}"
                         + (f", số {reference}" if reference else ""))
    except progress.ProgressError as exc:  # checked above; kept as a guard, in words
        errors[exc.field if exc.field in form else "period"] = _vietnamese(exc)
        return render_template("report_deliveries.html", values=form, errors=errors, **context), 422
    flash(f"Đã ghi nhận {unit.name} gửi báo cáo {period.label_vi} tới {plan.reference_name(recipient)} "
          f"ngày {sent_on:%d/%m/%Y}.")
    return redirect(url_for("reports.deliveries", unit_id=unit_id, **choice), code=303)
