"""Surveys, placements, scans and responses in the database.

The two hot paths — a scan (a GET of a poster's short URL) and a submission — are one short
``BEGIN IMMEDIATE`` transaction each (:func:`ccch_core.storage.write_transaction`). A submission
checks the submission id, the once-a-day rule and the rate limit, stores the response with its
answers and updates the tallies and daily counts, all in that one transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import secrets
from collections.abc import Iterable, Mapping, Sequence

import attrs
from sqlite_utils import Database

from ccch_core import ratelimit
from ccch_core.model import Plan
from ccch_core.periods import Period, to_local, utc_now
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
        for _ in range(20):
            code = new_code()
            if not db.execute("select 1 from survey_placements where code = ?", [code]).fetchone():
                break
        else:  # pragma: no cover - 20 collisions in a row means the code space is full
            raise SurveyError("không tìm được mã nơi đặt còn trống")
        placement_id = db.execute(
            "insert into survey_placements (code, survey_id, unit_id, place, mode, created_at) values (?, ?, ?, ?, ?, ?)",
            [code, survey_id, unit_id, place, mode, utc_now_iso(now)]).lastrowid
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
        changed = db.execute("update survey_placements set retired_at = ? where code = ? and retired_at is null",
                             [utc_now_iso(now), normalise_code(code)]).rowcount
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


# -- scans -------------------------------------------------------------------------------------


def record_scan(db: Database, placement_id: int, now: dt.datetime | None = None) -> None:
    """Count one scan (a GET of the poster's link): one upsert in one short transaction."""
    day = local_day(now or utc_now())
    with hot_write(db):
        db.execute("insert into survey_daily (placement_id, day, scans) values (?, ?, 1) "
                   "on conflict (placement_id, day) do update set scans = scans + 1", [placement_id, day])


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


def _device_count(db: Database, survey_id: str, device_key: str, day: int) -> int:
    return db.execute("select count(*) from survey_responses where survey_id = ? and device_key = ? and day = ?",
                      [survey_id, device_key, day]).fetchone()[0]


def device_answered_today(db: Database, settings: SurveySettings, entry: Entry, device_key: str,
                          now: dt.datetime | None = None) -> bool:
    """Whether this device has used up its responses to the entry's survey for today (the
    once-a-day rule; never for kiosks). One read of a partial index, no write: the survey page
    asks it to say so before the citizen fills in the form."""
    per_day = settings.responses_per_device_per_day
    if not per_day or entry.placement.is_kiosk:
        return False
    return _device_count(db, entry.placement.survey_id, device_key, local_day(now or utc_now())) >= per_day


def store_submission(db: Database, settings: SurveySettings, submission: Submission,
                     now: dt.datetime | None = None) -> Result:
    """Store a submission in one short write transaction (see the module docstring)."""
    now = now or utc_now()
    entry = submission.entry
    placement = entry.placement
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
    with hot_write(db):
        if placement.is_kiosk:
            limit, key = settings.kiosk_submissions_per_hour, f"kiosk:{placement.id}"
        else:
            limit, key = settings.submissions_per_address_per_hour, submission.client_key
        per_day = settings.responses_per_device_per_day
        if limit or (per_day and not placement.is_kiosk and submission.device_key):
            # A resend is recognised before it can use up a limit.
            earlier = db.execute("select id from survey_responses where submission_id = ?",
                                 [submission.submission_id]).fetchone()
            if earlier:
                return Result(Outcome.DUPLICATE, earlier[0])
        # The once-a-day refusal before the rate limit: the limit counts stored submissions per
        # address, and a device that already answered must not use up its neighbours' share.
        if per_day and not placement.is_kiosk and submission.device_key and \
                _device_count(db, placement.survey_id, submission.device_key, day) >= per_day:
            return Result(Outcome.DEVICE_LIMIT)
        if limit:
            decision = ratelimit.hit(db, "survey-submit", key, ratelimit.Limit(limit, 3600), now)
            if not decision.allowed:
                return Result(Outcome.RATE_LIMITED, retry_after=decision.retry_after)
        # The unique index on the submission id decides: a double tap or a resend inserts nothing.
        cursor = db.conn.execute(
            "insert into survey_responses (survey_id, version, placement_id, unit_id, submitted_at, day, "
            "submission_id, device_key, channel) values (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "on conflict (submission_id) do nothing",
            [placement.survey_id, entry.version, placement.id, placement.unit_id, utc_now_iso(now), day,
             submission.submission_id, None if placement.is_kiosk else submission.device_key, placement.mode])
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
        db.execute("insert into survey_daily (placement_id, day, responses) values (?, ?, 1) "
                   "on conflict (placement_id, day) do update set responses = responses + 1", [placement.id, day])
        if submission.contact is not None:
            db.execute("insert into survey_contacts (response_id, name, phone, phone_hash, consent_at) "
                       "values (?, ?, ?, ?, ?)", [response_id, submission.contact.name, submission.contact.phone,
                                                  submission.contact.phone_hash, utc_now_iso(now)])
    return Result(Outcome.STORED, response_id)


def exclude_response(db: Database, response_id: int, excluded: bool = True) -> None:
    """Leave a response out of (or back into) the results — for spam an officer recognises. The
    tallies and daily counts are adjusted in the same transaction; the response itself is kept."""
    with write_transaction(db):
        row = db.execute("select survey_id, placement_id, day, excluded from survey_responses where id = ?",
                         [response_id]).fetchone()
        if row is None:
            raise SurveyError(f"không có phản hồi #{response_id}")
        survey_id, placement_id, day, was = row
        if bool(was) == excluded:
            return
        step = -1 if excluded else 1
        db.execute("update survey_responses set excluded = ? where id = ?", [1 if excluded else 0, response_id])
        options = db.execute("select question_key, option_key from survey_answers where response_id = ? "
                             "and option_key != ''", [response_id]).fetchall()
        db.conn.executemany(
            "insert into survey_tallies (survey_id, day, question_key, placement_id, option_key, n) "
            "values (?, ?, ?, ?, ?, ?) on conflict do update set n = n + excluded.n",
            [(survey_id, day, q, placement_id, o, step) for q, o in options])
        db.execute("insert into survey_daily (placement_id, day, responses) values (?, ?, ?) "
                   "on conflict (placement_id, day) do update set responses = responses + excluded.responses",
                   [placement_id, day, step])


def retally(db: Database, survey_id: str | None = None) -> int:
    """Rebuild tallies and daily response counts from the stored answers (scans are kept).
    Returns the number of tally rows written. For checking and for repairs; not needed normally."""
    where, args = ("where r.excluded = 0" + (" and r.survey_id = ?" if survey_id else "")), ([survey_id] if survey_id else [])
    with write_transaction(db):
        if survey_id:
            db.execute("delete from survey_tallies where survey_id = ?", [survey_id])
            db.execute("update survey_daily set responses = 0 where placement_id in "
                       "(select id from survey_placements where survey_id = ?)", [survey_id])
        else:
            db.execute("delete from survey_tallies")
            db.execute("update survey_daily set responses = 0")
        written = db.execute(
            "insert into survey_tallies (survey_id, day, question_key, placement_id, option_key, n) "
            "select r.survey_id, r.day, a.question_key, r.placement_id, a.option_key, count(*) "
            "from survey_answers a join survey_responses r on r.id = a.response_id "
            f"{where} and a.option_key != '' group by 1, 2, 3, 4, 5", args).rowcount
        db.execute(
            "insert into survey_daily (placement_id, day, responses) "
            f"select r.placement_id, r.day, count(*) from survey_responses r {where} group by 1, 2 "
            "on conflict (placement_id, day) do update set responses = excluded.responses", args)
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
