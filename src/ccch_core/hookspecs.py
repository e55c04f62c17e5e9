"""Hook specifications: the only way plugins extend ccch.

One flat module, a docstring on every hook (``tests/test_hookspecs.py`` fails when one is missing
or undocumented in ``docs/plugins.md``). Registries are ``register_*`` hooks that receive a
``register`` callback; events are nouns. The core's own features are ordinary plugins
(``ccch_core.builtin``) that implement these same hooks.

A plugin module marks its functions with :data:`hookimpl`::

    from ccch_core import hookimpl

    @hookimpl
    def register_migrations(register):
        register(migrations)

Every hook name is checked at start-up: a function marked ``@hookimpl`` whose name is not a hook
below (a typo) stops the app with an error instead of silently doing nothing.
"""

from __future__ import annotations

import pluggy

__all__ = [
    "hookimpl",
]

PROJECT = "ccch"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_migrations(register):
    """Register the plugin's database migrations.

    Call ``register(migrations)`` with a :class:`sqlite_utils.migrations.Migrations` set whose
    name is the plugin's name (the same name used to enable it in ``ccch.toml``). Sets are
    applied by ``ccch db migrate`` and at start-up, core first, then in the order plugins are
    enabled; each step runs in one transaction with its record.

    Errors: a set not named after the plugin, or registered twice, stops start-up with
    :class:`ccch_core.PluginError` (raised by the core). A step that raises is rolled back with its
    record, and its exception stops ``ccch db migrate`` (and start-up) with the set and step named.
    """


@hookspec
def register_commands(cli):
    """Add click commands or groups to the ``ccch`` command line.

    ``cli`` is the root :class:`click.Group`, built anew for each invocation from the enabled
    plugins. Use ``cli.command()`` / ``cli.group()`` or ``cli.add_command(...)``. Commands get
    the deployment with :func:`ccch_core.cli.pass_deployment`.

    Errors: a command reports bad input or a failed action by raising :class:`click.ClickException`
    (printed, exit status 1) or :class:`click.BadParameter` naming the option (exit status 2),
    never with a traceback.
    """


@hookspec
def register_blueprints(register, deployment):
    """Add Flask blueprints to the web app.

    Call ``register(blueprint, url_prefix=None)`` for each blueprint. Templates live next to
    the blueprint. ``deployment`` is the :class:`ccch_core.deployment.Deployment`.

    Errors: a view answers bad input with ``flask.abort(400, description="…")`` in Vietnamese
    (403 outside the user's scope, 404 for what does not exist), never a 500; this hook itself
    raises :class:`ccch_core.PluginError` only when the plugin cannot serve at all.
    """


@hookspec
def navigation_items(deployment, user):
    """Return a list of navigation entries for the web shell's menu.

    Each entry is a dict ``{"label": str, "endpoint": str, "order": int}``; ``user`` is the
    signed-in user or None, so that a plugin can hide items the user's role may not open. An
    optional ``"landing_for": ("contest_manager",)`` names the roles whose work is on that page:
    their sign-in lands there instead of on the dashboard.

    Errors: none are expected: return an empty list rather than raise (an exception here breaks
    every page of the web shell).
    """


@hookspec
def dashboard_panels(deployment, user, period):
    """Return a list of panels for the plan dashboard for ``period``.

    ``deployment.plan`` is the plan the dashboard shows: the reader may have chosen another
    year's plan with ``?plan=`` (``deployment`` is then :meth:`Deployment.with_plan`'s view), and
    ``period`` lies within it. A panel's links and forms keep the choice with the template
    partial ``_plan_kept.html`` (see :mod:`ccch_core.web.plan_choice`).

    Each panel is a dict ``{"title": str, "template": str, "context": dict, "order": int}``.

    Errors: none are expected: return an empty list when there is nothing to show (an exception
    here breaks the dashboard).
    """


@hookspec
def register_measures(register):
    """Register measures that compute indicator values.

    Call ``register(name, function)``. An indicator whose ``source`` is ``"plugin:<name>"`` is
    evaluated by calling ``function(context)`` with a
    :class:`ccch_core.progress.MeasureContext` (deployment, indicator, period, units) — once for
    the whole period evaluated (a quarter, a year), so that it can pool its data; it returns a
    mapping ``{unit_id: MeasureValue}`` for the units it has data for. Two plugins
    registering the same measure name is an error at start-up. A measure that counts "the unit
    and the units below it" sums its per-unit counts with ``Plan.sums_within`` (linear in the
    counted units), not ``is_within`` for each pair (units × counted units: minutes at national
    size).

    Errors: a duplicate name stops start-up with :class:`ccch_core.PluginError` (raised by the
    core). The function leaves out a unit it has no data for rather than raise; it raises
    :class:`ccch_core.ProgressError` for data it cannot evaluate.
    """


