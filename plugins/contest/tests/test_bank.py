"""The question bank: import from CSV, XLSX and Aiken with every bad row's line and reason, nothing
imported unless bad rows are skipped, versions kept for attempts, export back, the template, and
the 89 real questions of the example."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from ccch_contest import bank
from ccch_contest.contests import get_contest
from ccch_contest.definition import definition_from_dict
from ccch_contest_testing import QUESTIONS_CSV, contest_data, load_contest

from ccch_core.questions import QuestionType

HEADER = "key,type,prompt,option_a,option_b,option_c,option_d,correct,category,difficulty,audience\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def parse(path, definition):
    return bank.parse_rows(bank.read_question_file(path), definition)


@pytest.fixture
def definition(duc_tho_plan):
    return definition_from_dict(contest_data(), duc_tho_plan)


def test_every_bad_row_with_its_line_and_reason(tmp_path, definition):
    path = write(tmp_path, "cau-hoi.csv", HEADER + "a1,single,Câu tốt?,Một,Hai,,,A,Chỉ tiêu,1,\na2,single,Không có đáp án?,Một,Hai,,,,Chỉ tiêu,1,\na3,single,Đáp án không phải phương án?,Một,Hai,,,D,Chỉ tiêu,1,\na4,short_text,Trả lời ngắn?,,,,,,Chỉ tiêu,1,\na1,single,Trùng mã?,Một,Hai,,,B,Chỉ tiêu,1,\na6,single,Đối tượng lạ?,Một,Hai,,,A,Chỉ tiêu,1,hoc-sinh\n\na7,multiple,Nhiều đáp án?,Một,Hai,Ba,,A;C,Văn bản,2,cbccvc\na8,true_false,Đúng hay sai?,,,,,Có lẽ,Văn bản,1,\na9,single,Độ khó?,Một,Hai,,,A,Văn bản,9," + "\n")
    questions, audiences, problems = parse(path, definition)
    assert [q.key for q in questions] == ["a1", "a7"]
    assert audiences == {"a1": (), "a7": ("cbccvc",)}
    lines = {p.line: p.message for p in problems}
    assert sorted(lines) == [3, 4, 5, 6, 7, 10, 11]
    assert lines[3] == "chưa có đáp án đúng (cột correct)"
    assert lines[4] == "cột correct: 'D' không phải chữ cái của một phương án đã điền (A, B)"
    assert lines[5] == ("cột type: Trả lời ngắn không dùng cho cuộc thi; câu hỏi cuộc thi là Chọn một đáp án, Chọn "
                        "nhiều đáp án hoặc Đúng/Sai")
    assert lines[6] == "cột key: mã 'a1' trùng với dòng 2"
    assert lines[7].startswith("cột audience: hoc-sinh không phải đối tượng dự thi của cuộc thi (các đối tượng: ")
    assert lines[10] == "cột correct: 'Có lẽ' không hợp lệ; câu Đúng/Sai ghi “Đúng” hoặc “Sai”"
    assert lines[11] == "độ khó 9 không hợp lệ: từ 1 (dễ) đến 5 (khó)"


def test_unknown_column_is_refused(tmp_path, definition):
    path = write(tmp_path, "x.csv", "key,type,prompt,option_a,option_b,dap_an_lech\nk,single,Câu?,A,B,A\n")
    with pytest.raises(bank.ImportFileError) as caught:
        parse(path, definition)
    assert ("x.csv: dòng tiêu đề sai (cột không có trong mẫu: dap_an_lech; thiếu cột bắt buộc: Đáp án)"
            in str(caught.value))
    # parse_rows on rows from elsewhere refuses an unknown column the same way, not as a row problem.
    with pytest.raises(bank.ImportFileError, match="cột không có trong mẫu: dap_an_lech"):
        bank.parse_rows([(2, {"prompt": "Câu?", "dap_an_lech": "A"})], definition)


REVIEW_BANK = HEADER + "r1,single,Câu một?,Một,Hai,,,A,Chỉ tiêu,1,\nr2,single,Câu hai?,Một,Hai,,,B,Chỉ tiêu,1,\n"


def _cli(dep, *args):
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    config = str(dep.config.path)
    return CliRunner().invoke(make_cli(config), ["-c", config, "contest", "questions", "import", *args])


def _active(dep):
    return [r[0] for r in dep.db.execute("select key from contest_questions where active = 1 order by key")]


def test_a_header_typo_with_skip_and_replace_retires_nothing(dep, tmp_path):
    """The reviewer's case: header "typ", --replace --skip-bad-rows used to read 0 questions and
    retire the whole bank. A wrong header is a problem of the file: nothing happens."""
    contest = load_contest(dep, contest_data(), questions=None, publish=False)
    assert _cli(dep, contest.slug, str(write(tmp_path, "good.csv", REVIEW_BANK))).exit_code == 0
    bad = write(tmp_path, "bad.csv", "key,typ,prompt,option_a,option_b,correct\nx1,single,Câu hỏi?,A1,B1,A\n")
    result = _cli(dep, contest.slug, str(bad), "--replace", "--skip-bad-rows")
    assert result.exit_code == 1
    assert "bad.csv: dòng tiêu đề sai (cột không có trong mẫu: typ)" in result.output
    assert "retired" not in result.output and "ngừng dùng" not in result.output
    assert _active(dep) == ["r1", "r2"]


def test_a_replace_that_would_leave_the_bank_unable_to_serve_is_refused(dep, tmp_path):
    """A replace that retires questions and leaves fewer than an attempt needs is refused, with the
    reason in Vietnamese, unless forced; nothing changes when refused."""
    contest = load_contest(dep, contest_data(), publish=False)  # the 89-question example bank
    before = _active(dep)
    assert len(before) == 89
    small = write(tmp_path, "small.csv", REVIEW_BANK)
    result = _cli(dep, contest.slug, str(small), "--replace")
    assert result.exit_code == 1
    assert "Không thay ngân hàng câu hỏi: thay toàn bộ sẽ ngừng dùng 89 câu đang dùng và chỉ còn 2 câu" in result.output
    assert "mỗi lượt thi cần" in result.output and "--force-replace" in result.output
    assert _active(dep) == before
    # Nothing valid at all (every row bad, skipped): refused too.
    empty = write(tmp_path, "empty.csv", HEADER + "e1,single,Không đáp án?,Một,Hai,,,,Chỉ tiêu,1,\n")
    result = _cli(dep, contest.slug, str(empty), "--replace", "--skip-bad-rows")
    assert result.exit_code == 1 and "tệp không có câu hỏi hợp lệ nào" in result.output
    assert _active(dep) == before
    # Adding without replace is not limited; forcing replaces.
    result = _cli(dep, contest.slug, str(small), "--replace", "--force-replace")
    assert result.exit_code == 0, result.output
    assert "ngừng dùng 89" in result.output and _active(dep) == ["r1", "r2"]


def test_nothing_is_imported_unless_bad_rows_are_skipped(dep, tmp_path):
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    contest = load_contest(dep, contest_data(), questions=None, publish=False)
    path = write(tmp_path, "cau-hoi.csv", HEADER + "b1,single,Câu một?,Một,Hai,,,A,Chỉ tiêu,1,\n"
                 "b2,single,Câu hai?,Một,Hai,,,,Chỉ tiêu,1,\n")
    config = str(dep.config.path)
    result = CliRunner().invoke(make_cli(config), ["-c", config, "contest", "questions", "import", contest.slug, str(path)])
    assert result.exit_code == 1
    assert "cau-hoi.csv:3: chưa có đáp án đúng (cột correct)" in result.output
    assert "chưa nhập câu nào" in result.output
    assert dep.db.execute("select count(*) from contest_questions").fetchone()[0] == 0
    result = CliRunner().invoke(make_cli(config), ["-c", config, "contest", "questions", "import", contest.slug,
                                                   str(path), "--skip-bad-rows"])
    assert result.exit_code == 0, result.output
    assert "bỏ qua 1 dòng lỗi" in result.output
    assert [r[0] for r in dep.db.execute("select key from contest_questions")] == ["b1"]


def test_reimport_keeps_unchanged_retires_changed_and_replace(dep, tmp_path):
    contest = load_contest(dep, contest_data(), questions=None, publish=False)
    first = write(tmp_path, "1.csv", HEADER + "c1,single,Câu một?,Một,Hai,,,A,Chỉ tiêu,1,\n"
                  "c2,single,Câu hai?,Một,Hai,,,B,Chỉ tiêu,1,\n")
    q, a, _ = parse(first, contest.definition)
    assert bank.import_questions(dep.db, contest.id, q, a, replace=False) == (2, 0, 0)
    old_c2 = dep.db.execute("select id from contest_questions where key = 'c2'").fetchone()[0]
    second = write(tmp_path, "2.csv", HEADER + "c1,single,Câu một?,Một,Hai,,,A,Chỉ tiêu,1,\n"
                   "c2,single,Câu hai (sửa)?,Một,Hai,,,B,Chỉ tiêu,1,\n")
    q, a, _ = parse(second, contest.definition)
    assert bank.import_questions(dep.db, contest.id, q, a, replace=False) == (1, 1, 0)
    # The old version of c2 stays (attempts that drew it still score against it), retired.
    assert dep.db.execute("select active from contest_questions where id = ?", [old_c2]).fetchone()[0] == 0
    third = write(tmp_path, "3.csv", HEADER + "c1,single,Câu một?,Một,Hai,,,A,Chỉ tiêu,1,\n")
    q, a, _ = parse(third, contest.definition)
    assert bank.import_questions(dep.db, contest.id, q, a, replace=True) == (0, 1, 1)
    assert [r[0] for r in dep.db.execute("select key from contest_questions where active = 1")] == ["c1"]
    assert get_contest(dep, contest.slug).bank_version == 3


def test_rows_without_key_get_a_stable_key_from_the_prompt(tmp_path, definition):
    path = write(tmp_path, "k.csv", HEADER + ",single,Câu không mã?,Một,Hai,,,A,Chỉ tiêu,1,\n"
                 ",single,Câu không mã?,Ba,Bốn,,,A,Chỉ tiêu,1,\n")
    questions, _, problems = parse(path, definition)
    assert questions[0].key.startswith("q-") and len(questions[0].key) == 12
    assert problems[0].line == 3 and "trùng với dòng 2" in problems[0].message  # the same question twice


def test_xlsx_import_and_export_round_trip(dep, tmp_path):
    contest = load_contest(dep, contest_data(), publish=False)
    rows = bank.export_rows(dep.db, contest.id)
    path = tmp_path / "ngan-hang.xlsx"
    bank.write_xlsx(rows, path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Câu hỏi", "Hướng dẫn"]
    questions, audiences, problems = parse(path, contest.definition)
    assert problems == [] and len(questions) == 89
    stored = {q.key: (q, a) for q, a in bank.active_questions(dep.db, contest.id)}
    for q in questions:
        assert stored[q.key][0] == q and stored[q.key][1] == audiences[q.key]


def test_csv_export_has_bom_and_neutralises_formulas():
    out = io.StringIO()
    bank.write_csv([{"key": "f1", "type": "single", "prompt": "=HYPERLINK(\"http://x\")", "option_a": "+1",
                     "option_b": "@SUM(A1)", "correct": "A"}], out)
    text = out.getvalue()
    assert text.startswith("\ufeff")
    row = next(iter(csv.DictReader(io.StringIO(text.lstrip("\ufeff")))))
    assert row["Câu hỏi"].startswith("'=") and row["Phương án A"] == "'+1" and row["Phương án B"] == "'@SUM(A1)"


def test_aiken_import(tmp_path, definition):
    path = write(tmp_path, "aiken.txt", "Kế hoạch đặt bao nhiêu số phát sóng mỗi năm?\nA. 12 số\nB. 15 số\n"
                 "ANSWER: B\n\nCâu thiếu đáp án?\nA. Một\nB. Hai\n\nCâu thứ ba\ncó hai dòng?\nA) Có\nB) Không\nANSWER: A\n")
    questions, _, problems = parse(path, definition)
    assert [q.prompt for q in questions] == ["Kế hoạch đặt bao nhiêu số phát sóng mỗi năm?", "Câu thứ ba có hai dòng?"]
    assert questions[0].correct == ("b",)
    assert [(p.line, p.message) for p in problems] == [(6, "chưa có đáp án đúng (cột correct)")]


def test_template_files_import_cleanly(tmp_path, definition):
    csv_path = write(tmp_path, "mau.csv", bank.template_csv())
    questions, _, problems = parse(csv_path, definition)
    assert problems == [] and [q.type for q in questions] == [QuestionType.SINGLE, QuestionType.MULTIPLE,
                                                               QuestionType.TRUE_FALSE]
    xlsx_path = tmp_path / "mau.xlsx"
    bank.write_xlsx(bank.EXAMPLE_ROWS, xlsx_path)
    questions, _, problems = parse(xlsx_path, definition)
    assert problems == [] and len(questions) == 3


def test_the_shipped_xlsx_template_matches_the_generator(tmp_path, definition):
    from importlib.resources import files

    shipped = files("ccch_contest") / "data" / "mau-cau-hoi.xlsx"
    questions, _, problems = parse(shipped, definition)
    assert problems == [] and [q.key for q in questions] == [r["key"] for r in bank.EXAMPLE_ROWS]
    workbook = openpyxl.load_workbook(shipped)
    sheet = workbook.worksheets[0]
    # Vietnamese headings, the type in words, choices offered in the type and answer cells.
    assert [c.value for c in sheet[1]][:5] == ["Mã câu hỏi", "Loại", "Câu hỏi", "Phương án A", "Phương án B"]
    assert [c.value for c in sheet[1]][11] == "Đáp án" and sheet["B2"].value == "Chọn một đáp án"
    checks = {str(dv.sqref).split(":")[0]: dv for dv in sheet.data_validations.dataValidation}
    assert checks["B2"].formula1 == '"Chọn một đáp án,Chọn nhiều đáp án,Đúng/Sai"'
    assert checks["L2"].formula1 == '"A,B,C,D,E,F,G,H,Đúng,Sai"' and checks["L2"].errorStyle == "warning"
    assert workbook["Hướng dẫn"]["A2"].value == "Mã câu hỏi"


def test_example_bank_is_real_and_complete(definition):
    """At least 60 questions from the plan's facts: each with a correct answer and a category."""
    questions, _audiences, problems = parse(QUESTIONS_CSV, definition)
    assert problems == []
    assert len(questions) >= 60
    categories = {q.category for q in questions}
    assert {"Chỉ tiêu", "Nhiệm vụ", "Văn bản", "Trách nhiệm đơn vị", "Thời hạn"} <= categories
    assert all(q.correct and q.category and q.help for q in questions)
    prompts = " ".join(q.prompt + " " + " ".join(o.label for o in q.options) for q in questions)
    # Facts of the plan the questions are written from.
    for fact in ("76/NQ-CP", "15 số/năm", "20/01/2024", "01 mục/1 tháng", "Sở Nội vụ", "749/QĐ-TTg", "60/QĐ-UBND"):
        assert fact in prompts, fact
    # The trap: the plan writes 17/3/2019 for Resolution 17/NQ-CP (officially 07/3/2019); no
    # question asks for that date.
    assert "17/3/2019" not in prompts and "07/3/2019" not in prompts
    # Vietnamese text is NFC with diacritics.
    import unicodedata

    assert all(unicodedata.is_normalized("NFC", q.prompt) for q in questions)


