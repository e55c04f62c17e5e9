"""The hot paths' guards: the autosave throttle, the write queue across threads and processes,
the cached draw plan and pages, the bank kept apart from the public questions."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading

import pytest
from ccch_contest import attempts as A
from ccch_contest.contests import get_contest, save_definition
from ccch_contest.definition import definition_from_dict
from ccch_contest.locking import serialized
from ccch_contest.participants import Throttled
from ccch_contest_testing import add_participant, answers_for, contest_data, csrf_from

UTC = dt.UTC


def test_autosave_is_throttled_to_one_a_second(dep, contest):
    person = add_participant(dep, contest, 1)
    attempt = A.start_attempt(dep, contest, person.id).attempt
    now = dt.datetime.now(UTC)
    answers = answers_for(dep, contest, attempt)
    assert A.save_answers(dep, contest, attempt, answers, 1.0, now=now)
    with pytest.raises(Throttled):
        A.save_answers(dep, contest, attempt, answers, 2.0, now=now + dt.timedelta(milliseconds=400))
    assert A.save_answers(dep, contest, attempt, answers, 3.0, now=now + dt.timedelta(seconds=1))
    assert A.get_attempt(dep.db, attempt.token).prediction == 3.0


def test_autosave_throttle_over_http(dep, contest, make_app):
    app = make_app(dep)
    client = app.test_client()
    base = "/cuoc-thi/tim-hieu-cchc-2024"
    token = csrf_from(client.get(base + "/dang-ky").get_data(as_text=True))
    client.post(base + "/dang-ky", data={"csrf_token": token, "full_name": "Đào Thị Hoa", "phone": "0987654321",
                                         "birth_year": "1990", "audience": "cbccvc", "unit_id": "xa-an-dung",
                                         "consent": "1"})
    url = client.post(base + "/bat-dau", data={"csrf_token": token}).headers["Location"]
    headers = {"X-Requested-With": "fetch", "Accept": "application/json"}
    first = client.post(url + "/luu", data={"csrf_token": token, "q1": "1"}, headers=headers)
    second = client.post(url + "/luu", data={"csrf_token": token, "q1": "2"}, headers=headers)
    assert first.status_code == 200 and first.get_json()["saved"] is True
    assert second.status_code == 429 and second.headers["Retry-After"] == "1"


def test_serialized_writes_from_many_threads(dep, contest):
    dep.db.execute("create table if not exists counter (n integer)")
    dep.db.execute("insert into counter values (0)")
    dep.db.conn.commit()
    errors = []

    def bump():
        try:
            for _ in range(50):
                with serialized(dep) as db:
                    value = db.execute("select n from counter").fetchone()[0]
                    db.execute("update counter set n = ?", [value + 1])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            dep.close()

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert dep.db.execute("select n from counter").fetchone()[0] == 300


BUMP = """
import sys
from ccch_core.deployment import Deployment
from ccch_contest.locking import serialized
dep = Deployment.open(sys.argv[1])
for _ in range(int(sys.argv[2])):
    with serialized(dep) as db:
        value = db.execute("select n from counter").fetchone()[0]
        db.execute("update counter set n = ?", [value + 1])
