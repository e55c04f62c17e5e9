"""Survey responses you can trust (issue #17, part 1): each attack of the issue, tried the way an
attacker would, against the real app (Flask's test client, real SQLite).

- forged responses: one address sending a fresh device cookie with each response; a kiosk code
  posted to by anyone;
- scans inflated and codes enumerated: GETs of a poster's link, random codes;
- what a stranger learns from a refusal: throttled answers are the same for every code, enrolment
  refusals the same for every reason;
- flags (address bursts, identical answers, answers faster than a person reads), the index with and
  without them, and the officers' review: bulk exclusion with a reason, audited, out of the official
  index, the measure and the exports.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import time

import pytest
from ccch_survey.results import compute_results
from ccch_survey.store import add_placement, list_kiosk_devices, retally
from ccch_survey_testing import (
    CSRF_RE,
    SID_RE,
    answers,
    count,
    enrol,
    new_enrolment,
    open_form,
    submit,
)

from ccch_core import progress
from ccch_core.periods import Period
from ccch_core.report import DataScope
from ccch_core.testing import csrf_token, login

ATTACKER = {"REMOTE_ADDR": "203.0.113.7"}
QUIET = {"flag_reading_chars_per_second": 0, "flag_identical_answers": 0, "flag_responses_per_address_per_hour": 0}
"""Settings that switch the flags off, for tests of one flag at a time."""


def phone(app, address: dict | None = None):
    """A fresh browser (no cookies) at ``address``: what a script that drops its cookies looks like."""
    client = app.test_client()
    client.environ_base.update(address or {})
    return client


def scans(dep, placement) -> int:
    return dep.db.execute("select coalesce(sum(scans), 0) from survey_daily where placement_id = ?",
                          [placement.id]).fetchone()[0]


def flagged(dep, kind: str | None = None) -> list[int]:
    sql = "select response_id from survey_flags" + (" where kind = ?" if kind else "") + " order by response_id"
    return [r[0] for r in dep.db.execute(sql, [kind] if kind else [])]


def signed_in(app, dep, make_user, role="plan_admin", unit=None):
    username, password = make_user(dep, role, unit_id=unit)
    client = app.test_client()
    assert login(client, username, password).status_code == 302
    return client, username


# -- forged responses ------------------------------------------------------------------------------


def test_rotating_device_cookies_from_one_address_are_flagged_and_excluded_in_bulk(
        survey_deployment, make_app, make_user):
    """The issue's 103 forged responses: one address, a new device cookie each. The once-a-day rule
    cannot see them; the address's hourly count does: past the flag threshold every response is
    flagged, the results show the index without them, and an admin excludes them in one action, with
    a reason, audited — out of the official index, the plan's measure and every export."""
    dep = survey_deployment(flag_responses_per_address_per_hour=5, flag_reading_chars_per_second=0,
                            flag_identical_answers=0)
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    app = make_app(dep)
    for n, score in enumerate("2122"):  # four genuine citizens, each from their own address
        assert submit(phone(app, {"REMOTE_ADDR": f"198.51.100.{n}"}), f"/k/{poster.code}",
                      answers(score)).status_code == 200
    forged = [submit(phone(app, ATTACKER), f"/k/{poster.code}", answers("5")) for _ in range(25)]
    assert [r.status_code for r in forged] == [200] * 25  # within the address limit (120 an hour)
    assert count(dep.db, "survey_responses") == 29
    burst = flagged(dep, "address_burst")
    assert len(burst) == 20  # the 6th to the 25th of the attacker's hour
    detail = dep.db.execute("select detail from survey_flags where response_id = ?", [burst[0]]).fetchone()[0]
    assert "Phiếu thứ 6 gửi từ cùng một địa chỉ mạng" in detail
    month = Period.current()
    official = compute_results(dep.db, dep.plan, "sipas", month)
    clean = compute_results(dep.db, dep.plan, "sipas", month, without_flagged=True)
    assert official.flagged == 20 and official.responses == 29
    assert clean.overall.n == 9 * 12 and clean.overall.satisfied == 5 * 12  # 4 genuine + 5 unflagged forged

    admin, username = signed_in(app, dep, make_user)
    results = admin.get("/khao-sat/sipas").get_data(as_text=True)
    assert "20 phiếu bị đánh dấu đáng ngờ chưa xem xét" in results
    page = admin.get("/khao-sat/sipas/dang-ngo?loai=address_burst")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('name="phan-hoi"') == 20
    assert "Phiếu thứ 25 gửi từ cùng một địa chỉ mạng" in html and "Điểm: 5 5 5" in html
    token = CSRF_RE.search(html).group(1)
    url = "/khao-sat/sipas/dang-ngo/xu-ly?loai=address_burst"
    no_reason = admin.post(url, data={"csrf_token": token, "hanh-dong": "loai", "tat-ca": "1", "ly-do": " "})
    assert no_reason.status_code == 422 and "Vui lòng ghi lý do" in no_reason.get_data(as_text=True)
    assert count(dep.db, "survey_responses", "excluded = 1") == 0
    done = admin.post(url, data={"csrf_token": token, "hanh-dong": "loai", "tat-ca": "1",
                                 "ly-do": "Cùng một địa chỉ mạng gửi 25 phiếu trong 1 giờ"})
    assert done.status_code == 303
    assert count(dep.db, "survey_responses", "excluded = 1") == 20
    assert dep.db.execute("select distinct excluded_reason from survey_responses where excluded = 1").fetchall() == [
        ("Cùng một địa chỉ mạng gửi 25 phiếu trong 1 giờ",)]
    (audit,) = dep.db.execute("select username, action, detail from audit_log where action = 'survey.review_flags'")
    assert audit[0] == username and "loại khỏi kết quả 20 phản hồi" in audit[2] and "25 phiếu trong 1 giờ" in audit[2]
    # Out of the official index (now the 4 genuine and the 5 forged below the threshold) …
    official = compute_results(dep.db, dep.plan, "sipas", month)
    assert (official.responses, official.flagged, official.overall.n) == (9, 0, 9 * 12)
    # … of the plan's measure …
    (result,) = [r for r in progress.evaluate_plan(dep.db, dep.plan, month, measures=dep.measures, deployment=dep)
                 if r.indicator.code == "KS1"]
    unit = next(u for u in result.units if u.unit.id == "xa-an-dung.mot-cua")
    assert (unit.numerator, unit.denominator) == (5 * 12, 9 * 12)
    # … of the data tables and the CSV.
    tables = dep.data_tables
    answered = {r[0] for r in tables["survey_answers"].rows(dep, DataScope(period=month))}
    assert len(answered) == 9 and not answered & set(burst)
    overall = next(r for r in tables["survey_indices"].rows(dep, DataScope(period=month)) if r[1] == "tong-the")
    assert overall[4:6] == (9 * 12, 5 * 12)
    placements = next(tables["survey_placements"].rows(dep, DataScope(period=month)))
    assert placements[9] == 9
    rows = list(csv.reader(io.StringIO(admin.get("/khao-sat/sipas/tai-ve.csv").get_data(as_text=True))))
    assert len(rows) == 1 + 9
    # The incremental tallies agree with a rebuild from the stored answers.
    before = dep.db.execute("select * from survey_tallies order by 1, 2, 3, 4, 5").fetchall()
    retally(dep.db)
    assert dep.db.execute("select * from survey_tallies order by 1, 2, 3, 4, 5").fetchall() == before


