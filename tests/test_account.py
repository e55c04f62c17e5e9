"""An officer's own account page (/tai-khoan): a new password and their own second factor, each
change proved first (current password, current code), none of them through the administrator."""

from __future__ import annotations

import base64
import json
import re
import zlib

import pytest

from ccch_core import accounts, totp
from ccch_core.testing import PASSWORD, csrf_token, login

NEW_PASSWORD = "một câu dễ nhớ của cán bộ xã"
CODE_REFUSAL_TEXT = "Mã không đúng hoặc đã hết hạn."


@pytest.fixture
def officer(make_deployment, make_app, make_user):
    dep = make_deployment()
    name, _ = make_user(dep, "unit_officer", unit_id="xa-an-dung")
    app = make_app(dep)
    client = app.test_client()
    assert login(client, name).status_code == 302
    return dep, app, client, name


def post(client, url, data, token_url="/tai-khoan"):
    return client.post(url, data={"csrf_token": csrf_token(client, token_url), **data})


def shown_secret(page: str) -> str:
    return re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")


def code(secret: str, offset: int = 0) -> str:
    return totp.code_at(secret, totp.current_step() + offset)


def test_the_page_says_who_the_officer_is_in_words(officer):
    _dep, _app, client, name = officer
    page = client.get("/tai-khoan").get_data(as_text=True)
    assert name in page and "Cán bộ đơn vị — UBND xã An Dũng" in page and "Chưa bật" in page
    assert 'href="/tai-khoan"' in client.get("/").get_data(as_text=True)  # the name in the header leads here


def test_signed_out_visitors_are_sent_to_sign_in(make_deployment, make_app):
    client = make_app(make_deployment()).test_client()
    for url in ("/tai-khoan", "/tai-khoan/xac-thuc-hai-buoc"):
        response = client.get(url)
        assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]
    token = csrf_token(client, "/dang-nhap")
    for url in ("/tai-khoan/mat-khau", "/tai-khoan/xac-thuc-hai-buoc", "/tai-khoan/xac-thuc-hai-buoc/tat"):
        assert client.post(url, data={}).status_code == 400, url  # no form token: refused before anything
        response = client.post(url, data={"csrf_token": token, "current_password": PASSWORD, "code": "123456"})
        assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"], url


