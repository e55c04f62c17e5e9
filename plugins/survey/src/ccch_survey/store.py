"""Surveys, placements, scans, responses, kiosk tablets and flags in the database.

The two hot paths — a scan (a GET of a poster's short URL) and a submission — are one short
``BEGIN IMMEDIATE`` transaction each (:func:`ccch_core.storage.write_transaction`). A scan counts
the scan once per device per day (a look-up of a code that does not exist is counted against the
client address's limit instead). A submission
checks the submission id, the once-a-day rule and the rate limit, flags what looks suspicious,
stores the response with its answers and updates the tallies and daily counts, all in that one
transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import secrets
import sqlite3
from collections.abc import Iterable, Mapping, Sequence

import attrs
from sqlite_utils import Database

from ccch_core import placements, ratelimit
from ccch_core.model import Plan
from ccch_core.periods import Period, to_local, utc_now
from ccch_core.questions import QuestionType
from ccch_core.storage import utc_now_iso, write_transaction
from ccch_core.text import clean

from .definition import (
    DefinitionError,
    SurveyDefinition,
    check_evolution,
    definition_from_json,
)
from .settings import SurveySettings

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""Short codes avoid 0/O, 1/I/L so that a code printed under the QR can be typed without doubt."""
CODE_LENGTH = 6
SATISFIED = ("4", "5")
"""Scale options counted as satisfied ("Hài lòng", "Rất hài lòng"), as SIPAS reports it."""


class SurveyError(ValueError):
    """A survey or placement operation that cannot be done (message says why)."""


# -- the write gate -----------------------------------------------------------------------------

@contextlib.contextmanager
def hot_write(db: Database):
    """The hot paths' write transaction (scans, submissions): the core's queued
    :func:`ccch_core.storage.write_transaction`, one short BEGIN IMMEDIATE transaction."""
    with write_transaction(db):
        yield db


# -- days --------------------------------------------------------------------------------------


def local_day(instant: dt.datetime) -> int:
    """The Vietnam calendar day of an instant as ``YYYYMMDD``."""
    d = to_local(instant).date()
    return d.year * 10000 + d.month * 100 + d.day


def period_days(period: Period) -> tuple[int, int]:
    """First and last day (inclusive, ``YYYYMMDD``) of a period."""
    s, e = period.start_date, period.end_date
    return s.year * 10000 + s.month * 100 + s.day, e.year * 10000 + e.month * 100 + e.day


# -- surveys and versions ----------------------------------------------------------------------


@attrs.frozen
class SurveyRecord:
    """A survey as stored: its id, title, current version and status."""

    id: str
    title: str
    current_version: int
    status: str
    created_at: str
    updated_at: str

    @property
    def is_open(self) -> bool:
        """Whether citizens may answer it."""
        return self.status == "open"


_DEFINITIONS: dict[str, SurveyDefinition] = {}
"""Parsed definitions by fingerprint (a hash of the content: never stale), per worker process."""


def _parse_version(fingerprint: str, definition_json: str) -> SurveyDefinition:
    definition = _DEFINITIONS.get(fingerprint)
    if definition is None:
        if len(_DEFINITIONS) >= 256:
            _DEFINITIONS.clear()
        definition = _DEFINITIONS[fingerprint] = definition_from_json(definition_json)
    return definition


MAX_FORM_BYTES = 1_000_000
"""The largest submission a survey's own form may produce (:func:`largest_submission_bytes`); a
definition beyond it is refused when saved (the ceiling of ``max_submission_bytes`` too)."""
NUMBER_MAX_CHARS = 40
"""The ``maxlength`` of a number question's field (templates/survey/form.html)."""
_PART_OVERHEAD = 160
"""Bytes around one field's value, whichever encoding the browser uses: ``name=…&`` when
url-encoded; the boundary line, ``Content-Disposition: form-data; name="…"`` and blank lines when
multipart (a WebKit boundary is 38 characters)."""
_BYTES_PER_CHAR = 9
"""A character counted by ``maxlength`` (one UTF-16 unit) is at most 3 UTF-8 bytes (a Vietnamese
letter with its marks, ``ệ``), each written ``%XX`` when url-encoded; a line break (one unit) is
sent as CR LF, ``%0D%0A``."""


def largest_submission_bytes(definition: SurveyDefinition) -> int:
    """The largest body a browser can send from this survey's form, filled to every ``maxlength``
    (every option of a multiple choice ticked): the payload limit must never be below it, or a
    citizen who wrote long answers the form itself allowed would lose them all to a 413."""
    from .forms import field_name  # forms imports this module

    total = 2_000  # the hidden fields (form token, submission id, version) and the honeypot
    for q in definition.questions:
        name = len(field_name(q.key))
        if q.type.value == "multiple":
            total += sum(_PART_OVERHEAD + name + len(o.key) for o in q.options)
        elif q.type.has_options:
            total += _PART_OVERHEAD + name + max(len(o.key) for o in q.options)
        else:
            if q.type.value == "number":
                chars = NUMBER_MAX_CHARS
            else:
                chars = q.max_length or (200 if q.type.value == "short_text" else 2000)
            total += _PART_OVERHEAD + name + _BYTES_PER_CHAR * chars
    if definition.ask_contact:  # consent box, name (100 characters), phone (20)
        total += 3 * _PART_OVERHEAD + 30 + _BYTES_PER_CHAR * 120
    return total


def submission_limit(db: Database, survey_id: str, floor: int) -> int:
    """The payload limit of a survey's submissions: ``floor`` (the ``max_submission_bytes``
    setting) or, when larger, what the form of any of its versions can send — a citizen may be
    answering a version opened before an edit."""
    rows = db.execute("select fingerprint, definition from survey_versions where survey_id = ?",
                      [survey_id]).fetchall()
    return max([floor, *(largest_submission_bytes(_parse_version(f, d)) for f, d in rows)])