def test_a_kiosk_code_takes_answers_only_from_enrolled_tablets(survey_deployment, make_app):
    """The issue's second half: a kiosk code took 150 more from the attacker's address, limited
    only per kiosk. Now anything but an enrolled tablet goes through the public limits: the
    attacker's address, already at its limit from the poster, gets 429 on the kiosk code too, and
    a browser that is not enrolled answers once a day like any phone."""
    dep = survey_deployment(submissions_per_address_per_hour=5, **QUIET)
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    app = make_app(dep)
    assert [submit(phone(app, ATTACKER), f"/k/{poster.code}").status_code for _ in range(6)] == [200] * 5 + [429]
    at_kiosk = [submit(phone(app, ATTACKER), f"/k/{kiosk.code}").status_code for _ in range(3)]
    assert at_kiosk == [429, 429, 429]
    # A browser elsewhere, not enrolled: an ordinary page (no kiosk script), once a day.
    browser = phone(app, {"REMOTE_ADDR": "198.51.100.20"})
    page = browser.get(f"/k/{kiosk.code}").get_data(as_text=True)
    assert "<script" not in page and "thiết bị này chưa được đăng ký" in page
    assert submit(browser, f"/k/{kiosk.code}").status_code == 200
    assert submit(browser, f"/k/{kiosk.code}").status_code == 409
    # The enrolled tablet at the counter: many citizens in a row, the kiosk's own limit only.
    tablet = phone(app, {"REMOTE_ADDR": "198.51.100.30"})
    enrol(tablet, dep, kiosk)
    assert re.search(r"kiosk\.[0-9a-f]{12}\.js", tablet.get(f"/k/{kiosk.code}").get_data(as_text=True))
    assert [submit(tablet, f"/k/{kiosk.code}").status_code for _ in range(8)] == [200] * 8
    channels = dict(dep.db.execute("select channel, count(*) from survey_responses group by channel").fetchall())
    assert channels == {"poster": 5, "kiosk_unenrolled": 1, "kiosk": 8}
    # Its secret is the tablet's only: the same cookie value sent from elsewhere is still the tablet
    # (that is what a secret is), but a made-up one is not.
    forged = phone(app, {"REMOTE_ADDR": "198.51.100.40"})
    forged.set_cookie("ccch_kiosk", secrets.token_urlsafe(32), path=f"/k/{kiosk.code}")
    assert "<script" not in forged.get(f"/k/{kiosk.code}").get_data(as_text=True)


