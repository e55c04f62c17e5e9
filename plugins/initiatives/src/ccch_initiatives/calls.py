"""Calls for entries and their panel (hội đồng chấm): load, read, appoint a secretary or judges.

Roles in a call are the plugin's own, held in ``initiative_panel``: any account (a unit officer of
a commune, a viewer, an outside expert's account) can be the secretary (thư ký hội đồng) or a judge
(giám khảo) of one call and nothing in another. The accounts' role (``ccch_core.accounts.Role``)
says what someone may do across the plan; a panel seat is temporary and per call, and a judge
must keep a unit of their own for the conflict rules — so it lives here, not in the core's enum.
Who may create calls and appoint the panel: :data:`MANAGER_ROLES` (the Interior office's contest
manager, the system administrator).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from ccch_core import audit
from ccch_core.accounts import Role
from ccch_core.periods import to_local
from ccch_core.storage import utc_now_iso, write_transaction

from .definition import CallDefinition, DefinitionError, loads_definition

MANAGER_ROLES = (Role.SYSTEM_ADMIN, Role.CONTEST_MANAGER)
SECRETARY, JUDGE = "secretary", "judge"
PANEL_ROLES = {SECRETARY: "Thư ký hội đồng", JUDGE: "Giám khảo"}
ROUNDS = {"preliminary": "Sơ khảo", "final": "Chung khảo"}


class CallError(ValueError):
    """A refused change to a call or its panel (Vietnamese message)."""


@attrs.frozen
class Call:
    """A stored call: its row and its parsed definition."""

    id: int
    slug: str
    stage: str
    results_published_at: str | None
    definition: CallDefinition
    source: str

    @property
    def title(self) -> str:
        return self.definition.title

    def is_open(self, now: dt.datetime) -> bool:
        """Entries are taken from ``opens_at`` (included) to ``closes_at`` (excluded)."""
        return self.definition.opens_at <= now < self.definition.closes_at

    def is_closed(self, now: dt.datetime) -> bool:
        return now >= self.definition.closes_at


def _row_call(row: dict[str, Any], plan=None) -> Call:
    return Call(row["id"], row["slug"], row["stage"], row["results_published_at"],
                loads_definition(row["definition"], plan), row["definition"])


_cache: dict[tuple[int, str], CallDefinition] = {}


def get_call(db, slug: str) -> Call | None:
    """The call ``slug``, or None."""
    row = db.execute("select id, slug, stage, results_published_at, definition from initiative_calls where slug = ?",
                     [slug]).fetchone()
    return _from(row)


def get_call_by_id(db, call_id: int) -> Call | None:
    row = db.execute("select id, slug, stage, results_published_at, definition from initiative_calls where id = ?",
                     [call_id]).fetchone()
    return _from(row)


def _from(row) -> Call | None:
    if row is None:
        return None
    call_id, slug, stage, published, source = row
    key = (call_id, source)
    definition = _cache.get(key)
    if definition is None:
        definition = loads_definition(source)
        if len(_cache) > 100:
            _cache.clear()
        _cache[key] = definition
    return Call(call_id, slug, stage, published, definition, source)


def list_calls(db) -> list[Call]:
    rows = db.execute("select id, slug, stage, results_published_at, definition from initiative_calls "
                      "order by id desc").fetchall()
    return [_from(r) for r in rows]


def plan_of_call(deployment, call: Call | CallDefinition | None):
    """The plan whose units a call names and lists: the deployment's plan (``[deployment] plans``)
    whose period holds the day the call opens, Vietnam time; the default plan when none does (or
    for no call). A 2025 call in a deployment whose default plan is still 2024's lists 2025's
    units: communes merged or renamed between the years are the new ones."""
    if call is None:
        return deployment.plan
    definition = call.definition if isinstance(call, Call) else call
    day = to_local(definition.opens_at).date()
    plans = deployment.plans
    if len(plans) > 1:
        for plan in plans.values():
            if plan.starts_on <= day <= plan.ends_on:
                return plan
    return deployment.plan


def definition_for_deployment(deployment, text: str, **options) -> CallDefinition:
    """``loads_definition`` with the units checked against the plan of the year the call opens in
    (:func:`plan_of_call`); ``options`` go to ``loads_definition`` (``file``, ``limits``)."""
    try:
        opening = loads_definition(text, **options)  # its dates, to choose the plan
    except DefinitionError:
        opening = None  # the check below says what is wrong, in its words
    return loads_definition(text, plan_of_call(deployment, opening), **options)


def save_call(deployment, text: str, *, actor: str | None, now: dt.datetime | None = None) -> tuple[Call, bool]:
    """Create or update the call a TOML text defines (its ``slug`` names it). Returns (call,
    created). Once entries are in, the categories and criteria keys they use must stay. The units
    it names are checked against the plan of the year it opens in (:func:`plan_of_call`)."""
    definition = definition_for_deployment(deployment, text)
    stamp = utc_now_iso(now)
    with write_transaction(deployment.db) as db:
        row = db.execute("select id from initiative_calls where slug = ?", [definition.slug]).fetchone()
        values = {"title": definition.title, "definition": text, "opens_at": utc_now_iso(definition.opens_at),
                  "closes_at": utc_now_iso(definition.closes_at), "updated_at": stamp}
        if row is None:
            call_id = db["initiative_calls"].insert({"slug": definition.slug, "stage": "preliminary",
                                                     "created_at": stamp, **values}).last_pk
            created = True
        else:
            call_id = row[0]
            used = {r[0] for r in db.execute("select distinct category from initiative_entries where call_id = ?",
                                             [call_id])}
            missing = used - {c.key for c in definition.categories}
            if missing:
                raise CallError("Không thể bỏ lĩnh vực đã có bài dự thi: " + ", ".join(sorted(missing)) + ".")
            scored = {r[0] for r in db.execute(
                "select distinct s.criterion from initiative_scores s join initiative_assignments a "
                "on a.id = s.assignment_id where a.call_id = ?", [call_id])}
            gone = scored - {c.key for c in definition.criteria}
            if gone:
                raise CallError("Không thể bỏ tiêu chí đã có điểm chấm: " + ", ".join(sorted(gone)) + ".")
            db["initiative_calls"].update(call_id, values)
            created = False
        audit.record(db, actor, "initiatives.call_save", definition.title,
                     "Tạo cuộc thi" if created else "Sửa thể lệ", label="Lưu thể lệ cuộc thi viết sáng kiến")
    return get_call_by_id(deployment.db, call_id), created


# -- the panel --------------------------------------------------------------------------------------


@attrs.frozen
class Seat:
    """A panel seat: an account's role in one call."""

    call_id: int
    username: str
    role: str
    unit_id: str | None

    @property
    def role_label(self) -> str:
        return PANEL_ROLES[self.role]


