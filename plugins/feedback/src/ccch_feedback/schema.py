"""The feedback plugin's tables (migration set ``feedback``).

- ``feedback_items``: one question, feedback or petition, its routing state, deadline and answer;
  contact details only with consent (personal data, found by keyed hash for erasure);
- ``feedback_photos``: photos re-encoded without metadata (officers only);
- ``feedback_events``: the item's history as the status page and the officers' page show it;
- ``feedback_leaders``: unit officers who approve their unit's answers (lãnh đạo đơn vị);
- ``feedback_search``: an FTS5 index of published items over text folded to ASCII (no tones,
  đ as d), rowid = the item's id.

Days are Vietnam calendar days as ISO text (``2024-02-21``); instants UTC ISO text.
"""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

from . import PLUGIN_NAME

migrations = Migrations(PLUGIN_NAME)


@migrations()
def m001_items(db):
    """Items, photos, events, leaders and the search index."""
    for statement in _M001.split(";"):
        if statement.strip():
            db.execute(statement)


@migrations()
def m002_search_prefixes(db):
    """The search index with prefix indexes of 2 and 3 letters: the last word of a query is matched as
    the beginning of a word ("giay khai si"), which without them merges every term it begins."""
    from .store import fold_text

    db.execute("drop table feedback_search")
    db.execute("create virtual table feedback_search using fts5 (text, tokenize = 'unicode61', prefix = '2 3')")
    rows = db.execute("select id, public_title, public_body, public_answer from feedback_items where published = 1")
    for item_id, title, body, answer in rows.fetchall():
        db.execute("insert into feedback_search (rowid, text) values (?, ?)",
                   [item_id, fold_text(f"{title}\n{body}\n{answer}")])


_M001 = """
        create table feedback_items (
            id integer primary key,
            code text not null unique,
            sid text unique,
            kind text not null check (kind in ('question', 'feedback', 'petition')),
            requester text not null check (requester in ('citizen', 'business')),
            field text,
            about_unit text,
            unit_id text,
            status text not null check (status in ('new', 'assigned', 'drafted', 'answered', 'refused', 'merged')),
            title text not null,
            body text not null,
            public_wanted integer not null default 1,
            flagged integer not null default 0,
            flag_reason text,
            contact_name text,
            contact_phone text,
            contact_email text,
            contact_consent integer not null default 0,
            phone_hash text,
            email_hash text,
            placement text,
            merged_into integer references feedback_items(id),
            asked_count integer not null default 1,
            draft text,
            drafted_by text,
            drafted_at text,
            answer text,
            answered_by text,
            answered_at text,
            answered_day text,
            on_time integer,
            published integer not null default 0,
            public_title text,
            public_body text,
            public_answer text,
            refusal_reason text,
            received_at text not null,
            received_day text not null,
            due_day text not null,
            address_hash text,
            updated_at text not null
        );
        create index feedback_items_open on feedback_items (status, due_day);
        create index feedback_items_unit on feedback_items (unit_id, status);
        create index feedback_items_received on feedback_items (received_day);
        create index feedback_items_published on feedback_items (published, answered_at);
        create index feedback_items_phone on feedback_items (phone_hash) where phone_hash is not null;
        create index feedback_items_email on feedback_items (email_hash) where email_hash is not null;
        create index feedback_items_merged on feedback_items (merged_into) where merged_into is not null;
        create table feedback_photos (
            id integer primary key,
            item_id integer not null references feedback_items(id),
            seq integer not null,
            media_type text not null,
            width integer not null,
            height integer not null,
            data blob not null,
            unique (item_id, seq)
        );
        create table feedback_events (
            id integer primary key,
            item_id integer not null references feedback_items(id),
            at text not null,
            actor text,
            action text not null,
            note text,
            public integer not null default 1
        );
        create index feedback_events_item on feedback_events (item_id, id);
        create table feedback_leaders (
            username text primary key,
            unit_id text not null,
            added_at text not null,
            added_by text
        );
        create virtual table feedback_search using fts5 (text, tokenize = 'unicode61')
"""
