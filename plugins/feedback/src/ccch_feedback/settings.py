"""The ``[plugins.feedback]`` table of ``ccch.toml``: every key, its default and its check.

Unknown keys and wrong types stop start-up with a message naming the key.
"""

from __future__ import annotations

import datetime as dt
import re
import weakref
from typing import Any

import attrs

from . import PLUGIN_NAME

KINDS = ("question", "feedback", "petition")
KIND_LABELS = {"question": "Hỏi đáp thủ tục hành chính", "feedback": "Phản ánh", "petition": "Kiến nghị"}
KIND_SLUGS = {"question": "hoi-dap", "feedback": "phan-anh", "petition": "kien-nghi"}
"""The kinds as the public form writes them."""
REQUESTERS = {"citizen": "Cá nhân", "business": "Doanh nghiệp, tổ chức"}
REQUESTER_SLUGS = {"citizen": "ca-nhan", "business": "doanh-nghiep"}

DEFAULT_FIELDS = (
    ("ho-tich", "Hộ tịch (khai sinh, kết hôn, khai tử…)"),
    ("chung-thuc", "Chứng thực"),
    ("dat-dai", "Đất đai"),
    ("xay-dung", "Xây dựng"),
    ("dang-ky-kinh-doanh", "Đăng ký kinh doanh"),
    ("lao-dong-xa-hoi", "Lao động, thương binh và xã hội"),
    ("cu-tru", "Cư trú"),
    ("khac", "Lĩnh vực khác"),
)
"""Procedure fields (lĩnh vực TTHC) of the form when the deployment names none."""

DEFAULT_LIMITS = {"question": 7, "feedback": 10, "petition": 10}
"""Working days to answer, counted from the working day after the item was received (see
docs/feedback.md for where the figures come from; a deployment sets its own)."""

DEFAULT_TRIAGE_UNIT = "phong-vhtt"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
SHORT_PATH = re.compile(r"^[a-z0-9][a-z0-9-]{0,15}$")
RESERVED_PATHS = {"khao-sat", "static", "dang-nhap", "dang-xuat", "bao-cao", "don-vi", "healthz", "tong-hop", "k",
                  "phan-anh", "cuoc-thi"}


class SettingsError(ValueError):
    """A bad ``[plugins.feedback]`` value (the message names the key)."""


@attrs.frozen
class FeedbackSettings:
    """Settings of the feedback plugin with their defaults (documented in docs/feedback.md)."""

    short_path: str = "hoi-dap"
    """The first path segment of the public pages (form, status, Q&A): ``/<short_path>/…``."""
    triage_unit: str = "phong-vhtt"  # DEFAULT_TRIAGE_UNIT
    """The unit whose officers receive and triage every new item (Phòng VH-TT in the example);
    plan and system admins may triage as well."""
    fields: tuple[tuple[str, str], ...] = DEFAULT_FIELDS
    """Procedure fields offered on the form: ``[[slug, label], …]``."""
    rules: tuple[tuple[str, str], ...] = ()
    """Assignment by field: ``{field = unit_id}``; an item of such a field skips triage."""
    answer_days: tuple[tuple[str, int], ...] = tuple(DEFAULT_LIMITS.items())
    """Working days to answer, per kind: ``{question = 7, feedback = 10, petition = 10}``."""
    remind_days_before: int = 2
    """Reminders go to the responsible unit's contacts this many working days before the due day."""
    days_off: tuple[dt.date, ...] = ()
    """Extra days off the government declares (compensating days), besides the ``holidays`` package."""
    working_days: tuple[dt.date, ...] = ()
    """Weekend days the government declares working days (a swap), besides the ``holidays`` package."""
    max_photos: int = 3
    max_photo_bytes: int = 4_000_000
    """Each photo's size as sent; larger files are refused (the form keeps what was typed)."""
    max_photo_pixels: int = 40_000_000
    """A picture declaring more pixels than this is refused before it is decoded."""
    asks_per_address_per_hour: int = 10
    """Items stored per hashed client address per hour; 0 = no limit."""
    lookups_per_address_per_hour: int = 60
    """Status look-ups of codes that do not exist per hashed address per hour; 0 = no limit."""
    unit_searches_per_address_per_hour: int = 300
    """Answering units looked up by a typed name on the public list, per hashed address per hour
    (at national size one costs up to ~60 ms of CPU: the plan's names searched); 0 = no limit."""
    offensive_words: tuple[str, ...] = ()
    """Words (besides the built-in list) that flag an item for moderation before it can be published."""
    contact_retention_days: int = 365
    """Contact details are erased this many days after the item was closed (``ccch privacy purge``)."""
    embed_origins: tuple[str, ...] = ()
    """Origins allowed to frame the embeddable list (``https://ductho.hatinh.gov.vn``)."""

    @property
    def public_prefix(self) -> str:
        """The URL prefix of the public pages, e.g. ``/hoi-dap``."""
        return "/" + self.short_path

    def field_label(self, slug: str | None) -> str:
        """The field's label ("" for None, the slug itself for one no longer offered)."""
        if not slug:
            return ""
        return dict(self.fields).get(slug, slug)

    def rule_for(self, field: str | None) -> str | None:
        """The unit a rule assigns ``field`` to, or None."""
        return dict(self.rules).get(field) if field else None

    def limit_for(self, kind: str) -> int:
        """Working days to answer an item of ``kind``."""
        return dict(self.answer_days).get(kind, DEFAULT_LIMITS[kind])


