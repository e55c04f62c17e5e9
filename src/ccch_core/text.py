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


# -- Vietnamese collation ----------------------------------------------------------------------------

# Letter marks that make a separate letter of the alphabet (a ă â, e ê, o ô ơ, u ư): the rank
# within the base letter, in alphabetical order. đ is its own code point, ranked after d.
_LETTER_MARKS = {"\u0306": 1, "\u0302": 2, "\u031b": 3}  # breve, circumflex, horn
# Tone marks in the order of Vietnamese dictionaries: none, huyền, hỏi, ngã, sắc, nặng.
_TONE_MARKS = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def _letters(text: str):
    """(base character, letter-mark rank, tone rank, is upper case) for each character of ``text``."""
    decomposed = unicodedata.normalize("NFD", text)
    out: list[list] = []
    for ch in decomposed:
        if ch in _LETTER_MARKS and out:
            out[-1][1] = _LETTER_MARKS[ch]
        elif ch in _TONE_MARKS and out:
            out[-1][2] = _TONE_MARKS[ch]
        elif unicodedata.category(ch) == "Mn":
            continue  # another accent: ignored for order
        else:
            lower = ch.lower()
            if lower in ("đ", "\u00f0"):  # Đ, and Ð left by old-encoding conversions
                out.append(["d", 4, 0, ch != lower])
            else:
                out.append([lower, 0, 0, ch != lower])
    return out


def sort_key(text: str | None) -> tuple:
    """A key that sorts Vietnamese names as a Vietnamese reader expects (``sorted(units,
    key=lambda u: sort_key(u.name))``).

    Python compares code points, which puts "Liên" before "Lâm", "Tùng Châu" before "Tùng Ảnh"
    and "Đức Thọ" after "Yên Hồ". Here letters compare first, in the Vietnamese alphabet
    (a ă â b c d đ e ê … o ô ơ … u ư … y), ignoring tones and case; then tones, syllable by
    syllable, in dictionary order (none, huyền, hỏi, ngã, sắc, nặng); then case. Runs of digits
    compare as numbers ("Tổ 2" before "Tổ 10"). NFC and NFD input sort alike.

    PyICU would do this from CLDR data but has no wheels on PyPI (it builds against the system's
    ICU); this key covers the Vietnamese alphabet, which is what the plan's names use.
    """
    letters = _letters(clean(text or ""))
    primary: list[tuple[int, int]] = []
    i = 0
    while i < len(letters):
        base = letters[i][0]
        if base.isdigit() and base.isascii():
            j = i
            while j < len(letters) and letters[j][0].isdigit() and letters[j][0].isascii():
                j += 1
            primary.append((1, int("".join(x[0] for x in letters[i:j]))))
            i = j
            continue
        if base.isalnum():
            primary.append((2, ord(base) * 8 + letters[i][1]))
        else:
            primary.append((0, 0 if base.isspace() else ord(base)))  # spaces and punctuation first
        i += 1
    tones = tuple(x[2] for x in letters)
    case = tuple(int(x[3]) for x in letters)
    return (tuple(primary), tones, case, nfc(text or ""))
