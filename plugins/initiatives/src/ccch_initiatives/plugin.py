"""The initiatives plugin's hook implementations (entry point ``initiatives = "ccch_initiatives.plugin"``)."""

from __future__ import annotations

from ccch_core import hookimpl

from .schema import migrations


@hookimpl
def register_migrations(register):
    register(migrations)


@hookimpl
def register_commands(cli):
    from .cli import initiatives_group

    cli.add_command(initiatives_group)


@hookimpl
def register_blueprints(register, deployment):
    from .web import panel_bp, public_bp

    register(public_bp, url_prefix="/sang-kien")
    register(panel_bp, url_prefix="/sang-kien/hoi-dong")


@hookimpl
def navigation_items(deployment, user):
    """"Sáng kiến CCHC" for the organisers and for anyone with a seat on a call's panel."""
    from .calls import MANAGER_ROLES, seats_of_user

    if user is None:
        return []
    if user.role in MANAGER_ROLES or seats_of_user(deployment.db, user.username):
        return [{"label": "Sáng kiến CCHC", "endpoint": "initiatives_panel.index", "order": 47}]
    return []


@hookimpl
def dashboard_panels(deployment, user, period):
    """Each call's entries and judging progress, for the organisers and the plan's administrators
    (figures only: no author, no score of an entry)."""
    from ccch_core.accounts import Role

    from .calls import MANAGER_ROLES, ROUNDS, list_calls
    from .judging import results

    if user is None or user.role not in (*MANAGER_ROLES, Role.PLAN_ADMIN):
        return []
    calls = list_calls(deployment.db)
    if not calls:
        return []
    from flask import url_for

    rows = []
    for call in calls:
        rows_ = results(deployment.db, call, call.stage)
        sent, assigned = deployment.db.execute(
            "select count(submitted_at), count(*) from initiative_assignments where call_id = ? and round = ?",
            [call.id, call.stage]).fetchone()
        rows.append({"title": call.title, "round": ROUNDS[call.stage], "entries": len(rows_), "sent": sent,
                     "assigned": assigned, "flagged": sum(1 for r in rows_ if r.flagged),
                     "link": url_for("initiatives_panel.secretary", slug=call.slug) if user.role in MANAGER_ROLES
                     else url_for("initiatives_public.call_page", slug=call.slug)})
    return [{"title": "Cuộc thi viết sáng kiến về CCHC", "template": "initiatives/_panel.html",
             "context": {"rows": rows}, "order": 55}]


@hookimpl
def register_measures(register):
    from .measures import entries_measure, units_measure

    register("initiatives_entries", entries_measure)
    register("initiatives_units", units_measure)


@hookimpl
def register_message_templates(register):
    from .messages import TEMPLATES

    for template in TEMPLATES:
        register(template)


@hookimpl
def report_sections(report):
    from .report import initiatives_section

    section = initiatives_section(report)
    return [section] if section else []


@hookimpl
def register_data_tables(register):
    from .report import data_tables

    for table in data_tables():
        register(table)


@hookimpl
def erase_personal_data(deployment, phone, citizen_id, email, dry_run, actor):
    """Authors' names and contact of the entries left with this phone number or e-mail address."""
    from .personal_data import erase_person

    return erase_person(deployment, phone, email, dry_run, actor)


@hookimpl
def purge_expired_personal_data(deployment, now, dry_run, actor):
    """Authors' names and contact of calls closed more than ``retention_days`` ago."""
    from .personal_data import purge_expired

    return purge_expired(deployment, now, dry_run, actor)
