"""The core's web pages, registered through the same hooks as any plugin's."""

from __future__ import annotations

from ..accounts import Role
from ..hookspecs import hookimpl
from .signin import purge_expired_personal_data  # noqa: F401 - sign-in failure records, pruned daily


@hookimpl
def register_blueprints(register, deployment):
    from ..web import account, audit, auth, dashboard, messages, reports

    register(auth.bp)
    register(account.bp)
    register(dashboard.bp)
    register(reports.bp)
    register(audit.bp)
    register(messages.bp)


@hookimpl
def navigation_items(deployment, user):
    if user is None:
        return []
    items = [
        {"label": "Tổng quan", "endpoint": "dashboard.index", "order": 10},
        {"label": "Đơn vị", "endpoint": "dashboard.units", "order": 80},
    ]
    if user.role in (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.UNIT_OFFICER):
        items.append({"label": "Báo cáo đơn vị", "endpoint": "reports.index", "order": 20})
    if user.role in (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.UNIT_OFFICER, Role.CONTEST_MANAGER):
        items.append({"label": "Tin nhắn", "endpoint": "messages.index", "order": 85})
    if user.role in (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN):
        items.append({"label": "Tổng hợp", "endpoint": "reports.rollup", "order": 30})
        items.append({"label": "Nhật ký thao tác", "endpoint": "audit.index", "order": 90})
    return items