def test_the_bank_in_memory_keeps_correct_answers_apart(dep):
    contest = load_contest(dep, contest_data(), publish=False)
    loaded = bank.load_bank(dep, contest.id, contest.bank_version)
    assert len(loaded.active) == 89
    public = next(iter(loaded.questions.values()))
    assert not hasattr(public, "correct")
    assert set(json.loads(json.dumps([loaded.correct[q] for q in loaded.active][:1], default=list))[0])


def test_gift_import(tmp_path, definition):
    path = write(tmp_path, "moodle.gift", """// exported from Moodle
$CATEGORY: $course$/top/Chỉ tiêu

::ct-gift-1:: Kế hoạch đặt bao nhiêu số phát sóng mỗi năm? {
  =15 số/năm
  ~12 số/năm#Chưa đúng
  ~24 số/năm
}

::ct-gift-2:: Những dịch vụ nào được đẩy mạnh tuyên truyền? {~%50%Dịch vụ công trực tuyến ~%50%Dịch vụ bưu chính công ích ~%-100%Dịch vụ cầm đồ}

$CATEGORY: $course$/top/Thời hạn
Kế hoạch của xã gửi về UBND huyện trước ngày 20/01/2024. {T}

Câu điền số {#15}
""")
    questions, _, problems = parse(path, definition)
    assert [q.key for q in questions] == ["ct-gift-1", "ct-gift-2", questions[2].key]
    first, second, third = questions
    assert [o.label for o in first.options] == ["15 số/năm", "12 số/năm", "24 số/năm"] and first.correct == ("a",)
    assert first.category == "Chỉ tiêu" and third.category == "Thời hạn"
    assert second.type.value == "multiple" and second.correct == ("a", "b")
    assert third.type.value == "true_false" and third.correct == ("dung",)
    assert [(p.line, p.message) for p in problems] == [
        (15, "chỉ đọc được câu GIFT loại một đáp án, nhiều đáp án và Đúng/Sai")]


