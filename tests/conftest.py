"""Fixtures of the core test suite. The shared ones (fresh_db, duc_tho_plan, make_deployment,
make_app, make_user) come from ccch_core.testing, a pytest plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ccch_core.deployment import Deployment
from ccch_core.planfile import load_plan
from ccch_core.testing import login

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for ccch_testing

from ccch_testing import TWO_TIER_PLAN, make_deployment_folder


@pytest.fixture(autouse=True)
def strict_plugins(monkeypatch):
    """Tests run plugins in strict mode: a plugin that fails to load is an error, not a warning."""
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    monkeypatch.delenv("CCCH_CONFIG", raising=False)


@pytest.fixture(scope="session")
def two_tier_plan():
    """The two-tier (province → communes) example plan."""
    return load_plan(TWO_TIER_PLAN)


@pytest.fixture
def deployment_config(tmp_path) -> Path:
    """The config path of a fresh Đức Thọ deployment in a temporary folder."""
    return make_deployment_folder(tmp_path / "deployment")


@pytest.fixture
def deployment(deployment_config):
    """An opened, migrated Đức Thọ deployment on a temporary SQLite file."""
    dep = Deployment.open(deployment_config, migrate=True)
    yield dep
    dep.close()


@pytest.fixture
def client_as(dep, make_app, make_user):
    """``client_as(role, unit_id=None)``: a test client signed in as a new user of that role, on
    the test module's ``dep`` (a module with another signature defines its own)."""
    app = make_app(dep)

    def factory(role, unit_id=None):
        client = app.test_client()
        username, password = make_user(dep, role, unit_id=unit_id)
        assert login(client, username, password).status_code == 302
        return client
    return factory