@hookspec
def report_sections(report):
    """Return sections to add to a periodic report, or None.

    ``report`` describes the report being built (deployment, plan, period, unit scope). Return
    a list of :class:`ccch_core.report.Section` objects; a deployment without the plugin gets a
    report without its sections.

    Errors: anything but :class:`ccch_core.report.Section` objects in the list makes the core
    raise ``TypeError`` naming the plugin; a plugin with nothing to report returns None.
    """


@hookspec
def register_exporters(register):
    """Register report exporters (file formats).

    Call ``register(exporter)`` with an object that has ``name`` (the format's name in
    ``--format`` and URLs), ``extension``, ``media_type``, ``label`` (Vietnamese, shown in the
    format lists) and ``export(report, stream, options)``: it writes the
    :class:`ccch_core.report.Report` as bytes to the binary ``stream``; ``options`` is a
    :class:`ccch_core.report.ExportOptions` (the deployment, the document's recipient and
    signatory). Call an exporter through :func:`ccch_core.report.call_exporter`, which also serves
    exporters written as ``export(report, stream)`` or ``export(report, stream, **options)``.

    Errors: a duplicate name stops start-up with :class:`ccch_core.PluginError` (raised by the
    core). ``export`` must not raise for any report the core builds; check the exporter's own
    settings in :func:`startup` instead.
    """


@hookspec
def register_document_writers(register):
    """Register writers of administrative documents other than the periodic report.

    Call ``register(writer)`` with an object that has ``kind`` (``"decision"``: a
    :class:`ccch_core.documents.Decision`; ``"plan"``: a :class:`ccch_core.documents.PlanDocument`,
    a commune's "Kế hoạch"), ``extension`` (``"docx"``), ``media_type`` and
    ``write(document, stream)``. Plugins that need a document call
    :func:`ccch_core.documents.write_document`, never the writer's plugin. Two plugins registering
    the same kind and extension raise :class:`ccch_core.plugins.PluginError` when a document is
    written; a writer reports a document it cannot write with ``ValueError``.
    """


@hookspec
def register_data_tables(register):
    """Offer the plugin's raw tables for export.

    Call ``register(table)`` with a :class:`ccch_core.report.DataTable` whose ``rows(deployment,
    scope)`` streams tuples (a generator over a database cursor: a million rows must never sit in
    memory). Names are unique across plugins; start them with the plugin's name
    (``survey_responses``).

    Errors: a duplicate name stops start-up with :class:`ccch_core.PluginError` (raised by the
    core).
    """


@hookspec
def startup(deployment):
    """Called once when a deployment is opened (CLI or web), after migrations are checked.

    Use it to validate per-plugin settings (``deployment.plugin_settings(name)``) and fail
    early with a clear message. Must be fast: it runs on every CLI invocation.

    Errors: raise :class:`ccch_core.PluginError` (or :class:`ccch_core.ConfigError`) with a message
    that names the setting, its value and what is expected (``[plugins.hello] colour in ccch.toml:
    3 is not one of red, green``); the CLI prints it and exits with status 1, and the web app does
    not start.
    """


@hookspec
def register_message_senders(register):
    """Register senders that deliver messages of a channel (e-mail, SMS, Zalo).

    Call ``register(kind)`` with a :class:`ccch_core.messages.SenderKind`: its ``name`` is what a
    deployment writes as ``sender = "…"`` in ``[messages.channels.<channel>]`` of ``ccch.toml``,
    ``channels`` the channels it can serve, ``keys`` the settings it reads, and
    ``create(context)`` builds a sender from a :class:`ccch_core.messages.SenderContext`. The
    sender's ``send(message)`` gets one :class:`ccch_core.messages.OutgoingMessage` and returns a
    :class:`ccch_core.messages.SendResult`; pass ``message.idempotency_key`` to the gateway when it
    accepts one. The core registers ``smtp``, ``http_sms``, ``zalo_zns`` and ``folder``. Two
    plugins registering one name is an error at start-up.

    Errors: a duplicate name stops start-up with :class:`ccch_core.PluginError`. ``create`` raises
    :class:`ccch_core.messages.SenderConfigError` naming the setting for a bad or missing one;
    ``send`` never raises for a gateway's problem: it returns ``SendResult.retry`` or
    ``SendResult.failed``.
    """


