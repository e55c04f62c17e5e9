"""Reporting periods: month, quarter, six months (half-year) and year, in Vietnam time.

Vietnamese administrative reports are due per month, quarter, six months and year. The
calendar that decides which period something belongs to is always the Vietnam one
(``Asia/Ho_Chi_Minh``, UTC+7, no daylight saving): an event at 2023-12-31T17:30Z happened on
1 January 2024 in Hà Tĩnh, so it counts for 2024-01. Instants are stored in UTC; only
bucketing and display are local.

Canonical text forms of a :class:`Period`::

    2024-03   month (two-digit month)
    2024-Q1   quarter
    2024-H1   six months (first half of the year)
    2024      year
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

__all__ = [
    "VN_TZ",
    "Period",
    "PeriodError",
    "PeriodType",
    "iter_periods",
    "to_local",
    "to_utc",
    "utc_now",
]

#: Vietnam's time zone. All period boundaries are local midnights in this zone.
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# Period.year bounds: wide enough for any real plan, narrow enough to catch typos like 20244.
MIN_YEAR = 1900
MAX_YEAR = 2200

# Only 1..28 exists in every month, so a due day never silently moves (no "31 February").
MAX_DUE_DAY = 28


class PeriodError(ValueError):
    """A period, period type or period-related argument is invalid.

    Subclasses :class:`ValueError` so callers that only know "bad value" still catch it.
    """


class PeriodType(str, enum.Enum):
    """The kind of a reporting period. Values are the stable identifiers stored on disk."""

    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"

    def __str__(self) -> str:
        # str() of a str-mixin enum differs between Python 3.11 and 3.12; pin it to the value
        # so that f-strings and stored text are the same everywhere.
        return self.value

    @property
    def months(self) -> int:
        """Length of a period of this type in months (1, 3, 6 or 12)."""
        return _MONTHS[self]

    @property
    def label_vi(self) -> str:
        """Vietnamese name of the type, lower case: "tháng", "quý", "6 tháng", "năm"."""
        return _LABELS_VI[self]

    @property
    def per_year(self) -> int:
        """How many periods of this type make up a year (12, 4, 2 or 1)."""
        return 12 // self.months

    @classmethod
    def parse(cls, text: str | PeriodType) -> PeriodType:
        """Read a period type from its value or an English/Vietnamese alias.

        Matching is done after NFC normalisation (Vietnamese typed with a decomposed input
        method must still match), case folding and collapsing white space. Accepted:
        ``month``/``monthly``/``thang``/``tháng``, ``quarter``/``quarterly``/``quý``/``quy``,
        ``half``/``six_month``/``6 tháng``/``6 thang``, ``year``/``annual``/``yearly``/``năm``/
        ``nam``.

        Raises :class:`PeriodError` naming the value and the accepted values otherwise.
        """
        if isinstance(text, PeriodType):
            return text
        if not isinstance(text, str):
            raise PeriodError(
                f"unknown period type {text!r}: expected text, one of {_ACCEPTED_TYPES}"
            )
        key = _fold(text)
        try:
            return _ALIASES[key]
        except KeyError:
            raise PeriodError(
                f"unknown period type {text!r}; accepted values: {_ACCEPTED_TYPES}"
            ) from None


# Kept outside the class body: names assigned inside an Enum body become members.
_MONTHS = {PeriodType.MONTH: 1, PeriodType.QUARTER: 3, PeriodType.HALF: 6, PeriodType.YEAR: 12}
_LABELS_VI = {
    PeriodType.MONTH: "tháng",
    PeriodType.QUARTER: "quý",
    PeriodType.HALF: "6 tháng",
    PeriodType.YEAR: "năm",
}


def _fold(text: str) -> str:
    # NFC first (decomposed input), casefold, NFC again (casefold may decompose), one space.
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return " ".join(folded.split())


_ALIASES: dict[str, PeriodType] = {
    _fold(alias): ptype
    for ptype, aliases in {
        PeriodType.MONTH: ("month", "monthly", "thang", "tháng"),
        PeriodType.QUARTER: ("quarter", "quarterly", "quý", "quy"),
        PeriodType.HALF: ("half", "six_month", "6 tháng", "6 thang"),
        PeriodType.YEAR: ("year", "annual", "yearly", "năm", "nam"),
    }.items()
    for alias in aliases
}
_ACCEPTED_TYPES = ", ".join(repr(alias) for alias in _ALIASES)

# ASCII digits only: \d would also accept Arabic-Indic or full-width digits.
_PERIOD_RE = re.compile(
    r"(?P<year>[0-9]{4})"
    r"(?:-(?P<month>[0-9]{2})|-[Qq](?P<quarter>[0-9])|-[Hh](?P<half>[0-9]))?"
)
_ACCEPTED_FORMS = (
    "'YYYY-MM' (e.g. '2024-03'), 'YYYY-Qn' (e.g. '2024-Q1'), "
    "'YYYY-Hn' (e.g. '2024-H1') or 'YYYY' (e.g. '2024')"
)

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _strict_int(value: object, what: str) -> int:
    # bool is an int subclass; Period(..., True) is always a bug.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PeriodError(f"{what} must be an integer, got {value!r}")
    return value


def _check_year(_instance: object, _attribute: object, value: object) -> None:
    year = _strict_int(value, "year")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(f"year {year} is outside {MIN_YEAR}..{MAX_YEAR}")


def _check_index(instance: Period, _attribute: object, value: object) -> None:
    index = _strict_int(value, "index")
    per_year = instance.type.per_year
    if not 1 <= index <= per_year:
        raise PeriodError(
            f"index {index} is out of range for a {instance.type.value} period (1..{per_year})"
        )


@attrs.frozen(eq=True, order=False)
class Period:
    """One reporting period in the Vietnam calendar.

    ``index`` is the position within the year: 1-12 for a month, 1-4 for a quarter, 1-2 for
    a half-year and always 1 for a year. Prefer the named constructors (:meth:`month`,
    :meth:`quarter`, :meth:`half`, :meth:`year_of`) or :meth:`parse`.

    Periods are immutable and hashable. They are ordered by ``(year, first month, length in
    months)``: chronologically by start, and among periods starting in the same month the
    shorter one first, so ``2024-01 < 2024-Q1 < 2024-H1 < 2024 < 2024-02``.
    """

    type: PeriodType = attrs.field(converter=PeriodType.parse)
    year: int = attrs.field(validator=_check_year)
    index: int = attrs.field(validator=_check_index)

    # --- construction -------------------------------------------------------------------

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """The month ``month`` (1-12) of ``year``."""
        return cls(PeriodType.MONTH, year, month)

    @classmethod
    def quarter(cls, year: int, q: int) -> Period:
        """Quarter ``q`` (1-4) of ``year``."""
        return cls(PeriodType.QUARTER, year, q)

    @classmethod
    def half(cls, year: int, h: int) -> Period:
        """Half-year ``h`` of ``year``: 1 is January-June, 2 is July-December."""
        return cls(PeriodType.HALF, year, h)

    @classmethod
    def year_of(cls, year: int) -> Period:
        """The whole ``year``. (Named ``year_of`` because ``year`` is the field.)"""
        return cls(PeriodType.YEAR, year, 1)

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read the canonical text form: ``2024-03``, ``2024-Q1``, ``2024-H1`` or ``2024``.

        Surrounding white space is ignored and the ``Q``/``H`` may be lower case. The month
        must have two digits ("2024-3" is rejected so that stored keys stay sortable and
        unambiguous). Anything else raises :class:`PeriodError` quoting the text and listing
        the accepted forms.
        """
        if not isinstance(text, str):
            raise PeriodError(f"invalid period {text!r}: expected text, {_ACCEPTED_FORMS}")
        match = _PERIOD_RE.fullmatch(text.strip())
        if match is None:
            raise PeriodError(f"invalid period {text!r}: expected {_ACCEPTED_FORMS}")
        year = int(match["year"])
        if match["month"] is not None:
            ptype, index = PeriodType.MONTH, int(match["month"])
        elif match["quarter"] is not None:
            ptype, index = PeriodType.QUARTER, int(match["quarter"])
        elif match["half"] is not None:
            ptype, index = PeriodType.HALF, int(match["half"])
        else:
            ptype, index = PeriodType.YEAR, 1
        try:
            return cls(ptype, year, index)
        except PeriodError as exc:
            # Well-formed but out of range ("2024-13"): keep the user's text in the message.
            raise PeriodError(
                f"invalid period {text!r}: {exc}; expected {_ACCEPTED_FORMS}"
            ) from None

    @classmethod
    def of_date(cls, d: date, ptype: PeriodType | str = PeriodType.MONTH) -> Period:
        """The period of type ``ptype`` containing the local (Vietnam) calendar date ``d``.

        A :class:`datetime` is treated as an instant (see :meth:`of_instant`) rather than
        having its date part read in whatever zone it carries.
        """
        if isinstance(d, datetime):
            return cls.of_instant(d, ptype)
        if not isinstance(d, date):
            raise TypeError(f"expected a date, got {type(d).__name__}")
        ptype = PeriodType.parse(ptype)
        return cls(ptype, d.year, (d.month - 1) // ptype.months + 1)

    @classmethod
    def of_instant(cls, instant: datetime, ptype: PeriodType | str = PeriodType.MONTH) -> Period:
        """The period of type ``ptype`` containing ``instant``, judged in Vietnam time.

        ``instant`` must be timezone-aware (any zone); naive datetimes raise
        :class:`PeriodError` because guessing their zone would misfile events near midnight.
        """
        return cls.of_date(to_local(instant).date(), ptype)

    @classmethod
    def current(
        cls, ptype: PeriodType | str = PeriodType.MONTH, now: datetime | None = None
    ) -> Period:
        """The period of type ``ptype`` in progress in Vietnam at ``now`` (default: now)."""
        return cls.of_instant(utc_now() if now is None else now, ptype)

    # --- text -----------------------------------------------------------------------------

    def __str__(self) -> str:
        """Canonical form, the inverse of :meth:`parse`: ``2024-03``, ``2024-Q1``,
        ``2024-H1``, ``2024``."""
        if self.type is PeriodType.MONTH:
            return f"{self.year:04d}-{self.index:02d}"
        if self.type is PeriodType.QUARTER:
            return f"{self.year:04d}-Q{self.index}"
        if self.type is PeriodType.HALF:
            return f"{self.year:04d}-H{self.index}"
        return f"{self.year:04d}"

    @property
    def label_vi(self) -> str:
        """Vietnamese label as written in reports: "Tháng 3/2024", "Quý I/2024",
        "6 tháng đầu năm 2024" / "6 tháng cuối năm 2024", "Năm 2024"."""
        if self.type is PeriodType.MONTH:
            return f"Tháng {self.index}/{self.year}"
        if self.type is PeriodType.QUARTER:
            return f"Quý {_ROMAN[self.index]}/{self.year}"
        if self.type is PeriodType.HALF:
            part = "đầu" if self.index == 1 else "cuối"
            return f"6 tháng {part} năm {self.year}"
        return f"Năm {self.year}"

    # --- ordering ------------------------------------------------------------------------

    def _sort_key(self) -> tuple[int, int, int]:
        return (self.year, self.start_month, self.type.months)

    def __lt__(self, other: object) -> bool:
        """Order by (year, first month, length); see the class docstring."""
        if not isinstance(other, Period):
            return NotImplemented
        return self._sort_key() < other._sort_key()

    def __le__(self, other: object) -> bool:
        """Order by (year, first month, length); see the class docstring."""
        if not isinstance(other, Period):
            return NotImplemented
        return self._sort_key() <= other._sort_key()

    def __gt__(self, other: object) -> bool:
        """Order by (year, first month, length); see the class docstring."""
        if not isinstance(other, Period):
            return NotImplemented
        return self._sort_key() > other._sort_key()

    def __ge__(self, other: object) -> bool:
        """Order by (year, first month, length); see the class docstring."""
        if not isinstance(other, Period):
            return NotImplemented
        return self._sort_key() >= other._sort_key()

    # --- calendar ------------------------------------------------------------------------

    @property
    def start_month(self) -> int:
        """Number (1-12) of the first month of the period."""
        return (self.index - 1) * self.type.months + 1

    @property
    def end_month(self) -> int:
        """Number (1-12) of the last month of the period."""
        return self.start_month + self.type.months - 1

    @property
    def start_date(self) -> date:
        """First local day of the period."""
        return date(self.year, self.start_month, 1)

    @property
    def end_date(self) -> date:
        """Last local day of the period (inclusive)."""
        return _first_of_next_month(self.year, self.end_month) - timedelta(days=1)

    @property
    def start_utc(self) -> datetime:
        """Aware UTC instant of local midnight at the start of :attr:`start_date` (inclusive)."""
        return _local_midnight_utc(self.start_date)

    @property
    def end_utc(self) -> datetime:
        """Aware UTC instant of local midnight after :attr:`end_date`: the exclusive bound.

        An instant ``t`` is in the period iff ``start_utc <= t < end_utc``.
        """
        return _local_midnight_utc(self.end_date + timedelta(days=1))

    def contains(self, other: Period | date | datetime) -> bool:
        """Whether ``other`` lies entirely inside this period.

        ``other`` may be a period (a period contains itself, a quarter its months, a month
        does not contain a quarter), a local date, or an aware datetime (judged in Vietnam
        time; naive ones raise :class:`PeriodError`).
        """
        if isinstance(other, Period):
            return self.start_date <= other.start_date and other.end_date <= self.end_date
        if isinstance(other, datetime):
            # Checked before date: datetime subclasses date, and comparing the two raises.
            other = to_local(other).date()
        if isinstance(other, date):
            return self.start_date <= other <= self.end_date
        raise TypeError(f"expected a Period, date or datetime, got {type(other).__name__}")

    def months(self) -> list[Period]:
        """The month periods inside this one, in order (a month gives itself)."""
        return [Period.month(self.year, m) for m in range(self.start_month, self.end_month + 1)]

    def rollup(self, ptype: PeriodType | str) -> Period:
        """The period of type ``ptype`` that contains this one (itself for the same type).

        Raises :class:`PeriodError` if ``ptype`` is shorter than this period's type (a year
        does not roll up into one month).
        """
        ptype = PeriodType.parse(ptype)
        if ptype.months < self.type.months:
            raise PeriodError(
                f"cannot roll {self} ({self.type.value}) up to a shorter {ptype.value} period"
            )
        return Period(ptype, self.year, (self.start_month - 1) // ptype.months + 1)

    def next(self) -> Period:
        """The following period of the same type (2024-12 -> 2025-01, 2024-Q4 -> 2025-Q1)."""
        return self._shift(1)

    def previous(self) -> Period:
        """The preceding period of the same type (2025-01 -> 2024-12, 2025 -> 2024)."""
        return self._shift(-1)

    def _shift(self, steps: int) -> Period:
        # Count periods from year 0 so that crossing a year boundary is plain arithmetic.
        per_year = self.type.per_year
        year, zero_index = divmod(self.year * per_year + self.index - 1 + steps, per_year)
        return Period(self.type, year, zero_index + 1)

    # --- deadlines and progress ------------------------------------------------------------

    def due_at(self, day: int) -> datetime:
        """Deadline for a report on this period that is "due by the end of day ``day``" of the
        month following the period's last month, in Vietnam time.

        Returns the *exclusive* bound as an aware UTC datetime: local midnight starting day
        ``day + 1``. A report submitted at an instant strictly before it is on time. Example:
        ``Period.parse("2024-03").due_at(5)`` is 2024-04-06 00:00 in Vietnam, i.e.
        2024-04-05T17:00Z. ``day`` must be 1..28 so that it exists in every month; otherwise
        :class:`PeriodError` is raised.
        """
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= MAX_DUE_DAY:
            raise PeriodError(f"due day must be an integer 1..{MAX_DUE_DAY}, got {day!r}")
        following = _first_of_next_month(self.year, self.end_month)
        return _local_midnight_utc(following.replace(day=day) + timedelta(days=1))

    def elapsed_fraction(self, now: datetime) -> float:
        """Share of the period's duration elapsed at ``now``, in [0, 1], for pro-rata targets.

        0.0 at or before :attr:`start_utc`, 1.0 at or after :attr:`end_utc`. ``now`` must be
        timezone-aware.
        """
        now = to_utc(now)
        start, end = self.start_utc, self.end_utc
        if now <= start:
            return 0.0
        if now >= end:
            return 1.0
        return (now - start) / (end - start)


def iter_periods(start: Period, end: Period) -> Iterator[Period]:
    """Periods from ``start`` to ``end`` inclusive, in order. Both must have the same type
    (else :class:`PeriodError`, raised at call time); if ``end`` is before ``start`` nothing is
    yielded."""
    if start.type is not end.type:
        raise PeriodError(
            f"iter_periods needs periods of one type, got {start} ({start.type.value}) "
            f"and {end} ({end.type.value})"
        )
    return _iter_periods(start, end)


def _iter_periods(start: Period, end: Period) -> Iterator[Period]:
    # Separate generator so that iter_periods validates eagerly, not on first next().
    current = start
    while current <= end:
        yield current
        if current == end:
            break  # don't step past MAX_YEAR when end is the very last period
        current = current.next()


def utc_now() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.now(UTC)


def _require_aware(instant: datetime) -> datetime:
    if not isinstance(instant, datetime):
        raise TypeError(f"expected a datetime, got {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        # We never guess the zone of a naive datetime: 7 hours decide the month at its edges.
        raise PeriodError(
            f"naive datetime {instant.isoformat()} rejected: attach a timezone "
            "(UTC for stored instants, VN_TZ for Vietnam wall-clock time)"
        )
    return instant


def to_local(instant: datetime) -> datetime:
    """Convert an aware datetime to Vietnam time. Naive datetimes raise :class:`PeriodError`."""
    return _require_aware(instant).astimezone(VN_TZ)


def to_utc(instant: datetime) -> datetime:
    """Convert an aware datetime to UTC. Naive datetimes raise :class:`PeriodError`."""
    return _require_aware(instant).astimezone(UTC)


def _first_of_next_month(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VN_TZ).astimezone(UTC)
