"""The call built in the web (*Thiết lập cuộc thi*): a form whose fields write the call's TOML, which
stays the source of truth (checked by :func:`definition.loads_definition`, stored as written).

Dates are typed as Vietnamese write them (``30/09/2024``) with a time (``17:00``), in Vietnam time.
Categories, criteria and awards are rows; a row's key is kept when editing and made from its name
when new. Every problem comes back under its field, with the form kept.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ccch_core.inputs import parse_int
from ccch_core.periods import to_local

from .definition import (
    AGGREGATIONS,
    ENTRANTS,
    CallDefinition,
    DefinitionError,
    clean_block,
    clean_line,
    loads_definition,
)
from .documents import fold_text

CATEGORY_ROWS, CRITERION_ROWS, AWARD_ROWS, TIE_ROWS = 8, 8, 6, 3
_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_TIME = re.compile(r"^\s*(\d{1,2})[:hg](\d{2})?\s*$")


def _key(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", fold_text(name)).strip("-")[:36] or "muc"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    taken.add(key)
    return key


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def form_values(d: CallDefinition) -> dict[str, str]:
    """The form's values for an existing call."""
    opens, closes = to_local(d.opens_at), to_local(d.closes_at)
    values: dict[str, Any] = {
        "slug": d.slug, "title": d.title, "organiser": d.organiser or "", "rules": d.rules,
        "opens_date": opens.strftime("%d/%m/%Y"), "opens_time": opens.strftime("%H:%M"),
        "closes_date": closes.strftime("%d/%m/%Y"), "closes_time": closes.strftime("%H:%M"),
        "judges_per_entry": str(d.judges_per_entry), "final_judges_per_entry": str(d.final_judges_per_entry),
        "finalists_per_category": str(d.finalists_per_category), "aggregation": d.aggregation,
        "disagreement_threshold": _number(d.disagreement_threshold),
        "max_document_mb": _number(d.max_document_bytes / 1_000_000), "retention_days": str(d.retention_days),
        "units": " ".join(d.units),
    }
    for kind in d.entrants:
        values[f"entrant_{kind}"] = "1"
    for i, c in enumerate(d.categories, 1):
        values[f"category_{i}_key"], values[f"category_{i}_name"] = c.key, c.name
    for i, c in enumerate(d.criteria, 1):
        values.update({f"criterion_{i}_key": c.key, f"criterion_{i}_name": c.name,
                       f"criterion_{i}_description": c.description, f"criterion_{i}_weight": _number(c.weight),
                       f"criterion_{i}_min": str(c.low), f"criterion_{i}_max": str(c.high)})
    for i, a in enumerate(d.awards, 1):
        values.update({f"award_{i}_key": a.key, f"award_{i}_name": a.name, f"award_{i}_count": str(a.count),
                       f"award_{i}_min_score": _number(a.min_score)})
    for i, rule in enumerate(d.tie_breaks, 1):
        values[f"tie_{i}"] = rule.removeprefix("criterion:")
    return values


class SetupError(ValueError):
    """The form's problems: ``errors`` by field, ``problems`` the full list."""

    def __init__(self, errors: dict[str, str], problems: list[str]):
        self.errors, self.problems = errors, problems
        super().__init__("\n".join(problems))


def _instant(form, prefix: str, label: str, errors: dict[str, str]) -> str | None:
    date = _DATE.match((form.get(f"{prefix}_date") or "")[:20])
    time = _TIME.match((form.get(f"{prefix}_time") or "")[:10] or "0:00")
    if not date:
        errors[f"{prefix}_date"] = f"{label}: cần ngày dạng 30/09/2024."
        return None
    if not time:
        errors[f"{prefix}_time"] = f"{label}: cần giờ dạng 17:00."
        return None
    try:
        value = dt.datetime(int(date.group(3)), int(date.group(2)), int(date.group(1)), int(time.group(1)),
                            int(time.group(2) or 0))
    except ValueError:
        errors[f"{prefix}_date"] = f"{label}: không có ngày giờ này."
        return None
    return value.isoformat()


