"""Entries (bài dự thi): the authors' form checked field by field, the document stored with its
judges' copy and hints, a tracking code (mã hồ sơ) as the receipt, replacement before the close.

The close is checked inside the write transaction, against the instant of the write: an entry
whose upload began before the close and reached the database after it is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from typing import Any

import attrs

from ccch_core import audit
from ccch_core.periods import utc_now
from ccch_core.privacy import (
    PersonalDataError,
    keyed_hash,
    normalise_email_address,
    normalise_phone,
)
from ccch_core.storage import utc_now_iso, write_transaction

from .calls import Call
from .definition import ENTRANTS, clean_block, clean_line
from .documents import (
    SIMILAR_AT,
    Document,
    names_found,
    person_needles,
    similarity,
    sketch,
)

MAX_AUTHORS = 10
MAX_SUMMARY = 3000
HASH_PURPOSE = "initiatives-contact"
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
_CODE = re.compile(r"^SK-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")

clock = utc_now
"""The instant of every check against the call's times (tests replace it)."""


class EntryError(ValueError):
    """A refused entry: ``errors`` maps each form field to a Vietnamese message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


@attrs.frozen
class Entry:
    id: int
    call_id: int
    code: str
    title: str
    category: str
    entrant_kind: str
    unit_id: str
    authors: tuple[dict, ...]
    contact_email: str | None
    contact_phone: str | None
    summary: str
    status: str
    finalist: bool
    submitted_at: str
    updated_at: str | None
    erased_at: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Entry:
        return cls(row["id"], row["call_id"], row["code"], row["title"], row["category"], row["entrant_kind"],
                   row["unit_id"], tuple(json.loads(row["authors"] or "[]")), row["contact_email"],
                   row["contact_phone"], row["summary"] or "", row["status"], bool(row["finalist"]),
                   row["submitted_at"], row["updated_at"], row["erased_at"])

    @property
    def units(self) -> set[str]:
        """Every unit the entry comes from: the entrant's and each author's."""
        return {self.unit_id} | {a["unit_id"] for a in self.authors if a.get("unit_id")}

    @property
    def author_names(self) -> list[str]:
        return [a["name"] for a in self.authors if a.get("name")]

    @property
    def entrant_label(self) -> str:
        return ENTRANTS.get(self.entrant_kind, self.entrant_kind)


def new_code() -> str:
    """A tracking code: 12 random characters of 32 (60 bits), ``SK-7K3M-9QX2-H4TB``."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"SK-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def parse_code(text: str | None) -> str | None:
    """A tracking code as typed (spaces, lower case, O for 0 tolerated), or None."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    text = re.sub(r"[\s]", "", text).upper().replace("O", "0")
    if not text.startswith("SK-"):
        text = "SK-" + text.removeprefix("SK")
    if len(text) == 15 and "-" not in text[3:]:
        text = f"SK-{text[3:7]}-{text[7:11]}-{text[11:]}"
    return text if _CODE.match(text) else None


def eligible_units(plan, call: Call):
    """The units an entry may come from: the call's ``units`` (all of the plan's when empty)."""
    refs = call.definition.units
    return plan.resolve(refs) if refs else tuple(plan.units)


def check_form(plan, call: Call, form) -> dict[str, Any]:
    """The entry's fields from a form (or a dict), each problem under its field's name."""
    errors: dict[str, str] = {}
    definition = call.definition

    def text(name: str, limit: int, label: str, *, block=False, required=True) -> str:
        raw = form.get(name) or ""
        if len(raw) > limit * 4:
            errors[name] = f"{label}: dài quá {limit} ký tự."
            return ""
        value = clean_block(raw) if block else clean_line(raw)
        if required and not value:
            errors[name] = f"{label}: vui lòng nhập."
        elif len(value) > limit:
            errors[name] = f"{label}: dài {len(value)} ký tự, quá {limit}."
        return value

    title = text("title", 300, "Tên sáng kiến")
    summary = text("summary", MAX_SUMMARY, "Tóm tắt nội dung", block=True)
    category = form.get("category") or ""
    if definition.category(category) is None:
        errors["category"] = "Lĩnh vực: vui lòng chọn một lĩnh vực của cuộc thi."
    kind = form.get("entrant_kind") or ""
    if kind not in definition.entrants:
        errors["entrant_kind"] = "Đối tượng dự thi: vui lòng chọn " + ", ".join(
            ENTRANTS[k].lower() for k in definition.entrants) + "."
    allowed = {u.id for u in eligible_units(plan, call)}
    unit_id = form.get("unit_id") or ""
    if unit_id not in allowed:
        errors["unit_id"] = "Đơn vị: vui lòng chọn đơn vị công tác (hoặc đơn vị dự thi) trong danh sách."
    authors = []
    for i in range(1, MAX_AUTHORS + 1):
        raw = form.get(f"author_{i}") or ""
        if len(raw) > 400:
            errors[f"author_{i}"] = f"Tác giả {i}: họ và tên dài quá 100 ký tự."
            continue
        name = clean_line(raw)
        if not name:
            continue
        if len(name) > 100:
            errors[f"author_{i}"] = f"Tác giả {i}: họ và tên dài quá 100 ký tự."
            continue
        author_unit = form.get(f"author_unit_{i}") or unit_id
        if author_unit not in allowed:
            errors[f"author_unit_{i}"] = f"Tác giả {i}: đơn vị không có trong danh sách."
            continue
        authors.append({"name": name, "unit_id": author_unit})
    if not authors and "author_1" not in errors:
        errors["author_1"] = "Tác giả: vui lòng nhập họ và tên ít nhất một tác giả (người đại diện với tập thể)."
    elif kind == "person" and len(authors) > 1:
        errors["author_2"] = "Tác giả: sáng kiến của cá nhân chỉ có một tác giả; chọn “Nhóm tác giả” nếu nhiều người."
    elif kind == "group" and len(authors) < 2:
        errors["author_2"] = "Tác giả: nhóm tác giả cần từ hai người trở lên."
    email = phone = None
    raw_email = (form.get("contact_email") or "").strip()
    try:
        email = normalise_email_address(raw_email[:320]) if raw_email else None
    except PersonalDataError:
        errors["contact_email"] = "Thư điện tử: địa chỉ không hợp lệ (ví dụ: ten@ductho.gov.vn)."
    if not raw_email and "contact_email" not in errors:
        errors["contact_email"] = "Thư điện tử: vui lòng nhập để ban tổ chức liên hệ và gửi thông báo."
    raw_phone = (form.get("contact_phone") or "").strip()
    if raw_phone:
        try:
            phone = normalise_phone(raw_phone[:40])
        except PersonalDataError:
            errors["contact_phone"] = "Số điện thoại: không hợp lệ (ví dụ: 0912 345 678)."
    if not form.get("consent"):
        errors["consent"] = ("Đồng ý xử lý dữ liệu cá nhân: vui lòng đánh dấu để gửi bài (Nghị định 13/2023/NĐ-CP); "
                             "thông tin chỉ dùng cho cuộc thi.")
    if errors:
        raise EntryError(errors)
    return {"title": title, "summary": summary, "category": category, "entrant_kind": kind, "unit_id": unit_id,
            "authors": authors, "contact_email": email, "contact_phone": phone}


def _hashes(secret: str, email: str | None, phone: str | None) -> str:
    return " ".join(keyed_hash(secret, HASH_PURPOSE, v) for v in (email, phone) if v)


def _closed_error(call: Call) -> EntryError:
    from ccch_core.periods import to_local

    when = to_local(call.definition.closes_at).strftime("%H:%M ngày %d/%m/%Y")
    return EntryError({"document": f"Cuộc thi đã hết hạn nhận bài lúc {when} (giờ Việt Nam); bài không được nhận."})


def _not_open_error(call: Call) -> EntryError:
    from ccch_core.periods import to_local

    when = to_local(call.definition.opens_at).strftime("%H:%M ngày %d/%m/%Y")
    return EntryError({"document": f"Cuộc thi chưa mở nhận bài; nhận bài từ {when} (giờ Việt Nam)."})


def _check_time(call: Call, now: dt.datetime) -> None:
    if call.is_closed(now):
        raise _closed_error(call)
    if not call.is_open(now):
        raise _not_open_error(call)


def _store_document(db, entry_id: int, call_id: int, document: Document, needles: list[str], stamp: str) -> None:
    found = names_found(document.text + "\n" + document.extra_text, needles)
    shingles = sketch(document.text)
    db["initiative_documents"].upsert({
        "entry_id": entry_id, "kind": document.kind, "size": document.size, "sha256": document.sha256,
        "original": document.original, "blind": document.blind, "text": document.text,
        "names_found": json.dumps(found, ensure_ascii=False), "sketch": " ".join(map(str, shingles)),
        "uploaded_at": stamp}, pk="entry_id")
    db.execute("delete from initiative_similar where entry_a = ? or entry_b = ?", [entry_id, entry_id])
    db.execute("delete from initiative_shingles where entry_id = ?", [entry_id])
    if not shingles:
        return
    db.conn.executemany("insert or ignore into initiative_shingles (call_id, hash, entry_id) values (?, ?, ?)",
                        [(call_id, h, entry_id) for h in shingles])
    # Candidates: entries sharing at least half as many hashes as a near-duplicate would (an
    # index look-up per hash); the estimate is then computed on their sketches alone.
    marks = ", ".join("?" * len(shingles))
    needed = max(1, int(len(shingles) * SIMILAR_AT / 2))
    candidates = [r[0] for r in db.execute(
        f"select entry_id from initiative_shingles where call_id = ? and hash in ({marks}) and entry_id != ? "
        "group by entry_id having count(*) >= ?", [call_id, *shingles, entry_id, needed])]
    mine = set(shingles)
    for other_id in candidates:
        other = {r[0] for r in db.execute("select hash from initiative_shingles where entry_id = ?", [other_id])}
        score = similarity(mine, other)
        if score >= SIMILAR_AT:
            a, b = sorted((entry_id, other_id))
            db.execute("insert or replace into initiative_similar (call_id, entry_a, entry_b, similarity) "
                       "values (?, ?, ?, ?)", [call_id, a, b, score])


def submit_entry(deployment, call: Call, fields: dict[str, Any], document: Document, *,
                 now: dt.datetime | None = None) -> Entry:
    """Store a new entry (fields from :func:`check_form`) with its document, in one transaction
    that checks the call is open at the instant of the write."""
    with write_transaction(deployment.db) as db:
        instant = now or clock()
        _check_time(call, instant)
        stamp = utc_now_iso(instant)
        code = new_code()
        while db.execute("select 1 from initiative_entries where code = ?", [code]).fetchone():
            code = new_code()
        entry_id = db["initiative_entries"].insert({
            "call_id": call.id, "code": code, "title": fields["title"], "category": fields["category"],
            "entrant_kind": fields["entrant_kind"], "unit_id": fields["unit_id"],
            "authors": json.dumps(fields["authors"], ensure_ascii=False), "contact_email": fields["contact_email"],
            "contact_phone": fields["contact_phone"],
            "contact_hashes": _hashes(deployment.secret_key, fields["contact_email"], fields["contact_phone"]),
            "summary": fields["summary"], "status": "submitted", "finalist": 0, "submitted_at": stamp,
        }).last_pk
        needles = person_needles(fields["authors"], fields["contact_email"], fields["contact_phone"])
        _store_document(db, entry_id, call.id, document, needles, stamp)
        audit.record(db, None, "initiatives.entry_submit", f"{call.title} — bài {code}", fields["title"],
                     label="Nộp bài dự thi viết sáng kiến", now=instant)
        from ccch_core.periods import to_local

        from .messages import notify

        notify(deployment, "initiatives.receipt", fields["contact_email"], code,
               {"call": call.title, "title": fields["title"],
                "closes": to_local(call.definition.closes_at).strftime("%H:%M ngày %d/%m/%Y")},
               key=f"initiatives:receipt:{entry_id}")
    return get_entry(deployment.db, entry_id)


def replace_entry(deployment, call: Call, entry: Entry, fields: dict[str, Any], document: Document | None, *,
                  now: dt.datetime | None = None) -> Entry:
    """Replace an entry's fields (and document, when one is given) before the close."""
    with write_transaction(deployment.db) as db:
        instant = now or clock()
        _check_time(call, instant)
        stamp = utc_now_iso(instant)
        db["initiative_entries"].update(entry.id, {
            "title": fields["title"], "category": fields["category"], "entrant_kind": fields["entrant_kind"],
            "unit_id": fields["unit_id"], "authors": json.dumps(fields["authors"], ensure_ascii=False),
            "contact_email": fields["contact_email"], "contact_phone": fields["contact_phone"],
            "contact_hashes": _hashes(deployment.secret_key, fields["contact_email"], fields["contact_phone"]),
            "summary": fields["summary"], "updated_at": stamp})
        needles = person_needles(fields["authors"], fields["contact_email"], fields["contact_phone"])
        if document is not None:
            _store_document(db, entry.id, call.id, document, needles, stamp)
        else:  # the names may have changed: check the stored text again
            row = db.execute("select text from initiative_documents where entry_id = ?", [entry.id]).fetchone()
            if row:
                db.execute("update initiative_documents set names_found = ? where entry_id = ?",
                           [json.dumps(names_found(row[0] or "", needles), ensure_ascii=False), entry.id])
        audit.record(db, None, "initiatives.entry_replace", f"{call.title} — bài {entry.code}",
                     "Thay tài liệu" if document else "Sửa thông tin", label="Sửa bài dự thi viết sáng kiến",
                     now=instant)
        from .messages import notify

        for address in {entry.contact_email, fields["contact_email"]} - {None}:  # the old address too
            notify(deployment, "initiatives.changed", address, entry.code, {"call": call.title, "title": fields["title"]},
                   key=f"initiatives:changed:{entry.id}:{stamp}:{address}")
    return get_entry(deployment.db, entry.id)


