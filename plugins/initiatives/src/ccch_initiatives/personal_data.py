"""Authors' personal data (Decree 13/2023/NĐ-CP): erase on request, erase after the retention time.

An entry holds its authors' names, a contact e-mail address and phone number, and the original
document (whose metadata may name its writer). Erasing an entry's personal data blanks the names
and the contact, drops the keyed hashes, and replaces the original document by the judges' copy
(without metadata); the entry, its scores and its award stay, anonymous.

A person is found by the keyed hash of their e-mail address or phone number (purpose
``initiatives-contact``), never by comparing clear text. Retention: ``retention_days`` after the
call closed, every entry's contact and original document are erased, and the authors' names of
entries that won no award; the names on a published award are a public record and stay.
"""

from __future__ import annotations

import datetime as dt
import json

from ccch_core import audit
from ccch_core.privacy import Erasure, describe_person, keyed_hash
from ccch_core.storage import utc_now_iso, write_transaction

from .calls import list_calls
from .entries import HASH_PURPOSE


def _erase(db, entry_id: int, stamp: str, *, keep_names: bool = False) -> None:
    if not keep_names:
        authors = json.loads(db.execute("select authors from initiative_entries where id = ?",
                                        [entry_id]).fetchone()[0] or "[]")
        db.execute("update initiative_entries set authors = ? where id = ?",
                   [json.dumps([{"name": "", "unit_id": a.get("unit_id")} for a in authors]), entry_id])
    db.execute("update initiative_entries set contact_email = null, contact_phone = null, contact_hashes = null, "
               "erased_at = ? where id = ?", [stamp, entry_id])
    db.execute("update initiative_documents set original = coalesce(blind, x''), names_found = '[]' "
               "where entry_id = ?", [entry_id])


def erase_person(deployment, phone: str | None, email: str | None, dry_run: bool,
                 actor: str | None) -> list[Erasure]:
    wanted = [keyed_hash(deployment.secret_key, HASH_PURPOSE, v) for v in (email, phone) if v]
    if not wanted:
        return []
    db = deployment.db
    found = []
    for entry_id, code, hashes, title in db.execute(
            "select id, code, contact_hashes, title from initiative_entries where contact_hashes is not null"):
        if set(hashes.split()) & set(wanted):
            found.append((entry_id, code, title))
    lines = [Erasure(f"Bài dự thi viết sáng kiến {code} “{title[:80]}”: họ tên tác giả, thư điện tử, số điện thoại, "
                     "bản gốc tài liệu; bài và điểm chấm giữ lại ẩn danh") for _, code, title in found]
    if dry_run or not found:
        return lines
    stamp = utc_now_iso()
    with write_transaction(db):
        for entry_id, code, _ in found:
            _erase(db, entry_id, stamp)
            audit.record(db, actor, "initiatives.erase", f"Bài {code}",
                         f"Xóa dữ liệu cá nhân theo yêu cầu ({describe_person(phone, None, email)})",
                         label="Xóa dữ liệu cá nhân tác giả sáng kiến")
    return lines


def purge_expired(deployment, now: dt.datetime, dry_run: bool, actor: str | None) -> list[Erasure]:
    db = deployment.db
    out = []
    for call in list_calls(db):
        limit = call.definition.closes_at + dt.timedelta(days=call.definition.retention_days)
        if now < limit:
            continue
        rows = db.execute("select e.id, exists (select 1 from initiative_awards w where w.entry_id = e.id) and "
                          "c.results_published_at is not null from initiative_entries e join initiative_calls c "
                          "on c.id = e.call_id where e.call_id = ? and e.erased_at is null", [call.id]).fetchall()
        if not rows:
            continue
        out.append(Erasure(f"Cuộc thi “{call.title}”: thông tin liên hệ, bản gốc tài liệu và họ tên tác giả các bài "
                           f"không đạt giải, quá {call.definition.retention_days} ngày sau hạn nộp bài",
                           count=len(rows)))
        if dry_run:
            continue
        stamp = utc_now_iso(now)
        with write_transaction(db):
            for entry_id, awarded in rows:
                _erase(db, entry_id, stamp, keep_names=bool(awarded))
            audit.record(db, actor, "initiatives.purge", call.title, f"{len(rows)} bài",
                         label="Xóa dữ liệu cá nhân sáng kiến hết thời hạn lưu trữ")
    return out
