"""The small things that stopped a third party (issue #24): messages that name a distribution to
install (never a checkout path) and a likely typo, counts in words, the formats in
``ccch report --help``, a new config that points at nothing a wheel lacks, and docs/cli.md naming
every command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import plugin_samples as samples
import pytest
from click.testing import CliRunner

from ccch_core import PluginError
from ccch_core.cli import make_cli
from ccch_core.plugins import installed_plugins, make_plugin_manager

ROOT = Path(__file__).resolve().parents[1]
SMALL_PLAN = ROOT / "src" / "ccch_core" / "plugin_template" / "plan.toml.tmpl"


def test_a_mistyped_plugin_gets_did_you_mean_and_a_distribution_to_install():
    with pytest.raises(PluginError) as info:
        make_plugin_manager(["surevy"], available=installed_plugins())
    message = str(info.value)
    assert 'plugin "surevy" is enabled in the config but not installed' in message
    assert 'Did you mean "survey"?' in message
    assert "pip install ccch-surevy" in message and "-e" not in message and "plugins/" not in message


def test_an_unknown_plugin_gets_no_wrong_guess():
    with pytest.raises(PluginError) as info:
        make_plugin_manager(["zalo-bot"], available=samples.available("good"))
    assert "Did you mean" not in str(info.value) and "pip install ccch-zalo-bot" in str(info.value)


def test_plan_validate_counts_in_words(tmp_path):
    (tmp_path / "plan.toml").write_text(SMALL_PLAN.read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(make_cli(None), ["plan", "validate", str(tmp_path / "plan.toml")])
    assert result.exit_code == 0, result.output
    assert "3 units, 1 indicator (1 quantitative), 1 task, 0 reporting rules." in result.output


def test_report_help_lists_the_formats_of_the_enabled_plugins(make_deployment):
    dep = make_deployment(["export", "export-html"])
    result = CliRunner().invoke(make_cli(dep.config.path), ["report", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "docx: Word (Nghị định 30/2020)" in text and "html: Trang HTML (in được)" in text
    plain = make_deployment(["export"])
    text = " ".join(CliRunner().invoke(make_cli(plain.config.path), ["report", "--help"]).output.split())
    assert "md: Markdown" in text and "html" not in text


def test_init_writes_no_path_into_a_checkout(tmp_path, duc_tho_plan_path):
    result = CliRunner().invoke(make_cli(None), ["init", str(tmp_path / "d"), "--plan", str(duc_tho_plan_path)])
    assert result.exit_code == 0, result.output
    config = (tmp_path / "d" / "ccch.toml").read_text(encoding="utf-8")
    assert "docs/" not in config and "deploy.md in the ccch documentation" in config


def every_command(group: click.Group, prefix: str = "ccch") -> list[str]:
    """The top-level commands (``ccch NAME``) of the command line."""
    ctx = click.Context(group)
    return [f"{prefix} {name}" for name in group.list_commands(ctx)]


def test_docs_cli_md_names_every_command_of_the_repository(make_deployment):
    """Every top-level command, with every plugin of the repository enabled, has a row in
    docs/cli.md's tables (a new command without one fails here: add the row)."""
    names = sorted(n for n in installed_plugins() if n in {"export", "survey", "contest", "feedback", "initiatives",
                                                          "reminders", "export-html"})
    dep = make_deployment(names)
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(ccch [a-z-]+)", text, flags=re.MULTILINE))
    missing = [c for c in every_command(make_cli(dep.config.path)) if c not in rows]
    assert not missing, f"docs/cli.md has no table row for: {', '.join(missing)}"


def test_the_options_docs_cli_md_shows_exist(make_deployment):
    """Each row's command (its first code span) resolves to a real command, and every ``--option``
    the row shows is an option of that command: the table cannot drift from the code."""
    names = sorted(n for n in installed_plugins() if n in {"export", "survey", "contest", "feedback", "initiatives",
                                                          "reminders", "export-html"})
    dep = make_deployment(names)
    cli = make_cli(dep.config.path)
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    problems, checked = [], 0
    for span in re.findall(r"^\| `(ccch [^`]+)`", text, flags=re.MULTILINE):
        words = span.split()[1:]
        command, ctx = cli, click.Context(cli)
        for word in words:
            if not isinstance(command, click.Group) or not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            sub = command.get_command(ctx, word)
            if sub is None:
                problems.append(f"`{span}`: no command {word!r}")
                break
            command, ctx = sub, click.Context(sub, parent=ctx)
        known = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", span):
            checked += 1
            if option not in known:
                problems.append(f"`{span}`: {' '.join(ctx.command_path.split()[1:])} has no option {option}")
    assert checked > 40
    assert not problems, "\n".join(problems)


def transcript_commands(doc: str) -> list[tuple[str, str]]:
    """Each ``$ ccch …`` line of a document's transcripts, with the line that follows it."""
    lines = (ROOT / "docs" / doc).read_text(encoding="utf-8").splitlines()
    return [(line[2:], lines[i + 1] if i + 1 < len(lines) else "") for i, line in enumerate(lines)
            if line.startswith("$ ccch ")]


def test_the_transcripts_of_plugins_md_and_cli_md_run(tmp_path, monkeypatch, duc_tho_plan_path):
    """Every ``$ ccch …`` command docs/plugins.md and docs/cli.md show runs, in document order, in
    a deployment made as the tutorial's (``ductho/``, export and reminders enabled): exit status 0,
    or the error the transcript shows. ``serve`` is left out (it serves until stopped)."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made = runner.invoke(make_cli(None), ["init", "ductho", "--plan", str(duc_tho_plan_path),
                                          "--plugin", "export", "--plugin", "reminders"])
    assert made.exit_code == 0, made.output
    ran = 0
    for command, following in transcript_commands("plugins.md"):
        argv = shlex.split(command)[1:]
        if argv[-1] == "serve":
            continue
        result = runner.invoke(make_cli(argv=argv), argv, input="n\n")
        ran += 1
        if following.startswith("Error:"):
            assert result.exit_code != 0 and following in result.output, (command, result.output)
        else:
            assert result.exit_code == 0, (command, result.output)
    assert ran >= 12
    # docs/cli.md's two, in a deployment that holds nothing about the person: the not-found
    # message and exit status 1 the page describes, and an audit log read.
    for command, _ in transcript_commands("cli.md"):
        argv = ["-c", "ductho/ccch.toml", *shlex.split(command)[1:]]
        result = runner.invoke(make_cli(argv=argv), argv, input="n\n")
        if "privacy erase" in command:
            assert result.exit_code == 1 and "Không tìm thấy dữ liệu cá nhân nào của SĐT 0912***678" in result.output
        else:
            assert result.exit_code == 0, (command, result.output)
