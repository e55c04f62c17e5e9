"""ccch as a third party uses it: wheels (not editable installs) in a fresh virtualenv, and a
plugin made by ``ccch plugin new`` whose own test suite runs in a folder outside the repository.

The wheels of ccch-core, ccch-export, ccch-survey and the new plugin are built (``pip wheel
--no-deps``: the build step of deploy.md that downloads the dependencies' wheels is the one part
not run here) and installed with ``pip install --no-index --find-links wheelhouse``, as deploy.md's
"From wheels" section says; the third-party dependencies (Flask, sqlite-utils, pytest…) are the ones
already installed for this test run, offered to the new virtualenv through a ``.pth`` file, without
any ccch distribution among them (so nothing of the checkout is importable).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from ccch_core.skeleton import new_plugin

ROOT = Path(__file__).resolve().parents[1]


def run(command, **kwargs):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def third_party_packages(tmp_path: Path) -> Path:
    """A folder of links to this environment's installed packages, minus ccch's own (and the
    editable-install hooks that would put the checkout on the path)."""
    folder = tmp_path / "third-party"
    folder.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        lowered = entry.name.lower()
        if lowered.startswith(("ccch", "__editable__", "__pycache__")) \
                or entry.suffix == ".pth":
            continue
        (folder / entry.name).symlink_to(entry)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A folder as a server sees it after the copy: ``wheelhouse/`` with the wheels of ccch-core,
    ccch-export, ccch-survey and a plugin made by ``ccch plugin new notes``, and ``plan.toml``."""
    root = tmp_path_factory.mktemp("server")
    plugin_src = root.parent / f"{root.name}-ccch-notes"
    new_plugin("notes", plugin_src)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", root / "wheelhouse",
         ROOT, ROOT / "plugins" / "export", ROOT / "plugins" / "survey", plugin_src])
    (root / "plan.toml").write_bytes((ROOT / "examples" / "two-tier-province" / "plan.toml").read_bytes())
    return root, plugin_src


def make_venv(server_root: Path, tmp_path: Path) -> Path:
    """``python3 -m venv venv`` in the server folder, with this environment's third-party packages
    (not ccch's) visible to it; returns the venv's python. Without its own pip (10 s saved): its
    ``venv/bin/pip install …`` is run as ``pip --python venv/bin/python install …``, which installs
    into it the same way."""
    venv = server_root / "venv"
    if not venv.exists():
        run([sys.executable, "-m", "venv", "--without-pip", venv])
        python = venv / "bin" / "python"
        site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
        (site / "third_party.pth").write_text(str(third_party_packages(tmp_path)) + "\n", encoding="utf-8")
    return venv / "bin" / "python"


ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CCCH_CONFIG", "VIRTUAL_ENV")}


def deploy_md_wheel_commands() -> list[str]:
    """The server-side commands of deploy.md's "From wheels, on a server without internet"."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    part = text.split("### From wheels, on a server without internet", 1)[1]
    blocks = re.findall(r"```sh\n(.*?)```", part, flags=re.DOTALL)
    return [line for line in blocks[1].splitlines() if line.strip()]


def test_deploy_md_wheel_commands_work_as_written(server, tmp_path):
    """Every server-side command of that section runs, as written, in the server folder: the venv,
    the offline install, init with the agency's own plan, the plugins, the built-in survey, a report."""
    root, _ = server
    commands = deploy_md_wheel_commands()
    assert commands[0] == "python3 -m venv venv" and "--no-index --find-links wheelhouse" in commands[1]
    python = make_venv(root, tmp_path)  # the first command, with this test's interpreter
    outputs = []
    for line in commands[1:]:
        argv = shlex.split(line)
        if argv[0] == "venv/bin/pip":
            argv = [sys.executable, "-m", "pip", "--python", python, *argv[1:]]
        else:
            argv[0] = root / argv[0]
        outputs.append(run(argv, cwd=root, env={**ENV, "CCCH_STRICT_PLUGINS": "1"}).stdout)
    code = "import ccch_core, ccch_survey; print(ccch_core.__file__, ccch_survey.__file__)"
    where = run([root / "venv" / "bin" / "python", "-c", code], cwd=root, env=ENV).stdout.split()
    assert all(Path(p).is_relative_to(root / "venv") for p in where), where  # the wheels, not the checkout
    assert "survey" in outputs[2] and "export" in outputs[2]  # ccch plugins
    assert "sipas" in outputs[3] and "16" in outputs[3]  # ccch survey templates
    assert "sipas: version 1 saved (16 questions)." in outputs[4]
    report = root / "bao-cao-2026-03.docx"
    assert report.stat().st_size > 5000 and report.read_bytes()[:2] == b"PK"


