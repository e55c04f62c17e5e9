"""Items and their routing: ask, triage (assign, refuse, merge), transfer, draft, approve.

Every action is one write transaction holding the change, its event (the item's history), its
audit-log row (:mod:`ccch_core.audit`) and the messages it sends (:func:`ccch_core.messages.
queue_message`): stored together or not at all. Who may do what is checked by the callers (the
web pages, :mod:`.roles`); the functions here check the item's state.

States: ``new`` (received, waiting for triage) → ``assigned`` (a unit owes the answer) →
``drafted`` (the unit's draft waits for its leader) → ``answered`` (approved: published or sent
privately). ``refused`` (with a reason) and ``merged`` (a duplicate of another item) end an item.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator

import attrs
from sqlite_utils import Database

from ccch_core import audit
from ccch_core.contacts import contacts_of
from ccch_core.messages import ChannelUnavailable, DailyCapReached, queue_message
from ccch_core.periods import to_local, utc_now
from ccch_core.privacy import keyed_hash
from ccch_core.ratelimit import Limit, hit
from ccch_core.storage import utc_now_iso, write_transaction
from ccch_core.text import nfc, strip_diacritics

from .settings import KIND_LABELS, FeedbackSettings, settings_of
from .workdays import calendar_of

OPEN_STATES = ("new", "assigned", "drafted")
STATUS_LABELS = {
    "new": "Đã tiếp nhận, đang phân loại",
    "assigned": "Đang xử lý",
    "drafted": "Đang chờ lãnh đạo duyệt",
    "answered": "Đã trả lời",
    "refused": "Từ chối tiếp nhận",
    "merged": "Đã gộp với câu hỏi trùng nội dung",
}
PHONE_PURPOSE = "feedback-contact-phone"
EMAIL_PURPOSE = "feedback-contact-email"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
CODE_PATTERN = re.compile(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")

ACTION_LABELS = {
    "feedback.ask": "Tiếp nhận câu hỏi, phản ánh, kiến nghị",
    "feedback.assign": "Giao đơn vị trả lời câu hỏi, phản ánh",
    "feedback.transfer": "Chuyển câu hỏi, phản ánh sang đơn vị khác",
    "feedback.draft": "Soạn dự thảo trả lời",
    "feedback.return": "Trả lại dự thảo trả lời",
    "feedback.approve": "Duyệt và gửi câu trả lời",
    "feedback.refuse": "Từ chối câu hỏi, phản ánh",
    "feedback.merge": "Gộp câu hỏi trùng nội dung",
    "feedback.unflag": "Bỏ đánh dấu kiểm duyệt",
    "feedback.leader": "Đặt hoặc bỏ lãnh đạo duyệt trả lời",
    "feedback.erase": "Xóa thông tin liên hệ người hỏi",
    "feedback.purge": "Xóa thông tin liên hệ hết thời hạn lưu trữ",
    "feedback.remind": "Nhắc hạn và báo quá hạn trả lời",
    "feedback.place": "Tạo nơi đặt poster trang gửi câu hỏi",
    "feedback.retire": "Gỡ poster trang gửi câu hỏi",
}
EVENT_TEXTS = {
    "ask": "Đã tiếp nhận",
    "assign": "Đã giao cho {unit}",
    "rule": "Đã giao cho {unit} theo lĩnh vực",
    "transfer": "Đã chuyển sang {unit}",
    "draft": "Đơn vị đã soạn dự thảo trả lời",
    "return": "Lãnh đạo đơn vị trả lại dự thảo",
    "approve": "Đã trả lời",
    "refuse": "Từ chối tiếp nhận",
    "merge": "Đã gộp với câu hỏi cùng nội dung",
    "unflag": "Đã kiểm duyệt nội dung",
}


class FeedbackError(ValueError):
    """A refused action; ``field`` names the form field (or ``item``), the message is Vietnamese."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@attrs.frozen
