"""Participants' personal data through the core's privacy hooks: erasure on request (by the keyed
hash of a phone or citizen ID number, in every contest), the retention purge (contact phones,
then all personal data, only for contests past their time), and the audit log of the manager's
actions."""

from __future__ import annotations

import datetime as dt

import pytest
from ccch_contest import attempts as A
from ccch_contest import ranking as R
from ccch_contest.contests import get_contest
from ccch_contest.participants import contact_phone
from ccch_contest.personal_data import purge_expired
from ccch_contest.settings import parse_settings
from ccch_contest_testing import (
    PHONES,
    add_participant,
    answers_for,
    contest_data,
    load_contest,
)
from click.testing import CliRunner

from ccch_core import audit, privacy
from ccch_core.cli import make_cli
from ccch_core.config import ConfigError
from ccch_core.testing import csrf_token, login

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)
CID = "042175001234"


def contest_ending(dep, slug, days_ago, *, citizen_id=None):
    """A contest whose only round ran for a week until ``days_ago`` days ago."""
    closes = NOW - dt.timedelta(days=days_ago)
    data = contest_data(rounds=[(closes - dt.timedelta(days=7), closes)], slug=slug, title=f"Cuộc thi {slug}",
                        citizen_id=citizen_id)
    return load_contest(dep, data)


def take_part(dep, contest, n, *, unit_id="xa-an-dung", citizen_id="", wrong=0, seconds=300):
    """Participant ``n`` registers (a distinct phone each) and submits one attempt in round 1."""
    from ccch_contest.participants import register

    form = {"full_name": f"Nguyễn Văn {chr(65 + n)}", "phone": PHONES[n], "birth_year": "1980",
            "audience": "cbccvc", "unit_id": unit_id, "occupation": "Chuyên viên", "citizen_id": citizen_id,
            "consent": "1"}
    person = register(dep, contest, form, client_key=f"k{n}")
    start = contest.rounds[0].opens + dt.timedelta(hours=1)
    attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
    result = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt, wrong=wrong), 1.0,
                              now=start + dt.timedelta(seconds=seconds))
    assert result.outcome == "accepted"
    return person


def row_of(dep, pid):
    cursor = dep.db.execute("select * from contest_participants where id = ?", [pid])
    return dict(zip([c[0] for c in cursor.description], cursor.fetchone()))


def snapshot(dep):
    """Everything the erasure or purge could change."""
    return [dep.db.execute(f"select * from {table} order by 1").fetchall()
            for table in ("contest_participants", "contest_attempts", "contest_log", "audit_log")]


def taking_part(dep, contest):
    """People who took part, by unit (units with nobody left out)."""
    return {u.unit_id: u.participants for u in R.participation(dep, get_contest(dep, contest.slug)) if u.participants}


def ranked(dep, contest):
    contest = R.ensure_closed(dep, get_contest(dep, contest.slug), NOW)
    return [(e.participant_id, e.full_name) for e in R.entries(dep.db, contest, contest.rounds[0], None)]


# -- erasure on request ---------------------------------------------------------------------------


