"""The plugin manager: one per app or CLI invocation, never a global.

Plugins are distributions that declare an entry point in the ``ccch`` group; the entry point's
name is the plugin's one name — the name used to enable it in ``ccch.toml``, shown by
``ccch plugins`` and used for its migration set. The core's own features are ordinary plugin
modules listed in :data:`DEFAULT_PLUGINS`; they cannot be disabled.

Rules:

- installed but not enabled: not loaded, and blocked so nothing registers it by accident;
- enabled but not installed: :class:`PluginError` naming the plugin and what is installed;
- fails to import: reported and skipped, or :class:`PluginError` in strict mode (tests, CI);
- a ``@hookimpl`` whose name is no hook (a typo): :class:`PluginError` at start-up.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import logging
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

import attrs
import pluggy

from . import hookspecs

__all__ = [
    "ENTRY_POINT_GROUP",
    "AvailablePlugin",
    "PluginError",
    "installed_plugins",
]

ENTRY_POINT_GROUP = "ccch"
"""The entry-point group a plugin distribution declares itself in (``[project.entry-points.ccch]``)."""

DEFAULT_PLUGINS: tuple[str, ...] = (
    "ccch_core.builtin.schema",
    "ccch_core.builtin.commands",
    "ccch_core.builtin.web",
    "ccch_core.builtin.data",
    "ccch_core.builtin.messaging",
    "ccch_core.builtin.operations",
    "ccch_core.builtin.local_plans",
)
"""The core's own plugin modules, registered first and never blocked."""

CORE_NAME = "core"

log = logging.getLogger(__name__)


class PluginError(RuntimeError):
    """A plugin problem that stops start-up (message says which plugin and why)."""


@attrs.frozen
class AvailablePlugin:
    """A plugin that can be enabled: its name, how to load it, and where it comes from."""

    name: str
    load: Callable[[], ModuleType]
    version: str | None = None
    distribution: str | None = None
    module: str | None = None


@attrs.frozen
class BrokenPlugin:
    """An enabled plugin that failed to load (non-strict mode)."""

    name: str
    error: str


def installed_plugins() -> dict[str, AvailablePlugin]:
    """Plugins installed in this environment, from entry points of the ``ccch`` group.

    An editable install can list the same entry point twice; identical duplicates are merged,
    while two different distributions claiming one name is an error.
    """
    found: dict[str, AvailablePlugin] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        plugin = AvailablePlugin(
            name=ep.name,
            load=ep.load,
            version=dist.version if dist else None,
            distribution=dist.metadata["Name"] if dist else None,
            module=ep.value,
        )
        previous = found.get(ep.name)
        if previous and previous.module != plugin.module:
            raise PluginError(
                f'two installed distributions provide the plugin "{ep.name}": '
                f"{previous.distribution} ({previous.module}) and {plugin.distribution} ({plugin.module})"
            )
        found[ep.name] = plugin
    return found


class CcchPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers which plugins are enabled, blocked and broken."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.enabled: list[str] = []
        self.blocked_names: list[str] = []
        self.broken: list[BrokenPlugin] = []
        self.versions: dict[str, str | None] = {}

    def plugin_names(self) -> list[str]:
        """Names of the loaded plugins, core modules first, then in enabling order."""
        # A blocked name stays registered with a None plugin: it is not loaded.
        return [name for name, plugin in self.list_name_plugin() if plugin is not None]

    def hooks_of(self, name: str) -> list[str]:
        """Names of the hooks the plugin ``name`` implements."""
        plugin = self.get_plugin(name)
        callers = self.get_hookcallers(plugin) or []
        return sorted(caller.name for caller in callers)

    def each_impl(self, hook_name: str) -> Iterator[tuple[str, pluggy.HookImpl]]:
        """(plugin name, hook implementation) in registration order (core first).

        pluggy calls hooks in reverse registration order; registries want a stable, documented
        order instead, and need to know which plugin registered what.
        """
        caller = getattr(self.hook, hook_name)
        impls = caller.get_hookimpls()
        order = {name: i for i, name in enumerate(self.plugin_names())}
        for impl in sorted(impls, key=lambda i: order.get(i.plugin_name, 0)):
            yield impl.plugin_name, impl

    def collect(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a ``register_*`` hook plugin by plugin; returns (plugin name, registered item).

        Each implementation gets its own ``register`` callback, so the registry knows which
        plugin each item came from.
        """
        items: list[tuple[str, Any]] = []
        for plugin_name, impl in self.each_impl(hook_name):
            collected: list[Any] = []

            def register(*args: Any, _sink=collected, **kw: Any) -> None:
                _sink.append(args[0] if len(args) == 1 and not kw else (args, kw))

            impl.function(**{arg: (register if arg == "register" else kwargs[arg]) for arg in impl.argnames})
            items.extend((plugin_name, item) for item in collected)
        return items


def not_installed_message(name: str, available: Mapping[str, AvailablePlugin]) -> str:
    """Why an enabled plugin cannot load: what is installed, the likely typo, and the
    distribution to install (``ccch-<name>`` is how the project's plugins are named)."""
    installed = ", ".join(sorted(available)) or "none"
    close = difflib.get_close_matches(name, list(available), n=1, cutoff=0.6)
    hint = f' Did you mean "{close[0]}"?' if close else ""
    return (f'plugin "{name}" is enabled in the config but not installed '
            f"(installed plugins: {installed}).{hint} Install its distribution into ccch's environment "
            f"(`pip install ccch-{name}` for the project's plugins, or the wheel you were given: "
            f"`pip install ccch_{name.replace('-', '_')}-*.whl`), or remove it from deployment.plugins.")


def make_plugin_manager(
    enabled: Sequence[str] = (),
    *,
    strict: bool = False,
    available: Mapping[str, AvailablePlugin] | None = None,
) -> CcchPluginManager:
    """Build a fresh plugin manager with the core plugins and the ``enabled`` plugins.

    ``available`` defaults to :func:`installed_plugins`; tests pass their own to load small
    test plugins without installing distributions.
    """
    pm = CcchPluginManager()
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        pm.versions[module_name] = None
    available = installed_plugins() if available is None else dict(available)
    for name in enabled:
        if name in (CORE_NAME, *DEFAULT_PLUGINS):
            raise PluginError(f'"{name}" is part of the core and is always enabled; remove it from plugins')
        plugin = available.get(name)
        if plugin is None:
            raise PluginError(not_installed_message(name, available))
        try:
            module = plugin.load()
            pm.register(module, name=name)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            if strict:
                raise PluginError(f'plugin "{name}" failed to load: {message}') from exc
            log.warning("plugin %r failed to load and is skipped: %s\n%s", name, message, traceback.format_exc())
            pm.broken.append(BrokenPlugin(name, message))
            continue
        pm.enabled.append(name)
        pm.versions[name] = plugin.version
    for name in sorted(set(available) - set(enabled)):
        pm.set_blocked(name)
        pm.blocked_names.append(name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements a hook that does not exist (a typo?): {exc}") from exc
    return pm


def plugin_of(pm: pluggy.PluginManager, module: ModuleType) -> str | None:
    """The name under which ``module`` is registered."""
    return pm.get_name(module)
