"""Exactly once to the gateway: a gateway that fails and recovers, and a deliverer killed with
SIGKILL between the gateway's answer and the outbox's update.

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


def test_each_message_costs_one_write_transaction_and_a_limit_claims_nothing_more(sms_deployment, fake):
    """The next message is claimed in the transaction that records the last one: a pass of five
    messages commits six write transactions (the first claim, then one a message), each message
    goes out once; a pass limited to two leaves the third queued, not claimed."""
    dep, keys = sms_deployment(5)
    deliverer = Deliverer(dep)
    statements = []
    dep.db.conn.set_trace_callback(statements.append)
    try:
        report = deliverer.run_once(limit=2)
    finally:
        dep.db.conn.set_trace_callback(None)
    assert report.sent == 2 and report.waiting == 3
    assert statements.count("BEGIN IMMEDIATE") == 3  # claim; record 1 + claim 2; record 2
    states = dict(dep.db.execute("select idempotency_key, state from messages").fetchall())
    assert [states[k] for k in keys] == ["sent", "sent", "queued", "queued", "queued"]
    statements.clear()
    dep.db.conn.set_trace_callback(statements.append)
    try:
        report = deliverer.run_once()
    finally:
        dep.db.conn.set_trace_callback(None)
    deliverer.close()
    assert report.sent == 3 and report.waiting == 0
    assert statements.count("BEGIN IMMEDIATE") == 4  # claim; (record + next claim) x 2; record + empty claim
    assert fake.accepted == set(keys) and sum(fake.keys.values()) == 5
    assert {s for (s,) in dep.db.execute("select state from messages")} == {"sent"}
    assert dep.db.execute("select count(*) from audit_log where action = 'message.send'").fetchone()[0] == 5


def ccch(config, *args):
    return [sys.executable, "-c", "from ccch_core.cli import main; main()", "--config", str(config), *args]


def test_a_deliverer_killed_mid_batch_repeats_at_most_the_message_in_flight(sms_deployment, fake, monkeypatch):
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
    assert states == {"sent": 11, "sending": 1, "queued": 18}
    fake.sms_answer = default_sms_answer
    restarted = subprocess.run(ccch(config, "messages", "send", "--json"), env=env, capture_output=True, text=True,
                               timeout=120, check=False)
    assert restarted.returncode == 0, restarted.stderr
    assert '"recovered": 1' in restarted.stdout and '"sent": 19' in restarted.stdout
    assert dep.db.execute("select count(*) from messages where state = 'sent'").fetchone()[0] == 30
    assert fake.accepted == set(keys)
    # Exactly one key reached the gateway twice, and the gateway recognised it.
    assert sum(fake.duplicates.values()) == 1
    assert max(fake.keys.values()) == 2
    [(repeated, _)] = fake.duplicates.items()
    message = dep.db.execute("select attempts, gateway_id from messages where idempotency_key = ?", [repeated]).fetchone()
    assert message == (2, fake.ids[repeated])
