"""The export plugin's tests use ccch_core.testing's fixtures (make_deployment, make_app…)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for export_testing


@pytest.fixture(autouse=True)
def strict_plugins(monkeypatch):
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    monkeypatch.delenv("CCCH_CONFIG", raising=False)