class Item:
    """One question, feedback or petition (a row of ``feedback_items``)."""

    id: int
    code: str
    kind: str
    requester: str
    field: str | None
    about_unit: str | None
    unit_id: str | None
    status: str
    title: str
    body: str
    public_wanted: bool
    flagged: bool
    flag_reason: str | None
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    contact_consent: bool
    placement: str | None
    merged_into: int | None
    asked_count: int
    draft: str | None
    drafted_by: str | None
    answer: str | None
    answered_by: str | None
    answered_at: str | None
    answered_day: str | None
    on_time: bool | None
    published: bool
    public_title: str | None
    public_body: str | None
    public_answer: str | None
    refusal_reason: str | None
    received_at: str
    received_day: str
    due_day: str

    @classmethod
    def from_row(cls, row) -> Item:
        """An item from a ``feedback_items`` row (a mapping)."""
        names = attrs.fields_dict(cls)
        values = {k: row[k] for k in names}
        for key in ("public_wanted", "flagged", "contact_consent", "published"):
            values[key] = bool(values[key])
        if values["on_time"] is not None:
            values["on_time"] = bool(values["on_time"])
        return cls(**values)

    @property
    def is_open(self) -> bool:
        """Whether a unit still owes the answer."""
        return self.status in OPEN_STATES

    @property
    def status_label(self) -> str:
        """The status in Vietnamese."""
        return STATUS_LABELS[self.status]

    @property
    def kind_label(self) -> str:
        """The kind in Vietnamese."""
        return KIND_LABELS[self.kind]

    @property
    def has_contact(self) -> bool:
        """Whether the person left a phone number or e-mail address (with consent)."""
        return bool(self.contact_consent and (self.contact_phone or self.contact_email))

    def overdue(self, today: dt.date) -> bool:
        """Whether the item is still open after its due day."""
        return self.is_open and today.isoformat() > self.due_day


@attrs.frozen
class Photo:
    """A photo as the form received it, already checked and re-encoded."""

    media_type: str
    width: int
    height: int
    data: bytes


@attrs.frozen
class Question:
    """What the public form sends, checked (see :mod:`.forms`)."""

    kind: str
    requester: str
    title: str
    body: str
    field: str | None = None
    about_unit: str | None = None
    public_wanted: bool = True
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    contact_consent: bool = False
    photos: tuple[Photo, ...] = ()
    placement: str | None = None
    flag_reason: str | None = None
    sid: str | None = None
    """The form's submission id: the same form sent twice stores one item."""


def today_local(now: dt.datetime | None = None) -> dt.date:
    """The Vietnam calendar day of ``now`` (default: now)."""
    return to_local(now or utc_now()).date()


def fold_text(text: str) -> str:
    """Text as the search index holds it: no tones, đ as d, lower case (``"Đăng ký" -> "dang ky"``)."""
    return strip_diacritics(nfc(text)).lower()


def new_code() -> str:
    """A tracking code: 10 characters of an alphabet without 0/O and 1/I (about 2⁵⁰ codes)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str | None) -> str | None:
    """A tracking code as typed (spaces, dashes, lower case allowed), or None when it is not one."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    code = re.sub(r"[\s-]", "", text).upper()
    return code if CODE_PATTERN.fullmatch(code) else None


def format_code(code: str) -> str:
    """A code as shown: ``ABCDE-FGHJK``."""
    return f"{code[:5]}-{code[5:]}"


# -- reading --------------------------------------------------------------------------------------


def get_item(db: Database, item_id: int) -> Item | None:
    """The item with this id, or None."""
    return _item(db.execute("select * from feedback_items where id = ?", [item_id]))


def item_by_code(db: Database, code: str) -> Item | None:
    """The item with this tracking code, or None."""
    return _item(db.execute("select * from feedback_items where code = ?", [code]))


def _item(cursor) -> Item | None:
    row = cursor.fetchone()
    if row is None:
        return None
    return Item.from_row(dict(zip((d[0] for d in cursor.description), row, strict=True)))


def _rows(db: Database, sql: str, params=()) -> Iterator[dict]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def list_items(db: Database, *, statuses=None, units=None, overdue_on: dt.date | None = None,
               flagged: bool | None = None, limit: int = 50, offset: int = 0) -> list[Item]:
    """Items for the officers' list, oldest due first. ``units``: only items assigned to these
    units (None: all). ``overdue_on``: only open items due before that day."""
    where, params = [], []
    if statuses:
        where.append(f"status in ({', '.join('?' for _ in statuses)})")
        params.extend(statuses)
    if units is not None:
        if not units:
            return []
        where.append(f"unit_id in ({', '.join('?' for _ in units)})")
        params.extend(units)
    if overdue_on is not None:
        where.append("status in ('new', 'assigned', 'drafted') and due_day < ?")
        params.append(overdue_on.isoformat())
    if flagged is not None:
        where.append("flagged = ?")
        params.append(int(flagged))
    sql = "select * from feedback_items" + (" where " + " and ".join(where) if where else "")
    sql += " order by case when status in ('new', 'assigned', 'drafted') then 0 else 1 end, due_day, id limit ? offset ?"
    return [Item.from_row(r) for r in _rows(db, sql, [*params, limit, offset])]