def replace_judges_copy(deployment, call: Call, entry: Entry, document: Document, *, actor: str | None) -> None:
    """The secretary replaces the judges' copy of a document that still names its authors by an
    anonymised one (after the close, when the author can no longer send one). The original stays
    for the secretary; the new copy must name none of the authors (:class:`EntryError` listing
    what it still names)."""
    needles = person_needles(list(entry.authors), entry.contact_email, entry.contact_phone)
    found = names_found(document.text + "\n" + document.extra_text, needles)
    if found:
        raise EntryError({"document": "Bản ẩn danh vẫn còn: " + ", ".join(found) + ". Hãy xóa rồi tải lên lại."})
    with write_transaction(deployment.db) as db:
        db.execute("update initiative_documents set kind = ?, blind = ?, text = ?, names_found = '[]' "
                   "where entry_id = ?", [document.kind, document.blind, document.text, entry.id])
        audit.record(db, actor, "initiatives.anonymise", f"{call.title} — bài {entry.code}",
                     "Thay bản cho giám khảo bằng bản đã xóa tên tác giả", label="Ẩn danh tài liệu sáng kiến")


def withdraw_entry(deployment, call: Call, entry: Entry, *, actor: str | None, reason: str) -> None:
    """The secretary withdraws an entry (a duplicate, an ineligible author); it is no longer judged."""
    with write_transaction(deployment.db) as db:
        db.execute("update initiative_entries set status = 'withdrawn' where id = ?", [entry.id])
        db.execute("delete from initiative_awards where entry_id = ?", [entry.id])
        audit.record(db, actor, "initiatives.entry_withdraw", f"{call.title} — bài {entry.code}", reason[:500],
                     label="Loại bài dự thi viết sáng kiến")


