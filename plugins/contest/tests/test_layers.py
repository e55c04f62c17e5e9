"""The package is in layers: each module imports only modules of its own layer or below, and no
import cycle exists anywhere — function-level imports included, since a deferred import is how a
cycle hides (issue #16, part 6)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import ccch_contest

PACKAGE = Path(next(iter(ccch_contest.__path__)))  # a namespace package: no __init__.py

LAYERS = [
    # definitions and storage helpers
    {"definition", "settings", "state", "sql", "locking", "schema", "journal", "counting", "trial"},
    # the stored records: contests and their question banks
    {"contests", "bank"},
    # services
    {"checks", "participants", "attempts", "ranking", "lifecycle", "moderation", "personal_data",
     "measures", "exports", "reporting", "detection", "verification", "posters"},
    # the web pages, the command line and the plugin's hooks
    {"cli", "plugin", "web", "web.public", "web.manage", "web.setup_form", "web.review_queue"},
]
LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def _imports(path: Path, name: str) -> set[str]:
    """Modules of the package that ``name`` imports, wherever in the file the import is."""
    package_parts = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[:len(package_parts) - (node.level - 1)] if node.level > 1 else package_parts
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                if node.module is None or target == "":  # from . import x, y
                    for alias in node.names:
                        found.add(".".join([*base, alias.name]))
                else:
                    found.add(target)
            elif node.module and node.module.startswith("ccch_contest"):
                found.add(node.module.removeprefix("ccch_contest").lstrip("."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ccch_contest."):
                    found.add(alias.name.removeprefix("ccch_contest."))
    return {f for f in found if f and f != name}


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p, _module_name(p)) for p in PACKAGE.rglob("*.py")
            if _module_name(p) != ""}


def test_every_module_has_a_layer():
    assert set(_graph()) <= set(LAYER_OF), set(_graph()) - set(LAYER_OF)


def test_no_module_imports_a_higher_layer():
    upward = [(m, t) for m, targets in _graph().items() for t in targets
              if t in LAYER_OF and LAYER_OF[t] > LAYER_OF[m]]
    assert upward == []


def test_no_import_cycle():
    try:
        tuple(TopologicalSorter(_graph()).static_order())
    except CycleError as cycle:  # pragma: no cover - the assertion message names the cycle
        raise AssertionError(f"import cycle: {cycle.args[1]}") from None


def test_the_checker_sees_deferred_imports(tmp_path):
    """The checker itself: a function-level relative import is seen."""
    module = tmp_path / "x.py"
    module.write_text("def f():\n    from .ranking import entries\n    from .. import bank\n", encoding="utf-8")
    assert _imports(module, "web.x") == {"web.ranking", "bank"}