def save_survey(db: Database, definition: SurveyDefinition, *, by: str | None = None, note: str | None = None,
                now: dt.datetime | None = None) -> tuple[int, bool]:
    """Store ``definition`` as the survey's next version unless it equals the current one.

    Returns (version, created). A question key that changes type across versions is refused
    (:class:`DefinitionError`): results aggregate answers by key. So is a survey whose form could
    send more than :data:`MAX_FORM_BYTES` (text questions with a huge ``max_length``): the payload
    limit follows the form (:func:`largest_submission_bytes`) and must stay bounded.
    """
    size = largest_submission_bytes(definition)
    if size > MAX_FORM_BYTES:
        longest = sorted((q for q in definition.questions if q.type.value in ("short_text", "long_text")),
                         key=lambda q: -(q.max_length or 0))[:3]
        def dotted(number: int) -> str:  # thousands with dots, as Vietnamese writes them
            return f"{number:,}".replace(",", ".")

        raise DefinitionError([
            f"phiếu khảo sát có thể gửi tới {dotted(size)} byte khi điền đủ mọi ô, quá giới hạn "
            f"{dotted(MAX_FORM_BYTES)} byte; hãy giảm max_length của các câu trả lời bằng chữ (dài nhất: "
            + ", ".join(f"{q.key} = {q.max_length or 'mặc định'}" for q in longest) + ")."])
    now_text = utc_now_iso(now)
    with write_transaction(db):
        row = db.execute("select current_version from survey_surveys where id = ?", [definition.id]).fetchone()
        if row is None:
            db.execute(
                "insert into survey_surveys (id, title, current_version, status, created_at, updated_at) "
                "values (?, ?, 1, 'open', ?, ?)", [definition.id, definition.title, now_text, now_text])
            version = 1
        else:
            current = db.execute("select fingerprint from survey_versions where survey_id = ? and version = ?",
                                 [definition.id, row[0]]).fetchone()
            if current and current[0] == definition.fingerprint:
                return row[0], False
            previous = [definition_from_json(r[0]) for r in db.execute(
                "select definition from survey_versions where survey_id = ? order by version", [definition.id])]
            problems = check_evolution(previous, definition)
            if problems:
                raise DefinitionError(problems)
            version = row[0] + 1
            db.execute("update survey_surveys set title = ?, current_version = ?, updated_at = ? where id = ?",
                       [definition.title, version, now_text, definition.id])
        db.execute(
            "insert into survey_versions (survey_id, version, definition, fingerprint, created_at, created_by, note) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            [definition.id, version, definition.to_json(), definition.fingerprint, now_text, by, note])
    return version, True


def get_survey(db: Database, survey_id: str) -> SurveyRecord | None:
    """The survey with ``survey_id``, or None."""
    row = next(db.query("select * from survey_surveys where id = ?", [survey_id]), None)
    return SurveyRecord(**row) if row else None


def list_surveys(db: Database) -> list[SurveyRecord]:
    """Every survey, newest first."""
    return [SurveyRecord(**r) for r in db.query("select * from survey_surveys order by created_at desc, id")]


def get_version(db: Database, survey_id: str, version: int | None = None) -> SurveyDefinition:
    """A version's definition (default: the current one). Parsed versions are cached by fingerprint."""
    if version is None:
        row = db.execute(
            "select v.fingerprint, v.definition from survey_versions v join survey_surveys s "
            "on s.id = v.survey_id and s.current_version = v.version where s.id = ?", [survey_id]).fetchone()
    else:
        row = db.execute("select fingerprint, definition from survey_versions where survey_id = ? and version = ?",
                         [survey_id, version]).fetchone()
    if row is None:
        raise SurveyError(f"khảo sát “{survey_id}” không có phiên bản {version}" if version
                          else f"không có khảo sát nào có mã “{survey_id}”")
    return _parse_version(row[0], row[1])


def versions(db: Database, survey_id: str) -> list[dict]:
    """(version, created_at, created_by, note, responses) of every version, newest first."""
    return list(db.query(
        "select v.version, v.created_at, v.created_by, v.note, "
        "(select count(*) from survey_responses r where r.survey_id = v.survey_id and r.version = v.version) as responses "
        "from survey_versions v where v.survey_id = ? order by v.version desc", [survey_id]))


def set_status(db: Database, survey_id: str, status: str) -> None:
    """Open or close a survey (a closed survey's posters show a notice instead of the form)."""
    if status not in ("open", "closed"):
        raise SurveyError("trạng thái phải là open (mở) hoặc closed (đóng)")
    with write_transaction(db):
        if not db.execute("update survey_surveys set status = ?, updated_at = ? where id = ?",
                          [status, utc_now_iso(), survey_id]).rowcount:
            raise SurveyError(f"không có khảo sát nào có mã “{survey_id}”")


# -- placements --------------------------------------------------------------------------------


@attrs.frozen
class Placement:
    """One printed poster (or a kiosk tablet) at one place of one unit."""

    id: int
    code: str
    survey_id: str
    unit_id: str
    place: str
    mode: str
    created_at: str
    retired_at: str | None = None

    @property
    def is_kiosk(self) -> bool:
        """A tablet at a counter: many citizens, one device."""
        return self.mode == "kiosk"

    @property
    def active(self) -> bool:
        """Not retired."""
        return self.retired_at is None


def normalise_code(text: str) -> str:
    """A code as typed from a poster: upper case (the alphabet has no letters that look alike)."""
    return (text or "").strip().upper()


def is_valid_code(code: str) -> bool:
    """Whether ``code`` could be a placement code."""
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def new_code() -> str:
    """A random short code (31^6 ≈ 887 million possibilities)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def placement_url(base_url: str, settings: SurveySettings, code: str) -> str:
    """What the QR code carries: ``<public_base_url>/<short_path>/<code>``."""
    return f"{base_url.rstrip('/')}/{settings.short_path}/{code}"


def add_placement(db: Database, plan: Plan, survey_id: str, unit_id: str, place: str, *, mode: str = "poster",
                  now: dt.datetime | None = None) -> Placement:
    """Create a placement with a fresh code."""
    if not plan.has_unit(unit_id):
        raise SurveyError(f"đơn vị “{unit_id}” không có trong kế hoạch")
    place = clean(place or "")
    if not place:
        raise SurveyError("chưa ghi nơi đặt (ví dụ “Quầy tiếp nhận hồ sơ”)")
    if len(place) > 200:
        raise SurveyError(f"nơi đặt dài {len(place)} ký tự, tối đa 200")
    if mode not in ("poster", "kiosk"):
        raise SurveyError(f"kiểu nơi đặt “{mode}” không hợp lệ: poster hoặc kiosk")
    with write_transaction(db):
        if not db.execute("select 1 from survey_surveys where id = ?", [survey_id]).fetchone():
            raise SurveyError(f"không có khảo sát nào có mã “{survey_id}”")
        # The code and id come from the core's placements, shared by every public page (a
        # survey poster's code can never be a feedback form's); this row holds the survey's part.
        shared = placements.add_placement(db, plan, f"survey:{survey_id}", unit_id, place, mode=mode, now=now)
        placement_id = db.execute(
            "insert into survey_placements (id, code, survey_id, unit_id, place, mode, created_at) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            [shared.id, shared.code, survey_id, unit_id, place, mode, shared.created_at]).lastrowid
    return get_placement_by_id(db, placement_id)


def place_for_kind(db: Database, plan: Plan, survey_id: str, kind: str, place: str | None = None,
                   *, mode: str = "poster", within: str | None = None) -> tuple[list[Placement], list[Placement]]:
    """One placement for every active unit of ``kind`` (optionally below ``within``) that has no active
    placement of this survey yet. Returns (created, already there)."""
    units = [u for u in plan.units if u.kind == kind and u.retired_on is None and not u.external
             and (within is None or plan.is_within(u.id, within))]
    if not units:
        raise SurveyError(f"không có đơn vị nào thuộc loại “{kind}”" + (f" trong “{within}”" if within else ""))
    existing = {p.unit_id: p for p in list_placements(db, survey_id=survey_id) if p.active}
    created, kept = [], []
    for unit in units:
        if unit.id in existing:
            kept.append(existing[unit.id])
        else:
            created.append(add_placement(db, plan, survey_id, unit.id, place or unit.name, mode=mode))
    return created, kept


def _placement(row) -> Placement | None:
    return Placement(**row) if row else None


def get_placement(db: Database, code: str) -> Placement | None:
    """The placement with ``code`` (normalised), or None."""
    return _placement(next(db.query("select * from survey_placements where code = ?", [normalise_code(code)]), None))


def get_placement_by_id(db: Database, placement_id: int) -> Placement | None:
    """The placement with ``placement_id``, or None."""
    return _placement(next(db.query("select * from survey_placements where id = ?", [placement_id]), None))


def list_placements(db: Database, *, survey_id: str | None = None, plan: Plan | None = None,
                    within: str | None = None, active_only: bool = False) -> list[Placement]:
    """Placements, optionally of one survey and within a unit's subtree, by unit and place."""
    sql = "select * from survey_placements"
    args: list = []
    if survey_id:
        sql += " where survey_id = ?"
        args.append(survey_id)
    sql += " order by unit_id, place, id"
    found = [Placement(**r) for r in db.query(sql, args)]
    if active_only:
        found = [p for p in found if p.active]
    if within is not None and plan is not None:
        found = [p for p in found if plan.has_unit(p.unit_id) and plan.is_within(p.unit_id, within)]
    return found


def retire_placement(db: Database, code: str, now: dt.datetime | None = None) -> Placement:
    """Take a poster down: its link then shows a notice; its responses stay."""
    with write_transaction(db):
        at = utc_now_iso(now)
        changed = db.execute("update survey_placements set retired_at = ? where code = ? and retired_at is null",
                             [at, normalise_code(code)]).rowcount
        db.execute("update placements set retired_at = ? where code = ? and retired_at is null",
                   [at, normalise_code(code)])
    placement = get_placement(db, code)
    if placement is None:
        raise SurveyError(f"không có nơi đặt nào có mã “{code}”")
    if not changed:
        raise SurveyError(f"nơi đặt {placement.code} đã gỡ trước đó")
    return placement


@attrs.frozen
class Entry:
    """What the citizen page needs about a code: the placement, its survey and the current version."""

    placement: Placement
    survey_status: str
    version: int
    definition: SurveyDefinition


def entry_for(db: Database, code: str) -> Entry | None:
    """One query for the citizen page: placement, survey status and current version's fingerprint.
    The definition itself (a few KB of JSON, on overflow pages) is read and parsed only the first
    time a worker meets that fingerprint: the busiest path reads a handful of small rows."""
    row = db.execute(
        "select p.id, p.code, p.survey_id, p.unit_id, p.place, p.mode, p.created_at, p.retired_at, "
        "s.status, s.current_version, v.fingerprint from survey_placements p "
        "join survey_surveys s on s.id = p.survey_id "
        "join survey_versions v on v.survey_id = s.id and v.version = s.current_version where p.code = ?",
        [code]).fetchone()
    if row is None:
        return None
    placement = Placement(*row[:8])
    definition = _DEFINITIONS.get(row[10]) or _parse_version(row[10], db.execute(
        "select definition from survey_versions where survey_id = ? and version = ?", [row[2], row[9]]).fetchone()[0])
    return Entry(placement, row[8], row[9], definition)


# -- scans and look-ups -------------------------------------------------------------------------

LOOKUP_BUCKET = "survey-lookup"


@attrs.frozen
class Scan:
    """A page view of a placement's survey to count as a scan: the view has decided it is the
    device's first of the day there (a phone's device cookie carries a signed mark of its last
    counted scan; an enrolled tablet's is checked here)."""

    placement_id: int
    device: str | None
    """For an enrolled kiosk tablet, its key (counted once a day here); None for anything else."""
    address: str | None
    """The keyed hash of the client address (None for an enrolled kiosk tablet): one address adds
    at most ``scan_devices_per_address_per_day`` devices to a placement's scans a day."""


def record_visit(db: Database, settings: SurveySettings, *, address: str | None, known: bool,
                 scan: Scan | None = None, now: dt.datetime | None = None) -> ratelimit.Decision:
    """A citizen's request that names a placement code. A code that does not exist is counted
    against the client address's limit (``unknown_codes_per_address_per_hour``, one upsert in its
    own short transaction: the attacker's path); a known one is only checked against it (one read),
    and a page view within it is counted as a scan (once per device per placement per day) in one
    short transaction (the view decided it is the device's first that day). ``address`` None:
    exempt (an enrolled tablet). Returns the limit's decision
    (allowed when no limit applies)."""
    limit = settings.unknown_codes_per_address_per_hour
    now = now or utc_now()
    decision = ratelimit.Decision(True)
    if limit and address:
        rule = ratelimit.Limit(limit, 3600)
        decision = (ratelimit.peek(db, LOOKUP_BUCKET, address, rule, now) if known
                    else ratelimit.hit(db, LOOKUP_BUCKET, address, rule, now))
    if decision.allowed and known and scan is not None:
        with hot_write(db):
            _count_scan(db, settings, scan, local_day(now))
    return decision


_RETURNING = sqlite3.sqlite_version_info >= (3, 35)


def _count_scan(db: Database, settings: SurveySettings, scan: Scan, day: int) -> None:
    """Inside the caller's transaction: the address's count of new devices at the placement today
    (one upsert) and the daily count; an enrolled tablet's key for the day instead."""
    pid = scan.placement_id
    if scan.address is None:  # an enrolled tablet: once a day, no per-address count
        if not db.execute("insert into survey_scan_keys (placement_id, day, key) values (?, ?, ?) "
                          "on conflict do nothing", [pid, day, "d" + (scan.device or "")[:32]]).rowcount:
            return  # counted today
    else:
        key = "a" + scan.address[:32]
        upsert = ("insert into survey_scan_keys (placement_id, day, key) values (?, ?, ?) "
                  "on conflict do update set n = n + 1")
        if _RETURNING:  # the count in the same statement (SQLite 3.35+)
            devices = db.conn.execute(upsert + " returning n", [pid, day, key]).fetchone()[0]
        else:
            db.execute(upsert, [pid, day, key])
            devices = db.execute("select n from survey_scan_keys where placement_id = ? and day = ? and key = ?",
                                 [pid, day, key]).fetchone()[0]
        if devices == 1:  # a new address today: now and then, forget the placement's earlier days
            db.execute("delete from survey_scan_keys where placement_id = ? and day < ?", [pid, day])
        if devices > settings.scan_devices_per_address_per_day:
            return
    db.execute("insert into survey_daily (placement_id, day, scans) values (?, ?, 1) "
               "on conflict (placement_id, day) do update set scans = scans + 1", [pid, day])


def record_scan(db: Database, placement_id: int, now: dt.datetime | None = None) -> None:
    """Count one scan without the once-per-device rule (for imports and tests): one upsert."""
    day = local_day(now or utc_now())
    with hot_write(db):
        db.execute("insert into survey_daily (placement_id, day, scans) values (?, ?, 1) "
                   "on conflict (placement_id, day) do update set scans = scans + 1", [placement_id, day])


# -- kiosk tablets -------------------------------------------------------------------------------

ENROLMENT_LENGTH = 8
"""An enrolment code: 8 characters of :data:`CODE_ALPHABET` (31^8 ≈ 850 billion), typed as two
groups of four (``7KQ2-MXH9``) when the tablet cannot scan."""


@attrs.frozen
class KioskDevice:
    """A tablet enrolled for a kiosk placement: the server keeps only a keyed hash of its secret."""

    id: int
    placement_id: int
    label: str
    enrolled_at: str
    enrolled_by: str | None
    last_seen_at: str | None
    revoked_at: str | None
    revoked_by: str | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


_DEVICE_COLUMNS = "id, placement_id, label, enrolled_at, enrolled_by, last_seen_at, revoked_at, revoked_by"


def new_enrolment_code() -> str:
    """A random enrolment code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(ENROLMENT_LENGTH))


def normalise_enrolment_code(text: str) -> str:
    """An enrolment code as typed: spaces and dashes dropped, upper case."""
    return "".join(ch for ch in (text or "")[:40] if ch not in " -\t").upper()


def is_valid_enrolment_code(code: str) -> bool:
    """Whether ``code`` (normalised) could be an enrolment code."""
    return len(code) == ENROLMENT_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def create_enrolment(db: Database, placement: Placement, code_hash: str, label: str, *, by: str | None,
                     minutes: int, now: dt.datetime | None = None) -> dt.datetime:
    """Store a new enrolment code (its keyed hash) for a kiosk placement; the placement's earlier
    unused codes stop working. Returns when the new one expires."""
    if not placement.is_kiosk or not placement.active:
        raise SurveyError(f"nơi đặt {placement.code} không phải máy tính bảng đang dùng")
    now = now or utc_now()
    expires = now + dt.timedelta(minutes=minutes)
    with write_transaction(db):
        db.execute("update survey_kiosk_enrolments set expires_at = ? where placement_id = ? and used_at is null "
                   "and expires_at > ?", [utc_now_iso(now), placement.id, utc_now_iso(now)])
        db.execute("insert into survey_kiosk_enrolments (placement_id, code_hash, label, created_at, created_by, "
                   "expires_at) values (?, ?, ?, ?, ?, ?)",
                   [placement.id, code_hash, label, utc_now_iso(now), by, utc_now_iso(expires)])
    return expires


def enrol_device(db: Database, placement: Placement, code_hash: str, secret_hash: str,
                 now: dt.datetime | None = None) -> KioskDevice | None:
    """Use an enrolment code (once, before it expires, for its own placement) to enrol a tablet
    whose device secret hashes to ``secret_hash``. None when the code is wrong, used, expired or
    another placement's: the caller answers all of these alike."""
    now_text = utc_now_iso(now)
    with write_transaction(db):
        row = db.execute(
            "select e.id, e.label, e.created_by from survey_kiosk_enrolments e "
            "join survey_placements p on p.id = e.placement_id "
            "where e.code_hash = ? and e.placement_id = ? and e.used_at is null and e.expires_at > ? "
            "and p.mode = 'kiosk' and p.retired_at is null", [code_hash, placement.id, now_text]).fetchone()
        if row is None:
            return None
        device_id = db.execute(
            "insert into survey_kiosk_devices (placement_id, secret_hash, label, enrolled_at, enrolled_by, "
            "last_seen_at) values (?, ?, ?, ?, ?, ?)",
            [placement.id, secret_hash, row[1], now_text, row[2], now_text]).lastrowid
        db.execute("update survey_kiosk_enrolments set used_at = ?, device_id = ? where id = ?",
                   [now_text, device_id, row[0]])
    return get_kiosk_device(db, device_id)


def get_kiosk_device(db: Database, device_id: int) -> KioskDevice | None:
    """An enrolled tablet by id (revoked or not)."""
    row = db.execute(f"select {_DEVICE_COLUMNS} from survey_kiosk_devices where id = ?", [device_id]).fetchone()
    return KioskDevice(*row) if row else None


def active_kiosk_device(db: Database, placement_id: int, secret_hash: str) -> KioskDevice | None:
    """The tablet enrolled for this placement whose secret hashes to ``secret_hash``, if not revoked."""
    row = db.execute(f"select {_DEVICE_COLUMNS} from survey_kiosk_devices where secret_hash = ? "
                     "and placement_id = ? and revoked_at is null", [secret_hash, placement_id]).fetchone()
    return KioskDevice(*row) if row else None


def list_kiosk_devices(db: Database, placement_id: int) -> list[KioskDevice]:
    """The placement's tablets, enrolled ones first, newest first."""
    return [KioskDevice(*r) for r in db.execute(
        f"select {_DEVICE_COLUMNS} from survey_kiosk_devices where placement_id = ? "
        "order by revoked_at is not null, id desc", [placement_id])]


def pending_enrolment(db: Database, placement_id: int, now: dt.datetime | None = None) -> dict | None:
    """The placement's enrolment code still waiting for a tablet (its label and expiry), if any."""
    row = db.execute("select label, created_by, expires_at from survey_kiosk_enrolments where placement_id = ? "
                     "and used_at is null and expires_at > ? order by id desc limit 1",
                     [placement_id, utc_now_iso(now)]).fetchone()
    return {"label": row[0], "created_by": row[1], "expires_at": row[2]} if row else None


def revoke_kiosk_device(db: Database, placement_id: int, device_id: int, *, by: str | None,
                        now: dt.datetime | None = None) -> bool:
    """Revoke an enrolled tablet (call inside the action's write transaction): its answers then go
    through the public limits like a phone's. False if it was not enrolled there or already revoked."""
    return bool(db.execute("update survey_kiosk_devices set revoked_at = ?, revoked_by = ? where id = ? "
                           "and placement_id = ? and revoked_at is null",
                           [utc_now_iso(now), by, device_id, placement_id]).rowcount)


# -- submissions -------------------------------------------------------------------------------


@attrs.frozen
class Contact:
    """Contact details a citizen chose to leave, with consent (personal data)."""

    name: str | None
    phone: str | None
    phone_hash: str | None = None
    """The keyed hash ``ccch privacy erase`` finds the person by (computed where the secret is)."""


@attrs.frozen
class Submission:
    """A checked submission, ready to store."""

    entry: Entry
    answers: Mapping[str, tuple[str, ...]]
    submission_id: str
    device_key: str | None
    client_key: str
    contact: Contact | None = None
    kiosk_device_id: int | None = None
    """The enrolled tablet it came from (the view checked its device secret): only then is a
    kiosk placement's submission a kiosk answer; anything else posting to a kiosk code goes through
    the public limits, like a phone scanning a poster."""
    issued_at: float | None = None
    """When the server handed out the form it answers (its form token's time), for the "too fast"
    flag; None when that is not known (answers kept by a kiosk and sent later)."""

    @property
    def as_kiosk(self) -> bool:
        """A kiosk answer: a kiosk placement's, from a tablet enrolled for it."""
        return self.entry.placement.is_kiosk and self.kiosk_device_id is not None

    @property
    def channel(self) -> str:
        """``poster``, ``kiosk`` (an enrolled tablet) or ``kiosk_unenrolled`` (a kiosk code answered
        from anything else)."""
        if not self.entry.placement.is_kiosk:
            return "poster"
        return "kiosk" if self.as_kiosk else "kiosk_unenrolled"


class Outcome(str, enum.Enum):
    """What became of a submission."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    """The same submission id was stored before (a double tap, a resend): nothing new stored."""
    DEVICE_LIMIT = "device_limit"
    RATE_LIMITED = "rate_limited"


@attrs.frozen
class Result:
    """The outcome, the response id (stored or earlier), and a retry delay for rate limits."""

    outcome: Outcome
    response_id: int | None = None
    retry_after: int = 0
    flagged: tuple[str, ...] = ()
    """The kinds of flag a stored response got (:data:`FLAG_KINDS`)."""


def _device_count(db: Database, survey_id: str, device_key: str, day: int) -> int:
    return db.execute("select count(*) from survey_responses where survey_id = ? and device_key = ? and day = ?",
                      [survey_id, device_key, day]).fetchone()[0]


def device_answered_today(db: Database, settings: SurveySettings, entry: Entry, device_key: str,
                          now: dt.datetime | None = None, *, as_kiosk: bool | None = None) -> bool:
    """Whether this device has used up its responses to the entry's survey for today (the
    once-a-day rule; never for a kiosk answer: ``as_kiosk``, by default whether the placement is a
    kiosk, is False for a kiosk code opened on a device that is not enrolled). One read of a
    partial index, no write: the survey page asks it to say so before the citizen fills in the form."""
    per_day = settings.responses_per_device_per_day
    if as_kiosk is None:
        as_kiosk = entry.placement.is_kiosk
    if not per_day or as_kiosk:
        return False
    return _device_count(db, entry.placement.survey_id, device_key, local_day(now or utc_now())) >= per_day


FLAG_KINDS = {
    "address_burst": "Nhiều phiếu từ cùng một địa chỉ mạng",
    "identical_answers": "Trùng hệt câu trả lời của nhiều phiếu khác",
    "too_fast": "Gửi nhanh hơn thời gian đọc câu hỏi",
    "kiosk_burst": "Nhiều phiếu liên tiếp từ một máy tính bảng tại quầy",
}
"""Why a response is flagged → what the officers' pages show."""
IDENTICAL_WINDOW = 600
"""Seconds before a submission in which identical answer sets at its placement are looked for."""
SUBMIT_BUCKET = "survey-submit"
_NO_LIMIT = 10**12


