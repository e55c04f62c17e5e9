"""The unit picker: one unit chosen by its name among thousands, with or without JavaScript.

A small plan (Đức Thọ: 113 units) offers its units as a ``<select>``; a plan the size of the
country (36,647 units) cannot — one ``<option>`` per unit is megabytes on every page. Above
:data:`PICKER_LIMIT` choices a form shows a text field instead (the template macro
``unit_picker`` of ``_unit_picker.html``): the reader types a name, with or without tones;
with JavaScript the core's ``unit-picker.js`` suggests names from ``/don-vi/tim.json`` while they
type (officers' pages only: it needs a sign-in); without it the server resolves what was typed
when the form is posted (:func:`resolve_unit`). A name that fits several units brings the form
back with those units to choose from (at most :data:`CANDIDATES_SHOWN`, each with the unit above
it: two communes of the same name in different provinces), and nothing typed is lost.

The form sends two fields: ``NAME`` (what is shown and typed: the unit's name) and ``NAME-ma``
(the unit's id, when the page was shown with a unit chosen or the reader picked one of the
candidates). The id is taken only while it still fits what the text says, so a reader who
types another name over a chosen one gets the unit they typed. Plugins use this module and the
macro; they are part of the core's public API.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping

import attrs

from . import levels
from .model import Plan, Unit
from .text import clean

__all__ = [
    "CANDIDATES_SHOWN",
    "ID_SUFFIX",
    "PICKER_LIMIT",
    "TEXT_MAX",
    "TEXT_MIN",
    "UnitChoice",
    "chosen",
    "needs_picker",
    "problem_vi",
    "resolve_posted",
    "resolve_unit",
    "unit_label",
]

PICKER_LIMIT = 300
"""Up to this many units a form offers a list (a ``<select>``: Đức Thọ's 113 units); above it,
the unit picker (a name typed). The same limit as the contacts page and the units tree."""

CANDIDATES_SHOWN = 10
"""Units offered to choose from when what was typed fits several."""

TEXT_MAX = 200
"""The longest text looked up (a unit's name is shorter; anything longer is refused unread)."""

TEXT_MIN = 3
"""A text is looked up only if one of its words has at least this many letters: "xa" or "a" names
no unit and matches every unit of a national plan (36,000), which a public form should not
search for anyone."""


def _too_short(text: str) -> bool:
    return max((len(w) for w in levels.search_key(text).split()), default=0) < TEXT_MIN

ID_SUFFIX = "-ma"
"""The field that carries the chosen unit's id beside the typed name: ``organiser`` → ``organiser-ma``."""


@attrs.frozen
class UnitChoice:
    """What a unit field of a form says: the text shown or typed, the unit it names (None when it
    names none or several), and the units it could mean when it fits several."""

    text: str
    unit: Unit | None = None
    candidates: tuple[Unit, ...] = ()
    labels: tuple[str, ...] = ()
    """Each candidate's :func:`unit_label` (its name and the unit above it)."""
    more: int = 0
    """How many more units fit beyond :attr:`candidates` (the reader should type more)."""
    not_offered: bool = False
    """The text names units of the plan, but none that this field may take (``allowed``)."""

    @property
    def problem(self) -> str | None:
        """None (a unit, or nothing typed), ``"unknown"``, ``"not_offered"``, ``"ambiguous"``,
        ``"too_short"`` or ``"too_long"``."""
        if self.unit is not None or not self.text:
            return None
        if len(self.text) > TEXT_MAX:
            return "too_long"
        if _too_short(self.text):
            return "too_short"
        if self.candidates:
            return "ambiguous"
        return "not_offered" if self.not_offered else "unknown"


def needs_picker(count: int) -> bool:
    """Whether a form choosing among ``count`` units shows the picker rather than a list."""
    return count > PICKER_LIMIT


def unit_label(plan: Plan, unit: Unit) -> str:
    """The unit's name with the unit above it ("UBND xã An Dũng — UBND tỉnh Hà Tĩnh"), to tell
    apart units of the same name."""
    parent = plan.unit(unit.parent) if unit.parent and plan.has_unit(unit.parent) else None
    return f"{unit.name} — {parent.name}" if parent is not None else unit.name


def chosen(plan: Plan, unit_id: str | None) -> UnitChoice:
    """The field as shown for a unit already chosen (a saved value, a poster's unit); an unknown or
    empty id shows an empty field."""
    if unit_id and plan.has_unit(unit_id):
        unit = plan.unit(unit_id)
        return UnitChoice(unit.name, unit)
    return UnitChoice("")


def _fits(unit: Unit, text: str) -> bool:
    """Whether every word of ``text`` is in one of the unit's names (as :func:`levels.search_units`
    compares them)."""
    names = " | ".join(levels.search_key(n) for n in (
        unit.name, *([unit.short_name] if unit.short_name else []), *unit.aliases,
        *(f.name for f in unit.former_names)))
    return all(word in names for word in levels.search_key(text).split())


def resolve_unit(plan: Plan, text: str | None, *, chosen_id: str | None = None,
                 allowed: Callable[[Unit], bool] | None = None) -> UnitChoice:
    """The unit a picker's field names.

    ``text`` is what the field holds: a unit's id (a small plan's list, a suggestion sent as an
    id), or a name typed with or without tones — the unit whose name it is, or else the only unit
    whose names contain every word typed (a text without a word of :data:`TEXT_MIN` letters is
    not searched). ``chosen_id`` is the id sent beside it (the unit the
    page was shown with, or a candidate the reader picked): it is taken when it is a unit of the
    plan that ``allowed`` accepts and the text still fits it (or is empty). ``allowed`` limits the
    units that may be chosen (the units a form offers). Several fitting units give no unit and up
    to :data:`CANDIDATES_SHOWN` candidates; none gives no unit and no candidate
    (``not_offered`` when units of the plan fit but ``allowed`` takes none of them). Texts longer
    than :data:`TEXT_MAX` are not looked up. Never raises on any input.
    """
    text = unicodedata.normalize("NFC", (text or "").strip())
    ok = allowed or (lambda _unit: True)
    if chosen_id and len(chosen_id) <= TEXT_MAX and plan.has_unit(chosen_id):
        unit = plan.unit(chosen_id)
        if ok(unit) and (not text or _fits(unit, text)):
            return UnitChoice(text or unit.name, unit)
    if not text or len(text) > TEXT_MAX:
        return UnitChoice(text)
    if plan.has_unit(text):
        unit = plan.unit(text)
        return UnitChoice(unit.name, unit) if ok(unit) else UnitChoice(unit.name, not_offered=True)
    if _too_short(text):
        return UnitChoice(text)
    fitting = levels.search_units(plan, text)
    found = [u for u in fitting if ok(u)] if allowed else fitting
    if fitting and not found:
        return UnitChoice(text, not_offered=True)
    key = levels.search_key(text)
    # The unit whose name is what was typed: only names of the same length can be (both cleaned as
    # a unit's name is: NFC, one space between words, no invisible characters; one code point a
    # letter), so a short text matching 36,000 units does not fold 36,000 names.
    length = len(clean(text))
    exact = [u for u in found if len(u.name) == length and levels.search_key(u.name) == key]
    if len(exact) == 1:
        return UnitChoice(text, exact[0])
    if len(found) == 1:
        return UnitChoice(text, found[0])
    shown = (exact or found)[:CANDIDATES_SHOWN]
    return UnitChoice(text, None, tuple(shown), tuple(unit_label(plan, u) for u in shown),
                      max(0, len(exact or found) - len(shown)))


def resolve_posted(plan: Plan, form: Mapping[str, str], name: str, *,
                   allowed: Callable[[Unit], bool] | None = None) -> UnitChoice:
    """:func:`resolve_unit` for the picker field ``name`` of a posted form (``name`` and its id
    field ``name-ma``)."""
    return resolve_unit(plan, form.get(name), chosen_id=form.get(name + ID_SUFFIX), allowed=allowed)


def problem_vi(choice: UnitChoice, label: str | None = None) -> str | None:
    """The field's problem in Vietnamese, naming what was typed and, with ``label``, the field
    ("Đơn vị tổ chức: không tìm thấy đơn vị “…”"); without it for a page that already shows the
    field's label beside the message. None: no problem. Neutral wording: the same text serves
    officers and citizens."""
    problem = choice.problem
    if problem is None:
        return None
    if problem == "too_long":
        text = f"tên đơn vị dài quá {TEXT_MAX} ký tự."
    elif problem == "too_short":
        text = f"“{choice.text}” quá ngắn: gõ tên đơn vị, có ít nhất một chữ từ {TEXT_MIN} chữ cái trở lên."
    elif problem == "ambiguous":
        more = f" (và {choice.more} đơn vị khác: gõ thêm tên để thu hẹp)" if choice.more else ""
        text = f"có nhiều đơn vị khớp với “{choice.text}”. Chọn một đơn vị trong danh sách bên dưới{more}."
    elif problem == "not_offered":
        text = f"“{choice.text}” không phải là đơn vị có thể chọn ở mục này. Gõ tên một đơn vị khác."
    else:
        text = (f"không tìm thấy đơn vị “{choice.text}” trong kế hoạch. Gõ tên đơn vị (có dấu hoặc không), "
                f"ví dụ “UBND xã …”.")
    return f"{label}: {text}" if label else text[0].upper() + text[1:]
