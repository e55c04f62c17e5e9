"""The shared question model: definitions, answer checking, tabular import and export."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from ccch_core.questions import (
    AnswerError,
    Option,
    Question,
    QuestionError,
    QuestionType,
    check_header,
    header_problem,
    parse_vietnamese_number,
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
        ({"key": "bad key"}, "mã câu hỏi 'bad key' không hợp lệ"),
        ({"prompt": "  "}, r"q1: chưa có nội dung câu hỏi \(cột prompt\)"),
        ({"correct": ("z",)}, "đáp án đúng z không phải là một phương án"),
        ({"correct": ("a", "b")}, "chỉ có đúng một đáp án đúng"),
        ({"difficulty": 9}, "độ khó 9 không hợp lệ"),
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
    for bad, message in (("abc", "không phải là một số"), ("101", "lớn nhất"), ("-1", "nhỏ nhất"),
                         ("nan", "không phải là một số")):
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
    assert [(p.line, p.message) for p in problems] == [
        (3, "chưa có đáp án đúng (cột correct)"),
        (4, "cột correct: 'D' không phải chữ cái của một phương án đã điền (A, B)"),
        (5, "cột key: mã 'q1' trùng với dòng 2"),
        (8, ("cột type: 'kiểu lạ' không phải loại câu hỏi hợp lệ (một trong: Thang đo hài lòng 5 mức, Chọn một "
                 "đáp án, Chọn nhiều đáp án, Đúng/Sai, Trả lời ngắn, Trả lời dài, Số)")),
        (9, "cột option_b (phương án B) để trống trong khi phương án sau có nội dung; điền liên tục từ phương án A"),
    ]
    assert str(problems[0]) == "Dòng 3: chưa có đáp án đúng (cột correct)"


def test_row_messages_are_vietnamese_and_name_the_column():
    """Every message an import row can get: Vietnamese, with the column and the value."""
    rows = [
        (2, {"prompt": "Câu?", "option_a": "Một", "option_b": "Hai", "correct": "A", "difficulty": "khó"}),
        (3, {"prompt": "Câu?", "type": "true_false", "correct": "Có lẽ"}),
        (4, {"prompt": "", "option_a": "Một", "option_b": "Hai", "correct": "A"}),
        (5, {"prompt": "Câu?", "option_a": "Một", "correct": "A"}),
        (6, {"prompt": "Câu?", "option_a": "Một", "option_b": "Hai", "correct": "A;B"}),
        (7, {"prompt": "Câu?", "key": "có dấu", "option_a": "Một", "option_b": "Hai", "correct": "A"}),
        (8, {"prompt": "Câu?", "__extra__": "x"}),
    ]
    _, problems = questions_from_rows(rows, require_correct=True)
    messages = {p.line: p.message for p in problems}
    assert messages == {
        2: "cột difficulty: 'khó' không phải số nguyên từ 1 đến 5",
        3: "cột correct: 'Có lẽ' không hợp lệ; câu Đúng/Sai ghi “Đúng” hoặc “Sai”",
        4: "chưa có nội dung câu hỏi (cột prompt)",
        5: "câu hỏi loại “Chọn một đáp án” cần ít nhất 2 phương án",
        6: "câu hỏi loại “Chọn một đáp án” chỉ có đúng một đáp án đúng (đang ghi 2)",
        7: "mã câu hỏi 'có dấu' không hợp lệ: dùng 1–64 ký tự gồm chữ cái không dấu, chữ số, dấu chấm, gạch dưới "
           "hoặc gạch ngang",
        8: "dòng có nhiều ô hơn số cột của dòng tiêu đề",
    }
    english = ("no correct", "is empty", "is not", "repeats", "write ", "option ", "column")
    assert not [m for m in messages.values() if any(word in m for word in english)]


def test_definition_messages_are_vietnamese():
    with pytest.raises(QuestionError, match=r"q\[1\]: không có trường colour"):
        question_from_dict({"key": "a", "type": "single", "prompt": "x", "colour": 1}, "q[1]")
    with pytest.raises(QuestionError, match=r"q\[1\]\.type: 'nope' không phải loại câu hỏi hợp lệ"):
        question_from_dict({"key": "a", "type": "nope", "prompt": "x"}, "q[1]")
    with pytest.raises(QuestionError, match=r"q\[1\]\.min_value: 'x' không phải là một số"):
        question_from_dict({"key": "a", "type": "number", "prompt": "x", "min_value": "x"}, "q[1]")


def test_unknown_column_is_reported(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("key,type,promt,option_a,option_b,correct\nq1,single,X,A,B,A\n", encoding="utf-8")
    assert check_header(read_rows(path)) == ["promt"]


def test_a_wrong_header_is_a_problem_of_the_whole_file(tmp_path):
    """A typo in the header (or a missing prompt column) is one file-level message, not a bad row."""
    typo = tmp_path / "typo.csv"
    typo.write_text("key,typ,prompt,option_a,option_b,correct\nq1,single,X,A,B,A\n", encoding="utf-8")
    message = header_problem(read_rows(typo))
    assert message.startswith("dòng tiêu đề sai (cột không có trong mẫu: typ)")
    assert "chưa nhập câu nào" in message
    no_prompt = tmp_path / "no-prompt.csv"
    no_prompt.write_text("key,type,option_a,option_b,correct\nq1,single,A,B,A\n", encoding="utf-8")
    assert "thiếu cột bắt buộc: Câu hỏi" in header_problem(read_rows(no_prompt))
    short_rows = tmp_path / "short.csv"
    short_rows.write_text("key,prompt,option_a,option_b,correct,category\nq1,X,A,B,A\n", encoding="utf-8")
    assert header_problem(read_rows(short_rows)) is None
    assert read_rows(short_rows)[0][1]["category"] == ""


def test_xlsx_cells_are_read_as_the_person_sees_them(tmp_path):
    """A percentage, a date, a whole number, a grouped number and a decimal come in as shown in
    Excel (Vietnamese style), not as the raw cell value."""
    import datetime as dt

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["key", "type", "prompt", "option_a", "option_b", "option_c", "option_d", "option_e", "option_f",
                  "correct", "difficulty"])
    sheet.append(["x1", "single", "Chỉ tiêu?", 0.8, 1, dt.datetime(2024, 1, 20), 1500000, 2.5, 0.125, "B", 2.0])
    formats = {"D2": "0%", "E2": "0%", "F2": "dd/mm/yyyy", "G2": "#,##0", "H2": "General", "I2": "0.0%"}
    for ref, number_format in formats.items():
        sheet[ref].number_format = number_format
    path = tmp_path / "pct.xlsx"
    workbook.save(path)
    questions, problems = questions_from_rows(read_rows(path))
    assert problems == []
    assert [o.label for o in questions[0].options] == ["80%", "100%", "20/01/2024", "1.500.000", "2,5", "12,5%"]
    assert questions[0].difficulty == 2


def test_number_answers_are_read_as_vietnamese_write_them():
    number = question_from_dict({"key": "n", "type": "number", "prompt": "Số tiền"})
    for written, stored in (("50.000", "50000"), ("1.500.000", "1500000"), ("2,5", "2.5"), ("1.500,25", "1500.25"),
                            ("50", "50"), ("1 500 000", "1500000"), ("0,125", "0.125"), ("-3", "-3"),
                            ("2.5", "2.5")):
        assert number.check_answer([written]) == (stored,), written
    for ambiguous in ("50,000", "1,500,000", "1,500.5", "12.345.67", "1e5"):
        with pytest.raises(AnswerError) as caught:
            number.check_answer([ambiguous])
        assert f"“{ambiguous}”" in str(caught.value)
    with pytest.raises(AnswerError, match="Nếu là 50000 thì viết 50.000 hoặc 50000"):
        parse_vietnamese_number("50,000")
    bounded = question_from_dict({"key": "b", "type": "number", "prompt": "Số", "max_value": 1000000})
    with pytest.raises(AnswerError, match="Số lớn nhất được nhập là 1.000.000"):
        bounded.check_answer(["1.500.000"])


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
    with pytest.raises(QuestionError, match="không phải văn bản UTF-8"):
        read_rows(path)


def test_type_labels_are_vietnamese():
    assert QuestionType.SCALE5.label_vi == "Thang đo hài lòng 5 mức"


# -- XLSX: codes read as their plain value, prose as Excel shows it --------------------------------


def _workbook(tmp_path, header, *rows, formats=None):
    """An .xlsx with ``header`` and ``rows``; ``formats`` maps a cell ("A2") to its number format."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for ref, number_format in (formats or {}).items():
        sheet[ref].number_format = number_format
    path = tmp_path / "cau-hoi.xlsx"
    workbook.save(path)
    return path


