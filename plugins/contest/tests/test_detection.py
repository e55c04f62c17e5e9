"""Detection (issue #16, part 4): each detector flags a realistic attack and leaves honest
behaviour alone; the review queue by role; clearing and disqualifying with a reason, audited;
prize lists hold back unreviewed entries; the time tie-break ignores implausible attempts."""

from __future__ import annotations

import datetime as dt
import json
import random
import re

import pytest
from ccch_contest import attempts as A
from ccch_contest import detection as D
from ccch_contest import ranking as R
from ccch_contest.contests import get_contest
from ccch_contest.participants import register
from ccch_contest.settings import parse_settings
from ccch_contest_testing import (
    PHONES,
    answers_for,
    contest_data,
    letters,
    load_contest,
)
from click.testing import CliRunner

from ccch_core.cli import make_cli
from ccch_core.testing import csrf_token, login

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)
OPENS = NOW - dt.timedelta(days=10)
CLOSES = NOW - dt.timedelta(days=1)
SLUG = "tim-hieu-cchc-2024"


def person(dep, contest, n, *, client="may-1", at=None, audience="nhan-dan", unit_id="xa-an-dung"):
    """Register participant ``n`` from the client ``client`` at ``at``."""
    form = {"full_name": f"Nguyễn Văn {letters(n)}", "phone": PHONES[n], "birth_year": "1990",
            "audience": audience, "unit_id": unit_id, "occupation": "", "citizen_id": "", "consent": "1"}
    return register(dep, contest, form, client_key=client, now=at)


def attempt(dep, contest, who, *, start, seconds, wrong=0, rng=None, prediction=3.0):
    """Start at ``start`` and submit ``seconds`` later; returns the submitted attempt."""
    started = A.start_attempt(dep, contest, who.id, now=start, rng=rng).attempt
    result = A.submit_attempt(dep, contest, started, answers_for(dep, contest, started, wrong=wrong), prediction,
                              now=start + dt.timedelta(seconds=seconds))
    assert result.outcome == "accepted"
    return result.attempt


def flags(dep, kind=None):
    sql = "select kind, participant_id, attempt_id, status, evidence from contest_flags"
    rows = dep.db.execute(sql + (" where kind = ?" if kind else ""), [kind] if kind else []).fetchall()
    return [(k, p, a, s, json.loads(e)) for k, p, a, s, e in rows]


def closed_contest(dep, **overrides):
    """One round from 10 days ago to yesterday; round prizes for both audiences."""
    data = contest_data(rounds=[(OPENS, CLOSES)], **overrides)
    for audience in data["audiences"]:
        audience["prizes"] = [{"name": "Giải Nhất", "count": 1}, {"name": "Giải Nhì", "count": 1}]
    return load_contest(dep, data)


# -- the detectors --------------------------------------------------------------------------------


def test_two_hundred_registrations_from_one_address_are_flagged(dep, contest):
    start = NOW - dt.timedelta(minutes=30)
    fleet = [person(dep, contest, n, client="ke-tan-cong", at=start + dt.timedelta(seconds=5 * n)) for n in range(200)]
    run = D.detect(dep, contest, now=NOW)
    assert run.flagged["shared_source"] == 200
    found = flags(dep, "shared_source")
    assert {p for _, p, _, _, _ in found} == {p.id for p in fleet}
    evidence = found[0][4]
    assert evidence["registrations"] == 200 and evidence["most_in_window"] == 200 and evidence["threshold"] == 20
    # The address itself is never stored: only a keyed hash of the client key.
    stored = {r[0] for r in dep.db.execute("select client_hash from contest_registration_sources")}
    assert len(stored) == 1 and "ke-tan-cong" not in next(iter(stored)) and len(next(iter(stored))) == 64
    # Running again adds nothing.
    assert D.detect(dep, contest, now=NOW).total == 0


