"""The core's commands and figures for running a deployment for years: replication, restore,
doctor, scheduled work, and the core's own metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from .. import replication
from ..cli import CliState, echo_json
from ..hookspecs import hookimpl


def _config(state: CliState):
    if state.error is not None:
        raise click.ClickException(str(state.error))
    if state.config is None:
        raise click.ClickException("no deployment config: pass --config PATH, set CCCH_CONFIG, or run in a folder "
                                   "with ccch.toml")
    return state.config


def _settings(state: CliState):
    config = _config(state)
    settings = replication.settings_of(config)
    if settings is None:
        raise click.ClickException(f"{config.path}: no [replication] table; add one (docs/deploy.md, "
                                   "“Continuous replication”) with at least replica = \"/path/to/replica\"")
    return config, settings


@hookimpl
def register_metrics(register, deployment):
    """The core's figures on ``/metrics``: outbox, database and WAL sizes, replication lag."""
    from ..metrics import CoreCollector

    register(CoreCollector(deployment))


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``replication``, ``restore``, ``doctor`` and ``scheduled-work``."""

    @cli.group("replication")
    def replication_group():
        """Continuous replication of the database with Litestream ([replication] in ccch.toml)."""

    @replication_group.command("config")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write it (default: litestream.yml next to ccch.toml). '-' prints it.")
    @click.pass_obj
    def replication_config(state: CliState, output: Path | None):
        """Write litestream.yml from ccch.toml's [replication] table."""
        config, settings = _settings(state)
        if str(output) == "-":
            click.echo(replication.render_litestream_config(config, settings), nl=False)
            return
        path = replication.write_litestream_config(config, settings, output)
        click.echo(f"Wrote {path}. Run Litestream with `ccch replication run` (docs/deploy.md has a systemd unit).")

    @replication_group.command("run")
    @click.pass_obj
    def replication_run(state: CliState):
        """Run Litestream in the foreground, replicating the database until stopped (SIGTERM)."""
        config, settings = _settings(state)
        try:
            command = replication.replicate_command(config, settings)
        except replication.ReplicationError as exc:
            raise click.ClickException(str(exc)) from None
        sys.stdout.flush()
        os.execv(command[0], command)  # systemd then signals Litestream itself

    @replication_group.command("status")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def replication_status(state: CliState, as_json: bool):
        """How far the replica is behind the database (exit 1 when it cannot be told)."""
        config, settings = _settings(state)
        result = replication.status(config, settings)
        if as_json:
            echo_json({"lag_seconds": result.lag_seconds, "local_txid": result.local_txid,
                       "replica_txid": result.replica_txid, "replica_updated_at": result.replica_updated_at,
                       "problem": result.problem})
        elif result.problem:
            click.echo(f"replication: {result.problem}")
        else:
            click.echo(f"replica: {settings.replica}\nlag: {result.lag_seconds:.1f} s\n"
                       f"transactions: database {result.local_txid}, replica {result.replica_txid}\n"
                       f"replica last written: {result.replica_updated_at:%Y-%m-%d %H:%M:%S} UTC")
        if result.problem:
            raise SystemExit(1)

    @cli.command("restore")
    @click.option("--at", "at_text", metavar="TIME",
                  help="Restore the database as it was at TIME: 2026-12-06 15:55 (Vietnam time) or ISO 8601 with "
                       "an offset. Default: the latest point in the replica.")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write the restored database here instead of the deployment's database file.")
    @click.option("--force", is_flag=True, help="Replace an existing database file (stop the server first).")
    @click.pass_obj
    def restore(state: CliState, at_text: str | None, output: Path | None, force: bool):
        """Bring the database back from the replica (on a fresh machine: after installing ccch and
        copying ccch.toml, plan.toml and secret_key)."""
        config, settings = _settings(state)
        try:
            at = replication.parse_instant(at_text) if at_text else None
            path = replication.restore(config, settings, output=output, at=at, force=force)
        except (replication.ReplicationError, subprocess.TimeoutExpired) as exc:
            raise click.ClickException(str(exc)) from None
        when = f"as of {at:%Y-%m-%d %H:%M:%S} UTC" if at else "to the latest point in the replica"
        click.echo(f"Restored {path} {when} (integrity check ok). Start Litestream again before the server.")

    @cli.command("doctor")
    @click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
                  help="Language of the findings.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def doctor(state: CliState, lang: str, as_json: bool):
        """Check the deployment and say what to fix: file permissions, disk space, backups and
        replication, time zone, public address, secret key, mail settings (exit 1 on a problem)."""
        from .. import doctor as doctor_module

        config = _config(state)
        findings = doctor_module.run_checks(config)
        if as_json:
            echo_json([f.as_dict(lang) for f in findings])
        else:
            click.echo(doctor_module.render(findings, lang))
        if any(f.level == "problem" for f in findings):
            raise SystemExit(1)

    @cli.command("scheduled-work")
    @click.option("--loop", is_flag=True,
                  help="Keep running, a pass every --every seconds, until stopped (`ccch serve` runs this beside the server).")
    @click.option("--every", default=None, type=click.IntRange(5, 3600),
                  help="Seconds between two passes with --loop (default 60).")
    @click.pass_obj
    def scheduled_work_command(state: CliState, loop: bool, every: int | None):
        """Do what plugins have due now (the contest closes the rounds whose end has passed), then
        exit; with --loop keep doing it. Exit 1 when a plugin's work failed."""
        import logging

        from .. import scheduled
        from ..cli import stop_on_signals

        deployment = state.deployment()
        if loop:
            stop = stop_on_signals()
            logging.basicConfig(level=logging.WARNING, format="ccch scheduled work: %(message)s")
            click.echo(f"ccch: scheduled work of {deployment.config.name} every "
                       f"{every or scheduled.EVERY_SECONDS} s; Ctrl+C to stop", err=True)

            def report(outcome):
                text = outcome.done if outcome.error is None else f"failed: {outcome.error}"
                click.echo(f"ccch scheduled work: {outcome.plugin}: {text}", err=True)

            runner = scheduled.Runner(deployment, every=every or scheduled.EVERY_SECONDS)
            runner.run_forever(stop=stop, report=report)
            return
        runner = scheduled.Runner(deployment)
        try:
            runner.acquire()
        except scheduled.RunnerBusy:
            click.echo("Đang có một tiến trình khác làm các việc định kỳ của nơi triển khai này (ccch serve hoặc "
                       "`ccch scheduled-work --loop`): việc đến hạn sẽ do tiến trình đó làm.")
            return
        try:
            outcomes = scheduled.run_once(deployment)
        finally:
            runner.release()
        for outcome in outcomes:
            if outcome.error:
                click.echo(f"{outcome.plugin}: lỗi: {outcome.error}", err=True)
            elif outcome.done:
                click.echo(f"{outcome.plugin}: {outcome.done}")
        if not any(o.done or o.error for o in outcomes):
            click.echo("Không có việc định kỳ nào đến hạn.")
        if any(o.error for o in outcomes):
            raise SystemExit(1)
