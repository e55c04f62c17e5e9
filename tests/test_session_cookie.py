"""The session cookie: Flask's signed cookie, written without tagging when the session is plain
JSON and signed by OpenSSL's HMAC (issue #16: a tenth of a new contest participant's CPU), in the
same format as before, so that cookies signed before the change still open and a forged or
altered one still does not."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from flask import flash, get_flashed_messages, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from markupsafe import Markup

from ccch_core.web import create_app

PLAIN = {
    "csrf_token": "a" * 40,
    "cc": {"1": 17},
    "ccv": {"1": {"kind": "register", "channel": "sms", "address": "0912345678", "email": None, "start_now": True,
                  "values": {"full_name": "Nguyễn Thị Hoà", "birth_year": 1985, "unit_id": "xa-an-dung",
                             "citizen_id": None, "score": 9.5, "note": 'a {" t": "not a tag"} inside a string'},
                  "sent": 1_700_000_000}},
    "list": [1, "hai", [3.0, None, False]],
}


@pytest.fixture
def app(deployment_config):
    app = create_app(deployment_config, test_config={"TESTING": True})
    yield app
    app.extensions["ccch"].close()


def serializers(app):
    ours = app.session_interface.get_signing_serializer(app)
    flasks = SecureCookieSessionInterface().get_signing_serializer(app)
    return ours, flasks


def test_a_plain_session_round_trips_and_is_plain_json(app):
    ours, _ = serializers(app)
    with app.app_context():
        text = app.session_interface.serializer.dumps(PLAIN)
        assert '" t"' not in text.replace('{\\" t\\"', "")  # nothing was tagged
        assert "Nguyễn Thị Hoà" in text  # UTF-8, not \u escapes
        assert ours.loads(ours.dumps(PLAIN)) == PLAIN


def test_cookies_of_flasks_own_session_open_and_ours_open_in_flask(app):
    """An upgrade keeps everyone's session: the format is the one Flask wrote."""
    ours, flasks = serializers(app)
    with app.app_context():
        assert ours.loads(flasks.dumps(PLAIN)) == PLAIN
        assert flasks.loads(ours.dumps(PLAIN)) == PLAIN


@pytest.mark.parametrize("value", [
    {"_flashes": [("message", "Đã lưu.")]},  # Flask's flashes are tuples
    {"m": Markup("<b>đậm</b>")},
    {"at": dt.datetime(2026, 12, 7, 2, 30, tzinfo=dt.UTC)},
    {"b": b"\x00\xff"},
    {"looks like a tag": {" t": ["a", "b"]}},  # a key that only looks like a tag stays a key
    {"n": {1: "a non-string key"}},
])
def test_values_plain_json_cannot_carry_keep_their_type(app, value):
    ours, flasks = serializers(app)
    with app.app_context():
        back = ours.loads(ours.dumps(value))
        assert back == flasks.loads(flasks.dumps(value))
        assert back == ({"n": {"1": "a non-string key"}} if "n" in value else value)
        for key in value:
            assert type(back[key]) is type(value[key])
        if "_flashes" in value:
            assert type(back["_flashes"][0]) is tuple
        if "m" in value:
            assert type(back["m"]) is Markup


def test_an_altered_or_foreign_cookie_is_refused(app):
    ours, _ = serializers(app)
    with app.app_context():
        good = ours.dumps(PLAIN)
        altered = good[:5] + ("A" if good[5] != "A" else "B") + good[6:]  # a character of the payload
        with pytest.raises(BadSignature):
            ours.loads(altered)
        other = create_app(app.extensions["ccch"].config, test_config={"SECRET_KEY": "another deployment's key" * 2})
        try:
            with pytest.raises(BadSignature):
                ours.loads(other.session_interface.get_signing_serializer(other).dumps(PLAIN))
        finally:
            other.extensions["ccch"].close()


def test_a_session_and_a_flash_survive_requests(app):
    """Through the real request cycle: a plain session, then one with a flashed message."""

    @app.route("/_t/set")
    def set_it():
        session["cc"] = {"1": 5}
        session["name"] = "Lê Văn Dũng"
        return "ok"

    @app.route("/_t/flash")
    def flash_it():
        flash("Đăng ký thành công.")
        return "ok"

    @app.route("/_t/read")
    def read_it():
        return {"cc": session.get("cc"), "name": session.get("name"), "flashes": get_flashed_messages()}

    for view in (set_it, flash_it, read_it):
        view.ccch_access = "public"
    client = app.test_client()
    client.get("/_t/set")
    client.get("/_t/flash")
    assert client.get("/_t/read").get_json() == {"cc": {"1": 5}, "name": "Lê Văn Dũng",
                                                 "flashes": ["Đăng ký thành công."]}
    assert client.get("/_t/read").get_json()["flashes"] == []  # read once
    client.set_cookie("ccch_session", client.get_cookie("ccch_session").value[:-2] + "xx")
    assert client.get("/_t/read").get_json() == {"cc": None, "name": None, "flashes": []}


