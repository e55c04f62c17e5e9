"""Bounded imports (ccch_core.limits): every file is measured before it is parsed, and a file over
a limit is refused whole, with a Vietnamese message naming the file and the limit, changing nothing.

The bombs are the ones issue #17 found: a 2 KB XLSX declaring its sheet A1:XFD1048576 (4 GB and a
500), an XLSX of 1.4 million rows (a worker held for a minute), a TOML text nested 1,000 deep (a
RecursionError), a CSV cell past the csv module's own bound (an unhandled csv.Error). The tests of
the bombs run under ``cpu_limit``: on code that does not stop them, they fail in seconds instead
of running for minutes."""

from __future__ import annotations

import io
import zipfile

import pytest
from click.testing import CliRunner

from ccch_core.cli import make_cli
from ccch_core.config import ConfigError, config_from_dict
from ccch_core.contacts import ContactError, import_contacts, list_contacts
from ccch_core.limits import (
    DEFAULT_LIMITS,
    ImportLimits,
    LimitError,
    check_zip,
    csv_records,
    loads_toml,
    parse_limits,
    read_limited,
    toml_depth,
)
from ccch_core.planfile import PlanFileError, load_plan, loads_plan
from ccch_core.questions import QuestionError, read_rows
from ccch_core.testing import cpu_limit, xlsx_file

HEADER = ["key", "type", "prompt", "option_a", "option_b", "correct"]
GOOD = [["q1", "single", "Câu 1?", "Có", "Không", "A"], ["q2", "single", "Câu 2?", "Có", "Không", "B"]]
DEEP = "a = " + "[" * 1000 + "]" * 1000 + "\n"


def small(**values) -> ImportLimits:
    return ImportLimits(**values)


# -- settings -------------------------------------------------------------------------------------


def test_defaults_without_a_limits_table():
    config = config_from_dict({"deployment": {"plan": "plan.toml"}})
    assert config.limits == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.max_rows == 20_000 and DEFAULT_LIMITS.max_toml_depth == 20


def test_limits_table_sets_the_limits():
    config = config_from_dict({"deployment": {"plan": "plan.toml"},
                               "limits": {"max_rows": 500, "max_file_bytes": 2_000_000, "max_toml_depth": 8}})
    assert config.limits.max_rows == 500 and config.limits.max_file_bytes == 2_000_000
    assert config.limits.max_toml_depth == 8 and config.limits.max_columns == DEFAULT_LIMITS.max_columns


@pytest.mark.parametrize("table, message", [
    ({"max_row": 10}, 'limits.max_row: unknown key (did you mean "max_rows"?)'),
    ({"max_rows": 0}, "limits.max_rows: must be a whole number 10–10000000, not 0"),
    ({"max_rows": True}, "limits.max_rows: must be a whole number 10–10000000, not True"),
    ({"max_rows": "100"}, "limits.max_rows: must be a whole number 10–10000000, not '100'"),
    ({"max_cell_chars": 200_000}, "limits.max_cell_chars: must be a whole number 100–131072, not 200000"),
    ({"max_compression_ratio": 1.5}, "limits.max_compression_ratio: must be a whole number 10–10000, not 1.5"),
])
def test_bad_limits_are_config_errors_naming_the_key(table, message):
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"deployment": {"plan": "plan.toml"}, "limits": table})
    assert message in str(caught.value)


def test_limits_must_be_a_table():
    assert parse_limits(5, "ccch.toml")[1] == ["ccch.toml: [limits] must be a table"]


# -- size -----------------------------------------------------------------------------------------


class EndlessStream:
    """A stream that never ends (a pipe, /dev/zero), counting what was read from it."""

    def __init__(self):
        self.read_bytes = 0

    def read(self, size=-1):
        assert size > 0, "read everything from an endless stream"
        self.read_bytes += size
        return b"x" * size


