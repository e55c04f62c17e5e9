"""Detection (phát hiện bài thi đáng ngờ): flags, with their evidence, for the contest manager to
review — issue #16, part 4.

Three detectors, each of an attack seen on the example contest:

- ``too_fast`` — an attempt answered faster than anyone can read it. Each question needs at least
  ``max(detect_min_seconds_per_question, characters of its prompt and options /
  detect_reading_chars_per_second)``; an attempt whose time taken is below the sum over the
  questions it answered is flagged. While the flag is not cleared the attempt is *implausible*:
  its time tie-break key is the worst (``counting.TIME_IMPLAUSIBLE``), so a 0.0-second answer sheet
  wins no tie.
- ``shared_source`` — many registrations from one address: ``detect_source_registrations =
  [count, seconds]`` registrations of the contest from one source (the keyed hash of the client's
  address, ``contest_registration_sources``) within ``seconds``; every registration inside such a
  burst is flagged. A commune office behind one address trips it too: the manager clears those.
- ``same_answers`` — two participants' attempts of a round with the same drawn questions and the
  same answers to each (``contest_attempts.answer_fingerprint``, indexed with the round and the
  submission time), submitted within ``detect_same_answers_seconds`` of each other with times taken
  within ``detect_same_duration_seconds``. Only answer sheets with at least one wrong or blank
  answer count: every sheet that answers everything right is identical, so identical *mistakes*
  are the evidence.

Detection runs after the fact, never on the submit path: ``ccch contest detect SLUG``, and every
time the manager opens the review queue or the prize lists (or closes a round from the command
line). Each attempt is looked at once (the partial index ``contest_attempts_unchecked`` lists the
attempts not yet looked at), in short transactions of :data:`BATCH` attempts.

The manager reviews each flag — or a whole group at once (one source, one answer sheet) — and
clears it or disqualifies (:mod:`.moderation`), always with a reason, each decision a line of the
contest's log and of the core's audit log. Prize lists hold back entries with flags nobody has
reviewed (``ranking.Winner.held``: shown as "chờ xem xét").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ccch_core.periods import utc_now
from ccch_core.storage import parse_utc, utc_now_iso
from ccch_core.text import clean

from .contests import Contest
from .counting import invalidate_rankings, set_implausible
from .journal import log
from .locking import serialized
from .moderation import disqualify_attempt, set_disqualified
from .ranking import refresh_truths
from .settings import settings_of
from .sql import query

KIND_LABELS = {
    "too_fast": "Làm bài nhanh hơn tốc độ đọc",
    "shared_source": "Nhiều đăng ký từ cùng một địa chỉ",
    "same_answers": "Bài làm giống hệt nhau, nộp gần như cùng lúc",
}
"""What each flag means, as the manager reads it."""

STATUS_LABELS = {"open": "Chờ xem xét", "cleared": "Đã xác nhận hợp lệ", "disqualified": "Đã loại"}
DECISIONS = {"clear": "cleared", "disqualify": "disqualified"}
MAX_REASON = 500
BATCH = 2000
"""Attempts looked at per transaction (a short write, so submissions are not kept waiting)."""
PAGE_BUDGET = 20_000
"""Attempts a page request looks at before it answers (about 2 s); the rest waits for the next
page or ``ccch contest detect``."""


@attrs.frozen
class Flag:
    """A flag as stored (``contest_flags``)."""

    id: int
    kind: str
    participant_id: int
    attempt_id: int | None
    round_id: int | None
    group_key: str | None
    evidence: dict[str, Any]
    status: str
    created_at: str
    reviewed_at: str | None
    reviewed_by: str | None
    review_reason: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Flag:
        """Build from a ``contest_flags`` row."""
        return cls(row["id"], row["kind"], row["participant_id"], row["attempt_id"], row["round_id"],
                   row["group_key"], json.loads(row["evidence"]), row["status"], row["created_at"],
                   row["reviewed_at"], row["reviewed_by"], row["review_reason"])

    @property
    def label(self) -> str:
        """What the flag means (Vietnamese)."""
        return KIND_LABELS[self.kind]

    @property
    def status_label(self) -> str:
        """Its review status (Vietnamese)."""
        return STATUS_LABELS[self.status]


@attrs.frozen
class DetectionRun:
    """What one run of :func:`detect` did: attempts looked at, new flags per kind."""

    checked: int
    flagged: dict[str, int]

    @property
    def total(self) -> int:
        """New flags of every kind."""
        return sum(self.flagged.values())


# -- the evidence ---------------------------------------------------------------------------------


def answer_fingerprint(questions_json: str, answers_json: str | None) -> str:
    """A fingerprint of an answer sheet: the drawn questions and the options chosen for each, in
    the bank's terms (question id, option keys), so that neither the drawn order nor the option
    order matters. ``""`` for a sheet with no answer at all (nothing to compare)."""
    drawn = json.loads(questions_json)
    answers = json.loads(answers_json) if answers_json else {}
    pairs = sorted([qid, sorted(answers.get(str(i), []))] for i, (qid, _) in enumerate(drawn, start=1))
    if not any(keys for _, keys in pairs):
        return ""
    return hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode("ascii")).hexdigest()[:32]


def reading_seconds(prompt: str, options: Iterable[tuple[str, str]], settings) -> float:
    """The least time a reader needs for one question: its prompt and options at
    ``detect_reading_chars_per_second``, and never less than ``detect_min_seconds_per_question``."""
    chars = len(prompt) + sum(len(label) for _, label in options)
    return max(float(settings.detect_min_seconds_per_question), chars / settings.detect_reading_chars_per_second)


def _reading_times(db, contest_id: int, settings) -> dict[int, float]:
    """Every question version of the contest (retired ones included: attempts keep them) → seconds."""
    return {qid: reading_seconds(prompt, json.loads(options), settings)
            for qid, prompt, options in db.execute(
                "select id, prompt, options from contest_questions where contest_id = ?", [contest_id])}


def _flag(db, contest: Contest, kind: str, participant_id: int, attempt_id: int | None, round_id: int | None,
          group_key: str | None, evidence: dict[str, Any], at: str) -> bool:
    """Insert a flag (inside the caller's transaction); True when it is new. An open flag that
    exists already takes the newer evidence; a reviewed one is left as decided."""
    cursor = db.execute(
        "insert or ignore into contest_flags (contest_id, kind, participant_id, attempt_id, round_id, group_key, "
        "evidence, status, created_at) values (?, ?, ?, ?, ?, ?, ?, 'open', ?)",
        [contest.id, kind, participant_id, attempt_id, round_id, group_key,
         json.dumps(evidence, ensure_ascii=False, sort_keys=True), at])
    if cursor.rowcount:
        return True
    db.execute("update contest_flags set evidence = ? where contest_id = ? and kind = ? and participant_id = ? and "
               "coalesce(attempt_id, 0) = ? and status = 'open'",
               [json.dumps(evidence, ensure_ascii=False, sort_keys=True), contest.id, kind, participant_id,
                attempt_id or 0])
    return False


def _check_speed(db, contest: Contest, row, reading: dict[int, float], settings, at: str) -> int:
    attempt_id, participant_id, round_id, questions, answers, duration_ms = row[:6]
    drawn = json.loads(questions)
    chosen = json.loads(answers) if answers else {}
    answered = [qid for i, (qid, _) in enumerate(drawn, start=1) if chosen.get(str(i))]
    if not answered or duration_ms is None:
        return 0
    least = float(settings.detect_min_seconds_per_question)
    minimum_ms = int(1000 * sum(reading.get(qid, least) for qid in answered))
    if duration_ms >= minimum_ms:
        return 0
    evidence = {"duration_ms": duration_ms, "minimum_ms": minimum_ms, "answered": len(answered),
                "questions": len(drawn), "score": row[7], "total": row[8],
                "chars_per_second": settings.detect_reading_chars_per_second,
                "min_seconds_per_question": settings.detect_min_seconds_per_question}
    if not _flag(db, contest, "too_fast", participant_id, attempt_id, round_id, None, evidence, at):
        return 0
    set_implausible(db, contest.definition, attempt_id, True)
    return 1


def _check_same(db, contest: Contest, row, fingerprint: str, settings, at: str) -> int:
    attempt_id, participant_id, round_id, _, _, duration_ms, submitted_ms, score, total = row[:9]
    if score is None or score >= total:  # every answer right: everyone who knows them answers alike
        return 0
    window = settings.detect_same_answers_seconds * 1000
    others = [o for o in db.execute(
        # The partial index's own condition, spelled out, so that SQLite uses it.
        "select id, participant_id, submitted_ms, duration_ms from contest_attempts where round_id = ? and "
        "answer_fingerprint = ? and answer_fingerprint is not null and answer_fingerprint != '' and "
        "submitted_ms between ? and ? and id != ? and participant_id != ? and disqualified = 0", [round_id, fingerprint, submitted_ms - window, submitted_ms + window, attempt_id,
                             participant_id])
        if abs(o[3] - duration_ms) <= settings.detect_same_duration_seconds * 1000]
    if not others:
        return 0
    group = f"{round_id}:{fingerprint[:16]}"
    sheet = {"questions": total, "wrong_or_blank": total - score, "window_seconds": settings.detect_same_answers_seconds,
             "duration_seconds": settings.detect_same_duration_seconds}
    new = 0
    members = [(attempt_id, participant_id, submitted_ms, duration_ms), *others]
    for aid, pid, sub, dur in members:
        evidence = dict(sheet, duration_ms=dur, submitted_ms=sub, others=[
            {"attempt_id": a, "participant_id": p, "seconds_apart": round(abs(s - sub) / 1000, 1),
             "duration_difference_seconds": round(abs(d - dur) / 1000, 1)}
            for a, p, s, d in members if a != aid])
        new += _flag(db, contest, "same_answers", pid, aid, round_id, group, evidence, at)
    return new


def _check_sources(db, contest: Contest, settings, at: str) -> int:
    limit = settings.detect_source_registrations
    new = 0
    crowded = db.execute("select client_hash, count(*) from contest_registration_sources where contest_id = ? "
                         "group by client_hash having count(*) >= ?", [contest.id, limit.count]).fetchall()
    for client_hash, registrations in crowded:
        rows = db.execute(
            "select s.participant_id, s.created_at, p.deleted_at is null and p.disqualified = 0 from "
            "contest_registration_sources s join contest_participants p on p.id = s.participant_id where "
            "s.contest_id = ? and s.client_hash = ? order by s.created_at, s.participant_id",
            [contest.id, client_hash]).fetchall()
        times = [parse_utc(r[1]).timestamp() for r in rows]
        burst: set[int] = set()
        most = start = 0
        for end in range(len(times)):
            while times[end] - times[start] > limit.seconds:
                start += 1
            if end - start + 1 >= limit.count:
                burst.update(range(start, end + 1))
                most = max(most, end - start + 1)
        if not burst:
            continue
        inside = sorted(burst)
        evidence = {"registrations": registrations, "most_in_window": most, "window_seconds": limit.seconds,
                    "threshold": limit.count, "first_at": rows[inside[0]][1], "last_at": rows[inside[-1]][1]}
        for index in inside:
            participant_id, _, live = rows[index]
            if live:
                new += _flag(db, contest, "shared_source", participant_id, None, None, client_hash[:16], evidence, at)
    return new


def _check_devices(db, contest: Contest, settings, at: str) -> int:
    """Many registrations from one browser (its identifier's keyed hash): every live one of them is
    flagged ``shared_source``, the device's count added to any address evidence it has."""
    threshold = settings.detect_device_registrations
    new = 0
    crowded = db.execute("select device_hash, count(*) from contest_registration_sources where contest_id = ? and "
                         "device_hash is not null group by device_hash having count(*) >= ?",
                         [contest.id, threshold]).fetchall()
    for device_hash, registrations in crowded:
        rows = db.execute(
            "select s.participant_id, s.created_at, p.deleted_at is null and p.disqualified = 0 from "
            "contest_registration_sources s join contest_participants p on p.id = s.participant_id where "
            "s.contest_id = ? and s.device_hash = ? order by s.created_at, s.participant_id",
            [contest.id, device_hash]).fetchall()
        device = {"device_registrations": registrations, "device_threshold": threshold, "device_first_at": rows[0][1],
                  "device_last_at": rows[-1][1]}
        for participant_id, _, live in rows:
            if not live:
                continue
            found = db.execute("select evidence from contest_flags where contest_id = ? and kind = 'shared_source' and "
                               "participant_id = ? and attempt_id is null", [contest.id, participant_id]).fetchone()
            evidence = {**(json.loads(found[0]) if found else {}), **device}
            new += _flag(db, contest, "shared_source", participant_id, None, None, "device:" + device_hash[:16],
                         evidence, at)
    return new


def detect(deployment, contest: Contest, *, now: dt.datetime | None = None,
           max_attempts: int | None = None) -> DetectionRun:
    """Look at every submitted attempt not yet looked at (at most about ``max_attempts`` of them:
    a page stops there, about 0.1 ms an attempt, and :func:`unchecked` says what is left) and at
    the registration sources; flag what the detectors find. Cheap when nothing is new (an index
    lookup and one grouped scan of the registration sources). Returns what it did."""
    now = now or utc_now()
    at = utc_now_iso(now)
    db = deployment.db
    settings = settings_of(deployment)
    flagged = dict.fromkeys(KIND_LABELS, 0)
    reading: dict[int, float] | None = None
    checked = 0
    while max_attempts is None or checked < max_attempts:
        rows = db.execute(
            "select id, participant_id, round_id, questions, answers, duration_ms, submitted_ms, score, total, "
            "disqualified from contest_attempts where contest_id = ? and status = 'submitted' and "
            "answer_fingerprint is null limit ?", [contest.id, BATCH]).fetchall()
        if not rows:
            break
        if reading is None:
            reading = _reading_times(db, contest.id, settings)
        with serialized(deployment):
            for row in rows:
                fingerprint = answer_fingerprint(row[3], row[4])
                if not db.execute("update contest_attempts set answer_fingerprint = ? where id = ? and "
                                  "answer_fingerprint is null", [fingerprint, row[0]]).rowcount:
                    continue  # another run looked at it meanwhile
                if row[9]:  # disqualified already: nothing to review
                    continue
                flagged["too_fast"] += _check_speed(db, contest, row, reading, settings, at)
                if fingerprint:
                    flagged["same_answers"] += _check_same(db, contest, row, fingerprint, settings, at)
            if flagged["too_fast"] or flagged["same_answers"]:
                invalidate_rankings(db, contest.id)
        checked += len(rows)
    with serialized(deployment):
        flagged["shared_source"] = _check_sources(db, contest, settings, at) + _check_devices(db, contest, settings, at)
    return DetectionRun(checked, flagged)


def unchecked(db, contest: Contest) -> int:
    """Submitted attempts detection has not looked at yet (a count over a small partial index)."""
    return db.execute("select count(*) from contest_attempts where contest_id = ? and status = 'submitted' and "
                      "answer_fingerprint is null", [contest.id]).fetchone()[0]


# -- the review queue -----------------------------------------------------------------------------


def get_flags(db, contest: Contest, ids: Iterable[int]) -> list[Flag]:
    """The contest's flags with these ids (others are ignored)."""
    ids = sorted(set(ids))
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return [Flag.from_row(r) for r in query(db, f"select * from contest_flags where contest_id = ? and id in ({marks})",
                                            [contest.id, *ids])]


def counts(db, contest: Contest) -> dict[str, int]:
    """Flags per review status."""
    found = dict(db.execute("select status, count(*) from contest_flags where contest_id = ? group by status",
                            [contest.id]).fetchall())
    return {status: found.get(status, 0) for status in STATUS_LABELS}


@attrs.frozen
class FlagGroup:
    """Flags that one decision can settle together: one source's registrations, one shared answer
    sheet; a ``too_fast`` flag is a group of its own."""

    kind: str
    key: str
    flags: tuple[Flag, ...]

    @property
    def label(self) -> str:
        """What the group's flags mean (Vietnamese)."""
        return KIND_LABELS[self.kind]

    @property
    def evidence(self) -> dict[str, Any]:
        """The evidence of the group's first flag (a group shares it, but for each attempt's own times)."""
        return self.flags[0].evidence


def flag_groups(db, contest: Contest, status: str = "open", kind: str | None = None,
                limit: int = 5000) -> list[FlagGroup]:
    """The contest's flags of a review status (and kind) in groups, oldest group first."""
    sql = "select * from contest_flags where contest_id = ? and status = ?"
    params: list[Any] = [contest.id, status]
    if kind:
        sql += " and kind = ?"
        params.append(kind)
    groups: dict[tuple[str, str], list[Flag]] = {}
    for row in query(db, sql + " order by id limit ?", [*params, limit]):
        flag = Flag.from_row(row)
        key = flag.group_key if flag.group_key and flag.kind != "too_fast" else f"#{flag.id}"
        groups.setdefault((flag.kind, key), []).append(flag)
    return [FlagGroup(k, key, tuple(flags)) for (k, key), flags in groups.items()]


def people_of(db, flags: Iterable[Flag]) -> dict[int, dict[str, Any]]:
    """participant id → name, masked phone, unit, disqualified (for the queue page)."""
    ids = sorted({f.participant_id for f in flags})
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    return {r["id"]: r for r in query(db, "select id, full_name, phone_masked, unit_id, audience, disqualified, "
                                          f"deleted_at from contest_participants where id in ({marks})", ids)}


def attempts_of_flags(db, flags: Iterable[Flag]) -> dict[int, dict[str, Any]]:
    """attempt id → round, score, time taken, submission, disqualified (for the queue page)."""
    ids = sorted({f.attempt_id for f in flags if f.attempt_id})
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    return {r["id"]: r for r in query(db, "select a.id, a.score, a.total, a.duration_ms, a.submitted_at, a.disqualified, "
                                          "r.name as round_name from contest_attempts a join contest_rounds r on "
                                          f"r.id = a.round_id where a.id in ({marks})", ids)}


def review(deployment, contest: Contest, flag_ids: Iterable[int], decision: str, reason: str,
           username: str | None, *, now: dt.datetime | None = None) -> int:
    """Settle open flags: ``clear`` (the entry is honest: a too-fast attempt's time counts again)
    or ``disqualify`` (the flagged attempt, or for a registration flag the participant, leaves the
    rankings through :mod:`.moderation`). A reason is required; each flag's decision is a line of
    the contest's log (and of the core's audit log). Returns how many flags were settled; flags
    already reviewed, or of another contest, are left alone."""
    if decision not in DECISIONS:
        raise ValueError("Vui lòng chọn “Xác nhận hợp lệ” hoặc “Loại”.")
    reason = clean(reason or "")
    if not reason:
        raise ValueError("Vui lòng ghi lý do quyết định.")
    if len(reason) > MAX_REASON:
        raise ValueError(f"Lý do tối đa {MAX_REASON} ký tự.")
    now = now or utc_now()
    db = deployment.db
    flags = [f for f in get_flags(db, contest, flag_ids) if f.status == "open"]
    if not flags:
        return 0
    if decision == "disqualify":
        done_people: set[int] = set()
        done_attempts: set[int] = set()
        for flag in flags:
            participant = db.execute("select disqualified from contest_participants where id = ?",
                                     [flag.participant_id]).fetchone()
            if flag.attempt_id is None or (participant and participant[0]):
                if flag.participant_id not in done_people and participant and not participant[0]:
                    set_disqualified(deployment, contest, flag.participant_id, True, reason, username, now=now,
                                     refresh=False)
                done_people.add(flag.participant_id)
            elif flag.attempt_id not in done_attempts:
                attempt = db.execute("select disqualified from contest_attempts where id = ?",
                                     [flag.attempt_id]).fetchone()
                if attempt and not attempt[0]:
                    disqualify_attempt(deployment, contest, flag.attempt_id, True, reason, username, now=now,
                                       refresh=False)
                done_attempts.add(flag.attempt_id)
    status = DECISIONS[decision]
    at = utc_now_iso(now)
    settled = 0
    with serialized(deployment):
        for flag in flags:
            if not db.execute("update contest_flags set status = ?, reviewed_at = ?, reviewed_by = ?, review_reason = ? "
                              "where id = ? and status = 'open'", [status, at, username, reason, flag.id]).rowcount:
                continue
            settled += 1
            if flag.kind == "too_fast" and decision == "clear":
                set_implausible(db, contest.definition, flag.attempt_id, False)
            log(db, contest.id, "flag_" + status, username=username, participant_id=flag.participant_id,
                attempt_id=flag.attempt_id, detail=f"{flag.label}: {reason}", at=at)
        invalidate_rankings(db, contest.id)
    if decision == "disqualify":
        refresh_truths(deployment, contest.slug, now=now)
    return settled
