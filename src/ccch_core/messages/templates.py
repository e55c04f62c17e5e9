"""Message templates: the Vietnamese text of each purpose, per channel, overridable per deployment.

A template has a key, the purpose it serves, the parameters it takes, an e-mail subject and body,
and an SMS text. Zalo ZNS sends a template that Zalo approved in advance: the channel's settings
map the key to that template's id, and the text here is only the rendition kept for the log.

Placeholders are ``{name}`` (``{{`` and ``}}`` for literal braces). A deployment overrides any
text in ``ccch.toml``::

    [messages.templates.report_overdue]
    sms = "UBND huyen Duc Tho nhac: {unit_name} chua gui bao cao {period_label}."

SMS: a text that keeps its Vietnamese diacritics travels as UCS-2, 70 characters a segment (67
when split) instead of 160 (153) for plain GSM-7 text; :func:`sms_segments` counts them, and a
channel with ``strip_diacritics = true`` sends the text without them.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping

import attrs

from ..text import nfc, strip_diacritics
from .base import MessageError


@attrs.frozen
class MessageTemplate:
    """The text of one kind of message (registered with ``register_message_templates``)."""

    key: str
    """``otp``, ``report_due``… A plugin's own keys start with its name (``feedback.assigned``)."""
    label: str
    """What it is, in Vietnamese, for the officers' pages."""
    params: tuple[str, ...]
    """The parameters every message of this template must give."""
    subject: str
    """The e-mail subject."""
    email: str
    """The e-mail body (plain text)."""
    sms: str
    """The SMS text (keep it short: 70 characters a segment with diacritics)."""
    purpose: str | None = None
    """The purpose daily caps count (default: the key)."""
    daily_cap: int | None = None
    """Default cap on messages of this purpose a day (Vietnam day); ``[messages.daily_caps]``
    overrides it. None: no cap unless the deployment sets one."""

    @property
    def purpose_key(self) -> str:
        """The purpose (the key when none is set)."""
        return self.purpose or self.key

    def with_overrides(self, overrides: Mapping[str, str]) -> MessageTemplate:
        """A copy with the deployment's texts (``subject``, ``email``, ``sms``)."""
        return attrs.evolve(self, **{k: nfc(v) for k, v in overrides.items()})

    def texts(self) -> dict[str, str]:
        """The three texts by name."""
        return {"subject": self.subject, "email": self.email, "sms": self.sms}


TEMPLATE_TEXT_KEYS = ("subject", "email", "sms")


def placeholders(text: str) -> list[str]:
    """The placeholder names of a template text; :class:`ValueError` for a malformed one."""
    names = []
    for _literal, name, _spec, _conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"{{{name}}} is not a parameter name (write {{{{ and }}}} for braces)")
        names.append(name)
    return names


def check_template(template: MessageTemplate, where: str) -> list[str]:
    """Problems of a template's texts: malformed placeholders or parameters it does not declare."""
    problems = []
    for field, text in template.texts().items():
        try:
            unknown = [n for n in placeholders(text) if n not in template.params]
        except ValueError as exc:
            problems.append(f"{where}.{field}: {exc}")
            continue
        if unknown:
            problems.append(f"{where}.{field}: unknown parameter(s) {', '.join('{' + n + '}' for n in unknown)}; "
                            f"this template has {', '.join('{' + p + '}' for p in template.params)}")
    return problems


def render(text: str, params: Mapping[str, str]) -> str:
    """``text`` with its placeholders filled from ``params`` (every one must be present)."""
    return text.format_map(params)


def check_params(template: MessageTemplate, params: Mapping[str, object]) -> dict[str, str]:
    """The parameters as text (NFC), or :class:`MessageError` naming the first missing or extra one."""
    names = template.params
    if len(params) == len(names):
        # The usual case, on hot paths: every parameter given, as text.
        try:
            values = [params[name] for name in names]
        except KeyError:
            values = None
        if values is not None and all(type(v) is str for v in values):
            return dict(zip(names, map(nfc, values), strict=True))
    missing = [p for p in template.params if p not in params]
    if missing:
        raise MessageError(f"params.{missing[0]}", f"template {template.key!r} needs {', '.join(missing)}")
    extra = [p for p in params if p not in template.params]
    if extra:
        raise MessageError(f"params.{extra[0]}", f"template {template.key!r} has no parameter {extra[0]!r}")
    out = {}
    for name, value in params.items():
        if value is None:
            raise MessageError(f"params.{name}", "must not be empty")
        out[name] = nfc(str(value))
    return out


# -- SMS ------------------------------------------------------------------------------------------

# GSM 03.38 basic character set, and the extension table whose characters count twice.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@attrs.frozen
class SmsLength:
    """How an SMS text travels: its encoding, its length in that encoding's units, its segments."""

    encoding: str
    """``GSM-7`` or ``UCS-2``."""
    units: int
    segments: int


