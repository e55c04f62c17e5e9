"""Personal data helpers (Decree 13/2023/NĐ-CP): normalise, validate, hash and mask.

Phone numbers and citizen ID numbers are personal data. Plugins store them as a keyed hash (for
uniqueness checks: "one participant per phone number") plus a masked form for display, and keep
the clear value only where the person consented and the purpose needs it. The key is the
deployment's secret, so hashes cannot be reversed by trying every phone number without it.

Erasure on request and retention: :func:`erase_person` asks every enabled plugin, through the
``erase_personal_data`` hook, to find or erase one person's data (``ccch privacy erase``);
:func:`purge_expired` asks them, through ``purge_expired_personal_data``, to erase what is past
its retention time (``ccch privacy purge``, run daily). Both record what was done in the audit log.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re

import attrs

from .text import clean

__all__ = [
    "SEALED_PREFIX",
    "Erasure",
    "PersonalDataError",
    "PluginErasures",
    "describe_person",
    "erase_person",
    "keyed_hash",
    "mask_citizen_id",
    "mask_phone",
    "normalise_citizen_id",
    "normalise_email_address",
    "normalise_phone",
    "plugins_holding_personal_data",
    "purge_expired",
    "seal",
    "unseal",
]

# Vietnamese mobile numbers: 10 digits starting with 03, 05, 07, 08 or 09 (after the 2018
# renumbering); landlines 02x with 10–11 digits. +84 / 84 prefixes are accepted.
_MOBILE = re.compile(r"^0[35789]\d{8}$")
_LANDLINE = re.compile(r"^02\d{8,9}$")


class PersonalDataError(ValueError):
    """A phone number or ID number that is not valid (message in Vietnamese)."""


def normalise_phone(text: str) -> str:
    """A Vietnamese phone number as 10 or 11 digits starting with 0 ("+84 912 345 678" →
    "0912345678"). Raises :class:`PersonalDataError` otherwise."""
    digits = re.sub(r"[\s.\-()]", "", clean(text or ""))
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not digits.isdigit() or not (_MOBILE.match(digits) or _LANDLINE.match(digits)):
        raise PersonalDataError("Số điện thoại không hợp lệ (ví dụ: 0912 345 678).")
    return digits


def normalise_citizen_id(text: str) -> str:
    """A 12-digit citizen ID number (căn cước công dân). Raises :class:`PersonalDataError`."""
    digits = re.sub(r"\s", "", clean(text or ""))
    if not re.fullmatch(r"\d{12}", digits):
        raise PersonalDataError("Số căn cước công dân phải gồm đúng 12 chữ số.")
    return digits


def normalise_email_address(text: str) -> str:
    """An e-mail address as messages store it (:func:`ccch_core.messages.normalise_email`);
    :class:`PersonalDataError` otherwise."""
    from .messages.base import MessageError
    from .messages.outbox import normalise_email

    try:
        return normalise_email(text)
    except MessageError as exc:
        raise PersonalDataError(str(exc).split(": ", 1)[-1]) from None


def mask_phone(phone: str) -> str:
    """"0912345678" → "0912***678": enough for a person to recognise their entry in a public list."""
    return phone[:4] + "***" + phone[-3:] if len(phone) >= 8 else "***"


def mask_citizen_id(number: str) -> str:
    """"001203004567" → "********4567"."""
    return "*" * (len(number) - 4) + number[-4:] if len(number) > 4 else "****"


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under the deployment ``secret``, separated by ``purpose`` (so a
    phone hash for contests cannot be matched against one for surveys). Hex, 64 characters."""
    return hmac.digest(_hash_key(secret, purpose), value.encode("utf-8"), "sha256").hex()


@functools.lru_cache(maxsize=64)
def _hash_key(secret: str, purpose: str) -> bytes:
    """The HMAC key of a purpose (derived once: keyed hashes are on hot paths)."""
    return hashlib.sha256(f"ccch:{purpose}:{secret}".encode()).digest()


SEALED_PREFIX = "s1:"
"""Marks a sealed value (so values stored in clear by an older version still read)."""


def seal(secret: str, purpose: str, value: str) -> str:
    """``value`` encrypted and authenticated (Fernet: AES-128-CBC with HMAC-SHA256) under a key
    derived from the deployment ``secret`` and ``purpose``, for personal data that must be read back
    later but never sit in the database in clear: a contestant's contact number, kept only to reach
    them if they win. A copy of the database alone (a backup sent elsewhere) does not reveal it."""
    return SEALED_PREFIX + _fernet(secret, purpose).encrypt(value.encode("utf-8")).decode("ascii")


def unseal(secret: str, purpose: str, stored: str | None) -> str | None:
    """The value :func:`seal` sealed (a value stored in clear by an older version comes back as
    it is); None when it cannot be opened (another secret, another purpose, tampered)."""
    if stored is None or not stored.startswith(SEALED_PREFIX):
        return stored
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(secret, purpose).decrypt(stored[len(SEALED_PREFIX):].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None


@functools.lru_cache(maxsize=16)
def _fernet(secret: str, purpose: str):
    import base64

    from cryptography.fernet import Fernet

    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"ccch-seal:{purpose}:{secret}".encode()).digest()))


