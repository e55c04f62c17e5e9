"""The web shell: access control, CSRF, login and sessions, security headers, error pages, the
dashboard figures, the unit report form and the roll-up.

Real SQLite files, the real plugin manager and Flask's test client; nothing of ours is mocked.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from ccch_core import accounts, progress
from ccch_core.accounts import Role
from ccch_core.config import load_config
from ccch_core.web import create_app

PASSWORD = "mat-khau-thu-nghiem-2024"
HTTP_BASE = "http://127.0.0.1:8000"
UTC = dt.UTC

USERNAMES = {
    "system_admin": "sysadmin",
    "plan_admin": "vhtt",
    "unit_officer": "andung",
    "contest_manager": "noivu",
    "viewer": "xem",
}
ROLES = ("anonymous", *USERNAMES)

OWN_UNIT = "xa-an-dung"
OTHER_UNIT = "xa-yen-ho"
PERIOD = "2024-03"

CSRF_MESSAGE = "Biểu mẫu đã hết hạn hoặc không hợp lệ (mã bảo vệ CSRF)"


# ---------------------------------------------------------------------------------------------
# Helpers


def at(year, month, day, hour=3) -> dt.datetime:
    """An aware UTC instant (03:00 UTC = 10:00 in Vietnam)."""
    return dt.datetime(year, month, day, hour, tzinfo=UTC)


def use_http_base_url(config_path):
    """Rewrite the deployment's public base URL to plain http (the test deployment uses https)."""
    text = config_path.read_text(encoding="utf-8")
    assert 'public_base_url = "https://cchc.example.gov.vn"' in text
    config_path.write_text(text.replace("https://cchc.example.gov.vn", HTTP_BASE), encoding="utf-8")
    return config_path


def build_app(config_path, **overrides):
    return create_app(load_config(config_path), test_config={"TESTING": True, **overrides})


def make_users(dep) -> dict[str, str]:
    for role, username in USERNAMES.items():
        accounts.create_user(
            dep.db, dep.plan, username, PASSWORD, role, unit_id=OWN_UNIT if role == "unit_officer" else None
        )
    return dict(USERNAMES)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no csrf_token hidden input on the page"
    return match.group(1)


def csrf_token(client, path="/dang-nhap") -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return csrf_from(response.get_data(as_text=True))


def login(client, username, password=PASSWORD, next_url=None, **kwargs):
    data = {"csrf_token": csrf_token(client), "username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/dang-nhap", data=data, **kwargs)


def logged_in(app, role):
    client = app.test_client()
    if role != "anonymous":
        response = login(client, USERNAMES[role])
        assert response.status_code == 302, (role, response.status_code, response.get_data(as_text=True)[:500])
    return client


def text_of(response) -> str:
    return response.get_data(as_text=True)


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/dang-nhap"


