"""The core's tables: measurements and unit activity reports (migration set "core")."""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

from ..hookspecs import hookimpl

migrations = Migrations("core")


@migrations()
def m001_progress(db):
    """Measurements of indicators and monthly activity reports of units."""
    # Current value per (plan, indicator, unit, period); every change is also appended to
    # measurement_log so that nobody's figure is lost when it is corrected.
    db["measurements"].create(
        {
            "plan_id": str,
            "indicator": str,
            "unit_id": str,
            "period": str,
            "value": float,
            "numerator": float,
            "denominator": float,
            "note": str,
            "recorded_by": str,
            "recorded_at": str,
        },
        pk=("plan_id", "indicator", "unit_id", "period"),
        not_null=("plan_id", "indicator", "unit_id", "period", "recorded_at"),
    )
    db["measurements"].create_index(["plan_id", "period"])
    db["measurement_log"].create(
        {
            "id": int,
            "plan_id": str,
            "indicator": str,
            "unit_id": str,
            "period": str,
            "value": float,
            "numerator": float,
            "denominator": float,
            "note": str,
            "recorded_by": str,
            "recorded_at": str,
            "action": str,
        },
        pk="id",
        not_null=("plan_id", "indicator", "unit_id", "period", "recorded_at", "action"),
    )
    db["activity_reports"].create(
        {
            "id": int,
            "unit_id": str,
            "period": str,
            "note": str,
            "submitted_by": str,
            "submitted_at": str,
            "updated_at": str,
            "revision": int,
        },
        pk="id",
        not_null=("unit_id", "period", "submitted_at", "updated_at", "revision"),
    )
    db["activity_reports"].create_index(["unit_id", "period"], unique=True)
    db["activity_reports"].create_index(["period"])
    db["activity_items"].create(
        {
            "id": int,
            "report_id": int,
            "category": str,
            "count": int,
            "title": str,
            "link": str,
            "task_id": str,
        },
        pk="id",
        not_null=("report_id", "category", "count"),
        foreign_keys=[("report_id", "activity_reports", "id")],
    )
    db["activity_items"].create_index(["report_id"])


@hookimpl
def register_migrations(register):
    register(migrations)
