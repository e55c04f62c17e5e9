"""The citizen's flow: scan, page, validation with answers kept, thank-you page, abuse limits,
consent for contact details, CSRF, payload limit, closed surveys."""

from __future__ import annotations

import datetime as dt
import re
import time
from html.parser import HTMLParser

import pytest
from ccch_survey.definition import loads_definition
from ccch_survey.store import add_placement, retire_placement, save_survey, set_status
from ccch_survey_testing import REQUIRED_SCALE, answers, count, enrol, open_form, submit


def test_scan_is_counted_once_per_device_and_page_shows_unit_and_place(app, dep, poster):
    phones = [app.test_client() for _ in range(3)]
    for phone in phones:
        for _ in range(2):  # a phone that opens the page again the same day counts once
            response = phone.get(f"/k/{poster.code}")
    html = response.get_data(as_text=True)
    assert "Khảo sát sự hài lòng của người dân, tổ chức" in html
    assert "Bộ phận tiếp nhận và trả kết quả xã An Dũng" in html and "Quầy tiếp nhận hồ sơ" in html
    assert dep.db.execute("select sum(scans) from survey_daily where placement_id = ?", [poster.id]).fetchone()[0] == 3
    assert response.headers["Cache-Control"] == "no-store"


def test_code_is_case_insensitive_and_unknown_codes_are_404(app, poster):
    client = app.test_client()
    assert client.get(f"/k/{poster.code.lower()}").status_code == 200
    missing = client.get("/k/ZZZZZZ")
    assert missing.status_code == 404
    assert "quét lại mã QR" in missing.get_data(as_text=True)
    assert client.get("/k/not-a-code").status_code == 404


class _Structure(HTMLParser):
    """Collects what accessibility and size checks need."""

    def __init__(self):
        super().__init__()
        self.fieldsets = 0
        self.legends = 0
        self.label_for = set()
        self.inputs: list[dict] = []
        self.scripts: list[dict] = []
        self.links: list[dict] = []
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "fieldset":
            self.fieldsets += 1
        elif tag == "legend":
            self.legends += 1
        elif tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        elif tag in ("input", "textarea"):
            self.inputs.append(a)
        elif tag == "script":
            self.scripts.append(a)
        elif tag == "link":
            self.links.append(a)
        for name in ("src", "href", "action"):
            value = a.get(name) or ""
            if re.match(r"^(https?:)?//", value):
                self.external.append(value)


def test_page_is_small_accessible_and_needs_nothing_external(app, poster):
    client = app.test_client()
    response = client.get(f"/k/{poster.code}")
    html = response.get_data(as_text=True)
    parsed = _Structure()
    parsed.feed(html)
    assert parsed.scripts == [], "the poster page needs no JavaScript"
    assert parsed.external == [], parsed.external
    # Every choice question is a fieldset with a legend; every text field has a label.
    assert parsed.fieldsets == parsed.legends == 16  # 13 scale + 1 multiple + 1 single + contact block
    text_fields = [i for i in parsed.inputs if i.get("type") in (None, "text", "tel") and i.get("name") != "website"]
    assert text_fields and all(i.get("id") in parsed.label_for for i in text_fields)
    assert '<html lang="vi">' in html
    # Everything a first visit downloads: the page and its stylesheet.
    css = [link["href"] for link in parsed.links if link.get("rel") == "stylesheet"]
    total = len(response.data) + sum(len(client.get(href).data) for href in css)
    assert total < 30_000, total


def test_submission_is_stored_with_placement_unit_and_version(app, dep, poster):
    client = app.test_client()
    response = submit(client, f"/k/{poster.code}", {**answers("4"), "q-gop-y-them": "Cán bộ rất nhiệt tình",
                                                     "q-linh-vuc": "ho-tich"})
    # The answer is the thank-you page itself (no redirect: one round trip less on a slow phone).
    assert response.status_code == 200 and response.headers["X-Survey-Result"] == "stored"
    assert "Cảm ơn Ông/Bà đã góp ý" in response.get_data(as_text=True)
    assert client.get(f"/k/{poster.code}/cam-on").status_code == 200  # still there, for kiosks and old links
    row = next(dep.db.query("select * from survey_responses"))
    assert (row["placement_id"], row["unit_id"], row["survey_id"], row["version"], row["channel"]) == (
        poster.id, "xa-an-dung.mot-cua", "sipas", 1, "poster")
    stored = {(r["question_key"], r["option_key"], r["value"]) for r in dep.db.query("select * from survey_answers")}
    assert ("chung", "4", None) in stored and ("linh-vuc", "ho-tich", None) in stored
    assert ("gop-y-them", "", "Cán bộ rất nhiệt tình") in stored
    assert count(dep.db, "survey_answers") == len(REQUIRED_SCALE) + 2
    assert count(dep.db, "survey_contacts") == 0


