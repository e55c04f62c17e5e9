"""The initiatives plugin's tables: one migration set named after the plugin."""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("initiatives")


@migrations()
def m001_initiatives(db):
    """Calls, their panel, entries and documents, assignments, scores and awards."""
    db["initiative_calls"].create({
        "id": int, "slug": str, "title": str, "definition": str,  # the TOML text, the source of truth
        "opens_at": str, "closes_at": str,  # UTC ISO, from the definition (for the hot path's check)
        "stage": str,  # 'preliminary' (sơ khảo) or 'final' (chung khảo)
        "results_published_at": str, "created_at": str, "updated_at": str,
    }, pk="id", not_null=("slug", "title", "definition", "opens_at", "closes_at", "stage"))
    db["initiative_calls"].create_index(["slug"], unique=True)

    # The panel (hội đồng): accounts of any role, given a role in one call only. A person is the
    # secretary or a judge of a call, never both (a secretary sees the authors).
    db["initiative_panel"].create({
        "call_id": int, "username": str, "role": str,  # 'secretary' | 'judge'
        "unit_id": str,  # the judge's unit (conflict of interest), None for an outside expert
        "added_at": str, "added_by": str,
    }, pk=("call_id", "username"), not_null=("role", "added_at"))
    db["initiative_panel"].create_index(["username"])

    db["initiative_entries"].create({
        "id": int, "call_id": int, "code": str,  # the tracking code (mã hồ sơ), a bearer secret
        "title": str, "category": str, "entrant_kind": str, "unit_id": str,
        "authors": str,  # JSON [{"name": …, "unit_id": …}]; personal data
        "contact_email": str, "contact_phone": str, "contact_hashes": str,  # keyed hashes, space separated
        "summary": str, "status": str,  # 'submitted' | 'withdrawn'
        "finalist": int, "submitted_at": str, "updated_at": str, "erased_at": str,
    }, pk="id", not_null=("call_id", "code", "title", "category", "entrant_kind", "unit_id", "status",
                           "submitted_at"), defaults={"finalist": 0, "status": "submitted"})
    db["initiative_entries"].create_index(["code"], unique=True)
    db["initiative_entries"].create_index(["call_id", "status"])

    # The current document of an entry (a replacement overwrites it): the original as uploaded, the
    # judges' copy without the document's metadata, the extracted text, the fingerprint sketch.
    db["initiative_documents"].create({
        "entry_id": int, "kind": str, "size": int, "sha256": str, "original": bytes, "blind": bytes,
        "text": str, "names_found": str,  # JSON list of author names / contacts found in the text
        "sketch": str,  # space-separated hashes of word 5-grams (near-duplicate hints)
        "uploaded_at": str,
    }, pk="entry_id", not_null=("kind", "size", "sha256", "original", "uploaded_at"))

    db["initiative_similar"].create({
        "call_id": int, "entry_a": int, "entry_b": int, "similarity": float,
    }, pk=("entry_a", "entry_b"))
    db["initiative_similar"].create_index(["call_id"])

    db["initiative_conflicts"].create({
        "call_id": int, "username": str, "entry_id": int, "reason": str, "declared_at": str,
    }, pk=("username", "entry_id"), not_null=("declared_at",))

    db["initiative_assignments"].create({
        "id": int, "call_id": int, "round": str,  # 'preliminary' | 'final'
        "entry_id": int, "username": str, "assigned_at": str, "assigned_by": str,
        "comment": str, "submitted_at": str,  # the judge's overall comment; when they finished
    }, pk="id", not_null=("call_id", "round", "entry_id", "username", "assigned_at"))
    db["initiative_assignments"].create_index(["round", "entry_id", "username"], unique=True)
    db["initiative_assignments"].create_index(["username", "call_id", "round"])
    db["initiative_assignments"].create_index(["call_id", "round"])

    db["initiative_scores"].create({
        "assignment_id": int, "criterion": str, "score": int, "comment": str, "updated_at": str,
    }, pk=("assignment_id", "criterion"), not_null=("score", "updated_at"))

    db["initiative_awards"].create({
        "call_id": int, "entry_id": int, "award": str, "award_name": str, "category": str, "rank": int,
        "score": float, "decided_at": str,
    }, pk=("call_id", "entry_id"), not_null=("award", "award_name", "decided_at"))


@migrations()
def m002_shingles(db):
    """The fingerprint hashes of every entry's text, indexed: a new entry finds the entries that
    share many of its hashes by ~128 index look-ups, however many entries the call has."""
    db["initiative_shingles"].create({"call_id": int, "hash": int, "entry_id": int},
                                     pk=("call_id", "hash", "entry_id"))
    db["initiative_shingles"].create_index(["entry_id"])
    for entry_id, call_id, sketch in db.execute(
            "select d.entry_id, e.call_id, d.sketch from initiative_documents d join initiative_entries e "
            "on e.id = d.entry_id where d.sketch != ''").fetchall():
        db.conn.executemany("insert or ignore into initiative_shingles (call_id, hash, entry_id) values (?, ?, ?)",
                            [(call_id, int(h), entry_id) for h in sketch.split()])


@migrations()
def m003_decisions(db):
    """The office's draft of the decision on the awards, one per call (number, date, bases, signer…)."""
    db["initiative_decisions"].create({"call_id": int, "fields": str, "updated_at": str, "updated_by": str},
                                      pk="call_id", foreign_keys=[("call_id", "initiative_calls", "id")])
