"""Accounts and roles of the web shell.

Roles (vai trò):

- ``system_admin`` — quản trị hệ thống: everything, including accounts;
- ``plan_admin`` — quản trị kế hoạch (Phòng Văn hóa - Thông tin): every unit's reports and figures,
  reopening submitted reports;
- ``unit_officer`` — cán bộ đơn vị: reports and figures of one unit and its sub-units only;
- ``contest_manager`` — quản lý cuộc thi (Phòng Nội vụ): the contest plugin's pages, the dashboard;
- ``viewer`` — xem: the dashboard, read only.

Passwords are hashed with Werkzeug's current default (scrypt); a hash made with older or weaker
parameters (pbkdf2, a smaller scrypt cost) is replaced at the next successful login. Every
account carries a ``session_version``: logging out everywhere, disabling the account or changing
its password increments it, which invalidates every session cookie issued before.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from typing import Any

import attrs
from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .model import Plan
from .storage import utc_now_iso, write_transaction
from .text import clean, fold

MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

# Throttling: failures counted over this window, per account and per address.
FAILURE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20

# Verifying against this hash when the account does not exist keeps the time of a failed login
# the same whether or not the name exists.
_DUMMY_HASH = generate_password_hash("ccch-dummy-password")


class Role(str, enum.Enum):
    """What an account may do."""

    SYSTEM_ADMIN = "system_admin"
    PLAN_ADMIN = "plan_admin"
    UNIT_OFFICER = "unit_officer"
    CONTEST_MANAGER = "contest_manager"
    VIEWER = "viewer"

    @property
    def label_vi(self) -> str:
        """Vietnamese label."""
        return {
            "system_admin": "Quản trị hệ thống",
            "plan_admin": "Quản trị kế hoạch (Phòng VH-TT)",
            "unit_officer": "Cán bộ đơn vị",
            "contest_manager": "Quản lý cuộc thi",
            "viewer": "Người xem",
        }[self.value]


ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.PLAN_ADMIN})


class AccountError(ValueError):
    """Bad account input; ``field`` names the field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@attrs.frozen
class User:
    """A web account."""

    id: int
    username: str
    full_name: str | None
    role: Role = attrs.field(converter=Role)
    unit_id: str | None
    active: bool
    session_version: int
    created_at: str
    last_login_at: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        """Build from a ``users`` row (the password hash is left out on purpose)."""
        return cls(
            id=row["id"],
            username=row["username"],
            full_name=row["full_name"],
            role=row["role"],
            unit_id=row["unit_id"],
            active=bool(row["active"]),
            session_version=row["session_version"],
            created_at=row["created_at"],
            last_login_at=row["last_login_at"],
        )

    @property
    def is_admin(self) -> bool:
        """System or plan admin: sees and edits every unit."""
        return self.role in ADMIN_ROLES

    @property
    def display_name(self) -> str:
        """Full name if known, else the username."""
        return self.full_name or self.username

    def can_see_unit(self, plan: Plan, unit_id: str) -> bool:
        """Whether the account may see ``unit_id``'s reports and figures.

        Admins see every unit; a unit officer sees their unit and the units below it; viewers and
        contest managers see the plan-wide dashboard but no unit's report.
        """
        if self.is_admin:
            return True
        if self.role is Role.UNIT_OFFICER and self.unit_id:
            return plan.has_unit(unit_id) and plan.is_within(unit_id, self.unit_id)
        return False

    can_edit_unit = can_see_unit
    """Editing follows the same scope as seeing; what differs is which roles reach the forms."""


def normalise_username(username: str) -> str:
    """Usernames are compared NFC-normalised and case-folded."""
    return fold(username)


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short or trivially repetitive."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(set(password)) < 4:
        raise AccountError("password", "too repetitive")