def test_honest_registrations_are_not_flagged(dep, contest):
    # A commune office: 15 officers from one address in an afternoon (below 20 a day).
    for n in range(15):
        person(dep, contest, n, client="ubnd-xa", at=NOW - dt.timedelta(hours=5, minutes=-10 * n))
    # 40 people from 40 addresses within minutes.
    for n in range(15, 55):
        person(dep, contest, n, client=f"nha-{n}", at=NOW - dt.timedelta(minutes=55 - n))
    # 25 from one address, but one a day (the window is 24 hours).
    for n in range(55, 80):
        person(dep, contest, n, client="diem-buu-dien", at=NOW - dt.timedelta(days=80 - n, minutes=1))
    assert D.detect(dep, contest, now=NOW).flagged["shared_source"] == 0
    assert flags(dep) == []


def test_the_source_threshold_is_a_setting(dep, contest):
    from ccch_contest.state import memory

    memory(dep)["settings"] = parse_settings({"detect_source_registrations": [5, 600]})
    for n in range(5):
        person(dep, contest, n, client="ubnd-xa", at=NOW - dt.timedelta(minutes=10 - n))
    assert D.detect(dep, contest, now=NOW).flagged["shared_source"] == 5


def test_fifteen_questions_in_two_seconds_is_flagged_and_loses_the_time_tie_break(dep, contest):
    round_start = contest.round(2).opens + dt.timedelta(minutes=10)
    bot = person(dep, contest, 1, client="a")
    fast = attempt(dep, contest, bot, start=round_start, seconds=2)
    assert fast.total == 15 and fast.score == 15
    run = D.detect(dep, contest, now=NOW)
    assert run.flagged["too_fast"] == 1 and run.checked == 1
    (kind, pid, aid, status, evidence), = flags(dep)
    assert (kind, pid, aid, status) == ("too_fast", bot.id, fast.id, "open")
    assert evidence["duration_ms"] == 2000 and evidence["answered"] == 15 and evidence["minimum_ms"] > 15_000
    row = dep.db.execute("select implausible, rk2 from contest_attempts where id = ?", [fast.id]).fetchone()
    assert row == (1, 2**53)  # tie-breaks: prediction, time, submitted → the time is rk2


def test_honest_speed_is_not_flagged(dep, contest):
    round_start = contest.round(2).opens + dt.timedelta(minutes=10)
    quick = person(dep, contest, 1, client="a")
    honest = attempt(dep, contest, quick, start=round_start, seconds=150, wrong=2)  # 10 s a question
    blank = person(dep, contest, 2, client="b")
    opened = A.start_attempt(dep, contest, blank.id, now=round_start).attempt
    A.submit_attempt(dep, contest, opened, {}, None, now=round_start + dt.timedelta(seconds=1))  # gave up: no answer
    run = D.detect(dep, contest, now=NOW)
    assert run.checked == 2 and run.flagged["too_fast"] == 0
    assert dep.db.execute("select implausible from contest_attempts where id = ?", [honest.id]).fetchone()[0] == 0


def test_identical_answers_one_second_apart_are_flagged(dep, contest):
    start = contest.round(2).opens + dt.timedelta(minutes=10)
    one, two = person(dep, contest, 1, client="a"), person(dep, contest, 2, client="b")
    first = attempt(dep, contest, one, start=start, seconds=200, wrong=3, rng=random.Random(7))
    second = attempt(dep, contest, two, start=start + dt.timedelta(seconds=1), seconds=200, wrong=3,
                     rng=random.Random(7))
    assert first.questions == second.questions and first.answers == second.answers
    run = D.detect(dep, contest, now=NOW)
    assert run.flagged["same_answers"] == 2
    found = {a: e for _, _, a, _, e in flags(dep, "same_answers")}
    assert set(found) == {first.id, second.id}
    assert found[first.id]["others"] == [{"attempt_id": second.id, "participant_id": two.id, "seconds_apart": 1.0,
                                          "duration_difference_seconds": 0.0}]
    assert found[first.id]["wrong_or_blank"] == 3


