"""The export plugin's tests use ccch_core.testing's fixtures (make_deployment, make_app…)."""

import sys
from pathlib import Path

import pytest

from ccch_core.testing import login

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for export_testing


@pytest.fixture(autouse=True)
def strict_plugins(monkeypatch):
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    monkeypatch.delenv("CCCH_CONFIG", raising=False)


@pytest.fixture
def admin(dep, make_app, make_user):
    """A test client signed in as a plan administrator of the test module's ``dep``."""
    client = make_app(dep).test_client()
    name, password = make_user(dep, "plan_admin")
    assert login(client, name, password).status_code == 302
    return client
