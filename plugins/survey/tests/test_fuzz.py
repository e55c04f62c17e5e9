"""Property-based fuzzing (hypothesis) of the survey plugin's inputs: the citizen's submission
(poster and kiosk, form fields and raw bodies), survey definitions (the TOML loader and the
admins' editor). Whatever comes in — every question type with random answers, huge and negative
numbers, NaN and 1e309, missing, duplicated and unknown fields, the honeypot, broken submission ids,
non-UTF-8 bytes, oversized bodies, NFD Vietnamese, control characters, markup — the answer is a
page with a clear message (or the thank-you redirect), never a 500 or an unhandled exception, and
HTML is escaped on every page that shows it again."""

from __future__ import annotations

import json
import math
import os
import re
import string
import unicodedata
from urllib.parse import quote_from_bytes

import pytest
from ccch_survey.definition import DefinitionError, loads_definition
from ccch_survey.store import add_placement, save_survey
from ccch_survey_testing import CSRF_RE, SIPAS, open_form
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from ccch_core.questions import AnswerError
from ccch_core.testing import login

VIETNAMESE = "ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵĐ"
SCRIPT = "<script>alert(1)</script>"
MARKUP = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "<b>đậm</b>", "</textarea><svg onload=alert(1)>",
          "&lt;script&gt;", "' onmouseover='alert(1)"]
