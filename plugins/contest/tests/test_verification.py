"""Verified identity (issue #16, part 1): registering with a one-time code, continuing on
another device, the device a participant registered on, and what a stranger can do with a
leaderboard entry (nothing)."""

from __future__ import annotations

import html
import json
import re

import pytest
from ccch_contest import attempts as A
from ccch_contest_testing import PHONES, contest_data, csrf_from, load_contest

BASE = "/cuoc-thi/tim-hieu-cchc-2024"
MESSAGES = {"channels": {"sms": {"sender": "folder"}, "email": {"sender": "folder"}}}


@pytest.fixture
def dep(make_deployment):
    return make_deployment(plugins=("contest",), messages=MESSAGES)


@pytest.fixture
def contest(dep):
    contest = load_contest(dep, contest_data(verified=True))
    assert [a.verify for a in contest.definition.audiences] == ["phone_or_email", "phone"]
    return contest


@pytest.fixture
def app(dep, contest, make_app):
    return make_app(dep)


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def codes_sent(dep, address: str | None = None) -> list[str]:
    """The codes queued in the outbox (to ``address``), oldest first: what the person's phone gets."""
    rows = dep.db.execute("select address, params from messages where template = 'otp' order by id").fetchall()
    return [json.loads(p)["code"] for a, p in rows if address is None or a == address]


def registration(n=1, **overrides):
    form = {"full_name": "Trần Thị Mai", "phone": PHONES[n], "birth_year": "1988", "audience": "nhan-dan",
            "unit_id": "xa-an-dung", "consent": "1", "start_now": "1"}
    form.update(overrides)
    return form


def post_registration(client, n=1, **overrides):
    token = csrf_from(page(client.get(BASE + "/dang-ky")))
    return client.post(BASE + "/dang-ky", data={"csrf_token": token, **registration(n, **overrides)})


def confirm(client, code: str):
    token = csrf_from(page(client.get(BASE + "/xac-nhan")))
    return client.post(BASE + "/xac-nhan", data={"csrf_token": token, "ma": code})


def register_verified(dep, client, n=1, **overrides):
    """Register through the pages, typing the code the phone received; returns the final response."""
    sent = post_registration(client, n, **overrides)
    assert sent.status_code == 200 and "Nhập mã xác nhận" in page(sent), page(sent)[:400]  # the code page itself
    return confirm(client, codes_sent(dep)[-1])


def test_registration_waits_for_the_code_the_phone_received(dep, app):
    client = app.test_client()
    sent = post_registration(client)
    # The code page answers the registration (no redirect to it: one request fewer, issue #16); its
    # forms post to /xac-nhan, which shows the same page.
    assert sent.status_code == 200 and 'action="/cuoc-thi/tim-hieu-cchc-2024/xac-nhan"' in page(sent)
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 0  # not yet
    assert "*******" + PHONES[1][-3:] in page(sent) and PHONES[1] not in page(sent)
    waiting = page(client.get(BASE + "/xac-nhan"))
    assert "*******" + PHONES[1][-3:] in waiting and PHONES[1] not in waiting and "tin nhắn SMS" in waiting
    wrong = confirm(client, "000000" if codes_sent(dep)[-1] != "000000" else "111111")
    assert wrong.status_code == 422 and "Mã xác nhận không đúng" in page(wrong)
    done = confirm(client, codes_sent(dep)[-1])
    assert done.status_code == 200 and "/bai-thi/" in page(done)  # registered and started, as asked
    row = dep.db.execute("select verified_by, phone_masked from contest_participants").fetchone()
    assert row == ("sms", "*******" + PHONES[1][-3:])
    assert any("ccch_cuoc_thi_" in c for c in done.headers.getlist("Set-Cookie"))  # the device is bound
    assert dep.db.execute("select count(*) from contest_devices where kind = 'device'").fetchone()[0] == 1