def test_honest_similar_answers_are_not_flagged(dep, contest):
    start = contest.round(2).opens + dt.timedelta(minutes=10)
    people = [person(dep, contest, n, client=f"c{n}") for n in range(6)]
    # Everything right, one second apart: everyone who knows the answers answers alike.
    attempt(dep, contest, people[0], start=start, seconds=200, rng=random.Random(7))
    attempt(dep, contest, people[1], start=start + dt.timedelta(seconds=1), seconds=200, rng=random.Random(7))
    # The same mistakes, but an hour apart.
    attempt(dep, contest, people[2], start=start, seconds=300, wrong=2, rng=random.Random(8))
    attempt(dep, contest, people[3], start=start + dt.timedelta(hours=1), seconds=300, wrong=2, rng=random.Random(8))
    # One second apart, but different answers.
    attempt(dep, contest, people[4], start=start, seconds=300, wrong=2, rng=random.Random(9))
    attempt(dep, contest, people[5], start=start + dt.timedelta(seconds=1), seconds=300, wrong=4, rng=random.Random(9))
    run = D.detect(dep, contest, now=NOW)
    assert run.checked == 6 and run.total == 0


def test_the_fingerprint_ignores_drawn_and_option_order():
    drawn = json.dumps([[5, "012"], [9, "210"]])
    swapped = json.dumps([[9, "012"], [5, "120"]])
    assert D.answer_fingerprint(drawn, json.dumps({"1": ["a"], "2": ["c"]})) == \
        D.answer_fingerprint(swapped, json.dumps({"1": ["c"], "2": ["a"]}))
    assert D.answer_fingerprint(drawn, json.dumps({"1": ["a"], "2": ["b"]})) != \
        D.answer_fingerprint(drawn, json.dumps({"1": ["a"], "2": ["c"]}))
    assert D.answer_fingerprint(drawn, None) == "" == D.answer_fingerprint(drawn, "{}")


# -- ranking and prizes ---------------------------------------------------------------------------


def test_the_time_tie_break_ignores_an_implausible_attempt_until_cleared(dep):
    contest = closed_contest(dep, tie_breaks=["time", "submitted"])
    start = OPENS + dt.timedelta(hours=1)
    bot, honest = person(dep, contest, 1, client="a"), person(dep, contest, 2, client="b")
    fast = attempt(dep, contest, bot, start=start, seconds=2)
    slow = attempt(dep, contest, honest, start=start, seconds=240)
    contest = R.ensure_closed(dep, get_contest(dep, SLUG), NOW)

    def order():
        fresh = get_contest(dep, SLUG)
        return [e.attempt_id for e in R.entries(dep.db, fresh, fresh.rounds[0], "nhan-dan")]

    assert order() == [fast.id, slow.id]  # before detection, 2 s wins the tie
    D.detect(dep, contest, now=NOW)
    assert order() == [slow.id, fast.id]
    board = R.leaderboard(dep, get_contest(dep, SLUG), get_contest(dep, SLUG).rounds[0], "nhan-dan", now=NOW)
    assert [r["attempt_id"] for r in board.rows] == [slow.id, fast.id]  # the cache was invalidated
    overall = R.overall_entries(dep.db, get_contest(dep, SLUG), "nhan-dan")
    assert [r["participant_id"] for r in overall] == [honest.id, bot.id]
    flag_id = dep.db.execute("select id from contest_flags").fetchone()[0]
    assert D.review(dep, get_contest(dep, SLUG), [flag_id], "clear", "Đã gọi điện xác minh: học thuộc đáp án",
                    "noivu", now=NOW) == 1
    assert order() == [fast.id, slow.id]