NASTY = st.one_of(
    st.text(alphabet=string.printable + VIETNAMESE, max_size=60),
    st.text(max_size=30),  # any Unicode, control characters included
    st.sampled_from(["", " ", "=1+1", "@SUM(A1)", "-2", SCRIPT, "1e309", "-1e309", "99999999999999999999999", "NaN",
                     "1,5", "٣", "²", "\x00", "\u202e", "Có", "không", "\r\n", "\t=1"]),
    st.text(alphabet=VIETNAMESE, max_size=20).map(lambda t: unicodedata.normalize("NFD", t)),
)
NUMBERS = st.one_of(
    st.sampled_from(["1e309", "-1e309", "NaN", "nan", "inf", "-inf", "-0", "1,5", "1.5", "1 000", "1_000", "0x10",
                     "99999999999999999999999", "-99999999999999999999999", "1" * 5000, "٣", "²", "1e-400", "5"]),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    NASTY,
)
SCALE = float(os.environ.get("CCCH_FUZZ_SCALE", "1"))  # e.g. 25 for a long run before a release
FUZZ = settings(max_examples=int(80 * SCALE), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
FUZZ_SMALL = settings(FUZZ, max_examples=int(40 * SCALE))

# A survey asking every question type (SIPAS has only scales and one single choice).
EVERY_TYPE = '''
id = "moi-loai"
title = "Khảo sát <b>thử</b> mọi loại câu hỏi"
intro = "Giới thiệu <script>alert(1)</script>"
ask_contact = true

[[questions]]
key = "thang"
type = "scale5"
prompt = "Mức độ hài lòng"

[[questions]]
key = "mot"
type = "single"
prompt = "Chọn một"
required = false
options = [{ key = "a", label = "Một" }, { key = "b", label = "Hai" }]

[[questions]]
key = "nhieu"
type = "multiple"
prompt = "Chọn nhiều"
required = false
options = ["Một", "Hai", "Ba"]

[[questions]]
key = "dung-sai"
type = "true_false"
prompt = "Đúng hay sai?"
required = false

[[questions]]
key = "ngan"
type = "short_text"
prompt = "Trả lời ngắn"
required = false

[[questions]]
key = "dai"
type = "long_text"
prompt = "Góp ý"
required = false
max_length = 500

[[questions]]
key = "so"
type = "number"
prompt = "Số lần đến"
required = false
min_value = -1000
max_value = 1000000
'''
TEXT_FIELDS = ("q-ngan", "q-dai", "q-so")
FIELDS = ("q-thang", "q-mot", "q-nhieu", "q-dung-sai", "q-ngan", "q-dai", "q-so", "lien-he", "ho-ten", "dien-thoai",
          "website", "v", "sid", "csrf_token", "q-khong-co", "q-", "")
GOOD = {"q-thang": ["1", "2", "3", "4", "5"], "q-mot": ["a", "b"], "q-nhieu": ["a", "b", "c"],
        "q-dung-sai": ["dung", "sai"], "lien-he": ["dong-y"], "dien-thoai": ["0912345678", "+84 912 345 678"]}
ACCEPTED = {200, 303, 400, 409, 413, 422, 429}
"""The thank-you page (200, or a redirect to it, 303) when accepted; the form back with everything
kept and the problems shown (422, or 400 for a stale or damaged form token); 400 for a broken form
(submission id, version); 409 once a day per device; 413 too big; 429 too many from one address.
Never 500."""


def _accepted(response) -> bool:
    """The submission was taken: the thank-you page (``X-Survey-Result: stored``) or a redirect to it."""
    return response.status_code == 303 or (response.status_code == 200
                                            and response.headers.get("X-Survey-Result") == "stored")


def _value(field: str):
    choices = [NASTY, st.sampled_from(MARKUP)]
    if field in GOOD:
        choices.insert(0, st.sampled_from(GOOD[field]))
    if field == "q-so":
        choices.insert(0, NUMBERS)
    return st.one_of(*choices)


PAIRS = st.lists(st.sampled_from(FIELDS).flatmap(lambda f: st.tuples(st.just(f), _value(f))), max_size=16)


@pytest.fixture
def fuzz_dep(survey_deployment):
    """The survey deployment with no per-device or per-address limit (so that every example
    reaches the checks and the store), the every-type survey, a poster and a kiosk."""
    dep = survey_deployment(responses_per_device_per_day=0, submissions_per_address_per_hour=0,
                            kiosk_submissions_per_hour=0)
    save_survey(dep.db, loads_definition(EVERY_TYPE, "moi-loai.toml"))
    poster = add_placement(dep.db, dep.plan, "moi-loai", "xa-an-dung.mot-cua", "Quầy <i>một cửa</i>")
    kiosk = add_placement(dep.db, dep.plan, "moi-loai", "trung-tam-hcc", "Máy tính bảng", mode="kiosk")
    return dep, poster, kiosk


@pytest.fixture
def citizen(fuzz_dep, make_app):
    """An app and a citizen's client."""
    dep, poster, kiosk = fuzz_dep
    app = make_app(dep)
    return dep, app, app.test_client(), {"poster": f"/k/{poster.code}", "kiosk": f"/k/{kiosk.code}"}


def _check_page(response) -> str:
    event(f"HTTP {response.status_code}")
    assert response.status_code in ACCEPTED, response.status_code
    page = response.get_data(as_text=True)
    assert "Traceback" not in page
    for raw in MARKUP[:2] + MARKUP[3:4]:
        assert raw not in page, raw
    return page


@FUZZ
@given(where=st.sampled_from(["poster", "kiosk"]), pairs=PAIRS, keep_token=st.sampled_from([True] * 5 + [False]),
       sid=st.sampled_from(["ok"] * 5 + ["missing", "nasty", "broken"]),
       bad_sid=st.one_of(NASTY, st.sampled_from(["a" * 15, "a" * 65, "a" * 16 + "\n", "ä" * 20, "a" * 16 + "/", "a" * 64])))
def test_citizen_submission_fuzz(citizen, where, pairs, keep_token, sid, bad_sid):
    dep, _, client, paths = citizen
    _, token, page_sid = open_form(client, paths[where])  # the form's token is for this page's submission id
    data = [("csrf_token", token)] if keep_token else []
    if sid == "ok":
        data.append(("sid", page_sid))
    elif sid != "missing":
        data.append(("sid", bad_sid))
    data.append(("v", "1"))
    data += pairs
    response = client.post(paths[where], data=MultiDict(data))
    page = _check_page(response)
    form = MultiDict(data)
    if response.status_code == 422 or (response.status_code == 400 and "mục cần xem lại" in page):
        assert "mục cần xem lại" in page  # the problems are listed above the form…
    if response.status_code in (400, 422) and 'name="sid"' in page:
        for field in TEXT_FIELDS:  # …and what was typed is kept, escaped
            values = form.getlist(field)
            if values:
                assert str(escape(values[0])) in page, (field, values[0])
    if response.status_code == 400:
        assert "vui lòng" in page.lower()
    if response.status_code == 200:
        assert _accepted(response) or "mục cần xem lại" in page
    if _accepted(response):
        stored = dep.db.execute("select id from survey_responses where submission_id = ?", [form.get("sid")]).fetchall()
        assert len(stored) == (0 if form.get("website") else 1)  # the honeypot stores nothing
        for (number,) in dep.db.execute("select a.value from survey_answers a join survey_responses r on "
                                        "r.id = a.response_id where r.submission_id = ? and a.question_key = 'so'",
                                        [form.get("sid")]):
            assert math.isfinite(float(number)) and -1000 <= float(number) <= 1_000_000


def _urlencode(pairs) -> bytes:
    return b"&".join(quote_from_bytes(k.encode()).encode() + b"=" + quote_from_bytes(v.encode()).encode()
                     for k, v in pairs)


BROKEN_BYTES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"q-ngan=%ff%fe%fd", b"q-dai=\xff\xfe\xfd", b"q-thang=\xc3", b"%", b"%zz", b"&&==&", b"=",
                     b"q-so=%00", b"q-ngan=%C3%A0%CC%80", b"q-dai=Ti\xe1\xba\xbfng Vi\xe1\xbb\x87t",
                     b"q-dai=\xe1\xba", b"q-thang=5&q-thang=4", b"sid=%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff",
                     b"v=%ff", b"csrf_token=%ff", b"website=%ff", b"lien-he=dong-y&ho-ten=%ff%fe&dien-thoai=%ff"]),
)