dep.close()
"""


def test_serialized_writes_across_processes(make_deployment):
    dep = make_deployment(plugins=("contest",))
    config = dep.config.folder / "ccch.toml"
    config.write_text('[deployment]\nname = "x"\nplan = "plan.toml"\ndatabase = "ccch.db"\nplugins = ["contest"]\n',
                      encoding="utf-8")
    dep.db.execute("create table counter (n integer)")
    dep.db.execute("insert into counter values (0)")
    dep.db.conn.commit()
    workers = [subprocess.Popen([sys.executable, "-c", BUMP, str(config), "40"]) for _ in range(3)]
    assert [w.wait(120) for w in workers] == [0, 0, 0]
    assert dep.db.execute("select n from counter").fetchone()[0] == 120
    assert (dep.config.folder / "ccch.db-write-lock").exists()  # the core's queue, shared by all plugins


def test_nested_serialized_writes_do_not_deadlock(dep):
    with serialized(dep) as outer:
        with serialized(dep) as inner:
            inner.execute("create table nested (x integer)")
        outer.execute("insert into nested values (1)")
    assert dep.db.execute("select count(*) from nested").fetchone()[0] == 1


def test_cached_draw_plan_follows_the_bank_and_the_definition(dep, contest):
    from ccch_contest.bank import load_bank

    bank = load_bank(dep, contest.id, contest.bank_version)
    audience = contest.definition.audience("cbccvc")
    plan = A.cached_draw_plan(dep, contest, bank, audience)
    assert A.cached_draw_plan(dep, contest, bank, audience) is plan
    data = contest_data()
    data["audiences"][0]["quotas"] = {"Văn bản": 10}
    save_definition(dep, definition_from_dict(data, dep.plan))
    changed = get_contest(dep, contest.slug)
    new_plan = A.cached_draw_plan(dep, changed, bank, changed.definition.audience("cbccvc"))
    assert new_plan is not plan and [n for _, n in new_plan.quotas] == [10]


def test_landing_page_follows_definition_changes(dep, contest, make_app):
    app = make_app(dep)
    client = app.test_client()
    assert "Giải Khuyến khích" in client.get("/cuoc-thi/tim-hieu-cchc-2024").get_data(as_text=True)
    data = contest_data()
    data["audiences"][0]["prizes"] = [{"name": "Giải Đặc biệt", "count": 1}]
    data["audiences"][1]["prizes"] = [{"name": "Giải Đặc biệt", "count": 1}]
    save_definition(dep, definition_from_dict(data, dep.plan))
    page = client.get("/cuoc-thi/tim-hieu-cchc-2024").get_data(as_text=True)
    assert "Giải Đặc biệt" in page and "Giải Khuyến khích" not in page


def test_the_anonymous_landing_page_is_kept_and_never_personal(dep, contest, make_app):
    """Kept per process for visitors the browser does not know (all but their form's CSRF token,
    their own); a participant still gets their own page."""
    app = make_app(dep)
    base = "/cuoc-thi/tim-hieu-cchc-2024"
    first, second = app.test_client().get(base), app.test_client().get(base)
    tokens = csrf_from(first.get_data(as_text=True)), csrf_from(second.get_data(as_text=True))
    assert first.status_code == 200 and tokens[0] != tokens[1]
    assert first.data.replace(tokens[0].encode(), b"") == second.data.replace(tokens[1].encode(), b"")
    assert "Đăng ký dự thi" in first.get_data(as_text=True)
    assert first.headers.get("Cache-Control") == "no-store"  # the token is the visitor's own
    client = app.test_client()
    token = csrf_from(client.get(base + "/dang-ky").get_data(as_text=True))
    client.post(base + "/dang-ky", data={"csrf_token": token, "full_name": "Đào Thị Hoa", "phone": "0987654321",
                                         "birth_year": "1990", "audience": "cbccvc", "unit_id": "xa-an-dung",
                                         "consent": "1"})
    own = client.get(base)
    assert "Đào Thị Hoa" in own.get_data(as_text=True) and own.headers["Cache-Control"] == "no-store"
    stranger = app.test_client().get(base).get_data(as_text=True)
    assert "Đào Thị Hoa" not in stranger and "Đăng ký dự thi" in stranger
    token = csrf_from(own.get_data(as_text=True))
    client.post(base + "/thoat", data={"csrf_token": token})
    after = client.get(base).get_data(as_text=True)  # anonymous again, with the flashed message
    assert "Thiết bị này đã thoát khỏi tài khoản dự thi." in after and "Đào Thị Hoa" not in after
    assert "Thiết bị này đã thoát" not in app.test_client().get(base).get_data(as_text=True)
    gzipped = app.test_client().get(base, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    import gzip
    body = gzip.decompress(gzipped.data)
    token = csrf_from(body.decode())
    assert body.replace(token.encode(), b"") == first.data.replace(tokens[0].encode(), b"")
    assert token.encode() in gzipped.data  # the token travels uncompressed, apart from the page (BREACH)


def test_the_landing_page_carries_the_registration_form(dep, contest, make_app):
    """A newcomer registers from the landing page itself: no request for the form's own page. The
    form's token is the session's CSRF token, as on the form's page (a token anyone could fetch
    would let another site sign a visitor in as someone else's participant)."""
    app = make_app(dep)
    base = "/cuoc-thi/tim-hieu-cchc-2024"
    client = app.test_client()
    landing = client.get(base)
    html = landing.get_data(as_text=True)
    assert f'<form method="post" action="{base}/dang-ky" novalidate>' in html and 'href="#dang-ky"' in html
    assert 'id="dang-ky"' in html and 'name="full_name"' in html and 'name="consent"' in html
    assert any(c.startswith("ccch_session=") for c in landing.headers.getlist("Set-Cookie"))
    form = {"csrf_token": csrf_from(html), "full_name": "Đào Thị Hoa", "phone": "0987654321", "birth_year": "1990",
            "audience": "cbccvc", "unit_id": "xa-an-dung", "consent": "1"}
    stranger = app.test_client()  # another browser, with the token but not the session it belongs to
    stranger.get(base)
    assert stranger.post(base + "/dang-ky", data=form).status_code == 400
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 0
    registered = client.post(base + "/dang-ky", data=form)
    assert registered.status_code == 303
    assert dep.db.execute("select full_name from contest_participants").fetchall() == [("Đào Thị Hoa",)]
    # A mistake comes back on the form's own page, with what was typed and the reason.
    other = app.test_client()
    refused = other.post(base + "/dang-ky", data={**form, "csrf_token": csrf_from(other.get(base).get_data(as_text=True)),
                                                   "phone": "0987654322", "birth_year": "18"})
    assert refused.status_code == 422 and "Đăng ký dự thi" in refused.get_data(as_text=True)
    assert 'value="0987654322"' in refused.get_data(as_text=True)


