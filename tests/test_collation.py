"""Vietnamese collation (:func:`ccch_core.text.sort_key`): the tricky letters and the tones."""

from __future__ import annotations

import random
import unicodedata

import pytest

from ccch_core.text import sort_key


def ordered(names):
    shuffled = list(names)
    random.Random(18).shuffle(shuffled)
    return sorted(shuffled, key=sort_key)


@pytest.mark.parametrize("expected", [
    ["a", "ă", "â", "b"],
    ["d", "đ", "e", "ê", "g"],
    ["o", "ô", "ơ", "p"],
    ["u", "ư", "v"],
    ["An", "Ăn", "Ân", "Bình"],
    ["Lâm", "Liên"],  # by code point "Liên" came first (â is U+00E2, i is U+0069)
    ["Tùng Ảnh", "Tùng Châu"],  # Ả is U+1EA2, after every ASCII letter
    ["Đức Lạng", "Đức Thọ", "Yên Hồ"],  # Đ is U+0110, after Y
    ["Dương", "Đào", "Đinh"],  # d before đ whatever follows
    ["Ơn", "Phú"],
    ["Ưng", "Vân"],
    ["Ô Môn", "Ơn"],
])
def test_vietnamese_letters_in_alphabet_order(expected):
    assert ordered(expected) == expected


def test_tones_in_dictionary_order():
    # none, huyền, hỏi, ngã, sắc, nặng
    assert ordered(["ma", "mà", "mả", "mã", "má", "mạ"]) == ["ma", "mà", "mả", "mã", "má", "mạ"]
    assert ordered(["mạ", "mai", "mà"]) == ["mà", "mạ", "mai"]  # letters before tones


def test_tones_on_marked_letters():
    assert ordered(["ấn", "ẩn", "ân", "ăn", "ằn", "an"]) == ["an", "ăn", "ằn", "ân", "ẩn", "ấn"]
    assert ordered(["ờ", "ớ", "ơ", "ồ", "o"]) == ["o", "ồ", "ơ", "ờ", "ớ"]
    assert ordered(["ừ", "ư", "ủ", "u"]) == ["u", "ủ", "ư", "ừ"]


def test_case_and_spaces_and_numbers():
    assert ordered(["an", "An"]) == ["an", "An"]
    assert ordered(["An Dũng", "An", "Anh"]) == ["An", "An Dũng", "Anh"]
    assert ordered(["Tổ 10", "Tổ 2", "Tổ 1"]) == ["Tổ 1", "Tổ 2", "Tổ 10"]


def test_communes_of_duc_tho():
    names = ["xã Yên Hồ", "xã Đức Lạng", "xã Tùng Ảnh", "xã Tùng Châu", "xã Liên Minh", "xã Lâm Trung Thủy",
             "xã An Dũng", "thị trấn Đức Thọ", "xã Ân Phú", "xã Bùi La Nhân", "xã Quang Vĩnh", "xã Trường Sơn"]
    assert ordered(names) == ["thị trấn Đức Thọ", "xã An Dũng", "xã Ân Phú", "xã Bùi La Nhân", "xã Đức Lạng",
                              "xã Lâm Trung Thủy", "xã Liên Minh", "xã Quang Vĩnh", "xã Trường Sơn", "xã Tùng Ảnh",
                              "xã Tùng Châu", "xã Yên Hồ"]


def test_decomposed_input_sorts_as_composed():
    composed = "Đức Thọ"
    decomposed = unicodedata.normalize("NFD", composed)
    assert sort_key(decomposed)[:3] == sort_key(composed)[:3]
    assert ordered([unicodedata.normalize("NFD", "Tùng Ảnh"), "Tùng Châu"])[1] == "Tùng Châu"


def test_none_and_empty_sort_first():
    assert ordered(["b", "", "a"]) == ["", "a", "b"]
    assert sort_key(None) == sort_key("")
