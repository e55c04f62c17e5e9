"""Pytest fixtures for ccch and its plugins (a pytest plugin, loaded through the ``pytest11``
entry point of ccch-core, so plugin test suites get them without importing anything).

Real SQLite, real deployments in temporary folders, the real Flask app with CSRF on:

- ``fresh_db``: an in-memory database with the core's tables;
- ``duc_tho_plan_path`` / ``duc_tho_plan``: the Đức Thọ 2024 example (found from the rootdir);
- ``make_deployment(plugins=(), plan_path=None, messages=None, **config)``: a migrated deployment in
  a new temporary folder, with the named plugins enabled (``messages``: the ``[messages]`` table) (they must be installed, or passed through
  ``available=`` as :class:`ccch_core.plugins.AvailablePlugin`);
- ``make_app(deployment)``: the Flask app of a deployment (testing mode, CSRF on);
- ``make_user(deployment, role, unit_id=None)``: an account, returning (username, password);
- :func:`login` and :func:`csrf_token` helpers for Flask test clients.
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from .builtin.schema import migrations as core_migrations
from .config import load_config
from .deployment import Deployment
from .planfile import load_plan
from .plugins import AvailablePlugin, make_plugin_manager
from .storage import connect

PASSWORD = "mat-khau-thu-nghiem-2024"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_counter = itertools.count(1)


def csrf_token(client, url: str = "/dang-nhap") -> str:
    """The CSRF token of the form at ``url`` (a GET through ``client``)."""
    page = client.get(url).get_data(as_text=True)
    match = _CSRF.search(page)
    if not match:
        raise AssertionError(f"no csrf_token in {url}")
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Sign in through the real login form (with its CSRF token); returns the response."""
    return client.post("/dang-nhap", data={"csrf_token": csrf_token(client), "username": username,
                                           "password": password})


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(doc: Mapping[str, object], prefix: tuple[str, ...] = ()) -> str:
    """A small TOML writer for config documents (tables of scalars, lists and sub-tables)."""
    lines, tables = [], []
    for key, value in doc.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{_toml_value(key) if not key.replace('_', '').replace('-', '').isalnum() else key} = "
                         f"{_toml_value(value)}")
    out = []
    if prefix and (lines or not tables):
        out.append("[" + ".".join(_toml_value(p) if not p.replace("_", "").replace("-", "").isalnum() else p
                                  for p in prefix) + "]")
    out.extend(lines)
    text = "\n".join(out) + ("\n" if out else "")
    for key, value in tables:
        text += "\n" + to_toml(value, (*prefix, key))
    return text


@pytest.fixture
def fresh_db():
    """An in-memory SQLite database with the core's migrations applied."""
    db = connect(":memory:")
    core_migrations.apply(db)
    yield db
    db.close()


@pytest.fixture(scope="session")
def duc_tho_plan_path(pytestconfig) -> Path:
    """Path of examples/duc-tho-2024/plan.toml in the repository being tested."""
    for base in (pytestconfig.rootpath, *pytestconfig.rootpath.parents):
        candidate = base / "examples" / "duc-tho-2024" / "plan.toml"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("examples/duc-tho-2024/plan.toml not found above the rootdir")


@pytest.fixture(scope="session")
def duc_tho_plan(duc_tho_plan_path):
    """The Đức Thọ 2024 example plan, loaded once."""
    return load_plan(duc_tho_plan_path)


@pytest.fixture
def make_deployment(tmp_path, duc_tho_plan_path) -> Iterator:
    """Factory: ``make_deployment(plugins=("survey",), plan_path=None, available=None,
    plugin_settings=None, public_base_url="https://cchc.example.gov.vn", messages=None)`` → an opened, migrated
    :class:`Deployment` in a fresh temporary folder (closed at the end of the test)."""
    opened: list[Deployment] = []

    def factory(
        plugins=(),
        *,
        plan_path: Path | None = None,
        available: Mapping[str, AvailablePlugin] | None = None,
        plugin_settings: Mapping[str, dict] | None = None,
        public_base_url: str = "https://cchc.example.gov.vn",
        web: Mapping[str, object] | None = None,
        busy_timeout_ms: int = 10_000,
        messages: Mapping[str, object] | None = None,
    ) -> Deployment:
        folder = tmp_path / f"deployment-{next(_counter)}"
        folder.mkdir()
        shutil.copyfile(plan_path or duc_tho_plan_path, folder / "plan.toml")
        doc = {
            "deployment": {"name": "Thử nghiệm", "plan": "plan.toml", "database": "ccch.db",
                           "public_base_url": public_base_url, "plugins": list(plugins), "strict_plugins": True,
                           "busy_timeout_ms": busy_timeout_ms},
            "plugins": {k: dict(v) for k, v in (plugin_settings or {}).items()},
            "web": dict(web or {}),
        }
        if messages is not None:
            doc["messages"] = dict(messages)
        (folder / "ccch.toml").write_text(to_toml(doc), encoding="utf-8")  # so the CLI can open it too
        config = load_config(folder / "ccch.toml")
        pm = make_plugin_manager(config.plugins, strict=True, available=available)
        deployment = Deployment(config, pm=pm)
        deployment.plan  # noqa: B018 - validate
        deployment.migrate()
        deployment.pm.hook.startup(deployment=deployment)
        opened.append(deployment)
        return deployment

    yield factory
    for deployment in opened:
        deployment.close()


@pytest.fixture
def make_app():
    """Factory: ``make_app(deployment, **flask_config)`` → the Flask app (TESTING, CSRF on)."""
    from .web import create_app

    def factory(deployment: Deployment, **flask_config):
        return create_app(deployment_obj=deployment, test_config={"TESTING": True, **flask_config})

    return factory


@pytest.fixture
def make_user():
    """Factory: ``make_user(deployment, role, unit_id=None, username=None)`` → (username, password)."""
    from . import accounts

    def factory(deployment: Deployment, role: str, unit_id: str | None = None, username: str | None = None):
        name = username or f"{role.replace('_', '-')}-{next(_counter)}"
        accounts.create_user(deployment.db, deployment.plan, name, PASSWORD, role, unit_id=unit_id)
        return name, PASSWORD

    return factory