def test_a_new_password_after_the_current_one_ends_the_other_sessions_only(officer):
    dep, app, client, name = officer
    elsewhere = app.test_client()
    assert login(elsewhere, name).status_code == 302
    response = post(client, "/tai-khoan/mat-khau", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                   "new_password_again": NEW_PASSWORD})
    assert response.status_code == 303
    assert client.get("/tai-khoan").status_code == 200  # this browser stays signed in
    assert elsewhere.get("/tai-khoan").status_code == 302  # the other session ended
    assert login(app.test_client(), name, PASSWORD).status_code != 302
    assert login(app.test_client(), name, NEW_PASSWORD).status_code == 302
    actions = [r[0] for r in dep.db.execute("select action from audit_log where target = ?", [name])]
    assert "user.password" in actions


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"current_password": "sai mật khẩu rồi", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
     "current_password", "Mật khẩu hiện tại không đúng."),
    ({"current_password": "", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
     "current_password", "Mật khẩu hiện tại không đúng."),
    ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD + "x"},
     "new_password_again", "không giống nhau"),
    ({"current_password": PASSWORD, "new_password": "ngan", "new_password_again": "ngan"},
     "new_password", "từ 10 đến 1024 ký tự"),
    ({"current_password": PASSWORD, "new_password": "aaaaaaaaaaaa", "new_password_again": "aaaaaaaaaaaa"},
     "new_password", "lặp lại quá nhiều"),
    ({"current_password": PASSWORD, "new_password": "x" * 5000, "new_password_again": "x" * 5000},
     "new_password", "từ 10 đến 1024 ký tự"),
])
def test_a_refused_password_change_names_the_field_and_changes_nothing(officer, form, field, message):
    _dep, app, client, name = officer
    response = post(client, "/tai-khoan/mat-khau", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert PASSWORD not in page and NEW_PASSWORD not in page  # passwords never come back in the page
    assert login(app.test_client(), name, PASSWORD).status_code == 302


def test_the_officer_sets_up_their_own_second_factor_and_then_signs_in_with_it(officer):
    dep, app, client, name = officer
    page = client.get("/tai-khoan/xac-thuc-hai-buoc").get_data(as_text=True)
    assert '<svg role="img"' in page and "Mã QR để thêm tài khoản" in page
    secret = shown_secret(page)
    # The secret waits in the session sealed, never in clear (Flask's cookie is signed, not encrypted).
    cookie = client.get_cookie("ccch_session").value
    payload = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    text = (zlib.decompress(raw) if cookie.startswith(".") else raw).decode()
    assert secret not in text and "sealed" in json.loads(text)["totp_setup"]
    # A wrong code stores nothing.
    wrong = "000000" if code(secret) != "000000" else "111111"
    response = post(client, "/tai-khoan/xac-thuc-hai-buoc", {"code": wrong, "current_password": PASSWORD},
                    "/tai-khoan/xac-thuc-hai-buoc")
    assert response.status_code == 422 and "Mã không đúng" in response.get_data(as_text=True)
    assert not accounts.find_user(dep.db, name).totp_enabled
    # The same secret is offered again (the app already holds it), and its code confirms it.
    again = client.get("/tai-khoan/xac-thuc-hai-buoc").get_data(as_text=True)
    assert shown_secret(again) == secret
    response = post(client, "/tai-khoan/xac-thuc-hai-buoc", {"code": code(secret), "current_password": PASSWORD},
                    "/tai-khoan/xac-thuc-hai-buoc")
    assert response.status_code == 303
    assert accounts.find_user(dep.db, name).totp_enabled
    assert client.get("/tai-khoan").status_code == 200 and "Đang bật" in client.get("/tai-khoan").get_data(as_text=True)
    row = dep.db.execute("select totp_secret from users where username = ?", [name]).fetchone()[0]
    assert secret not in row and totp.unseal(dep.secret_key, accounts.find_user(dep.db, name).id, row) == secret
    # Next sign-in: password, then a code (the one just used is spent: the next one).
    other = app.test_client()
    response = login(other, name)
    assert response.status_code == 303 and response.headers["Location"].endswith("/dang-nhap/ma-xac-thuc")
    response = other.post("/dang-nhap/ma-xac-thuc", data={"csrf_token": csrf_token(other, "/dang-nhap/ma-xac-thuc"),
                                                          "code": code(secret)})
    assert response.status_code == 401  # the code that confirmed the set-up is never accepted again
    response = other.post("/dang-nhap/ma-xac-thuc", data={"csrf_token": csrf_token(other, "/dang-nhap/ma-xac-thuc"),
                                                          "code": code(secret, 1)})
    assert response.status_code == 302


def enrol(client, offset=0) -> str:
    secret = shown_secret(client.get("/tai-khoan/xac-thuc-hai-buoc").get_data(as_text=True))
    form = {"code": code(secret, offset), "current_password": PASSWORD}
    response = post(client, "/tai-khoan/xac-thuc-hai-buoc", form, "/tai-khoan/xac-thuc-hai-buoc")
    assert response.status_code == 303
    return secret


def test_moving_to_another_phone_needs_a_code_of_the_phone_in_use(officer):
    dep, _app, client, name = officer
    old = enrol(client)
    page = client.get("/tai-khoan/xac-thuc-hai-buoc").get_data(as_text=True)
    new = shown_secret(page)
    assert new != old and "Mã trên điện thoại đang dùng" in page
    url = "/tai-khoan/xac-thuc-hai-buoc"
    response = post(client, url, {"current_code": "123", "code": code(new)}, url)
    assert response.status_code == 422 and 'id="current_code-error"' in response.get_data(as_text=True)
    user = accounts.find_user(dep.db, name)
    assert totp.unseal(dep.secret_key, user.id, dep.db.execute(
        "select totp_secret from users where id = ?", [user.id]).fetchone()[0]) == old
    response = post(client, url, {"current_code": code(old, 1), "code": code(new)}, url)
    assert response.status_code == 303
    assert totp.unseal(dep.secret_key, user.id, dep.db.execute(
        "select totp_secret from users where id = ?", [user.id]).fetchone()[0]) == new
    actions = [r[0] for r in dep.db.execute("select action from audit_log where target = ? order by id", [name])]
    assert actions[-2:] == ["user.totp_enable", "user.totp_reset"]


def test_a_mistyped_new_code_does_not_use_up_the_code_of_the_phone_in_use(officer):
    dep, _app, client, name = officer
    old = enrol(client)
    new = shown_secret(client.get("/tai-khoan/xac-thuc-hai-buoc").get_data(as_text=True))
    url = "/tai-khoan/xac-thuc-hai-buoc"
    wrong = f"{(int(code(new)) + 1) % 1_000_000:06d}"
    response = post(client, url, {"current_code": code(old, 1), "code": wrong}, url)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="code-error"' in body and 'id="current_code-error"' not in body
    # The same code of the phone in use still works with the right new code: it was not used up.
    response = post(client, url, {"current_code": code(old, 1), "code": code(new)}, url)
    assert response.status_code == 303
    user = accounts.find_user(dep.db, name)
    assert totp.unseal(dep.secret_key, user.id, dep.db.execute(
        "select totp_secret from users where id = ?", [user.id]).fetchone()[0]) == new


def test_a_set_up_left_for_more_than_ten_minutes_starts_over(officer, monkeypatch):
    _dep, _app, client, _name = officer
    secret = shown_secret(client.get("/tai-khoan/xac-thuc-hai-buoc").get_data(as_text=True))
    import ccch_core.web.account as account_module

    monkeypatch.setattr(account_module, "SETUP_SECONDS", -1)
    url = "/tai-khoan/xac-thuc-hai-buoc"
    response = post(client, url, {"code": code(secret), "current_password": PASSWORD}, url)
    assert response.status_code == 422 and "hết hạn" in response.get_data(as_text=True)
    assert shown_secret(response.get_data(as_text=True)) != secret


def test_turning_it_off_needs_a_current_code_and_is_refused_where_the_role_requires_it(
        make_deployment, make_app, make_user):
    dep = make_deployment(web={"require_totp_for": ["plan_admin"]})
    officer_name, _ = make_user(dep, "unit_officer", unit_id="xa-an-dung")
    app = make_app(dep)
    client = app.test_client()
    assert login(client, officer_name).status_code == 302
    secret = enrol(client)
    response = post(client, "/tai-khoan/xac-thuc-hai-buoc/tat", {"code": "999999" if code(secret, 1) != "999999"
                                                                  else "888888"})
    assert response.status_code == 422 and 'id="off_code-error"' in response.get_data(as_text=True)
    assert accounts.find_user(dep.db, officer_name).totp_enabled
    response = post(client, "/tai-khoan/xac-thuc-hai-buoc/tat", {"code": code(secret, 1)})
    assert response.status_code == 303 and not accounts.find_user(dep.db, officer_name).totp_enabled
    # A plan administrator must keep it: no form to turn it off, and a forged post is refused.
    admin, _ = make_user(dep, "plan_admin")
    admin_secret = accounts.enable_totp(dep.db, admin, secret=dep.secret_key, issuer="t").secret
    admin_client = app.test_client()
    login(admin_client, admin)
    admin_client.post("/dang-nhap/ma-xac-thuc", data={"csrf_token": csrf_token(admin_client, "/dang-nhap/ma-xac-thuc"),
                                                      "code": code(admin_secret)})
    page = admin_client.get("/tai-khoan").get_data(as_text=True)
    assert "bắt buộc với vai trò này" in page and "Tắt xác thực hai bước" not in page
    post(admin_client, "/tai-khoan/xac-thuc-hai-buoc/tat", {"code": code(admin_secret, 1)})
    assert accounts.find_user(dep.db, admin).totp_enabled


def test_codes_past_the_throttle_are_refused_in_the_same_words_never_a_500(officer):
    """Each wrong code counts under the sign-in throttle; once it is reached, the form answers as
    for a wrong code (422, the same words) — even the right code, so no oracle — and never a 500."""
    dep, _app, client, name = officer
    secret = enrol(client)
    wrong = "000001" if code(secret, 1) != "000001" else "000002"
    answers = [post(client, "/tai-khoan/xac-thuc-hai-buoc/tat", {"code": wrong})
               for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS + 2)]
    assert [r.status_code for r in answers] == [422] * len(answers)
    assert all(CODE_REFUSAL_TEXT in r.get_data(as_text=True) for r in answers)
    response = post(client, "/tai-khoan/xac-thuc-hai-buoc/tat", {"code": code(secret, 1)})
    assert response.status_code == 422 and CODE_REFUSAL_TEXT in response.get_data(as_text=True)
    assert accounts.find_user(dep.db, name).totp_enabled
    # Moving to another phone asks for the same current code: throttled alike.
    url = "/tai-khoan/xac-thuc-hai-buoc"
    new = shown_secret(client.get(url).get_data(as_text=True))
    response = post(client, url, {"current_code": code(secret, 1), "code": code(new)}, url)
    assert response.status_code == 422 and 'id="current_code-error"' in response.get_data(as_text=True)
    user = accounts.find_user(dep.db, name)
    stored = dep.db.execute("select totp_secret from users where id = ?", [user.id]).fetchone()[0]
    assert totp.unseal(dep.secret_key, user.id, stored) == secret


