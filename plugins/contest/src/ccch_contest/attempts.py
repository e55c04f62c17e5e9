"""Attempts (lượt thi): the draw, the server-side clock, saving, submitting and scoring.

The hot paths are one short ``BEGIN IMMEDIATE`` transaction each:

- **start**: rate limit, the attempt limit, the draw (questions and option order, stored), one
  insert. A double tap returns the attempt already open (a partial unique index allows one open
  attempt per participant and round).
- **submit**: the score is computed before the transaction; the transaction is a conditional
  ``UPDATE … WHERE status = 'open'``: of two concurrent submissions exactly one changes a row, the
  other sees the attempt already submitted. An attempt is never counted twice.

Time is the server's. An attempt's deadline is its start plus the time limit, never later than the
end of the round; a submission is accepted until the deadline plus the grace of ``grace_seconds``
(network delay), but never at or after the round's end (a round closing at 23:59:59 Vietnam time
refuses a submission at 00:00:00). What happens to an attempt nobody submitted in time is the
contest's ``overdue`` rule: ``submit_saved`` scores the answers saved before the deadline,
``discard`` drops the attempt.

The clock is read when the request arrives, and that instant is the submission's time; but the
write lock may come later, after the round has closed and its figures (the prediction's true
figure, the entrants) were computed. So the transaction checks again: once a round's figures are
computed nothing more enters it — a start is refused, a submission is late, and an attempt still
open then (its start got the lock after the round's overdue attempts were closed) is dropped
rather than added to figures already computed without it. Before the figures, a submission sent in
time is accepted even if a later request has meanwhile closed the attempt by the overdue rule.

Option order: the options of a question are shown in a drawn order; the form sends displayed
positions (1, 2, 3…), never option keys, so nothing on the page tells which option was first in
the bank, let alone which is correct.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from ccch_core.periods import utc_now
from ccch_core.storage import parse_utc
from ccch_core.text import clean

from .bank import Bank, draw_problems, load_bank
from .contests import Contest, RoundState
from .counting import from_ms, iso_ms, ms, rank_keys, refresh_counted
from .definition import MAX_PREDICTION, Audience, ContestDefinition
from .locking import serialized
from .participants import Participant, Throttled, _check_rate
from .settings import settings_of
from .sql import query
from .state import memory


class AttemptError(Exception):
    """Why an attempt cannot start or be accepted (``message`` is Vietnamese, for the participant)."""

    code = 409

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class RoundNotOpen(AttemptError):
    """No round is open now."""


class AttemptLimitReached(AttemptError):
    """The participant used every attempt of the round."""


class NotAllowed(AttemptError):
    """The participant is disqualified, erased, or not of this contest."""

    code = 403


class BankNotReady(AttemptError):
    """The question bank cannot supply an attempt (the manager must import questions)."""

    code = 503


class PredictionError(ValueError):
    """A prediction that is not a number of the right form (Vietnamese message)."""


# -- the attempt as stored ------------------------------------------------------------------------


@attrs.frozen
class Attempt:
    """A stored attempt."""

    id: int
    token: str
    contest_id: int
    round_id: int
    participant_id: int
    audience: str
    unit_id: str | None
    attempt_no: int
    status: str
    started_at: str
    started_ms: int
    deadline_ms: int
    accept_until_ms: int
    questions: tuple[tuple[int, str], ...]
    answers: dict[str, list[str]]
    saved_at: str | None
    prediction: float | None
    submitted_at: str | None
    submitted_ms: int | None
    duration_ms: int | None
    finish: str | None
    score: int | None
    total: int | None
    perfect: bool
    counted: bool
    disqualified: bool
    disqualified_reason: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Attempt:
        """Build from a ``contest_attempts`` row."""
        return cls(
            row["id"], row["token"], row["contest_id"], row["round_id"], row["participant_id"], row["audience"],
            row["unit_id"], row["attempt_no"], row["status"], row["started_at"], row["started_ms"], row["deadline_ms"],
            row["accept_until_ms"], tuple((q, o) for q, o in json.loads(row["questions"])),
            json.loads(row["answers"]) if row["answers"] else {}, row["saved_at"], row["prediction"],
            row["submitted_at"], row["submitted_ms"], row["duration_ms"], row["finish"], row["score"], row["total"],
            bool(row["perfect"]), bool(row["counted"]), bool(row["disqualified"]), row["disqualified_reason"],
        )

    def seconds_left(self, now: dt.datetime) -> int:
        """Whole seconds until the deadline the countdown shows (0 when past)."""
        return max(0, (self.deadline_ms - ms(now)) // 1000)

    def is_overdue(self, now: dt.datetime) -> bool:
        """Open, and too late to accept a submission."""
        return self.status == "open" and ms(now) >= self.accept_until_ms


def get_attempt(db, token: str) -> Attempt | None:
    """The attempt with ``token`` (the random part of its address)."""
    row = next(query(db, "select * from contest_attempts where token = ?", [token]), None)
    return Attempt.from_row(row) if row else None


def get_attempt_by_id(db, attempt_id: int) -> Attempt | None:
    """The attempt with database id ``attempt_id``."""
    row = next(query(db, "select * from contest_attempts where id = ?", [attempt_id]), None)
    return Attempt.from_row(row) if row else None


def attempts_of(db, participant_id: int) -> list[Attempt]:
    """A participant's attempts, oldest first."""
    return [Attempt.from_row(r) for r in query(db, 
        "select * from contest_attempts where participant_id = ? order by started_ms", [participant_id])]