def reading_seconds(definition: SurveyDefinition, answered: Iterable[str], chars_per_second: int) -> int:
    """How long a person needs at least to skim the questions they answered: the characters of
    their prompts (and of the options of a choice question; the five satisfaction labels repeat and
    are read once) at ``chars_per_second`` — a generous speed, so that only answers nobody could
    have read are flagged."""
    if chars_per_second <= 0:
        return 0
    keys = set(answered)
    chars = 0
    for q in definition.questions:
        if q.key in keys:
            chars += len(q.prompt)
            if q.type.has_options and q.type is not QuestionType.SCALE5:
                chars += sum(len(o.label) for o in q.options)
    return int(chars / chars_per_second)


def _hhmm(instant: dt.datetime) -> str:
    return to_local(instant).strftime("%H:%M")


def _answers_fingerprint(answer_rows: Sequence[tuple]) -> str:
    """16 hex characters naming a response's answers (the rows are in question order)."""
    return hashlib.blake2b(repr(answer_rows).encode(), digest_size=8).hexdigest()


def store_submission(db: Database, settings: SurveySettings, submission: Submission,
                     now: dt.datetime | None = None) -> Result:
    """Store a submission in one short write transaction (see the module docstring).

    Flags are decided here, in the same transaction, without reading earlier responses' rows: the
    client address's hourly count (the same counter as its rate limit) above
    ``flag_responses_per_address_per_hour``; ``flag_identical_answers`` identical answer sets or
    more at the placement in the 10 minutes before it (one bounded read of an index); an answer sent
    sooner after its form was handed out than ``reading_seconds``. A flagged response still counts
    until an officer excludes it; its answers are also added to the flagged tallies, so that results
    can leave it out."""
    now = now or utc_now()
    entry = submission.entry
    placement = entry.placement
    as_kiosk = submission.as_kiosk
    day = local_day(now)
    definition = entry.definition
    answer_rows: list[tuple] = []
    tally_rows: list[tuple] = []
    for question in definition.questions:
        values = submission.answers.get(question.key, ())
        if not values:
            continue
        if question.type.has_options:
            for option_key in values:
                answer_rows.append((question.key, option_key, None))
                tally_rows.append((placement.survey_id, day, question.key, placement.id, option_key))
        else:
            answer_rows.append((question.key, "", values[0]))
    flags: list[tuple[str, str]] = []
    if submission.issued_at is not None and settings.flag_reading_chars_per_second:
        answered = {row[0] for row in answer_rows}
        needed = reading_seconds(definition, answered, settings.flag_reading_chars_per_second)
        elapsed = now.timestamp() - submission.issued_at
        if elapsed < needed:
            detail = (f"Gửi sau {max(0, int(elapsed))} giây kể từ khi trang khảo sát được mở; chỉ đọc lướt "
                      f"{len(answered)} câu đã trả lời cũng cần khoảng {needed} giây.")
            flags.append(("too_fast", detail))
    per_day = settings.responses_per_device_per_day
    device_rule = bool(per_day and not as_kiosk and submission.device_key)
    if as_kiosk:
        limit, key, flag_at = settings.kiosk_submissions_per_hour, f"kiosk:{placement.id}", 0
    else:
        limit, key = settings.submissions_per_address_per_hour, submission.client_key
        flag_at = settings.flag_responses_per_address_per_hour if key else 0
    identical_at = settings.flag_identical_answers
    answers_key = _answers_fingerprint(answer_rows) if identical_at and answer_rows else None
    if answers_key is not None:
        since = now - dt.timedelta(seconds=IDENTICAL_WINDOW)
        since_day, since_text = local_day(since), utc_now_iso(since)
    with hot_write(db):
        if limit or device_rule:
            # A resend is recognised before it can use up a limit (one read; without a limit the
            # unique index below decides, and a rare resend counts twice towards a flag's counter).
            earlier = db.execute("select id from survey_responses where submission_id = ?",
                                 [submission.submission_id]).fetchone()
            if earlier:
                return Result(Outcome.DUPLICATE, earlier[0])
        # The once-a-day refusal before the rate limit: the limit counts stored submissions per
        # address, and a device that already answered must not use up its neighbours' share.
        if device_rule and _device_count(db, placement.survey_id, submission.device_key, day) >= per_day:
            return Result(Outcome.DEVICE_LIMIT)
        if limit or flag_at:
            # One counter for the limit and the flag: the flag's threshold is the lower.
            decision = ratelimit.hit(db, SUBMIT_BUCKET, key, ratelimit.Limit(limit or _NO_LIMIT, 3600), now)
            if limit and not decision.allowed:
                return Result(Outcome.RATE_LIMITED, retry_after=decision.retry_after)
            if flag_at and decision.count > flag_at:
                hour = to_local(now).hour
                detail = (f"Phiếu thứ {decision.count} gửi từ cùng một địa chỉ mạng trong khung giờ {hour}:00–"
                          f"{(hour + 1) % 24}:00 (đánh dấu khi quá {flag_at} phiếu một giờ, dù mỗi phiếu mang một "
                          f"mã thiết bị khác).")
                flags.append(("address_burst", detail))
        tablet_at = settings.flag_kiosk_responses_per_hour if as_kiosk and submission.kiosk_device_id else 0
        if tablet_at:
            # The tablet's own hourly count (the kiosk's limit counts the placement, all its tablets).
            tablet = ratelimit.hit(db, SUBMIT_BUCKET, f"kiosk-device:{submission.kiosk_device_id}",
                                   ratelimit.Limit(_NO_LIMIT, 3600), now)
            if tablet.count > tablet_at:
                hour = to_local(now).hour
                detail = (f"Phiếu thứ {tablet.count} từ cùng một máy tính bảng trong khung giờ {hour}:00–"
                          f"{(hour + 1) % 24}:00 (đánh dấu khi quá {tablet_at} phiếu một giờ: một quầy tiếp "
                          f"khoảng một người dân mỗi vài phút).")
                flags.append(("kiosk_burst", detail))
        if answers_key is not None:
            # One bounded read of an index: at most ``identical_at`` earlier identical answer sets.
            # "day in (…)", not "between": equality on the day lets the index seek on every column.
            same = db.execute(
                "select count(*) from (select 1 from survey_responses where survey_id = ? and day in (?, ?) "
                "and placement_id = ? and answers_key = ? and submitted_at >= ? limit ?)",
                [placement.survey_id, since_day, day, placement.id, answers_key, since_text,
                 identical_at]).fetchone()[0]
            if same >= identical_at:
                detail = (f"Trong 10 phút trước phiếu này ({_hhmm(since)}–{_hhmm(now)}), nơi đặt này đã nhận ít "
                          f"nhất {same} phiếu có câu trả lời giống hệt.")
                flags.append(("identical_answers", detail))
        # The unique index on the submission id decides: a double tap or a resend inserts nothing.
        cursor = db.conn.execute(
            "insert into survey_responses (survey_id, version, placement_id, unit_id, submitted_at, day, "
            "submission_id, device_key, channel, flag_state, kiosk_device_id, answers_key) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (submission_id) do nothing",
            [placement.survey_id, entry.version, placement.id, placement.unit_id, utc_now_iso(now), day,
             submission.submission_id, None if as_kiosk else submission.device_key, submission.channel,
             1 if flags else 0, submission.kiosk_device_id if as_kiosk else None, answers_key])
        if not cursor.rowcount:
            earlier = db.execute("select id from survey_responses where submission_id = ?",
                                 [submission.submission_id]).fetchone()
            return Result(Outcome.DUPLICATE, earlier[0] if earlier else None)
        response_id = cursor.lastrowid
        db.conn.executemany("insert into survey_answers (response_id, question_key, option_key, value) "
                            "values (?, ?, ?, ?)", [(response_id, *row) for row in answer_rows])
        if tally_rows:
            db.conn.executemany(
                "insert into survey_tallies (survey_id, day, question_key, placement_id, option_key, n) "
                "values (?, ?, ?, ?, ?, 1) on conflict do update set n = n + 1", tally_rows)
        db.execute("insert into survey_daily (placement_id, day, responses, flagged) values (?, ?, 1, ?) "
                   "on conflict (placement_id, day) do update set responses = responses + 1, "
                   "flagged = flagged + excluded.flagged", [placement.id, day, 1 if flags else 0])
        if flags:
            db.conn.executemany("insert into survey_flags (response_id, kind, detail) values (?, ?, ?)",
                                [(response_id, kind, detail) for kind, detail in flags])
            if tally_rows:
                db.conn.executemany(
                    "insert into survey_flagged_tallies (survey_id, day, question_key, placement_id, option_key, n) "
                    "values (?, ?, ?, ?, ?, 1) on conflict do update set n = n + 1", tally_rows)
        if as_kiosk:
            # Last seen, written at most every five minutes (a no-op update otherwise).
            db.execute("update survey_kiosk_devices set last_seen_at = ?1 where id = ?2 and "
                       "(last_seen_at is null or last_seen_at < ?3)",
                       [utc_now_iso(now), submission.kiosk_device_id, utc_now_iso(now - dt.timedelta(minutes=5))])
        if submission.contact is not None:
            db.execute("insert into survey_contacts (response_id, name, phone, phone_hash, consent_at) "
                       "values (?, ?, ?, ?, ?)", [response_id, submission.contact.name, submission.contact.phone,
                                                  submission.contact.phone_hash, utc_now_iso(now)])
    return Result(Outcome.STORED, response_id, flagged=tuple(kind for kind, _ in flags))


