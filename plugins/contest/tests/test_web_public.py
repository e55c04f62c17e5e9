"""The participant's pages: the whole flow without JavaScript, no correct answer on any page or
response, the server's clock, CSRF, consent, rate limits, identity on another device, the review
after the round, masked leaderboards, page weight."""

from __future__ import annotations

import datetime as dt
import html
import random
import re
import threading
from html.parser import HTMLParser

import attrs
import pytest
from ccch_contest import attempts as A
from ccch_contest.participants import REFUSED
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


def unquoted(response) -> str:
    """The page with HTML's quote entities read back (the refusal quotes “Tiếp tục dự thi”)."""
    return html.unescape(page(response))


def register(client, n=1, **overrides):
    token = csrf_from(page(client.get(BASE + "/dang-ky")))
    form = {"csrf_token": token, "full_name": "Trần Thị Mai", "phone": PHONES[n], "birth_year": "1988",
            "audience": "cbccvc", "unit_id": "xa-an-dung", "occupation": "Công chức văn hóa", "consent": "1"}
    form.update(overrides)
    return client.post(BASE + "/dang-ky", data=form)


def start(client):
    token = csrf_from(page(client.get(BASE)))
    response = client.post(BASE + "/bat-dau", data={"csrf_token": token})
    assert response.status_code == 303, page(response)[:500]
    return response.headers["Location"]


def attempt_of(dep, url):
    token = url.rstrip("/").rsplit("/", 1)[-1]
    return A.get_attempt(dep.db, token)


def submit_data(dep, contest, attempt, html, *, wrong=0, prediction="7"):
    data = {"csrf_token": csrf_from(html), "du_doan": prediction}
    for key, values in correct_form(dep, contest, attempt, wrong=wrong).items():
        data[key] = values
    return data


@pytest.fixture
def app(dep, contest, make_app):
    return make_app(dep)


def test_the_whole_flow_without_javascript(app, dep, contest):
    client = app.test_client()
    landing = page(client.get(BASE))
    assert "Đăng ký dự thi" in landing and "Giải Nhất" in landing and "Tuần thứ nhất" not in landing
    response = register(client)
    assert response.status_code == 303
    url = start(client)
    attempt = attempt_of(dep, url)
    html = page(client.get(url))
    assert html.count('<fieldset class="q">') == 20 + 1  # 20 questions and the prediction
    assert 'name="du_doan"' in html
    # Save (the "Lưu tạm" button posts the same form to /luu) keeps answers on the server.
    data = submit_data(dep, contest, attempt, html, wrong=2)
    saved = client.post(url + "/luu", data=data)
    assert saved.status_code == 303 and saved.headers["Location"].endswith(url)
    assert A.get_attempt(dep.db, attempt.token).answers
    again = page(client.get(url))
    assert again.count(" checked>") >= 18  # the saved choices are checked again
    done = client.post(url + "/nop", data=data)  # the result page answers the submission itself
    assert done.status_code == 200 and done.headers["X-Contest-Submission"] == "accepted"
    result = page(done)
    # The default score_disclosure = "after_close": the score waits for the round's end, since a
    # score shown at once tells a fleet of throwaway entries which answers are right.
    assert "Bài thi đã được ghi nhận" in result and "18/20" not in result and "Thời gian làm bài" in result
    assert f'data-canonical="{BASE}/ket-qua/{attempt.token}"' in result  # the script puts it in the address bar
    assert page(client.get(f"{BASE}/ket-qua/{attempt.token}")) == result
    stored = A.get_attempt(dep.db, attempt.token)
    assert (stored.status, stored.score, stored.prediction) == ("submitted", 18, 7.0)
    # Reloading the result page sends the form again: the same result, nothing counted twice.
    again = client.post(url + "/nop", data=submit_data(dep, contest, attempt, html, wrong=0))
    assert again.status_code == 200 and again.headers["X-Contest-Submission"] == "already"
    assert "Bài thi đã được ghi nhận" in page(again) and A.get_attempt(dep.db, attempt.token).score == 18
    assert "18/20" not in page(client.get(BASE + "/cua-toi"))
    # The attempt page now sends to the result; the review waits for the round's end.
    assert client.get(url).status_code == 303
    review = client.get(f"{BASE}/xem-lai/{attempt.token}")
    assert review.status_code == 403 and "sau khi vòng thi kết thúc" in page(review)