@FUZZ
@given(where=st.sampled_from(["poster", "kiosk"]), chunks=st.lists(BROKEN_BYTES, max_size=6),
       with_answers=st.booleans())
def test_citizen_submission_raw_bytes_fuzz(citizen, where, chunks, with_answers):
    """Non-UTF-8 bytes, broken percent-escapes and garbage in a urlencoded body."""
    _dep, _, client, paths = citizen
    _, token, sid = open_form(client, paths[where])
    head = [("csrf_token", token), ("sid", sid), ("v", "1")]
    if with_answers:
        head.append(("q-thang", "5"))
    body = b"&".join([_urlencode(head), *chunks])
    response = client.post(paths[where], data=body, content_type="application/x-www-form-urlencoded")
    _check_page(response)


@FUZZ_SMALL
@given(size=st.integers(20_001, 400_000), raw=st.booleans(), field=st.sampled_from(["q-dai", "q-ngan", "khac", "q-thang"]))
def test_oversized_submission_is_refused_not_parsed(citizen, size, raw, field):
    dep, _, client, paths = citizen
    before = dep.db.execute("select count(*) from survey_responses").fetchone()[0]
    where = "poster" if raw else "kiosk"
    _, token, sid = open_form(client, paths[where])
    head = [("csrf_token", token), ("sid", sid), ("v", "1"), ("q-thang", "5")]
    if raw:
        body = _urlencode(head) + b"&" + field.encode() + b"=" + b"\xff" * size
        response = client.post(paths[where], data=body, content_type="application/x-www-form-urlencoded")
    else:
        response = client.post(paths[where], data=MultiDict([*head, (field, "ệ" * (size // 2))]))
    assert response.status_code == 413
    assert "quá lớn" in response.get_data(as_text=True)
    assert dep.db.execute("select count(*) from survey_responses").fetchone()[0] == before


@FUZZ_SMALL
@given(code=st.one_of(NASTY, st.text(alphabet="23456789ABCDEFGHJKMNPQRSTUVWXYZabc", min_size=1, max_size=8)),
       suffix=st.sampled_from(["", "/cam-on", "/ma-bao-ve"]), method=st.sampled_from(["GET", "POST"]),
       known=st.booleans(), sid=st.one_of(st.just("s" * 20), NASTY))
def test_any_code_in_the_short_url_is_a_clear_404(citizen, code, suffix, method, known, sid):
    """Random codes, and the kiosk's token path with any submission id: a page or a clear 400/404."""
    _dep, _, client, paths = citizen
    if known:
        code = paths["kiosk"].rsplit("/", 1)[1]
    path = "/k/" + quote_from_bytes(code.encode(), safe="") + suffix
    if method == "POST" and not suffix:
        response = client.post(path, data={"csrf_token": "x", "sid": sid, "q-thang": "5"})
    else:
        response = client.get(path, query_string={"sid": sid} if suffix == "/ma-bao-ve" else None)
    assert response.status_code in (200, 303, 308, 400, 404, 405), response.status_code
    if response.status_code in (400, 404) and not path.rstrip("/").endswith("/k"):
        page = response.get_data(as_text=True)
        assert "vui lòng" in page.lower() or "không tồn tại" in page or "không hợp lệ" in page


TEXT_ANSWERS = st.tuples(st.sampled_from(MARKUP), NASTY).map(lambda t: t[0] + t[1])


@pytest.fixture
def officer(citizen, make_user):
    """A plan admin's client (one per test, shared by its examples)."""
    dep, app, _, _ = citizen
    name, password = make_user(dep, "plan_admin")
    client = app.test_client()
    assert login(client, name, password).status_code == 302
    return client


@FUZZ_SMALL
@given(short=TEXT_ANSWERS, long=TEXT_ANSWERS)
def test_text_answers_are_escaped_on_the_officers_comments_page(citizen, officer, short, long):
    """What a citizen wrote is shown to officers as text, never as markup."""
    dep, _app, client, paths = citizen
    _, token, sid = open_form(client, paths["poster"])
    response = client.post(paths["poster"], data=MultiDict([
        ("csrf_token", token), ("sid", sid), ("v", "1"), ("q-thang", "4"), ("q-ngan", short[:200]),
        ("q-dai", long[:500])]))
    page = _check_page(response)
    if not _accepted(response):
        assert response.status_code == 422 and "mục cần xem lại" in page
        return
    stored = [r[0] for r in dep.db.execute(
        "select a.value from survey_answers a join survey_responses r on r.id = a.response_id "
        "where r.submission_id = ? and a.option_key = '' and a.value is not null", [sid])]
    assert stored  # both start with markup, so neither is blank
    comments = officer.get("/khao-sat/moi-loai/y-kien")
    assert comments.status_code == 200
    html = comments.get_data(as_text=True)
    for value in stored:
        assert str(escape(value)) in html
    for raw in MARKUP[:2] + MARKUP[3:4]:
        assert raw not in html


# -- survey definitions ------------------------------------------------------------------------


def _problems_have_a_location(error: DefinitionError, where: str) -> None:
    assert error.problems
    for problem in error.problems:
        assert problem.startswith(where) and len(problem) > len(where) + 2, problem


def _answers_never_crash(definition, data) -> None:
    """Every question of a loaded definition checks any answer with an AnswerError at worst."""
    for question in definition.questions:
        values = data.draw(st.lists(st.one_of(NUMBERS, st.sampled_from([o.key for o in question.options] or ["x"])),
                                    max_size=3))
        try:
            question.check_answer(values)
        except AnswerError as exc:
            assert str(exc)


@FUZZ
@given(st.text(max_size=400))
def test_survey_loader_never_crashes_on_any_text(text):
    try:
        loads_definition(text, "fuzz.toml")
    except DefinitionError as error:
        _problems_have_a_location(error, "fuzz.toml")


SURVEY_BAD_VALUES = ['"abc"', "-1", "0", "1e400", "nan", "inf", "-inf", "true", "[]", "{}", '""', '"<b>x</b>"',
                     "99999999999999999999", '"scale5"', '"number"', '"multiple"', '["a", "a"]', '[{ key = "a" }]',
                     '[{ key = "a", label = "" }]', '[1, 2]', "2024-01-01", '"\\u0000"']
SURVEY_EXTRA_LINES = ["min_value = {v}", "max_value = {v}", "max_length = {v}", "required = {v}", "correct = {v}",
                      "difficulty = {v}", "options = {v}", "help = {v}", "section = {v}", "type = {v}", "key = {v}",
                      "ask_contact = {v}", "intro = {v}", "[[questions]]", "id = {v}", "title = {v}"]


def _mutate(text: str, data, *, edits=(1, 5)) -> str:
    """Lines dropped, doubled, given bad values, inserted, replaced by markup or garbled."""
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(*edits))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "replace_value", "insert", "markup", "garble"]))
        if action == "drop":
            lines.pop(index)
        elif action == "dup":
            lines.insert(index, lines[index])
        elif action == "replace_value" and "=" in lines[index]:
            lines[index] = lines[index].split("=", 1)[0] + "= " + data.draw(st.sampled_from(SURVEY_BAD_VALUES))
        elif action == "insert":
            template = data.draw(st.sampled_from(SURVEY_EXTRA_LINES))
            lines.insert(index, template.format(v=data.draw(st.sampled_from(SURVEY_BAD_VALUES))))
        elif action == "markup" and lines[index].startswith(("prompt", "title", "intro", "section", "help")):
            lines[index] = lines[index].split("=", 1)[0] + "= " + json.dumps(data.draw(st.sampled_from(MARKUP)))
        elif action == "garble":
            lines[index] = data.draw(NASTY)
    return "\n".join(lines)


@FUZZ
@given(st.data())
def test_survey_loader_on_a_mutated_real_survey(data):
    """The SIPAS template mutated: either a definition that round-trips through the editor's text
    and checks any answer without crashing, or problems that each say where."""
    text = _mutate(SIPAS.read_text(encoding="utf-8"), data)
    try:
        definition = loads_definition(text, "sipas.toml")
    except DefinitionError as error:
        _problems_have_a_location(error, "sipas.toml")
    else:
        assert definition.questions
        again = loads_definition(definition.to_toml(), "again.toml")  # the editor shows to_toml()
        assert again.fingerprint == definition.fingerprint
        _answers_never_crash(definition, data)


@pytest.fixture
def admin_client(fuzz_dep, make_app, make_user):
    dep, _, _ = fuzz_dep
    app = make_app(dep)
    client = app.test_client()
    name, password = make_user(dep, "plan_admin")
    assert login(client, name, password).status_code == 302
    token = CSRF_RE.search(client.get("/khao-sat/moi").get_data(as_text=True)).group(1)
    return dep, client, token


ERROR_ITEMS = re.compile(r'<div class="error-summary".*?<ul>(.*?)</ul>', re.DOTALL)


@FUZZ
@given(data=st.data(), target=st.sampled_from(["/khao-sat/moi", "/khao-sat/moi-loai/sua", "/khao-sat/sipas/sua"]),
       extra=st.lists(st.tuples(st.sampled_from(["dinh_nghia", "ghi_chu", "khac"]), NASTY), max_size=3))
def test_survey_editor_fuzz(admin_client, data, target, extra):
    """The admins' survey editor: mutated definitions, markup, duplicated fields → saved (303) or
    the editor back (422) with every problem listed and the text kept, escaped."""
    _dep, client, token = admin_client
    source = SIPAS.read_text(encoding="utf-8") if "sipas" in target else EVERY_TYPE
    if target == "/khao-sat/moi":
        source = source.replace('id = "moi-loai"', f'id = "moi-{data.draw(st.integers(0, 10**6))}"')
    form = MultiDict([("csrf_token", token), ("dinh_nghia", _mutate(source, data, edits=(0, 4))),
                      ("ghi_chu", data.draw(NASTY)), *extra])
    response = client.post(target, data=form)
    event(f"HTTP {response.status_code}")
    assert response.status_code in (303, 422), response.status_code
    page = response.get_data(as_text=True)
    assert "Traceback" not in page
    for raw in MARKUP[:2] + MARKUP[3:4]:
        assert raw not in page
    if response.status_code == 422:
        assert str(escape(form.get("dinh_nghia"))) in page  # the text is kept, escaped
        items = re.findall(r"<li>(.*?)</li>", ERROR_ITEMS.search(page).group(1), re.DOTALL)
        assert items and all(len(item.strip()) > 10 for item in items)  # every problem, in words
    else:
        shown = client.get(response.headers["Location"])
        assert shown.status_code == 200
        for raw in MARKUP[:2] + MARKUP[3:4]:
            assert raw not in shown.get_data(as_text=True)


@FUZZ_SMALL
@given(pairs=st.lists(st.tuples(st.sampled_from(["survey_id", "unit_id", "place", "mode", "khac"]),
                                st.one_of(NASTY, st.sampled_from(["sipas", "moi-loai", "xa-an-dung", "xa-an-dung.mot-cua",
                                                                  "poster", "kiosk", SCRIPT, "x" * 201]))),
                      max_size=8), base=st.booleans())
def test_placement_form_fuzz(admin_client, pairs, base):
    """Adding a poster or a kiosk: created (303) or the form back (422) with the problems, never a 500."""
    dep, client, token = admin_client
    data = [("csrf_token", token)]
    if base:
        data += [("survey_id", "sipas"), ("unit_id", "xa-an-dung.mot-cua"), ("place", "Quầy 1"), ("mode", "poster")]
    form = MultiDict(data + pairs)
    before = dep.db.execute("select count(*) from survey_placements").fetchone()[0]
    response = client.post("/khao-sat/noi-dat", data=form)
    event(f"HTTP {response.status_code}")
    assert response.status_code in (303, 422), response.status_code
    page = response.get_data(as_text=True)
    assert SCRIPT not in page and "Traceback" not in page
    after = dep.db.execute("select count(*) from survey_placements").fetchone()[0]
    assert after == before + (response.status_code == 303)
    if response.status_code == 303:  # the new place is listed, as text
        place = dep.db.execute("select place from survey_placements order by id desc limit 1").fetchone()[0]
        listing = client.get("/khao-sat/noi-dat").get_data(as_text=True)
        assert str(escape(place)) in listing and SCRIPT not in listing
