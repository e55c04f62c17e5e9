"""The contest manager's pages: a role × route matrix generated from the app's URL map (every
route of the contest's blueprints must be in the table), CSRF, the setup form, question import,
disqualification, prizes, exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from urllib.parse import urlsplit

import pytest
from ccch_contest import attempts as A
from ccch_contest.contests import get_contest
from ccch_contest_testing import (
    PHONES,
    add_participant,
    answers_for,
    contest_data,
    load_contest,
)

from ccch_core.accounts import Role
from ccch_core.testing import csrf_token, login

UTC = dt.UTC
ROLES = ("anonymous", "system_admin", "plan_admin", "unit_officer", "contest_manager", "viewer")
LOGIN = "login"
SLUG = "tim-hieu-cchc-2024"


def public(outcome):
    return {role: outcome for role in ROLES}


def manager(outcome):
    return {"anonymous": LOGIN, "system_admin": outcome, "contest_manager": outcome, "plan_admin": 403,
            "unit_officer": 403, "viewer": 403}


# (endpoint, method) -> expected outcome per role. POSTs carry a valid CSRF token and an otherwise
# empty form. The visitor is never the participant who owns the attempt in the URL.
MATRIX = {
    ("contest_public.index", "GET"): public(302),
    ("contest_public.landing", "GET"): public(200),
    ("contest_public.register_view", "GET"): public(200),
    ("contest_public.register_view", "POST"): public(422),
    ("contest_public.identify_view", "GET"): public(200),
    ("contest_public.identify_view", "POST"): public(422),
    ("contest_public.confirm_view", "GET"): public(303),  # nothing pending: back to the registration
    ("contest_public.confirm_view", "POST"): public(303),
    ("contest_public.resume_code_view", "POST"): public(403),
    ("contest_public.forget_view", "POST"): public(303),
    ("contest_public.start_view", "POST"): public(303),
    ("contest_public.attempt_view", "GET"): public(403),
    ("contest_public.save_view", "POST"): public(403),
    ("contest_public.submit_view", "POST"): public(403),
    ("contest_public.result_view", "GET"): public(403),
    ("contest_public.review_view", "GET"): public(403),
    ("contest_public.leaderboard_view", "GET"): public(200),
    ("contest_public.prizes_view", "GET"): public(200),
    ("contest_public.mine_view", "GET"): public(303),
    ("contest_public.erase_mine_view", "POST"): public(403),
    ("contest_public.static", "GET"): public(200),
    ("contest_manage.index", "GET"): manager(200),
    ("contest_manage.new", "GET"): manager(200),
    ("contest_manage.new", "POST"): manager(422),
    ("contest_manage.upload_definition", "POST"): manager(303),
    ("contest_manage.overview", "GET"): manager(200),
    ("contest_manage.setup", "GET"): manager(200),
    ("contest_manage.setup", "POST"): manager(422),
    ("contest_manage.definition_download", "GET"): manager(200),
    ("contest_manage.status", "POST"): manager(400),
    ("contest_manage.questions", "GET"): manager(200),
    ("contest_manage.questions_import", "POST"): manager(303),
    ("contest_manage.questions_export", "GET"): manager(200),
    ("contest_manage.template_download", "GET"): manager(200),
    ("contest_manage.question_retire", "POST"): manager(303),
    ("contest_manage.participants", "GET"): manager(200),
    ("contest_manage.participant", "GET"): manager(200),
    ("contest_manage.disqualify", "POST"): manager(303),
    ("contest_manage.reinstate", "POST"): manager(303),
    ("contest_manage.erase", "POST"): manager(303),
    ("contest_manage.verify", "POST"): manager(200),
    ("contest_manage.disqualify_attempt_view", "POST"): manager(303),
    ("contest_manage.reinstate_attempt_view", "POST"): manager(303),
    ("contest_manage.rankings", "GET"): manager(200),
    ("contest_manage.close_round_view", "POST"): manager(303),
    ("contest_manage.publish_results", "POST"): manager(303),
    ("contest_manage.prizes", "GET"): manager(200),
    ("contest_manage.prizes_handed", "POST"): manager(303),
    ("contest_manage.flags_view", "GET"): manager(200),
    ("contest_manage.flags_decide", "POST"): manager(303),
    ("contest_manage.participation_view", "GET"): manager(200),
    ("contest_manage.log_view", "GET"): manager(200),
    ("contest_manage.export_csv", "GET"): manager(200),
    ("contest_manage.poster", "GET"): manager(200),
    ("contest_manage.poster", "POST"): manager(422),
}
BLUEPRINTS = ("contest_public.", "contest_manage.")


@pytest.fixture
def state(dep, contest):
    """A participant with a submitted attempt in round 2 (open) and one in round 1 (closed)."""
    person = add_participant(dep, contest, 1)
    attempt = A.start_attempt(dep, contest, person.id).attempt
    A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 3.0)
    key = dep.db.execute("select key from contest_questions where active = 1 order by id").fetchone()[0]
    return {"slug": SLUG, "token": attempt.token, "pid": person.id, "aid": attempt.id, "number": 1, "key": key,
            "fmt": "csv", "name": "participants", "filename": "contest.css"}


@pytest.fixture
def app(dep, contest, make_app):
    return make_app(dep)


@pytest.fixture
def bare_app(dep, make_app):
    """The app of a deployment without any contest yet."""
    return make_app(dep)


def client_as(app, dep, make_user, role):
    client = app.test_client()
    if role != "anonymous":
        username, password = make_user(dep, role, "xa-an-dung" if role == "unit_officer" else None)
        assert login(client, username, password).status_code == 302
    return client


def route_checks(app, values):
    adapter = app.url_map.bind("localhost")
    checks, problems = [], []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(BLUEPRINTS):
            continue
        missing = set(rule.arguments) - set(values)
        if missing:
            problems.append(f"{rule.rule}: add the route to MATRIX (and a value for {sorted(missing)})")
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            key = (rule.endpoint, method)
            if key not in MATRIX:
                problems.append(f"{method} {rule.rule} ({rule.endpoint}): add the route to MATRIX")
                continue
            checks.append((key, adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments}, method=method)))
    return checks, problems


def outcome(response):
    if response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/dang-nhap":
        return LOGIN
    return response.status_code


def test_matrix_covers_every_contest_route(app, state):
    checks, problems = route_checks(app, state)
    assert not problems, "\n".join(problems)
    assert {key for key, _ in checks} == set(MATRIX)


def test_a_new_route_makes_the_matrix_fail(app, state):
    app.add_url_rule("/cuoc-thi/quan-ly/<slug>/moi", "contest_manage.moi", lambda slug: "mới")
    app.add_url_rule("/cuoc-thi/<slug>/khac/<x>", "contest_public.khac", lambda slug, x: "khác")
    _, problems = route_checks(app, state)
    assert any("contest_manage.moi" in p for p in problems)
    assert any("/khac/<x>" in p for p in problems)


@pytest.mark.parametrize("role", ROLES)
def test_role_route_matrix(app, dep, state, make_user, role):
    client = client_as(app, dep, make_user, role)
    token = csrf_token(client, f"/cuoc-thi/{SLUG}/dang-ky")
    checks, problems = route_checks(app, state)
    assert not problems
    mismatches = []
    for key, url in checks:
        response = client.get(url) if key[1] == "GET" else client.open(url, method=key[1], data={"csrf_token": token})
        got = outcome(response)
        if got != MATRIX[key][role]:
            mismatches.append(f"{role} {key[1]} {url}: expected {MATRIX[key][role]}, got {got}")
    assert not mismatches, "\n".join(mismatches)


def test_matrix_agrees_with_roles_required(app):
    guarded = {ep: view.ccch_roles for ep, view in app.view_functions.items()
               if ep.startswith("contest_manage.") and hasattr(view, "ccch_roles")}
    manage_endpoints = {ep for ep, _ in MATRIX if ep.startswith("contest_manage.")}
    assert set(guarded) == manage_endpoints  # every manager view declares its roles
    assert all(roles == {Role.SYSTEM_ADMIN, Role.CONTEST_MANAGER} for roles in guarded.values())


def test_csrf_is_enforced_on_manager_forms(app, dep, state, make_user):
    client = client_as(app, dep, make_user, "contest_manager")
    for path in (f"/cuoc-thi/quan-ly/{SLUG}/thi-sinh/{state['pid']}/loai", f"/cuoc-thi/quan-ly/{SLUG}/trang-thai",
                 f"/cuoc-thi/quan-ly/{SLUG}/cau-hoi/nhap", "/cuoc-thi/quan-ly/tao"):
        response = client.post(path, data={"reason": "Thi hộ", "status": "archived"})
        assert response.status_code == 400, path
    assert get_contest(dep, SLUG).status != "archived"
    assert dep.db.execute("select disqualified from contest_participants").fetchone()[0] == 0


def manager_client(app, dep, make_user):
    return client_as(app, dep, make_user, "contest_manager")


def setup_form(**overrides):
    form = {
        "slug": "thi-thang-7", "title": "Cuộc thi tháng 7", "organiser": "phong-noi-vu", "rules": "Thể lệ.\nĐoạn hai.",
        "questions_per_attempt": "10", "time_limit_minutes": "10", "attempts_per_round": "2", "leaderboard_size": "30",
        "counted_attempt": "best", "review": "after_close", "citizen_id": "optional", "overdue": "submit_saved",
        "shuffle_questions": "1", "shuffle_options": "1", "score_disclosure": "immediately", "live_leaderboard": "1",
        "prediction_kind": "percent", "tie_break_1": "prediction", "tie_break_2": "time", "tie_break_3": "submitted",
        "eligibility_who": "adults", "eligibility_min_age": "18", "excluded_units": ["phong-noi-vu"],
        "units": ["cac-xa-thi-tran"], "round_count": "2",
        "rounds-0-number": "1", "rounds-0-name": "Tuần 1", "rounds-0-opens_date": "2024-07-01",
        "rounds-0-opens_time": "07:00", "rounds-0-closes_date": "2024-07-07", "rounds-0-closes_time": "23:59:59",
        "rounds-1-number": "", "rounds-1-name": "", "rounds-1-opens_date": "", "rounds-1-closes_date": "",
        "audience_count": "2", "audiences-0-key": "nhan-dan", "audiences-0-name": "Nhân dân",
        "audiences-0-quota-0-category": "Chỉ tiêu", "audiences-0-quota-0-count": "3",
        "audiences-0-quota-1-category": "Nhiệm vụ", "audiences-0-quota-1-count": "3",
        "audiences-0-prize-0-name": "Giải Nhất", "audiences-0-prize-0-count": "1",
        "audiences-0-prize-0-value": "500.000 đồng", "audiences-0-prize-1-name": "Giải Nhì",
        "audiences-0-prize-1-count": "2",
        "collective-0-name": "Xã đông nhất", "collective-0-measure": "count", "collective-0-count": "1",
        "collective-0-among": ["cac-xa-thi-tran"], "collective-0-value": "Giấy khen",
    }
    form.update(overrides)
    return form


def test_create_a_contest_with_the_setup_form(bare_app, dep, make_user):
    app = bare_app
    client = manager_client(app, dep, make_user)
    token = csrf_token(client, "/cuoc-thi/quan-ly/tao")
    response = client.post("/cuoc-thi/quan-ly/tao", data={"csrf_token": token, **setup_form()})
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    contest = get_contest(dep, "thi-thang-7")
    d = contest.definition
    assert (d.questions_per_attempt, d.attempts_per_round, d.prediction, d.citizen_id) == (10, 2, "percent", "optional")
    assert d.audiences[0].quotas == (("Chỉ tiêu", 3), ("Nhiệm vụ", 3))
    assert [(p.name, p.count, p.value) for p in d.audiences[0].prizes] == [("Giải Nhất", 1, "500.000 đồng"),
                                                                           ("Giải Nhì", 2, None)]
    assert d.rounds[0].closes.strftime("%d/%m/%Y %H:%M:%S") == "07/07/2024 23:59:59"
    assert d.collective_prizes[0].among == ("cac-xa-thi-tran",)
    assert d.eligibility.excluded_units == ("phong-noi-vu",)
    # The form shows the saved definition again.
    html = client.get("/cuoc-thi/quan-ly/thi-thang-7/thiet-lap").get_data(as_text=True)
    assert 'value="Chỉ tiêu"' in html and 'value="2024-07-07"' in html and 'value="Giải Nhì"' in html


def test_setup_form_problems_are_shown_and_input_kept(bare_app, dep, make_user):
    app = bare_app
    client = manager_client(app, dep, make_user)
    token = csrf_token(client, "/cuoc-thi/quan-ly/tao")
    bad = setup_form(**{"rounds-0-closes_date": "2024-06-30", "audiences-0-quota-0-count": "ba câu",
                        "title": "Tên đã gõ"})
    response = client.post("/cuoc-thi/quan-ly/tao", data={"csrf_token": token, **bad})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Đối tượng 1: định mức câu hỏi" in html  # the place in words, not audiences[0].quotas
    assert 'value="Tên đã gõ"' in html and 'value="ba câu"' in html and 'value="Giải Nhì"' in html
    assert get_contest(dep, "thi-thang-7") is None
    fixed = setup_form(**{"rounds-0-closes_date": "2024-06-30"})
    response = client.post("/cuoc-thi/quan-ly/tao", data={"csrf_token": token, **fixed})
    assert response.status_code == 422 and "Vòng 1: ngày đóng: phải sau ngày giờ mở" in response.get_data(as_text=True)


def test_import_questions_through_the_web(bare_app, dep, make_user):
    app = bare_app
    contest = load_contest(dep, contest_data(), questions=None, publish=False)
    client = manager_client(app, dep, make_user)
    url = f"/cuoc-thi/quan-ly/{contest.slug}/cau-hoi/nhap"
    token = csrf_token(client, f"/cuoc-thi/quan-ly/{contest.slug}/cau-hoi")
    content = ("key,type,prompt,option_a,option_b,correct,category\n"
               "w1,single,Câu một?,Một,Hai,A,Chỉ tiêu\nw2,single,Câu hai?,Một,Hai,,Chỉ tiêu\n").encode()
    response = client.post(url, data={"csrf_token": token, "file": (io.BytesIO(content), "cau-hoi.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Dòng 3: chưa có đáp án đúng (cột correct)" in html and "chưa nhập câu nào" in html
    assert dep.db.execute("select count(*) from contest_questions").fetchone()[0] == 0
    response = client.post(url, data={"csrf_token": token, "skip_bad_rows": "1",
                                      "file": (io.BytesIO(content), "cau-hoi.csv")}, content_type="multipart/form-data")
    assert response.status_code == 303
    assert [r[0] for r in dep.db.execute("select key from contest_questions")] == ["w1"]
    exported = client.get(f"/cuoc-thi/quan-ly/{contest.slug}/cau-hoi/xuat.xlsx")
    assert exported.status_code == 200 and exported.data[:2] == b"PK"


REVIEW_BANK = ("key,type,prompt,option_a,option_b,correct,category\n"
               "r1,single,Câu một?,Một,Hai,A,Chỉ tiêu\nr2,single,Câu hai?,Một,Hai,B,Chỉ tiêu\n").encode()


def _active_keys(dep):
    return [r[0] for r in dep.db.execute("select key from contest_questions where active = 1 order by key")]


def test_a_header_typo_imports_nothing_whatever_the_options(bare_app, dep, make_user):
    """Header "typ" with "replace" and "skip bad rows" ticked used to retire the whole bank."""
    contest = load_contest(dep, contest_data(), publish=False)
    client = manager_client(bare_app, dep, make_user)
    token = csrf_token(client, f"/cuoc-thi/quan-ly/{contest.slug}/cau-hoi")
    bad = "key,typ,prompt,option_a,option_b,correct\nx1,single,Câu hỏi?,A1,B1,A\n".encode()
    response = client.post(f"/cuoc-thi/quan-ly/{contest.slug}/cau-hoi/nhap",
                           data={"csrf_token": token, "replace": "1", "skip_bad_rows": "1",
                                 "file": (io.BytesIO(bad), "bad.csv")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Chưa nhập tệp bad.csv" in html and "dòng tiêu đề sai (cột không có trong mẫu: typ)" in html
    # The options come back as they were ticked.
    assert 'name="replace" value="1" checked' in html and 'name="skip_bad_rows" value="1" checked' in html
    assert len(_active_keys(dep)) == 89


def test_a_replace_that_leaves_too_few_questions_is_refused_unless_forced(bare_app, dep, make_user):
    contest = load_contest(dep, contest_data(), publish=False)
    client = manager_client(bare_app, dep, make_user)
    token = csrf_token(client, f"/cuoc-thi/quan-ly/{contest.slug}/cau-hoi")
    url = f"/cuoc-thi/quan-ly/{contest.slug}/cau-hoi/nhap"
    response = client.post(url, data={"csrf_token": token, "replace": "1", "file": (io.BytesIO(REVIEW_BANK), "nho.csv")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Không thay ngân hàng câu hỏi: thay toàn bộ sẽ ngừng dùng 89 câu đang dùng và chỉ còn 2 câu" in html
    assert len(_active_keys(dep)) == 89
    response = client.post(url, data={"csrf_token": token, "replace": "1", "force_replace": "1",
                                      "file": (io.BytesIO(REVIEW_BANK), "nho.csv")}, content_type="multipart/form-data")
    assert response.status_code == 303 and _active_keys(dep) == ["r1", "r2"]


def test_the_topic_table_counts_questions_by_their_topic_column(bare_app, dep, make_user):
    """The example bank ties its questions to the plan's content topics (column topic); the
    manager's table counts them per topic, whatever their quota category."""
    contest = load_contest(dep, contest_data(), publish=False)
    client = manager_client(bare_app, dep, make_user)
    html = client.get(f"/cuoc-thi/quan-ly/{contest.slug}/cau-hoi").get_data(as_text=True)
    table = html[html.index("Nội dung tuyên truyền của kế hoạch"):]
    table = table[:table.index("</details>")]
    counts = dict(re.findall(r"<tr><td>(1\.\d)</td><td>[^<]*</td><td>(\d+)</td></tr>", table))
    assert counts["1.3"] == "23" and counts["1.4"] == "1" and counts["1.6"] == "1"
    assert counts["1.1"] == "0"


