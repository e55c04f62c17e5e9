"""Verified identity (issue #16, part 1): one-time codes to the phone or an official e-mail
address, the device a participant registered on, and the written resume code.

- **Codes** go through the core's one-time codes (:mod:`ccch_core.onetime`) and the messages
  outbox, under the purpose ``contest.verify:<slug>``: a code of one contest never verifies
  another. Codes are limited per address and per client by the core, and here per contest a day
  (``[contest.verification] daily_codes``: each SMS costs money).
- **Nothing an outsider sees depends on the number.** Sending a code says "if this number can
  receive it, a code was sent", whether the number is new, registered, erased, or was sent too
  many codes already; only the person who then types the code learns which.
- **Devices.** A browser that registered, or that proved its person with a code, gets a random
  secret in a long-lived cookie; only its keyed hash is stored (``contest_devices``). Opening
  "Của tôi" and erasing need that bound device; a birth year never identifies anyone again.
- **Resume code** (mã tiếp tục dự thi): a written secret a participant makes on "Của tôi", for a
  new phone when no code can be sent (a contest without an SMS gateway). One per participant;
  making a new one voids the old.
"""

from __future__ import annotations

import datetime as dt
import secrets

from ccch_core import onetime, privacy, ratelimit
from ccch_core.messages import MessageError
from ccch_core.periods import utc_now
from ccch_core.storage import utc_now_iso, write_transaction

from .contests import Contest
from .definition import Audience
from .participants import Participant, email_hash, get_participant, phone_hash
from .settings import settings_of

CHANNEL_LABELS = {"sms": "tin nhắn SMS", "zalo": "tin nhắn Zalo", "email": "thư điện tử"}
RESUME_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Letters and digits a person reads and types without confusion (no I, O, 0, 1)."""
RESUME_LENGTH = 12
"""60 bits: out of reach of guessing within the resume limit."""


class CodeNotSent(Exception):
    """No code could be sent, for a reason that says nothing about the address: the deployment
    has no sender for the channel, this network asked too often, or the contest's codes for the
    day are used up. (A limit on the address itself is not this: see :func:`send_code`.)"""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__("Không gửi được mã xác nhận lúc này. Vui lòng thử lại sau ít phút.")


def purpose(contest: Contest) -> str:
    """The one-time-code purpose of a contest."""
    return f"contest.verify:{contest.slug}"


def phone_channel(deployment, contest: Contest) -> str | None:
    """The channel codes to phones go by, if the deployment can send on it."""
    channel = contest.definition.verification.phone_channel
    return channel if deployment.messaging.available(channel) else None


def email_allowed(deployment, contest: Contest, audience: Audience | None) -> bool:
    """Whether an official e-mail address may verify this audience's registrations now."""
    return (audience is not None and audience.verify == "phone_or_email"
            and bool(contest.definition.verification.email_domains) and deployment.messaging.available("email"))


def send_code(deployment, contest: Contest, channel: str, address: str, client_key: str,
              now: dt.datetime | None = None) -> None:
    """Send a code for ``contest`` to ``address`` on ``channel`` (queued in the outbox).

    Raises :class:`CodeNotSent` for reasons that do not depend on the address. A refusal because
    the address itself was sent too many codes returns as if sent: a stranger asking for codes to
    someone's number must not learn that someone else asked too."""
    now = now or utc_now()
    cap = contest.definition.verification.daily_codes
    if not deployment.messaging.available(channel):
        raise CodeNotSent("channel")
    try:
        # The per-address and per-client limits first (inside issue_code), the contest's cap of the
        # (Vietnam) day after, counting codes really issued: one client refused by its own limit
        # must not use up everyone's codes for the day.
        with write_transaction(deployment.db) as db:
            onetime.issue_code(deployment, purpose=purpose(contest), channel=channel, address=address,
                               service=_service(contest), client_key=client_key, source="contest", now=now,
                               client_limits=(settings_of(deployment).limit_codes,))
            # Counted per Vietnam day: the window is aligned to midnight at UTC+7.
            if not ratelimit.hit(db, "contest-codes", str(contest.id), ratelimit.Limit(cap, 86_400),
                                 now + VN_DAY_SHIFT).allowed:
                raise CodeNotSent("contest cap")  # rolls the code and its message back
    except onetime.CodeRefused as refused:
        if refused.reason != "address":
            raise CodeNotSent(refused.reason) from None
    except MessageError:
        raise CodeNotSent("address") from None


VN_DAY_SHIFT = dt.timedelta(hours=7)
"""Vietnam is UTC+7 all year: shifting the clock by it aligns a day's window to Vietnam midnight."""


def _service(contest: Contest) -> str:
    title = contest.definition.title
    return title if len(title) <= 50 else title[:47].rstrip() + "..."  # ASCII: the SMS stays GSM-7


def check_code(deployment, contest: Contest, channel: str, address: str, code: str,
               now: dt.datetime | None = None) -> bool:
    """Whether ``code`` is the valid code just sent to ``address`` (spent if it is)."""
    return onetime.verify_code(deployment, purpose=purpose(contest), channel=channel, address=address, code=code,
                               now=now)


def masked(channel: str, address: str) -> str:
    """The address as the confirmation page shows it."""
    if channel == "email":
        name, _, domain = address.partition("@")
        return f"{name[:1]}***@{domain}"
    return "*******" + address[-3:]


