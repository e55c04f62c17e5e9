"""Storage: connections, the core schema, per-plugin migrations, transactions, backups, timestamps."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from ccch_testing import CORE_STEPS
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from ccch_core import storage
from ccch_core.builtin.schema import migrations as core_migrations
from ccch_core.storage import (
    MIGRATIONS_TABLE,
    MigrationSet,
    SchemaTooNewError,
    StorageError,
    applied_migrations,
    backup,
    check_schema,
    connect,
    migrate,
    parse_utc,
    utc_now_iso,
    write_transaction,
)

CORE = [MigrationSet("core", core_migrations)]


def pragma(db_or_conn, name):
    conn = db_or_conn.conn if isinstance(db_or_conn, Database) else db_or_conn
    return conn.execute(f"PRAGMA {name}").fetchone()[0]


def schema_sql(db: Database) -> list[tuple]:
    return db.execute("select type, name, tbl_name, sql from sqlite_master order by type, name").fetchall()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "ccch.db"


@pytest.fixture
def file_db(db_path):
    db = connect(db_path)
    yield db
    db.close()


@pytest.fixture
def migrated(file_db):
    migrate(file_db, CORE)
    return file_db


# -- connect ------------------------------------------------------------------------------------


def test_connect_turns_on_wal_busy_timeout_and_foreign_keys(file_db, db_path):
    assert db_path.exists()  # parent folder created
    assert pragma(file_db, "journal_mode") == "wal"
    assert pragma(file_db, "busy_timeout") >= 5000
    assert pragma(file_db, "foreign_keys") == 1
    assert pragma(file_db, "synchronous") == 1  # NORMAL


def test_wal_is_persistent_for_other_connections(file_db, db_path):
    file_db["t"].insert({"x": 1})
    other = sqlite3.connect(str(db_path))
    try:
        assert pragma(other, "journal_mode") == "wal"
    finally:
        other.close()


def test_memory_database_has_foreign_keys_and_busy_timeout():
    db = connect(":memory:")
    try:
        assert pragma(db, "foreign_keys") == 1
        assert pragma(db, "busy_timeout") >= 5000
    finally:
        db.close()


def test_foreign_keys_are_enforced(migrated):
    with pytest.raises(sqlite3.IntegrityError):
        migrated["activity_items"].insert({"report_id": 999, "category": "published", "count": 1})


def test_readonly_connection_cannot_write(migrated, db_path):
    ro = connect(db_path, readonly=True)
    try:
        assert ro["measurements"].count == 0
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.execute("insert into activity_reports (unit_id, period, submitted_at, updated_at, revision) "
                       "values ('x', '2024-03', 'a', 'a', 1)")
    finally:
        ro.close()


def test_connection_is_usable_from_another_thread(migrated):
    import threading

    errors = []

    def work():
        try:
            migrated["measurements"].count  # noqa: B018
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == []


# -- the core schema ----------------------------------------------------------------------------


def _columns(db, table):
    return {c.name: (c.type, bool(c.notnull), c.is_pk) for c in db[table].columns}


def test_core_migrations_create_exactly_the_core_tables(fresh_db):
    assert set(fresh_db.table_names()) == {
        "measurements", "measurement_log", "activity_reports", "activity_items",
        "users", "login_failures", "rate_limits", "audit_log", MIGRATIONS_TABLE,
        "messages", "message_counts", "message_channels", "message_sender_state", "unit_contacts",
        "one_time_codes", "placements", "report_deliveries", "local_plans",
        "measurement_revisions", "period_figures",
    }
    assert fresh_db.view_names() == []


def test_messages_schema_keeps_queueing_to_two_btrees(fresh_db):
    """A queued message enters the table and its idempotency key's index, nothing else, so that
    queueing stays cheap on hot paths (bench/messages_bench.py); the deliverer walks the table."""
    columns = fresh_db["messages"].columns_dict
    assert {"channel", "address", "address_masked", "purpose", "template", "params",
            "idempotency_key", "source", "unit_id", "state", "attempts", "next_attempt_at", "claimed_by",
            "last_error", "gateway_id", "segments", "erased_at"} <= set(columns)
    indexes = {row[1]: row[4] for row in fresh_db.execute("pragma index_list(messages)")}
    unique = [name for name in indexes if name.startswith("sqlite_autoindex")]
    assert len(unique) == 1 and indexes.pop(unique[0]) == 0  # the idempotency key
    assert indexes == {"messages_sending": 1}  # partial: a queued message does not enter it
    plan = " ".join(row[3] for row in fresh_db.execute(
        "explain query plan select id from messages where state = 'sending'"))
    assert "messages_sending" in plan
    plan = " ".join(row[3] for row in fresh_db.execute(
        "explain query plan select id from messages where id >= 5 and state = 'queued' order by id limit 1"))
    assert "INTEGER PRIMARY KEY" in plan  # the claim walks the table from the floor


def test_measurements_schema(fresh_db):
    assert _columns(fresh_db, "measurements") == {
        "plan_id": ("TEXT", True, 1),
        "indicator": ("TEXT", True, 2),
        "unit_id": ("TEXT", True, 3),
        "period": ("TEXT", True, 4),
        "value": ("REAL", False, 0),
        "numerator": ("REAL", False, 0),
        "denominator": ("REAL", False, 0),
        "note": ("TEXT", False, 0),
        "recorded_by": ("TEXT", False, 0),
        "recorded_at": ("TEXT", True, 0),
    }
    assert fresh_db["measurements"].pks == ["plan_id", "indicator", "unit_id", "period"]
    assert sorted(i.columns for i in fresh_db["measurements"].indexes if not i.name.startswith("sqlite_autoindex")) == [
        ["plan_id", "indicator", "unit_id", "period", "value", "numerator", "denominator"],  # m012, evaluation
        ["plan_id", "period", "recorded_at"],  # m013, a month's rows and its figures' fingerprint
    ]


def test_measurement_log_schema(fresh_db):
    assert _columns(fresh_db, "measurement_log") == {
        "id": ("INTEGER", False, 1),
        "plan_id": ("TEXT", True, 0),
        "indicator": ("TEXT", True, 0),
        "unit_id": ("TEXT", True, 0),
        "period": ("TEXT", True, 0),
        "value": ("REAL", False, 0),
        "numerator": ("REAL", False, 0),
        "denominator": ("REAL", False, 0),
        "note": ("TEXT", False, 0),
        "recorded_by": ("TEXT", False, 0),
        "recorded_at": ("TEXT", True, 0),
        "action": ("TEXT", True, 0),
    }


def test_activity_reports_schema_and_unique_unit_period(fresh_db):
    assert _columns(fresh_db, "activity_reports") == {
        "id": ("INTEGER", False, 1),
        "unit_id": ("TEXT", True, 0),
        "period": ("TEXT", True, 0),
        "note": ("TEXT", False, 0),
        "submitted_by": ("TEXT", False, 0),
        "submitted_at": ("TEXT", True, 0),
        "updated_at": ("TEXT", True, 0),
        "revision": ("INTEGER", True, 0),
        "status": ("TEXT", True, 0),
        "reopened_at": ("TEXT", False, 0),
        "reopened_by": ("TEXT", False, 0),
    }
    assert {c.name: c.default_value for c in fresh_db["activity_reports"].columns}["status"] == "'submitted'"
    indexes = {tuple(i.columns): bool(i.unique) for i in fresh_db["activity_reports"].indexes}
    assert indexes == {("unit_id", "period"): True, ("period",): False}
    row = {"unit_id": "xa-an-dung", "period": "2024-03", "submitted_at": "t", "updated_at": "t", "revision": 1}
    fresh_db["activity_reports"].insert(row)
    with pytest.raises(sqlite3.IntegrityError):
        fresh_db["activity_reports"].insert(row)


def test_users_and_login_failures_schema(fresh_db):
    assert _columns(fresh_db, "users") == {
        "id": ("INTEGER", False, 1),
        "username": ("TEXT", True, 0),
        "full_name": ("TEXT", False, 0),
        "password_hash": ("TEXT", True, 0),
        "role": ("TEXT", True, 0),
        "unit_id": ("TEXT", False, 0),
        "active": ("INTEGER", True, 0),
        "session_version": ("INTEGER", True, 0),
        "created_at": ("TEXT", True, 0),
        "last_login_at": ("TEXT", False, 0),
        "totp_secret": ("TEXT", False, 0),
        "totp_enabled_at": ("TEXT", False, 0),
        "totp_last_step": ("INTEGER", False, 0),
    }
    assert {tuple(i.columns): bool(i.unique) for i in fresh_db["users"].indexes} == {("username",): True}
    # Accounts and addresses only as keyed hashes: no column holds a typed name or an address.
    assert _columns(fresh_db, "login_failures") == {
        "id": ("INTEGER", False, 1),
        "account_key": ("TEXT", True, 0),
        "address_key": ("TEXT", True, 0),
        "at": ("TEXT", True, 0),
        "trusted": ("INTEGER", True, 0),
    }
    assert {tuple(i.columns) for i in fresh_db["login_failures"].indexes} == {
        ("account_key", "at"), ("address_key", "at"), ("at",)}


def test_activity_items_schema(fresh_db):
    assert _columns(fresh_db, "activity_items") == {
        "id": ("INTEGER", False, 1),
        "report_id": ("INTEGER", True, 0),
        "category": ("TEXT", True, 0),
        "count": ("INTEGER", True, 0),
        "title": ("TEXT", False, 0),
        "link": ("TEXT", False, 0),
        "task_id": ("TEXT", False, 0),
    }
    fks = fresh_db["activity_items"].foreign_keys
    assert [(fk.column, fk.other_table, fk.other_column) for fk in fks] == [("report_id", "activity_reports", "id")]
    assert [i.columns for i in fresh_db["activity_items"].indexes] == [["report_id"]]


# -- migrations ---------------------------------------------------------------------------------


def test_migrate_applies_core_once_and_records_it(file_db):
    assert check_schema(file_db, CORE) == {"core": CORE_STEPS}
    assert migrate(file_db, CORE) == {"core": CORE_STEPS}
    rows = list(file_db[MIGRATIONS_TABLE].rows)
    assert [(r["migration_set"], r["name"]) for r in rows] == [("core", name) for name in CORE_STEPS]
    assert rows[0]["applied_at"]
    assert applied_migrations(file_db) == {"core": CORE_STEPS}
    assert check_schema(file_db, CORE) == {}


def test_migrate_is_idempotent(migrated):
    before = schema_sql(migrated)
    records = list(migrated[MIGRATIONS_TABLE].rows)
    assert migrate(migrated, CORE) == {}
    assert migrate(migrated, CORE) == {}
    assert schema_sql(migrated) == before
    assert list(migrated[MIGRATIONS_TABLE].rows) == records


def test_applied_migrations_of_an_empty_database(file_db):
    assert applied_migrations(file_db) == {}


def test_plugin_sets_are_applied_after_core_in_order(file_db):
    events = []
    first = Migrations("first")
    second = Migrations("second")

    @first()
    def m001_a(db):
        events.append("first.m001_a")
        db["first_a"].create({"id": int}, pk="id")

    @second()
    def m001_b(db):
        events.append("second.m001_b")
        db["second_b"].create({"id": int}, pk="id")

    sets = [*CORE, MigrationSet("first", first), MigrationSet("second", second)]
    assert migrate(file_db, sets) == {"core": CORE_STEPS, "first": ["m001_a"], "second": ["m001_b"]}
    assert events == ["first.m001_a", "second.m001_b"]
    assert list(applied_migrations(file_db)) == ["core", "first", "second"]
    assert migrate(file_db, sets) == {}
    assert events == ["first.m001_a", "second.m001_b"]


def test_a_new_migration_in_a_set_is_pending_then_applied(migrated):
    plugin = Migrations("plugin")

    @plugin()
    def m001_one(db):
        db["plugin_one"].create({"id": int}, pk="id")

    sets = [*CORE, MigrationSet("plugin", plugin)]
    assert migrate(migrated, sets) == {"plugin": ["m001_one"]}

    @plugin()
    def m002_two(db):
        db["plugin_one"].add_column("label", str)

    assert check_schema(migrated, sets) == {"plugin": ["m002_two"]}
    assert migrate(migrated, sets) == {"plugin": ["m002_two"]}
    assert "label" in migrated["plugin_one"].columns_dict


def test_a_failing_migration_rolls_back_and_stays_pending(migrated):
    failing = Migrations("failing")

    @failing()
    def m001_ok(db):
        db["failing_ok"].create({"id": int}, pk="id")

    @failing()
    def m002_boom(db):
        db["failing_half"].create({"id": int}, pk="id")
        db["failing_ok"].insert({"id": 1})
        raise RuntimeError("boom")

    sets = [*CORE, MigrationSet("failing", failing)]
    with pytest.raises(RuntimeError, match="boom"):
        migrate(migrated, sets)
    assert not migrated.conn.in_transaction
    assert "failing_half" not in migrated.table_names()
    assert migrated["failing_ok"].count == 0
    assert applied_migrations(migrated)["failing"] == ["m001_ok"]
    assert check_schema(migrated, sets) == {"failing": ["m002_boom"]}


def test_database_from_a_newer_version_is_refused(migrated):
    migrated[MIGRATIONS_TABLE].insert({"migration_set": "core", "name": "m999_future", "applied_at": "2030-01-01"})
    with pytest.raises(SchemaTooNewError) as info:
        check_schema(migrated, CORE)
    message = str(info.value)
    assert "m999_future" in message
    assert '"core"' in message
    assert "newer" in message and "Upgrade" in message
    before = schema_sql(migrated)
    with pytest.raises(SchemaTooNewError):
        migrate(migrated, CORE)
    assert schema_sql(migrated) == before


def test_schema_too_new_is_a_storage_error():
    assert issubclass(SchemaTooNewError, StorageError)


def test_sets_of_plugins_that_are_not_enabled_are_ignored(migrated):
    migrated[MIGRATIONS_TABLE].insert({"migration_set": "survey", "name": "m001_survey", "applied_at": "2024-01-01"})
    migrated["survey_responses"].create({"id": int}, pk="id")
    assert check_schema(migrated, CORE) == {}
    assert migrate(migrated, CORE) == {}
    assert "survey_responses" in migrated.table_names()
    assert applied_migrations(migrated)["survey"] == ["m001_survey"]


# -- write_transaction --------------------------------------------------------------------------


def test_write_transaction_commits(migrated, db_path):
    migrated["t"].create({"x": int})
    with write_transaction(migrated) as db:
        assert db is migrated
        assert migrated.conn.in_transaction
        db.execute("insert into t (x) values (1)")
    assert not migrated.conn.in_transaction
    other = sqlite3.connect(str(db_path))
    try:
        assert other.execute("select count(*) from t").fetchone()[0] == 1
    finally:
        other.close()


def test_write_transaction_rolls_back_on_exception(migrated):
    migrated["t"].create({"x": int})
    with pytest.raises(ValueError, match="stop"), write_transaction(migrated) as db:
        db.execute("insert into t (x) values (1)")
        db["t"].insert({"x": 2})
        raise ValueError("stop")
    assert not migrated.conn.in_transaction
    assert migrated["t"].count == 0


def test_nested_write_transaction_rolls_back_only_the_inner_part(migrated):
    migrated["t"].create({"x": int})
    with write_transaction(migrated) as db:
        db.execute("insert into t (x) values (1)")
        with pytest.raises(ValueError), write_transaction(db):
            db.execute("insert into t (x) values (2)")
            raise ValueError("inner")
        db.execute("insert into t (x) values (3)")
    assert [r["x"] for r in migrated["t"].rows] == [1, 3]


def test_nested_savepoints_of_one_name_act_on_the_innermost(migrated):
    """The savepoints share one name: a rollback three levels down undoes only its own level,
    one at the second level undoes the third's released work with it."""
    migrated["t"].create({"x": int})
    with write_transaction(migrated) as db:
        db.execute("insert into t (x) values (1)")
        with write_transaction(db):
            db.execute("insert into t (x) values (2)")
            with pytest.raises(ValueError), write_transaction(db):
                db.execute("insert into t (x) values (3)")
                raise ValueError("third")
            db.execute("insert into t (x) values (4)")
        with pytest.raises(ValueError), write_transaction(db):
            db.execute("insert into t (x) values (5)")
            with write_transaction(db):
                db.execute("insert into t (x) values (6)")
            raise ValueError("second")
        db.execute("insert into t (x) values (7)")
    assert [r["x"] for r in migrated["t"].rows] == [1, 2, 4, 7]
    assert not migrated.conn.in_transaction
    # The same few statements every time: nothing new for the connection to compile.
    statements = []
    migrated.conn.set_trace_callback(statements.append)
    try:
        for _ in range(2):
            with write_transaction(migrated) as db, write_transaction(db):
                db.execute("insert into t (x) values (8)")
    finally:
        migrated.conn.set_trace_callback(None)
    savepoints = {s for s in statements if "SAVEPOINT" in s.upper()}
    assert savepoints == {"SAVEPOINT ccch_write", "RELEASE SAVEPOINT ccch_write"}