def test_erase_finds_the_person_in_every_contest_by_the_hash_and_keeps_anonymous_records(dep):
    first = contest_ending(dep, "thi-mot", 30)
    second = contest_ending(dep, "thi-hai", 20)
    mine = [take_part(dep, first, 1), take_part(dep, second, 1)]
    other = take_part(dep, first, 2)
    attempts_before = dep.db.execute("select count(*) from contest_attempts").fetchone()[0]
    assert {pid for pid, _ in ranked(dep, first)} == {mine[0].id, other.id}

    results = privacy.erase_person(dep, phone="+84 " + PHONES[1][1:], actor="cli:thu")
    lines = [item.what for r in results if r.plugin == "contest" for item in r.items]
    assert len(lines) == 2
    assert "cuộc thi “Cuộc thi thi-mot” (thi-mot)" in lines[0] and "cuộc thi “Cuộc thi thi-hai”" in lines[1]
    assert f"số điện thoại *******{PHONES[1][-3:]}" in lines[0] and "1 bài thi rời bảng xếp hạng" in lines[0]
    for person in mine:
        row = row_of(dep, person.id)
        assert [row[k] for k in ("full_name", "name_key", "phone_hash", "phone_masked", "contact_phone",
                                 "birth_year", "occupation")] == [None] * 7
        assert row["deleted_at"] and row["unit_id"] == "xa-an-dung" and row["audience"] == "cbccvc"
    assert row_of(dep, other.id)["full_name"] == "Nguyễn Văn C"  # someone else is untouched
    # Anonymous records stay: every attempt, every participant row; the erased person left the rankings.
    assert dep.db.execute("select count(*) from contest_attempts").fetchone()[0] == attempts_before
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 3
    assert ranked(dep, first) == [(other.id, "Nguyễn Văn C")]
    # The contest's log and the audit log say who erased what; neither holds the number.
    assert dep.db.execute("select username from contest_log where action = 'erase'").fetchall() == [("cli:thu",)] * 2
    rows = {r.action: r for r in audit.entries(dep.db)}
    assert rows["privacy.erase"].username == "cli:thu"
    assert rows["privacy.erase"].target == f"SĐT {PHONES[1][:4]}***{PHONES[1][-3:]}"
    assert rows["contest.erase"].target.startswith("Cuộc thi thi-") and rows["contest.erase"].username == "cli:thu"
    text = " ".join(str(v) for row in dep.db.execute("select * from audit_log") for v in row)
    assert PHONES[1] not in text and "Nguyễn Văn B" not in text


def test_erase_by_citizen_id_only(dep):
    contest = contest_ending(dep, "thi-cccd", 5, citizen_id="optional")
    person = take_part(dep, contest, 3, citizen_id=CID)
    results = privacy.erase_person(dep, citizen_id=CID[:6] + " " + CID[6:], dry_run=True)
    assert next(i.what for r in results for i in r.items if r.plugin == "contest").count("số CCCD ********1234") == 1
    privacy.erase_person(dep, citizen_id=CID)
    row = row_of(dep, person.id)
    assert row["citizen_id_hash"] is None and row["citizen_id_masked"] is None and row["deleted_at"]


def test_dry_run_changes_nothing(dep):
    contest = contest_ending(dep, "thi-thu", 3)
    take_part(dep, contest, 4)
    before = snapshot(dep)
    results = privacy.erase_person(dep, phone=PHONES[4], dry_run=True)
    assert sum(r.count for r in results) == 1
    assert snapshot(dep) == before


def test_an_unknown_or_erased_person_is_not_found(dep):
    contest = contest_ending(dep, "thi-khong", 3)
    take_part(dep, contest, 5)
    assert all(not r.items for r in privacy.erase_person(dep, phone=PHONES[6], dry_run=True))
    privacy.erase_person(dep, phone=PHONES[5])
    assert all(not r.items for r in privacy.erase_person(dep, phone=PHONES[5], dry_run=True))  # no hash left


def test_cached_leaderboards_lose_the_name_at_once(dep):
    contest = contest_ending(dep, "thi-bang", 2)
    take_part(dep, contest, 7)
    contest = R.ensure_closed(dep, get_contest(dep, contest.slug), NOW)
    board = R.leaderboard(dep, contest, contest.rounds[0], now=NOW)
    assert "Nguyễn Văn H" in str(board.rows)
    assert "Nguyễn Văn H" in str(dep.db.execute("select data from contest_leaderboards").fetchall())
    privacy.erase_person(dep, phone=PHONES[7])
    assert "Nguyễn Văn H" not in str(dep.db.execute("select data from contest_leaderboards").fetchall())


# -- retention ------------------------------------------------------------------------------------


