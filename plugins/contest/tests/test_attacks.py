"""Issue #16: each attack an outsider ran on the example contest with its default settings, as a
test that fails on the code before the fix. docs/security.md lists them."""

from __future__ import annotations

import datetime as dt
import json
import re

from ccch_contest import attempts as A
from ccch_contest_testing import (
    PHONES,
    contest_data,
    correct_form,
    csrf_from,
    load_contest,
)

UTC = dt.UTC
BASE = "/cuoc-thi/tim-hieu-cchc-2024"


def page(response) -> str:
    return response.get_data(as_text=True)


def close_rounds(dep, *numbers: int, at: dt.datetime) -> None:
    """Move rounds' end into the past, as the clock would."""
    for number in numbers:
        dep.db.execute("update contest_rounds set closes_at = ? where number = ?",
                       [(at - dt.timedelta(minutes=1)).isoformat(timespec="seconds"), number])
    dep.db.execute("update contest_contests set version = version + 1")
    dep.db.conn.commit()


def register_and_start(client, n: int, audience: str = "nhan-dan") -> str:
    token = csrf_from(page(client.get(BASE + "/dang-ky")))
    response = client.post(BASE + "/dang-ky", data={
        "csrf_token": token, "full_name": f"Người Thử {chr(65 + n % 26)}{chr(65 + n // 26)}", "phone": PHONES[n],
        "birth_year": "1990", "audience": audience, "unit_id": "xa-an-dung", "consent": "1", "start_now": "1"})
    assert response.status_code == 200, page(response)[:300]
    match = re.search(r'data-canonical="([^"]+/bai-thi/[^"]+)"', page(response))
    assert match, page(response)[:500]
    return match.group(1)


# -- the answer oracle -----------------------------------------------------------------------------


def test_a_fleet_of_throwaway_entries_learns_no_answer_before_the_round_closes(dep, make_app):
    """200 throwaway entries each answered one or two questions and read the score after each
    submission: 75 of 76 answers in 2 s. Now, by default, nothing an entrant can see before the
    round closes depends on whether an answer was right: an entry answering its first question
    right sees, byte for byte, what one answering it wrong sees (names, tokens and times aside)."""
    contest = load_contest(dep, contest_data(verified=False))
    app = make_app(dep)
    seen = []
    for n, right in ((0, True), (1, False), (2, True), (3, False)):
        client = app.test_client()
        url = register_and_start(client, n)
        attempt = A.get_attempt(dep.db, url.rsplit("/", 1)[-1])
        html = page(client.get(url))
        form = correct_form(dep, contest, attempt, wrong=0 if right else len(attempt.questions))
        data = {"csrf_token": csrf_from(html), "du_doan": "5", "q1": form["q1"]}  # the first question only
        result = client.post(url + "/nop", data=data)
        assert result.status_code == 200
        stored = A.get_attempt(dep.db, attempt.token)
        assert stored.score == (1 if right else 0)
        pages = [page(result), page(client.get(BASE + "/cua-toi")), page(client.get(BASE + "/bang-xep-hang?doi-tuong=nhan-dan")),
                 page(client.get(BASE + "/bang-xep-hang?vong=tong&doi-tuong=nhan-dan"))]
        review = client.get(f"{BASE}/xem-lai/{attempt.token}")
        assert review.status_code == 403
        text = "\n".join(pages)
        text = text.replace(attempt.token, "TOKEN")
        text = re.sub(r"Người Thử \w+", "NAME", text)
        text = re.sub(r"\d{2}/\d{2}/\d{4}", "DATE", text)
        text = re.sub(r"\d{1,2}:\d{2}(:\d{2})?", "TIME", text)
        text = re.sub(r"\d+ giây|\d+ phút( \d+ giây)?", "DURATION", text)
        text = re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", text)
        text = re.sub(r"(0\d{2,3}\W+|\*+)\d{3}", "PHONE", text)
        text = re.sub(r"\d+ người dự thi", "ENTRANTS", text)
        assert "1/15" not in text and "0/15" not in text
        seen.append(text)
    assert seen[0] == seen[1] == seen[2] == seen[3]


# -- review across rounds --------------------------------------------------------------------------


