"""Helpers shared by the test modules (imported as ``ccch_testing``; conftest puts this folder on
``sys.path``). Named uniquely so that it cannot clash with a plugin's own test helpers."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from ccch_core.config import render_config

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DUC_THO_PLAN = ROOT / "examples" / "duc-tho-2024" / "plan.toml"
TWO_TIER_PLAN = ROOT / "examples" / "two-tier-province" / "plan.toml"
SAMPLES_DIR = TESTS / "plugin_samples"


def make_deployment_folder(folder: Path, plan_file: Path = DUC_THO_PLAN, plugins=()) -> Path:
    """Write a deployment folder (ccch.toml + plan.toml) and return the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plan_file, folder / "plan.toml")
    config = folder / "ccch.toml"
    config.write_text(
        render_config(name="Thử nghiệm", plan="plan.toml", database="ccch.db",
                      public_base_url="https://cchc.example.gov.vn", plugins=list(plugins)),
        encoding="utf-8",
    )
    return config


def load_plugin_samples():
    """Import tests/plugin_samples by path as ``ccch_plugin_samples`` (tests/ is not a package)."""
    name = "ccch_plugin_samples"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, SAMPLES_DIR / "__init__.py", submodule_search_locations=[str(SAMPLES_DIR)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _core_steps() -> list[str]:
    from ccch_core.builtin.schema import migrations

    return [m.name for m in migrations._migrations]


CORE_STEPS = _core_steps()
"""Names of the core's migration steps, in order (tests compare against these, not a copy)."""
