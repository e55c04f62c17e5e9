"""Contest writes go through the core's queued write transaction.

:func:`ccch_core.storage.write_transaction` queues writers of all worker processes (a lock per
process and ``flock`` across processes) instead of leaving a burst — the last evening of a round,
50 people pressing "Nộp bài" at once — to SQLite's sleeping busy handler. This name stays for the
plugin's many call sites.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ccch_core.storage import write_transaction


@contextlib.contextmanager
def serialized(deployment) -> Iterator:
    """``write_transaction(deployment.db)``: queued, one short BEGIN IMMEDIATE transaction."""
    with write_transaction(deployment.db) as db:
        yield db