def _option_as_read(tmp_path, value, number_format) -> str:
    """Option A of a one-question workbook whose cell holds ``value`` in ``number_format``, as read
    (the row must be good)."""
    path = _workbook(tmp_path, ["key", "prompt", "option_a", "option_b"], ["q1", "Câu hỏi?", value, "Hai"],
                     formats={"C2": number_format})
    questions, problems = questions_from_rows(read_rows(path))
    assert problems == []
    return questions[0].options[0].label


def test_xlsx_codes_are_read_as_their_plain_value(tmp_path):
    """A whole number in a code column is read as its digits, whatever the cell's number format:
    15.0 is "15", 7 under "#,##0.00" is "7"."""
    path = _workbook(
        tmp_path,
        ["key", "type", "prompt", "option_a", "option_b", "correct", "category", "topic", "difficulty"],
        [21, "single", "Câu hỏi?", "Một", "Hai", "A", 15.0, 3, 2.0],
        [7, "single", "Câu hỏi?", "Một", "Hai", "A", "Văn bản", "1.25", 3],
        [8, "single", "Câu hỏi?", "Một", "Hai", "A", 999999999999999, "1.10", 3],
        formats={"A2": "0.00", "H2": "0.0", "I2": "0.0", "A3": "#,##0.00"},
    )
    questions, problems = questions_from_rows(read_rows(path))
    assert problems == []
    assert [(q.key, q.category, q.topic, q.difficulty) for q in questions] == [
        ("21", "15", "3", 2), ("7", "Văn bản", "1.25", 3), ("8", "999999999999999", "1.10", 3)]


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        (1.1, "0.00", "1,10"),        # a topic shown 1.10 is not topic 1.1
        (1.1, "General", "1,1"),      # nor is 1.1 typed as a number: 1.1 or 1.10 was meant?
        (2.1, "General", "2,1"),      # a key typed as a number
        (1.3, "0%", "130%"),
        (123456789012345678, "General", "123456789012346000"),  # Excel keeps 15 digits
        (1e15, "0", "1000000000000000"),
    ],
)
def test_xlsx_a_number_that_is_not_a_whole_code_is_a_row_error(tmp_path, value, number_format, shown):
    """A code column holds text: a number there is read only when it is a whole number Excel keeps
    exactly (below 10^15). Anything else — a decimal, whose trailing zeros the number drops (1.10
    is 1.1, another topic), or a number of 16 digits and more, which Excel rounds — refuses the row,
    naming the line, the column and the value as shown, rather than import another code."""
    path = _workbook(
        tmp_path, ["key", "prompt", "option_a", "option_b", "correct", "topic"],
        ["q1", "Câu hỏi?", "Một", "Hai", "A", value], ["q2", "Câu hỏi?", "Một", "Hai", "A", "1.10"],
        formats={"F2": number_format})
    questions, problems = questions_from_rows(read_rows(path))
    assert [(q.key, q.topic) for q in questions] == [("q2", "1.10")]
    assert len(problems) == 1 and problems[0].line == 2
    assert problems[0].message.startswith(f"cột topic: “{shown}” là một số")
    assert problems[0].message.endswith("hãy định dạng cột này là Văn bản (Text) rồi gõ lại giá trị")


