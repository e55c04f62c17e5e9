"""Commune plans under the deployment's plan (Kế hoạch các xã): the web pages and their
navigation item, registered through the same hooks as any plugin's."""

from __future__ import annotations

from ..accounts import Role
from ..hookspecs import hookimpl


@hookimpl
def register_blueprints(register, deployment):
    from ..web import local_plans

    register(local_plans.bp)


@hookimpl
def navigation_items(deployment, user):
    """"Kế hoạch các xã" for the plan office and viewers; "Kế hoạch của xã" for the officer of a
    commune that writes one. Nothing when the plan sets no deadline for commune plans."""
    if user is None or not any(d.local_plans for d in deployment.plan.deadlines):
        return []
    if user.role in (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.VIEWER):
        return [{"label": "Kế hoạch các xã", "endpoint": "local_plans.index", "order": 25}]
    if user.role is Role.UNIT_OFFICER:
        from ..local_plans import expected_units

        if user.unit_id in {u.id for u in expected_units(deployment.plan)}:
            return [{"label": "Kế hoạch của xã", "endpoint": "local_plans.index", "order": 25}]
    return []


DEMO = {
    # An Dũng drafts early, raises its "nêu gương" items to 2 a month, adds a dialogue with the
    # people, sends five days before the deadline (15/01 for "trước 20/01/2024") and is approved.
    "approved": ("xa-an-dung", -5),
    # Đức Đồng sends the parent's tasks unchanged, two days after the deadline, and is returned.
    "returned": ("xa-duc-dong", 2),
}
"""The demo's two communes and the day each sends, counted from the plan's deadline for them, at
09:00 Vietnam time. A plan without these communes (the two-tier province's) uses the first two
communes that write a plan, in plan order."""


