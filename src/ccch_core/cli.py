"""The ``ccch`` command line, built from the plugin manager for each invocation.

Nothing is attached at import time: :func:`make_cli` reads the deployment config (``--config``,
``$CCCH_CONFIG`` or ``./ccch.toml``), makes a plugin manager for the enabled plugins and lets
every plugin — the core's own commands included — add commands through ``register_commands``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from .config import ConfigError, DeploymentConfig, find_config, load_config
from .deployment import Deployment
from .planfile import PlanFileError
from .plugins import AvailablePlugin, CcchPluginManager, PluginError, make_plugin_manager
from .storage import StorageError

__all__ = [
    "echo_json",
    "main",
    "make_cli",
    "pass_deployment",
    "stop_on_signals",
    "table",
]


class CliState:
    """What the root command knows: the config (if any) and the plugin manager."""

    def __init__(self, config_path: Path | None, config: DeploymentConfig | None, pm: CcchPluginManager,
                 error: Exception | None = None, available: Mapping[str, AvailablePlugin] | None = None):
        self.config_path = config_path
        self.available = available
        self.config = config
        self.pm = pm
        self.error = error
        self._deployment: Deployment | None = None

    def deployment(self, *, migrate: bool = True, startup: bool = True) -> Deployment:
        """Open the deployment (once per invocation); a clear error if there is none.

        ``startup=False`` skips the plugins' ``startup`` hooks (the ``db`` commands, which must
        work before a plugin's tables exist).
        """
        if self.error is not None:
            raise click.ClickException(str(self.error))
        if self.config is None:
            raise click.ClickException(
                "no deployment config: pass --config PATH, set CCCH_CONFIG, run in a folder with "
                "ccch.toml, or create one with `ccch init`"
            )
        if self._deployment is None:
            try:
                deployment = Deployment(self.config, pm=self.pm)
                deployment.plan  # noqa: B018 - validate now
                deployment.prepare_database(migrate=migrate)
                if startup:
                    deployment.pm.hook.startup(deployment=deployment)
            except PlanFileError as exc:
                raise click.ClickException(f"the deployment's plan file has problems:\n{exc}") from None
            except (StorageError, PluginError, ConfigError) as exc:
                raise click.ClickException(str(exc)) from None
            self._deployment = deployment
        return self._deployment


def pass_deployment(function: Callable) -> Callable:
    """Decorator for commands that need the opened deployment as first argument."""

    @click.pass_obj
    @functools.wraps(function)
    def wrapper(state: CliState, *args: Any, **kwargs: Any):
        return function(state.deployment(), *args, **kwargs)

    return wrapper


def stop_on_signals() -> Callable[[], bool]:
    """For a command that runs until stopped (``--loop``): SIGTERM (systemd, ``ccch serve`` at its
    end) and SIGINT (Ctrl+C) no longer end the process at once; the returned function says whether
    one came, so the loop finishes what it is doing and returns."""
    import signal

    stopping: list[bool] = []

    def stop(*_):
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return lambda: bool(stopping)


def _config_from_argv(argv: Sequence[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg in ("--config", "-c") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
        if arg == "--":
            break
    return None


def make_cli(
    config_path: str | Path | None = None,
    *,
    argv: Sequence[str] = (),
    available: Mapping[str, AvailablePlugin] | None = None,
) -> click.Group:
    """Build the root command for a deployment config (found as :func:`find_config` says).

    ``available`` replaces the installed plugins (tests load small plugin modules this way).
    """
    path = find_config(config_path or _config_from_argv(argv))
    config = None
    error: Exception | None = None
    if path is not None:
        try:
            config = load_config(path)
        except ConfigError as exc:
            error = exc
    try:
        pm = make_plugin_manager(
            config.plugins if config else (),
            strict=config.strict_plugins if config else False,
            available=available,
        )
    except PluginError as exc:
        error = error or exc
        pm = make_plugin_manager((), available=available)
    state = CliState(path, config, pm, error, available)

    @click.group(
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
        help="ccch — run a CCHC communication plan: plan, units, indicators, reports and plugins.",
    )
    @click.option(
        "--config", "-c", "config_option", metavar="PATH",
        help="Deployment config (default: $CCCH_CONFIG, else ./ccch.toml).",
    )
    @click.version_option(package_name="ccch-core", prog_name="ccch")
    @click.pass_context
    def cli(ctx: click.Context, config_option: str | None):
        ctx.obj = state

    pm.hook.register_commands(cli=cli)
    return cli


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    from . import plancache

    # A command loads its plan once and keeps it to the end: the garbage collector need not walk
    # the plan's objects (tens of thousands at national size) again and again.
    plancache.freeze_loaded_plans()
    argv = list(sys.argv[1:] if argv is None else argv)
    cli = make_cli(argv=argv)
    cli.main(args=argv, prog_name="ccch")


# --------------------------------------------------------------------------------------------
# Output helpers for commands


def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1


def display_width(text: str) -> int:
    """Columns a string takes in a terminal (wide East Asian characters count 2)."""
    return sum(map(_char_width, text))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], max_width: int = 60) -> str:
    """A plain-text table for terminals; long cells are cut with an ellipsis."""

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        text = " ".join(text.split())
        if display_width(text) > max_width:
            # The longest beginning that fits with the ellipsis, in one pass (cutting one
            # character at a time and measuring again was quadratic in the text's length).
            width = end = 0
            for end, ch in enumerate(text):
                width += _char_width(ch)
                if width > max_width - 1:
                    break
            text = text[:end] + "…"
        return text

    body = [[cell(v) for v in row] for row in rows]
    head = [cell(h) for h in headers]
    widths = [max([display_width(head[i])] + [display_width(r[i]) for r in body]) for i in range(len(head))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - display_width(v)) for v, w in zip(values, widths)).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out.extend(line(r) for r in body)
    return "\n".join(out)


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def echo_json(data: Any) -> None:
    """Print JSON with Vietnamese text readable (not \\u-escaped); instants in ISO 8601.

    Indented for a person at a terminal; on one line when the output goes to a pipe or a file (a
    script, ``jq``): Python's JSON encoder runs in C only without indentation, which at national
    size is a third of the JSON's cost (a month's ``status --json``, 1 MB: 30 ms → 9 ms)."""
    indent = 2 if _stdout_is_terminal() else None
    click.echo(json.dumps(data, ensure_ascii=False, indent=indent, default=_json_default))


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: a machine reads it
        return False