def test_xlsx_a_date_in_a_code_column_is_a_row_error(tmp_path):
    """A Vietnamese-locale Excel stores a topic typed 1.3 as the date 1 March: the row is refused
    with its line, the column and a way out (format the column as Text), not imported as a date."""
    import datetime as dt

    path = _workbook(
        tmp_path,
        ["key", "type", "prompt", "option_a", "option_b", "correct", "topic"],
        ["q1", "single", "Câu hỏi?", "Một", "Hai", "A", "1.2"],
        ["q2", "single", "Câu hỏi?", "Một", "Hai", "A", dt.datetime(2024, 3, 1)],
        [dt.datetime(2024, 1, 2), "single", "Câu hỏi?", "Một", "Hai", "A", dt.datetime(2024, 3, 1)],
        formats={"G3": "dd/mm/yyyy", "A4": "d/m", "G4": "d/m"},
    )
    questions, problems = questions_from_rows(read_rows(path))
    assert [q.key for q in questions] == ["q1"]
    assert [str(p) for p in problems] == [
        ("Dòng 3: cột topic: Excel đã hiểu giá trị là ngày tháng (01/03/2024); hãy định dạng cột này là "
         "Văn bản (Text) rồi gõ lại giá trị"),
        ("Dòng 4: cột key: Excel đã hiểu giá trị là ngày tháng (02/01/2024); hãy định dạng cột này là "
         "Văn bản (Text) rồi gõ lại giá trị; cột topic: Excel đã hiểu giá trị là ngày tháng (01/03/2024); "
         "hãy định dạng cột này là Văn bản (Text) rồi gõ lại giá trị"),
    ]


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        # Excel rounds halves away from zero, not to even.
        (2.5, "0", "3"),
        (3.5, "0", "4"),
        (-2.5, "0", "-3"),
        (0.125, "0.00", "0,13"),
        (2.675, "0.00", "2,68"),
        (0.125, "0%", "13%"),
        (0.05, "0.0%", "5,0%"),
        # Zero padding and optional digits.
        (1, "000", "001"),
        (7, "00.0", "07,0"),
        (2.5, "0.##", "2,5"),
        (912345678, '0000" "000" "000', "0912 345 678"),
        # Literal text, quoted or escaped, and currencies.
        (5, '0" điểm"', "5 điểm"),
        (12, "0\\%", "12%"),
        (1500000, '#,##0 "đ"', "1.500.000 đ"),
        (1500000, "#,##0\\ [$₫-42A]", "1.500.000 ₫"),
        (1234.5, '"$"#,##0.00', "$1.234,50"),
        (1500000, '_-* #,##0 "₫"_-;-* #,##0 "₫"_-;_-* "-"?? "₫"_-;_-@_-', "1.500.000 ₫"),
        (-1500000, '_-* #,##0 "₫"_-;-* #,##0 "₫"_-;_-* "-"?? "₫"_-;_-@_-', "-1.500.000 ₫"),
        # Sections: negative, zero; colours and padding show nothing.
        (-1500, "#,##0;(#,##0)", "(1.500)"),
        (-1500, "#,##0;[Red]#,##0", "1.500"),
        (0, '0;-0;"không"', "không"),
        (7, "0_)", "7"),
        # General: whole numbers whole, fractions to what fits in Excel's 11 characters.
        (15.0, "General", "15"),
        (2.5, "General", "2,5"),
        (0.1 + 0.2, "General", "0,3"),
        (1 / 3, "General", "0,333333333"),
        (99999999999, "General", "99999999999"),
        (1500000, "#,##0", "1.500.000"),
    ],
)
def test_xlsx_prose_cells_are_read_as_excel_shows_them(tmp_path, value, number_format, shown):
    assert _option_as_read(tmp_path, value, number_format) == shown


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        (dt.datetime(2024, 1, 20), "dd/mm/yyyy", "20/01/2024"),
        (dt.datetime(2024, 1, 2), "d/m/yy", "2/1/24"),
        (dt.datetime(2026, 2, 1), "d/m", "1/2"),                # "1/2" as the option typed
        (dt.datetime(2024, 1, 1), "yyyy", "2024"),
        (dt.datetime(2024, 3, 5), "mm/yyyy", "03/2024"),
        (dt.datetime(2024, 3, 5), 'dd"-"mm"-"yyyy', "05-03-2024"),
        (dt.datetime(2024, 3, 5), "d.m.yyyy", "5.3.2024"),
        (dt.datetime(2024, 1, 20), "mm-dd-yy", "20/01/2024"),   # built-in short date: the system's
        (dt.datetime(2024, 1, 20, 7, 5), "m/d/yy h:mm", "20/01/2024 7:05"),
        (dt.datetime(2024, 1, 20), "dd/mm/yyyy hh:mm", "20/01/2024 00:00"),
        (dt.time(7, 30, 15), "h:mm:ss AM/PM", "7:30:15 AM"),
        (dt.time(19, 5), "hh:mm AM/PM", "07:05 PM"),
        (dt.time(0, 5), "h:mm AM/PM", "12:05 AM"),
        (dt.time(7, 30, 15), "hh:mm:ss", "07:30:15"),
        (dt.time(7, 30, 15), "h:mm", "7:30"),
        (dt.time(0, 4, 9), "mm:ss", "04:09"),
        (dt.time(7, 30), 'h"h"mm', "7h30"),
    ],
)
def test_xlsx_prose_dates_and_times_are_read_as_excel_shows_them(tmp_path, value, number_format, shown):
    """A date or time in a prompt or an option comes in as its format shows it (a year alone, a
    time with its seconds and AM/PM), not rewritten as a full day/month/year or a shorter time."""
    assert _option_as_read(tmp_path, value, number_format) == shown


