"""Rate limits shared by every worker process: fixed windows counted in SQLite.

A counter row per (bucket, key, window). Counting costs one upsert, so call :func:`hit` inside
the request's own write transaction where there is one (a survey answer, a contest submission) —
it then adds no transaction of its own. Keys should be hashed client addresses or account ids,
never clear personal data. Old windows are deleted now and then by :func:`prune`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import sqlite3

import attrs
from sqlite_utils import Database

from .storage import write_transaction

__all__ = [
    "Decision",
    "Limit",
    "client_network",
    "hit",
    "peek",
]


def client_network(address: str | None) -> str:
    """What one visitor's address counts as in rate limits and flags: an IPv4 address itself; for
    IPv6, its /64 network, since a subscriber is given a whole /64 and can take a new address in it
    for every request; an IPv4-mapped IPv6 address as its IPv4 address. Anything else is kept as it is."""
    if not address or ":" not in address:
        return address or "?"
    try:
        ip = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))


@attrs.frozen
class Limit:
    """At most ``count`` hits per ``seconds`` for one key of a bucket."""

    count: int
    seconds: int


@attrs.frozen
class Decision:
    """Whether the hit is allowed, and if not how long to wait (seconds)."""

    allowed: bool
    retry_after: int = 0
    count: int = 0
    """The key's count in this window, this hit included: a caller may act on a lower threshold
    than the limit (flag rather than refuse) without a second counter."""


def hit(db: Database, bucket: str, key: str, limit: Limit, now: dt.datetime | None = None, *,
        cost: int = 1) -> Decision:
    """Count one hit and say whether it is within the limit (the hit is counted either way).

    ``cost`` counts the hit as that many (at least 1): a request that is more suspicious than
    others, such as a look-up of a code that does not exist, uses up the limit faster.
    Runs in the caller's transaction if one is open, else in its own short one.
    """
    cost = max(1, int(cost))
    now = now or dt.datetime.now(dt.UTC)
    epoch = int(now.timestamp())
    window = epoch - epoch % limit.seconds
    if db.conn.in_transaction:
        # Single statements need no savepoint of their own: each is atomic, and a failure rolls
        # back the caller's transaction anyway.
        count = _count_hit(db, bucket, key, window, now, cost)
    else:
        with write_transaction(db):
            count = _count_hit(db, bucket, key, window, now, cost)
    if count > limit.count:
        return Decision(False, window + limit.seconds - epoch, count)
    return Decision(True, 0, count)


def peek(db: Database, bucket: str, key: str, limit: Limit, now: dt.datetime | None = None) -> Decision:
    """Whether ``key`` is within the limit now, without counting a hit: one read, no write. For a
    request that is not itself what the limit counts but must be refused while its key is over it
    (an address that looked up too many unknown survey codes is refused known ones too)."""
    now = now or dt.datetime.now(dt.UTC)
    epoch = int(now.timestamp())
    window = epoch - epoch % limit.seconds
    row = db.execute("select count from rate_limits where bucket = ? and key = ? and window = ?",
                     [bucket, key, window]).fetchone()
    count = row[0] if row else 0
    if count > limit.count:
        return Decision(False, window + limit.seconds - epoch, count)
    return Decision(True, 0, count)


_UPSERT = ("insert into rate_limits (bucket, key, window, count) values (?, ?, ?, ?) "
           "on conflict (bucket, key, window) do update set count = count + excluded.count")
_RETURNING = sqlite3.sqlite_version_info >= (3, 35)


def _count_hit(db: Database, bucket: str, key: str, window: int, now: dt.datetime, cost: int = 1) -> int:
    if _RETURNING:  # the count in the same statement (SQLite 3.35+)
        count = db.conn.execute(_UPSERT + " returning count", [bucket, key, window, cost]).fetchone()[0]
    else:
        db.conn.execute(_UPSERT, [bucket, key, window, cost])
        count = db.conn.execute("select count from rate_limits where bucket = ? and key = ? and window = ?",
                                [bucket, key, window]).fetchone()[0]
    if count == cost and int(now.timestamp()) % 64 == 0:  # now and then, in the same transaction
        prune(db, now)
    return count


def prune(db: Database, now: dt.datetime | None = None, keep_seconds: int = 86_400) -> None:
    """Delete counters of windows that ended more than ``keep_seconds`` ago."""
    now = now or dt.datetime.now(dt.UTC)
    db.execute("delete from rate_limits where window < ?", [int(now.timestamp()) - keep_seconds])
