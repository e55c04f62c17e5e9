"""Exactly once to the gateway: a gateway that fails and recovers, and a deliverer killed with
SIGKILL in the middle of a batch, between the gateway's answers and the outbox's update.

The gateway is the fake SMS brandname gateway of ``message_fakes`` on loopback; the sender is the
real ``http_sms`` sender; the deliverer that is killed is the real ``ccch messages send --loop`` in
its own process. The fake counts idempotency keys: a key it accepts a second time is a duplicate
the gateway itself recognised (and would not deliver twice).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from message_fakes import FakeGateway, default_sms_answer

from ccch_core.messages import get_message, queue_message
from ccch_core.messages.delivery import Deliverer

T0 = dt.datetime(2024, 4, 8, 1, 0, tzinfo=dt.UTC)


def sms_channel(fake, **extra):
    return {"sender": "http_sms", "url": fake.sms_url, "body": "json", "idempotency_header": "Idempotency-Key",
            "fields": {"Phone": "{phone}", "Content": "{text}", "Brandname": "{brandname}", "ApiKey": "{api_key}"},
            "api_key_env": "CCCH_TEST_SMS_KEY", "brandname": "UBND DUCTHO", "success_field": "CodeResult",
            "success_values": ["100"], "message_id_field": "SMSID", "timeout": 5, **extra}


@pytest.fixture
def fake():
    with FakeGateway() as gateway:
        yield gateway


@pytest.fixture
def sms_deployment(make_deployment, fake, monkeypatch):
    monkeypatch.setenv("CCCH_TEST_SMS_KEY", "khoa-bi-mat-123")

    def factory(count, **extra):
        dep = make_deployment(messages={"poll_seconds": 0.05, "channels": {"sms": sms_channel(fake, **extra)}})
        keys = []
        for i in range(count):
            key = f"test:otp:{i}"
            queue_message(dep, channel="sms", address=f"09123450{i:02d}", template="otp",
                          params={"code": f"{100000 + i}", "minutes": "5", "service": "Cuộc thi CCHC"},
                          idempotency_key=key)
            keys.append(key)
        return dep, keys

    return factory


class Clock:
    def __init__(self):
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self):
        return self.now


def test_a_gateway_that_fails_and_recovers_gets_every_message_exactly_once(sms_deployment, fake):
    dep, keys = sms_deployment(12)
    fake.fail_next(3, status=503)
    clock = Clock()
    deliverer = Deliverer(dep, clock=clock)
    rounds = 0
    while dep.db.execute("select count(*) from messages where state != 'sent'").fetchone()[0] and rounds < 50:
        deliverer.run_once()
        clock.now += dt.timedelta(minutes=10)  # past every message's and the channel's back-off
        rounds += 1
    deliverer.close()
    assert fake.accepted == set(keys)
    assert sum(fake.duplicates.values()) == 0
    assert sum(fake.keys.values()) == len(keys) + 3  # three refused attempts, each tried again once
    states = [get_message(dep.db, i).state for i in range(1, 13)]
    assert states == ["sent"] * 12
    first = fake.requests_to("/sms/send")[0]
    assert first.body["Brandname"] == "UBND DUCTHO" and first.body["ApiKey"] == "khoa-bi-mat-123"
    # The template's text is plain; a parameter keeps its diacritics unless the channel strips them.
    assert first.body["Content"] == "Ma xac nhan Cuoc thi CCHC: 100000. Hieu luc 5 phut. Khong dua ma cho bat ky ai."  # one GSM-7 segment
    assert get_message(dep.db, 1).gateway_id == fake.ids[keys[0]]


def test_an_outage_pauses_the_channel_and_loses_nothing(sms_deployment, fake):
    dep, _keys = sms_deployment(5)
    fake.fail_next(1, close=True)
    deliverer = Deliverer(dep)
    report = deliverer.run_once()
    assert report.retried == 1 and "sms" in report.paused_channels and report.waiting == 5
    assert sum(fake.keys.values()) == 1  # the other four were not thrown at a dead gateway
    deliverer.close()


def test_a_batch_of_messages_costs_one_write_transaction_and_a_limit_claims_nothing_more(sms_deployment, fake):
    """Up to Deliverer.BATCH messages are claimed in one write transaction and recorded (with the
    next batch's claim) in one more: a pass of 45 messages commits four write transactions where
    46 were needed before (one a message, and the first claim); a pass limited to two claims two and leaves the third queued."""
    dep, keys = sms_deployment(50)
    deliverer = Deliverer(dep)
    statements = []
    dep.db.conn.set_trace_callback(statements.append)
    try:
        report = deliverer.run_once(limit=2)
    finally:
        dep.db.conn.set_trace_callback(None)
    assert report.sent == 2 and report.waiting == 48
    assert statements.count("BEGIN IMMEDIATE") == 2  # claim 2; record 2 (the limit is reached: no claim)
    assert statements.count("COMMIT") == 2
    states = dict(dep.db.execute("select idempotency_key, state from messages").fetchall())
    assert [states[k] for k in keys[:4]] == ["sent", "sent", "queued", "queued"]
    sent_order = []
    send = deliverer.sender("sms").send
    deliverer.sender("sms").send = lambda message: (sent_order.append(message.id), send(message))[1]
    statements.clear()
    dep.db.conn.set_trace_callback(statements.append)
    try:
        report = deliverer.run_once(limit=45)
    finally:
        dep.db.conn.set_trace_callback(None)
    assert Deliverer.BATCH == 20
    assert report.sent == 45 and report.waiting == 3
    # Claim 20; record 20 + claim 20; record 20 + claim 5; record 5 (one a message: 46).
    assert statements.count("BEGIN IMMEDIATE") == 4
    statements.clear()
    dep.db.conn.set_trace_callback(statements.append)
    try:
        report = deliverer.run_once()
    finally:
        dep.db.conn.set_trace_callback(None)
    deliverer.close()
    # Claim 3; record 3 + a claim that finds nothing.
    assert report.sent == 3 and report.waiting == 0
    assert statements.count("BEGIN IMMEDIATE") == 2
    assert sent_order == list(range(3, 51))  # id order, each once
    assert fake.accepted == set(keys) and sum(fake.keys.values()) == 50
    assert {s for (s,) in dep.db.execute("select state from messages")} == {"sent"}
    assert dep.db.execute("select count(*) from audit_log where action = 'message.send'").fetchone()[0] == 50


def test_a_channel_paused_mid_batch_puts_its_unsent_messages_back_as_never_claimed(make_deployment, fake,
                                                                                    monkeypatch):
    """The second send of a batch finds the gateway down: the channel pauses, the three messages
    claimed after it are not thrown at the gateway but go back to queued with their attempt and
    their daily-cap count given back; once the pause is over they go out."""
    monkeypatch.setenv("CCCH_TEST_SMS_KEY", "khoa-bi-mat-123")
    dep = make_deployment(messages={"poll_seconds": 0.05, "daily_caps": {"otp": 100},
                                    "channels": {"sms": sms_channel(fake)}})
    keys = [f"test:otp:{i}" for i in range(5)]
    for i, key in enumerate(keys):
        queue_message(dep, channel="sms", address=f"09123450{i:02d}", template="otp", purpose="otp",
                      params={"code": f"{100000 + i}", "minutes": "5", "service": "Cuộc thi CCHC"},
                      idempotency_key=key)
    clock = Clock()
    deliverer = Deliverer(dep, clock=clock)
    send = deliverer.sender("sms").send
    calls = []

    def second_fails(message):
        calls.append(message.id)
        if len(calls) == 2:
            fake.fail_next(1, close=True)
        return send(message)

    deliverer.sender("sms").send = second_fails
    report = deliverer.run_once()
    assert report.sent == 1 and report.retried == 1 and "sms" in report.paused_channels and report.waiting == 4
    assert calls == [1, 2] and sum(fake.keys.values()) == 2
    rows = dep.db.execute("select id, state, attempts from messages order by id").fetchall()
    assert rows == [(1, "sent", 1), (2, "queued", 1), (3, "queued", 0), (4, "queued", 0), (5, "queued", 0)]
    assert dep.db.execute("select sum(count) from message_counts where purpose = 'otp'").fetchone()[0] == 2
    clock.now += dt.timedelta(minutes=10)  # past the channel's pause and #2's back-off
    report = deliverer.run_once()
    deliverer.close()
    assert report.sent == 4 and calls == [1, 2, 2, 3, 4, 5]  # id order
    assert fake.accepted == set(keys) and sum(fake.duplicates.values()) == 0
    assert dep.db.execute("select sum(count) from message_counts where purpose = 'otp'").fetchone()[0] == 6


def ccch(config, *args):
    return [sys.executable, "-c", "from ccch_core.cli import main; main()", "--config", str(config), *args]


def test_a_deliverer_killed_mid_batch_repeats_at_most_the_batch_in_flight(sms_deployment, fake, monkeypatch):
    dep, keys = sms_deployment(30)
    config = dep.config.path
    in_flight = threading.Event()
    accepted = []

    def slow_answer(gateway_id):
        accepted.append(gateway_id)
        if len(accepted) == 12:
            # The gateway has taken the 12th message; the deliverer dies before it hears so.
            in_flight.set()
            time.sleep(3)
        return default_sms_answer(gateway_id)

    fake.sms_answer = slow_answer
    env = {**os.environ, "CCCH_TEST_SMS_KEY": "khoa-bi-mat-123"}
    child = subprocess.Popen(ccch(config, "messages", "send", "--loop"), env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert in_flight.wait(60), child.stderr.read1().decode() if child.poll() is not None else "no 12th request"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    states = dict(dep.db.execute("select state, count(*) from messages group by state").fetchall())
    # The first batch (20 messages) was claimed; none of its outcomes was recorded.
    assert states == {"sending": 20, "queued": 10}
    fake.sms_answer = default_sms_answer
    restarted = subprocess.run(ccch(config, "messages", "send", "--json"), env=env, capture_output=True, text=True,
                               timeout=120, check=False)
    assert restarted.returncode == 0, restarted.stderr
    assert '"recovered": 20' in restarted.stdout and '"sent": 30' in restarted.stdout
    assert dep.db.execute("select count(*) from messages where state = 'sent'").fetchone()[0] == 30
    assert fake.accepted == set(keys)
    # The twelve keys the gateway had taken reached it twice, and it recognised each; the eight
    # claimed but not yet sent, and the ten never claimed, reached it once.
    assert set(fake.duplicates) == set(keys[:12]) and sum(fake.duplicates.values()) == 12
    assert [fake.keys[k] for k in keys] == [2] * 12 + [1] * 18
    attempts = dict(dep.db.execute("select idempotency_key, attempts from messages").fetchall())
    assert [attempts[k] for k in keys] == [2] * 20 + [1] * 10
    for repeated in keys[:12]:
        assert dep.db.execute("select gateway_id from messages where idempotency_key = ?",
                              [repeated]).fetchone()[0] == fake.ids[repeated]
