"""One bounded way to read numbers, periods and codes from URLs and forms (ccch_core.inputs and
ccch_core.web.params): what Python's own readers let through — "²" to str.isdigit, "٣" and 4,300
digits to int(), 2⁶³ to SQLite — is None here, and a 400 in a view, never a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.exceptions import BadRequest

from ccch_core.inputs import SQLITE_MAX_INT, parse_code, parse_int, parse_period
from ccch_core.periods import Period
from ccch_core.web.params import (
    MAX_PAGE,
    BoundedIntConverter,
    id_arg,
    int_arg,
    page_arg,
    period_arg,
)


@pytest.mark.parametrize("text, value", [
    ("7", 7), (" 7 ", 7), ("007", 7), ("-3", -3), ("0", 0), ("9223372036854775807", SQLITE_MAX_INT),
])
def test_parse_int_reads_ascii_whole_numbers_in_range(text, value):
    assert parse_int(text, -10, SQLITE_MAX_INT) == value


@pytest.mark.parametrize("text", [
    "²", "٣", "１２", "+1", "1.0", "1e3", "1_000", "", " ", "-", "abc", "9223372036854775808", "-11",
    "1" * 41, "1" * 5000, None, 7, "\x00", "1\n2",
])
def test_parse_int_refuses_everything_else(text):
    assert parse_int(text, -10, SQLITE_MAX_INT) is None


def test_parse_int_does_not_convert_long_text():
    """int() on 5,000 digits raises (Python's 4,300-digit limit); the length is checked first."""
    assert parse_int("0" * 39 + "5", 1, 9) == 5 and parse_int("0" * 41 + "5", 1, 9) is None


@pytest.mark.parametrize("text, period", [("2024-03", Period.month(2024, 3)), (" 2024-q1 ", Period.quarter(2024, 1)),
                                          ("2024", Period.year_of(2024))])
def test_parse_period(text, period):
    assert parse_period(text) == period


@pytest.mark.parametrize("text", ["2024-13", "²٠٢٤", "2024-03" + " " * 20, "9" * 5000, None, ""])
def test_parse_period_refuses(text):
    assert parse_period(text) is None


@pytest.mark.parametrize("text, code", [("xa-an-dung", "xa-an-dung"), (" K7Q2ZP ", "K7Q2ZP"), ("a.b_c", "a.b_c")])
def test_parse_code(text, code):
    assert parse_code(text) == code


@pytest.mark.parametrize("text", ["-x", "xã", "a b", "a/b", "", "x" * 101, "٣", None, "<script>"])
def test_parse_code_refuses(text):
    assert parse_code(text) is None


@pytest.fixture
def app():
    app = Flask(__name__)
    app.url_map.converters["int"] = BoundedIntConverter

    @app.route("/muc/<int:item>")
    def item(item):
        return str(item)

    return app


@pytest.mark.parametrize("query, page", [("", 1), ("?trang=", 1), ("?trang=3", 3), (f"?trang={MAX_PAGE}", MAX_PAGE)])
def test_page_arg(app, query, page):
    with app.test_request_context("/" + query):
        assert page_arg() == page


@pytest.mark.parametrize("query", ["?trang=0", "?trang=-1", "?trang=²", "?trang=9223372036854775807",
                                   f"?trang={MAX_PAGE + 1}", "?trang=" + "9" * 5000, "?trang=abc"])
def test_page_arg_answers_400_in_vietnamese(app, query):
    with app.test_request_context("/" + query), pytest.raises(BadRequest) as caught:
        page_arg()
    assert caught.value.description == "Số trang không hợp lệ: cần một số nguyên từ 1 đến 100.000."


def test_int_id_and_period_args(app):
    with app.test_request_context("/?k=2024-Q2", method="POST", data={"n": "12", "id": "99999999999999999999"}):
        from flask import request

        assert int_arg("n", 1, 20, source=request.form) == 12
        assert int_arg("thieu", 1, 20, default=5) == 5
        assert period_arg("k") == Period.quarter(2024, 2)
        with pytest.raises(BadRequest) as caught:
            id_arg("id", source=request.form, what="Mã phản hồi")
        assert caught.value.description.startswith("Mã phản hồi không hợp lệ: cần một số nguyên từ 1 đến ")
    with app.test_request_context("/?k=2024-99"), pytest.raises(BadRequest) as caught:
        period_arg("k")
    assert "2024-03 (tháng)" in caught.value.description


@pytest.mark.parametrize("path, status", [
    ("/muc/42", 200), ("/muc/0", 200), ("/muc/9223372036854775807", 404), ("/muc/99999999999999999999", 404),
    ("/muc/٣", 404), ("/muc/-1", 404), ("/muc/" + "1" * 5000, 404),
])
def test_the_int_converter_matches_only_what_sqlite_can_hold(app, path, status):
    assert app.test_client().get(path).status_code == status