def _adjust_counts(db: Database, response_id: int, survey_id: str, placement_id: int, day: int, *,
                   tallies: int = 0, flagged: int = 0) -> None:
    """Add ``tallies`` to the response's options in the tallies and to the day's responses, and
    ``flagged`` to its options in the flagged tallies and to the day's flagged count."""
    options = db.execute("select question_key, option_key from survey_answers where response_id = ? "
                         "and option_key != ''", [response_id]).fetchall()
    for table, step in (("survey_tallies", tallies), ("survey_flagged_tallies", flagged)):
        if step:
            db.conn.executemany(
                f"insert into {table} (survey_id, day, question_key, placement_id, option_key, n) "
                "values (?, ?, ?, ?, ?, ?) on conflict do update set n = n + excluded.n",
                [(survey_id, day, q, placement_id, o, step) for q, o in options])
    db.execute("insert into survey_daily (placement_id, day, responses, flagged) values (?, ?, ?, ?) "
               "on conflict (placement_id, day) do update set responses = responses + excluded.responses, "
               "flagged = flagged + excluded.flagged", [placement_id, day, tallies, flagged])


def exclude_response(db: Database, response_id: int, excluded: bool = True, reason: str | None = None) -> bool:
    """Leave a response out of (or back into) the results — for spam or a forgery an officer
    recognises, with the officer's ``reason``. The tallies, flagged tallies and daily counts are
    adjusted in the same transaction; the response itself is kept. Returns whether it changed."""
    with write_transaction(db):
        row = db.execute("select survey_id, placement_id, day, excluded, flag_state from survey_responses "
                         "where id = ?", [response_id]).fetchone()
        if row is None:
            raise SurveyError(f"không có phản hồi #{response_id}")
        survey_id, placement_id, day, was, flag_state = row
        if bool(was) == excluded:
            return False
        step = -1 if excluded else 1
        db.execute("update survey_responses set excluded = ?, excluded_reason = ? where id = ?",
                   [1 if excluded else 0, (reason or None) if excluded else None, response_id])
        _adjust_counts(db, response_id, survey_id, placement_id, day, tallies=step,
                       flagged=step if flag_state == 1 else 0)
    return True


