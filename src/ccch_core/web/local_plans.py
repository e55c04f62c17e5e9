"""Commune plans in the web (Kế hoạch các xã): a commune officer drafts the commune's plan from
the parent plan and sends it; the plan office approves it or returns it with comments and sees who
sent, who was late, who is approved, and what the communes commit to.

Rights: the commune's own officer starts, edits and sends; the plan office (plan and system
administrators) reads every plan, approves, returns and downloads; a viewer sees the board. The
rules are those of :mod:`ccch_core.local_plans`; this module only draws and reads the forms.

Every page works on one parent plan: the deployment's default, or another year's chosen with
``?plan=<id>`` (``[deployment] plans``). The choice is shown at the top of each page with a
chooser, and every link and form of these pages keeps it (:mod:`ccch_core.web.plan_choice`).
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from .. import documents
from .. import local_plans as lp
from ..accounts import Role
from . import deployment
from .auth import login_required, require_unit_access, roles_required
from .plan_choice import chosen_plan, keep_plan_choice, plan_choice

bp = keep_plan_choice(Blueprint("local_plans", __name__))

ADMINS = (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN)
BLANK_ROWS = 3
"""Blank rows offered for the commune's own tasks and targets (no JavaScript needed)."""
MAX_ROWS = 60
"""Own rows read from a form: more is refused by the content bounds anyway."""


@bp.before_request
def _choose_plan():
    """The parent plan these pages work on: ``?plan=`` among the deployment's plans (an unknown
    id is a 404 in words), else the default plan."""
    g.local_plans_parent = chosen_plan()


def _plan():
    return g.local_plans_parent


def _plans_context() -> dict[str, Any]:
    """What the plan chooser (``_plan_choice.html``) draws: the chosen plan and the choices."""
    return plan_choice(_plan())


def _is_commune_officer(unit_id: str) -> bool:
    return g.user.role is Role.UNIT_OFFICER and g.user.unit_id == unit_id


def _commune_or_404(unit_id: str):
    require_unit_access(unit_id)
    plan = _plan()
    if unit_id not in {u.id for u in lp.expected_units(plan)}:
        abort(404, description=f"{plan.unit(unit_id).name} không xây dựng kế hoạch riêng theo kế hoạch này.")
    return plan.unit(unit_id)


@bp.route("/ke-hoach-xa")
@login_required
def index():
    """The plan office's board (who sent, late, approved) and the roll-up; a commune officer sees
    the commune's own plan."""
    dep = deployment()
    plan = _plan()
    if g.user.role is Role.UNIT_OFFICER:
        if g.user.unit_id in {u.id for u in lp.expected_units(plan)}:
            # The officer's menu item opens the commune's own plan here (menu links are plain).
            return _render(plan.unit(g.user.unit_id), lp.get(dep.db, plan, g.user.unit_id))
        abort(403)
    if g.user.role not in (*ADMINS, Role.VIEWER):
        abort(403)
    rows = lp.board(dep.db, plan)
    counts = {
        "expected": len(rows),
        "sent": sum(1 for r in rows if r.local and r.local.sent_at is not None),
        "late": sum(1 for r in rows if r.late),
        "approved": sum(1 for r in rows if r.local and r.local.status is lp.Status.APPROVED),
        "overdue": sum(1 for r in rows if r.overdue),
    }
    deadline = next((d for d in plan.deadlines if d.local_plans), None)
    return render_template("local_plans_index.html", rows=rows, counts=counts, deadline=deadline,
                           rollup=lp.rollup(dep.db, plan), can_open=g.user.role in ADMINS, **_plans_context())


def _form_content(local: lp.LocalPlan, form) -> dict[str, Any]:
    """The content a submitted form describes: the parent's tasks with their timing, the own
    tasks typed (blank rows skipped), every commitment and own target."""
    tasks = []
    for task in local.tasks:
        if task["role"] != "own":
            tasks.append({**task, "timing": form.get(f"ptask-{task['parent']}-timing", task["timing"])})
    for n in range(MAX_ROWS):
        duty = form.get(f"own-{n}-duty", "")
        products = [p for p in form.get(f"own-{n}-products", "").splitlines() if p.strip()]
        timing = form.get(f"own-{n}-timing", "")
        if duty.strip() or products or timing.strip():
            tasks.append({"duty": duty, "products": products, "timing": timing})
    targets = []
    for target in local.targets:
        if target["parent"] is not None:
            targets.append({"parent": target["parent"], "target": form.get(f"target-{target['parent']}", target["target"])})
    for n in range(MAX_ROWS):
        row = {key: form.get(f"ot-{n}-{key}", "") for key in ("code", "text", "target", "unit_label")}
        if any(v.strip() for v in row.values()):
            targets.append({**row, "kind": "count", "target_per": "year"})
    return {"tasks": tasks, "targets": targets}


def _render(unit, local, *, error: lp.LocalPlanError | None = None, form=None, status: int = 200):
    dep = deployment()
    plan = _plan()
    deadline = lp.deadline_for(plan, unit.id)
    editable = local is not None and local.status.editable and _is_commune_officer(unit.id)
    own_tasks = [t for t in local.tasks if t["role"] == "own"] if local else []
    own_targets = [t for t in local.targets if t["parent"] is None] if local else []
    return render_template(
        "local_plan.html", unit=unit, local=local, deadline=deadline, editable=editable,
        is_officer=_is_commune_officer(unit.id), is_admin=g.user.role in ADMINS,
        late=lp.is_late(plan, local) if local else None, error=error, form=form,
        own_tasks=own_tasks, own_task_rows=range(len(own_tasks) + BLANK_ROWS),
        own_targets=own_targets, own_target_rows=range(len(own_targets) + BLANK_ROWS),
        indicators={i.code: i for i in plan.indicators}, parent_tasks={t.id: t for t in plan.tasks},
        docx_writer=("plan", "docx") in documents.document_writers(dep), **_plans_context(),
    ), status