def test_no_review_shows_a_question_a_later_round_can_draw(dep, make_app):
    """review = "after_close" and one bank for four rounds: five reviews of round 1 gave 46 of the
    76 answers. Now a review withholds the answer of every question a round not yet closed can
    draw; once every round has closed, all show."""
    now = dt.datetime.now(UTC)
    contest = load_contest(dep, contest_data(rounds=[(now - dt.timedelta(hours=3), now + dt.timedelta(hours=1)),
                                                     (now + dt.timedelta(hours=2), now + dt.timedelta(hours=4))],
                                             verified=False))
    app = make_app(dep)
    client = app.test_client()
    url = register_and_start(client, 0)
    attempt = A.get_attempt(dep.db, url.rsplit("/", 1)[-1])
    html = page(client.get(url))
    data = {"csrf_token": csrf_from(html), "du_doan": "5", **correct_form(dep, contest, attempt, wrong=3)}
    assert client.post(url + "/nop", data=data).status_code == 200
    close_rounds(dep, 1, at=now)
    review = page(client.get(f"{BASE}/xem-lai/{attempt.token}"))
    assert "— đáp án đúng" not in review and "Chưa đúng" not in review and "Nguồn:" not in review
    assert review.count("Đáp án công bố sau") == len(attempt.questions)
    assert "(bạn chọn)" in review  # the entrant still sees what they chose
    # A question the manager retired (a new bank for round 2) can no longer be drawn: it shows.
    first_key = dep.db.execute("select key from contest_questions where id = ?",
                               [attempt.questions[0][0]]).fetchone()[0]
    from ccch_contest.bank import retire_question

    retire_question(dep.db, contest.id, first_key, username="noivu")
    dep.db.conn.commit()
    review = page(client.get(f"{BASE}/xem-lai/{attempt.token}"))
    assert review.count("— đáp án đúng") >= 1 and review.count("Đáp án công bố sau") == len(attempt.questions) - 1
    # The last round closes: every answer shows.
    dep.db.execute("update contest_rounds set opens_at = ? where number = 2",
                   [(now - dt.timedelta(minutes=30)).isoformat(timespec="seconds")])
    close_rounds(dep, 2, at=now)
    review = page(client.get(f"{BASE}/xem-lai/{attempt.token}"))
    assert "Đáp án công bố sau" not in review and review.count("— đáp án đúng") >= len(attempt.questions)


# -- identity takeover -----------------------------------------------------------------------------


def test_a_stranger_who_knows_a_leaderboard_entry_can_neither_resume_view_nor_erase_it(make_deployment, make_app):
    """The leaderboard showed "0912***001"; 4 probes of the registration form confirmed the number,
    11 tries found her year of birth, and "Của tôi" erased her. Now the board shows at most the last
    3 digits, the form answers every number alike, resuming needs a code to her phone, and erasing
    needs her device. Even knowing her full number and year of birth gets the stranger nothing."""
    dep = make_deployment(plugins=("contest",), messages={"channels": {"sms": {"sender": "folder"}}})
    load_contest(dep, contest_data(verified=True, score_disclosure="immediately"))
    app = make_app(dep)
    owner = app.test_client()
    token = csrf_from(page(owner.get(BASE + "/dang-ky")))
    owner.post(BASE + "/dang-ky", data={"csrf_token": token, "full_name": "Lê Thị Hoa", "phone": PHONES[1],
                                        "birth_year": "1985", "audience": "cbccvc", "unit_id": "xa-an-dung",
                                        "consent": "1", "start_now": "1"})
    code = dep.db.execute("select params from messages where template = 'otp'").fetchone()[0]
    token = csrf_from(page(owner.get(BASE + "/xac-nhan")))
    started = owner.post(BASE + "/xac-nhan", data={"csrf_token": token, "ma": json.loads(code)["code"]})
    assert started.status_code == 200
    board = page(app.test_client().get(BASE + "/bang-xep-hang"))
    # (nothing submitted yet: the entry's number as the board would show it)
    assert PHONES[1][:4] not in board

    stranger = app.test_client()
    # The old way in: number and year of birth.
    token = csrf_from(page(stranger.get(BASE + "/tiep-tuc")))
    old_way = stranger.post(BASE + "/tiep-tuc", data={"csrf_token": token, "phone": PHONES[1], "birth_year": "1985"})
    assert old_way.status_code in (303, 422)
    if old_way.status_code == 303:  # a code went to her phone; the stranger must guess it
        assert old_way.headers["Location"].endswith("/xac-nhan")
        for guess in ("000000", "111111", "222222", "333333", "444444", "555555"):
            token = csrf_from(page(stranger.get(BASE + "/xac-nhan")))
            assert stranger.post(BASE + "/xac-nhan", data={"csrf_token": token, "ma": guess}).status_code == 422
    mine = stranger.get(BASE + "/cua-toi")
    assert mine.status_code == 303 and "Lê Thị Hoa" not in page(mine)
    token = csrf_from(page(stranger.get(BASE + "/tiep-tuc")))
    erase = stranger.post(BASE + "/cua-toi/xoa", data={"csrf_token": token, "xac_nhan": "1"})
    assert erase.status_code == 403
    assert dep.db.execute("select full_name from contest_participants").fetchone()[0] == "Lê Thị Hoa"
    # Registering with her number only sends her a code: nothing registers, nothing is revealed.
    token = csrf_from(page(stranger.get(BASE + "/dang-ky")))
    again = stranger.post(BASE + "/dang-ky", data={"csrf_token": token, "full_name": "Kẻ Mạo Danh", "phone": PHONES[1],
                                                   "birth_year": "1985", "audience": "cbccvc", "unit_id": "xa-an-dung",
                                                   "consent": "1"})
    assert again.status_code == 200 and "Nhập mã xác nhận" in page(again)  # the code page, as for anyone
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 1


