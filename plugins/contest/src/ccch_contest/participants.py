"""Participants: registration with consent, identity by phone number, disqualification, deletion.

Personal data (Decree 13/2023/NĐ-CP): the phone number and the citizen ID number are stored as a
keyed hash (``ccch_core.privacy.keyed_hash`` under the deployment's secret; "one participant per
phone number" is a hash comparison) and a masked form for display. The clear phone number is kept
only to reach prize winners when the deployment allows it (``keep_contact_phone``), and erased
``contact_retention_days`` after the contest's last round. A participant can ask for their data to
be erased; their attempts then leave the rankings.

Erasure and the attempt limit: a person who erases their data while a round they entered is still
open keeps, on the otherwise empty participant row, only the keyed hashes of their phone and citizen
ID numbers — an *erasure marker*. Without it, erasing and registering again with the same number
would give a fresh attempt in the same round (and, with the score shown after each attempt, as many
retakes as wanted). The marker cannot be read back as a number, is not shown anywhere, and is
dropped as soon as every round the person entered has closed: by a new registration with the same
number, or by ``ccch privacy purge`` (run daily). An erased participant is never found by number
(the manager's search, ``--phone``), and a registration refused by a marker reads exactly like one
refused because the number is registered. The contest manager can erase without keeping a marker
(a registration made with someone else's number: the owner can then register at once).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from typing import Any

import attrs

from ccch_core import privacy
from ccch_core.periods import VN_TZ, utc_now
from ccch_core.ratelimit import hit
from ccch_core.storage import utc_now_iso
from ccch_core.text import clean, fold

from .contests import Contest, get_contest_by_id
from .definition import unit_choices
from .locking import serialized
from .settings import settings_of
from .sql import query

NAME_PATTERN = re.compile(r"^[^\d<>@#$%^&*=_+{}\[\]|\\/~`\"]{2,100}$")


class RegistrationError(ValueError):
    """A registration form with problems: ``errors`` maps field names to Vietnamese messages."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class Throttled(Exception):
    """Too many requests from one address or participant; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"rate limited; retry after {retry_after} s")


@attrs.frozen
class Participant:
    """A registered participant (personal data as stored: masked and hashed)."""

    id: int
    contest_id: int
    audience: str
    full_name: str | None
    phone_masked: str | None
    contact_phone: str | None
    citizen_id_masked: str | None
    birth_year: int | None
    unit_id: str | None
    occupation: str | None
    created_at: str
    consent_at: str
    disqualified: bool
    disqualified_reason: str | None
    deleted_at: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Participant:
        """Build from a ``contest_participants`` row."""
        return cls(row["id"], row["contest_id"], row["audience"], row["full_name"], row["phone_masked"],
                   row["contact_phone"], row["citizen_id_masked"], row["birth_year"], row["unit_id"], row["occupation"],
                   row["created_at"], row["consent_at"], bool(row["disqualified"]), row["disqualified_reason"],
                   row["deleted_at"])

    @property
    def display_name(self) -> str:
        """The name, or a placeholder once erased."""
        return self.full_name or "(đã xóa dữ liệu)"


def phone_hash(deployment, phone: str) -> str:
    """The keyed hash a normalised phone number is stored under (purpose ``contest-phone``)."""
    return privacy.keyed_hash(deployment.secret_key, "contest-phone", phone)


def citizen_id_hash(deployment, number: str) -> str:
    """The keyed hash of a normalised citizen ID number (purpose ``contest-citizen-id``)."""
    return privacy.keyed_hash(deployment.secret_key, "contest-citizen-id", number)


def consent_version(text: str) -> str:
    """A short fingerprint of the consent text the participant agreed to."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def get_participant(db, participant_id: int) -> Participant | None:
    """The participant with ``participant_id``."""
    row = next(query(db, "select * from contest_participants where id = ?", [participant_id]), None)
    return Participant.from_row(row) if row else None


def _check_rate(db, bucket: str, key: str, limit, now: dt.datetime) -> None:
    decision = hit(db, bucket, key, limit, now)
    if not decision.allowed:
        raise Throttled(decision.retry_after)


