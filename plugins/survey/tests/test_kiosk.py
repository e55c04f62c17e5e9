"""Kiosk mode on the server side: the page loads its script from this site only (CSP
``script-src 'self'``, no inline script), the thank-you page returns to a fresh form, a kept
submission can be re-sent later with a fresh token and is stored once."""

from __future__ import annotations

import re

import pytest
from ccch_survey.store import add_placement
from ccch_survey_testing import CSRF_RE, answers, count, enrol, open_form


@pytest.fixture
def kiosk(dep):
    return add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")


@pytest.fixture
def tablet(app, dep, kiosk):
    """A test client enrolled as the kiosk's tablet (through the real enrolment page)."""
    client = app.test_client()
    enrol(client, dep, kiosk)
    return client


def test_kiosk_page_loads_its_script_from_this_site(app, kiosk, tablet):
    client = tablet
    response = client.get(f"/k/{kiosk.code}")
    html = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 1 and scripts[0][1] == ""  # no inline code
    src = re.search(r'src="([^"]+)"', scripts[0][0]).group(1)
    assert re.fullmatch(r"/k/tai-nguyen/kiosk\.[0-9a-f]{12}\.js", src)  # named by its content (cached a year)
    script = client.get(src)
    assert script.status_code == 200 and "javascript" in script.content_type
    assert "localStorage" in script.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    form = re.search(r'<form[^>]*id="kiosk"[^>]*>', html).group(0)
    assert 'data-idle="90"' in form and f'data-token="/k/{kiosk.code}/ma-bao-ve"' in form
    # A poster's page has no script at all.
    poster = add_placement(app.extensions["ccch"].db, app.extensions["ccch"].plan, "sipas", "trung-tam-hcc", "Sảnh")
    assert "<script" not in client.get(f"/k/{poster.code}").get_data(as_text=True)


def test_kiosk_thanks_page_returns_to_the_form(app, kiosk, tablet):
    html = tablet.get(f"/k/{kiosk.code}/cam-on").get_data(as_text=True)
    assert f'<meta http-equiv="refresh" content="8;url=/k/{kiosk.code}">' in html
    assert "Người tiếp theo trả lời" in html


def test_kept_submission_is_resent_later_with_a_fresh_token_and_stored_once(app, dep, kiosk, tablet):
    client = tablet
    _, token, sid = open_form(client, f"/k/{kiosk.code}")
    kept = {**answers("4"), "csrf_token": token, "sid": sid, "v": "1"}
    # The tablet lost the network before the answer arrived; later its token is refused…
    stale = client.post(f"/k/{kiosk.code}", data={**kept, "csrf_token": "expired"})
    assert stale.status_code == 400
    # …so the script fetches a fresh one (no scan counted) and sends the kept answers again.
    assert client.get(f"/k/{kiosk.code}/ma-bao-ve").status_code == 400  # a token is for one submission id
    fresh = client.get(f"/k/{kiosk.code}/ma-bao-ve?sid={sid}")
    assert fresh.status_code == 200 and fresh.headers["Cache-Control"] == "no-store"
    kept["csrf_token"] = fresh.get_data(as_text=True)
    assert client.post(f"/k/{kiosk.code}", data=kept).headers["X-Survey-Result"] == "stored"
    # The acknowledgement was lost too: the same submission arrives once more and is stored once.
    again = client.post(f"/k/{kiosk.code}", data=kept)
    assert again.status_code == 200 and "Cảm ơn Ông/Bà đã góp ý" in again.get_data(as_text=True)
    assert count(dep.db, "survey_responses") == 1
    assert dep.db.execute("select sum(scans) from survey_daily").fetchone()[0] == 1


def test_kiosk_form_marks_required_questions_for_the_offline_check(app, kiosk, tablet):
    html = tablet.get(f"/k/{kiosk.code}").get_data(as_text=True)
    assert html.count("data-required") == 12  # 12 required scale questions; the others are optional
    assert CSRF_RE.search(html)


def test_kiosk_pages_keep_nothing_for_back_forward_or_autofill(app, kiosk, tablet, poster):
    """No cache may hold a kiosk page (a citizen's answers on a page sent back for correction), and
    the browser keeps no form state of it to restore on Back or Forward (autocomplete="off")."""
    client = tablet
    page, token, sid = open_form(client, f"/k/{kiosk.code}")
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert re.search(r'<form[^>]*id="kiosk"[^>]*autocomplete="off"', html)
    assert 'autocomplete="name"' not in html and 'autocomplete="tel"' not in html
    assert html.count('autocomplete="off"') == 4  # the form, name, phone, and the honeypot
    sent_back = client.post(f"/k/{kiosk.code}", data={**answers("4"), "ho-ten": "Trần Thị Bình", "csrf_token": token,
                                                      "sid": sid, "v": "1"})
    assert sent_back.status_code == 422 and sent_back.headers["Cache-Control"] == "no-store"
    assert sent_back.headers["X-Survey-Invalid"] == "lien-he"
    assert client.get(f"/k/{kiosk.code}/cam-on").headers["Cache-Control"] == "no-store"
    # A citizen's own phone keeps its autofill of name and number.
    html = client.get(f"/k/{poster.code}").get_data(as_text=True)
    assert 'autocomplete="name"' in html and 'autocomplete="tel"' in html and 'autocomplete="off" data-idle' not in html


NUMBER_SURVEY = '''
id = "so-tien"
title = "Chi phí"

[[questions]]
key = "chi-phi"
type = "number"
prompt = "Số tiền đã nộp (đồng)"
min_value = 0
max_value = 10000000.5
'''


def test_kiosk_number_fields_carry_their_range_for_the_offline_check(app, dep):
    from ccch_survey.definition import loads_definition
    from ccch_survey.store import save_survey

    save_survey(dep.db, loads_definition(NUMBER_SURVEY))
    kiosk = add_placement(dep.db, dep.plan, "so-tien", "xa-an-dung.mot-cua", "Máy tính bảng", mode="kiosk")
    poster = add_placement(dep.db, dep.plan, "so-tien", "xa-an-dung.mot-cua", "Sảnh")
    client = app.test_client()
    enrol(client, dep, kiosk)
    field = re.search(r'<input[^>]*name="q-chi-phi"[^>]*>', client.get(f"/k/{kiosk.code}").get_data(as_text=True)).group(0)
    assert 'data-kind="number"' in field and 'data-min="0' in field and 'data-max="10000000.5"' in field
    # The citizen's phone page stays as small as before: no attribute only the kiosk script reads.
    field = re.search(r'<input[^>]*name="q-chi-phi"[^>]*>', client.get(f"/k/{poster.code}").get_data(as_text=True)).group(0)
    assert "data-" not in field
