"""Vietnamese text helpers.

Input methods (Telex, VNI, copy from PDF) produce the same word in composed (NFC) or decomposed
(NFD) form. Everything that enters ccch goes through :func:`nfc` so that comparing and
de-duplicating works.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "clean",
    "fold",
    "nfc",
    "slugify",
    "sort_key",
    "strip_diacritics",
]

_SPACES = re.compile(r"\s+")
# Control characters (text pasted from a PDF carries some; XML and spreadsheets refuse them) and
# the bidirectional overrides that can make a name display as something else ("Trojan source").
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC form (composed Vietnamese letters)."""
    return unicodedata.normalize("NFC", text)


def clean(text: str) -> str:
    """NFC-normalise, drop control characters and bidirectional overrides, trim and collapse runs
    of white space to one space (for one-line text: names, titles, places)."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", nfc(text))).strip()


def fold(text: str) -> str:
    """A key for comparing two names: cleaned and case-folded (diacritics are kept:
    "Đức Thọ" and "Đức Thổ" are different places)."""
    return clean(text).casefold()


def strip_diacritics(text: str) -> str:
    """ASCII-ish form used to build identifiers and short codes ("Đức Thọ" -> "Duc Tho")."""
    # U+00D0 (Ð) is a look-alike of Đ left by old-encoding conversions.
    text = nfc(text).replace("Đ", "D").replace("đ", "d").replace("Ð", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def slugify(text: str) -> str:
    """An identifier from a Vietnamese name: "Phòng Tư pháp" -> "phong-tu-phap"."""
    ascii_text = strip_diacritics(text).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
