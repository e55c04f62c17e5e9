"""Bounded reading of what comes in from URLs and forms: whole numbers, periods, codes.

Everything a visitor sends is text of any length in any script. Python's own readers are too
generous for it: ``str.isdigit`` accepts "²" (which ``int`` then refuses), ``int`` accepts "٣"
(Arabic-Indic three) and 4,300 digits, and SQLite refuses any integer past 2⁶³ − 1 with an
OverflowError. Each of these once made a page answer 500. The functions here accept only ASCII
digits, look at a bounded length before converting, and check the range; they return None for
anything else, and the caller answers 400 or shows the form again with the problem
(:mod:`ccch_core.web.params` does it for request arguments).
"""

from __future__ import annotations

import re

from .periods import Period, PeriodError

__all__ = [
    "SQLITE_MAX_INT",
    "parse_code",
    "parse_int",
    "parse_period",
]

SQLITE_MAX_INT = 2**63 - 1
"""The largest integer SQLite stores; an id or a number compared in SQL must not be larger."""

_INT = re.compile(r"-?[0-9]+")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def parse_int(text: str | None, low: int, high: int) -> int | None:
    """The whole number ``text`` writes, if it is one from ``low`` to ``high``; else None.

    Only ASCII digits, with a leading ``-`` (surrounding white space is ignored): not "²", "٣",
    "１", "+1", "1.0" or "1e3". Leading zeros are allowed ("007" is 7). Text of more than 40
    characters is refused before it is converted, so a 5,000-digit value costs nothing."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    text = text.strip()
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_period(text: str | None) -> Period | None:
    """The period ``text`` names (``2024-03``, ``2024-Q1``, ``2024-H1``, ``2024``), or None for
    anything else (longer than 16 characters: refused before it is read)."""
    if not isinstance(text, str) or len(text) > 16:
        return None
    try:
        return Period.parse(text)
    except PeriodError:
        return None


def parse_code(text: str | None, max_length: int = 100) -> str | None:
    """A code as the URLs and forms carry them (a slug, a unit id, a placement code, a key): ASCII
    letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit, at most
    ``max_length`` characters, surrounding white space ignored; None for anything else."""
    if not isinstance(text, str) or len(text) > max_length + 40:
        return None
    text = text.strip()
    if len(text) > max_length or not _CODE.fullmatch(text):
        return None
    return text