def test_read_limited_never_reads_past_the_limit():
    stream = EndlessStream()
    with pytest.raises(LimitError) as caught:
        read_limited(stream, "tải-lên.csv", small(max_file_bytes=10_000))
    assert stream.read_bytes == 10_001
    assert str(caught.value).startswith("tải-lên.csv: tệp nặng hơn 10 KB")
    assert caught.value.key == "max_file_bytes" and caught.value.setting == "[limits] max_file_bytes in ccch.toml"


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "cau-hoi.csv"
    path.write_text(",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in GOOD * 1000) + "\n", encoding="utf-8")
    with pytest.raises(QuestionError) as caught:
        read_rows(path, limits=small(max_file_bytes=10_000))
    assert "cau-hoi.csv: tệp nặng hơn 10 KB, giới hạn cho một lần nhập" in str(caught.value)


# -- XLSX -----------------------------------------------------------------------------------------


CORNER = b'<row r="1048576"><c r="XFD1048576" s="0"/></row>'
"""The last cell of a sheet: with a declared A1:XFD1048576, every row between was 16,384 cells."""


def test_a_2kb_sheet_reaching_xfd1048576_is_refused_in_a_moment(tmp_path):
    """Issue #17: a 1.6 KB file declaring A1:XFD1048576, with a cell in its last corner, drove a
    worker to 4 GB and a 500 (openpyxl filled every row between to the declared width)."""
    path = xlsx_file(tmp_path / "bom.xlsx", [HEADER, *GOOD], dimension="A1:XFD1048576", sheet_data=[CORNER])
    assert path.stat().st_size < 3_000
    with cpu_limit(3, "reading a 2 KB sheet"), pytest.raises(QuestionError) as caught:
        read_rows(path)
    assert str(caught.value) == ("bom.xlsx: có hơn 20.000 dòng dữ liệu (trang tính còn dòng sau dòng 21.001), quá "
                                 "giới hạn 20.000 dòng cho một lần nhập. Hãy xóa các dòng thừa ở cuối hoặc chia "
                                 "thành nhiều tệp.")


def test_a_declared_dimension_is_not_the_width_of_the_rows(tmp_path):
    path = xlsx_file(tmp_path / "khai-bao.xlsx", [HEADER, *GOOD], dimension="A1:XFD1048576")
    with cpu_limit(3, "reading a 2 KB sheet"):
        rows = read_rows(path, limits=small(max_columns=10))
    assert [line for line, _ in rows] == [2, 3]
    assert rows[0][1]["prompt"] == "Câu 1?" and rows[1][1]["correct"] == "B"


def test_a_million_rows_in_half_a_megabyte_are_refused_from_the_zip_directory(tmp_path):
    """Issue #17: 1.4 million rows in a small file held a worker for 60 s; now refused before
    openpyxl reads a row (the compression ratio gives it away)."""
    rows = b"".join(b'<row><c t="inlineStr"><is><t>C\xc3\xa2u h\xe1\xbb\x8fi?</t></is></c><c><v>%d</v></c></row>' % i
                    for i in range(10))
    path = xlsx_file(tmp_path / "trieu-dong.xlsx", [["prompt", "key"]], sheet_data=[rows * 140_000])
    assert path.stat().st_size < 1_000_000
    with cpu_limit(3, "refusing a 1.4-million-row sheet"), pytest.raises(QuestionError) as caught:
        read_rows(path)
    message = str(caught.value)
    assert message.startswith("trieu-dong.xlsx: phần “xl/worksheets/sheet1.xml” của tệp nén tới")
    assert "quá giới hạn tỷ lệ nén 100 lần" in message


def test_a_zip_bomb_member_is_refused_by_its_ratio(tmp_path):
    path = tmp_path / "bom.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 30_000_000)
    assert path.stat().st_size < 100_000
    with cpu_limit(3), pytest.raises(LimitError) as caught:
        check_zip(path, "bom.xlsx")
    assert caught.value.key == "max_compression_ratio"


def test_a_docx_zip_bomb_is_refused_in_words_about_a_word_document():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * 30_000_000)
    buffer.seek(0)
    with cpu_limit(3), pytest.raises(LimitError) as caught:
        check_zip(buffer, "sang-kien.docx", kind="docx")
    assert caught.value.key == "max_compression_ratio"
    assert "không phải một văn bản Word bình thường. Hãy mở tệp bằng Word và lưu lại." in str(caught.value)
    assert "bảng tính" not in str(caught.value)


