"""Issue #17 on the contest: spreadsheet bombs, odd numbers in URLs and forms, CPU bombs.

Each test is one finding: a request that answered 500, held a worker for a minute or took minutes
of CPU before, and now answers a clear refusal (400, 404, 422) quickly, with nothing changed. The
slow ones run under ``cpu_limit``, so on code that does not stop them they fail in seconds."""

from __future__ import annotations

import io
import re

import pytest
from ccch_contest.definition import MAX_ROUNDS, DefinitionError, loads_definition
from ccch_contest_testing import CONTEST_TOML, PHONES, add_participant
from click.testing import CliRunner
from werkzeug.datastructures import MultiDict

from ccch_core.cli import make_cli
from ccch_core.testing import cpu_limit, csrf_token, login, xlsx_file

SLUG = "tim-hieu-cchc-2024"
MANAGE = f"/cuoc-thi/quan-ly/{SLUG}"
HEADER = ["key", "type", "prompt", "option_a", "option_b", "correct", "category", "audience"]
HUGE = "99999999999999999999"
DEEP = "x = " + "[" * 1000 + "]" * 1000 + "\n"


@pytest.fixture
def app(dep, contest, make_app):
    return make_app(dep)


@pytest.fixture
def manager(app, dep, make_user):
    client = app.test_client()
    assert login(client, *make_user(dep, "contest_manager")).status_code == 302
    return client


def bank_size(dep, contest) -> int:
    return dep.db.execute("select count(*) from contest_questions where contest_id = ? and active = 1",
                          [contest.id]).fetchone()[0]


def upload(client, url, path, **form):
    token = csrf_token(client, f"{MANAGE}/cau-hoi")
    with open(path, "rb") as handle:
        return client.post(url, data={"csrf_token": token, "file": (io.BytesIO(handle.read()), path.name), **form},
                           content_type="multipart/form-data")


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


# -- spreadsheet bombs ----------------------------------------------------------------------------


BOMB_ROWS = [[f"bom-{i}", "single", f"Câu hỏi bom số {i}?", "Có", "Không", "A", "Chung", "cbccvc"] for i in range(3)]


def test_a_sheet_declaring_a1_xfd1048576_with_its_last_cell_is_refused(manager, dep, contest, tmp_path):
    """Issue #17: a 1.6 KB XLSX declaring A1:XFD1048576 drove the import worker to 4 GB and a 500
    (a cell in the last corner made openpyxl fill a million rows of 16,384 cells)."""
    path = xlsx_file(tmp_path / "bom.xlsx", [HEADER, *BOMB_ROWS], dimension="A1:XFD1048576",
                     sheet_data=[b'<row r="1048576"><c r="XFD1048576" s="0"/></row>'])
    assert path.stat().st_size < 3_000
    before = bank_size(dep, contest)
    with cpu_limit(5, "importing a 3 KB sheet"):
        response = upload(manager, f"{MANAGE}/cau-hoi/nhap", path)
    assert response.status_code == 422
    assert ("Không nhập được tệp bom.xlsx: có hơn 20.000 dòng dữ liệu (trang tính còn dòng sau dòng 21.001), quá "
            "giới hạn 20.000 dòng cho một lần nhập.") in text_of(response)
    assert bank_size(dep, contest) == before


def test_a_declared_dimension_alone_changes_nothing(manager, dep, contest, tmp_path):
    path = xlsx_file(tmp_path / "khai-bao.xlsx", [HEADER, *BOMB_ROWS], dimension="A1:XFD1048576")
    before = bank_size(dep, contest)
    with cpu_limit(5, "importing a 3 KB sheet"):
        response = upload(manager, f"{MANAGE}/cau-hoi/nhap", path)
    assert response.status_code == 303, text_of(response)[:2000]
    assert bank_size(dep, contest) == before + 3


def test_a_million_row_sheet_is_refused_naming_the_file_and_the_limit(manager, dep, contest, tmp_path):
    """Issue #17: 1.4 million rows in a small XLSX held a worker for 60 s until gunicorn killed it."""
    row = b'<row><c t="inlineStr"><is><t>C\xc3\xa2u h\xe1\xbb\x8fi?</t></is></c><c><v>1</v></c></row>'
    path = xlsx_file(tmp_path / "trieu-dong.xlsx", [["prompt", "correct"]], sheet_data=[row * 1_400_000])
    before = bank_size(dep, contest)
    with cpu_limit(5, "refusing a 1.4-million-row sheet"):
        response = upload(manager, f"{MANAGE}/cau-hoi/nhap", path)
    assert response.status_code == 422
    page = text_of(response)
    assert "Không nhập được tệp trieu-dong.xlsx:" in page and "quá giới hạn tỷ lệ nén 100 lần" in page
    assert bank_size(dep, contest) == before