def generate_password() -> str:
    """A random password that is easy to read out (no 0/O, 1/l)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def create_user(
    db: Database,
    plan: Plan | None,
    username: str,
    password: str,
    role: Role | str,
    *,
    unit_id: str | None = None,
    full_name: str | None = None,
    actor: str | None = None,
) -> User:
    """Create an account. A unit officer needs a unit of the plan; other roles have none.

    ``actor`` (who creates it) is recorded in the audit log, as for every change of an account.
    """
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        raise AccountError("username", f"{username!r}: 2–64 of a-z, 0-9, '.', '_', '@', '-'")
    try:
        role = Role(role)
    except ValueError:
        raise AccountError("role", f"{role!r} is not one of {', '.join(r.value for r in Role)}") from None
    _check_unit(plan, role, unit_id)
    check_password_strength(password)
    with write_transaction(db):
        if db.execute("select 1 from users where username = ?", [name]).fetchone():
            raise AccountError("username", f"{name!r} already exists")
        user_id = db["users"].insert(
            {
                "username": name,
                "full_name": clean(full_name) if full_name else None,
                "password_hash": generate_password_hash(password),
                "role": role.value,
                "unit_id": unit_id if role is Role.UNIT_OFFICER else None,
                "active": 1,
                "session_version": 1,
                "created_at": utc_now_iso(),
            }
        ).last_pk
        audit.record(db, actor, "user.create", name, _role_text(role, unit_id))
    return get_user(db, user_id)


def _role_text(role: Role, unit_id: str | None) -> str:
    return f"vai trò {role.value}" + (f", đơn vị {unit_id}" if role is Role.UNIT_OFFICER and unit_id else "")


def _check_unit(plan: Plan | None, role: Role, unit_id: str | None) -> None:
    if role is Role.UNIT_OFFICER:
        if not unit_id:
            raise AccountError("unit", "a unit officer needs a unit (--unit)")
        if plan is not None and not plan.has_unit(unit_id):
            raise AccountError("unit", f"unknown unit {unit_id!r}")
    elif unit_id:
        raise AccountError("unit", f"only unit officers have a unit; {role.value} sees the whole plan")


def get_user(db: Database, user_id: int) -> User | None:
    """The account with ``user_id``, or None."""
    row = next(db.query("select * from users where id = ?", [user_id]), None)
    return User.from_row(row) if row else None


def find_user(db: Database, username: str) -> User | None:
    """The account named ``username`` (normalised), or None."""
    row = next(db.query("select * from users where username = ?", [normalise_username(username)]), None)
    return User.from_row(row) if row else None


def list_users(db: Database) -> list[User]:
    """Every account, by username."""
    return [User.from_row(r) for r in db.query("select * from users order by username")]


def _require(db: Database, username: str) -> User:
    user = find_user(db, username)
    if user is None:
        raise AccountError("username", f"no account {username!r}")
    return user


def set_role(db: Database, plan: Plan | None, username: str, role: Role | str, unit_id: str | None = None,
             *, actor: str | None = None) -> User:
    """Change an account's role (and unit); existing sessions are ended. Recorded in the audit log."""
    user = _require(db, username)
    try:
        role = Role(role)
    except ValueError:
        raise AccountError("role", f"{role!r} is not one of {', '.join(r.value for r in Role)}") from None
    _check_unit(plan, role, unit_id)
    with write_transaction(db):
        db.execute(
            "update users set role = ?, unit_id = ?, session_version = session_version + 1 where id = ?",
            [role.value, unit_id if role is Role.UNIT_OFFICER else None, user.id],
        )
        audit.record(db, actor, "user.role", user.username,
                     f"{_role_text(user.role, user.unit_id)} → {_role_text(role, unit_id)}")
    return get_user(db, user.id)


def set_active(db: Database, username: str, active: bool, *, actor: str | None = None) -> User:
    """Disable (or enable again) an account; disabling ends its sessions. Recorded in the audit log."""
    user = _require(db, username)
    with write_transaction(db):
        db.execute(
            "update users set active = ?, session_version = session_version + 1 where id = ?",
            [1 if active else 0, user.id],
        )
        audit.record(db, actor, "user.enable" if active else "user.disable", user.username)
    return get_user(db, user.id)