def validate_registration(deployment, contest: Contest, form: Mapping[str, str], now: dt.datetime) -> dict[str, Any]:
    """Check a registration form; returns the cleaned values or raises :class:`RegistrationError`
    with a message per field (the form is shown again with everything kept)."""
    d = contest.definition
    plan = deployment.plan
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    name = clean(form.get("full_name", ""))
    if not name:
        errors["full_name"] = "Vui lòng nhập họ và tên."
    elif not NAME_PATTERN.match(name) or len(name.split()) < 2:
        errors["full_name"] = "Vui lòng nhập đầy đủ họ và tên như trên căn cước (chỉ gồm chữ cái)."
    values["full_name"] = name
    try:
        values["phone"] = privacy.normalise_phone(form.get("phone", ""))
    except privacy.PersonalDataError as exc:
        errors["phone"] = str(exc)
    year_text = clean(form.get("birth_year", ""))
    this_year = now.astimezone(VN_TZ).year
    if not year_text:
        errors["birth_year"] = "Vui lòng nhập năm sinh."
    elif not (year_text.isascii() and year_text.isdigit()) or len(year_text) != 4 or not 1900 <= int(year_text) <= this_year:
        errors["birth_year"] = f"Năm sinh là một số có 4 chữ số, từ 1900 đến {this_year}."
    else:
        values["birth_year"] = int(year_text)
        if d.eligibility.who == "adults" and this_year - int(year_text) < d.eligibility.min_age:
            errors["birth_year"] = f"Cuộc thi dành cho người từ {d.eligibility.min_age} tuổi trở lên."
    audiences = d.audiences
    key = clean(form.get("audience", "")) or (audiences[0].key if len(audiences) == 1 else "")
    audience = next((a for a in audiences if a.key == key), None)
    if audience is None:
        errors["audience"] = "Vui lòng chọn đối tượng dự thi."
    values["audience"] = key
    choices = {u.id for u in unit_choices(d, audience, plan)} if audience else set()
    unit_id = clean(form.get("unit_id", ""))
    if audience is not None:
        if not unit_id:
            errors["unit_id"] = "Vui lòng chọn đơn vị, địa phương của bạn."
        elif unit_id not in choices:
            errors["unit_id"] = "Đơn vị đã chọn không có trong danh sách của đối tượng này."
    values["unit_id"] = unit_id or None
    excluded = {u.id for u in plan.resolve(d.eligibility.excluded_units)}
    if unit_id and unit_id in excluded:
        errors["unit_id"] = "Cán bộ của đơn vị tổ chức không tham gia dự thi."
    occupation = clean(form.get("occupation", ""))
    if len(occupation) > 100:
        errors["occupation"] = "Nghề nghiệp, chức vụ tối đa 100 ký tự."
    values["occupation"] = occupation or None if d.ask_occupation else None
    cid_text = clean(form.get("citizen_id", ""))
    values["citizen_id"] = None
    if d.citizen_id != "no":
        if cid_text:
            try:
                values["citizen_id"] = privacy.normalise_citizen_id(cid_text)
            except privacy.PersonalDataError as exc:
                errors["citizen_id"] = str(exc)
        elif d.citizen_id == "required":
            errors["citizen_id"] = "Vui lòng nhập số căn cước công dân (12 chữ số)."
    if form.get("consent") not in ("1", "on", "yes", "co"):
        errors["consent"] = "Bạn cần đồng ý với việc xử lý dữ liệu cá nhân để tham gia cuộc thi."
    if form.get("website"):  # the honeypot field people never see
        errors["website"] = "Biểu mẫu không hợp lệ."
    if errors:
        raise RegistrationError(errors)
    return values


