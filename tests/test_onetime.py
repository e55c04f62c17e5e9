"""One-time codes: issued through the outbox, stored only as keyed hashes, verified once, bounded
per address and per client, and every refusal alike."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from ccch_core import privacy
from ccch_core.messages import get_message
from ccch_core.messages.delivery import Deliverer
from ccch_core.onetime import MAX_ATTEMPTS, CodeRefused, issue_code, verify_code

T0 = dt.datetime(2024, 6, 3, 1, 0, tzinfo=dt.UTC)
PURPOSE = "contest.register:tim-hieu-cchc-2024"


@pytest.fixture
def dep(make_deployment):
    return make_deployment(messages={"channels": {"sms": {"sender": "folder"}, "email": {"sender": "folder"}}})


def sent_code(dep, issued) -> str:
    """The code as the person reads it in the SMS the development folder received."""
    Deliverer(dep).run_once()
    [text_file] = (dep.config.folder / "outbox" / "sms").glob(f"*/{issued.message_id}-otp.txt")
    return re.search(r"Cuoc thi CCHC: (\d{6})", text_file.read_text(encoding="utf-8")).group(1)  # sent without diacritics


def issue(dep, address="0912345678", now=T0, **kw):
    return issue_code(dep, purpose=PURPOSE, channel="sms", address=address, service="Cuộc thi CCHC", now=now, **kw)


def test_a_code_travels_by_the_outbox_verifies_once_and_is_never_stored_in_clear(dep):
    issued = issue(dep, "+84 912 345 678")
    code = sent_code(dep, issued)
    stored = " ".join(str(v) for row in dep.db.execute("select * from one_time_codes") for v in row)
    assert code not in stored and "0912345678" not in stored
    assert not verify_code(dep, purpose="contest.other", channel="sms", address="0912345678", code=code, now=T0)
    assert verify_code(dep, purpose=PURPOSE, channel="sms", address="0912 345 678", code=f" {code[:3]} {code[3:]}",
                       now=T0 + dt.timedelta(minutes=9))
    assert not verify_code(dep, purpose=PURPOSE, channel="sms", address="0912345678", code=code, now=T0)  # spent


def test_an_expired_code_and_a_superseded_code_do_not_verify(dep):
    first = issue(dep)
    first_code = sent_code(dep, first)
    assert not verify_code(dep, purpose=PURPOSE, channel="sms", address="0912345678", code=first_code,
                           now=T0 + dt.timedelta(minutes=10, seconds=1))
    second = issue(dep, now=T0 + dt.timedelta(minutes=11))
    third = issue(dep, now=T0 + dt.timedelta(minutes=12))
    second_code, third_code = sent_code(dep, second), sent_code(dep, third)
    at = T0 + dt.timedelta(minutes=13)
    if second_code != third_code:  # one chance in a million that they are the same
        assert not verify_code(dep, purpose=PURPOSE, channel="sms", address="0912345678", code=second_code, now=at)
    assert verify_code(dep, purpose=PURPOSE, channel="sms", address="0912345678", code=third_code, now=at)


def test_wrong_guesses_spend_the_code(dep):
    issued = issue(dep)
    code = sent_code(dep, issued)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(MAX_ATTEMPTS):
        assert not verify_code(dep, purpose=PURPOSE, channel="sms", address="0912345678", code=wrong, now=T0)
    assert not verify_code(dep, purpose=PURPOSE, channel="sms", address="0912345678", code=code, now=T0)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "²²²²²²", "9" * 5000])
def test_malformed_codes_are_simply_wrong(dep, code):
    issue(dep)
    assert verify_code(dep, purpose=PURPOSE, channel="sms", address="0912345678", code=code, now=T0) is False
    assert verify_code(dep, purpose=PURPOSE, channel="sms", address="not a phone", code="123456", now=T0) is False


def test_issuing_is_bounded_per_address_and_per_client_and_refusals_read_alike(dep):
    refusals = []
    for minute in range(4):
        try:
            issue(dep, now=T0 + dt.timedelta(minutes=minute))
        except CodeRefused as refused:
            refusals.append(refused)
    assert [r.reason for r in refusals] == ["address"]
    for i in range(12):
        try:
            issue(dep, address=f"09123450{i:02d}", client_key="client-a", now=T0 + dt.timedelta(minutes=20))
        except CodeRefused as refused:
            refusals.append(refused)
    assert [r.reason for r in refusals] == ["address", "client", "client"]
    assert len({str(r) for r in refusals}) == 1  # one message for every reason
    without = dep.db.execute("select count(*) from messages").fetchone()[0]
    assert without == 3 + 10


def test_a_channel_without_a_sender_and_the_days_cap_refuse_alike(make_deployment):
    dep = make_deployment(messages={"daily_caps": {"otp": 1}, "channels": {"sms": {"sender": "folder"}}})
    with pytest.raises(CodeRefused) as no_channel:
        issue_code(dep, purpose=PURPOSE, channel="email", address="a@b.vn", service="x", now=T0)
    issue(dep)
    Deliverer(dep, clock=lambda: T0).run_once()  # the deliverer counts the day's one code
    with pytest.raises(CodeRefused) as capped:
        issue(dep, address="0987654321")
    assert (no_channel.value.reason, capped.value.reason) == ("channel", "cap")
    assert str(no_channel.value) == str(capped.value)


def test_the_daily_purge_forgets_spent_codes(dep):
    issued = issue(dep)
    code = sent_code(dep, issued)
    verify_code(dep, purpose=PURPOSE, channel="sms", address="0912345678", code=code, now=T0)
    issue(dep, address="0987654321")  # still valid a day later? no: expired, and purged after another day
    results = privacy.purge_expired(dep, now=T0 + dt.timedelta(days=2), actor="cli:test")
    assert any("Mã xác nhận" in i.what and i.count == 2 for r in results for i in r.items)
    assert dep.db.execute("select count(*) from one_time_codes").fetchone()[0] == 0
    assert get_message(dep.db, issued.message_id).state == "sent"