def sms_segments(text: str) -> SmsLength:
    """Count an SMS's segments: GSM-7 160 characters (153 each when split), UCS-2 70 (67).

    Any character outside GSM-7 (every Vietnamese letter with a diacritic but a few) makes the
    whole text UCS-2. UCS-2 counts UTF-16 code units, so an emoji counts two."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // multi)
    return SmsLength(encoding, units, segments)


def sms_text(text: str, *, without_diacritics: bool) -> str:
    """The SMS as sent: one line per line, without diacritics if the channel says so
    ("Đức Thọ" → "Duc Tho")."""
    text = "\n".join(line.rstrip() for line in nfc(text).strip().splitlines())
    return strip_diacritics(text) if without_diacritics else text


# -- the core's own templates --------------------------------------------------------------------

BUILTIN_TEMPLATES: tuple[MessageTemplate, ...] = (
    MessageTemplate(
        key="otp",
        label="Mã xác nhận một lần",
        params=("code", "minutes", "service"),
        subject="Mã xác nhận {service}: {code}",
        email=("Mã xác nhận của bạn cho {service} là: {code}\n\n"
               "Mã có hiệu lực trong {minutes} phút. Không đưa mã này cho bất kỳ ai, kể cả người "
               "xưng là cán bộ.\n\nNếu bạn không yêu cầu mã này, hãy bỏ qua thư."),
        sms="Ma xac nhan {service}: {code}. Hieu luc {minutes} phut. Khong dua ma cho bat ky ai.",
        daily_cap=1000,
    ),
    MessageTemplate(
        key="report_due",
        label="Nhắc báo cáo sắp đến hạn",
        params=("unit_name", "period_label", "due_date", "days_left", "link"),
        subject="Nhắc báo cáo: {period_label} đến hạn ngày {due_date}",
        email=("Kính gửi {unit_name},\n\n"
               "Báo cáo kết quả tuyên truyền cải cách hành chính {period_label} của đơn vị đến hạn "
               "ngày {due_date} (còn {days_left} ngày). Đề nghị đơn vị gửi báo cáo đúng hạn tại:\n"
               "{link}\n\nTrân trọng."),
        sms="{unit_name}: bao cao CCHC {period_label} den han {due_date} (con {days_left} ngay). Gui tai {link}",
    ),
    MessageTemplate(
        key="report_overdue",
        label="Nhắc báo cáo quá hạn",
        params=("unit_name", "period_label", "due_date", "link"),
        subject="Báo cáo {period_label} đã quá hạn ({due_date})",
        email=("Kính gửi {unit_name},\n\n"
               "Đến nay đơn vị chưa gửi báo cáo kết quả tuyên truyền cải cách hành chính "
               "{period_label}, hạn gửi là ngày {due_date}. Đề nghị đơn vị gửi báo cáo ngay tại:\n"
               "{link}\n\nTrân trọng."),
        sms="{unit_name}: bao cao CCHC {period_label} da qua han {due_date}. De nghi gui ngay tai {link}",
    ),
    MessageTemplate(
        key="question_assigned",
        label="Câu hỏi, phản ánh được giao cho đơn vị",
        params=("unit_name", "reference", "title", "due_date", "link"),
        subject="Được giao trả lời {reference}: {title}",
        email=("Kính gửi {unit_name},\n\n"
               "Đơn vị được giao trả lời câu hỏi, phản ánh {reference}: “{title}”.\n"
               "Hạn trả lời: {due_date}.\nXem và trả lời tại: {link}\n\nTrân trọng."),
        sms="{unit_name} duoc giao tra loi {reference}, han {due_date}. Xem tai {link}",
    ),
    MessageTemplate(
        key="answer_ready",
        label="Đã có trả lời cho câu hỏi, phản ánh",
        params=("reference", "link"),
        subject="Đã có trả lời cho {reference}",
        email=("Câu hỏi, phản ánh {reference} của bạn đã được cơ quan có thẩm quyền trả lời.\n"
               "Xem trả lời tại: {link}\n\nTrân trọng."),
        sms="Da co tra loi cho {reference}. Xem tai {link}",
    ),
    MessageTemplate(
        key="test",
        label="Tin nhắn thử",
        params=("deployment",),
        subject="Thư thử của {deployment}",
        email=("Đây là thư thử do ccch gửi để kiểm tra cấu hình gửi thư của {deployment}.\n"
               "Nếu bạn đọc được dòng chữ có dấu này — “Đức Thọ, Hà Tĩnh” — thì cấu hình đúng."),
        sms="Tin nhan thu cua {deployment}: cau hinh gui tin dung.",
    ),
)
"""The core's templates. Their default SMS texts are written without diacritics (one GSM-7
segment costs less than three UCS-2 ones); e-mails keep them."""


Register = Callable[[MessageTemplate], None]
