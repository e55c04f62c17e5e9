"""Personal data helpers (Decree 13/2023/NĐ-CP): normalise, validate, hash and mask.

Phone numbers and citizen ID numbers are personal data. Plugins store them as a keyed hash (for
uniqueness checks: "one participant per phone number") plus a masked form for display, and keep
the clear value only where the person consented and the purpose needs it. The key is the
deployment's secret, so hashes cannot be reversed by trying every phone number without it.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from .text import clean

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


def mask_phone(phone: str) -> str:
    """"0912345678" → "0912***678": enough for a person to recognise their entry in a public list."""
    return phone[:4] + "***" + phone[-3:] if len(phone) >= 8 else "***"


def mask_citizen_id(number: str) -> str:
    """"001203004567" → "********4567"."""
    return "*" * (len(number) - 4) + number[-4:] if len(number) > 4 else "****"


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under the deployment ``secret``, separated by ``purpose`` (so a
    phone hash for contests cannot be matched against one for surveys). Hex, 64 characters."""
    key = hashlib.sha256(f"ccch:{purpose}:{secret}".encode()).digest()
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