def test_rows_past_the_deployments_limit_are_refused_whole(make_deployment, make_app, make_user, tmp_path):
    from ccch_contest_testing import contest_data, load_contest

    dep = make_deployment(plugins=("contest",), limits={"max_rows": 10})
    contest = load_contest(dep, contest_data())
    client = make_app(dep).test_client()
    assert login(client, *make_user(dep, "contest_manager")).status_code == 302
    rows = [[f"dai-{i}", "single", f"Câu dài {i}?", "Có", "Không", "A", "Chung", "cbccvc"] for i in range(11)]
    before = bank_size(dep, contest)
    response = upload(client, f"{MANAGE}/cau-hoi/nhap", xlsx_file(tmp_path / "dai.xlsx", [HEADER, *rows]),
                      skip_bad_rows="1")
    assert response.status_code == 422
    assert ("Không nhập được tệp dai.xlsx: có hơn 10 dòng dữ liệu (còn dữ liệu ở dòng 12), quá giới hạn 10 dòng cho "
            "một lần nhập.") in text_of(response)
    assert bank_size(dep, contest) == before
    # The command line reads the same limits.
    csv_path = tmp_path / "dai.csv"
    csv_path.write_text(",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(make_cli(dep.config.path), ["contest", "questions", "import", SLUG, str(csv_path)])
    assert result.exit_code != 0 and "dai.csv: có hơn 10 dòng dữ liệu" in result.output
    assert bank_size(dep, contest) == before


def test_a_csv_cell_past_the_csv_modules_bound_is_refused_not_a_500(manager, dep, contest, tmp_path):
    path = tmp_path / "o-dai.csv"
    path.write_text(",".join(HEADER) + "\n" + "o-dai,single," + "x" * 200_000 + ",Có,Không,A,Chung,cbccvc\n",
                    encoding="utf-8")
    before = bank_size(dep, contest)
    response = upload(manager, f"{MANAGE}/cau-hoi/nhap", path)
    assert response.status_code == 422
    assert "dòng 2: một ô dài hơn 131.072 ký tự, quá giới hạn 10.000 ký tự" in text_of(response)
    assert bank_size(dep, contest) == before


def test_a_gift_question_past_the_cell_limit_is_refused(manager, dep, contest, tmp_path):
    path = tmp_path / "dai.gift"
    path.write_text("::dai:: " + "Câu hỏi " * 2_000 + "{=Có ~Không}\n", encoding="utf-8")
    response = upload(manager, f"{MANAGE}/cau-hoi/nhap", path)
    assert response.status_code == 422
    assert "câu hỏi ở dòng 1, phần prompt: dài 15.999 ký tự, quá giới hạn 10.000 ký tự" in text_of(response)


# -- definitions (TOML) ---------------------------------------------------------------------------


def test_a_definition_nested_1000_deep_is_refused_not_a_500(manager, dep):
    """Issue #17: a TOML upload nested 1,000 deep was a RecursionError and a 500."""
    token = csrf_token(manager, "/cuoc-thi/quan-ly/")
    text = CONTEST_TOML.read_text(encoding="utf-8") + DEEP
    response = manager.post("/cuoc-thi/quan-ly/nap-dinh-nghia", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(text.encode()), "sau.toml")})
    assert response.status_code == 422
    assert "nội dung lồng nhau quá 20 tầng ([ ] hoặc { } trong nhau)" in text_of(response)
    with pytest.raises(DefinitionError) as caught:
        loads_definition(text, dep.plan, file="sau.toml")
    assert caught.value.problems[0].line == text.count("\n")


def test_a_definition_upload_over_the_size_limit_is_refused(make_deployment, make_app, make_user):
    dep = make_deployment(plugins=("contest",), limits={"max_file_bytes": 200_000})  # the plan file is 100 KB
    client = make_app(dep).test_client()
    assert login(client, *make_user(dep, "contest_manager")).status_code == 302
    token = csrf_token(client, "/cuoc-thi/quan-ly/")
    text = CONTEST_TOML.read_text(encoding="utf-8") + "# " + "x" * 200_000 + "\n"
    response = client.post("/cuoc-thi/quan-ly/nap-dinh-nghia", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(text.encode()), "lon.toml")})
    assert response.status_code == 422
    assert "lon.toml: tệp nặng hơn 200 KB, giới hạn cho một lần nhập" in text_of(response)
    assert dep.db.execute("select count(*) from contest_contests").fetchone()[0] == 0


