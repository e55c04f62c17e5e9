"""The contest plugin's hook implementations (entry point ``contest = "ccch_contest.plugin"``).

Everything the plugin adds goes through the core's hooks: its tables (``register_migrations``),
``ccch contest …`` (``register_commands``), the public contest pages under ``/cuoc-thi`` and the
contest manager's pages under ``/cuoc-thi/quan-ly`` (``register_blueprints``), a menu entry and a
dashboard panel, the participation measures plan indicators can use (``source =
"plugin:contest_participants"`` or ``"plugin:contest_participation_rate"``), a section of the
periodic report, and the data tables the export plugin streams; and participants' personal data
for the core's ``ccch privacy erase`` and ``ccch privacy purge`` (``erase_personal_data``,
``purge_expired_personal_data``).
"""

from __future__ import annotations

from ccch_core import hookimpl

from .schema import migrations

NAME = "contest"
MANAGER_ROLES = ("system_admin", "contest_manager")


@hookimpl
def register_migrations(register):
    register(migrations)


@hookimpl
def startup(deployment):
    """Validate ``[plugins.contest]`` early (unknown keys and bad values stop start-up)."""
    from .settings import settings_of

    settings_of(deployment)


@hookimpl
def register_commands(cli):
    from .cli import contest_group

    cli.add_command(contest_group)


@hookimpl
def register_blueprints(register, deployment):
    from .web import manage, public, review_queue  # noqa: F401 - review_queue adds its routes to manage.bp

    register(public.bp, url_prefix="/cuoc-thi")
    register(manage.bp, url_prefix="/cuoc-thi/quan-ly")


@hookimpl
def navigation_items(deployment, user):
    if user is None or user.role.value not in MANAGER_ROLES:
        return []
    # The contest manager's work is the contest: their sign-in lands there, not on the dashboard.
    return [{"label": "Cuộc thi", "endpoint": "contest_manage.index", "order": 50, "landing_for": ("contest_manager",)}]


@hookimpl
def dashboard_panels(deployment, user, period):
    if user is None or user.role.value not in MANAGER_ROLES:
        return []
    from .web.manage import dashboard_context

    context = dashboard_context(deployment)
    if not context["contests"]:
        return []
    return [{"title": "Cuộc thi tìm hiểu về CCHC", "template": "contest/_panel.html", "context": context, "order": 60}]


@hookimpl
def register_measures(register):
    from .measures import participants_measure, rate_measure

    register("contest_participants", participants_measure)
    register("contest_participation_rate", rate_measure)


@hookimpl
def report_sections(report):
    from .reporting import contest_sections

    return contest_sections(report)


@hookimpl
def register_data_tables(register):
    from .exports import DATA_TABLES

    for table in DATA_TABLES:
        register(table)


@hookimpl
def erase_personal_data(deployment, phone, citizen_id, dry_run, actor):
    """A person's registrations in every contest, found by the keyed hash of their phone or ID
    number; erased as on the participant page (the attempts stay anonymous, out of the rankings)."""
    from .personal_data import erase_person

    return erase_person(deployment, phone, citizen_id, dry_run, actor)


@hookimpl
def purge_expired_personal_data(deployment, now, dry_run, actor):
    """Contact phones after ``contact_retention_days``, all personal data after
    ``personal_data_retention_days`` (counted from a contest's last round)."""
    from .personal_data import purge_expired

    return purge_expired(deployment, now, dry_run, actor)


@hookimpl
def register_metrics(register, deployment):
    """Registrations per contest and attempts by state, counted at scrape time from indexes (the
    partial indexes on open and on submitted attempts; a million attempts take milliseconds)."""

    def collect():
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        db = deployment.db
        registrations = CounterMetricFamily("ccch_contest_registrations", "Contest participants registered, "
                                            "by contest.", labels=["contest"])
        for slug, count in db.execute(
                "select c.slug, (select count(*) from contest_participants p where p.contest_id = c.id) "
                "from contest_contests c order by c.slug"):
            registrations.add_metric([slug], count)
        yield registrations
        started = db.execute("select count(*) from contest_attempts").fetchone()[0]
        submitted = db.execute("select count(*) from contest_attempts where status = 'submitted'").fetchone()[0]
        open_now = db.execute("select count(*) from contest_attempts where status = 'open'").fetchone()[0]
        attempts = CounterMetricFamily("ccch_contest_attempts", "Contest attempts started, and of them submitted.",
                                       labels=["state"])
        attempts.add_metric(["started"], started)
        attempts.add_metric(["submitted"], submitted)
        yield attempts
        gauge = GaugeMetricFamily("ccch_contest_attempts_open", "Contest attempts open now (started, not submitted).")
        gauge.add_metric([], open_now)
        yield gauge

    register(collect)


@hookimpl
def scheduled_work(deployment, now):
    """Close every round whose end has passed and that has no true figure yet: finish its overdue
    attempts, store the figure and rewrite its ranking keys (seconds at a million attempts), so that
    no visitor's page waits for it. Returns what was closed."""
    import logging

    from .contests import list_contests
    from .ranking import close_round

    closed, failed = [], []
    for contest in list_contests(deployment, published_only=True):  # a draft's rounds close on its manager's pages
        for round_state in contest.rounds:
            if round_state.state(now) == "closed" and not round_state.truth_at:
                try:
                    done = close_round(deployment, contest, round_state, now=now)
                except Exception as exc:  # one contest's failure must not keep the others' rounds open
                    logging.getLogger("ccch.contest").exception("closing %s of %s failed", round_state.name,
                                                                contest.slug)
                    failed.append(f"{contest.slug} {round_state.name}: {type(exc).__name__}: {exc}")
                    break
                closed.append(f"đã chốt {done.name} của cuộc thi “{contest.title}” ({contest.slug}): "
                              f"{done.entrant_count} bài được xếp hạng")
    if failed:  # reported as the plugin's failure (exit 1 of `ccch scheduled-work`), after the others closed
        raise RuntimeError("không chốt được " + "; ".join(failed) + (" (đã chốt: " + "; ".join(closed) + ")"
                                                                        if closed else ""))
    return closed or None
