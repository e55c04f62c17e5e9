"""Who may open what: a role × route matrix generated from the app's URL map (restricted to this
plugin's blueprints; a new route that the table lacks fails the test), CSRF on every officer form,
and the unit officers' scope."""

from __future__ import annotations

import pytest
from ccch_survey.store import add_placement, create_enrolment, enrol_device
from ccch_survey_testing import store_response

from ccch_core import accounts
from ccch_core.accounts import Role
from ccch_core.testing import PASSWORD, csrf_token, login

USERS = {"system_admin": "sysadmin", "plan_admin": "vhtt", "unit_officer": "andung", "contest_manager": "noivu",
         "viewer": "xem"}
ROLES = ("anonymous", *USERS)
BLUEPRINTS = ("survey", "survey_public")
LOGIN = "login"


def row(anonymous, admins, officer, others):
    return {"anonymous": anonymous, "system_admin": admins, "plan_admin": admins, "unit_officer": officer,
            "contest_manager": others, "viewer": others}


# (endpoint, method, variant) -> outcome per role. "own": An Dũng's placement (the officer's commune),
# "other": Yên Hồ's. POSTs carry a valid CSRF token and otherwise empty forms.
MATRIX = {
    ("survey_public.answer", "GET", "own"): row(200, 200, 200, 200),
    ("survey_public.answer", "POST", "own"): row(400, 400, 400, 400),  # no submission id
    ("survey_public.thanks", "GET", "own"): row(200, 200, 200, 200),
    ("survey_public.token", "GET", "own"): row(200, 200, 200, 200),
    ("survey_public.static", "GET", None): row(200, 200, 200, 200),
    ("survey_public.enrol", "GET", "own"): row(200, 200, 200, 200),  # a kiosk's enrolment page
    ("survey_public.enrol", "POST", "own"): row(400, 400, 400, 400),  # no enrolment form token
    ("survey.index", "GET", None): row(LOGIN, 200, 200, 403),
    ("survey.results", "GET", None): row(LOGIN, 200, 200, 403),
    ("survey.comments", "GET", None): row(LOGIN, 200, 200, 403),
    ("survey.download", "GET", None): row(LOGIN, 200, 200, 403),
    ("survey.contacts", "GET", None): row(LOGIN, 200, 403, 403),
    ("survey.forget_contact", "POST", None): row(LOGIN, 400, 403, 403),  # no response id
    ("survey.exclude", "POST", None): row(LOGIN, 303, 403, 403),
    ("survey.version", "GET", None): row(LOGIN, 200, 200, 403),
    ("survey.new", "GET", None): row(LOGIN, 200, 403, 403),
    ("survey.new", "POST", None): row(LOGIN, 422, 403, 403),  # empty definition
    ("survey.edit", "GET", None): row(LOGIN, 200, 403, 403),
    ("survey.edit", "POST", None): row(LOGIN, 422, 403, 403),
    ("survey.builder_new", "GET", None): row(LOGIN, 200, 403, 403),
    ("survey.builder_new", "POST", None): row(LOGIN, 422, 403, 403),  # no title, no question
    ("survey.builder_edit", "GET", None): row(LOGIN, 200, 403, 403),
    ("survey.builder_edit", "POST", None): row(LOGIN, 422, 403, 403),
    ("survey.status", "POST", None): row(LOGIN, 400, 403, 403),  # no status given
    ("survey.placements", "GET", None): row(LOGIN, 200, 200, 403),
    ("survey.placements", "POST", None): row(LOGIN, 422, 422, 403),
    ("survey.retire", "POST", "own"): row(LOGIN, 303, 303, 403),
    ("survey.retire", "POST", "other"): row(LOGIN, 303, 403, 403),
    ("survey.poster", "GET", "own"): row(LOGIN, 200, 200, 403),
    ("survey.poster", "GET", "other"): row(LOGIN, 200, 403, 403),
    ("survey.qr", "GET", "own"): row(LOGIN, 200, 200, 403),
    ("survey.qr", "GET", "other"): row(LOGIN, 200, 403, 403),
    ("survey.kiosk_devices", "GET", "own"): row(LOGIN, 200, 200, 403),
    ("survey.kiosk_devices", "GET", "other"): row(LOGIN, 200, 403, 403),
    ("survey.kiosk_devices", "POST", "own"): row(LOGIN, 200, 200, 403),  # an enrolment code, shown once
    ("survey.kiosk_devices", "POST", "other"): row(LOGIN, 200, 403, 403),
    ("survey.kiosk_revoke", "POST", "own"): row(LOGIN, 303, 303, 403),
    ("survey.kiosk_revoke", "POST", "other"): row(LOGIN, 303, 403, 403),
    ("survey.flags", "GET", None): row(LOGIN, 200, 200, 403),
    ("survey.review_flags", "POST", None): row(LOGIN, 400, 403, 403),  # no action chosen
}
KIOSK_ENDPOINTS = {"survey_public.enrol", "survey.kiosk_devices", "survey.kiosk_revoke"}
"""Routes of a kiosk placement: "own" and "other" are then An Dũng's and Yên Hồ's kiosks."""