def test_a_definition_of_15000_rounds_is_refused_in_a_moment(dep):
    """Found while bounding the inputs: 15,000 [[rounds]] in a 900 KB file took 377 s of CPU to check
    (every duplicate, overlap and problem compared with every other and located in the text)."""
    text = CONTEST_TOML.read_text(encoding="utf-8").split("[[rounds]]")[0]
    text += "[[rounds]]\nnumber = 5\nopens = 2024-01-01\ncloses = 2024-01-02\n" * 15_000
    with cpu_limit(3, "checking 15,000 rounds"), pytest.raises(DefinitionError) as caught:
        loads_definition(text, dep.plan)
    assert [p.message for p in caught.value.problems if p.where == "rounds"] == [
        f"15000 rounds: a contest has at most {MAX_ROUNDS}"]


def test_problems_past_the_hundredth_are_counted_not_located(dep):
    text = CONTEST_TOML.read_text(encoding="utf-8").replace("[contest]", "[contest]\n" + "".join(
        f"sai_{i} = 1\n" for i in range(5_000)), 1)
    with cpu_limit(3, "reporting 5,000 unknown keys"), pytest.raises(DefinitionError) as caught:
        loads_definition(text, dep.plan)
    problems = caught.value.problems
    assert len(problems) == 101 and problems[0].line is not None
    assert problems[-1].message == "and 4900 more problem(s) not listed: fix the ones above and check again"


# -- the setup form -------------------------------------------------------------------------------


def setup_form(**overrides):
    form = {"slug": "thi-thang-7", "title": "Cuộc thi tháng 7", "questions_per_attempt": "10",
            "time_limit_minutes": "10", "attempts_per_round": "1", "leaderboard_size": "30", "prediction_kind": "none",
            "round_count": "3", "rounds-0-number": "1", "rounds-0-name": "Tuần 1", "rounds-0-opens_date": "2024-07-01",
            "rounds-0-opens_time": "07:00", "rounds-0-closes_date": "2024-07-07", "rounds-0-closes_time": "23:59:59",
            "rounds-1-number": "2", "rounds-1-name": "Tuần 2", "rounds-1-opens_date": "2024-07-08",
            "rounds-1-opens_time": "07:00", "rounds-1-closes_date": "2024-07-14", "rounds-1-closes_time": "23:59:59",
            "audience_count": "1", "audiences-0-key": "chung", "audiences-0-name": "Mọi người dự thi"}
    form.update(overrides)
    return form


@pytest.mark.parametrize("field, value", [
    ("round_count", "abc"), ("round_count", "3000000"), ("round_count", "-1"), ("round_count", "²"),
    ("round_count", HUGE * 250), ("audience_count", "abc"), ("audience_count", "999999999"),
])
def test_a_bad_row_count_brings_the_form_back_filled_in(app, dep, make_user, field, value):
    """Issue #17: round_count=abc was a 500; round_count=3000000 took 40 s of CPU."""
    client = app.test_client()
    assert login(client, *make_user(dep, "contest_manager")).status_code == 302
    token = csrf_token(client, "/cuoc-thi/quan-ly/tao")
    with cpu_limit(3, f"{field}={value[:20]}"):
        response = client.post("/cuoc-thi/quan-ly/tao", data={"csrf_token": token, **setup_form(**{field: value})})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    what = "số dòng vòng thi" if field == "round_count" else "số đối tượng dự thi"
    assert f"Biểu mẫu gửi {what} không hợp lệ" in html
    # Everything typed comes back: both rounds and the audience.
    for typed in ('value="Tuần 1"', 'value="Tuần 2"', 'value="2024-07-14"', 'value="Mọi người dự thi"',
                  'value="Cuộc thi tháng 7"'):
        assert typed in html, typed
    assert dep.db.execute("select count(*) from contest_contests where slug = 'thi-thang-7'").fetchone()[0] == 0


