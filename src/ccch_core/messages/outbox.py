"""The outbox: messages queued in the caller's own write transaction, delivered later.

A plugin queues a message inside the transaction of the action it belongs to (a registration, a
question assigned to a unit): the action and its message commit together or not at all, and
nothing is sent from inside a request. The delivery side (:mod:`ccch_core.messages.delivery`)
takes due messages one at a time and hands them to the channel's sender.

States::

    queued ──claim──▶ sending ──gateway accepted──▶ sent
      ▲                  │ ──transient failure──▶ queued (later: exponential back-off)
      │                  │ ──permanent failure, or attempts used up──▶ failed
      └──retry── failed  └──sender killed──▶ (recovered) queued, same idempotency key
    queued ──cancel──▶ cancelled

A recipient's address and the template parameters are personal data: they are kept until
delivery plus ``retention_days``, then erased (``ccch privacy purge``); ``ccch privacy erase``
finds a person's messages by their address while it is kept (a keyed hash beside it would add
nothing but cost on the hot path; after erasure nothing of the person is left to find).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from sqlite_utils import Database

from .. import audit
from ..periods import VN_TZ
from ..privacy import PersonalDataError, keyed_hash, mask_phone, normalise_phone
from ..storage import utc_now_iso, write_transaction
from ..text import clean
from .base import CHANNELS, ChannelUnavailable, DailyCapReached, MessageError
from .settings import MessagingSettings
from .templates import (
    MessageTemplate,
    check_params,
    check_template,
    render,
    sms_segments,
    sms_text,
)

STATES: dict[str, str] = {
    "queued": "Đang chờ gửi",
    "sending": "Đang gửi",
    "sent": "Đã gửi",
    "failed": "Gửi không được",
    "cancelled": "Đã hủy",
}
"""Message states → their Vietnamese label."""

HASH_PURPOSE = "messages"
"""The keyed-hash purpose of recipients' addresses (:func:`ccch_core.privacy.keyed_hash`)."""

