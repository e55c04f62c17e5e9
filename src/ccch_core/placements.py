"""Placements (nơi đặt poster): one printed poster, or a kiosk tablet, at one place of one unit,
with the short code its QR code carries — shared by every plugin with a public page.

A placement names its *target*, the public page its QR code opens: ``survey:<survey id>`` for a
satisfaction survey, ``feedback`` for the question form, ``contest:<slug>``… The code is unique
across targets, so one poster at a one-stop desk may carry several codes (one per page) and a
response, a question or an attempt is attributed to the placement it came through. The plugin
that owns the target builds the URL (``<public_base_url>/<its path>/<code>``) and keeps any data of
its own in its tables keyed by the placement's id (the survey's ``survey_placements``). QR codes
and print-ready posters for placements are :mod:`ccch_core.posters`.

Public API::

    from ccch_core.placements import add_placement, placement_by_code, list_placements, retire_placement

    with write_transaction(deployment.db):          # optional: it opens its own when none is open
        placement = add_placement(deployment.db, deployment.plan, "feedback", "xa-an-dung.mot-cua",
                                  "Quầy tiếp nhận hồ sơ")
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

import attrs
from sqlite_utils import Database

from .model import Plan
from .storage import utc_now_iso, write_transaction
from .text import clean

__all__ = [
    "Placement",
    "PlacementError",
    "add_placement",
    "get_placement",
    "list_placements",
    "normalise_code",
    "placement_by_code",
    "placement_url",
    "retire_placement",
]

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""Short codes avoid 0/O, 1/I/L so that a code printed under the QR can be typed without doubt."""
CODE_LENGTH = 6
"""31⁶ ≈ 887 million codes: a stranger guessing codes finds nothing (the pages limit unknown codes)."""
MODES = ("poster", "kiosk")
TARGET_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*(:[A-Za-z0-9._-]{1,100})?$")
PLACE_MAX = 200


class PlacementError(ValueError):
    """A placement that cannot be made or changed (the message is Vietnamese, for the officer)."""


@attrs.frozen
class Placement:
    """One poster (or kiosk) at one place of one unit, for one target page."""

    id: int
    code: str
    target: str
    unit_id: str
    place: str
    mode: str
    created_at: str
    retired_at: str | None = None

    @property
    def active(self) -> bool:
        """Not retired (taken down)."""
        return self.retired_at is None

    @property
    def is_kiosk(self) -> bool:
        """A tablet at a counter: many people, one device."""
        return self.mode == "kiosk"


def normalise_code(text: str | None) -> str | None:
    """A code as typed from a poster (spaces around, lower case allowed), or None when it cannot be one."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    code = text.strip().upper()
    return code if len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code) else None


def new_code() -> str:
    """A random short code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _row(cursor) -> Placement | None:
    row = cursor.fetchone()
    if row is None:
        return None
    return Placement(*row)


_COLUMNS = "id, code, target, unit_id, place, mode, created_at, retired_at"


def add_placement(db: Database, plan: Plan, target: str, unit_id: str, place: str, *, mode: str = "poster",
                  now: dt.datetime | None = None, placement_id: int | None = None) -> Placement:
    """Create a placement with a fresh code, inside the caller's transaction when one is open.

    ``placement_id``: the id to use (a plugin moving its own placements here keeps their ids).
    Raises :class:`PlacementError` for an unknown unit, an empty or too long place, a bad mode."""
    if not isinstance(target, str) or not TARGET_PATTERN.match(target):
        raise PlacementError(f"trang đích “{target}” không hợp lệ (ví dụ survey:sipas, feedback)")
    if not plan.has_unit(unit_id):
        raise PlacementError(f"đơn vị “{unit_id}” không có trong kế hoạch")
    place = clean(place or "")
    if not place:
        raise PlacementError("chưa ghi nơi đặt (ví dụ “Quầy tiếp nhận hồ sơ”)")
    if len(place) > PLACE_MAX:
        raise PlacementError(f"nơi đặt dài {len(place)} ký tự, tối đa {PLACE_MAX}")
    if mode not in MODES:
        raise PlacementError(f"kiểu nơi đặt “{mode}” không hợp lệ: poster hoặc kiosk")
    with write_transaction(db):
        for _ in range(20):
            code = new_code()
            if not db.execute("select 1 from placements where code = ?", [code]).fetchone():
                break
        else:  # pragma: no cover - 20 collisions in a row means the code space is full
            raise PlacementError("không tìm được mã nơi đặt còn trống")
        new_id = db.execute(
            "insert into placements (id, code, target, unit_id, place, mode, created_at) values (?, ?, ?, ?, ?, ?, ?)",
            [placement_id, code, target, unit_id, place, mode, utc_now_iso(now)]).lastrowid
        return get_placement(db, new_id)


def get_placement(db: Database, placement_id: int) -> Placement | None:
    """The placement with this id, or None."""
    return _row(db.execute(f"select {_COLUMNS} from placements where id = ?", [placement_id]))


def placement_by_code(db: Database, code: str | None, target: str | None = None) -> Placement | None:
    """The placement with ``code`` (as typed), or None; with ``target``, only one for that page."""
    code = normalise_code(code)
    if code is None:
        return None
    placement = _row(db.execute(f"select {_COLUMNS} from placements where code = ?", [code]))
    if placement is None or (target is not None and placement.target != target):
        return None
    return placement


def list_placements(db: Database, *, target: str | None = None, plan: Plan | None = None,
                    within: str | None = None, active_only: bool = False) -> list[Placement]:
    """Placements, optionally of one target and within a unit's subtree, by unit and place."""
    sql, args = f"select {_COLUMNS} from placements", []
    if target is not None:
        sql += " where target = ?"
        args.append(target)
    found = [Placement(*r) for r in db.execute(sql + " order by unit_id, place, id", args)]
    if active_only:
        found = [p for p in found if p.active]
    if within is not None and plan is not None:
        found = [p for p in found if plan.has_unit(p.unit_id) and plan.is_within(p.unit_id, within)]
    return found


def retire_placement(db: Database, code: str, now: dt.datetime | None = None) -> Placement:
    """Take a poster down: its link then says so; what came through it stays attributed to it."""
    normal = normalise_code(code)
    with write_transaction(db):
        placement = _row(db.execute(f"select {_COLUMNS} from placements where code = ?", [normal]))
        if placement is None:
            raise PlacementError(f"không có nơi đặt nào có mã “{code}”")
        if not placement.active:
            raise PlacementError(f"nơi đặt {placement.code} đã gỡ trước đó")
        db.execute("update placements set retired_at = ? where id = ?", [utc_now_iso(now), placement.id])
    return get_placement(db, placement.id)


def placement_url(base_url: str, path: str, code: str) -> str:
    """What the QR code carries: ``<public_base_url>/<path>/<code>`` (``path`` without slashes at
    its ends, e.g. ``k`` for the survey, ``hoi-dap/gui`` for the question form)."""
    return f"{base_url.rstrip('/')}/{path.strip('/')}/{code}"