@pytest.mark.parametrize("before", [None, "", "Accept-Encoding", "accept-encoding, COOKIE", "Origin,Accept-Encoding",
                                    "cookie"])
def test_vary_cookie_is_added_as_flasks_vary_add(before):
    from flask import Response
    from werkzeug.http import parse_set_header

    from ccch_core.web import _vary_on_cookie

    ours, flasks = Response(), Response()
    for response in (ours, flasks):
        if before is not None:
            response.headers["Vary"] = before
    _vary_on_cookie(ours)
    flasks.vary.add("Cookie")
    assert len(ours.headers.getlist("Vary")) == 1
    assert [v.lower() for v in parse_set_header(ours.headers["Vary"])] == [v.lower() for v in flasks.vary]


def test_vary_and_set_cookie_as_flask_writes_them(app):
    """The session is saved as Flask saves it: not read, nothing; read, "Vary: Cookie"; written,
    the cookie too; emptied, the cookie deleted."""

    @app.route("/_t/none")
    def untouched():
        return "ok"

    @app.route("/_t/read")
    def read_it():
        return {"cc": session.get("cc")}

    @app.route("/_t/write")
    def write_it():
        session["cc"] = {"1": 5}
        return "ok", 200, {"Vary": "Accept-Encoding"}

    @app.route("/_t/clear")
    def clear_it():
        session.clear()
        return "ok"

    for view in (untouched, read_it, write_it, clear_it):
        view.ccch_access = "public"
    client = app.test_client()
    response = client.get("/_t/none")  # no cookie: the session is not read (load_user reads it when there is one)
    assert "Vary" not in response.headers and "Set-Cookie" not in response.headers
    response = client.get("/_t/write")
    assert response.headers.getlist("Vary") == ["Accept-Encoding, Cookie"]
    assert response.headers["Set-Cookie"].startswith("ccch_session=")
    response = client.get("/_t/read")
    assert response.headers.getlist("Vary") == ["Cookie"] and "Set-Cookie" not in response.headers
    response = client.get("/_t/clear")
    assert response.headers.getlist("Vary") == ["Cookie"]
    assert response.headers["Set-Cookie"].startswith("ccch_session=; Expires=Thu, 01 Jan 1970")
    assert client.get_cookie("ccch_session") is None


def test_a_small_session_is_not_compressed_a_large_one_is(app):
    """zlib's set-up costs more than the rest of writing a small cookie: under 1 KB of JSON the
    payload is sent as it is; a larger session is still compressed; both open, and so does a
    small one that Flask compressed."""
    ours, flasks = serializers(app)
    with app.app_context():
        small = ours.dumps(PLAIN)
        assert not small.startswith(".") and flasks.dumps(PLAIN).startswith(".")  # Flask compressed it
        large = {**PLAIN, "notes": [f"Ghi chú số {i} về đơn vị" for i in range(80)]}
        big = ours.dumps(large)
        assert big.startswith(".") and len(big) < len(flasks.dumps(large)) * 1.5
        assert ours.loads(small) == PLAIN and ours.loads(big) == large
        assert ours.loads(flasks.dumps(PLAIN)) == PLAIN


def test_the_csrf_token_is_flask_wtfs_own(app):
    """``csrf_token()`` (pages and templates) makes the token Flask-WTF checks, without zlib."""
    from flask_wtf.csrf import validate_csrf
    from itsdangerous import URLSafeTimedSerializer

    from ccch_core.web import csrf_token

    assert app.jinja_env.globals["csrf_token"] is csrf_token
    with app.test_request_context("/"):
        token = csrf_token()
        assert csrf_token() == token and not token.startswith(".")  # one a request, never compressed
        validate_csrf(token)  # raises if Flask-WTF did not accept it
        signer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
        assert signer.loads(token) == session["csrf_token"]
    with app.test_request_context("/"), pytest.raises(Exception, match="(?i)csrf"):
        validate_csrf(token)  # another session's token


