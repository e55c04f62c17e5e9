"""A call for entries (thể lệ cuộc thi viết sáng kiến) read from TOML: every problem at once.

The format (docs/initiatives.md has every key)::

    format = 1

    [call]
    slug = "sang-kien-cchc-2024"
    title = "Cuộc thi viết sáng kiến về cải cách hành chính huyện Đức Thọ năm 2024"
    organiser = "phong-noi-vu"
    rules = "…"
    entrants = ["person", "group", "unit"]
    units = ["phong-ban-nganh-huyen", "cac-xa-thi-tran"]
    opens = 2024-07-01T07:00:00      # Vietnam time (a local date-time)
    closes = 2024-09-30T17:00:00     # an entry at this instant or later is refused
    judges_per_entry = 3
    final_judges_per_entry = 5
    finalists_per_category = 3
    aggregation = "trimmed_mean"     # or "weighted_mean"
    disagreement_threshold = 20      # points out of 100 between the highest and lowest judge
    tie_breaks = ["criterion:hieu-qua", "criterion:tinh-moi", "submitted"]
    max_document_mb = 10
    retention_days = 730

    [[categories]]  key, name
    [[criteria]]    key, name, description, weight, min, max
    [[awards]]      key, name, count (per category), min_score

Times without an offset are Vietnam time (Asia/Ho_Chi_Minh) and stored in UTC.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import unicodedata
from typing import Any

import attrs

from ccch_core.limits import DEFAULT_LIMITS, ImportLimits, LimitError, loads_toml
from ccch_core.periods import VN_TZ

FORMAT = 1
ENTRANTS = {"person": "Cá nhân", "group": "Nhóm tác giả", "unit": "Tập thể, đơn vị"}
AGGREGATIONS = {
    "weighted_mean": "Trung bình cộng điểm các giám khảo (điểm mỗi giám khảo có trọng số theo tiêu chí)",
    "trimmed_mean": "Trung bình sau khi bỏ điểm cao nhất và thấp nhất (khi có từ 4 giám khảo)",
}
TIE_BREAK_WORDS = {"submitted": "nộp bài sớm hơn"}
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MAX_TITLE = 300
MAX_RULES = 20_000


class DefinitionError(ValueError):
    """A call definition with problems; ``problems`` lists every one, in Vietnamese."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def clean_line(text: str) -> str:
    """NFC, control characters dropped, white space collapsed (names, titles)."""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def clean_block(text: str) -> str:
    """NFC, control characters dropped (keeping line breaks), lines trimmed (rules, summaries)."""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")))
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


@attrs.frozen
class Category:
    """A field of CCHC the call takes entries in (lĩnh vực)."""

    key: str
    name: str


@attrs.frozen
class Criterion:
    """One criterion of the rubric (tiêu chí chấm): a judge gives a whole number from ``low`` to
    ``high``; its share of the judge's score out of 100 is ``weight`` over the weights' sum."""

    key: str
    name: str
    description: str
    weight: float
    low: int
    high: int


@attrs.frozen
class Award:
    """A prize given in each category (Giải A, B, C, Khuyến khích): ``count`` entries at most,
    each with a final score of at least ``min_score``."""

    key: str
    name: str
    count: int
    min_score: float


@attrs.frozen
class CallDefinition:
    """A call for entries as its TOML file writes it."""

    slug: str
    title: str
    organiser: str | None
    rules: str
    entrants: tuple[str, ...]
    units: tuple[str, ...]
    opens_at: dt.datetime
    closes_at: dt.datetime
    judges_per_entry: int
    final_judges_per_entry: int
    finalists_per_category: int
    aggregation: str
    disagreement_threshold: float
    tie_breaks: tuple[str, ...]
    max_document_bytes: int
    retention_days: int
    categories: tuple[Category, ...]
    criteria: tuple[Criterion, ...]
    awards: tuple[Award, ...]

    def category(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)


def _instant(value: Any, where: str, problems: list[str]) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=VN_TZ)
        return value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        problems.append(f"{where}: cần ngày và giờ (ví dụ 2024-09-30T17:00:00, giờ Việt Nam), không chỉ ngày.")
        return None
    problems.append(f"{where}: cần ngày giờ dạng 2024-09-30T17:00:00 (giờ Việt Nam).")
    return None