def test_a_flagged_entry_is_held_back_from_the_prize_list_until_cleared(dep):
    contest = closed_contest(dep, tie_breaks=["time", "submitted"])
    start = OPENS + dt.timedelta(hours=1)
    bot = person(dep, contest, 1, client="a")
    second = person(dep, contest, 2, client="b")
    third = person(dep, contest, 3, client="c")
    attempt(dep, contest, bot, start=start, seconds=2)
    attempt(dep, contest, second, start=start, seconds=200)
    attempt(dep, contest, third, start=start, seconds=200, wrong=1)
    contest = R.ensure_closed(dep, get_contest(dep, SLUG), NOW)
    D.detect(dep, contest, now=NOW)
    contest = get_contest(dep, SLUG)
    winners = R.prize_list(dep, contest, contest.rounds[0], "nhan-dan")
    # The flagged entry keeps its place ("chờ xem xét") — the prize is not passed on silently.
    assert [(w.prize, w.entry.participant_id, w.held) for w in winners] == [
        ("Giải Nhất", second.id, False), ("Giải Nhì", bot.id, True)]
    flag_id = dep.db.execute("select id from contest_flags where participant_id = ?", [bot.id]).fetchone()[0]
    D.review(dep, contest, [flag_id], "clear", "Xác minh trực tiếp", "noivu", now=NOW)
    contest = get_contest(dep, SLUG)
    winners = R.prize_list(dep, contest, contest.rounds[0], "nhan-dan")
    assert [(w.entry.participant_id, w.held) for w in winners] == [(bot.id, False), (second.id, False)]


def test_disqualifying_a_flag_passes_the_prize_on(dep):
    contest = closed_contest(dep)
    start = OPENS + dt.timedelta(hours=1)
    bot = person(dep, contest, 1, client="a")
    others = [person(dep, contest, n, client=f"c{n}") for n in (2, 3)]
    bad = attempt(dep, contest, bot, start=start, seconds=2)
    for n, who in enumerate(others):
        attempt(dep, contest, who, start=start, seconds=300, wrong=n + 1)
    contest = R.ensure_closed(dep, get_contest(dep, SLUG), NOW)
    D.detect(dep, contest, now=NOW)
    contest = get_contest(dep, SLUG)
    assert [w.held for w in R.prize_list(dep, contest, contest.rounds[0], "nhan-dan")] == [True, False]
    flag_id = dep.db.execute("select id from contest_flags").fetchone()[0]
    with pytest.raises(ValueError):
        D.review(dep, contest, [flag_id], "disqualify", "  ", "noivu", now=NOW)
    assert D.review(dep, contest, [flag_id], "disqualify", "Làm 15 câu trong 2 giây", "noivu", now=NOW) == 1
    assert dep.db.execute("select disqualified from contest_attempts where id = ?", [bad.id]).fetchone()[0] == 1
    contest = get_contest(dep, SLUG)
    winners = R.prize_list(dep, contest, contest.rounds[0], "nhan-dan")
    assert [(w.entry.participant_id, w.held) for w in winners] == [(others[0].id, False), (others[1].id, False)]
    # Reviewed once: a second decision on the same flag changes nothing.
    assert D.review(dep, contest, [flag_id], "clear", "Nhầm", "noivu", now=NOW) == 0


def test_collective_prizes_count_participants_under_review(dep):
    contest = closed_contest(dep)
    start = OPENS + dt.timedelta(hours=1)
    fleet = [person(dep, contest, n, client="ke-tan-cong", at=start) for n in range(20)]
    for who in fleet:
        attempt(dep, contest, who, start=start, seconds=600, wrong=3)
    contest = R.ensure_closed(dep, get_contest(dep, SLUG), NOW)
    D.detect(dep, contest, now=NOW)
    held = [w.held for _, winners in R.collective_winners(dep, get_contest(dep, SLUG)) for w in winners
            if w.unit.participants]
    assert held and all(h == 20 for h in held)


# -- the review queue -----------------------------------------------------------------------------


@pytest.fixture
def app(dep, contest, make_app):
    return make_app(dep)


@pytest.fixture
def flagged(dep, contest):
    """A 15-question attempt submitted in 2 s, in the open round."""
    bot = person(dep, contest, 1, client="a")
    attempt(dep, contest, bot, start=contest.round(2).opens + dt.timedelta(minutes=10), seconds=2)
    return bot


def client_as(app, dep, make_user, role):
    client = app.test_client()
    if role != "anonymous":
        username, password = make_user(dep, role, "xa-an-dung" if role == "unit_officer" else None)
        assert login(client, username, password).status_code == 302
    return client


