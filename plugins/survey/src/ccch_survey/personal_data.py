"""Contact details citizens left with a survey answer (Decree 13/2023/NĐ-CP): erase on request,
erase after ``contact_retention_days``.

The survey's only personal data is ``survey_contacts``: a name and/or a phone number, stored only
when the citizen ticked the consent box. Answers are anonymous and stay as statistics (responses,
answers, tallies) when a contact is erased.

A person is found by the keyed hash of their phone number (purpose ``survey-phone``), never by
comparing the clear number. The submission path stores the clear number only (it is kept short on
purpose); :func:`hash_contacts` computes the missing hashes before every lookup, so the lookup
itself is an indexed hash comparison. A contact with a name and no phone number cannot be found
by number: officers delete it from the survey's contacts page ("Liên hệ").
"""

from __future__ import annotations

import datetime as dt

from ccch_core.privacy import Erasure, keyed_hash, mask_phone
from ccch_core.storage import utc_now_iso, write_transaction

from .actions import record
from .settings import settings_of

PURPOSE = "survey-phone"


def contact_phone_hash(deployment, phone: str) -> str:
    """The keyed hash of a normalised phone number, as stored in ``survey_contacts.phone_hash``."""
    return keyed_hash(deployment.secret_key, PURPOSE, phone)


def hash_contacts(deployment) -> int:
    """Store the keyed hash of every contact phone that has none yet (one short transaction; an
    indexed query finds them). Returns how many were hashed."""
    db = deployment.db
    with write_transaction(db):
        rows = db.execute("select response_id, phone from survey_contacts where phone is not null and "
                          "phone_hash is null").fetchall()
        db.conn.executemany("update survey_contacts set phone_hash = ? where response_id = ?",
                            [(contact_phone_hash(deployment, phone), rid) for rid, phone in rows])
    return len(rows)


def _pending_matches(deployment, wanted: str) -> list[int]:
    """Contacts not hashed yet whose number has the hash ``wanted`` (a dry run writes nothing, so
    it hashes them here instead of storing the hashes)."""
    return [rid for rid, phone in deployment.db.execute(
        "select response_id, phone from survey_contacts where phone is not null and phone_hash is null")
        if contact_phone_hash(deployment, phone) == wanted]


def find_contacts(deployment, phone: str, *, store_hashes: bool = True) -> list[dict]:
    """The contacts left with this (normalised) phone number, newest first: response id, survey,
    unit, time, and what they hold."""
    wanted = contact_phone_hash(deployment, phone)
    if store_hashes:
        hash_contacts(deployment)
        extra: list[int] = []
    else:
        extra = _pending_matches(deployment, wanted)
    db = deployment.db
    ids = [r[0] for r in db.execute("select response_id from survey_contacts where phone_hash = ?", [wanted])]
    ids = sorted(set(ids) | set(extra), reverse=True)
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    cursor = db.execute(
        "select c.response_id, c.name is not null and c.name != '' as has_name, c.phone, c.consent_at, r.survey_id, "
        "s.title, r.unit_id from survey_contacts c join survey_responses r on r.id = c.response_id "
        f"left join survey_surveys s on s.id = r.survey_id where c.response_id in ({marks}) "
        "order by c.response_id desc", ids)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def _line(contact: dict) -> str:
    held = (["họ tên"] if contact["has_name"] else []) + [f"số điện thoại {mask_phone(contact['phone'])}"]
    title = contact["title"] or contact["survey_id"]
    return (f"Thông tin liên hệ kèm phản hồi #{contact['response_id']} khảo sát “{title}”: {', '.join(held)}; "
            "câu trả lời được giữ lại ẩn danh")


def erase_person(deployment, phone: str | None, citizen_id: str | None, dry_run: bool,
                 actor: str | None) -> list[Erasure]:
    """The contacts left with this phone number (the survey never asks for a citizen ID number);
    erased unless ``dry_run``, each recorded in the audit log, the answers kept."""
    if not phone:
        return []
    found = find_contacts(deployment, phone, store_hashes=not dry_run)
    lines = [Erasure(_line(c)) for c in found]
    if dry_run or not found:
        return lines
    db = deployment.db
    with write_transaction(db):
        for contact in found:
            if db.execute("delete from survey_contacts where response_id = ?", [contact["response_id"]]).rowcount:
                record(db, actor, "survey.forget_contact",
                       f"Khảo sát {contact['survey_id']}, phản hồi #{contact['response_id']}",
                       "Xóa thông tin liên hệ theo yêu cầu; câu trả lời giữ lại ẩn danh")
    return lines


def purge_expired(deployment, now: dt.datetime, dry_run: bool, actor: str | None) -> list[Erasure]:
    """Erase contacts given more than ``contact_retention_days`` before ``now`` (indexed by consent
    time); also hashes new contact phones, so the daily run keeps lookups fast."""
    days = settings_of(deployment).contact_retention_days
    limit = utc_now_iso(now - dt.timedelta(days=days))
    db = deployment.db
    why = f"quá {days} ngày kể từ khi người dân để lại (trước {_day(now - dt.timedelta(days=days))})"
    if dry_run:
        n = db.execute("select count(*) from survey_contacts where consent_at < ?", [limit]).fetchone()[0]
    else:
        hash_contacts(deployment)
        with write_transaction(db):
            n = db.execute("delete from survey_contacts where consent_at < ?", [limit]).rowcount
            if n:
                record(db, actor, "survey.purge_contacts", "Thông tin liên hệ khảo sát",
                       f"{n} thông tin liên hệ; {why}")
    if not n:
        return []
    return [Erasure(f"{n} thông tin liên hệ người dân để lại khi trả lời khảo sát: {why}; câu trả lời được giữ lại "
                    "ẩn danh", n)]


def _day(instant: dt.datetime) -> str:
    from ccch_core.periods import to_local

    return to_local(instant).strftime("%d/%m/%Y")