_EMAIL = re.compile(r"^[^@\s\"<>(),;:\\\[\]]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_MOBILE_FAST = re.compile(r"0[35789]\d{8}\Z")
_normalize = unicodedata.normalize
_time = time.time
_monotonic = time.monotonic
_PARAMS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# The JSON string of one text value, as _PARAMS_JSON writes it (the C function json uses itself):
# the parameters, all text once checked, are joined by hand, which is a third of the encoder's cost
# on the hot path (the encoder builds a new C encoder object per call).
_JSON_STRING = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring


def params_json(params: Mapping[str, str]) -> str:
    """``params`` (text values) as compact JSON, equal to ``json.dumps(params, ensure_ascii=False,
    separators=(",", ":"))``."""
    return "{" + ",".join([_JSON_STRING(k) + ":" + _JSON_STRING(v) for k, v in params.items()]) + "}"


_STAMP_CACHE: list = [None, ""]
"""(second, its ISO text): queue_message stamps many messages a second with the same text."""


def _stamp(now: dt.datetime | None) -> str:
    """``now`` (default: the current instant) to the second as stored: 2024-03-05T01:02:03+00:00."""
    second = int(time.time()) if now is None else int(now.timestamp())
    if _STAMP_CACHE[0] != second:
        _STAMP_CACHE[1] = dt.datetime.fromtimestamp(second, dt.UTC).isoformat()
        _STAMP_CACHE[0] = second
    return _STAMP_CACHE[1]


def normalise_email(text: str) -> str:
    """An e-mail address, trimmed, its domain in lower case; :class:`MessageError` otherwise."""
    value = clean(text or "")
    if not _EMAIL.match(value) or ".." in value:
        raise MessageError("address", f"“{value}” không phải địa chỉ thư điện tử hợp lệ (ví dụ: vanthu@ductho.gov.vn)")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def normalise_address(channel: str, address: str) -> str:
    """The address as stored and sent: an e-mail address, or a phone number as ``0912345678``."""
    if channel == "email":
        return normalise_email(address)
    if len(address) == 10 and address.isascii() and address.isdigit() and _MOBILE_FAST.match(address):
        return address  # already normalised (the usual case on hot paths)
    try:
        return normalise_phone(address)
    except PersonalDataError as exc:
        raise MessageError("address", str(exc)) from None


def mask_address(channel: str, address: str) -> str:
    """What lists show: ``0912***678``, ``v***@ductho.gov.vn``."""
    if channel == "email" and "@" in address:
        local, domain = address.rsplit("@", 1)
        return f"{local[:1]}***@{domain}"
    return mask_phone(address)


def address_hash(secret: str, channel: str, address: str) -> str:
    """The keyed hash by which erasure finds a unit contact's address (phones for SMS and Zalo
    share one)."""
    kind = "email" if channel == "email" else "phone"
    return keyed_hash(secret, f"{HASH_PURPOSE}:{kind}", address.casefold() if kind == "email" else address)


class Messaging:
    """A deployment's messaging: settings, templates and sender kinds (``deployment.messaging``)."""

    def __init__(self, settings: MessagingSettings, templates: Mapping[str, MessageTemplate],
                 sender_kinds: Mapping[str, Any], where: str = "ccch.toml"):
        self.settings = settings
        self.sender_kinds = dict(sender_kinds)
        problems = []
        merged: dict[str, MessageTemplate] = {}
        for key, template in templates.items():
            overrides = settings.templates.get(key)
            merged[key] = template.with_overrides(overrides) if overrides else template
            problems.extend(check_template(merged[key], f"{where}: messages.templates.{key}"))
        for key in settings.templates:
            if key not in templates:
                problems.append(f"{where}: messages.templates.{key}: no such template "
                                f"(templates: {', '.join(sorted(templates))})")
        for channel, table in settings.channels.items():
            kind = self.sender_kinds.get(table.sender)
            cw = f"{where}: messages.channels.{channel}"
            if kind is None:
                problems.append(f"{cw}.sender: no sender {table.sender!r} "
                                f"(senders: {', '.join(sorted(self.sender_kinds))})")
            elif channel not in kind.channels:
                problems.append(f"{cw}.sender: {table.sender!r} cannot send {channel} "
                                f"(it sends {', '.join(kind.channels)})")
            else:
                unknown = [k for k in table.options if k not in kind.keys]
                for key in unknown:
                    from .settings import _suggest

                    problems.append(f"{cw}.{key}: unknown key for sender {table.sender!r}"
                                    f"{_suggest(key, kind.keys)}")
        self.problems = problems
        self.templates = merged
        self._cap_reads: dict[str, tuple[int, float, bool]] = {}
        self._caps: dict[str, int | None] = {}
        self._hot: dict[tuple[str, str], tuple] = {}  # queue_message's look-up per (template, channel)

    def template(self, key: str) -> MessageTemplate:
        """The template ``key`` (with the deployment's overrides); :class:`MessageError` if unknown."""
        try:
            return self.templates[key]
        except KeyError:
            raise MessageError("template", f"no template {key!r} (templates: {', '.join(sorted(self.templates))})") from None

    def _hot_path(self, template: str, channel: str) -> tuple:
        """What :func:`queue_message` needs of ``template`` on ``channel``, worked out once: the
        template, its parameter names, (JSON text before each value, name) pairs, its purpose and
        that purpose's cap. :class:`MessageError` / :class:`ChannelUnavailable` as queueing says."""
        if channel not in self.settings.channels:
            if channel not in CHANNELS:
                raise MessageError("channel", f"unknown channel {channel!r} (channels: {', '.join(CHANNELS)})")
            raise ChannelUnavailable("channel", f"this deployment has no sender for {channel} "
                                                f"([messages.channels.{channel}] in ccch.toml)")
        tpl = self.template(template)
        pairs = tuple(("{" if i == 0 else ",") + _JSON_STRING(name) + ":" for i, name in enumerate(tpl.params))
        hot = (tpl, tpl.params, tuple(zip(pairs, tpl.params)), tpl.purpose_key, self.daily_cap(tpl.purpose_key))
        self._hot[(template, channel)] = hot
        return hot

    def channels(self) -> list[str]:
        """The channels this deployment has a sender for."""
        return list(self.settings.channels)

    def available(self, channel: str) -> bool:
        """Whether a message on ``channel`` can be delivered here."""
        return channel in self.settings.channels

    CAP_READ_SECONDS = 1.0
    """How long a process trusts its last read of a purpose's daily count (see :meth:`cap_used_up`)."""

    def cap_used_up(self, db: Database, purpose: str, cap: int, now: dt.datetime | None = None) -> bool:
        """Whether today's cap of ``purpose`` is used up, as the deliverer counted it.

        A read, not a write: the deliverer counts and enforces the cap as it sends, so queueing
        stays one insert on hot paths and this early refusal only lets the caller tell the person.
        The count is read at most once a second per process (a burst of registrations reads it
        once), so a refusal may start up to a second late; the deliverer's count is what holds."""
        clock = time.monotonic()
        second = int(time.time()) if now is None else int(now.timestamp())
        day_number = (second + _VIETNAM_OFFSET) // 86400  # an integer per Vietnam day: no text to build
        cached = self._cap_reads.get(purpose)
        if cached is not None and clock - cached[1] < self.CAP_READ_SECONDS and cached[0] == day_number:
            return cached[2]
        used = db.conn.execute(_USED, (vietnam_day(dt.datetime.fromtimestamp(second, dt.UTC)), purpose)).fetchone()
        result = used is not None and used[0] >= cap
        self._cap_reads[purpose] = (day_number, clock, result)
        return result

    def forget_cap_read(self, purpose: str) -> None:
        """Drop this process's remembered count of ``purpose`` (the deliverer changed it)."""
        self._cap_reads.pop(purpose, None)

    def daily_cap(self, purpose: str) -> int | None:
        """The cap of ``purpose`` a day: ``[messages.daily_caps]``, else the template's default."""
        try:
            return self._caps[purpose]
        except KeyError:
            pass
        if purpose in self.settings.daily_caps:
            cap = self.settings.daily_caps[purpose]
        else:
            caps = [t.daily_cap for t in self.templates.values()
                    if t.purpose_key == purpose and t.daily_cap is not None]
            cap = min(caps) if caps else None
        self._caps[purpose] = cap
        return cap


@attrs.frozen
class Message:
    """A row of the outbox, as lists and ``ccch messages show`` read it."""

    id: int
    channel: str
    address: str | None
    """Clear address; None once erased."""
    address_masked: str
    purpose: str
    template: str
    params: dict[str, str] | None
    idempotency_key: str
    source: str | None
    unit_id: str | None
    state: str
    attempts: int
    created_at: str
    next_attempt_at: str | None
    sent_at: str | None
    failed_at: str | None
    last_error: str | None
    gateway_id: str | None
    segments: int | None
    erased_at: str | None

    @property
    def state_label(self) -> str:
        """The state in Vietnamese."""
        return STATES.get(self.state, self.state)

    @property
    def channel_label(self) -> str:
        """The channel in Vietnamese."""
        return CHANNELS.get(self.channel, self.channel)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Message:
        """Build from a ``messages`` row."""
        values = {field.name: row[field.name] for field in attrs.fields(cls) if field.name != "params"}
        params = json.loads(row["params"]) if row["params"] else None
        return cls(params=params, **values)

    def to_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        """JSON-ready; the clear address and the parameters only with ``reveal``."""
        data = attrs.asdict(self)
        data["state_vi"] = self.state_label
        if not reveal:
            data.pop("address")
            data.pop("params")
        return data


_INSERT = (
    "insert into messages (channel, address, address_masked, purpose, template, params, "
    "idempotency_key, source, unit_id, state, attempts, created_at, next_attempt_at) "
    "values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', 0, ?10, ?10) "
    "on conflict (idempotency_key) do nothing"
)
_COUNT = ("insert into message_counts (day, purpose, count) values (?, ?, 1) "
          "on conflict (day, purpose) do update set count = count + 1 returning count")
"""Counts a delivery attempt of a capped purpose (the deliverer runs it as it claims a message)."""
_USED = "select count from message_counts where day = ? and purpose = ?"


# Vietnam keeps UTC+7 all year (no summer time), so a Vietnam day is a fixed slice of UTC seconds.
_VIETNAM_OFFSET = 7 * 3600


def vietnam_day(now: dt.datetime) -> str:
    """The Vietnam calendar day of an instant (daily caps count Vietnam days)."""
    return now.astimezone(VN_TZ).date().isoformat()


def queue_message(deployment, *, channel: str, address: str, template: str, params: Mapping[str, object],
                  idempotency_key: str | None = None, purpose: str | None = None, unit_id: str | None = None,
                  source: str | None = None, now: dt.datetime | None = None) -> int:
    """Queue one message; returns its id. Call it inside the caller's write transaction
    (``with write_transaction(deployment.db): …``) so that the action and its message commit
    together; outside one it opens its own.

    ``channel``: ``email``, ``sms`` or ``zalo``. ``address``: an e-mail address, or a phone number in
    any usual form (stored normalised). ``template``: a template key, whose parameters ``params``
    must give, no more, no less. ``idempotency_key``: the caller's key for this message (e.g.
    ``"reminders:overdue:2024-03:xa-an-dung:email:3"``); queueing the same key again returns the
    first message's id and queues nothing (a random key when None). ``unit_id``: the unit the
    message concerns, so that the unit's officers see its failures. ``source``: the plugin queueing.

    Raises :class:`MessageError` (bad address, template or parameters),
    :class:`ChannelUnavailable` (no sender for the channel) or :class:`DailyCapReached` (the
    purpose's cap for today is used up: nothing is queued). The cap is enforced where money is
    spent, as the deliverer sends: a message queued past it (while the deliverer was behind) is
    marked failed instead of sent, so the refusal here is early information, not the guard.
    """
    messaging: Messaging = deployment.messaging
    # The hot path (a contest registration queues its code here) is written out by hand, each
    # step counted in instructions (docs/performance.md, "Messages"): one cached look-up per
    # (template, channel) that carries the template's JSON keys already encoded and its purpose's
    # cap; the parameters checked, normalised and written as JSON in one pass; a phone number
    # already in the stored form and the idempotency key checked with str methods (a regex match
    # costs more than the checks); the instant read once; the cap's cached read inline.
    hot = messaging._hot.get((template, channel))
    if hot is None:
        hot = messaging._hot_path(template, channel)
    tpl, names, pairs, default_purpose, default_cap = hot
    params_text = None
    if len(params) == len(names):
        try:
            # "{"code":"123456","minutes":"5"}": the keys' JSON is cached, each value is NFC
            # (normalize raises TypeError for a value that is not text: the general case below).
            params_text = "".join([part + _JSON_STRING(_normalize("NFC", params[name]))
                                   for part, name in pairs]) + "}" if pairs else "{}"
        except (KeyError, TypeError):
            pass
    if params_text is None:
        params_text = params_json(check_params(tpl, params))  # the general case, and its messages
    if channel == "email" or not (len(address) == 10 and address.isdigit() and address.isascii()
                                  and address[0] == "0" and address[1] in "35789"):
        address = normalise_address(channel, address)
    key = idempotency_key or "auto:" + secrets.token_hex(16)
    # 1–200 printable ASCII characters without spaces (ASCII isprintable is \x20-\x7e).
    if not (0 < len(key) <= 200 and key.isascii() and key.isprintable() and " " not in key):
        raise MessageError("idempotency_key", "1–200 printable ASCII characters without spaces")
    second = int(_time()) if now is None else int(now.timestamp())
    if _STAMP_CACHE[0] != second:
        _STAMP_CACHE[1] = dt.datetime.fromtimestamp(second, dt.UTC).isoformat()
        _STAMP_CACHE[0] = second
    at = _STAMP_CACHE[1]
    if purpose is None or purpose == default_purpose:
        purpose, cap = default_purpose, default_cap
    else:
        cap = messaging.daily_cap(purpose)
    db = deployment.db
    if cap is not None:
        # Messaging.cap_used_up, inline: its cached read while it is trusted (same Vietnam day,
        # under CAP_READ_SECONDS old), else a read.
        cached = messaging._cap_reads.get(purpose)
        if (cached is None or cached[0] != (second + _VIETNAM_OFFSET) // 86400
                or _monotonic() - cached[1] >= messaging.CAP_READ_SECONDS):
            used_up = messaging.cap_used_up(db, purpose, cap, now)
        else:
            used_up = cached[2]
        if used_up:
            raise DailyCapReached("purpose", f"the daily cap of {purpose!r} messages ({cap}) is used up for today")
    masked = mask_address(channel, address) if channel == "email" else (
        address[:4] + "***" + address[-3:] if len(address) >= 8 else "***")  # mask_phone, inline
    row = (channel, address, masked, purpose, template, params_text, key, source, unit_id, at)
    conn = db.conn
    if conn.in_transaction:
        cursor = conn.execute(_INSERT, row)
        if cursor.rowcount:
            return cursor.lastrowid
        return _queue(db, row, key)  # the same key was queued before: the first message's id
    with write_transaction(db):
        return _queue(db, row, key)


def _queue(db: Database, row: tuple, key: str) -> int:
    cursor = db.conn.execute(_INSERT, row)
    if cursor.rowcount == 0:  # the same key was queued before: that message stands for this one
        return db.conn.execute("select id from messages where idempotency_key = ?", (key,)).fetchone()[0]
    return cursor.lastrowid


def render_message(messaging: Messaging, channel: str, template_key: str, params: Mapping[str, str]
                   ) -> tuple[str | None, str, int | None]:
    """(subject, text, SMS segments) of a message as its channel sends it."""
    tpl = messaging.template(template_key)
    if channel == "email":
        return render(tpl.subject, params), render(tpl.email, params), None
    if channel == "sms":
        settings = messaging.settings.channels.get(channel)
        # A template written without diacritics (the core's "otp") is sent without them whole: one
        # accented parameter ("Cuộc thi…") would make every character UCS-2, 70 a segment, not 160.
        plain = tpl.sms.isascii()
        text = sms_text(render(tpl.sms, params), without_diacritics=plain or bool(settings and settings.strip_diacritics))
        return None, text, sms_segments(text).segments
    return None, render(tpl.sms, params), None


# -- reading ------------------------------------------------------------------------------------


def _where(state: str | None = None, channel: str | None = None, purpose: str | None = None,
           source: str | None = None, unit_ids: Iterable[str] | None = None) -> tuple[str, list[Any]]:
    clauses, args = [], []
    for column, value in (("state", state), ("channel", channel), ("purpose", purpose), ("source", source)):
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    if unit_ids is not None:
        ids = list(unit_ids)
        clauses.append(f"unit_id in ({', '.join('?' * len(ids))})" if ids else "0")
        args.extend(ids)
    return (" where " + " and ".join(clauses)) if clauses else "", args


def list_messages(db: Database, *, state: str | None = None, channel: str | None = None, purpose: str | None = None,
                  source: str | None = None, unit_ids: Iterable[str] | None = None, limit: int = 50,
                  offset: int = 0) -> list[Message]:
    """Messages, newest first, filtered by state, channel, purpose, source plugin and units
    (``unit_ids``: only messages about these units)."""
    where, args = _where(state, channel, purpose, source, unit_ids)
    rows = db.query(f"select * from messages{where} order by id desc limit ? offset ?", [*args, int(limit), int(offset)])
    return [Message.from_row(row) for row in rows]


def count_messages(db: Database, **filters: Any) -> int:
    """How many messages :func:`list_messages` pages through with the same filters."""
    where, args = _where(**filters)
    return db.execute(f"select count(*) from messages{where}", args).fetchone()[0]


def counts_by_state(db: Database, **filters: Any) -> dict[str, int]:
    """How many messages are in each state (with the filters of :func:`list_messages` but
    ``state``: ``channel``, ``purpose``, ``source``, ``unit_ids``)."""
    where, args = _where(**filters)
    return dict(db.execute(f"select state, count(*) from messages{where} group by state", args).fetchall())


def mask_in_text(text: str | None, channel: str, address: str | None) -> str | None:
    """``text`` (a gateway's reason) with the recipient's address masked wherever it appears: an
    SMTP server's "550 <vanthu@…>: Recipient unknown" repeats it, and reasons outlive the
    address's erasure."""
    if not text or not address:
        return text
    masked = mask_address(channel, address)
    text = re.sub(re.escape(address), masked, text, flags=re.IGNORECASE)
    if channel != "email" and address.startswith("0"):
        text = text.replace("84" + address[1:], masked)  # the international form gateways echo
    return text


def get_message(db: Database, message_id: int) -> Message | None:
    """One message, or None."""
    rows = list(db.query("select * from messages where id = ?", [int(message_id)]))
    return Message.from_row(rows[0]) if rows else None


# -- officers' actions ----------------------------------------------------------------------------


def retry_message(deployment, message_id: int, *, actor: str | None, now: dt.datetime | None = None) -> Message:
    """Queue a failed (or cancelled) message again, now, with a fresh count of attempts.
    :class:`MessageError` if it is not failed or cancelled, or its address was erased."""
    now = now or dt.datetime.now(dt.UTC)
    with write_transaction(deployment.db) as db:
        message = get_message(db, message_id)
        if message is None:
            raise MessageError("id", f"no message #{message_id}")
        if message.state not in ("failed", "cancelled"):
            raise MessageError("state", f"message #{message_id} is {message.state}: only a failed or cancelled "
                                        "message can be sent again")
        if message.address is None:
            raise MessageError("address", f"message #{message_id}: its address was erased; it cannot be sent")
        db.execute("update messages set state = 'queued', attempts = 0, next_attempt_at = ?, failed_at = null "
                   "where id = ?", [utc_now_iso(now), message.id])
        audit.record(db, actor, "message.retry", _target(message), message.last_error, label="Gửi lại tin nhắn", now=now)
    return get_message(deployment.db, message_id)


def cancel_message(deployment, message_id: int, *, actor: str | None, now: dt.datetime | None = None) -> Message:
    """Cancel a queued message (it will not be sent). :class:`MessageError` otherwise."""
    with write_transaction(deployment.db) as db:
        message = get_message(db, message_id)
        if message is None:
            raise MessageError("id", f"no message #{message_id}")
        if message.state != "queued":
            raise MessageError("state", f"message #{message_id} is {message.state}: only a queued message can be "
                                        "cancelled")
        db.execute("update messages set state = 'cancelled' where id = ? and state = 'queued'", [message.id])
        audit.record(db, actor, "message.cancel", _target(message), None, label="Hủy tin nhắn", now=now)
    return get_message(deployment.db, message_id)


def _target(message: Message) -> str:
    return f"Tin nhắn #{message.id} ({message.channel_label}, {message.address_masked}, {message.purpose})"