def events(db: Database, item_id: int, *, public_only: bool = False) -> list[dict]:
    """The item's history, oldest first."""
    sql = "select at, actor, action, note, public from feedback_events where item_id = ?"
    if public_only:
        sql += " and public = 1"
    return list(_rows(db, sql + " order by id", [item_id]))


def photos_of(db: Database, item_id: int) -> list[dict]:
    """The item's photos without their data (seq, media type, size)."""
    return list(_rows(db, "select seq, media_type, width, height from feedback_photos where item_id = ? order by seq",
                      [item_id]))


def photo_data(db: Database, item_id: int, seq: int) -> tuple[str, bytes] | None:
    """One photo's media type and bytes."""
    row = db.execute("select media_type, data from feedback_photos where item_id = ? and seq = ?",
                     [item_id, seq]).fetchone()
    return (row[0], row[1]) if row else None


# -- writing helpers ------------------------------------------------------------------------------


def _event(db: Database, item_id: int, actor: str | None, action: str, note: str | None = None, *,
           public: bool = True, now: dt.datetime | None = None) -> None:
    db.execute("insert into feedback_events (item_id, at, actor, action, note, public) values (?, ?, ?, ?, ?, ?)",
               [item_id, utc_now_iso(now), actor, action, note, int(public)])


def _audit(db: Database, actor: str | None, action: str, item: Item | int, detail: str | None = None) -> None:
    code = item.code if isinstance(item, Item) else str(item)
    audit.record(db, actor, action, f"Câu hỏi/phản ánh {code}", detail, label=ACTION_LABELS[action])


def _unit_name(dep, unit_id: str | None) -> str:
    if not unit_id:
        return "–"
    plan = dep.plan
    return plan.unit(unit_id).name if plan.has_unit(unit_id) else unit_id


def notify(dep, *, channel: str, address: str, template: str, params: dict, key: str,
           unit_id: str | None = None) -> bool:
    """Queue one message in the caller's transaction; False when the deployment has no sender for
    the channel or the day's cap is used up (the action goes ahead; the officers' pages say so)."""
    try:
        queue_message(dep, channel=channel, address=address, template=template, params=params,
                      idempotency_key=key, unit_id=unit_id, source="feedback")
    except (ChannelUnavailable, DailyCapReached):
        return False
    return True


def notify_unit(dep, unit_id: str, template: str, params: dict, key: str) -> int:
    """Queue a message to each contact of ``unit_id`` (``ccch contacts``); how many were queued."""
    sent = 0
    for contact in contacts_of(dep.db, unit_id):
        sent += notify(dep, channel=contact.channel, address=contact.address, template=template, params=params,
                       key=f"{key}:{contact.id}", unit_id=unit_id)
    return sent


def notify_person(dep, item: Item, template: str, params: dict, key: str) -> int:
    """Queue a message to the person who asked (SMS to their phone, e-mail to their address), if
    they left contact details with consent; how many were queued."""
    if not item.contact_consent:
        return 0
    sent = 0
    if item.contact_phone:
        sent += notify(dep, channel="sms", address=item.contact_phone, template=template, params=params,
                       key=f"{key}:sms", unit_id=item.unit_id)
    if item.contact_email:
        sent += notify(dep, channel="email", address=item.contact_email, template=template, params=params,
                       key=f"{key}:email", unit_id=item.unit_id)
    return sent


def status_url(dep, item: Item) -> str:
    """The absolute URL of the item's status page (for messages)."""
    return f"{dep.public_base_url.rstrip('/')}{settings_of(dep).public_prefix}/theo-doi/{item.code}"


# -- asking ---------------------------------------------------------------------------------------


class Throttled(Exception):
    """Too many items from one address (the public form answers the same refusal as the honeypot)."""