# -- drawing --------------------------------------------------------------------------------------


@attrs.frozen
class DrawPlan:
    """Where an audience's questions come from: the quota categories' questions and the rest."""

    problems: tuple[str, ...]
    quotas: tuple[tuple[tuple[int, ...], int], ...]
    rest: tuple[int, ...]
    wanted: int


def draw_plan(bank: Bank, definition: ContestDefinition, audience: Audience) -> DrawPlan:
    """The draw plan of an audience (pure; cached by :func:`cached_draw_plan`)."""
    problems = tuple(draw_problems(bank, attrs.evolve(definition, audiences=(audience,))))
    pool = bank.pool(audience.key)
    by_category: dict[str | None, list[int]] = {}
    for qid in pool:
        by_category.setdefault(bank.questions[qid].category, []).append(qid)
    quota_categories = {c for c, _ in audience.quotas}
    quotas = tuple((tuple(by_category.get(c, ())), n) for c, n in audience.quotas)
    rest = tuple(qid for qid in pool if bank.questions[qid].category not in quota_categories)
    return DrawPlan(problems, quotas, rest, definition.questions_for(audience))


def cached_draw_plan(deployment, contest: Contest, bank: Bank, audience: Audience) -> DrawPlan:
    """The draw plan, kept in memory until the bank or the definition changes."""
    cache = memory(deployment).setdefault("draw_plans", {})
    key = (contest.id, contest.version, bank.version, audience.key)
    plan = cache.get(key)
    if plan is None:
        plan = draw_plan(bank, contest.definition, audience)
        cache[key] = plan
    return plan