def test_a_revoked_tablet_is_a_phone_again(survey_deployment, make_app, make_user):
    dep = survey_deployment(**QUIET)
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    app = make_app(dep)
    tablet = phone(app)
    enrol(tablet, dep, kiosk, label="Máy quầy 1")
    assert [submit(tablet, f"/k/{kiosk.code}").status_code for _ in range(2)] == [200, 200]
    officer, username = signed_in(app, dep, make_user, "unit_officer", "xa-an-dung")
    page = officer.get(f"/khao-sat/noi-dat/{kiosk.code}/may-tinh-bang").get_data(as_text=True)
    assert "Máy quầy 1" in page and "đang dùng" in page
    (device,) = list_kiosk_devices(dep.db, kiosk.id)
    assert device.last_seen_at is not None and device.enrolled_by == "vhtt"
    revoke = officer.post(f"/khao-sat/noi-dat/{kiosk.code}/may-tinh-bang/{device.id}/thu-hoi",
                          data={"csrf_token": csrf_token(officer, f"/khao-sat/noi-dat/{kiosk.code}/may-tinh-bang")})
    assert revoke.status_code == 303
    assert dep.db.execute("select username, detail from audit_log where action = 'survey.kiosk_revoke'").fetchone() == (
        username, f"thu hồi máy tính bảng “Máy quầy 1” (#{device.id})")
    assert "<script" not in tablet.get(f"/k/{kiosk.code}").get_data(as_text=True)
    assert [submit(tablet, f"/k/{kiosk.code}").status_code for _ in range(2)] == [200, 409]
    # Revoking a tablet of another placement, or a number that fits no row, is a 404.
    for device_id in (device.id + 1, 99999999999999999999):
        assert officer.post(f"/khao-sat/noi-dat/{kiosk.code}/may-tinh-bang/{device_id}/thu-hoi",
                            data={"csrf_token": csrf_token(officer, "/khao-sat/noi-dat")}).status_code == 404


# -- kiosk enrolment ---------------------------------------------------------------------------------


def test_enrolment_from_the_officers_qr_code(survey_deployment, make_app, make_user):
    """The officer's page shows a one-time code as a QR code (a signed link) and as 8 characters;
    the tablet that opens the link and confirms receives its device secret: HttpOnly, Secure (https),
    long-lived, sent only to its placement's path, and stored on the server only as a keyed hash."""
    dep = survey_deployment(**QUIET)
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    app = make_app(dep)
    admin, username = signed_in(app, dep, make_user)
    page_url = f"/khao-sat/noi-dat/{kiosk.code}/may-tinh-bang"
    created = admin.post(page_url, data={"csrf_token": csrf_token(admin, page_url), "ten": "Máy\x00 quầy\n 1 "})
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    assert 'src="data:image/svg+xml;base64,' in html and "Máy quầy 1" in html
    typed = re.search(r"Mã gõ tay: <code>([2-9A-Z]{4}-[2-9A-Z]{4})</code>", html).group(1)
    link = re.search(r"<code>(https://cchc\.example\.gov\.vn/k/[^<]+/dang-ky\?ma=[^<]+)</code>", html)
    assert link is None  # the link itself is only in the QR code (and in the tablet's address bar)
    assert dep.db.execute("select count(*) from audit_log where action = 'survey.kiosk_code'").fetchone()[0] == 1
    # Shown once: reloading the page shows that a code waits, never the code.
    again = admin.get(page_url).get_data(as_text=True)
    assert typed not in again and "chưa dùng, còn hiệu lực" in again
    # The QR code's link, as the tablet's camera opens it (rebuilt here from the code and a signature).
    from ccch_survey.review import ENROL_LINK_PURPOSE

    from ccch_core.web.formtoken import issue_form_token
    with app.test_request_context():
        code = typed.replace("-", "")
        signed = issue_form_token(ENROL_LINK_PURPOSE, f"{kiosk.code}|{code}")
    tablet = phone(app)
    confirm = tablet.get(f"/k/{kiosk.code}/dang-ky?ma={code}&ky={signed}").get_data(as_text=True)
    assert f'value="{typed}"' in confirm and f'name="ky" value="{signed}"' in confirm  # nothing happens on GET
    assert count(dep.db, "survey_kiosk_devices") == 0
    done = tablet.post(f"/k/{kiosk.code}/dang-ky", data={"csrf_token": CSRF_RE.search(confirm).group(1),
                                                          "ma": typed, "ky": signed})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/k/{kiosk.code}")
    cookie = next(v for k, v in done.headers.items() if k == "Set-Cookie" and v.startswith("ccch_kiosk="))
    secret = cookie.split(";")[0].split("=", 1)[1]
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path", "max-age", "samesite"} <= set(attributes)
    assert attributes["path"] == f"Path=/k/{kiosk.code}" and attributes["max-age"] == f"Max-Age={400 * 86400}"
    stored = " ".join(str(v) for row in dep.db.execute("select * from survey_kiosk_devices") for v in row)
    assert secret not in stored and code not in " ".join(
        str(v) for row in dep.db.execute("select * from survey_kiosk_enrolments") for v in row)
    (device,) = list_kiosk_devices(dep.db, kiosk.id)
    assert (device.label, device.enrolled_by) == ("Máy quầy 1", username)
    assert re.search(r"kiosk\.[0-9a-f]{12}\.js", tablet.get(f"/k/{kiosk.code}").get_data(as_text=True))
    # The list on the officer's page: when, by whose code, last seen.
    listed = admin.get(page_url).get_data(as_text=True)
    assert "Máy quầy 1" in listed and username in listed and "đang dùng" in listed


