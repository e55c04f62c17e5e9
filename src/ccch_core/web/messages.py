"""The messages pages: the outbox (``/tin-nhan``, "Tin nhắn") and the units' contacts
(``/tin-nhan/dau-moi``, "Đầu mối liên hệ").

``/tin-nhan`` lists the messages of the signed-in user's scope — admins: every message; a unit
officer: the messages about their unit and the units below it; a contest manager: the contests'
messages — failures first, with the gateway's reason, then every message, 50 a page, filterable
by state. Recipients are shown masked only, never in clear, and never the message's text. System
and plan admins may send a failed message again or cancel a queued one (audited by the core).

``/tin-nhan/dau-moi`` (admins) lists the units' contacts by unit, in plan order, adds and removes
them, and names the units nobody can be reached at.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import contacts, levels
from ..accounts import Role
from ..messages import (
    CHANNELS,
    STATES,
    Message,
    MessageError,
    cancel_message,
    counts_by_state,
    get_message,
    list_messages,
    retry_message,
)
from ..messages.outbox import mask_address
from ..model import Plan, Unit
from ..periods import to_local, utc_now
from ..privacy import mask_phone
from . import deployment
from .auth import roles_required, unit_scope

bp = Blueprint("messages", __name__)

PAGE_SIZE = 50
FAILURES_SHOWN = 20
"""Failures listed in the "Gửi không được" box; the rest are a click away (state filter)."""

REASON_MAX = 300
"""Characters of a gateway's reason shown (some gateways answer with a whole HTML page)."""

ADMINS = (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN)
READERS = (*ADMINS, Role.UNIT_OFFICER, Role.CONTEST_MANAGER)
"""Who may open ``/tin-nhan`` (each sees their own scope)."""

CONTEST_SOURCE = "contest"
"""The ``source`` of the messages the contest plugin queues: what a contest manager sees."""

STATE_BADGES = {"queued": "on_track", "sending": "on_track", "sent": "met", "failed": "behind",
                "cancelled": "no_data"}
"""Message state → the badge colour the other pages use for the same sense."""

UNKNOWN_PURPOSE = "Tin nhắn khác"
UNKNOWN_UNIT = "Đơn vị không còn trong kế hoạch"
NO_UNIT = "Không gắn với đơn vị"


# -- scope --------------------------------------------------------------------------------------


def scope_filters(user, plan: Plan) -> dict[str, Any]:
    """The :func:`ccch_core.messages.list_messages` filters of what ``user`` may see."""
    if user.role in ADMINS:
        return {}
    if user.role == Role.UNIT_OFFICER:
        unit_id = unit_scope(None, plan)  # the core's one rule for a unit's data: their own unit (403 without one)
        return {"unit_ids": [unit_id, *(u.id for u in plan.descendants(unit_id))]}
    if user.role == Role.CONTEST_MANAGER:
        return {"source": CONTEST_SOURCE}
    abort(403)


# -- what a row shows ---------------------------------------------------------------------------

_EMAIL_IN_TEXT = re.compile(r"[^\s<>()\[\],;:\"'`]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}")
_PHONE_IN_TEXT = re.compile(r"(?<![\w+/.=\-])(?:\+?84|0)(?:[ .\-]?\d){8,10}(?![\w/])")