# -- devices and resume codes ---------------------------------------------------------------------


def _secret_hash(deployment, secret: str) -> str:
    return privacy.keyed_hash(deployment.secret_key, "contest-device", secret)


_BIND = "insert into contest_devices (participant_id, kind, secret_hash, created_at) values (?, 'device', ?, ?)"


def bind_device(deployment, participant_id: int, now: dt.datetime | None = None) -> str:
    """A new device secret for ``participant_id`` (its hash stored; in the caller's transaction if
    one is open); the caller sets the cookie."""
    secret = secrets.token_urlsafe(24)
    db = deployment.db
    params = [participant_id, _secret_hash(deployment, secret), utc_now_iso(now or utc_now())]
    if db.conn.in_transaction:
        # One statement is atomic by itself: no savepoint of its own (as ccch_core.ratelimit.hit).
        db.execute(_BIND, params)
    else:
        with write_transaction(db):
            db.execute(_BIND, params)
    return secret


def _cookie_parts(cookie: str | None) -> tuple[int, str] | None:
    """(participant id, secret) of a device cookie ``<id>.<secret>``, or None for anything else."""
    if not cookie or len(cookie) > 200:
        return None
    pid_text, dot, secret = cookie.partition(".")
    if not dot or not (pid_text.isascii() and pid_text.isdigit()) or len(pid_text) > 12:
        return None
    return int(pid_text), secret


def device_participant(deployment, contest: Contest, cookie: str | None) -> int | None:
    """The participant a device cookie (``<id>.<secret>``) binds, if it is valid and they are not erased."""
    parts = _cookie_parts(cookie)
    if parts is None:
        return None
    pid, secret = parts
    row = deployment.db.execute(
        "select p.id from contest_devices d join contest_participants p on p.id = d.participant_id where "
        "d.secret_hash = ? and d.kind = 'device' and p.id = ? and p.contest_id = ? and p.deleted_at is null",
        [_secret_hash(deployment, secret), pid, contest.id]).fetchone()
    return row[0] if row else None


def unbind_device(deployment, contest: Contest, cookie: str | None) -> None:
    """Forget the device secret of ``cookie`` ("Thoát" on a shared computer): it binds no one again."""
    parts = _cookie_parts(cookie)
    if parts is None:
        return
    secret = parts[1]
    with write_transaction(deployment.db) as db:
        db.execute("delete from contest_devices where secret_hash = ? and kind = 'device' and participant_id in "
                   "(select id from contest_participants where contest_id = ?)",
                   [_secret_hash(deployment, secret), contest.id])


def new_resume_code(deployment, participant_id: int, now: dt.datetime | None = None) -> str:
    """A new written resume code for the participant (the old one stops working); shown once."""
    code = "".join(secrets.choice(RESUME_ALPHABET) for _ in range(RESUME_LENGTH))
    with write_transaction(deployment.db) as db:
        db.execute("delete from contest_devices where participant_id = ? and kind = 'code'", [participant_id])
        db.execute("insert into contest_devices (participant_id, kind, secret_hash, created_at) values (?, 'code', ?, ?)",
                   [participant_id, _secret_hash(deployment, code), utc_now_iso(now or utc_now())])
    return "-".join(code[i:i + 4] for i in range(0, RESUME_LENGTH, 4))


def has_resume_code(deployment, participant_id: int) -> bool:
    """Whether the participant made a resume code."""
    return deployment.db.execute("select 1 from contest_devices where participant_id = ? and kind = 'code'",
                                 [participant_id]).fetchone() is not None


def resume_with_code(deployment, contest: Contest, phone_text: str, code_text: str, client_key: str,
                     now: dt.datetime | None = None) -> Participant | None:
    """The participant whose phone number and resume code these are, or None — the same None for
    an unknown number, a wrong code or too many tries from this network (limited per client by
    ``limit_identify``)."""
    now = now or utc_now()
    with write_transaction(deployment.db) as db:
        if not ratelimit.hit(db, "contest-identify", client_key, settings_of(deployment).limit_identify, now).allowed:
            return None
    try:
        phone = privacy.normalise_phone(phone_text)
    except privacy.PersonalDataError:
        return None
    code = "".join(ch for ch in (code_text or "").upper() if ch.isalnum())
    if len(code) != RESUME_LENGTH:
        return None
    row = deployment.db.execute(
        "select p.id from contest_participants p join contest_devices d on d.participant_id = p.id and d.kind = 'code' "
        "where p.contest_id = ? and p.phone_hash = ? and p.deleted_at is null and d.secret_hash = ?",
        [contest.id, phone_hash(deployment, phone), _secret_hash(deployment, code)]).fetchone()
    return get_participant(deployment.db, row[0]) if row else None


def participant_by_address(deployment, contest: Contest, channel: str, address: str) -> Participant | None:
    """The live participant registered with this phone number, or verified by this e-mail address."""
    if channel == "email":
        row = deployment.db.execute("select id from contest_participants where contest_id = ? and email_hash = ? and "
                                    "deleted_at is null", [contest.id, email_hash(deployment, address)]).fetchone()
    else:
        row = deployment.db.execute("select id from contest_participants where contest_id = ? and phone_hash = ? and "
                                    "deleted_at is null", [contest.id, phone_hash(deployment, address)]).fetchone()
    return get_participant(deployment.db, row[0]) if row else None