def ask(dep, question: Question, *, address_hash: str | None = None, now: dt.datetime | None = None) -> Item:
    """Store a new item (received now) and route it: to the unit a rule names for its field, else to
    the triage unit. Raises :class:`Throttled` when ``address_hash`` is over its limit."""
    settings = settings_of(dep)
    now = now or utc_now()
    day = today_local(now)
    due = calendar_of(settings).add_working_days(day, settings.limit_for(question.kind))
    rule_unit = settings.rule_for(question.field)
    db = dep.db
    secret = dep.secret_key
    phone_hash = keyed_hash(secret, PHONE_PURPOSE, question.contact_phone) if question.contact_phone else None
    email_hash = keyed_hash(secret, EMAIL_PURPOSE, question.contact_email) if question.contact_email else None
    at = utc_now_iso(now)
    with write_transaction(db):
        if address_hash is not None and settings.asks_per_address_per_hour:
            decision = hit(db, "feedback-ask", address_hash, Limit(settings.asks_per_address_per_hour, 3600), now)
            if not decision.allowed:
                raise Throttled()
        if question.sid:
            row = db.execute("select id from feedback_items where sid = ?", [question.sid]).fetchone()
            if row is not None:
                return get_item(db, row[0])
        for _ in range(5):
            code = new_code()
            if db.execute("select 1 from feedback_items where code = ?", [code]).fetchone() is None:
                break
        status = "assigned" if rule_unit and not question.flag_reason else "new"
        cursor = db.execute(
            "insert into feedback_items (code, kind, requester, field, about_unit, unit_id, status, title, body, "
            "public_wanted, flagged, flag_reason, contact_name, contact_phone, contact_email, contact_consent, "
            "phone_hash, email_hash, placement, received_at, received_day, due_day, address_hash, updated_at, sid) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [code, question.kind, question.requester, question.field, question.about_unit,
             rule_unit if status == "assigned" else None, status, question.title, question.body,
             int(question.public_wanted), int(bool(question.flag_reason)), question.flag_reason,
             question.contact_name, question.contact_phone, question.contact_email, int(question.contact_consent),
             phone_hash, email_hash, question.placement, at, day.isoformat(), due.isoformat(), address_hash, at,
             question.sid])
        item_id = cursor.lastrowid
        for seq, photo in enumerate(question.photos, start=1):
            db.execute("insert into feedback_photos (item_id, seq, media_type, width, height, data) "
                       "values (?, ?, ?, ?, ?, ?)", [item_id, seq, photo.media_type, photo.width, photo.height,
                                                    photo.data])
        _event(db, item_id, None, "ask", now=now)
        if question.flag_reason:
            _event(db, item_id, None, "flag", question.flag_reason, public=False, now=now)
        _audit(db, None, "feedback.ask", code, f"{KIND_LABELS[question.kind]}; hạn {due.isoformat()}")
        item = get_item(db, item_id)
        params = {"code": format_code(code), "title": _short(question.title), "due": _vn_day(due),
                  "url": _officer_url(dep, item)}
        if status == "assigned":
            _event(db, item_id, None, "rule", _unit_name(dep, rule_unit), now=now)
            _audit(db, None, "feedback.assign", code, f"theo lĩnh vực {question.field} → {rule_unit}")
            notify_unit(dep, rule_unit, "question_assigned", _assigned_params(dep, item, rule_unit),
                        f"feedback:assigned:{code}:{rule_unit}")
        else:
            notify_unit(dep, settings.triage_unit, "feedback.received", params, f"feedback:received:{code}")
        notify_person(dep, item, "feedback.ack", {"code": format_code(code), "due": _vn_day(due),
                                                  "url": status_url(dep, item)}, f"feedback:ack:{code}")
    return item


def _assigned_params(dep, item: Item, unit_id: str) -> dict:
    """The parameters of the core's ``question_assigned`` message."""
    return {"unit_name": _unit_name(dep, unit_id), "reference": format_code(item.code), "title": _short(item.title),
            "due_date": _vn_day(item.due_day), "link": _officer_url(dep, item)}


def _short(text: str, size: int = 80) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _vn_day(day: dt.date | str) -> str:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return day.strftime("%d/%m/%Y")


def _officer_url(dep, item: Item) -> str:
    return f"{dep.public_base_url.rstrip('/')}/phan-anh/{item.id}"


# -- routing --------------------------------------------------------------------------------------


def _require(db: Database, item_id: int, states: tuple[str, ...], what: str) -> Item:
    item = get_item(db, item_id)
    if item is None:
        raise FeedbackError("item", "Không có câu hỏi, phản ánh này.")
    if item.status not in states:
        raise FeedbackError("item", f"Không thể {what}: câu hỏi đang ở trạng thái “{item.status_label}”.")
    return item


def _check_unit(dep, unit_id: str | None) -> str:
    if not unit_id or not dep.plan.has_unit(unit_id):
        raise FeedbackError("don-vi", "Chọn một đơn vị có trong kế hoạch.")
    return unit_id


def _text(value: str | None, field: str, what: str, limit: int = 10_000) -> str:
    text = nfc(value or "").strip()
    if not text:
        raise FeedbackError(field, f"Nhập {what}.")
    if len(text) > limit:
        raise FeedbackError(field, f"{what.capitalize()} dài quá {limit:,} ký tự.".replace(",", "."))
    return text