@pytest.mark.parametrize(
    ("value", "number_format", "value_text"),
    [
        (dt.datetime(2026, 2, 1), "d-mmm", "01/02/2026"),          # month names depend on Excel's language
        (dt.datetime(2024, 1, 20), "dd mmmm yyyy", "20/01/2024"),
        (dt.datetime(2024, 1, 20), "mmm-yy", "20/01/2024"),
        (dt.datetime(2024, 1, 20), "dddd, dd/mm/yyyy", "20/01/2024"),  # weekday names too
        (dt.datetime(2024, 1, 20), "[$-F800]dddd, mmmm dd, yyyy", "20/01/2024"),
        (dt.datetime(2024, 1, 20, 7, 30), "[$-42A]h:mm AM/PM", "20/01/2024 07:30:00"),  # SA/CH?
        (dt.time(7, 30, 15), "h:mm:ss.0", "07:30:15"),
        (dt.time(7, 30), "h:mm A/P", "07:30:00"),
        (dt.time(7, 30), "dd/mm/yyyy", "07:30:00"),                # a time shown as a date
        (dt.datetime(2024, 1, 20), "yyy", "20/01/2024"),
    ],
)
def test_xlsx_a_date_format_that_cannot_be_shown_faithfully_refuses_the_row(tmp_path, value, number_format,
                                                                            value_text):
    """Rather than guess what Excel showed (a month or weekday name in Excel's language, tenths of a
    second…), the row is refused, naming the line, the column, the format and the value."""
    path = _workbook(tmp_path, ["key", "prompt", "option_a", "option_b"], ["q1", "Câu hỏi?", value, "Hai"],
                     ["q2", "Câu hỏi?", "Một", "Hai"], formats={"C2": number_format})
    questions, problems = questions_from_rows(read_rows(path))
    assert [q.key for q in questions] == ["q2"]
    assert [str(p) for p in problems] == [
        (f"Dòng 2: cột option_a: định dạng ngày giờ “{number_format}” (giá trị {value_text}) chưa hỗ trợ; hãy "
         "định dạng ô là Văn bản (Text) và gõ nội dung đúng như muốn hiển thị")]