def test_the_queue_by_role(app, dep, make_user, flagged):
    url = f"/cuoc-thi/quan-ly/{SLUG}/dang-ngo"
    manager = client_as(app, dep, make_user, "contest_manager")
    page = manager.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Làm bài nhanh hơn tốc độ đọc" in html and "Nguyễn Văn B" in html and "2 giây" in html
    assert "Xác nhận hợp lệ" in html and 'name="flag"' in html
    assert client_as(app, dep, make_user, "unit_officer").get(url).status_code == 403
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/dang-nhap" in anonymous.headers["Location"]
    assert "Bài thi đáng ngờ" in manager.get(f"/cuoc-thi/quan-ly/{SLUG}/giai-thuong").get_data(as_text=True)


@pytest.mark.parametrize("query", ["?trang=0", "?trang=abc", "?trang=99999999999999999999", "?trang-thai=x",
                                   "?loai=%00"])
def test_the_queue_refuses_bad_arguments(app, dep, make_user, flagged, query):
    manager = client_as(app, dep, make_user, "contest_manager")
    assert manager.get(f"/cuoc-thi/quan-ly/{SLUG}/dang-ngo{query}").status_code == 400


def test_clearing_and_disqualifying_from_the_queue_are_audited(app, dep, make_user, flagged):
    manager = client_as(app, dep, make_user, "contest_manager")
    url = f"/cuoc-thi/quan-ly/{SLUG}/dang-ngo"
    manager.get(url)
    token = csrf_token(manager, url)
    flag_id = dep.db.execute("select id from contest_flags").fetchone()[0]
    post = f"{url}/xu-ly"
    # Refused: no reason, a bad id, an unknown decision — nothing changes.
    response = manager.post(post, data={"csrf_token": token, "flag": str(flag_id), "decision": "clear", "reason": ""},
                            follow_redirects=True)
    assert "Vui lòng ghi lý do" in response.get_data(as_text=True)
    for bad in ("abc", "0", "-1", "9" * 30):
        assert manager.post(post, data={"csrf_token": token, "flag": bad, "decision": "clear",
                                        "reason": "x"}).status_code == 400
    manager.post(post, data={"csrf_token": token, "flag": str(flag_id), "decision": "xoa", "reason": "x"})
    assert dep.db.execute("select status from contest_flags").fetchone()[0] == "open"
    # Cleared with a reason: in the contest's log and the core's audit log.
    response = manager.post(post, data={"csrf_token": token, "flag": str(flag_id), "decision": "clear",
                                        "reason": "Thí sinh ôn kỹ, đã xác minh"})
    assert response.status_code == 303
    status, by, reason = dep.db.execute("select status, reviewed_by, review_reason from contest_flags").fetchone()
    assert status == "cleared" and by and reason == "Thí sinh ôn kỹ, đã xác minh"
    log = dep.db.execute("select action, detail from contest_log where action like 'flag_%'").fetchall()
    assert log == [("flag_cleared", "Làm bài nhanh hơn tốc độ đọc: Thí sinh ôn kỹ, đã xác minh")]
    audit = dep.db.execute("select action, label from audit_log where action = 'contest.flag_cleared'").fetchall()
    assert audit == [("contest.flag_cleared", "Xác nhận hợp lệ sau khi xem xét bài thi đáng ngờ")]
    page = manager.get(f"{url}?trang-thai=hop-le").get_data(as_text=True)
    assert "Thí sinh ôn kỹ, đã xác minh" in page
    assert 'name="flag"' not in page  # reviewed flags have no decision form


