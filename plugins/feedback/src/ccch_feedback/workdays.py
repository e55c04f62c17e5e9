"""Working days in Vietnam: Monday to Friday, less the public holidays of the ``holidays``
package (Tết included, with the days it lists as substituted), plus the weekend days it lists as
working days, then the deployment's own ``days_off`` and ``working_days`` (the swaps the
government declares each year, which a package release may not know yet).

A deadline of *n* working days counts from the working day after the item was received: an item
received on Wednesday 7 February 2024 with 5 working days is due on Wednesday 21 February (8–14
February is Tết).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

import holidays


@functools.lru_cache(maxsize=64)
def _package_days(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    table = holidays.country_holidays("VN", years=year)
    off = frozenset(table)
    working = frozenset(d for d in getattr(table, "weekend_workdays", ()) if d.year == year)
    return off, working


class WorkingCalendar:
    """Which days are working days, and deadlines counted in them."""

    def __init__(self, days_off: Iterable[dt.date] = (), working_days: Iterable[dt.date] = ()):
        self.days_off = frozenset(days_off)
        self.working_days = frozenset(working_days)

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day."""
        if day in self.working_days:
            return True
        if day in self.days_off:
            return False
        off, working = _package_days(day.year)
        if day in working:
            return True
        return day.weekday() < 5 and day not in off

    def holiday_name(self, day: dt.date) -> str | None:
        """The holiday's Vietnamese name, if ``day`` is one."""
        if day in self.days_off:
            return "Ngày nghỉ bù theo quyết định của Chính phủ"
        return holidays.country_holidays("VN", years=day.year, language="vi").get(day)

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted); ``start``
        for 0."""
        if days < 0:
            raise ValueError("days must be 0 or more")
        day, left = start, days
        while left:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative when ``end`` is before)."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def calendar_of(settings) -> WorkingCalendar:
    """The calendar of a deployment's settings."""
    return WorkingCalendar(settings.days_off, settings.working_days)
