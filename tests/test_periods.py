"""Tests for ccch_core.periods: reporting periods in Vietnam time."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ccch_core.periods import (
    VN_TZ,
    Period,
    PeriodError,
    PeriodType,
    iter_periods,
    to_local,
    to_utc,
    utc_now,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- parsing and printing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03", Period.month(2024, 3)),
        ("2024-12", Period.month(2024, 12)),
        ("2024-Q1", Period.quarter(2024, 1)),
        ("2024-Q4", Period.quarter(2024, 4)),
        ("2024-H1", Period.half(2024, 1)),
        ("2024-H2", Period.half(2024, 2)),
        ("2024", Period.year_of(2024)),
    ],
)
def test_parse_and_str_round_trip(text: str, expected: Period) -> None:
    period = Period.parse(text)
    assert period == expected
    assert str(period) == text
    assert Period.parse(str(period)) == period


def test_parse_is_lenient_on_case_and_whitespace_only() -> None:
    assert Period.parse("  2024-q2\n") == Period.quarter(2024, 2)
    assert Period.parse("2024-h2") == Period.half(2024, 2)
    assert str(Period.parse(" 2024-q2 ")) == "2024-Q2"


@pytest.mark.parametrize(
    "text",
    ["2024-13", "2024-00", "2024-Q5", "2024-Q0", "2024-H3", "24-03", "2024/03", "", "2024-3",
     "abcd", "2024-03-01", "1899", "2024-M03", "٢٠٢٤"],
)
def test_parse_rejects_bad_input_quoting_it(text: str) -> None:
    with pytest.raises(PeriodError) as info:
        Period.parse(text)
    message = str(info.value)
    assert repr(text) in message
    assert "2024-Q1" in message  # the accepted forms are shown


def test_parse_rejects_non_text() -> None:
    with pytest.raises(PeriodError):
        Period.parse(202403)  # type: ignore[arg-type]


def test_period_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Period.parse("nope")


@pytest.mark.parametrize(
    ("ptype", "year", "index"),
    [
        (PeriodType.MONTH, 2024, 13),
        (PeriodType.QUARTER, 2024, 0),
        (PeriodType.HALF, 2024, 3),
        (PeriodType.YEAR, 2024, 2),
        (PeriodType.MONTH, 1899, 1),
        (PeriodType.MONTH, 2201, 1),
        (PeriodType.MONTH, 2024, True),
        (PeriodType.MONTH, "2024", 1),
    ],
)
def test_constructor_validates(ptype: PeriodType, year: object, index: object) -> None:
    with pytest.raises(PeriodError):
        Period(ptype, year, index)  # type: ignore[arg-type]


def test_constructor_accepts_type_aliases() -> None:
    assert Period("quý", 2024, 2) == Period.quarter(2024, 2)


def test_periods_are_hashable_and_immutable() -> None:
    bucket = {Period.parse("2024-03"): 1}
    assert bucket[Period.month(2024, 3)] == 1
    assert len({Period.parse("2024-Q1"), Period.quarter(2024, 1), Period.parse("2024-q1")}) == 1
    with pytest.raises(AttributeError):
        Period.month(2024, 3).index = 4  # type: ignore[misc]


def test_ordering_by_start_then_length() -> None:
    shuffled = [
        Period.parse(t) for t in ["2024-02", "2024", "2023-12", "2024-H1", "2024-Q1", "2024-01"]
    ]
    assert [str(p) for p in sorted(shuffled)] == [
        "2023-12", "2024-01", "2024-Q1", "2024-H1", "2024", "2024-02",
    ]
    assert Period.parse("2024-12") < Period.parse("2025-01")
    assert Period.parse("2024-Q4") > Period.parse("2024-Q3")
    assert Period.parse("2024-03") <= Period.parse("2024-03")
    assert Period.parse("2024-03") >= Period.parse("2024-03")


# --- Vietnam-time boundaries --------------------------------------------------------------


def test_last_second_of_march_locally_is_march() -> None:
    instant = utc(2024, 3, 31, 16, 59, 59)
    assert to_local(instant) == datetime(2024, 3, 31, 23, 59, 59, tzinfo=VN_TZ)
    assert Period.of_instant(instant) == Period.month(2024, 3)
    assert Period.of_instant(instant, PeriodType.QUARTER) == Period.quarter(2024, 1)


def test_local_midnight_starts_april() -> None:
    instant = utc(2024, 3, 31, 17, 0, 0)
    assert Period.of_instant(instant) == Period.month(2024, 4)
    assert Period.of_instant(instant, PeriodType.QUARTER) == Period.quarter(2024, 2)
    assert Period.of_instant(instant, "half") == Period.half(2024, 1)


def test_new_year_locally_while_still_old_year_in_utc() -> None:
    instant = utc(2023, 12, 31, 17, 0, 0)
    assert Period.of_instant(instant) == Period.parse("2024-01")
    assert Period.of_instant(instant, PeriodType.YEAR) == Period.year_of(2024)
    assert Period.of_instant(instant - timedelta(microseconds=1)) == Period.parse("2023-12")


def test_of_instant_accepts_any_aware_zone() -> None:
    # 2024-06-30 20:00 at UTC-5 is 2024-07-01 08:00 in Vietnam.
    instant = datetime(2024, 6, 30, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert Period.of_instant(instant, PeriodType.HALF) == Period.half(2024, 2)


def test_of_date() -> None:
    assert Period.of_date(date(2024, 8, 15)) == Period.month(2024, 8)
    assert Period.of_date(date(2024, 8, 15), PeriodType.QUARTER) == Period.quarter(2024, 3)
    assert Period.of_date(date(2024, 6, 30), PeriodType.HALF) == Period.half(2024, 1)
    assert Period.of_date(date(2024, 7, 1), PeriodType.HALF) == Period.half(2024, 2)
    assert Period.of_date(date(2024, 12, 31), "năm") == Period.year_of(2024)


def test_of_date_treats_datetime_as_instant() -> None:
    assert Period.of_date(utc(2024, 3, 31, 17)) == Period.month(2024, 4)


def test_start_and_end_utc() -> None:
    jan = Period.parse("2024-01")
    assert jan.start_utc == utc(2023, 12, 31, 17)
    assert jan.start_utc.utcoffset() == timedelta(0)
    assert Period.parse("2024-Q4").end_utc == utc(2024, 12, 31, 17)
    assert jan.end_utc == Period.parse("2024-02").start_utc


def test_start_and_end_dates() -> None:
    assert Period.parse("2024-02").end_date == date(2024, 2, 29)  # leap year
    assert Period.parse("2023-02").end_date == date(2023, 2, 28)
    assert Period.parse("2024-Q3").start_date == date(2024, 7, 1)
    assert Period.parse("2024-Q3").end_date == date(2024, 9, 30)
    assert Period.parse("2024-H1").end_date == date(2024, 6, 30)
    assert Period.parse("2024").start_date == date(2024, 1, 1)
    assert Period.parse("2024").end_date == date(2024, 12, 31)


def test_naive_datetime_rejected() -> None:
    naive = datetime(2024, 3, 31, 23, 0)
    with pytest.raises(PeriodError, match="naive"):
        Period.of_instant(naive)
    with pytest.raises(PeriodError):
        to_utc(naive)
    with pytest.raises(PeriodError):
        to_local(naive)
    with pytest.raises(PeriodError):
        Period.current(now=naive)
    with pytest.raises(PeriodError):
        Period.parse("2024-03").elapsed_fraction(naive)
    with pytest.raises(PeriodError):
        Period.parse("2024-03").contains(naive)


def test_to_utc_and_now_helpers() -> None:
    local = datetime(2024, 1, 1, 0, 0, tzinfo=VN_TZ)
    assert to_utc(local) == utc(2023, 12, 31, 17)
    assert to_utc(local).tzinfo is UTC
    now = utc_now()
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_current_uses_given_now_and_defaults_to_real_clock() -> None:
    assert Period.current(now=utc(2023, 12, 31, 17)) == Period.month(2024, 1)
    assert Period.current(PeriodType.QUARTER, now=utc(2024, 3, 31, 17)) == Period.quarter(2024, 2)
    assert Period.current(PeriodType.YEAR).contains(to_local(utc_now()).date())


# --- structure ----------------------------------------------------------------------------


def test_months() -> None:
    assert [str(p) for p in Period.parse("2024-H2").months()] == [
        "2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12",
    ]
    assert len(Period.parse("2024-H1").months()) == 6
    assert Period.parse("2024-Q2").months() == [Period.month(2024, m) for m in (4, 5, 6)]
    assert len(Period.parse("2024").months()) == 12
    assert Period.parse("2024-05").months() == [Period.month(2024, 5)]


def test_rollup() -> None:
    aug = Period.parse("2024-08")
    assert aug.rollup(PeriodType.QUARTER) == Period.parse("2024-Q3")
    assert aug.rollup(PeriodType.HALF) == Period.parse("2024-H2")
    assert aug.rollup(PeriodType.YEAR) == Period.parse("2024")
    assert aug.rollup(PeriodType.MONTH) == aug
    assert Period.parse("2024-Q2").rollup("half") == Period.parse("2024-H1")
    with pytest.raises(PeriodError):
        Period.parse("2024").rollup(PeriodType.MONTH)
    with pytest.raises(PeriodError):
        Period.parse("2024-H1").rollup(PeriodType.QUARTER)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("2024-12", "2025-01"),
        ("2024-03", "2024-04"),
        ("2024-Q4", "2025-Q1"),
        ("2024-Q1", "2024-Q2"),
        ("2024-H2", "2025-H1"),
        ("2024-H1", "2024-H2"),
        ("2024", "2025"),
    ],
)
def test_next_and_previous(before: str, after: str) -> None:
    assert Period.parse(before).next() == Period.parse(after)
    assert Period.parse(after).previous() == Period.parse(before)


def test_next_past_supported_range_raises() -> None:
    with pytest.raises(PeriodError):
        Period.parse("2200-12").next()


def test_contains_periods() -> None:
    q1 = Period.parse("2024-Q1")
    assert q1.contains(q1)
    assert q1.contains(Period.parse("2024-03"))
    assert not q1.contains(Period.parse("2024-04"))
    assert not Period.parse("2024-03").contains(q1)
    year = Period.parse("2024")
    assert all(year.contains(p) for p in (q1, Period.parse("2024-H2"), Period.parse("2024-12")))
    assert not year.contains(Period.parse("2025-01"))
    assert not Period.parse("2024-H1").contains(Period.parse("2024-Q3"))


def test_contains_dates_and_instants() -> None:
    march = Period.parse("2024-03")
    assert march.contains(date(2024, 3, 1))
    assert march.contains(date(2024, 3, 31))
    assert not march.contains(date(2024, 4, 1))
    assert march.contains(utc(2024, 3, 31, 16, 59, 59))
    assert not march.contains(utc(2024, 3, 31, 17))


def test_iter_periods() -> None:
    got = list(iter_periods(Period.parse("2024-11"), Period.parse("2025-02")))
    assert [str(p) for p in got] == ["2024-11", "2024-12", "2025-01", "2025-02"]
    quarters = list(iter_periods(Period.parse("2024-Q3"), Period.parse("2025-Q1")))
    assert [str(p) for p in quarters] == ["2024-Q3", "2024-Q4", "2025-Q1"]
    assert list(iter_periods(Period.parse("2024"), Period.parse("2024"))) == [Period.year_of(2024)]
    assert list(iter_periods(Period.parse("2024-05"), Period.parse("2024-04"))) == []
    assert list(iter_periods(Period.parse("2200-11"), Period.parse("2200-12")))[-1] == (
        Period.month(2200, 12)
    )


def test_iter_periods_requires_same_type_eagerly() -> None:
    with pytest.raises(PeriodError):
        iter_periods(Period.parse("2024-01"), Period.parse("2024-Q2"))  # no next() needed


# --- labels -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("2024-03", "Tháng 3/2024"),
        ("2024-12", "Tháng 12/2024"),
        ("2024-Q1", "Quý I/2024"),
        ("2024-Q2", "Quý II/2024"),
        ("2024-Q3", "Quý III/2024"),
        ("2024-Q4", "Quý IV/2024"),
        ("2024-H1", "6 tháng đầu năm 2024"),
        ("2024-H2", "6 tháng cuối năm 2024"),
        ("2024", "Năm 2024"),
    ],
)
def test_label_vi(text: str, label: str) -> None:
    assert Period.parse(text).label_vi == label
    assert unicodedata.is_normalized("NFC", Period.parse(text).label_vi)


# --- deadlines and progress ---------------------------------------------------------------


def test_due_at_example() -> None:
    due = Period.parse("2024-03").due_at(5)
    assert due == utc(2024, 4, 5, 17)
    assert due.utcoffset() == timedelta(0)
    assert to_local(due) == datetime(2024, 4, 6, 0, 0, tzinfo=VN_TZ)


def test_due_at_on_time_boundary() -> None:
    due = Period.parse("2024-03").due_at(5)
    last_on_time = utc(2024, 4, 5, 16, 59, 59, 999999)  # 23:59:59.999999 on 5 April locally
    assert last_on_time < due
    assert not utc(2024, 4, 5, 17) < due


def test_due_at_crosses_year() -> None:
    assert Period.parse("2024-12").due_at(5) == utc(2025, 1, 5, 17)
    assert Period.parse("2024-Q4").due_at(10) == utc(2025, 1, 10, 17)
    assert Period.parse("2024").due_at(1) == utc(2025, 1, 1, 17)
    assert Period.parse("2024-H1").due_at(28) == utc(2024, 7, 28, 17)


@pytest.mark.parametrize("day", [0, 29, 31, -1, True, 5.0])
def test_due_at_rejects_bad_day(day: object) -> None:
    with pytest.raises(PeriodError):
        Period.parse("2024-03").due_at(day)  # type: ignore[arg-type]


def test_elapsed_fraction() -> None:
    march = Period.parse("2024-03")
    assert march.elapsed_fraction(march.start_utc - timedelta(days=3)) == 0.0
    assert march.elapsed_fraction(march.start_utc) == 0.0
    assert march.elapsed_fraction(march.end_utc) == 1.0
    assert march.elapsed_fraction(march.end_utc + timedelta(days=40)) == 1.0
    # Noon of 16 March locally is exactly half of a 31-day month.
    middle = datetime(2024, 3, 16, 12, tzinfo=VN_TZ)
    assert march.elapsed_fraction(middle) == pytest.approx(0.5)
    year = Period.parse("2024")
    assert year.elapsed_fraction(utc(2024, 7, 1)) == pytest.approx(0.5, abs=0.01)
    fraction = year.elapsed_fraction(utc(2024, 3, 1))
    assert 0.0 < fraction < 1.0
    assert isinstance(fraction, float)


# --- PeriodType ---------------------------------------------------------------------------


def test_period_type_properties() -> None:
    assert [t.months for t in PeriodType] == [1, 3, 6, 12]
    assert [t.label_vi for t in PeriodType] == ["tháng", "quý", "6 tháng", "năm"]
    assert str(PeriodType.QUARTER) == "quarter"
    assert PeriodType("half") is PeriodType.HALF


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("month", PeriodType.MONTH),
        ("Monthly", PeriodType.MONTH),
        ("thang", PeriodType.MONTH),
        ("tháng", PeriodType.MONTH),
        ("THÁNG", PeriodType.MONTH),
        ("quarter", PeriodType.QUARTER),
        ("quarterly", PeriodType.QUARTER),
        ("Quý", PeriodType.QUARTER),
        ("half", PeriodType.HALF),
        ("six_month", PeriodType.HALF),
        ("6 tháng", PeriodType.HALF),
        ("  6   Tháng ", PeriodType.HALF),
        ("year", PeriodType.YEAR),
        ("annual", PeriodType.YEAR),
        ("yearly", PeriodType.YEAR),
        ("năm", PeriodType.YEAR),
        (PeriodType.YEAR, PeriodType.YEAR),
    ],
)
def test_period_type_parse_aliases(text: str, expected: PeriodType) -> None:
    assert PeriodType.parse(text) is expected


def test_period_type_parse_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", "tháng")
    assert decomposed != "tháng"  # really a different code-point sequence
    assert PeriodType.parse(decomposed) is PeriodType.MONTH
    assert PeriodType.parse(unicodedata.normalize("NFD", "Quý")) is PeriodType.QUARTER
    assert PeriodType.parse(unicodedata.normalize("NFD", "6 tháng")) is PeriodType.HALF


@pytest.mark.parametrize("text", ["weekly", "", "tuần", "q"])
def test_period_type_parse_unknown(text: str) -> None:
    with pytest.raises(PeriodError) as info:
        PeriodType.parse(text)
    message = str(info.value)
    assert repr(text) in message
    assert "'quarterly'" in message and "'năm'" in message  # accepted values are listed