def test_a_group_is_disqualified_in_one_decision(app, dep, make_user, contest):
    start = NOW - dt.timedelta(minutes=30)
    fleet = [person(dep, contest, n, client="ke-tan-cong", at=start + dt.timedelta(seconds=n)) for n in range(25)]
    manager = client_as(app, dep, make_user, "contest_manager")
    url = f"/cuoc-thi/quan-ly/{SLUG}/dang-ngo"
    html = manager.get(url).get_data(as_text=True)
    assert "25 lượt đăng ký cuộc thi từ cùng một địa chỉ mạng" in html
    ids = re.findall(r'name="flag" value="(\d+)"', html)
    assert len(ids) == 25
    response = manager.post(f"{url}/xu-ly", data={"csrf_token": csrf_token(manager, url), "flag": ids,
                                                  "decision": "disqualify", "reason": "Đăng ký hàng loạt"})
    assert response.status_code == 303
    assert dep.db.execute("select count(*) from contest_participants where disqualified = 1").fetchone()[0] == 25
    assert {p.id for p in fleet} == {r[0] for r in dep.db.execute(
        "select participant_id from contest_flags where status = 'disqualified'")}
    assert dep.db.execute("select count(*) from audit_log where action = 'contest.flag_disqualified'").fetchone()[0] == 25


def test_detect_command(dep, contest):
    bot = person(dep, contest, 1, client="a")
    attempt(dep, contest, bot, start=contest.round(2).opens + dt.timedelta(minutes=10), seconds=2)
    config = str(dep.config.path)
    dep.close()
    result = CliRunner().invoke(make_cli(config), ["-c", config, "contest", "detect", SLUG, "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"checked": 1, "flagged": {"too_fast": 1, "shared_source": 0,
                                                                   "same_answers": 0}, "open": 1}
    again = CliRunner().invoke(make_cli(config), ["-c", config, "contest", "detect", SLUG], catch_exceptions=False)
    assert "không có mục mới" in again.output and "Chờ xem xét: 1 mục" in again.output


def test_the_prize_page_shows_held_entries_and_publishing_waits_for_the_review(dep, make_app, make_user):
    contest = closed_contest(dep)
    start = OPENS + dt.timedelta(hours=1)
    bot = person(dep, contest, 1, client="a")
    attempt(dep, contest, bot, start=start, seconds=2)
    app = make_app(dep)
    manager = client_as(app, dep, make_user, "contest_manager")
    prizes = f"/cuoc-thi/quan-ly/{SLUG}/giai-thuong"
    html = manager.get(prizes).get_data(as_text=True)  # detection runs before the lists are drawn up
    assert "Giải Nhất — <strong>chờ xem xét</strong>" in html
    publish = f"/cuoc-thi/quan-ly/{SLUG}/vong/1/cong-bo"
    token = csrf_token(manager, prizes)
    response = manager.post(publish, data={"csrf_token": token, "publish": "1"}, follow_redirects=True)
    assert "còn người chờ xem xét" in response.get_data(as_text=True)
    assert dep.db.execute("select published_at from contest_rounds").fetchone()[0] is None
    flag_id = dep.db.execute("select id from contest_flags").fetchone()[0]
    D.review(dep, get_contest(dep, SLUG), [flag_id], "clear", "Đã xác minh", "noivu", now=NOW)
    assert "— <strong>chờ xem xét</strong>" not in manager.get(prizes).get_data(as_text=True)
    manager.post(publish, data={"csrf_token": token, "publish": "1"})
    assert dep.db.execute("select published_at from contest_rounds").fetchone()[0] is not None


def test_the_prize_export_marks_held_entries(dep):
    from ccch_core.report import DataScope

    contest = closed_contest(dep)
    start = OPENS + dt.timedelta(hours=1)
    attempt(dep, contest, person(dep, contest, 1, client="a"), start=start, seconds=2)
    attempt(dep, contest, person(dep, contest, 2, client="b"), start=start, seconds=300, wrong=1)
    contest = R.ensure_closed(dep, get_contest(dep, SLUG), NOW)
    D.detect(dep, contest, now=NOW)
    table = dep.data_tables["contest_prizes"]
    rows = [r for r in table.rows(dep, DataScope()) if r[1] == "Vòng 1" and r[2] == "Nhân dân"]
    assert all(len(r) == len(table.columns) for r in rows)
    assert [(r[3], r[-1]) for r in rows] == [("Giải Nhất", "chờ xem xét"), ("Giải Nhì", "")]