INT_KEYS = {
    "remind_days_before": (0, 30),
    "max_photos": (0, 5),
    "max_photo_bytes": (50_000, 10_000_000),
    "max_photo_pixels": (100_000, 100_000_000),
    "asks_per_address_per_hour": (0, 1_000_000),
    "lookups_per_address_per_hour": (0, 1_000_000),
    "unit_searches_per_address_per_hour": (0, 1_000_000),
    "contact_retention_days": (1, 3650),
}


def _dates(value: Any, where: str, problems: list[str]) -> tuple[dt.date, ...]:
    out = []
    if not isinstance(value, list):
        problems.append(f"{where}: must be a list of dates (2024-05-04)")
        return ()
    for item in value:
        if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
            out.append(item)
            continue
        try:
            out.append(dt.date.fromisoformat(str(item)))
        except ValueError:
            problems.append(f"{where}: {item!r} is not a date (2024-05-04)")
    return tuple(out)


def parse_settings(raw: dict[str, Any], plan=None) -> FeedbackSettings:
    """Check a ``[plugins.feedback]`` table (units against ``plan`` when given); every problem at once."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    known = set(attrs.fields_dict(FeedbackSettings))
    for key, value in raw.items():
        where = f"[plugins.{PLUGIN_NAME}] {key}"
        if key not in known:
            problems.append(f"{where}: unknown key (known: {', '.join(sorted(known))})")
        elif key == "short_path":
            if not isinstance(value, str) or not SHORT_PATH.match(value) or value in RESERVED_PATHS:
                problems.append(f"{where}: {value!r} must be 1–16 of a-z, 0-9, '-' and not a path the app uses")
            else:
                values[key] = value
        elif key == "triage_unit":
            if not isinstance(value, str) or (plan is not None and not plan.has_unit(value)):
                problems.append(f"{where}: {value!r} is not a unit of the plan")
            else:
                values[key] = value
        elif key == "fields":
            ok = isinstance(value, list) and value and all(
                isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and SLUG.match(v[0])
                and isinstance(v[1], str) and 0 < len(v[1]) <= 120 for v in value)
            if not ok:
                problems.append(f"{where}: must be a non-empty list of [slug, label] pairs")
            else:
                values[key] = tuple((v[0], v[1]) for v in value)
        elif key == "rules":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                problems.append(f"{where}: must be a table field = unit id")
            else:
                bad = [u for u in value.values() if plan is not None and not plan.has_unit(u)]
                if bad:
                    problems.append(f"{where}: not units of the plan: {', '.join(bad)}")
                else:
                    values[key] = tuple(value.items())
        elif key == "answer_days":
            if not isinstance(value, dict) or not all(
                    k in KINDS and isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 90
                    for k, v in value.items()):
                problems.append(f"{where}: must be a table of {', '.join(KINDS)} = 1–90 working days")
            else:
                values[key] = tuple({**DEFAULT_LIMITS, **value}.items())
        elif key in ("days_off", "working_days"):
            values[key] = _dates(value, where, problems)
        elif key in ("offensive_words", "embed_origins"):
            if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in value):
                problems.append(f"{where}: must be a list of short texts")
            else:
                values[key] = tuple(value)
        else:
            low, high = INT_KEYS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(f"{where}: must be a whole number {low}–{high}, not {value!r}")
            else:
                values[key] = value
    if "rules" in values:
        slugs = {s for s, _ in values.get("fields", DEFAULT_FIELDS)}
        unknown = [f for f, _ in values["rules"] if f not in slugs]
        if unknown:
            problems.append(f"[plugins.{PLUGIN_NAME}] rules: not fields of the form: {', '.join(unknown)}")
    if plan is not None and "triage_unit" not in raw and not plan.has_unit(DEFAULT_TRIAGE_UNIT):
        problems.append(f"[plugins.{PLUGIN_NAME}] triage_unit: the plan has no unit 'phong-vhtt'; name the unit that triages")
    if problems:
        raise SettingsError("\n".join(problems))
    return FeedbackSettings(**values)


_parsed: weakref.WeakKeyDictionary[Any, FeedbackSettings] = weakref.WeakKeyDictionary()


def settings_of(deployment) -> FeedbackSettings:
    """The deployment's feedback settings (parsed once per deployment object)."""
    cached = _parsed.get(deployment)
    if cached is None:
        cached = parse_settings(deployment.plugin_settings(PLUGIN_NAME), deployment.plan)
        _parsed[deployment] = cached
    return cached