def test_every_refused_enrolment_reads_the_same(survey_deployment, make_app):
    """Wrong, used, expired, another kiosk's code, a tampered QR signature: one answer, one status
    — a stranger cannot tell which; and guessing costs like looking up unknown codes."""
    dep = survey_deployment(**QUIET)
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    other = add_placement(dep.db, dep.plan, "sipas", "xa-yen-ho.mot-cua", "Máy tính bảng", mode="kiosk")
    app = make_app(dep)
    used = new_enrolment(dep, kiosk)

    def enrol_with(client, code):
        page = client.get(f"/k/{kiosk.code}/dang-ky").get_data(as_text=True)
        return client.post(f"/k/{kiosk.code}/dang-ky", data={"csrf_token": CSRF_RE.search(page).group(1), "ma": code})

    assert enrol_with(phone(app), used).status_code == 303
    expired = new_enrolment(dep, kiosk)
    dep.db.execute("update survey_kiosk_enrolments set expires_at = '2000-01-01T00:00:00+00:00' where used_at is null")
    dep.db.conn.commit()
    replaced = new_enrolment(dep, kiosk)
    new_enrolment(dep, kiosk)  # a newer code: the one before stops working
    others = new_enrolment(dep, other)
    answers_ = {}
    for name, code in {"wrong": "ABCD2345", "used": used, "expired": expired, "replaced": replaced,
                       "another kiosk's": others, "malformed": "0" * 300}.items():
        response = enrol_with(phone(app, {"REMOTE_ADDR": f"198.51.100.{len(answers_) + 1}"}), code)
        body = re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True))
        answers_[name] = (response.status_code, body)
    assert len(set(answers_.values())) == 1, {k: v[0] for k, v in answers_.items()}
    assert next(iter(answers_.values()))[0] == 422 and count(dep.db, "survey_kiosk_devices") == 1
    # A QR link whose signature was tampered with, or that is too old, is refused the same way.
    tablet = phone(app)
    for link in (f"?ma={replaced}&ky=1.AAAAAAAAAAAAAAAAAAAAAA", f"?ma={replaced}&ky=garbage", "?ma=zz"):
        html = tablet.get(f"/k/{kiosk.code}/dang-ky{link}").get_data(as_text=True)
        assert "Mã đăng ký không đúng, đã dùng hoặc đã hết hạn" in html and 'name="ky"' not in html
    # Guessing: a wrong code counts like a look-up of an unknown code (30 an hour per address); then
    # every answer is the throttled page, for the enrolment page and the kiosk alike.
    guesser = phone(app, ATTACKER)
    refused = 0
    for _ in range(100):
        page = guesser.get(f"/k/{kiosk.code}/dang-ky")
        if page.status_code == 429:
            break
        token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
        tried = guesser.post(f"/k/{kiosk.code}/dang-ky", data={"csrf_token": token, "ma": secrets.choice("23456789") * 8})
        if tried.status_code == 429:
            break
        assert tried.status_code == 422
        refused += 1
    assert refused == 30  # 30 guesses an hour from one address, out of 31^8 codes that live 15 minutes
    assert guesser.get(f"/k/{kiosk.code}/dang-ky").status_code == 429
    assert guesser.get(f"/k/{kiosk.code}").status_code == 429


def test_a_poster_or_unknown_code_cannot_be_enrolled(app, dep, poster):
    tablet = app.test_client()
    assert tablet.get(f"/k/{poster.code}/dang-ky").status_code == 404
    assert tablet.get("/k/ZZZZZZ/dang-ky").status_code == 404


# -- scans and enumeration ----------------------------------------------------------------------------


@pytest.mark.parametrize("returning", [True, False], ids=["upsert-returning", "upsert-then-select"])
def test_a_scan_counts_once_per_device_per_day(app, dep, poster, monkeypatch, returning):
    """The issue: 200 GETs added 200 to a poster's scans. Now one phone counts once a day, and a
    script that drops its cookies adds at most ``scan_devices_per_address_per_day`` (20) a day."""
    from ccch_survey import store

    monkeypatch.setattr(store, "_RETURNING", returning)  # SQLite before 3.35 has no RETURNING
    same_phone = phone(app)
    for _ in range(200):
        assert same_phone.get(f"/k/{poster.code}").status_code == 200
    assert scans(dep, poster) == 1
    for _ in range(200 - 1):  # cookies dropped each time (and the page still served to each)
        assert phone(app).get(f"/k/{poster.code}").status_code in (200, 429)
    assert scans(dep, poster) == 20
    # Other addresses (other phones) still count; HEAD (link previews) counts nothing.
    for n in range(3):
        phone(app, {"REMOTE_ADDR": f"198.51.100.{n}"}).get(f"/k/{poster.code}")
    phone(app, {"REMOTE_ADDR": "198.51.100.99"}).head(f"/k/{poster.code}")
    assert scans(dep, poster) == 23
    # Made-up cookies are new devices for the once-a-day rule, but still count towards the address's 20.
    forger = phone(app, {"REMOTE_ADDR": "198.51.100.0"})
    for _ in range(40):
        forger.set_cookie("ccch_tb", secrets.token_urlsafe(18))
        forger.get(f"/k/{poster.code}")
    assert scans(dep, poster) == 23 + 19
    # The phone's cookie carries a signed mark of the scan counted: a mark made up is worth nothing.
    from ccch_survey.store import local_day

    from ccch_core.periods import utc_now
    marker = phone(app, {"REMOTE_ADDR": "198.51.100.77"})
    marker.set_cookie("ccch_tb", f"{secrets.token_urlsafe(18)}.{poster.id}-{local_day(utc_now())}-{'0' * 12}")
    marker.get(f"/k/{poster.code}")
    assert scans(dep, poster) == 23 + 19 + 1
    cookie = marker.get_cookie("ccch_tb").value
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}\.[0-9a-z]+-[0-9]{8}-[0-9a-f]{12}", cookie)
    marker.get(f"/k/{poster.code}")  # the genuine mark: not counted again
    assert scans(dep, poster) == 23 + 19 + 1