# -- erasure and retention ----------------------------------------------------------------------


@attrs.frozen
class Erasure:
    """What a plugin found (dry run) or erased: a line in Vietnamese for the officer, and how many
    records the line covers ("Người dự thi #12 của cuộc thi “…”: họ tên, số điện thoại")."""

    what: str
    count: int = 1


@attrs.frozen
class PluginErasures:
    """The erasures one plugin reported."""

    plugin: str
    items: tuple[Erasure, ...]

    @property
    def count(self) -> int:
        """Records covered by every line."""
        return sum(item.count for item in self.items)


def describe_person(phone: str | None, citizen_id: str | None, email: str | None = None) -> str:
    """The person as the audit log and messages name them: masked numbers only
    ("SĐT 0912***678, CCCD ********4567, thư n***@gmail.com")."""
    parts = []
    if phone:
        parts.append(f"SĐT {mask_phone(phone)}")
    if citizen_id:
        parts.append(f"CCCD {mask_citizen_id(citizen_id)}")
    if email:
        local, _, domain = email.rpartition("@")
        parts.append(f"thư {local[:1]}***@{domain}")
    return ", ".join(parts)


def _call_each(hook: str, **kwargs) -> list[PluginErasures]:
    """Call ``hook`` plugin by plugin (core first, then in enabling order) and collect their lines."""
    from .plugins import CORE_NAME, DEFAULT_PLUGINS

    found: list[PluginErasures] = []
    for plugin_name, impl in kwargs["deployment"].pm.each_impl(hook):
        result = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        items = tuple(result or ())
        for item in items:
            if not isinstance(item, Erasure):
                raise TypeError(f"plugin {plugin_name!r}: {hook} must return ccch_core.privacy.Erasure items, "
                                f"not {type(item).__name__}")
        name = CORE_NAME if plugin_name in DEFAULT_PLUGINS else plugin_name
        found.append(PluginErasures(name, items))
    return found


def plugins_holding_personal_data(deployment) -> list[str]:
    """Names of the enabled plugins that implement ``erase_personal_data`` (searched on a request)."""
    from .plugins import DEFAULT_PLUGINS

    return [CORE_LABEL if name in DEFAULT_PLUGINS else name
            for name, _ in deployment.pm.each_impl("erase_personal_data")]


CORE_LABEL = "tin nhắn và đầu mối liên hệ"
"""How the core's own personal data (the outbox, unit contacts) is named where plugins are listed."""


def _summary(results: list[PluginErasures]) -> str:
    return "; ".join(f"{r.plugin}: {item.what}" for r in results for item in r.items)


def erase_person(deployment, *, phone: str | None = None, citizen_id: str | None = None, email: str | None = None,
                 dry_run: bool = False, actor: str | None = None) -> list[PluginErasures]:
    """Find (``dry_run``) or erase one person's personal data in every enabled plugin.

    ``phone``, ``citizen_id`` and ``email`` are normalised here (raising
    :class:`PersonalDataError`); at least one is needed. Each plugin erases in its own transactions and keeps anonymous statistics.
    After a real run that erased something, one ``privacy.erase`` row naming the person by masked
    numbers and listing what each plugin erased goes to the audit log. Returns what each plugin
    reported (plugins that found nothing have no items).
    """
    from . import audit

    phone = normalise_phone(phone) if phone else None
    citizen_id = normalise_citizen_id(citizen_id) if citizen_id else None
    email = normalise_email_address(email) if email else None
    if not phone and not citizen_id and not email:
        raise PersonalDataError("Cần số điện thoại, số căn cước công dân hoặc thư điện tử của người yêu cầu.")
    results = _call_each("erase_personal_data", deployment=deployment, phone=phone,
                         citizen_id=citizen_id, email=email, dry_run=dry_run, actor=actor)
    if not dry_run and any(r.items for r in results):
        audit.record(deployment.db, actor, "privacy.erase", describe_person(phone, citizen_id, email),
                     _summary(results))
    return results


def purge_expired(deployment, *, now: dt.datetime | None = None, dry_run: bool = False,
                  actor: str | None = None) -> list[PluginErasures]:
    """Erase (or, with ``dry_run``, list) the personal data past every plugin's retention time.

    After a real run that erased something, one ``privacy.purge`` row goes to the audit log.
    """
    from . import audit
    from .periods import utc_now

    now = now or utc_now()
    results = _call_each("purge_expired_personal_data", deployment=deployment, now=now,
                         dry_run=dry_run, actor=actor)
    if not dry_run and any(r.items for r in results):
        total = sum(r.count for r in results)
        audit.record(deployment.db, actor, "privacy.purge", f"{total} bản ghi", _summary(results), now=now)
    return results
