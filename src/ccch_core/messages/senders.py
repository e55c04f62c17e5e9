"""The built-in senders: ``smtp`` (e-mail), ``http_sms`` (an SMS brandname gateway's HTTP API),
``zalo_zns`` (Zalo Notification Service) and ``folder`` (development: files instead of sending).

Each is a :class:`~ccch_core.messages.base.SenderKind` of :data:`BUILTIN_SENDERS`. ``create``
checks the channel's settings and raises :class:`SenderConfigError` naming the key; the sender it
returns keeps its connections open between messages (SMTP session, pooled HTTP keep-alive) until
``close()``. ``send()`` never raises for a gateway's problem: it answers
:meth:`SendResult.sent`, :meth:`SendResult.retry` or :meth:`SendResult.failed` with the
gateway's own reason (status, code, text), in which credentials never appear.

The idempotency key travels as the e-mail's ``Message-ID`` (derived from it, so a repeated attempt
carries the same one), the ``Idempotency-Key`` header (or a body field) of an SMS gateway and
ZNS's ``tracking_id``.
"""

from __future__ import annotations

import datetime as dt
import email.errors
import email.policy
import email.utils
import hashlib
import json
import logging
import os
import re
import smtplib
import socket
import ssl
import string
import threading
import time
import urllib.parse
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any

import urllib3

from ..periods import VN_TZ
from ..privacy import mask_phone
from ..text import nfc
from .base import (
    CHANNELS,
    OutgoingMessage,
    SenderConfigError,
    SenderContext,
    SendResult,
)

__all__ = [
    "BUILTIN_SENDERS",
    "FOLDER",
    "HTTP_SMS",
    "SMTP",
    "ZALO_ZNS",
    "FolderSender",
    "HttpSmsSender",
    "SmtpSender",
    "ZaloZnsSender",
    "build_email",
    "mask_address",
    "message_id_for",
    "phone84",
]

log = logging.getLogger("ccch.messages")

USER_AGENT = "ccch-messages/1"


# -- small public helpers -----------------------------------------------------------------------


def mask_address(channel: str, address: str) -> str:
    """An address as logs and lists show it: ``n***@ductho.gov.vn`` for an e-mail,
    ``0912***678`` for a phone number (:func:`ccch_core.privacy.mask_phone`)."""
    address = str(address or "").strip()
    if channel == "email" or "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[0]}***@{domain}" if local and domain else "***"
    return mask_phone(address)


def phone84(phone: str) -> str:
    """A normalised phone number in international form without ``+``: ``0912345678`` →
    ``84912345678`` (what ZNS and many SMS gateways want)."""
    phone = re.sub(r"[\s.\-()]", "", str(phone))
    phone = phone.removeprefix("+")
    if phone.startswith("0"):
        return "84" + phone[1:]
    return phone


def message_id_for(idempotency_key: str, from_address: str) -> str:
    """The ``Message-ID`` of a message: ``<{sha256(key)[:32]}@{domain of from_address}>``. The same
    key gives the same id, so a repeated attempt is recognisably the same message (the key itself
    does not appear)."""
    domain = from_address.rpartition("@")[2].strip().lower() or "localhost"
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "localhost"
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


# Non-ASCII text is sent quoted-printable or base64 (whichever is shorter), never as 8bit, which
# an SMTP server without 8BITMIME would mangle. Headers are RFC 2047 encoded (UTF-8), lines CRLF.
_EMAIL_POLICY = email.policy.SMTP.clone(cte_type="7bit")


def build_email(message: OutgoingMessage, *, from_address: str, from_name: str | None = None,
                reply_to: str | None = None) -> EmailMessage:
    """The e-mail for ``message``: UTF-8 text body (quoted-printable or base64), RFC 2047 subject
    and sender name, ``Date`` (Vietnam time) and a ``Message-ID`` derived from the idempotency key
    (:func:`message_id_for`). Raises ``ValueError`` for an address that is not one."""
    msg = EmailMessage(policy=_EMAIL_POLICY)
    msg["From"] = _address(from_address, from_name)
    msg["To"] = _address(message.address)
    if reply_to:
        msg["Reply-To"] = _address(reply_to)
    msg["Subject"] = _one_line(message.subject or "")
    msg["Date"] = email.utils.format_datetime(dt.datetime.now(VN_TZ).replace(microsecond=0))
    msg["Message-ID"] = message_id_for(message.idempotency_key, from_address)
    # RFC 3834: an automatic message; out-of-office replies are not sent back to it.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(nfc(message.text), charset="utf-8")
    return msg


def _address(addr_spec: str, display_name: str | None = None) -> Address:
    """An address header value; ``ValueError`` when ``addr_spec`` is not an e-mail address."""
    addr_spec = str(addr_spec).strip()
    try:
        address = Address(display_name=_one_line(display_name or ""), addr_spec=addr_spec)
    except (email.errors.HeaderParseError, IndexError, TypeError) as error:
        raise ValueError(f"not an e-mail address: {addr_spec!r} ({error})") from None
    if not address.username or not address.domain:
        raise ValueError(f"not an e-mail address: {addr_spec!r}")
    return address


def _one_line(text: str) -> str:
    return " ".join(nfc(str(text)).split())


# -- reading settings ---------------------------------------------------------------------------


def _name(context: SenderContext, key: str) -> str:
    return f"{context.where}.{key}"


def _bad(context: SenderContext, key: str, what: str, value: Any = None, *, show: bool = True) -> SenderConfigError:
    shown = f" (got {value!r})" if show else ""
    return SenderConfigError(f"{_name(context, key)}: {what}{shown}")


