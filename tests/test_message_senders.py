"""The built-in message senders against real servers on loopback: an aiosmtpd SMTP server and the
fake SMS / Zalo gateway of message_fakes (HTTP/1.1, in a thread). Nothing inside the senders is
mocked."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from message_fakes import (
    OAUTH_PATH,
    SMS_PATH,
    ZNS_PATH,
    FakeGateway,
    FakeGatewayProcess,
    FakeSmtpServer,
    free_port,
    make_certificate,
)

from ccch_core.messages.base import OutgoingMessage, SenderConfigError, SenderContext
from ccch_core.messages.senders import (
    BUILTIN_SENDERS,
    FOLDER,
    HTTP_SMS,
    SMTP,
    ZALO_ZNS,
    build_email,
    mask_address,
    message_id_for,
    phone84,
)
from ccch_core.periods import VN_TZ

SUBJECT = "Nhắc báo cáo tháng 3/2024 — UBND xã An Dũng"
BODY = ("Đề nghị đồng chí hoàn thành báo cáo kết quả tuyên truyền cải cách hành chính tháng 3/2024 "
        "trước ngày 05/4/2024.\nTrân trọng,\nPhòng Văn hóa - Thông tin huyện Đức Thọ")
SMS_TEXT = "UBND huyen Duc Tho: de nghi xa An Dung nop bao cao CCHC thang 3/2024 truoc 05/4."
API_KEY = "sk-live-5f1e2d3c4b5a69788796"
SECRET_KEY = "sms-secret-0a1b2c3d4e5f"


class DictState(dict):
    """The sender state, dict-backed (the deployment keeps it in message_sender_state)."""

    def set(self, key: str, value: str) -> None:
        self[key] = value


def make_context(channel: str, settings: dict, *, folder: Path | None = None, state=None) -> SenderContext:
    return SenderContext(channel=channel, settings=settings, folder=folder or Path("."),
                         state=DictState() if state is None else state,
                         where=f"ccch.toml: messages.channels.{channel}")


def message(channel: str = "email", **changes) -> OutgoingMessage:
    values = {
        "email": {"address": "nguyen.van.a@ductho.gov.vn", "subject": SUBJECT, "text": BODY},
        "sms": {"address": "0912345678", "text": SMS_TEXT},
        "zalo": {"address": "0912345678", "text": "Xã An Dũng: hạn nộp báo cáo tháng 3/2024 là 05/4/2024."},
    }[channel]
    fields = dict(id=42, channel=channel, purpose="report_due", template="report_due",
                  params={"unit": "Xã An Dũng", "period": "Tháng 3/2024", "due": "05/4/2024"},
                  idempotency_key="msg-42-7f3a", **values)
    fields.update(changes)
    return OutgoingMessage(**fields)


@pytest.fixture
def senders():
    """Senders made by the test, closed after it."""
    made = []
    yield made
    for sender in made:
        sender.close()


@pytest.fixture
def create(senders):
    def create(kind, channel, settings, **context):
        sender = kind.create(make_context(channel, settings, **context))
        senders.append(sender)
        return sender
    return create


@pytest.fixture
def gateway():
    with FakeGateway() as fake:
        yield fake


# -- helpers and the registry -------------------------------------------------------------------


def test_builtin_senders_and_their_keys():
    assert [(k.name, k.channels) for k in BUILTIN_SENDERS] == [
        ("smtp", ("email",)), ("http_sms", ("sms",)), ("zalo_zns", ("zalo",)), ("folder", ("email", "sms", "zalo"))]
    for kind in BUILTIN_SENDERS:
        assert kind.description and len(set(kind.keys)) == len(kind.keys)
        assert not {"sender", "rate_per_minute", "strip_diacritics", "max_segments"} & set(kind.keys)
    assert {"password", "password_env"} <= set(SMTP.keys)
    assert {"api_key_env", "secret_key_env"} <= set(HTTP_SMS.keys)
    assert {"secret_key_env", "access_token_env", "refresh_token_env"} <= set(ZALO_ZNS.keys)


def test_mask_address_and_phone84():
    assert mask_address("email", "nguyen.van.a@ductho.gov.vn") == "n***@ductho.gov.vn"
    assert mask_address("sms", "0912345678") == "0912***678"
    assert mask_address("zalo", "0912345678") == "0912***678"
    assert mask_address("email", "not-an-address") == "***"
    assert phone84("0912345678") == "84912345678"
    assert phone84("+84912345678") == "84912345678"


def test_build_email_encodes_vietnamese_and_derives_message_id():
    mail = build_email(message(), from_address="cchc@ductho.gov.vn", from_name="UBND huyện Đức Thọ",
                       reply_to="vhtt@ductho.gov.vn")
    data = mail.as_bytes()
    data.decode("ascii")  # every header RFC 2047-encoded, the body base64 or quoted-printable
    assert mail["Content-Transfer-Encoding"] in ("base64", "quoted-printable")
    assert b"msg-42-7f3a" not in data  # the idempotency key itself does not leak
    assert re.fullmatch(r"<[0-9a-f]{32}@ductho\.gov\.vn>", mail["Message-ID"])
    assert mail["Message-ID"] == message_id_for("msg-42-7f3a", "cchc@ductho.gov.vn")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Subject"] == SUBJECT
    assert parsed["From"].addresses[0].display_name == "UBND huyện Đức Thọ"
    assert parsed["Reply-To"] == "vhtt@ductho.gov.vn"
    assert parsed["Date"].datetime.utcoffset() == dt.timedelta(hours=7)
    assert body_of(parsed) == BODY
    with pytest.raises(ValueError):
        build_email(message(address="không phải địa chỉ"), from_address="cchc@ductho.gov.vn")


def body_of(parsed) -> str:
    return parsed.get_content().replace("\r\n", "\n").removesuffix("\n")


# -- smtp ---------------------------------------------------------------------------------------


def smtp_settings(server: FakeSmtpServer, **more) -> dict:
    return {"host": server.host, "port": server.port, "security": "none", "helo": "ccch.test",
            "from_address": "cchc@ductho.gov.vn", "from_name": "UBND huyện Đức Thọ", "timeout": 5, **more}


def test_smtp_delivers_a_vietnamese_message_intact(create):
    with FakeSmtpServer() as server:
        sender = create(SMTP, "email", smtp_settings(server))
        result = sender.send(message())
    assert result.outcome == "sent", result.reason
    [mail] = server.messages
    assert mail.mail_from == "cchc@ductho.gov.vn" and mail.rcpt_tos == ["nguyen.van.a@ductho.gov.vn"]
    parsed = mail.parsed()
    assert parsed["Subject"] == SUBJECT
    assert body_of(parsed) == BODY
    assert parsed["From"].addresses[0].display_name == "UBND huyện Đức Thọ"
    assert parsed["From"].addresses[0].addr_spec == "cchc@ductho.gov.vn"
    assert result.gateway_id == parsed["Message-ID"]


def test_smtp_repeated_attempt_carries_the_same_message_id_on_one_session(create):
    with FakeSmtpServer() as server:
        sender = create(SMTP, "email", smtp_settings(server))
        results = [sender.send(message()), sender.send(message(attempt=2)),
                   sender.send(message(id=43, idempotency_key="msg-43-0000"))]
    assert [r.outcome for r in results] == ["sent"] * 3
    ids = [m.parsed()["Message-ID"] for m in server.messages]
    assert ids[0] == ids[1] != ids[2]
    assert len({m.peer for m in server.messages}) == 1  # the session was kept open


def test_smtp_reopens_a_session_the_server_closed(create):
    with FakeSmtpServer(idle_timeout=0.2) as server:
        sender = create(SMTP, "email", smtp_settings(server))
        assert sender.send(message()).outcome == "sent"
        time.sleep(0.5)  # the server drops the idle session
        result = sender.send(message(id=43, idempotency_key="msg-43-0000"))
    assert result.outcome == "sent", result.reason
    assert len(server.messages) == 2 and server.messages[0].peer != server.messages[1].peer


def test_smtp_login_with_password_from_environment(create, monkeypatch):
    monkeypatch.setenv("CCCH_TEST_SMTP_PASSWORD", "Mat-khau-dung-2024")
    with FakeSmtpServer(users={"cchc": "Mat-khau-dung-2024"}) as server:
        sender = create(SMTP, "email", smtp_settings(server, username="cchc",
                                                     password_env="CCCH_TEST_SMTP_PASSWORD"))
        result = sender.send(message())
    assert result.outcome == "sent", result.reason
    assert server.logins == [("cchc", True)] and len(server.messages) == 1


def test_smtp_wrong_password_is_a_channel_retry_naming_535(create):
    with FakeSmtpServer(users={"cchc": "Mat-khau-dung-2024"}) as server:
        sender = create(SMTP, "email", smtp_settings(server, username="cchc", password="sai-mat-khau"))
        result = sender.send(message())
    assert result.outcome == "retry" and result.channel_down
    assert "đăng nhập SMTP bị từ chối" in result.reason and "535" in result.reason
    assert "sai-mat-khau" not in result.reason
    assert not server.messages


def test_smtp_refused_recipient_fails_and_the_session_goes_on(create):
    refused = "khong.ton.tai@ductho.gov.vn"
    with FakeSmtpServer(refuse={refused: "550 5.1.1 <khong.ton.tai@ductho.gov.vn>: Recipient address rejected",
                                "ban@ductho.gov.vn": "450 4.2.1 Mailbox busy"}) as server:
        sender = create(SMTP, "email", smtp_settings(server))
        failed = sender.send(message(address=refused))
        busy = sender.send(message(address="ban@ductho.gov.vn"))
        ok = sender.send(message())
    assert failed.outcome == "failed" and "550" in failed.reason and "Recipient address rejected" in failed.reason
    assert busy.outcome == "retry" and not busy.channel_down and "450" in busy.reason
    assert ok.outcome == "sent" and len(server.messages) == 1


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("the openssl command makes the test certificate")
    return make_certificate(tmp_path_factory.mktemp("tls"))


def test_smtp_starttls_with_the_deployment_ca_file_and_login(create, certificate):
    cert, _key = certificate
    with FakeSmtpServer(certificate=certificate, users={"cchc": "Mat-khau-dung-2024"}) as server:
        sender = create(SMTP, "email", smtp_settings(server, security="starttls", ca_file=cert.name,
                                                     username="cchc", password="Mat-khau-dung-2024"),
                        folder=cert.parent)
        result = sender.send(message())
    assert result.outcome == "sent", result.reason
    assert server.logins == [("cchc", True)] and server.messages[0].parsed()["Subject"] == SUBJECT


def test_smtp_ssl(create, certificate):
    cert, _key = certificate
    with FakeSmtpServer(certificate=certificate, implicit_tls=True) as server:
        sender = create(SMTP, "email", smtp_settings(server, security="ssl", ca_file=str(cert)))
        result = sender.send(message())
    assert result.outcome == "sent", result.reason
    assert len(server.messages) == 1


def test_smtp_untrusted_certificate_is_a_channel_retry(create, certificate):
    with FakeSmtpServer(certificate=certificate) as server:
        sender = create(SMTP, "email", smtp_settings(server, security="starttls"))
        result = sender.send(message())
    assert result.outcome == "retry" and result.channel_down
    assert "CERTIFICATE_VERIFY_FAILED" in result.reason and not server.messages


def test_smtp_unreachable_server_is_a_channel_retry(create):
    sender = create(SMTP, "email", {"host": "127.0.0.1", "port": free_port(), "security": "none",
                                    "helo": "ccch.test", "from_address": "cchc@ductho.gov.vn", "timeout": 2})
    result = sender.send(message())
    assert result.outcome == "retry" and result.channel_down
    assert "không kết nối được máy chủ SMTP" in result.reason


def test_smtp_bad_address_fails_without_connecting(create):
    sender = create(SMTP, "email", {"host": "127.0.0.1", "port": free_port(), "security": "none",
                                    "from_address": "cchc@ductho.gov.vn"})
    result = sender.send(message(address="a@b@c"))
    assert result.outcome == "failed" and "không tạo được thư" in result.reason
    result = sender.send(message(address="người.dùng@ductho.gov.vn"))
    assert result.outcome == "failed" and "ASCII" in result.reason


# -- http_sms -----------------------------------------------------------------------------------


def sms_settings(fake: FakeGateway, **more) -> dict:
    """The common shape of a Vietnamese brandname gateway."""
    settings = {
        "url": fake.sms_url,
        "fields": {"ApiKey": "{api_key}", "SecretKey": "{secret_key}", "Phone": "{phone}", "Content": "{text}",
                   "Brandname": "{brandname}", "SmsType": "2", "IsUnicode": 0, "RequestId": "{idempotency_key}"},
        "headers": {"Authorization": "Bearer {api_key}", "X-Message": "{message_id}"},
        "api_key_env": "CCCH_TEST_SMS_KEY",
        "secret_key": SECRET_KEY,
        "brandname": "UBND DUCTHO",
        "success_field": "CodeResult",
        "success_values": ["100"],
        "message_id_field": "SMSID",
        "error_field": "ErrorMessage",
        "idempotency_header": "Idempotency-Key",
        "timeout": 2,
    }
    settings.update(more)
    return settings


@pytest.fixture
def sms_key(monkeypatch):
    monkeypatch.setenv("CCCH_TEST_SMS_KEY", API_KEY)


def no_secret(result) -> bool:
    return result.reason is None or (API_KEY not in result.reason and SECRET_KEY not in result.reason)


def test_http_sms_posts_the_documented_json_shape(create, gateway, sms_key):
    sender = create(HTTP_SMS, "sms", sms_settings(gateway))
    result = sender.send(message("sms"))
    assert result.outcome == "sent" and result.gateway_id == "fake-1"
    [request] = gateway.requests
    assert (request.method, request.path) == ("POST", SMS_PATH)
    assert request.body == {"ApiKey": API_KEY, "SecretKey": SECRET_KEY, "Phone": "0912345678", "Content": SMS_TEXT,
                            "Brandname": "UBND DUCTHO", "SmsType": "2", "IsUnicode": 0, "RequestId": "msg-42-7f3a"}
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["idempotency-key"] == "msg-42-7f3a"
    assert request.headers["x-message"] == "42"
    assert request.headers["content-type"].startswith("application/json")


def test_http_sms_repeated_key_is_answered_once_and_connections_are_kept(create, gateway, sms_key):
    sender = create(HTTP_SMS, "sms", sms_settings(gateway))
    first = sender.send(message("sms"))
    again = sender.send(message("sms", attempt=2))
    other = sender.send(message("sms", id=43, idempotency_key="msg-43-0000"))
    assert first.gateway_id == again.gateway_id == "fake-1" and other.gateway_id == "fake-2"
    assert gateway.keys == {"msg-42-7f3a": 2, "msg-43-0000": 1}
    assert gateway.accepted == {"msg-42-7f3a", "msg-43-0000"}
    assert gateway.duplicates == {"msg-42-7f3a": 1}
    assert len({r.client for r in gateway.requests}) == 1  # one kept-alive connection


def test_http_sms_form_body_with_vietnamese_text(create, gateway, sms_key):
    text = "Xã An Dũng: hạn nộp báo cáo là 05/4/2024"
    sender = create(HTTP_SMS, "sms", {"url": gateway.sms_url, "body": "form", "api_key_env": "CCCH_TEST_SMS_KEY",
                                      "idempotency_header": "Idempotency-Key",
                                      "fields": {"user": "ductho", "key": "{api_key}", "to": "{phone84}",
                                                 "message": "{text}", "unicode": True, "ref": "{idempotency_key}"}})
    assert sender.send(message("sms", text=text)).outcome == "sent"
    [request] = gateway.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.body == {"user": "ductho", "key": API_KEY, "to": "84912345678", "message": text,
                            "unicode": "true", "ref": "msg-42-7f3a"}
    assert request.headers["idempotency-key"] == "msg-42-7f3a" and gateway.accepted == {"msg-42-7f3a"}


def test_http_sms_get_with_query(create, gateway):
    sender = create(HTTP_SMS, "sms", {"url": gateway.sms_url + "?account=ductho", "method": "GET",
                                      "fields": {"to": "{phone}", "text": "{text}",
                                                 "RequestId": "{idempotency_key}"}})
    assert sender.send(message("sms")).outcome == "sent"
    [request] = gateway.requests
    assert request.method == "GET" and request.body is None
    assert request.query == {"account": "ductho", "to": "0912345678", "text": SMS_TEXT, "RequestId": "msg-42-7f3a"}
    assert gateway.keys == {"msg-42-7f3a": 1}


def test_http_sms_error_code_in_a_200_answer_fails_with_the_code(create, gateway, sms_key):
    sender = create(HTTP_SMS, "sms", sms_settings(gateway, retry_values=["103"]))
    gateway.fail_next(status=200, body={"CodeResult": "104", "ErrorMessage": "Brandname chưa được đăng ký"})
    result = sender.send(message("sms"))
    assert result.outcome == "failed"
    assert "CodeResult = 104" in result.reason and "Brandname chưa được đăng ký" in result.reason
    gateway.fail_next(status=200, body={"CodeResult": 103, "ErrorMessage": "Tài khoản không đủ số dư"})
    result = sender.send(message("sms"))
    assert result.outcome == "retry" and result.channel_down and "103" in result.reason
    assert gateway.accepted == set() and gateway.keys == {"msg-42-7f3a": 2}


@pytest.mark.parametrize(("failure", "outcome", "channel_down", "retry_after"), [
    ({"status": 500, "body": {"ErrorMessage": "Internal error"}}, "retry", True, None),
    ({"status": 503, "body": "Service Unavailable", "headers": {"Retry-After": "30"}}, "retry", True, 30),
    ({"status": 429, "body": {"ErrorMessage": "Too many requests"}, "headers": {"Retry-After": "7"}}, "retry", True, 7),
    ({"close": True}, "retry", True, None),
    ({"delay": 0.6}, "retry", True, None),
    ({"status": 401, "body": {"ErrorMessage": f"ApiKey {API_KEY} không hợp lệ"}}, "retry", True, None),
    ({"status": 400, "body": {"ErrorMessage": f"Bad request: ApiKey={API_KEY}&SecretKey={SECRET_KEY}"}},
     "failed", False, None),
], ids=["500", "503-retry-after", "429-retry-after", "closed", "timeout", "401", "400"])
def test_http_sms_gateway_failures(create, gateway, sms_key, failure, outcome, channel_down, retry_after):
    sender = create(HTTP_SMS, "sms", sms_settings(gateway, timeout=0.3))
    gateway.fail_next(**failure)
    result = sender.send(message("sms"))
    assert (result.outcome, result.channel_down, result.retry_after) == (outcome, channel_down, retry_after)
    assert result.reason and no_secret(result)
    assert sender.send(message("sms")).outcome == "sent"  # the next attempt goes through


def test_http_sms_reasons_name_the_gateway_text(create, gateway, sms_key):
    sender = create(HTTP_SMS, "sms", sms_settings(gateway))
    gateway.fail_next(status=500, body={"ErrorMessage": "Hệ thống bận"})
    assert "HTTP 500: Hệ thống bận" in sender.send(message("sms")).reason
    gateway.fail_next(status=200, body="<html>proxy</html>")
    result = sender.send(message("sms"))
    assert result.outcome == "retry" and "không phải JSON" in result.reason


def test_http_sms_connection_refused_is_a_channel_retry(create, sms_key):
    sender = create(HTTP_SMS, "sms", {"url": f"http://127.0.0.1:{free_port()}/sms", "timeout": 2,
                                      "api_key_env": "CCCH_TEST_SMS_KEY",
                                      "fields": {"key": "{api_key}", "to": "{phone}", "text": "{text}"}})
    result = sender.send(message("sms"))
    assert result.outcome == "retry" and result.channel_down
    assert "không kết nối được cổng SMS" in result.reason and no_secret(result)


def test_fake_gateway_takes_a_thousand_requests_on_one_connection(create, gateway):
    from message_fakes import _Handler

    sender = create(HTTP_SMS, "sms", {"url": gateway.sms_url, "idempotency_header": "Idempotency-Key",
                                      "fields": {"to": "{phone}", "text": "{text}"}})
    count = 1000
    for number in range(count):
        assert sender.send(message("sms", id=number, idempotency_key=f"k{number}")).outcome == "sent"
    assert len(gateway.accepted) == count and not gateway.duplicates
    # The fake answers at once: with Nagle's algorithm against the client's delayed ACKs each
    # keep-alive answer waited 40 ms (1,000 requests: 40 s). Checked by the setting itself, not by
    # a clock (a timed bound failed on a loaded runner: 184 requests/s at load 7); about 1,400
    # requests/s on an idle 2-core machine.
    assert _Handler.disable_nagle_algorithm is True and _Handler.protocol_version == "HTTP/1.1"


def test_fake_gateway_in_its_own_process(create, tmp_path):
    state_file = tmp_path / "accepted.txt"
    with FakeGatewayProcess(state_file) as fake:
        sender = create(HTTP_SMS, "sms", {"url": fake.sms_url, "idempotency_header": "Idempotency-Key",
                                          "fields": {"to": "{phone}", "text": "{text}"}})
        fake.fail_next(1, 502)
        assert sender.send(message("sms")).outcome == "retry"
        assert sender.send(message("sms", attempt=2)).outcome == "sent"
        assert sender.send(message("sms", attempt=3)).outcome == "sent"
        stats = fake.stats()
        assert stats["keys"] == {"msg-42-7f3a": 3} and stats["duplicates"] == {"msg-42-7f3a": 1}
        assert fake.accepted_lines() == [("accepted", "msg-42-7f3a"), ("duplicate", "msg-42-7f3a")]


# -- zalo_zns -----------------------------------------------------------------------------------

ZNS_TEMPLATES = {
    "report_due": {"template_id": "312345", "params": {"ten_don_vi": "unit", "ky_bao_cao": "period",
                                                       "han_nop": "due"}},
    "otp": "300001",
}


def zns_settings(fake: FakeGateway, **more) -> dict:
    settings = {"app_id": "fake-app", "secret_key_env": "CCCH_TEST_ZALO_SECRET", "access_token": "AT-1",
                "refresh_token_env": "CCCH_TEST_ZALO_REFRESH", "api_url": fake.zns_url, "oauth_url": fake.oauth_url,
                "templates": ZNS_TEMPLATES, "timeout": 2}
    settings.update(more)
    return settings


@pytest.fixture
def zalo_env(monkeypatch):
    monkeypatch.setenv("CCCH_TEST_ZALO_SECRET", "fake-secret")
    monkeypatch.setenv("CCCH_TEST_ZALO_REFRESH", "RT-1")


def test_zns_sends_the_mapped_template(create, gateway, zalo_env):
    state = DictState()
    sender = create(ZALO_ZNS, "zalo", zns_settings(gateway), state=state)
    result = sender.send(message("zalo"))
    assert result.outcome == "sent" and result.gateway_id == "fake-1"
    [request] = gateway.requests
    assert (request.method, request.path) == ("POST", ZNS_PATH)
    assert request.headers["access_token"] == "AT-1"
    assert request.body == {"phone": "84912345678", "template_id": "312345", "tracking_id": "msg-42-7f3a",
                            "template_data": {"ten_don_vi": "Xã An Dũng", "ky_bao_cao": "Tháng 3/2024",
                                              "han_nop": "05/4/2024"}}
    assert gateway.accepted == {"msg-42-7f3a"}
    assert state["access_token"] == "AT-1" and state["refresh_token"] == "RT-1"  # seeded from the settings
    otp = sender.send(message("zalo", id=43, template="otp", params={"otp": "482913"}, idempotency_key="k43"))
    assert otp.outcome == "sent"
    assert gateway.requests[-1].body["template_data"] == {"otp": "482913"}  # no mapping: params as they are


def test_zns_development_mode(create, gateway, zalo_env):
    sender = create(ZALO_ZNS, "zalo", zns_settings(gateway, mode="development"))
    assert sender.send(message("zalo")).outcome == "sent"
    assert gateway.requests[0].body["mode"] == "development"


def test_zns_expired_token_is_refreshed_once_and_both_tokens_persisted(create, gateway, zalo_env):
    state = DictState()
    sender = create(ZALO_ZNS, "zalo", zns_settings(gateway), state=state)
    assert sender.send(message("zalo")).outcome == "sent"
    gateway.expire_token()
    result = sender.send(message("zalo", id=43, idempotency_key="k43"))
    assert result.outcome == "sent", result.reason
    [refresh] = gateway.refreshes
    assert refresh.method == "POST" and refresh.headers["secret_key"] == "fake-secret"
    assert refresh.body == {"refresh_token": "RT-1", "app_id": "fake-app", "grant_type": "refresh_token"}
    assert state["access_token"] == "AT-2" and state["refresh_token"] == "RT-2"
    assert abs(float(state["access_token_expires_at"]) - (time.time() + 90000)) < 60
    zns = gateway.requests_to(ZNS_PATH)
    assert [r.headers["access_token"] for r in zns] == ["AT-1", "AT-1", "AT-2"]
    assert gateway.keys["k43"] == 2 and gateway.accepted == {"msg-42-7f3a", "k43"}
    assert sender.send(message("zalo", id=44, idempotency_key="k44")).outcome == "sent"
    assert len(gateway.refreshes) == 1  # the new token is used as it is

    # A restart reads the rotated tokens from the state, not the (now dead) ones of the settings.
    gateway.expire_token()
    restarted = create(ZALO_ZNS, "zalo", zns_settings(gateway), state=state)
    assert restarted.send(message("zalo", id=45, idempotency_key="k45")).outcome == "sent"
    assert gateway.refreshes[-1].body["refresh_token"] == "RT-2"
    assert state["refresh_token"] == "RT-3"


def test_zns_token_near_its_expiry_is_refreshed_before_sending(create, gateway, zalo_env):
    state = DictState(access_token="AT-1", refresh_token="RT-1", access_token_expires_at=str(int(time.time()) + 60))
    sender = create(ZALO_ZNS, "zalo", zns_settings(gateway, access_token=None, refresh_token_env=None), state=state)
    assert sender.send(message("zalo")).outcome == "sent"
    assert len(gateway.refreshes) == 1
    assert [r.headers["access_token"] for r in gateway.requests_to(ZNS_PATH)] == ["AT-2"]


def test_zns_new_tokens_in_the_settings_replace_the_stored_ones(create, gateway, zalo_env, monkeypatch):
    state = DictState()
    create(ZALO_ZNS, "zalo", zns_settings(gateway), state=state).send(message("zalo"))
    gateway.refresh_token = "RT-NEW"  # the officer got a new refresh token from Zalo for Developers
    gateway.expire_token()
    monkeypatch.setenv("CCCH_TEST_ZALO_REFRESH", "RT-NEW")
    sender = create(ZALO_ZNS, "zalo", zns_settings(gateway, access_token=None), state=state)
    assert sender.send(message("zalo", id=43, idempotency_key="k43")).outcome == "sent"
    assert gateway.refreshes[-1].body["refresh_token"] == "RT-NEW"


def test_zns_refresh_failure_is_a_channel_retry(create, gateway, zalo_env):
    state = DictState()
    sender = create(ZALO_ZNS, "zalo", zns_settings(gateway), state=state)
    gateway.expire_token()
    gateway.fail_next(path=OAUTH_PATH, status=400,
                      body={"error": -14014, "error_name": "Invalid refresh token",
                            "error_description": "refresh token RT-1 expired"})
    result = sender.send(message("zalo"))
    assert result.outcome == "retry" and result.channel_down
    assert "không làm mới được access token Zalo" in result.reason and "-14014" in result.reason
    assert "RT-1" not in result.reason and "fake-secret" not in result.reason
    assert state["refresh_token"] == "RT-1" and gateway.accepted == set()
    assert sender.send(message("zalo")).outcome == "sent"  # Zalo answers again: refreshed then sent


def test_zns_without_refresh_token_cannot_renew(create, gateway, zalo_env):
    sender = create(ZALO_ZNS, "zalo", zns_settings(gateway, refresh_token_env=None))
    gateway.expire_token()
    result = sender.send(message("zalo"))
    assert result.outcome == "retry" and "chưa có refresh token" in result.reason
    assert not gateway.refreshes


def test_zns_template_without_a_zns_template_fails(create, gateway, zalo_env):
    sender = create(ZALO_ZNS, "zalo", zns_settings(gateway))
    result = sender.send(message("zalo", template="survey_invite"))
    assert result.outcome == "failed" and "chưa cấu hình mẫu ZNS cho “survey_invite”" in result.reason
    missing = sender.send(message("zalo", params={"unit": "Xã An Dũng"}))
    assert missing.outcome == "failed" and "period" in missing.reason
    assert not gateway.requests


@pytest.mark.parametrize(("answer", "outcome", "channel_down"), [
    ({"status": 200, "body": {"error": -108, "message": "Phone number invalid"}}, "failed", False),
    ({"status": 200, "body": {"error": -144, "message": "OA exceeded the daily quota"}}, "retry", True),
    ({"status": 200, "body": {"error": -147, "message": "Template exceeded the daily quota"}}, "retry", False),
    ({"status": 502, "body": "Bad gateway"}, "retry", True),
    ({"close": True}, "retry", True),
], ids=["-108", "-144", "-147", "502", "closed"])
def test_zns_answers(create, gateway, zalo_env, answer, outcome, channel_down):
    sender = create(ZALO_ZNS, "zalo", zns_settings(gateway))
    gateway.fail_next(path=ZNS_PATH, **answer)
    result = sender.send(message("zalo"))
    assert (result.outcome, result.channel_down) == (outcome, channel_down)
    if "body" in answer and isinstance(answer["body"], dict):
        assert str(answer["body"]["error"]) in result.reason and answer["body"]["message"] in result.reason
    if outcome == "retry" and "body" in answer and isinstance(answer["body"], dict):
        assert 0 < result.retry_after <= 86400  # until midnight, Vietnam time
    assert "AT-1" not in result.reason


# -- folder -------------------------------------------------------------------------------------


def today() -> str:
    return dt.datetime.now(VN_TZ).date().isoformat()


def test_folder_writes_an_eml_file(create, tmp_path):
    sender = create(FOLDER, "email", {"from_name": "UBND huyện Đức Thọ"}, folder=tmp_path)
    result = sender.send(message())
    assert result.outcome == "sent"
    assert result.gateway_id == f"outbox/email/{today()}/42-report_due.eml"
    parsed = email.message_from_bytes((tmp_path / result.gateway_id).read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == SUBJECT and body_of(parsed) == BODY
    assert parsed["From"].addresses[0].addr_spec == "ccch@localhost"
    assert parsed["From"].addresses[0].display_name == "UBND huyện Đức Thọ"


def test_folder_writes_readable_text_files(create, tmp_path):
    sender = create(FOLDER, "sms", {"folder": "dev-outbox"}, folder=tmp_path)
    result = sender.send(message("sms"))
    assert result.gateway_id == f"dev-outbox/sms/{today()}/42-report_due.txt"
    text = (tmp_path / result.gateway_id).read_text(encoding="utf-8")
    assert text.splitlines()[:4] == ["Channel: sms (Tin nhắn SMS)", "To: 0912***678", "Purpose: report_due",
                                     "Template: report_due"]
    assert text.endswith("\n\n" + SMS_TEXT + "\n") and "0912345678" not in text
    zalo = create(FOLDER, "zalo", {"folder": "dev-outbox"}, folder=tmp_path).send(message("zalo"))
    content = (tmp_path / zalo.gateway_id).read_text(encoding="utf-8")
    assert 'Params: {"due": "05/4/2024", "period": "Tháng 3/2024", "unit": "Xã An Dũng"}' in content
    assert content.endswith("Xã An Dũng: hạn nộp báo cáo tháng 3/2024 là 05/4/2024.\n")


def test_folder_retry_overwrites_the_same_file(create, tmp_path):
    sender = create(FOLDER, "sms", {}, folder=tmp_path)
    first = sender.send(message("sms", text="Lần 1"))
    again = sender.send(message("sms", text="Lần 2", attempt=2))
    assert first.gateway_id == again.gateway_id
    files = [p for p in (tmp_path / "outbox").rglob("*") if p.is_file()]
    assert files == [tmp_path / first.gateway_id]  # no second file, no temporary left
    assert files[0].read_text(encoding="utf-8").endswith("\nLần 2\n")
    # A retry after midnight (Vietnam time) still finds the earlier attempt's file.
    tomorrow = dt.datetime.now(VN_TZ) + dt.timedelta(days=3)
    assert sender.path_for(message("sms", attempt=3), now=tomorrow) == files[0]


def test_folder_files_are_private_whole_and_their_folder_made_again(create, tmp_path):
    """Each file is written whole (a temporary beside it, renamed) with mode 0600; the folder is
    made again when it is gone (the developer emptied it, or a new day began)."""
    sender = create(FOLDER, "sms", {}, folder=tmp_path)
    first = tmp_path / sender.send(message("sms")).gateway_id
    assert first.stat().st_mode & 0o777 == 0o600
    shutil.rmtree(tmp_path / "outbox")
    second = tmp_path / sender.send(message("sms", id=43, text="Lần sau")).gateway_id
    assert second.read_text(encoding="utf-8").endswith("\nLần sau\n") and second.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in second.parent.iterdir()] == [second.name]  # no temporary left beside it
    # A link planted where the temporary file goes is not followed: the send is tried again later.
    (second.parent / f".{second.name}.{os.getpid()}-{threading.get_ident()}.tmp").symlink_to(tmp_path / "elsewhere")
    assert sender.send(message("sms", id=43, attempt=2)).outcome == "retry"
    assert not (tmp_path / "elsewhere").exists()


def test_folder_logs_a_masked_line(create, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ccch.messages")
    create(FOLDER, "email", {}, folder=tmp_path).send(message())
    create(FOLDER, "sms", {}, folder=tmp_path).send(message("sms"))
    lines = [r.getMessage() for r in caplog.records if r.name == "ccch.messages"]
    assert len(lines) == 2
    assert "n***@ductho.gov.vn" in lines[0] and "report_due" in lines[0] and "Đề nghị đồng chí" in lines[0]
    assert "0912***678" in lines[1] and SMS_TEXT in lines[1]
    assert not any("nguyen.van.a@" in line or "0912345678" in line for line in lines)


# -- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "channel", "settings", "named", "shown"), [
    (SMTP, "email", {"from_address": "a@ductho.gov.vn"}, "email.host", "missing"),
    (SMTP, "email", {"host": "mail.hatinh.gov.vn", "from_address": "a@ductho.gov.vn", "security": "tls"},
     "email.security", "'tls'"),
    (SMTP, "email", {"host": "mail.hatinh.gov.vn", "from_address": "a@ductho.gov.vn", "port": "587"},
     "email.port", "'587'"),
    (SMTP, "email", {"host": "mail.hatinh.gov.vn"}, "email.from_address", "missing"),
    (SMTP, "email", {"host": "mail.hatinh.gov.vn", "from_address": "ductho.gov.vn"}, "email.from_address",
     "'ductho.gov.vn'"),
    (SMTP, "email", {"host": "mail.hatinh.gov.vn", "from_address": "a@ductho.gov.vn", "username": "a"},
     "email", "password"),
    (SMTP, "email", {"host": "mail.hatinh.gov.vn", "from_address": "a@ductho.gov.vn", "timeout": 0},
     "email.timeout", "0"),
    (SMTP, "email", {"host": "mail.hatinh.gov.vn", "from_address": "a@ductho.gov.vn", "ca_file": "none.pem"},
     "email.ca_file", "none.pem"),
    (HTTP_SMS, "sms", {"fields": {"to": "{phone}"}}, "sms.url", "missing"),
    (HTTP_SMS, "sms", {"url": "ftp://sms.example.vn/send", "fields": {"to": "{phone}"}}, "sms.url",
     "'ftp://sms.example.vn/send'"),
    (HTTP_SMS, "sms", {"url": "https://sms.example.vn/send"}, "sms.fields", "missing"),
    (HTTP_SMS, "sms", {"url": "https://sms.example.vn/send", "fields": {"Phone": "{phon}"}}, "sms.fields.Phone",
     "{phon}"),
    (HTTP_SMS, "sms", {"url": "https://sms.example.vn/send", "fields": {"key": "{api_key}"}}, "sms", "api_key"),
    (HTTP_SMS, "sms", {"url": "https://sms.example.vn/send", "fields": {"to": "{phone}"}, "method": "GET",
                       "body": "json"}, "sms.body", "query"),
    (HTTP_SMS, "sms", {"url": "https://sms.example.vn/send", "fields": {"to": "{phone}"},
                       "success_field": "CodeResult"}, "sms.success_values", "needed"),
    (HTTP_SMS, "sms", {"url": "https://sms.example.vn/send", "fields": {"to": "{phone}"},
                       "success_status": ["200"]}, "sms.success_status", "['200']"),
    (HTTP_SMS, "sms", {"url": "https://sms.example.vn/send", "body": "form", "fields": {"to": {"a": 1}}},
     "sms.fields.to", "json"),
    (ZALO_ZNS, "zalo", {"secret_key": "s", "refresh_token": "r"}, "zalo.app_id", "missing"),
    (ZALO_ZNS, "zalo", {"app_id": "1", "refresh_token": "r"}, "zalo", "secret_key"),
    (ZALO_ZNS, "zalo", {"app_id": "1", "secret_key": "s"}, "zalo", "refresh_token"),
    (ZALO_ZNS, "zalo", {"app_id": "1", "secret_key": "s", "refresh_token": "r", "mode": "test"}, "zalo.mode",
     "'test'"),
    (ZALO_ZNS, "zalo", {"app_id": "1", "secret_key": "s", "refresh_token": "r",
                        "templates": {"otp": {"id": "1"}}}, "zalo.templates.otp.id", "unknown key"),
    (ZALO_ZNS, "zalo", {"app_id": "1", "secret_key": "s", "refresh_token": "r", "api_url": "business.zalo.me"},
     "zalo.api_url", "'business.zalo.me'"),
    (FOLDER, "sms", {"from_address": "ccch"}, "sms.from_address", "'ccch'"),
], ids=lambda value: None)
def test_bad_settings_name_the_key(kind, channel, settings, named, shown):
    with pytest.raises(SenderConfigError) as caught:
        kind.create(make_context(channel, settings))
    text = str(caught.value)
    assert text.startswith(f"ccch.toml: messages.channels.{named}"), text
    assert shown in text


def test_secret_from_a_missing_environment_variable(monkeypatch):
    monkeypatch.delenv("CCCH_TEST_UNSET", raising=False)
    with pytest.raises(SenderConfigError, match="api_key_env: the environment variable CCCH_TEST_UNSET"):
        HTTP_SMS.create(make_context("sms", {"url": "https://sms.example.vn/send", "api_key_env": "CCCH_TEST_UNSET",
                                             "fields": {"key": "{api_key}"}}))


def test_stored_tokens_are_enough_for_zalo():
    state = DictState(refresh_token="RT-7")
    sender = ZALO_ZNS.create(make_context("zalo", {"app_id": "1", "secret_key": "s"}, state=state))
    sender.close()
