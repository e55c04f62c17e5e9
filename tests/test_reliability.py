"""Faults on the report form: a locked database, a full disk — nothing lost, nothing half-stored,
never a 500 with a stack trace."""

from __future__ import annotations

import re
import sqlite3
import threading
import time

import pytest

from ccch_core.testing import csrf_token, login

FORM = "/bao-cao/xa-an-dung/2024-03"


def form_data(client):
    return {
        "csrf_token": csrf_token(client, FORM),
        "item-0-category": "broadcast", "item-0-count": "4", "item-0-title": "Nêu gương người tốt, việc tốt",
        "m-I8-xa-an-dung": "1",
    }


@pytest.fixture
def officer_client(make_deployment, make_app, make_user, request):
    timeout = getattr(request, "param", 10_000)
    dep = make_deployment(busy_timeout_ms=timeout)
    app = make_app(dep)
    name, password = make_user(dep, "unit_officer", "xa-an-dung")
    client = app.test_client()
    assert login(client, name, password).status_code == 302
    return dep, client


def hold_write_lock(path, seconds: float, ready: threading.Event):
    conn = sqlite3.connect(path, timeout=5)
    conn.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def test_a_short_lock_is_waited_on(officer_client):
    dep, client = officer_client
    data = form_data(client)
    ready = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(str(dep.config.database_path), 0.6, ready))
    holder.start()
    ready.wait()
    started = time.monotonic()
    response = client.post(FORM, data=data)
    holder.join()
    assert response.status_code == 303
    assert time.monotonic() - started >= 0.5  # it waited for the lock instead of failing
    assert dep.db.execute("select count(*) from activity_reports").fetchone()[0] == 1


@pytest.mark.parametrize("officer_client", [200], indirect=True)
def test_a_long_lock_gives_a_retry_page_with_the_form_kept(officer_client):
    dep, client = officer_client
    data = form_data(client)
    ready = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(str(dep.config.database_path), 1.5, ready))
    holder.start()
    ready.wait()
    response = client.post(FORM, data=data)
    holder.join()
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "Hệ thống đang bận" in page and "Traceback" not in page
    assert 'value="Nêu gương người tốt, việc tốt"' in page and 'value="4"' in page
    assert dep.db.execute("select count(*) from activity_reports").fetchone()[0] == 0
    assert dep.db.execute("select count(*) from measurements").fetchone()[0] == 0


def test_a_full_disk_stores_nothing_and_keeps_the_form(officer_client):
    dep, client = officer_client
    data = form_data(client)
    data["note"] = "Khó khăn: " + "thiếu kinh phí in pa nô. " * 150  # needs new pages
    pages = dep.db.execute("PRAGMA page_count").fetchone()[0]
    dep.db.execute(f"PRAGMA max_page_count = {pages}")  # the database may not grow: a full disk
    response = client.post(FORM, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "không lưu được" in page and "thiếu kinh phí in pa nô" in page
    assert dep.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert dep.db.execute("select count(*) from activity_reports").fetchone()[0] == 0
    assert dep.db.execute("select count(*) from measurements").fetchone()[0] == 0
    dep.db.execute("PRAGMA max_page_count = 1073741823")  # space again: the same form goes through
    data["csrf_token"] = csrf_token(client, FORM)
    assert client.post(FORM, data=data).status_code == 303


def test_an_unexpected_error_is_a_vietnamese_500_without_details(officer_client):
    dep, client = officer_client
    # Something broken underneath: a trigger that aborts every insert.
    dep.db.execute("create trigger boom before insert on activity_reports begin select raise(abort, 'boom'); end")
    response = client.post(FORM, data=form_data(client))
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "Lỗi hệ thống" in page
    assert not re.search(r"Traceback|sqlite3|boom|activity_reports", page)
    assert dep.db.execute("select count(*) from measurements").fetchone()[0] == 0  # rolled back together