def test_code_lookups_are_limited_per_address(app, dep, poster):
    """The issue: 1,500 random /k/<code> lookups in 1.8 s, no limit. An address may look up 30
    codes that do not exist an hour; then every look-up from it gets 429, known codes included."""
    from ccch_survey.store import CODE_ALPHABET

    attacker = phone(app, ATTACKER)
    found = []
    for _ in range(100):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        found.append(attacker.get(f"/k/{code}").status_code)
    assert found == [404] * 30 + [429] * 70
    # A citizen elsewhere is not affected; a known code from the attacker's address is throttled too.
    assert phone(app).get(f"/k/{poster.code}").status_code == 200
    assert attacker.get(f"/k/{poster.code}").status_code == 429
    # Known codes alone are page views, not guesses: never throttled (scans are capped instead).
    reader = phone(app, {"REMOTE_ADDR": "198.51.100.50"})
    assert {reader.get(f"/k/{poster.code}").status_code for _ in range(300)} == {200}


def test_a_throttled_answer_is_the_same_for_every_code(survey_deployment, make_app):
    """Over the limit, a known code, an unknown code, a malformed one, a thank-you page, a form
    token and an enrolment page all get the same 429 (body and headers but the date); a form posted
    without a valid token gets the same 400 whatever the code."""
    dep = survey_deployment(unknown_codes_per_address_per_hour=3, **QUIET)
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng", mode="kiosk")
    app = make_app(dep)
    client = phone(app, ATTACKER)
    assert client.get(f"/k/{poster.code}").status_code == 200
    codes = ("ZZZZZZ", "YYYYYY", "XXXXXX", "WWWWWW")
    assert [client.get(f"/k/{code}").status_code for code in codes] == [404, 404, 404, 429]
    paths = [f"/k/{poster.code}", "/k/ZZZZZZ", "/k/not-a-code", f"/k/{poster.code}/cam-on", "/k/ZZZZZZ/cam-on",
             f"/k/{poster.code}/ma-bao-ve?sid=ma-gui-cua-kiosk-01", f"/k/{kiosk.code}/dang-ky", "/k/ZZZZZZ/dang-ky",
             f"/k/{kiosk.code}"]
    seen = set()
    for path in paths:
        response = client.get(path)
        assert int(response.headers["Retry-After"]) > 0  # moves with the clock, not with the code
        headers = tuple(sorted((k, v) for k, v in response.headers.items() if k not in ("Date", "Retry-After", "X-Request-ID")))
        seen.add((response.status_code, headers, response.get_data()))
    assert len(seen) == 1 and next(iter(seen))[0] == 429
    posted = set()
    form = {**answers(), "sid": "ma-gui-cua-ke-tan-cong", "v": "1", "csrf_token": "1.AAAAAAAAAAAAAAAAAAAAAA"}
    for code in (poster.code, "ZZZZZZ", kiosk.code):
        response = client.post(f"/k/{code}", data=form)
        posted.add((response.status_code, response.get_data()))
    assert len(posted) == 1 and next(iter(posted))[0] == 400
    # The honeypot's "thank you" is no oracle either once throttled.
    assert client.post(f"/k/{poster.code}", data={**form, "website": "x"}).status_code == 400


def test_a_valid_form_is_stored_even_from_a_throttled_address(survey_deployment, make_app):
    """The look-up limit slows strangers, not citizens who have their form: a submission with a
    valid form token is not a look-up (it has its own limits)."""
    dep = survey_deployment(unknown_codes_per_address_per_hour=2, **QUIET)
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    client = phone(make_app(dep), ATTACKER)
    _, token, sid = open_form(client, f"/k/{poster.code}")
    assert [client.get(f"/k/{code}").status_code for code in ("ZZZZZZ", "YYYYYY", "XXXXXX")] == [404, 404, 429]
    assert client.get(f"/k/{poster.code}").status_code == 429
    stored = client.post(f"/k/{poster.code}", data={**answers(), "csrf_token": token, "sid": sid, "v": "1"})
    assert stored.status_code == 200 and count(dep.db, "survey_responses") == 1


# -- flags ---------------------------------------------------------------------------------------------