_ENTRY_COLUMNS = ("id, call_id, code, title, category, entrant_kind, unit_id, authors, contact_email, contact_phone, "
                  "summary, status, finalist, submitted_at, updated_at, erased_at")


def _rows(db, sql: str, args) -> list[Entry]:
    cursor = db.execute(sql, args)
    keys = [d[0] for d in cursor.description]
    return [Entry.from_row(dict(zip(keys, row))) for row in cursor]


def get_entry(db, entry_id: int) -> Entry | None:
    found = _rows(db, f"select {_ENTRY_COLUMNS} from initiative_entries where id = ?", [entry_id])
    return found[0] if found else None


def entry_by_code(db, code: str) -> Entry | None:
    found = _rows(db, f"select {_ENTRY_COLUMNS} from initiative_entries where code = ?", [code])
    return found[0] if found else None


def entries_of(db, call_id: int, *, status: str | None = "submitted") -> list[Entry]:
    sql = f"select {_ENTRY_COLUMNS} from initiative_entries where call_id = ?"
    args: list[Any] = [call_id]
    if status:
        sql += " and status = ?"
        args.append(status)
    return _rows(db, sql + " order by id", args)


@attrs.frozen
class DocumentInfo:
    kind: str
    size: int
    text: str
    names_found: tuple[str, ...]
    uploaded_at: str


def document_info(db, entry_id: int) -> DocumentInfo | None:
    row = db.execute("select kind, size, text, names_found, uploaded_at from initiative_documents where entry_id = ?",
                     [entry_id]).fetchone()
    if row is None:
        return None
    return DocumentInfo(row[0], row[1], row[2] or "", tuple(json.loads(row[3] or "[]")), row[4])


def document_bytes(db, entry_id: int, which: str) -> tuple[str, bytes] | None:
    """(kind, bytes) of the ``original`` or the judges' ``blind`` copy."""
    column = {"original": "original", "blind": "blind"}[which]
    row = db.execute(f"select kind, {column} from initiative_documents where entry_id = ?", [entry_id]).fetchone()
    return (row[0], row[1]) if row and row[1] is not None else None


def similar_pairs(db, call_id: int) -> list[tuple[int, int, float]]:
    return [tuple(r) for r in db.execute(
        "select entry_a, entry_b, similarity from initiative_similar where call_id = ? order by similarity desc",
        [call_id])]