def test_disqualify_with_a_reason_through_the_web(app, dep, contest, make_user):
    person = add_participant(dep, contest, 1)
    client = manager_client(app, dep, make_user)
    url = f"/cuoc-thi/quan-ly/{SLUG}/thi-sinh/{person.id}"
    token = csrf_token(client, url)
    client.post(url + "/loai", data={"csrf_token": token, "reason": ""})
    assert dep.db.execute("select disqualified from contest_participants").fetchone()[0] == 0
    assert "Vui lòng ghi lý do loại" in client.get(url).get_data(as_text=True)
    client.post(url + "/loai", data={"csrf_token": token, "reason": "Khai thông tin của người khác"})
    html = client.get(url).get_data(as_text=True)
    assert "Bị loại" in html and "Khai thông tin của người khác" in html
    log = client.get(f"/cuoc-thi/quan-ly/{SLUG}/nhat-ky").get_data(as_text=True)
    assert "Loại người dự thi" in log and "Khai thông tin của người khác" in log


def test_verify_a_winners_citizen_id(app, dep, contest, make_user):
    from ccch_contest.participants import register

    person = register(dep, contest, {"full_name": "Hồ Thị Lan", "phone": PHONES[2], "birth_year": "1975",
                                     "audience": "nhan-dan", "unit_id": "xa-yen-ho", "citizen_id": "042175001234",
                                     "consent": "1"}, "k")
    assert dep.db.execute("select citizen_id_masked from contest_participants").fetchone()[0] == "********1234"
    client = manager_client(app, dep, make_user)
    url = f"/cuoc-thi/quan-ly/{SLUG}/thi-sinh/{person.id}"
    token = csrf_token(client, url)
    good = client.post(url + "/doi-chieu", data={"csrf_token": token, "citizen_id": "042 175 001 234"})
    assert "Khớp với số đã đăng ký" in good.get_data(as_text=True)
    bad = client.post(url + "/doi-chieu", data={"csrf_token": token, "citizen_id": "042175009999"})
    assert "KHÔNG khớp" in bad.get_data(as_text=True)


