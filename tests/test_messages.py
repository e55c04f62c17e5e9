"""The outbox: queueing in the caller's transaction, the delivery state machine, retries and
back-off, daily caps, rate limits, templates, erasure and retention.

The senders here are a scripted test sender (a real plugin registered through the hook) so that
the state machine's every branch can be driven; the built-in senders against real servers are in
test_message_senders.py and the crash tests in test_message_delivery.py.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccch_core import audit, privacy
from ccch_core.hookspecs import hookimpl
from ccch_core.messages import (
    ChannelUnavailable,
    DailyCapReached,
    MessageError,
    MessageTemplate,
    SenderKind,
    SendResult,
    cancel_message,
    get_message,
    list_messages,
    queue_message,
    retry_message,
    sms_segments,
    sms_text,
)
from ccch_core.messages.delivery import Deliverer
from ccch_core.plugins import AvailablePlugin
from ccch_core.storage import write_transaction

T0 = dt.datetime(2024, 4, 8, 1, 0, tzinfo=dt.UTC)  # 08:00 in Vietnam


class ScriptedSender:
    """Answers from a script (a list of SendResult, then sent), recording every message it got."""

    def __init__(self, log, script):
        self.log = log
        self.script = script

    def send(self, message):
        self.log.append(message)
        if self.script:
            return self.script.pop(0)
        return SendResult.sent(f"gw-{message.id}")

    def close(self):
        pass


def make_sender_plugin():
    """A plugin module registering the sender kind "scripted" and one template of its own."""
    module = types.ModuleType("scripted_sender_plugin")
    module.sent = []
    module.script = []

    @hookimpl
    def register_message_senders(register):
        register(SenderKind("scripted", ("email", "sms", "zalo"), lambda context: ScriptedSender(module.sent, module.script),
                            "test sender", keys=("label",)))

    @hookimpl
    def register_message_templates(register):
        register(MessageTemplate("scripted.hello", "Lời chào", ("name",), "Chào {name}", "Xin chào {name}.",
                                 "Chao {name}", daily_cap=3))

    module.register_message_senders = register_message_senders
    module.register_message_templates = register_message_templates
    sys.modules[module.__name__] = module
    return module


@pytest.fixture
def sender_plugin():
    return make_sender_plugin()


@pytest.fixture
def dep(make_deployment, sender_plugin):
    available = {"scripted": AvailablePlugin(name="scripted", load=lambda: sender_plugin, version="1")}
    messages = {"max_attempts": 4, "channels": {
        "email": {"sender": "scripted"}, "sms": {"sender": "scripted", "strip_diacritics": True},
    }}
    return make_deployment(plugins=("scripted",), available=available, messages=messages)


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += dt.timedelta(seconds=seconds)


def overdue(unit="UBND xã An Dũng"):
    return {"unit_name": unit, "period_label": "tháng 3/2024", "due_date": "05/04/2024",
            "link": "https://cchc.example.gov.vn/bao-cao"}


def queue(dep, key, channel="email", address="vanthu@andung.ductho.gov.vn", template="report_overdue", params=None,
          **kw):
    return queue_message(dep, channel=channel, address=address, template=template,
                         params=params if params is not None else overdue(), idempotency_key=key, now=kw.pop("now", T0),
                         **kw)


# -- queueing -----------------------------------------------------------------------------------------


def test_a_message_commits_with_the_action_or_not_at_all(dep):
    with write_transaction(dep.db) as db:
        db.execute("insert into audit_log (at, action, label) values ('2024-04-08', 'test.action', 'x')")
        queue(dep, "k-commit")
    with pytest.raises(RuntimeError), write_transaction(dep.db) as db:
        db.execute("insert into audit_log (at, action, label) values ('2024-04-08', 'test.rolled', 'x')")
        queue(dep, "k-rollback")
        raise RuntimeError("the action failed")
    keys = [row[0] for row in dep.db.execute("select idempotency_key from messages")]
    assert keys == ["k-commit"]
    assert dep.db.execute("select count(*) from audit_log where action = 'test.rolled'").fetchone()[0] == 0


def test_the_same_idempotency_key_queues_once(dep):
    first = queue(dep, "reminders:overdue:2024-03:xa-an-dung:1")
    again = queue(dep, "reminders:overdue:2024-03:xa-an-dung:1")
    assert first == again
    assert dep.db.execute("select count(*) from messages").fetchone()[0] == 1


def test_addresses_are_normalised_and_masked(dep):
    message_id = queue(dep, "k1", channel="sms", address="+84 912 345 678")
    message = get_message(dep.db, message_id)
    assert message.address == "0912345678"
    assert message.address_masked == "0912***678"
    email_id = queue(dep, "k2", address="  VanThu@AnDung.DucTho.GOV.VN ")
    assert get_message(dep.db, email_id).address == "VanThu@andung.ductho.gov.vn"
    assert get_message(dep.db, email_id).address_masked == "V***@andung.ductho.gov.vn"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"address": "not-an-address"}, "address"),
    ({"address": "a@b"}, "address"),
    ({"channel": "sms", "address": "12345"}, "address"),
    ({"template": "no_such_template"}, "template"),
    ({"params": {"unit_name": "x"}}, "params.period_label"),
    ({"params": {**overdue(), "extra": "1"}}, "params.extra"),
    ({"channel": "fax"}, "channel"),
])
def test_bad_messages_are_refused_naming_the_field(dep, kwargs, field):
    with pytest.raises(MessageError) as error:
        queue(dep, "k-bad", **kwargs)
    assert error.value.field == field
    assert dep.db.execute("select count(*) from messages").fetchone()[0] == 0


def test_a_channel_without_a_sender_is_unavailable(dep):
    assert not dep.messaging.available("zalo")
    with pytest.raises(ChannelUnavailable):
        queue(dep, "k-zalo", channel="zalo", address="0912345678")


def test_a_bad_idempotency_key_is_refused(dep):
    with pytest.raises(MessageError) as error:
        queue(dep, "has space")
    assert error.value.field == "idempotency_key"


def test_the_daily_cap_holds_where_money_is_spent_and_a_new_vietnam_day_starts_over(dep, sender_plugin):
    hello = {"name": "Lan"}
    for i in range(5):  # the deliverer is behind: more than the cap is queued…
        queue(dep, f"hello-{i}", template="scripted.hello", params=hello)
    clock = Clock()
    report = Deliverer(dep, clock=clock).run_once()
    # …but only the cap (3) reaches the gateway; the rest are failed with the reason, not sent.
    assert report.sent == 3 and report.failed == 2 and len(sender_plugin.sent) == 3
    capped = [m for m in list_messages(dep.db, state="failed")]
    assert len(capped) == 2 and all("vượt hạn mức 3 tin nhắn một ngày" in m.last_error for m in capped)
    # Once the day's cap is used, queueing refuses at once, so the caller can tell the person.
    with pytest.raises(DailyCapReached):
        queue(dep, "hello-5", template="scripted.hello", params=hello)
    assert dep.db.execute("select count(*) from messages where idempotency_key = 'hello-5'").fetchone()[0] == 0
    # 23:30 in Vietnam is still the same day; 00:30 the next morning is a new one.
    with pytest.raises(DailyCapReached):
        queue(dep, "hello-6", template="scripted.hello", params=hello, now=dt.datetime(2024, 4, 8, 16, 30, tzinfo=dt.UTC))
    tomorrow = dt.datetime(2024, 4, 8, 17, 30, tzinfo=dt.UTC)
    queue(dep, "hello-7", template="scripted.hello", params=hello, now=tomorrow)
    clock.now = tomorrow
    assert Deliverer(dep, clock=clock).run_once().sent == 1
    # Retrying a capped message the same day is capped again; other purposes are not affected.
    retry_message(dep, capped[0].id, actor="cli:test", now=tomorrow)
    queue(dep, "other", now=tomorrow)
    assert Deliverer(dep, clock=clock).run_once().sent == 2


def test_a_deployment_sets_its_own_cap(make_deployment, sender_plugin):
    available = {"scripted": AvailablePlugin(name="scripted", load=lambda: sender_plugin, version="1")}
    dep = make_deployment(plugins=("scripted",), available=available,
                          messages={"daily_caps": {"report_overdue": 1}, "channels": {"email": {"sender": "scripted"}}})
    queue(dep, "a")
    queue(dep, "b")
    report = Deliverer(dep, clock=Clock()).run_once()
    assert (report.sent, report.failed) == (1, 1)
    with pytest.raises(DailyCapReached):
        queue(dep, "c")
    assert dep.messaging.daily_cap("otp") == 1000  # the template's default


# -- delivery -------------------------------------------------------------------------------------------


def test_delivery_sends_each_due_message_once_and_audits_without_the_body(dep, sender_plugin):
    ids = [queue(dep, f"k{i}", params=overdue(f"UBND xã số {i}")) for i in range(3)]
    deliverer = Deliverer(dep, clock=Clock())
    report = deliverer.run_once()
    assert (report.sent, report.retried, report.failed, report.waiting) == (3, 0, 0, 0)
    assert [m.id for m in sender_plugin.sent] == ids
    first = sender_plugin.sent[0]
    assert first.subject == "Báo cáo tháng 3/2024 đã quá hạn (05/04/2024)"
    assert "Kính gửi UBND xã số 0" in first.text and first.idempotency_key == "k0" and first.attempt == 1
    assert all(get_message(dep.db, i).state == "sent" for i in ids)
    assert get_message(dep.db, ids[0]).gateway_id == f"gw-{ids[0]}"
    assert deliverer.run_once().sent == 0  # nothing twice
    rows = audit.entries(dep.db, action="message.send")
    assert len(rows) == 3
    assert all("Kính gửi" not in (r.detail or "") and "vanthu@" not in (r.target or "") for r in rows)
    assert "v***@andung.ductho.gov.vn" in rows[0].target


def test_sms_text_is_stripped_of_diacritics_when_the_channel_says_so(dep, sender_plugin):
    queue(dep, "s1", channel="sms", address="0912345678", template="report_due",
          params={"unit_name": "UBND xã Đức Lạng", "period_label": "tháng 4/2024", "due_date": "05/05/2024",
                  "days_left": "3", "link": "https://cchc.example.gov.vn"})
    Deliverer(dep, clock=Clock()).run_once()
    text = sender_plugin.sent[0].text
    assert text.startswith("UBND xa Duc Lang: bao cao CCHC thang 4/2024")
    assert sms_segments(text).encoding == "GSM-7"
    assert dep.db.execute("select segments from messages").fetchone()[0] == sms_segments(text).segments


def test_a_transient_failure_backs_off_the_message_and_the_channel(dep, sender_plugin):
    message_id = queue(dep, "k-retry")
    sender_plugin.script.append(SendResult.retry("HTTP 503 Service Unavailable"))
    clock = Clock()
    deliverer = Deliverer(dep, clock=clock)
    report = deliverer.run_once()
    assert report.retried == 1 and "email" in report.paused_channels
    message = get_message(dep.db, message_id)
    assert message.state == "queued" and message.last_error == "HTTP 503 Service Unavailable"
    wait = (dt.datetime.fromisoformat(message.next_attempt_at) - T0).total_seconds()
    assert 24 <= wait <= 36  # 30 s ± 20 %
    clock.advance(10)
    assert deliverer.run_once().sent == 0  # not due yet
    clock.advance(30)
    assert deliverer.run_once().sent == 1
    assert [m.attempt for m in sender_plugin.sent] == [1, 2]
    assert dep.db.execute("select failures, paused_until from message_channels").fetchone() == (0, None)


def test_a_gateway_outage_pauses_the_channel_instead_of_using_up_every_message(dep, sender_plugin):
    ids = [queue(dep, f"k{i}") for i in range(5)]
    sender_plugin.script.extend([SendResult.retry("connection refused")])
    deliverer = Deliverer(dep, clock=Clock())
    report = deliverer.run_once()
    # One attempt, then the channel pauses: the other four were not tried against a dead gateway.
    assert len(sender_plugin.sent) == 1 and report.waiting == 5
    assert [get_message(dep.db, i).attempts for i in ids] == [1, 0, 0, 0, 0]


def test_the_retry_after_of_a_gateway_is_honoured(dep, sender_plugin):
    message_id = queue(dep, "k-429")
    sender_plugin.script.append(SendResult.retry("HTTP 429", retry_after=900))
    Deliverer(dep, clock=Clock()).run_once()
    message = get_message(dep.db, message_id)
    assert (dt.datetime.fromisoformat(message.next_attempt_at) - T0).total_seconds() >= 900


def test_a_permanent_failure_keeps_the_gateways_reason(dep, sender_plugin):
    message_id = queue(dep, "k-perm")
    sender_plugin.script.append(SendResult.failed("550 5.1.1 <vanthu@andung.ductho.gov.vn>: Recipient unknown"))
    report = Deliverer(dep, clock=Clock()).run_once()
    message = get_message(dep.db, message_id)
    assert report.failed == 1 and message.state == "failed"
    assert message.last_error.startswith("550 5.1.1")


def test_attempts_are_bounded(dep, sender_plugin):
    message_id = queue(dep, "k-max")
    sender_plugin.script.extend([SendResult.retry("timeout", channel_down=False)] * 10)
    clock = Clock()
    deliverer = Deliverer(dep, clock=clock)
    for _ in range(6):
        deliverer.run_once()
        clock.advance(7 * 3600)
    message = get_message(dep.db, message_id)
    assert message.state == "failed" and message.attempts == 4  # max_attempts
    assert message.last_error == "hết 4 lần thử; lần cuối: timeout"


def test_a_sender_that_raises_loses_nothing(dep, sender_plugin):
    message_id = queue(dep, "k-raise")

    def boom(_message):
        raise OSError("the gateway library crashed")

    deliverer = Deliverer(dep, clock=Clock())
    deliverer._senders["email"] = types.SimpleNamespace(send=boom, close=lambda: None)
    assert deliverer.run_once().retried == 1
    message = get_message(dep.db, message_id)
    assert message.state == "queued" and "crashed" in message.last_error


def test_the_rate_per_minute_of_a_channel_holds(make_deployment, sender_plugin):
    available = {"scripted": AvailablePlugin(name="scripted", load=lambda: sender_plugin, version="1")}
    dep = make_deployment(plugins=("scripted",), available=available,
                          messages={"channels": {"email": {"sender": "scripted", "rate_per_minute": 2}}})
    for i in range(5):
        queue(dep, f"k{i}")
    clock = Clock()
    deliverer = Deliverer(dep, clock=clock)
    assert deliverer.run_once().sent == 2
    clock.advance(30)
    assert deliverer.run_once().sent == 0
    clock.advance(31)
    assert deliverer.run_once().sent == 2


def test_a_message_left_sending_by_a_dead_deliverer_is_sent_again_with_its_key(dep, sender_plugin):
    message_id = queue(dep, "k-crash")
    dep.db.execute("update messages set state = 'sending', attempts = 1, claimed_at = ?, claimed_by = ? where id = ?",
                   [T0.isoformat(), "other-host:123", message_id])
    dep.db.conn.commit()
    clock = Clock()
    deliverer = Deliverer(dep, clock=clock)
    assert deliverer.run_once().sent == 0  # another host's claim is honoured within the lease
    clock.advance(301)
    report = deliverer.run_once()
    assert report.recovered == 1 and report.sent == 1
    assert sender_plugin.sent[0].idempotency_key == "k-crash" and sender_plugin.sent[0].attempt == 2


def test_a_claim_of_a_dead_process_on_this_host_is_recovered_at_once(dep, sender_plugin):
    from ccch_core.messages.delivery import worker_id

    message_id = queue(dep, "k-dead")
    host = worker_id().rsplit(":", 1)[0]
    dep.db.execute("update messages set state = 'sending', attempts = 1, claimed_at = ?, claimed_by = ? where id = ?",
                   [T0.isoformat(), f"{host}:{2**22 + 12345}", message_id])
    dep.db.conn.commit()
    assert Deliverer(dep, clock=Clock()).run_once().sent == 1


def test_retry_and_cancel(dep, sender_plugin):
    failed = queue(dep, "k-f")
    waiting = queue(dep, "k-w", now=T0 + dt.timedelta(hours=1))
    sender_plugin.script.append(SendResult.failed("bad"))
    Deliverer(dep, clock=Clock()).run_once()
    with pytest.raises(MessageError):
        cancel_message(dep, failed, actor="cli:test")
    assert cancel_message(dep, waiting, actor="cli:test").state == "cancelled"
    assert retry_message(dep, failed, actor="cli:test", now=T0).state == "queued"
    with pytest.raises(MessageError):
        retry_message(dep, failed, actor="cli:test")  # queued already
    report = Deliverer(dep, clock=Clock(T0 + dt.timedelta(hours=2))).run_once()
    assert report.sent == 1
    assert [m.state for m in list_messages(dep.db)] == ["cancelled", "sent"]
    assert {r.action for r in audit.entries(dep.db)} >= {"message.retry", "message.cancel", "message.send"}


# -- personal data ----------------------------------------------------------------------------------


def test_erasure_finds_queued_and_sent_messages(dep, sender_plugin):
    sent = queue(dep, "k-sent", channel="sms", address="0912345678")
    Deliverer(dep, clock=Clock()).run_once()
    waiting = queue(dep, "k-wait", channel="sms", address="+84912345678")
    other = queue(dep, "k-other", channel="sms", address="0987654321")
    mail = queue(dep, "k-mail", address="lan.nguyen@gmail.com")
    found = privacy.erase_person(dep, phone="0912 345 678", dry_run=True)
    [item] = [i for r in found if r.plugin == "core" for i in r.items]
    assert item.count == 2 and "1 tin đang chờ sẽ bị hủy" in item.what
    privacy.erase_person(dep, phone="0912345678", actor="cli:test")
    for message_id in (sent, waiting):
        message = get_message(dep.db, message_id)
        assert message.address is None and message.params is None and message.erased_at
    assert get_message(dep.db, waiting).state == "cancelled"
    assert get_message(dep.db, sent).state == "sent"
    assert get_message(dep.db, other).address == "0987654321"
    privacy.erase_person(dep, email="Lan.Nguyen@GMAIL.com", actor="cli:test")
    assert get_message(dep.db, mail).address is None
    assert audit.entries(dep.db, action="privacy.erase")
    assert "0912345678" not in json.dumps([e.target for e in audit.entries(dep.db)])


def test_addresses_are_purged_after_the_retention(dep, sender_plugin):
    done = queue(dep, "k-old")
    Deliverer(dep, clock=Clock()).run_once()
    waiting = queue(dep, "k-new", now=T0 + dt.timedelta(days=40))
    assert not [i for r in privacy.purge_expired(dep, now=T0 + dt.timedelta(days=29), dry_run=True) for i in r.items
                if "tin nhắn" in i.what]
    results = privacy.purge_expired(dep, now=T0 + dt.timedelta(days=31), actor="cli:test")
    assert sum(i.count for r in results if r.plugin == "core" for i in r.items if "Tin nhắn" in i.what
               or "tin nhắn" in i.what) == 1
    assert get_message(dep.db, done).address is None
    assert get_message(dep.db, waiting).address == "vanthu@andung.ductho.gov.vn"  # not delivered yet: kept


# -- templates and settings ---------------------------------------------------------------------------


def test_sms_segments_count_ucs2_for_vietnamese():
    assert sms_segments("a" * 160).segments == 1
    assert sms_segments("a" * 161).segments == 2
    assert sms_segments("Đức Thọ").encoding == "UCS-2"
    assert sms_segments("ư" * 70).segments == 1
    assert sms_segments("ư" * 71).segments == 2
    assert sms_segments("ư" * 135).segments == 3
    assert sms_segments("{" * 80).units == 160
    assert sms_text("  Đức Thọ, Hà Tĩnh  \n", without_diacritics=True) == "Duc Tho, Ha Tinh"


def test_a_deployment_overrides_a_template(make_deployment, sender_plugin):
    available = {"scripted": AvailablePlugin(name="scripted", load=lambda: sender_plugin, version="1")}
    dep = make_deployment(plugins=("scripted",), available=available, messages={
        "channels": {"email": {"sender": "scripted"}},
        "templates": {"report_overdue": {"subject": "UBND huyện Đức Thọ nhắc: {unit_name} nộp báo cáo"}}})
    queue(dep, "k")
    Deliverer(dep, clock=Clock()).run_once()
    assert sender_plugin.sent[0].subject == "UBND huyện Đức Thọ nhắc: UBND xã An Dũng nộp báo cáo"


@pytest.mark.parametrize(("messages", "expected"), [
    ({"templates": {"report_overdue": {"sms": "{unit} chưa nộp"}}}, "messages.templates.report_overdue.sms: unknown parameter(s) {unit}"),
    ({"templates": {"nope": {"sms": "x"}}}, "messages.templates.nope: no such template"),
    ({"channels": {"email": {"sender": "carrier-pigeon"}}}, "messages.channels.email.sender: no sender 'carrier-pigeon'"),
    ({"channels": {"fax": {"sender": "folder"}}}, "messages.channels.fax: unknown channel"),
    ({"channels": {"email": {"sender": "scripted", "lable": "x"}}}, 'messages.channels.email.lable: unknown key for sender \'scripted\' (did you mean "label"?)'),
    ({"channels": {"sms": {"sender": "scripted", "rate_per_minute": 0}}}, "messages.channels.sms.rate_per_minute"),
    ({"delivery": "sometimes"}, "messages.delivery"),
    ({"retention_days": 0}, "messages.retention_days"),
    ({"daily_caps": {"otp": -1}}, "messages.daily_caps.otp"),
    ({"deliver": "server"}, 'messages.deliver: unknown key (did you mean "delivery"?)'),
])
def test_bad_messages_settings_name_the_key(make_deployment, sender_plugin, messages, expected):
    from ccch_core.config import ConfigError

    available = {"scripted": AvailablePlugin(name="scripted", load=lambda: sender_plugin, version="1")}
    with pytest.raises(ConfigError) as error:
        make_deployment(plugins=("scripted",), available=available, messages=messages)
    assert expected in str(error.value)


def test_a_gateways_reason_never_keeps_the_clear_address(dep, sender_plugin):
    mail = queue(dep, "k-550", address="VanThu@andung.ductho.gov.vn")
    sms = queue(dep, "k-sms", channel="sms", address="0912345678")
    sender_plugin.script.extend([
        SendResult.failed("550 5.1.1 <vanthu@andung.ductho.gov.vn>: Recipient address rejected"),
        SendResult.failed("CodeResult 99: số 84912345678 (0912345678) không nhận tin"),
    ])
    Deliverer(dep, clock=Clock()).run_once()
    assert get_message(dep.db, mail).last_error == "550 5.1.1 <V***@andung.ductho.gov.vn>: Recipient address rejected"
    assert get_message(dep.db, sms).last_error == "CodeResult 99: số 0912***678 (0912***678) không nhận tin"
    privacy.erase_person(dep, phone="0912345678", actor="cli:test")
    assert "0912345678" not in json.dumps([m.to_dict(reveal=True) for m in list_messages(dep.db)])


def test_counts_by_state_within_a_scope(dep, sender_plugin):
    from ccch_core.messages import counts_by_state

    queue(dep, "a", unit_id="xa-an-dung")
    queue(dep, "b", unit_id="xa-yen-ho")
    queue(dep, "c", unit_id="xa-an-dung", now=T0 + dt.timedelta(hours=1))
    Deliverer(dep, clock=Clock()).run_once()
    assert counts_by_state(dep.db) == {"sent": 2, "queued": 1}
    assert counts_by_state(dep.db, unit_ids=["xa-an-dung"]) == {"sent": 1, "queued": 1}
    assert counts_by_state(dep.db, unit_ids=[]) == {}


def test_the_deliverer_walks_the_queue_from_its_floor(dep, sender_plugin):
    """Queued messages enter no index: the deliverer walks the table from the lowest id that may
    still wait. A message that is not due yet holds the floor without holding up later ones; one
    put back below the floor (an officer's retry) is found by the periodic full rescan."""
    clock = Clock()
    deliverer = Deliverer(dep, clock=clock)
    first = queue(dep, "k1")
    sender_plugin.script.append(SendResult.retry("timeout", channel_down=False))
    deliverer.run_once()  # #1 now waits 30 s
    later = [queue(dep, f"k{i}") for i in (2, 3)]
    assert deliverer.run_once().sent == 2
    assert deliverer.queue_floor() == first  # still waiting: the floor stays on it
    clock.advance(60)
    assert deliverer.run_once().sent == 1
    assert deliverer.queue_floor() == later[-1] + 1
    dep.db.execute("update messages set state = 'failed' where id = ?", [first])
    dep.db.conn.commit()
    retry_message(dep, first, actor="cli:test", now=clock.now)
    assert deliverer.run_once().sent == 0  # below the floor: not seen until the rescan…
    deliverer.FLOOR_RESCAN_SECONDS = 0
    assert deliverer.run_once().sent == 1  # …which finds it
    assert Deliverer(dep, clock=clock).queue_floor() == later[-1] + 1  # a new deliverer scans at once


def test_an_sms_template_without_diacritics_sends_its_parameters_without_them(make_deployment):
    """The core's otp SMS is ASCII so that it costs one GSM-7 segment; an accented service name
    must not turn the whole text into UCS-2 (70 characters a segment)."""
    from ccch_core.messages.outbox import render_message

    dep = make_deployment(messages={"channels": {"sms": {"sender": "folder"}}})
    _, text, segments = render_message(dep.messaging, "sms", "otp",
                                       {"code": "065369", "minutes": "10", "service": "Cuộc thi tìm hiểu CCHC Đức Thọ"})
    assert text == "Ma xac nhan Cuoc thi tim hieu CCHC Duc Tho: 065369. Hieu luc 10 phut. Khong dua ma cho bat ky ai."
    assert segments == 1


# -- the hot path's hand-made pieces match what they replace ---------------------------------------


@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=60), max_size=6))
def test_the_parameters_json_is_what_json_dumps_writes(params):
    from ccch_core.messages.outbox import params_json

    assert params_json(params) == json.dumps(params, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(params_json(params)) == params


@pytest.mark.parametrize("now", [
    dt.datetime(2024, 3, 5, 1, 2, 3, 999_999, tzinfo=dt.UTC),
    dt.datetime(2024, 3, 5, 8, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=7))),
    dt.datetime(2024, 12, 31, 23, 59, 59, 500_000, tzinfo=dt.UTC),
])
def test_the_stamp_is_the_utc_second_whatever_the_zone(now):
    from ccch_core.messages.outbox import _stamp

    assert _stamp(now) == now.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    assert _stamp(now + dt.timedelta(seconds=1)) != _stamp(now)  # the cache follows the second