def test_identical_answer_sets_at_one_placement_are_flagged(survey_deployment, make_app):
    dep = survey_deployment(flag_reading_chars_per_second=0, flag_responses_per_address_per_hour=0)
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    elsewhere = add_placement(dep.db, dep.plan, "sipas", "xa-yen-ho.mot-cua", "Quầy tiếp nhận hồ sơ")
    app = make_app(dep)
    same = {**answers("4"), "q-gop-y-them": "Tốt"}
    for n in range(5):
        submit(phone(app, {"REMOTE_ADDR": f"198.51.100.{n}"}), f"/k/{poster.code}", same)
    submit(phone(app, {"REMOTE_ADDR": "198.51.100.9"}), f"/k/{poster.code}", {**same, "q-gop-y-them": "Khá"})
    submit(phone(app, {"REMOTE_ADDR": "198.51.100.10"}), f"/k/{elsewhere.code}", same)
    assert flagged(dep, "identical_answers") == [4, 5]  # the 4th and 5th at that poster
    detail = dep.db.execute("select detail from survey_flags where response_id = 5").fetchone()[0]
    assert detail.startswith("Trong 10 phút trước phiếu này") and "ít nhất 3 phiếu có câu trả lời giống hệt" in detail
    # Answers older than the window do not count: the same set again after 10 minutes is not flagged.
    dep.db.execute("update survey_responses set submitted_at = '2000-01-01T00:00:00+00:00'")
    dep.db.conn.commit()
    submit(phone(app, {"REMOTE_ADDR": "198.51.100.11"}), f"/k/{poster.code}", same)
    assert flagged(dep, "identical_answers") == [4, 5]


def test_answers_faster_than_anyone_reads_are_flagged(survey_deployment, make_app):
    """Reading time is estimated from the prompts of the questions answered (40 characters a
    second): an enrolled tablet's answers sent a second after its form was handed out are flagged;
    a form opened long enough before, a correction sent back quickly (it keeps the time the form
    was first opened), and answers a tablet kept offline and sends again are not."""
    from ccch_survey.store import reading_seconds

    from ccch_core.web.formtoken import issue_form_token

    dep = survey_deployment(flag_identical_answers=0, flag_responses_per_address_per_hour=0)
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    app = make_app(dep)
    from ccch_survey.store import get_version
    needed = reading_seconds(get_version(dep.db, "sipas"), [k.removeprefix("q-") for k in answers()], 40)
    assert 15 <= needed <= 30, needed
    tablet = phone(app)
    enrol(tablet, dep, kiosk)
    # Tapping through: the form token the kiosk fetched for this citizen is a second old.
    sid = "ma-gui-nhanh-0123456789"
    token = tablet.get(f"/k/{kiosk.code}/ma-bao-ve?sid={sid}").get_data(as_text=True)
    assert tablet.post(f"/k/{kiosk.code}", data={**answers(), "csrf_token": token, "sid": sid, "v": "1"}).status_code == 200
    assert flagged(dep, "too_fast") == [1]
    detail = dep.db.execute("select detail from survey_flags where response_id = 1").fetchone()[0]
    assert f"cũng cần khoảng {needed} giây" in detail
    # A citizen who took their time.
    with app.test_request_context():
        sid = "ma-gui-cham-0123456789"
        old = issue_form_token("survey", f"{kiosk.code}|{sid}", now=time.time() - needed - 5)
    assert tablet.post(f"/k/{kiosk.code}", data={**answers(), "csrf_token": old, "sid": sid, "v": "1"}).status_code == 200
    # A correction sent back at once keeps the form's first time.
    sid = "ma-gui-sua-lai-0123456789"
    with app.test_request_context():
        first = issue_form_token("survey", f"{kiosk.code}|{sid}", now=time.time() - needed - 5)
    back = tablet.post(f"/k/{kiosk.code}", data={**answers(), "q-chung": "", "csrf_token": first, "sid": sid, "v": "1"})
    assert back.status_code == 422
    again = CSRF_RE.search(back.get_data(as_text=True)).group(1)
    assert again.split(".")[0] == first.split(".")[0]
    assert tablet.post(f"/k/{kiosk.code}", data={**answers(), "csrf_token": again, "sid": sid, "v": "1"}).status_code == 200
    # Kept offline, sent again now: the tablet asks for a token "for answers given earlier".
    sid = "ma-gui-luu-tren-may-01234"
    kept = tablet.get(f"/k/{kiosk.code}/ma-bao-ve?sid={sid}&gui-lai=1").get_data(as_text=True)
    assert tablet.post(f"/k/{kiosk.code}", data={**answers(), "csrf_token": kept, "sid": sid, "v": "1"}).status_code == 200
    assert flagged(dep, "too_fast") == [1]
    # Only an enrolled tablet gets such a token: a script asking for one is still "too fast".
    script = phone(app, ATTACKER)
    html = script.get(f"/k/{poster.code}").get_data(as_text=True)
    sid = SID_RE.search(html).group(1)
    quick = script.get(f"/k/{poster.code}/ma-bao-ve?sid={sid}&gui-lai=1").get_data(as_text=True)
    assert script.post(f"/k/{poster.code}", data={**answers(), "csrf_token": quick, "sid": sid, "v": "1"}).status_code == 200
    assert flagged(dep, "too_fast") == [1, 5]