class Options(HTMLParser):
    """Each question's option inputs and labels, with the label text left out."""

    def __init__(self):
        super().__init__()
        self.questions: dict[str, list[str]] = {}
        self._current: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and re.fullmatch(r"q\d+", attrs.get("name") or ""):
            shape = sorted((k, v if k not in ("value",) else "N") for k, v in attrs.items() if k != "checked")
            self.questions.setdefault(attrs["name"], []).append(repr(shape))
        if tag == "label" and self._current is None:
            self._current = [repr(sorted(attrs.items()))]


MARKERS = ("correct", "— đáp án đúng", "dap-an-dung", "dap_an", "is-correct", "answer-key", "data-answer", '"dung"', "'dung'")


def scan(text: str, label: str):
    lowered = text.lower()
    for marker in MARKERS:
        assert marker not in lowered, f"{marker!r} in {label}"


def test_no_page_or_response_shows_the_correct_answers(app, dep, contest):
    client = app.test_client()
    seen = []

    def get(url, **kw):
        response = client.get(url, **kw)
        seen.append((url, response))
        return response

    def post(url, **kw):
        response = client.post(url, **kw)
        seen.append((url, response))
        return response

    get(BASE)
    get(BASE + "/dang-ky")
    token = csrf_from(page(seen[-1][1]))
    post(BASE + "/dang-ky", data={"csrf_token": token, "full_name": "Lê Văn Bình", "phone": PHONES[3],
                                  "birth_year": "1980", "audience": "cbccvc", "unit_id": "xa-yen-ho", "consent": "1"})
    get(BASE)
    post(BASE + "/bat-dau", data={"csrf_token": token})
    url = seen[-1][1].headers["Location"]
    attempt = attempt_of(dep, url)
    html = page(get(url))
    data = submit_data(dep, contest, attempt, html, wrong=5)
    post(url + "/luu", data=data, headers={"X-Requested-With": "fetch", "Accept": "application/json"})
    assert seen[-1][1].get_json() == {"saved": True, "seconds_left": seen[-1][1].get_json()["seconds_left"]}
    bad = dict(data, du_doan="không biết")
    rerender = post(url + "/nop", data=bad)  # rejected prediction: the form comes back
    assert rerender.status_code == 422
    post(url + "/nop", data=data)  # answered with the result page itself
    assert seen[-1][1].status_code == 200 and seen[-1][1].headers["X-Contest-Submission"] == "accepted"
    get(f"{BASE}/ket-qua/{attempt.token}")
    get(BASE + "/bang-xep-hang")
    get(BASE + "/bang-xep-hang?vong=1")
    get(BASE + "/bang-xep-hang?vong=tong&doi-tuong=cbccvc")
    get(BASE + "/giai-thuong")
    get(BASE + "/cua-toi")
    get(BASE + "/tiep-tuc")
    get(f"{BASE}/xem-lai/{attempt.token}")  # refused before the round ends
    get("/cuoc-thi/static/contest.js")
    for address, response in seen:
        body = response.get_data(as_text=True)
        scan(body, address)
        for header, value in response.headers.items():
            scan(f"{header}: {value}", address)
    # The attempt page gives no option of a question anything the others lack.
    for checked_page in (html, page(rerender)):  # the first render and the 422 re-render
        parser = Options()
        parser.feed(checked_page)
        assert len(parser.questions) == 20
        for name, shapes in parser.questions.items():
            assert len(set(shapes)) == 1, (name, shapes)
    # And the values the form sends are display positions, not option keys.
    values = set(re.findall(r'name="q\d+" value="([^"]+)"', html))
    assert values <= {"1", "2", "3", "4", "5", "6", "7", "8"}