def _field_of(problem: str) -> str | None:
    """The form field a definition problem is about ("call.title: …" → "title")."""
    match = re.match(r"^(call\.(\w+)|(categories|criteria|awards)\[(\d+)\]\.(\w+))", problem)
    if not match:
        return None
    if match.group(2):
        return {"opens": "opens_date", "closes": "closes_date", "tie_breaks": "tie_1"}.get(match.group(2),
                                                                                           match.group(2))
    kind = {"categories": "category", "criteria": "criterion", "awards": "award"}[match.group(3)]
    part = "name" if match.group(5) == "key" else match.group(5)
    return f"{kind}_{match.group(4)}_{part}"


LABELS = {"slug": "Mã cuộc thi", "title": "Tên cuộc thi", "organiser": "Đơn vị tổ chức", "units": "Đơn vị được dự thi",
          "opens_date": "Mở nhận bài", "closes_date": "Hết hạn nhận bài", "tie_1": "Xét khi bằng điểm",
          "rules": "Thể lệ"}


def _label(field: str) -> str:
    match = re.match(r"^(category|criterion|award)_(\d+)_", field)
    if match:
        return {"category": "Lĩnh vực", "criterion": "Tiêu chí", "award": "Giải"}[match.group(1)] + f" {match.group(2)}"
    return LABELS.get(field, field)