def register(deployment, contest: Contest, form: Mapping[str, str], client_key: str,
             now: dt.datetime | None = None, *, device_key: str | None = None) -> Participant:
    """Register a participant from the form (one short transaction, rate-limited per address).

    Raises :class:`RegistrationError`: per-field messages for the form's own mistakes, and the one
    :data:`REFUSED` for a number that cannot register or too many registrations from this network.
    """
    now = now or utc_now()
    values = validate_registration(deployment, contest, form, now)
    settings = settings_of(deployment)
    hashed = phone_hash(deployment, values["phone"])
    cid_hash = citizen_id_hash(deployment, values["citizen_id"]) if values["citizen_id"] else None
    consent = contest.definition.consent()
    at = utc_now_iso(now)
    sealed = seal_contact(deployment, values["phone"]) if settings.keep_contact_phone else None  # outside the lock
    db = deployment.db
    with serialized(deployment):
        if not hit(db, "contest-register", client_key, settings.limit_register, now).allowed:
            # Over the limit reads like every other refusal (see REFUSED).
            refusal = {"phone": REFUSED}
        else:
            refusal = _refusal(db, contest, "phone_hash", hashed, now) or (
                _refusal(db, contest, "citizen_id_hash", cid_hash, now) if cid_hash else None)
        if refusal is None:
            participant_id = _insert(db, contest, values, hashed, cid_hash, settings, consent, at,
                                     sealed_contact=sealed)
            _record_source(deployment, contest, participant_id, client_key, at, device_key)
    if refusal is not None:
        # Raised only now, after the commit: the rate-limit hit of a refused registration stays
        # counted, so registered numbers cannot be probed one after another (a caller's outer
        # transaction must not roll it back either — the registration page catches this inside it).
        raise RegistrationError(refusal)
    return get_participant(db, participant_id)


REFUSED = ("Không đăng ký được với thông tin này lúc này. Nếu bạn đã đăng ký, hãy chọn “Tiếp tục dự thi”; nếu "
           "chưa, vui lòng kiểm tra lại hoặc thử lại sau ít phút.")
"""The one refusal a registration gets, whatever the reason: the number is registered, its owner
erased their data while a round they entered is open, the citizen ID number is used, or too many
registrations came from this network. A stranger typing someone's number learns nothing more
(a refusal that named the reason confirmed a leaderboard entry's number in 4 probes)."""

_TAKEN = {"phone_hash": ("phone", REFUSED), "citizen_id_hash": ("phone", REFUSED)}


def _refusal(db, contest: Contest, column: str, value: str, now: dt.datetime) -> dict[str, str] | None:
    """Why a number cannot register (inside the registration's transaction), or None.

    A live registration with the number refuses it. So does an erasure marker (see the module's
    docstring) while a round the erased participant entered is open: registering again would give
    a second attempt in that round. A marker whose rounds have all closed has done its job and is
    dropped here, and the number registers afresh."""
    row = db.execute(f"select id, deleted_at from contest_participants where contest_id = ? and {column} = ?",
                     [contest.id, value]).fetchone()
    return _refusal_of(db, contest, column, row, now)


def _refusal_of(db, contest: Contest, column: str, row, now: dt.datetime) -> dict[str, str] | None:
    """:func:`_refusal` for the row (id, deleted_at) the number's hash finds, already read (None:
    no row). A number has at most one row per contest (a unique index on the hash)."""
    if row is None:
        return None
    field, taken = _TAKEN[column]
    if row[1] is None:
        return {field: taken}
    if _rounds_entered_open(db, contest, row[0], now):
        # Worded exactly like the refusal of a live registration: whoever types a number learns no
        # more than that it is taken — not that its owner erased their data, nor which round they
        # entered. (The person who erased is told of this rule on the erasure form itself.)
        return {field: taken}
    db.execute(f"update contest_participants set {column} = null where id = ?", [row[0]])
    return None


def _rounds_entered_open(db, contest: Contest, participant_id: int, now: dt.datetime) -> list:
    """The rounds not yet closed at ``now`` in which the participant started an attempt."""
    ids = {r[0] for r in db.execute("select distinct round_id from contest_attempts where participant_id = ?",
                                    [participant_id])}
    return [r for r in contest.rounds if r.id in ids and r.state(now) != "closed"]


def _local_second(instant: dt.datetime) -> str:
    return instant.astimezone(VN_TZ).strftime("%H:%M:%S ngày %d/%m/%Y")


def _source_hashes(deployment, client_key: str, device_key: str | None) -> tuple[str, str | None]:
    return (privacy.keyed_hash(deployment.secret_key, "contest-source", client_key),
            privacy.keyed_hash(deployment.secret_key, "contest-device-source", device_key) if device_key else None)