def test_unit_officers_review_but_only_admins_exclude(survey_deployment, make_app, make_user):
    """A unit officer sees the flags of their units; deciding which answers about their own unit
    count is for the plan's admins."""
    dep = survey_deployment(flag_identical_answers=1, flag_reading_chars_per_second=0,
                            flag_responses_per_address_per_hour=0)
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    app = make_app(dep)
    for n in range(3):
        submit(phone(app, {"REMOTE_ADDR": f"198.51.100.{n}"}), f"/k/{poster.code}", answers("1"))
    assert flagged(dep) == [2, 3]
    officer, _ = signed_in(app, dep, make_user, "unit_officer", "xa-an-dung")
    page = officer.get("/khao-sat/sipas/dang-ngo")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="r-3"' in html and 'name="phan-hoi"' not in html
    refused = officer.post("/khao-sat/sipas/dang-ngo/xu-ly", data={
        "csrf_token": csrf_token(officer, "/khao-sat/sipas/dang-ngo"), "hanh-dong": "loai", "phan-hoi": "3",
        "ly-do": "Không thích"})
    assert refused.status_code == 403 and count(dep.db, "survey_responses", "excluded = 1") == 0
    other, _ = signed_in(app, dep, make_user, "unit_officer", "xa-yen-ho")
    assert 'id="r-3"' not in other.get("/khao-sat/sipas/dang-ngo").get_data(as_text=True)
    # An admin keeps one after review (no longer flagged: back in the index without flags).
    admin, _ = signed_in(app, dep, make_user)
    token = csrf_token(admin, "/khao-sat/sipas/dang-ngo")
    assert admin.post("/khao-sat/sipas/dang-ngo/xu-ly", data={
        "csrf_token": token, "hanh-dong": "giu", "phan-hoi": ["2"]}).status_code == 303
    month = Period.current()
    clean = compute_results(dep.db, dep.plan, "sipas", month, without_flagged=True)
    assert clean.overall.n == 2 * 12 and compute_results(dep.db, dep.plan, "sipas", month).flagged == 1
    assert "đã xem xét, giữ lại" in admin.get("/khao-sat/sipas/dang-ngo?trang-thai=da-xem").get_data(as_text=True)


@pytest.mark.parametrize("form", [
    {"hanh-dong": "xoa-het"},
    {"hanh-dong": "loai", "ly-do": "Rác", "phan-hoi": "1 OR 1=1"},
    {"hanh-dong": "loai", "ly-do": "Rác", "phan-hoi": "99999999999999999999999"},
    {"hanh-dong": "loai", "ly-do": "Rác", "phan-hoi": [str(i) for i in range(5001)]},
], ids=["unknown action", "not a number", "too many digits", "too many"])
def test_review_refuses_bad_input_without_a_500(app, dep, make_user, form):
    admin, _ = signed_in(app, dep, make_user)
    response = admin.post("/khao-sat/sipas/dang-ngo/xu-ly",
                          data={"csrf_token": csrf_token(admin, "/khao-sat/sipas/dang-ngo"), **form})
    assert response.status_code == 400


def test_review_pages_take_odd_filters_without_a_500(app, dep, make_user):
    admin, _ = signed_in(app, dep, make_user)
    for query in ("trang=9223372036854775807", "trang=-1", "trang=²", "loai=x", "trang-thai=x", "ky=" + "9" * 5000):
        assert admin.get(f"/khao-sat/sipas/dang-ngo?{query}").status_code in (200, 400)
    reason = admin.post("/khao-sat/sipas/dang-ngo/xu-ly", data={
        "csrf_token": csrf_token(admin, "/khao-sat/sipas/dang-ngo"), "hanh-dong": "loai", "phan-hoi": "1",
        "ly-do": "x" * 501})
    assert reason.status_code == 422 and "500 ký tự" in reason.get_data(as_text=True)


def test_flagged_responses_are_named_in_the_csv_and_the_report(survey_deployment, make_app, make_user):
    """Until they are reviewed, flagged responses are in the official figures: the officers' CSV
    says which are flagged, and the periodic report says how many and the index without them."""
    from ccch_core.report import build_report

    dep = survey_deployment(flag_identical_answers=1, flag_reading_chars_per_second=0,
                            flag_responses_per_address_per_hour=0)
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    app = make_app(dep)
    submit(phone(app, {"REMOTE_ADDR": "198.51.100.1"}), f"/k/{poster.code}", answers("1"))
    for n in range(2, 5):
        submit(phone(app, {"REMOTE_ADDR": f"198.51.100.{n}"}), f"/k/{poster.code}", answers("5"))
    assert flagged(dep) == [3, 4]
    admin, _ = signed_in(app, dep, make_user)
    rows = list(csv.reader(io.StringIO(admin.get("/khao-sat/sipas/tai-ve.csv").get_data(as_text=True))))
    column = rows[0].index("Đáng ngờ")
    same = "Trùng hệt câu trả lời của nhiều phiếu khác"
    assert [r[column] for r in rows[1:]] == ["", "", same, same]
    (section,) = [s for s in build_report(dep, Period.current()).sections if s.key == "khao_sat"]
    text = " ".join(b.text for b in section.blocks if hasattr(b, "text"))
    assert "Trong đó 2 phiếu bị hệ thống đánh dấu đáng ngờ" in text
    assert "không tính các phiếu này, chỉ số hài lòng chung là 50%" in text