def keep_flagged_response(db: Database, response_id: int) -> bool:
    """An officer looked at a flagged response and keeps it: it is no longer counted as flagged
    (its flags stay, as the record of why it was looked at). Returns whether it changed."""
    with write_transaction(db):
        row = db.execute("select survey_id, placement_id, day, excluded, flag_state from survey_responses "
                         "where id = ?", [response_id]).fetchone()
        if row is None:
            raise SurveyError(f"không có phản hồi #{response_id}")
        survey_id, placement_id, day, excluded, flag_state = row
        if flag_state != 1:
            return False
        db.execute("update survey_responses set flag_state = 2 where id = ?", [response_id])
        if not excluded:
            _adjust_counts(db, response_id, survey_id, placement_id, day, flagged=-1)
    return True


def retally(db: Database, survey_id: str | None = None) -> int:
    """Rebuild tallies, flagged tallies and daily response counts from the stored answers (scans are
    kept). Returns the number of tally rows written. For checking and for repairs; not needed normally."""
    where, args = ("where r.excluded = 0" + (" and r.survey_id = ?" if survey_id else "")), ([survey_id] if survey_id else [])
    with write_transaction(db):
        if survey_id:
            db.execute("delete from survey_tallies where survey_id = ?", [survey_id])
            db.execute("delete from survey_flagged_tallies where survey_id = ?", [survey_id])
            db.execute("update survey_daily set responses = 0, flagged = 0 where placement_id in "
                       "(select id from survey_placements where survey_id = ?)", [survey_id])
        else:
            db.execute("delete from survey_tallies")
            db.execute("delete from survey_flagged_tallies")
            db.execute("update survey_daily set responses = 0, flagged = 0")
        written = 0
        for table, condition in (("survey_tallies", ""), ("survey_flagged_tallies", " and r.flag_state = 1")):
            written += db.execute(
                f"insert into {table} (survey_id, day, question_key, placement_id, option_key, n) "
                "select r.survey_id, r.day, a.question_key, r.placement_id, a.option_key, count(*) "
                "from survey_answers a join survey_responses r on r.id = a.response_id "
                f"{where}{condition} and a.option_key != '' group by 1, 2, 3, 4, 5", args).rowcount
        db.execute(
            "insert into survey_daily (placement_id, day, responses, flagged) "
            f"select r.placement_id, r.day, count(*), sum(r.flag_state = 1) from survey_responses r {where} "
            "group by 1, 2 on conflict (placement_id, day) do update set responses = excluded.responses, "
            "flagged = excluded.flagged", args)
    return written


def forget_contacts(db: Database, phone: str | None = None, response_ids: Iterable[int] = ()) -> int:
    """Delete contact details (Decree 13/2023: the right to deletion); the anonymous answers stay."""
    with write_transaction(db):
        deleted = 0
        if phone:
            deleted += db.execute("delete from survey_contacts where phone = ?", [phone]).rowcount
        ids = list(response_ids)
        if ids:
            deleted += db.execute(f"delete from survey_contacts where response_id in ({', '.join('?' * len(ids))})",
                                  ids).rowcount
    return deleted


def response_answers(db: Database, response_ids: Sequence[int]) -> dict[int, dict[str, list[str]]]:
    """Stored answers of some responses: {response id: {question key: [option keys or the text]}}."""
    found: dict[int, dict[str, list[str]]] = {}
    if not response_ids:
        return found
    marks = ", ".join("?" * len(response_ids))
    for rid, key, option, value in db.execute(
            f"select response_id, question_key, option_key, value from survey_answers where response_id in ({marks})",
            list(response_ids)):
        found.setdefault(rid, {}).setdefault(key, []).append(option if option else value)
    return found