def test_the_csrf_check_answers_as_flask_wtfs_own(app, monkeypatch):
    """``check_csrf_token`` (the check of every form POST) accepts and refuses exactly what
    Flask-WTF's ``validate_csrf`` does, with the same message: a good token, none, no session
    token, another session's, an altered one, one of another secret, an expired one."""
    import time as clock

    from flask_wtf.csrf import validate_csrf
    from itsdangerous import URLSafeTimedSerializer
    from wtforms import ValidationError

    from ccch_core.web import check_csrf_token, csrf_token

    def verdicts(data):
        found = []
        for check in (check_csrf_token, validate_csrf):
            try:
                check(data)
                found.append("accepted")
            except ValidationError as exc:
                found.append(exc.args[0])
        assert found[0] == found[1], (data, found)
        return found[0]

    with app.test_request_context("/"):
        assert verdicts("anything") == "The CSRF session token is missing."
        token = csrf_token()
        assert verdicts(token) == "accepted"
        assert verdicts("") == "The CSRF token is missing."
        assert verdicts(None) == "The CSRF token is missing."
        assert verdicts(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) == "The CSRF token is invalid."
        assert verdicts("not.a.token") == "The CSRF token is invalid."
        foreign = URLSafeTimedSerializer("another secret", salt="wtf-csrf-token").dumps(session["csrf_token"])
        assert verdicts(foreign) == "The CSRF token is invalid."
        other = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps("b" * 40)
        assert verdicts(other) == "The CSRF tokens do not match."
        limit = app.config["WTF_CSRF_TIME_LIMIT"]
        now = clock.time()
        monkeypatch.setattr(clock, "time", lambda: now + limit + 5)
        assert verdicts(token) == "The CSRF token has expired."
        monkeypatch.setattr(clock, "time", lambda: now + limit - 5)
        assert verdicts(token) == "accepted"


def test_a_form_post_without_its_csrf_token_is_refused(app):
    """The app's CSRF protection goes through the same check: no token, a wrong one → 400."""
    client = app.test_client()
    refused = client.post("/dang-nhap", data={"username": "x", "password": "y"})
    assert refused.status_code == 400
    assert "CSRF" in refused.get_data(as_text=True)
    client.get("/dang-nhap")
    refused = client.post("/dang-nhap", data={"username": "x", "password": "y", "csrf_token": "forged.token.x"})
    assert refused.status_code == 400


def test_the_signature_is_itsdangerous_own_with_the_fallback_keys_and_the_age(app, monkeypatch):
    """The session's own signer reads and writes exactly what itsdangerous does: a cookie of the
    previous key (SECRET_KEY_FALLBACKS) opens, one older than the lifetime or from the future
    does not, and neither does one with its timestamp or signature changed."""
    import time as clock

    from itsdangerous import BadSignature, URLSafeTimedSerializer

    ours, _ = serializers(app)
    with app.app_context():
        flask_signed = URLSafeTimedSerializer(app.secret_key, salt="cookie-session",
                                              serializer=app.session_interface.serializer,
                                              signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1})
        assert ours.loads(flask_signed.dumps(PLAIN), max_age=60) == PLAIN
        assert flask_signed.loads(ours.dumps(PLAIN), max_age=60) == PLAIN
        good = ours.dumps(PLAIN)
        payload, stamp, signature = good.split(".")
        for forged in (f"{payload}.{stamp}A.{signature}", f"{payload}.{signature}", f"{payload}..{signature}",
                       f"{payload}.{stamp}.{signature[:-2]}", "", ".", "..", "a.b.c"):
            with pytest.raises(BadSignature):
                ours.loads(forged, max_age=60)
        now = clock.time()
        monkeypatch.setattr(clock, "time", lambda: now + 61)
        with pytest.raises(BadSignature):
            ours.loads(good, max_age=60)  # expired
        assert ours.loads(good) == PLAIN  # no age asked
        monkeypatch.setattr(clock, "time", lambda: now - 120)
        with pytest.raises(BadSignature):
            ours.loads(good, max_age=60)  # signed in the future
    monkeypatch.undo()
    # A deployment whose key changed: the cookies of the old key still open, new ones use the new.
    rotated = create_app(app.extensions["ccch"].config, test_config={
        "SECRET_KEY": "the deployment's new key" * 2, "SECRET_KEY_FALLBACKS": [app.secret_key]})
    try:
        with rotated.app_context():
            signer = rotated.session_interface.get_signing_serializer(rotated)
            assert signer.loads(good, max_age=60) == PLAIN
            with app.app_context(), pytest.raises(BadSignature):
                ours.loads(signer.dumps(PLAIN))  # the new key's cookie is not the old deployment's
    finally:
        rotated.extensions["ccch"].close()
