"""Signing in, from the command line and the daily purge: ``ccch users totp …`` and the pruning of
old failure records (``ccch privacy purge``). Attached by :mod:`ccch_core.builtin.web`, which owns
the ``users`` group and the login pages."""

from __future__ import annotations

import sys

import click

from .. import accounts
from ..hookspecs import hookimpl
from ..privacy import Erasure
from ..storage import utc_now_iso, write_transaction


@hookimpl
def purge_expired_personal_data(deployment, now, dry_run, actor):
    """Failed sign-ins (hashed account and address) that no limit counts any more."""
    db = deployment.db
    cutoff = utc_now_iso(now - accounts.ACCOUNT_WINDOW)
    count = db.execute("select count(*) from login_failures where at <= ?", [cutoff]).fetchone()[0]
    if not count:
        return []
    item = Erasure("Lần đăng nhập sai (tài khoản và địa chỉ đã băm) cũ hơn "
                   f"{int(accounts.ACCOUNT_WINDOW.total_seconds() // 60)} phút", count)
    if dry_run:
        return [item]
    with write_transaction(db):
        accounts.prune_login_failures(db, now)
    return [item]


def _qr_text(uri: str) -> str | None:
    """The URI as a QR code drawn with text, if the ``qrcode`` package happens to be installed
    (the survey plugin brings it; the core does not depend on it: the secret is enough)."""
    try:
        import io

        import qrcode
    except ImportError:
        return None
    code = qrcode.QRCode(border=2)
    code.add_data(uri)
    buffer = io.StringIO()
    code.print_ascii(out=buffer, invert=True)
    return buffer.getvalue()


def _show(setup: accounts.TotpSetup, required: bool, qr: bool | None) -> None:
    click.echo(f"Second factor (TOTP) for {setup.username}: shown once, never again.")
    click.echo("Give it to the officer in person (not by message or e-mail). In their authenticator app")
    click.echo("(Google Authenticator, Microsoft Authenticator, FreeOTP…) they scan the QR code or add an")
    click.echo("account by hand: key below, time-based, 6 digits.")
    click.echo("")
    click.echo(f"  Key:  {setup.grouped_secret}")
    click.echo(f"  URI:  {setup.uri}")
    if qr is None:
        qr = sys.stdout.isatty()
    if qr:
        drawn = _qr_text(setup.uri)
        if drawn:
            click.echo("")
            click.echo(drawn)
        else:
            click.echo("(No QR code: the qrcode package is not installed; the key above is enough.)")
    click.echo("")
    click.echo("Their sessions have ended; they sign in again with password and code.")
    if not required:
        click.echo("From now on this account is asked for a code at every sign-in.")


def totp_group() -> click.Group:
    """``ccch users totp enable|reset|disable USER``."""
    from ..audit import cli_actor
    from ..cli import CliState

    qr_option = click.option("--qr/--no-qr", default=None,
                             help="Draw the QR code in the terminal (default: when printing to a terminal and "
                                  "the qrcode package is installed).")

    @click.group("totp")
    def totp_commands():
        """Second sign-in factor (mã xác thực hai bước): enable, reset, disable."""

    def _deployment_and_roles(state: CliState):
        deployment = state.deployment()
        roles = frozenset(accounts.Role(r) for r in deployment.config.web.get("require_totp_for", ()))
        return deployment, roles

    @totp_commands.command("enable")
    @click.argument("username")
    @qr_option
    @click.pass_obj
    def enable(state: CliState, username, qr):
        """Give USER a second factor; print the key and the otpauth:// URI once."""
        deployment, roles = _deployment_and_roles(state)
        try:
            setup = accounts.enable_totp(deployment.db, username, secret=deployment.secret_key,
                                         issuer=deployment.config.name, actor=cli_actor())
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        user = accounts.find_user(deployment.db, username)
        _show(setup, user.role in roles, qr)

    @totp_commands.command("reset")
    @click.argument("username")
    @qr_option
    @click.pass_obj
    def reset(state: CliState, username, qr):
        """Replace USER's key (a lost or new phone): the old app's codes stop working."""
        deployment, roles = _deployment_and_roles(state)
        try:
            setup = accounts.reset_totp(deployment.db, username, secret=deployment.secret_key,
                                        issuer=deployment.config.name, actor=cli_actor())
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        user = accounts.find_user(deployment.db, username)
        _show(setup, user.role in roles, qr)

    @totp_commands.command("disable")
    @click.argument("username")
    @click.pass_obj
    def disable(state: CliState, username):
        """Remove USER's second factor (they sign in with the password alone)."""
        deployment, roles = _deployment_and_roles(state)
        try:
            user = accounts.disable_totp(deployment.db, username, actor=cli_actor())
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{user.username}: second factor removed.")
        if user.role in roles:
            click.echo(f"Warning: this deployment requires a second factor of {user.role.value} accounts "
                       "([web] require_totp_for): they cannot sign in until `ccch users totp enable` again.")

    return totp_commands
