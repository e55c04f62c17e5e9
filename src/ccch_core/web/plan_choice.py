"""Which plan a page shows (#19): the deployment's default plan, or another one chosen with
``?plan=<id>`` among the deployment's plans (other years, ``[deployment] plans``).

One helper for the core's pages and the plugins' alike, so that every page says which plan and
year it shows, lets the reader switch, and refuses an unknown plan in words:

- :func:`chosen_plan` — the plan of the request (an unknown id is a 404 in Vietnamese, never a 500);
- :func:`plan_choice` — what the template partial ``_plan_choice.html`` draws (the plan shown and
  the choices), to pass to ``render_template``;
- :func:`keep_plan_choice` — make a blueprint's own links and forms keep the choice, so that a
  reader who chose 2025 stays in 2025 while moving between that blueprint's pages.

A page with a period chooser includes ``_period_form.html`` instead, which offers the plan beside
the period (the dashboard, ``/tong-hop``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, request

from ..model import Plan
from . import deployment

__all__ = ["chosen_plan", "keep_plan_choice", "plan_choice"]

PLAN_ARG = "plan"
"""The query argument naming the chosen plan."""


def chosen_plan(dep=None) -> Plan:
    """The plan a request asks for with ``?plan=<id>``, else the deployment's default plan.

    An id that is not one of the deployment's plans is a 404 saying so in Vietnamese (never a
    500); an id longer than any plan id is refused the same way without being looked up. A
    non-default choice is remembered for the request (:func:`keep_plan_choice`)."""
    dep = dep if dep is not None else deployment()
    plan_id = request.args.get(PLAN_ARG)
    if not plan_id:
        return dep.plan
    plans = dep.plans
    if len(plan_id) > 200 or plan_id not in plans:
        shown = plan_id[:60] + ("…" if len(plan_id) > 60 else "")
        abort(404, description=f"Không có kế hoạch “{shown}” trong hệ thống. Chọn một kế hoạch trong danh sách "
                               "“Kế hoạch đang xem” ở đầu trang.")
    plan = plans[plan_id]
    if plan.id != dep.plan.id:
        g.chosen_plan_id = plan.id
    return plan


def plan_choice(plan: Plan | None = None, dep=None) -> dict[str, Any]:
    """The context of ``_plan_choice.html`` (and of ``_period_form.html``'s plan list): ``plan``,
    the plan shown (default: :func:`chosen_plan`), and ``plans``, every plan of the deployment
    in the order the configuration lists them. Pass it to ``render_template(..., **plan_choice())``."""
    dep = dep if dep is not None else deployment()
    return {"plan": plan if plan is not None else chosen_plan(dep), "plans": list(dep.plans.values())}


def keep_plan_choice(bp: Blueprint) -> Blueprint:
    """Make every ``url_for`` to ``bp``'s own endpoints keep the plan the request chose (the
    default plan needs no argument; a link that names a plan keeps its own). Call it once where
    the blueprint is made; returns ``bp``."""
    prefix = f"{bp.name}."

    @bp.url_defaults
    def _keep_plan(endpoint: str, values: dict[str, Any]) -> None:
        choice = g.get("chosen_plan_id")
        if choice and PLAN_ARG not in values and endpoint.startswith(prefix):
            values[PLAN_ARG] = choice

    return bp