@pytest.mark.parametrize(
    "number_format", ["0.00E+00", "# ?/?", "#,##0,", "[>=100]0;0", "##0.0E+0", "[h]:mm"])
def test_xlsx_a_number_format_that_cannot_be_shown_faithfully_refuses_the_row(tmp_path, number_format):
    """Rather than import a value other than the one Excel shows, the row is refused and the
    message says to format the cell as Text."""
    path = _workbook(tmp_path, ["key", "prompt", "option_a", "option_b"], ["q1", "Câu hỏi?", 12345.678, "Hai"],
                     ["q2", "Câu hỏi?", "Một", "Hai"], formats={"C2": number_format})
    questions, problems = questions_from_rows(read_rows(path))
    assert [q.key for q in questions] == ["q2"]
    assert len(problems) == 1 and problems[0].line == 2
    assert problems[0].message.startswith("cột option_a: định dạng số “")
    assert "chưa hỗ trợ; hãy định dạng ô là Văn bản (Text)" in problems[0].message


def test_xlsx_a_number_excel_shows_with_an_exponent_refuses_the_row(tmp_path):
    """A 12-digit citizen ID typed as a number shows as 1,23457E+11 in Excel: refused, not guessed."""
    path = _workbook(tmp_path, ["key", "prompt", "option_a", "option_b"], ["q1", "Câu hỏi?", 123456789012, "Hai"])
    _, problems = questions_from_rows(read_rows(path))
    assert [str(p) for p in problems] == [
        ("Dòng 2: cột option_a: định dạng số “General” (giá trị 123.456.789.012) chưa hỗ trợ; hãy định dạng ô là "
         "Văn bản (Text) và gõ nội dung đúng như muốn hiển thị")]


