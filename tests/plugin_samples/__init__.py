"""Small plugin modules used by the tests (never installed as distributions).

Tests load them through :func:`available`, which returns ``AvailablePlugin`` entries to pass as
``available=`` to ``make_plugin_manager`` / ``make_cli`` instead of the installed entry points.

- ``good``: implements every hook of :mod:`ccch_core.hookspecs`;
- ``broken``: raises ImportError when imported;
- ``typo``: a ``@hookimpl`` named ``register_comands`` (no such hook);
- ``wrong_set``: registers a migration set whose name is not the plugin's name;
- ``dup_measure``: registers the measure name ``good_measure`` that ``good`` also registers.
"""

from __future__ import annotations

import importlib

from ccch_core.plugins import AvailablePlugin

SAMPLE_NAMES = ("good", "broken", "typo", "wrong_set", "dup_measure")


def module_name(sample: str) -> str:
    """The importable name of a sample module."""
    return f"{__name__}.{sample}"


def available(*samples: str, names: dict[str, str] | None = None) -> dict[str, AvailablePlugin]:
    """``AvailablePlugin`` entries for the given samples (default: all of them).

    ``names`` maps a sample to the plugin name it is offered under (default: the sample's name).
    """
    names = names or {}
    result = {}
    for sample in samples or SAMPLE_NAMES:
        plugin_name = names.get(sample, sample)
        target = module_name(sample)
        result[plugin_name] = AvailablePlugin(
            name=plugin_name,
            load=lambda target=target: importlib.import_module(target),
            version="1.0",
            module=target,
        )
    return result
