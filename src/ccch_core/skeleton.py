"""A new plugin's skeleton (``ccch plugin new NAME``): a distribution with one hook of each common
kind and a test suite that passes as made, using :mod:`ccch_core.testing` and a small plan of its
own, so it runs outside the ccch repository."""

from __future__ import annotations

import re
import string
from importlib import resources
from pathlib import Path

__all__ = ["PLUGIN_NAME", "SkeletonError", "new_plugin"]

PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
"""A plugin's one name: lower-case ASCII letters and digits, words joined by "-" (``notes``,
``export-html``); at most 40 characters."""

# template file → where it goes in the new distribution ({package}: the import package)
_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "src/{package}/__init__.py",
    "plugin.py.tmpl": "src/{package}/plugin.py",
    "conftest.py.tmpl": "tests/conftest.py",
    "plan.toml.tmpl": "tests/plan.toml",
    "test_plugin.py.tmpl": "tests/test_plugin.py",
}


class SkeletonError(ValueError):
    """The name is not a plugin name (``field`` "name"), or the target folder is not empty
    (``field`` "folder"); the message says which and why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def new_plugin(name: str, folder: Path | str) -> list[Path]:
    """Write the skeleton of the plugin ``name`` (distribution ``ccch-<name>``, package
    ``ccch_<name>``) into ``folder``, which must not exist or be empty; returns the files written.

    Raises :class:`SkeletonError` for a bad name or a folder with files in it (nothing is written).
    """
    if len(name) > 40 or not PLUGIN_NAME.match(name):
        raise SkeletonError("name", f"{name!r} is not a plugin name: use lower-case letters and digits, words joined "
                            "by '-' (for example notes or export-html), at most 40 characters")
    if name == "core":
        raise SkeletonError("name", '"core" is the core\'s own name; choose another')
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise SkeletonError("folder", f"{folder} already exists and is not an empty folder; choose another with --dir")
    values = {"name": name, "dist": f"ccch-{name}", "package": "ccch_" + name.replace("-", "_"),
              "table": name.replace("-", "_")}
    templates = resources.files(__package__) / "plugin_template"
    written = []
    for template, target in _FILES.items():
        path = folder / target.format(**values)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = string.Template(templates.joinpath(template).read_text(encoding="utf-8")).substitute(values)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