@hookspec
def register_message_templates(register):
    """Register the texts of the messages the plugin queues.

    Call ``register(template)`` with a :class:`ccch_core.messages.MessageTemplate`: a key (start it
    with the plugin's name), a Vietnamese label, the parameters, an e-mail subject and body and an
    SMS text, with ``{name}`` placeholders. A deployment can override each text in
    ``[messages.templates.<key>]`` of ``ccch.toml``. Duplicate keys are an error at start-up.

    Errors: a duplicate key stops start-up with :class:`ccch_core.PluginError` (raised by the core);
    an override with unknown placeholders stops it with :class:`ccch_core.ConfigError`.
    """


@hookspec
def erase_personal_data(deployment, phone, citizen_id, email, dry_run, actor):
    """Find, or erase, one person's personal data held by the plugin (Decree 13/2023/NĐ-CP).

    Called by ``ccch privacy erase`` (through :func:`ccch_core.privacy.erase_person`) on every
    enabled plugin. ``phone`` is a normalised phone number (``"0912345678"``) or None;
    ``citizen_id`` a normalised 12-digit citizen ID number or None; ``email`` a normalised e-mail
    address or None; at least one is given (a plugin that stores no e-mail addresses need not
    take ``email``). Look the
    person up by the keyed hash the plugin stores (:func:`ccch_core.privacy.keyed_hash` with the
    plugin's own purpose), never by comparing clear-text columns. With ``dry_run`` change nothing;
    otherwise erase the personal data (names, numbers, contact details) and keep what is anonymous
    (answers, counts, attempts without a name), in the plugin's own write transactions, recording
    each erasure in the audit log (:func:`ccch_core.audit.record`) as ``actor`` (who runs it).

    Return a list of :class:`ccch_core.privacy.Erasure` — one per record found (dry run) or erased,
    each a line in Vietnamese saying what it is — or an empty list (or None) when the plugin holds
    nothing about the person.

    Errors: raise only for a failure (a database error): the command stops and says so; what was
    erased in transactions already committed stays erased, and running it again finds the rest.
    """


@hookspec
def purge_expired_personal_data(deployment, now, dry_run, actor):
    """Erase the personal data the plugin keeps past its retention time, as of ``now`` (UTC).

    Called by ``ccch privacy purge`` (through :func:`ccch_core.privacy.purge_expired`), which a
    deployment runs daily from a systemd timer or cron. Each plugin applies its own retention
    setting (the contest plugin: ``personal_data_retention_days`` after a contest's last round
    closed; the survey plugin: ``contact_retention_days`` after consent) and keeps anonymous
    statistics. With ``dry_run`` change nothing. Record what was erased in the audit log as
    ``actor``. Return a list of :class:`ccch_core.privacy.Erasure` (what was, or would be, erased;
    ``count`` says how many records a line covers), or an empty list (or None). Must be cheap
    when nothing has expired: it runs every day.

    Errors: raise only for a failure (a database error): the run stops with that error and exits
    non-zero, so the timer's log shows it; erasures already committed stay.
    """


@hookspec
def scheduled_work(deployment, now):
    """Do the work that is due at ``now`` (UTC) by itself, outside any request, and return what
    was done in a few words (a string or a list of strings), or None when nothing was due.

    Called about once a minute by ``ccch scheduled-work --loop``, which ``ccch serve`` runs beside
    the server (and a timer can run as ``ccch scheduled-work``): see :mod:`ccch_core.scheduled`.
    Use it for what would otherwise make the first visitor after a moment wait: the contest plugin
    closes the rounds whose end has passed. It must be idempotent and cheap when nothing is due
    (a few indexed queries), and take the write lock only for what is due.

    Errors: raise any exception (a database error, a ``RuntimeError`` naming what could not be done)
    for work that failed; it is logged with the plugin's name and reported by ``ccch scheduled-work``
    (exit status 1 without ``--loop``); the other plugins' work still runs, and the next pass tries
    again. Nothing due is not an error: return None.
    """


@hookspec
def register_metrics(register, deployment):
    """Add the plugin's figures to the operator's ``/metrics`` page (Prometheus text format).

    Call ``register(collector)`` with an object whose ``collect()`` yields
    ``prometheus_client.core`` metric families (``CounterMetricFamily``, ``GaugeMetricFamily``…),
    or with a function taking no argument that yields them. It runs at each scrape (every 15–60 s)
    with ``deployment`` open: read counts from the database there (``deployment.db``), so that the
    figures are exact across worker processes and restarts and the hot paths pay nothing. Keep it to
    a few indexed queries; name metrics ``ccch_<plugin>_…`` and keep label values few (a survey, a
    contest, a state), never a person's data. See :mod:`ccch_core.metrics`.

    Errors: an exception raised by a collector fails that scrape (the page answers 500 and
    Prometheus marks the target down), so yield nothing for what the plugin can expect to be
    missing; this hook itself raises :class:`ccch_core.PluginError` only for a plugin that cannot
    report at all.
    """
