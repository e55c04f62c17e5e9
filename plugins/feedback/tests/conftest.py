"""Fixtures of the feedback plugin's tests: real deployments (ccch_core.testing), real SQLite, the
real Flask app with CSRF on, the outbox with the development ``folder`` sender. Nothing is mocked."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for ccch_feedback_testing

from ccch_feedback_testing import FEEDBACK_INDICATORS

from ccch_core.contacts import add_contact

MESSAGES = {"channels": {"email": {"sender": "folder"}, "sms": {"sender": "folder"}}}


@pytest.fixture(autouse=True)
def strict_plugins(monkeypatch):
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    monkeypatch.delenv("CCCH_CONFIG", raising=False)


@pytest.fixture(scope="session")
def feedback_plan_path(tmp_path_factory, duc_tho_plan_path) -> Path:
    """The Đức Thọ plan with two indicators fed by the plugin's measures."""
    path = tmp_path_factory.mktemp("plan") / "plan.toml"
    path.write_text(duc_tho_plan_path.read_text(encoding="utf-8") + FEEDBACK_INDICATORS, encoding="utf-8")
    return path


@pytest.fixture
def feedback_deployment(make_deployment, feedback_plan_path):
    """Factory: a migrated deployment with the feedback plugin, folder senders and unit contacts."""

    def factory(**settings):
        dep = make_deployment(plugins=("feedback",), plan_path=feedback_plan_path, messages=MESSAGES,
                              plugin_settings={"feedback": settings} if settings else None)
        add_contact(dep, "phong-vhtt", "email", "vhtt@ductho.gov.vn")
        add_contact(dep, "phong-tu-phap", "email", "tuphap@ductho.gov.vn")
        add_contact(dep, "phong-noi-vu", "sms", "0912000111")
        return dep

    return factory


@pytest.fixture
def dep(feedback_deployment):
    return feedback_deployment()


@pytest.fixture
def app(dep, make_app):
    return make_app(dep)