ENDS_SESSION: set = set()


@pytest.fixture
def world(dep):
    for role, username in USERS.items():
        accounts.create_user(dep.db, dep.plan, username, PASSWORD, role,
                             unit_id="xa-an-dung" if role == "unit_officer" else None)
    own = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy 1")
    other = add_placement(dep.db, dep.plan, "sipas", "xa-yen-ho.mot-cua", "Quầy 1")
    response_id = store_response(dep, own, {"chung": "5"}).response_id
    world = {"own": own.code, "other": other.code, "response_id": response_id}
    for variant, unit in (("own", "xa-an-dung.mot-cua"), ("other", "xa-yen-ho.mot-cua")):
        kiosk = add_placement(dep.db, dep.plan, "sipas", unit, "Máy tính bảng", mode="kiosk")
        create_enrolment(dep.db, kiosk, f"ma-{variant}", "Máy 1", by="vhtt", minutes=15)
        world[f"{variant}_kiosk"] = kiosk.code
        world[f"{variant}_device"] = enrol_device(dep.db, kiosk, f"ma-{variant}", f"bi-mat-{variant}").id
    return world


def route_checks(app, world):
    """(key, URL) for every route of the survey blueprints; problems for routes missing in MATRIX."""
    adapter = app.url_map.bind("localhost")
    values = {"survey_id": "sipas", "version": 1, "response_id": world["response_id"], "fmt": "png",
              "filename": "kiosk.js"}
    checks, problems = [], []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in BLUEPRINTS:
            continue
        unknown = set(rule.arguments) - {"code", "device_id", *values}
        if unknown:
            problems.append(f"{rule.rule}: add the route to the matrix (and a value for {sorted(unknown)})")
            continue
        variants = ["own", "other"] if "code" in rule.arguments else [None]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for variant in variants:
                key = (rule.endpoint, method, variant)
                if key not in MATRIX:
                    if variant == "other" and (rule.endpoint, method, "own") in MATRIX and \
                            rule.endpoint.startswith("survey_public."):
                        continue  # citizen pages do not depend on the unit
                    problems.append(f"{method} {rule.rule} ({rule.endpoint}, {variant}): add it to the matrix")
                    continue
                args = {k: v for k, v in values.items() if k in rule.arguments}
                if variant:
                    args["code"] = world[f"{variant}_kiosk" if rule.endpoint in KIOSK_ENDPOINTS else variant]
                if "device_id" in rule.arguments:
                    args["device_id"] = world[f"{variant}_device"]
                if rule.endpoint == "survey_public.token":
                    args["sid"] = "ma-gui-cua-kiosk-01"  # a token is issued for one submission id
                checks.append((key, adapter.build(rule.endpoint, args, method=method)))
    return checks, problems


