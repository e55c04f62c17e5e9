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


@migrations()
def m005_messages(db):
    """The outbox (ccch_core.messages), its daily counts, channel back-off, sender state, and the
    deployment's unit contacts (who receives a unit's messages: people change, the plan does not)."""
    db.execute(
        """
        create table messages (
            id integer primary key,
            channel text not null,          -- email, sms, zalo
            address text,                   -- clear address until erased (delivery + retention);
                                            -- erasure finds a person's messages by it (no hash:
                                            -- it would add nothing while the address is kept)
            address_masked text not null,   -- 0912***678, v***@ductho.gov.vn
            purpose text not null,          -- what daily caps count: otp, report_overdue…
            template text not null,
            params text,                    -- JSON, until erased
            idempotency_key text not null unique,
            source text,                    -- the plugin that queued it
            unit_id text,                   -- the unit it concerns (officers see their scope)
            state text not null,            -- queued, sending, sent, failed, cancelled
            attempts integer not null default 0,
            created_at text not null,
            next_attempt_at text not null,
            claimed_at text,
            claimed_by text,                -- host:pid of the deliverer of the last attempt
            sent_at text,
            failed_at text,
            last_error text,                -- the gateway's reason
            gateway_id text,
            segments integer,               -- SMS segments sent
            erased_at text
        )
        """
    )
    # Queueing is on hot paths (a contest registration): an insert touches only the table and the
    # idempotency key (bench/messages_bench.py: each further index, even a partial one, cost a
    # queued message 2-8 µs). The deliverer walks the table in id order from the queue's floor
    # (ccch_core.messages.delivery); the officers' lists and erasure, rare and off the hot path,
    # read the table; the channel's rate is counted in rate_limits. A new message is queued, so it
    # does not enter this partial index, which the recovery of messages left in 'sending' by a
    # dead deliverer reads every pass.
    db.execute("create index messages_sending on messages (id) where state = 'sending'")
    db.execute("create table message_counts (day text not null, purpose text not null, count integer not null, "
               "primary key (day, purpose)) without rowid")
    db.execute("create table message_channels (channel text primary key, failures integer not null default 0, "
               "paused_until text, last_error text)")
    db.execute("create table message_sender_state (channel text not null, key text not null, value text, "
               "updated_at text not null, primary key (channel, key))")
    db.execute(
        """
        create table unit_contacts (
            id integer primary key,
            unit_id text not null,          -- a unit id of the plan
            channel text not null,          -- email, sms, zalo
            address text not null,          -- normalised e-mail address or phone number
            address_hash text not null,
            name text,                      -- who: "Đ/c Nguyễn Văn A, công chức Văn hóa - Xã hội"
            created_at text not null,
            created_by text,
            unique (unit_id, channel, address)
        )
        """
    )
    db.execute("create index unit_contacts_hash on unit_contacts (address_hash)")


@migrations()
def m006_sign_in(db):
    """Sign-in throttling keyed by hashed account and address, and the second factor (TOTP).

    ``login_failures`` held the clear address (personal data) and the name as typed. Its rows
    are at most half an hour old and a migration has no deployment secret to hash them with, so
    they are dropped with the old table: the throttle starts afresh.
    """
    db.execute("drop table login_failures")
    db.execute(
        """
        create table login_failures (
            id integer primary key,
            account_key text not null,      -- keyed hash of the typed username (accounts.account_key)
            address_key text not null,      -- keyed hash of the client address (web.client_key)
            at text not null,               -- UTC, ISO 8601
            trusted integer not null default 0  -- from a browser the account signed in from before
        )
        """
    )
    db.execute("create index login_failures_account on login_failures (account_key, at)")
    db.execute("create index login_failures_address on login_failures (address_key, at)")
    db.execute("create index login_failures_at on login_failures (at)")
    db["users"].add_column("totp_secret", str)        # sealed (ccch_core.totp.seal), never shown again
    db["users"].add_column("totp_enabled_at", str)
    db["users"].add_column("totp_last_step", int)     # the last accepted code's time step: no replay


@migrations()
def m007_one_time_codes(db):
    """One-time codes (ccch_core.onetime): a keyed hash of the code and of the address it was sent
    to, its expiry and wrong attempts; never the code itself."""
    db.execute(
        """
        create table one_time_codes (
            id integer primary key,
            purpose text not null,        -- what the code proves: contest.register:<slug>…
            subject text not null,        -- keyed hash of the address (phone or e-mail)
            code_hash text not null,      -- keyed hash of the code
            created_at text not null,
            expires_at text not null,
            attempts integer not null default 0,
            spent_at text,                -- verified, superseded, expired or out of attempts
            verified_at text
        )
        """
    )
    db.execute("create index one_time_codes_subject on one_time_codes (purpose, subject, id) where spent_at is null")
    db.execute("create index one_time_codes_spent on one_time_codes (coalesce(spent_at, expires_at))")


@migrations()
def m008_placements(db):
    """Placements (ccch_core.placements): one printed poster or kiosk at one place of one unit,
    with the short code its QR carries, for any plugin's public page (``target`` names the page:
    ``survey:<survey id>``, ``feedback``…). The survey's own placements are copied here, with their
    ids and codes, by the survey's migration m006."""
    db.execute(
        """
        create table placements (
            id integer primary key,
            code text not null unique,    -- what the QR code carries: <base>/<path>/<code>
            target text not null,         -- the public page: survey:<id>, feedback, contest:<slug>
            unit_id text not null,
            place text not null,
            mode text not null default 'poster',   -- poster or kiosk
            created_at text not null,
            retired_at text
        )
        """
    )
    db.execute("create index placements_target on placements (target, unit_id)")


