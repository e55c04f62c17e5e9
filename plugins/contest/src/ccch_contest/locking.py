"""One writer at a time, queued by the operating system instead of SQLite's busy loop.

SQLite allows one writer; a writer that finds the database locked sleeps and retries (1, 2, 5,
10… ms) until its busy timeout. Under a burst — the last evening of a round, 50 people pressing
"Nộp bài" at once across several gunicorn workers — those sleeps, not the work, make the latency:
each transaction holds the lock for a fraction of a millisecond, but waiters wake late and in no
order. :func:`serialized` puts the contest's write transactions in a queue first: a thread lock
within a worker process and an exclusive ``flock`` on a file next to the database across processes.
A waiter is woken the moment the lock is released, and the SQLite lock is then (almost) always
free. Where ``fcntl`` does not exist (Windows, where ccch runs one waitress process) the thread
lock alone does the same.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from ccch_core.storage import write_transaction

from .state import memory

try:  # pragma: no branch - Linux and macOS
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

_guard = threading.Lock()
_held = threading.local()


def _locks(deployment):
    mem = memory(deployment)
    found = mem.get("write_lock")
    if found is None or found[2] != os.getpid():
        with _guard:
            found = mem.get("write_lock")
            if found is None or found[2] != os.getpid():  # a forked worker opens its own file
                path = str(deployment.config.database_path)
                fd = None
                if fcntl is not None and path != ":memory:":
                    fd = os.open(path + ".contest-lock", os.O_RDWR | os.O_CREAT, 0o600)
                found = (threading.Lock(), fd, os.getpid())
                mem["write_lock"] = found
    return found


@contextlib.contextmanager
def serialized(deployment) -> Iterator:
    """``write_transaction(deployment.db)`` behind the queue (see the module docstring)."""
    if getattr(_held, "depth", 0):
        # Already inside a serialized write on this thread: a nested transaction (a savepoint).
        _held.depth += 1
        try:
            with write_transaction(deployment.db) as db:
                yield db
        finally:
            _held.depth -= 1
        return
    thread_lock, fd, _ = _locks(deployment)
    with thread_lock:
        _held.depth = 1
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            with write_transaction(deployment.db) as db:
                yield db
        finally:
            _held.depth = 0
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