def test_topic_is_checked_against_the_plans_content_topics(tmp_path, duc_tho_plan, definition):
    """Column topic: the id of one of the plan's content topics (II.1), apart from the category."""
    path = write(tmp_path, "t.csv", "key,prompt,option_a,option_b,correct,category,topic\n"
                 "t1,Câu một?,Một,Hai,A,Văn bản,1.3\nt2,Câu hai?,Một,Hai,A,Văn bản,9.9\nt3,Câu ba?,Một,Hai,A,Văn bản,\n")
    questions, _, problems = bank.parse_rows(bank.read_question_file(path), definition, plan=duc_tho_plan)
    assert [(q.key, q.category, q.topic) for q in questions] == [("t1", "Văn bản", "1.3"), ("t3", "Văn bản", None)]
    assert [p.line for p in problems] == [3]
    assert problems[0].message.startswith("cột topic: '9.9' không phải mã nội dung tuyên truyền của kế hoạch (các mã: "
                                          "1.1 (Tầm quan trọng")


def test_example_bank_ties_questions_to_the_plans_topics(duc_tho_plan, definition):
    questions, _, problems = bank.parse_rows(bank.read_question_file(QUESTIONS_CSV), definition, plan=duc_tho_plan)
    assert problems == []
    by_topic = {}
    for q in questions:
        by_topic.setdefault(q.topic, []).append(q.key)
    assert {"1.3", "1.4", "1.6"} <= set(by_topic)
    assert "vb-01" in by_topic["1.3"] and by_topic["1.4"] == ["th-06"] and by_topic["1.6"] == ["nd-06"]


