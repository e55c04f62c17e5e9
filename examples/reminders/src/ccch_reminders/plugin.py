"""The hooks of the reminders plugin: everything the core knows about it.

The entry point ``reminders = "ccch_reminders.plugin"`` names this module; the core registers it
with pluggy when a deployment lists ``"reminders"`` in ``plugins``. Each hook is a few lines
that hand the core something built elsewhere in the package.
"""

from __future__ import annotations

from ccch_core import hookimpl

from .cli import reminders
from .reminders import OFFICE_ROLES
from .report import REMINDERS_TABLE, reminder_section
from .schema import migrations


@hookimpl
def register_migrations(register):
    register(migrations)


@hookimpl
def register_commands(cli):
    cli.add_command(reminders)


@hookimpl
def register_blueprints(register, deployment):
    # Flask is imported when the web app is built, not by every `ccch` command.
    from .web import bp

    register(bp, url_prefix="/nhac-bao-cao")


@hookimpl
def navigation_items(deployment, user):
    if user is not None and user.role in OFFICE_ROLES:
        return [{"label": "Nhắc báo cáo", "endpoint": "reminders.index", "order": 35}]
    return []


@hookimpl
def report_sections(report):
    return [reminder_section(report)]


@hookimpl
def register_data_tables(register):
    register(REMINDERS_TABLE)