@hookimpl
def register_commands(cli):
    """``ccch users …`` and ``ccch serve``."""
    import sys

    import click

    from .. import accounts
    from ..audit import cli_actor
    from ..cli import CliState, echo_json, table

    def _password(password_stdin: bool, generate: bool) -> tuple[str, bool]:
        if password_stdin and generate:
            raise click.UsageError("use --password-stdin or --generate-password, not both")
        if generate:
            return accounts.generate_password(), True
        if password_stdin:
            return sys.stdin.readline().rstrip("\n"), False
        return click.prompt("Password", hide_input=True, confirmation_prompt=True), False

    def _fail(exc: accounts.AccountError):
        raise click.ClickException(str(exc)) from None

    @cli.group()
    def users():
        """Web accounts: add, list, set-role, disable, enable, passwd, totp (second factor)."""

    from .signin import totp_group

    users.add_command(totp_group())

    @users.command("add")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice([r.value for r in accounts.Role]),
                  help="system_admin, plan_admin (Phòng VH-TT), unit_officer, contest_manager or viewer.")
    @click.option("--unit", "unit_id", help="The unit of a unit officer (they see it and its sub-units).")
    @click.option("--name", "full_name", help="Full name shown in the app.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    @click.option("--generate-password", "generate", is_flag=True, help="Generate a password and print it once.")
    @click.pass_obj
    def users_add(state: CliState, username, role, unit_id, full_name, password_stdin, generate):
        """Create an account (the password is asked for unless given another way)."""
        deployment = state.deployment()
        password, generated = _password(password_stdin, generate)
        try:
            user = accounts.create_user(deployment.db, deployment.plan, username, password, role,
                                        unit_id=unit_id, full_name=full_name, actor=cli_actor())
        except accounts.AccountError as exc:
            _fail(exc)
        click.echo(f"Created {user.username} ({user.role.label_vi}{', ' + user.unit_id if user.unit_id else ''}).")
        if generated:
            click.echo(f"Password (shown once): {password}")

    @users.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def users_list(state: CliState, as_json):
        """Every account with role, unit and state."""
        found = accounts.list_users(state.deployment().db)
        if as_json:
            echo_json([{"username": u.username, "full_name": u.full_name, "role": u.role.value, "unit": u.unit_id,
                        "active": u.active, "last_login_at": u.last_login_at, "totp": u.totp_enabled}
                       for u in found])
            return
        click.echo(table([(u.username, u.full_name, u.role.value, u.unit_id or "", "yes" if u.active else "DISABLED",
                           "yes" if u.totp_enabled else "", u.last_login_at or "") for u in found],
                         ["Username", "Name", "Role", "Unit", "Active", "2FA", "Last login"]))

    @users.command("set-role")
    @click.argument("username")
    @click.argument("role", type=click.Choice([r.value for r in accounts.Role]))
    @click.option("--unit", "unit_id", help="The unit, for unit_officer.")
    @click.pass_obj
    def users_set_role(state: CliState, username, role, unit_id):
        """Change an account's role (ends its sessions)."""
        deployment = state.deployment()
        try:
            user = accounts.set_role(deployment.db, deployment.plan, username, role, unit_id, actor=cli_actor())
        except accounts.AccountError as exc:
            _fail(exc)
        click.echo(f"{user.username}: {user.role.value}{' ' + user.unit_id if user.unit_id else ''}.")

    @users.command("disable")
    @click.argument("username")
    @click.pass_obj
    def users_disable(state: CliState, username):
        """Disable an account and end its sessions (its history is kept)."""
        try:
            accounts.set_active(state.deployment().db, username, False, actor=cli_actor())
        except accounts.AccountError as exc:
            _fail(exc)
        click.echo(f"{username}: disabled.")

    @users.command("enable")
    @click.argument("username")
    @click.pass_obj
    def users_enable(state: CliState, username):
        """Enable a disabled account again."""
        try:
            accounts.set_active(state.deployment().db, username, True, actor=cli_actor())
        except accounts.AccountError as exc:
            _fail(exc)
        click.echo(f"{username}: enabled.")

    @users.command("passwd")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    @click.option("--generate-password", "generate", is_flag=True, help="Generate a password and print it once.")
    @click.pass_obj
    def users_passwd(state: CliState, username, password_stdin, generate):
        """Set a new password (ends the account's sessions)."""
        password, generated = _password(password_stdin, generate)
        try:
            accounts.set_password(state.deployment().db, username, password, actor=cli_actor())
        except accounts.AccountError as exc:
            _fail(exc)
        click.echo(f"{username}: password changed.")
        if generated:
            click.echo(f"Password (shown once): {password}")

    @cli.command()
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
    @click.option("--workers", default=None, type=click.IntRange(1, 64),
                  help="gunicorn worker processes (default: one per CPU core, at most 8).")
    @click.option("--threads", default=None, type=click.IntRange(1, 256),
                  help="Threads per gunicorn worker (default 1: sync workers) or waitress threads (default 8).")
    @click.option("--server", type=click.Choice(["auto", "gunicorn", "waitress"]), default="auto", show_default=True,
                  help="auto: gunicorn where it runs (Linux, macOS), waitress elsewhere (Windows).")
    @click.option("--access-log", is_flag=True,
                  help="gunicorn: one line per request on standard output (nginx in front keeps its own access log).")
    @click.option("--deliver/--no-deliver", default=None,
                  help="Deliver messages beside the server (default: as [messages] delivery says, \"server\").")
    @click.option("--scheduled-work/--no-scheduled-work", "scheduled_work", default=True, show_default=True,
                  help="Do plugins' scheduled work beside the server (`ccch scheduled-work --loop`: closing contest "
                       "rounds at their end…); --no-scheduled-work when a timer runs `ccch scheduled-work` instead.")
    @click.pass_obj
    def serve(state: CliState, host, port, workers, threads, server, access_log, deliver, scheduled_work):
        """Serve the web app with a production WSGI server.

        Unless [messages] delivery = "separate" (or --no-deliver), a second process delivers the
        outbox's messages meanwhile (`ccch messages send --loop`), and stops with the server; a
        third does plugins' scheduled work (`ccch scheduled-work --loop`) unless --no-scheduled-work."""
        from ..web.server import message_deliverer, run_server, scheduled_worker

        deployment = state.deployment(migrate=True)  # migrate once, before any worker starts
        # The trends' month figures, stored with their measurements' revisions, are not current
        # after an upgrade or an edited plan: evaluate them once here rather than in the first
        # dashboard a reader opens (#26: 1.3-1.8 s for a national plan's year).
        from ..progress import store_month_figures

        store_month_figures(deployment.db, deployment.plans.values())
        messaging = deployment.messaging
        if deliver is None:
            deliver = messaging.settings.delivery == "server" and bool(messaging.channels())
        # A process only where a plugin has scheduled work (the contest plugin has).
        scheduled_work = scheduled_work and bool(deployment.pm.hook.scheduled_work.get_hookimpls())
        with message_deliverer(deployment.config if deliver else None), \
                scheduled_worker(deployment.config if scheduled_work else None):
            run_server(deployment.config, host=host, port=port, workers=workers, threads=threads, server=server,
                       access_log=access_log)
