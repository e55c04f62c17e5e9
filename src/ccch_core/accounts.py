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

Signing in (see docs/web.md, "Sign-in policy", and docs/security.md):

- every attempt is checked against the throttle and recorded as a failure *before* the password is
  checked, in one write transaction (BEGIN IMMEDIATE): however many attempts arrive at once, no
  more than the limit are ever checked; a right password then removes its own record;
- failures count per (account, address), per address across accounts, and per account across
  addresses; the last is no lockout but a slower pace (one attempt per
  :data:`ACCOUNT_BACKOFF`). A browser the account has signed in from before skips the last two
  and has a per-(account, address) count of its own — so a stranger's failures never lock the
  owner out, even from the owner's own office address;
- accounts and addresses are kept in ``login_failures`` only as keyed hashes
  (:func:`ccch_core.privacy.keyed_hash`), and rows older than :data:`ACCOUNT_WINDOW` are deleted
  as new ones are written and by ``ccch privacy purge``;
- an account may have a second factor (TOTP, :mod:`ccch_core.totp`), checked by
  :func:`verify_second_factor` under the same throttle, each code accepted once.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import secrets
import time
from typing import Any

import attrs
from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, totp
from .model import Plan
from .privacy import keyed_hash
from .storage import utc_now_iso, write_transaction
from .text import clean, fold

__all__ = [
    "ADMIN_ROLES",
    "USERNAME_PATTERN",
    "AccountError",
    "Role",
    "User",
    "find_user",
    "get_user",
    "list_users",
    "normalise_username",
]

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused when set; at sign-in they are wrong without being hashed."""
MAX_USERNAME_INPUT = 200
"""A typed username longer than this is no account's (usernames have at most 64 characters)."""
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
"""A valid username once normalised: 2–64 lower-case ASCII letters, digits and ``._@-``."""

# Throttling (docs/web.md, "Sign-in policy").
FAILURE_WINDOW = dt.timedelta(minutes=15)
"""Failures per (account, address) and per address are counted over this window."""
MAX_FAILURES_PER_ACCOUNT_ADDRESS = 5
"""Wrong passwords or codes for one account from one address before that address must wait."""
MAX_FAILURES_PER_ADDRESS = 20
"""Wrong passwords or codes from one address, whatever the accounts, before it must wait."""
ACCOUNT_WINDOW = dt.timedelta(hours=1)
"""Failures per account from every address are counted over this window (and rows older than it
are deleted)."""
ACCOUNT_CEILING = 50
"""Failures of one account from browsers it never signed in from, within :data:`ACCOUNT_WINDOW`,
beyond which such browsers get one attempt per :data:`ACCOUNT_BACKOFF` (a guessing attack spread
over many addresses is slowed to that pace; no account is ever locked). Trusted attempts (the
owner's browsers, the account page) have the same ceiling, counted on their own."""
ACCOUNT_BACKOFF = dt.timedelta(seconds=30)

ADDRESS_PURPOSE = "sign-in-address"
"""The keyed-hash purpose of addresses in ``login_failures`` (``ccch_core.web.client_key``)."""
ACCOUNT_PURPOSE = "sign-in-account"
"""The keyed-hash purpose of typed usernames in ``login_failures`` and in trusted-browser cookies."""

