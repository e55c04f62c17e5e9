"""Delivery: claim due messages a batch at a time, hand each to its channel's sender, record the results.

Exactly once to the gateway, as far as the gateway allows:

1. *claim*: one write transaction moves up to :attr:`Deliverer.BATCH` due messages, oldest first,
   from ``queued`` to ``sending``, counting each one's attempt (and its channel's rate and its
   purpose's daily cap) and writing who claimed it (host and process). Only one deliverer can
   claim a message.
2. *send*: outside any transaction, one by one in id order, the sender gets each message with its
   idempotency key (an ``Idempotency-Key`` header, the ZNS ``tracking_id``, the e-mail's
   ``Message-ID``). A send that pauses its channel (``channel_down``) stops that channel for the
   rest of the batch: its claimed messages not yet sent go back to ``queued`` unattempted.
3. *record*: one write transaction writes every outcome of the batch — ``sent`` (with an audit row,
   without the body), ``queued`` again later (transient failure, exponential back-off per message
   and per channel), or ``failed`` with the gateway's reason — and claims the next batch.

A deliverer killed between 1 and 3 leaves the batch's messages in ``sending``. The next deliverer
on the same host sees that the claiming process is gone (or, from another host, that
``sending_timeout_seconds`` passed) and queues them again: each is sent once more with the same
idempotency key, which the gateway recognises. A crash repeats at most one batch's messages.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from .. import audit, ratelimit
from ..storage import lock_beside_database, utc_now_iso, write_transaction
from .base import OutgoingMessage, SenderConfigError, SenderContext, SendResult
from .outbox import _COUNT, Messaging, mask_in_text, render_message, vietnam_day

log = logging.getLogger("ccch.messages")

MESSAGE_BACKOFF_SECONDS = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)
"""Wait after the 1st, 2nd… transient failure of a message (then 6 hours), ±20 %."""
CHANNEL_BACKOFF_SECONDS = (5, 15, 60, 300, 900)
"""A channel whose gateway is down pauses 5 s, then 15 s, 1 min, 5 min, then 15 min."""


RATE_BUCKET = "messages.rate"
"""The rate_limits bucket of the channels' ``rate_per_minute`` (key: the channel)."""


def message_backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next try of a message that failed ``attempts`` times (jittered ±20 %)."""
    base = MESSAGE_BACKOFF_SECONDS[min(attempts, len(MESSAGE_BACKOFF_SECONDS)) - 1]
    return base * (0.8 + 0.4 * (rng or random).random())


def channel_backoff(failures: int) -> float:
    """Seconds a channel pauses after ``failures`` failures of its gateway in a row."""
    return float(CHANNEL_BACKOFF_SECONDS[min(failures, len(CHANNEL_BACKOFF_SECONDS)) - 1])


class DelivererBusy(RuntimeError):
    """Another deliverer of the same deployment runs on this machine (only one at a time: a
    sender's state, such as Zalo's single-use refresh token, must not be raced)."""


def worker_id() -> str:
    """Who claims a message: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class DbSenderState:
    """Small persistent values of one channel's sender (table ``message_sender_state``)."""

    def __init__(self, deployment, channel: str):
        self.deployment = deployment
        self.channel = channel

    def get(self, key: str) -> str | None:
        row = self.deployment.db.execute("select value from message_sender_state where channel = ? and key = ?",
                                         [self.channel, key]).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str) -> None:
        with write_transaction(self.deployment.db) as db:
            db.execute("insert into message_sender_state (channel, key, value, updated_at) values (?, ?, ?, ?) "
                       "on conflict (channel, key) do update set value = excluded.value, "
                       "updated_at = excluded.updated_at", [self.channel, key, value, utc_now_iso()])


