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
  as a plan file with ``parent_plan``.

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
from .model import ID_PATTERN, Comparison, CountScope, Deadline, Indicator, IndicatorKind, Plan, Unit
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
    "to_toml",
]

LIMITS = {"tasks": 100, "targets": 60, "products": 20, "text": 1000, "comment": 2000}
"""Bounds of a local plan's content: every list and text is bounded before it is stored."""


class LocalPlanError(ValueError):
    """A local plan action that cannot be done; ``field`` names what is wrong (``targets[2].target``,
    ``status``), ``message`` says what, in English for logs; ``message_vi`` for the page."""

    def __init__(self, field: str, message: str, message_vi: str | None = None):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.message_vi = message_vi or message

    @property
    def where_vi(self) -> str | None:
        """Where the problem is, in words for the page ("Nhiệm vụ thứ 7, nội dung"), or None."""
        match = re.fullmatch(r"(tasks|targets)\[(\d+)\](?:\.(\w+))?(?:\[(\d+)\])?", self.field)
        if not match:
            return None
        what = {"tasks": "Nhiệm vụ", "targets": "Chỉ tiêu"}[match.group(1)]
        part = {"duty": "nội dung", "products": "sản phẩm", "timing": "thời gian", "code": "mã", "text": "nội dung",
                "target": "con số", "unit_label": "đơn vị tính", "kind": "loại", "target_per": "kỳ",
                "parent": "nhiệm vụ, chỉ tiêu cấp trên"}.get(match.group(3) or "", "")
        return f"{what} thứ {int(match.group(2)) + 1}" + (f", {part}" if part else "")


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
        raise LocalPlanError("content", "must be a table")
    unknown = set(content) - {"tasks", "targets"}
    if unknown:
        raise LocalPlanError("content", f"unknown key(s) {', '.join(sorted(unknown))}")
    tasks_in, targets_in = content.get("tasks", []), content.get("targets", [])
    if not isinstance(tasks_in, list) or not isinstance(targets_in, list):
        raise LocalPlanError("content", "tasks and targets must be lists")
    if len(tasks_in) > LIMITS["tasks"]:
        raise LocalPlanError("tasks", f"more than {LIMITS['tasks']} tasks", f"Nhiều hơn {LIMITS['tasks']} nhiệm vụ.")
    if len(targets_in) > LIMITS["targets"]:
        raise LocalPlanError("targets", f"more than {LIMITS['targets']} targets", f"Nhiều hơn {LIMITS['targets']} chỉ tiêu.")
    parent_tasks = {t["parent"]: t for t in prefill(plan, unit_id)["tasks"]}
    tasks = []
    for i, item in enumerate(tasks_in):
        where = f"tasks[{i}]"
        if not isinstance(item, Mapping):
            raise LocalPlanError(where, "must be a table")
        parent = item.get("parent")
        if parent is not None and parent not in parent_tasks:
            raise LocalPlanError(f"{where}.parent", f"{parent!r} is not a task of the parent plan for this unit",
                                 "Nhiệm vụ này không thuộc kế hoạch cấp trên giao cho đơn vị.")
        products = item.get("products", [])
        if not isinstance(products, list) or len(products) > LIMITS["products"]:
            raise LocalPlanError(f"{where}.products", f"a list of at most {LIMITS['products']} products")
        task = {
            "parent": parent,
            "role": parent_tasks[parent]["role"] if parent else "own",
            "duty": _text(item.get("duty"), f"{where}.duty", required=True),
            "products": [text for j, p in enumerate(products) if (text := _text(p, f"{where}.products[{j}]"))],
            "timing": _text(item.get("timing"), f"{where}.timing"),
        }
        tasks.append(task)
    seen_parent = [t["parent"] for t in tasks if t["parent"]]
    if len(seen_parent) != len(set(seen_parent)):
        raise LocalPlanError("tasks", "a parent task is listed twice")
    targets, codes = [], set()
    parent_codes = {i.code for i in plan.indicators}
    for i, item in enumerate(targets_in):
        where = f"targets[{i}]"
        if not isinstance(item, Mapping):
            raise LocalPlanError(where, "must be a table")
        parent = item.get("parent")
        if parent is not None:
            try:
                indicator = plan.indicator(parent)
            except KeyError:
                raise LocalPlanError(f"{where}.parent", f"unknown indicator {parent!r}") from None
            if not (indicator.applies_to and _parent_target_units(plan, indicator, unit_id)):
                raise LocalPlanError(f"{where}.parent", f"{parent} does not apply to {unit_id}",
                                     f"Chỉ tiêu {parent} không giao cho đơn vị này.")
            if indicator.kind is IndicatorKind.YES_NO:
                committed = indicator.target if indicator.target is not None else 1.0
            else:
                committed = _number(item.get("target"), f"{where}.target")
                if indicator.is_percentage and committed > 100:
                    raise LocalPlanError(f"{where}.target", f"{committed:g} is over 100%", "Tỷ lệ không quá 100%.")
            if _weaker(indicator, committed):
                raise LocalPlanError(
                    f"{where}.target",
                    f"{parent}: {committed:g} is weaker than the parent's {indicator.target:g}",
                    f"Chỉ tiêu {parent}: cam kết {_figure(committed)} thấp hơn chỉ tiêu của kế hoạch cấp trên "
                    f"({_figure(indicator.target)}); chỉ được bằng hoặc cao hơn.",
                )
            code = parent
            target = {"parent": parent, "code": code, "text": indicator.text, "kind": indicator.kind.value,
                      "target": committed, "target_per": indicator.target_per.value if indicator.target_per else None,
                      "unit_label": indicator.unit_label}
        else:
            code = _text(item.get("code"), f"{where}.code", required=True)
            if not ID_PATTERN.match(code.lower()) or len(code) > 20:
                raise LocalPlanError(f"{where}.code", f"{code!r} is not a code (letters, digits, '.', '-')",
                                     "Mã chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang (tối đa 20 ký tự).")
            if code in parent_codes:
                raise LocalPlanError(f"{where}.code", f"{code} is a code of the parent plan",
                                     f"Mã {code} đã dùng trong kế hoạch cấp trên; chọn mã khác.")
            kind = item.get("kind", "count")
            if kind not in ("count", "yes_no"):
                raise LocalPlanError(f"{where}.kind", f"{kind!r}: an own target is a count or yes_no")
            per = item.get("target_per") or ("year" if kind == "count" else None)
            if per is not None:
                try:
                    per = PeriodType.parse(per).value
                except ValueError:
                    raise LocalPlanError(f"{where}.target_per", f"{per!r} is not a period type") from None
            target = {"parent": None, "code": code, "text": _text(item.get("text"), f"{where}.text", required=True),
                      "kind": kind, "target": 1.0 if kind == "yes_no" else _number(item.get("target"), f"{where}.target"),
                      "target_per": per if kind == "count" else None,
                      "unit_label": _text(item.get("unit_label"), f"{where}.unit_label") or None}
        if code in codes:
            raise LocalPlanError(f"{where}.code", f"{code} is listed twice", f"Mã {code} bị lặp.")
        codes.add(code)
        targets.append(target)
    return {"tasks": tasks, "targets": targets}


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