INVALID = {
    "a required question left blank": ({"q-chung": ""}, "q-chung", "Vui lòng chọn một câu trả lời."),
    "an option that does not exist": ({"q-chung": "9"}, "q-chung", "Lựa chọn không hợp lệ"),
    "two options on a single choice": ({"q-linh-vuc": ["ho-tich", "dat-dai"]}, "q-linh-vuc", "Chỉ được chọn một"),
    "a comment that is too long": ({"q-gop-y-them": "x" * 1001}, "q-gop-y-them", "dài quá 1000 ký tự"),
    "contact details without consent": ({"ho-ten": "Nguyễn Văn A", "dien-thoai": "0912345678"}, "lien-he",
                                        "chưa đánh dấu đồng ý"),
    "a phone number that is not one": ({"lien-he": "dong-y", "dien-thoai": "12345"}, "dien-thoai",
                                       "Số điện thoại không hợp lệ"),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_every_validation_error_keeps_the_answers(app, dep, poster, case):
    change, field, message = INVALID[case]
    client = app.test_client()
    _, token, sid = open_form(client, f"/k/{poster.code}")
    data = {**answers({"tiep-can.1": "2", "cong-chuc.2": "3"}), "q-gop-y-them": "Nên có thêm ghế chờ",
            "csrf_token": token, "sid": sid, "v": "1"}
    data.update(change)
    response = client.post(f"/k/{poster.code}", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # The problem beside its question and in the summary, which links to it.
    assert message in html
    assert f'<a href="#{field}">' in html
    assert re.search(rf'id="{re.escape(field)}"[^>]*class="q-bad"', html)
    # Every answer given is still there.
    assert 'name="q-tiep-can.1" value="2" checked' in html
    assert 'name="q-cong-chuc.2" value="3" checked' in html
    if field != "q-gop-y-them":
        assert "Nên có thêm ghế chờ</textarea>" in html
    if "ho-ten" in change:
        assert 'value="Nguyễn Văn A"' in html and 'value="0912345678"' in html
    # Same submission id, so a corrected resend is still one submission; nothing stored.
    assert f'name="sid" value="{sid}"' in html
    assert count(dep.db, "survey_responses") == 0


def test_honeypot_looks_accepted_but_stores_nothing(app, dep, poster):
    response = submit(app.test_client(), f"/k/{poster.code}", {**answers(), "website": "http://spam.example"})
    assert response.status_code == 200 and response.headers["X-Survey-Result"] == "stored"  # a bot cannot tell
    assert count(dep.db, "survey_responses") == 0


def test_double_tap_and_resend_store_once(app, dep, poster):
    client = app.test_client()
    _, token, sid = open_form(client, f"/k/{poster.code}")
    form = {**answers(), "csrf_token": token, "sid": sid, "v": "1"}
    first = client.post(f"/k/{poster.code}", data=form)
    second = client.post(f"/k/{poster.code}", data=form)
    assert first.status_code == second.status_code == 200
    assert second.headers["X-Survey-Result"] == "stored" and "Cảm ơn Ông/Bà đã góp ý" in second.get_data(as_text=True)
    assert count(dep.db, "survey_responses") == 1
    assert dep.db.execute("select sum(responses) from survey_daily").fetchone()[0] == 1


def test_one_response_per_device_per_day(app, dep, poster):
    client = app.test_client()
    assert submit(client, f"/k/{poster.code}").status_code == 200
    again = submit(client, f"/k/{poster.code}")  # a new form (new submission id), same device
    assert again.status_code == 409
    assert "đã gửi ý kiến cho khảo sát hôm nay" in again.get_data(as_text=True)
    assert submit(app.test_client(), f"/k/{poster.code}").status_code == 200  # another phone
    assert count(dep.db, "survey_responses") == 2


def test_device_limit_is_configurable(survey_deployment, make_app):
    dep = survey_deployment(responses_per_device_per_day=0)
    placement = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    client = make_app(dep).test_client()
    assert [submit(client, f"/k/{placement.code}").status_code for _ in range(3)] == [200, 200, 200]


def test_rate_limit_per_address(survey_deployment, make_app):
    dep = survey_deployment(submissions_per_address_per_hour=3, responses_per_device_per_day=0)
    placement = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    app = make_app(dep)
    codes = [submit(app.test_client(), f"/k/{placement.code}").status_code for _ in range(3)]
    blocked = submit(app.test_client(), f"/k/{placement.code}")
    assert codes == [200, 200, 200]
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "vui lòng bấm Gửi ý kiến lại sau" in blocked.get_data(as_text=True)
    assert 'name="q-chung" value="5" checked' in blocked.get_data(as_text=True)  # the answers came back
    assert count(dep.db, "survey_responses") == 3


def test_enrolled_kiosk_is_exempt_from_the_device_rule_but_has_its_own_limit(survey_deployment, make_app):
    dep = survey_deployment(kiosk_submissions_per_hour=2)
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    client = make_app(dep).test_client()
    enrol(client, dep, kiosk)
    assert [submit(client, f"/k/{kiosk.code}").status_code for _ in range(3)] == [200, 200, 429]
    rows = list(dep.db.query("select channel, device_key, kiosk_device_id from survey_responses"))
    assert rows == [{"channel": "kiosk", "device_key": None, "kiosk_device_id": 1}] * 2


def test_payload_limit(survey_deployment, make_app):
    # The limit is the setting or, when larger, what the survey's form can send (about 15 KB for
    # SIPAS): a body beyond both is refused before it is read (test_error_paths.py has the page).
    dep = survey_deployment(max_submission_bytes=5000)
    placement = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    response = submit(make_app(dep).test_client(), f"/k/{placement.code}", {**answers(), "q-gop-y-them": "x" * 20_000})
    assert response.status_code == 413
    assert count(dep.db, "survey_responses") == 0


def test_form_token_is_enforced_and_the_answers_come_back(app, dep, poster):
    client = app.test_client()
    page, token, sid = open_form(client, f"/k/{poster.code}")
    assert "ccch_session" not in page.headers.get("Set-Cookie", "")  # no session for a citizen
    mixed = {**answers("5"), "q-chung": "2"}
    missing = client.post(f"/k/{poster.code}", data={**mixed, "sid": sid, "v": "1"})
    assert missing.status_code == 400
    html = missing.get_data(as_text=True)
    assert "bấm Gửi ý kiến một lần nữa" in html
    assert re.search(r'name="q-chung" value="2"[^>]*checked', html)  # every answer kept
    # A token is good for one submission of one placement's form.
    other_sid = "ma-gui-khac-0123456789"
    assert client.post(f"/k/{poster.code}", data={**mixed, "sid": other_sid, "v": "1",
                                                  "csrf_token": token}).status_code == 400
    other = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    assert client.post(f"/k/{other.code}", data={**mixed, "sid": sid, "v": "1",
                                                 "csrf_token": token}).status_code == 400
    forged = token.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
    assert client.post(f"/k/{poster.code}", data={**mixed, "sid": sid, "v": "1",
                                                  "csrf_token": forged}).status_code == 400
    # Without a token nothing reveals whether a code exists: 400, not 404.
    assert client.post("/k/ZZZZZZ", data={**mixed, "sid": sid, "v": "1"}).status_code == 400
    assert count(dep.db, "survey_responses") == 0
    # The form that came back carries a fresh token for the same submission: sending it works.
    again = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(f"/k/{poster.code}", data={**mixed, "sid": sid, "v": "1",
                                                  "csrf_token": again}).status_code == 200
    assert count(dep.db, "survey_responses") == 1


def test_a_page_left_open_too_long_is_offered_again_not_stored(app, dep, poster):
    from ccch_core.web.formtoken import (
        DEFAULT_MAX_AGE,
        FormTokenCheck,
        check_form_token,
        issue_form_token,
    )

    client = app.test_client()
    _, _, sid = open_form(client, f"/k/{poster.code}")
    with app.app_context():
        old = issue_form_token("survey", f"{poster.code}|{sid}", now=time.time() - DEFAULT_MAX_AGE - 60)
        assert check_form_token(old, "survey", f"{poster.code}|{sid}") is FormTokenCheck.EXPIRED
        future = issue_form_token("survey", f"{poster.code}|{sid}", now=time.time() + 3600)
        assert check_form_token(future, "survey", f"{poster.code}|{sid}") is FormTokenCheck.INVALID
    response = client.post(f"/k/{poster.code}", data={**answers("4"), "sid": sid, "v": "1", "csrf_token": old})
    assert response.status_code == 400 and "đã mở quá lâu" in response.get_data(as_text=True)
    assert count(dep.db, "survey_responses") == 0


def test_contact_details_only_with_consent(app, dep, poster):
    client = app.test_client()
    response = submit(client, f"/k/{poster.code}", {**answers(), "lien-he": "dong-y", "ho-ten": "Trần Thị Bình",
                                                     "dien-thoai": "+84 912 345 678"})
    assert response.status_code == 200
    contact = next(dep.db.query("select name, phone, phone_hash from survey_contacts"))
    from ccch_survey.personal_data import contact_phone_hash
    assert contact == {"name": "Trần Thị Bình", "phone": "0912345678",
                       "phone_hash": contact_phone_hash(dep, "0912345678")}  # found by ccch privacy erase
    # Without the consent box nothing personal is stored, and the form says why.
    refused = submit(app.test_client(), f"/k/{poster.code}", {**answers(), "dien-thoai": "0987654321"})
    assert refused.status_code == 422
    assert count(dep.db, "survey_contacts") == 1
    assert "0987654321" not in "".join(str(r) for r in dep.db.query("select * from survey_responses"))


def test_answers_are_checked_against_the_version_the_citizen_saw(app, dep, poster, sipas):
    client = app.test_client()
    _, token, sid = open_form(client, f"/k/{poster.code}")  # version 1 on screen
    edited = loads_definition(sipas.to_toml().replace('key = "chung"', 'key = "chung-2024"'))
    assert save_survey(dep.db, edited) == (2, True)
    response = client.post(f"/k/{poster.code}", data={**answers(), "csrf_token": token, "sid": sid, "v": "1"})
    assert response.status_code == 200
    assert next(dep.db.query("select version from survey_responses"))["version"] == 1


def test_retired_poster_and_closed_survey_show_a_notice(app, dep, poster):
    client = app.test_client()
    set_status(dep.db, "sipas", "closed")
    closed = client.get(f"/k/{poster.code}")
    assert closed.status_code == 410 and "đã đóng" in closed.get_data(as_text=True)
    set_status(dep.db, "sipas", "open")
    retire_placement(dep.db, poster.code)
    gone = client.get(f"/k/{poster.code}")
    assert gone.status_code == 410 and "đã được gỡ" in gone.get_data(as_text=True)
    assert dep.db.execute("select count(*) from survey_daily").fetchone()[0] == 0  # no scan counted


def test_day_of_a_response_is_the_vietnam_day(dep, poster, sipas):
    from ccch_survey.settings import settings_of
    from ccch_survey.store import Entry, Submission, store_submission

    entry = Entry(poster, "open", 1, sipas)
    late_evening_utc = dt.datetime(2024, 3, 31, 17, 30, tzinfo=dt.UTC)  # 00:30 on 1 April in Hà Tĩnh
    store_submission(dep.db, settings_of(dep), Submission(entry, {"chung": ("5",)}, "s" * 20, "d", "c"),
                     now=late_evening_utc)
    assert next(dep.db.query("select day from survey_responses"))["day"] == 20240401


def test_a_full_disk_gives_the_form_back_with_the_answers_and_stores_nothing(app, dep, poster):
    client = app.test_client()
    _, token, sid = open_form(client, f"/k/{poster.code}")
    form = {**answers("4"), "q-chung": "2", "q-gop-y-them": "Cần thêm ghế chờ ệ " * 50,  # ~1.4 KB: an overflow page
            "csrf_token": token, "sid": sid, "v": "1"}
    pages = dep.db.execute("PRAGMA page_count").fetchone()[0]
    dep.db.execute(f"PRAGMA max_page_count = {pages}")  # the database may not grow: a full disk
    response = client.post(f"/k/{poster.code}", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert "chưa lưu được ý kiến" in html and "Cần thêm ghế chờ ệ" in html
    assert re.search(r'name="q-chung" value="2"[^>]*checked', html)
    assert dep.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert count(dep.db, "survey_responses") == 0
    dep.db.execute("PRAGMA max_page_count = 1073741823")  # space again: the same form goes through once
    again = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(f"/k/{poster.code}", data={**form, "csrf_token": again}).headers["X-Survey-Result"] == "stored"
    assert count(dep.db, "survey_responses") == 1


def test_a_lock_held_past_the_busy_timeout_gives_the_form_back(make_deployment, make_app, survey_plan_path, sipas):
    import sqlite3
    import threading

    from ccch_survey.store import save_survey

    dep = make_deployment(plugins=("survey",), plan_path=survey_plan_path, busy_timeout_ms=200)
    save_survey(dep.db, sipas)
    placement = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy")
    client = make_app(dep).test_client()
    _, token, sid = open_form(client, f"/k/{placement.code}")
    ready = threading.Event()

    def hold():  # another program holds the write lock for longer than the busy timeout
        conn = sqlite3.connect(str(dep.config.database_path), timeout=5)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(1.0)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    ready.wait()
    response = client.post(f"/k/{placement.code}", data={**answers("3"), "csrf_token": token, "sid": sid, "v": "1"})
    holder.join()
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "chưa lưu được ý kiến" in html and "Traceback" not in html
    assert re.search(r'name="q-chung" value="3"[^>]*checked', html)
    assert count(dep.db, "survey_responses") == 0