@attrs.define
class DeliveryReport:
    """What one pass (``ccch messages send``) did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    recovered: int = 0
    paused_channels: dict[str, str] = attrs.field(factory=dict)
    """Channels skipped because their gateway is backing off → until when (UTC ISO)."""
    waiting: int = 0
    """Messages still queued after the pass (due later, or on a paused channel)."""

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


class Deliverer:
    """Delivers a deployment's due messages. One per process; senders are built on first use and
    kept (with their open connections) until :meth:`close`."""

    def __init__(self, deployment, *, clock: Callable[[], dt.datetime] | None = None,
                 rng: random.Random | None = None):
        self.deployment = deployment
        self.messaging: Messaging = deployment.messaging
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.rng = rng or random.Random()
        self.me = worker_id()
        self._senders: dict[str, Any] = {}
        self._lock_fd: int | None = None
        self._floor: int | None = None
        self._floor_at = 0.0

    # -- one deliverer at a time ------------------------------------------------------------------

    def acquire(self, *, wait: bool = False) -> None:
        """Take the deployment's deliverer lock (a file next to the database), or raise
        :class:`DelivererBusy` (``wait``: block until it is free). The kernel releases it when
        the process dies, however it dies."""
        if self._lock_fd is not None:
            return
        try:
            self._lock_fd = lock_beside_database(self.deployment.config.database_path, "deliver-lock", wait=wait)
        except BlockingIOError:
            raise DelivererBusy("another `ccch messages send` (or the server's deliverer) is delivering this "
                                "deployment's messages") from None

    def release(self) -> None:
        """Let go of the deliverer lock."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- senders ----------------------------------------------------------------------------------

    def sender(self, channel: str):
        """The channel's sender, built from its settings on first use."""
        sender = self._senders.get(channel)
        if sender is None:
            table = self.messaging.settings.channels[channel]
            kind = self.messaging.sender_kinds[table.sender]
            config = self.deployment.config
            context = SenderContext(channel=channel, settings=table.options, folder=config.folder,
                                    state=DbSenderState(self.deployment, channel),
                                    where=f"{config.path or 'ccch.toml'}: messages.channels.{channel}")
            sender = self._senders[channel] = kind.create(context)
        return sender

    def check_senders(self) -> list[str]:
        """Build every configured sender; returns the settings problems (empty when all are fine)."""
        problems = []
        for channel in self.messaging.channels():
            try:
                self.sender(channel)
            except SenderConfigError as exc:
                problems.append(str(exc))
        return problems

    def close(self) -> None:
        """Close every sender's connections and release the deliverer lock."""
        self.release()
        for sender in self._senders.values():
            close = getattr(sender, "close", None)
            if close:
                try:
                    close()
                except Exception:
                    log.debug("closing a sender failed", exc_info=True)
        self._senders.clear()

    # -- the state machine ----------------------------------------------------------------------------

    def recover(self) -> int:
        """Queue again the messages left in ``sending`` by a deliverer that died (same host: its
        process is gone; any host: ``sending_timeout_seconds`` passed). Returns how many."""
        now = self.clock()
        host = self.me.rsplit(":", 1)[0]
        lease = utc_now_iso(now - dt.timedelta(seconds=self.messaging.settings.sending_timeout_seconds))
        rows = self.deployment.db.execute(
            "select id, claimed_by, claimed_at from messages where state = 'sending'").fetchall()
        stale = []
        for message_id, claimed_by, claimed_at in rows:
            claim_host, _, pid = (claimed_by or "").rpartition(":")
            dead = claim_host == host and pid.isdigit() and claimed_by != self.me and not _process_alive(int(pid))
            if dead or (claimed_at or "") < lease:
                stale.append(message_id)
        if not stale:
            return 0
        with write_transaction(self.deployment.db) as db:
            for message_id in stale:
                db.execute("update messages set state = 'queued', next_attempt_at = ? "
                           "where id = ? and state = 'sending'", [utc_now_iso(now), message_id])
        log.warning("requeued %d message(s) left in sending by a stopped deliverer", len(stale))
        return len(stale)

    def paused_channels(self) -> dict[str, str]:
        """Channels backing off after gateway failures → until when."""
        now = utc_now_iso(self.clock())
        return dict(self.deployment.db.execute(
            "select channel, paused_until from message_channels where paused_until > ?", [now]).fetchall())

    def _rate(self, channel: str) -> ratelimit.Limit | None:
        per_minute = self.messaging.settings.channels[channel].rate_per_minute
        return ratelimit.Limit(per_minute, 60) if per_minute else None

    def _rate_ok(self, channel: str) -> bool:
        """Whether the channel's ``rate_per_minute`` leaves room this minute (counted over every
        deliverer in ``rate_limits``, one point read)."""
        limit = self._rate(channel)
        if limit is None:
            return True
        return ratelimit.peek(self.deployment.db, RATE_BUCKET, channel, limit, self.clock()).count < limit.count

    # -- where the queue starts ----------------------------------------------------------------------
    #
    # A queued message enters no index but the table's and its idempotency key's (queueing is on
    # hot paths). The deliverer finds due messages by walking the table in id order from a floor:
    # the lowest id that may still be queued or sending. New messages always get higher ids, so
    # they are above it; the floor rises as messages are sent. A message put back in the queue
    # below the floor (an officer's "send again", another host's stale claim) is found by the full
    # scan that recomputes the floor every FLOOR_RESCAN_SECONDS, and at once by a new deliverer.

    FLOOR_RESCAN_SECONDS = 30.0

    def queue_floor(self) -> int:
        """The lowest id that may be queued or sending (recomputed by a full scan now and then)."""
        db = self.deployment.db
        clock = time.monotonic()
        if self._floor is None or clock - self._floor_at >= self.FLOOR_RESCAN_SECONDS:
            low = db.execute("select min(id) from messages where state in ('queued', 'sending')").fetchone()[0]
            self._floor_at = clock
        else:
            low = db.execute("select min(id) from messages where id >= ? and state in ('queued', 'sending')",
                             [self._floor]).fetchone()[0]
        if low is None:  # nothing waits: the next message will have a higher id than any now
            low = (db.execute("select max(id) from messages").fetchone()[0] or 0) + 1
        self._floor = low
        return low

    def claim(self, channels: Iterable[str], *, start: int | None = None) -> dict[str, Any] | None:
        """Move the first due message of ``channels`` (in id order, from ``start`` or the queue's
        floor) to ``sending``; returns its row or None."""
        channels = list(channels)
        if not channels:
            return None
        start = self.queue_floor() if start is None else start
        with write_transaction(self.deployment.db) as db:
            return self._claim_in(db, channels, start)

    def _claim_in(self, db, channels: list[str], start: int) -> dict[str, Any] | None:
        """:meth:`claim`'s work inside the caller's write transaction."""
        if not channels:
            return None
        now = utc_now_iso(self.clock())
        marks = ", ".join("?" * len(channels))
        cursor = db.conn.execute(
            "update messages set state = 'sending', attempts = attempts + 1, claimed_at = ?, claimed_by = ? "
            "where id = (select id from messages where id >= ? and state = 'queued' and next_attempt_at <= ? "
            f"and channel in ({marks}) order by id limit 1) and state = 'queued' "
            "returning *", [now, self.me, start, now, *channels])
        row = cursor.fetchone()
        if row is None:
            return None
        claimed = dict(zip([d[0] for d in cursor.description], row, strict=True))
        limit = self._rate(claimed["channel"])
        if limit is not None:  # every attempt at the gateway counts against the channel's rate
            ratelimit.hit(db, RATE_BUCKET, claimed["channel"], limit, self.clock())
        cap = self.messaging.daily_cap(claimed["purpose"])
        if cap is not None:
            # The daily cap is counted and enforced here, where money is spent: every attempt
            # at the gateway counts, and past the cap the message is not sent at all.
            claimed["cap_day"] = day = vietnam_day(self.clock())
            used = db.conn.execute(_COUNT, (day, claimed["purpose"])).fetchone()[0]
            self.messaging.forget_cap_read(claimed["purpose"])  # queueing in this process reads it anew
            if used > cap:
                reason = (f"vượt hạn mức {cap} tin nhắn một ngày của mục đích {claimed['purpose']} "
                          "([messages.daily_caps]); không gửi")
                db.execute("update messages set state = 'failed', failed_at = ?, last_error = ? where id = ?",
                           [now, reason, claimed["id"]])
                claimed["capped"] = True
        return claimed

    def deliver_one(self, row: dict[str, Any]) -> SendResult:
        """Render and send one claimed message, then record what happened."""
        result, segments = self._send(row)
        self.record(row, result, segments)
        return result

    def _send(self, row: dict[str, Any]) -> tuple[SendResult, int | None]:
        """Render and send one claimed message (no transaction): its outcome and SMS segments."""
        params = json.loads(row["params"])
        segments = None
        try:
            subject, text, segments = render_message(self.messaging, row["channel"], row["template"], params)
            table = self.messaging.settings.channels[row["channel"]]
            if segments is not None and table.max_segments and segments > table.max_segments:
                result = SendResult.failed(f"tin nhắn dài {segments} tin SMS, quá giới hạn {table.max_segments} "
                                           "(max_segments)")
            else:
                message = OutgoingMessage(id=row["id"], channel=row["channel"], address=row["address"],
                                          purpose=row["purpose"], template=row["template"], params=params,
                                          idempotency_key=row["idempotency_key"], text=text, subject=subject,
                                          attempt=row["attempts"])
                result = self.sender(row["channel"]).send(message)
        except SenderConfigError as exc:
            result = SendResult.retry(f"cấu hình gửi sai: {exc}", channel_down=True)
        except Exception as exc:
            log.exception("sender of %s raised on message #%s", row["channel"], row["id"])
            result = SendResult.retry(f"{type(exc).__name__}: {exc}", channel_down=True)
        return result, segments

    def record(self, row: dict[str, Any], result: SendResult, segments: int | None = None) -> SendResult:
        """Write a send's outcome (and, on success, its audit row) in one transaction; returns the
        outcome as recorded (its reason masked)."""
        now = self.clock()
        with write_transaction(self.deployment.db) as db:
            result = self._record_in(db, row, result, segments, now)
        self._log_outcome(row, result)
        return result

    def _record_in(self, db, row: dict[str, Any], result: SendResult, segments: int | None,
                   now: dt.datetime) -> SendResult:
        """:meth:`record`'s writes inside the caller's write transaction; returns the outcome as
        recorded (its reason masked)."""
        at = utc_now_iso(now)
        channel = row["channel"]
        if result.reason:
            result = attrs.evolve(result, reason=mask_in_text(result.reason, channel, row["address"]))
        if result.outcome == "sent":
            db.execute("update messages set state = 'sent', sent_at = ?, gateway_id = ?, segments = ?, "
                       "last_error = null where id = ? and state = 'sending'",
                       [at, result.gateway_id, segments, row["id"]])
            db.execute("update message_channels set failures = 0, paused_until = null where channel = ? "
                       "and failures > 0", [channel])
            audit.record(db, None, "message.send", f"Tin nhắn #{row['id']} ({channel}, {row['address_masked']})",
                         f"{row['purpose']}: mẫu {row['template']}, lần thử {row['attempts']}",
                         label="Gửi tin nhắn", now=now)
        elif result.outcome == "retry" and row["attempts"] < self.messaging.settings.max_attempts:
            wait = max(message_backoff(row["attempts"], self.rng), result.retry_after or 0)
            db.execute("update messages set state = 'queued', next_attempt_at = ?, last_error = ? "
                       "where id = ? and state = 'sending'",
                       [utc_now_iso(now + dt.timedelta(seconds=wait)), result.reason, row["id"]])
        else:
            reason = result.reason or "không rõ lý do"
            if result.outcome == "retry":
                reason = f"hết {row['attempts']} lần thử; lần cuối: {reason}"
            db.execute("update messages set state = 'failed', failed_at = ?, last_error = ? "
                       "where id = ? and state = 'sending'", [at, reason, row["id"]])
        if result.outcome == "retry" and result.channel_down:
            failures = db.execute(
                "insert into message_channels (channel, failures, paused_until, last_error) values (?, 1, ?, ?) "
                "on conflict (channel) do update set failures = failures + 1, last_error = excluded.last_error "
                "returning failures", [channel, at, result.reason]).fetchone()[0]
            pause = max(channel_backoff(failures), result.retry_after or 0)
            db.execute("update message_channels set paused_until = ? where channel = ?",
                       [utc_now_iso(now + dt.timedelta(seconds=pause)), channel])
        return result

    @staticmethod
    def _log_outcome(row: dict[str, Any], result: SendResult) -> None:
        if result.outcome == "sent":
            log.info("sent message #%s (%s, %s, %s)", row["id"], row["channel"], row["address_masked"],
                     row["purpose"])
        else:
            log.warning("message #%s (%s, %s): %s: %s", row["id"], row["channel"], row["address_masked"],
                        result.outcome, result.reason)

    def _put_back(self, db, rows: list[dict[str, Any]]) -> None:
        """Queue again, as if never claimed, messages claimed but not sent (their channel paused
        earlier in the batch): the attempt and the daily-cap count taken at the claim are given
        back. The channel's rate-limit hit is not: the channel is paused for at least
        CHANNEL_BACKOFF_SECONDS[0] anyway, and the hit only ages out with its minute."""
        for row in rows:
            db.execute("update messages set state = 'queued', attempts = attempts - 1 "
                       "where id = ? and state = 'sending'", [row["id"]])
            if row.get("cap_day") is not None:
                db.execute("update message_counts set count = count - 1 where day = ? and purpose = ? and count > 0",
                           [row["cap_day"], row["purpose"]])

    def run_once(self, *, limit: int | None = None, channels: Iterable[str] | None = None) -> DeliveryReport:
        """Deliver what is due now (at most ``limit`` messages) and return what happened.
        :class:`DelivererBusy` when another deliverer of the deployment runs."""
        held = self._lock_fd is not None
        self.acquire()
        try:
            return self._run_once(limit, channels)
        finally:
            if not held:
                self.release()

    BATCH = 20
    """Messages claimed in one write transaction (and recorded, with the next batch's claim, in one
    more). The deployment has one write lock, which the web workers' transactions wait for: a
    transaction a message made a busy deliverer take it as often as the workers did. Twenty
    spares ~95 % of those transactions while bounding what a crash repeats (each with its
    idempotency key) and how long a claim stays in ``sending``: a gateway that times out pauses
    its channel, so the rest of the batch does not wait on it, and twenty answered sends stay well
    within ``sending_timeout_seconds`` (300 s by default)."""

    def _claim_batch_in(self, db, wanted: list[str], start: int, count: int) -> list[dict[str, Any]]:
        """Claim up to ``count`` due messages of the ``wanted`` channels not paused, in id order
        from ``start``, each within its channel's rate, inside the caller's write transaction."""
        paused = self.paused_channels()
        channels = [c for c in wanted if c not in paused]
        rows: list[dict[str, Any]] = []
        while len(rows) < count:
            # Each claim counts against its channel's rate, so the rate is read again each time.
            row = self._claim_in(db, [c for c in channels if self._rate_ok(c)], start)
            if row is None:
                break
            rows.append(row)
            start = row["id"] + 1
        return rows

    def _run_once(self, limit: int | None, channels: Iterable[str] | None) -> DeliveryReport:
        report = DeliveryReport(recovered=self.recover())
        wanted = [c for c in (channels or self.messaging.channels()) if self.messaging.available(c)]
        done = 0
        if report.recovered:
            self._floor = None  # requeued messages may lie below the floor
        start = self.queue_floor()

        def batch_size() -> int:
            return self.BATCH if limit is None else min(self.BATCH, limit - done)

        rows: list[dict[str, Any]] = []
        if batch_size() > 0:
            with write_transaction(self.deployment.db) as db:
                rows = self._claim_batch_in(db, wanted, start, batch_size())
        while rows:
            # Within a pass, go on from the last claimed message: what lies before it was sent, is
            # not due yet, or waits on a paused channel (the next pass looks again from the floor).
            start = rows[-1]["id"] + 1
            outcomes: list[tuple[dict[str, Any], SendResult, int | None, dt.datetime]] = []
            down: set[str] = set()
            back: list[dict[str, Any]] = []
            for row in rows:
                if row.get("capped"):
                    report.failed += 1
                    done += 1
                elif row["channel"] in down:
                    back.append(row)  # its gateway just failed: not thrown at it again
                else:
                    result, segments = self._send(row)
                    outcomes.append((row, result, segments, self.clock()))
                    if result.outcome == "retry" and result.channel_down:
                        down.add(row["channel"])
                    done += 1
            with write_transaction(self.deployment.db) as db:
                recorded = [self._record_in(db, row, result, segments, at) for row, result, segments, at in outcomes]
                self._put_back(db, back)
                # The next batch is claimed after this one's outcomes (which may pause a channel).
                rows = self._claim_batch_in(db, wanted, start, batch_size()) if batch_size() > 0 else []
            for (row, _result, _segments, _at), result in zip(outcomes, recorded, strict=True):
                self._log_outcome(row, result)
                if result.outcome == "sent":
                    report.sent += 1
                elif result.outcome == "retry":
                    report.retried += 1
                else:
                    report.failed += 1
        report.paused_channels = self.paused_channels()
        report.waiting = self.deployment.db.execute(
            "select count(*) from messages where id >= ? and state = 'queued'", [self.queue_floor()]).fetchone()[0]
        return report

    def run_forever(self, *, stop: Callable[[], bool] = lambda: False) -> None:
        """Deliver until ``stop()`` is true, sleeping ``poll_seconds`` when nothing is due. When
        another deliverer runs, wait (checking ``stop()``) until it stops, then take over."""
        poll = self.messaging.settings.poll_seconds
        waiting_said = False
        while not stop():
            try:
                self.acquire()
                break
            except DelivererBusy:
                if not waiting_said:
                    log.warning("another deliverer runs for this deployment; waiting to take over")
                    waiting_said = True
                time.sleep(poll)
        try:
            while not stop():
                try:
                    report = self.run_once()
                except Exception:
                    log.exception("a delivery pass failed; trying again in %s s", poll)
                    report = None
                if report is None or (report.sent + report.retried + report.failed) == 0:
                    time.sleep(poll)
        finally:
            self.close()