def test_the_review_after_the_round_shows_answers(app, dep):
    now = dt.datetime.now(UTC)
    contest = load_contest(dep, contest_data(rounds=[(now - dt.timedelta(hours=3), now + dt.timedelta(hours=1))]))
    client = app.test_client()
    register(client)
    url = start(client)
    attempt = attempt_of(dep, url)
    client.post(url + "/nop", data=submit_data(dep, contest, attempt, page(client.get(url)), wrong=1))
    assert client.get(f"{BASE}/xem-lai/{attempt.token}").status_code == 403
    # The round ends (moved into the past in the database, as the clock would).
    dep.db.execute("update contest_rounds set closes_at = ?", [(now - dt.timedelta(minutes=1)).isoformat(timespec="seconds")])
    dep.db.execute("update contest_contests set version = version + 1")
    dep.db.conn.commit()
    review = page(client.get(f"{BASE}/xem-lai/{attempt.token}"))
    assert review.count("— đáp án đúng") >= 20 and "Chưa đúng" in review
    result = page(client.get(f"{BASE}/ket-qua/{attempt.token}"))
    assert "Xếp hạng của bạn" in result and "đáp án câu dự đoán" in result.lower()


def test_never_review_when_the_contest_says_so(app, dep):
    now = dt.datetime.now(UTC)
    contest = load_contest(dep, contest_data(review="never", rounds=[(now - dt.timedelta(hours=3),
                                                                     now + dt.timedelta(hours=1))]))
    client = app.test_client()
    register(client)
    url = start(client)
    attempt = attempt_of(dep, url)
    client.post(url + "/nop", data=submit_data(dep, contest, attempt, page(client.get(url))))
    dep.db.execute("update contest_rounds set closes_at = ?", [(now - dt.timedelta(minutes=1)).isoformat(timespec="seconds")])
    dep.db.execute("update contest_contests set version = version + 1")
    dep.db.conn.commit()
    response = client.get(f"{BASE}/xem-lai/{attempt.token}")
    assert response.status_code == 403 and "không công bố đáp án" in page(response)


def test_the_server_enforces_the_time_limit(app, dep, contest):
    client = app.test_client()
    register(client)
    url = start(client)
    attempt = attempt_of(dep, url)
    html = page(client.get(url))
    client.post(url + "/luu", data=submit_data(dep, contest, attempt, html, wrong=12))
    # Time passes: the attempt started 20 minutes ago (limit 15, grace 30 s).
    shift = 20 * 60_000
    dep.db.execute("update contest_attempts set started_ms = started_ms - ?, deadline_ms = deadline_ms - ?, "
                   "accept_until_ms = accept_until_ms - ? where id = ?", [shift, shift, shift, attempt.id])
    dep.db.conn.commit()
    response = client.post(url + "/nop", data=submit_data(dep, contest, attempt, html))
    assert response.status_code == 200 and response.headers["X-Contest-Submission"] == "late"
    assert "chỉ những câu trả lời đã lưu trước giờ hết hạn được tính" in page(response)
    stored = A.get_attempt(dep.db, attempt.token)
    assert (stored.score, stored.finish) == (8, "overdue")
    assert client.get(url).status_code == 303  # no more answering


def test_two_tabs_submitting_at_once_count_once(app, dep, contest):
    client = app.test_client()
    register(client)
    url = start(client)
    attempt = attempt_of(dep, url)
    data = submit_data(dep, contest, attempt, page(client.get(url)))
    cookie = client.get_cookie("ccch_session").value
    barrier = threading.Barrier(2)
    codes = []

    def tab():
        other = app.test_client()
        other.set_cookie("ccch_session", cookie)
        barrier.wait()
        response = other.post(url + "/nop", data=data)
        codes.append((response.headers.get("X-Contest-Submission"), response.status_code))
        dep.close()

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [("accepted", 200), ("already", 200)]  # both see the result, one counted
    rows = dep.db.execute("select status, counted from contest_attempts").fetchall()
    assert rows == [("submitted", 1)]
    assert dep.db.execute("select count(*) from contest_attempts where counted = 1").fetchone()[0] == 1


