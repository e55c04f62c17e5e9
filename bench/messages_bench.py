"""Messages: what queueing adds to a caller's write transaction, and how fast the outbox drains.

1. **Queueing cost.** A registration-like write transaction (one insert into a table of the
   caller's, on the deployment's real SQLite file, WAL) is timed N times without and N times with
   ``queue_message`` inside it (an SMS one-time code: address and idempotency key checked, template
   parameters checked and written as JSON, the daily cap's cached read, one row in the outbox and
   its idempotency key's index). The difference per transaction is the cost queueing adds.
   Target: ≤ 50 µs.
2. **Delivery rate.** N messages queued, then ``ccch messages send`` (the real ``Deliverer``, one
   message claimed, sent and recorded at a time) drains them into a local fake SMS gateway that runs
   in its own process (tests/message_fakes.py, HTTP/1.1 keep-alive, as a real gateway would be
   reached), and into the development folder sender. Target: ≥ 200 messages/s to the fake.

    .venv/bin/python bench/messages_bench.py                    # 20,000 transactions, 3,000 messages
    .venv/bin/python bench/messages_bench.py --transactions 50000 --messages 5000

``--count bare|queued`` runs the same transactions untimed, for an instruction counter that load
cannot move (docs/performance.md, "Messages")::

    valgrind --tool=cachegrind --cache-sim=no .venv/bin/python bench/messages_bench.py --count queued --transactions 4000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # message_fakes: the fake gateway the tests use

from ccch_core.config import load_config
from ccch_core.deployment import Deployment
from ccch_core.messages import queue_message
from ccch_core.messages.delivery import Deliverer
from ccch_core.storage import write_transaction

PLAN = ROOT / "examples" / "duc-tho-2024" / "plan.toml"


def make_deployment(folder: Path, channels: dict[str, str]) -> Deployment:
    folder.mkdir(parents=True)
    (folder / "plan.toml").write_bytes(PLAN.read_bytes())
    lines = ['[deployment]', 'plan = "plan.toml"', 'database = "ccch.db"', "", "[messages]",
             "[messages.daily_caps]", "otp = 10000000", ""]
    for channel, body in channels.items():
        lines += [f"[messages.channels.{channel}]", body, ""]
    (folder / "ccch.toml").write_text("\n".join(lines), encoding="utf-8")
    deployment = Deployment(load_config(folder / "ccch.toml"))
    deployment.migrate()
    deployment.db.execute("create table registrations (id integer primary key, phone_hash text, at text)")
    deployment.db.conn.commit()
    return deployment


def time_transactions(deployment: Deployment, n: int, with_message: bool, offset: int) -> list[float]:
    db = deployment.db
    now = dt.datetime.now(dt.UTC)
    times = []
    for i in range(offset, offset + n):
        start = time.perf_counter()
        with write_transaction(db):
            db.conn.execute("insert into registrations (phone_hash, at) values (?, ?)", (f"h{i}", "2024-06-01"))
            if with_message:
                queue_message(deployment, channel="sms", address=f"09{i % 100_000_000:08d}", template="otp",
                              params={"code": f"{i % 1_000_000:06d}", "minutes": "5", "service": "Cuộc thi CCHC"},
                              idempotency_key=f"bench:otp:{i}", source="bench", now=now)
        times.append(time.perf_counter() - start)
    return times


def bench_queueing(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        deployment = make_deployment(Path(tmp) / "d", {"sms": 'sender = "folder"'})
        time_transactions(deployment, 500, True, 10_000_000)  # warm up the caches and the code
        time_transactions(deployment, 500, False, 20_000_000)
        # Interleave blocks so that drift of the machine hits both sides alike. CPU time (of this
        # process) per block as well as wall time per transaction: on a shared machine the CPU time
        # is the steadier figure of what queueing costs.
        bare, queued = [], []
        cpu_bare = cpu_queued = 0.0
        block = 1000
        for b in range(0, n, block):
            start = time.process_time()
            bare += time_transactions(deployment, block, False, b)
            middle = time.process_time()
            queued += time_transactions(deployment, block, True, b)
            cpu_bare += middle - start
            cpu_queued += time.process_time() - middle
        deployment.close()
    median_bare = statistics.median(bare) * 1e6
    median_queued = statistics.median(queued) * 1e6
    # The steadiest figure on a shared machine: the best block's median on each side (as timeit
    # takes the best of its repeats: load only ever adds time).
    best_bare = min(statistics.median(bare[b:b + block]) for b in range(0, len(bare), block)) * 1e6
    best_queued = min(statistics.median(queued[b:b + block]) for b in range(0, len(queued), block)) * 1e6
    return {"bare_us": median_bare, "queued_us": median_queued, "added_us": median_queued - median_bare,
            "best_bare_us": best_bare, "best_added_us": best_queued - best_bare,
            "cpu_added_us": (cpu_queued - cpu_bare) / len(bare) * 1e6, "cpu_bare_us": cpu_bare / len(bare) * 1e6}


def count_transactions(kind: str, n: int) -> None:
    """``n`` transactions of ``kind`` (``bare`` or ``queued``), after the same warm-up as
    :func:`bench_queueing` and untimed: run under cachegrind for each kind and for ``n = 0``, the
    difference of the instruction counts over ``n`` is what queueing adds to a transaction."""
    with tempfile.TemporaryDirectory() as tmp:
        deployment = make_deployment(Path(tmp) / "d", {"sms": 'sender = "folder"'})
        time_transactions(deployment, 500, True, 10_000_000)
        time_transactions(deployment, 500, False, 20_000_000)
        time_transactions(deployment, n, kind == "queued", 0)
        deployment.close()


def bench_delivery(n: int, sender: str) -> dict[str, float]:
    from message_fakes import FakeGatewayProcess

    with tempfile.TemporaryDirectory() as tmp:
        fake = None
        if sender == "http_sms":
            fake = FakeGatewayProcess(Path(tmp) / "fake-state").start()
            body = (f'sender = "http_sms"\nurl = "{fake.sms_url}"\nidempotency_header = "Idempotency-Key"\n'
                    'success_field = "CodeResult"\nsuccess_values = ["100"]\nmessage_id_field = "SMSID"\n'
                    'fields = { Phone = "{phone}", Content = "{text}", Brandname = "UBND DUCTHO" }')
        else:
            body = 'sender = "folder"'
        deployment = make_deployment(Path(tmp) / "d", {"sms": body})
        with write_transaction(deployment.db):
            for i in range(n):
                queue_message(deployment, channel="sms", address=f"09{i:08d}", template="otp",
                              params={"code": f"{i:06d}", "minutes": "5", "service": "Cuộc thi CCHC"},
                              idempotency_key=f"bench:deliver:{i}")
        deliverer = Deliverer(deployment)
        start = time.perf_counter()
        report = deliverer.run_once()
        elapsed = time.perf_counter() - start
        deliverer.close()
        accepted = len(fake.stats()["accepted"]) if fake else report.sent
        if fake:
            fake.stop()
        deployment.close()
    if report.sent != n or accepted != n:
        raise SystemExit(f"{sender}: sent {report.sent}, gateway accepted {accepted}, expected {n}")
    return {"messages": n, "seconds": elapsed, "per_second": n / elapsed}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=3_000)
    parser.add_argument("--count", choices=("bare", "queued"),
                        help="only run --transactions transactions of this kind, untimed (for cachegrind)")
    args = parser.parse_args(argv)
    if args.count:
        count_transactions(args.count, args.transactions)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {__import__('sqlite3').sqlite_version}")
    q = bench_queueing(args.transactions)
    print(f"queueing: {args.transactions} transactions each way; median {q['bare_us']:.1f} µs without a message, "
          f"{q['queued_us']:.1f} µs with one: queueing adds {q['added_us']:.1f} µs of wall time; "
          f"CPU {q['cpu_bare_us']:.1f} µs a bare transaction, +{q['cpu_added_us']:.1f} µs with a message; "
          f"best block: {q['best_bare_us']:.1f} µs bare, +{q['best_added_us']:.1f} µs with a message; "
          f"target ≤ 50 µs: ratio {q['added_us'] / 50:.2f} of the budget (median), "
          f"{q['best_added_us'] / 50:.2f} (best block), {q['cpu_added_us'] / 50:.2f} (CPU)")
    for sender in ("http_sms", "folder"):
        d = bench_delivery(args.messages, sender)
        target = f"; target ≥ 200/s: {d['per_second'] / 200:.1f}× the target" if sender == "http_sms" else ""
        print(f"delivery ({sender}): {d['messages']} messages in {d['seconds']:.2f} s = {d['per_second']:.0f}/s{target}")


if __name__ == "__main__":
    main()
