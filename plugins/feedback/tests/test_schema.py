"""The migration set ``feedback``: the schema each step leaves, and a database made by the first step
keeping its published answers searchable after the second."""

from __future__ import annotations

from ccch_feedback.schema import migrations
from ccch_feedback.store import fold_text

from ccch_core.builtin.schema import migrations as core_migrations
from ccch_core.storage import connect


def test_m002_rebuilds_the_index_with_prefixes():
    db = connect(":memory:")
    core_migrations.apply(db)
    migrations.apply(db, stop_before="m002_search_prefixes")
    db.execute("insert into feedback_items (code, kind, requester, status, title, body, published, public_title, "
               "public_body, public_answer, received_at, received_day, due_day, updated_at) values "
               "('ABCDEFGHJK', 'question', 'citizen', 'answered', 'Giấy khai sinh', 'Hỏi', 1, 'Giấy khai sinh', "
               "'Hỏi về đăng ký', 'Trả lời', '2024-01-02T00:00:00+00:00', '2024-01-02', '2024-01-10', "
               "'2024-01-02T00:00:00+00:00')")
    db.execute("insert into feedback_search (rowid, text) values (1, ?)", [fold_text("Giấy khai sinh")])
    db.conn.commit()
    migrations.apply(db)
    sql = db.execute("select sql from sqlite_master where name = 'feedback_search'").fetchone()[0]
    assert "prefix = '2 3'" in sql
    assert db.execute("select rowid from feedback_search where feedback_search match 'dang'").fetchall() == [(1,)]
    assert db.execute("select rowid from feedback_search where feedback_search match 'gi*'").fetchall() == [(1,)]
    columns = {c.name for c in db["feedback_items"].columns}
    for name in ("code", "sid", "status", "due_day", "phone_hash", "email_hash", "placement", "asked_count"):
        assert name in columns
    assert {"feedback_photos", "feedback_events", "feedback_leaders"} <= set(db.table_names())
