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