def test_topic_is_stored_exported_and_counted(dep, tmp_path):
    contest = load_contest(dep, contest_data(), publish=False)
    summary = bank.bank_summary(dep.db, contest.id)
    assert summary["by_topic"]["1.3"] == 23 and "1.1" not in summary["by_topic"]
    rows = bank.export_rows(dep.db, contest.id)
    assert next(r for r in rows if r["key"] == "th-06")["topic"] == "1.4"
    out = io.StringIO()
    bank.write_csv(rows, out)
    assert out.getvalue().lstrip("\ufeff").startswith("Mã câu hỏi,Loại,Câu hỏi,")
    assert ",Nhóm câu hỏi,Mã nội dung tuyên truyền," in out.getvalue()
    # Changing only the topic is a change (a new version), not "unchanged".
    q, a, _ = bank.parse_rows([(2, {"key": "th-06", **{k: v for k, v in next(r for r in rows if r["key"] == "th-06")
                                                       .items() if k not in ("key", "topic")}, "topic": "1.5"})],
                              contest.definition)
    assert bank.import_questions(dep.db, contest.id, q, a, replace=False) == (1, 0, 0)


def test_template_text_columns_are_text_formatted(tmp_path):
    """Excel keeps 80%, 20/01/2024 and 0123 as typed in a text column (it converts them otherwise)."""
    path = tmp_path / "mau.xlsx"
    bank.write_xlsx(bank.EXAMPLE_ROWS, path)
    sheet = openpyxl.load_workbook(path).worksheets[0]
    header = [c.value for c in sheet[1]]
    for index, column in enumerate(header, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        expected = "General" if column == "Độ khó" else "@"
        assert sheet.column_dimensions[letter].number_format == expected, column
        assert sheet.cell(row=2, column=index).number_format == expected, column
    from importlib.resources import files

    shipped = openpyxl.load_workbook(files("ccch_contest") / "data" / "mau-cau-hoi.xlsx").worksheets[0]
    assert shipped.column_dimensions["D"].number_format == "@"  # option_a


def test_xlsx_percentages_and_dates_import_as_shown(tmp_path, definition):
    """The reviewer's workbook: cells shown as 80%, 100%, 20/01/2024 were imported as 0.8, 1 and
    2024-01-20 00:00:00."""
    import datetime as dt

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["key", "type", "prompt", "option_a", "option_b", "option_c", "option_d", "correct", "category"])
    sheet.append(["x1", "single", "Chỉ tiêu?", 0.8, 1, dt.datetime(2024, 1, 20), 0.9, "B", "Chỉ tiêu"])
    for ref in ("D2", "E2", "G2"):
        sheet[ref].number_format = "0%"
    sheet["F2"].number_format = "dd/mm/yyyy"
    path = tmp_path / "pct.xlsx"
    workbook.save(path)
    questions, _, problems = parse(path, definition)
    assert problems == [] and [o.label for o in questions[0].options] == ["80%", "100%", "20/01/2024", "90%"]


