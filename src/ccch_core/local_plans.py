"""Commune plans under the deployment's plan (kế hoạch của địa phương, IV.7 of the seed plan).

Each commune writes its own plan under the district's (or, in a two-tier deployment, the
province's) and sends it in by a deadline; the plan office approves it or returns it with
comments. A local plan lives in the deployment's database, one per (parent plan, commune):

- :func:`start` pre-fills it from the parent: the tasks the commune leads or coordinates, the
  targets that apply to it or to its sub-units, each with the parent's figure as its commitment;
- :func:`save` stores the commune's changes (a commitment may be stricter than the parent's,
  never weaker; own tasks and own targets), :func:`send` sends it (on time or late against the
  parent's deadline marked ``local_plans = true``), :func:`approve` and :func:`return_plan` are
  the plan office's decision;
- :func:`board` says which communes sent, which were late, which are approved;
  :func:`rollup` adds up what the commune plans commit to; :func:`to_toml` writes an approved plan
  as a plan file with ``parent_plan``, and :func:`to_document` as a Decree 30 "Kế hoạch"
  (:class:`ccch_core.documents.PlanDocument`, written as DOCX by whichever plugin registered a
  writer: the export plugin).

Every step writes the audit log in its own transaction. The design and its reasons are in
``docs/local-plans.md``.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import attrs
from sqlite_utils import Database

from . import audit
from .model import (
    ID_PATTERN,
    PERCENT_KINDS,
    Comparison,
    CountScope,
    Deadline,
    Indicator,
    IndicatorKind,
    Plan,
    Unit,
)
from .periods import VN_TZ, PeriodType, utc_now
from .storage import parse_utc, utc_now_iso, write_transaction
from .text import clean

__all__ = [
    "LIMITS",
    "BoardRow",
    "LocalPlan",
    "LocalPlanError",
    "Status",
    "approve",
    "board",
    "check_content",
    "deadline_for",
    "get",
    "prefill",
    "return_plan",
    "rollup",
    "save",
    "send",
    "start",
    "to_document",
    "to_toml",
]

LIMITS = {"tasks": 100, "targets": 60, "products": 20, "text": 1000, "comment": 2000}
"""Bounds of a local plan's content: every list and text is bounded before it is stored."""


class LocalPlanError(ValueError):
    """A local plan action that cannot be done; ``field`` names what is wrong (``targets[2].target``,
    ``status``), ``message`` says what, in English for logs; ``message_vi`` for the page.

    ``row_vi`` names the task or target the problem is in, in the words the officer sees on the
    page (the parent task's number and duty, the indicator's name, an own row's text, its code in
    brackets only where the officer typed one): :func:`check_content` sets it."""

    def __init__(self, field: str, message: str, message_vi: str | None = None, row_vi: str | None = None):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.message_vi = message_vi or message
        self.row_vi = row_vi

    @property
    def where_vi(self) -> str | None:
        """Where the problem is, in words for the page (“Nhiệm vụ 7 “Tổ chức hội nghị…”, thời
        gian”; without a name, “Nhiệm vụ thứ 7, nội dung”), or None."""
        match = re.fullmatch(r"(tasks|targets)\[(\d+)\](?:\.(\w+))?(?:\[(\d+)\])?", self.field)
        if not match:
            return self.row_vi
        what = {"tasks": "Nhiệm vụ", "targets": "Chỉ tiêu"}[match.group(1)]
        part = {"duty": "nội dung", "products": "sản phẩm", "timing": "thời gian", "code": "mã", "text": "nội dung",
                "target": "con số", "unit_label": "đơn vị tính", "kind": "loại", "target_per": "kỳ",
                "parent": "nhiệm vụ, chỉ tiêu cấp trên"}.get(match.group(3) or "", "")
        row = self.row_vi or f"{what} thứ {int(match.group(2)) + 1}"
        return row + (f", {part}" if part else "")


def _shortened(text: str, limit: int = 60) -> str:
    """``text`` cut at a word to at most ``limit`` characters, with "…" when cut."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def _task_words(task) -> str:
    """A parent plan's task as its page heads it: "Nhiệm vụ 3 “Tuyên truyền…”"."""
    return f"Nhiệm vụ {task.number} “{_shortened(task.duty)}”"


def _indicator_words(indicator: Indicator) -> str:
    """A parent plan's target by its name: "Chỉ tiêu “Tỷ lệ xã có chuyên mục CCHC”"."""
    return f"Chỉ tiêu “{_shortened(indicator.label)}”"


class Status(str, enum.Enum):
    """Where a local plan stands."""

    DRAFT = "draft"
    SENT = "sent"
    APPROVED = "approved"
    RETURNED = "returned"

    @property
    def label_vi(self) -> str:
        """Vietnamese label."""
        return {"draft": "Đang soạn", "sent": "Đã gửi, chờ phê duyệt", "approved": "Đã phê duyệt",
                "returned": "Trả lại để sửa"}[self.value]

    @property
    def editable(self) -> bool:
        """Whether the commune may change the plan (a draft, or a plan returned to it)."""
        return self in (Status.DRAFT, Status.RETURNED)