# -- personal data ---------------------------------------------------------------------------------


def test_clear_contact_numbers_only_for_winners_until_the_prizes_are_handed_out(dep, make_app):
    """Every contestant's full number was kept in clear (keep_contact_phone) and the manager's page
    showed all of them. Now the number is sealed at rest (not in the database file in any form a
    copy reveals), non-winners lose it when the last round closes, winners when the prizes are
    recorded as handed out; the prize page shows winners' numbers only."""
    from ccch_contest.personal_data import release_contacts
    from ccch_contest_testing import submit_people

    from ccch_core.testing import PASSWORD, login

    now = dt.datetime.now(UTC)
    contest = load_contest(dep, contest_data(rounds=[(now - dt.timedelta(hours=3), now + dt.timedelta(hours=1))]))
    people = [(f"Người Dự Thi {chr(65 + n)}", "nhan-dan", n) for n in range(14)]  # 11 prizes for the citizens
    submit_people(dep, contest, people)
    dep.db.conn.commit()
    dep.db.execute("pragma wal_checkpoint(truncate)")
    raw = dep.config.database_path.read_bytes()
    assert not any(PHONES[n].encode() in raw for n in range(14))
    # While a round is open anyone may still win: nothing is released.
    assert release_contacts(dep, now, False, "test") == []
    close_rounds(dep, 1, at=now)
    released = release_contacts(dep, now, False, "test")
    assert sum(e.count for e in released) == 3  # the 3 who won nothing
    kept = dep.db.execute("select full_name, contact_phone from contest_participants order by id").fetchall()
    assert [name for name, phone in kept if phone] == [name for name, _, _ in people[:11]]
    app = make_app(dep)
    client = app.test_client()
    from ccch_core import accounts

    accounts.create_user(dep.db, dep.plan, "noivu", PASSWORD, "contest_manager")
    dep.db.conn.commit()
    login(client, "noivu", PASSWORD)
    prizes = page(client.get("/cuoc-thi/quan-ly/tim-hieu-cchc-2024/giai-thuong"))
    assert PHONES[0] in prizes and PHONES[13] not in prizes
    person = dep.db.execute("select id from contest_participants order by id").fetchone()[0]
    detail = page(client.get(f"/cuoc-thi/quan-ly/tim-hieu-cchc-2024/thi-sinh/{person}"))
    assert PHONES[0] not in detail  # the participant page never shows the number
    token = csrf_from(prizes)
    done = client.post("/cuoc-thi/quan-ly/tim-hieu-cchc-2024/giai-thuong/da-trao", data={"csrf_token": token,
                                                                                          "xac_nhan": "1"})
    assert done.status_code == 303
    assert dep.db.execute("select count(*) from contest_participants where contact_phone is not null").fetchone()[0] == 0
    assert "Đã ghi nhận trao giải" in page(client.get("/cuoc-thi/quan-ly/tim-hieu-cchc-2024/giai-thuong"))