def prepare_sign_in() -> None:
    """Make the hash a failed sign-in verifies against now, so that the first failed sign-in of a
    server process takes no longer than the next (the web app calls it when it is created)."""
    _dummy_hash()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the account does not exist, so that a failed login takes the
    same time whether or not the name exists. Made on first use, not at import: a scrypt hash costs
    0.1–0.6 s, which every ``ccch`` command paid at start-up."""
    return generate_password_hash("ccch-dummy-password")


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
"""The roles that administer the plan (system and plan administrators)."""


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
    totp_enabled: bool = False
    """Whether the account signs in with a code from an authenticator app as well."""

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
            totp_enabled=bool(row.get("totp_enabled_at")),
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
        """Whether the account may see ``unit_id``'s data: the one rule of the whole app.

        A unit's data is anything attributed to it: its reports, indicator figures, activities,
        survey answers at its posters, a report or export of it. Admins see every unit; a unit
        officer sees their unit and the units below it; viewers and contest managers see the
        plan-wide picture (the dashboard, the whole plan's report) but no unit's own data. Web
        views apply it through :func:`ccch_core.web.auth.require_unit_access` (a unit in the
        path) and :func:`ccch_core.web.auth.unit_scope` (an optional ``unit`` parameter).
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
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError("password", f"at most {MAX_PASSWORD_LENGTH} characters")
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
    """Too many failed sign-ins: ``retry_after`` in seconds, ``limit`` which one was reached
    ("account_address", "address" or "account"). Never shown to the visitor as such: the web
    answers a throttled attempt exactly as a wrong password."""

    def __init__(self, retry_after: int, limit: str):
        self.retry_after = retry_after
        self.limit = limit
        super().__init__(f"too many failed sign-ins ({limit}); try again in {retry_after} s")


def account_key(secret: str, username: str) -> str:
    """The keyed hash that stands for a typed username in ``login_failures`` and trusted-browser
    cookies (a name typed by mistake may be someone's password: it is never stored as typed)."""
    return keyed_hash(secret, ACCOUNT_PURPOSE, normalise_username(username[:MAX_USERNAME_INPUT]))


def address_key(secret: str, address: str) -> str:
    """The keyed hash that stands for a client address, an IPv6 one by its /64 (what
    ``ccch_core.web.client_key`` gives for :data:`ADDRESS_PURPOSE`)."""
    from .ratelimit import client_network

    return keyed_hash(secret, ADDRESS_PURPOSE, client_network(address))


def _wait(oldest: str, window: dt.timedelta, now: dt.datetime) -> int:
    return max(int((dt.datetime.fromisoformat(oldest) + window - now).total_seconds()) + 1, 1)


def _check_limits(db: Database, account: str, address: str, trusted: bool, now: dt.datetime) -> None:
    since = utc_now_iso(now - FAILURE_WINDOW)
    # A browser the account signed in from before has a count of its own: others failing on the
    # account from the same address (an office behind one NAT address) do not stop it.
    count, oldest = db.execute(
        "select count(*), min(at) from login_failures where account_key = ? and address_key = ? and trusted = ? "
        "and at > ?", [account, address, 1 if trusted else 0, since]).fetchone()
    if count >= MAX_FAILURES_PER_ACCOUNT_ADDRESS:
        raise Throttled(_wait(oldest, FAILURE_WINDOW, now), "account_address")
    if not trusted:
        count, oldest = db.execute(
            "select count(*), min(at) from login_failures where address_key = ? and at > ?", [address, since]).fetchone()
        if count >= MAX_FAILURES_PER_ADDRESS:
            raise Throttled(_wait(oldest, FAILURE_WINDOW, now), "address")
    # The account-wide pace, counted apart for trusted attempts (a browser the owner signed in from
    # before, and the account page of a signed-in session): strangers' failures never slow the
    # owner, and a stolen session tried from many addresses is paced as a botnet at the sign-in
    # page is, not given 5 tries per address.
    count, latest = db.execute(
        "select count(*), max(at) from login_failures where account_key = ? and trusted = ? and at > ?",
        [account, 1 if trusted else 0, utc_now_iso(now - ACCOUNT_WINDOW)]).fetchone()
    if count >= ACCOUNT_CEILING:
        wait = dt.datetime.fromisoformat(latest) + ACCOUNT_BACKOFF - now
        if wait > dt.timedelta(0):
            raise Throttled(max(int(wait.total_seconds()) + 1, 1), "account")


def _reserve_attempt(db: Database, account: str, address: str, trusted: bool, now: dt.datetime) -> int:
    """Check the limits and record the attempt as a failure, in one write transaction.

    BEGIN IMMEDIATE takes the write lock before counting, so concurrent attempts are counted one
    after another and at most the limit get through. The caller deletes the record when the
    password or code was right."""
    with write_transaction(db):
        _check_limits(db, account, address, trusted, now)
        attempt = db.execute(
            "insert into login_failures (account_key, address_key, at, trusted) values (?, ?, ?, ?)",
            [account, address, utc_now_iso(now), 1 if trusted else 0]).lastrowid
        prune_login_failures(db, now)
    return attempt


def prune_login_failures(db: Database, now: dt.datetime | None = None) -> int:
    """Delete the failure records no limit looks at any more (older than :data:`ACCOUNT_WINDOW`);
    returns how many. Runs with every recorded attempt and from ``ccch privacy purge``."""
    now = now or dt.datetime.now(dt.UTC)
    return db.execute("delete from login_failures where at <= ?", [utc_now_iso(now - ACCOUNT_WINDOW)]).rowcount


def authenticate(db: Database, username: str, password: str, *, address_key: str, secret: str,
                 trusted: bool = False, now: dt.datetime | None = None) -> User | None:
    """The first step of signing in: the password, under the throttle.

    ``address_key`` is the keyed hash of the visitor's address (:func:`address_key`), ``secret``
    the deployment's secret, ``trusted`` whether the browser carries this account's
    trusted-browser cookie (it then skips the per-account pace). Returns the user for a right
    password of an active account — the sign-in is complete only after
    :func:`complete_sign_in`, once the second factor, if any, is checked — or None otherwise
    (recorded as a failure). Raises :class:`Throttled` before checking anything when a limit is
    reached, so a throttled attempt tells nothing about the password.
    """
    now = now or dt.datetime.now(dt.UTC)
    account = account_key(secret, username)
    attempt = _reserve_attempt(db, account, address_key, trusted, now)
    row = None
    if len(username) <= MAX_USERNAME_INPUT:
        row = next(db.query("select * from users where username = ?", [normalise_username(username)]), None)
    # The same work whatever is wrong: an unknown name or an over-long password is checked
    # against a dummy hash, so the time taken does not tell them apart.
    usable = row is not None and len(password) <= MAX_PASSWORD_LENGTH
    ok = check_password_hash(row["password_hash"] if usable else _dummy_hash(), password[:MAX_PASSWORD_LENGTH])
    if not usable or not ok or not row["active"]:
        return None
    # A hash made with older or weaker parameters (pbkdf2, a smaller scrypt cost) is replaced now
    # that the password is known: stored hashes move to the current parameters as people log in.
    # Not a password change: sessions stay valid.
    rehashed = generate_password_hash(password) if needs_rehash(row["password_hash"]) else None
    with write_transaction(db):
        db.execute("delete from login_failures where id = ?", [attempt])
        if rehashed:
            db.execute("update users set password_hash = ? where id = ? and password_hash = ?",
                       [rehashed, row["id"], row["password_hash"]])
    return get_user(db, row["id"])


_CHECK_SECONDS: list[float] = []


def wait_like_a_password_check() -> None:
    """Take as long as one password check, without doing one. The web calls it for a throttled
    attempt, whose answer must come back no faster than a checked one's; sleeping instead of
    hashing keeps a flood of throttled attempts from costing the server any CPU (the limits
    exist to bound that work). The time is measured once per process."""
    if not _CHECK_SECONDS:
        dummy = _dummy_hash()
        start = time.perf_counter()
        check_password_hash(dummy, "ccch-calibration")
        _CHECK_SECONDS.append(time.perf_counter() - start)
    time.sleep(_CHECK_SECONDS[0])


def needs_second_factor(user: User, required_roles: frozenset[Role] | set[Role] = frozenset()) -> bool:
    """Whether ``user`` must give a code after the password: they have one set up, or their role
    is one the deployment requires it of (``[web] require_totp_for``)."""
    return user.totp_enabled or user.role in required_roles


def verify_second_factor(db: Database, user: User, code: str, *, address_key: str, secret: str,
                         trusted: bool = False, now: dt.datetime | None = None) -> bool:
    """The second step: a code from the account's authenticator app, under the same throttle as
    passwords (a wrong code counts as a failure for the account and the address).

    Accepted only if it is the code of the current 30-second step or of the one before or after,
    and of a later step than the last code accepted for the account — a code is never accepted
    twice, even by two requests at once. Raises :class:`Throttled` before checking when a limit
    is reached.
    """
    now = now or dt.datetime.now(dt.UTC)
    attempt = _reserve_attempt(db, account_key(secret, user.username), address_key, trusted, now)
    row = next(db.query("select totp_secret, active from users where id = ?", [user.id]), None)
    typed = totp.normalise_code(code)
    if row is None or not row["active"] or not row["totp_secret"] or typed is None:
        return False
    try:
        plain = totp.unseal(secret, user.id, row["totp_secret"])
    except totp.SecretError:
        return False
    step = totp.matching_step(plain, typed, now.timestamp())
    if step is None:
        return False
    with write_transaction(db):
        used = db.execute("update users set totp_last_step = ? where id = ? and coalesce(totp_last_step, -1) < ?",
                          [step, user.id, step]).rowcount
        if used:
            db.execute("delete from login_failures where id = ?", [attempt])
    return bool(used)


def complete_sign_in(db: Database, user: User, *, address_key: str, secret: str,
                     now: dt.datetime | None = None) -> None:
    """Record a completed sign-in: the time, and the end of this account's failures from this
    address (not those from elsewhere, nor the address's failures on other accounts)."""
    now = now or dt.datetime.now(dt.UTC)
    with write_transaction(db):
        db.execute("update users set last_login_at = ? where id = ?", [utc_now_iso(now), user.id])
        db.execute("delete from login_failures where account_key = ? and address_key = ?",
                   [account_key(secret, user.username), address_key])


# -- the second factor ----------------------------------------------------------------------------


@attrs.frozen
class TotpSetup:
    """What an officer enters in their authenticator app: the secret (base32) and the
    ``otpauth://`` URI a QR code would carry. Shown once; only the sealed secret is stored."""

    username: str
    secret: str
    uri: str

    @property
    def grouped_secret(self) -> str:
        """The secret in groups of four, to type by hand."""
        return totp.grouped(self.secret)


TOTP_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.CONTEST_MANAGER})
"""The roles a deployment may require a second factor of (``[web] require_totp_for``); any
account may have one."""


