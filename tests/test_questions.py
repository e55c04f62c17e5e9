"""The shared question model: definitions, answer checking, tabular import and export."""

from __future__ import annotations

import unicodedata

import pytest

from ccch_core.questions import (
    AnswerError,
    Option,
    Question,
    QuestionError,
    QuestionType,
    check_header,
    question_from_dict,
    question_to_row,
    questions_from_rows,
    read_rows,
)


def single(**kw):
    return Question(key="q1", type="single", prompt="Kế hoạch đặt bao nhiêu số phát sóng mỗi năm?",
                    options=[Option(k, v) for k, v in (("a", "12"), ("b", "15"), ("c", "20"))],
                    correct=("b",), **kw)


def test_scale_and_true_false_get_their_options():
    scale = Question(key="s1", type="scale5", prompt="Mức độ hài lòng")
    assert [o.key for o in scale.options] == ["1", "2", "3", "4", "5"]
    assert scale.options[4].label == "Rất hài lòng"
    tf = Question(key="t1", type="true_false", prompt="Đúng hay sai?", correct=("dung",))
    assert [o.label for o in tf.options] == ["Đúng", "Sai"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "bad key"}, "key"),
        ({"prompt": "  "}, "prompt is empty"),
        ({"correct": ("z",)}, "not an option"),
        ({"correct": ("a", "b")}, "exactly one correct"),
        ({"difficulty": 9}, "difficulty"),
    ],
)
def test_invalid_definitions(kwargs, message):
    base = {"key": "q1", "type": "single", "prompt": "Câu hỏi?", "correct": ("a",)}
    base["options"] = [Option("a", "Một"), Option("b", "Hai")]
    base.update(kwargs)
    with pytest.raises(QuestionError, match=message):
        Question(**base)


def test_check_answer_for_each_type():
    q = single()
    assert q.check_answer(["b"]) == ("b",)
    with pytest.raises(AnswerError, match="Vui lòng chọn"):
        q.check_answer([])
    with pytest.raises(AnswerError, match="không hợp lệ"):
        q.check_answer(["z"])
    with pytest.raises(AnswerError, match="Chỉ được chọn một"):
        q.check_answer(["a", "b"])
    multi = question_from_dict({"key": "m", "type": "multiple", "prompt": "Chọn", "options": ["A", "B", "C"],
                                "correct": ["a", "c"]})
    assert multi.check_answer(["c", "a", "c"]) == ("a", "c")
    assert multi.is_correct(("c", "a")) and not multi.is_correct(("a",))
    number = question_from_dict({"key": "n", "type": "number", "prompt": "Số", "min_value": 0, "max_value": 100})
    assert number.check_answer(["87,5"]) == ("87.5",)
    for bad, message in (("abc", "một số"), ("101", "lớn nhất"), ("-1", "nhỏ nhất"), ("nan", "một số")):
        with pytest.raises(AnswerError, match=message):
            number.check_answer([bad])
    text = question_from_dict({"key": "t", "type": "short_text", "prompt": "Ý kiến", "required": False})
    assert text.check_answer(["  "]) == ()
    decomposed = unicodedata.normalize("NFD", "Rất tốt")
    assert text.check_answer([decomposed]) == ("Rất tốt",)
    with pytest.raises(AnswerError, match="dài quá"):
        text.check_answer(["x" * 201])
    # Control characters and bidi overrides are dropped (ccch_core.text.clean), not stored.
    assert text.check_answer(["a\x00b\u202e"]) == ("ab",)


def test_without_answer_hides_the_correct_option():
    assert single().without_answer().correct == ()
    assert "correct" not in single().without_answer().to_dict()


def test_import_reports_every_bad_row_with_its_line(tmp_path):
    path = tmp_path / "cau-hoi.csv"
    path.write_text(
        "\ufeffkey,type,prompt,option_a,option_b,option_c,correct,category\n"
        "q1,single,Chỉ tiêu phát sóng?,12 số,15 số,20 số,B,Chỉ tiêu\n"
        "q2,single,Thiếu đáp án đúng,Một,Hai,,,Chỉ tiêu\n"
        "q3,single,Đáp án sai chữ,Một,Hai,,D,Chỉ tiêu\n"
        "q1,single,Trùng mã,Một,Hai,,A,Chỉ tiêu\n"
        "\n"
        "q5,true_false,Hạn nộp kế hoạch xã là 20/01/2024?,,,,Đúng,Thời hạn\n"
        "q6,kiểu lạ,Loại sai,Một,Hai,,A,\n"
        "q7,multiple,Chọn các đơn vị,Phòng Nội vụ,,Phòng Tư pháp,A;C,\n",
        encoding="utf-8",
    )
    rows = read_rows(path)
    assert check_header(rows) == []
    questions, problems = questions_from_rows(rows, require_correct=True)
    assert [q.key for q in questions] == ["q1", "q5"]
    assert [(p.line, p.message.split(" ")[0]) for p in problems] == [
        (3, "no"), (4, "correct"), (5, "key"), (8, "type"), (9, "option"),
    ]
    assert "repeats line 2" in problems[2].message


def test_unknown_column_is_reported(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("key,type,promt,option_a,option_b,correct\nq1,single,X,A,B,A\n", encoding="utf-8")
    assert check_header(read_rows(path)) == ["promt"]


def test_xlsx_import_and_round_trip(tmp_path):
    import openpyxl

    original = question_from_dict({"key": "m1", "type": "multiple", "prompt": "Chọn hai",
                                   "options": [{"key": "x", "label": "X"}, {"key": "y", "label": "Y"},
                                               {"key": "z", "label": "Z"}], "correct": ["x", "z"]})
    row = question_to_row(original)
    assert row["correct"] == "A;C"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(row))
    sheet.append(list(row.values()))
    path = tmp_path / "q.xlsx"
    workbook.save(path)
    questions, problems = questions_from_rows(read_rows(path))
    assert problems == []
    assert questions[0].prompt == "Chọn hai"
    assert [o.label for o in questions[0].options] == ["X", "Y", "Z"]
    assert questions[0].correct == ("a", "c")


def test_not_utf8_csv(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes("key,prompt\nq1,C\xe2u h\xf4i\n".encode("latin-1"))
    with pytest.raises(QuestionError, match="not UTF-8"):
        read_rows(path)


def test_type_labels_are_vietnamese():
    assert QuestionType.SCALE5.label_vi == "Thang đo hài lòng 5 mức"
