"""Request arguments read the bounded way (:mod:`ccch_core.inputs`), for the core's views and
the plugins': a number, a page or a period that is not one answers 400 with a Vietnamese
message, never 500.

The app's ``int`` URL converter is :class:`BoundedIntConverter` (installed by ``create_app``):
``/thi-sinh/<int:pid>`` matches ASCII digits only, at most 18 of them, so a path such as
``/thi-sinh/99999999999999999999`` is a 404 instead of an OverflowError in SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, request
from werkzeug.routing import IntegerConverter

from ..inputs import SQLITE_MAX_INT, parse_int, parse_period
from ..periods import Period

__all__ = [
    "MAX_PAGE",
    "id_arg",
    "int_arg",
    "page_arg",
    "period_arg",
    "search_arg",
]

MAX_PAGE = 100_000
"""The last page number any paged list accepts (a list of 50 a page: five million rows)."""


def _grouped(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def int_arg(name: str, low: int, high: int, *, default: int | None = None,
            source: Mapping[str, str] | None = None, what: str = "Giá trị") -> int | None:
    """The whole number in the request's ``name`` argument (``source``: ``request.form``
    instead of the query string), from ``low`` to ``high``; ``default`` when it is absent or
    empty. Anything else aborts with 400, the message saying what was expected (``what``: the
    words for the value, e.g. "Số trang")."""
    values = request.args if source is None else source
    raw = values.get(name)
    if raw is None or not str(raw).strip():
        return default
    value = parse_int(raw, low, high)
    if value is None:
        abort(400, description=f"{what} không hợp lệ: cần một số nguyên từ {_grouped(low)} đến {_grouped(high)}.")
    return value


def page_arg(name: str = "trang") -> int:
    """The page asked for in ``?trang=`` (1 when absent), 1 to :data:`MAX_PAGE`; 400 otherwise.
    A page past the last is the caller's to handle (an empty page or 404)."""
    return int_arg(name, 1, MAX_PAGE, default=1, what="Số trang")  # type: ignore[return-value]


MAX_SEARCH = 100
"""The longest search text a search box accepts (a unit's name is at most a few dozen characters)."""


def search_arg(name: str = "q", max_length: int = MAX_SEARCH) -> str:
    """The search text in ``?q=`` (cleaned: NFC, one space between words; "" when absent); 400 in
    words when it is longer than ``max_length`` characters, so a pasted page never becomes a scan."""
    from ..text import clean

    raw = request.args.get(name) or ""
    if len(raw) > 4 * max_length:  # before cleaning: never normalise a megabyte
        abort(400, description=f"Từ khóa tìm kiếm dài quá {max_length} ký tự.")
    text = clean(raw)
    if len(text) > max_length:
        abort(400, description=f"Từ khóa tìm kiếm dài quá {max_length} ký tự.")
    return text


def id_arg(name: str, *, source: Mapping[str, str] | None = None, what: str = "Mã số") -> int | None:
    """A row id from the request (1 to SQLite's largest integer), None when absent; 400 otherwise."""
    return int_arg(name, 1, SQLITE_MAX_INT, source=source, what=what)


def period_arg(name: str, default: Period | None = None) -> Period | None:
    """The period in the request's ``name`` argument (``2024-03``, ``2024-Q1``…), ``default`` when
    absent or empty; 400 with the accepted forms otherwise."""
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        return default
    period = parse_period(raw)
    if period is None:
        abort(400, description="Kỳ không hợp lệ. Dùng dạng 2024-03 (tháng), 2024-Q1 (quý), 2024-H1 (6 tháng) "
                               "hoặc 2024 (năm).")
    return period


class BoundedIntConverter(IntegerConverter):
    """Werkzeug's ``int`` converter for ids in paths, bounded: ASCII digits only (``\\d`` would
    also match "٣"), at most 18 of them, at least 0 and at most SQLite's largest integer. Anything
    else does not match the route (404)."""

    regex = r"[0-9]{1,18}"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", SQLITE_MAX_INT)
        super().__init__(map, *args, **kwargs)