def test_the_code_step_reads_the_new_participant_once(dep, app):
    """Typing the code registers, binds the device and starts the attempt in one transaction: the
    new participant is read back once (the start uses that read), and the device's one insert takes
    no savepoint of its own (issue #16: each statement is about 26,000 instructions)."""
    client = app.test_client()
    sent = post_registration(client)
    statements: list[str] = []
    dep.db.conn.set_trace_callback(statements.append)
    try:
        done = client.post(BASE + "/xac-nhan", data={"csrf_token": csrf_from(page(sent)), "ma": codes_sent(dep)[-1]})
    finally:
        dep.db.conn.set_trace_callback(None)
    assert done.status_code == 200 and "/bai-thi/" in page(done)
    attempt = A.get_attempt(dep.db, re.search(r"/bai-thi/([\w-]+)", page(done)).group(1))
    participant = dep.db.execute("select id, audience, unit_id from contest_participants").fetchone()
    assert (attempt.participant_id, attempt.audience, attempt.unit_id) == tuple(participant)
    assert len([s for s in statements if s.startswith("select * from contest_participants")]) == 1
    device = next(i for i, s in enumerate(statements) if s.startswith("insert into contest_devices"))
    assert statements[device - 1] != "SAVEPOINT ccch_write" and statements[device + 1] != "RELEASE SAVEPOINT ccch_write"


def test_the_code_page_carries_the_token_the_registration_was_sent_with(dep, app, monkeypatch):
    """The code page answering the registration carries the form's own CSRF token again (the
    browser has it; signing a new one was a tenth of that page's work) while it is under an hour
    old, a newly signed one after that; either way the code is typed with it."""
    from ccch_contest.web import public

    from ccch_core.web import csrf_token

    signed = []
    monkeypatch.setattr(public, "csrf_token", lambda: signed.append(1) or csrf_token())
    client = app.test_client()
    token = csrf_from(page(client.get(BASE + "/dang-ky")))
    signed.clear()
    sent = client.post(BASE + "/dang-ky", data={"csrf_token": token, **registration(1)})
    assert sent.status_code == 200 and csrf_from(page(sent)) == token and signed == []
    done = client.post(BASE + "/xac-nhan", data={"csrf_token": csrf_from(page(sent)), "ma": codes_sent(dep)[-1]})
    assert done.status_code == 200 and "/bai-thi/" in page(done)
    monkeypatch.setattr(public, "ANSWER_TOKEN_SECONDS", 0)  # as if the form had been open for an hour
    other = app.test_client()
    token = csrf_from(page(other.get(BASE + "/dang-ky")))
    signed.clear()
    sent = other.post(BASE + "/dang-ky", data={"csrf_token": token, **registration(2)})
    assert sent.status_code == 200 and signed == [1]  # signed anew
    done = other.post(BASE + "/xac-nhan", data={"csrf_token": csrf_from(page(sent)), "ma": codes_sent(dep)[-1]})
    assert done.status_code == 200 and "/bai-thi/" in page(done)


def test_the_code_page_never_carries_markup_sent_in_the_token(dep, app):
    """The token a registration carried is put back into the code page only in the shape a
    signed token has: its signature's base64 skips what is not base64, so ``"><`` after a valid
    token still passes the CSRF check, and put back as it came it closed the page's attribute."""
    client = app.test_client()
    token = csrf_from(page(client.get(BASE + "/dang-ky")))
    sent = client.post(BASE + "/dang-ky", data={"csrf_token": token + '"><', **registration(1)})
    assert sent.status_code == 200
    tokens = re.findall(r'name="csrf_token" value="([^"]*)"([^\n]*)', sent.get_data(as_text=True))
    assert tokens and all(rest == ">" and re.fullmatch(r"[\w.-]+", value) for value, rest in tokens)
    done = client.post(BASE + "/xac-nhan", data={"csrf_token": csrf_from(page(sent)), "ma": codes_sent(dep)[-1]})
    assert done.status_code == 200 and "/bai-thi/" in page(done)


