"""The feedback plugin's hook implementations (entry point ``feedback = "ccch_feedback.plugin"``)."""

from __future__ import annotations

from ccch_core import hookimpl
from ccch_core.accounts import Role

from .schema import migrations
from .settings import SettingsError, settings_of


@hookimpl
def register_migrations(register):
    register(migrations)


@hookimpl
def startup(deployment):
    """Check ``[plugins.feedback]`` now, with a message naming the key."""
    from ccch_core.plugins import PluginError

    try:
        settings_of(deployment)
    except SettingsError as exc:
        raise PluginError(str(exc)) from None


@hookimpl
def register_commands(cli):
    from .cli import feedback_group

    cli.add_command(feedback_group())


@hookimpl
def register_blueprints(register, deployment):
    from .web import make_blueprints

    public, officer = make_blueprints(deployment)
    register(public, url_prefix=settings_of(deployment).public_prefix)
    register(officer, url_prefix="/phan-anh")


@hookimpl
def navigation_items(deployment, user):
    if user is not None and user.role in (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.UNIT_OFFICER):
        return [{"label": "Phản ánh, kiến nghị", "endpoint": "feedback.index", "order": 45}]
    return []


@hookimpl
def dashboard_panels(deployment, user, period):
    """Items past their due day, per unit (a unit officer: their units), and the period's on-time share."""
    from flask import url_for

    from .figures import _tallies
    from .store import overdue_by_unit, today_local

    db = deployment.db
    if db.execute("select 1 from feedback_items limit 1").fetchone() is None:
        return []
    plan = deployment.plan
    today = today_local()
    rows, total = [], 0
    for unit_id, count in overdue_by_unit(db, today):
        if user is not None and user.role is Role.UNIT_OFFICER and not (
                unit_id and plan.has_unit(unit_id) and user.can_see_unit(plan, unit_id)):
            continue
        name = plan.unit(unit_id).name if unit_id and plan.has_unit(unit_id) else (unit_id or "Chưa giao đơn vị")
        rows.append((name, count))
        total += count
    tallies = _tallies(db, period, today)
    on_time = sum(v[2] for v in tallies.values())
    due = sum(v[1] + v[3] for v in tallies.values())
    share = f"{on_time}/{due} ({100 * on_time / due:.1f}%)" if due else "chưa có câu hỏi đến hạn"
    may_open = user is not None and user.role in (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.UNIT_OFFICER)
    link = url_for("feedback.index", **{"trang-thai": "qua-han"}) if may_open else None
    return [{"title": "Hỏi đáp, phản ánh kiến nghị quá hạn", "template": "feedback/_panel.html",
             "context": {"rows": rows, "total": total, "link": link, "period": period, "on_time": share},
             "order": 55}]


@hookimpl
def register_measures(register):
    from .figures import business_on_time_measure, on_time_measure

    register("feedback_on_time", on_time_measure)
    register("feedback_business_on_time", business_on_time_measure)


@hookimpl
def report_sections(report):
    from .figures import report_section

    return report_section(report)


@hookimpl
def register_data_tables(register):
    from .figures import DATA_TABLES

    for table in DATA_TABLES:
        register(table)


@hookimpl
def register_message_templates(register):
    from .messages import TEMPLATES

    for template in TEMPLATES:
        register(template)


@hookimpl
def erase_personal_data(deployment, phone, citizen_id, email, dry_run, actor):
    """Contact details and photos left with this phone number or e-mail address; questions stay."""
    from .personal_data import erase_person

    return erase_person(deployment, phone, email, dry_run, actor)


@hookimpl
def purge_expired_personal_data(deployment, now, dry_run, actor):
    """Contact details and photos of items closed more than ``contact_retention_days`` ago."""
    from .personal_data import purge_expired

    return purge_expired(deployment, now, dry_run, actor)
