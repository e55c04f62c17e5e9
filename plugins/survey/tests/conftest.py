"""Fixtures of the survey plugin's tests: real deployments (ccch_core.testing), real SQLite, the
real Flask app with CSRF on. Nothing of ours is mocked."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for ccch_survey_testing

from ccch_survey.definition import load_definition
from ccch_survey.store import add_placement, save_survey
from ccch_survey_testing import SATISFACTION_INDICATOR, SIPAS


@pytest.fixture(autouse=True)
def strict_plugins(monkeypatch):
    """Plugins load in strict mode: a plugin that fails to import fails the test."""
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    monkeypatch.delenv("CCCH_CONFIG", raising=False)


@pytest.fixture(scope="session")
def survey_plan_path(tmp_path_factory, duc_tho_plan_path) -> Path:
    """The Đức Thọ plan with one more indicator fed by the survey (source = plugin:survey_satisfaction)."""
    path = tmp_path_factory.mktemp("plan") / "plan.toml"
    path.write_text(duc_tho_plan_path.read_text(encoding="utf-8") + SATISFACTION_INDICATOR, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sipas():
    """The SIPAS-style template of examples/surveys."""
    return load_definition(SIPAS)


@pytest.fixture
def survey_deployment(make_deployment, survey_plan_path, sipas):
    """Factory: a migrated deployment with the survey plugin and the SIPAS survey loaded."""

    def factory(**settings):
        dep = make_deployment(plugins=("survey",), plan_path=survey_plan_path,
                              plugin_settings={"survey": settings} if settings else None)
        save_survey(dep.db, sipas)
        return dep

    return factory


@pytest.fixture
def dep(survey_deployment):
    """A deployment with the SIPAS survey (default settings)."""
    return survey_deployment()


@pytest.fixture
def poster(dep):
    """A poster at An Dũng's one-stop desk."""
    return add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")


@pytest.fixture
def app(dep, make_app):
    return make_app(dep)