def test_reloading_the_code_page_sends_no_second_code(dep, app):
    """The code page answers the registration's POST, so reloading it (without JavaScript, which
    puts /xac-nhan in the address bar) sends the form again: the page comes back, no new SMS."""
    client = app.test_client()
    token = csrf_from(page(client.get(BASE + "/dang-ky")))
    form = {"csrf_token": token, **registration(1)}
    first = client.post(BASE + "/dang-ky", data=form)
    again = client.post(BASE + "/dang-ky", data=form)
    assert first.status_code == again.status_code == 200 and "Nhập mã xác nhận" in page(again)
    assert len(codes_sent(dep, PHONES[1])) == 1
    assert confirm(client, codes_sent(dep)[-1]).status_code == 200  # that one code still registers
    # A change to what was typed is a new registration: a new code for it.
    changed = client.post(BASE + "/dang-ky", data={**form, "phone": PHONES[2]})
    assert changed.status_code == 200 and len(codes_sent(dep, PHONES[2])) == 1


def test_a_registered_number_gets_the_same_answer_as_a_new_one(dep, app):
    assert register_verified(dep, app.test_client(), n=1).status_code == 200
    stranger, newcomer = app.test_client(), app.test_client()
    taken = post_registration(stranger, n=1, full_name="Kẻ Mạo Danh")
    fresh = post_registration(newcomer, n=2, full_name="Kẻ Mạo Danh")
    assert taken.status_code == fresh.status_code == 200
    waiting = [page(taken), page(fresh), *(page(c.get(BASE + "/xac-nhan")) for c in (stranger, newcomer))]
    assert re.sub(r"\*{7}\d{3}|value=\"[^\"]+\"", "", waiting[2]) == re.sub(r"\*{7}\d{3}|value=\"[^\"]+\"", "", waiting[3])
    assert re.sub(r"\*{7}\d{3}|value=\"[^\"]+\"", "", waiting[0]) == re.sub(r"\*{7}\d{3}|value=\"[^\"]+\"", "", waiting[1])
    # The code went to the owner's phone; the stranger has 5 guesses at a 6-digit code, then none.
    for guess in ("123456", "234567", "345678", "456789", "567890"):
        assert confirm(stranger, guess).status_code == 422
    assert confirm(stranger, codes_sent(dep, PHONES[1])[-1]).status_code == 422  # spent after 5 wrong tries
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 1


def test_the_owner_typing_the_code_again_continues_as_themselves(dep, app):
    register_verified(dep, app.test_client(), n=1)
    other_phone = app.test_client()
    again = register_verified(dep, other_phone, n=1)
    assert again.status_code == 303
    assert "đã đăng ký dự thi trước đó" in page(other_phone.get(BASE))
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 1
    assert "Tiếp tục làm bài" in page(other_phone.get(BASE))


def test_civil_servants_may_verify_with_an_official_email(dep, app):
    client = app.test_client()
    wrong_domain = post_registration(client, n=3, audience="cbccvc", email="mai@gmail.com")
    assert wrong_domain.status_code == 422 and "hatinh.gov.vn" in page(wrong_domain)
    assert 'value="Trần Thị Mai"' in page(wrong_domain)  # the form comes back filled in
    citizen = post_registration(client, n=3, audience="nhan-dan", email="mai@ductho.hatinh.gov.vn")
    assert citizen.status_code == 422 and "để trống ô thư điện tử" in page(citizen)
    sent = post_registration(client, n=3, audience="cbccvc", email="Mai.TT@DucTho.HaTinh.gov.vn")
    assert sent.status_code == 200 and "thư điện tử" in page(sent)
    assert codes_sent(dep, "Mai.TT@ductho.hatinh.gov.vn") and not codes_sent(dep, PHONES[3])
    assert "thư điện tử" in page(client.get(BASE + "/xac-nhan"))
    assert confirm(client, codes_sent(dep)[-1]).status_code == 200
    row = dep.db.execute("select verified_by, email_hash from contest_participants").fetchone()
    assert row[0] == "email" and len(row[1]) == 64
    # The address itself is kept nowhere in the contest's tables.
    dump = " ".join(str(v) for r in dep.db.execute("select * from contest_participants") for v in r)
    assert "mai.tt" not in dump.lower()
    # Continuing on another device by the same e-mail address.
    other = app.test_client()
    token = csrf_from(page(other.get(BASE + "/tiep-tuc")))
    assert other.post(BASE + "/tiep-tuc", data={"csrf_token": token, "email": "mai.tt@ductho.hatinh.gov.vn"}
                      ).status_code == 303
    assert confirm(other, codes_sent(dep)[-1]).status_code == 303
    assert "Tiếp tục làm bài" in page(other.get(BASE))


