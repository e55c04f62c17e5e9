"""In a rush (issue #20 part 1): a newcomer whose request waited past ``[web] queue_limit_seconds``
gets 503 with Retry-After and a "thử lại" page in words, while a participant's autosave and
submission are served however long they waited, and judged by when they arrived.

The wait is what the kernel says about the connection (``TCP_INFO``), so each request here is given
a real loopback connection whose bytes were sent some time before the request is handled — the
position of a request that queued while every worker was busy. Nothing here asserts a duration;
the waits only need to be at least as long as the sleeps that make them."""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest
from ccch_contest import attempts as A
from ccch_contest_testing import csrf_from

BASE = "/cuoc-thi/tim-hieu-cchc-2024"
LIMIT = 0.4


@pytest.fixture
def rush_dep(make_deployment):
    return make_deployment(plugins=("contest",), web={"queue_limit_seconds": LIMIT, "retry_after_seconds": 30})


@pytest.fixture
def queued_sockets():
    """``make(seconds)``: a server-side socket whose request bytes arrived at least ``seconds`` ago."""
    opened = []
    listener = socket.create_server(("127.0.0.1", 0))
    opened.append(listener)

    def make(seconds: float):
        client = socket.create_connection(listener.getsockname())
        client.sendall(b"POST / HTTP/1.1\r\n\r\n")
        time.sleep(seconds)
        server, _ = listener.accept()
        opened.extend((client, server))
        return server

    yield make
    for s in opened:
        s.close()


def _register_and_start(client):
    token = csrf_from(client.get(BASE + "/dang-ky").get_data(as_text=True))
    client.post(BASE + "/dang-ky", data={"csrf_token": token, "full_name": "Đào Thị Hoa", "phone": "0987654321",
                                         "birth_year": "1990", "audience": "cbccvc", "unit_id": "xa-an-dung",
                                         "consent": "1"})
    url = client.post(BASE + "/bat-dau", data={"csrf_token": token}).headers["Location"]
    return token, url


def test_newcomers_are_told_to_retry_while_answers_are_served(rush_dep, make_app, queued_sockets):
    from ccch_contest_testing import contest_data, load_contest

    load_contest(rush_dep, contest_data())
    client = make_app(rush_dep).test_client()
    token, url = _register_and_start(client)  # no socket: nothing is known of a wait, nothing refused
    late = queued_sockets(LIMIT * 3)

    def waited(method, path, **kwargs):
        return getattr(client, method)(path, environ_base={"gunicorn.socket": late}, **kwargs)

    # A newcomer's page and a newcomer's form: refused at once, in words, with a spread Retry-After.
    page = waited("get", BASE + "/dang-ky")
    assert page.status_code == 503
    assert 15 <= int(page.headers["Retry-After"]) <= 45
    html = page.get_data(as_text=True)
    assert "Đang có quá nhiều người truy cập" in html and "Chưa có gì" in html
    assert f'http-equiv="refresh" content="{page.headers["Retry-After"]}"' in html  # reloads itself then
    assert "Cache-Control" in page.headers and "no-store" in page.headers["Cache-Control"]
    form = waited("post", BASE + "/dang-ky", data={"csrf_token": token, "full_name": "Lê Văn Nam",
                                                     "phone": "0912345670", "birth_year": "1980", "audience": "cbccvc",
                                                     "unit_id": "xa-an-dung", "consent": "1"})
    assert form.status_code == 503
    assert "Quay lại" in form.get_data(as_text=True) and "refresh" not in form.get_data(as_text=True)
    assert rush_dep.db.execute("select count(*) from contest_participants where full_name = 'Lê Văn Nam'"
                               ).fetchone()[0] == 0  # nothing recorded, as the page says

    # The participant mid-way: the autosave and the submission are served, however long they queued.
    attempt = A.get_attempt(rush_dep.db, url.rsplit("/", 1)[-1])
    first_question = attempt.questions[0][0]
    saved = waited("post", url + "/luu", data={"csrf_token": token, f"q{first_question}": "1"},
                   headers={"X-Requested-With": "fetch", "Accept": "application/json"})
    assert saved.status_code == 200 and saved.get_json()["saved"] is True
    submitted = waited("post", url + "/nop", data={"csrf_token": token, f"q{first_question}": "1", "du_doan": "12"})
    assert submitted.status_code == 200 and submitted.headers["X-Contest-Submission"] == "accepted"
    stored = A.get_attempt(rush_dep.db, attempt.token)
    assert stored.status == "submitted"
    # Its time is counted to when it arrived, not to when it was handled.
    arrived = rush_dep.db.execute("select submitted_ms from contest_attempts where token = ?",
                                  [attempt.token]).fetchone()[0]
    assert arrived <= int(dt.datetime.now(dt.UTC).timestamp() * 1000) - LIMIT * 3 * 1000 + 50


def test_a_request_within_the_limit_is_served(rush_dep, make_app, queued_sockets):
    from ccch_contest_testing import contest_data, load_contest

    load_contest(rush_dep, contest_data())
    client = make_app(rush_dep).test_client()
    fresh = queued_sockets(0)
    assert client.get(BASE + "/dang-ky", environ_base={"gunicorn.socket": fresh}).status_code == 200
