"""The plugin's table: the reminder log (migration set "reminders", the plugin's one name)."""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("reminders")


@migrations()
def m001_reminders(db):
    """One row per reminder sent to a unit about its report for a month."""
    db["reminders"].create(
        {
            "id": int,
            "unit_id": str,  # a unit id of the plan
            "period": str,  # the month reminded about: "2024-03"
            "channel": str,  # a key of ccch_reminders.reminders.CHANNELS: "dien-thoai", "zalo"…
            "note": str,
            "sent_by": str,  # the account (web) or --by (command line)
            "sent_at": str,  # UTC, ISO 8601: "2024-04-08T02:00:00+00:00"
        },
        pk="id",
        not_null=("unit_id", "period", "channel", "sent_at"),
    )
    db["reminders"].create_index(["period", "unit_id"])  # the page and `ccch reminders list`
    db["reminders"].create_index(["sent_at"])  # the report section: reminders sent in a period


@migrations()
def m002_messages(db):
    """Reminders sent through the core's outbox (``ccch reminders send``): the message each row
    stands for, and its idempotency key, unique, so that a message is logged once."""
    db["reminders"].add_column("message_id", int)  # the outbox message: `ccch messages show 12`
    db["reminders"].add_column("message_key", str)  # "reminders:overdue:2024-03:xa-yen-ho:3:2024-04-08"
    db["reminders"].create_index(["message_key"], unique=True)  # NULL (a reminder by hand) may repeat