def test_codes_are_capped_per_contest_a_day(make_deployment, make_app):
    dep = make_deployment(plugins=("contest",), messages=MESSAGES)
    data = contest_data(verified=True)
    data["contest"]["verification"] = {"phone_channel": "sms", "email_domains": ["hatinh.gov.vn"], "daily_codes": 2}
    load_contest(dep, data)
    app = make_app(dep)
    assert post_registration(app.test_client(), n=1).status_code == 200
    assert post_registration(app.test_client(), n=2).status_code == 200
    third = post_registration(app.test_client(), n=3)
    assert third.status_code == 422 and "Không gửi được mã xác nhận lúc này" in page(third)
    assert len(codes_sent(dep)) == 2


def test_a_number_sent_too_many_codes_reads_as_sent(dep, app):
    """The core sends 3 codes to a number in 15 minutes; the 4th request must not tell a stranger
    that someone else asked for codes to that number."""
    pages = []
    for _ in range(4):
        response = post_registration(app.test_client(), n=4)
        assert response.status_code == 200
        pages.append(re.sub(r'value="[^"]+"', "", page(response)))
    assert len(codes_sent(dep, PHONES[4])) == 3
    assert pages[3] == pages[0]  # the 4th answer reads as the 1st


def test_no_sender_for_the_channel_says_so_without_naming_the_number(make_deployment, make_app):
    dep = make_deployment(plugins=("contest",))  # no [messages] senders at all
    load_contest(dep, contest_data(verified=True))
    response = post_registration(make_app(dep).test_client(), n=1)
    assert response.status_code == 422 and "Không gửi được mã xác nhận" in page(response)
    assert 'value="Trần Thị Mai"' in page(response)


def test_erasing_needs_the_bound_device(dep, app):
    client = app.test_client()
    register_verified(dep, client, n=5)
    # The same session without the device cookie (a copied session, say): it can read, not erase.
    client.delete_cookie(next(c.key for c in client._cookies.values() if c.key.startswith("ccch_cuoc_thi_")))
    token = csrf_from(page(client.get(BASE + "/cua-toi")))
    refused = client.post(BASE + "/cua-toi/xoa", data={"csrf_token": token, "xac_nhan": "1"})
    assert refused.status_code == 403 and "Tiếp tục dự thi" in page(refused)
    assert dep.db.execute("select deleted_at from contest_participants").fetchone()[0] is None


def test_the_device_cookie_restores_the_participant_after_the_session_ends(dep, app):
    client = app.test_client()
    done = register_verified(dep, client, n=6)
    url = re.search(r'data-canonical="([^"]+)"', page(done)).group(1)
    client.delete_cookie("ccch_session")
    assert client.get(url).status_code == 200  # the device secret, not the session, knows them
    forged = app.test_client()
    cookie = next(c for c in client._cookies.values() if c.key.startswith("ccch_cuoc_thi_"))
    pid = cookie.value.split(".")[0]
    forged.set_cookie(cookie.key, f"{pid}.not-the-secret")
    assert forged.get(url).status_code == 403
    assert A.get_attempt(dep.db, url.rsplit("/", 1)[-1]).status == "open"


