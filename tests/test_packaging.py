"""Every distribution in the repository ships its templates, static files and fonts in its wheel.

An editable install (what the tests use) reads files from the checkout, so a missing
``package-data`` entry only shows on a real deployment (``pip install .``) as a template-not-found
error. This builds each wheel and compares it with the package folders.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = [ROOT, *sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml")),
            *sorted(p.parent for p in ROOT.glob("examples/*/pyproject.toml"))]
SKIP_SUFFIXES = {".py", ".pyc"}


def data_files(project: Path) -> set[str]:
    """Non-Python files inside the project's packages (paths as they appear in a wheel)."""
    src = project / "src"
    found = set()
    for package in (p for p in src.iterdir() if (p / "__init__.py").exists()):
        for path in package.rglob("*"):
            if path.is_file() and path.suffix not in SKIP_SUFFIXES and "__pycache__" not in path.parts:
                found.add(path.relative_to(src).as_posix())
    return found


@pytest.mark.parametrize("project", PROJECTS, ids=[p.name if p != ROOT else "ccch-core" for p in PROJECTS])
def test_wheel_contains_package_data(project, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(project)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [wheel] = list(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(data_files(project) - names)
    assert not missing, f"{project.name}: add to [tool.setuptools.package-data]: {missing}"


def test_flasks_range_is_the_one_whose_internals_the_web_shell_copies():
    """ccch_core.web saves the session as Flask 3.1's save_session does (its partitioned cookie)
    and reads the MAX_FORM_MEMORY_SIZE and MAX_FORM_PARTS settings that 3.1 added: under Flask
    3.0 every session written and every form posted would fail, and a newer minor version may
    change what was copied. The installed Flask is within the range."""
    import tomllib
    from importlib.metadata import version

    from packaging.requirements import Requirement

    requirements = [Requirement(text) for text in
                    tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]]
    (flask,) = [r for r in requirements if r.name.lower() == "flask"]
    assert not flask.specifier.contains("3.0.3") and not flask.specifier.contains("3.2.0"), flask
    assert flask.specifier.contains(version("flask")), (flask, version("flask"))