def definition_from_form(form, plan, *, slug: str | None = None) -> tuple[str, CallDefinition]:
    """The TOML text the form writes and its parsed definition; :class:`SetupError` otherwise.
    ``slug``: the call being edited (its slug cannot change here)."""
    errors: dict[str, str] = {}

    def text(name: str, limit: int = 300, block: bool = False) -> str:
        raw = (form.get(name) or "")[: limit * 4]
        return clean_block(raw) if block else clean_line(raw)

    lines = ["format = 1", "", "[call]"]
    lines.append(f"slug = {_toml_string(slug or text('slug', 40))}")
    lines.append(f"title = {_toml_string(text('title'))}")
    organiser = form.get("organiser") or ""
    if organiser:
        lines.append(f"organiser = {_toml_string(organiser[:100])}")
    lines.append(f"rules = {_toml_string(text('rules', 20_000, block=True))}")
    entrants = [k for k in ENTRANTS if form.get(f"entrant_{k}")]
    if not entrants:
        errors["entrant_person"] = "Đối tượng dự thi: chọn ít nhất một."
    lines.append("entrants = [" + ", ".join(_toml_string(k) for k in entrants or ENTRANTS) + "]")
    units = [u for u in re.split(r"[\s,]+", (form.get("units") or "")[:2000]) if u]
    lines.append("units = [" + ", ".join(_toml_string(u[:100]) for u in units) + "]")
    for prefix, label in (("opens", "Mở nhận bài"), ("closes", "Hết hạn nhận bài")):
        instant = _instant(form, prefix, label, errors)
        lines.append(f"{prefix} = {instant or '2000-01-01T00:00:00'}")
    for name, label, low, high in (("judges_per_entry", "Số giám khảo mỗi bài (sơ khảo)", 1, 15),
                                   ("final_judges_per_entry", "Số giám khảo mỗi bài (chung khảo)", 1, 15),
                                   ("finalists_per_category", "Số bài mỗi lĩnh vực vào chung khảo", 0, 1000),
                                   ("retention_days", "Số ngày lưu dữ liệu cá nhân", 30, 3650)):
        value = parse_int(form.get(name), low, high)
        if value is None:
            errors[name] = f"{label}: cần một số nguyên từ {low} đến {high}."
            value = low
        lines.append(f"{name} = {value}")
    aggregation = form.get("aggregation") if form.get("aggregation") in AGGREGATIONS else "weighted_mean"
    lines.append(f"aggregation = {_toml_string(aggregation)}")
    for name, label, low, high in (("disagreement_threshold", "Ngưỡng lệch điểm", 0, 100),
                                   ("max_document_mb", "Dung lượng tài liệu tối đa (MB)", 0.1, 50)):
        raw = (form.get(name) or "").strip().replace(",", ".")[:20]
        try:
            value = float(raw)
            if not low <= value <= high:
                raise ValueError
        except ValueError:
            errors[name] = f"{label}: cần một số từ {_number(low)} đến {_number(high)}."
            value = high
        lines.append(f"{name} = {_number(value)}")

    tables: list[str] = []
    taken: set[str] = set()
    criterion_keys = []
    for i in range(1, CRITERION_ROWS + 1):
        name = text(f"criterion_{i}_name")
        if not name:
            continue
        key = form.get(f"criterion_{i}_key") or ""
        key = key if re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", key) and key not in taken else _key(name, taken)
        taken.add(key)
        criterion_keys.append(key)
        row = [f"key = {_toml_string(key)}", f"name = {_toml_string(name)}",
               f"description = {_toml_string(text(f'criterion_{i}_description', 2000))}"]
        for part, label, low, high, default in (("weight", "trọng số", 0, 1000, None), ("min", "điểm thấp nhất", 0, 1000, 0),
                                                ("max", "điểm cao nhất", 1, 1000, 10)):
            raw = (form.get(f"criterion_{i}_{part}") or "").strip().replace(",", ".")[:20]
            try:
                value = float(raw) if part == "weight" else parse_int(raw, low, high)
                if value is None or not low <= value <= high or (part == "weight" and value <= 0):
                    raise ValueError
            except ValueError:
                errors[f"criterion_{i}_{part}"] = f"Tiêu chí {i} “{name}”: {label} không hợp lệ."
                value = default if default is not None else 1
            row.append(f"{part} = {_number(value)}")
        tables.append("[[criteria]]\n" + "\n".join(row))
    taken = set()
    for i in range(1, CATEGORY_ROWS + 1):
        name = text(f"category_{i}_name")
        if name:
            key = form.get(f"category_{i}_key") or ""
            key = key if re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", key) and key not in taken else _key(name, taken)
            taken.add(key)
            tables.append(f"[[categories]]\nkey = {_toml_string(key)}\nname = {_toml_string(name)}")
    taken = set()
    for i in range(1, AWARD_ROWS + 1):
        name = text(f"award_{i}_name")
        if not name:
            continue
        key = form.get(f"award_{i}_key") or ""
        key = key if re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", key) and key not in taken else _key(name, taken)
        taken.add(key)
        count = parse_int(form.get(f"award_{i}_count"), 1, 100)
        if count is None:
            errors[f"award_{i}_count"] = f"Giải {i} “{name}”: số giải cần từ 1 đến 100."
            count = 1
        raw = (form.get(f"award_{i}_min_score") or "0").strip().replace(",", ".")[:20]
        try:
            minimum = float(raw)
            if not 0 <= minimum <= 100:
                raise ValueError
        except ValueError:
            errors[f"award_{i}_min_score"] = f"Giải {i} “{name}”: điểm tối thiểu cần từ 0 đến 100."
            minimum = 0.0
        tables.append(f"[[awards]]\nkey = {_toml_string(key)}\nname = {_toml_string(name)}\ncount = {count}\n"
                      f"min_score = {_number(minimum)}")
    ties = []
    for i in range(1, TIE_ROWS + 1):
        value = form.get(f"tie_{i}") or ""
        if value == "submitted":
            ties.append("submitted")
        elif value in criterion_keys:
            ties.append(f"criterion:{value}")
    lines.append("tie_breaks = [" + ", ".join(_toml_string(t) for t in ties or ["submitted"]) + "]")
    source = "\n".join(lines) + "\n\n" + "\n\n".join(tables) + "\n"
    try:
        definition = loads_definition(source, plan)
    except DefinitionError as exc:
        problems = [p for p in exc.problems if not p.startswith(("call.opens", "call.closes"))
                    or not ({"opens_date", "closes_date", "opens_time", "closes_time"} & set(errors))]
        for problem in problems:
            field = _field_of(problem)
            if field and field not in errors:
                errors[field] = f"{_label(field)}: {problem.split(': ', 1)[-1]}"
        raise SetupError(errors, list(errors.values()) + [p for p in problems if _field_of(p) is None]) from None
    if errors:
        raise SetupError(errors, list(errors.values()))
    return source, definition
