"""Every hook is documented, implemented somewhere the tests exercise, and described in docs/plugins.md.

The checking functions are tested on fake modules too, so that a check that can never fail is
caught.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import types

import pluggy
import pytest
from ccch_testing import ROOT, load_plugin_samples

from ccch_core import hookspecs
from ccch_core.plugins import DEFAULT_PLUGINS

PLUGINS_DOC = ROOT / "docs" / "plugins.md"
MIN_DOCSTRING = 40


samples = load_plugin_samples()


# -- the checks ---------------------------------------------------------------------------------


def hookspec_names(module: types.ModuleType, project: str = hookspecs.PROJECT) -> list[str]:
    """Names of the functions of ``module`` marked as hook specifications of ``project``."""
    return sorted(
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value) and hasattr(value, f"{project}_spec")
    )


def undocumented_hookspecs(module: types.ModuleType, min_length: int = MIN_DOCSTRING) -> list[str]:
    """Hookspecs whose docstring is missing or shorter than ``min_length`` characters."""
    return [
        name
        for name in hookspec_names(module)
        if len(inspect.cleandoc(getattr(module, name).__doc__ or "")) < min_length
    ]


def hookimpl_names(module: types.ModuleType, project: str = hookspecs.PROJECT) -> set[str]:
    """Names of the hooks ``module`` implements (functions marked ``@hookimpl``)."""
    names = set()
    for name, value in vars(module).items():
        opts = getattr(value, f"{project}_impl", None)
        if inspect.isfunction(value) and opts is not None:
            names.add(opts.get("specname") or name)
    return names


def unimplemented_hookspecs(spec_module: types.ModuleType, impl_modules) -> list[str]:
    """Hookspecs of ``spec_module`` that none of ``impl_modules`` implements."""
    implemented = set().union(*(hookimpl_names(m) for m in impl_modules))
    return [name for name in hookspec_names(spec_module) if name not in implemented]


def undocumented_in(text: str, names) -> list[str]:
    """Hook names that do not appear as a whole word in ``text``."""
    return [name for name in names if not re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text)]


def _fake_spec_module() -> types.ModuleType:
    marker = pluggy.HookspecMarker(hookspecs.PROJECT)
    module = types.ModuleType("fake_hookspecs")

    @marker
    def documented(register):
        """Register documented things: a docstring long enough to tell a plugin author what to do."""

    @marker
    def undocumented(register):
        pass

    @marker
    def terse(register):
        """Register terse things."""

    def not_a_hook(register):
        pass

    for function in (documented, undocumented, terse, not_a_hook):
        setattr(module, function.__name__, function)
    return module


def _core_and_good_modules():
    modules = [importlib.import_module(name) for name in DEFAULT_PLUGINS]
    modules.append(importlib.import_module(samples.module_name("good")))
    return modules


# -- the real hookspecs -------------------------------------------------------------------------


def test_there_are_hookspecs():
    names = hookspec_names(hookspecs)
    assert {"register_migrations", "register_commands", "register_measures", "startup"} <= set(names)
    assert len(names) >= 9


def test_every_hookspec_has_a_docstring():
    assert undocumented_hookspecs(hookspecs) == []


def test_every_hookspec_is_implemented_by_the_core_or_the_good_test_plugin():
    """A hook without an implementation here is a hook without a test (see test_plugins.py)."""
    assert unimplemented_hookspecs(hookspecs, _core_and_good_modules()) == []


def test_every_hook_is_documented_in_docs_plugins_md():
    assert PLUGINS_DOC.exists(), f"{PLUGINS_DOC.relative_to(ROOT)} is missing: every hook must be documented there"
    text = PLUGINS_DOC.read_text(encoding="utf-8")
    assert undocumented_in(text, hookspec_names(hookspecs)) == []


def test_the_documented_import_of_hookimpl_works():
    """hookspecs.py and docs/plugins.md tell plugin authors: ``from ccch_core import hookimpl``."""
    import ccch_core

    assert ccch_core.hookimpl is hookspecs.hookimpl


def test_hook_names_share_the_project_prefix_of_the_markers():
    assert hookspecs.hookspec.project_name == hookspecs.hookimpl.project_name == hookspecs.PROJECT == "ccch"


def test_registry_hooks_take_a_register_callback():
    """Registries are ``register_*`` hooks receiving ``register`` (``register_commands`` gets the group)."""
    for name in hookspec_names(hookspecs):
        if name.startswith("register_") and name != "register_commands":
            assert "register" in inspect.signature(getattr(hookspecs, name)).parameters, name


# -- the checks on fake modules: they can fail ---------------------------------------------------


def test_hookspec_names_finds_only_marked_functions():
    assert hookspec_names(_fake_spec_module()) == ["documented", "terse", "undocumented"]


def test_undocumented_hookspecs_reports_missing_and_short_docstrings():
    assert undocumented_hookspecs(_fake_spec_module()) == ["terse", "undocumented"]


def test_unimplemented_hookspecs_reports_hooks_nobody_implements():
    fake = _fake_spec_module()
    marker = pluggy.HookimplMarker(hookspecs.PROJECT)
    plugin = types.ModuleType("fake_plugin")

    @marker
    def documented(register):
        pass

    @marker(specname="terse")
    def terse_impl(register):
        pass

    plugin.documented = documented
    plugin.terse_impl = terse_impl
    assert unimplemented_hookspecs(fake, [plugin]) == ["undocumented"]
    assert unimplemented_hookspecs(fake, []) == ["documented", "terse", "undocumented"]


def test_undocumented_in_matches_whole_names_only():
    text = "## `register_measures`\n\nCall register_migrations_later() ..."
    assert undocumented_in(text, ["register_measures", "register_migrations", "startup"]) == [
        "register_migrations",
        "startup",
    ]


@pytest.mark.parametrize("hook", hookspec_names(hookspecs))
def test_good_sample_implements_each_hook_with_the_spec_signature(hook):
    good = importlib.import_module(samples.module_name("good"))
    spec_params = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    impl_params = list(inspect.signature(getattr(good, hook)).parameters)
    assert impl_params == spec_params
