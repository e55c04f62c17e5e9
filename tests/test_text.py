"""Vietnamese text helpers: NFC, cleaning, folding, slugs.

Input methods and PDFs produce the same word composed (NFC) or decomposed (NFD); every helper
must treat both the same.
"""

from __future__ import annotations

import unicodedata

import pytest

from ccch_core.model import ID_PATTERN
from ccch_core.text import clean, fold, nfc, slugify, strip_diacritics


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


DUC_THO = "Đức Thọ"
DUC_THO_NFD = nfd(DUC_THO)


def test_nfd_and_nfc_differ_as_raw_strings():
    """Guard for the tests below: the NFD spelling really is a different string."""
    assert DUC_THO_NFD != DUC_THO
    assert len(DUC_THO_NFD) > len(DUC_THO)


# -- nfc ------------------------------------------------------------------------------------


def test_nfc_composes_decomposed_text():
    assert nfc(DUC_THO_NFD) == DUC_THO
    assert unicodedata.is_normalized("NFC", nfc(DUC_THO_NFD))


def test_nfc_leaves_composed_text_and_spaces_alone():
    assert nfc(DUC_THO) == DUC_THO
    assert nfc("  Đức  Thọ ") == "  Đức  Thọ "


# -- clean ----------------------------------------------------------------------------------


def test_clean_trims_and_collapses_white_space():
    assert clean("  UBND   xã\tAn Dũng \n") == "UBND xã An Dũng"


def test_clean_collapses_line_breaks_and_no_break_spaces():
    """Text pasted from a PDF carries line breaks and no-break spaces."""
    assert clean("Trung tâm\nHành chính\u00a0công\r\n") == "Trung tâm Hành chính công"


def test_clean_normalises_to_nfc():
    cleaned = clean(f"  {DUC_THO_NFD}  ")
    assert cleaned == DUC_THO
    assert unicodedata.is_normalized("NFC", cleaned)


def test_clean_of_only_spaces_is_empty():
    assert clean(" \t\n ") == ""


# -- fold -----------------------------------------------------------------------------------


def test_fold_makes_nfd_and_nfc_equal():
    assert fold(DUC_THO_NFD) == fold(DUC_THO)


def test_fold_ignores_case_and_spacing():
    assert fold("PHÒNG   VHTT") == fold("phòng vhtt")
    assert fold("ĐỨC THỌ") == fold(DUC_THO)


def test_fold_keeps_diacritics_distinct():
    """Thọ and Thổ are different places: folding must not strip tone marks."""
    assert fold("Thọ") != fold("Thổ")
    assert fold("Đức Thọ") != fold("Đức Thổ")
    assert fold("Đức") != fold("Duc")


def test_fold_result_is_nfc():
    assert unicodedata.is_normalized("NFC", fold(nfd("ỦY BAN NHÂN DÂN XÃ ĐỨC ĐỒNG")))


# -- strip_diacritics -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Đức Thọ", "Duc Tho"),
        ("đường", "duong"),
        ("Ủy ban nhân dân", "Uy ban nhan dan"),
        ("Phòng Tư pháp", "Phong Tu phap"),
        ("Thơ ơi", "Tho oi"),
        ("ABC xyz 123", "ABC xyz 123"),
    ],
)
def test_strip_diacritics(text, expected):
    assert strip_diacritics(text) == expected
    assert strip_diacritics(nfd(text)) == expected


def test_strip_diacritics_output_is_ascii():
    text = "Bộ phận tiếp nhận và trả kết quả xã Lâm Trung Thủy, Đức Lạng, Tùng Ảnh"
    assert strip_diacritics(text).isascii()
    assert strip_diacritics(nfd(text)).isascii()


# -- slugify --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Đức Thọ", "duc-tho"),
        ("Phòng Tư pháp", "phong-tu-phap"),
        ("Phòng Văn hóa - Thông tin", "phong-van-hoa-thong-tin"),
        ("UBND xã Đức Đồng", "ubnd-xa-duc-dong"),
        ("  ĐỨC THỌ!! ", "duc-tho"),
        ("Trung tâm Văn hoá - Truyền thông", "trung-tam-van-hoa-truyen-thong"),
        ("Sở TT & TT Hà Tĩnh", "so-tt-tt-ha-tinh"),
    ],
)
def test_slugify(text, expected):
    assert slugify(text) == expected


def test_slugify_nfd_input_gives_same_slug():
    assert slugify(DUC_THO_NFD) == "duc-tho"
    assert slugify(nfd("UBND xã Lâm Trung Thủy")) == slugify("UBND xã Lâm Trung Thủy")


def test_slugify_hoa_spellings_agree():
    """"hoá" and "hóa" (old and new tone placement) give the same slug."""
    assert slugify("Văn hoá") == slugify("Văn hóa") == "van-hoa"


def test_slugify_gives_a_valid_unit_id():
    for name in ("Đức Thọ", "UBND thị trấn Đức Thọ", "Điểm Bưu điện - Văn hóa xã Yên Hồ"):
        assert ID_PATTERN.match(slugify(name)), name


def test_slugify_of_punctuation_only_is_empty():
    assert slugify(" - / & ") == ""


def test_clean_drops_control_characters_and_bidi_overrides():
    assert clean("Xã\x00 An\x07 Dũng\x1b") == "Xã An Dũng"
    assert clean("Nguyễn\u202eVăn A\u2066") == "NguyễnVăn A"
    assert clean("Dòng 1\r\nDòng\t2\x0b") == "Dòng 1 Dòng 2"  # white space still collapses
    assert clean("\x85\x9f") == ""