def draw(bank: Bank, definition: ContestDefinition, audience: Audience, rng: random.Random,
         plan: DrawPlan | None = None) -> list[tuple[int, str]]:
    """Draw an attempt's questions: each category quota exactly, the rest from the categories
    without a quota; never the same question twice. Returns [(question id, option order)], where
    the order string lists option indexes as displayed ("2031")."""
    plan = plan or draw_plan(bank, definition, audience)
    if plan.problems:
        raise BankNotReady("Ngân hàng câu hỏi chưa đủ để tạo đề thi. Ban Tổ chức đang cập nhật, vui lòng quay lại sau.")
    chosen: list[int] = []
    for pool, count in plan.quotas:
        chosen.extend(rng.sample(pool, count))
    if plan.wanted > len(chosen):
        chosen.extend(rng.sample(plan.rest, plan.wanted - len(chosen)))
    if definition.shuffle_questions:
        rng.shuffle(chosen)
    else:
        position = {qid: i for i, qid in enumerate(bank.active)}
        chosen.sort(key=lambda qid: position.get(qid, qid))
    drawn = []
    shuffle = definition.shuffle_options
    for qid in chosen:
        question = bank.questions[qid]
        # The option indexes as the digits stored ("2031"): shuffled as characters, the same
        # permutation as of the numbers, without turning each back into text.
        order = _INDEXES[:len(question.options)]
        if shuffle and question.type != "true_false":
            digits = list(order)
            rng.shuffle(digits)
            order = "".join(digits)
        drawn.append((qid, order))
    return drawn


_INDEXES = "0123456789"
"""Option indexes as a drawn order stores them: one digit each (a question has at most 8 options)."""
OPTION_INDEX = {digit: index for index, digit in enumerate(_INDEXES)}
"""The option index each digit of a drawn order stands for (``int(digit)``, without parsing)."""


def _new_token() -> str:
    return secrets.token_urlsafe(12)


def _deadlines(definition: ContestDefinition, round_state: RoundState, started: dt.datetime, grace_seconds: int):
    started_ms = ms(started)
    round_end_ms = ms(round_state.ends)
    limit_end = started_ms + definition.time_limit_minutes * 60_000
    deadline = min(limit_end, round_end_ms)
    accept_until = min(limit_end + grace_seconds * 1000 + 1, round_end_ms)
    return started_ms, deadline, accept_until


@attrs.frozen
class Started:
    """The outcome of a start: the attempt, and whether an open one was resumed."""

    attempt: Attempt
    resumed: bool


@attrs.frozen
class Draw:
    """An attempt's questions drawn before the write lock is taken (:func:`draw_for`), for a
    caller that starts the attempt inside a transaction of its own (the code step)."""

    contest_id: int
    contest_version: int
    bank_version: int
    audience: str
    questions: tuple[tuple[int, str], ...]
    stored: str
    """The questions as the attempt row stores them (JSON)."""


def _new_rng() -> random.Random:
    # A generator seeded from the OS for each draw: as unpredictable as SystemRandom (nobody sees
    # the seed, and one draw shows far fewer than the outputs needed to rebuild the state), without
    # a system call for every number — SystemRandom spent 4 % of the server's CPU on a start.
    return random.Random(secrets.randbits(256))


def draw_for(deployment, contest: Contest, audience_key: str, rng: random.Random | None = None) -> Draw | None:
    """Draw the questions of an attempt of ``audience_key`` ahead of :func:`start_attempt` (which
    draws again if the bank or the contest changed meanwhile). None when no attempt could start
    (an unknown audience, a bank not ready): the start then says why."""
    try:
        audience = contest.definition.audience(audience_key)
        bank = load_bank(deployment, contest.id, contest.bank_version)
        drawn = draw(bank, contest.definition, audience, rng or _new_rng(),
                     cached_draw_plan(deployment, contest, bank, audience))
    except (KeyError, BankNotReady):
        return None
    return Draw(contest.id, contest.version, bank.version, audience.key, tuple(drawn),
                json.dumps(drawn, separators=(",", ":")))


