"""Fixtures of the contest plugin's tests. The project's fixtures (make_deployment, make_app,
make_user, …) come from ccch_core.testing, a pytest plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for ccch_contest_testing

from ccch_contest_testing import contest_data, load_contest


@pytest.fixture(autouse=True)
def strict_plugins(monkeypatch):
    """Plugins load in strict mode: a plugin that fails to load is an error, not a warning."""
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    monkeypatch.delenv("CCCH_CONFIG", raising=False)


@pytest.fixture
def dep(make_deployment):
    """A migrated Đức Thọ deployment with the contest plugin enabled."""
    return make_deployment(plugins=("contest",))


@pytest.fixture
def contest(dep):
    """The example contest (both audiences, the 89 example questions), published, with round 1
    closed yesterday and round 2 open now."""
    return load_contest(dep, contest_data())