def test_consent_is_required_and_the_form_comes_back_kept(app, dep, contest):
    client = app.test_client()
    response = register(client, consent="")
    assert response.status_code == 422
    html = page(response)
    assert "đồng ý với việc xử lý dữ liệu cá nhân" in html
    assert 'value="Trần Thị Mai"' in html and f'value="{PHONES[1]}"' in html and 'value="1988"' in html
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 0
    assert "Nghị định số 13/2023/NĐ-CP" in page(client.get(BASE + "/dang-ky"))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("phone", "12345", "Số điện thoại không hợp lệ"),
    ("birth_year", "2015", "từ 18 tuổi trở lên"),
    ("full_name", "A", "đầy đủ họ và tên"),
    ("unit_id", "phong-noi-vu", "không tham gia dự thi"),
    ("unit_id", "xa-an-dung.truyen-thanh", "không có trong danh sách"),
    ("citizen_id", "123", "đúng 12 chữ số"),
    ("website", "http://spam", "không hợp lệ"),
])
def test_registration_problems(app, dep, contest, field, value, message):
    response = register(app.test_client(), **{field: value})
    assert response.status_code == 422 and message in page(response)


def test_one_participant_per_phone_number(app, dep, contest):
    assert register(app.test_client(), n=5).status_code == 303
    again = register(app.test_client(), n=5, full_name="Người Khác Hẳn", phone="+84 " + PHONES[5][1:])
    assert again.status_code == 422 and REFUSED in unquoted(again)
    row = dep.db.execute("select phone_hash, phone_masked, contact_phone from contest_participants").fetchone()
    assert len(row[0]) == 64 and row[1] == "*******" + PHONES[5][-3:]
    assert PHONES[5] not in row[0]


def test_identify_on_another_device_and_resume(app, dep, contest):
    first = app.test_client()
    register(first, n=7)
    url = start(first)
    # On the registering device, "Của tôi" makes a written resume code (shown once).
    made = first.post(BASE + "/cua-toi/ma-tiep-tuc", data={"csrf_token": csrf_from(page(first.get(BASE + "/cua-toi")))})
    code = re.search(r'class="big">([A-Z0-9-]{14})<', page(made)).group(1)
    second = app.test_client()
    assert second.get(url).status_code == 403  # not known on this device yet
    token = csrf_from(page(second.get(BASE + "/tiep-tuc")))
    # The year of birth identifies nobody any more (it took 11 tries to take someone's place).
    old_way = second.post(BASE + "/tiep-tuc", data={"csrf_token": token, "phone": PHONES[7], "birth_year": "1988"})
    assert old_way.status_code == 422 and second.get(url).status_code == 403
    wrong = second.post(BASE + "/tiep-tuc", data={"csrf_token": token, "cach": "ma-tiep-tuc", "resume_phone": PHONES[7],
                                                  "ma_tiep_tuc": "ABCD-EFGH-JKLM"})
    assert wrong.status_code == 422 and "mã tiếp tục dự thi không đúng" in page(wrong)
    ok = second.post(BASE + "/tiep-tuc", data={"csrf_token": token, "cach": "ma-tiep-tuc", "resume_phone": PHONES[7],
                                               "ma_tiep_tuc": code.lower()})
    assert ok.status_code == 303
    assert "Tiếp tục làm bài" in page(second.get(BASE))
    assert second.get(url).status_code == 200


def test_someone_elses_attempt_is_forbidden(app, dep, contest):
    owner = app.test_client()
    register(owner, n=1)
    url = start(owner)
    intruder = app.test_client()
    register(intruder, n=2)
    assert intruder.get(url).status_code == 403
    token = csrf_from(page(intruder.get(BASE)))
    assert intruder.post(url + "/nop", data={"csrf_token": token}).status_code == 403
    assert A.get_attempt(dep.db, url.rsplit("/", 1)[-1]).status == "open"


