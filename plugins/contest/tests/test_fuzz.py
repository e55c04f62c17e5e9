"""Property-based fuzzing (hypothesis) of the contest's public forms and its question imports.

Registration (names, phone numbers, birth years huge, negative or in other scripts' digits, units,
occupations, citizen IDs, consent missing or repeated), "continue on another device", starting an
attempt, autosaving and submitting answers (random positions, questions the attempt does not have,
repeated fields, other people's and made-up attempt tokens, any prediction) — never a 500, never
a correct answer on a page or in a response, and the attempt limit holds. Question files (CSV,
XLSX built with openpyxl, GIFT, Aiken): either imported, or every bad row reported with its line
and reason and nothing stored."""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import re
import string
import unicodedata

import pytest
from ccch_contest import attempts as A
from ccch_contest import bank
from ccch_contest_testing import contest_data, csrf_from, load_contest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from ccch_core.questions import QuestionError
from ccch_core.testing import login

VIETNAMESE = "ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵĐ"
SCRIPT = "<script>alert(1)</script>"
MARKUP = [SCRIPT, '"><img src=x onerror=alert(1)>', "<b>đậm</b>"]
NASTY = st.one_of(
    st.text(alphabet=string.printable + VIETNAMESE, max_size=60),
    st.text(max_size=30),  # any Unicode, control characters included
    st.sampled_from(["", " ", "=1+1", "@SUM(A1)", "-2", SCRIPT, "1e309", "-1e309", "99999999999999999999999", "NaN",
                     "1,5", "٣", "²", "\x00", "\u202e", "Có", "không", "\t=1"]),
    st.text(alphabet=VIETNAMESE, max_size=20).map(lambda t: unicodedata.normalize("NFD", t)),
)
NUMBERS = st.one_of(
    st.sampled_from(["-1", "0", "1", "1990", "2999", "1e3", "1990.0", " 1990 ", "²", "٣", "１９９０", "1" * 5000,
                     "99999999999999999999999", "-99999999999999999999", "NaN", "1.250", "12,5", "1.2.3", "0" * 30 + "7"]),
    st.integers().map(str),
    NASTY,
)
SCALE = float(os.environ.get("CCCH_FUZZ_SCALE", "1"))  # e.g. 25 for a long run before a release
FUZZ = settings(max_examples=int(60 * SCALE), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
BASE = "/cuoc-thi/tim-hieu-cchc-2024"
LIMITS = {"limit_register": [1_000_000, 3600], "limit_identify": [1_000_000, 600], "limit_start": [1_000_000, 60]}
LEAKS = ("correct", "— đáp án đúng", "dap-an-dung", "dap_an", "is-correct", "answer-key", "data-answer", '"dung"',
         "'dung'")
"""What would give a correct answer away (as in test_web_public.py's scan)."""
_phones = itertools.count(30_000_000)


def next_phone() -> str:
    return f"09{next(_phones):08d}"


class Fixture(tuple):
    """A tuple of fixtures that hypothesis reports in one word, not as pages of reprs."""

    def __repr__(self):
        return "fixture"


@pytest.fixture
def fuzz_dep(make_deployment):
    """The example contest (round 2 open now), with rate limits out of the way so that every
    example reaches the checks."""
    dep = make_deployment(plugins=("contest",), plugin_settings={"contest": LIMITS})
    return Fixture((dep, load_contest(dep, contest_data())))


@pytest.fixture
def site(fuzz_dep, make_app):
    dep, contest = fuzz_dep
    return Fixture((dep, contest, make_app(dep)))


def _scan(response, *echoed: str) -> str:
    """The page (status checked), with no leak of a correct answer and no unescaped markup."""
    event(f"HTTP {response.status_code}")
    assert response.status_code != 500 and response.status_code in (200, 303, 400, 403, 404, 409, 413, 422, 429), \
        response.status_code
    page = response.get_data(as_text=True)
    assert "Traceback" not in page
    for raw in MARKUP[:2]:
        assert raw not in page
    ours = page
    for text in echoed:  # what the visitor typed comes back (escaped) and may contain anything
        ours = ours.replace(str(escape(text)), "")
    ours = ours.lower()
    for marker in LEAKS:
        assert marker not in ours, marker
    return page


# -- registration -------------------------------------------------------------------------------

REG_FIELDS = ("full_name", "phone", "birth_year", "audience", "unit_id", "occupation", "citizen_id", "consent",
              "website", "start_now", "khac")
REG_GOOD = {"full_name": ["Trần Thị Mai", "Nguyễn Văn An", "Lê  Thị   Hoa"], "audience": ["cbccvc", "nhan-dan"],
            "unit_id": ["xa-an-dung", "xa-yen-ho", "phong-noi-vu", "ubnd-tinh", "khong-co"],
            "occupation": ["Công chức", "=HYPERLINK(\"http://x\")", "-1+1"], "citizen_id": ["001099012345", "0010990"],
            "consent": ["1", "on", "yes", "co", "0"], "start_now": ["1"], "birth_year": ["1990", "1988", "2020"]}


def _reg_value(field):
    choices = [NASTY, st.sampled_from(MARKUP)]
    if field in REG_GOOD:
        choices.insert(0, st.sampled_from(REG_GOOD[field]))
    if field in ("birth_year", "phone", "citizen_id"):
        choices.insert(0, NUMBERS)
    return st.one_of(*choices)


REG_PAIRS = st.lists(st.sampled_from(REG_FIELDS).flatmap(lambda f: st.tuples(st.just(f), _reg_value(f))), max_size=12)


@FUZZ
@given(pairs=REG_PAIRS, base=st.booleans())
def test_registration_form_fuzz(site, pairs, base):
    dep, _contest, app = site
    client = app.test_client()
    data = [("csrf_token", csrf_from(client.get(BASE + "/dang-ky").get_data(as_text=True)))]
    if base:  # a mostly right form, so that the checks further down are reached too
        data += [("full_name", "Phạm Văn Bình"), ("phone", next_phone()), ("birth_year", "1985"),
                 ("audience", "cbccvc"), ("unit_id", "xa-an-dung"), ("consent", "1")]
        pairs = [(k, v) for k, v in pairs if k not in dict(data) or k == "consent"]  # duplicates come after
    data += pairs
    form = MultiDict(data)
    before = dep.db.execute("select count(*) from contest_participants").fetchone()[0]
    response = client.post(BASE + "/dang-ky", data=form)
    page = _scan(response, *form.values())
    after = dep.db.execute("select count(*) from contest_participants").fetchone()[0]
    registered = response.status_code == 303 or (  # to the landing page, or the attempt page itself
        response.status_code == 200 and 'data-canonical="/cuoc-thi/' in page and "/bai-thi/" in page
        and form.get("start_now") == "1")
    if registered:
        assert after == before + 1
        row = dep.db.execute("select full_name, birth_year, unit_id, occupation from contest_participants "
                             "order by id desc limit 1").fetchone()
        assert form.get("consent") in ("1", "on", "yes", "co") and not form.get("website")
        assert 1900 <= row[1] <= 2100 and row[0] and not re.search(r"[<>\d]", row[0])
        assert row[0] == unicodedata.normalize("NFC", row[0])
    else:
        assert after == before
        assert response.status_code in (400, 422), response.status_code
        if response.status_code == 422:
            assert "Vui lòng" in page or "không" in page
            for field in ("full_name", "occupation"):
                if form.get(field):  # what was typed comes back in the form, escaped
                    assert str(escape(form.get(field))) in page, field


@FUZZ
@given(phone=st.one_of(NUMBERS, st.just("0912345678")), year=NUMBERS,
       extra=st.lists(st.tuples(st.sampled_from(["phone", "birth_year", "khac"]), NASTY), max_size=3))
def test_identify_form_fuzz(site, phone, year, extra):
    _dep, _contest, app = site
    client = app.test_client()
    token = csrf_from(client.get(BASE + "/tiep-tuc").get_data(as_text=True))
    response = client.post(BASE + "/tiep-tuc", data=MultiDict([("csrf_token", token), ("phone", phone),
                                                                ("birth_year", year), *extra]))
    _scan(response, phone, year, *(v for _, v in extra))
    assert response.status_code in (303, 422, 429)


# -- attempts -----------------------------------------------------------------------------------

ANSWER_VALUES = st.one_of(st.sampled_from([str(i) for i in range(10)] + ["-1", "01", " 2 ", "a", "dung", "²", "٣",
                                                                            "1" * 5000, "99999999999999999999"]),
                          NASTY)
ANSWER_FIELDS = st.one_of(st.integers(-1, 25).map(lambda i: f"q{i}"),
                          st.sampled_from(["du_doan", "het_gio", "q", "q1x", "Q1", "csrf_token", "khac"]))
PREDICTIONS = st.one_of(NUMBERS, st.sampled_from(["7", "1.250", "125", "0", ""]))
ACTIONS = st.lists(st.tuples(st.sampled_from(["save", "save_json", "submit", "start", "other_token", "made_up"]),
                             st.lists(st.tuples(ANSWER_FIELDS, ANSWER_VALUES), max_size=25), PREDICTIONS),
                   min_size=1, max_size=4)


def _register_and_start(client):
    token = csrf_from(client.get(BASE + "/dang-ky").get_data(as_text=True))
    response = client.post(BASE + "/dang-ky", data={
        "csrf_token": token, "full_name": "Hoàng Thị Lan", "phone": next_phone(), "birth_year": "1979",
        "audience": "cbccvc", "unit_id": "xa-yen-ho", "consent": "1", "start_now": "1"})
    assert response.status_code == 200  # the attempt page itself, at its address in data-canonical
    url = re.search(r'data-canonical="([^"]+)"', response.get_data(as_text=True)).group(1)
    assert "/bai-thi/" in url, url
    return token, url


@pytest.fixture
def other_attempt(site):
    """Someone else's attempt (its URL), for "this attempt is not yours"."""
    _, _, app = site
    return _register_and_start(app.test_client())[1]


@FUZZ
@given(actions=ACTIONS)
def test_answers_and_submission_fuzz(site, other_attempt, actions):
    dep, contest, app = site
    client = app.test_client()
    token, url = _register_and_start(client)
    attempt = A.get_attempt(dep.db, url.rsplit("/", 1)[1])
    page = _scan(client.get(url))
    assert set(re.findall(r'name="q\d+" value="([^"]+)"', page)) <= {str(i) for i in range(1, 9)}
    for action, pairs, prediction in actions:
        data = MultiDict([("csrf_token", token), ("du_doan", prediction), *pairs])
        typed = [prediction, *(v for _, v in pairs)]
        if action == "start":
            response = client.post(BASE + "/bat-dau", data=data)
            _scan(response)
            continue
        target = {"other_token": other_attempt, "made_up": BASE + "/bai-thi/" + "x" * 22}.get(action, url)
        suffix = "/nop" if action == "submit" else "/luu"
        headers = {"X-Requested-With": "fetch", "Accept": "application/json"} if action == "save_json" else {}
        response = client.post(target + suffix, data=data, headers=headers)
        _scan(response, *typed)
        if target != url:
            assert response.status_code in (403, 404)
        elif action == "save_json" and response.status_code in (200, 409):
            assert set(response.get_json()) == {"saved", "seconds_left"}
    # What is stored is only ever option keys of the questions the attempt drew.
    stored = A.get_attempt(dep.db, attempt.token)
    b = A.bank_for(dep, contest, stored)
    for position, keys in stored.answers.items():
        assert position.isdigit() and 1 <= int(position) <= len(stored.questions)
        qid = stored.questions[int(position) - 1][0]
        assert set(keys) <= {k for k, _ in b.questions[qid].options}
        if b.questions[qid].type != "multiple":
            assert len(keys) <= 1
    if stored.status == "submitted":
        assert 0 <= stored.score <= stored.total == len(stored.questions)
    if stored.prediction is not None:
        assert math.isfinite(stored.prediction) and stored.prediction >= 0
    # The attempt limit holds (one attempt per round in the example contest), however often "start" was pressed.
    per_round = dep.db.execute("select count(*) from contest_attempts where participant_id = ? and round_id = ?",
                               [stored.participant_id, stored.round_id]).fetchone()[0]
    assert per_round <= contest.definition.attempts_per_round


# -- question files ---------------------------------------------------------------------------------

CELL = st.one_of(
    NASTY,
    st.sampled_from(["single", "multiple", "true_false", "Đúng", "Sai", "A", "B", "A;C", "Z", "1", "5", "9",
                     "cbccvc", "nhan-dan", "khong-co", "Chỉ tiêu", "=1+1", "=HYPERLINK(\"http://x\")"]),
)
COLUMNS = [*bank.CONTEST_COLUMNS, "cot-la", ""]
GOOD_ROW = {"type": "single", "prompt": "Kế hoạch đặt chỉ tiêu bao nhiêu số?", "option_a": "12 số",
            "option_b": "15 số", "correct": "B", "category": "Chỉ tiêu", "audience": "cbccvc"}


def _rows(data):
    """Rows of cells: mostly right rows with a few cells replaced, or anything."""
    rows = []
    for n in range(data.draw(st.integers(0, 6))):
        if data.draw(st.booleans()):
            row = dict(GOOD_ROW, prompt=f"{GOOD_ROW['prompt']} ({n})")
            for _ in range(data.draw(st.integers(0, 2))):
                row[data.draw(st.sampled_from(COLUMNS))] = data.draw(CELL)
        else:
            row = data.draw(st.dictionaries(st.sampled_from(COLUMNS), CELL, max_size=8))
        rows.append(row)
    return rows


def _check_import(dep, contest, path_or_rows, manager, filename, content):
    """Read, parse and (through the manager's page) import a file: either every row is a question
    and they are stored, or each bad row has its line and reason and nothing is stored."""
    before = dep.db.execute("select count(*), max(id) from contest_questions").fetchone()
    client, token = manager
    response = client.post(f"/cuoc-thi/quan-ly/{contest.slug}/cau-hoi/nhap", data={
        "csrf_token": token, "file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")
    event(f"import HTTP {response.status_code}")
    assert response.status_code in (303, 422), response.status_code
    page = response.get_data(as_text=True)
    assert SCRIPT not in page
    after = dep.db.execute("select count(*), max(id) from contest_questions").fetchone()
    try:
        rows = bank.read_question_file(path_or_rows)
        found, _audiences, problems = bank.parse_rows(rows, contest.definition, plan=dep.plan)
    except QuestionError as exc:
        # Unreadable, or a wrong header: the whole file is refused on the page, nothing stored.
        assert str(exc)
        assert response.status_code == 422 and after == before
        assert "Chưa nhập tệp" in page and "Không nhập được tệp" in page
        return "unreadable"
    lines = {line for line, _ in rows}
    for problem in problems:  # a line of the file (a row, or the header above the first row) and a reason
        assert problem.message and problem.line in lines | {1, *(line - 1 for line in lines)}
    if problems:
        assert response.status_code == 422 and after == before  # nothing stored
        for problem in problems:
            assert f"Dòng {problem.line}: " in page
    else:
        assert response.status_code == 303
        active = dep.db.execute("select count(*) from contest_questions where contest_id = ? and active = 1",
                                [contest.id]).fetchone()[0]
        assert active >= len(found)
    return "bad" if problems else "good"


@pytest.fixture
def manager(fuzz_dep, make_app, make_user):
    dep, contest = fuzz_dep
    app = make_app(dep)
    client = app.test_client()
    name, password = make_user(dep, "contest_manager")
    assert login(client, name, password).status_code == 302
    token = csrf_from(client.get(f"/cuoc-thi/quan-ly/{contest.slug}/cau-hoi").get_data(as_text=True))
    return Fixture((dep, contest, (client, token)))


def _csv_bytes(header, rows, data) -> bytes:
    """A CSV file in some encoding (UTF-8 or not), sometimes with broken bytes inserted."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header])
    text = out.getvalue()
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258", "latin-1"]))
    raw = text.encode(encoding, errors="replace")
    if data.draw(st.booleans()):  # a few broken bytes somewhere
        at = data.draw(st.integers(0, len(raw)))
        raw = raw[:at] + data.draw(st.binary(max_size=6)) + raw[at:]
    return raw


@FUZZ
@given(data=st.data())
def test_csv_question_import_fuzz(manager, tmp_path_factory, data):
    dep, contest, client = manager
    rows = _rows(data)
    header = data.draw(st.permutations(list(bank.CONTEST_COLUMNS))) if data.draw(st.booleans()) else \
        list(GOOD_ROW) + data.draw(st.lists(st.sampled_from(COLUMNS), max_size=2))
    raw = _csv_bytes(header, rows, data)
    path = tmp_path_factory.mktemp("csv") / "cau-hoi.csv"
    path.write_bytes(raw)
    event(_check_import(dep, contest, path, client, "cau-hoi.csv", raw))


XLSX_CELL = st.one_of(
    CELL,
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.sampled_from(["=1+1", "=SUM(A1:A3)", "=A1", "x" * 40_000, "Ứ" * 5000]),
)


@FUZZ
@given(data=st.data())
def test_xlsx_question_import_fuzz(manager, tmp_path_factory, data):
    """Spreadsheets built with openpyxl: formulas (no cached value), numbers, empty and huge cells."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    dep, contest, client = manager
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    header = list(GOOD_ROW) + data.draw(st.lists(st.sampled_from(COLUMNS), max_size=2))
    sheet.append(header)
    for row in _rows(data):
        cells = [row.get(c, "") for c in header]
        for _ in range(data.draw(st.integers(0, 2))):
            cells[data.draw(st.integers(0, len(cells) - 1))] = data.draw(XLSX_CELL)
        # A workbook cannot hold control characters (Excel and openpyxl refuse them).
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in cells])
    buffer = io.BytesIO()
    workbook.save(buffer)
    raw = buffer.getvalue()
    if data.draw(st.integers(0, 9)) == 0:  # sometimes not a workbook at all
        raw = raw[: data.draw(st.integers(0, 8000))]  # (a fixed range: the file's length varies with its timestamp)
    path = tmp_path_factory.mktemp("xlsx") / "cau-hoi.xlsx"
    path.write_bytes(raw)
    event(_check_import(dep, contest, path, client, "cau-hoi.xlsx", raw))