def _text(context: SenderContext, key: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = context.setting(key, default, required=required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _bad(context, key, "expected a text value", value)
    value = str(value).strip()
    if not value:
        if required:
            raise _bad(context, key, "must not be empty", value)
        return default
    return value


def _number(context: SenderContext, key: str, default: float, *, maximum: float = 600) -> float:
    value = context.setting(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= maximum:
        raise _bad(context, key, f"expected a number of seconds above 0 and at most {maximum:g}", value)
    return float(value)


def _choice(context: SenderContext, key: str, choices: tuple[str, ...], default: str) -> str:
    value = context.setting(key, default)
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise _bad(context, key, "expected one of " + ", ".join(f'"{c}"' for c in choices), value)
    return value.strip().lower()


def _url(context: SenderContext, key: str, default: str | None = None, *, required: bool = False) -> str:
    value = _text(context, key, default, required=required)
    parts = urllib.parse.urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(context, key, "expected an http:// or https:// address", value)
    return value


def _email_address(context: SenderContext, key: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        _address(value)
    except ValueError:
        valid = False
    else:
        valid = re.fullmatch(r"[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+|[^@\s<>,]+@localhost", value) is not None
    if not valid:
        raise _bad(context, key, "expected an e-mail address", value)
    return value


def _string_list(context: SenderContext, key: str, default: list[str] | None) -> list[str] | None:
    value = context.setting(key, default)
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise _bad(context, key, 'expected a non-empty list, like ["100"]', value)
    items = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise _bad(context, key, "expected a list of texts or numbers", value)
        items.append(str(item))
    return items


def _table(context: SenderContext, key: str) -> Mapping[str, Any]:
    value = context.setting(key, {})
    if not isinstance(value, Mapping):
        raise _bad(context, key, "expected a table", value)
    return value


def _dotted(context: SenderContext, key: str) -> str | None:
    value = _text(context, key)
    if value is not None and not re.fullmatch(r"[^.\s]+(\.[^.\s]+)*", value):
        raise _bad(context, key, 'expected a dotted path in the JSON answer, like "data.status"', value)
    return value


# -- HTTP plumbing shared by http_sms and zalo_zns ----------------------------------------------


def _pool(timeout: float) -> urllib3.PoolManager:
    """A keep-alive connection pool: no automatic retries (the outbox decides), no redirects."""
    return urllib3.PoolManager(num_pools=4, maxsize=4, block=False, retries=False,
                               timeout=urllib3.Timeout(total=timeout), headers={"User-Agent": USER_AGENT})


def _network_problem(label: str, error: Exception, timeout: float) -> str:
    """A connection-level failure as a reason for the officer."""
    text = re.sub(r"<[^<>]* object at 0x[0-9a-fA-F]+>:?\s*", "", str(error)).strip() or type(error).__name__
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return f"không kết nối được {label}: {text}"
    if isinstance(error, (urllib3.exceptions.TimeoutError, TimeoutError, socket.timeout)):
        return f"{label} không trả lời trong {timeout:g} giây ({text})"
    return f"lỗi kết nối {label}: {text}"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return None


_MISSING = object()


def _lookup(answer: Any, path: str | None) -> Any:
    """``answer["data"]["status"]`` for ``data.status`` (a number indexes a list);
    ``_MISSING`` when absent."""
    if path is None:
        return _MISSING
    current = answer
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _as_text(value: Any) -> str:
    """A JSON value compared with configured texts: ``100`` and ``"100"`` are both ``100``."""
    if value is _MISSING:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _snippet(data: bytes, limit: int = 200) -> str:
    text = " ".join(data.decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Scrubber:
    """Removes credentials from text that becomes a reason (a gateway may echo the request)."""

    def __init__(self, *secrets: str | None):
        self.secrets = {s for s in secrets if s and len(s) >= 4}

    def add(self, *secrets: str | None) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 4)

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
            quoted = urllib.parse.quote(secret, safe="")
            if quoted != secret:
                text = text.replace(quoted, "***")
        return text


def _seconds_until(hour: int) -> float:
    """Seconds until the next ``hour``:00 Vietnam time."""
    now = dt.datetime.now(VN_TZ)
    target = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= now:
        target += dt.timedelta(days=1)
    return (target - now).total_seconds()


# -- smtp ---------------------------------------------------------------------------------------


@cache
def _fqdn() -> str:
    return socket.getfqdn()


class SmtpSender:
    """E-mail through one SMTP server. The session stays open between messages; a session the
    server closed meanwhile is reopened once, transparently."""

    def __init__(self, *, host: str, port: int, security: str, from_address: str, username: str | None = None,
                 password: str | None = None, from_name: str | None = None, reply_to: str | None = None,
                 timeout: float = 20, helo: str | None = None, ca_file: str | None = None):
        self.host, self.port, self.security = host, port, security
        self.username, self._password = username, password
        self.from_address, self.from_name, self.reply_to = from_address, from_name, reply_to
        self.timeout, self.helo, self.ca_file = timeout, helo, ca_file
        self._conn: smtplib.SMTP | None = None
        self._lock = threading.Lock()
        self._scrub = _Scrubber(password)

    @property
    def _server(self) -> str:
        return f"máy chủ SMTP {self.host}:{self.port}"

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def _open(self) -> smtplib.SMTP:
        helo = self.helo or _fqdn()
        if self.security == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, local_hostname=helo, timeout=self.timeout,
                                                  context=self._tls())
        else:
            conn = smtplib.SMTP(self.host, self.port, local_hostname=helo, timeout=self.timeout)
        try:
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=self._tls())
                conn.ehlo()
            if self.username:
                conn.login(self.username, self._password or "")
        except BaseException:
            _close_quietly(conn)
            raise
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            _close_quietly(self._conn)
            self._conn = None

    def send(self, message: OutgoingMessage) -> SendResult:
        try:
            mail = build_email(message, from_address=self.from_address, from_name=self.from_name,
                               reply_to=self.reply_to)
            data = mail.as_bytes()
        except (ValueError, TypeError, IndexError) as error:
            return SendResult.failed(f"không tạo được thư cho địa chỉ {mask_address('email', message.address)}: "
                                     f"{error}")
        address = str(message.address).strip()
        if not (address.isascii() and self.from_address.isascii()):
            # An internationalised address needs SMTPUTF8, which ccch does not use.
            return SendResult.failed(f"địa chỉ thư có ký tự ngoài ASCII, không gửi được qua SMTP: "
                                     f"{mask_address('email', address)}")
        with self._lock:
            result = self._deliver(address, data, mail["Message-ID"])
        if result.reason:
            result = SendResult(result.outcome, self._scrub(result.reason), result.gateway_id, result.retry_after,
                                result.channel_down)
        return result

    def _deliver(self, address: str, data: bytes, message_id: str) -> SendResult:
        for _ in range(2):
            reused = self._conn is not None
            if self._conn is None:
                try:
                    self._conn = self._open()
                except smtplib.SMTPAuthenticationError as error:
                    return SendResult.retry(f"đăng nhập SMTP bị từ chối: {_reply_text(error)} "
                                            f"({self._server}, tài khoản {self.username})", channel_down=True)
                except (smtplib.SMTPException, OSError, UnicodeError) as error:
                    return SendResult.retry(f"không kết nối được {self._server}: {_describe(error)}",
                                            channel_down=True)
            try:
                refused = self._conn.sendmail(self.from_address, [address], data)
            except smtplib.SMTPServerDisconnected as error:
                self._drop()
                if reused:
                    continue  # the server closed an idle session: open a new one, once
                return SendResult.retry(f"{self._server} ngắt kết nối: {_describe(error)}", channel_down=True)
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()), (0, b""))
                return self._answer("người nhận bị từ chối", code, text, one_recipient=True)
            except smtplib.SMTPResponseException as error:  # MAIL FROM or DATA refused
                if error.smtp_code == 421:
                    self._drop()  # "service closing": smtplib closed the session
                    if reused:
                        continue
                stage = "người gửi bị từ chối" if isinstance(error, smtplib.SMTPSenderRefused) else "thư bị từ chối"
                if error.smtp_code in (530, 534, 535, 538):  # authentication needed or refused
                    self._drop()
                    return SendResult.retry(f"{self._server}: {stage}: {_reply_text(error)}", channel_down=True)
                return self._answer(stage, error.smtp_code, error.smtp_error, one_recipient=False)
            except (smtplib.SMTPException, OSError) as error:
                self._drop()
                return SendResult.retry(f"lỗi khi gửi tới {self._server}: {_describe(error)}", channel_down=True)
            if refused:  # only with several recipients; kept for completeness
                code, text = next(iter(refused.values()))
                return self._answer("người nhận bị từ chối", code, text, one_recipient=True)
            return SendResult.sent(message_id)
        return SendResult.retry(f"{self._server} ngắt kết nối hai lần liên tiếp", channel_down=True)

    def _answer(self, stage: str, code: int, text: bytes | str, *, one_recipient: bool) -> SendResult:
        reason = f"{self._server}: {stage}: {code} {_decode(text)}".strip()
        if 500 <= code < 600:
            return SendResult.failed(reason)
        if 400 <= code < 500:
            return SendResult.retry(reason, channel_down=code == 421 or not one_recipient)
        self._drop()
        return SendResult.retry(reason, channel_down=True)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.quit()
                except (smtplib.SMTPException, OSError):
                    pass
                self._drop()


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _reply_text(error: smtplib.SMTPResponseException) -> str:
    return f"{error.smtp_code} {_decode(error.smtp_error)}"


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply_text(error)
    return str(error) or type(error).__name__


