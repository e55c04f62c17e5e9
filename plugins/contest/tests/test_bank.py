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
    assert "no correct answer" in lines[3]
    assert "'D' is not the letter of a filled option" in lines[4]
    assert "a contest question is single, multiple or true_false" in lines[5]
    assert "repeats line 2" in lines[6]
    assert "hoc-sinh is not an audience" in lines[7]
    assert "write Đúng or Sai" in lines[10]
    assert "difficulty" in lines[11]


def test_unknown_column_is_refused(tmp_path, definition):
    path = write(tmp_path, "x.csv", "key,type,prompt,option_a,option_b,dap_an\nk,single,Câu?,A,B,A\n")
    questions, _, problems = parse(path, definition)
    assert questions == [] and "unknown column(s) dap_an" in problems[0].message


def test_nothing_is_imported_unless_bad_rows_are_skipped(dep, tmp_path):
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    contest = load_contest(dep, contest_data(), questions=None, publish=False)
    path = write(tmp_path, "cau-hoi.csv", HEADER + "b1,single,Câu một?,Một,Hai,,,A,Chỉ tiêu,1,\n"
                 "b2,single,Câu hai?,Một,Hai,,,,Chỉ tiêu,1,\n")
    config = str(dep.config.path)
    result = CliRunner().invoke(make_cli(config), ["-c", config, "contest", "questions", "import", contest.slug, str(path)])
    assert result.exit_code == 1
    assert "cau-hoi.csv:3: no correct answer" in result.output
    assert "nothing was imported" in result.output
    assert dep.db.execute("select count(*) from contest_questions").fetchone()[0] == 0
    result = CliRunner().invoke(make_cli(config), ["-c", config, "contest", "questions", "import", contest.slug,
                                                   str(path), "--skip-bad-rows"])
    assert result.exit_code == 0, result.output
    assert "1 bad row(s) skipped" in result.output
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
    assert problems[0].line == 3 and "repeats line 2" in problems[0].message  # the same question twice


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
    assert row["prompt"].startswith("'=") and row["option_a"] == "'+1" and row["option_b"] == "'@SUM(A1)"


def test_aiken_import(tmp_path, definition):
    path = write(tmp_path, "aiken.txt", "Kế hoạch đặt bao nhiêu số phát sóng mỗi năm?\nA. 12 số\nB. 15 số\n"
                 "ANSWER: B\n\nCâu thiếu đáp án?\nA. Một\nB. Hai\n\nCâu thứ ba\ncó hai dòng?\nA) Có\nB) Không\nANSWER: A\n")
    questions, _, problems = parse(path, definition)
    assert [q.prompt for q in questions] == ["Kế hoạch đặt bao nhiêu số phát sóng mỗi năm?", "Câu thứ ba có hai dòng?"]
    assert questions[0].correct == ("b",)
    assert [(p.line, p.message) for p in problems] == [(6, "no correct answer (column correct)")]


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
    sheet = openpyxl.load_workbook(shipped).worksheets[0]
    assert [c.value for c in sheet[1]] == list(bank.CONTEST_COLUMNS)


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
    assert [(p.line, "only single choice" in p.message) for p in problems] == [(15, True)]
