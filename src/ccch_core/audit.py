"""The audit log (nhật ký thao tác): who changed what, and when.

One row per action an officer (or the command line, or a scheduled job) takes that changes data:
accounts created or changed, reports submitted or reopened, figures entered, a contest set up or a
participant disqualified, a survey edited, personal data erased. The core and every plugin write
rows with :func:`record`, **inside the write transaction of the action itself**, so that an action
and its audit row are stored together or not at all. Admins read the log on the page
``/nhat-ky-thao-tac`` ("Nhật ký thao tác") and with ``ccch audit``.

Rows are never changed or deleted by the application. They carry no clear personal data of
citizens: write masked forms (:func:`ccch_core.privacy.mask_phone`) or record ids in ``target``
and ``detail``, never a phone or ID number.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re

import attrs
from sqlite_utils import Database

from .storage import utc_now_iso, write_transaction

__all__ = [
    "AuditEntry",
    "cli_actor",
    "count",
    "entries",
    "record",
]

TABLE = "audit_log"

ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
"""Action codes are ``<area>.<verb>`` in lower case: ``user.create``, ``contest.disqualify``.
A plugin's actions start with the plugin's name."""

MAX_TEXT = 2000
"""``target`` and ``detail`` are cut to this many characters."""

ACTION_LABELS: dict[str, str] = {
    "user.create": "Tạo tài khoản",
    "user.role": "Đổi vai trò tài khoản",
    "user.disable": "Khóa tài khoản",
    "user.enable": "Mở khóa tài khoản",
    "user.password": "Đặt lại mật khẩu tài khoản",
    "user.totp_enable": "Bật xác thực hai bước",
    "user.totp_reset": "Cấp lại mã bí mật xác thực hai bước",
    "user.totp_disable": "Tắt xác thực hai bước",
    "measurement.record": "Nhập số liệu chỉ tiêu",
    "measurement.import": "Nhập số liệu chỉ tiêu từ tệp",
    "report.submit": "Nộp báo cáo đơn vị",
    "report.import": "Nhập báo cáo đơn vị từ tệp",
    "report.reopen": "Mở lại báo cáo đơn vị",
    "report.deliver": "Ghi nhận báo cáo đã gửi nơi nhận khác",
    "privacy.erase": "Xóa dữ liệu cá nhân theo yêu cầu",
    "privacy.purge": "Xóa dữ liệu cá nhân hết thời hạn lưu trữ",
}
"""Vietnamese labels of the core's own actions. Plugins pass ``label=`` to :func:`record`."""


@attrs.frozen
class AuditEntry:
    """One row of the audit log."""

    id: int
    at: str
    """UTC, ISO 8601 (shown in Vietnam time)."""
    username: str | None
    """The account (web), ``cli:<system user>`` (command line), or None (automatic, or a citizen
    acting on their own data)."""
    action: str
    label: str
    target: str | None
    detail: str | None


def cli_actor() -> str:
    """Who runs a command: ``cli:<system user>`` (the user behind ``sudo`` when there is one)."""
    name = os.environ.get("SUDO_USER")
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no user name for this uid (some containers)
            name = ""
    return f"cli:{name}" if name else "cli"


def _cut(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def record(db: Database, username: str | None, action: str, target: str | None = None, detail: str | None = None,
           *, label: str | None = None, now: dt.datetime | None = None) -> None:
    """Add one row to the audit log.

    Call it inside the write transaction of the action (``with write_transaction(db): …``) so that
    both are stored together; outside a transaction it opens its own short one. ``action`` is a
    code ``<area>.<verb>`` (a plugin's start with its name: ``contest.erase``); the id of the web
    request being served, if any, is stored with it (:mod:`ccch_core.logs`); ``label`` is the
    Vietnamese text shown on the page (default: the core's label for its own actions, else the
    code). ``target`` says what was changed ("UBND xã An Dũng — Tháng 3/2024"), ``detail`` how.
    Never put a clear phone or ID number in them.
    """
    if not ACTION_PATTERN.match(action or ""):
        raise ValueError(f"audit action {action!r}: write <area>.<verb> in lower case, e.g. contest.erase")
    from .logs import current_request_id

    row = [utc_now_iso(now), username, action, _cut(label or ACTION_LABELS.get(action, action)), _cut(target),
           _cut(detail), current_request_id()]
    sql = (f"insert into {TABLE} (at, username, action, label, target, detail, request_id) "
           "values (?, ?, ?, ?, ?, ?, ?)")
    if db.conn.in_transaction:
        db.execute(sql, row)
        return
    with write_transaction(db):
        db.execute(sql, row)


def _where(username: str | None, action: str | None) -> tuple[str, list[str]]:
    clauses, args = [], []
    if username is not None:
        clauses.append("username = ?" if username else "username is null")
        if username:
            args.append(username)
    if action:
        clauses.append("action = ?")
        args.append(action)
    return (" where " + " and ".join(clauses)) if clauses else "", args


def entries(db: Database, *, username: str | None = None, action: str | None = None, limit: int = 50,
            offset: int = 0) -> list[AuditEntry]:
    """Rows of the log, newest first, optionally of one account (``""``: rows without an account)
    and one action code."""
    where, args = _where(username, action)
    cursor = db.execute(f"select id, at, username, action, label, target, detail from {TABLE}{where} "
                        "order by id desc limit ? offset ?", [*args, int(limit), int(offset)])
    return [AuditEntry(*row) for row in cursor]


def count(db: Database, *, username: str | None = None, action: str | None = None) -> int:
    """How many rows :func:`entries` would page through."""
    where, args = _where(username, action)
    return db.execute(f"select count(*) from {TABLE}{where}", args).fetchone()[0]


def actions(db: Database) -> list[tuple[str, str]]:
    """(code, label) of every action in the log, by code (for the page's filter)."""
    return [(row[0], row[1]) for row in db.execute(
        f"select action, max(label) from {TABLE} group by action order by action")]


def usernames(db: Database) -> list[str]:
    """Every account name in the log, sorted (rows without an account are left out)."""
    return [row[0] for row in db.execute(
        f"select distinct username from {TABLE} where username is not null order by username")]