def test_a_national_contest_keeps_its_form_on_its_own_page(dep, contest, make_app, monkeypatch):
    """A form that lists more units than INLINE_FORM_UNITS (a national contest lists thousands of
    communes) is not carried by the landing page: it stays small, and the same for everyone."""
    from ccch_contest.web import public

    monkeypatch.setattr(public, "INLINE_FORM_UNITS", 5)
    app = make_app(dep)
    base = "/cuoc-thi/tim-hieu-cchc-2024"
    first, second = app.test_client().get(base), app.test_client().get(base)
    html = first.get_data(as_text=True)
    assert first.data == second.data and f'href="{base}/dang-ky"' in html and 'name="full_name"' not in html
    assert not first.headers.getlist("Set-Cookie") and first.headers.get("Cache-Control") != "no-store"


def test_the_kept_landing_page_follows_the_rounds(dep, contest, make_app, monkeypatch):
    """Round 2 is open now (the example's rounds); a week on, round 3 is; after it, the contest ended."""
    from ccch_contest.web import public

    app = make_app(dep)
    base = "/cuoc-thi/tim-hieu-cchc-2024"
    assert "<strong>Vòng 2</strong> đang mở" in app.test_client().get(base).get_data(as_text=True)
    now = dt.datetime.now(UTC)
    monkeypatch.setattr(public, "utc_now", lambda: now + dt.timedelta(days=2))
    between = app.test_client().get(base).get_data(as_text=True)
    assert "đang mở" not in between and "Vòng 3" in between and "mở lúc" in between
    monkeypatch.setattr(public, "utc_now", lambda: now + dt.timedelta(days=7, hours=12))
    assert "<strong>Vòng 3</strong> đang mở" in app.test_client().get(base).get_data(as_text=True)
    monkeypatch.setattr(public, "utc_now", lambda: now + dt.timedelta(days=60))
    assert "Cuộc thi đã kết thúc" in app.test_client().get(base).get_data(as_text=True)


def test_the_attempt_pages_addresses_are_its_routes(dep, contest, make_app):
    """The attempt page builds its save and submit addresses from its own (one url_for, not
    four): they must stay the routes' addresses."""
    from flask import url_for

    app = make_app(dep)
    base = "/cuoc-thi/tim-hieu-cchc-2024"
    client = app.test_client()
    token = csrf_from(client.get(base + "/dang-ky").get_data(as_text=True))
    page = client.post(base + "/dang-ky", data={
        "csrf_token": token, "full_name": "Đào Thị Hoa", "phone": "0987654321", "birth_year": "1990",
        "audience": "cbccvc", "unit_id": "xa-an-dung", "consent": "1", "start_now": "1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "/bai-thi/" in html
    attempt_token = html.split('data-canonical="', 1)[1].split('"', 1)[0].rsplit("/", 1)[-1]
    with app.test_request_context():
        urls = {name: url_for(f"contest_public.{name}", slug="tim-hieu-cchc-2024", token=attempt_token)
                for name in ("attempt_view", "save_view", "submit_view")}
    assert f'action="{urls["submit_view"]}"' in html and f'data-save="{urls["save_view"]}"' in html
    assert f'formaction="{urls["save_view"]}"' in html and f'data-canonical="{urls["attempt_view"]}"' in html
