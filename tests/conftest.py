"""Shared fixtures: real SQLite (in memory or a temporary file), the example plans, deployments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ccch_core.builtin.schema import migrations as core_migrations
from ccch_core.deployment import Deployment
from ccch_core.planfile import load_plan
from ccch_core.storage import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for ccch_testing

from ccch_testing import DUC_THO_PLAN, TWO_TIER_PLAN, make_deployment_folder  # noqa: E402


@pytest.fixture(autouse=True)
def strict_plugins(monkeypatch):
    """Tests run plugins in strict mode: a plugin that fails to load is an error, not a warning."""
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    monkeypatch.delenv("CCCH_CONFIG", raising=False)


@pytest.fixture
def fresh_db():
    """An in-memory SQLite database with the core's migrations applied."""
    db = connect(":memory:")
    core_migrations.apply(db)
    yield db
    db.close()


@pytest.fixture(scope="session")
def duc_tho_plan():
    """The Đức Thọ 2024 example plan, loaded once."""
    return load_plan(DUC_THO_PLAN)


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