def _new_totp(db: Database, user: User, secret: str, issuer: str, action: str, actor: str | None) -> TotpSetup:
    plain = totp.generate_secret()
    with write_transaction(db):
        # A new secret ends every session: each one from now on has passed the new factor.
        db.execute("update users set totp_secret = ?, totp_enabled_at = ?, totp_last_step = null, "
                   "session_version = session_version + 1 where id = ?",
                   [totp.seal(secret, user.id, plain), utc_now_iso(), user.id])
        audit.record(db, actor, action, user.username)
    return TotpSetup(user.username, plain, totp.provisioning_uri(plain, user.username, issuer))


def enable_totp(db: Database, username: str, *, secret: str, issuer: str, actor: str | None = None) -> TotpSetup:
    """Give an account a second factor and return what its owner enters in their app (shown
    once). Refused if it has one already (:func:`reset_totp` replaces it). Ends its sessions;
    recorded in the audit log."""
    user = _require(db, username)
    if user.totp_enabled:
        raise AccountError("totp", f"{user.username} already has a second factor; "
                                   "`ccch users totp reset` gives a new secret")
    return _new_totp(db, user, secret, issuer, "user.totp_enable", actor)


def reset_totp(db: Database, username: str, *, secret: str, issuer: str, actor: str | None = None) -> TotpSetup:
    """Replace an account's second factor with a new secret (a lost or replaced phone): the old
    app's codes stop working and every session ends. Recorded in the audit log."""
    user = _require(db, username)
    return _new_totp(db, user, secret, issuer, "user.totp_reset", actor)