@hookimpl
def register_commands(cli):
    """``ccch local-plans …``: the communes' plans under the deployment's plan."""
    import datetime as dt
    from pathlib import Path

    import click

    from .. import local_plans as lp
    from ..audit import cli_actor
    from ..cli import CliState, echo_json, table

    def plan_option(command):
        return click.option("--plan", "plan_id", metavar="ID",
                            help="The parent plan by id (ccch plan list); default: the deployment's default plan.")(command)

    def parent(dep, plan_id):
        try:
            return dep.plan_by_id(plan_id)
        except KeyError as exc:
            raise click.BadParameter(exc.args[0], param_hint="--plan") from None

    @cli.group("local-plans")
    def group():
        """Commune plans under the plan (Kế hoạch các xã): list, export, document, demo."""

    @group.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @plan_option
    @click.pass_obj
    def list_(state: CliState, as_json: bool, plan_id: str | None):
        """Which communes sent their plan, late or on time, and which are approved."""
        dep = state.deployment()
        plan = parent(dep, plan_id)
        rows = lp.board(dep.db, plan)
        if as_json:
            echo_json([{"unit": r.unit.id, "name": r.unit.name, "status": r.local.status.value if r.local else None,
                        "state": r.state_vi, "sent_at": r.local.sent_at if r.local else None, "late": r.late,
                        "overdue": r.overdue} for r in rows])
            return
        click.echo(f"{plan.title}: kế hoạch của {len(rows)} đơn vị")
        click.echo(table([(r.unit.id, r.unit.name, r.state_vi,
                           {True: "trễ hạn", False: "đúng hạn"}.get(r.late, "–")) for r in rows],
                         ["Mã", "Đơn vị", "Tình trạng", "Hạn"]))

    @group.command("export")
    @click.argument("unit_id")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write the plan file here instead of printing it.")
    @plan_option
    @click.pass_obj
    def export(state: CliState, unit_id: str, output: Path | None, plan_id: str | None):
        """The approved plan of UNIT_ID as a plan file (TOML, with parent_plan)."""
        dep = state.deployment()
        plan = parent(dep, plan_id)
        local = lp.get(dep.db, plan, unit_id) if plan.has_unit(unit_id) else None
        if local is None or local.status is not lp.Status.APPROVED:
            raise click.ClickException(f"{unit_id}: no approved plan under {plan.id} "
                                       "(ccch local-plans list shows where each stands)")
        text = lp.to_toml(plan, local)
        if output:
            output.write_text(text, encoding="utf-8")
            click.echo(f"Wrote {output}.")
        else:
            click.echo(text, nl=False)

    @group.command("document")
    @click.argument("unit_id")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="The Word file to write (.docx).")
    @click.option("--number", help="The plan's number (Số …/KH-UBND); blank when left out.")
    @click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="The day it is signed (YYYY-MM-DD); "
                  "blank when left out.")
    @click.option("--signer", default="", help="The signer's full name; blank when left out.")
    @click.option("--title", "signer_title", default="CHỦ TỊCH", show_default=True, help="The signer's title.")
    @click.option("--authority", default="TM. ỦY BAN NHÂN DÂN", show_default=True,
                  help="The authority line above the title (TM., KT. …).")
    @plan_option
    @click.pass_obj
    def document(state: CliState, unit_id: str, output: Path, number, day, signer, signer_title, authority, plan_id):
        """The approved plan of UNIT_ID as a Decree 30 "Kế hoạch" (DOCX; needs the export plugin)."""
        import io

        from ..documents import DocumentWriterMissing, write_document

        dep = state.deployment()
        plan = parent(dep, plan_id)
        local = lp.get(dep.db, plan, unit_id) if plan.has_unit(unit_id) else None
        if local is None or local.status is not lp.Status.APPROVED:
            raise click.ClickException(f"{unit_id}: no approved plan under {plan.id} "
                                       "(ccch local-plans list shows where each stands)")
        if number is not None and not (0 < len(number.strip()) <= 20):
            raise click.BadParameter(f"{number!r}: 1 to 20 characters", param_hint="--number")
        doc = lp.to_document(plan, local, number=number.strip() if number else None,
                             day=day.date() if day else None, signer_name=signer.strip(),
                             signer_title=signer_title.strip() or "CHỦ TỊCH", signer_authority=authority.strip())
        buffer = io.BytesIO()
        try:
            write_document(dep, doc, buffer)
        except DocumentWriterMissing as exc:
            raise click.ClickException(str(exc)) from None
        output.write_bytes(buffer.getvalue())  # a plan holds no personal data
        click.echo(f"Wrote {output}.")

    @group.command("demo")
    @plan_option
    @click.pass_obj
    def demo(state: CliState, plan_id: str | None):
        """Two commune plans: one approved (sent before the deadline, with its own task and
        target), one returned with comments (sent late). In the Đức Thọ example An Dũng's and
        Đức Đồng's; in another plan (the two-tier province's) its first two communes that write a
        plan. For `make run`; with --plan, under another year's plan, on that year's dates.
        Communes that already have a plan are left alone."""
        dep = state.deployment()
        plan, db, by = parent(dep, plan_id), dep.db, cli_actor()
        expected = [u.id for u in lp.expected_units(plan)]
        if len(expected) < 2:
            raise click.ClickException(f"{plan.id}: the demo needs two communes that write their own plan under it "
                                       "(a deadline with local_plans = true)")
        named = all(unit_id in expected for unit_id, _ in DEMO.values())
        done = []
        for n, (outcome, (unit_id, days)) in enumerate(DEMO.items()):
            unit_id = unit_id if named else expected[n]
            if lp.get(db, plan, unit_id) is not None:
                continue
            due = lp.deadline_for(plan, unit_id).due + dt.timedelta(days=days)
            sent_at = dt.datetime.combine(due, dt.time(2), dt.UTC)  # 09:00 in Vietnam
            local = lp.start(db, plan, unit_id, by=by, now=sent_at - dt.timedelta(days=3))
            if outcome == "approved":
                content = {"tasks": local.tasks + [{
                    "duty": "Tổ chức hội nghị đối thoại giữa lãnh đạo xã với Nhân dân về giải quyết TTHC",
                    "products": ["Biên bản hội nghị", "Tin bài trên Trang thông tin điện tử xã"],
                    "timing": f"Quý II/{plan.year}"}],
                    "targets": [{**t, "target": 2 if t["code"] == "I8" else t["target"]} for t in local.targets] + [{
                        "code": "X1", "text": "Hội nghị đối thoại với Nhân dân về CCHC", "kind": "count",
                        "target": 2, "target_per": "year", "unit_label": "hội nghị"}]}
                lp.save(db, plan, unit_id, content, by=by, now=sent_at - dt.timedelta(days=1))
                lp.send(db, plan, unit_id, by=by, now=sent_at)
                lp.approve(db, plan, unit_id, by=by, now=sent_at + dt.timedelta(days=2))
            else:
                lp.send(db, plan, unit_id, by=by, now=sent_at)
                lp.return_plan(db, plan, unit_id,
                               "Bổ sung nhiệm vụ riêng của xã (hội nghị đối thoại, tuyên truyền tại nhà văn hóa thôn) "
                               "và thời gian thực hiện cụ thể từng quý.", by=by, now=sent_at + dt.timedelta(days=2))
            done.append(f"{plan.unit(unit_id).name}: {lp.get(db, plan, unit_id).status.label_vi}")
        click.echo("; ".join(done) + "." if done else "The demo plans are already there.")


@hookimpl
def dashboard_panels(deployment, user, period):
    """Which communes sent their plan, which were late, which are approved: for the plan office
    and viewers, on the dashboard (the details on Kế hoạch các xã)."""
    # None, not []: nothing to add (the hook's callers skip None; a test of the hook lists results).
    if user is None or user.role not in (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.VIEWER):
        return None
    # The dashboard shows one year's plan (?plan=) and a period inside it: the panel counts the
    # communes' plans under that year's plan, not always under the default one.
    plan = next((p for p in deployment.plans.values()
                 if p.starts_on <= period.start_date <= p.ends_on and p.issuing_unit == deployment.plan.issuing_unit),
                deployment.plan)
    if not any(d.local_plans for d in plan.deadlines):
        return None
    from flask import url_for

    from ..local_plans import Status, board

    rows = board(deployment.db, plan)
    context = {
        "expected": len(rows),
        "sent": sum(1 for r in rows if r.local and r.local.sent_at is not None),
        "late": sum(1 for r in rows if r.late),
        "approved": sum(1 for r in rows if r.local and r.local.status is Status.APPROVED),
        "overdue": sum(1 for r in rows if r.overdue),
        "late_names": [r.unit.name for r in rows if r.late],
        "approved_names": [r.unit.name for r in rows if r.local and r.local.status is Status.APPROVED],
        "link": url_for("local_plans.index", **({"plan": plan.id} if plan.id != deployment.plan.id else {})),
    }
    return [{"title": f"Kế hoạch các xã, thị trấn năm {plan.year}", "template": "_local_plans_panel.html",
             "context": context, "order": 20}]
