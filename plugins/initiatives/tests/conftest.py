"""Fixtures of the initiatives plugin's tests: real deployments (ccch_core.testing), real SQLite,
the real Flask app with CSRF on, real DOCX and PDF files. Nothing of ours is mocked; the clock of
the entry checks is set (``entries.clock``) so that a test can stand at any instant near the close."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for initiatives_testing

from ccch_initiatives import entries as entries_mod
from ccch_initiatives.calls import appoint, save_call
from ccch_initiatives.documents import check_document
from ccch_initiatives.entries import check_form, submit_entry
from initiatives_testing import DURING, docx, entry_form, example_text

from ccch_core.testing import login


@pytest.fixture(autouse=True)
def strict_plugins(monkeypatch):
    """Plugins load in strict mode: a plugin that fails to import fails the test."""
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    monkeypatch.delenv("CCCH_CONFIG", raising=False)


@pytest.fixture
def clock(monkeypatch):
    """``clock.at(instant)`` sets the instant the entry checks see (default: mid-August 2024)."""

    class Clock:
        now = DURING

        def at(self, instant):
            self.now = instant

    c = Clock()
    monkeypatch.setattr(entries_mod, "clock", lambda: c.now.astimezone(dt.UTC))
    return c


@pytest.fixture
def dep(make_deployment):
    return make_deployment(["initiatives"])


@pytest.fixture
def call(dep, clock):
    return save_call(dep, example_text(), actor="test")[0]


@pytest.fixture
def add_entry(dep, call):
    """``add_entry(unit_id="xa-an-dung", authors=[(name, unit)…], document=bytes, **form)`` → Entry."""

    def factory(unit_id="xa-an-dung", authors=None, document=None, now=None, **changes):
        form = entry_form(unit_id=unit_id, **changes)
        authors = authors or [(f"Tác Giả {unit_id}", unit_id)]
        if len(authors) > 1:
            form["entrant_kind"] = "group"
        for i, (name, unit) in enumerate(authors, 1):
            form[f"author_{i}"], form[f"author_unit_{i}"] = name, unit
        fields = check_form(dep.plan, call, form)
        return submit_entry(dep, call, fields, check_document(document or docx()), now=now or DURING)

    return factory


@pytest.fixture
def judges(dep, call, make_user):
    """``judges(units)`` → usernames of new viewer accounts seated as judges of ``units``."""

    def factory(units):
        names = []
        for unit in units:
            username, _ = make_user(dep, "viewer")
            appoint(dep, call, username, "judge", unit, actor="test")
            names.append(username)
        return names

    return factory


@pytest.fixture
def client_for(dep, make_app):
    app = make_app(dep)

    def factory(username=None, password=None):
        client = app.test_client()
        if username:
            from ccch_core.testing import PASSWORD

            assert login(client, username, password or PASSWORD).status_code == 302
        return client

    return factory

