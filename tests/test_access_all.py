"""Access rules of EVERY route of EVERY installed plugin, generated from the app's URL map.

Each view declares who may open it (``public``, ``login_required`` or ``roles_required`` from
``ccch_core.web.auth``). This test enables every installed plugin, walks the URL map and checks,
for an anonymous visitor and each role, that the declaration holds — so a route added later is
covered without anyone writing a line here, and a route that declares nothing fails. It also checks
that every state-changing route rejects a request without a CSRF token, and that no route answers
a 500 to any of them. (tests/test_web.py holds the finer, hand-written matrix of the core's routes
with real objects; each plugin's suite does the same for its own.)
"""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from ccch_core.accounts import Role
from ccch_core.plugins import installed_plugins
from ccch_core.testing import csrf_token, login

ROLES = [r.value for r in Role]
PLACEHOLDER = {"int": "999999", "default": "khong-co"}
UNIT_VALUES = {"unit_id": "xa-an-dung", "period_text": "2024-03", "period": "2024-03"}


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    """An app with every installed plugin enabled, and a logged-in client per role."""
    import shutil

    from ccch_testing import DUC_THO_PLAN

    from ccch_core import accounts
    from ccch_core.config import load_config
    from ccch_core.deployment import Deployment
    from ccch_core.plugins import make_plugin_manager
    from ccch_core.testing import PASSWORD, to_toml
    from ccch_core.web import create_app

    folder = tmp_path_factory.mktemp("all-plugins")
    shutil.copyfile(DUC_THO_PLAN, folder / "plan.toml")
    plugins = sorted(installed_plugins())
    (folder / "ccch.toml").write_text(to_toml({"deployment": {
        "name": "Tất cả", "plan": "plan.toml", "database": "ccch.db", "public_base_url": "https://x.example",
        "plugins": plugins, "strict_plugins": True}}), encoding="utf-8")
    config = load_config(folder / "ccch.toml")
    dep = Deployment(config, pm=make_plugin_manager(config.plugins, strict=True))
    dep.migrate()
    dep.pm.hook.startup(deployment=dep)
    app = create_app(deployment_obj=dep, test_config={"TESTING": True})
    clients = {"anonymous": app.test_client()}
    for role in ROLES:
        unit = "xa-an-dung" if role == "unit_officer" else None
        accounts.create_user(dep.db, dep.plan, role.replace("_", "-"), PASSWORD, role, unit_id=unit)
        client = app.test_client()
        assert login(client, role.replace("_", "-"), PASSWORD).status_code == 302
        clients[role] = client
    return app, dep, plugins, clients


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):  # files, no access rules
            continue
        values = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            values[name] = UNIT_VALUES.get(name) or (
                PLACEHOLDER["int"] if isinstance(converter, IntegerConverter) else PLACEHOLDER["default"])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = app.url_map.bind("localhost").build(rule.endpoint, values, method=method)
            yield rule, method, url


def test_every_installed_plugin_is_enabled(everything):
    _app, dep, plugins, _ = everything
    assert set(plugins) <= set(dep.pm.plugin_names())


def test_every_route_declares_who_may_open_it(everything):
    app, *_ = everything
    undeclared = sorted(f"{rule.rule} ({rule.endpoint})" for rule, _, _ in routes(app)
                        if getattr(app.view_functions[rule.endpoint], "ccch_access", None) is None)
    assert not undeclared, "mark these views with public, login_required or roles_required: " + ", ".join(undeclared)


def _request(client, method, url, with_token=True):
    data = {"csrf_token": csrf_token(client, "/dang-nhap")} if with_token and method != "GET" else {}
    return client.open(url, method=method, data=data)


def test_declared_access_holds_for_every_role(everything):
    app, _dep, _, clients = everything
    problems = []
    for rule, method, url in routes(app):
        view = app.view_functions[rule.endpoint]
        access = getattr(view, "ccch_access", None)
        if rule.endpoint == "auth.logout":
            continue  # ends the session the other checks use; covered in tests/test_web.py
        for who, client in clients.items():
            response = _request(client, method, url)
            status = response.status_code
            to_login = status == 302 and "/dang-nhap" in response.headers.get("Location", "")
            if status >= 500:
                problems.append(f"{method} {url} as {who}: {status}")
            elif access == "public":
                if to_login:
                    problems.append(f"{method} {url} is declared public but sends {who} to the login page")
            elif who == "anonymous":
                if not to_login:
                    problems.append(f"{method} {url}: anonymous got {status}, not the login page")
            elif access == "roles" and who not in {r.value for r in view.ccch_roles}:
                if status != 403:
                    problems.append(f"{method} {url}: {who} is not in {sorted(r.value for r in view.ccch_roles)}"
                                    f" but got {status}")
            elif to_login:
                # Signed in: never sent back to the login page (a view may still refuse with 403
                # after its own checks, e.g. another unit's report).
                problems.append(f"{method} {url}: {who} is signed in but was sent to the login page")
    assert not problems, "\n".join(problems)


