"""The core's public API is listed once (``__all__`` of ``ccch_core`` and of each public submodule),
documented, and the only part of the core the plugins in this repository use.

A submodule is public when it defines ``__all__``; a name is public when it is in that list. A
plugin under ``plugins/`` or ``examples/`` that imports anything else fails here with the file, the
line and what to do. The checks run on small fake sources too, so that a check that cannot fail is
caught.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import types
from pathlib import Path

import ccch_core

ROOT = Path(__file__).resolve().parents[1]
PLUGINS_DOC = ROOT / "docs" / "plugins.md"
FIX = ("use a public name (docs/plugins.md, \"What a plugin may use\"), or make it public: add it to "
       "__all__ in {source}, give it a docstring and list it in docs/plugins.md")


def plugin_sources() -> list[Path]:
    """The Python files of every plugin distribution in the repository (not their tests)."""
    files = []
    for src in sorted([*ROOT.glob("plugins/*/src"), *ROOT.glob("examples/*/src")]):
        files += [p for p in sorted(src.rglob("*.py")) if "build" not in p.relative_to(src).parts]
    return files


def public_module(name: str) -> types.ModuleType | None:
    """The module ``name`` if it is ccch_core or a public submodule of it (it has ``__all__``)."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    return module if hasattr(module, "__all__") else None


def _source_of(module_name: str) -> str:
    path = module_name.replace(".", "/")
    return f"src/{path}.py" if not (ROOT / "src" / path).is_dir() else f"src/{path}/__init__.py"


def import_problems(source: str, filename: str) -> list[str]:
    """Every use of a non-public part of ccch_core in ``source``: ``from ccch_core.x import y``,
    ``import ccch_core.x``, and ``x.y`` where ``x`` was imported as a ccch_core module."""
    problems = []
    tree = ast.parse(source, filename)
    modules: dict[str, str] = {}  # local name → ccch_core module it is bound to

    def check_name(module_name: str, name: str, line: int, statement: str):
        module = public_module(module_name)
        if module is None:
            problems.append(f"{filename}:{line}: `{statement}`: {module_name} is not a public module of ccch_core "
                            f"(it has no __all__); " + FIX.format(source=_source_of(module_name)))
            return None
        if name in module.__all__:
            submodule = public_module(f"{module_name}.{name}")
            return submodule.__name__ if submodule is not None else None
        if public_module(f"{module_name}.{name}") is not None:
            return f"{module_name}.{name}"
        problems.append(f"{filename}:{line}: `{statement}`: {name} is not in {module_name}.__all__; "
                        + FIX.format(source=_source_of(module_name)))
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and (node.module == "ccch_core" or node.module.startswith("ccch_core.")):
            for alias in node.names:
                statement = f"from {node.module} import {alias.name}"
                bound = check_name(node.module, alias.name, node.lineno, statement)
                if bound:
                    modules[alias.asname or alias.name] = bound
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ccch_core."):
                    parent, _, name = alias.name.rpartition(".")
                    bound = check_name(parent, name, node.lineno, f"import {alias.name}")
                    if bound and alias.asname:
                        modules[alias.asname] = bound
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            module_name = modules[node.value.id]
            check_name(module_name, node.attr, node.lineno, f"{node.value.id}.{node.attr}")
    return problems


def public_modules() -> list[types.ModuleType]:
    """ccch_core and every submodule that defines ``__all__``."""
    found = [ccch_core]
    for info in pkgutil.walk_packages(ccch_core.__path__, "ccch_core."):
        module = public_module(info.name)
        if module is not None:
            found.append(module)
    return found


