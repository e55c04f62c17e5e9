"""ccch as a third party uses it: wheels (not editable installs) in a fresh virtualenv, and a
plugin made by ``ccch plugin new`` whose own test suite runs in a folder outside the repository.

The wheels of ccch-core, ccch-export and the new plugin are built and installed with
``pip install --no-index --find-links``; the third-party dependencies (Flask, sqlite-utils,
pytest…) are the ones already installed for this test run, offered to the new virtualenv through a
``.pth`` file, without any ccch distribution among them (so nothing of the checkout is importable).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

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


def test_a_new_plugin_passes_its_own_tests_installed_from_wheels(tmp_path):
    plugin_src = tmp_path / "ccch-notes"
    new_plugin("notes", plugin_src)
    wheels = tmp_path / "wheels"
    for project in (ROOT, ROOT / "plugins" / "export", plugin_src):
        run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, project])

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "third_party.pth").write_text(str(third_party_packages(tmp_path)) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CCCH_CONFIG", "VIRTUAL_ENV")}
    # Dependencies resolve against what is installed; our three distributions come from the wheels only.
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index", "--find-links",
         wheels, "ccch-core", "ccch-export", "ccch-notes"], env=env)

    # The plugin's tests, alone in a folder with no ccch checkout above it.
    suite = tmp_path / "elsewhere"
    (suite / "tests").mkdir(parents=True)
    for path in (plugin_src / "tests").iterdir():
        (suite / "tests" / path.name).write_bytes(path.read_bytes())
    where = run([python, "-c", "import ccch_core, ccch_notes; print(ccch_core.__file__); print(ccch_notes.__file__)"],
                cwd=suite, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # from the wheels, not the checkout
    result = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", suite, suite / "tests"],
                 cwd=suite, env={**env, "CCCH_STRICT_PLUGINS": "1"})
    assert "5 passed" in result.stdout, result.stdout

    # The installed command line sees the plugin, and the export plugin's formats, from the wheels.
    listed = run([venv / "bin" / "ccch", "plugin", "new", "--help"], cwd=suite, env=env)
    assert "NAME" in listed.stdout


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