def test_the_sum_of_uncompressed_sizes_is_limited(tmp_path):
    path = xlsx_file(tmp_path / "lon.xlsx", [HEADER] + [[f"q{i}", "single", f"Câu hỏi thứ {i} về thủ tục {i * 7919}?",
                                                          "Có", "Không", "A"] for i in range(800)])
    with pytest.raises(QuestionError) as caught:
        read_rows(path, limits=small(max_uncompressed_bytes=20_000))
    message = str(caught.value)
    assert message.startswith("lon.xlsx: tệp giải nén ra ") and "quá giới hạn 20 KB" in message
    assert len(read_rows(path)) == 800  # within the defaults


def test_rows_past_the_limit_refuse_the_sheet(tmp_path):
    limits = small(max_rows=100)
    rows = [[f"q{i}", "single", f"Câu {i}?", "Có", "Không", "A"] for i in range(101)]
    path = xlsx_file(tmp_path / "dai.xlsx", [HEADER, *rows])
    with pytest.raises(QuestionError) as caught:
        read_rows(path, limits=limits)
    assert str(caught.value) == ("dai.xlsx: có hơn 100 dòng dữ liệu (còn dữ liệu ở dòng 102), quá giới hạn 100 dòng "
                                 "cho một lần nhập. Hãy xóa các dòng thừa ở cuối hoặc chia thành nhiều tệp.")
    assert len(read_rows(xlsx_file(tmp_path / "du.xlsx", [HEADER, *rows[:100]]), limits=limits)) == 100


def test_blank_rows_after_the_limit_are_tolerated_but_data_far_below_is_not(tmp_path):
    limits = small(max_rows=100)
    blank = b"".join(b'<row r="%d"><c r="A%d" s="0"/></row>' % (n, n) for n in range(120, 400))
    path = xlsx_file(tmp_path / "trong.xlsx", [HEADER, *GOOD], sheet_data=[blank])
    assert len(read_rows(path, limits=limits)) == 2
    far = xlsx_file(tmp_path / "xa.xlsx", [HEADER, *GOOD, (900_000, ["q3", "single", "Câu 3?", "Có", "Không", "A"])])
    with cpu_limit(3), pytest.raises(QuestionError) as caught:
        read_rows(far, limits=limits)
    assert "có hơn 100 dòng dữ liệu (trang tính còn dòng sau dòng 1.101)" in str(caught.value)


def test_a_cell_past_the_column_limit_is_refused_naming_it(tmp_path):
    limits = small(max_columns=50)
    wide = xlsx_file(tmp_path / "rong.xlsx", [HEADER, GOOD[0] + [None] * 53 + ["thừa"]])
    with pytest.raises(QuestionError) as caught:
        read_rows(wide, limits=limits)
    assert ("dòng 2 có dữ liệu ở cột BH (cột thứ 60), quá giới hạn 50 cột. Hãy xóa các cột thừa (từ cột AY trở đi)."
            in str(caught.value))
    rows = b"".join(b'<row r="%d"><c r="XFD%d" s="0"/></row>' % (n, n) for n in range(4, 20_000))
    styled = xlsx_file(tmp_path / "dinh-dang.xlsx", [HEADER, *GOOD], sheet_data=[rows])
    with cpu_limit(3), pytest.raises(QuestionError) as caught:
        read_rows(styled, limits=limits)
    assert "dòng 4 có một ô (trống nhưng có định dạng) ở cột XFD (cột thứ 16.384)" in str(caught.value)
    assert len(read_rows(xlsx_file(tmp_path / "vua.xlsx", [HEADER, GOOD[0] + [None] * 43 + ["x"]]), limits=limits)) == 1


def test_a_cell_past_the_length_limit_names_its_line_and_column(tmp_path):
    path = xlsx_file(tmp_path / "o-dai.xlsx", [HEADER, GOOD[0], ["q2", "single", "x" * 10_001, "Có", "Không", "A"]])
    with pytest.raises(QuestionError) as caught:
        read_rows(path)
    assert str(caught.value) == "o-dai.xlsx: dòng 3, cột prompt: ô dài 10.001 ký tự, quá giới hạn 10.000 ký tự."