def assign(dep, item_id: int, unit_id: str, actor: str, note: str | None = None, *,
           now: dt.datetime | None = None) -> Item:
    """Triage: give a new item to the unit that owes the answer."""
    unit_id = _check_unit(dep, unit_id)
    db = dep.db
    with write_transaction(db):
        item = _require(db, item_id, ("new",), "giao đơn vị")
        db.execute("update feedback_items set status = 'assigned', unit_id = ?, updated_at = ? where id = ?",
                   [unit_id, utc_now_iso(now), item_id])
        _event(db, item_id, actor, "assign", _unit_name(dep, unit_id), now=now)
        _audit(db, actor, "feedback.assign", item, f"→ {unit_id}" + (f"; {note}" if note else ""))
        notify_unit(dep, unit_id, "question_assigned", _assigned_params(dep, item, unit_id),
                    f"feedback:assigned:{item.code}:{unit_id}")
    return get_item(db, item_id)


def transfer(dep, item_id: int, unit_id: str, actor: str, reason: str, *, now: dt.datetime | None = None) -> Item:
    """Move an item to another unit (it is not this unit's to answer); the due day stays, a
    draft is dropped."""
    unit_id = _check_unit(dep, unit_id)
    reason = _text(reason, "ly-do", "lý do chuyển", 1000)
    db = dep.db
    with write_transaction(db):
        item = _require(db, item_id, ("assigned", "drafted"), "chuyển đơn vị")
        if unit_id == item.unit_id:
            raise FeedbackError("don-vi", "Câu hỏi đang ở chính đơn vị này; chọn đơn vị khác.")
        db.execute("update feedback_items set status = 'assigned', unit_id = ?, draft = null, drafted_by = null, "
                   "drafted_at = null, updated_at = ? where id = ?", [unit_id, utc_now_iso(now), item_id])
        _event(db, item_id, actor, "transfer", _unit_name(dep, unit_id), now=now)
        _event(db, item_id, actor, "transfer_reason", reason, public=False, now=now)
        _audit(db, actor, "feedback.transfer", item, f"{item.unit_id} → {unit_id}: {reason}")
        notify_unit(dep, unit_id, "question_assigned", _assigned_params(dep, item, unit_id),
                    f"feedback:assigned:{item.code}:{unit_id}")
    return get_item(db, item_id)


def save_draft(dep, item_id: int, text: str, actor: str, *, now: dt.datetime | None = None) -> Item:
    """The unit's draft answer, waiting for its leader's approval."""
    text = _text(text, "tra-loi", "nội dung trả lời")
    db = dep.db
    with write_transaction(db):
        item = _require(db, item_id, ("assigned", "drafted"), "soạn trả lời")
        at = utc_now_iso(now)
        db.execute("update feedback_items set status = 'drafted', draft = ?, drafted_by = ?, drafted_at = ?, "
                   "updated_at = ? where id = ?", [text, actor, at, at, item_id])
        _event(db, item_id, actor, "draft", now=now)
        _audit(db, actor, "feedback.draft", item)
    return get_item(db, item_id)


def return_draft(dep, item_id: int, actor: str, note: str, *, now: dt.datetime | None = None) -> Item:
    """The leader sends the draft back to be reworked (the note says why)."""
    note = _text(note, "ghi-chu", "ý kiến của lãnh đạo", 2000)
    db = dep.db
    with write_transaction(db):
        item = _require(db, item_id, ("drafted",), "trả lại dự thảo")
        db.execute("update feedback_items set status = 'assigned', updated_at = ? where id = ?",
                   [utc_now_iso(now), item_id])
        _event(db, item_id, actor, "return", note, public=False, now=now)
        _audit(db, actor, "feedback.return", item, note)
    return get_item(db, item_id)


PERSONAL = [
    re.compile(r"[^\s<>()\[\],;:\"'`]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}"),
    re.compile(r"(?<![\w+/.=\-])(?:\+?84|0)(?:[ .\-]?\d){8,10}(?![\w/])"),
    re.compile(r"(?<!\d)\d{12}(?!\d)"),
    re.compile(r"(?<!\d)\d{9}(?!\d)"),
]
HIDDEN = "[đã ẩn]"


def redact(text: str | None, names: tuple[str, ...] = ()) -> str:
    """``text`` without personal data: e-mail addresses, phone numbers, citizen ID numbers (12 and
    9 digits) and the given names (the asker's), each replaced by ``[đã ẩn]``."""
    if not text:
        return ""
    out = nfc(text)
    for pattern in PERSONAL:
        out = pattern.sub(HIDDEN, out)
    for name in names:
        name = nfc(name or "").strip()
        if len(name) >= 2:
            out = re.sub(re.escape(name), HIDDEN, out, flags=re.IGNORECASE)
    return out


