"""The page /nhac-bao-cao: overdue units for a month, the reminders sent, a form to record one,
and a button that sends reminders by e-mail and Zalo (POST /nhac-bao-cao/gui).

For the Culture & Information office (plan_admin) and the IT officer (system_admin); everyone
else gets 403. The forms work without JavaScript; a rejected form comes back with what was typed.
"""

from __future__ import annotations

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
from .sending import (
    DEFAULT_CHANNELS,
    DUE_WITHIN_DAYS,
    reports_to_remind,
    send_reminders,
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


@bp.route("/gui", methods=["POST"])
@roles_required(*OFFICE_ROLES)
def send():
    """Queue reminders to the contacts of the units whose report is overdue or due soon, flash
    what was done, and go back to the page (the month shown is kept)."""
    dep = deployment()
    run = send_reminders(dep, actor=g.user.username)
    for line in run.summary():
        flash(line)
    if run.queued:
        flash("Tin nhắn đã vào hộp thư đi; tiến trình gửi tin của máy chủ sẽ gửi chúng trong ít phút.")
    try:
        month = parse_month(dep.plan, request.form.get("period") or "")
    except ReminderError:
        return redirect(url_for(".index"), 303)
    return redirect(url_for(".index", period=str(month)), 303)


def _page(dep, month, *, values, errors):
    messaging = dep.messaging
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
        to_remind=reports_to_remind(dep),
        due_within_days=DUE_WITHIN_DAYS,
        send_channels=[CHANNELS[c] for c in DEFAULT_CHANNELS if messaging.available(c)],
    )
