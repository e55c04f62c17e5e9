"""The export plugin's tests use ccch_core.testing's fixtures (make_deployment, make_app…)."""

import pytest


@pytest.fixture(autouse=True)
def strict_plugins(monkeypatch):
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    monkeypatch.delenv("CCCH_CONFIG", raising=False)