def _close_quietly(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:
        pass


def _create_smtp(context: SenderContext) -> SmtpSender:
    host = _text(context, "host", required=True)
    security = _choice(context, "security", ("starttls", "ssl", "none"), "starttls")
    port = context.setting("port", {"starttls": 587, "ssl": 465, "none": 25}[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _bad(context, "port", "expected a port number (1–65535)", port)
    username = _text(context, "username")
    password = context.secret("password", required=bool(username))
    from_address = _email_address(context, "from_address", _text(context, "from_address", required=True))
    reply_to = _email_address(context, "reply_to", _text(context, "reply_to"))
    ca_file = _text(context, "ca_file")
    if ca_file is not None:
        path = Path(context.folder) / ca_file
        if not path.is_file():
            raise _bad(context, "ca_file", "no such file", str(path))
        ca_file = str(path)
    return SmtpSender(host=host, port=port, security=security, username=username, password=password,
                      from_address=from_address, from_name=_text(context, "from_name"), reply_to=reply_to,
                      timeout=_number(context, "timeout", 20), helo=_text(context, "helo"), ca_file=ca_file)


# -- http_sms -----------------------------------------------------------------------------------

PLACEHOLDERS = ("phone", "phone84", "text", "idempotency_key", "message_id", "brandname", "api_key", "secret_key")
"""What ``fields`` and ``headers`` templates of ``http_sms`` may use: ``{phone}`` (0912345678),
``{phone84}`` (84912345678), ``{text}``, ``{idempotency_key}``, ``{message_id}``,
``{brandname}``, ``{api_key}``, ``{secret_key}``."""


def _template_names(context: SenderContext, key: str, template: str) -> set[str]:
    """The placeholders ``template`` uses; :class:`SenderConfigError` for an unknown one."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise _bad(context, key, f"{error} (write {{{{ and }}}} for literal braces)", show=False) from None
    names = set()
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS or conversion or (spec and "{" in spec):
            raise _bad(context, key, f"unknown placeholder {{{field}}}; use "
                       + ", ".join("{" + p + "}" for p in PLACEHOLDERS), show=False)
        names.add(field)
    return names


def _check_fields(context: SenderContext, key: str, value: Any, *, nested: bool) -> set[str]:
    """Check a ``fields`` value (templates, constants, for JSON also tables and lists)."""
    if isinstance(value, str):
        return _template_names(context, key, value)
    if isinstance(value, (bool, int, float)):
        return set()
    if nested and isinstance(value, Mapping):
        return set().union(*(_check_fields(context, f"{key}.{k}", v, nested=True) for k, v in value.items()))
    if nested and isinstance(value, list):
        return set().union(*(_check_fields(context, f"{key}.{i}", v, nested=True) for i, v in enumerate(value)))
    what = "a text, a number or a table" if nested else 'a text or a number (tables need body = "json")'
    raise _bad(context, key, f"expected {what}", type(value).__name__, show=True)


def _render(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(values)
    if isinstance(value, Mapping):
        return {str(k): _render(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, values) for v in value]
    return value


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class HttpSmsSender:
    """An SMS brandname gateway's HTTP API, described by its settings (fields, headers, how to
    recognise success). One pooled keep-alive connection per gateway host."""

    def __init__(self, *, url: str, method: str = "POST", body: str = "json", fields: Mapping[str, Any],
                 headers: Mapping[str, str] | None = None, api_key: str | None = None,
                 secret_key: str | None = None, brandname: str | None = None,
                 success_status: tuple[int, ...] = (200, 201, 202), success_field: str | None = None,
                 success_values: tuple[str, ...] = (), retry_values: tuple[str, ...] = (),
                 message_id_field: str | None = None, error_field: str | None = None,
                 idempotency_header: str | None = None, timeout: float = 15):
        self.url, self.method, self.body = url, method, body
        self.fields, self.headers = dict(fields), dict(headers or {})
        self.api_key, self.secret_key, self.brandname = api_key, secret_key, brandname
        self.success_status, self.success_field = tuple(success_status), success_field
        self.success_values, self.retry_values = tuple(success_values), tuple(retry_values)
        self.message_id_field, self.error_field = message_id_field, error_field
        self.idempotency_header, self.timeout = idempotency_header, timeout
        self._pool = _pool(timeout)
        self._scrub = _Scrubber(api_key, secret_key)
        self._label = f"cổng SMS {urllib.parse.urlsplit(url).netloc}"

    def request_for(self, message: OutgoingMessage) -> tuple[str, dict[str, str], bytes | None]:
        """The URL, headers and body sent for ``message`` (for tests and ``ccch messages`` checks)."""
        values = {"phone": message.address, "phone84": phone84(message.address), "text": message.text,
                  "idempotency_key": message.idempotency_key, "message_id": str(message.id),
                  "brandname": self.brandname or "", "api_key": self.api_key or "",
                  "secret_key": self.secret_key or ""}
        fields = _render(self.fields, values)
        headers = urllib3.HTTPHeaderDict({name: _one_line(_render(value, values))
                                          for name, value in self.headers.items()})
        if self.idempotency_header:
            headers[self.idempotency_header] = message.idempotency_key
        url, body = self.url, None
        if self.body == "json":
            body = json.dumps(fields, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        elif self.body == "form":
            body = urllib.parse.urlencode({k: _form_value(v) for k, v in fields.items()}).encode("ascii")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            query = urllib.parse.urlencode({k: _form_value(v) for k, v in fields.items()})
            url = f"{url}{'&' if '?' in url else '?'}{query}" if query else url
        headers.setdefault("Accept", "application/json")
        return url, dict(headers), body

    def send(self, message: OutgoingMessage) -> SendResult:
        result = self._send(message)
        if result.reason:
            result = SendResult(result.outcome, self._scrub(result.reason), result.gateway_id, result.retry_after,
                                result.channel_down)
        return result

    def _send(self, message: OutgoingMessage) -> SendResult:
        url, headers, body = self.request_for(message)
        try:
            response = self._pool.request(self.method, url, body=body, headers=headers, redirect=False,
                                          retries=False)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return SendResult.retry(_network_problem(self._label, error, self.timeout), channel_down=True)
        status, data = response.status, response.data
        answer = _json(data)
        detail = self._detail(answer, data)
        wait = _retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return SendResult.retry(f"{self._label} báo gửi quá nhanh (HTTP 429){detail}", retry_after=wait,
                                    channel_down=True)
        if status >= 500 or status == 408:
            return SendResult.retry(f"{self._label} lỗi HTTP {status}{detail}", retry_after=wait, channel_down=True)
        if status in (401, 403):
            # Wrong credentials refuse every message: wait for the officer to fix them rather than
            # failing the whole queue one by one.
            return SendResult.retry(f"{self._label} từ chối xác thực (HTTP {status}){detail}: kiểm tra api_key",
                                    channel_down=True)
        if status not in self.success_status:
            return SendResult.failed(f"{self._label} từ chối: HTTP {status}{detail}")
        if self.success_field:
            if answer is None:
                return SendResult.retry(f"{self._label} trả lời HTTP {status} không phải JSON: {_snippet(data)}",
                                        channel_down=True)
            code = _as_text(_lookup(answer, self.success_field))
            if code not in self.success_values:
                shown = code if code else "(không có)"
                reason = f"{self._label} trả mã {self.success_field} = {shown}{detail}"
                if code in self.retry_values:
                    return SendResult.retry(reason, channel_down=True)
                return SendResult.failed(reason)
        gateway_id = _lookup(answer, self.message_id_field) if answer is not None else _MISSING
        return SendResult.sent(None if gateway_id in (_MISSING, None, "") else _as_text(gateway_id))

    def _detail(self, answer: Any, data: bytes) -> str:
        if self.error_field and answer is not None:
            value = _lookup(answer, self.error_field)
            if value not in (_MISSING, None, ""):
                return f": {_as_text(value)}"
        text = _snippet(data)
        return f": {text}" if text else ""

    def close(self) -> None:
        self._pool.clear()


def _create_http_sms(context: SenderContext) -> HttpSmsSender:
    url = _url(context, "url", required=True)
    method = _choice(context, "method", ("post", "get"), "POST").upper()
    body = _choice(context, "body", ("json", "form", "query"), "query" if method == "GET" else "json")
    if method == "GET" and body != "query":
        raise _bad(context, "body", 'a GET request carries its fields in the query: use body = "query"', body)
    fields = _table(context, "fields")
    if not fields:
        raise SenderConfigError(f"{_name(context, 'fields')}: missing required setting "
                                '(a table like { Phone = "{phone}", Content = "{text}" })')
    used = set()
    for key, value in fields.items():
        used |= _check_fields(context, f"fields.{key}", value, nested=body == "json")
    headers = _table(context, "headers")
    for key, value in headers.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _bad(context, f"headers.{key}", "expected a text", value)
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", str(key)):
            raise _bad(context, f"headers.{key}", "not a valid HTTP header name", key)
        used |= _template_names(context, f"headers.{key}", str(value))
    headers = {str(k): str(v) for k, v in headers.items()}
    api_key = context.secret("api_key", required="api_key" in used)
    secret_key = context.secret("secret_key", required="secret_key" in used)
    brandname = _text(context, "brandname", required="brandname" in used)
    statuses = context.setting("success_status", [200, 201, 202])
    if (not isinstance(statuses, list) or not statuses
            or any(isinstance(s, bool) or not isinstance(s, int) or not 100 <= s < 600 for s in statuses)):
        raise _bad(context, "success_status", "expected a list of HTTP status codes, like [200]", statuses)
    success_field = _dotted(context, "success_field")
    success_values = _string_list(context, "success_values", None)
    if success_field and not success_values:
        raise SenderConfigError(f"{_name(context, 'success_values')}: needed with success_field "
                                '(the values that mean "accepted", like ["100"])')
    if success_values and not success_field:
        raise SenderConfigError(f"{_name(context, 'success_field')}: needed with success_values "
                                '(the field of the answer to compare, like "CodeResult")')
    retry_values = _string_list(context, "retry_values", None) or []
    if retry_values and not success_field:
        raise SenderConfigError(f"{_name(context, 'success_field')}: needed with retry_values")
    idempotency_header = _text(context, "idempotency_header")
    if idempotency_header and not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", idempotency_header):
        raise _bad(context, "idempotency_header", "not a valid HTTP header name", idempotency_header)
    return HttpSmsSender(url=url, method=method, body=body, fields=fields, headers=headers, api_key=api_key,
                         secret_key=secret_key, brandname=brandname, success_status=tuple(statuses),
                         success_field=success_field, success_values=tuple(success_values or ()),
                         retry_values=tuple(retry_values), message_id_field=_dotted(context, "message_id_field"),
                         error_field=_dotted(context, "error_field"), idempotency_header=idempotency_header,
                         timeout=_number(context, "timeout", 15))


# -- zalo_zns -----------------------------------------------------------------------------------

ZNS_API_URL = "https://business.openapi.zalo.me/message/template"
ZALO_OAUTH_URL = "https://oauth.zaloapp.com/v4/oa/access_token"
ZNS_TOKEN_ERRORS = frozenset({-124, -216})
"""ZNS ``error`` codes meaning the access token is invalid or expired: refresh and try once more."""
ZNS_RETRY_ERRORS: dict[int, tuple[bool, int | None]] = {
    -32: (True, None),  # too many requests per minute
    -100: (False, None),  # unknown error, "try again later"
    -115: (True, None),  # the ZNS account's balance is used up
    -133: (False, 6),  # this template may not be sent at night (22:00–06:00): wait for 06:00
    -144: (True, 0),  # the OA's daily ZNS limit is reached: wait for midnight
    -147: (False, 0),  # this template's daily limit is reached: wait for midnight
}
"""ZNS ``error`` codes that are temporary → (the whole channel is affected, Vietnam hour to wait
for). Every other negative code is a permanent failure of the message."""
TOKEN_REFRESH_MARGIN = 300
"""Seconds before its expiry an access token is refreshed."""
STATE_KEYS = ("access_token", "refresh_token", "access_token_expires_at")

SETTINGS_FINGERPRINT = "settings_fingerprint"
"""State key: which ``access_token``/``refresh_token`` settings the state was last seeded from, so
that new tokens pasted into ``ccch.toml`` replace the rotated ones in the database."""


class ZnsTemplate:
    """A ZNS template a message template maps to: its id, and optionally which of our parameters
    fills each ZNS parameter (``{zns_name: our_name}``; None: our parameters as they are)."""

    __slots__ = ("params", "template_id")

    def __init__(self, template_id: str, params: Mapping[str, str] | None = None):
        self.template_id = template_id
        self.params = dict(params) if params is not None else None

    def data(self, params: Mapping[str, str]) -> dict[str, str]:
        """``template_data`` for a message's parameters; ``KeyError`` naming a missing one."""
        if self.params is None:
            return dict(params)
        missing = [ours for ours in self.params.values() if ours not in params]
        if missing:
            raise KeyError(", ".join(missing))
        return {zns: params[ours] for zns, ours in self.params.items()}


class _TokenRejected:
    def __init__(self, reason: str):
        self.reason = reason


def _fingerprint(*tokens: str | None) -> str | None:
    if not any(tokens):
        return None
    return hashlib.sha256("\n".join(t or "" for t in tokens).encode()).hexdigest()[:16]


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


class ZaloZnsSender:
    """Zalo Notification Service: template messages to a phone number, sent as a Zalo Official
    Account. The access token (about 25 hours) is refreshed with the refresh token, which rotates
    on every refresh: both are kept in the sender state (the database), never only in memory."""

    def __init__(self, *, app_id: str, secret_key: str, state: Any, templates: Mapping[str, ZnsTemplate],
                 access_token: str | None = None, refresh_token: str | None = None,
                 api_url: str = ZNS_API_URL, oauth_url: str = ZALO_OAUTH_URL, mode: str | None = None,
                 timeout: float = 15):
        self.app_id, self._secret_key, self.state = app_id, secret_key, state
        self.templates = dict(templates)
        self._initial = (access_token, refresh_token)
        self.api_url, self.oauth_url, self.mode, self.timeout = api_url, oauth_url, mode, timeout
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires_at: float | None = None
        self._loaded = False
        self._lock = threading.Lock()
        self._pool = _pool(timeout)
        self._scrub = _Scrubber(secret_key, access_token, refresh_token)

    # The request ------------------------------------------------------------------------------

    def payload(self, message: OutgoingMessage) -> dict[str, Any] | SendResult:
        """The JSON body sent for ``message``, or the failure when no ZNS template fits it."""
        template = self.templates.get(message.template)
        if template is None:
            return SendResult.failed(f"chưa cấu hình mẫu ZNS cho “{message.template}” (thêm vào templates của "
                                     f"[messages.channels.{message.channel}] trong ccch.toml)")
        try:
            data = template.data(message.params)
        except KeyError as error:
            return SendResult.failed(f"mẫu ZNS {template.template_id} (“{message.template}”) cần tham số "
                                     f"{error.args[0]} mà tin nhắn không có")
        payload = {"phone": phone84(message.address), "template_id": template.template_id,
                   "template_data": data, "tracking_id": message.idempotency_key}
        if self.mode:
            payload["mode"] = self.mode
        return payload

    def send(self, message: OutgoingMessage) -> SendResult:
        result = self._send(message)
        if result.reason:
            result = SendResult(result.outcome, self._scrub(result.reason), result.gateway_id, result.retry_after,
                                result.channel_down)
        return result

    def _send(self, message: OutgoingMessage) -> SendResult:
        payload = self.payload(message)
        if isinstance(payload, SendResult):
            return payload
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        token = self._token()
        if isinstance(token, SendResult):
            return token
        result = self._post(body, token)
        if isinstance(result, _TokenRejected):
            token = self._renew(rejected=token, why=result.reason)
            if isinstance(token, SendResult):
                return token
            result = self._post(body, token)
            if isinstance(result, _TokenRejected):
                return SendResult.retry(f"Zalo vẫn từ chối access token vừa làm mới ({result.reason})",
                                        channel_down=True)
        return result

    def _post(self, body: bytes, token: str) -> SendResult | _TokenRejected:
        label = "Zalo ZNS"
        try:
            response = self._pool.request(
                "POST", self.api_url, body=body, redirect=False, retries=False,
                headers={"access_token": token, "Content-Type": "application/json; charset=utf-8",
                         "Accept": "application/json"})
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return SendResult.retry(_network_problem(label, error, self.timeout), channel_down=True)
        status, data = response.status, response.data
        wait = _retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return SendResult.retry(f"{label} báo gửi quá nhanh (HTTP 429): {_snippet(data)}", retry_after=wait,
                                    channel_down=True)
        if status >= 500:
            return SendResult.retry(f"{label} lỗi HTTP {status}: {_snippet(data)}", retry_after=wait,
                                    channel_down=True)
        answer = _json(data)
        error = answer.get("error") if isinstance(answer, Mapping) else None
        try:
            code = int(error)
        except (TypeError, ValueError):
            if 200 <= status < 300:
                return SendResult.retry(f"{label} trả lời không đúng dạng (HTTP {status}): {_snippet(data)}",
                                        channel_down=True)
            return SendResult.failed(f"{label} từ chối: HTTP {status}: {_snippet(data)}")
        text = _as_text(answer.get("message", ""))
        if code == 0 and 200 <= status < 300:
            msg_id = _lookup(answer, "data.msg_id")
            return SendResult.sent(None if msg_id in (_MISSING, None, "") else _as_text(msg_id))
        if code in ZNS_TOKEN_ERRORS:
            return _TokenRejected(f"mã {code}: {text}")
        if code in ZNS_RETRY_ERRORS:
            channel_down, hour = ZNS_RETRY_ERRORS[code]
            return SendResult.retry(f"{label} tạm từ chối (mã {code}): {text}",
                                    retry_after=_seconds_until(hour) if hour is not None else wait,
                                    channel_down=channel_down)
        return SendResult.failed(f"{label} từ chối tin (mã {code}): {text}")

    # The tokens -------------------------------------------------------------------------------

    def _read_state(self) -> tuple[str | None, str | None, float | None]:
        get = self.state.get
        return (get("access_token") or None, get("refresh_token") or None,
                _seconds(get("access_token_expires_at")))

    def _store(self, access: str | None, refresh: str | None, expires_at: float | None) -> None:
        self._access, self._refresh, self._expires_at = access, refresh, expires_at
        self._scrub.add(access, refresh)
        # The refresh token first: once Zalo has answered, the old one is dead.
        self.state.set("refresh_token", refresh or "")
        self.state.set("access_token", access or "")
        self.state.set("access_token_expires_at", "" if expires_at is None else str(int(expires_at)))

    def _load(self) -> None:
        """Tokens from the state; from the settings when the state has none, or when the settings'
        tokens changed since they were last copied there (an officer pasted new ones)."""
        if self._loaded:
            return
        fingerprint = _fingerprint(*self._initial)
        seeded_from = self.state.get(SETTINGS_FINGERPRINT) or None
        access, refresh, expires_at = self._read_state()
        if fingerprint and (not (access or refresh) or (seeded_from and seeded_from != fingerprint)):
            self._store(*self._initial, None)
            self.state.set(SETTINGS_FINGERPRINT, fingerprint)
        else:
            if fingerprint and not seeded_from:
                self.state.set(SETTINGS_FINGERPRINT, fingerprint)
            self._access, self._refresh, self._expires_at = access, refresh, expires_at
            self._scrub.add(access, refresh)
        self._loaded = True

    @staticmethod
    def _expiring(expires_at: float | None) -> bool:
        return expires_at is not None and time.time() >= expires_at - TOKEN_REFRESH_MARGIN

    def _token(self) -> str | SendResult:
        with self._lock:
            self._load()
            if self._access and not self._expiring(self._expires_at):
                return self._access
            return self._refresh_token(why="access token đã hết hạn" if self._access else "chưa có access token")

    def _renew(self, *, rejected: str, why: str) -> str | SendResult:
        with self._lock:
            if self._access and self._access != rejected and not self._expiring(self._expires_at):
                return self._access  # another thread renewed it meanwhile
            return self._refresh_token(rejected=rejected, why=f"Zalo từ chối access token ({why})")

    def _refresh_token(self, *, why: str, rejected: str | None = None) -> str | SendResult:
        """Exchange the refresh token for new tokens (under the lock) and store both at once."""
        # Another process may have renewed the tokens: the state is the reference.
        access, refresh, expires_at = self._read_state()
        self._scrub.add(access, refresh)
        if access and access not in (rejected, self._access) and not self._expiring(expires_at):
            self._access, self._refresh, self._expires_at = access, refresh, expires_at
            return access
        refresh = refresh or self._refresh
        cannot = f"không làm mới được access token Zalo ({why})"
        if not refresh:
            return SendResult.retry(f"{cannot}: chưa có refresh token (đặt refresh_token hoặc refresh_token_env)",
                                    channel_down=True)
        body = urllib.parse.urlencode({"refresh_token": refresh, "app_id": self.app_id,
                                       "grant_type": "refresh_token"}).encode("ascii")
        try:
            response = self._pool.request(
                "POST", self.oauth_url, body=body, redirect=False, retries=False,
                headers={"secret_key": self._secret_key, "Content-Type": "application/x-www-form-urlencoded",
                         "Accept": "application/json"})
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return SendResult.retry(f"{cannot}: {_network_problem('máy chủ OAuth Zalo', error, self.timeout)}",
                                    channel_down=True)
        answer = _json(response.data)
        if (response.status != 200 or not isinstance(answer, Mapping) or not answer.get("access_token")
                or not answer.get("refresh_token")):
            return SendResult.retry(f"{cannot}: {_oauth_error(response.status, answer, response.data)}",
                                    channel_down=True)
        expires_in = _seconds(answer.get("expires_in"))
        new_access, new_refresh = str(answer["access_token"]), str(answer["refresh_token"])
        self._store(new_access, new_refresh, time.time() + expires_in if expires_in else None)
        log.info("zalo_zns: access token renewed (%s), valid for %s s", why, int(expires_in or 0))
        return new_access

    def close(self) -> None:
        self._pool.clear()


def _oauth_error(status: int, answer: Any, data: bytes) -> str:
    if isinstance(answer, Mapping) and "error" in answer:
        words = [str(answer[k]) for k in ("error_name", "error_description", "error_reason", "message")
                 if answer.get(k)]
        return f"HTTP {status}, mã {answer['error']}: {' — '.join(dict.fromkeys(words)) or _snippet(data)}"
    return f"HTTP {status}: {_snippet(data) or 'câu trả lời rỗng'}"


def _zns_templates(context: SenderContext) -> dict[str, ZnsTemplate]:
    templates = {}
    for key, value in _table(context, "templates").items():
        where = f"templates.{key}"
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            templates[str(key)] = ZnsTemplate(str(value).strip())
            continue
        if not isinstance(value, Mapping):
            raise _bad(context, where, 'expected a ZNS template id, or a table { template_id = "…", '
                       'params = { zns_name = "our_name" } }', value)
        unknown = sorted(set(value) - {"template_id", "params"})
        if unknown:
            raise _bad(context, f"{where}.{unknown[0]}", "unknown key (use template_id and params)", unknown[0])
        template_id = value.get("template_id")
        if isinstance(template_id, bool) or not isinstance(template_id, (str, int)) or not str(template_id).strip():
            raise _bad(context, f"{where}.template_id", "expected the ZNS template id", template_id)
        params = value.get("params")
        if params is not None and (not isinstance(params, Mapping)
                                   or not all(isinstance(v, str) and v for v in params.values())):
            raise _bad(context, f"{where}.params", "expected a table { zns_name = \"our_name\" }", params)
        templates[str(key)] = ZnsTemplate(str(template_id).strip(), params)
    return templates


def _create_zalo_zns(context: SenderContext) -> ZaloZnsSender:
    app_id = _text(context, "app_id", required=True)
    secret_key = context.secret("secret_key")
    access_token = context.secret("access_token", required=False)
    refresh_token = context.secret("refresh_token", required=False)
    if not (access_token or refresh_token or context.state.get("access_token")
            or context.state.get("refresh_token")):
        raise SenderConfigError(f"{context.where}: set refresh_token or refresh_token_env (or access_token): the "
                                "Official Account's tokens from Zalo for Developers")
    mode = context.setting("mode")
    if mode is not None and mode != "development":
        raise _bad(context, "mode", 'expected "development" (or no mode at all, to send for real)', mode)
    return ZaloZnsSender(app_id=app_id, secret_key=secret_key, state=context.state,
                         templates=_zns_templates(context), access_token=access_token,
                         refresh_token=refresh_token, api_url=_url(context, "api_url", ZNS_API_URL),
                         oauth_url=_url(context, "oauth_url", ZALO_OAUTH_URL), mode=mode,
                         timeout=_number(context, "timeout", 15))


# -- folder -------------------------------------------------------------------------------------


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("._") or "x"


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (a temporary file beside it, then renamed), mode 0600.

    The temporary file is named by the message's file, this process and thread: a message is sent
    by one deliverer at a time, so no other writer uses that name, and no random name has to be
    drawn. The folder is made only when the file cannot be created without it (a new day's first
    message): each SMS of a contest's rush is a file here, and these were two-fifths of its cost."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}-{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        handle = os.open(temporary, flags, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


class FolderSender:
    """Development: each message becomes a file under ``folder/<channel>/<YYYY-MM-DD>/`` (an
    ``.eml`` for e-mail, a readable ``.txt`` otherwise) and one log line; nothing is sent."""

    def __init__(self, *, folder: Path, base: Path, from_address: str = "ccch@localhost",
                 from_name: str | None = None):
        self.folder, self.base = Path(folder), Path(base)
        self.from_address, self.from_name = from_address, from_name

    def path_for(self, message: OutgoingMessage, now: dt.datetime | None = None) -> Path:
        """Where ``message`` is written: an earlier attempt's file when there is one (so a retry
        overwrites it, even after midnight), else today's folder (Vietnam time)."""
        now = (now or dt.datetime.now(VN_TZ)).astimezone(VN_TZ)
        suffix = ".eml" if message.channel == "email" else ".txt"
        name = f"{message.id}-{_safe_name(message.purpose)}{suffix}"
        channel = self.folder / _safe_name(message.channel)
        today = channel / now.date().isoformat() / name
        if message.attempt <= 1:
            return today  # each claim counts an attempt: a first one has no earlier file to overwrite
        if today.exists():
            return today
        yesterday = channel / (now.date() - dt.timedelta(days=1)).isoformat() / name
        if yesterday.exists():
            return yesterday
        if message.attempt > 1:
            earlier = sorted(channel.glob(f"*/{name}"))
            if earlier:
                return earlier[-1]
        return today

    def render(self, message: OutgoingMessage) -> bytes:
        """The file's content."""
        if message.channel == "email":
            return build_email(message, from_address=self.from_address, from_name=self.from_name).as_bytes()
        lines = [f"Channel: {message.channel} ({CHANNELS.get(message.channel, message.channel)})",
                 f"To: {mask_address(message.channel, message.address)}",
                 f"Purpose: {message.purpose}",
                 f"Template: {message.template}"]
        if message.channel == "zalo":
            lines.append(f"Params: {json.dumps(dict(message.params), ensure_ascii=False, sort_keys=True)}")
        if message.subject:
            lines.append(f"Subject: {_one_line(message.subject)}")
        text = message.text if message.text.endswith("\n") else message.text + "\n"
        return ("\n".join(lines) + "\n\n" + text).encode("utf-8")

    def send(self, message: OutgoingMessage) -> SendResult:
        try:
            data = self.render(message)
        except (ValueError, TypeError, IndexError) as error:
            return SendResult.failed(f"không tạo được thư cho địa chỉ {mask_address(message.channel, message.address)}"
                                     f": {error}")
        path = self.path_for(message)
        try:
            _write_atomically(path, data)
        except OSError as error:
            return SendResult.retry(f"không ghi được tệp {path}: {error}", channel_down=True)
        first_line = next((line.strip() for line in message.text.splitlines() if line.strip()), "")
        if len(first_line) > 120:
            first_line = first_line[:119] + "…"
        log.info("%s to %s (%s): %s", message.channel, mask_address(message.channel, message.address),
                 message.purpose, first_line)
        try:
            shown = path.relative_to(self.base).as_posix()
        except ValueError:
            shown = str(path)
        return SendResult.sent(shown)

    def close(self) -> None:
        pass


def _create_folder(context: SenderContext) -> FolderSender:
    base = Path(context.folder)
    folder = _text(context, "folder", "outbox")
    from_address = _email_address(context, "from_address", _text(context, "from_address", "ccch@localhost"))
    return FolderSender(folder=base / folder, base=base, from_address=from_address,
                        from_name=_text(context, "from_name"))


# -- the registry's entries: in ccch_core.messages.kinds, which names them without importing this
# module (smtplib, ssl and urllib3 cost every `ccch` command a noticeable start-up otherwise).

from .kinds import BUILTIN_SENDERS, FOLDER, HTTP_SMS, SMTP, ZALO_ZNS