def test_a_good_row_count_still_saves(app, dep, make_user):
    client = app.test_client()
    assert login(client, *make_user(dep, "contest_manager")).status_code == 302
    token = csrf_token(client, "/cuoc-thi/quan-ly/tao")
    response = client.post("/cuoc-thi/quan-ly/tao", data={"csrf_token": token, **setup_form()})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


@pytest.mark.parametrize("value", ["٣", "1" * 5000, "-5"])
def test_odd_numbers_in_setup_fields_are_reported_not_crashed(app, dep, make_user, value):
    client = app.test_client()
    assert login(client, *make_user(dep, "contest_manager")).status_code == 302
    token = csrf_token(client, "/cuoc-thi/quan-ly/tao")
    response = client.post("/cuoc-thi/quan-ly/tao", data={
        "csrf_token": token, **setup_form(questions_per_attempt=value, **{"rounds-0-number": value})})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # The problem is named in words (not contest.questions_per_attempt), and the value typed comes back.
    assert "Số câu hỏi mỗi lượt: cần một số nguyên từ 1 đến 200" in text_of(response)
    assert "contest.questions_per_attempt" not in html
    assert f'value="{value}"' in html
    assert dep.db.execute("select count(*) from contest_contests where slug = 'thi-thang-7'").fetchone()[0] == 0


# -- numbers in URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["?vong=²", "?vong=٣", "?vong=" + "9" * 5000, f"?vong={HUGE}", "?vong=-1"])
def test_the_public_leaderboard_answers_404_to_an_odd_round(app, query):
    """Issue #17: ?vong=² (a digit to str.isdigit, not to int) and 5,000 digits were 500s."""
    response = app.test_client().get(f"/cuoc-thi/{SLUG}/bang-xep-hang{query}")
    assert response.status_code == 404
    assert "Không có vòng thi này." in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["rankings", "participation"])
@pytest.mark.parametrize("query", ["?vong=²", "?vong=" + "9" * 5000, f"?vong={HUGE}"])
def test_manager_round_choices_never_500(manager, page, query):
    url = {"rankings": f"{MANAGE}/xep-hang", "participation": f"{MANAGE}/tham-gia"}[page]
    assert manager.get(url + query).status_code in (200, 404)


@pytest.mark.parametrize("page", ["thi-sinh", "xep-hang", "cau-hoi"])
@pytest.mark.parametrize("value", ["9223372036854775807", HUGE, "²", "٣", "1" * 5000, "-3"])
def test_a_page_number_out_of_range_is_400(manager, dep, contest, page, value):
    """Issue #17: ?trang=9223372036854775807 on contestants and rankings was a 500 (SQLite's
    OverflowError on the offset)."""
    add_participant(dep, contest, 1)
    response = manager.get(f"{MANAGE}/{page}?trang={value}")
    assert response.status_code == 400
    assert "Số trang không hợp lệ: cần một số nguyên từ 1 đến 100.000." in response.get_data(as_text=True)
    assert manager.get(f"{MANAGE}/{page}?trang=100000").status_code == 200


@pytest.mark.parametrize("path", [f"/thi-sinh/{HUGE}", "/thi-sinh/9223372036854775808", "/thi-sinh/٣",
                                  f"/bai-thi/{HUGE}/loai", f"/vong/{HUGE}/chot"])
def test_an_id_past_sqlites_range_is_404(manager, path):
    """Issue #17: /thi-sinh/99999999999999999999 was a 500 (SQLite's OverflowError)."""
    method = manager.get if path.startswith("/thi-sinh") else manager.post
    data = {} if method == manager.get else {"csrf_token": csrf_token(manager, f"{MANAGE}/thi-sinh")}
    assert method(MANAGE + path, data=data).status_code == 404


def test_a_real_id_still_opens(manager, dep, contest):
    person = add_participant(dep, contest, 2)
    response = manager.get(f"{MANAGE}/thi-sinh/{person.id}")
    assert response.status_code == 200 and PHONES[2][-3:] in response.get_data(as_text=True)


def test_repeated_round_counts_take_the_first(app, dep, make_user):
    client = app.test_client()
    assert login(client, *make_user(dep, "contest_manager")).status_code == 302
    token = csrf_token(client, "/cuoc-thi/quan-ly/tao")
    form = MultiDict(list(setup_form().items()) + [("round_count", "3000000"), ("csrf_token", token)])
    with cpu_limit(3):
        response = client.post("/cuoc-thi/quan-ly/tao", data=form)
    assert response.status_code == 303