def test_resending_gives_a_new_code_and_the_old_one_stops_working(dep, app):
    client = app.test_client()
    assert post_registration(client, n=8).status_code == 200
    first = codes_sent(dep, PHONES[8])[-1]
    token = csrf_from(page(client.get(BASE + "/xac-nhan")))
    resent = client.post(BASE + "/xac-nhan", data={"csrf_token": token, "gui_lai": "1"})
    assert resent.status_code == 303 and "Đã gửi lại mã xác nhận" in page(client.get(BASE + "/xac-nhan"))
    second = codes_sent(dep, PHONES[8])[-1]
    assert len(codes_sent(dep, PHONES[8])) == 2
    if first != second:
        assert confirm(client, first).status_code == 422
    assert confirm(client, second).status_code == 200
    # Past the per-number limit (3 in 15 minutes) a resend still reads as sent, and sends nothing.
    other = app.test_client()
    assert post_registration(other, n=9).status_code == 200
    for _ in range(4):
        token = csrf_from(page(other.get(BASE + "/xac-nhan")))
        assert other.post(BASE + "/xac-nhan", data={"csrf_token": token, "gui_lai": "1"}).status_code == 303
    assert len(codes_sent(dep, PHONES[9])) == 3


def test_correcting_the_registration_from_the_code_page_keeps_what_was_typed(dep, app):
    client = app.test_client()
    assert post_registration(client, n=10, full_name="Phan Văn Sửa").status_code == 200
    form = page(client.get(BASE + "/dang-ky"))
    assert 'value="Phan Văn Sửa"' in form and f'value="{PHONES[10]}"' in form and 'value="1988"' in form


def test_leaving_a_shared_computer_unbinds_it(dep, app):
    """"Thoát" ended the session, but the device secret brought the participant back on the next
    page: the next person at the computer could erase them."""
    client = app.test_client()
    register_verified(dep, client, n=11)
    token = csrf_from(page(client.get(BASE)))
    left = client.post(BASE + "/thoat", data={"csrf_token": token})
    assert left.status_code == 303 and any("ccch_cuoc_thi_" in c for c in left.headers.getlist("Set-Cookie"))
    assert client.get(BASE + "/cua-toi").status_code == 303  # nobody here now
    assert dep.db.execute("select count(*) from contest_devices where kind = 'device'").fetchone()[0] == 0


def test_one_client_cannot_use_up_the_contests_codes_for_the_day(make_deployment, make_app):
    """The contest's cap counts codes really issued, after the per-client limit: a client refused
    by its own limit leaves the day's codes to everyone else."""
    dep = make_deployment(plugins=("contest",), messages=MESSAGES,
                          plugin_settings={"contest": {"limit_codes": [3, 3600]}})
    data = contest_data(verified=True)
    data["contest"]["verification"] = {"phone_channel": "sms", "daily_codes": 5}
    data["audiences"][0]["verify"] = "phone"
    load_contest(dep, data)
    app = make_app(dep)
    attacker = app.test_client()
    for n in range(10):
        post_registration(attacker, n=n)
    assert len(codes_sent(dep)) == 3  # its own limit
    fresh = []
    for n, address in ((20, "10.1.2.3"), (21, "10.4.5.6")):
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = address  # another network
        fresh.append(post_registration(other, n=n).status_code)
    assert fresh == [200, 200] and len(codes_sent(dep)) == 5  # others still get theirs (the code page)


def test_readiness_says_what_verification_and_disclosure_need(make_deployment):
    from ccch_contest.checks import readiness

    dep = make_deployment(plugins=("contest",))  # no sender
    contest = load_contest(dep, contest_data(verified=True, score_disclosure="immediately"), publish=False)
    notes = [c.message for c in readiness(dep, contest) if not c.blocking]
    assert any("Hệ thống chưa gửi được tin nhắn SMS" in n for n in notes)
    assert any("Điểm hiện ngay khi nộp bài" in n for n in notes)
    assert any("dùng chung ngân hàng câu hỏi" in n for n in notes)
    with_sender = make_deployment(plugins=("contest",), messages=MESSAGES)
    quiet = load_contest(with_sender, contest_data(verified=True), publish=False)
    assert not any("chưa gửi được tin nhắn" in c.message or "Điểm hiện ngay" in c.message
                   for c in readiness(with_sender, quiet))