GIFT_PARTS = st.sampled_from([
    "::q1:: Kế hoạch có mấy chỉ tiêu? {=Mười ~Năm ~Ba}", "Câu đúng sai {T}", "Câu sai {FALSE}",
    "Chọn nhiều {~%50%Một ~%50%Hai ~%-100%Ba}", "$CATEGORY: $course$/Chỉ tiêu", "// ghi chú", "",
    "Câu lạ {#3}", "{=a ~b", "}", "{}", "::::", "::x:: {~a ~b}", "Câu {=a#phản hồi ~b#sai}", "Câu {~%abc%a ~b}",
    "Câu {=" + " ~x" * 12 + "}", "[html]<b>Đậm</b> {=a ~b}", "Câu \\{thoát\\} {=a ~b}", "Câu {~%1e309%a ~=b}",
])
AIKEN_PARTS = st.sampled_from([
    "Kế hoạch đặt chỉ tiêu bao nhiêu số?", "A. 12 số", "B. 15 số", "C) 24 số", "ANSWER: B", "ANSWER: Z", "ANSWER:",
    "answer: a", "", "D. ", "Dòng thừa", "H. tám", "I. chín", "A.không cách",
])


@FUZZ
@given(data=st.data(), kind=st.sampled_from(["gift", "txt"]))
def test_gift_and_aiken_import_fuzz(manager, tmp_path_factory, data, kind):
    dep, contest, client = manager
    parts = GIFT_PARTS if kind == "gift" else AIKEN_PARTS
    lines = data.draw(st.lists(st.one_of(parts, parts, NASTY), max_size=20))
    raw = "\n".join(lines).encode("utf-8", errors="surrogatepass") if data.draw(st.booleans()) else \
        "\n".join(lines).encode("utf-8", errors="replace")
    if data.draw(st.integers(0, 5)) == 0:
        raw += b"\xff\xfe broken"
    path = tmp_path_factory.mktemp(kind) / f"cau-hoi.{kind}"
    path.write_bytes(raw)
    event(_check_import(dep, contest, path, client, f"cau-hoi.{kind}", raw))