def outcome(response):
    if response.status_code == 302 and "/dang-nhap" in response.headers["Location"]:
        return LOGIN
    return response.status_code


def test_matrix_covers_every_survey_route(app, world):
    checks, problems = route_checks(app, world)
    assert not problems, "\n".join(problems)
    assert set(MATRIX) == {key for key, _ in checks}


def test_a_new_route_fails_the_matrix(app, world):
    app.add_url_rule("/khao-sat/moi-them/<int:so>", "survey.moi_them", lambda so: "x")
    _, problems = route_checks(app, world)
    assert any("/khao-sat/moi-them/<int:so>" in p for p in problems), problems


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(app, world, role):
    checks, problems = route_checks(app, world)
    assert not problems
    client = app.test_client()
    if role != "anonymous":
        assert login(client, USERS[role]).status_code == 302
    # The officers' forms carry the session's CSRF token (the citizen's page carries a form token).
    token = csrf_token(client, "/dang-nhap" if role == "anonymous" else "/")
    mismatches = []
    # Retiring runs last (it takes the placement down).
    for key, url in sorted(checks, key=lambda c: c[0][0] == "survey.retire"):
        if key[1] == "GET":
            response = client.get(url)
        else:
            response = client.open(url, method=key[1], data={"csrf_token": token})
        if outcome(response) != MATRIX[key][role]:
            mismatches.append(f"{role} {key[1]} {url}: expected {MATRIX[key][role]}, got {outcome(response)}")
    assert not mismatches, "\n".join(mismatches)


def test_matrix_agrees_with_roles_required(app):
    guarded = {ep: view.ccch_roles for ep, view in app.view_functions.items()
               if ep.startswith("survey.") and hasattr(view, "ccch_roles")}
    assert len(guarded) == len({k[0] for k in MATRIX if k[0].startswith("survey.")})
    for (endpoint, method, variant), expected in MATRIX.items():
        if endpoint not in guarded:
            continue
        for role in USERS:
            if Role(role) not in guarded[endpoint]:
                assert expected[role] == 403, (endpoint, role)


@pytest.mark.parametrize("path", ["/khao-sat/sipas/trang-thai", "/khao-sat/noi-dat", "/khao-sat/sipas/sua"])
def test_officer_forms_need_the_csrf_token(app, world, path):
    client = app.test_client()
    login(client, "vhtt")
    response = client.post(path, data={"trang_thai": "closed", "dinh_nghia": "x", "place": "x"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)


def test_unit_officer_sees_only_their_units(app, dep, world):
    client = app.test_client()
    login(client, "andung")
    assert client.get("/khao-sat/sipas?don-vi=xa-yen-ho").status_code == 403
    mine = client.get("/khao-sat/sipas?ky=2024-03").get_data(as_text=True)
    assert "Bộ phận tiếp nhận và trả kết quả xã An Dũng" in mine
    assert "xã Yên Hồ" not in mine
    placements = client.get("/khao-sat/noi-dat").get_data(as_text=True)
    assert world["own"] in placements and world["other"] not in placements
    # Creating a placement for another commune's unit is refused.
    token = csrf_token(client, "/khao-sat/noi-dat")
    refused = client.post("/khao-sat/noi-dat", data={"csrf_token": token, "survey_id": "sipas",
                                                      "unit_id": "xa-yen-ho.mot-cua", "place": "Quầy", "mode": "poster"})
    assert refused.status_code == 403
    created = client.post("/khao-sat/noi-dat", data={"csrf_token": token, "survey_id": "sipas",
                                                      "unit_id": "xa-an-dung.buu-dien-vh", "place": "Bảng tin",
                                                      "mode": "poster"})
    assert created.status_code == 303
    assert dep.db.execute("select count(*) from survey_placements where unit_id = 'xa-an-dung.buu-dien-vh'").fetchone()[0] == 1