@migrations()
def m009_audit_request_id(db):
    """The id of the web request that wrote an audit row (ccch_core.logs): the same id is on the
    request's log lines and in its ``X-Request-ID`` response header."""
    db.execute("alter table audit_log add column request_id text")


@migrations()
def m010_report_deliveries(db):
    """Reports sent to a recipient outside ccch: a reporting rule may name several recipients
    ("báo cáo UBND huyện, tỉnh"); the activity report in ccch serves the first, and the unit
    records when it sent the report to each of the others (ccch_core.progress)."""
    db["report_deliveries"].create(
        {"id": int, "unit_id": str, "period": str, "recipient": str, "sent_on": str,
         "reference": str, "recorded_by": str, "recorded_at": str},
        pk="id",
        not_null=("unit_id", "period", "recipient", "sent_on", "recorded_at"),
    )
    db["report_deliveries"].create_index(["unit_id", "period", "recipient"], unique=True)
    db["report_deliveries"].create_index(["period"])


@migrations()
def m011_local_plans(db):
    """Commune plans drafted under the deployment's plan (ccch_core.local_plans): one row per
    parent plan and commune, its content as JSON, its status and who did each step when."""
    db["local_plans"].create(
        {"id": int, "parent_plan": str, "unit_id": str, "status": str, "content": str, "revision": int,
         "created_at": str, "created_by": str, "updated_at": str, "updated_by": str,
         "sent_at": str, "sent_by": str, "decided_at": str, "decided_by": str, "comment": str},
        pk="id",
        not_null=("parent_plan", "unit_id", "status", "content", "revision", "created_at"),
    )
    db["local_plans"].create_index(["parent_plan", "unit_id"], unique=True)


@migrations()
def m012_measurements_by_unit(db):
    """An index holding every column evaluation reads, in the order a year's figures are reduced
    (#26): one indicator's values unit by unit, period by period. A year of a national plan
    (518,232 rows) is then summed and reduced to each unit's latest value from the index alone,
    without a table lookup per row."""
    db["measurements"].create_index(
        ["plan_id", "indicator", "unit_id", "period", "value", "numerator", "denominator"],
        index_name="idx_measurements_by_unit",
    )


@migrations()
def m013_measurements_by_period(db):
    """The index of measurements by (plan_id, period) also holds ``recorded_at`` (#26): what a
    month's figures depend on — how many rows and when the last was recorded, which the
    dashboard asks of every month of its trends on every view — is then read from the index
    alone (9 → 3 ms a month at national size, 43,186 rows). It replaces m001's (plan_id, period)
    index, which it serves in full, so an import keeps three indexes to write, not four."""
    db.execute("drop index if exists idx_measurements_plan_id_period")
    db["measurements"].create_index(["plan_id", "period", "recorded_at"], index_name="idx_measurements_by_period")


@migrations()
def m014_period_revisions_and_figures(db):
    """What a restarted server needs to draw a year's trends without reading twelve months of
    measurements again (#26): ``measurement_revisions`` counts the writes to each period's
    measurements, bumped by triggers on every insert, update and delete (m015 replaced them: the
    functions that write measurements bump it once per call), so a period's revision moves with
    its data and with nothing else; ``period_figures`` holds each month's figure per indicator (one
    small row a month, :func:`ccch_core.progress.month_figures`) with the revisions it was
    computed from and a key of the plan and the evaluation code, and is used only while both
    still match."""
    db["measurement_revisions"].create(
        {"plan_id": str, "period": str, "revision": int},
        pk=("plan_id", "period"), not_null=("plan_id", "period", "revision"),
    )
    bump = ("insert into measurement_revisions (plan_id, period, revision) values ({row}.plan_id, {row}.period, 1) "
            "on conflict (plan_id, period) do update set revision = revision + 1;")
    db.execute(f"create trigger measurements_revise_insert after insert on measurements begin "
               f"{bump.format(row='new')} end")
    db.execute(f"create trigger measurements_revise_update after update on measurements begin "
               f"{bump.format(row='new')} end")
    db.execute(f"create trigger measurements_revise_moved after update of plan_id, period on measurements "
               f"when old.plan_id is not new.plan_id or old.period is not new.period begin "
               f"{bump.format(row='old')} end")
    db.execute(f"create trigger measurements_revise_delete after delete on measurements begin "
               f"{bump.format(row='old')} end")
    db["period_figures"].create(
        {"plan_id": str, "period": str, "plan_key": str, "revisions": str, "figures": str},
        pk=("plan_id", "period"), not_null=("plan_id", "period", "plan_key", "revisions", "figures"),
    )


@migrations()
def m015_revisions_without_triggers(db):
    """m014's triggers moved a period's revision once per row written, which doubled the time an
    import takes to store a month of a national plan (43,186 rows: +0.6 s of CPU,
    bench/measure_revisions_bench.py); :func:`ccch_core.progress.record_measurement` and
    :func:`~ccch_core.progress.record_measurements` — every form, import and command writes
    measurements through them — now move each period's revision once per call instead."""
    for name in ("measurements_revise_insert", "measurements_revise_update", "measurements_revise_moved",
                 "measurements_revise_delete"):
        db.execute(f"drop trigger if exists {name}")