def redact(text: str, message: Message | None = None) -> str:
    """``text`` (a gateway's reason) with every e-mail address and phone number in it masked, as
    lists show them: some gateways repeat the recipient (``550 5.1.1 <vanthu@…>: unknown``)."""
    if message is not None and message.address:
        text = re.sub(re.escape(message.address), message.address_masked, text, flags=re.IGNORECASE)
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_address("email", m.group(0)), text)

    def phone(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if digits.startswith("84"):
            digits = "0" + digits[2:]
        return mask_phone(digits)

    return _PHONE_IN_TEXT.sub(phone, text)


def unit_name(plan: Plan, unit_id: str | None) -> str:
    """The unit's name in words (never its id)."""
    if not unit_id:
        return NO_UNIT
    return plan.unit(unit_id).name if plan.has_unit(unit_id) else UNKNOWN_UNIT


def purpose_label(template_key: str) -> str:
    """What a message was for: its template's Vietnamese label."""
    template = deployment().messaging.templates.get(template_key)
    return template.label if template is not None else UNKNOWN_PURPOSE


@attrs.frozen
class MessageRow:
    """A message as the page shows it: words and masked recipient only."""

    id: int
    channel: str
    state: str
    state_label: str
    badge: str
    channel_label: str
    recipient: str
    unit_name: str
    purpose: str
    created_at: str
    when_label: str | None
    when: str | None
    reason: str | None
    attempts: int
    can_retry: bool
    can_cancel: bool
    erased: bool


def message_row(plan: Plan, message: Message) -> MessageRow:
    """The page's view of ``message``."""
    when_label, when = {
        "sent": ("Đã gửi lúc", message.sent_at),
        "failed": ("Không gửi được lúc", message.failed_at),
    }.get(message.state, (None, None))
    if message.state == "queued" and message.attempts and message.next_attempt_at:
        when_label, when = "Sẽ thử lại lúc", message.next_attempt_at
    reason = None
    if message.last_error and message.state != "sent":
        reason = redact(message.last_error, message)
        if len(reason) > REASON_MAX:
            reason = reason[:REASON_MAX].rstrip() + "…"
    erased = message.address is None
    return MessageRow(
        id=message.id, channel=message.channel, state=message.state, state_label=message.state_label,
        badge=STATE_BADGES.get(message.state, "no_data"), channel_label=message.channel_label,
        recipient=message.address_masked or "–",
        unit_name=unit_name(plan, message.unit_id), purpose=purpose_label(message.template),
        created_at=message.created_at, when_label=when_label, when=when, reason=reason, attempts=message.attempts,
        can_retry=message.state in ("failed", "cancelled") and not erased,
        can_cancel=message.state == "queued", erased=erased,
    )


# -- query parameters ---------------------------------------------------------------------------

STATE_ARG = "trang-thai"
PAGE_ARG = "trang"


def _state_arg(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if value not in STATES:
        abort(400, description="Không có trạng thái tin nhắn này. Vui lòng chọn trạng thái trong danh sách.")
    return value


def _page_arg(value: str | None) -> int:
    """The page asked for: 1 when absent; a huge number means the last page; 400 otherwise."""
    value = (value or "").strip()
    if not value:
        return 1
    if not re.fullmatch(r"[0-9]+", value) or int(value[:12] or 0) < 1:
        abort(400, description="Số trang không hợp lệ.")
    return int(value) if len(value) <= 9 else 10**9


def _index_url(state: str | None, page: int = 1) -> str:
    args: dict[str, Any] = {}
    if state:
        args[STATE_ARG] = state
    if page > 1:
        args[PAGE_ARG] = page
    return url_for("messages.index", **args)


# -- /tin-nhan ----------------------------------------------------------------------------------


@bp.route("/tin-nhan")
@roles_required(*READERS)
def index():
    """The messages of the user's scope: failures first, counts by state, then every message."""
    dep = deployment()
    plan, db = dep.plan, dep.db
    scope = scope_filters(g.user, plan)
    state = _state_arg(request.args.get(STATE_ARG))
    page = _page_arg(request.args.get(PAGE_ARG))
    found = counts_by_state(db, **scope)
    counts = {key: found.get(key, 0) for key in STATES}
    total = counts[state] if state else sum(counts.values())
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(page, pages)
    rows = [message_row(plan, m) for m in list_messages(db, state=state, limit=PAGE_SIZE,
                                                        offset=(page - 1) * PAGE_SIZE, **scope)]
    failures = [message_row(plan, m) for m in list_messages(db, state="failed", limit=FAILURES_SHOWN, **scope)]
    return render_template(
        "messages.html", rows=rows, failures=failures, failed_total=counts["failed"], counts=counts,
        states=STATES, state=state, total=total, page=page, pages=pages, page_size=PAGE_SIZE,
        can_act=g.user.role in ADMINS, badges=STATE_BADGES, index_url=_index_url,
        channels_configured=bool(dep.messaging.channels()),
        newer_url=_index_url(state, page - 1) if page > 1 else None,
        older_url=_index_url(state, page + 1) if page < pages else None,
    )


def _back():
    """Back to the list the officer acted from (its state filter and page)."""
    state = (request.form.get(STATE_ARG) or "").strip()
    page = (request.form.get(PAGE_ARG) or "").strip()
    return redirect(_index_url(state if state in STATES else None,
                               int(page) if re.fullmatch(r"[0-9]{1,9}", page) else 1), code=303)


def _describe(message: Message) -> str:
    """“Nhắc báo cáo quá hạn” (UBND xã An Dũng, Thư điện tử, v***@andung.gov.vn)."""
    unit = f"{unit_name(deployment().plan, message.unit_id)}, " if message.unit_id else ""
    return f"“{purpose_label(message.template)}” ({unit}{message.channel_label}, {message.address_masked})"


MAX_ID = 2**63 - 1
"""SQLite's largest integer: a larger id in a URL is no row (and must not reach SQLite)."""


def _message_or_404(message_id: int) -> Message:
    message = get_message(deployment().db, message_id) if message_id <= MAX_ID else None
    if message is None:
        abort(404, description="Không có tin nhắn này.")
    return message


def _refused(message: Message, action: str) -> str:
    current = get_message(deployment().db, message.id) or message
    if current.address is None and current.state in ("failed", "cancelled"):
        return (f"Không gửi lại được tin nhắn {_describe(current)}: địa chỉ người nhận đã được xóa theo quy định "
                "bảo vệ dữ liệu cá nhân.")
    return (f"Không {action} được tin nhắn {_describe(current)}: tin nhắn đang ở trạng thái "
            f"“{current.state_label}”.")


def _act(message_id: int, action, verb: str, done: str):
    """Apply an officer's ``action`` (retry_message, cancel_message) and flash what happened."""
    message = _message_or_404(message_id)
    try:
        action(deployment(), message.id, actor=g.user.username)
    except MessageError:
        flash(_refused(message, verb))
        return _back()
    flash(done.format(message=_describe(message)))
    return _back()


@bp.route("/tin-nhan/<int:message_id>/gui-lai", methods=["POST"])
@roles_required(*ADMINS)
def retry(message_id: int):
    """Send a failed (or cancelled) message again."""
    return _act(message_id, retry_message, "gửi lại", "Đã đưa tin nhắn {message} vào hàng chờ gửi lại.")


@bp.route("/tin-nhan/<int:message_id>/huy", methods=["POST"])
@roles_required(*ADMINS)
def cancel(message_id: int):
    """Cancel a queued message: it will not be sent."""
    return _act(message_id, cancel_message, "hủy", "Đã hủy tin nhắn {message}; tin nhắn sẽ không được gửi.")


# -- /tin-nhan/dau-moi ----------------------------------------------------------------------------

CONTACT_FIELDS = ("unit", "channel", "address", "name")
FIELD_LABELS = {"unit": "Đơn vị", "channel": "Kênh liên lạc", "address": "Địa chỉ nhận tin", "name": "Tên người, bộ phận"}


def _today():
    return to_local(utc_now()).date()


def _current(plan: Plan, unit: Unit) -> bool:
    return unit.active_during(plan.period) and not (unit.retired_on and unit.retired_on <= _today())


def reporting_units(plan: Plan) -> list[Unit]:
    """The units that owe reports under the plan's tracked rules: those reminders write to."""
    refs = [ref for rule in plan.tracked_rules() for ref in rule.reporters]
    return [u for u in plan.resolve(refs, plan.period) if _current(plan, u)]


def _contact_errors(form) -> dict[str, str]:
    """The posted contact's problems, in Vietnamese, by field (empty when it is valid)."""
    values = {key: (form.get(key) or "").strip() for key in CONTACT_FIELDS}
    try:
        contacts.check_contact(deployment().plan, values["unit"], values["channel"], values["address"], values["name"])
    except contacts.ContactError as exc:
        errors = {}
        for field, message in exc.errors.items():
            errors[field] = _contact_error_vi(field, message, values)
        return errors
    return {}


def _contact_error_vi(field: str, message: str, values: dict[str, str]) -> str:
    if field == "unit":
        return "Vui lòng chọn đơn vị." if not values["unit"] else "Đơn vị này không có trong kế hoạch."
    if field == "channel":
        return "Vui lòng chọn kênh liên lạc." if not values["channel"] else "Kênh liên lạc không hợp lệ."
    if field == "address":
        if not values["address"]:
            return ("Vui lòng nhập địa chỉ thư điện tử." if values["channel"] == "email" else
                    "Vui lòng nhập số điện thoại.")
        if values["channel"] == "email":
            return ("Địa chỉ thư điện tử không hợp lệ. Vui lòng nhập đúng dạng ten@donvi.gov.vn "
                    "(ví dụ: vanthu@ductho.gov.vn).")
        return "Số điện thoại không hợp lệ. Vui lòng nhập số di động hoặc cố định (ví dụ: 0912 345 678)."
    if field == "name":
        return f"Tên dài quá {contacts.NAME_MAX} ký tự, vui lòng rút gọn."
    return message


def _contacts_page(values, errors, status: int = 200):
    dep = deployment()
    plan, db = dep.plan, dep.db
    found = contacts.list_contacts(db)
    by_unit: dict[str, list[contacts.Contact]] = {}
    for contact in found:
        by_unit.setdefault(contact.unit_id, []).append(contact)
    groups = [(unit, by_unit[unit.id]) for unit in plan.units if unit.id in by_unit]
    orphans = [c for c in found if not plan.has_unit(c.unit_id)]
    reporters = reporting_units(plan)
    reporter_ids = {u.id for u in reporters}
    others = [u for u in plan.units if u.id not in reporter_ids and not u.external and _current(plan, u)]
    configured = [CHANNELS[c] for c in dep.messaging.channels() if c in CHANNELS]
    missing_reporters = [u for u in reporters if u.id not in by_unit]
    missing_others = [u for u in others if u.id not in by_unit]
    # A national plan has 36,647 units: a name typed instead of a list of every unit, and the
    # first names of the units without a contact (#26: no page over 200 KB).
    picker = len(reporters) + len(others) > PICKER_LIMIT
    return render_template(
        "contacts.html", groups=groups, orphans=orphans, total=len(found), values=values, errors=errors,
        labels=FIELD_LABELS, channels=CHANNELS, configured=configured, picker=picker,
        reporters=[] if picker else reporters, others=[] if picker else others, reporters_count=len(reporters),
        missing_reporters=missing_reporters[:MISSING_SHOWN], missing_reporters_count=len(missing_reporters),
        missing_others=missing_others[:MISSING_SHOWN], missing_others_count=len(missing_others),
        unknown_unit=UNKNOWN_UNIT,
    ), status


PICKER_LIMIT = 300
"""Up to this many units the form offers a list (Đức Thọ: 113 units, about 20 KB); above it, the
unit picker (a name typed)."""

MISSING_SHOWN = 100
"""Units without a contact named on the page (the rest counted): a national plan has thousands."""


def _typed_unit(plan: Plan, form):
    """The form with its ``unit`` field resolved from what the unit picker sends: a unit's id (a
    suggestion, or the list of a small plan), or a name typed with or without tones — the unit whose
    name it is, or the only unit whose name contains it. Anything else stays as typed and is
    refused by the usual check ("Đơn vị này không có trong kế hoạch")."""
    text = (form.get("unit") or "").strip()
    if not text or plan.has_unit(text) or len(text) > 200:
        return form
    found = levels.search_units(plan, text, limit=50)
    exact = [u for u in found if levels.search_key(u.name) == levels.search_key(text)]
    chosen = exact if len(exact) == 1 else found if len(found) == 1 else []
    if not chosen:
        return form
    resolved = form.copy()
    resolved["unit"] = chosen[0].id
    return resolved


@bp.route("/tin-nhan/dau-moi", methods=["GET", "POST"])
@roles_required(*ADMINS)
def contacts_index():
    """The units' contacts, by unit in plan order, and the form to add one."""
    if request.method == "GET":
        return _contacts_page({}, {})
    dep = deployment()
    posted = _typed_unit(dep.plan, request.form)
    errors = _contact_errors(posted)
    typed = (posted.get("unit") or "").strip()
    if "unit" in errors and typed and not dep.plan.has_unit(typed) and len(typed) <= 200 and \
            len(levels.search_units(dep.plan, typed, limit=2)) > 1:
        errors["unit"] = f"Có nhiều đơn vị tên khớp với “{typed}”: gõ đủ tên đơn vị hoặc chọn trong gợi ý."
    if errors:
        return _contacts_page(request.form, errors, 422)
    form = {key: (posted.get(key) or "").strip() for key in CONTACT_FIELDS}
    values = contacts.check_contact(dep.plan, form["unit"], form["channel"], form["address"], form["name"])
    existed = any(c.channel == values["channel"] and c.address == values["address"]
                  for c in contacts.list_contacts(dep.db, values["unit_id"]))
    try:
        contact = contacts.add_contact(dep, values["unit_id"], values["channel"], values["address"], values["name"],
                                       actor=g.user.username)
    except contacts.ContactError as exc:  # the plan changed meanwhile
        return _contacts_page(request.form, {f: _contact_error_vi(f, m, form) for f, m in exc.errors.items()}, 422)
    unit = dep.plan.unit(contact.unit_id).name
    if existed:
        flash(f"{unit} đã có đầu mối {contact.address} ({contact.channel_label}); đã cập nhật tên.")
    else:
        flash(f"Đã thêm đầu mối {contact.address} ({contact.channel_label}) cho {unit}.")
    return redirect(url_for("messages.contacts_index"), code=303)


@bp.route("/tin-nhan/dau-moi/<int:contact_id>/xoa", methods=["POST"])
@roles_required(*ADMINS)
def contacts_remove(contact_id: int):
    """Remove a contact: its unit's messages no longer go there."""
    dep = deployment()
    try:
        if contact_id > MAX_ID:
            raise contacts.ContactError({"id": "no such contact"})
        contact = contacts.remove_contact(dep, contact_id, actor=g.user.username)
    except contacts.ContactError:
        abort(404, description="Không có đầu mối liên hệ này (có thể đã được xóa).")
    flash(f"Đã xóa đầu mối {contact.address} ({contact.channel_label}) của {unit_name(dep.plan, contact.unit_id)}.")
    return redirect(url_for("messages.contacts_index"), code=303)