def test_csrf_is_enforced_on_every_participant_form(app, dep, contest):
    client = app.test_client()
    no_token = client.post(BASE + "/dang-ky", data={"full_name": "Trần Văn An", "phone": PHONES[1],
                                                    "birth_year": "1980", "consent": "1"})
    assert no_token.status_code == 400 and "Phiên làm việc đã hết hạn" in page(no_token)
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 0
    register(client)
    assert client.post(BASE + "/bat-dau", data={}).status_code == 400
    url = start(client)
    attempt = attempt_of(dep, url)
    data = submit_data(dep, contest, attempt, page(client.get(url)))
    data.pop("csrf_token")
    for path in ("/nop", "/luu"):
        assert client.post(url + path, data=data).status_code == 400
    assert A.get_attempt(dep.db, attempt.token).status == "open"
    for path in ("/thoat", "/cua-toi/xoa"):
        assert client.post(BASE + path, data={"xac_nhan": "1"}).status_code == 400


def test_rate_limits(make_deployment, make_app):
    dep = make_deployment(plugins=("contest",), plugin_settings={"contest": {
        "limit_register": [2, 3600], "limit_identify": [2, 600], "limit_start": [3, 60]}})
    load_contest(dep, contest_data())
    app = make_app(dep)
    client = app.test_client()
    assert register(client, n=1).status_code == 303
    assert register(client, n=2).status_code == 303
    third = register(client, n=3)
    assert third.status_code == 422 and REFUSED in unquoted(third)  # reads like any refusal
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 2
    made = client.post(BASE + "/cua-toi/ma-tiep-tuc", data={"csrf_token": csrf_from(page(client.get(BASE + "/cua-toi")))})
    code = re.search(r'class="big">([A-Z0-9-]{14})<', page(made)).group(1)
    other = app.test_client()
    token = csrf_from(page(other.get(BASE + "/tiep-tuc")))
    for _ in range(2):
        response = other.post(BASE + "/tiep-tuc", data={"csrf_token": token, "cach": "ma-tiep-tuc",
                                                        "resume_phone": PHONES[2], "ma_tiep_tuc": "AAAA-AAAA-AAAA"})
        assert response.status_code == 422
    # Over the limit even the right code is refused, in the same words as a wrong one.
    late = other.post(BASE + "/tiep-tuc", data={"csrf_token": token, "cach": "ma-tiep-tuc", "resume_phone": PHONES[2],
                                                "ma_tiep_tuc": code})
    assert late.status_code == 422 and "mã tiếp tục dự thi không đúng" in page(late)
    token = csrf_from(page(client.get(BASE)))
    codes = [client.post(BASE + "/bat-dau", data={"csrf_token": token}).status_code for _ in range(4)]
    assert codes == [303, 303, 303, 429]


def test_prediction_is_required_and_kept(app, dep, contest):
    client = app.test_client()
    register(client)
    url = start(client)
    attempt = attempt_of(dep, url)
    data = submit_data(dep, contest, attempt, page(client.get(url)), prediction="")
    response = client.post(url + "/nop", data=data)
    assert response.status_code == 422
    html = page(response)
    chosen = sum(len(v) for k, v in data.items() if re.fullmatch(r"q\d+", k))
    assert "Vui lòng trả lời câu hỏi dự đoán" in html and html.count(" checked>") == chosen >= 20
    assert A.get_attempt(dep.db, attempt.token).status == "open"
    # The page's countdown submits at 0:00 with het_gio=1: accepted without a prediction.
    response = client.post(url + "/nop", data=dict(data, het_gio="1"))
    assert response.status_code == 200 and response.headers["X-Contest-Submission"] == "accepted"
    assert A.get_attempt(dep.db, attempt.token).prediction is None