@attrs.frozen
class LocalPlan:
    """A commune's plan under the parent plan."""

    parent_plan: str
    unit_id: str
    status: Status
    content: Mapping[str, Any] = attrs.field(eq=False)
    revision: int
    created_at: dt.datetime
    created_by: str | None
    updated_at: dt.datetime | None
    sent_at: dt.datetime | None
    sent_by: str | None
    decided_at: dt.datetime | None
    decided_by: str | None
    comment: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> LocalPlan:
        """A local plan from its ``local_plans`` row."""
        def at(key):
            return parse_utc(row[key]) if row.get(key) else None

        return cls(row["parent_plan"], row["unit_id"], Status(row["status"]), json.loads(row["content"]),
                   row["revision"], parse_utc(row["created_at"]), row.get("created_by"), at("updated_at"),
                   at("sent_at"), row.get("sent_by"), at("decided_at"), row.get("decided_by"), row.get("comment"))

    @property
    def tasks(self) -> list[dict]:
        """The plan's tasks: ``role`` is ``lead``, ``coordinating`` (copied from the parent) or ``own``."""
        return list(self.content.get("tasks", []))

    @property
    def targets(self) -> list[dict]:
        """The plan's targets: ``parent`` is the parent indicator's code, None for the commune's own."""
        return list(self.content.get("targets", []))


# --------------------------------------------------------------------------------------------
# The parent's deadline and the communes it expects a plan from


def deadline_for(plan: Plan, unit_id: str) -> Deadline | None:
    """The parent's deadline for ``unit_id``'s plan: a ``local_plans = true`` deadline whose
    ``who`` includes the unit (None when the plan sets none)."""
    for deadline in plan.deadlines:
        if deadline.local_plans and any(u.id == unit_id for u in plan.resolve(deadline.who)):
            return deadline
    return None


def expected_units(plan: Plan) -> tuple[Unit, ...]:
    """The units the parent expects a plan from: the ``who`` of its ``local_plans`` deadlines,
    active during the plan."""
    refs = [ref for d in plan.deadlines if d.local_plans for ref in d.who]
    return plan.resolve(refs, plan.period)


def _deadline_end(deadline: Deadline) -> dt.datetime:
    """The exclusive instant after the deadline's last day, Vietnam time, as aware UTC."""
    day = deadline.last_day + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), VN_TZ).astimezone(dt.UTC)


def _check_unit(plan: Plan, unit_id: str) -> Unit:
    if not plan.has_unit(unit_id):
        raise LocalPlanError("unit", f"unknown unit {unit_id!r}", "Không có đơn vị này trong kế hoạch.")
    if unit_id not in {u.id for u in expected_units(plan)}:
        unit = plan.unit(unit_id)
        raise LocalPlanError("unit", f"{unit_id} ({unit.name}) writes no plan under {plan.id}",
                             f"{unit.name} không thuộc diện xây dựng kế hoạch riêng theo kế hoạch này.")
    return plan.unit(unit_id)


# --------------------------------------------------------------------------------------------
# Content: pre-filled from the parent, checked


def _parent_target_units(plan: Plan, indicator: Indicator, unit_id: str) -> list[Unit]:
    return [u for u in plan.indicator_units(indicator) if plan.is_within(u.id, unit_id)]


def prefill(plan: Plan, unit_id: str) -> dict[str, Any]:
    """A new local plan's content from the parent: the tasks the unit leads or coordinates and the
    targets that apply to it or below it, each with the parent's figure as the commitment."""
    roles = plan.tasks_of(unit_id)
    tasks = []
    for role in ("lead", "coordinating"):
        for task in roles[role]:
            tasks.append({"parent": task.id, "role": role, "duty": task.duty, "products": list(task.products),
                          "timing": task.timing or ""})
    tasks.sort(key=lambda t: plan.task(t["parent"]).number)
    targets = []
    for indicator in plan.indicators:
        if indicator.applies_to and _parent_target_units(plan, indicator, unit_id):
            targets.append({"parent": indicator.code, "code": indicator.code, "text": indicator.text,
                            "kind": indicator.kind.value, "target": indicator.target,
                            "target_per": indicator.target_per.value if indicator.target_per else None,
                            "unit_label": indicator.unit_label})
    return {"tasks": tasks, "targets": targets}


def _text(value: Any, field: str, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise LocalPlanError(field, "must be text", "Phải là chữ.")
    value = clean(value)
    if required and not value:
        raise LocalPlanError(field, "must not be empty", "Không được để trống.")
    if len(value) > LIMITS["text"]:
        raise LocalPlanError(field, f"longer than {LIMITS['text']} characters", f"Dài quá {LIMITS['text']} ký tự.")
    return value


def _number(value: Any, field: str) -> float:
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
        try:
            value = float(value)
        except ValueError:
            raise LocalPlanError(field, f"{value!r} is not a number", "Phải là một số.") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LocalPlanError(field, f"{value!r} is not a number", "Phải là một số.")
    if not 0 <= value <= 1_000_000:
        raise LocalPlanError(field, f"{value:g} is out of range (0–1000000)", "Số phải từ 0 đến 1.000.000.")
    return float(value)


def _weaker(indicator: Indicator, committed: float) -> bool:
    """Whether a commitment is weaker than the parent's target for the same period. A total count
    shared by several units has no per-commune figure: any commitment stands (the roll-up
    compares the sum with the parent's figure)."""
    if indicator.target is None:
        return False
    if indicator.kind is IndicatorKind.COUNT and indicator.scope is CountScope.TOTAL and len(indicator.applies_to) != 1:
        return False
    if indicator.comparison is Comparison.AT_LEAST:
        return committed < indicator.target - 1e-9
    if indicator.comparison is Comparison.AT_MOST:
        return committed > indicator.target + 1e-9
    return abs(committed - indicator.target) > 1e-9


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:g}".replace(".", ",")