def _constant_documented(module: types.ModuleType, name: str) -> bool:
    """A constant has a string on the line after it, or ``#:`` comments above it."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return False
    tree = ast.parse(source)
    lines = source.splitlines()
    for i, node in enumerate(tree.body):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            following = tree.body[i + 1] if i + 1 < len(tree.body) else None
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) \
                    and isinstance(following.value.value, str):
                return True
            return node.lineno >= 2 and lines[node.lineno - 2].lstrip().startswith("#:")
    return False


def documentation_problems(modules, docs_text: str, used: set[str] = frozenset()) -> list[str]:
    """Public names without a docstring, public modules without one, and modules that plugins
    use (``used``) but docs/plugins.md does not name."""
    problems = []
    for module in modules:
        if not (module.__doc__ or "").strip():
            problems.append(f"{module.__name__} is public (it has __all__) but has no module docstring: add one")
        if module.__name__ in used and f"`{module.__name__}" not in docs_text:
            problems.append(f"{module.__name__} is used by plugins but docs/plugins.md does not name it: "
                            "add it to \"What a plugin may use\"")
        for name in module.__all__:
            value = getattr(module, name, None)
            if value is None and not hasattr(module, name):
                problems.append(f"{module.__name__}.__all__ lists {name}, which the module does not define")
                continue
            if name.startswith("__"):
                continue
            if inspect.ismodule(value) or inspect.isclass(value) or callable(value):
                doc = value.__doc__ if not inspect.isclass(value) else vars(value).get("__doc__")
                if not (doc or "").strip():
                    problems.append(f"{module.__name__}.{name} is public but has no docstring: add one")
            elif not _constant_documented(module, name) and f"`{name}`" not in docs_text:
                problems.append(f"{module.__name__}.{name} is public but undocumented: put a string on the line after "
                                "it (or name it in docs/plugins.md)")
    return problems


# -- the repository ------------------------------------------------------------------------------


def test_plugins_use_only_the_public_api():
    files = plugin_sources()
    assert any("ccch_survey" in str(p) for p in files) and any("ccch_export_html" in str(p) for p in files)
    problems = []
    for path in files:
        problems += import_problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not problems, "\n".join(problems)


def modules_used_by_plugins() -> set[str]:
    """The ccch_core modules that the plugins in the repository import from (or import)."""
    used = set()
    for path in plugin_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("ccch_core"):
                used.add(node.module)
                used.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                used.update(a.name for a in node.names if a.name.startswith("ccch_core"))
    return used


def test_every_public_name_is_documented():
    """Every public name has a docstring; every public module a plugin uses is named in
    docs/plugins.md (a public module added later needs only its docstrings until a plugin uses it)."""
    modules = public_modules()
    assert {"ccch_core.report", "ccch_core.text", "ccch_core.testing"} <= {m.__name__ for m in modules}
    used = modules_used_by_plugins()
    assert {"ccch_core.report", "ccch_core.text", "ccch_core.posters"} <= used
    problems = documentation_problems(modules, PLUGINS_DOC.read_text(encoding="utf-8"), used)
    assert not problems, "\n".join(problems)


# -- the checks themselves -----------------------------------------------------------------------


def test_the_import_check_finds_private_names_and_modules():
    source = ("from ccch_core import hookimpl, text\n"
              "from ccch_core.storage import write_transaction, _private_helper\n"
              "from ccch_core.builtin import schema\n"
              "import ccch_core.builtin.web\n"
              "def f():\n"
              "    return text.slugify('a'), text._SPACES\n")
    problems = import_problems(source, "plugin.py")
    assert len(problems) == 4, problems
    assert re.search(r"plugin.py:2: `from ccch_core.storage import _private_helper`: _private_helper is not in "
                     r"ccch_core.storage.__all__; .*add it to __all__ in src/ccch_core/storage.py", problems[0])
    assert "plugin.py:3:" in problems[1] and "ccch_core.builtin is not a public module" in problems[1]
    assert "plugin.py:4:" in problems[2]
    assert "plugin.py:6: `text._SPACES`" in problems[3]
    assert import_problems("from ccch_core.report import ExportOptions\nimport ccch_core.text\n", "ok.py") == []


def test_the_documentation_check_finds_undocumented_names():
    fake = types.ModuleType("ccch_core.fake", "A fake public module.")
    fake.__all__ = ["documented", "bare", "CONSTANT", "missing"]

    def documented():
        """Has a docstring."""

    def bare():
        pass

    fake.documented, fake.bare, fake.CONSTANT = documented, bare, 3
    problems = documentation_problems([fake], "docs naming `ccch_core.fake`", {"ccch_core.fake"})
    assert problems == ["ccch_core.fake.bare is public but has no docstring: add one",
                        ("ccch_core.fake.CONSTANT is public but undocumented: put a string on the line after it "
                         "(or name it in docs/plugins.md)"),
                        "ccch_core.fake.__all__ lists missing, which the module does not define"]
    assert documentation_problems([fake], "", {"ccch_core.fake"})[0].startswith(
        "ccch_core.fake is used by plugins but docs/plugins.md does not name it")
    assert "ccch_core.fake is used by plugins" not in " ".join(documentation_problems([fake], "", set()))
    fake.__doc__ = None
    assert documentation_problems([fake], "", set())[0] == ("ccch_core.fake is public (it has __all__) but has no "
                                                            "module docstring: add one")