def test_csv_exports_are_bom_utf8_masked_and_formula_safe(app, dep, contest, make_user):
    from ccch_contest.participants import register

    register(dep, contest, {"full_name": "Đỗ Văn Hùng", "phone": PHONES[3], "birth_year": "1980",
                            "audience": "cbccvc", "unit_id": "xa-an-dung", "occupation": "=HYPERLINK(\"http://x\")",
                            "consent": "1"}, "k")
    client = manager_client(app, dep, make_user)
    response = client.get(f"/cuoc-thi/quan-ly/{SLUG}/xuat/participants.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Cuộc thi", "Mã người dự thi", "Họ và tên"]
    assert rows[1][2] == "Đỗ Văn Hùng" and rows[1][3] == "*******" + PHONES[3][-3:]
    assert rows[1][9].startswith("'=HYPERLINK")
    assert PHONES[3] not in body
    for name in ("attempts", "rankings", "prizes", "participation"):
        assert client.get(f"/cuoc-thi/quan-ly/{SLUG}/xuat/{name}.csv").status_code == 200
    assert client.get(f"/cuoc-thi/quan-ly/{SLUG}/xuat/khong-co.csv").status_code == 404


def test_prize_lists_published_to_the_public_page(bare_app, dep, make_user):
    app = bare_app
    now = dt.datetime.now(UTC)
    data = contest_data(rounds=[(now - dt.timedelta(days=3), now - dt.timedelta(days=1))])
    contest = load_contest(dep, data)
    start = now - dt.timedelta(days=2)
    for n in range(3):
        person = add_participant(dep, contest, n, name=f"Võ Thị {'XYZ'[n]}")
        attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
        A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt, wrong=n), 3.0,
                         now=start + dt.timedelta(minutes=5))
    public = app.test_client().get(f"/cuoc-thi/{SLUG}/giai-thuong").get_data(as_text=True)
    assert "Võ Thị X" not in public and "chưa công bố" in public
    client = manager_client(app, dep, make_user)
    html = client.get(f"/cuoc-thi/quan-ly/{SLUG}/giai-thuong").get_data(as_text=True)
    assert html.index("Võ Thị X") < html.index("Võ Thị Y") and PHONES[0] in html  # contact number for the manager
    token = csrf_token(client, f"/cuoc-thi/quan-ly/{SLUG}/giai-thuong")
    assert client.post(f"/cuoc-thi/quan-ly/{SLUG}/vong/1/cong-bo", data={"csrf_token": token,
                                                                         "publish": "1"}).status_code == 303
    public = app.test_client().get(f"/cuoc-thi/{SLUG}/giai-thuong").get_data(as_text=True)
    assert "Võ Thị X" in public and "Giải Nhất" in public and PHONES[0] not in public


