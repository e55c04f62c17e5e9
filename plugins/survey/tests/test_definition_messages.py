"""The survey definition speaks Vietnamese: every problem an officer can meet while writing or
editing a survey says what is wrong and where (file, line or field, value), and the editor
explains the fields on the page instead of pointing to a document officers cannot open."""

from __future__ import annotations

import re

import pytest
from ccch_survey.definition import DefinitionError, load_definition, loads_definition

from ccch_core import accounts
from ccch_core.testing import csrf_token, login

# Words of the English messages these replaced; none may come back.
ENGLISH = re.compile(r"\b(must|missing|needed|not valid|unknown key|no such|repeats|at least|at most|a table|"
                     r"has no correct|not UTF-8|known:)\b")
VIETNAMESE = re.compile(r"[ạảãàáâậầấẩẫăắằặẳẵêếềệểễôốồộổỗơớờợởỡưứừựửữđịỉĩìíọỏõòóụủũùúỵỷỹỳý]", re.IGNORECASE)

Q = '\n[[questions]]\nkey = "a"\ntype = "scale5"\nprompt = "Thái độ"\n'


def problems_of(text: str, where: str = "ks.toml") -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        loads_definition(text, where)
    return caught.value.problems


@pytest.mark.parametrize(("text", "expected"), [
    ('id = "sipas"\ntitle = "T"\n', "ks.toml.questions: cần ít nhất một câu hỏi"),
    ('id = "Bad Id"\ntitle = "T"\n' + Q, "ks.toml.id: 'Bad Id' không hợp lệ"),
    ('id = "x"\n' + Q, "ks.toml.title: thiếu tiêu đề"),
    ('id = "x"\ntitle = "T"\nintro = 3\n' + Q, "ks.toml.intro: phải là một chuỗi chữ"),
    ('id = "x"\ntitle = "T"\nask_contact = "có"\n' + Q, "ks.toml.ask_contact: phải là true hoặc false, không phải 'có'"),
    ('id = "x"\ntitle = "T"\ntieu_de = "T"\n' + Q, "ks.toml: không có trường tieu_de"),
    ('id = "x"\ntitle = "T"\nquestions = [1]\n', "ks.toml.questions[1]: phải là một bảng [[questions]]"),
    ('id = "x"\ntitle = "T"\n' + Q.replace('prompt = "Thái độ"', 'prompt = "Thái độ"\ncorrect = "5"'),
     "ks.toml.questions[1]: câu hỏi khảo sát không có đáp án đúng"),
    ('id = "x"\ntitle = "T"\n' + Q + Q, "ks.toml.questions[2]: key 'a' trùng với câu hỏi thứ 1"),
    ('id = "x"\ntitle = "T"\n' + Q * 61, "ks.toml.questions: có 61 câu hỏi, tối đa 60"),
    ('id = "x"\ntitle = "T"\nreworded = 1\n' + Q, "ks.toml.reworded: phải là một bảng"),
    ('id = "x"\ntitle "T"\n' + Q, ("ks.toml: không đọc được nội dung TOML: dòng 2, cột 7 («title \"T\"»): "
                                   "thiếu dấu '=' sau tên trường")),
    ('id = "x"\ntitle = "T\n' + Q, "ks.toml: không đọc được nội dung TOML: dòng 2, cột 11"),
])
def test_definition_problems_are_in_vietnamese_and_say_where(text, expected):
    problems = problems_of(text)
    assert any(p.startswith(expected) for p in problems), problems
    for problem in problems:
        assert problem.startswith("ks.toml") and not ENGLISH.search(problem), problem
        assert VIETNAMESE.search(problem.removeprefix("ks.toml")), problem


def test_file_problems_are_in_vietnamese(tmp_path):
    with pytest.raises(DefinitionError, match="khong-co.toml: không tìm thấy tệp"):
        load_definition(tmp_path / "khong-co.toml")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('title = "Bá cáo"'.encode("latin-1"))  # á as one Latin-1 byte: not UTF-8
    with pytest.raises(DefinitionError, match="latin1.toml: tệp không phải văn bản UTF-8"):
        load_definition(latin1)


@pytest.fixture
def editor(app, dep):
    accounts.create_user(dep.db, dep.plan, "vhtt", "mat-khau-thu-nghiem-2024", "plan_admin")
    client = app.test_client()
    login(client, "vhtt")
    return client


def test_the_editor_explains_the_fields_in_the_page(editor):
    for path in ("/khao-sat/sipas/sua", "/khao-sat/moi"):
        page = editor.get(path).get_data(as_text=True)
        assert "docs/survey.md" not in page  # officers cannot open the repository's docs
        help_ = page[page.index('id="huong-dan"'):]
        for field in ("id", "title", "intro", "thanks", "ask_contact", "[[questions]]", "key", "section", "type",
                      "prompt", "help", "required", "options", "min_value", "max_value", "max_length", "[reworded]",
                      "scale5", "single", "multiple", "true_false", "short_text", "long_text", "number"):
            assert f"<code>{field}</code>" in help_, field
        assert "thêm ở cuối" in help_  # how to add an option without relabelling earlier answers


def test_the_editor_shows_problems_in_vietnamese_and_keeps_the_text(editor):
    token = csrf_token(editor, "/khao-sat/sipas/sua")
    bad = editor.post("/khao-sat/sipas/sua", data={"csrf_token": token, "dinh_nghia": 'id = "sipas"\n'})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    start = page.index('class="error-summary"')
    summary = page[start:page.index("</ul>", start)]
    assert "khảo sát.title: thiếu tiêu đề khảo sát" in summary
    assert "khảo sát.questions: cần ít nhất một câu hỏi" in summary
    assert 'id = &#34;sipas&#34;' in page


@pytest.mark.parametrize(("line", "expected"), [
    ("tieu de = 1", "dòng 1, cột 6 («tieu de = 1»): thiếu dấu '=' sau tên trường"),
    ('x = { a = "1"', "cuối nội dung: bảng {…} chưa có dấu '}' đóng"),
    ("x = [1, 2", "cuối nội dung: danh sách […] chưa có dấu ']' đóng"),
    ("x = có", "giá trị không hợp lệ (chữ phải nằm trong dấu ngoặc kép"),
    ('x = "a', "chuỗi chữ chưa có dấu ngoặc kép đóng"),
    ("[[questions]\n", "thiếu ']]' ở cuối [[questions]]"),
    ("[a]\n[a]", "dòng 2, cột 3 («[a]»): bảng [a] được khai báo hai lần"),
    ('x = 1\ny = 2\nx = 3', "một trường được khai báo hai lần"),  # tomllib places it at the end
    ('x = "\\q"', "dấu '\\' trong chuỗi phải viết thành '\\\\'"),
])
def test_toml_syntax_errors_are_in_vietnamese_with_the_line(line, expected):
    (problem,) = problems_of(line)
    assert problem.startswith("ks.toml: không đọc được nội dung TOML: ") and expected in problem, problem