def approve(dep, item_id: int, actor: str, *, now: dt.datetime | None = None) -> Item:
    """The leader approves the draft: the answer goes out — published (personal data removed) when
    the person agreed to publication, else sent to them privately through the outbox. People whose
    duplicates were merged into this item are told as well."""
    now = now or utc_now()
    db = dep.db
    with write_transaction(db):
        item = _require(db, item_id, ("drafted",), "duyệt trả lời")
        if item.flagged:
            raise FeedbackError("item", "Nội dung đang chờ kiểm duyệt (có từ ngữ không phù hợp); "
                                        "Phòng tiếp nhận cần kiểm duyệt trước khi trả lời.")
        if not item.public_wanted and not item.has_contact:
            raise FeedbackError("item", "Người hỏi muốn nhận trả lời riêng nhưng không còn thông tin liên hệ.")
        day = today_local(now)
        on_time = day.isoformat() <= item.due_day
        names = (item.contact_name,) if item.contact_name else ()
        published = item.public_wanted
        public = (redact(item.title, names), redact(item.body, names), redact(item.draft, names)) if published else (
            None, None, None)
        db.execute("update feedback_items set status = 'answered', answer = draft, answered_by = ?, answered_at = ?, "
                   "answered_day = ?, on_time = ?, published = ?, public_title = ?, public_body = ?, "
                   "public_answer = ?, updated_at = ? where id = ?",
                   [actor, utc_now_iso(now), day.isoformat(), int(on_time), int(published), *public,
                    utc_now_iso(now), item_id])
        if published:
            index_item(db, item_id, *public)
        _event(db, item_id, actor, "approve", "công khai" if published else "trả lời riêng", now=now)
        _audit(db, actor, "feedback.approve", item, ("công khai" if published else "trả lời riêng")
               + ("; đúng hạn" if on_time else "; quá hạn"))
        item = get_item(db, item_id)
        url = status_url(dep, item)
        if published:
            template, params = "answer_ready", {"reference": format_code(item.code), "link": url}
        else:
            template, params = "feedback.answer", {"code": format_code(item.code), "answer": item.answer, "url": url}
        notify_person(dep, item, template, params, f"feedback:answer:{item.code}")
        if published:
            for dup in _merged_into(db, item_id):
                notify_person(dep, dup, "answer_ready", {"reference": format_code(dup.code),
                                                         "link": status_url(dep, item)}, f"feedback:answer:{dup.code}")
    return item


def _merged_into(db: Database, item_id: int) -> list[Item]:
    return [Item.from_row(r) for r in _rows(db, "select * from feedback_items where merged_into = ?", [item_id])]


def refuse(dep, item_id: int, actor: str, reason: str, *, now: dt.datetime | None = None) -> Item:
    """Refuse an item with a reason (outside the scope of administrative procedures, a complaint
    that the Law on Complaints governs, offensive, no content…); the person is told the reason."""
    reason = _text(reason, "ly-do", "lý do từ chối", 1000)
    db = dep.db
    with write_transaction(db):
        item = _require(db, item_id, OPEN_STATES, "từ chối")
        db.execute("update feedback_items set status = 'refused', refusal_reason = ?, updated_at = ? where id = ?",
                   [reason, utc_now_iso(now), item_id])
        _event(db, item_id, actor, "refuse", reason, now=now)
        _audit(db, actor, "feedback.refuse", item, reason)
        notify_person(dep, item, "feedback.refused", {"code": format_code(item.code), "reason": reason,
                                                      "url": status_url(dep, item)}, f"feedback:refused:{item.code}")
    return get_item(db, item_id)


def merge(dep, item_id: int, into_id: int, actor: str, *, now: dt.datetime | None = None) -> Item:
    """Merge a duplicate into another item: the duplicate ends, the other counts one more asking
    ("most asked"), and whoever asked the duplicate is told when the other is answered."""
    if item_id == into_id:
        raise FeedbackError("gop-vao", "Không thể gộp một câu hỏi vào chính nó.")
    db = dep.db
    with write_transaction(db):
        item = _require(db, item_id, ("new", "assigned", "drafted"), "gộp")
        target = get_item(db, into_id)
        if target is None or target.status in ("refused", "merged"):
            raise FeedbackError("gop-vao", "Câu hỏi để gộp vào không có, đã bị từ chối hoặc đã được gộp.")
        db.execute("update feedback_items set status = 'merged', merged_into = ?, updated_at = ? where id = ?",
                   [into_id, utc_now_iso(now), item_id])
        db.execute("update feedback_items set merged_into = ? where merged_into = ?", [into_id, item_id])
        db.execute("update feedback_items set asked_count = asked_count + ?, updated_at = ? where id = ?",
                   [item.asked_count, utc_now_iso(now), into_id])
        _event(db, item_id, actor, "merge", format_code(target.code), now=now)
        _audit(db, actor, "feedback.merge", item, f"gộp vào {target.code}")
        if target.status == "answered" and target.published:
            notify_person(dep, item, "answer_ready", {"reference": format_code(item.code),
                                                      "link": status_url(dep, target)}, f"feedback:answer:{item.code}")
    return get_item(db, item_id)