def test_nested_write_transaction_keeps_the_error_when_the_transaction_ended(migrated):
    """A trigger's RAISE(ROLLBACK) ends the whole transaction, savepoint included: the caller
    gets that error, not "no such savepoint"."""
    migrated["t"].create({"x": int})
    migrated.execute("create trigger t_no_9 before insert on t when new.x = 9 "
                     "begin select raise(rollback, 'nine refused'); end")
    with pytest.raises(sqlite3.IntegrityError, match="nine refused"), write_transaction(migrated) as db:
        db.execute("insert into t (x) values (1)")
        with write_transaction(db):
            db.execute("insert into t (x) values (9)")
    assert not migrated.conn.in_transaction
    assert migrated["t"].count == 0


def test_write_transaction_takes_the_write_lock_at_the_start(migrated, db_path):
    migrated["t"].create({"x": int})
    other = sqlite3.connect(str(db_path), timeout=0.05, isolation_level=None)
    try:
        with write_transaction(migrated):
            # Nothing written yet, but the lock is held: another writer cannot start.
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            # Readers are not blocked (WAL).
            assert other.execute("select count(*) from t").fetchone()[0] == 0
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


# -- backup -------------------------------------------------------------------------------------


def _rows(path, table="t") -> int:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        conn.close()


def test_backup_copies_committed_data_from_another_connection(migrated, db_path, tmp_path):
    migrated["t"].create({"id": int, "text": str}, pk="id")
    writer = connect(db_path)
    try:
        with write_transaction(writer):
            writer["t"].insert_all({"id": i, "text": f"dòng {i}"} for i in range(500))
        # Committed rows sit in the WAL file, not yet checkpointed into the main file.
        assert (db_path.parent / (db_path.name + "-wal")).stat().st_size > 0
        # Another writer is mid-transaction: its rows are not part of the snapshot.
        writer.conn.execute("BEGIN IMMEDIATE")
        writer.execute("insert into t (id, text) values (1000, 'chưa lưu')")
        destination = backup(db_path, tmp_path / "backups" / "copy.db")
        writer.conn.execute("ROLLBACK")
    finally:
        writer.close()
    assert destination == tmp_path / "backups" / "copy.db"
    assert _rows(destination) == 500
    copy = sqlite3.connect(str(destination))
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("select text from t where id = 7").fetchone()[0] == "dòng 7"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
        assert {r[0] for r in copy.execute("select name from sqlite_master where type='table'")} >= {
            "measurements", "activity_reports", MIGRATIONS_TABLE,
        }
    finally:
        copy.close()