def _text(table: dict, key: str, where: str, problems: list[str], *, required=True, limit=MAX_TITLE,
          block=False) -> str:
    value = table.get(key)
    if value is None:
        if required:
            problems.append(f"{where}.{key}: thiếu.")
        return ""
    if not isinstance(value, str):
        problems.append(f"{where}.{key}: cần một chuỗi văn bản.")
        return ""
    value = clean_block(value) if block else clean_line(value)
    if required and not value:
        problems.append(f"{where}.{key}: không được để trống.")
    if len(value) > limit:
        problems.append(f"{where}.{key}: dài {len(value)} ký tự, quá {limit}.")
    return value


def _int(table: dict, key: str, where: str, problems: list[str], default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{where}.{key}: cần một số nguyên từ {low} đến {high}.")
        return default
    return value


def _number(table: dict, key: str, where: str, problems: list[str], default: float, low: float,
            high: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        problems.append(f"{where}.{key}: cần một số từ {low:g} đến {high:g}.")
        return default
    return float(value)


def _unknown(table: dict, known: set[str], where: str, problems: list[str]) -> None:
    for key in table:
        if key not in known:
            problems.append(f"{where}.{key}: khóa không có trong định dạng (gõ nhầm?).")


def _key(value: Any, where: str, problems: list[str]) -> str:
    if not isinstance(value, str) or not _KEY.match(value):
        problems.append(f"{where}.key: cần chữ thường không dấu, số và dấu gạch ngang (tối đa 40 ký tự).")
        return ""
    return value


def parse_definition(doc: dict, plan=None) -> CallDefinition:
    """A :class:`CallDefinition` from a parsed TOML document; :class:`DefinitionError` listing
    every problem. With ``plan``, unit references (``organiser``, ``units``) are checked."""
    problems: list[str] = []
    _unknown(doc, {"format", "call", "categories", "criteria", "awards"}, "tệp", problems)
    if doc.get("format") != FORMAT:
        problems.append(f"format: cần format = {FORMAT}.")
    call = doc.get("call")
    if not isinstance(call, dict):
        raise DefinitionError([*problems, "[call]: thiếu bảng [call]."])
    known = {"slug", "title", "organiser", "rules", "entrants", "units", "opens", "closes", "judges_per_entry",
             "final_judges_per_entry", "finalists_per_category", "aggregation", "disagreement_threshold",
             "tie_breaks", "max_document_mb", "retention_days"}
    _unknown(call, known, "call", problems)
    slug = call.get("slug")
    if not isinstance(slug, str) or not _KEY.match(slug):
        problems.append("call.slug: cần chữ thường không dấu, số và dấu gạch ngang (tối đa 40 ký tự).")
        slug = ""
    title = _text(call, "title", "call", problems)
    rules = _text(call, "rules", "call", problems, required=False, limit=MAX_RULES, block=True)
    organiser = call.get("organiser")
    if organiser is not None and (not isinstance(organiser, str) or (plan is not None and not plan.has_unit(organiser))):
        problems.append(f"call.organiser: không có đơn vị “{organiser}” trong kế hoạch.")
        organiser = None
    entrants = call.get("entrants", list(ENTRANTS))
    if not isinstance(entrants, list) or not entrants or any(e not in ENTRANTS for e in entrants):
        problems.append("call.entrants: cần một danh sách trong " + ", ".join(f'"{k}"' for k in ENTRANTS) + ".")
        entrants = list(ENTRANTS)
    units = call.get("units", [])
    if not isinstance(units, list) or any(not isinstance(u, str) for u in units):
        problems.append("call.units: cần một danh sách mã đơn vị hoặc nhóm đơn vị.")
        units = []
    elif plan is not None:
        for ref in units:
            if not plan.is_reference(ref):
                problems.append(f"call.units: không có đơn vị hay nhóm đơn vị “{ref}” trong kế hoạch.")
    opens = _instant(call.get("opens"), "call.opens", problems)
    closes = _instant(call.get("closes"), "call.closes", problems)
    if opens and closes and closes <= opens:
        problems.append("call.closes: phải sau call.opens.")
    judges = _int(call, "judges_per_entry", "call", problems, 3, 1, 15)
    final_judges = _int(call, "final_judges_per_entry", "call", problems, judges, 1, 15)
    finalists = _int(call, "finalists_per_category", "call", problems, 0, 0, 1000)
    aggregation = call.get("aggregation", "weighted_mean")
    if aggregation not in AGGREGATIONS:
        problems.append('call.aggregation: cần "weighted_mean" hoặc "trimmed_mean".')
        aggregation = "weighted_mean"
    threshold = _number(call, "disagreement_threshold", "call", problems, 20.0, 0.0, 100.0)
    max_mb = _number(call, "max_document_mb", "call", problems, 10.0, 0.1, 50.0)
    retention = _int(call, "retention_days", "call", problems, 730, 30, 3650)

    categories = []
    for i, item in enumerate(doc.get("categories") or [], 1):
        where = f"categories[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: cần một bảng.")
            continue
        _unknown(item, {"key", "name"}, where, problems)
        categories.append(Category(_key(item.get("key"), where, problems), _text(item, "name", where, problems)))
    if not categories:
        problems.append("[[categories]]: cần ít nhất một lĩnh vực.")
    criteria = []
    for i, item in enumerate(doc.get("criteria") or [], 1):
        where = f"criteria[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: cần một bảng.")
            continue
        _unknown(item, {"key", "name", "description", "weight", "min", "max"}, where, problems)
        low = _int(item, "min", where, problems, 0, 0, 1000)
        high = _int(item, "max", where, problems, 10, 1, 1000)
        if high <= low:
            problems.append(f"{where}.max: phải lớn hơn min.")
            high = low + 1
        criteria.append(Criterion(_key(item.get("key"), where, problems), _text(item, "name", where, problems),
                                  _text(item, "description", where, problems, required=False, limit=2000),
                                  _number(item, "weight", where, problems, 1.0, 0.01, 1000.0), low, high))
    if not criteria:
        problems.append("[[criteria]]: cần ít nhất một tiêu chí chấm.")
    awards = []
    for i, item in enumerate(doc.get("awards") or [], 1):
        where = f"awards[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: cần một bảng.")
            continue
        _unknown(item, {"key", "name", "count", "min_score"}, where, problems)
        awards.append(Award(_key(item.get("key"), where, problems), _text(item, "name", where, problems),
                            _int(item, "count", where, problems, 1, 1, 100),
                            _number(item, "min_score", where, problems, 0.0, 0.0, 100.0)))
    for what, items in (("categories", categories), ("criteria", criteria), ("awards", awards)):
        keys = [x.key for x in items if x.key]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            problems.append(f"[[{what}]]: khóa “{key}” lặp lại.")
    tie_breaks = call.get("tie_breaks", ["submitted"])
    criterion_keys = {c.key for c in criteria}
    if not isinstance(tie_breaks, list):
        problems.append("call.tie_breaks: cần một danh sách.")
        tie_breaks = ["submitted"]
    for rule in tie_breaks:
        if rule in TIE_BREAK_WORDS:
            continue
        if isinstance(rule, str) and rule.startswith("criterion:") and rule.split(":", 1)[1] in criterion_keys:
            continue
        problems.append(f"call.tie_breaks: “{rule}” không phải \"submitted\" hay \"criterion:<khóa tiêu chí>\".")
    if problems:
        raise DefinitionError(problems)
    return CallDefinition(
        slug=slug, title=title, organiser=organiser, rules=rules, entrants=tuple(entrants), units=tuple(units),
        opens_at=opens, closes_at=closes, judges_per_entry=judges, final_judges_per_entry=final_judges,
        finalists_per_category=finalists, aggregation=aggregation, disagreement_threshold=threshold,
        tie_breaks=tuple(tie_breaks), max_document_bytes=int(max_mb * 1_000_000), retention_days=retention,
        categories=tuple(categories), criteria=tuple(criteria), awards=tuple(awards))


def loads_definition(text: str, plan=None, *, file: str = "thể lệ",
                     limits: ImportLimits = DEFAULT_LIMITS) -> CallDefinition:
    """Parse TOML text (nesting bounded by ``limits`` before ``tomllib`` reads it)."""
    if len(text) > 200_000:
        raise DefinitionError([f"{file}: dài quá 200.000 ký tự."])
    try:
        doc = loads_toml(text, file, limits)
    except LimitError as exc:
        raise DefinitionError([str(exc)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError([f"{file}: không đọc được TOML: {exc}"]) from None
    return parse_definition(doc, plan)