def test_every_state_changing_route_needs_a_csrf_token(everything):
    app, _dep, _, clients = everything
    problems = []
    for rule, method, url in routes(app):
        if method == "GET":
            continue
        for who in ("anonymous", "system_admin"):
            response = _request(clients[who], method, url, with_token=False)
            if response.status_code != 400:
                problems.append(f"{method} {url} without a token as {who}: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_menu_links_only_to_pages_the_role_may_open(everything):
    _app, _dep, _, clients = everything
    import re

    for role in ROLES:
        page = clients[role].get("/").get_data(as_text=True)
        nav = page.split('aria-label="Điều hướng chính"', 1)[1].split("</nav>", 1)[0]
        for href in re.findall(r'href="([^"]+)"', nav):
            status = clients[role].get(href).status_code
            assert status == 200, f"{role}: menu link {href} gives {status}"


# -- one rule for a unit's data, whatever route asks ---------------------------------------------

UNIT_PARAMETER_VARIANTS = {"own": "xa-an-dung", "other": "xa-duc-dong", "parent": "ubnd-huyen"}
"""The unit officer's commune, another commune, and the district above the commune."""

MAY_SEE = {
    "system_admin": {"own", "other", "parent"},
    "plan_admin": {"own", "other", "parent"},
    "unit_officer": {"own"},
    "contest_manager": set(),
    "viewer": set(),
}
"""The one rule (ccch_core.accounts.User.can_see_unit), written out for the test."""


def test_unit_parameters_answer_as_the_units_own_pages(everything):
    """Every route that takes a unit — in its path (/bao-cao/<unit>/…) or as a parameter of the
    export plugin (/xuat/bao-cao?unit=…, /xuat/du-lieu/<table>?unit=…) — refuses exactly the
    role × unit pairs the one rule refuses: the export once gave viewers and contest managers any
    unit's full report that /bao-cao/<unit>/… refused them."""
    _app, dep, _, clients = everything
    if "export" not in dep.pm.plugin_names():
        pytest.skip("the export plugin is not installed")
    assert {dep.plan.has_unit(u) for u in UNIT_PARAMETER_VARIANTS.values()} == {True}
    problems = []
    for role, allowed in MAY_SEE.items():
        client = clients[role]
        for variant, unit in UNIT_PARAMETER_VARIANTS.items():
            may = variant in allowed
            page = client.get(f"/bao-cao/{unit}/2024-03").status_code
            if (page == 403) == may:
                problems.append(f"{role} /bao-cao/{unit}/2024-03: {page}")
            report = client.get(f"/xuat/bao-cao?period=2024-03&unit={unit}&format=json").status_code
            if report != (200 if may else 403):
                problems.append(f"{role} /xuat/bao-cao?unit={unit} ({variant}): {report}")
            for table in dep.data_tables.values():
                if role not in table.roles or (role == "unit_officer" and not table.unit_scoped):
                    continue  # the table itself is not theirs (403 either way)
                data = client.get(f"/xuat/du-lieu/{table.name}?format=csv&unit={unit}")
                body = data.get_data()  # drain the stream
                if data.status_code != (200 if may else 403):
                    problems.append(f"{role} /xuat/du-lieu/{table.name}?unit={unit} ({variant}): "
                                    f"{data.status_code} {body[:80]!r}")
    assert not problems, "\n".join(problems)


def test_the_rule_written_out_is_the_cores(everything):
    from ccch_core import accounts

    _, dep, _, _ = everything
    for role, allowed in MAY_SEE.items():
        user = accounts.find_user(dep.db, role.replace("_", "-"))
        for variant, unit in UNIT_PARAMETER_VARIANTS.items():
            assert user.can_see_unit(dep.plan, unit) == (variant in allowed), (role, variant)


def test_without_a_unit_an_officer_gets_their_own_never_the_whole_plan(everything):
    import json

    _app, dep, _, clients = everything
    if "export" not in dep.pm.plugin_names():
        pytest.skip("the export plugin is not installed")
    expected = {"unit_officer": "xa-an-dung", "system_admin": None, "plan_admin": None, "viewer": None,
                "contest_manager": None}
    for role, unit in expected.items():
        response = clients[role].get("/xuat/bao-cao?period=2024-03&format=json")
        assert response.status_code == 200, role
        got = json.loads(response.data)["unit"]
        assert (got["id"] if got else None) == unit, role
