"""Storage: SQLite through sqlite-utils, migrations per plugin, consistent backups.

Every connection runs in WAL mode (readers never block the writer) with a busy timeout, so a
burst of survey answers or contest submissions waits for the lock instead of failing. Each
plugin owns one :class:`sqlite_utils.migrations.Migrations` set named after the plugin; the
sets are recorded in the same ``_sqlite_migrations`` table, which also tells when a database was
written by a newer version of the code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

__all__ = [
    "SchemaTooNewError",
    "StorageError",
    "backup",
    "connect",
    "is_busy",
    "is_full",
    "lock_beside_database",
    "make_private",
    "open_private",
    "parse_utc",
    "utc_now_iso",
    "write_transaction",
    "write_transaction_if_free",
]

BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for the lock before giving up (milliseconds)."""

MIGRATIONS_TABLE = Migrations.migrations_table


class StorageError(RuntimeError):
    """A database problem an operator must act on (message says what and how)."""


def is_busy(error: BaseException) -> bool:
    """Whether a database error means "locked by another writer for longer than the busy timeout"."""
    return isinstance(error, sqlite3.OperationalError) and ("locked" in str(error) or "busy" in str(error))


def is_full(error: BaseException) -> bool:
    """Whether a database error means the disk (or the database's size limit) is full."""
    return isinstance(error, sqlite3.OperationalError) and "full" in str(error)


class SchemaTooNewError(StorageError):
    """The database has migrations this code does not know: it was written by a newer ccch."""


def connect(path: str | Path, *, readonly: bool = False, busy_timeout_ms: int = BUSY_TIMEOUT_MS,
            autocheckpoint: bool = True) -> Database:
    """Open the deployment database with WAL, a busy timeout and foreign keys on.

    ``path`` may be ``":memory:"`` for tests. ``autocheckpoint=False`` leaves checkpoints to
    another process (Litestream, :mod:`ccch_core.replication`): a checkpoint of the app could
    otherwise move pages into the database file before the replica copied them. The connection may be used from another thread
    than the one that opened it (the WSGI server hands requests to worker threads), but never
    from two threads at once.
    """
    path_text = str(path)
    if readonly and path_text != ":memory:":
        conn = sqlite3.connect(
            f"file:{Path(path_text).resolve().as_posix()}?mode=ro",
            uri=True,
            timeout=busy_timeout_ms / 1000,
            check_same_thread=False,
        )
    else:
        if path_text != ":memory:":
            Path(path_text).parent.mkdir(parents=True, exist_ok=True)
            make_private(path_text)
        conn = sqlite3.connect(path_text, timeout=busy_timeout_ms / 1000, check_same_thread=False)
    db = Database(conn, execute_plugins=False)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    db.execute("PRAGMA foreign_keys = ON")
    if path_text != ":memory:" and not readonly:
        db.enable_wal()
        # NORMAL is safe in WAL mode: a crash of the process never loses a committed write.
        db.execute("PRAGMA synchronous = NORMAL")
        if autocheckpoint:
            # write_transaction has its checkpointer thread copy the WAL every CHECKPOINT_EVERY commits,
            # SQLite's own (run inside COMMIT, so inside the queue) stays as a backstop for writes
            # that do not go through it.
            db.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_CHECKPOINT_FRAMES}")
            db._ccch_checkpoints = True
        else:
            db.execute("PRAGMA wal_autocheckpoint = 0")
    if path_text != ":memory:":
        _count_connection(db)
    return db


PRIVATE_MODE = 0o600
"""Files holding personal data (the database, its WAL and shm, backups, exports): owner only."""


def make_private(path: str | Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist, else take away the group's and
    others' permissions (the database, its ``-wal`` and ``-shm`` files too: SQLite gives those the
    database's mode when it creates them). A file owned by another account is left as it is."""
    path = str(path)
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
        return
    except FileExistsError:
        pass
    for name in (path, path + "-wal", path + "-shm"):
        try:
            mode = os.stat(name).st_mode & 0o777
            if mode & 0o077:
                os.chmod(name, mode & 0o700)
        except (FileNotFoundError, PermissionError):
            continue


def open_private(path: str | Path, mode: str = "w", **kwargs):
    """``open(path, mode)`` for a new file that may hold personal data (an export, a backup): the
    file is created with mode 0600, whatever the umask, before anything is written to it."""
    if not any(flag in mode for flag in "wax"):
        raise ValueError(f"open_private writes files; mode {mode!r} does not")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if "x" in mode else os.O_TRUNC if "w" in mode else os.O_APPEND)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE) if hasattr(os, "fchmod") else None  # an existing file keeps no wider mode
        return open(fd, mode.replace("x", "w"), **kwargs)
    except BaseException:
        os.close(fd)
        raise