def test_a_new_plugin_passes_its_own_tests_installed_from_wheels(server, tmp_path):
    root, plugin_src = server
    python = make_venv(root, tmp_path)
    # Dependencies resolve against what is installed; our distributions come from the wheels only.
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index", "--find-links",
         root / "wheelhouse", "ccch-core", "ccch-export", "ccch-notes"], env=ENV)

    # The plugin's tests, alone in a folder with no ccch checkout above it.
    suite = tmp_path / "elsewhere"
    (suite / "tests").mkdir(parents=True)
    for path in (plugin_src / "tests").iterdir():
        (suite / "tests" / path.name).write_bytes(path.read_bytes())
    where = run([python, "-c", "import ccch_core, ccch_notes; print(ccch_core.__file__); print(ccch_notes.__file__)"],
                cwd=suite, env=ENV).stdout.split()
    assert all(Path(p).is_relative_to(root / "venv") for p in where), where  # from the wheels, not the checkout
    result = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", suite, suite / "tests"],
                 cwd=suite, env={**ENV, "CCCH_STRICT_PLUGINS": "1"})
    assert "5 passed" in result.stdout, result.stdout


def test_plugin_new_refuses_a_bad_name_and_a_folder_in_use(tmp_path):
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    runner = CliRunner()
    result = runner.invoke(make_cli(None), ["plugin", "new", "Ghi_Chu", "--dir", str(tmp_path / "a")])
    assert result.exit_code == 2 and "'Ghi_Chu' is not a plugin name" in result.output
    assert not (tmp_path / "a").exists()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("mine", encoding="utf-8")
    result = runner.invoke(make_cli(None), ["plugin", "new", "notes", "--dir", str(tmp_path / "b")])
    assert result.exit_code == 2 and "--dir" in result.output and "not an empty folder" in result.output
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["keep.txt"]
    result = runner.invoke(make_cli(None), ["plugin", "new", "ghi-chu", "--dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c" / "src" / "ccch_ghi_chu" / "plugin.py").exists()
    assert 'ghi-chu = "ccch_ghi_chu.plugin"' in (tmp_path / "c" / "pyproject.toml").read_text(encoding="utf-8")
    # The skeleton is clean under ruff's defaults in its own project (a third party lints it).
    lint = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--isolated", "."],
                          cwd=tmp_path / "c", capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout


def test_docs_plugins_md_skeleton_commands_work_as_written(server, tmp_path):
    """docs/plugins.md's "Start from a skeleton" block, line by line, in a fresh virtualenv with
    ccch-core from its wheel (its ``pip`` is run as ``pip --python``, as above; ``cd`` moves the
    folder the next lines run in)."""
    root, _ = server
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    block = re.findall(r"```sh\n(.*?)```", text.split("## Start from a skeleton", 1)[1], flags=re.DOTALL)[0]
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]
    assert lines == ["ccch plugin new notes", "cd ccch-notes", "pip install -e '.[test]'", "python -m pytest"]
    run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv"])
    python = tmp_path / "venv" / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "third_party.pth").write_text(str(third_party_packages(tmp_path)) + "\n", encoding="utf-8")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index", "--find-links",
         root / "wheelhouse", "ccch-core"], env=ENV)
    cwd = tmp_path / "work"
    cwd.mkdir()
    outputs = []
    for line in lines:
        argv = shlex.split(line)
        if argv[0] == "cd":
            cwd = cwd / argv[1]
            continue
        if argv[0] == "pip":
            argv = [sys.executable, "-m", "pip", "--python", python, *argv[1:]]
        elif argv[0] == "python":
            argv = [python, *argv[1:]]
        else:
            argv[0] = python.parent / argv[0]
        outputs.append(run(argv, cwd=cwd, env={**ENV, "CCCH_STRICT_PLUGINS": "1"}).stdout)
    assert "5 passed" in outputs[-1], outputs[-1]