def new_totp_setup(username: str, issuer: str) -> TotpSetup:
    """A fresh secret for ``username`` to enter in an app, not stored: the officer's own set-up
    page shows it and stores it with :func:`confirm_totp` once the app's first code matches."""
    plain = totp.generate_secret()
    return TotpSetup(username, plain, totp.provisioning_uri(plain, username, issuer))


def confirm_totp(db: Database, user: User, plain: str, code: str | None, *, secret: str,
                 now: dt.datetime | None = None) -> User | None:
    """Store ``plain`` as ``user``'s second factor if ``code`` is its current code (the app was set
    up right), replacing any earlier one; None if the code does not match. The code's step is
    recorded as used, every other session ends, and the change is in the audit log (the account
    itself as actor)."""
    typed = totp.normalise_code(code)
    step = totp.matching_step(plain, typed, (now or dt.datetime.now(dt.UTC)).timestamp()) if typed else None
    if step is None:
        return None
    action = "user.totp_reset" if user.totp_enabled else "user.totp_enable"
    with write_transaction(db):
        db.execute("update users set totp_secret = ?, totp_enabled_at = ?, totp_last_step = ?, "
                   "session_version = session_version + 1 where id = ?",
                   [totp.seal(secret, user.id, plain), utc_now_iso(), step, user.id])
        audit.record(db, user.username, action, user.username)
    return get_user(db, user.id)


def disable_totp(db: Database, username: str, *, actor: str | None = None) -> User:
    """Remove an account's second factor (its sessions go on). Recorded in the audit log."""
    user = _require(db, username)
    if not user.totp_enabled:
        raise AccountError("totp", f"{user.username} has no second factor")
    with write_transaction(db):
        db.execute("update users set totp_secret = null, totp_enabled_at = null, totp_last_step = null "
                   "where id = ?", [user.id])
        audit.record(db, actor, "user.totp_disable", user.username)
    return get_user(db, user.id)


def hash_parameters(password_hash: str) -> str:
    """The method and parameters of a Werkzeug hash: "scrypt:32768:8:1", "pbkdf2:sha256:600000"."""
    return password_hash.split("$", 1)[0]


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than Werkzeug's current default."""
    return hash_parameters(password_hash) != hash_parameters(_dummy_hash())