def start_attempt(deployment, contest: Contest, participant_id: int, *, now: dt.datetime | None = None,
                  rng: random.Random | None = None, participant: Participant | None = None,
                  drawn: Draw | None = None) -> Started:
    """Start (or resume) the participant's attempt in the round open now. ``participant``: the
    participant as the caller read them in its own write transaction (registering), which saves
    reading them again; otherwise they are read here. ``drawn``: questions :func:`draw_for` drew
    for the participant's audience before the caller took the lock (used if still valid)."""
    now = now or utc_now()
    rng = rng or _new_rng()
    definition = contest.definition
    settings = settings_of(deployment)
    if contest.status != "published":
        raise RoundNotOpen("Cuộc thi chưa mở.")
    round_state = contest.current_round(now)
    if round_state is None:
        upcoming = contest.next_round(now)
        raise RoundNotOpen("Hiện không có vòng thi nào đang mở." + (
            f" Vòng tiếp theo bắt đầu lúc {_local(upcoming.opens)}." if upcoming else ""))
    db = deployment.db
    bank = load_bank(deployment, contest.id, contest.bank_version)
    if participant is None or participant.id != participant_id:
        row = next(query(db, "select * from contest_participants where id = ? and contest_id = ?",
                         [participant_id, contest.id]), None)
        participant = Participant.from_row(row) if row else None
    if participant is None or participant.contest_id != contest.id or participant.deleted_at:
        raise NotAllowed("Không tìm thấy thông tin đăng ký dự thi của bạn.")
    if participant.disqualified:
        raise NotAllowed("Bài dự thi của bạn đã bị loại: " + (participant.disqualified_reason or ""))
    try:
        audience = definition.audience(participant.audience)
    except KeyError:
        raise NotAllowed("Đối tượng dự thi của bạn không còn trong cuộc thi.") from None
    # The draw happens before the lock: it needs no database, and the transaction stays short.
    if drawn is not None and (drawn.contest_id, drawn.contest_version, drawn.bank_version, drawn.audience) == (
            contest.id, contest.version, bank.version, audience.key):
        questions, stored = list(drawn.questions), drawn.stored
    else:
        questions = draw(bank, definition, audience, rng, cached_draw_plan(deployment, contest, bank, audience))
        stored = json.dumps(questions, separators=(",", ":"))
    now_ms = ms(now)
    overdue: Attempt | None = None
    with serialized(deployment):
        _check_rate(db, "contest-start", str(participant_id), settings.limit_start, now)
        used, open_id, closed_at = db.execute(
            "select count(*), max(case when status = 'open' then id end), "
            "(select truth_at from contest_rounds where id = ?) from contest_attempts "
            "where participant_id = ? and round_id = ?", [round_state.id, participant_id, round_state.id]).fetchone()
        if closed_at is not None:
            # The clock said open, but the round closed and its figures were computed before this
            # start got the lock: an attempt now could only end outside them.
            raise RoundNotOpen("Vòng thi đã kết thúc.")
        if open_id is not None:
            open_row = next(query(db, "select * from contest_attempts where id = ?", [open_id]))
            if now_ms < open_row["accept_until_ms"]:
                return Started(Attempt.from_row(open_row), True)
            overdue = Attempt.from_row(open_row)
            _finish_overdue(db, contest, overdue, bank_for(deployment, contest, overdue))
        if used >= definition.attempts_per_round:
            raise AttemptLimitReached(
                "Bạn đã dùng hết lượt thi của vòng này." if definition.attempts_per_round == 1 else
                f"Bạn đã dùng hết {definition.attempts_per_round} lượt thi của vòng này.")
        started_ms, deadline, accept_until = _deadlines(definition, round_state, now, settings.grace_seconds)
        token = _new_token()
        attempt_id = db.execute(
            "insert into contest_attempts (token, contest_id, round_id, participant_id, audience, unit_id, attempt_no, "
            "status, started_at, started_ms, deadline_ms, accept_until_ms, questions) "
            "values (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
            [token, contest.id, round_state.id, participant_id, audience.key, participant.unit_id, used + 1,
             iso_ms(now), started_ms, deadline, accept_until, stored],
        ).lastrowid
    attempt = Attempt(attempt_id, token, contest.id, round_state.id, participant_id, audience.key, participant.unit_id,
                      used + 1, "open", iso_ms(now), started_ms, deadline, accept_until, tuple(questions), {}, None, None,
                      None, None, None, None, None, None, False, False, False, None)
    return Started(attempt, False)


def _local(instant: dt.datetime) -> str:
    from ccch_core.periods import to_local

    return to_local(instant).strftime("%H:%M ngày %d/%m/%Y")