def clear_flag(dep, item_id: int, actor: str, *, title: str | None = None, body: str | None = None,
               now: dt.datetime | None = None) -> Item:
    """Moderation: the triage office has read a flagged item (and may have reworded it for
    publication); it can now be routed and answered."""
    db = dep.db
    with write_transaction(db):
        item = _require(db, item_id, OPEN_STATES, "kiểm duyệt")
        new_title = _text(title, "tieu-de", "tiêu đề", 200) if title is not None else item.title
        new_body = _text(body, "noi-dung", "nội dung", 5000) if body is not None else item.body
        db.execute("update feedback_items set flagged = 0, title = ?, body = ?, updated_at = ? where id = ?",
                   [new_title, new_body, utc_now_iso(now), item_id])
        _event(db, item_id, actor, "unflag", public=False, now=now)
        _audit(db, actor, "feedback.unflag", item, "đã sửa nội dung" if (new_title, new_body) != (item.title, item.body)
               else None)
    return get_item(db, item_id)


def audit_placement(db: Database, actor: str | None, what: str, code: str) -> None:
    """A poster of the form made (``place``) or taken down (``retire``), in the audit log."""
    audit.record(db, actor, f"feedback.{what}", f"Nơi đặt poster {code}", label=ACTION_LABELS[f"feedback.{what}"])


# -- leaders --------------------------------------------------------------------------------------


def set_leader(dep, username: str, unit_id: str | None, actor: str) -> None:
    """Make ``username`` the approver (leader) for ``unit_id`` and the units below it; None removes."""
    db = dep.db
    with write_transaction(db):
        if unit_id is None:
            db.execute("delete from feedback_leaders where username = ?", [username])
        else:
            db.execute("insert into feedback_leaders (username, unit_id, added_at, added_by) values (?, ?, ?, ?) "
                       "on conflict (username) do update set unit_id = excluded.unit_id, added_at = excluded.added_at, "
                       "added_by = excluded.added_by", [username, unit_id, utc_now_iso(), actor])
        audit.record(db, actor, "feedback.leader", username, unit_id or "bỏ", label=ACTION_LABELS["feedback.leader"])


def leader_unit(db: Database, username: str) -> str | None:
    """The unit ``username`` approves answers for, or None."""
    row = db.execute("select unit_id from feedback_leaders where username = ?", [username]).fetchone()
    return row[0] if row else None


def list_leaders(db: Database) -> list[tuple[str, str]]:
    """(username, unit id) of every leader."""
    return [tuple(r) for r in db.execute("select username, unit_id from feedback_leaders order by unit_id, username")]


# -- search ---------------------------------------------------------------------------------------


def index_item(db: Database, item_id: int, title: str, body: str, answer: str) -> None:
    """Put a published item in the search index (inside the caller's transaction)."""
    db.execute("delete from feedback_search where rowid = ?", [item_id])
    db.execute("insert into feedback_search (rowid, text) values (?, ?)",
               [item_id, fold_text(f"{title}\n{body}\n{answer}")])


_WORD = re.compile(r"[a-z0-9]+")
MAX_QUERY_WORDS = 12
MAX_QUERY_CHARS = 200


def match_expression(query: str) -> str | None:
    """The FTS5 query of what a person typed: every word must be there, in any order, with or
    without tones (the last one may be the beginning of a word); None when nothing is searchable."""
    words = _WORD.findall(fold_text(query[:MAX_QUERY_CHARS]))[:MAX_QUERY_WORDS]
    if not words:
        return None
    parts = [f'"{w}"' for w in words[:-1]]
    parts.append(f'"{words[-1]}"*' if len(words[-1]) >= 3 else f'"{words[-1]}"')
    return " ".join(parts)


RANKED = 500
"""Search ranks at most this many matches, the newest (see :func:`search`)."""
PUBLIC_COLUMNS = ("id, code, kind, requester, field, unit_id, public_title, public_body, public_answer, "
                  "answered_at, asked_count")