def test_a_page_checks_a_bounded_number_of_attempts_and_says_what_is_left(app, dep, make_user, contest,
                                                                         monkeypatch):
    from ccch_contest.web import review_queue

    monkeypatch.setattr(D, "BATCH", 1)
    monkeypatch.setattr(review_queue, "PAGE_BUDGET", 2)
    start = contest.round(2).opens + dt.timedelta(minutes=10)
    for n in range(5):
        attempt(dep, contest, person(dep, contest, n, client=f"c{n}"), start=start, seconds=2)
    manager = client_as(app, dep, make_user, "contest_manager")
    html = manager.get(f"/cuoc-thi/quan-ly/{SLUG}/dang-ngo").get_data(as_text=True)
    assert "Còn 3 bài thi chưa được kiểm tra" in html
    assert D.unchecked(dep.db, get_contest(dep, SLUG)) == 3
    assert D.detect(dep, get_contest(dep, SLUG), now=NOW).checked == 3  # the command line has no budget
    assert D.unchecked(dep.db, get_contest(dep, SLUG)) == 0
    assert "chưa được kiểm tra" not in manager.get(f"/cuoc-thi/quan-ly/{SLUG}/dang-ngo").get_data(as_text=True)


def test_erasure_drops_the_registration_source(dep, contest):
    from ccch_contest.personal_data import erase_participant

    who = person(dep, contest, 1, client="a")
    keep = person(dep, contest, 2, client="a")
    erase_participant(dep, contest, who.id, "noivu")
    assert [r[0] for r in dep.db.execute("select participant_id from contest_registration_sources")] == [keep.id]


def test_the_retention_purge_drops_the_contests_registration_sources(dep):
    from ccch_contest.personal_data import purge_expired

    old = load_contest(dep, contest_data(rounds=[(NOW - dt.timedelta(days=420), NOW - dt.timedelta(days=400))]))
    person(dep, old, 1, client="a", at=NOW - dt.timedelta(days=410))
    assert dep.db.execute("select count(*) from contest_registration_sources").fetchone()[0] == 1
    purge_expired(dep, NOW, False, "test")
    assert dep.db.execute("select count(*) from contest_registration_sources").fetchone()[0] == 0


def test_many_registrations_from_one_browser_are_flagged_whatever_the_address(dep, contest, make_app):
    """A fleet registered from one phone over changing mobile addresses: the browser identifier the
    registration pages set (only its keyed hash stored) ties them together; two (a family sharing a
    phone) pass."""
    app = make_app(dep)
    browser, family = app.test_client(), app.test_client()

    def register_on(client, n, address):
        client.environ_base["REMOTE_ADDR"] = address
        page = client.get("/cuoc-thi/tim-hieu-cchc-2024/dang-ky").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = client.post("/cuoc-thi/tim-hieu-cchc-2024/dang-ky", data={
            "csrf_token": token, "full_name": f"Người Thứ {chr(65 + n)}", "phone": PHONES[n], "birth_year": "1990",
            "audience": "nhan-dan", "unit_id": "xa-an-dung", "consent": "1"})
        assert response.status_code == 303, response.get_data(as_text=True)[:300]

    for n in range(4):
        register_on(browser, n, f"10.0.{n}.1")
    for n in range(4, 6):
        register_on(family, n, f"10.9.{n}.1")
    run = D.detect(dep, contest, now=dt.datetime.now(dt.UTC))
    assert run.flagged["shared_source"] == 4
    found = flags(dep, "shared_source")
    assert len(found) == 4 and all(f[4]["device_registrations"] == 4 and "registrations" not in f[4] for f in found)
    stored = {r[0] for r in dep.db.execute("select device_hash from contest_registration_sources")}
    assert len(stored) == 2 and all(len(h) == 64 for h in stored)  # keyed hashes, one per browser
    assert not any(c.value in stored for c in browser._cookies.values())
    from ccch_contest.web.review_queue import evidence_text, vn_time

    flag = D.get_flags(dep.db, contest, [dep.db.execute("select id from contest_flags limit 1").fetchone()[0]])[0]
    assert "4 lượt đăng ký từ cùng một thiết bị" in evidence_text(flag, {}, vn_time)