@pytest.mark.parametrize("typed", ["", "sai mật khẩu rồi", "x" * 5000])
def test_a_first_set_up_needs_the_current_password(officer, typed):
    """A browser left signed in must not let someone else tie the account to their own phone: the
    first set-up asks for the password (under the throttle), and a refusal stores nothing."""
    dep, _app, client, name = officer
    url = "/tai-khoan/xac-thuc-hai-buoc"
    page = client.get(url).get_data(as_text=True)
    assert 'id="current_password"' in page and "Mật khẩu hiện tại" in page
    secret = shown_secret(page)
    response = post(client, url, {"code": code(secret), "current_password": typed}, url)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="current_password-error"' in page
    assert "Mật khẩu hiện tại không đúng." in page
    assert not typed or typed[:20] not in page  # a typed password never comes back in the page
    assert not accounts.find_user(dep.db, name).totp_enabled
    assert "user.totp_enable" not in [r[0] for r in dep.db.execute("select action from audit_log")]
    # Five wrong passwords reach the throttle: the right one then reads the same and stores nothing.
    for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS):
        post(client, url, {"code": code(secret), "current_password": "sai mật khẩu rồi"}, url)
    response = post(client, url, {"code": code(secret), "current_password": PASSWORD}, url)
    assert response.status_code == 422 and "Mật khẩu hiện tại không đúng." in response.get_data(as_text=True)
    assert not accounts.find_user(dep.db, name).totp_enabled