def test_purge_erases_only_contests_past_their_retention(dep):
    old = contest_ending(dep, "thi-cu", 400)        # past personal_data_retention_days (365)
    middle = contest_ending(dep, "thi-vua", 100)    # past contact_retention_days (90) only
    recent = contest_ending(dep, "thi-moi", 10)     # within both
    a, b = take_part(dep, old, 1, unit_id="xa-an-dung"), take_part(dep, old, 2, unit_id="xa-yen-ho", wrong=1)
    c = take_part(dep, middle, 3)
    d = take_part(dep, recent, 4)
    participation_before = taking_part(dep, old)

    results = privacy.purge_expired(dep, now=NOW, actor="cli:dem")
    lines = [i.what for r in results for i in r.items]
    assert len(lines) == 2 and sum(r.count for r in results) == 3
    assert "Số điện thoại liên hệ của 1 người dự thi cuộc thi “Cuộc thi thi-vua”" in lines[0]
    assert "của 2 người dự thi cuộc thi “Cuộc thi thi-cu” (thi-cu): quá 365 ngày" in lines[1]
    # The old contest: no personal data left, but its results stand (no one disqualified).
    for person in (a, b):
        row = row_of(dep, person.id)
        assert row["full_name"] is None and row["phone_hash"] is None and row["contact_phone"] is None
        assert row["deleted_at"] and row["disqualified"] == 0
    assert [name for _, name in ranked(dep, old)] == ["(đã xóa)", "(đã xóa)"]
    assert taking_part(dep, old) == participation_before == {"xa-an-dung": 1, "xa-yen-ho": 1}
    # The middle contest lost the clear contact phone only; the recent one nothing.
    row = row_of(dep, c.id)
    assert row["contact_phone"] is None and row["full_name"] == "Nguyễn Văn D" and row["phone_hash"]
    # (kept sealed, never in clear: issue #16 part 5; d won the recent contest's only round)
    assert contact_phone(dep, row_of(dep, d.id)["contact_phone"]) == PHONES[4] and row_of(dep, d.id)["deleted_at"] is None
    # Logged per contest and once for the whole purge.
    assert {r.action for r in audit.entries(dep.db, username="cli:dem")} == {
        "privacy.purge", "contest.purge_contacts", "contest.purge_personal_data"}
    # Nothing more to do the next day.
    assert all(not r.items for r in privacy.purge_expired(dep, now=NOW + dt.timedelta(days=1)))


def test_purge_works_in_batches_and_logs_once_per_contest(dep, monkeypatch):
    from ccch_contest import personal_data

    monkeypatch.setattr(personal_data, "BATCH", 2)
    old = contest_ending(dep, "thi-cu", 400)
    for n in range(5):
        take_part(dep, old, n)
    [line] = purge_expired(dep, NOW, False, "cli:dem")
    assert line.count == 5
    assert dep.db.execute("select count(*) from contest_participants where deleted_at is null").fetchone()[0] == 0
    assert dep.db.execute("select detail from contest_log where action = 'purge_personal_data'").fetchall() == [
        (f"5 người dự thi; quá 365 ngày sau khi vòng cuối kết thúc ({personal_data._day(old.rounds[0].closes.isoformat())})",)]


def test_purge_dry_run_changes_nothing(dep):
    old = contest_ending(dep, "thi-cu", 400)
    take_part(dep, old, 1)
    before = snapshot(dep)
    assert [(i.count, "thi-cu" in i.what) for i in purge_expired(dep, NOW, True, None)] == [(1, True)]
    assert snapshot(dep) == before


def test_retention_days_come_from_the_settings(make_deployment):
    dep = make_deployment(plugins=("contest",), plugin_settings={"contest": {
        "personal_data_retention_days": 30, "contact_retention_days": 10}})
    contest = contest_ending(dep, "thi-ngan", 40)
    person = take_part(dep, contest, 1)
    privacy.purge_expired(dep, now=NOW)
    assert row_of(dep, person.id)["deleted_at"] is not None