def session_cookie_header(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("ccch_session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def cookie_flags(header: str) -> set[str]:
    return {part.strip().split("=", 1)[0].lower() for part in header.split(";")[1:]}


def table_row(html: str, needle: str) -> str:
    """The first <tr> of the page that contains ``needle``."""
    for match in re.finditer(r"<tr\b.*?</tr>", html, re.DOTALL):
        if needle in match.group(0):
            return match.group(0)
    raise AssertionError(f"no table row contains {needle!r}")


def cells(row: str) -> list[str]:
    """The text of each <td> of a row, tags stripped."""
    return [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.DOTALL)]


class Page(HTMLParser):
    """Form controls, labels, selected options and the off-page references of an HTML page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.controls: list[tuple[str, dict[str, str | None], bool]] = []
        self.label_for: list[str] = []
        self.selected: dict[str, list[str]] = {}
        self.references: list[tuple[str, str, str]] = []
        self.html_lang: str | None = None
        self.inline_scripts = 0
        self._label_depth = 0
        self._select: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        for attr in ("src", "href", "action", "formaction", "poster", "data"):
            if a.get(attr):
                self.references.append((tag, attr, a[attr]))
        if tag == "script" and not a.get("src"):
            self.inline_scripts += 1
        if tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.append(a["for"])
        elif tag in ("input", "select", "textarea"):
            self.controls.append((tag, a, self._label_depth > 0))
            if tag == "select":
                self._select = a.get("id") or a.get("name")
                self.selected[self._select] = []
        elif tag == "option" and self._select is not None and "selected" in a:
            self.selected[self._select].append(a.get("value"))

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_depth -= 1
        elif tag == "select":
            self._select = None

    def control(self, control_id: str) -> dict[str, str | None]:
        found = [a for _, a, _ in self.controls if a.get("id") == control_id]
        assert len(found) == 1, f"{len(found)} controls with id {control_id!r}"
        return found[0]

    def radios(self, name: str) -> dict[str, bool]:
        return {a["value"]: "checked" in a for _, a, _ in self.controls
                if a.get("type") == "radio" and a.get("name") == name}


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def http_config(deployment_config):
    """The Đức Thọ deployment with an http public base URL (a LAN deployment without TLS)."""
    return use_http_base_url(deployment_config)


@pytest.fixture
def app(http_config):
    app = build_app(http_config)
    yield app
    app.extensions["ccch"].close()


@pytest.fixture
def dep(app):
    return app.extensions["ccch"]


@pytest.fixture
def users(dep):
    return make_users(dep)


@pytest.fixture
def client_for(app, users):
    """``client_for(role)``: a test client logged in with that role (or anonymous)."""
    return lambda role: logged_in(app, role)


def count_rows(db, table: str) -> int:
    return db.execute(f"select count(*) from {table}").fetchone()[0]


def report_row(db, unit_id, period):
    rows = list(db.query("select * from activity_reports where unit_id = ? and period = ?", [unit_id, period]))
    return rows[0] if rows else None


# ---------------------------------------------------------------------------------------------
# 1. Authorization matrix, generated from the app's URL map

LOGIN = "login"
"""Expected outcome: a 302 redirect to the login page."""

UNIT_VARIANTS = {"own": OWN_UNIT, "other": OTHER_UNIT}
"""Every route with <unit_id> is checked for the officer's own commune and for another commune."""

ARGUMENT_VALUES = {"period_text": PERIOD, "message_id": "999999", "contact_id": "999999"}
"""No message or contact has these ids: the admins' actions on them are 404, the others' 403."""


def _row(anonymous, admins, officer, others) -> dict[str, object]:
    return {
        "anonymous": anonymous,
        "system_admin": admins,
        "plan_admin": admins,
        "unit_officer": officer,
        "contest_manager": others,
        "viewer": others,
    }


# (endpoint, method, unit variant or None) -> expected outcome per role. POSTs carry a valid CSRF
# token and an otherwise empty form. Before the run, xa-an-dung's March report exists and was
# reopened (so its officer may submit it again), and xa-yen-ho's March report is submitted.
MATRIX: dict[tuple[str, str, str | None], dict[str, object]] = {
    ("health", "GET", None): _row(200, 200, 200, 200),
    # The test client comes from 127.0.0.1, the default of [web] metrics_allow: no sign-in needed
    # (tests/test_metrics.py checks other addresses get a 404).
    ("metrics", "GET", None): _row(200, 200, 200, 200),
    ("auth.login", "GET", None): _row(200, 200, 200, 200),
    ("auth.login", "POST", None): _row(422, 422, 422, 422),  # empty username and password
    ("auth.second_factor", "GET", None): _row(200, 200, 200, 200),  # no sign-in waiting for a code
    ("auth.second_factor", "POST", None): _row(401, 401, 401, 401),
    ("auth.logout", "POST", None): _row(LOGIN, LOGIN, LOGIN, LOGIN),
    # Everyone's own account page; an empty form: no current password (422), no set-up waiting (422),
    # no second factor to turn off (303 back to the page).
    ("account.index", "GET", None): _row(LOGIN, 200, 200, 200),
    ("account.password", "POST", None): _row(LOGIN, 422, 422, 422),
    ("account.second_factor", "GET", None): _row(LOGIN, 200, 200, 200),
    ("account.second_factor", "POST", None): _row(LOGIN, 422, 422, 422),
    ("account.turn_off_second_factor", "POST", None): _row(LOGIN, 303, 303, 303),
    ("dashboard.index", "GET", None): _row(LOGIN, 200, 200, 200),
    ("dashboard.units", "GET", None): _row(LOGIN, 200, 200, 200),
    ("dashboard.unit_search_json", "GET", None): _row(LOGIN, 200, 200, 200),  # names only, no unit's data
    ("reports.index", "GET", None): _row(LOGIN, 200, 200, 403),
    ("reports.form", "GET", "own"): _row(LOGIN, 200, 200, 403),
    ("reports.form", "POST", "own"): _row(LOGIN, 303, 303, 403),
    ("reports.form", "GET", "other"): _row(LOGIN, 200, 403, 403),
    ("reports.form", "POST", "other"): _row(LOGIN, 303, 403, 403),
    ("reports.reopen", "POST", "own"): _row(LOGIN, 303, 403, 403),
    ("reports.reopen", "POST", "other"): _row(LOGIN, 303, 403, 403),
    # Reports sent to a further recipient (#19): no commune owes one (404 where the unit may be
    # seen, 403 where it may not).
    ("reports.deliveries", "GET", "own"): _row(LOGIN, 404, 404, 403),
    ("reports.deliveries", "GET", "other"): _row(LOGIN, 404, 403, 403),
    ("reports.deliveries", "POST", "own"): _row(LOGIN, 404, 404, 403),
    ("reports.deliveries", "POST", "other"): _row(LOGIN, 404, 403, 403),
    ("reports.rollup", "GET", None): _row(LOGIN, 200, 403, 403),
    ("audit.index", "GET", None): _row(LOGIN, 200, 403, 403),
    ("messages.index", "GET", None): {**_row(LOGIN, 200, 200, 403), "contest_manager": 200},
    ("messages.retry", "POST", None): _row(LOGIN, 404, 403, 403),
    ("messages.cancel", "POST", None): _row(LOGIN, 404, 403, 403),
    ("messages.contacts_index", "GET", None): _row(LOGIN, 200, 403, 403),
    ("messages.contacts_index", "POST", None): _row(LOGIN, 422, 403, 403),  # an empty contact
    ("messages.contacts_remove", "POST", None): _row(LOGIN, 404, 403, 403),
    # Commune plans (#19). In this order for each role: the officer's menu item shows the
    # commune's own plan (200), saves nothing before starting (409), starts it (303) and
    # sends it (303); the plan office approves nothing unsent (409) and returns nothing without
    # a comment (422); nobody downloads an unapproved plan (404).
    ("local_plans.index", "GET", None): {**_row(LOGIN, 200, 200, 403), "viewer": 200},
    ("local_plans.page", "GET", "own"): _row(LOGIN, 200, 200, 403),
    ("local_plans.page", "GET", "other"): _row(LOGIN, 200, 403, 403),
    ("local_plans.page", "POST", "own"): _row(LOGIN, 403, 409, 403),
    ("local_plans.page", "POST", "other"): _row(LOGIN, 403, 403, 403),
    ("local_plans.start", "POST", "own"): _row(LOGIN, 403, 303, 403),
    ("local_plans.start", "POST", "other"): _row(LOGIN, 403, 403, 403),
    ("local_plans.send", "POST", "own"): _row(LOGIN, 403, 303, 403),
    ("local_plans.send", "POST", "other"): _row(LOGIN, 403, 403, 403),
    ("local_plans.approve", "POST", "own"): _row(LOGIN, 409, 403, 403),
    ("local_plans.approve", "POST", "other"): _row(LOGIN, 409, 403, 403),
    ("local_plans.return_plan", "POST", "own"): _row(LOGIN, 422, 403, 403),
    ("local_plans.return_plan", "POST", "other"): _row(LOGIN, 422, 403, 403),
    ("local_plans.download", "GET", "own"): _row(LOGIN, 404, 404, 403),
    ("local_plans.download", "GET", "other"): _row(LOGIN, 404, 403, 403),
    ("local_plans.download_docx", "GET", "own"): _row(LOGIN, 404, 404, 403),
    ("local_plans.download_docx", "GET", "other"): _row(LOGIN, 404, 403, 403),
}

ENDS_SESSION = {("auth.logout", "POST")}
"""Requests that end the session run last."""


def route_checks(app) -> tuple[list[tuple[tuple[str, str, str | None], str]], list[str]]:
    """Every (key, concrete URL) of the URL map, and the problems (routes the matrix lacks)."""
    adapter = app.url_map.bind("localhost")
    checks, problems = [], []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        unknown = set(rule.arguments) - {"unit_id", *ARGUMENT_VALUES}
        if unknown:
            missing = "<" + ">, <".join(sorted(unknown)) + ">"
            problems.append(f"{rule.rule}: add the new route to the matrix (and a value for {missing})")
            continue
        variants = list(UNIT_VARIANTS.items()) if "unit_id" in rule.arguments else [(None, None)]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for variant, unit_id in variants:
                values = {k: v for k, v in ARGUMENT_VALUES.items() if k in rule.arguments}
                if unit_id:
                    values["unit_id"] = unit_id
                key = (rule.endpoint, method, variant)
                if key not in MATRIX:
                    problems.append(
                        f"{method} {rule.rule} ({rule.endpoint}, {variant}): add the new route to the matrix")
                    continue
                checks.append((key, adapter.build(rule.endpoint, values, method=method)))
    checks.sort(key=lambda c: (c[0][0], c[0][1]) in ENDS_SESSION)
    return checks, problems


def outcome(response) -> object:
    if is_login_redirect(response):
        return LOGIN
    if response.status_code in (301, 302, 303, 307, 308):
        # A redirect elsewhere than the login page: keep the code, and check it stays on the site.
        assert not urlsplit(response.headers["Location"]).netloc, response.headers["Location"]
    return response.status_code


def prepare_matrix_state(dep):
    progress.record_activity_report(dep.db, dep.plan, OWN_UNIT, PERIOD, [], now=at(2024, 4, 2))
    progress.reopen_activity_report(dep.db, OWN_UNIT, PERIOD, reopened_by="setup")
    progress.record_activity_report(dep.db, dep.plan, OTHER_UNIT, PERIOD, [], now=at(2024, 4, 2))


def test_matrix_covers_every_route(app):
    checks, problems = route_checks(app)
    assert not problems, "\n".join(problems)
    built = {key for key, _ in checks}
    stale = set(MATRIX) - built
    assert not stale, f"matrix entries without a route (remove them): {sorted(stale, key=str)}"
    assert len(checks) >= 13


def test_new_route_makes_the_matrix_fail(http_config):
    """A route that the matrix does not list is reported, not silently skipped."""
    app = build_app(http_config)
    try:
        app.add_url_rule("/trang-moi/<unit_id>", "trang_moi", lambda unit_id: "mới")
        app.add_url_rule("/khac/<so>", "khac", lambda so: "khác")
        _, problems = route_checks(app)
    finally:
        app.extensions["ccch"].close()
    assert any("/trang-moi/<unit_id>" in p and "add the new route to the matrix" in p for p in problems), problems
    assert any("/khac/<so>" in p and "add the new route to the matrix" in p for p in problems), problems


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(app, dep, users, role):
    prepare_matrix_state(dep)
    checks, problems = route_checks(app)
    assert not problems, "\n".join(problems)
    client = logged_in(app, role)
    token = csrf_token(client)
    mismatches = []
    for key, url in checks:
        method = key[1]
        if method == "GET":
            response = client.get(url)
        else:
            response = client.open(url, method=method, data={"csrf_token": token})
        got = outcome(response)
        expected = MATRIX[key][role]
        if got != expected:
            mismatches.append(f"{role} {method} {url}: expected {expected}, got {got}")
    assert not mismatches, "\n".join(mismatches)


def test_matrix_agrees_with_roles_required(app):
    """Views guarded by roles_required declare their roles; the matrix must give the others 403."""
    guarded = {ep: view.ccch_roles for ep, view in app.view_functions.items() if hasattr(view, "ccch_roles")}
    assert {"reports.reopen", "reports.rollup"} <= set(guarded)
    for (endpoint, method, variant), expected in MATRIX.items():
        if endpoint not in guarded:
            continue
        for role in USERNAMES:
            allowed = Role(role) in guarded[endpoint]
            if allowed and variant == "other" and role == "unit_officer":
                continue  # the role passes the guard; another commune's data is refused by its scope
            assert (expected[role] == 403) != allowed, (endpoint, method, variant, role, expected[role])


def test_unit_officer_scope(app, dep, client_for):
    officer = client_for("unit_officer")
    own = officer.get(f"/bao-cao/{OWN_UNIT}/{PERIOD}")
    assert own.status_code == 200
    assert "UBND xã An Dũng" in text_of(own)

    other = officer.get(f"/bao-cao/{OTHER_UNIT}/{PERIOD}")
    assert other.status_code == 403
    assert "Không có quyền truy cập" in text_of(other)
    assert "UBND xã Yên Hồ" not in text_of(other)

    # Facilities under the commune are not reporters: not found, never a form.
    assert officer.get(f"/bao-cao/{OWN_UNIT}.truyen-thanh/{PERIOD}").status_code == 404
    # Another commune's facility: forbidden before anything about it is said.
    assert officer.get(f"/bao-cao/{OTHER_UNIT}.truyen-thanh/{PERIOD}").status_code == 403
    assert officer.get("/bao-cao/ubnd-huyen/2024-03").status_code == 403
    assert officer.get(f"/bao-cao/khong-co-don-vi/{PERIOD}").status_code == 404
    for bad_period in ("2024-13", "2024-Q1", "2025-01", "thang-ba"):
        assert officer.get(f"/bao-cao/{OWN_UNIT}/{bad_period}").status_code == 404, bad_period

    index = text_of(officer.get("/bao-cao?period=2024-03"))
    assert f"/bao-cao/{OWN_UNIT}/2024-03" in index
    assert f"/bao-cao/{OTHER_UNIT}/2024-03" not in index
    assert "UBND xã Yên Hồ" not in index

    # An officer cannot reopen even their own submitted report.
    progress.record_activity_report(dep.db, dep.plan, OWN_UNIT, "2024-02", [], now=at(2024, 3, 2))
    token = csrf_token(officer)
    assert officer.post(f"/bao-cao/{OWN_UNIT}/2024-02/mo-lai", data={"csrf_token": token}).status_code == 403
    assert report_row(dep.db, OWN_UNIT, "2024-02")["status"] == "submitted"


def test_officer_cannot_write_outside_their_unit_through_extra_fields(dep, client_for):
    """Fields for another commune's units, added to a posted form by hand, are ignored."""
    officer = client_for("unit_officer")
    url = f"/bao-cao/{OWN_UNIT}/{PERIOD}"
    token = csrf_from(text_of(officer.get(url)))
    response = officer.post(url, data={
        "csrf_token": token,
        "m-I5-xa-an-dung.truyen-thanh": "1",
        "m-I5-xa-yen-ho.truyen-thanh": "1",
        "m-I8-xa-yen-ho": "5",
        "m-I7-trung-tam-vhtt": "15",
    })
    assert response.status_code == 303
    stored = {(m["indicator"], m["unit_id"]) for m in dep.db.query("select * from measurements")}
    assert stored == {("I5", "xa-an-dung.truyen-thanh")}
    assert report_row(dep.db, OTHER_UNIT, PERIOD) is None


def test_officer_dashboard_links_only_to_own_reports(client_for):
    html = text_of(client_for("unit_officer").get("/?period=2024-03"))
    assert f'href="/bao-cao/{OWN_UNIT}/2024-03"' in html
    assert f"/bao-cao/{OTHER_UNIT}/" not in html
    assert "UBND xã Yên Hồ" in html  # the plan-wide completeness is still shown


def test_plan_admin_reaches_any_commune_but_not_facilities(client_for):
    admin = client_for("plan_admin")
    assert admin.get(f"/bao-cao/{OTHER_UNIT}/{PERIOD}").status_code == 200
    assert admin.get(f"/bao-cao/{OWN_UNIT}.truyen-thanh/{PERIOD}").status_code == 404
    index = text_of(admin.get("/bao-cao?period=2024-03"))
    assert f"/bao-cao/{OWN_UNIT}/2024-03" in index and f"/bao-cao/{OTHER_UNIT}/2024-03" in index


# ---------------------------------------------------------------------------------------------
# 2. CSRF


@pytest.mark.parametrize("token", [None, "sai-ma-bao-ve"], ids=["missing", "wrong"])
def test_csrf_login(app, users, token):
    client = app.test_client()
    client.get("/dang-nhap")
    data = {"username": USERNAMES["viewer"], "password": PASSWORD}
    if token:
        data["csrf_token"] = token
    response = client.post("/dang-nhap", data=data)
    assert response.status_code == 400
    assert CSRF_MESSAGE in text_of(response)
    assert "Yêu cầu không hợp lệ" in text_of(response)
    assert is_login_redirect(client.get("/"))  # not logged in
    assert login(client, USERNAMES["viewer"]).status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("token", [None, "sai-ma-bao-ve"], ids=["missing", "wrong"])
def test_csrf_report_form(dep, client_for, token):
    officer = client_for("unit_officer")
    url = f"/bao-cao/{OWN_UNIT}/{PERIOD}"
    good = csrf_from(text_of(officer.get(url)))
    form = {"item-0-category": "published", "item-0-count": "2"}
    response = officer.post(url, data={**form, **({"csrf_token": token} if token else {})})
    assert response.status_code == 400
    assert CSRF_MESSAGE in text_of(response)
    assert count_rows(dep.db, "activity_reports") == 0
    response = officer.post(url, data={**form, "csrf_token": good})
    assert response.status_code == 303
    assert count_rows(dep.db, "activity_reports") == 1


@pytest.mark.parametrize("token", [None, "sai-ma-bao-ve"], ids=["missing", "wrong"])
def test_csrf_reopen(dep, client_for, token):
    progress.record_activity_report(dep.db, dep.plan, OWN_UNIT, PERIOD, [], now=at(2024, 4, 2))
    admin = client_for("plan_admin")
    url = f"/bao-cao/{OWN_UNIT}/{PERIOD}/mo-lai"
    good = csrf_from(text_of(admin.get(f"/bao-cao/{OWN_UNIT}/{PERIOD}")))
    response = admin.post(url, data={"csrf_token": token} if token else {})
    assert response.status_code == 400
    assert CSRF_MESSAGE in text_of(response)
    assert report_row(dep.db, OWN_UNIT, PERIOD)["status"] == "submitted"
    response = admin.post(url, data={"csrf_token": good})
    assert response.status_code == 303
    assert report_row(dep.db, OWN_UNIT, PERIOD)["status"] == "reopened"


@pytest.mark.parametrize("token", [None, "sai-ma-bao-ve"], ids=["missing", "wrong"])
def test_csrf_logout(client_for, token):
    viewer = client_for("viewer")
    good = csrf_token(viewer, "/")
    response = viewer.post("/dang-xuat", data={"csrf_token": token} if token else {})
    assert response.status_code == 400
    assert CSRF_MESSAGE in text_of(response)
    assert viewer.get("/").status_code == 200  # still logged in
    response = viewer.post("/dang-xuat", data={"csrf_token": good})
    assert is_login_redirect(response)
    assert is_login_redirect(viewer.get("/"))


# ---------------------------------------------------------------------------------------------
# 3. Login, sessions, throttling


def test_wrong_password_keeps_username(app, users):
    client = app.test_client()
    response = login(client, USERNAMES["unit_officer"], "mat-khau-sai-roi", next_url="/bao-cao")
    assert response.status_code == 401
    html = text_of(response)
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in html
    page = Page(html)
    assert page.control("username")["value"] == USERNAMES["unit_officer"]
    assert page.control("username").get("aria-invalid") == "true"
    assert page.control("password").get("value") in (None, "")  # the password is never sent back
    assert 'name="next" value="/bao-cao"' in html
    assert is_login_redirect(client.get("/"))


def test_missing_fields_are_422(app, users):
    client = app.test_client()
    response = client.post("/dang-nhap", data={"csrf_token": csrf_token(client), "username": "xem", "password": ""})
    assert response.status_code == 422
    assert "Vui lòng nhập tên đăng nhập và mật khẩu." in text_of(response)


def test_throttled_after_five_failures_per_account_and_address(app, users):
    """Five wrong passwords from one address: the right one from there is refused for the rest of
    the window — with the very answer a wrong password gets (tests/test_signin.py has the rest)."""
    client = app.test_client()
    username = USERNAMES["plan_admin"]
    refusals = set()
    for attempt in range(accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS):
        response = login(client, username, f"sai-mat-khau-{attempt}")
        assert response.status_code == 401
        refusals.add(re.sub(r'value="[^"]*"', "", text_of(response)))
    response = login(client, username)  # the right password, but too late
    assert response.status_code == 401
    assert "Retry-After" not in response.headers
    refusals.add(re.sub(r'value="[^"]*"', "", text_of(response)))
    assert len(refusals) == 1, "a throttled attempt must read exactly as a wrong password"
    assert is_login_redirect(client.get("/"))
    # Another account from the same address is not blocked by this one's failures.
    assert login(app.test_client(), USERNAMES["viewer"]).status_code == 302


def test_throttled_after_twenty_failures_per_address(app, users):
    client = app.test_client()
    for attempt in range(accounts.MAX_FAILURES_PER_ADDRESS):
        assert login(client, f"khong-ton-tai-{attempt}", "sai-mat-khau").status_code == 401
    response = login(client, USERNAMES["viewer"])
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in text_of(response)
    assert is_login_redirect(client.get("/"))
    # The owner, from another address, is not locked out by what this address did.
    other = app.test_client()
    assert login(other, USERNAMES["viewer"], environ_base={"REMOTE_ADDR": "198.51.100.20"}).status_code == 302


def test_session_cookie_flags_http(app, users):
    response = login(app.test_client(), USERNAMES["viewer"])
    assert response.status_code == 302
    flags = cookie_flags(session_cookie_header(response))
    assert {"httponly", "samesite", "path"} <= flags
    assert "samesite=lax" in session_cookie_header(response).lower().replace(" ", "")
    assert "secure" not in flags
    assert "Strict-Transport-Security" not in response.headers


def test_session_cookie_secure_for_https(deployment_config):
    # The test deployment's public base URL is https://cchc.example.gov.vn.
    assert load_config(deployment_config).public_base_url.startswith("https://")
    app = build_app(deployment_config)
    try:
        make_users(app.extensions["ccch"])
        response = login(app.test_client(), USERNAMES["viewer"])
        assert response.status_code == 302
        header = session_cookie_header(response)
        assert {"secure", "httponly", "samesite"} <= cookie_flags(header)
        assert "samesite=lax" in header.lower().replace(" ", "")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        app.extensions["ccch"].close()


@pytest.mark.parametrize(
    "next_url, expected",
    [
        ("/bao-cao?period=2024-03", "/bao-cao?period=2024-03"),
        ("/tong-hop", "/tong-hop"),
        ("https://evil.example/", "/"),
        ("http://evil.example/bao-cao", "/"),
        ("//evil.example/", "/"),
        ("evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_next_only_to_local_paths(app, users, next_url, expected):
    response = login(app.test_client(), USERNAMES["plan_admin"], next_url=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


@pytest.mark.parametrize("next_url", ["/\\evil.example/", "/\t/evil.example/", "/\\/evil.example/"])
def test_next_rejects_paths_browsers_read_as_another_host(app, users, next_url):
    """Browsers turn "\\" into "/" and drop tabs in URLs, so "/\\evil.example" is //evil.example."""
    response = login(app.test_client(), USERNAMES["plan_admin"], next_url=next_url)
    assert response.status_code == 302
    location = response.headers["Location"]
    normalised = location.replace("\\", "/").replace("\t", "").replace("\n", "").replace("\r", "")
    assert not normalised.startswith("//"), f"open redirect: next={next_url!r} -> Location {location!r}"


def test_anonymous_round_trip_through_login(app, users):
    client = app.test_client()
    response = client.get("/tong-hop?period=2024-Q1")
    assert is_login_redirect(response)
    assert "next=" in response.headers["Location"]
    page = text_of(client.get(response.headers["Location"]))
    assert 'name="next" value="/tong-hop?period=2024-Q1"' in page
    response = login(client, USERNAMES["plan_admin"], next_url="/tong-hop?period=2024-Q1")
    assert response.headers["Location"] == "/tong-hop?period=2024-Q1"


def test_next_is_escaped_on_the_login_page(app):
    response = app.test_client().get('/dang-nhap?next=/"><script>alert(1)</script>')
    assert response.status_code == 200
    html = text_of(response)
    assert "<script>alert(1)</script>" not in html
    assert Page(html).control("username") is not None


def test_logout_invalidates_the_old_cookie(app, users):
    client = logged_in(app, "plan_admin")
    saved = client.get_cookie("ccch_session").value
    thief = app.test_client()
    thief.set_cookie("ccch_session", saved)
    assert thief.get("/").status_code == 200  # the copied cookie works before logout
    response = client.post("/dang-xuat", data={"csrf_token": csrf_token(client, "/")})
    assert is_login_redirect(response)
    assert is_login_redirect(client.get("/"))
    assert "Đã đăng xuất." in text_of(client.get("/dang-nhap"))
    assert is_login_redirect(thief.get("/"))  # the saved cookie is dead too


def test_disabling_the_user_ends_the_session(app, dep, users):
    client = logged_in(app, "unit_officer")
    assert client.get("/").status_code == 200
    accounts.set_active(dep.db, USERNAMES["unit_officer"], False)
    assert is_login_redirect(client.get("/"))
    assert is_login_redirect(client.get(f"/bao-cao/{OWN_UNIT}/{PERIOD}"))
    assert login(app.test_client(), USERNAMES["unit_officer"]).status_code == 401


def test_password_and_role_changes_end_sessions(app, dep, users):
    client = logged_in(app, "viewer")
    accounts.set_password(dep.db, USERNAMES["viewer"], "mat-khau-moi-2024-xyz")
    assert is_login_redirect(client.get("/"))
    admin = logged_in(app, "plan_admin")
    accounts.set_role(dep.db, dep.plan, USERNAMES["plan_admin"], "viewer")
    assert is_login_redirect(admin.get("/tong-hop"))


def test_session_is_renewed_at_login(app, users):
    client = app.test_client()
    client.get("/dang-nhap")
    with client.session_transaction() as session:
        session["planted"] = "trước khi đăng nhập"
    before = client.get_cookie("ccch_session").value
    assert login(client, USERNAMES["viewer"]).status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["user_id"] == accounts.find_user(app.extensions["ccch"].db, USERNAMES["viewer"]).id
    assert client.get_cookie("ccch_session").value != before


# ---------------------------------------------------------------------------------------------
# 4. Security headers, no external resources, accessibility


def every_get_page(app, role="plan_admin"):
    """(url, response) for every GET page of the URL map as ``role``, plus error pages."""
    checks, problems = route_checks(app)
    assert not problems, "\n".join(problems)
    client = logged_in(app, role)
    urls = [url for (endpoint, method, variant), url in checks if method == "GET"]
    urls += ["/?period=2024-Q1", "/tong-hop?period=2024", "/khong-co-trang-nay", "/?period=2024-13"]
    return [(url, client.get(url)) for url in urls]


def check_security_headers(url, response):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp, url
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
    assert "frame-ancestors 'none'" in csp, url
    assert headers.get("X-Frame-Options") == "DENY", url
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), url


def check_no_external_references(url, html, allowed_hosts):
    page = Page(html)
    for tag, attr, value in page.references:
        value = value.strip()
        if value.lower().startswith(("http:", "https:", "//")):
            host = urlsplit(value if not value.startswith("//") else "http:" + value).hostname
            assert host in allowed_hosts, f"{url}: <{tag} {attr}={value!r}> points off-site"
        assert not value.lower().startswith("javascript:"), (url, tag, value)
    # The CSP forbids inline scripts and styles: none may be on the page.
    assert page.inline_scripts == 0, url
    assert not re.search(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=", html, re.IGNORECASE), f"{url}: inline style or handler"
    assert page.html_lang == "vi", url


def check_labels(url, html):
    page = Page(html)
    ids = [a.get("id") for _, a, _ in page.controls if a.get("id")]
    assert len(ids) == len(set(ids)), f"{url}: duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}"
    for tag, attrs, in_label in page.controls:
        if attrs.get("type") in ("hidden", "submit", "button"):
            continue
        if attrs.get("id"):
            assert attrs["id"] in page.label_for, f"{url}: <{tag} id={attrs['id']!r}> has no <label for>"
        else:
            assert in_label or attrs.get("aria-label"), f"{url}: <{tag} name={attrs.get('name')!r}> has no label"


def test_security_headers_on_every_page(app, users):
    pages = every_get_page(app)
    anonymous = app.test_client()
    pages += [(url, anonymous.get(url)) for url in ("/dang-nhap", "/khong-co-trang-nay", "/")]
    assert len(pages) >= 10
    for url, response in pages:
        check_security_headers(url, response)


def test_security_headers_keep_what_a_view_set(app, users):
    # The hook adds each header once, and only where the view did not set its own.
    def own():
        return "ok", 200, {"Content-Security-Policy": "default-src 'none'", "Cache-Control": "public, max-age=60"}

    own.ccch_access = "public"
    app.add_url_rule("/rieng", "own_headers", own)
    response = app.test_client().get("/rieng")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers.getlist("Cache-Control") == ["public, max-age=60"]
    assert response.headers.getlist("X-Frame-Options") == ["DENY"]
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    signed_in = logged_in(app, "viewer").get("/rieng")  # an officer: still the view's own Cache-Control
    assert signed_in.headers.getlist("Cache-Control") == ["public, max-age=60"]
    assert logged_in(app, "viewer").get("/").headers.getlist("Cache-Control") == ["no-store"]


def test_a_visitor_without_session_cookie_costs_no_session(app, users):
    # No session cookie: the session is not read, so no "Vary: Cookie" and no cookie set; a
    # signed-in officer's page still says it varies with the cookie.
    anonymous = app.test_client().get("/healthz")
    assert "cookie" not in anonymous.headers.get("Vary", "").lower()
    assert "Set-Cookie" not in anonymous.headers
    officer = logged_in(app, "viewer").get("/")
    assert officer.status_code == 200 and "cookie" in officer.headers.get("Vary", "").lower()


def test_the_shells_hooks_read_nothing_through_flasks_proxies(app, users, monkeypatch):
    # Every attribute read through werkzeug's proxies (request.x, g.x, session.get,
    # current_app.x) first fails the normal lookup and formats an AttributeError: ~20 times the
    # read itself, and the shell's hooks run on every request (issue #16). They read the objects.
    import sys
    from pathlib import Path

    import flask.wrappers
    from flask import request
    from werkzeug.local import LocalProxy

    import ccch_core
    from ccch_core.web import client_key, deployment, fixed_url

    core = Path(ccch_core.__file__).parent
    shell = {str(core / name) for name in ("metrics.py", "logs.py", "web/__init__.py", "web/compression.py",
                                           "web/admission.py", "web/formtoken.py")}
    lookup = LocalProxy.__dict__["__getattr__"]
    reads = []

    def counted(proxy, name):
        caller = sys._getframe(1).f_code
        if (caller.co_filename in shell or caller.co_filename == __file__
                or caller.co_filename == flask.wrappers.__file__
                and caller.co_name in ("max_content_length", "max_form_memory_size", "max_form_parts", "max_cookie_size")):
            reads.append(f"{caller.co_name}: .{name}")
        return lookup.__get__(proxy, LocalProxy)(name)

    monkeypatch.setattr(LocalProxy, "__getattr__", counted)
    with app.test_request_context("/"):
        assert request.path == "/" and reads == ["test_the_shells_hooks_read_nothing_through_flasks_proxies: .path"]
        reads.clear()
        assert deployment() is app.extensions["ccch"] and client_key("test") and fixed_url("health") == "/healthz"
    client = app.test_client()
    page = client.get("/dang-nhap", headers={"Accept-Encoding": "gzip"})  # csrf_token(), compressed
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "gzip"
    foreign = {"csrf_token": csrf_token(app.test_client()), "username": USERNAMES["viewer"], "password": PASSWORD}
    assert client.post("/dang-nhap", data=foreign).status_code == 400  # another session's token: refused
    assert login(client, USERNAMES["viewer"]).status_code == 302  # the check passed
    assert client.get("/").status_code == 200  # signed in: load_user, the page not to be cached
    assert reads == []


def test_a_requests_size_limits_are_its_own_or_the_apps(http_config):
    # The app's request class reads the limits from the app's config (not through current_app);
    # one set on the request, as plugins do for uploads, comes first, None goes back to the app's.
    from flask import request

    app = build_app(http_config, MAX_CONTENT_LENGTH=5000, MAX_FORM_MEMORY_SIZE=3000, MAX_FORM_PARTS=7)
    try:
        with app.test_request_context("/dang-nhap", method="POST"):
            assert (request.max_content_length, request.max_form_memory_size, request.max_form_parts) == (5000, 3000, 7)
            request.max_content_length, request.max_form_parts = 10, 2
            assert (request.max_content_length, request.max_form_memory_size, request.max_form_parts) == (10, 3000, 2)
            request.max_content_length = None
            assert request.max_content_length == 5000
        app.config["MAX_FORM_PARTS"] = 3
        with app.test_request_context("/dang-nhap", method="POST"):
            assert request.max_form_parts == 3
        client = app.test_client()
        token = csrf_token(client)
        fields = {"csrf_token": token, "username": "x", "password": "y"}
        assert client.post("/dang-nhap", data={**fields, "a": "1", "b": "2"}, content_type="multipart/form-data"
                           ).status_code == 413  # five fields, three allowed
        assert client.post("/dang-nhap", data={"csrf_token": token, "username": "x" * 6000, "password": "y"}
                           ).status_code == 413
    finally:
        app.extensions["ccch"].close()


def test_responses_cookies_are_bounded_by_the_apps_setting(http_config):
    # The app's response class (make_response's and page_response's) reads MAX_COOKIE_SIZE from
    # the app's config, not through current_app: werkzeug warns of a cookie past it.
    import warnings

    from flask import make_response

    from ccch_core.web.compression import page_response

    def warned(response, size: int) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            response.set_cookie("c", "v" * size)
        return [str(w.message) for w in caught]

    app = build_app(http_config, MAX_COOKIE_SIZE=100)
    try:
        with app.test_request_context("/"):
            for response in (make_response("x"), page_response(["x"])):
                assert isinstance(response, app.response_class) and response.max_cookie_size == 100
                assert warned(response, 50) == []
                assert "cookie is too large" in warned(response, 150)[0]
        app.config["MAX_COOKIE_SIZE"] = 4093
        with app.test_request_context("/"):
            assert warned(page_response(["x"]), 150) == []
    finally:
        app.extensions["ccch"].close()


def test_logged_in_pages_are_not_cached(app, users):
    for url, response in every_get_page(app):
        assert "no-store" in response.headers.get("Cache-Control", ""), url
    for url, response in every_get_page(app, "unit_officer"):
        assert "no-store" in response.headers.get("Cache-Control", ""), url


def test_pages_load_nothing_from_other_hosts(app, dep, users):
    progress.record_activity_report(
        dep.db, dep.plan, OWN_UNIT, PERIOD,
        [{"category": "published", "count": 1, "title": "Tin", "link": "https://ductho.hatinh.gov.vn/tin/1"}],
        now=at(2024, 4, 2),
    )
    allowed = {"localhost", urlsplit(dep.config.public_base_url).hostname}
    pages = every_get_page(app) + [(u, app.test_client().get(u)) for u in ("/dang-nhap",)]
    for url, response in pages:
        if response.mimetype == "text/html":
            check_no_external_references(url, text_of(response), allowed)
    css = app.test_client().get("/static/app.css")
    assert css.status_code == 200
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", text_of(css)), "app.css loads from another host"


def test_every_form_control_has_a_label(app, client_for):
    officer = client_for("unit_officer")
    form = text_of(officer.get(f"/bao-cao/{OWN_UNIT}/{PERIOD}"))
    assert 'id="m-I2-xa-an-dung.mot-cua-num"' in form  # the form has its indicator fields
    check_labels("report form", form)
    check_labels("login", text_of(app.test_client().get("/dang-nhap")))
    for url, response in every_get_page(app):
        if response.mimetype == "text/html":
            check_labels(url, text_of(response))


# ---------------------------------------------------------------------------------------------
# 5. Request size limit and error pages


def test_request_too_large_is_413_in_vietnamese(http_config):
    app = build_app(http_config, MAX_CONTENT_LENGTH=1000)
    try:
        make_users(app.extensions["ccch"])
        client = app.test_client()
        token = csrf_token(client)
        response = client.post("/dang-nhap", data={"csrf_token": token, "username": "x" * 3000, "password": "y"})
        assert response.status_code == 413
        assert "Dữ liệu gửi lên quá lớn" in text_of(response)
        assert '<html lang="vi">' in text_of(response)

        officer = logged_in(app, "unit_officer")
        url = f"/bao-cao/{OWN_UNIT}/{PERIOD}"
        token = csrf_from(text_of(officer.get(url)))
        response = officer.post(url, data={"csrf_token": token, "note": "Ghi chú " * 400})
        assert response.status_code == 413
        assert "Dữ liệu gửi lên quá lớn" in text_of(response)
        assert count_rows(app.extensions["ccch"].db, "activity_reports") == 0
        # A form of ordinary size still goes through.
        response = officer.post(url, data={"csrf_token": token, "note": "Ngắn"})
        assert response.status_code == 303
    finally:
        app.extensions["ccch"].close()


def test_error_pages_are_vietnamese(app, client_for):
    viewer = client_for("viewer")
    response = viewer.get("/?period=2024-13")
    assert response.status_code == 400
    assert "Yêu cầu không hợp lệ" in text_of(response)
    assert "Kỳ báo cáo “2024-13” không hợp lệ" in text_of(response)

    response = viewer.get("/?period=2025-01")
    assert response.status_code == 400
    assert "nằm ngoài thời gian của kế hoạch" in text_of(response)

    response = viewer.get("/bao-cao")
    assert response.status_code == 403
    assert "Không có quyền truy cập" in text_of(response)

    for client in (viewer, app.test_client()):
        response = client.get("/khong-co-trang-nay")
        assert response.status_code == 404
        assert "Không tìm thấy trang" in text_of(response)
        assert "Not Found" not in text_of(response)

    response = viewer.get("/dang-xuat")
    assert response.status_code == 405
    assert "Phương thức không được hỗ trợ" in text_of(response)

    response = client_for("unit_officer").get(f"/bao-cao/{OWN_UNIT}.truyen-thanh/{PERIOD}")
    assert response.status_code == 404
    assert "không phải gửi báo cáo Tháng 3/2024" in text_of(response)


def test_500_page_shows_no_stack_trace(http_config):
    app = build_app(http_config)

    def broken():
        raise RuntimeError("SECRET-DETAIL in /srv/ccch/app.py line 42")

    app.add_url_rule("/thu-loi", "thu_loi", broken)
    try:
        response = app.test_client().get("/thu-loi")
    finally:
        app.extensions["ccch"].close()
    assert response.status_code == 500
    html = text_of(response)
    assert "Lỗi hệ thống" in html
    assert "Traceback" not in html
    assert "SECRET-DETAIL" not in html and "RuntimeError" not in html
    assert response.headers["X-Frame-Options"] == "DENY"


# ---------------------------------------------------------------------------------------------
# 6. Dashboard figures


STATIONS = [
    "tt-duc-tho", "xa-an-dung", "xa-bui-la-nhan", "xa-duc-dong", "xa-duc-lang", "xa-hoa-lac",
    "xa-lam-trung-thuy", "xa-lien-minh", "xa-quang-vinh", "xa-tan-dan", "xa-tan-huong",
    "xa-thanh-binh-thinh", "xa-truong-son", "xa-tung-anh", "xa-tung-chau", "xa-yen-ho",
]


def indicator_row(html: str, code: str) -> str:
    return table_row(html, f'<th scope="row">{code}</th>')


def progress_value(row: str) -> str | None:
    match = re.search(r'<progress[^>]*\bvalue="([^"]+)"', row)
    return match.group(1) if match else None


def test_dashboard_figures(dep, client_for):
    db, plan = dep.db, dep.plan
    stations = [f"{c}.truyen-thanh" for c in STATIONS]
    assert {u.id for u in plan.resolve(plan.indicator("I5").applies_to)} == set(stations)
    for station in stations[:8]:
        progress.record_measurement(db, plan, "I5", station, PERIOD, "có")
    for station in stations[8:12]:
        progress.record_measurement(db, plan, "I5", station, PERIOD, "không")
    progress.record_measurement(db, plan, "I7", "trung-tam-vhtt", PERIOD, 2)
    progress.record_measurement(db, plan, "I2", "trung-tam-hcc", PERIOD, numerator=90, denominator=100)
    progress.record_measurement(db, plan, "I3", "trung-tam-hcc", PERIOD, numerator=2, denominator=3)

    response = client_for("viewer").get("/?period=2024-03")
    assert response.status_code == 200
    html = text_of(response)

    i5 = indicator_row(html, "I5")
    label, value, target, _bar, status = cells(i5)
    assert (value, target, status) == ("50%", "100%", "Chưa đạt")
    assert "4/16 đơn vị chưa có số liệu" in label
    assert progress_value(i5) == "50.0"

    i7 = indicator_row(html, "I7")
    _, value, target, _bar, status = cells(i7)
    assert (value, target, status) == ("2", "1,25", "Đạt")
    assert progress_value(i7) == "100.0"

    i2 = indicator_row(html, "I2")
    _, value, target, _bar, status = cells(i2)
    assert (value, target) == ("90%", "100%")
    assert status == "Chưa đạt"
    assert progress_value(i2) == "90.0"

    # 2/3 is 66.66…%: cut to 66,6%, never rounded up to 66,7%.
    _, value, _, _, _ = cells(indicator_row(html, "I3"))
    assert value == "66,6%"

    # No data: a dash and "Chưa có số liệu".
    _, value, _, bar, status = cells(indicator_row(html, "I6"))
    assert (value, bar, status) == ("–", "–", "Chưa có số liệu")


def test_dashboard_periods(dep, client_for):
    progress.record_measurement(dep.db, dep.plan, "I7", "trung-tam-vhtt", PERIOD, 2)
    viewer = client_for("viewer")
    response = viewer.get("/?period=2024-Q1")
    assert response.status_code == 200
    html = text_of(response)
    page = Page(html)
    assert page.selected["period"] == ["2024-Q1"]
    _, value, target, _, _ = cells(indicator_row(html, "I7"))
    assert (value, target) == ("2", "3,75")  # 15 a year is 3,75 a quarter
    options = re.findall(r'<option value="([^"]+)"', html.split('id="period"', 1)[1].split("</select>", 1)[0])
    assert options[0] == "2024"
    assert {"2024-H1", "2024-H2", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"} <= set(options)
    assert [o for o in options if re.fullmatch(r"\d{4}-\d{2}", o)] == [f"2024-{m:02d}" for m in range(1, 13)]
    assert "Quý I/2024" in html and "6 tháng đầu năm 2024" in html and "Tháng 12/2024" in html
    for period in ("2024-H1", "2024", "2024-12"):
        response = viewer.get(f"/?period={period}")
        assert response.status_code == 200, period
        assert Page(text_of(response)).selected["period"] == [period]


def test_report_list_offers_months_only(client_for):
    """The unit report list is per month: its period select lists the twelve months, nothing else."""
    html = text_of(client_for("unit_officer").get("/bao-cao?period=2024-03"))
    select = html.split('id="period"', 1)[1].split("</select>", 1)[0]
    options = re.findall(r'<option value="([^"]+)"', select)
    assert options == [f"2024-{m:02d}" for m in range(1, 13)]
    assert Page(html).selected["period"] == ["2024-03"]


def test_dashboard_task_activity(dep, client_for):
    progress.record_activity_report(
        dep.db, dep.plan, OWN_UNIT, "2024-01",
        [{"category": "broadcast", "count": 3, "task_id": "T2"}, {"category": "other", "count": 1}],
        now=at(2024, 2, 2))
    progress.record_activity_report(
        dep.db, dep.plan, OTHER_UNIT, "2024-03", [{"category": "broadcast", "count": 2, "task_id": "T2"}],
        now=at(2024, 4, 2))
    viewer = client_for("viewer")
    quarter = text_of(viewer.get("/?period=2024-Q1"))
    t2 = table_row(quarter, '<th scope="row">2</th>')
    assert "5 hoạt động" in t2
    assert "Chưa có báo cáo" in table_row(quarter, '<th scope="row">1</th>')
    february = text_of(viewer.get("/?period=2024-02"))
    assert "Chưa có báo cáo" in table_row(february, '<th scope="row">2</th>')


# ---------------------------------------------------------------------------------------------
# 7. Completeness on the dashboard


def test_dashboard_completeness(dep, client_for):
    progress.record_activity_report(dep.db, dep.plan, OWN_UNIT, PERIOD, [], now=at(2024, 4, 3))
    progress.record_activity_report(dep.db, dep.plan, OTHER_UNIT, PERIOD, [], now=at(2024, 4, 8))
    html = text_of(client_for("viewer").get("/?period=2024-03"))

    def state(name):
        row = table_row(html, name)
        return unescape(re.search(r'class="badge[^"]*">([^<]+)<', row).group(1))

    assert state("UBND xã An Dũng") == "Đúng hạn"
    assert state("UBND xã Yên Hồ") == "Trễ hạn"
    assert state("UBND xã Tân Dân") == "Chưa nộp (quá hạn)"
    assert state("Phòng Văn hóa - Thông tin") == "Chưa nộp (quá hạn)"
    assert "<strong>2/23</strong>" in html
    # Submission times are shown in Vietnam time (03:00 UTC is 10:00 in Hà Nội).
    assert "03/04/2024 10:00" in table_row(html, "UBND xã An Dũng")
    assert "hết ngày 05/04/2024" in table_row(html, "UBND xã An Dũng")  # due before 05/04 17:00 UTC
    # A viewer sees the states but gets no link to a unit's report.
    assert f"/bao-cao/{OWN_UNIT}/" not in html


# ---------------------------------------------------------------------------------------------
# 8. The report form


def report_form(**overrides) -> dict[str, str]:
    data = {
        "item-0-category": "published",
        "item-0-count": "3",
        "item-0-title": 'Tin <b>CCHC</b> & "một cửa" số 1',
        "item-0-link": "https://ductho.hatinh.gov.vn/tin/1",
        "item-0-task": "T2",
        "item-1-category": "broadcast",
        "item-1-count": "4",
        "item-1-title": "Phát thanh chuyên mục CCHC",
        "m-I2-xa-an-dung.mot-cua-num": "3",
        "m-I2-xa-an-dung.mot-cua-den": "5",
        "m-I5-xa-an-dung.truyen-thanh": "1",
        "m-I8-xa-an-dung": "1",
        "note": "Khó khăn: <script>alert(1)</script>",
    }
    data.update(overrides)
    return data


def test_report_form_rejects_bad_values_and_keeps_input(dep, client_for):
    officer = client_for("unit_officer")
    url = f"/bao-cao/{OWN_UNIT}/{PERIOD}"
    page = officer.get(url)
    assert page.status_code == 200
    assert "Chưa nộp." in text_of(page)
    token = csrf_from(text_of(page))

    bad = report_form(**{"item-0-count": "abc", "m-I2-xa-an-dung.mot-cua-num": "5", "m-I2-xa-an-dung.mot-cua-den": "3"})
    response = officer.post(url, data={**bad, "csrf_token": token})
    assert response.status_code == 422
    html = text_of(response)
    assert "Báo cáo chưa được nộp" in html
    assert "Có 2 mục cần sửa" in html
    page = Page(html)

    count = page.control("item-0-count")
    assert count["value"] == "abc"
    assert count.get("aria-invalid") == "true"
    assert count.get("aria-describedby") == "item-0-count-error"
    assert re.search(r'id="item-0-count-error">Vui lòng nhập một số\.<', html)
    # The error summary names the field and links to it.
    assert '<a href="#item-0-count">Dòng 1, số lượng: Vui lòng nhập một số.</a>' in html

    num = page.control("m-I2-xa-an-dung.mot-cua-num")
    assert num["value"] == "5" and num.get("aria-invalid") == "true"
    # In the words of the form's own labels, not "tử số"/"mẫu số", which the form never shows.
    assert ("“Số TTHC được niêm yết, công khai đúng quy định” không được lớn hơn "
            "“Tổng số TTHC thuộc thẩm quyền giải quyết”." in html)
    assert "Tử số" not in html
    den = page.control("m-I2-xa-an-dung.mot-cua-den")
    assert den["value"] == "3" and "aria-invalid" not in den

    # Everything else typed is still there, escaped.
    assert page.control("item-0-title")["value"] == 'Tin <b>CCHC</b> & "một cửa" số 1'
    assert re.search(r"&lt;b&gt;CCHC&lt;/b&gt; &amp; (&#34;|&quot;)một cửa(&#34;|&quot;)", html)
    assert "<b>CCHC</b>" not in html
    assert page.control("item-0-link")["value"] == "https://ductho.hatinh.gov.vn/tin/1"
    assert page.selected["item-0-category"] == ["published"]
    assert page.selected["item-0-task"] == ["T2"]
    assert page.selected["item-1-category"] == ["broadcast"]
    assert page.control("item-1-count")["value"] == "4"
    assert "aria-invalid" not in page.control("item-1-count")
    assert page.radios("m-I5-xa-an-dung.truyen-thanh") == {"1": True, "0": False}
    assert page.control("m-I8-xa-an-dung")["value"] == "1"
    note = re.search(r'<textarea id="note"[^>]*>(.*?)</textarea>', html, re.DOTALL).group(1)
    assert note == "Khó khăn: &lt;script&gt;alert(1)&lt;/script&gt;"
    assert "<script>alert" not in html

    # Nothing was stored.
    for table in ("activity_reports", "activity_items", "measurements", "measurement_log"):
        assert count_rows(dep.db, table) == 0, table


def test_report_form_submit_lock_reopen_resubmit(dep, client_for):
    db = dep.db
    officer = client_for("unit_officer")
    url = f"/bao-cao/{OWN_UNIT}/{PERIOD}"
    token = csrf_from(text_of(officer.get(url)))

    response = officer.post(url, data={**report_form(), "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == url

    first = report_row(db, OWN_UNIT, PERIOD)
    assert first["revision"] == 1 and first["status"] == "submitted"
    assert first["submitted_by"] == USERNAMES["unit_officer"]
    assert first["note"] == "Khó khăn: <script>alert(1)</script>"
    items = list(db.query("select * from activity_items where report_id = ? order by id", [first["id"]]))
    assert [(i["category"], i["count"], i["task_id"]) for i in items] == [
        ("published", 3, "T2"), ("broadcast", 4, None)]
    assert items[0]["title"] == 'Tin <b>CCHC</b> & "một cửa" số 1'
    stored = {(m["indicator"], m["unit_id"]): m for m in db.query("select * from measurements")}
    assert set(stored) == {("I2", "xa-an-dung.mot-cua"), ("I5", "xa-an-dung.truyen-thanh"), ("I8", "xa-an-dung")}
    ratio = stored[("I2", "xa-an-dung.mot-cua")]
    assert (ratio["numerator"], ratio["denominator"]) == (3, 5)
    assert stored[("I2", "xa-an-dung.mot-cua")]["value"] == pytest.approx(60.0)
    assert stored[("I5", "xa-an-dung.truyen-thanh")]["value"] == 1.0
    assert stored[("I8", "xa-an-dung")]["value"] == 1.0
    assert all(m["recorded_by"] == USERNAMES["unit_officer"] for m in stored.values())

    html = text_of(officer.get(url))
    assert "Đã nộp báo cáo Tháng 3/2024 của UBND xã An Dũng." in html
    assert "Báo cáo đã nộp và được khóa" in html
    assert "Nộp báo cáo</button>" not in html
    assert "<fieldset disabled>" in html
    page = Page(html)
    assert page.control("item-0-count")["value"] == "3"
    assert page.control("m-I2-xa-an-dung.mot-cua-num")["value"] == "3"
    assert page.radios("m-I5-xa-an-dung.truyen-thanh") == {"1": True, "0": False}
    assert "mo-lai" not in html  # the officer is not offered the reopen button

    response = officer.post(url, data={**report_form(**{"item-0-count": "9"}), "csrf_token": token})
    assert response.status_code == 403
    assert "Báo cáo đã nộp" in text_of(response)
    assert report_row(db, OWN_UNIT, PERIOD)["revision"] == 1
    assert db.execute("select sum(count) from activity_items").fetchone()[0] == 7

    admin = client_for("plan_admin")
    admin_html = text_of(admin.get(url))
    assert "Mở lại báo cáo cho đơn vị sửa" in admin_html
    assert "Báo cáo đã nộp và được khóa" not in admin_html
    response = admin.post(f"{url}/mo-lai", data={"csrf_token": csrf_from(admin_html)})
    assert response.status_code == 303 and response.headers["Location"] == url
    assert report_row(db, OWN_UNIT, PERIOD)["status"] == "reopened"

    html = text_of(officer.get(url))
    assert "Đã mở lại để chỉnh sửa" in html
    assert "Báo cáo đã nộp và được khóa" not in html
    assert "Nộp báo cáo</button>" in html
    response = officer.post(url, data={**report_form(**{"item-0-count": "9"}), "csrf_token": token})
    assert response.status_code == 303
    second = report_row(db, OWN_UNIT, PERIOD)
    assert second["revision"] == 2 and second["status"] == "submitted"
    assert second["submitted_at"] == first["submitted_at"]
    assert db.execute("select sum(count) from activity_items").fetchone()[0] == 13
    html = text_of(officer.get(url))
    assert "(lần 2)" in html
    assert "Báo cáo đã nộp và được khóa" in html


def test_admin_may_correct_a_submitted_report(dep, client_for):
    progress.record_activity_report(dep.db, dep.plan, OWN_UNIT, PERIOD, [{"category": "other", "count": 1}],
                                    now=at(2024, 4, 2))
    admin = client_for("plan_admin")
    url = f"/bao-cao/{OWN_UNIT}/{PERIOD}"
    token = csrf_from(text_of(admin.get(url)))
    response = admin.post(url, data={"csrf_token": token, "item-0-category": "training", "item-0-count": "2"})
    assert response.status_code == 303
    row = report_row(dep.db, OWN_UNIT, PERIOD)
    assert row["revision"] == 2 and row["submitted_by"] == USERNAMES["plan_admin"]
    assert [r["category"] for r in dep.db.query("select category from activity_items")] == ["training"]


def test_report_form_shows_late_and_on_time(dep, client_for):
    progress.record_activity_report(dep.db, dep.plan, OWN_UNIT, "2024-02", [], now=at(2024, 3, 10))
    progress.record_activity_report(dep.db, dep.plan, OWN_UNIT, "2024-01", [], now=at(2024, 2, 1))
    officer = client_for("unit_officer")
    late = text_of(officer.get(f"/bao-cao/{OWN_UNIT}/2024-02"))
    assert "Trễ hạn" in late and "Đúng hạn" not in late
    assert "Đã nộp lúc 10/03/2024 10:00" in late
    assert "Hạn nộp: <strong>hết ngày 05/03/2024</strong>" in late
    on_time = text_of(officer.get(f"/bao-cao/{OWN_UNIT}/2024-01"))
    assert "Đúng hạn" in on_time and "Trễ hạn" not in on_time


# ---------------------------------------------------------------------------------------------
# 9. Roll-up


def test_rollup_quarter(dep, client_for):
    db, plan = dep.db, dep.plan
    progress.record_activity_report(
        db, plan, OWN_UNIT, "2024-01",
        [{"category": "published", "count": 3}, {"category": "broadcast", "count": 2}], now=at(2024, 2, 2))
    progress.record_activity_report(
        db, plan, OTHER_UNIT, "2024-03",
        [{"category": "published", "count": 4}, {"category": "printed", "count": 5}], now=at(2024, 4, 9))
    progress.record_activity_report(  # April: outside the first quarter
        db, plan, OWN_UNIT, "2024-04", [{"category": "published", "count": 100}], now=at(2024, 5, 2))

    response = client_for("plan_admin").get("/tong-hop?period=2024-Q1")
    assert response.status_code == 200
    html = text_of(response)
    assert "Tổng hợp báo cáo — Quý I/2024" in html
    assert Page(html).selected["period"] == ["2024-Q1"]
    order = list(progress.ACTIVITY_CATEGORIES)
    totals = dict(zip(order, cells(table_row(html, "Tổng cộng"))))
    assert totals == {"published": "7", "broadcast": "2", "printed": "5", "training": "0", "meeting": "0",
                      "contest": "0", "other": "0"}
    an_dung = dict(zip(order, cells(table_row(html, "<th scope=\"row\">UBND xã An Dũng</th><td>"))))
    assert (an_dung["published"], an_dung["broadcast"], an_dung["printed"]) == ("3", "2", "")
    yen_ho = dict(zip(order, cells(table_row(html, "<th scope=\"row\">UBND xã Yên Hồ</th><td>"))))
    assert (yen_ho["published"], yen_ho["printed"]) == ("4", "5")

    # Quarter completeness: 23 monthly reports in each of three months, plus Phòng VH-TT's
    # quarterly roll-up, owed to UBND huyện and to UBND tỉnh (IV.1; each recipient is tracked, #19).
    assert "<strong>2/71</strong>" in html
    assert "Quý I/2024" in table_row(html, ">Quý I/2024</td>")
    assert "gửi Ủy ban nhân dân tỉnh Hà Tĩnh" in html
    rows = re.findall(r"<tr class=\"state-[a-z_]+\">.*?</tr>", html, re.DOTALL)
    assert len(rows) == 71
    an_dung_jan = [r for r in rows if "UBND xã An Dũng" in r and "Tháng 1/2024" in r]
    assert len(an_dung_jan) == 1 and "Đúng hạn" in an_dung_jan[0]
    yen_ho_mar = [r for r in rows if "UBND xã Yên Hồ" in r and "Tháng 3/2024" in r]
    assert len(yen_ho_mar) == 1 and "Trễ hạn" in yen_ho_mar[0]


# ---------------------------------------------------------------------------------------------
# 10. Navigation


def nav_labels(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Điều hướng chính">(.*?)</nav>', html, re.DOTALL)
    assert nav, "no main navigation"
    return [unescape(label).strip() for label in re.findall(r"<a [^>]*>([^<]+)</a>", nav.group(1))]


@pytest.mark.parametrize(
    "role, expected",
    [
        # "Kế hoạch các xã" / "Kế hoạch của xã": the commune plans of IV.7 (#19).
        ("viewer", ["Tổng quan", "Kế hoạch các xã", "Đơn vị"]),
        ("contest_manager", ["Tổng quan", "Đơn vị", "Tin nhắn"]),
        ("unit_officer", ["Tổng quan", "Báo cáo đơn vị", "Kế hoạch của xã", "Đơn vị", "Tin nhắn"]),
        ("plan_admin", ["Tổng quan", "Báo cáo đơn vị", "Kế hoạch các xã", "Tổng hợp", "Đơn vị", "Tin nhắn",
                        "Nhật ký thao tác"]),
        ("system_admin", ["Tổng quan", "Báo cáo đơn vị", "Kế hoạch các xã", "Tổng hợp", "Đơn vị", "Tin nhắn",
                          "Nhật ký thao tác"]),
    ],
)
def test_navigation_by_role(client_for, role, expected):
    html = text_of(client_for(role).get("/"))
    assert nav_labels(html) == expected
    assert 'aria-current="page"' in html.split("</nav>", 1)[0]


def test_no_navigation_when_anonymous(app, users):
    html = text_of(app.test_client().get("/dang-nhap"))
    assert "Điều hướng chính" not in html
    assert "Đăng xuất" not in html


def test_fixed_url_is_url_for_remembered_per_mount_point(app):
    from flask import url_for

    from ccch_core.web import fixed_url

    with app.test_request_context("/"):
        hashed = url_for("static", filename="public.css")  # named by its content (ccch_core.web.compression)
        assert re.fullmatch(r"/static/public\.[0-9a-f]{12}\.css", hashed)
        assert fixed_url("static", filename="public.css") == hashed
        assert fixed_url("static", filename="public.css") == hashed  # from the memo
    # The same app mounted under a prefix (SCRIPT_NAME) gets its own links, not the memo's.
    with app.test_request_context("/", base_url="http://localhost/cchc/"):
        assert fixed_url("static", filename="public.css") == "/cchc" + hashed
    page = app.test_client().get("/dang-nhap", base_url="http://localhost/cchc/").get_data(as_text=True)
    assert 'href="/cchc/static/' in page


def test_a_quarter_inside_a_sentence_keeps_its_roman_numeral(client_for):
    """``|lower`` wrote "trong quý i/2024"; the ``lower_first`` filter lowers the first letter only."""
    html = client_for("plan_admin").get("/?period=2024-Q1").get_data(as_text=True)
    assert "Hoạt động được báo cáo trong quý I/2024" in html
    assert "quý i/2024" not in html


def test_year_dashboard_with_nothing_kept_builds_the_year_from_the_months_of_its_trends(dep, client_for):
    # #26: a first view of the year with no month's figures stored evaluates the trend's months
    # first, and the year's figures come from their rows (kept by evaluate_plan), not from a
    # second pass over the measurements; the months' figures are then stored, so a server just
    # started (nothing kept) reads them and evaluates no month; the figures are the same.
    from ccch_core.web import dashboard

    db, plan = dep.db, dep.plan
    for month, count in (("2024-01", 2), ("2024-03", 3)):
        progress.record_measurement(db, plan, "I7", "trung-tam-vhtt", month, count)
    stations = [f"{c}.truyen-thanh" for c in STATIONS]
    for station in stations[:6]:
        progress.record_measurement(db, plan, "I5", station, "2024-02", "có")
    progress.record_measurement(db, plan, "I5", stations[0], "2024-11", "không")
    viewer = client_for("viewer")
    codes = [i.code for i in plan.indicators]

    def figures(html):
        return {code: cells(indicator_row(html, code))[1:] for code in codes if indicator_row(html, code)}

    def nothing_kept():
        dashboard._CHARTS_CACHE.clear()
        dashboard._MONTHS_CACHE.clear()
        progress.forget_kept(plan)

    def months_read(statements):
        return [s for s in statements if "from measurements indexed by" in s]

    statements: list[str] = []
    nothing_kept()
    db.conn.set_trace_callback(statements.append)
    try:
        first = viewer.get("/?period=2024")
        assert first.status_code == 200
        assert not [s for s in statements if "group by unit_id" in s]  # the year not read again
        assert len(months_read(statements)) == 12  # each month read once, for the trends
        assert db.execute("select count(*) from period_figures").fetchone()[0] == 12
        # A server just started: the months' figures are read back, the year is read.
        nothing_kept()
        statements.clear()
        read = viewer.get("/?period=2024")
        assert not months_read(statements)
        assert [s for s in statements if "group by unit_id" in s]
        # A write to March: March alone is evaluated again for the trends.
        progress.record_measurement(db, plan, "I7", "trung-tam-vhtt", "2024-03", 4)
        statements.clear()
        written = viewer.get("/?period=2024")
        assert [s.count("'2024-03'") for s in months_read(statements)] == [1]
    finally:
        db.conn.set_trace_callback(None)
    trends = re.findall(r'<svg[^>]*aria-labelledby="xu-huong.*?</svg>', text_of(first), re.DOTALL)
    assert trends and trends == re.findall(r'<svg[^>]*aria-labelledby="xu-huong.*?</svg>', text_of(read), re.DOTALL)
    _, value, _, _, _ = cells(indicator_row(text_of(written), "I7"))
    assert value == "6"  # 2 + 4
    html = text_of(first)
    assert figures(html) == figures(text_of(read))
    _, value, _, _, _ = cells(indicator_row(html, "I7"))
    assert value == "5"  # 2 + 3
    _, value, _, _, _ = cells(indicator_row(html, "I5"))
    assert value == "31,2%"  # 5 of 16 stations' latest answer is yes


@pytest.mark.parametrize("role", ["plan_admin", "unit_officer", "viewer"])
def test_each_roles_first_view_is_the_same_from_stored_month_figures(dep, client_for, role):
    # #26: a restarted server draws the trends from the months' stored figures; for every role,
    # month and year, the page is the one drawn from the months evaluated anew.
    from ccch_core.web import dashboard

    db, plan = dep.db, dep.plan
    for month, count in (("2024-01", 2), ("2024-02", 1), ("2024-03", 3)):
        progress.record_measurement(db, plan, "I7", "trung-tam-vhtt", month, count)
    for i, station in enumerate(f"{c}.truyen-thanh" for c in STATIONS[:8]):
        progress.record_measurement(db, plan, "I5", station, f"2024-0{1 + i % 3}", "có" if i % 2 else "không")
    client = client_for(role)

    def first_view(url):
        dashboard._CHARTS_CACHE.clear()
        dashboard._MONTHS_CACHE.clear()
        progress.forget_kept(plan)
        response = client.get(url)
        assert response.status_code == 200
        return re.sub(r'name="csrf_token" value="[^"]+"', "", text_of(response))

    for url in ("/?period=2024-03", "/?period=2024"):
        db.execute("delete from period_figures")
        db.conn.commit()
        evaluated = first_view(url)
        assert db.execute("select count(*) from period_figures").fetchone()[0] > 0
        assert first_view(url) == evaluated


def test_trend_figures_of_measured_indicators_follow_the_plugins_data(dep):
    # #26: the months' stored figures leave out indicators a plugin measures; trend_figures adds
    # theirs from the plugin's measure (kept per process while the month's data cannot move),
    # equal to what evaluate_plan gives with the measures.
    import attrs

    from ccch_core.periods import Period
    from ccch_core.progress import MeasureValue
    from ccch_core.web import dashboard

    calls = []

    def satisfaction(context):
        calls.append(str(context.period))
        return {u.id: MeasureValue(80.0 + 10 * (i % 2), numerator=8 + i % 2, denominator=10)
                for i, u in enumerate(context.units[:5])}

    plan = attrs.evolve(dep.plan, indicators=tuple(
        attrs.evolve(i, source="plugin:hai-long") if i.code == "I2" else i for i in dep.plan.indicators))
    progress.record_measurement(dep.db, plan, "I7", "trung-tam-vhtt", "2024-01", 2)
    dep.measures = {**dep.measures, "hai-long": satisfaction}
    dashboard._MONTHS_CACHE.clear()
    now = dt.datetime(2024, 6, 15, tzinfo=dt.UTC)
    march = Period.parse("2024-03")
    figures = dashboard.trend_figures(dep, plan, march, now)
    assert list(figures) == [Period.parse("2024-01"), Period.parse("2024-02")] and calls == ["2024-01", "2024-02"]
    for month, values in figures.items():
        evaluated = progress.evaluate_plan(dep.db, plan, month, now=now, measures=dep.measures, deployment=dep)
        assert values == {r.indicator.code: r.value for r in evaluated}
    assert figures[Period.parse("2024-01")]["I2"] == 84.0  # a ratio: 42 / 50
    calls.clear()
    assert dashboard.trend_figures(dep, plan, march, now) == figures and calls == []  # kept: months over
