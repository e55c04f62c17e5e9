"""Personal data helpers and the shared rate limiter."""

from __future__ import annotations

import datetime as dt

import pytest

from ccch_core.privacy import (
    PersonalDataError,
    keyed_hash,
    mask_citizen_id,
    mask_phone,
    normalise_citizen_id,
    normalise_phone,
)
from ccch_core.ratelimit import Limit, hit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0912345678", "0912345678"), ("+84 912 345 678", "0912345678"), ("84912345678", "0912345678"),
     ("091.234.5678", "0912345678"), ("(0239) 3856 789", "02393856789"), ("0３12345678".replace("３", "3"), "0312345678")],
)
def test_normalise_phone(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "0112345678", "09123456789", "abc", "+1 202 555 0100", "0912-34-567x"])
def test_bad_phone(raw):
    with pytest.raises(PersonalDataError, match="Số điện thoại không hợp lệ"):
        normalise_phone(raw)


def test_citizen_id():
    assert normalise_citizen_id(" 001203 004567 ") == "001203004567"
    with pytest.raises(PersonalDataError, match="12 chữ số"):
        normalise_citizen_id("00120300456")
    assert mask_citizen_id("001203004567") == "********4567"


def test_masks_and_keyed_hash():
    assert mask_phone("0912345678") == "0912***678"
    a = keyed_hash("secret", "contest.phone", "0912345678")
    assert a == keyed_hash("secret", "contest.phone", "0912345678")
    assert a != keyed_hash("other-secret", "contest.phone", "0912345678")
    assert a != keyed_hash("secret", "survey.phone", "0912345678")
    assert "0912345678" not in a and len(a) == 64


def test_rate_limit_fixed_window(fresh_db):
    limit = Limit(count=3, seconds=60)
    start = dt.datetime(2024, 3, 1, 8, 0, 5, tzinfo=dt.UTC)
    decisions = [hit(fresh_db, "survey.submit", "k1", limit, start + dt.timedelta(seconds=i)) for i in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert decisions[3].retry_after == 60 - 8  # the window started at 08:00:00
    assert hit(fresh_db, "survey.submit", "k2", limit, start).allowed  # another key
    assert hit(fresh_db, "contest.start", "k1", limit, start).allowed  # another bucket
    assert hit(fresh_db, "survey.submit", "k1", limit, start + dt.timedelta(seconds=60)).allowed  # next window


@pytest.mark.parametrize("returning", [True, False], ids=["upsert-returning", "upsert-then-select"])
def test_rate_limit_cost_and_count(fresh_db, monkeypatch, returning):
    """A hit may cost more than one (a look-up of a code that does not exist), and the decision
    carries the window's count, so a caller can act on a lower threshold than the limit."""
    from ccch_core import ratelimit

    monkeypatch.setattr(ratelimit, "_RETURNING", returning)
    limit = Limit(count=10, seconds=60)
    start = dt.datetime(2024, 3, 1, 8, 0, 5, tzinfo=dt.UTC)
    first = hit(fresh_db, "survey.lookup", "k", limit, start)
    assert (first.allowed, first.count) == (True, 1)
    costly = hit(fresh_db, "survey.lookup", "k", limit, start, cost=8)
    assert (costly.allowed, costly.count) == (True, 9)
    over = hit(fresh_db, "survey.lookup", "k", limit, start, cost=8)
    assert (over.allowed, over.count, over.retry_after) == (False, 17, 55)
    assert hit(fresh_db, "survey.lookup", "k", limit, start, cost=0).count == 18  # at least one
    # peek reads the count without adding to it.
    from ccch_core.ratelimit import peek

    assert (peek(fresh_db, "survey.lookup", "k", limit, start).allowed, peek(fresh_db, "survey.lookup", "k", limit,
                                                                            start).count) == (False, 18)
    assert peek(fresh_db, "survey.lookup", "other", limit, start) == ratelimit.Decision(True, 0, 0)
    assert peek(fresh_db, "survey.lookup", "k", limit, start + dt.timedelta(seconds=60)).allowed  # next window


@pytest.mark.parametrize("returning", [True, False], ids=["upsert-returning", "upsert-then-select"])
def test_rate_limit_inside_a_transaction_and_pruning(fresh_db, monkeypatch, returning):
    from ccch_core import ratelimit
    from ccch_core.storage import write_transaction

    monkeypatch.setattr(ratelimit, "_RETURNING", returning)  # SQLite before 3.35 has no RETURNING
    limit = Limit(count=2, seconds=60)
    old = dt.datetime(2024, 3, 1, 8, 0, 5, tzinfo=dt.UTC)
    hit(fresh_db, "contest.start", "old", limit, old)
    with pytest.raises(RuntimeError), write_transaction(fresh_db):
        assert hit(fresh_db, "contest.start", "k", limit, old).allowed  # in the caller's transaction
        raise RuntimeError("the request failed")
    # Rolled back with the caller's transaction: the hit did not count.
    assert fresh_db.execute("select count(*) from rate_limits where key = 'k'").fetchone()[0] == 0
    with write_transaction(fresh_db):
        assert [hit(fresh_db, "contest.start", "k", limit, old).allowed for _ in range(3)] == [True, True, False]
    # A first hit in a window whose second is a multiple of 64 prunes windows older than a day.
    later = dt.datetime.fromtimestamp((int((old + dt.timedelta(days=2)).timestamp()) // 64 + 1) * 64, dt.UTC)
    assert hit(fresh_db, "contest.start", "new", limit, later).allowed
    keys = {row[0] for row in fresh_db.execute("select key from rate_limits")}
    assert keys == {"new"}
