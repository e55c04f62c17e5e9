"""The plugin's tests use only the fixtures ccch-core provides (ccch_core.testing, loaded by
pytest through ccch-core's ``pytest11`` entry point): make_deployment, make_app, make_user."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def strict_plugins(monkeypatch):
    """A plugin that fails to load is an error here, not a warning (as in CI)."""
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    monkeypatch.delenv("CCCH_CONFIG", raising=False)