def bank_for(deployment, contest: Contest, attempt: Attempt) -> Bank:
    """The bank with every question ``attempt`` drew (retired ones too)."""
    return load_bank(deployment, contest.id, contest.bank_version, needed=[q for q, _ in attempt.questions])


# -- answers and scoring --------------------------------------------------------------------------


def answers_from_form(attempt: Attempt, bank: Bank, form) -> dict[str, list[str]]:
    """The option keys chosen on the attempt form (fields ``q1``… hold displayed positions).
    Values that are not a position of the question are ignored (nothing the page offered)."""
    answers: dict[str, list[str]] = {}
    getlist = getattr(form, "getlist", None)
    for index, (qid, order) in enumerate(attempt.questions, start=1):
        question = bank.questions[qid]
        values = getlist(f"q{index}") if getlist is not None else form.get(f"q{index}", [])
        if isinstance(values, str):
            values = [values]
        keys = []
        for value in values:
            # A position is one or two ASCII digits ("1", "07"), within the question's options.
            shown = _POSITIONS.get((value or "").strip())
            if shown and shown <= len(order):
                key = question.options[OPTION_INDEX[order[shown - 1]]][0]
                if key not in keys:
                    keys.append(key)
        if question.type != "multiple":
            keys = keys[:1]
        if keys:
            answers[str(index)] = keys
    return answers


_POSITIONS = {text: int(text) for n in range(100) for text in {str(n), f"{n:02d}"}}
"""Displayed positions as a form sends them: every text of one or two ASCII digits, and its number."""


def displayed_choices(attempt: Attempt, bank: Bank, position: int) -> list[int]:
    """The displayed positions (1-based) chosen for question ``position`` (to re-check the form)."""
    qid, order = attempt.questions[position - 1]
    keys = attempt.answers.get(str(position), [])
    options = bank.questions[qid].options
    return [i + 1 for i, index in enumerate(order) if options[int(index)][0] in keys]


def score_answers(attempt: Attempt, bank: Bank, answers: Mapping[str, Sequence[str]]) -> tuple[int, int]:
    """(correct answers, questions): one point per question whose chosen options are exactly the
    correct ones."""
    score = 0
    for index, (qid, _) in enumerate(attempt.questions, start=1):
        chosen = set(answers.get(str(index), ()))
        if chosen and chosen == bank.correct[qid]:
            score += 1
    return score, len(attempt.questions)


def parse_prediction(kind: str, text: str | None) -> float | None:
    """A prediction as typed ("1234", "1.234", "87,65432") → a number; None when empty.
    Counts are whole numbers; percentages 0–100 with at most 5 decimals."""
    value = clean(text or "").replace(" ", "")
    if not value:
        return None
    if kind == "count":
        # "1.250" is one thousand two hundred and fifty (Vietnamese thousands separator); "12,5"
        # has a decimal comma and is not a whole number.
        digits = value.replace(".", "")
        if not (digits.isascii() and digits.isdigit()):  # str.isdigit accepts "²", which int() refuses
            raise PredictionError("Câu dự đoán: vui lòng nhập một số nguyên (ví dụ 125).")
        digits = digits.lstrip("0") or "0"
        if len(digits) > len(str(MAX_PREDICTION)) or int(digits) > MAX_PREDICTION:
            raise PredictionError(f"Câu dự đoán: số lớn nhất được nhập là {MAX_PREDICTION:,}".replace(",", ".") + ".")
        return float(int(digits))
    normalised = value.replace(",", ".")
    try:
        number = Decimal(normalised)
    except InvalidOperation:
        raise PredictionError("Câu dự đoán: vui lòng nhập tỷ lệ phần trăm, ví dụ 12,34567.") from None
    if not number.is_finite() or not 0 <= number <= 100:
        raise PredictionError("Câu dự đoán: tỷ lệ phần trăm từ 0 đến 100.")
    if -number.as_tuple().exponent > 5:
        raise PredictionError("Câu dự đoán: ghi tối đa 5 chữ số sau dấu phẩy.")
    return float(number)