def test_leaderboard_is_masked(app, dep, make_app):
    """Name, unit and at most the last 3 digits (the civil servants' audience of the example
    sets 3; the citizens' shows none, the default)."""
    contest = load_contest(dep, contest_data(score_disclosure="immediately"))
    for n in range(3):
        client = app.test_client()
        register(client, n=n, full_name=f"Phạm Văn {'ABC'[n]}")
        url = start(client)
        attempt = attempt_of(dep, url)
        client.post(url + "/nop", data=submit_data(dep, contest, attempt, page(client.get(url)), wrong=n))
    board = page(app.test_client().get(BASE + "/bang-xep-hang"))
    assert board.index("Phạm Văn A") < board.index("Phạm Văn B") < board.index("Phạm Văn C")
    for n in range(3):
        assert PHONES[n] not in board and PHONES[n][:4] not in board
        assert "…" + PHONES[n][-3:] in board
    assert "Tạm tính" in board
    citizens = page(app.test_client().get(BASE + "/bang-xep-hang?doi-tuong=nhan-dan"))
    assert "Điện thoại" not in citizens


def test_pages_are_light_and_need_no_inline_script(app, dep, contest):
    client = app.test_client()
    register(client)
    url = start(client)
    pages = [client.get(p) for p in (BASE, BASE + "/dang-ky", url, BASE + "/bang-xep-hang", BASE + "/cua-toi")]
    for response in pages:
        html = page(response)
        assert response.status_code == 200
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
        assert " style=" not in html and "<style" not in html
        assert "http://" not in html and "https://" not in html  # nothing from other sites
    attempt_html = page(pages[2])
    assets = re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js))"', attempt_html)
    assert len(assets) == 3  # public.css, contest.css, contest.js
    weight = len(pages[2].get_data()) + sum(len(client.get(a).get_data()) for a in assets)
    assert weight < 50_000, weight
    assert pages[2].headers["Cache-Control"] == "no-store"


def test_erase_my_data(app, dep, contest):
    client = app.test_client()
    register(client, n=4)
    html = page(client.get(BASE + "/cua-toi"))
    assert "Trần Thị Mai" in html and "*******" + PHONES[4][-3:] in html and PHONES[4][:4] not in html
    token = csrf_from(html)
    kept = client.post(BASE + "/cua-toi/xoa", data={"csrf_token": token})
    assert kept.status_code == 303
    assert dep.db.execute("select deleted_at from contest_participants").fetchone()[0] is None
    client.post(BASE + "/cua-toi/xoa", data={"csrf_token": token, "xac_nhan": "1"})
    row = dep.db.execute("select full_name, phone_hash, deleted_at from contest_participants").fetchone()
    assert row[0] is None and row[1] is None and row[2]
    assert client.get(BASE + "/cua-toi").status_code == 303
    # The number can register again (a new, separate entry).
    assert register(app.test_client(), n=4).status_code == 303


def test_unpublished_and_unknown_contests_are_404(app, dep, contest):
    from ccch_contest.lifecycle import set_status

    set_status(dep, contest, "draft")
    response = app.test_client().get(BASE)
    assert response.status_code == 404 and "chưa mở" in page(response)
    assert app.test_client().get("/cuoc-thi/khong-co").status_code == 404


def test_index_lists_published_contests(app, dep, contest):
    response = app.test_client().get("/cuoc-thi/")
    assert response.status_code == 302 and response.headers["Location"].endswith(BASE)


def test_register_and_start_in_one_go(app, dep, contest):
    client = app.test_client()
    form = page(client.get(BASE + "/dang-ky"))
    assert 'name="start_now" value="1" checked' in form
    response = register(client, start_now="1")
    assert response.status_code == 200  # the attempt page answers the registration itself
    html = page(response)
    url = re.search(r'data-canonical="([^"]+)"', html).group(1)
    assert "/bai-thi/" in url and html.count('<fieldset class="q">') == 20 + 1
    attempt = attempt_of(dep, url)
    assert attempt.status == "open" and len(attempt.questions) == 20
    # Reloading that page sends the registration again: the same attempt, no "already registered".
    again = register(client, start_now="1")
    assert again.status_code == 200 and f'data-canonical="{url}"' in page(again)
    assert dep.db.execute("select count(*) from contest_attempts").fetchone()[0] == 1
    # Another phone number on the same browser is a registration of its own.
    other = register(client, n=2, start_now="1")
    assert other.status_code == 200 and f'data-canonical="{url}"' not in page(other)
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 2