def test_a_tablet_sending_more_than_a_desk_serves_is_flagged(survey_deployment, make_app, make_user):
    """An enrolled tablet is exempt from the address limits (a desk's Wi-Fi), so someone tapping
    answers on it was seen only by the reading-time flag. Its own hourly count now flags it: past
    the threshold each further response is flagged, with the count, and reviewable like the others."""
    dep = survey_deployment(flag_kiosk_responses_per_hour=5, **QUIET)
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    other = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 2", mode="kiosk")
    app = make_app(dep)
    tablet = phone(app, {"REMOTE_ADDR": "198.51.100.30"})
    enrol(tablet, dep, kiosk)
    second = phone(app, {"REMOTE_ADDR": "198.51.100.30"})  # the same office Wi-Fi, another desk
    enrol(second, dep, other, label="Máy tính bảng quầy 2")
    assert [submit(tablet, f"/k/{kiosk.code}").status_code for _ in range(8)] == [200] * 8
    assert [submit(second, f"/k/{other.code}").status_code for _ in range(3)] == [200] * 3
    burst = flagged(dep, "kiosk_burst")
    assert len(burst) == 3 and flagged(dep) == burst  # the 6th to the 8th of the first tablet only
    detail = dep.db.execute("select detail from survey_flags where response_id = ?", [burst[0]]).fetchone()[0]
    assert "Phiếu thứ 6 từ cùng một máy tính bảng" in detail
    admin, _ = signed_in(app, dep, make_user)
    page = admin.get("/khao-sat/sipas/dang-ngo?loai=kiosk_burst").get_data(as_text=True)
    assert page.count('name="phan-hoi"') == 3 and "Nhiều phiếu liên tiếp từ một máy tính bảng tại quầy" in page
    # The answers' data table (exports, the export page) says which responses are flagged, and why.
    by_response = {r[0]: r[-1] for r in dep.data_tables["survey_answers"].rows(dep, DataScope())}
    assert {by_response[rid] for rid in burst} == {"Nhiều phiếu liên tiếp từ một máy tính bảng tại quầy"}
    assert {v for rid, v in by_response.items() if rid not in burst} == {None}


def test_the_tablet_flag_can_be_switched_off(survey_deployment, make_app):
    dep = survey_deployment(flag_kiosk_responses_per_hour=0, **QUIET)
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    app = make_app(dep)
    tablet = phone(app)
    enrol(tablet, dep, kiosk)
    assert [submit(tablet, f"/k/{kiosk.code}").status_code for _ in range(40)] == [200] * 40
    assert flagged(dep) == []


def test_kiosk_tablets_from_the_command_line(survey_deployment, make_app, make_user):
    """IT staff enrol, list and revoke a counter's tablets without the web page: the code printed
    once enrols a tablet through the real enrolment page; a revoked tablet is a phone again. The
    officers' page names who did it in words ("Lệnh trên máy chủ"), not as ``cli:<user>``."""
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    dep = survey_deployment(**QUIET)
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    runner = CliRunner()
    cli = make_cli(dep.config.path)
    assert "chưa có máy tính bảng nào" in runner.invoke(cli, ["survey", "kiosk", "list", kiosk.code]).output
    refused = runner.invoke(cli, ["survey", "kiosk", "enrol", poster.code])
    assert refused.exit_code != 0 and "không phải máy tính bảng" in refused.output
    made = runner.invoke(cli, ["survey", "kiosk", "enrol", kiosk.code, "--label", "Máy quầy 2"])
    assert made.exit_code == 0, made.output
    code = re.search(r"type the code ([A-Z0-9]{4}-[A-Z0-9]{4})", made.output).group(1)
    assert f"/k/{kiosk.code}/dang-ky" in made.output
    app = make_app(dep)
    tablet = phone(app)
    page = tablet.get(f"/k/{kiosk.code}/dang-ky")
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    assert tablet.post(f"/k/{kiosk.code}/dang-ky", data={"csrf_token": token, "ma": code}).status_code == 303
    listed = runner.invoke(cli, ["survey", "kiosk", "list", kiosk.code]).output
    assert "Máy quầy 2" in listed and "đang dùng" in listed
    (device,) = list_kiosk_devices(dep.db, kiosk.id)
    assert runner.invoke(cli, ["survey", "kiosk", "revoke", kiosk.code, str(device.id)]).exit_code == 0
    again = runner.invoke(cli, ["survey", "kiosk", "revoke", kiosk.code, str(device.id)])
    assert again.exit_code != 0 and "đã được thu hồi" in again.output
    wrong = runner.invoke(cli, ["survey", "kiosk", "revoke", poster.code, str(device.id)])
    assert wrong.exit_code != 0 and "không phải máy tính bảng của nơi đặt" in wrong.output
    assert runner.invoke(cli, ["survey", "kiosk", "revoke", kiosk.code, "0"]).exit_code == 2  # range-checked
    assert "<script" not in tablet.get(f"/k/{kiosk.code}").get_data(as_text=True)  # a phone again
    officer, _ = signed_in(app, dep, make_user)
    page = officer.get(f"/khao-sat/noi-dat/{kiosk.code}/may-tinh-bang").get_data(as_text=True)
    row = page[page.index(f'id="may-{device.id}"'):]
    row = row[:row.index("</tr>")]
    assert row.count("Lệnh trên máy chủ") == 2 and "cli:" not in row, row  # enrolled by, revoked by
    assert f"<h1>Máy tính bảng · {kiosk.place}</h1>" in page  # the place in words; its code only beside
    actions = [r[0] for r in dep.db.execute("select action from audit_log where action like 'survey.kiosk%'")]
    assert actions == ["survey.kiosk_code", "survey.kiosk_enrol", "survey.kiosk_revoke"]  # the tablet's own, between
