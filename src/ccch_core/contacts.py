"""Unit contacts (đầu mối liên hệ): who receives a unit's messages, by which channel.

Contacts belong to the deployment, not to the plan file: people change during a year, the plan
does not. A unit has any number of contacts, each an e-mail address or a phone number for SMS or
Zalo, with the name of the person or office. Reminders, questions assigned to a unit and other
messages to a unit go to its contacts (:func:`contacts_of`).

Addresses are personal data: ``ccch privacy erase`` finds them by a keyed hash.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from sqlite_utils import Database

from . import audit
from .limits import LimitError, csv_records, limits_of, read_limited
from .messages.base import CHANNELS, MessageError
from .messages.outbox import address_hash, mask_address, normalise_address
from .storage import utc_now_iso, write_transaction
from .text import clean

__all__ = [
    "Contact",
    "ContactError",
    "add_contact",
    "contacts_of",
    "get_contact",
    "list_contacts",
    "remove_contact",
]

NAME_MAX = 200
CSV_COLUMNS = ("unit", "channel", "address", "name")
CSV_MAX_BYTES = 5_000_000
CSV_MAX_ROWS = 100_000


class ContactError(ValueError):
    """Bad contact input; ``errors`` maps each field (or ``line N``) to a message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


@attrs.frozen
class Contact:
    """One way to reach a unit."""

    id: int
    unit_id: str
    channel: str
    address: str
    name: str | None

    @property
    def masked(self) -> str:
        """The address as lists show it."""
        return mask_address(self.channel, self.address)

    @property
    def channel_label(self) -> str:
        """The channel in Vietnamese."""
        return CHANNELS.get(self.channel, self.channel)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"id": self.id, "unit": self.unit_id, "channel": self.channel, "address": self.address,
                "name": self.name}


def check_contact(plan, unit_id: str | None, channel: str | None, address: str | None,
                  name: str | None = None) -> dict[str, Any]:
    """Validate a contact; returns the normalised values or raises :class:`ContactError` with every
    bad field."""
    errors: dict[str, str] = {}
    unit_id = clean(unit_id or "")
    if not unit_id:
        errors["unit"] = "thiếu mã đơn vị"
    elif not plan.has_unit(unit_id):
        errors["unit"] = f"không có đơn vị “{unit_id}” trong kế hoạch"
    channel = clean(channel or "").lower()
    if channel not in CHANNELS:
        errors["channel"] = f"“{channel}” không phải kênh liên lạc (chọn một trong: {', '.join(CHANNELS)})"
    elif not clean(address or ""):
        errors["address"] = "thiếu địa chỉ nhận tin (thư điện tử hoặc số điện thoại)"
    else:
        try:
            address = normalise_address(channel, address)
        except MessageError as exc:
            errors["address"] = str(exc).split(": ", 1)[-1]
    name = clean(name or "") or None
    if name and len(name) > NAME_MAX:
        errors["name"] = f"dài {len(name)} ký tự, tối đa {NAME_MAX}"
    if errors:
        raise ContactError(errors)
    return {"unit_id": unit_id, "channel": channel, "address": address, "name": name}


def add_contact(deployment, unit_id: str, channel: str, address: str, name: str | None = None, *,
                actor: str | None = None, now: dt.datetime | None = None) -> Contact:
    """Add (or, for the same unit, channel and address, rename) a contact."""
    values = check_contact(deployment.plan, unit_id, channel, address, name)
    with write_transaction(deployment.db) as db:
        contact = _upsert(deployment, db, values, actor, now)
        audit.record(db, actor, "contact.add", f"{deployment.plan.unit(contact.unit_id).name}: "
                     f"{contact.channel_label} {contact.masked}", contact.name, label="Thêm đầu mối liên hệ", now=now)
    return contact


def _upsert(deployment, db: Database, values: dict[str, Any], actor: str | None, now: dt.datetime | None) -> Contact:
    db.execute(
        "insert into unit_contacts (unit_id, channel, address, address_hash, name, created_at, created_by) "
        "values (?, ?, ?, ?, ?, ?, ?) on conflict (unit_id, channel, address) do update set name = excluded.name",
        [values["unit_id"], values["channel"], values["address"],
         address_hash(deployment.secret_key, values["channel"], values["address"]), values["name"],
         utc_now_iso(now), actor])
    row = db.execute("select id from unit_contacts where unit_id = ? and channel = ? and address = ?",
                     [values["unit_id"], values["channel"], values["address"]]).fetchone()
    return Contact(row[0], values["unit_id"], values["channel"], values["address"], values["name"])


