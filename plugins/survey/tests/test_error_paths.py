"""The citizen's error paths lose nothing: a HEAD request, a device that already answered today,
long answers the form allows, a submission too large for its form, the rate limit (form back with
every answer), and refusals that must not use up the shared per-address limit."""

from __future__ import annotations

import re

import pytest
from ccch_survey.definition import DefinitionError, loads_definition
from ccch_survey.store import add_placement, largest_submission_bytes, save_survey
from ccch_survey_testing import CSRF_RE, answers, count, open_form, submit

SENTENCE = ("Thủ tục hành chính ở xã còn rườm rà, công chức hướng dẫn chưa tận tình, người dân phải đi lại "
            "nhiều lần mới xong hồ sơ.\n")
FOUR_COMMENTS = 'id = "gop-y"\ntitle = "Góp ý về dịch vụ công"\n' + "".join(
    f'[[questions]]\nkey = "y{i}"\ntype = "long_text"\nprompt = "Góp ý về yếu tố {i}"\nrequired = false\n'
    for i in range(1, 5))


def scans(dep) -> int:
    return dep.db.execute("select coalesce(sum(scans), 0) from survey_daily").fetchone()[0]


# -- HEAD ----------------------------------------------------------------------------------------


def test_head_is_a_get_without_body_and_counts_no_scan(app, dep, poster):
    client = app.test_client()
    head = client.head(f"/k/{poster.code}")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Type"].startswith("text/html") and head.headers["Cache-Control"] == "no-store"
    assert scans(dep) == 0  # a link checker or a chat app's preview opened nothing
    assert client.head("/k/ZZZZZZ").status_code == 404
    client.get(f"/k/{poster.code}")
    assert scans(dep) == 1


# -- already answered today ----------------------------------------------------------------------


