"""The survey plugin's hook implementations (entry point ``survey = "ccch_survey.plugin"``)."""

from __future__ import annotations

from ccch_core import hookimpl
from ccch_core.accounts import Role

from .schema import migrations
from .settings import SettingsError, settings_of

MEASURES = ("survey_satisfaction", "survey_responses")


@hookimpl
def register_migrations(register):
    register(migrations)


@hookimpl
def startup(deployment):
    """Check ``[plugins.survey]`` now, with a message naming the key, not on the first scan."""
    from ccch_core.plugins import PluginError

    try:
        settings_of(deployment)
    except SettingsError as exc:
        raise PluginError(str(exc)) from None


@hookimpl
def register_commands(cli):
    from .cli import survey_group

    cli.add_command(survey_group())


@hookimpl
def register_blueprints(register, deployment):
    from .web import make_blueprints

    public, officer = make_blueprints(deployment)
    register(public, url_prefix=settings_of(deployment).public_prefix)
    register(officer, url_prefix="/khao-sat")


@hookimpl
def navigation_items(deployment, user):
    if user is not None and user.role in (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.UNIT_OFFICER):
        return [{"label": "Khảo sát", "endpoint": "survey.index", "order": 40}]
    return []


@hookimpl
def dashboard_panels(deployment, user, period):
    """Satisfaction per survey for the dashboard's period: a unit officer sees their units, others
    the whole plan (figures only; the detail pages check roles)."""
    from flask import url_for

    from .results import compute_results
    from .store import list_surveys

    surveys = list_surveys(deployment.db)
    if not surveys:
        return []
    within = user.unit_id if user is not None and user.role is Role.UNIT_OFFICER else None
    may_open = user is not None and user.role in (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.UNIT_OFFICER)
    rows = []
    for survey in surveys:
        res = compute_results(deployment.db, deployment.plan, survey.id, period, within=within)
        link = url_for("survey.results", survey_id=survey.id, ky=str(period)) if may_open else None
        rows.append((survey.title, res, link))
    return [{"title": "Khảo sát sự hài lòng", "template": "survey/_panel.html",
             "context": {"rows": rows, "period": period}, "order": 50}]


@hookimpl
def register_measures(register):
    from .results import responses_measure, satisfaction_measure

    register("survey_satisfaction", satisfaction_measure)
    register("survey_responses", responses_measure)


@hookimpl
def report_sections(report):
    from .report import survey_sections

    return survey_sections(report)


@hookimpl
def register_data_tables(register):
    from .exports import DATA_TABLES

    for table in DATA_TABLES:
        register(table)


@hookimpl
def erase_personal_data(deployment, phone, citizen_id, dry_run, actor):
    """Contact details left with this phone number (found by its keyed hash); the answers stay."""
    from .personal_data import erase_person

    return erase_person(deployment, phone, citizen_id, dry_run, actor)


@hookimpl
def purge_expired_personal_data(deployment, now, dry_run, actor):
    """Contact details older than ``contact_retention_days``."""
    from .personal_data import purge_expired

    return purge_expired(deployment, now, dry_run, actor)


@hookimpl
def register_metrics(register, deployment):
    """Responses per survey, read at scrape time from the daily counts (a row per poster and day,
    kept in each submission's transaction): a million responses are summed from a few thousand rows."""

    def collect():
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily("ccch_survey_responses", "Survey responses stored and counted, by survey.",
                                     labels=["survey"])
        for target, count in deployment.db.execute(
                "select p.target, sum(d.responses) from survey_daily d join placements p on p.id = d.placement_id "
                "where p.target like 'survey:%' group by p.target order by p.target"):
            family.add_metric([target.removeprefix("survey:")], count)
        yield family

    register(collect)
