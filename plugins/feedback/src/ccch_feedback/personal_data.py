"""Personal data (Decree 13/2023/NĐ-CP): the contact details a person left with consent — a
name, a phone number, an e-mail address — and their photos. Erased on request (found by the keyed
hash of the number or address, never by comparing clear text) and after
``contact_retention_days`` from the item's closing. The question, its answer and the counts stay,
without the person: numbers, addresses and their name are also masked in the text they wrote."""

from __future__ import annotations

import datetime as dt

from ccch_core import audit
from ccch_core.privacy import Erasure, keyed_hash
from ccch_core.storage import utc_now_iso, write_transaction

from .settings import settings_of
from .store import ACTION_LABELS, EMAIL_PURPOSE, PHONE_PURPOSE, format_code, redact

_ERASE = ("update feedback_items set contact_name = null, contact_phone = null, contact_email = null, "
          "phone_hash = null, email_hash = null, contact_consent = 0, address_hash = null, updated_at = ? where id = ?")


def _erase_item(db, item_id: int, now: dt.datetime | None = None) -> None:
    """Contact details and photos go; in what the person wrote (and the answers to it) phone
    numbers, e-mail addresses, ID numbers and their name are replaced by ``[đã ẩn]``."""
    row = db.execute("select contact_name, title, body, draft, answer from feedback_items where id = ?",
                     [item_id]).fetchone()
    if row is not None:
        names = (row[0],) if row[0] else ()
        db.execute("update feedback_items set title = ?, body = ?, draft = ?, answer = ? where id = ?",
                   [redact(row[1], names), redact(row[2], names), redact(row[3], names) if row[3] else None,
                    redact(row[4], names) if row[4] else None, item_id])
    db.execute(_ERASE, [utc_now_iso(now), item_id])
    db.execute("delete from feedback_photos where item_id = ?", [item_id])


def erase_person(deployment, phone, email, dry_run: bool, actor: str | None) -> list[Erasure]:
    """The items holding this phone number or e-mail address: found (dry run) or erased."""
    db = deployment.db
    secret = deployment.secret_key
    where, params = [], []
    if phone:
        where.append("phone_hash = ?")
        params.append(keyed_hash(secret, PHONE_PURPOSE, phone))
    if email:
        where.append("email_hash = ?")
        params.append(keyed_hash(secret, EMAIL_PURPOSE, email))
    if not where:
        return []
    rows = db.execute(f"select id, code from feedback_items where {' or '.join(where)} order by id", params).fetchall()
    out = [Erasure(f"Câu hỏi, phản ánh {format_code(code)}: họ tên, số điện thoại, thư điện tử, ảnh")
           for _, code in rows]
    if dry_run or not rows:
        return out
    with write_transaction(db):
        for item_id, code in rows:
            _erase_item(db, item_id)
            audit.record(db, actor, "feedback.erase", f"Câu hỏi/phản ánh {code}", "theo yêu cầu của người hỏi",
                         label=ACTION_LABELS["feedback.erase"])
    return out


def purge_expired(deployment, now: dt.datetime, dry_run: bool, actor: str | None) -> list[Erasure]:
    """Contact details and photos of items closed more than ``contact_retention_days`` ago."""
    days = settings_of(deployment).contact_retention_days
    cutoff = utc_now_iso(now - dt.timedelta(days=days))
    db = deployment.db
    rows = [r[0] for r in db.execute(
        "select id from feedback_items where status in ('answered', 'refused', 'merged') and updated_at < ? and "
        "(contact_name is not null or contact_phone is not null or contact_email is not null "
        "or exists (select 1 from feedback_photos p where p.item_id = feedback_items.id))", [cutoff])]
    if not rows:
        return []
    out = [Erasure(f"Thông tin liên hệ và ảnh của câu hỏi, phản ánh đã kết thúc quá {days} ngày", len(rows))]
    if dry_run:
        return out
    with write_transaction(db):
        for item_id in rows:
            _erase_item(db, item_id, now)
        audit.record(db, actor, "feedback.purge", f"{len(rows)} câu hỏi, phản ánh", f"quá {days} ngày",
                     label=ACTION_LABELS["feedback.purge"])
    return out