def test_a_number_format_longer_than_excel_allows_is_a_bad_row_not_minutes(tmp_path):
    """The format readers are quadratic in the format's length and run for every cell: a 20,000-
    character format ("dmdm…") on 200 cells took 11.5 s of CPU, on a sheet of 20,000 rows it would
    take half an hour."""
    path = xlsx_file(tmp_path / "dinh-dang.xlsx", [["key", "prompt"], *[[f"q{i}", 45000] for i in range(200)]],
                     number_format="dm" * 10_000)
    with cpu_limit(3, "reading 200 cells with a 20,000-character format"):
        rows = read_rows(path)
    assert len(rows) == 200
    assert "định dạng số của ô dài 20.000 ký tự, quá 255 ký tự Excel cho phép" in rows[0][1]["__bad__"]


def test_a_sheet_damaged_past_its_first_rows_is_a_clear_error(tmp_path):
    """openpyxl fails while reading, not only while opening (a cell reference that is no column)."""
    path = xlsx_file(tmp_path / "hong.xlsx", [HEADER, *GOOD], sheet_data=[b'<row r="4"><c r="ZZZZZ4"><v>1</v></c></row>'])
    with pytest.raises(QuestionError) as caught:
        read_rows(path)
    assert str(caught.value).startswith("hong.xlsx: không đọc được tệp XLSX (")


# -- CSV ------------------------------------------------------------------------------------------


def test_a_csv_cell_past_the_csv_modules_own_bound_is_a_clear_error(tmp_path):
    """csv raises csv.Error past 131,072 characters; it reached the web as a 500."""
    path = tmp_path / "o-dai.csv"
    path.write_text(",".join(HEADER) + "\n" + "q1,single," + "x" * 200_000 + ",Có,Không,A\n", encoding="utf-8")
    with pytest.raises(QuestionError) as caught:
        read_rows(path, limits=small(max_file_bytes=1_000_000))
    assert "o-dai.csv: dòng 2: một ô dài hơn 131.072 ký tự, quá giới hạn 10.000 ký tự." == str(caught.value)


@pytest.mark.parametrize("text, message", [
    ("a,b\n" + "1,2\n" * 101, "có hơn 100 dòng dữ liệu (còn dữ liệu ở dòng 102)"),
    ("a,b\n1,2" + "," * 70 + "x\n", "dòng 2 có dữ liệu ở cột BT (cột thứ 72), quá giới hạn 50 cột"),
    ("a,b\n1," + "y" * 101 + "\n", "dòng 2, cột b: ô dài 101 ký tự, quá giới hạn 100 ký tự."),
])
def test_csv_records_are_bounded(text, message):
    with pytest.raises(LimitError) as caught:
        csv_records(text, "tep.csv", small(max_rows=100, max_columns=50, max_cell_chars=100))
    assert message in str(caught.value)


def test_csv_trailing_empty_columns_and_a_full_file_within_limits_pass():
    records = csv_records("a,b" + "," * 80 + "\n" + "1,2\n" * 100, "tep.csv", small(max_rows=100, max_columns=50))
    assert len(records) == 101 and records[0][:2] == ["a", "b"] and len(records[0]) == 50


def test_measurement_csv_over_the_limit_imports_nothing(make_deployment, tmp_path):
    dep = make_deployment(limits={"max_rows": 10})
    path = tmp_path / "do-luong.csv"
    path.write_text("indicator,unit,period,value\n" + "I7,trung-tam-vhtt,2024-03,2\n" * 11, encoding="utf-8")
    result = CliRunner().invoke(make_cli(dep.config.path), ["measure", "import", str(path)])
    assert result.exit_code != 0
    assert "do-luong.csv: có hơn 10 dòng dữ liệu (còn dữ liệu ở dòng 12)" in result.output
    assert "[limits] max_rows in ccch.toml" in result.output and "Nothing was imported." in result.output
    assert dep.db.execute("select count(*) from measurements").fetchone()[0] == 0
    path.write_text("indicator,unit,period,value\n" + "I7,trung-tam-vhtt,2024-03,2\n" * 10, encoding="utf-8")
    assert CliRunner().invoke(make_cli(dep.config.path), ["measure", "import", str(path)]).exit_code == 0