@bp.route("/ke-hoach-xa/<unit_id>", methods=["GET", "POST"])
@login_required
def page(unit_id: str):
    """A commune's plan: read it, and (its officer, while a draft or returned) edit it."""
    if g.user.role not in (*ADMINS, Role.UNIT_OFFICER):
        abort(403)
    unit = _commune_or_404(unit_id)
    dep = deployment()
    local = lp.get(dep.db, _plan(), unit_id)
    if request.method == "GET":
        return _render(unit, local)
    if not _is_commune_officer(unit_id):
        abort(403, description="Chỉ cán bộ của đơn vị soạn và sửa kế hoạch của đơn vị.")
    if local is None:
        abort(409, description="Kế hoạch chưa được bắt đầu soạn.")
    try:
        lp.save(dep.db, _plan(), unit_id, _form_content(local, request.form), by=g.user.username)
    except lp.LocalPlanError as exc:
        # Everything typed comes back, with the problem named.
        return _render(unit, local, error=exc, form=request.form, status=422 if exc.field != "status" else 409)
    flash("Đã lưu kế hoạch.")
    return redirect(url_for("local_plans.page", unit_id=unit_id), code=303)


def _action(unit_id: str, action, success: str, *args):
    unit = _commune_or_404(unit_id)
    dep = deployment()
    try:
        action(dep.db, _plan(), unit_id, *args, by=g.user.username)
    except lp.LocalPlanError as exc:
        local = lp.get(dep.db, _plan(), unit_id)
        return _render(unit, local, error=exc, status=409 if exc.field in ("status", "tasks") else 422)
    flash(success)
    return redirect(url_for("local_plans.page", unit_id=unit_id), code=303)


@bp.route("/ke-hoach-xa/<unit_id>/bat-dau", methods=["POST"])
@roles_required(Role.UNIT_OFFICER)
def start(unit_id: str):
    """Start the commune's plan from the parent plan (the commune's officer)."""
    if not _is_commune_officer(unit_id):
        abort(403)
    return _action(unit_id, lp.start, "Đã tạo bản kế hoạch từ kế hoạch cấp trên. Hãy bổ sung và gửi.")


@bp.route("/ke-hoach-xa/<unit_id>/gui", methods=["POST"])
@roles_required(Role.UNIT_OFFICER)
def send(unit_id: str):
    """Send the plan to the plan office (the commune's officer)."""
    if not _is_commune_officer(unit_id):
        abort(403)
    return _action(unit_id, lp.send, "Đã gửi kế hoạch về Phòng Văn hóa - Thông tin.")


@bp.route("/ke-hoach-xa/<unit_id>/phe-duyet", methods=["POST"])
@roles_required(*ADMINS)
def approve(unit_id: str):
    """Approve a sent plan (the plan office)."""
    return _action(unit_id, lp.approve, "Đã phê duyệt kế hoạch.")


@bp.route("/ke-hoach-xa/<unit_id>/tra-lai", methods=["POST"])
@roles_required(*ADMINS)
def return_plan(unit_id: str):
    """Return a sent or approved plan to the commune with comments (the plan office)."""
    comment = request.form.get("comment", "")
    if len(comment) > 10 * lp.LIMITS["comment"]:
        abort(413)
    return _action(unit_id, lp.return_plan, "Đã trả lại kế hoạch cho đơn vị.", comment)


def _approved_or_404(unit_id: str) -> lp.LocalPlan:
    if g.user.role not in ADMINS and not _is_commune_officer(unit_id):
        abort(403)
    _commune_or_404(unit_id)
    dep = deployment()
    local = lp.get(dep.db, _plan(), unit_id)
    if local is None or local.status is not lp.Status.APPROVED:
        abort(404, description="Chỉ tải được kế hoạch đã phê duyệt.")
    return local


@bp.route("/ke-hoach-xa/<unit_id>/ke-hoach.toml")
@login_required
def download(unit_id: str):
    """The approved plan as a plan file (TOML), for the plan office and the commune."""
    local = _approved_or_404(unit_id)
    return Response(lp.to_toml(_plan(), local), mimetype="application/toml",
                    headers={"Content-Disposition": f'attachment; filename="ke-hoach-{unit_id}-{_plan().year}.toml"'})


@bp.route("/ke-hoach-xa/<unit_id>/ke-hoach.docx")
@login_required
def download_docx(unit_id: str):
    """The approved plan as a Decree 30 "Kế hoạch" (Word), written by the plugin that registered a
    writer of plans (the export plugin); number, date and signer's name are left blank to be
    written when it is signed."""
    local = _approved_or_404(unit_id)
    dep = deployment()
    stream = io.BytesIO()
    try:
        media = documents.write_document(dep, lp.to_document(_plan(), local), stream)
    except documents.DocumentWriterMissing as exc:
        abort(404, description=str(exc))
    return Response(stream.getvalue(), mimetype=media, headers={
        "Content-Disposition": f'attachment; filename="ke-hoach-{unit_id}-{_plan().year}.docx"'})