def _record_source(deployment, contest: Contest, participant_id: int, client_key: str, at: str,
                   device_key: str | None = None, *, hashes: tuple[str, str | None] | None = None) -> None:
    """Where a registration came from, for detection's "many registrations from one address or
    device" (keyed hashes of the client key and of the browser's identifier, never either itself;
    inside the registration's transaction). ``hashes``: both, computed before the lock."""
    client_hash, device_hash = hashes or _source_hashes(deployment, client_key, device_key)
    deployment.db.execute(
        "insert into contest_registration_sources (participant_id, contest_id, client_hash, created_at, device_hash) "
        "values (?, ?, ?, ?, ?)", [participant_id, contest.id, client_hash, at, device_hash])


CONTACT_PURPOSE = "contest-contact"


def seal_contact(deployment, phone: str) -> str:
    """The contact number as stored: sealed (:func:`ccch_core.privacy.seal`), never in clear: a copy
    of the database alone does not give anyone's number (issue #16, part 5)."""
    return privacy.seal(deployment.secret_key, CONTACT_PURPOSE, phone)


def contact_phone(deployment, stored: str | None) -> str | None:
    """A stored contact number read back (the prize page shows winners' numbers only)."""
    return privacy.unseal(deployment.secret_key, CONTACT_PURPOSE, stored)


def mask_phone(phone: str) -> str:
    """A phone number as the contest keeps it beside the hash: the last three digits only
    (``*******678``); leaderboards show at most those (issue #16)."""
    return "*******" + phone[-3:]


def _insert(db, contest: Contest, values: dict[str, Any], hashed: str, cid_hash: str | None, settings,
            consent: str, at: str, *, sealed_contact: str | None, verified_by: str | None = None,
            email_hash: str | None = None) -> int:
    return db.execute(
        "insert into contest_participants (contest_id, audience, full_name, name_key, phone_hash, phone_masked, "
        "contact_phone, citizen_id_hash, citizen_id_masked, birth_year, unit_id, occupation, consent_at, "
        "consent_version, created_at, verified_by, email_hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [contest.id, values["audience"], values["full_name"], fold(values["full_name"]), hashed,
         mask_phone(values["phone"]), sealed_contact,
         cid_hash, privacy.mask_citizen_id(values["citizen_id"]) if values["citizen_id"] else None,
         values["birth_year"], values["unit_id"], values["occupation"], at, consent_version(consent), at,
         verified_by, email_hash],
    ).lastrowid


def email_hash(deployment, address: str) -> str:
    """The keyed hash of a verified official e-mail address (purpose ``contest-email``): resuming
    by e-mail finds the participant by it; the address itself is never stored."""
    return privacy.keyed_hash(deployment.secret_key, "contest-email", address.strip().casefold())


@attrs.frozen
class SealedRegistration:
    """What a verified registration stores that needs no database: the keyed hashes, the sealed
    contact number, the hashes of where it came from. :func:`seal_registration` makes it before
    the write lock is taken (the code step holds the lock for the code, the registration and the
    start at once: the fewer microseconds inside, the less the other workers wait)."""

    phone_hash: str
    citizen_id_hash: str | None
    sealed_contact: str | None
    email_hash: str | None
    source_hashes: tuple[str, str | None]
    values: Mapping[str, Any]


def seal_registration(deployment, values: Mapping[str, Any], *, client_key: str, email: str | None = None,
                      device_key: str | None = None) -> SealedRegistration:
    """The hashes and the sealed contact number :func:`register_verified` stores for ``values``."""
    return SealedRegistration(
        phone_hash(deployment, values["phone"]),
        citizen_id_hash(deployment, values["citizen_id"]) if values.get("citizen_id") else None,
        seal_contact(deployment, values["phone"]) if settings_of(deployment).keep_contact_phone else None,
        email_hash(deployment, email) if email else None,
        _source_hashes(deployment, client_key, device_key),
        values)