@attrs.frozen
class Submitted:
    """The outcome of a submission: ``accepted`` (this request counted it), ``already`` (an
    earlier request did), ``late`` (after the deadline: the saved answers counted, or the attempt
    was dropped, as the contest's ``overdue`` rule says)."""

    outcome: str
    attempt: Attempt


def save_answers(deployment, contest: Contest, attempt: Attempt, answers: Mapping[str, Sequence[str]],
                 prediction: float | None, *, now: dt.datetime | None = None) -> bool:
    """Keep the answers so far (the "save" button and the page's autosave). Returns False when the
    attempt is no longer open or its time is up (nothing is changed then); raises
    :class:`Throttled` for a second save within a second."""
    now = now or utc_now()
    db = deployment.db
    text = json.dumps(answers, separators=(",", ":"))
    with serialized(deployment):
        # At most one save a second per attempt (the page autosaves every few seconds at most): the
        # throttle is a condition of the update itself, no counter to write.
        cursor = db.execute(
            "update contest_attempts set answers = ?, prediction = coalesce(?, prediction), saved_at = ? "
            "where id = ? and status = 'open' and accept_until_ms > ? and coalesce(saved_at, '') <= ?",
            [text, prediction, iso_ms(now), attempt.id, ms(now), iso_ms(now - dt.timedelta(seconds=1))])
        if cursor.rowcount == 0 and db.execute(
                "select 1 from contest_attempts where id = ? and status = 'open' and accept_until_ms > ?",
                [attempt.id, ms(now)]).fetchone():
            raise Throttled(1)
    return cursor.rowcount == 1


def submit_attempt(deployment, contest: Contest, attempt: Attempt, answers: Mapping[str, Sequence[str]],
                   prediction: float | None, *, now: dt.datetime | None = None, bank: Bank | None = None) -> Submitted:
    """Submit an attempt: accepted once, however many times it is sent. ``bank`` saves looking
    the questions up again when the caller has them."""
    now = now or utc_now()
    db = deployment.db
    bank = bank or bank_for(deployment, contest, attempt)
    now_ms = ms(now)
    if attempt.status != "open":
        return Submitted("already", attempt)
    if now_ms >= attempt.accept_until_ms:
        with serialized(deployment):
            fresh = Attempt.from_row(next(query(db, "select * from contest_attempts where id = ?", [attempt.id])))
            if fresh.status == "open":
                if db.execute("select truth_at from contest_rounds where id = ?", [attempt.round_id]).fetchone()[0]:
                    # Still open when the round's figures were computed: dropped, as below.
                    db.execute("update contest_attempts set status = 'abandoned', finish = 'overdue' where id = ?",
                               [attempt.id])
                else:
                    _finish_overdue(db, contest, fresh, bank)
        return Submitted("late", get_attempt_by_id(db, attempt.id))
    score, total = score_answers(attempt, bank, answers)
    duration = now_ms - attempt.started_ms
    keys = rank_keys(contest.definition, score, duration, now_ms, prediction)
    single = contest.definition.attempts_per_round == 1
    text = json.dumps(answers, separators=(",", ":"))
    outcome = "accepted"
    with serialized(deployment):
        # Sent in time (by the clock read when the request arrived): accepted if still open — or
        # closed meanwhile by the overdue rule on a later request's clock — unless the round's
        # figures were computed in between (the deadline holds inside the transaction). One
        # attempt per round: it counts unless disqualified, decided in the same statement.
        cursor = db.execute(
            "update contest_attempts set status = 'submitted', answers = ?, prediction = ?, submitted_at = ?, "
            "submitted_ms = ?, duration_ms = ?, finish = 'participant', score = ?, total = ?, perfect = ?, "
            "rk0 = ?, rk1 = ?, rk2 = ?, rk3 = ?"
            + (", counted = 1 - disqualified" if single else "") + " where id = ? and (status = 'open' or "
            "finish = 'overdue') and (select truth_at from contest_rounds where id = ?) is null",
            [text, prediction, iso_ms(now), now_ms, duration, score, total, int(score == total), *keys, attempt.id,
             attempt.round_id])
        if cursor.rowcount == 1:
            if not single:
                refresh_counted(db, contest.definition, attempt.participant_id, attempt.round_id)
        else:
            status, finish = db.execute("select status, finish from contest_attempts where id = ?",
                                        [attempt.id]).fetchone()
            if status == "open":
                # The round's figures were computed while this attempt was open (its start got the
                # lock after the overdue attempts were closed): too late, and dropped so that it
                # does not change figures already computed without it.
                db.execute("update contest_attempts set status = 'abandoned', finish = 'overdue' where id = ?",
                           [attempt.id])
                outcome = "late"
            else:
                outcome = "late" if finish == "overdue" else "already"
    if outcome != "accepted":
        return Submitted(outcome, get_attempt_by_id(db, attempt.id))
    return Submitted("accepted", attrs.evolve(
        attempt, status="submitted", answers=dict(answers), prediction=prediction, submitted_at=iso_ms(now),
        submitted_ms=now_ms, duration_ms=duration, finish="participant", score=score, total=total,
        perfect=score == total, counted=single and not attempt.disqualified))