@pytest.mark.parametrize("raw, message", [
    ({"personal_data_retention_days": 0}, "personal_data_retention_days: must be a whole number 1–3650"),
    ({"personal_data_retention_days": 30}, ("contact_retention_days (90) cannot be longer than "
                                            "personal_data_retention_days (30)")),
])
def test_bad_retention_settings_are_refused(raw, message):
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    assert message in str(caught.value)


def test_default_retention():
    settings = parse_settings({})
    assert settings.personal_data_retention_days == 365 and settings.contact_retention_days == 90


def test_privacy_commands_through_the_cli(dep):
    old = contest_ending(dep, "thi-cu", 400)
    take_part(dep, old, 1)
    recent = contest_ending(dep, "thi-moi", 3)
    take_part(dep, recent, 2)
    config = str(dep.config.path)

    def run(*args, input=None):
        dep.close()
        return CliRunner().invoke(make_cli(config), ["-c", config, *args], input=input)

    dry = run("privacy", "purge", "--dry-run")
    assert dry.exit_code == 0 and "Sẽ xóa (chạy thử, chưa xóa gì):" in dry.output and "thi-cu" in dry.output
    assert "thi-moi" not in dry.output
    assert dep.db.execute("select count(*) from contest_participants where deleted_at is not null").fetchone()[0] == 0
    done = run("privacy", "purge")
    assert done.exit_code == 0 and "Đã xóa dữ liệu cá nhân quá thời hạn lưu trữ:" in done.output
    assert "[contest] Dữ liệu cá nhân" in done.output
    assert run("privacy", "purge").output.strip() == "Không có dữ liệu cá nhân nào quá thời hạn lưu trữ."
    refused = run("privacy", "erase", "--phone", PHONES[2], input="n\n")
    assert refused.exit_code == 1 and "Người dự thi" in refused.output and "Aborted" in refused.output
    assert row_of(dep, 2)["full_name"] == "Nguyễn Văn C"
    erased = run("privacy", "erase", "--phone", PHONES[2], input="y\n")
    assert erased.exit_code == 0 and "Đã xóa:" in erased.output and "[contest] Người dự thi #2" in erased.output
    assert row_of(dep, 2)["full_name"] is None
    listed = run("audit", "--action", "privacy.erase")
    assert listed.exit_code == 0 and "Xóa dữ liệu cá nhân theo yêu cầu" in listed.output and "cli" in listed.output


# -- the manager's actions in the audit log ---------------------------------------------------------


def test_manager_actions_are_in_the_audit_log(dep, contest, make_app, make_user):
    person = add_participant(dep, contest, 1)
    app = make_app(dep)
    client = app.test_client()
    username, password = make_user(dep, "contest_manager")
    assert login(client, username, password).status_code == 302
    base = f"/cuoc-thi/quan-ly/{contest.slug}"
    token = csrf_token(client, base)
    assert client.post(base + "/trang-thai", data={"csrf_token": token, "status": "draft"}).status_code == 303
    url = f"{base}/thi-sinh/{person.id}"
    client.post(url + "/loai", data={"csrf_token": token, "reason": "Thi hộ"})
    client.post(url + "/xoa", data={"csrf_token": token, "confirm": "1"})
    mine = audit.entries(dep.db, username=username)
    assert [(r.action, r.label) for r in mine] == [
        ("contest.erase", "Xóa dữ liệu cá nhân người dự thi"),
        ("contest.disqualify", "Loại người dự thi"),
        ("contest.status_draft", "Chuyển cuộc thi về chuẩn bị"),
    ]
    assert mine[1].target == f"Cuộc thi {contest.slug}, người dự thi #{person.id}" and mine[1].detail == "Thi hộ"
    assert all(r.at.endswith("+00:00") for r in mine)
    # The fixture's setup (create, import questions, publish) was recorded too, as "test".
    assert [r.action for r in audit.entries(dep.db, username="test")] == [
        "contest.status_published", "contest.import_questions", "contest.create"]
    assert "thêm hoặc sửa 89" in audit.entries(dep.db, action="contest.import_questions")[0].detail