def register_verified(deployment, contest: Contest, values: Mapping[str, Any], *, verified_by: str,
                      client_key: str, email: str | None = None, now: dt.datetime | None = None,
                      device_key: str | None = None,
                      sealed: SealedRegistration | None = None) -> tuple[Participant | None, str]:
    """Register ``values`` (from :func:`validate_registration`) once the person proved they hold the
    phone (or the official e-mail address) with a one-time code. Returns (participant, outcome):
    ``registered``; ``existing`` — the number was registered already, and the person who proved
    they hold it is that participant (they go on as them); ``blocked`` — an erasure marker of a
    round still open, or the citizen ID number registered by someone else (no participant).
    ``sealed``: :func:`seal_registration` of the same values, made before the caller's lock."""
    now = now or utc_now()
    settings = settings_of(deployment)
    if sealed is None or sealed.values != values:
        sealed = seal_registration(deployment, values, client_key=client_key, email=email, device_key=device_key)
    hashed, cid_hash = sealed.phone_hash, sealed.citizen_id_hash
    db = deployment.db
    with serialized(deployment):
        # One look-up of the number serves both questions (its row, if any, is live or a marker).
        row = db.execute("select id, deleted_at from contest_participants where contest_id = ? and phone_hash = ?",
                         [contest.id, hashed]).fetchone()
        if row is not None and row[1] is None:
            return get_participant(db, row[0]), "existing"
        if _refusal_of(db, contest, "phone_hash", row, now) or (
                cid_hash and _refusal(db, contest, "citizen_id_hash", cid_hash, now)):
            return None, "blocked"
        participant_id = _insert(db, contest, dict(values), hashed, cid_hash, settings, contest.definition.consent(),
                                 utc_now_iso(now), sealed_contact=sealed.sealed_contact, verified_by=verified_by,
                                 email_hash=sealed.email_hash)
        _record_source(deployment, contest, participant_id, client_key, utc_now_iso(now), hashes=sealed.source_hashes)
    return get_participant(db, participant_id), "registered"


def participant_with_phone(deployment, contest: Contest, participant_id: int, phone_text: str) -> Participant | None:
    """Participant ``participant_id`` of ``contest`` if ``phone_text`` (in any accepted spelling) is
    the number they registered, and their data is not erased; otherwise None."""
    try:
        phone = privacy.normalise_phone(phone_text)
    except privacy.PersonalDataError:
        return None
    row = next(query(deployment.db, "select * from contest_participants where id = ? and contest_id = ? and "
                                    "phone_hash = ? and deleted_at is null",
                     [participant_id, contest.id, phone_hash(deployment, phone)]), None)
    return Participant.from_row(row) if row else None


def find_by_phone(deployment, contest: Contest, phone_text: str) -> Participant | None:
    """The participant registered with this phone number (the manager's search)."""
    try:
        phone = privacy.normalise_phone(phone_text)
    except privacy.PersonalDataError:
        return None
    row = next(query(deployment.db, "select * from contest_participants where contest_id = ? and phone_hash = ? "
                                    "and deleted_at is null", [contest.id, phone_hash(deployment, phone)]), None)
    return Participant.from_row(row) if row else None


def verify_citizen_id(deployment, participant_id: int, number_text: str) -> bool | None:
    """Whether ``number_text`` is the citizen ID the participant registered with (checked against
    the hash, at prize handover). None when they gave none or the number is malformed."""
    row = next(query(deployment.db, "select citizen_id_hash from contest_participants where id = ? and deleted_at is null",
                     [participant_id]), None)
    if row is None or not row["citizen_id_hash"]:
        return None
    try:
        number = privacy.normalise_citizen_id(number_text)
    except privacy.PersonalDataError:
        return None
    return citizen_id_hash(deployment, number) == row["citizen_id_hash"]


def drop_erasure_markers(deployment, now: dt.datetime | None = None) -> int:
    """Drop the erasure markers (keyed hashes kept on erased participants, see the module's
    docstring) whose rounds have all closed; ``ccch privacy purge`` runs this. Returns how many
    participants lost their marker."""
    now = now or utc_now()
    db = deployment.db
    rows = db.execute("select id, contest_id from contest_participants where deleted_at is not null and "
                      "(phone_hash is not null or citizen_id_hash is not null)").fetchall()
    contests: dict[int, Contest] = {}
    stale = []
    for participant_id, contest_id in rows:
        if contest_id not in contests:
            contests[contest_id] = get_contest_by_id(deployment, contest_id)
        if not _rounds_entered_open(db, contests[contest_id], participant_id, now):
            stale.append(participant_id)
    if stale:
        with serialized(deployment):
            db.conn.executemany("update contest_participants set phone_hash = null, citizen_id_hash = null "
                                "where id = ?", [(i,) for i in stale])
    return len(stale)
