"""Working days across Tết 2024 and 30/4–1/5, checked against dates worked out by hand on a 2024
calendar (Tết: Thursday 8 to Wednesday 14 February; 29 April swapped with Saturday 4 May)."""

from __future__ import annotations

import datetime as dt

import pytest
from ccch_feedback.settings import SettingsError, parse_settings
from ccch_feedback.workdays import WorkingCalendar

D = dt.date
CAL = WorkingCalendar()


@pytest.mark.parametrize(("start", "days", "due"), [
    # Wed 7 Feb 2024, the last working day before Tết: Thu 15 (1), Fri 16 (2), Mon 19 (3), Tue 20 (4), Wed 21 (5).
    (D(2024, 2, 7), 5, D(2024, 2, 21)),
    (D(2024, 2, 7), 1, D(2024, 2, 15)),
    # Received on a Tết day (Sat 10 Feb): the first working day after it is Thu 15.
    (D(2024, 2, 10), 1, D(2024, 2, 15)),
    # Mon 5 Feb: Tue 6 (1), Wed 7 (2), Thu 15 (3) … Wed 21 (7), Thu 22 (8), Fri 23 (9), Mon 26 (10).
    (D(2024, 2, 5), 10, D(2024, 2, 26)),
    # Fri 26 Apr: Sat 27/Sun 28 weekend, Mon 29 swapped day off, Tue 30/4 and Wed 1/5 holidays;
    # Thu 2 May (1), Fri 3 May (2), Sat 4 May — the swapped working day — (3).
    (D(2024, 4, 26), 1, D(2024, 5, 2)),
    (D(2024, 4, 26), 3, D(2024, 5, 4)),
    # Thu 25 Apr: Fri 26 (1), Thu 2 May (2), Fri 3 (3), Sat 4 (4), Mon 6 (5), Tue 7 (6), Wed 8 (7).
    (D(2024, 4, 25), 7, D(2024, 5, 8)),
    (D(2024, 3, 4), 0, D(2024, 3, 4)),
])
def test_add_working_days(start, days, due):
    assert CAL.add_working_days(start, days) == due


@pytest.mark.parametrize(("day", "working"), [
    (D(2024, 2, 7), True), (D(2024, 2, 8), False), (D(2024, 2, 12), False), (D(2024, 2, 14), False),
    (D(2024, 2, 15), True), (D(2024, 4, 29), False), (D(2024, 4, 30), False), (D(2024, 5, 1), False),
    (D(2024, 5, 4), True), (D(2024, 5, 5), False), (D(2024, 4, 18), False), (D(2024, 9, 2), False),
    (D(2024, 9, 3), False), (D(2024, 3, 9), False),
])
def test_is_working_day(day, working):
    assert CAL.is_working_day(day) is working


def test_days_between_counts_working_days_only():
    assert CAL.working_days_between(D(2024, 2, 7), D(2024, 2, 21)) == 5
    assert CAL.working_days_between(D(2024, 2, 21), D(2024, 2, 7)) == -5
    assert CAL.working_days_between(D(2024, 4, 26), D(2024, 5, 4)) == 3


def test_deployment_swaps_override_the_package():
    # A swap the package does not know: Friday 3 May off, worked on Saturday 11 May instead.
    cal = WorkingCalendar(days_off=[D(2024, 5, 3)], working_days=[D(2024, 5, 11)])
    assert not cal.is_working_day(D(2024, 5, 3))
    assert cal.is_working_day(D(2024, 5, 11))
    # Fri 26 Apr: Thu 2 (1), Sat 4 (2), Mon 6 (3).
    assert cal.add_working_days(D(2024, 4, 26), 3) == D(2024, 5, 6)


def test_holiday_names_are_vietnamese():
    assert "Tết" in CAL.holiday_name(D(2024, 2, 10))
    assert CAL.holiday_name(D(2024, 3, 5)) is None


def test_negative_days_refused():
    with pytest.raises(ValueError):
        CAL.add_working_days(D(2024, 1, 2), -1)


def test_settings_read_dates_and_refuse_bad_ones(duc_tho_plan):
    settings = parse_settings({"days_off": ["2024-05-03"], "working_days": [D(2024, 5, 11)],
                               "answer_days": {"question": 5}}, duc_tho_plan)
    assert settings.days_off == (D(2024, 5, 3),) and settings.working_days == (D(2024, 5, 11),)
    assert settings.limit_for("question") == 5 and settings.limit_for("petition") == 10
    with pytest.raises(SettingsError) as exc:
        parse_settings({"days_off": ["3/5/2024"], "answer_days": {"question": 0}, "triage_unit": "khong-co",
                        "rules": {"ho-tich": "khong-co"}, "typo": 1}, duc_tho_plan)
    text = str(exc.value)
    for part in ("days_off", "answer_days", "triage_unit", "rules", "typo"):
        assert part in text
