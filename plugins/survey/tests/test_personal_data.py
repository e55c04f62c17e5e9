"""Contact details citizens left with their answers: erasure on request through the core's hook
(found by the keyed hash of the number), the retention purge, and the audit log of the officers'
survey actions."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from ccch_survey.personal_data import PURPOSE, contact_phone_hash, find_contacts
from ccch_survey.settings import SettingsError, parse_settings
from ccch_survey.store import (
    Contact,
    Entry,
    Submission,
    add_placement,
    get_version,
    store_submission,
)
from ccch_survey_testing import answers

from ccch_core import audit, privacy
from ccch_core.testing import csrf_token, login

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)
PHONE, OTHER = "0912345678", "0987654321"


def respond(dep, placement, contact=None, *, when=NOW):
    """Store one response (every question answered 5) with optional contact details."""
    entry = Entry(placement, "open", 1, get_version(dep.db, placement.survey_id, 1))
    values = {key.removeprefix("q-"): (value,) for key, value in answers().items()}
    from ccch_survey.settings import SurveySettings

    result = store_submission(dep.db, SurveySettings(responses_per_device_per_day=0, submissions_per_address_per_hour=0),
                              Submission(entry, values, secrets.token_urlsafe(18), None, "test", contact), now=when)
    return result.response_id


def snapshot(dep):
    return [dep.db.execute(f"select * from {table} order by 1").fetchall()
            for table in ("survey_contacts", "survey_responses", "survey_answers", "survey_tallies", "audit_log")]


def anonymous_figures(dep):
    return [dep.db.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("survey_responses", "survey_answers")] + [
        dep.db.execute("select sum(n) from survey_tallies").fetchone()[0]]


@pytest.fixture
def contacts(dep, poster):
    """Two responses from PHONE (one with a name), one from OTHER, one anonymous."""
    return {
        "mine": [respond(dep, poster, Contact("Trần Thị Bình", PHONE)), respond(dep, poster, Contact(None, PHONE))],
        "other": respond(dep, poster, Contact("Lê Văn Cường", OTHER)),
        "anonymous": respond(dep, poster),
    }


def test_contacts_are_found_by_the_keyed_hash(dep, contacts):
    assert dep.db.execute("select count(*) from survey_contacts where phone_hash is not null").fetchone()[0] == 0
    found = find_contacts(dep, "0912345678")
    assert [c["response_id"] for c in found] == sorted(contacts["mine"], reverse=True)
    # The lookup stored the hashes (keyed with the deployment's secret and the survey's purpose).
    stored = dict(dep.db.execute("select response_id, phone_hash from survey_contacts"))
    assert stored[contacts["other"]] == contact_phone_hash(dep, OTHER) == privacy.keyed_hash(dep.secret_key, PURPOSE,
                                                                                             OTHER)
    assert stored[contacts["other"]] != privacy.keyed_hash(dep.secret_key, "contest-phone", OTHER)


def test_erase_removes_the_persons_contacts_and_keeps_the_answers(dep, contacts):
    figures = anonymous_figures(dep)
    results = privacy.erase_person(dep, phone="+84 912 345 678", actor="vhtt")
    lines = [i.what for r in results if r.plugin == "survey" for i in r.items]
    assert len(lines) == 2
    assert f"phản hồi #{contacts['mine'][1]}" in lines[0] and "số điện thoại 0912***678" in lines[0]
    assert "họ tên" in lines[1] and "câu trả lời được giữ lại ẩn danh" in lines[1]
    assert [r[0] for r in dep.db.execute("select response_id from survey_contacts")] == [contacts["other"]]
    assert anonymous_figures(dep) == figures  # responses, answers and tallies untouched
    rows = audit.entries(dep.db, username="vhtt")
    assert [r.action for r in rows] == ["privacy.erase", "survey.forget_contact", "survey.forget_contact"]
    assert rows[0].target == "SĐT 0912***678" and "survey: Thông tin liên hệ" in rows[0].detail
    assert PHONE not in str(dep.db.execute("select * from audit_log").fetchall())


def test_dry_run_changes_nothing(dep, contacts):
    before = snapshot(dep)
    results = privacy.erase_person(dep, phone=PHONE, dry_run=True)
    assert sum(r.count for r in results) == 2
    assert snapshot(dep) == before  # not even the hashes are stored


def test_unknown_number_and_citizen_id_find_nothing(dep, contacts):
    assert all(not r.items for r in privacy.erase_person(dep, phone="0901234567", dry_run=True))
    assert all(not r.items for r in privacy.erase_person(dep, citizen_id="042175001234", dry_run=True))
    with pytest.raises(privacy.PersonalDataError):
        privacy.erase_person(dep, phone="12345")
    with pytest.raises(privacy.PersonalDataError):
        privacy.erase_person(dep)


def test_purge_erases_contacts_past_their_retention_only(dep, poster):
    old = respond(dep, poster, Contact("Người Cũ", PHONE), when=NOW - dt.timedelta(days=400))
    new = respond(dep, poster, Contact("Người Mới", OTHER), when=NOW - dt.timedelta(days=10))
    figures = anonymous_figures(dep)
    before = snapshot(dep)
    dry = privacy.purge_expired(dep, now=NOW, dry_run=True)
    assert [(r.plugin, r.count) for r in dry if r.items] == [("survey", 1)] and snapshot(dep) == before
    done = privacy.purge_expired(dep, now=NOW, actor="cli:dem")
    assert "1 thông tin liên hệ người dân để lại khi trả lời khảo sát: quá 365 ngày" in done[-1].items[0].what
    assert [r[0] for r in dep.db.execute("select response_id from survey_contacts")] == [new]
    assert old in [r[0] for r in dep.db.execute("select id from survey_responses")]
    assert anonymous_figures(dep) == figures
    assert [r.action for r in audit.entries(dep.db, username="cli:dem")] == ["privacy.purge", "survey.purge_contacts"]
    # The purge hashed the remaining numbers, so lookups need not.
    assert dep.db.execute("select phone_hash from survey_contacts").fetchone()[0] == contact_phone_hash(dep, OTHER)


def test_retention_is_a_setting(survey_deployment, sipas):
    dep = survey_deployment(contact_retention_days=30)
    poster = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy")
    respond(dep, poster, Contact(None, PHONE), when=NOW - dt.timedelta(days=31))
    assert sum(r.count for r in privacy.purge_expired(dep, now=NOW)) == 1
    assert parse_settings({}).contact_retention_days == 365
    with pytest.raises(SettingsError, match="contact_retention_days: must be a whole number 1–3650"):
        parse_settings({"contact_retention_days": 0})


def test_officer_actions_are_in_the_audit_log(dep, poster, app, make_user):
    response_id = respond(dep, poster, Contact("Trần Thị Bình", PHONE))
    client = app.test_client()
    username, password = make_user(dep, "plan_admin")
    assert login(client, username, password).status_code == 302
    token = csrf_token(client, "/khao-sat/noi-dat")
    assert client.post("/khao-sat/sipas/trang-thai", data={"csrf_token": token, "trang_thai": "closed"}).status_code == 303
    created = client.post("/khao-sat/noi-dat", data={"csrf_token": token, "survey_id": "sipas",
                                                      "unit_id": "xa-yen-ho", "place": "Nhà văn hóa", "mode": "poster"})
    assert created.status_code == 303
    assert client.post(f"/khao-sat/noi-dat/{poster.code}/go", data={"csrf_token": token}).status_code == 303
    assert client.post(f"/khao-sat/phan-hoi/{response_id}/loai", data={"csrf_token": token}).status_code == 303
    assert client.post("/khao-sat/sipas/lien-he/xoa", data={"csrf_token": token,
                                                          "response_id": response_id}).status_code == 303
    rows = audit.entries(dep.db, username=username)
    assert [(r.action, r.label) for r in rows] == [
        ("survey.forget_contact", "Xóa thông tin liên hệ người trả lời khảo sát"),
        ("survey.exclude", "Loại hoặc đưa lại phản hồi vào kết quả"),
        ("survey.retire", "Gỡ nơi đặt poster, kiosk"),
        ("survey.place", "Tạo nơi đặt poster, kiosk"),
        ("survey.status", "Mở hoặc đóng khảo sát"),
    ]
    assert rows[2].target == f"Nơi đặt {poster.code}" and rows[4].detail == "đóng"
    assert "xa-yen-ho" in rows[3].detail and "Nhà văn hóa" in rows[3].detail
    # A form with problems changes nothing and records nothing.
    client.post("/khao-sat/noi-dat", data={"csrf_token": token, "survey_id": "sipas", "unit_id": "xa-yen-ho",
                                           "place": "", "mode": "poster"})
    assert audit.count(dep.db, username=username) == 5


def test_editing_a_survey_is_recorded_once_per_new_version(dep, app, make_user):
    client = app.test_client()
    username, password = make_user(dep, "system_admin")
    login(client, username, password)
    text = client.get("/khao-sat/sipas/sua").get_data(as_text=True)
    import html
    import re

    toml = html.unescape(re.search(r'<textarea[^>]*name="dinh_nghia"[^>]*>(.*?)</textarea>', text, re.DOTALL).group(1))
    token = csrf_token(client, "/khao-sat/sipas/sua")
    same = client.post("/khao-sat/sipas/sua", data={"csrf_token": token, "dinh_nghia": toml})
    assert same.status_code == 303 and audit.count(dep.db, action="survey.save") == 0  # unchanged: no version
    changed = toml.replace('title = "', 'title = "Mới: ', 1)
    client.post("/khao-sat/sipas/sua", data={"csrf_token": token, "dinh_nghia": changed, "ghi_chu": "Đổi tên"})
    [row] = audit.entries(dep.db, action="survey.save")
    assert row.username == username and row.target == "Khảo sát sipas" and row.detail == "phiên bản 2; ghi chú: Đổi tên"
