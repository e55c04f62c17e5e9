"""One-time codes (mã xác nhận): prove that a person holds a phone number or an e-mail address.

A plugin issues a code inside its own write transaction: the code is stored only as a keyed hash
with its expiry, and travels to the person through the messages outbox (template ``otp``).
Verifying counts attempts and consumes the code. Used by the contest to check a registrant's
phone number (a prize must go to the person who registered) and by any plugin that must know a
citizen controls an address.

Codes cost money (an SMS each) and are what an attacker floods, so issuing is limited per address
and per client (hashed), on top of the outbox's daily cap per purpose. Every refusal is the same
:class:`CodeRefused`, whatever its reason, so that a stranger learns nothing about an address from
it; the reason is kept on the exception for logs and tests only.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

import attrs

from . import ratelimit
from .messages.base import DailyCapReached
from .messages.outbox import normalise_address, queue_message
from .privacy import keyed_hash
from .storage import parse_utc, utc_now_iso, write_transaction

__all__ = [
    "CodeRefused", "IssuedCode", "issue_code", "verify_code",
]

CODE_DIGITS = 6
TTL_MINUTES = 10
"""How long a code is valid."""
MAX_ATTEMPTS = 5
"""Wrong tries before a code is spent (10⁶ codes: 5 tries guess one in 200,000)."""
PER_ADDRESS = (ratelimit.Limit(3, 900), ratelimit.Limit(8, 86_400))
"""Codes sent to one address: 3 in 15 minutes, 8 a day."""
PER_CLIENT = (ratelimit.Limit(10, 3600),)
"""Codes requested from one client (a hashed network address or device): 10 an hour."""


class CodeRefused(Exception):
    """No code was issued. The message a person sees is the same for every reason; ``reason``
    (``address``, ``client``, ``cap``, ``channel``) is for the log and tests."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__("Không gửi được mã xác nhận lúc này. Vui lòng thử lại sau ít phút.")


@attrs.frozen
class IssuedCode:
    """A code issued: its row id and the outbox message carrying it."""

    id: int
    message_id: int
    expires_at: dt.datetime


def _subject(deployment, purpose: str, channel: str, address: str) -> str:
    kind = "email" if channel == "email" else "phone"
    value = address.casefold() if kind == "email" else address
    return keyed_hash(deployment.secret_key, f"onetime:{purpose}:{kind}", value)


def _code_hash(deployment, code_id_purpose: str, code: str) -> str:
    return keyed_hash(deployment.secret_key, f"onetime-code:{code_id_purpose}", code)


def issue_code(deployment, *, purpose: str, channel: str, address: str, service: str, client_key: str | None = None,
               unit_id: str | None = None, source: str | None = None, now: dt.datetime | None = None,
               ttl_minutes: int = TTL_MINUTES, client_limits: tuple[ratelimit.Limit, ...] = PER_CLIENT) -> IssuedCode:
    """Issue a code for ``address`` and queue it (template ``otp``) in the caller's transaction.

    ``purpose`` names what the code proves (``contest.register:tim-hieu-cchc-2024``): a code of one
    purpose never verifies another. ``service`` is shown in the message ("Cuộc thi tìm hiểu CCHC").
    ``client_key`` is the hashed network address (or device) asking, for the per-client limits
    ``client_limits`` (default :data:`PER_CLIENT`; a contest whose civil servants register from one
    office network passes its own).
    Earlier unused codes of the same purpose and address are spent: only the newest is valid.
    Raises :class:`CodeRefused` (limits, the day's cap, no sender for the channel) or
    :class:`ccch_core.messages.MessageError` (an address that is not one: the caller's own check
    should have said so)."""
    address = normalise_address(channel, address)
    now = now or dt.datetime.now(dt.UTC)
    subject = _subject(deployment, purpose, channel, address)
    if not deployment.messaging.available(channel):
        raise CodeRefused("channel")
    db = deployment.db
    with write_transaction(db):
        for limit in PER_ADDRESS:
            if not ratelimit.hit(db, f"onetime:{purpose}", subject, limit, now).allowed:
                raise CodeRefused("address")
        for limit in client_limits if client_key else ():
            if not ratelimit.hit(db, f"onetime-client:{purpose}", client_key, limit, now).allowed:
                raise CodeRefused("client")
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        expires = now + dt.timedelta(minutes=ttl_minutes)
        db.execute("update one_time_codes set spent_at = ? where purpose = ? and subject = ? and spent_at is null",
                   [utc_now_iso(now), purpose, subject])
        code_id = db.execute(
            "insert into one_time_codes (purpose, subject, code_hash, created_at, expires_at, attempts) "
            "values (?, ?, ?, ?, ?, 0)",
            [purpose, subject, _code_hash(deployment, purpose, code), utc_now_iso(now), utc_now_iso(expires)]).lastrowid
        try:
            message_id = queue_message(deployment, channel=channel, address=address, template="otp",
                                       params={"code": code, "minutes": str(ttl_minutes), "service": service},
                                       idempotency_key=f"otp:{code_id}:{secrets.token_hex(4)}", unit_id=unit_id,
                                       source=source, now=now)
        except DailyCapReached:
            raise CodeRefused("cap") from None
    return IssuedCode(code_id, message_id, expires)


def verify_code(deployment, *, purpose: str, channel: str, address: str, code: str,
                now: dt.datetime | None = None) -> bool:
    """Whether ``code`` is the valid code of ``purpose`` for ``address``; a right code is spent
    (it verifies once), a wrong one counts against :data:`MAX_ATTEMPTS`. Runs its own short
    transaction, or joins the caller's. Never raises for a wrong, expired or unknown code."""
    try:
        address = normalise_address(channel, address)
    except ValueError:
        return False
    code = "".join(ch for ch in str(code or "") if not ch.isspace())
    if not (code.isascii() and code.isdigit() and len(code) == CODE_DIGITS):
        return False
    now = now or dt.datetime.now(dt.UTC)
    subject = _subject(deployment, purpose, channel, address)
    expected = _code_hash(deployment, purpose, code)
    db = deployment.db
    with write_transaction(db):
        row = db.execute("select id, code_hash, expires_at, attempts from one_time_codes where purpose = ? and "
                         "subject = ? and spent_at is null order by id desc limit 1", [purpose, subject]).fetchone()
        if row is None:
            return False
        code_id, code_hash, expires_at, attempts = row
        if parse_utc(expires_at) <= now or attempts >= MAX_ATTEMPTS:
            db.execute("update one_time_codes set spent_at = ? where id = ?", [utc_now_iso(now), code_id])
            return False
        if hmac.compare_digest(code_hash, expected):
            db.execute("update one_time_codes set spent_at = ?, verified_at = ? where id = ?",
                       [utc_now_iso(now), utc_now_iso(now), code_id])
            return True
        db.execute("update one_time_codes set attempts = attempts + 1, spent_at = case when attempts + 1 >= ? "
                   "then ? else null end where id = ?", [MAX_ATTEMPTS, utc_now_iso(now), code_id])
        return False


def purge_codes(db, now: dt.datetime) -> int:
    """Delete codes spent or expired more than a day ago (they prove nothing any more); returns how
    many. Called by the core's daily purge."""
    cutoff = utc_now_iso(now - dt.timedelta(days=1))
    return db.execute("delete from one_time_codes where coalesce(spent_at, expires_at) < ?", [cutoff]).rowcount
