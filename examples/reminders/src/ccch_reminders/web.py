"""The page /nhac-bao-cao: overdue units for a month, the reminders sent, and a form to record one.

For the Culture & Information office (plan_admin) and the IT officer (system_admin); everyone
else gets 403. The form works without JavaScript; a rejected form comes back with what was typed.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from ccch_core.web import deployment
from ccch_core.web.auth import roles_required

from .reminders import (
    CHANNELS,
    OFFICE_ROLES,
    ReminderError,
    default_month,
    overdue_reports,
    parse_month,
    plan_months,
    record_reminder,
    reminders_by_unit,
)

bp = Blueprint("reminders", __name__, template_folder="templates")

LABELS = {"unit": "Đơn vị", "period": "Tháng báo cáo", "channel": "Hình thức nhắc", "note": "Ghi chú"}
"""Field names as the error summary shows them."""


@bp.route("", methods=["GET", "POST"])
@roles_required(*OFFICE_ROLES)
def index():
    """GET: the overdue units of ``?period=2024-03``. POST: record a reminder, then back to GET."""
    dep = deployment()
    plan = dep.plan
    if request.method == "POST":
        form = request.form
        try:
            reminder = record_reminder(dep, form.get("unit"), form.get("period"), form.get("channel"),
                                       form.get("note"), sent_by=g.user.username)
        except ReminderError as exc:
            try:
                month = parse_month(plan, form.get("period") or "")
            except ReminderError:
                month = default_month(plan)
            return _page(dep, month, values=form, errors=exc.errors), 422
        flash(f"Đã ghi lượt nhắc {plan.unit(reminder.unit_id).name} qua {reminder.channel_label}.")
        return redirect(url_for(".index", period=str(reminder.period)), 303)
    text = request.args.get("period")
    try:
        month = parse_month(plan, text) if text else default_month(plan)
    except ReminderError as exc:
        abort(400, description=exc.errors["period"])
    return _page(dep, month, values={"unit": request.args.get("unit", "")}, errors={})


def _page(dep, month, *, values, errors):
    return render_template(
        "reminders/index.html",
        month=month,
        months=plan_months(dep.plan),
        overdue=overdue_reports(dep, month),
        sent=reminders_by_unit(dep.db, month),
        channels=CHANNELS,
        values=values,
        errors=errors,
        labels=LABELS,
    )