def panel(db, call_id: int, role: str | None = None) -> list[Seat]:
    sql = "select call_id, username, role, unit_id from initiative_panel where call_id = ?"
    args: list[Any] = [call_id]
    if role:
        sql += " and role = ?"
        args.append(role)
    return [Seat(*r) for r in db.execute(sql + " order by role desc, username", args)]


def seat_of(db, call_id: int, username: str) -> Seat | None:
    row = db.execute("select call_id, username, role, unit_id from initiative_panel where call_id = ? and "
                     "username = ?", [call_id, username]).fetchone()
    return Seat(*row) if row else None


def seats_of_user(db, username: str) -> list[Seat]:
    return [Seat(*r) for r in db.execute(
        "select call_id, username, role, unit_id from initiative_panel where username = ?", [username])]


def appoint(deployment, call: Call, username: str, role: str, unit_id: str | None, *, actor: str | None,
            now: dt.datetime | None = None) -> Seat:
    """Give an existing account a seat on the call's panel. A judge's unit defaults to the
    account's unit (the conflict rules need it; an outside expert may have none)."""
    from ccch_core.accounts import find_user

    if role not in PANEL_ROLES:
        raise CallError("Vai trò trong hội đồng phải là thư ký hoặc giám khảo.")
    user = find_user(deployment.db, username or "")
    if user is None:
        raise CallError(f"Không có tài khoản “{(username or '')[:64]}”. Hãy tạo tài khoản trước.")
    unit_id = unit_id or user.unit_id
    if unit_id and not plan_of_call(deployment, call).has_unit(unit_id):
        raise CallError(f"Không có đơn vị “{unit_id[:64]}” trong kế hoạch.")
    with write_transaction(deployment.db) as db:
        existing = seat_of(db, call.id, user.username)
        if existing and existing.role != role:
            raise CallError(f"{user.username} đã là {existing.role_label.lower()} của cuộc thi này; một người không "
                            "giữ cả hai vai trò (thư ký biết tên tác giả, giám khảo chấm ẩn danh).")
        db["initiative_panel"].upsert({"call_id": call.id, "username": user.username, "role": role,
                                       "unit_id": unit_id, "added_at": utc_now_iso(now), "added_by": actor},
                                      pk=("call_id", "username"))
        removed = _drop_conflicting(deployment, db, call, user.username, unit_id) if role == JUDGE else 0
        audit.record(db, actor, "initiatives.panel_add", f"{call.title} — {user.username}",
                     f"{PANEL_ROLES[role]}; đơn vị: {unit_id or 'không'}"
                     + (f"; bỏ {removed} lượt chấm bài của đơn vị mình" if removed else ""),
                     label="Phân công hội đồng chấm sáng kiến")
    return Seat(call.id, user.username, role, unit_id)


def _drop_conflicting(deployment, db, call: Call, username: str, unit_id: str | None) -> int:
    """A judge's unit set or changed: their assignments to entries of that unit go, with the
    scores given (a judge never scores an entry of their own unit, whenever the unit became known)."""
    import json

    from .judging import units_conflict

    if not unit_id:
        return 0
    drop = []
    for assignment_id, entry_id in db.execute("select id, entry_id from initiative_assignments where call_id = ? and "
                                              "username = ?", [call.id, username]).fetchall():
        row = db.execute("select unit_id, authors from initiative_entries where id = ?", [entry_id]).fetchone()
        units = {row[0]} | {a.get("unit_id") for a in json.loads(row[1] or "[]") if a.get("unit_id")}
        if units_conflict(plan_of_call(deployment, call), unit_id, units):
            drop.append(assignment_id)
    for assignment_id in drop:
        db.execute("delete from initiative_scores where assignment_id = ?", [assignment_id])
        db.execute("delete from initiative_assignments where id = ?", [assignment_id])
    return len(drop)


def dismiss(deployment, call: Call, username: str, *, actor: str | None) -> None:
    """Remove a panel seat; a judge's scores already given stay (and still count)."""
    with write_transaction(deployment.db) as db:
        cur = db.execute("delete from initiative_panel where call_id = ? and username = ?", [call.id, username])
        if not cur.rowcount:
            raise CallError("Người này không có trong hội đồng.")
        db.execute("delete from initiative_assignments where call_id = ? and username = ? and submitted_at is null "
                   "and id not in (select assignment_id from initiative_scores)", [call.id, username])
        audit.record(db, actor, "initiatives.panel_remove", f"{call.title} — {username}",
                     label="Rút khỏi hội đồng chấm sáng kiến")