def check_content(plan: Plan, unit_id: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a local plan's content and return it normalised; :class:`LocalPlanError` names
    the first problem (``tasks[3].duty``, ``targets[0].target``).

    Tasks copied from the parent keep the parent's task; own tasks need a duty. Targets copied
    from the parent keep the parent's indicator and may only be stricter; own targets need a
    code (not one of the parent's), a text, a kind (``count`` or ``yes_no``) and a figure."""
    if not isinstance(content, Mapping):
        raise LocalPlanError("content", "must be a table", "Nội dung kế hoạch không đúng dạng.")
    unknown = set(content) - {"tasks", "targets"}
    if unknown:
        raise LocalPlanError("content", f"unknown key(s) {', '.join(sorted(unknown))}",
                             f"Nội dung kế hoạch có mục không dùng: {', '.join(sorted(map(str, unknown)))}; "
                             "chỉ có nhiệm vụ (tasks) và chỉ tiêu (targets).")
    tasks_in, targets_in = content.get("tasks", []), content.get("targets", [])
    if not isinstance(tasks_in, list) or not isinstance(targets_in, list):
        raise LocalPlanError("content", "tasks and targets must be lists",
                             "Nhiệm vụ và chỉ tiêu phải là danh sách.")
    if len(tasks_in) > LIMITS["tasks"]:
        raise LocalPlanError("tasks", f"more than {LIMITS['tasks']} tasks", f"Nhiều hơn {LIMITS['tasks']} nhiệm vụ.")
    if len(targets_in) > LIMITS["targets"]:
        raise LocalPlanError("targets", f"more than {LIMITS['targets']} targets", f"Nhiều hơn {LIMITS['targets']} chỉ tiêu.")
    parent_tasks = {t["parent"]: t for t in prefill(plan, unit_id)["tasks"]}
    unit_name = plan.unit(unit_id).name if plan.has_unit(unit_id) else "đơn vị"
    tasks = []
    own_count = 0
    for i, item in enumerate(tasks_in):
        where = f"tasks[{i}]"
        if not isinstance(item, Mapping):
            raise LocalPlanError(where, "must be a table", "Không đúng dạng một nhiệm vụ.")
        parent = item.get("parent")
        if parent is not None:
            known = isinstance(parent, str) and any(t.id == parent for t in plan.tasks)
            row = _task_words(plan.task(parent)) if known else f"Nhiệm vụ thứ {i + 1}"
            if not known or parent not in parent_tasks:
                raise LocalPlanError(f"{where}.parent", f"{parent!r} is not a task of the parent plan for this unit",
                                     f"Kế hoạch cấp trên không giao nhiệm vụ này cho {unit_name}." if known else
                                     f"Kế hoạch cấp trên không có nhiệm vụ này (mã “{_shortened(str(parent), 20)}”).",
                                     row_vi=row)
        else:
            own_count += 1
            duty = item.get("duty")
            row = (f"Nhiệm vụ riêng “{_shortened(duty)}”" if isinstance(duty, str) and duty.strip()
                   else f"Nhiệm vụ riêng thứ {own_count}")
        try:
            products = item.get("products", [])
            if not isinstance(products, list) or len(products) > LIMITS["products"]:
                raise LocalPlanError(f"{where}.products", f"a list of at most {LIMITS['products']} products",
                                     f"Tối đa {LIMITS['products']} sản phẩm.")
            task = {
                "parent": parent,
                "role": parent_tasks[parent]["role"] if parent else "own",
                "duty": _text(item.get("duty"), f"{where}.duty", required=True),
                "products": [text for j, p in enumerate(products) if (text := _text(p, f"{where}.products[{j}]"))],
                "timing": _text(item.get("timing"), f"{where}.timing"),
            }
        except LocalPlanError as exc:
            exc.row_vi = row
            raise
        tasks.append(task)
    seen_parent = [t["parent"] for t in tasks if t["parent"]]
    if len(seen_parent) != len(set(seen_parent)):
        twice = next(p for p in seen_parent if seen_parent.count(p) > 1)
        raise LocalPlanError("tasks", f"a parent task ({twice}) is listed twice",
                             "Nhiệm vụ này có hai lần trong kế hoạch; chỉ giữ một.", row_vi=_task_words(plan.task(twice)))
    targets, codes = [], set()
    parent_codes = {i.code for i in plan.indicators}
    own_count = 0
    for i, item in enumerate(targets_in):
        where = f"targets[{i}]"
        if not isinstance(item, Mapping):
            raise LocalPlanError(where, "must be a table", "Không đúng dạng một chỉ tiêu.")
        try:
            target = _check_target(plan, unit_id, unit_name, item, i, parent_codes)
        except LocalPlanError as exc:
            if exc.row_vi is None:
                if item.get("parent") is None:
                    own_count += 1
                exc.row_vi = _own_target_words(item, own_count)
            raise
        if target["parent"] is None:
            own_count += 1
        code = target["code"]
        if code in codes:
            if target["parent"] is not None:
                raise LocalPlanError(f"{where}.parent", f"{code} is listed twice",
                                     "Chỉ tiêu này có hai lần trong kế hoạch; chỉ giữ một.",
                                     row_vi=_indicator_words(plan.indicator(code)))
            raise LocalPlanError(f"{where}.code", f"{code} is listed twice",
                                 f"Mã {code} đã dùng cho một chỉ tiêu riêng khác; chọn mã khác.",
                                 row_vi=_own_target_words(item, own_count))
        codes.add(code)
        targets.append(target)
    return {"tasks": tasks, "targets": targets}


def _own_target_words(item: Mapping[str, Any], number: int) -> str:
    """An own target as the officer typed it: its text, its code in brackets (the form shows the
    code field), or its place among the own targets when both are blank."""
    text, code = item.get("text"), item.get("code")
    text = _shortened(text) if isinstance(text, str) and text.strip() else ""
    code = _shortened(code, 20) if isinstance(code, str) and code.strip() else ""
    if text:
        return f"Chỉ tiêu riêng “{text}”" + (f" (mã {code})" if code else "")
    return f"Chỉ tiêu riêng mã {code}" if code else f"Chỉ tiêu riêng thứ {number}"


def _check_target(plan: Plan, unit_id: str, unit_name: str, item: Mapping[str, Any], index: int,
                  parent_codes: set[str]) -> dict[str, Any]:
    """One target of a local plan checked: a parent's (only stricter) or the unit's own."""
    where = f"targets[{index}]"
    parent = item.get("parent")
    if parent is not None:
        try:
            indicator = plan.indicator(parent)
        except (KeyError, TypeError):
            raise LocalPlanError(f"{where}.parent", f"unknown indicator {parent!r}",
                                 f"Kế hoạch cấp trên không có chỉ tiêu này (mã “{_shortened(str(parent), 20)}”).",
                                 row_vi=f"Chỉ tiêu thứ {index + 1}") from None
        row = _indicator_words(indicator)
        if not (indicator.applies_to and _parent_target_units(plan, indicator, unit_id)):
            raise LocalPlanError(f"{where}.parent", f"{parent} does not apply to {unit_id}",
                                 f"Kế hoạch cấp trên không giao chỉ tiêu này cho {unit_name}.", row_vi=row)
        try:
            if indicator.kind is IndicatorKind.YES_NO:
                committed = indicator.target if indicator.target is not None else 1.0
            else:
                committed = _number(item.get("target"), f"{where}.target")
                if indicator.is_percentage and committed > 100:
                    raise LocalPlanError(f"{where}.target", f"{committed:g} is over 100%", "Tỷ lệ không quá 100%.")
        except LocalPlanError as exc:
            exc.row_vi = row
            raise
        if _weaker(indicator, committed):
            raise LocalPlanError(
                f"{where}.target",
                f"{parent}: {committed:g} is weaker than the parent's {indicator.target:g}",
                f"cam kết {_figure(committed)} thấp hơn chỉ tiêu của kế hoạch cấp trên "
                f"({_figure(indicator.target)}); chỉ được bằng hoặc cao hơn.",
                row_vi=row,
            )
        return {"parent": parent, "code": parent, "text": indicator.text, "kind": indicator.kind.value,
                "target": committed, "target_per": indicator.target_per.value if indicator.target_per else None,
                "unit_label": indicator.unit_label}
    code = _text(item.get("code"), f"{where}.code", required=True)
    if not ID_PATTERN.match(code.lower()) or len(code) > 20:
        raise LocalPlanError(f"{where}.code", f"{code!r} is not a code (letters, digits, '.', '-')",
                             "Mã chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang (tối đa 20 ký tự).")
    if code in parent_codes:
        raise LocalPlanError(f"{where}.code", f"{code} is a code of the parent plan",
                             f"Mã {code} là mã của chỉ tiêu “{_shortened(plan.indicator(code).label)}” "
                             "trong kế hoạch cấp trên; chọn mã khác.")
    kind = item.get("kind", "count")
    if kind not in ("count", "yes_no"):
        raise LocalPlanError(f"{where}.kind", f"{kind!r}: an own target is a count or yes_no",
                             "Chỉ tiêu riêng là một số lượng hoặc một việc có/không.")
    per = item.get("target_per") or ("year" if kind == "count" else None)
    if per is not None:
        try:
            per = PeriodType.parse(per).value
        except ValueError:
            raise LocalPlanError(f"{where}.target_per", f"{per!r} is not a period type",
                                 "Kỳ phải là tháng, quý, 6 tháng hoặc năm.") from None
    return {"parent": None, "code": code, "text": _text(item.get("text"), f"{where}.text", required=True),
            "kind": kind, "target": 1.0 if kind == "yes_no" else _number(item.get("target"), f"{where}.target"),
            "target_per": per if kind == "count" else None,
            "unit_label": _text(item.get("unit_label"), f"{where}.unit_label") or None}


# --------------------------------------------------------------------------------------------
# The life cycle


def get(db: Database, plan: Plan, unit_id: str) -> LocalPlan | None:
    """The local plan of ``unit_id`` under ``plan``, or None."""
    row = next(db.query("select * from local_plans where parent_plan = ? and unit_id = ?", [plan.id, unit_id]), None)
    return LocalPlan.from_row(row) if row else None


def _require(db: Database, plan: Plan, unit_id: str) -> LocalPlan:
    local = get(db, plan, unit_id)
    if local is None:
        raise LocalPlanError("status", f"{unit_id} has not started its plan", "Đơn vị chưa bắt đầu soạn kế hoạch.")
    return local


def _target(plan: Plan, unit_id: str) -> str:
    return f"{plan.unit(unit_id).name} — kế hoạch năm {plan.year}"


def start(db: Database, plan: Plan, unit_id: str, *, by: str | None, now: dt.datetime | None = None) -> LocalPlan:
    """Start ``unit_id``'s plan, pre-filled from the parent (:func:`prefill`)."""
    _check_unit(plan, unit_id)
    stamp = utc_now_iso(now)
    with write_transaction(db):
        if get(db, plan, unit_id) is not None:
            raise LocalPlanError("status", f"{unit_id} has already started its plan", "Kế hoạch của đơn vị đã có.")
        db["local_plans"].insert({"parent_plan": plan.id, "unit_id": unit_id, "status": Status.DRAFT.value,
                                  "content": json.dumps(prefill(plan, unit_id), ensure_ascii=False), "revision": 1,
                                  "created_at": stamp, "created_by": by, "updated_at": stamp, "updated_by": by})
        audit.record(db, by, "local_plan.start", _target(plan, unit_id), label="Bắt đầu soạn kế hoạch của đơn vị",
                     now=now)
    return get(db, plan, unit_id)


def save(db: Database, plan: Plan, unit_id: str, content: Mapping[str, Any], *, by: str | None,
         now: dt.datetime | None = None) -> LocalPlan:
    """Store the commune's changes; only a draft or a returned plan can change."""
    _check_unit(plan, unit_id)
    checked = check_content(plan, unit_id, content)
    with write_transaction(db):
        local = _require(db, plan, unit_id)
        if not local.status.editable:
            raise LocalPlanError("status", f"the plan is {local.status.value}: it cannot change",
                                 f"Kế hoạch {local.status.label_vi.lower()}: không sửa được.")
        db.execute("update local_plans set content = ?, revision = revision + 1, updated_at = ?, updated_by = ? "
                   "where parent_plan = ? and unit_id = ?",
                   [json.dumps(checked, ensure_ascii=False), utc_now_iso(now), by, plan.id, unit_id])
        audit.record(db, by, "local_plan.save", _target(plan, unit_id),
                     f"{len(checked['tasks'])} nhiệm vụ, {len(checked['targets'])} chỉ tiêu",
                     label="Lưu kế hoạch của đơn vị", now=now)
    return get(db, plan, unit_id)


def is_late(plan: Plan, local: LocalPlan) -> bool | None:
    """Whether the plan was sent after the parent's deadline (None: not sent, or no deadline)."""
    deadline = deadline_for(plan, local.unit_id)
    if deadline is None or local.sent_at is None:
        return None
    return local.sent_at >= _deadline_end(deadline)


def send(db: Database, plan: Plan, unit_id: str, *, by: str | None, now: dt.datetime | None = None) -> LocalPlan:
    """Send the plan to the plan office. Sending after the deadline is allowed and recorded late."""
    _check_unit(plan, unit_id)
    moment = now or utc_now()
    with write_transaction(db):
        local = _require(db, plan, unit_id)
        if not local.status.editable:
            raise LocalPlanError("status", f"the plan is {local.status.value}: it cannot be sent",
                                 f"Kế hoạch {local.status.label_vi.lower()}: không gửi lại được.")
        if not local.tasks:
            raise LocalPlanError("tasks", "a plan without tasks cannot be sent", "Kế hoạch chưa có nhiệm vụ nào.")
        db.execute("update local_plans set status = ?, sent_at = ?, sent_by = ?, comment = null "
                   "where parent_plan = ? and unit_id = ?",
                   [Status.SENT.value, utc_now_iso(moment), by, plan.id, unit_id])
        sent = get(db, plan, unit_id)
        late = is_late(plan, sent)
        audit.record(db, by, "local_plan.send", _target(plan, unit_id), "trễ hạn" if late else "đúng hạn" if late is False else None,
                     label="Gửi kế hoạch của đơn vị", now=moment)
    return sent


def approve(db: Database, plan: Plan, unit_id: str, *, by: str | None, now: dt.datetime | None = None) -> LocalPlan:
    """The plan office approves a sent plan; it is read-only until returned."""
    _check_unit(plan, unit_id)
    with write_transaction(db):
        local = _require(db, plan, unit_id)
        if local.status is not Status.SENT:
            raise LocalPlanError("status", f"only a sent plan can be approved, not a {local.status.value} one",
                                 "Chỉ phê duyệt được kế hoạch đã gửi.")
        db.execute("update local_plans set status = ?, decided_at = ?, decided_by = ?, comment = null "
                   "where parent_plan = ? and unit_id = ?",
                   [Status.APPROVED.value, utc_now_iso(now), by, plan.id, unit_id])
        audit.record(db, by, "local_plan.approve", _target(plan, unit_id), label="Phê duyệt kế hoạch của đơn vị",
                     now=now)
    return get(db, plan, unit_id)


def return_plan(db: Database, plan: Plan, unit_id: str, comment: str, *, by: str | None,
                now: dt.datetime | None = None) -> LocalPlan:
    """The plan office returns a sent (or approved) plan to the commune, with comments; the
    commune may then change it and send it again."""
    _check_unit(plan, unit_id)
    comment = clean(comment or "")
    if not comment:
        raise LocalPlanError("comment", "say what to change", "Ghi rõ nội dung cần sửa khi trả lại.")
    if len(comment) > LIMITS["comment"]:
        raise LocalPlanError("comment", f"longer than {LIMITS['comment']} characters",
                             f"Ý kiến dài quá {LIMITS['comment']} ký tự.")
    with write_transaction(db):
        local = _require(db, plan, unit_id)
        if local.status not in (Status.SENT, Status.APPROVED):
            raise LocalPlanError("status", f"only a sent or approved plan can be returned, not a {local.status.value} one",
                                 "Chỉ trả lại được kế hoạch đã gửi hoặc đã phê duyệt.")
        db.execute("update local_plans set status = ?, decided_at = ?, decided_by = ?, comment = ? "
                   "where parent_plan = ? and unit_id = ?",
                   [Status.RETURNED.value, utc_now_iso(now), by, comment, plan.id, unit_id])
        audit.record(db, by, "local_plan.return", _target(plan, unit_id), comment,
                     label="Trả lại kế hoạch của đơn vị", now=now)
    return get(db, plan, unit_id)


# --------------------------------------------------------------------------------------------
# The plan office's view


@attrs.frozen
class BoardRow:
    """One commune on the plan office's board."""

    unit: Unit
    local: LocalPlan | None
    deadline: Deadline | None
    late: bool | None
    """True: sent after the deadline; False: on time; None: not sent (or no deadline)."""
    overdue: bool
    """Not sent and the deadline has passed."""

    @property
    def state_vi(self) -> str:
        """The row's state in words."""
        if self.local is None:
            return "Chưa soạn" + (" (quá hạn)" if self.overdue else "")
        if self.local.status.editable and self.local.sent_at is None:
            return "Đang soạn" + (" (quá hạn)" if self.overdue else "")
        return self.local.status.label_vi


def board(db: Database, plan: Plan, *, now: dt.datetime | None = None) -> list[BoardRow]:
    """Every commune the parent expects a plan from, with where its plan stands."""
    now = now or utc_now()
    stored = {r["unit_id"]: LocalPlan.from_row(r)
              for r in db.query("select * from local_plans where parent_plan = ?", [plan.id])}
    rows = []
    for unit in expected_units(plan):
        local = stored.get(unit.id)
        deadline = deadline_for(plan, unit.id)
        late = is_late(plan, local) if local else None
        sent = local is not None and local.sent_at is not None
        overdue = not sent and deadline is not None and now >= _deadline_end(deadline)
        rows.append(BoardRow(unit, local, deadline, late, overdue))
    return rows


def rollup(db: Database, plan: Plan) -> dict[str, Any]:
    """What the commune plans that were sent or approved commit to, for each parent target:
    how many communes, the sum and the lowest of their commitments, and the parent's figure for the
    same communes (its target for each, summed, where the target is per unit); and the communes'
    own tasks and targets."""
    plans = [LocalPlan.from_row(r) for r in db.query(
        "select * from local_plans where parent_plan = ? and status in ('sent', 'approved') order by unit_id",
        [plan.id])]
    targets: dict[str, dict[str, Any]] = {}
    own_tasks, own_targets = 0, 0
    for local in plans:
        own_tasks += sum(1 for t in local.tasks if t["role"] == "own")
        for target in local.targets:
            if target["parent"] is None:
                own_targets += 1
                continue
            indicator = plan.indicator(target["parent"])
            entry = targets.setdefault(indicator.code, {
                "code": indicator.code, "label": indicator.label, "communes": 0, "committed": 0.0,
                "lowest": None, "parent_target": indicator.target, "parent_for_them": None,
                "stricter": 0})
            entry["communes"] += 1
            entry["committed"] += target["target"]
            entry["lowest"] = target["target"] if entry["lowest"] is None else min(entry["lowest"], target["target"])
            if indicator.target is not None and abs(target["target"] - indicator.target) > 1e-9:
                entry["stricter"] += 1
    for code, entry in targets.items():
        indicator = plan.indicator(code)
        if indicator.target is not None and (indicator.kind is not IndicatorKind.COUNT or indicator.scope is CountScope.EACH):
            entry["parent_for_them"] = indicator.target * entry["communes"]
    return {"plans": len(plans), "approved": sum(1 for p in plans if p.status is Status.APPROVED),
            "targets": [targets[i.code] for i in plan.indicators if i.code in targets],
            "own_tasks": own_tasks, "own_targets": own_targets}


# --------------------------------------------------------------------------------------------
# The approved plan as a plan file


def _q(value: Any) -> str:
    """A TOML value: JSON's string escapes are TOML basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_q(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def to_toml(plan: Plan, local: LocalPlan) -> str:
    """The local plan as a plan file (format 2) with ``parent_plan``: the commune and its sub-units,
    the parent's units it names (external), its tasks and its targets. :func:`ccch_core.planfile.loads_plan`
    reads it back."""
    commune = plan.unit(local.unit_id)
    issuer = plan.unit(plan.issuing_unit)
    units: dict[str, tuple[Unit, str | None, bool]] = {issuer.id: (issuer, None, True), commune.id: (commune, issuer.id, False)}
    for unit in plan.descendants(commune.id):
        units[unit.id] = (unit, unit.parent, False)
    tasks_out = []
    for number, task in enumerate(local.tasks, start=1):
        if task["role"] == "coordinating":
            parent_task = plan.task(task["parent"])
            leads = [u.id for u in plan.resolve(parent_task.lead) if not plan.is_within(u.id, commune.id)]
            for unit_id in leads:
                units.setdefault(unit_id, (plan.unit(unit_id), None, True))
            lead, coordinating = leads or [issuer.id], [commune.id]
            lead_text = parent_task.lead_text
        else:
            lead, coordinating, lead_text = [commune.id], [], None
        tasks_out.append((number, task, lead, coordinating, lead_text))
    lines = [
        "# Kế hoạch của đơn vị, xây dựng và gửi trên ccch (ccch_core.local_plans).",
        "format = 2", "", "[plan]",
        f"id = {_q(f'{plan.id}.{commune.id}')}",
        f"title = {_q(f'Kế hoạch tuyên truyền CCHC của {commune.name} năm {plan.year}')}",
        f"parent_plan = {_q(plan.id)}",
        f"issuing_unit = {_q(commune.id)}",
        f"year = {plan.year}", f"starts_on = {plan.starts_on.isoformat()}", f"ends_on = {plan.ends_on.isoformat()}",
    ]
    if local.status is not Status.APPROVED:
        lines.append(f"summary = {_q('Bản ' + local.status.label_vi.lower())}")
    for unit, parent, external in units.values():
        lines += ["", "[[units]]", f"id = {_q(unit.id)}", f"name = {_q(unit.name)}", f"kind = {_q(unit.kind)}"]
        if parent:
            lines.append(f"parent = {_q(parent)}")
        if external:
            lines.append("external = true")
    for target in local.targets:
        indicator = plan.indicator(target["parent"]) if target["parent"] else None
        lines += ["", "[[indicators]]", f"code = {_q(target['code'])}", f"text = {_q(target['text'])}",
                  f"kind = {_q(target['kind'])}"]
        lines.append(f"target = {_q(float(target['target']))}")
        if indicator is not None:
            applies = [u.id for u in _parent_target_units(plan, indicator, commune.id)]
            lines.append(f"applies_to = {_q(applies)}")
            if indicator.kind is IndicatorKind.COUNT:
                lines.append(f"target_per = {_q(indicator.target_per.value)}")
                lines.append(f"scope = {_q(indicator.scope.value)}")
            lines.append(f"period_type = {_q(indicator.period_type.value)}")
            for key in ("condition", "numerator", "denominator", "unit_label"):
                if getattr(indicator, key):
                    lines.append(f"{key} = {_q(getattr(indicator, key))}")
            lines.append(f"source = {_q('Kế hoạch cấp trên, chỉ tiêu ' + indicator.code)}")
        else:
            lines.append(f"applies_to = {_q([commune.id])}")
            if target["kind"] == "count":
                lines.append(f"target_per = {_q(target['target_per'])}")
            if target.get("unit_label"):
                lines.append(f"unit_label = {_q(target['unit_label'])}")
    for number, task, lead, coordinating, lead_text in tasks_out:
        lines += ["", "[[tasks]]", f"id = {_q(f'T{number}')}", f"number = {number}", f"duty = {_q(task['duty'])}"]
        if task["products"]:
            lines.append(f"products = {_q(task['products'])}")
        lines.append(f"lead = {_q(lead)}")
        if lead_text:
            lines.append(f"lead_text = {_q(lead_text)}")
        if coordinating:
            lines.append(f"coordinating = {_q(coordinating)}")
        if task["timing"]:
            lines.append(f"timing = {_q(task['timing'])}")
        if task["parent"]:
            lines.append(f"source = {_q('Kế hoạch cấp trên, nhiệm vụ ' + task['parent'])}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# The approved plan as a Decree 30 "Kế hoạch"


def place_name(unit: Unit) -> str:
    """The place a People's Committee is named after ("UBND xã An Dũng" → "An Dũng"), for the
    date line; the name itself when it names no level."""
    name = re.sub(r"^(UBND|Ủy ban nhân dân|Uỷ ban nhân dân)\s+", "", unit.name.strip(), flags=re.IGNORECASE)
    match = re.match(r"(thành phố|thị trấn|thị xã|huyện|quận|tỉnh|xã|phường|đặc khu)\s+(.+)", name, re.IGNORECASE)
    return match.group(2) if match else name


def _commitment(target: Mapping[str, Any]) -> str:
    """A commitment in words: "100%", "2 mục/tháng", "15 số/năm" (a yes/no target: empty)."""
    if target["kind"] == "yes_no":
        return ""
    figure = _figure(target["target"])
    if IndicatorKind(target["kind"]) in PERCENT_KINDS:
        return f"{figure}%"
    label = f" {target['unit_label']}" if target.get("unit_label") else ""
    per = f"/{PeriodType(target['target_per']).label_vi}" if target.get("target_per") else ""
    return f"{figure}{label}{per}"


def _issued_as(plan: Plan) -> str:
    """The parent plan as the opening names it: "Kế hoạch số 12/KH-UBND ngày 15/01/2024 của UBND
    huyện Đức Thọ về …" when its number is known, else its title."""
    issuer = plan.unit(plan.issuing_unit).name
    if plan.number:
        day = f" ngày {plan.issued_on:%d/%m/%Y}" if plan.issued_on else ""
        about = plan.summary or plan.title
        return f"{plan.document_type} số {plan.number_and_symbol}{day} của {issuer} về {about[:1].lower()}{about[1:]}"
    return f"{plan.title} của {issuer}" if issuer.lower() not in plan.title.lower() else plan.title


def to_document(plan: Plan, local: LocalPlan, *, number: str | None = None, day: dt.date | None = None,
                signer_name: str = "", signer_title: str = "CHỦ TỊCH", signer_authority: str = "TM. ỦY BAN NHÂN DÂN"):
    """The local plan as a Decree 30 "Kế hoạch" (:class:`ccch_core.documents.PlanDocument`), built
    from what the plans hold and nothing invented:

    - the opening names the parent plan ("Thực hiện …");
    - I. the parent's purposes and requirements, which the commune carries out on its ground;
    - II. the targets with the commune's commitments (a stricter one says the parent's figure);
    - III. the tasks, counted by role, with the table in the annex (TT, duty, products, lead,
      coordinating, timing) as the parent's appendix lays it out;
    - IV. funding as the parent's plan states it (when it does);
    - V. carrying it out: the commune's responsibilities in the parent plan and the reports its
      rules require (to whom, via whom, how often; a due day the parent marks assumed is left out);
    - "Nơi nhận": the body the plan is sent to (via whom), and the file copy.

    ``number``, ``day`` and ``signer_name`` left out leave blanks to fill when the plan is signed."""
    from .documents import PlanDocument, PlanSection, Signatory
    from .report import Column, Heading, Paragraph, Table

    commune = plan.unit(local.unit_id)
    issuer = plan.unit(plan.issuing_unit)
    deadline = deadline_for(plan, commune.id)
    to_unit = plan.unit(deadline.to) if deadline is not None and deadline.to and plan.has_unit(deadline.to) else issuer
    rules = [r for r in plan.reporting_rules if any(u.id == commune.id for u in plan.resolve(r.reporters))]
    via = next((plan.reference_name(r.via) for r in rules if r.via and r.to == to_unit.id), None)
    summary = f"Tuyên truyền cải cách hành chính năm {plan.year}"
    sections = []

    purpose_blocks: list = []
    if plan.purposes:
        purpose_blocks += [Heading("1. Mục đích"), *(Paragraph(f"- {p}") for p in plan.purposes)]
    if plan.requirements:
        purpose_blocks += [Heading(f"{2 if plan.purposes else 1}. Yêu cầu"), *(Paragraph(f"- {r}") for r in plan.requirements)]
    if purpose_blocks:
        purpose_blocks.insert(0, Paragraph(f"Thực hiện trên địa bàn các mục đích, yêu cầu của {_issued_as(plan)}:"))
        sections.append(PlanSection("Mục đích, yêu cầu", purpose_blocks))

    target_blocks = []
    for target in local.targets:
        indicator = plan.indicator(target["parent"]) if target["parent"] else None
        words = _commitment(target)
        text = target["text"].rstrip(".;")
        if indicator is None:
            line = f"- {text}" + (f": {words}" if words else "") + " (chỉ tiêu riêng của đơn vị)."
        elif indicator.target is not None and abs(target["target"] - indicator.target) > 1e-9:
            parent_words = _commitment({**target, "target": indicator.target})
            line = f"- {text}: đơn vị cam kết {words} (kế hoạch cấp trên: {parent_words})."
        else:
            line = f"- {text}."
        target_blocks.append(Paragraph(line))
    if target_blocks:
        sections.append(PlanSection("Chỉ tiêu cụ thể", target_blocks))

    counts = {role: sum(1 for t in local.tasks if t["role"] == role) for role in ("lead", "coordinating", "own")}
    parts = []
    if counts["lead"]:
        parts.append(f"chủ trì {counts['lead']} nhiệm vụ")
    if counts["coordinating"]:
        parts.append(f"phối hợp thực hiện {counts['coordinating']} nhiệm vụ")
    said = " và ".join(parts)
    own = f"{counts['own']} nhiệm vụ riêng của đơn vị" if counts["own"] else ""
    task_text = (f"Theo {_issued_as(plan)}, {commune.name} {said}" if said else f"{commune.name} thực hiện")
    task_text += (f"; đơn vị bổ sung {own}" if said and own else f" {own}" if own else "")
    task_text += " (Có Phụ lục kèm theo)."
    sections.append(PlanSection("Nội dung, nhiệm vụ", [Paragraph(task_text)]))

    if plan.funding:
        sections.append(PlanSection("Kinh phí", [Paragraph(plan.funding)]))

    # The commune's duties in the parent's own words, then what its rules and the deadline require
    # where those words do not already say it.
    duties = [r.strip().rstrip(".;") for r in commune.responsibilities if r.strip()]
    said_already = " ".join(duties).lower()
    duty_blocks = [Paragraph(f"- {d[:1].upper()}{d[1:]}" + ("" if d.endswith("…") else ".")) for d in duties]
    for rule in rules:
        if rule.what.lower().rstrip(".;") in said_already:
            continue
        recipients = [plan.reference_name(r) for r in rule.recipients]
        via_words = f" (qua {plan.reference_name(rule.via)})" if rule.via else ""
        due = ""
        if rule.due_day is not None and not rule.provenance.is_assumed("due_day"):
            due = f", trước ngày {rule.due_day:02d} của {rule.frequency.label_vi} sau"
        duty_blocks.append(Paragraph(f"- {rule.what.rstrip('.;')}: gửi {', '.join(recipients)}{via_words}{due}."))
    if deadline is not None and f"{deadline.due:%d/%m/%Y}" not in said_already:
        # "trước 20/01/2024" (not inclusive) or "chậm nhất ngày …" (inclusive), as the parent wrote it.
        when = f"chậm nhất ngày {deadline.due:%d/%m/%Y}" if deadline.inclusive else f"trước ngày {deadline.due:%d/%m/%Y}"
        duty_blocks.insert(0, Paragraph(f"- Kế hoạch này gửi về {to_unit.name}" + (f" (qua {via})" if via else "")
                                        + f" {when}."))
    if duty_blocks:
        sections.append(PlanSection("Tổ chức thực hiện", duty_blocks))

    def unit_names(ids) -> str:
        return "; ".join(plan.reference_name(i) for i in ids)

    rows = []
    for number_, task in enumerate(local.tasks, start=1):
        if task["role"] == "coordinating":
            parent_task = plan.task(task["parent"])
            lead = parent_task.lead_text or unit_names(parent_task.lead)
            coordinating = commune.name
        else:
            lead, coordinating = commune.name, ""
            if task["role"] == "lead" and task["parent"]:
                parent_task = plan.task(task["parent"])
                coordinating = "; ".join(u.name for u in plan.coordinating_units(parent_task)
                                         if not plan.is_within(u.id, commune.id) and u.id != commune.id)
        rows.append((number_, task["duty"], "\n".join(f"- {p}" for p in task["products"]), lead, coordinating,
                     task["timing"] or ""))
    annex = Table("nhiem-vu", "Nhiệm vụ tuyên truyền cải cách hành chính", [
        Column("number", "TT", "integer"), Column("duty", "Nhiệm vụ"), Column("products", "Sản phẩm"),
        Column("lead", "Cơ quan chủ trì"), Column("coordinating", "Cơ quan phối hợp"),
        Column("timing", "Thời gian thực hiện")], rows)

    recipients = [f"{to_unit.name}" + (f" (qua {via})" if via else "") + " (B/c)", "Lưu: VT"]
    return PlanDocument(
        plan=plan, issuer=commune, summary=summary, sections=sections, recipients=recipients,
        signatory=Signatory(title=signer_title, authority=signer_authority, name=signer_name),
        opening=[(f"Thực hiện {_issued_as(plan)}, {commune.name} xây dựng Kế hoạch tuyên truyền cải cách "
                 f"hành chính năm {plan.year} trên địa bàn như sau:")],
        closing=f"Trên đây là Kế hoạch tuyên truyền cải cách hành chính năm {plan.year} của {commune.name}",
        place=place_name(commune), day=day, number=number, annex=annex,
        annex_title=f"Nội dung và hình thức tuyên truyền cải cách hành chính năm {plan.year}")