def test_a_registered_phone_on_another_browser_is_still_refused(app, dep, contest):
    register(app.test_client(), start_now="1")
    response = register(app.test_client(), start_now="1")  # same number, a browser that is not theirs
    assert response.status_code == 422 and REFUSED in unquoted(response)
    assert 'value="Trần Thị Mai"' in page(response)  # the form comes back filled in


def test_the_blank_registration_form_is_cached_but_each_visitor_gets_a_token(app, dep, contest):
    import attrs
    from ccch_contest.contests import save_definition

    first, second = app.test_client(), app.test_client()
    page_one, page_two = page(first.get(BASE + "/dang-ky")), page(second.get(BASE + "/dang-ky"))
    token_one, token_two = csrf_from(page_one), csrf_from(page_two)
    assert token_one != token_two and "ccch-csrf-token-slot" not in page_one + page_two
    assert page_one.replace(token_one, "") == page_two.replace(token_two, "")  # the same page otherwise
    assert register(first, n=1).status_code == 303 and register(second, n=2).status_code == 303  # each token works
    # A changed definition (the manager renamed an audience) shows at once.
    renamed = attrs.evolve(contest.definition.audiences[0], name="Cán bộ, công chức cấp xã")
    save_definition(dep, attrs.evolve(contest.definition, audiences=(renamed, *contest.definition.audiences[1:])))
    assert "Cán bộ, công chức cấp xã" in page(app.test_client().get(BASE + "/dang-ky"))
    # A message waiting to be shown (after "Thoát") is not lost to the cached page.
    token = csrf_from(page(first.get(BASE)))
    first.post(BASE + "/thoat", data={"csrf_token": token})
    assert "Thiết bị này đã thoát khỏi tài khoản dự thi." in page(first.get(BASE + "/dang-ky"))


def test_register_and_start_when_the_start_is_refused_still_registers(make_deployment, make_app):
    # The first participant (id 1) has used up their starts for this minute and the next: the
    # start is throttled inside the transaction that registers them.
    dep = make_deployment(plugins=("contest",), plugin_settings={"contest": {"limit_start": [1, 60]}})
    load_contest(dep, contest_data())
    minute = int(dt.datetime.now(dt.UTC).timestamp()) // 60 * 60
    for window in (minute, minute + 60):
        dep.db.execute("insert into rate_limits (bucket, key, window, count) values ('contest-start', '1', ?, 1)",
                       [window])
    dep.db.conn.commit()
    client = make_app(dep).test_client()
    response = register(client, start_now="1")
    assert response.status_code == 303 and response.headers["Location"].endswith(BASE)  # to the landing page
    assert "Đăng ký thành công" in page(client.get(BASE))
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 1  # committed
    assert dep.db.execute("select count(*) from contest_attempts").fetchone()[0] == 0
    # A refused registration in the same combined transaction leaves no participant behind, but its
    # rate-limit hit stays counted (registered numbers cannot be probed freely).
    before = dep.db.execute("select coalesce(sum(count), 0) from rate_limits where bucket = 'contest-register'"
                            ).fetchone()[0]
    again = register(make_app(dep).test_client(), start_now="1")  # the same phone on another browser
    assert again.status_code == 422 and REFUSED in unquoted(again)
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 1
    assert dep.db.execute("select coalesce(sum(count), 0) from rate_limits where bucket = 'contest-register'"
                          ).fetchone()[0] == before + 1