def _finish_overdue(db, contest: Contest, attempt: Attempt, bank: Bank) -> None:
    """Close an attempt nobody submitted in time (inside the caller's transaction)."""
    definition = contest.definition
    if definition.overdue == "discard":
        db.execute("update contest_attempts set status = 'abandoned', finish = 'overdue' where id = ? and status = 'open'",
                   [attempt.id])
        return
    score, total = score_answers(attempt, bank, attempt.answers)
    submitted_ms = attempt.deadline_ms
    duration = submitted_ms - attempt.started_ms
    keys = rank_keys(definition, score, duration, submitted_ms, attempt.prediction)
    # Not once the round's figures are stored (as a submission): they were computed without it, and
    # its keys would not be distances from the figure as the round's are (counting.rebase_predictions).
    cursor = db.execute(
        "update contest_attempts set status = 'submitted', submitted_at = ?, submitted_ms = ?, duration_ms = ?, "
        "finish = 'overdue', score = ?, total = ?, perfect = ?, rk0 = ?, rk1 = ?, rk2 = ?, rk3 = ? "
        "where id = ? and status = 'open' and (select truth_at from contest_rounds where id = ?) is null",
        [iso_ms(from_ms(submitted_ms)), submitted_ms, duration, score, total, int(score == total), *keys, attempt.id,
         attempt.round_id])
    if cursor.rowcount:
        refresh_counted(db, definition, attempt.participant_id, attempt.round_id)
    else:
        db.execute("update contest_attempts set status = 'abandoned', finish = 'overdue' where id = ? and status = 'open'",
                   [attempt.id])


def finish_overdue_attempts(deployment, contest: Contest, round_id: int | None = None,
                            *, now: dt.datetime | None = None) -> int:
    """Close every attempt of the contest (or of one round) whose time is up. Returns how many."""
    now = now or utc_now()
    db = deployment.db
    params: list[Any] = [contest.id, ms(now)]
    sql = "select * from contest_attempts where contest_id = ? and status = 'open' and accept_until_ms <= ?"
    if round_id is not None:
        sql += " and round_id = ?"
        params.append(round_id)
    rows = [Attempt.from_row(r) for r in query(db, sql, params)]
    if not rows:
        return 0
    with serialized(deployment):
        for attempt in rows:
            _finish_overdue(db, contest, attempt, bank_for(deployment, contest, attempt))
    return len(rows)


def started_local(attempt: Attempt) -> dt.datetime:
    """When the attempt started (aware)."""
    return parse_utc(attempt.started_at)
