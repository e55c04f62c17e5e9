"""A well-behaved test plugin that implements every hook (plugin name: "good")."""

from __future__ import annotations

import click
from sqlite_utils.migrations import Migrations

from ccch_core import hookimpl
from ccch_core.cli import pass_deployment
from ccch_core.progress import MeasureValue

NAME = "good"

migrations = Migrations(NAME)


@migrations()
def m001_good_things(db):
    """A table only this plugin uses."""
    db["good_things"].create({"id": int, "label": str}, pk="id")


class TextExporter:
    """A tiny exporter: one line of text per report."""

    name = "good-text"
    extension = "txt"
    media_type = "text/plain; charset=utf-8"

    def export(self, report, stream):
        stream.write(f"good report: {report}\n")


class GoodBlueprint:
    """Stands in for a Flask blueprint (the core does not depend on Flask)."""

    name = "good"


def good_measure(context):
    """Every unit the indicator applies to measured 1 (yes)."""
    return {unit.id: MeasureValue(1.0) for unit in context.units}


@hookimpl
def register_migrations(register):
    register(migrations)


@hookimpl
def register_commands(cli):
    @cli.group()
    def good():
        """Commands of the good test plugin."""

    @good.command()
    @pass_deployment
    def hello(deployment):
        """Greet from the deployment."""
        started = NAME in getattr(deployment, "started_plugins", [])
        click.echo(f"hello from {deployment.config.name}; startup ran: {'yes' if started else 'no'}")


@hookimpl
def register_blueprints(register, deployment):
    register(GoodBlueprint(), url_prefix="/good")


@hookimpl
def navigation_items(deployment, user):
    return [{"label": "Good", "endpoint": "good.index", "order": 50}]


@hookimpl
def dashboard_panels(deployment, user, period):
    return [{"title": "Good panel", "template": "good/panel.html", "context": {"period": str(period)}, "order": 50}]


@hookimpl
def register_measures(register):
    register("good_measure", good_measure)


@hookimpl
def report_sections(report):
    from ccch_core.report import Paragraph, Section

    return [Section("good", "Good section", [Paragraph(f"Good things in {report.period}")], order=50)]


@hookimpl
def register_exporters(register):
    register(TextExporter())


class DecisionText:
    """A tiny document writer: a decision's articles as plain text."""

    kind = "decision"
    extension = "txt"
    media_type = "text/plain; charset=utf-8"

    def write(self, document, stream):
        for number, article in enumerate(document.articles, 1):
            stream.write(f"Điều {number}. {article.text}\n".encode())


@hookimpl
def register_document_writers(register):
    register(DecisionText())


def _good_rows(deployment, scope):
    for row in deployment.db.execute("select id, label from good_things order by id"):
        yield tuple(row)


@hookimpl
def register_data_tables(register):
    from ccch_core.report import Column, DataTable

    register(DataTable("good_things", "Good things", [Column("id", "Id", "integer"), Column("label", "Label")],
                       _good_rows))


@hookimpl
def startup(deployment):
    # Recorded on the deployment, not in a module global: nothing leaks between tests.
    started = getattr(deployment, "started_plugins", None)
    if started is None:
        started = deployment.started_plugins = []
    started.append(NAME)


@hookimpl
def register_message_senders(register):
    from ccch_core.messages import SenderKind, SendResult

    class Accepting:
        def send(self, message):
            return SendResult.sent(f"good-{message.id}")

        def close(self):
            pass

    register(SenderKind("good_sender", ("sms",), lambda context: Accepting(), "accepts every message"))


@hookimpl
def register_message_templates(register):
    from ccch_core.messages import MessageTemplate

    register(MessageTemplate("good.hello", "Lời chào", ("name",), "Chào {name}", "Xin chào {name}.", "Chao {name}"))


@hookimpl
def erase_personal_data(deployment, phone, citizen_id, email, dry_run, actor):
    # The good plugin keeps no personal data: nothing to find, nothing to erase.
    return []


@hookimpl
def purge_expired_personal_data(deployment, now, dry_run, actor):
    return []


@hookimpl
def register_metrics(register, deployment):
    def collect():
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily("ccch_good_plugins", "The good sample plugin is loaded.")
        family.add_metric([], 1)
        yield family

    register(collect)


@hookimpl
def scheduled_work(deployment, now):
    # Nothing is ever due for the good plugin.
    return None