@pytest.mark.parametrize("key", ["has space", "k" * 201, "tab\tkey", "line\n", "dấu", "del\x7f", "nbsp\xa0x"])
def test_the_hot_paths_key_check_refuses_what_the_rule_refuses(dep, key):
    # 1–200 characters from \x21 to \x7e: the str-method check of the hot path, not a regex
    # (whose $ let a trailing newline through).
    with pytest.raises(MessageError) as error:
        queue(dep, key)
    assert error.value.field == "idempotency_key"
    assert dep.db.execute("select count(*) from messages").fetchone()[0] == 0


def test_the_hot_path_accepts_every_key_the_rule_allows(dep):
    keys = ["k" * 200, "".join(chr(c) for c in range(0x21, 0x7f)), "!"]
    ids = [queue(dep, key) for key in keys]
    assert len(set(ids)) == 3
    assert [get_message(dep.db, i).idempotency_key for i in ids] == keys


def test_the_hot_path_stores_parameters_as_the_general_path_does(dep):
    decomposed = "UBND xa\u0303 An Du\u0303ng"  # NFD: stored NFC
    first = queue(dep, "p1", params={**overdue(decomposed), "due_date": "05/04/2024"})
    assert json.loads(dep.db.execute("select params from messages where id = ?", [first]).fetchone()[0]) == overdue()
    # A value that is not text leaves the hot path for check_params, which writes it as text…
    second = queue(dep, "p2", params={**overdue(), "period_label": 3})
    assert get_message(dep.db, second).params["period_label"] == "3"
    # …or names it when it is missing.
    with pytest.raises(MessageError) as error:
        queue(dep, "p3", params={**overdue(), "period_label": None})
    assert error.value.field == "params.period_label"


@pytest.mark.parametrize(("given", "stored"), [
    ("0912345678", "0912345678"),           # the hot path's form, passed through
    ("0312345678", "0312345678"),
    ("+84912345678", "0912345678"),
    ("０９１２３４５６７８", None),             # full-width digits: isdigit() but not ASCII
    ("0112345678", None),                   # not a mobile prefix: the general check decides
])
def test_the_hot_paths_phone_check_agrees_with_normalise_phone(dep, given, stored):
    try:
        expected = privacy.normalise_phone(given)
    except privacy.PersonalDataError:
        expected = None
    if expected is None:
        with pytest.raises(MessageError):
            queue(dep, f"ph-{len(given)}", channel="sms", address=given)
        return
    assert expected == stored
    assert get_message(dep.db, queue(dep, "ph", channel="sms", address=given)).address == stored