@pytest.mark.parametrize("address", ["mai@@hatinh.gov.vn", "mai hoa@hatinh.gov.vn", "a" * 300 + "@hatinh.gov.vn", "mai@"])
def test_a_malformed_official_email_is_refused_on_its_field(dep, app, address):
    response = post_registration(app.test_client(), n=12, audience="cbccvc", email=address)
    assert response.status_code == 422 and "hatinh.gov.vn" in page(response)
    assert 'value="Trần Thị Mai"' in page(response) and codes_sent(dep) == []


def test_the_code_step_hashes_and_draws_before_taking_the_write_lock(dep, app, monkeypatch):
    """The code, the registration and the start are one turn of the write lock; what needs no
    database (the keyed hashes of the number and of where it came from, the draw and its JSON) is
    done before it, so the other workers wait less (issue #16: the served rate)."""
    from ccch_core import privacy

    client = app.test_client()
    sent = post_registration(client)
    seen: list[tuple[str, bool]] = []
    real_hash, real_draw = privacy.keyed_hash, A.draw

    def keyed_hash(key, purpose, value):
        seen.append((purpose, dep.db.conn.in_transaction))
        return real_hash(key, purpose, value)

    def draw(*args, **kwargs):
        seen.append(("draw", dep.db.conn.in_transaction))
        return real_draw(*args, **kwargs)

    monkeypatch.setattr(privacy, "keyed_hash", keyed_hash)
    monkeypatch.setattr(A, "draw", draw)
    done = client.post(BASE + "/xac-nhan", data={"csrf_token": csrf_from(page(sent)), "ma": codes_sent(dep)[-1]})
    assert done.status_code == 200 and "/bai-thi/" in page(done)
    registration_work = [(p, inside) for p, inside in seen
                         if p in ("contest-phone", "contest-source", "contest-device-source", "draw")]
    assert sorted(p for p, _ in registration_work) == ["contest-device-source", "contest-phone", "contest-source", "draw"]
    assert not any(inside for _, inside in registration_work)
    # What was made before is what was stored.
    participant = dep.db.execute("select id, phone_hash from contest_participants").fetchone()
    assert participant[1] == real_hash(dep.secret_key, "contest-phone", PHONES[1])
    attempt = A.get_attempt(dep.db, re.search(r"/bai-thi/([\w-]+)", page(done)).group(1))
    assert attempt.participant_id == participant[0] and len(attempt.questions) == 15


def test_a_draw_made_before_the_lock_is_used_only_while_it_still_fits(dep, app, contest):
    """start_attempt takes a draw made beforehand only for the same contest version, bank version
    and audience as the participant's; otherwise it draws again."""
    import attrs

    client = app.test_client()
    register_verified(dep, client, 1, start_now="")
    register_verified(dep, app.test_client(), 2, start_now="")
    first, second = [r[0] for r in dep.db.execute("select id from contest_participants order by id")]
    assert A.draw_for(dep, contest, "no-such-audience") is None
    drawn = A.draw_for(dep, contest, "nhan-dan")
    assert drawn is not None and json.loads(drawn.stored) == [list(q) for q in drawn.questions]
    started = A.start_attempt(dep, contest, first, drawn=drawn)
    assert started.attempt.questions == drawn.questions
    assert json.loads(dep.db.execute("select questions from contest_attempts where id = ?",
                                     [started.attempt.id]).fetchone()[0]) == [list(q) for q in drawn.questions]
    impossible = ((-1, "0123"),)
    for stale in (attrs.evolve(drawn, questions=impossible, bank_version=drawn.bank_version + 1),
                  attrs.evolve(drawn, questions=impossible, audience="cbccvc"),
                  attrs.evolve(drawn, questions=impossible, contest_version=drawn.contest_version + 1)):
        again = A.start_attempt(dep, contest, second, drawn=stale)
        assert (-1, "0123") not in again.attempt.questions and len(again.attempt.questions) == 15
        dep.db.execute("delete from contest_attempts where id = ?", [again.attempt.id])
        dep.db.conn.commit()