# -- numbers typed in an answer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("50", "50"),
        ("50.000", "50000"),          # "." groups thousands, as on every Vietnamese price
        ("1.500", "1500"),
        ("1.500.000", "1500000"),
        ("1 500 000", "1500000"),
        ("2,5", "2.5"),               # "," starts the decimals
        ("0,125", "0.125"),
        ("0,500", "0.5"),             # no English writer groups after a 0: only a decimal
        ("1.500,25", "1500.25"),
        ("1500,250", "1500.25"),      # no English writer groups 1500 that way: only a decimal
        ("2.5", "2.5"),               # a phone keypad's decimal point
        ("87.25", "87.25"),
        ("3.14159", "3.14159"),
        ("0.125", "0.125"),           # a 0 groups nothing: only a decimal
        ("0.500", "0.5"),
        ("-3", "-3"),
        ("−3,5", "-3.5"),
        ("５０", "50"),                # full-width digits (a CJK keyboard) are the digits 0–9
        ("１．５００", "1500"),
    ],
)
def test_number_answers_accepted(written, stored):
    assert parse_vietnamese_number(written) == __import__("decimal").Decimal(stored)
    number = question_from_dict({"key": "n", "type": "number", "prompt": "Số"})
    assert number.check_answer([written]) == (stored,)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        # The English thousands form: an English writer means thousands, a Vietnamese reader reads decimals.
        ("50,000", "“50,000” không rõ nghĩa. Nếu là 50000 thì viết 50.000 hoặc 50000; nếu là 50 thì viết 50."),
        ("1,500", "“1,500” không rõ nghĩa. Nếu là 1500 thì viết 1.500 hoặc 1500; nếu là 1,5 thì viết 1,5."),
        ("1,234", ("“1,234” không rõ nghĩa. Nếu là 1234 thì viết 1.234 hoặc 1234; nếu là số thập phân 1,234 thì "
                  "thêm một chữ số 0 ở cuối (1,2340) để không lẫn với cách viết hàng nghìn kiểu Anh.")),
        ("1,500,000", "“1,500,000” viết theo kiểu Anh. Nếu là 1500000 thì viết 1.500.000 hoặc 1500000."),
        ("1,500.5", "“1,500.5” viết theo kiểu Anh. Nếu là 1500,5 thì viết 1.500,5 hoặc 1500,5."),
        # Neither a Vietnamese number nor a decimal point.
        ("1234.567", "“1234.567” không phải là một số viết đúng cách"),
        ("12.345.67", "“12.345.67” không phải là một số viết đúng cách"),
        ("1e5", "“1e5” không phải là một số viết đúng cách"),
        ("abc", "“abc” không phải là một số viết đúng cách"),
        ("nan", "“nan” không phải là một số viết đúng cách"),
        # Digits other than 0–9 are not read as numbers.
        ("١٢", "“١٢” có chữ số không phải 0–9"),
        ("５²", "“５²” có chữ số không phải 0–9"),
        ("௫", "“௫” có chữ số không phải 0–9"),
    ],
)
def test_number_answers_refused(written, message):
    with pytest.raises(AnswerError) as caught:
        parse_vietnamese_number(written)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("number_format", "shown"), [("000", "001"), ('"Q"0', "Q1")])
def test_xlsx_a_whole_code_shown_otherwise_is_a_row_error(tmp_path, number_format, shown):
    """1 formatted "000" shows 001: whoever typed it meant 001, which the digits "1" would silently
    change. Grouping marks and a zero decimal part (21 shown 21,00) change nothing and are read."""
    path = _workbook(
        tmp_path, ["key", "prompt", "option_a", "option_b", "correct", "topic"],
        ["q1", "Câu hỏi?", "Một", "Hai", "A", 1], ["q2", "Câu hỏi?", "Một", "Hai", "A", 21],
        formats={"F2": number_format, "F3": "0.00"})
    questions, problems = questions_from_rows(read_rows(path))
    assert [(q.key, q.topic) for q in questions] == [("q2", "21")]
    assert len(problems) == 1 and problems[0].line == 2
    assert f"Excel hiện “{shown}” nhưng ô chứa số 1" in problems[0].message


@pytest.mark.parametrize("field", ["help", "section", "category", "topic"])
def test_a_text_of_control_characters_only_is_no_text(field):
    """Found by the survey loader's fuzz: a section "\\u0000" loaded as "" (cleaned), which
    to_toml() leaves out, so the definition read back had another fingerprint."""
    data = {"key": "q1", "type": "text", "prompt": "Ý kiến của Ông/Bà", field: "\u0000\u0007 \u202e"}
    assert getattr(question_from_dict(data), field) is None
