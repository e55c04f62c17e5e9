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


@migrations()
def m002_accounts_and_review(db):
    """Users of the web shell, login throttling, and reopening of submitted reports."""
    db["users"].create(
        {
            "id": int,
            "username": str,
            "full_name": str,
            "password_hash": str,
            "role": str,
            "unit_id": str,
            "active": int,
            "session_version": int,
            "created_at": str,
            "last_login_at": str,
        },
        pk="id",
        not_null=("username", "password_hash", "role", "active", "session_version", "created_at"),
        defaults={"active": 1, "session_version": 1},
    )
    db["users"].create_index(["username"], unique=True)
    # Failed logins, for throttling by account and by address; old rows are pruned on write.
    db["login_failures"].create(
        {"id": int, "username": str, "address": str, "at": str},
        pk="id",
        not_null=("username", "address", "at"),
    )
    db["login_failures"].create_index(["username", "at"])
    db["login_failures"].create_index(["address", "at"])
    # A submitted report is locked for the unit; the plan admin can reopen it.
    db["activity_reports"].add_column("status", str, not_null_default="submitted")
    db["activity_reports"].add_column("reopened_at", str)
    db["activity_reports"].add_column("reopened_by", str)


@migrations()
def m003_rate_limits(db):
    """Fixed-window rate-limit counters shared by all worker processes (ccch_core.ratelimit)."""
    db["rate_limits"].create(
        {"bucket": str, "key": str, "window": int, "count": int},
        pk=("bucket", "key", "window"),
        not_null=("bucket", "key", "window", "count"),
    )
    db["rate_limits"].create_index(["window"])


@migrations()
def m004_audit_log(db):
    """The audit log (nhật ký thao tác): who changed what, when (ccch_core.audit)."""
    db.execute(
        """
        create table audit_log (
            id integer primary key,
            at text not null,        -- UTC, ISO 8601
            username text,           -- the account, cli:<system user>, or null (automatic, or a citizen)
            action text not null,    -- <area>.<verb>: user.create, report.reopen, contest.erase…
            label text not null,     -- what was done, in Vietnamese, as shown on the page
            target text,             -- what was changed (never a clear phone or ID number)
            detail text
        )
        """
    )
    db.execute("create index audit_log_username on audit_log (username, id)")
    db.execute("create index audit_log_action on audit_log (action, id)")