def test_a_device_that_answered_today_is_told_when_it_opens_the_page(app, dep, poster):
    phone = app.test_client()
    first = phone.get(f"/k/{poster.code}").get_data(as_text=True)
    assert "đã gửi ý kiến cho khảo sát hôm nay" not in first
    assert submit(phone, f"/k/{poster.code}").status_code == 200
    page = phone.get(f"/k/{poster.code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200  # still readable
    notice = re.search(r'<div class="summary" role="alert" id="thong-bao"><p>([^<]+)</p>', html).group(1)
    assert "Thiết bị này đã gửi ý kiến cho khảo sát hôm nay" in notice and "không được ghi nhận" in notice
    assert html.index("thong-bao") < html.index("<form")  # at the top, before the questions
    assert 'name="q-chung"' in html
    # Another phone is told nothing; the notice is not cached into the shared page either.
    assert "thong-bao" not in app.test_client().get(f"/k/{poster.code}").get_data(as_text=True)


def test_no_notice_where_the_once_a_day_rule_does_not_apply(survey_deployment, make_app):
    dep = survey_deployment(responses_per_device_per_day=2)
    poster = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    kiosk = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Máy tính bảng", mode="kiosk")
    app = make_app(dep)
    tablet = app.test_client()
    assert submit(tablet, f"/k/{kiosk.code}").status_code == 200
    assert "thong-bao" not in tablet.get(f"/k/{kiosk.code}").get_data(as_text=True)  # kiosks are exempt
    phone = app.test_client()
    assert submit(phone, f"/k/{poster.code}").status_code == 200
    assert "thong-bao" not in phone.get(f"/k/{poster.code}").get_data(as_text=True)  # 1 of 2 used
    assert submit(phone, f"/k/{poster.code}").status_code == 200
    assert "thong-bao" in phone.get(f"/k/{poster.code}").get_data(as_text=True)


# -- the payload limit -----------------------------------------------------------------------------


@pytest.fixture
def comments_poster(dep):
    save_survey(dep.db, loads_definition(FOUR_COMMENTS))
    return add_placement(dep.db, dep.plan, "gop-y", "xa-an-dung.mot-cua", "Quầy")


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_long_answers_the_form_allows_always_fit_the_payload_limit(app, dep, comments_poster, encoding):
    """Four comments of 2,000 Vietnamese characters each (the form's own maxlength), with line
    breaks: about 60 KB url-encoded, three times the default max_submission_bytes."""
    html = app.test_client().get(f"/k/{comments_poster.code}").get_data(as_text=True)
    assert html.count('maxlength="2000"') == 4
    text = (SENTENCE * 20)[:2000]
    client = app.test_client()
    _, token, sid = open_form(client, f"/k/{comments_poster.code}")
    form = {"csrf_token": token, "sid": sid, "v": "1", **{f"q-y{i}": text for i in range(1, 5)}}
    extra = {"content_type": "multipart/form-data"} if encoding == "multipart" else {}
    response = client.post(f"/k/{comments_poster.code}", data=form, **extra)
    assert response.status_code == 200 and response.headers["X-Survey-Result"] == "stored"
    stored = [r[0] for r in dep.db.execute("select value from survey_answers order by question_key")]
    assert len(stored) == 4 and {len(v) for v in stored} == {2000}
    assert stored[0].startswith("Thủ tục hành chính ở xã còn rườm rà")


def test_the_bound_covers_the_worst_characters_a_form_can_send(dep, comments_poster):
    from urllib.parse import urlencode

    definition = loads_definition(FOUR_COMMENTS)
    worst = {"csrf_token": "t" * 200, "sid": "s" * 64, "v": "1", **{f"q-y{i}": "ệ" * 2000 for i in range(1, 5)}}
    assert len(urlencode(worst).encode()) <= largest_submission_bytes(definition)


def test_a_submission_larger_than_its_form_allows_gets_a_page_that_explains(app, dep, comments_poster):
    client = app.test_client()
    _, token, sid = open_form(client, f"/k/{comments_poster.code}")
    pasted = SENTENCE * 2000  # a document pasted past the form's maxlength (a tampered or old form)
    response = client.post(f"/k/{comments_poster.code}",
                           data={"csrf_token": token, "sid": sid, "v": "1", "q-y1": pasted})
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert '<html lang="vi">' in html and "Góp ý về dịch vụ công" in html  # the survey's own page
    assert "Phiếu gửi lên quá lớn nên chưa được lưu" in html
    limit_kb = -(-largest_submission_bytes(loads_definition(FOUR_COMMENTS)) // 1000)
    size_kb = -(-response.request.content_length // 1000)
    assert f"khoảng {size_kb} KB" in html and f"vượt giới hạn\n{limit_kb} KB" in html
    assert "bấm nút <strong>Quay lại</strong>" in html and "rút ngắn ý kiến dài" in html
    assert f'href="/k/{comments_poster.code}"' in html
    assert count(dep.db, "survey_responses") == 0


def test_the_setting_still_limits_a_survey_whose_form_is_small(survey_deployment, make_app):
    dep = survey_deployment(max_submission_bytes=50_000)
    placement = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    client = make_app(dep).test_client()
    # Larger than the SIPAS form can send (about 15 KB) but within the setting: read and checked.
    response = submit(client, f"/k/{placement.code}", {**answers(), "q-gop-y-them": "x" * 30_000})
    assert response.status_code == 422 and "dài quá 1000 ký tự" in response.get_data(as_text=True)
    assert submit(client, f"/k/{placement.code}", {**answers(), "q-gop-y-them": "x" * 60_000}).status_code == 413


def test_a_survey_whose_form_could_send_too_much_is_refused_when_saved(dep):
    huge = FOUR_COMMENTS.replace('required = false\n', 'required = false\nmax_length = 200000\n', 1)
    with pytest.raises(DefinitionError, match=r"quá giới hạn 1.000.000 byte.*y1 = 200000"):
        save_survey(dep.db, loads_definition(huge))
    assert count(dep.db, "survey_surveys", "id = 'gop-y'") == 0


# -- the rate limit ----------------------------------------------------------------------------------


def test_a_rate_limited_submission_comes_back_with_every_answer(survey_deployment, make_app):
    dep = survey_deployment(submissions_per_address_per_hour=1, responses_per_device_per_day=0)
    placement = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    app = make_app(dep)
    assert submit(app.test_client(), f"/k/{placement.code}").status_code == 200
    client = app.test_client()
    _, token, sid = open_form(client, f"/k/{placement.code}")
    form = {**answers("4"), "q-chung": "2", "q-gop-y-them": "Cần thêm ghế chờ ở sảnh", "q-linh-vuc": "ho-tich",
            "csrf_token": token, "sid": sid, "v": "1"}
    response = client.post(f"/k/{placement.code}", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 429 and 0 < int(response.headers["Retry-After"]) <= 3600
    minutes = int(response.headers["Retry-After"]) // 60 + 1
    assert "Có quá nhiều ý kiến gửi từ cùng một địa chỉ mạng" in html
    assert f"vui lòng bấm Gửi ý kiến lại sau {minutes} phút" in html
    assert "Cần thêm ghế chờ ở sảnh</textarea>" in html
    assert 'name="q-chung" value="2" checked' in html and 'name="q-linh-vuc" value="ho-tich" checked' in html
    assert 'name="q-tiep-can.1" value="4" checked' in html
    # The same submission id with a fresh token: sending it again later is still one submission.
    assert f'name="sid" value="{sid}"' in html and CSRF_RE.search(html)
    assert count(dep.db, "survey_responses") == 1


def test_a_refusal_for_answering_twice_does_not_use_up_the_address_limit(survey_deployment, make_app):
    """The limit counts stored submissions per address (docs/survey.md): a phone refused by the
    once-a-day rule must not take the place of another phone behind the same carrier address."""
    dep = survey_deployment(submissions_per_address_per_hour=2)
    placement = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    app = make_app(dep)
    phone = app.test_client()
    assert [submit(phone, f"/k/{placement.code}").status_code for _ in range(3)] == [200, 409, 409]
    assert submit(app.test_client(), f"/k/{placement.code}").status_code == 200  # another phone
    assert submit(app.test_client(), f"/k/{placement.code}").status_code == 429  # 2 stored: the limit
    assert count(dep.db, "survey_responses") == 2


def test_a_rejected_form_names_its_bad_fields_for_the_kiosk(app, poster):
    response = submit(app.test_client(), f"/k/{poster.code}",
                      {**answers(), "q-chung": "", "ho-ten": "Trần Thị Bình"})
    assert response.status_code == 422
    assert set(response.headers["X-Survey-Invalid"].split()) == {"q-chung", "lien-he"}


# -- "gone" is the survey server's own word ------------------------------------------------------


def test_a_missing_or_closed_placement_says_gone_and_nothing_else_does(app, dep, poster):
    """A kiosk drops an answer it kept offline only on ``X-Survey-Result: gone``, which the survey
    server sets on its own 404 (no such placement) and 410 (survey closed, poster retired), on the
    form and on the token a kiosk asks for — so a captive portal's or a proxy's 404 keeps it."""
    from ccch_survey.store import retire_placement

    client = app.test_client()
    sid = "kiosk00000000000000000x1"
    for path in ("/k/ZZZZZZ", f"/k/ZZZZZZ/ma-bao-ve?sid={sid}"):
        missing = client.get(path)
        assert missing.status_code == 404 and missing.headers.get("X-Survey-Result") == "gone", path
    assert client.get("/khong-co-trang-nay").headers.get("X-Survey-Result") is None  # not the survey's 404
    assert client.get(f"/k/{poster.code}").headers.get("X-Survey-Result") is None
    retire_placement(dep.db, poster.code)
    retired = client.get(f"/k/{poster.code}")
    assert retired.status_code == 410 and retired.headers.get("X-Survey-Result") == "gone"
    # A kiosk's kept answer, sent with a fresh token after the poster was taken down.
    token = client.get(f"/k/{poster.code}/ma-bao-ve?sid={sid}").get_data(as_text=True).strip()
    kept = client.post(f"/k/{poster.code}", data=answers("4") | {"sid": sid, "csrf_token": token, "v": "1"})
    assert kept.status_code == 410 and kept.headers.get("X-Survey-Result") == "gone"


def test_a_closed_survey_says_closed_not_gone(app, dep, poster):
    """Officers may close a survey and open it again: its 410 says ``closed`` (a kiosk keeps its
    answers for later), never ``gone`` (a retired poster: final)."""
    from ccch_survey.store import set_status

    client = app.test_client()
    sid = "kiosk00000000000000000x2"
    token = client.get(f"/k/{poster.code}/ma-bao-ve?sid={sid}").get_data(as_text=True).strip()
    set_status(dep.db, poster.survey_id, "closed")
    kept = client.post(f"/k/{poster.code}", data=answers("4") | {"sid": sid, "csrf_token": token, "v": "1"})
    assert kept.status_code == 410 and kept.headers.get("X-Survey-Result") == "closed"
    assert client.get(f"/k/{poster.code}").headers.get("X-Survey-Result") == "closed"


def test_the_forms_own_400_and_413_say_refused(app, dep, poster):
    """A kiosk drops a kept answer on a 400 (after a fresh token) or a 413 only when the survey
    server marks it ``X-Survey-Result: refused``: a captive portal's 400 keeps it."""
    client = app.test_client()
    bad_token = client.post(f"/k/{poster.code}", data=answers("4") | {"sid": "kiosk00000000000000000x3",
                                                                       "csrf_token": "1.abc", "v": "1"})
    assert bad_token.status_code == 400 and bad_token.headers.get("X-Survey-Result") == "refused"
    no_sid = client.get(f"/k/{poster.code}/ma-bao-ve?sid=")
    assert no_sid.status_code == 400 and no_sid.headers.get("X-Survey-Result") == "refused"
    too_large = submit(client, f"/k/{poster.code}", {**answers(), "q-gop-y-them": "x" * 600_000})
    assert too_large.status_code == 413 and too_large.headers.get("X-Survey-Result") == "refused"
    assert client.post("/khong-co-trang-nay").headers.get("X-Survey-Result") is None  # not the survey's answer


def test_a_cookieless_phone_is_the_same_device_across_its_ipv6_network(app, dep, poster):
    """A phone that keeps no cookies is known by its address and browser; over IPv6 a subscriber has a
    whole /64 and may take a new address in it for every request, so the address counts by its /64,
    as in every other per-address rule (ratelimit.client_network): the once-a-day rule holds."""
    browser = {"HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 9; Điện thoại rẻ)"}

    def cookieless(address):
        client = app.test_client(use_cookies=False)
        client.environ_base.update({"REMOTE_ADDR": address, **browser})
        return client

    assert submit(cookieless("2001:db8:1:2::10"), f"/k/{poster.code}").status_code == 200
    assert count(dep.db, "survey_responses") == 1
    submit(cookieless("2001:db8:1:2:abcd::99"), f"/k/{poster.code}")  # a new address in the same /64
    assert count(dep.db, "survey_responses") == 1
    assert submit(cookieless("2001:db8:1:3::10"), f"/k/{poster.code}").status_code == 200  # another network
    assert count(dep.db, "survey_responses") == 2