def search(db: Database, query: str | None, *, field: str | None = None, unit_id: str | None = None,
           order: str = "recent", limit: int = 20, offset: int = 0) -> list[dict]:
    """Published items matching ``query`` (best first), or, without a query, the most recent or
    (``order="most"``) the most asked. ``field`` / ``unit_id`` narrow the list."""
    where, params = ["published = 1"], []
    if field:
        where.append("field = ?")
        params.append(field)
    if unit_id:
        where.append("unit_id = ?")
        params.append(unit_id)
    expression = match_expression(query) if query else None
    if expression:
        # The best of the newest RANKED matches by FTS5 rank: bm25 costs a little for every row it
        # ranks, and a common word matches a large share of the answers; past RANKED matches a
        # query is generic and the newest answers are the useful ones (docs/performance.md).
        sql = (f"select {PUBLIC_COLUMNS} from (select s.rowid as id, s.rank as rank from feedback_search s "
               f"join feedback_items i on i.id = s.rowid where feedback_search match ? and {' and '.join(where)} "
               f"order by s.rowid desc limit {RANKED}) m join feedback_items using (id) "
               "order by m.rank limit ? offset ?")
        return list(_rows(db, sql, [expression, *params, limit, offset]))
    if query and not expression:
        return []
    orderby = "asked_count desc, answered_at desc" if order == "most" else "answered_at desc"
    sql = f"select {PUBLIC_COLUMNS} from feedback_items where {' and '.join(where)} order by {orderby} limit ? offset ?"
    return list(_rows(db, sql, [*params, limit, offset]))


def published_item(db: Database, item_id: int) -> dict | None:
    """One published item's public columns."""
    rows = list(_rows(db, f"select {PUBLIC_COLUMNS} from feedback_items where id = ? and published = 1", [item_id]))
    return rows[0] if rows else None


# -- deadlines ------------------------------------------------------------------------------------


def remind(dep, *, now: dt.datetime | None = None, actor: str | None = None) -> dict[str, int]:
    """Reminders and escalation, as of ``now`` (run daily: ``ccch feedback remind``).

    Open items due within ``remind_days_before`` working days: a reminder to the responsible
    unit's contacts (the triage unit's for items not yet assigned). Open items past their due day:
    an overdue notice to the unit and an escalation to the triage unit, once per item and day.
    Idempotency keys make running it twice a day harmless."""
    settings: FeedbackSettings = settings_of(dep)
    calendar = calendar_of(settings)
    now = now or utc_now()
    today = today_local(now)
    horizon = calendar.add_working_days(today, settings.remind_days_before)
    db = dep.db
    counts = {"due_soon": 0, "overdue": 0, "messages": 0}
    rows = list(_rows(db, "select * from feedback_items where status in ('new', 'assigned', 'drafted') "
                          "and due_day <= ? order by due_day, id", [horizon.isoformat()]))
    with write_transaction(db):
        for row in rows:
            item = Item.from_row(row)
            unit = item.unit_id or settings.triage_unit
            params = {"code": format_code(item.code), "title": _short(item.title), "due": _vn_day(item.due_day),
                      "url": _officer_url(dep, item), "unit": _unit_name(dep, unit)}
            if item.due_day >= today.isoformat():
                counts["due_soon"] += 1
                counts["messages"] += notify_unit(dep, unit, "feedback.due_soon", params,
                                                  f"feedback:due-soon:{item.code}:{unit}")
            else:
                counts["overdue"] += 1
                key = f"feedback:overdue:{item.code}:{today.isoformat()}"
                counts["messages"] += notify_unit(dep, unit, "feedback.overdue", params, f"{key}:{unit}")
                if unit != settings.triage_unit:
                    counts["messages"] += notify_unit(dep, settings.triage_unit, "feedback.escalated", params,
                                                      f"{key}:escalate")
        if counts["due_soon"] or counts["overdue"]:
            audit.record(db, actor, "feedback.remind", today.isoformat(),
                         f"{counts['due_soon']} sắp đến hạn, {counts['overdue']} quá hạn, {counts['messages']} tin nhắn",
                         label=ACTION_LABELS["feedback.remind"])
    return counts


def overdue_by_unit(db: Database, today: dt.date) -> list[tuple[str | None, int]]:
    """(unit id or None for items not yet assigned, number of open items past their due day)."""
    return [tuple(r) for r in db.execute(
        "select unit_id, count(*) from feedback_items where status in ('new', 'assigned', 'drafted') "
        "and due_day < ? group by unit_id order by count(*) desc", [today.isoformat()])]
