"""Signed form tokens for anonymous public forms (ccch_core.web.formtoken)."""

from __future__ import annotations

import time

import pytest

from ccch_core.web.formtoken import (
    DEFAULT_MAX_AGE,
    FormTokenCheck,
    _base36,
    check_form_token,
    form_token_issued_at,
    form_token_protected,
    issue_form_token,
)


@pytest.fixture
def app(make_deployment, make_app):
    return make_app(make_deployment(plugins=()))


def test_a_token_is_good_for_its_form_and_submission_only(app):
    with app.app_context():
        token = issue_form_token("survey", "ABC234|sid-1")
        assert check_form_token(token, "survey", "ABC234|sid-1") is FormTokenCheck.VALID
        assert check_form_token(token, "survey", "ABC234|sid-2") is FormTokenCheck.INVALID
        assert check_form_token(token, "contest", "ABC234|sid-1") is FormTokenCheck.INVALID
        issued, signature = token.split(".")
        tampered = signature[:-1] + ("B" if signature[-1] == "A" else "A")
        assert check_form_token(f"{issued}.{tampered}", "survey", "ABC234|sid-1") is FormTokenCheck.INVALID
        # The time is signed: moving it changes nothing but the verdict.
        assert check_form_token(f"{_base36(int(issued, 36) + 60)}.{signature}", "survey", "ABC234|sid-1") \
            is FormTokenCheck.INVALID


def test_the_token_is_its_documented_hmac(app):
    # issued "." HMAC-SHA256(sha256("ccch:form-token:" + secret), purpose \n bound \n issued), the first
    # 16 bytes in URL-safe base64 (22 characters): tokens handed out before a change stay good.
    import base64
    import hashlib
    import hmac

    with app.app_context():
        token = issue_form_token("survey", "ABC234|sid-1", now=1_700_000_000)
        key = hashlib.sha256(f"ccch:form-token:{app.extensions['ccch'].secret_key}".encode()).digest()
        mac = hmac.new(key, f"survey\nABC234|sid-1\n{_base36(1_700_000_000)}".encode(), hashlib.sha256).digest()
        assert token == f"{_base36(1_700_000_000)}.{base64.urlsafe_b64encode(mac[:16]).decode()[:22]}"


@pytest.mark.parametrize("bad", [None, "", "khong-co-dau-cham", ".", "zz!.abc", "1." + "A" * 70, "\x00.\x00"])
def test_malformed_tokens_are_invalid(app, bad):
    with app.app_context():
        assert check_form_token(bad, "survey", "x") is FormTokenCheck.INVALID


def test_age_limits(app):
    now = time.time()
    with app.app_context():
        old = issue_form_token("survey", "x", now=now - DEFAULT_MAX_AGE - 1)
        assert check_form_token(old, "survey", "x", now=now) is FormTokenCheck.EXPIRED
        assert check_form_token(old, "survey", "x", now=now, max_age=DEFAULT_MAX_AGE + 60) is FormTokenCheck.VALID
        slightly_ahead = issue_form_token("survey", "x", now=now + 60)  # another worker's clock
        assert check_form_token(slightly_ahead, "survey", "x", now=now) is FormTokenCheck.VALID
        far_ahead = issue_form_token("survey", "x", now=now + 3600)
        assert check_form_token(far_ahead, "survey", "x", now=now) is FormTokenCheck.INVALID


def test_issued_at_reads_the_signed_time(app):
    with app.app_context():
        token = issue_form_token("survey", "x", now=1_700_000_000.7)
        assert check_form_token(token, "survey", "x", now=1_700_000_100) is FormTokenCheck.VALID
        assert form_token_issued_at(token) == 1_700_000_000
    for bad in (None, "", "khong-co-dau-cham", "zz!.abc", "1." + "A" * 70):
        assert form_token_issued_at(bad) is None


def test_tokens_depend_on_the_deployment_secret(make_deployment, make_app):
    first, second = make_app(make_deployment(plugins=())), make_app(make_deployment(plugins=()))
    with first.app_context():
        token = issue_form_token("survey", "x")
    with second.app_context():
        assert check_form_token(token, "survey", "x") is FormTokenCheck.INVALID


def test_a_protected_view_skips_the_session_check_but_must_check_its_token(app):
    @form_token_protected
    def answer():
        ok = check_form_token(__import__("flask").request.form.get("t"), "demo", "1")
        return ("ok", 200) if ok is FormTokenCheck.VALID else ("refused", 400)

    answer.ccch_access = "public"
    app.add_url_rule("/demo-form", "demo_form", answer, methods=["POST"])
    client = app.test_client()
    assert client.post("/demo-form", data={}).status_code == 400
    with app.app_context():
        token = issue_form_token("demo", "1")
    assert client.post("/demo-form", data={"t": token}).get_data(as_text=True) == "ok"
    assert "ccch_session" not in client.post("/demo-form", data={"t": token}).headers.get("Set-Cookie", "")