def test_a_stolen_session_tried_from_many_addresses_reaches_the_account_wide_ceiling(officer):
    """The account page checks the current password as the owner's own browser (strangers failing
    at the sign-in page never stop the owner here), but with the sign-in page's account-wide
    ceiling: a stolen session tried from many addresses got 5 tries per address; now, after
    ACCOUNT_CEILING wrong passwords within the hour, even the right one reads as wrong until the
    pace allows one more try — paced, not locked, and the sign-in page is not slowed by it."""
    import datetime as dt

    from ccch_core.storage import utc_now_iso, write_transaction

    dep, app, client, name = officer
    form = {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}

    def change(current: str, address: str):
        return client.post("/tai-khoan/mat-khau", data={"csrf_token": csrf_token(client, "/tai-khoan"),
                                                       "current_password": current, **form},
                           environ_base={"REMOTE_ADDR": address})

    for i in range(3):
        assert change("sai mật khẩu rồi", f"198.51.100.{i + 1}").status_code == 422
    # Each was recorded as a trusted failure of the account from its own address; the rest of the
    # hour's wrong passwords are written as those were (a password check costs ~0.1 s of CPU).
    rows = dep.db.execute("select account_key, address_key, trusted from login_failures").fetchall()
    assert len(rows) == 3 and len({r[1] for r in rows}) == 3 and {(r[0], r[2]) for r in rows} == {(rows[0][0], 1)}
    now = utc_now_iso(dt.datetime.now(dt.UTC))
    with write_transaction(dep.db):
        dep.db.conn.executemany("insert into login_failures (account_key, address_key, at, trusted) values (?, ?, ?, 1)",
                                [(rows[0][0], f"dia-chi-{i}", now) for i in range(accounts.ACCOUNT_CEILING - 3)])
    response = change(PASSWORD, "203.0.113.7")
    assert response.status_code == 422 and "Mật khẩu hiện tại không đúng." in response.get_data(as_text=True)
    assert login(app.test_client(), name, NEW_PASSWORD).status_code != 302  # nothing changed
    assert login(app.test_client(), name, PASSWORD).status_code == 302  # the sign-in page: its own count
    with pytest.raises(accounts.Throttled) as refused:
        accounts.authenticate(dep.db, name, PASSWORD, address_key="another", secret=dep.secret_key, trusted=True)
    assert refused.value.limit == "account"
    paced = dt.datetime.now(dt.UTC) + accounts.ACCOUNT_BACKOFF + dt.timedelta(seconds=1)
    assert accounts.authenticate(dep.db, name, PASSWORD, address_key="another", secret=dep.secret_key,
                                 trusted=True, now=paced)