def set_password(db: Database, username: str, password: str, *, actor: str | None = None) -> User:
    """Change an account's password; ends its sessions. Recorded in the audit log (not the password)."""
    user = _require(db, username)
    check_password_strength(password)
    with write_transaction(db):
        db.execute(
            "update users set password_hash = ?, session_version = session_version + 1 where id = ?",
            [generate_password_hash(password), user.id],
        )
        audit.record(db, actor, "user.password", user.username)
    return get_user(db, user.id)


def end_sessions(db: Database, user_id: int) -> None:
    """Invalidate every session cookie of the account (logout)."""
    with write_transaction(db):
        db.execute("update users set session_version = session_version + 1 where id = ?", [user_id])


class Throttled(Exception):
    """Too many failed logins; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"too many failed logins; try again in {retry_after} s")


def check_throttle(db: Database, username: str, address: str, now: dt.datetime | None = None) -> None:
    """Raise :class:`Throttled` when the account or the address has too many recent failures."""
    now = now or dt.datetime.now(dt.UTC)
    since = utc_now_iso(now - FAILURE_WINDOW)
    name = normalise_username(username)
    by_account = db.execute(
        "select count(*), min(at) from login_failures where username = ? and at > ?", [name, since]
    ).fetchone()
    by_address = db.execute(
        "select count(*), min(at) from login_failures where address = ? and at > ?", [address, since]
    ).fetchone()
    for (count, oldest), limit in ((by_account, MAX_FAILURES_PER_ACCOUNT), (by_address, MAX_FAILURES_PER_ADDRESS)):
        if count >= limit:
            oldest_at = dt.datetime.fromisoformat(oldest)
            wait = int((oldest_at + FAILURE_WINDOW - now).total_seconds()) + 1
            raise Throttled(max(wait, 1))


def authenticate(db: Database, username: str, password: str, address: str, now: dt.datetime | None = None) -> User | None:
    """Check a login. Returns the user, or None for a wrong name or password (recorded for
    throttling). Raises :class:`Throttled` when there were too many failures."""
    now = now or dt.datetime.now(dt.UTC)
    check_throttle(db, username, address, now)
    name = normalise_username(username)
    row = next(db.query("select * from users where username = ?", [name]), None)
    ok = check_password_hash(row["password_hash"] if row else _DUMMY_HASH, password)
    if row is None or not ok or not row["active"]:
        with write_transaction(db):
            db["login_failures"].insert({"username": name, "address": address, "at": utc_now_iso(now)})
            db.execute("delete from login_failures where at < ?", [utc_now_iso(now - 2 * FAILURE_WINDOW)])
        return None
    # A hash made with older or weaker parameters (pbkdf2, a smaller scrypt cost) is replaced now
    # that the password is known: stored hashes move to the current parameters as people log in.
    # Not a password change: sessions stay valid.
    rehashed = generate_password_hash(password) if needs_rehash(row["password_hash"]) else None
    with write_transaction(db):
        db.execute("update users set last_login_at = ? where id = ?", [utc_now_iso(now), row["id"]])
        db.execute("delete from login_failures where username = ?", [name])
        if rehashed:
            db.execute("update users set password_hash = ? where id = ? and password_hash = ?",
                       [rehashed, row["id"], row["password_hash"]])
    return get_user(db, row["id"])


def hash_parameters(password_hash: str) -> str:
    """The method and parameters of a Werkzeug hash: "scrypt:32768:8:1", "pbkdf2:sha256:600000"."""
    return password_hash.split("$", 1)[0]


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than Werkzeug's current default."""
    return hash_parameters(password_hash) != hash_parameters(_DUMMY_HASH)