def test_the_attempt_page_token_is_good_for_that_attempt_only(app, dep, contest):
    """Save and submit check the attempt page's form token (bound to the attempt, signed by the
    deployment) instead of the session's CSRF token, which is still accepted for a page rendered
    before an upgrade."""
    import time

    from ccch_core.web.formtoken import issue_form_token

    owner, other = app.test_client(), app.test_client()
    register(owner, n=1)
    register(other, n=2)
    url, other_url = start(owner), start(other)
    attempt = attempt_of(dep, url)
    html = page(owner.get(url))
    page_token, session_token = csrf_from(html), csrf_from(page(owner.get(BASE)))
    assert page_token != session_token and page_token.count(".") == 1  # "<issued>.<signature>"
    data = submit_data(dep, contest, attempt, html, wrong=1)
    # Another attempt's page token, and a token too old, are refused before anything is stored.
    with app.test_request_context():
        too_old = issue_form_token("contest-attempt", attempt.token, now=time.time() - 3 * 24 * 3600)
    for token in (csrf_from(page(other.get(other_url))), too_old, "1.x", page_token + "x"):
        for path in ("/luu", "/nop"):
            refused = owner.post(url + path, data={**data, "csrf_token": token})
            assert refused.status_code == 400 and "Phiên làm việc đã hết hạn" in page(refused), (token, path)
    assert (attempt_of(dep, url).status, attempt_of(dep, url).answers) == ("open", {})
    # The same page token does not open someone else's attempt either (bound to this one).
    assert other.post(other_url + "/nop", data={**data, "csrf_token": page_token}).status_code == 400
    # The session's own CSRF token (a page from before the change) still saves …
    assert owner.post(url + "/luu", data={**data, "csrf_token": session_token}).status_code == 303
    assert attempt_of(dep, url).answers
    # … and the page token submits.
    done = owner.post(url + "/nop", data=data)
    assert done.status_code == 200 and done.headers["X-Contest-Submission"] == "accepted"
    assert attempt_of(dep, url).score == 19


def test_the_questions_markup(dep, contest):
    """The attempt page's questions, character for character: a fieldset per question, the
    options in the drawn order with their displayed positions and letters, the choices kept
    checked, the hint on a multiple-choice question (the markup is built from pieces, issue #16)."""
    from ccch_contest.web.public import render_questions
    from ccch_contest_testing import add_participant
    from markupsafe import Markup, escape

    person = add_participant(dep, contest, 1)
    # A seeded draw: an unseeded one left out every true/false question now and then (CI failed so).
    attempt = A.start_attempt(dep, contest, person.id, rng=random.Random(3)).attempt
    bank = A.bank_for(dep, contest, attempt)
    kinds = {bank.questions[qid].type for qid, _ in attempt.questions}
    assert kinds == {"single", "multiple", "true_false"}
    answers = {}
    for position, (qid, _) in enumerate(attempt.questions, start=1):
        keys = [key for key, _ in bank.questions[qid].options]
        if position % 3:
            answers[str(position)] = keys[position % len(keys):][:2 if bank.questions[qid].type == "multiple" else 1]
    attempt = attrs.evolve(attempt, answers=answers)
    expected = []
    for position, (qid, order) in enumerate(attempt.questions, start=1):
        question = bank.questions[qid]
        multiple = question.type == "multiple"
        hint = (' <span class="hint">(có thể chọn nhiều phương án)</span>'
                if multiple and "chọn tất cả" not in question.prompt else "")
        expected.append(f'<fieldset class="q">\n  <legend>Câu {position}. {escape(question.prompt)}{hint}</legend>\n')
        for shown, index in enumerate(order):
            key, label = question.options[int(index)]
            checked = " checked" if key in answers.get(str(position), []) else ""
            expected.append(f'  <label class="opt"><input type="{"checkbox" if multiple else "radio"}" '
                            f'name="q{position}" value="{shown + 1}"{checked}> {"ABCDEFGH"[shown]}. {escape(label)}'
                            '</label>\n')
        expected.append("</fieldset>\n")
    rendered = render_questions(attempt, bank)
    assert isinstance(rendered, Markup) and str(rendered) == "".join(expected)
    assert rendered.count(" checked") == sum(len(v) for v in answers.values())