# -- the headings offices write (issue #27 part 2) ------------------------------------------------


def test_an_excel_bank_with_vietnamese_headings_imports(tmp_path, definition):
    """The Interior office's own file: Vietnamese headings in its own order, the type and the
    answer in words, with a row whose answer is wrong — named by the heading the file wrote."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Câu hỏi", "Phương án A", "Phương án B", "Phương án C", "Đáp án", "Loại",
                  "Chủ đề", "Giải thích", "Đối tượng"])
    cbccvc, nhan_dan = (a.name for a in definition.audiences)
    sheet.append(["Chỉ tiêu phát sóng chuyên mục CCHC mỗi năm?", "12 số", "15 số", "24 số", "B.", "Chọn một đáp án",
                  "Chỉ tiêu", "Phụ lục, dòng 2", cbccvc])
    sheet.append(["Những hình thức tuyên truyền nào?", "Tờ gấp", "Cuộc thi", "Nhắn tin hàng loạt", "A;B",
                  "Chọn nhiều đáp án", "Hình thức", "Mục II.2", ""])
    sheet.append(["Xã gửi kế hoạch trước 20/01/2024?", None, None, None, "Đúng", "Đúng/Sai", "Thời hạn", "Mục IV.7",
                  f"{cbccvc}; {nhan_dan.upper()}"])
    sheet.append(["Câu có đáp án sai?", "Một", "Hai", None, "E", "Trắc nghiệm", "Chỉ tiêu", None, None])
    path = tmp_path / "ngan-hang.xlsx"
    workbook.save(path)
    questions, audiences, problems = parse(path, definition)
    assert [(q.type, q.correct, q.category, q.help) for q in questions] == [
        (QuestionType.SINGLE, ("b",), "Chỉ tiêu", "Phụ lục, dòng 2"),
        (QuestionType.MULTIPLE, ("a", "b"), "Hình thức", "Mục II.2"),
        (QuestionType.TRUE_FALSE, ("dung",), "Thời hạn", "Mục IV.7"),
    ]
    assert list(audiences.values()) == [("cbccvc",), (), ("cbccvc", "nhan-dan")]
    assert [(p.line, p.message) for p in problems] == [
        (5, "cột “Đáp án”: 'E' không phải chữ cái của một phương án đã điền (A, B)")]


def test_headings_without_diacritics_and_an_unknown_one_quoted_as_written(tmp_path, definition):
    path = write(tmp_path, "khong-dau.csv", "Cau hoi,Phuong an A,Phuong an B,Dap an,Do kho\n"
                                            "Câu một?,Một,Hai,A,7\n")
    questions, _, problems = parse(path, definition)
    assert not questions and [(p.line, p.message) for p in problems] == [(2, "độ khó 7 không hợp lệ: từ 1 (dễ) đến 5 (khó)")]
    bad = write(tmp_path, "sai-tieu-de.csv", "Câu hỏi,Phương án A,Phương án B,Đáp án,Ghi chú thêm\nCâu?,Một,Hai,A,x\n")
    with pytest.raises(bank.ImportFileError) as caught:
        parse(bad, definition)
    message = str(caught.value)
    assert "cột không có trong mẫu: ghi chú thêm" in message
    assert "Các cột của mẫu: Mã câu hỏi, Loại, Câu hỏi, Phương án A" in message and "Đối tượng dự thi" in message