def test_backup_is_a_single_self_contained_file(migrated, db_path, tmp_path):
    migrated["t"].insert({"x": 1})
    destination = backup(db_path, tmp_path / "copy.db")
    siblings = sorted(p.name for p in destination.parent.iterdir() if p.name.startswith("copy.db"))
    assert siblings == ["copy.db"]
    # Moved alone to another folder, it still has the data.
    moved = tmp_path / "elsewhere" / "moved.db"
    moved.parent.mkdir()
    destination.rename(moved)
    assert _rows(moved) == 1


def test_backup_refuses_to_overwrite_without_overwrite(migrated, db_path, tmp_path):
    migrated["t"].insert({"x": 1})
    destination = tmp_path / "copy.db"
    destination.write_bytes(b"precious")
    with pytest.raises(StorageError, match="exists"):
        backup(db_path, destination)
    assert destination.read_bytes() == b"precious"
    backup(db_path, destination, overwrite=True)
    assert _rows(destination) == 1
    assert not (tmp_path / "copy.db.partial").exists()


def test_backup_of_a_missing_database_fails(tmp_path):
    with pytest.raises(StorageError, match="no database"):
        backup(tmp_path / "missing.db", tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


# -- timestamps ---------------------------------------------------------------------------------


def test_utc_now_iso_rejects_naive_datetimes():
    with pytest.raises(ValueError, match="naive"):
        utc_now_iso(dt.datetime(2024, 3, 1, 8, 0))


def test_utc_now_iso_converts_to_utc_seconds():
    vietnam = dt.timezone(dt.timedelta(hours=7))
    assert utc_now_iso(dt.datetime(2024, 3, 1, 7, 0, 30, 999_999, tzinfo=vietnam)) == "2024-03-01T00:00:30+00:00"
    now = parse_utc(utc_now_iso())
    assert now.tzinfo is not None
    assert abs((dt.datetime.now(dt.UTC) - now).total_seconds()) < 5


def test_parse_utc_is_the_inverse_of_utc_now_iso():
    instant = dt.datetime(2024, 12, 31, 16, 59, 59, tzinfo=dt.UTC)
    assert parse_utc(utc_now_iso(instant)) == instant
    assert parse_utc("2024-03-01T00:00:00").tzinfo == dt.UTC


def test_busy_timeout_constant_is_at_least_five_seconds():
    assert storage.BUSY_TIMEOUT_MS >= 5000


def test_writers_are_queued_through_a_lock_file(tmp_path):
    """write_transaction queues writers (a lock per process, flock across processes); the queue
    is released after a failure and re-entered safely by a nested transaction."""
    import fcntl
    import os as _os

    from ccch_core import storage

    db = storage.connect(tmp_path / "q.db")
    db.execute("create table t (x integer)")
    with storage.write_transaction(db):
        db.execute("insert into t values (1)")
        with storage.write_transaction(db):  # nested: a savepoint, same queue
            db.execute("insert into t values (2)")
    assert (tmp_path / "q.db-write-lock").exists()
    with pytest.raises(RuntimeError), storage.write_transaction(db):
        db.execute("insert into t values (3)")
        raise RuntimeError("boom")
    # Released: another open file description can take the lock without waiting.
    fd = _os.open(tmp_path / "q.db-write-lock", _os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fcntl.flock(fd, fcntl.LOCK_UN)
    _os.close(fd)
    assert [r[0] for r in db.execute("select x from t order by x")] == [1, 2]



def _fill(db, transactions: int, rows: int = 50) -> None:
    for _ in range(transactions):
        with write_transaction(db):
            db.conn.executemany("insert into filler values (?)", [(bytes(3000),)] * rows)


def test_a_writer_has_the_wal_checkpointed_every_n_commits_after_leaving_the_write_queue(tmp_path, monkeypatch):
    """SQLite's automatic checkpoint runs inside COMMIT, while the writer still holds the queue
    (every other writer waited for its copy and fsyncs); write_transaction asks for one every
    CHECKPOINT_EVERY commits, once out, and a thread of the process's own runs it."""
    import fcntl
    import os as _os

    db = connect(tmp_path / "c.db")
    path = str(tmp_path / "c.db")
    db.execute("create table filler (x blob)")
    asked_with_the_queue_free = []
    real_ask = storage._Checkpointer.ask

    def ask(self):
        fd = _os.open(path + "-write-lock", _os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the queue were still held
            fcntl.flock(fd, fcntl.LOCK_UN)
            asked_with_the_queue_free.append(True)
        finally:
            _os.close(fd)
        real_ask(self)

    monkeypatch.setattr(storage._Checkpointer, "ask", ask)
    _fill(db, storage.CHECKPOINT_EVERY - 1)
    checkpointer = storage._checkpointers[(path, _os.getpid())]
    assert asked_with_the_queue_free == [] and checkpointer._thread is None  # no thread before it is needed
    _fill(db, 2 * storage.CHECKPOINT_EVERY + 1)
    assert asked_with_the_queue_free == [True, True, True]
    assert checkpointer.wait_idle(10)
    busy, in_wal, copied = checkpointer.last
    assert busy == 0 and in_wal == copied > 0  # everything written was copied into the file
    assert checkpointer.passes >= 1 and checkpointer._thread.name == "ccch-checkpoint"
    assert db.execute("select count(*) from filler").fetchone()[0] == 50 * 3 * storage.CHECKPOINT_EVERY
    db.close()


def test_the_checkpointer_stops_with_the_last_connection_to_its_file(tmp_path):
    import os as _os

    path = str(tmp_path / "s.db")
    first, second = connect(path), connect(path)
    first.execute("create table filler (x blob)")
    _fill(first, storage.CHECKPOINT_EVERY, rows=2)
    checkpointer = storage._checkpointers[(path, _os.getpid())]
    assert checkpointer.wait_idle(10) and checkpointer._thread.is_alive()
    first.close()
    assert checkpointer._thread.is_alive()  # the second connection still writes
    second.close()
    assert not checkpointer._thread.is_alive()
    assert (path, _os.getpid()) not in storage._checkpointers


def test_the_backstop_is_sqlites_own_checkpoint_for_writes_outside_write_transaction(tmp_path):
    db = connect(tmp_path / "b.db")
    db.execute("create table filler (x blob)")
    assert pragma(db, "wal_autocheckpoint") == storage.BACKSTOP_CHECKPOINT_FRAMES
    for _ in range(120):  # plain autocommit inserts, ~6,000 pages: no write_transaction, no checkpoint of ours
        db.conn.executemany("insert into filler values (?)", [(bytes(3000),)] * 50)
        db.conn.commit()
    frame = 24 + pragma(db, "page_size")
    # The WAL restarts after SQLite's checkpoint at 4,000 pages: the file never held all 6,000.
    assert (tmp_path / "b.db-wal").stat().st_size < (storage.BACKSTOP_CHECKPOINT_FRAMES + 60) * frame
    db.close()


def test_report_deliveries_schema(fresh_db):
    """One row per unit, period and further recipient (#19: a rule may name several recipients)."""
    columns = _columns(fresh_db, "report_deliveries")
    assert set(columns) == {"id", "unit_id", "period", "recipient", "sent_on", "reference", "recorded_by", "recorded_at"}
    assert columns["recipient"] == ("TEXT", True, False)
    unique = [i for i in fresh_db["report_deliveries"].indexes if i.unique]
    assert [i.columns for i in unique] == [["unit_id", "period", "recipient"]]


def test_the_write_queue_lets_go_of_its_lock_file_when_the_last_connection_closes(tmp_path):
    """The test suite opens hundreds of deployments in one process: each kept a descriptor open for
    its '-write-lock' file until the process ended (past 1,024, select()-based servers refuse them)."""
    import os

    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    path = tmp_path / "a.db"
    first = storage.connect(path)
    with storage.write_transaction(first):
        first.execute("create table t (x)")
    before = open_descriptors()
    second = storage.connect(path)
    first.close()
    with storage.write_transaction(second):  # the queue still works for the connection left
        second.execute("insert into t values (1)")
    second.close()
    second.close()  # a second close counts once
    assert open_descriptors() < before
    assert not [k for k in storage._gates if k[0] == str(path)]
    # Many databases opened and closed in turn: the process's descriptors stay flat.
    baseline = open_descriptors()
    for i in range(40):
        db = storage.connect(tmp_path / f"d{i}.db")
        with storage.write_transaction(db):
            db.execute("create table t (x)")
        db.close()
    assert open_descriptors() <= baseline
    again = storage.connect(path)  # and a file closed before gets a working queue again
    with storage.write_transaction(again):
        again.execute("insert into t values (2)")
    assert again.execute("select count(*) from t").fetchone()[0] == 2
    again.close()


def test_measurement_revisions_schema_and_no_trigger_left(migrated):
    """m014's tables; m015 dropped m014's per-row triggers (the writers move each period's
    revision once per call: tests/test_evaluation_reference.py), so the table stays as cheap to
    write as before."""
    assert _columns(migrated, "measurement_revisions") == {
        "plan_id": ("TEXT", True, 1), "period": ("TEXT", True, 2), "revision": ("INTEGER", True, 0),
    }
    assert _columns(migrated, "period_figures") == {
        "plan_id": ("TEXT", True, 1), "period": ("TEXT", True, 2), "plan_key": ("TEXT", True, 0),
        "revisions": ("TEXT", True, 0), "figures": ("TEXT", True, 0),
    }
    assert migrated.execute("select name from sqlite_master where type = 'trigger'").fetchall() == []


def test_write_transaction_if_free_never_waits_for_another_writer(tmp_path):
    """What a reader stores for the next one is skipped, not waited for, while another writer
    holds the queue (another process's lock file, or this process's queue in another thread)."""
    import fcntl
    import os as _os
    import threading

    db = storage.connect(tmp_path / "q.db")
    db.execute("create table t (x integer)")
    with storage.write_transaction_if_free(db) as free:
        assert free
        db.execute("insert into t values (1)")
    fd = _os.open(tmp_path / "q.db-write-lock", _os.O_RDWR)  # another process's writer
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with storage.write_transaction_if_free(db) as free:
        assert not free
    fcntl.flock(fd, fcntl.LOCK_UN)
    _os.close(fd)
    held, release = threading.Event(), threading.Event()

    def writer():
        with storage.write_transaction(db):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait(5)
    with storage.write_transaction_if_free(db) as free:
        assert not free  # the queue is this process's other thread's
    release.set()
    thread.join()
    with storage.write_transaction(db), storage.write_transaction_if_free(db) as free:
        assert not free  # inside a transaction: never joined
    with storage.write_transaction_if_free(db) as free:
        assert free  # the queue and the lock file were let go
        db.execute("insert into t values (2)")
    assert [r[0] for r in db.execute("select x from t order by x")] == [1, 2]
    db.close()