def test_upload_a_definition_file(bare_app, dep, make_user):
    app = bare_app
    client = manager_client(app, dep, make_user)
    token = csrf_token(client, "/cuoc-thi/quan-ly/")
    bad = b'format = 1\n[contest]\nslug = "x-y"\ntitle = "T"\nthoi_gian = 3\n'
    response = client.post("/cuoc-thi/quan-ly/nap-dinh-nghia", data={"csrf_token": token,
                           "file": (io.BytesIO(bad), "cuoc-thi.toml")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "cuoc-thi.toml:5: contest.thoi_gian: unknown key" in html
    from ccch_contest_testing import CONTEST_TOML

    response = client.post("/cuoc-thi/quan-ly/nap-dinh-nghia", data={"csrf_token": token,
                           "file": (io.BytesIO(CONTEST_TOML.read_bytes()), "contest.toml")},
                           content_type="multipart/form-data")
    assert response.status_code == 303 and get_contest(dep, SLUG).definition.rounds[0].number == 1
    download = client.get(f"/cuoc-thi/quan-ly/{SLUG}/dinh-nghia.toml")
    assert download.status_code == 200 and b'slug = "tim-hieu-cchc-2024"' in download.data


def test_publishing_checks_readiness(bare_app, dep, make_user):
    app = bare_app
    load_contest(dep, contest_data(), questions=None, publish=False)
    client = manager_client(app, dep, make_user)
    token = csrf_token(client, f"/cuoc-thi/quan-ly/{SLUG}")
    client.post(f"/cuoc-thi/quan-ly/{SLUG}/trang-thai", data={"csrf_token": token, "status": "published"})
    assert get_contest(dep, SLUG).status == "draft"
    html = client.get(f"/cuoc-thi/quan-ly/{SLUG}").get_data(as_text=True)
    assert "Chưa công bố được" in html and "Ngân hàng câu hỏi chưa có câu hỏi nào" in html


def test_participation_page_has_a_chart(app, dep, contest, make_user):
    person = add_participant(dep, contest, 1, unit_id="xa-yen-ho")
    attempt = A.start_attempt(dep, contest, person.id).attempt
    A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 1.0)
    html = manager_client(app, dep, make_user).get(f"/cuoc-thi/quan-ly/{SLUG}/tham-gia").get_data(as_text=True)
    assert "<svg" in html and "UBND xã Yên Hồ" in html


def test_navigation_and_dashboard_panel_for_managers_only(app, dep, contest, make_user):
    manager_page = manager_client(app, dep, make_user).get("/").get_data(as_text=True)
    assert 'href="/cuoc-thi/quan-ly/"' in manager_page and "Cuộc thi tìm hiểu về CCHC" in manager_page
    viewer_page = client_as(app, dep, make_user, "viewer").get("/").get_data(as_text=True)
    assert "/cuoc-thi/quan-ly/" not in viewer_page and "Cuộc thi tìm hiểu về CCHC" not in viewer_page