try:  # Linux and macOS; on Windows ccch runs one waitress process and the thread lock suffices
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

def lock_beside_database(database_path, suffix: str, *, wait: bool = False) -> int | None:
    """An exclusive lock on the file ``DATABASE-<suffix>`` next to the database, for "one process
    of this deployment at a time" (the deliverer, the scheduled work): its descriptor, to
    ``os.close`` when done (the kernel releases it however the process ends); None where there is
    nothing to lock (an in-memory database, or Windows, where the operator runs one of each).
    Raises BlockingIOError when another process holds it (``wait``: blocks until it is free)."""
    path = str(database_path)
    if fcntl is None or path == ":memory:":
        return None
    fd = os.open(path + "-" + suffix, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BaseException:
        os.close(fd)
        raise
    return fd


_gates: dict[tuple[str, int], tuple[threading.RLock, int | None]] = {}
_gates_guard = threading.Lock()
_gate_depth = threading.local()
_checkpointers: dict[tuple[str, int], _Checkpointer] = {}
_connections: dict[tuple[str, int], int] = {}
"""Open connections of :func:`connect` per database file in this process: the file's write queue
(its lock file descriptor) is dropped when the last one closes, so a process that opens many
deployments in turn (the test suite, a multi-deployment tool) does not keep a descriptor for each."""


def _path_of(db: Database) -> str:
    path = getattr(db, "_ccch_path", None)
    if path is None:
        row = db.conn.execute("pragma database_list").fetchone()
        path = db._ccch_path = (row[2] if row else "") or ""
    return path


def _count_connection(db: Database) -> None:
    path = _path_of(db)
    if not path:
        return
    key = (path, os.getpid())
    with _gates_guard:
        _connections[key] = _connections.get(key, 0) + 1
    close = db.close
    released = []

    def close_and_release() -> None:
        # Safe to drop the queue when no counted connection to the file is left: a writer inside
        # _queued holds a connection, and a connection is never closed while another thread uses it.
        close()
        with _gates_guard:
            if released:  # closed twice: counted once
                return
            released.append(True)
            left = _connections.get(key, 0) - 1
            if left > 0:
                _connections[key] = left
                return
            _connections.pop(key, None)
            gate = _gates.pop(key, None)
            checkpointer = _checkpointers.pop(key, None)
        if gate is not None and gate[1] is not None:
            os.close(gate[1])
        if checkpointer is not None:
            checkpointer.stop()

    db.close = close_and_release


def _gate(db: Database) -> tuple[tuple[str, int], threading.RLock, int | None] | None:
    """The write queue of ``db``'s database file in this process (None for in-memory databases)."""
    path = _path_of(db)
    if not path:
        return None
    key = (path, os.getpid())  # a forked worker opens its own lock file: flock is per open file
    gate = _gates.get(key)
    if gate is None:
        with _gates_guard:
            gate = _gates.get(key)
            if gate is None:
                fd = os.open(path + "-write-lock", os.O_RDWR | os.O_CREAT, 0o600) if fcntl else None
                gate = _gates[key] = (threading.RLock(), fd)
    return key, *gate


@contextlib.contextmanager
def _queued(db: Database, *, wait: bool = True) -> Iterator[bool]:
    """Queue writers to one database file: a lock per process, ``flock`` across processes.
    Yields True once this thread holds both; with ``wait=False`` yields False at once when either
    is taken (a write that may be skipped).

    SQLite's busy handler waits for a held write lock by sleeping (1, 2, 5 … ms), so under a burst
    writers sleep while the lock is already free again and the tail latency grows. Queued, the
    next writer is woken the moment the previous one finishes, and BEGIN IMMEDIATE then finds the
    database free. Writers that do not go through here (another tool on the file) stay safe: the
    busy timeout still applies.
    """
    gate = _gate(db)
    if gate is None:
        yield True
        return
    key, lock, fd = gate
    if not lock.acquire(blocking=wait):
        yield False
        return
    try:
        depths = _gate_depth.__dict__.setdefault("depths", {})
        if depths.get(key, 0) == 0 and fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
        depths[key] = depths.get(key, 0) + 1
        try:
            yield True
        finally:
            depths[key] -= 1
            if depths[key] == 0 and fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        lock.release()


_SAVEPOINT = "SAVEPOINT ccch_write"
_RELEASE = "RELEASE SAVEPOINT ccch_write"
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT ccch_write"


@contextlib.contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """One short write transaction, taking the write lock at the start (BEGIN IMMEDIATE).

    A deferred transaction that reads first and then writes can fail with "database is locked"
    without waiting when another writer got there first; IMMEDIATE waits within the busy timeout.
    Writers of every worker process are queued first (see :func:`_queued`), so a burst of survey
    answers or contest submissions is served in order instead of by SQLite's sleeping retries.
    Inside an open transaction this is a savepoint. Once committed and out of the queue, every
    :data:`CHECKPOINT_EVERY` of them has the process's checkpointer thread copy the WAL.
    """
    conn = db.conn
    if conn.in_transaction:
        # A savepoint of one fixed name: SQLite's RELEASE and ROLLBACK TO act on the most recent
        # savepoint of that name, so nesting works as with unique names. sqlite-utils' atomic()
        # names each one randomly, which makes every SAVEPOINT and RELEASE a statement the
        # connection's cache has never seen: compiled anew, and pushing the hot statements out.
        conn.execute(_SAVEPOINT)
        try:
            yield db
        except BaseException:
            # An error may have ended the whole transaction (a RAISE(ROLLBACK) trigger): then
            # the savepoint is gone too, and the original exception must not be masked.
            if conn.in_transaction:
                conn.execute(_ROLLBACK_TO)
                conn.execute(_RELEASE)
            raise
        else:
            conn.execute(_RELEASE)
        return
    with _queued(db):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
    if getattr(db, "_ccch_checkpoints", False):
        _checkpoint_if_due(db)


CHECKPOINT_EVERY = 32
"""Write transactions of a process after which it has its checkpointer copy the WAL into the
database file (a PASSIVE checkpoint), out of the write queue. At ~10 pages a transaction and two
workers, about SQLite's default of 1,000 pages between checkpoints."""

BACKSTOP_CHECKPOINT_FRAMES = 4000
"""SQLite's own automatic checkpoint, for writes outside :func:`write_transaction` and for one
transaction of many pages (it runs inside COMMIT, while the writer still holds the write queue)."""


def _checkpoint_if_due(db: Database) -> None:
    """Count a committed write transaction; every :data:`CHECKPOINT_EVERY`, ask this process's
    checkpointer to copy the WAL into the database file.

    SQLite's automatic checkpoint runs inside COMMIT, that is while this process still holds the
    write queue: every other writer waited for its copy of ~4 MB and its two fsyncs (measured in
    #16: workers spent a tenth of their time waiting for the queue). Here it is asked for after
    the queue is released, and done by a thread of its own (:class:`_Checkpointer`), so neither
    the other writers nor this request wait for the copy or the disk.

    Counted, not measured: the WAL's pending pages are in the wal-index (the ``-shm`` file), but
    opening and closing that file outside SQLite would drop every POSIX lock this process's
    connections hold on it (https://www.sqlite.org/howtocorrupt.html, 2.2)."""
    path = _path_of(db)
    if not path:
        return
    key = (path, os.getpid())
    with _gates_guard:
        if key not in _connections:  # not a counted connection (closed meanwhile): nothing to keep
            return
        checkpointer = _checkpointers.get(key)
        if checkpointer is None:
            checkpointer = _checkpointers[key] = _Checkpointer(path)
        checkpointer.commits += 1
        due = checkpointer.commits % CHECKPOINT_EVERY == 0
    if due:
        checkpointer.ask()


class _Checkpointer:
    """A daemon thread of this process that runs PASSIVE checkpoints of one database file on a
    connection of its own, when a writer asks (:func:`_checkpoint_if_due`). SQLite releases the
    GIL while it copies and syncs, so the process goes on serving meanwhile; a PASSIVE checkpoint
    never waits for a lock (another process checkpointing makes it return at once). Stopped when
    the process's last connection to the file closes (:func:`_count_connection`); a forked child
    starts its own (the thread does not survive the fork)."""

    def __init__(self, path: str):
        self.path = path
        self.commits = 0
        self.passes = 0
        self.last: tuple[int, int, int] | None = None
        """The last checkpoint's (busy, pages in the WAL, pages copied), as SQLite reports it."""
        self._asked = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def ask(self) -> None:
        """Checkpoint soon (once, however many writers ask meanwhile); the thread starts on the
        first request."""
        self._idle.clear()
        self._asked.set()
        if self._thread is None:
            with _gates_guard:
                if self._thread is None and not self._stopping:
                    self._thread = threading.Thread(target=self._run, name="ccch-checkpoint", daemon=True)
                    self._thread.start()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no checkpoint is asked for or running (tests, and a clean stop)."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        self._stopping = True
        self._asked.set()
        thread = self._thread
        if thread is None:
            self._idle.set()
        elif thread is not threading.current_thread():
            thread.join(timeout=10)

    def _run(self) -> None:
        conn = None
        try:
            while True:
                self._asked.wait()
                self._asked.clear()
                if self._stopping:
                    return
                try:
                    if conn is None:
                        conn = sqlite3.connect(self.path, isolation_level=None)
                    self.last = tuple(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
                    self.passes += 1
                except sqlite3.Error:  # busy or a full disk: the next writer asks again
                    pass
                if not self._asked.is_set():
                    self._idle.set()
        finally:
            if conn is not None:
                conn.close()
            self._idle.set()


@contextlib.contextmanager
def write_transaction_if_free(db: Database) -> Iterator[bool]:
    """A write transaction as :func:`write_transaction`, only when no other writer holds the
    database now: yields True inside the transaction, or False at once (nothing to write) when
    this process's queue or another process's lock file is taken, or ``db`` is inside a
    transaction already (it may be another thread's on a shared connection).

    For writes that may be skipped — what a reader stores to spare the next reader some work
    (:func:`ccch_core.progress.month_figures`) — so that a page never waits behind an import.
    """
    if db.conn.in_transaction:
        yield False
        return
    with _queued(db, wait=False) as free:
        if not free:
            yield False
            return
        with write_transaction(db):  # queued again: the same thread, so no second wait
            yield True


def utc_now_iso(now: dt.datetime | None = None) -> str:
    """An instant as the ISO text stored in every ``*_at`` column (UTC, seconds, ``+00:00``)."""
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("naive datetime: ccch stores instants in UTC and never guesses a timezone")
    return now.astimezone(dt.UTC).isoformat(timespec="seconds")


def parse_utc(text: str) -> dt.datetime:
    """The inverse of :func:`utc_now_iso`."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --------------------------------------------------------------------------------------------
# Migrations


@attrs.frozen
class MigrationSet:
    """A plugin's migrations with the name of the plugin that registered them."""

    plugin: str
    migrations: Migrations


def applied_migrations(db: Database) -> dict[str, list[str]]:
    """Applied migration names by set, in the order they were applied."""
    if not db[MIGRATIONS_TABLE].exists():
        return {}
    result: dict[str, list[str]] = {}
    for row in db.query(f"select migration_set, name from [{MIGRATIONS_TABLE}] order by rowid"):
        result.setdefault(row["migration_set"], []).append(row["name"])
    return result


def check_schema(db: Database, sets: Iterable[MigrationSet]) -> dict[str, list[str]]:
    """Compare the database with the code's migration sets.

    Returns the pending migration names per set. Raises :class:`SchemaTooNewError` when the
    database has applied migrations that a known set does not contain (it was migrated by a
    newer version of ccch or of that plugin: running older code on it could corrupt data).
    Sets the code does not know at all belong to plugins that are not enabled; their tables
    are left alone.
    """
    applied = applied_migrations(db)
    pending: dict[str, list[str]] = {}
    for item in sets:
        known = [m.name for m in item.migrations._migrations]
        unknown = [name for name in applied.get(item.migrations.name, []) if name not in known]
        if unknown:
            raise SchemaTooNewError(
                f"the database has migration(s) {', '.join(unknown)} of set "
                f'"{item.migrations.name}" that this version of ccch does not know: it was '
                "written by a newer version. Upgrade ccch (and its plugins), or restore a "
                "backup made with this version."
            )
        done = set(applied.get(item.migrations.name, []))
        todo = [name for name in known if name not in done]
        if todo:
            pending[item.migrations.name] = todo
    return pending


def migrate(db: Database, sets: Iterable[MigrationSet]) -> dict[str, list[str]]:
    """Apply every pending migration, set by set in the given order; idempotent.

    Returns the names applied per set (empty when the database was up to date).
    """
    sets = list(sets)
    pending = check_schema(db, sets)
    for item in sets:
        if item.migrations.name in pending:
            item.migrations.apply(db)
    return pending


# --------------------------------------------------------------------------------------------
# Backup


def backup(source: str | Path, destination: str | Path, *, overwrite: bool = False) -> Path:
    """Copy a live database to ``destination`` with SQLite's online backup API.

    Safe while the app is serving: the copy is a consistent snapshot. Refuses to overwrite an
    existing file unless ``overwrite`` is true; the copy is checked with
    ``PRAGMA integrity_check`` before it is reported done.
    """
    source = Path(source)
    destination = Path(destination)
    if not source.exists():
        raise StorageError(f"no database at {source}")
    if destination.resolve() == source.resolve():
        raise StorageError(f"{destination} is the live database itself; choose another file")
    if destination.exists() and not overwrite:
        raise StorageError(f"{destination} exists; choose another name or pass --force")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    make_private(partial)  # a backup holds every personal datum of the live database
    src = sqlite3.connect(str(source), timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        dst = sqlite3.connect(str(partial))
        try:
            src.backup(dst, pages=1024)
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
            result = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise StorageError(f"the backup failed its integrity check: {result}")
    partial.replace(destination)
    return destination