def test_activity_csv_cell_over_the_limit_imports_nothing(make_deployment, tmp_path):
    dep = make_deployment(limits={"max_cell_chars": 100})
    path = tmp_path / "hoat-dong.csv"
    path.write_text("unit,period,category,count,title\nxa-an-dung,2024-03,broadcast,2," + "T" * 101 + "\n",
                    encoding="utf-8")
    result = CliRunner().invoke(make_cli(dep.config.path), ["report-activity", "--from-csv", str(path)])
    assert result.exit_code != 0 and "dòng 2, cột title: ô dài 101 ký tự, quá giới hạn 100 ký tự." in result.output
    assert dep.db.execute("select count(*) from activity_reports").fetchone()[0] == 0


def test_contacts_csv_over_the_limit_stores_nothing(make_deployment, tmp_path):
    dep = make_deployment(limits={"max_rows": 10})
    path = tmp_path / "dau-moi.csv"
    path.write_text("unit,channel,address,name\n" + "".join(f"xa-an-dung,email,can-bo{i}@example.vn,Cán bộ {i}\n"
                                                            for i in range(11)), encoding="utf-8")
    with pytest.raises(ContactError) as caught:
        import_contacts(dep, path)
    assert "có hơn 10 dòng dữ liệu" in str(caught.value)
    assert list_contacts(dep.db) == []


# -- TOML -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, depth", [
    ("a = 1", 0), ("[a]\nb = 1", 1), ("[[a]]\nb = 1", 2), ("a = [[1], [2]]", 2), ("a = {b = {c = [1]}}", 3),
    ('a = "[[[["', 0), ("a = '[[[['", 0), ('a = """[[[\n]]"""', 0), ("a = '''[[[\n['''", 0), ("# [[[[\na = 1", 0),
    ('a = """x""""\nb = [1]', 1), ('a = "\\"[["\nb = [[1]]', 2), ('"k[" = 1', 0), ('a = "unterminated [[[', 0),
])
def test_toml_depth_counts_brackets_outside_strings_and_comments(text, depth):
    assert toml_depth(text)[0] == depth


def test_a_toml_text_nested_1000_deep_is_refused_before_tomllib():
    with cpu_limit(2), pytest.raises(LimitError) as caught:
        loads_toml("b = 1\n" + DEEP, "sau.toml")
    assert str(caught.value) == ("sau.toml: dòng 2: nội dung lồng nhau quá 20 tầng ([ ] hoặc { } trong nhau), giới "
                                 "hạn cho một tệp TOML.")
    assert caught.value.line == 2 and caught.value.key == "max_toml_depth"
    assert loads_toml("a = " + "[" * 20 + "]" * 20, "vua.toml") == {"a": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}


@pytest.mark.parametrize("deep", [DEEP, "a = " + "{b = " * 1000 + "1" + "}" * 1000])
def test_a_plan_nested_1000_deep_is_a_problem_not_a_recursion_error(deep, duc_tho_plan_path, tmp_path):
    with pytest.raises(PlanFileError) as caught:
        loads_plan(duc_tho_plan_path.read_text(encoding="utf-8") + deep, "plan.toml")
    [problem] = caught.value.problems
    assert problem.line is not None and "nội dung lồng nhau quá 20 tầng" in problem.message
    assert "[limits] max_toml_depth in ccch.toml" in problem.message


def test_a_plan_file_over_the_size_limit_is_refused(duc_tho_plan_path):
    with pytest.raises(PlanFileError) as caught:
        load_plan(duc_tho_plan_path, limits=small(max_file_bytes=10_000))
    assert "tệp nặng hơn 10 KB" in str(caught.value)


def test_the_deployments_limits_apply_to_its_plan(make_deployment, duc_tho_plan_path):
    dep = make_deployment(limits={"max_toml_depth": 4})
    assert dep.config.limits.max_toml_depth == 4
    text = duc_tho_plan_path.read_text(encoding="utf-8")
    with pytest.raises(PlanFileError):
        loads_plan(text + "\nz = [[[[[1]]]]]\n", "plan.toml", limits=dep.config.limits)
    assert loads_plan(text, "plan.toml", limits=dep.config.limits).id == dep.plan.id


def test_check_zip_lets_a_non_zip_through_for_the_reader_to_name():
    check_zip(io.BytesIO(b"not a zip"), "x.xlsx")  # no LimitError: openpyxl then says it is no XLSX
