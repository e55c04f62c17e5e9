"""The call's TOML, and the checks an uploaded document goes through."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from ccch_initiatives.definition import DefinitionError, loads_definition
from ccch_initiatives.documents import (
    DocumentError,
    check_document,
    names_found,
    read_upload,
    redact,
    similarity,
    sketch,
)
from click.testing import CliRunner
from initiatives_testing import BODY, CLOSES, OPENS, docx, example_text, pdf

from ccch_core.cli import make_cli
from ccch_core.limits import DEFAULT_LIMITS
from ccch_core.testing import cpu_limit


def test_the_example_call_loads_with_vietnam_times_stored_in_utc(dep):
    d = loads_definition(example_text(), dep.plan)
    assert d.slug == "sang-kien-cchc-2024"
    assert d.opens_at == OPENS and d.opens_at.utcoffset() == dt.timedelta(0)
    assert d.closes_at == CLOSES and d.closes_at.hour == 10  # 17:00 in Hà Tĩnh is 10:00 UTC
    assert [c.key for c in d.criteria] == ["tinh-moi", "kha-thi", "hieu-qua", "pham-vi"]
    assert [c.weight for c in d.criteria] == [3, 2, 3, 2]
    assert d.aggregation == "trimmed_mean" and d.judges_per_entry == 3 and d.final_judges_per_entry == 5
    assert d.max_document_bytes == 10_000_000


def test_every_problem_of_a_call_is_listed_at_once(dep):
    text = example_text(aggregation='"median"', closes="2024-06-01T17:00:00", units='["khong-co"]',
                        tie_breaks='["criterion:khong-co"]', judges_per_entry="0", colour='"do"')
    with pytest.raises(DefinitionError) as caught:
        loads_definition(text, dep.plan)
    problems = "\n".join(caught.value.problems)
    for expected in ("call.aggregation", "call.closes: phải sau call.opens", "call.units: không có đơn vị",
                     "criterion:khong-co", "call.judges_per_entry", "call.colour: khóa không có"):
        assert expected in problems
    assert len(caught.value.problems) == 6


def test_a_deeply_nested_toml_is_refused_before_it_is_parsed():
    with cpu_limit(2), pytest.raises(DefinitionError) as caught:
        loads_definition("x = " + "[" * 100_000)
    assert "lồng nhau" in str(caught.value)


def test_the_cli_checks_and_loads_a_call(dep, tmp_path):
    path = tmp_path / "call.toml"
    path.write_text(example_text(), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(make_cli(dep.config.path), ["initiatives", "check", str(path)])
    assert result.exit_code == 0 and "4 tiêu chí" in result.output
    result = runner.invoke(make_cli(dep.config.path), ["initiatives", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "đến trước 17:00 30/09/2024" in result.output
    path.write_text(example_text(aggregation='"median"'), encoding="utf-8")
    result = runner.invoke(make_cli(dep.config.path), ["initiatives", "load", str(path)])
    assert result.exit_code == 1 and "call.aggregation" in result.output


# -- documents --------------------------------------------------------------------------------------


def test_a_docx_is_read_and_its_judges_copy_names_nobody():
    data = docx("Giải pháp một cửa " * 10, "Đoạn thứ hai", creator="Nguyễn Thị Hoa")
    document = check_document(data)
    assert document.kind == "docx"
    assert "Đoạn thứ hai" in document.text
    assert "Nguyễn Thị Hoa".encode() in zipfile.ZipFile(io.BytesIO(data)).read("docProps/core.xml")
    blind = zipfile.ZipFile(io.BytesIO(document.blind))
    assert all(b"Nguy" not in blind.read(name) for name in blind.namelist())
    assert check_document(document.blind).text == document.text  # still a valid DOCX with the same text


def test_a_pdf_is_read_and_its_judges_copy_has_no_author():
    data = pdf("Giai phap mot cua lien thong cho nguoi dan " * 3, author="Nguyen Thi Hoa")
    document = check_document(data)
    assert document.kind == "pdf"
    assert "Giai phap mot cua" in document.text
    assert b"Nguyen Thi Hoa" in data and b"Nguyen Thi Hoa" not in document.blind
    from pypdf import PdfReader

    assert (PdfReader(io.BytesIO(document.blind)).metadata or {}).get("/Author") is None


@pytest.mark.parametrize(("data", "message"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "tệp Word đời cũ (.doc)"),
    (b"GIF89a" + b"\0" * 500, "không phải văn bản Word (DOCX) hay PDF"),
    (b"PK\x03\x04" + b"\0" * 500, "Tệp bị hỏng"),
    (b"%PDF-1.4\n garbage", "Tệp PDF bị hỏng"),
])
def test_a_file_that_is_not_a_docx_or_pdf_is_refused_by_its_content(data, message):
    with pytest.raises(DocumentError) as caught:
        check_document(data)
    assert message in str(caught.value)


def test_an_xlsx_renamed_docx_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(DocumentError) as caught:
        check_document(buffer.getvalue())
    assert "không phải văn bản Word (DOCX)" in str(caught.value)


def test_a_docx_zip_bomb_is_refused_before_it_is_inflated():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:document>" + b" " * 200_000_000)
    assert len(buffer.getvalue()) < 400_000
    with cpu_limit(3), pytest.raises(DocumentError) as caught:
        check_document(buffer.getvalue())
    assert "Tệp DOCX bất thường" in str(caught.value) and "Word" in str(caught.value)


def test_an_xml_entity_bomb_in_a_docx_is_refused():
    bomb = ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">' for i in range(8))
            + ']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
            '<w:r><w:t>&i;</w:t></w:r></w:p></w:body></w:document>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", bomb)
    with cpu_limit(3), pytest.raises(DocumentError) as caught:
        check_document(buffer.getvalue())
    assert "XML không được phép" in str(caught.value)


def test_an_upload_is_never_read_past_its_limit():
    class Endless(io.RawIOBase):
        reads = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            self.reads += len(buffer)
            buffer[:] = b"x" * len(buffer)
            return len(buffer)

    stream = Endless()
    with pytest.raises(DocumentError) as caught:
        read_upload(io.BufferedReader(stream), 100_000, DEFAULT_LIMITS)
    assert "nặng hơn 100 KB" in str(caught.value)
    assert stream.reads < 300_000


def test_a_scanned_document_without_text_is_refused():
    with pytest.raises(DocumentError) as caught:
        check_document(docx("Ảnh"))
    assert "bản scan" in str(caught.value)


def test_names_are_found_and_redacted_whatever_the_diacritics_and_case():
    text = "Tác giả: NGUYEN THI HOA, Phòng Tư pháp. Liên hệ hoa@ductho.gov.vn. Ông Nguyễn Thị  Hoà đề xuất."
    needles = ["nguyen thi hoa", "hoa@ductho.gov.vn"]
    assert names_found(text, needles) == ["hoa@ductho.gov.vn", "nguyen thi hoa"]
    redacted = redact(text, needles)
    assert "NGUYEN" not in redacted and "Nguyễn" not in redacted and "hoa@" not in redacted
    assert redacted.count("[đã ẩn]") == 3
    assert "Phòng Tư pháp" in redacted  # the rest is untouched
    assert names_found("Hoàng Hoa Thám", needles) == []


def test_near_identical_texts_have_similar_sketches():
    words = (BODY + " ") * 3 + " ".join(f"đoạn {i} nói về thủ tục số {i * 7}" for i in range(60))
    other = " ".join(f"phần {i} bàn về việc khác {i * 13} hoàn toàn" for i in range(80))
    assert similarity(sketch(words), sketch(words.replace("đoạn 3 ", "đoạn ba "))) > 0.8
    assert similarity(sketch(words), sketch(other)) < 0.1


def test_a_small_pdf_that_inflates_to_megabytes_of_drawing_is_refused_before_extraction():
    data = pdf("Giai phap mot cua lien thong", repeat=100_000)  # 6 MB of operators, a few KB of file
    assert len(data) < 40_000
    with cpu_limit(3), pytest.raises(DocumentError) as caught:
        check_document(data)
    assert "nội dung trang bất thường" in str(caught.value)