def remove_contact(deployment, contact_id: int, *, actor: str | None = None) -> Contact:
    """Remove a contact; :class:`ContactError` if there is none with that id."""
    with write_transaction(deployment.db) as db:
        contact = get_contact(db, contact_id)
        if contact is None:
            raise ContactError({"id": f"không có đầu mối #{contact_id}"})
        db.execute("delete from unit_contacts where id = ?", [contact_id])
        audit.record(db, actor, "contact.remove", f"{deployment.plan.unit(contact.unit_id).name if deployment.plan.has_unit(contact.unit_id) else contact.unit_id}: "
                     f"{contact.channel_label} {contact.masked}", None, label="Xóa đầu mối liên hệ")
    return contact


def get_contact(db: Database, contact_id: int) -> Contact | None:
    """One contact, or None."""
    row = db.execute("select id, unit_id, channel, address, name from unit_contacts where id = ?",
                     [int(contact_id)]).fetchone()
    return Contact(*row) if row else None


def list_contacts(db: Database, unit_id: str | None = None) -> list[Contact]:
    """Every contact (of one unit), by unit, channel and id."""
    where, args = (" where unit_id = ?", [unit_id]) if unit_id else ("", [])
    return [Contact(*row) for row in db.execute(
        f"select id, unit_id, channel, address, name from unit_contacts{where} order by unit_id, channel, id", args)]


def contacts_of(db: Database, unit_id: str, channels: tuple[str, ...] | None = None) -> list[Contact]:
    """A unit's contacts, optionally only on ``channels`` (in that order of preference)."""
    found = list_contacts(db, unit_id)
    if channels is None:
        return found
    order = {c: i for i, c in enumerate(channels)}
    return sorted((c for c in found if c.channel in order), key=lambda c: (order[c.channel], c.id))


def import_contacts(deployment, path: str | Path, *, actor: str | None = None) -> int:
    """Add every contact of a CSV file (columns ``unit,channel,address,name``; UTF-8, with or
    without BOM). All or nothing: every bad row is reported (``line N: field: …``) and nothing is
    stored. Returns how many rows were stored."""
    path = Path(path)
    limits = limits_of(deployment)
    try:
        # Size, rows, columns and cell length, from the deployment's [limits], before anything is read.
        text = read_limited(path, path.name, limits).decode("utf-8-sig")
        csv_records(text, path.name, limits)
    except LimitError as exc:
        raise ContactError({str(path): exc.message}) from None
    except UnicodeDecodeError as exc:
        raise ContactError({str(path): f"không phải văn bản UTF-8 (byte {exc.start}); hãy lưu tệp dạng CSV UTF-8"}) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [clean(h or "").lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS[:3] if c not in header]
    if missing:
        raise ContactError({f"{path}: line 1": f"thiếu cột {', '.join(missing)}; các cột là "
                                               f"{', '.join(CSV_COLUMNS)}"})
    reader.fieldnames = header
    errors: dict[str, str] = {}
    rows = []
    for number, row in enumerate(reader, start=2):
        if number - 1 > CSV_MAX_ROWS:
            errors[f"{path}: line {number}"] = f"quá {CSV_MAX_ROWS} dòng"
            break
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        try:
            rows.append(check_contact(deployment.plan, row.get("unit"), row.get("channel"), row.get("address"),
                                      row.get("name")))
        except ContactError as exc:
            for field, message in exc.errors.items():
                errors[f"{path}: line {number}: {field}"] = message
    if errors:
        raise ContactError(errors)
    with write_transaction(deployment.db) as db:
        for values in rows:
            _upsert(deployment, db, values, actor, None)
        audit.record(db, actor, "contact.import", str(path.name), f"{len(rows)} đầu mối",
                     label="Nhập đầu mối liên hệ từ tệp")
    return len(rows)
