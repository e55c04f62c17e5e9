"""Helpers shared by the contest plugin's tests (imported as ``ccch_contest_testing``)."""

from __future__ import annotations

import copy
import datetime as dt
import re
import tomllib
from pathlib import Path

from ccch_contest import bank
from ccch_contest.contests import get_contest, save_definition
from ccch_contest.definition import definition_from_dict
from ccch_contest.lifecycle import set_status

from ccch_core.periods import VN_TZ

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "duc-tho-2024"
QUESTIONS_CSV = EXAMPLE / "questions.csv"
CONTEST_TOML = EXAMPLE / "contest.toml"
UTC = dt.UTC
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

PHONES = [f"09{n:08d}" for n in range(12345670, 12345670 + 400)]


def example_document() -> dict:
    """The example contest definition as data (a fresh copy)."""
    return tomllib.loads(CONTEST_TOML.read_text(encoding="utf-8"))


def local(instant: dt.datetime) -> dt.datetime:
    """Naive Vietnam time, as a TOML local date-time."""
    return instant.astimezone(VN_TZ).replace(tzinfo=None, microsecond=0)


def contest_data(now: dt.datetime | None = None, *, rounds: list[tuple[dt.datetime, dt.datetime]] | None = None,
                 verified: bool = False, **contest_overrides) -> dict:
    """The example definition with rounds placed around ``now``: round 1 closed yesterday, round 2
    open now (until tomorrow), round 3 next week. ``contest_overrides`` change [contest] keys.

    ``verified=False`` (most tests: they are about something else) sets ``verify = "none"`` on
    every audience; ``True`` keeps the example's one-time-code verification (test_verification)."""
    now = now or dt.datetime.now(UTC)
    doc = copy.deepcopy(example_document())
    if rounds is None:
        rounds = [(now - dt.timedelta(days=3), now - dt.timedelta(days=1)),
                  (now - dt.timedelta(hours=2), now + dt.timedelta(days=1)),
                  (now + dt.timedelta(days=6), now + dt.timedelta(days=8))]
    doc["rounds"] = [{"number": i + 1, "name": f"Vòng {i + 1}", "opens": local(o), "closes": local(c)}
                     for i, (o, c) in enumerate(rounds)]
    if not verified:
        for audience in doc["audiences"]:
            audience["verify"] = "none"
    for key, value in contest_overrides.items():
        if value is None:
            doc["contest"].pop(key, None)
        else:
            doc["contest"][key] = value
    return doc


def load_contest(dep, data: dict, *, questions: Path | None = QUESTIONS_CSV, publish: bool = True):
    """Save a definition, import questions, publish; returns the stored contest."""
    definition = definition_from_dict(data, dep.plan)
    contest, _ = save_definition(dep, definition, username="test")
    if questions is not None:
        rows = bank.read_question_file(questions)
        # The example bank's topics are the Đức Thọ plan's; a test plan without topics loads it unchecked.
        found, audiences, problems = bank.parse_rows(rows, contest.definition,
                                                     plan=dep.plan if dep.plan.topics else None)
        assert not problems, problems
        bank.import_questions(dep.db, contest.id, found, audiences, replace=True, username="test")
    contest = get_contest(dep, contest.slug)
    if publish:
        contest = set_status(dep, contest, "published", username="test")
    return contest


def add_participant(dep, contest, n: int, *, audience: str = "cbccvc", unit_id: str = "xa-an-dung",
                    name: str | None = None, birth_year: int = 1990):
    """Register participant number ``n`` (a distinct phone number each)."""
    from ccch_contest.participants import register

    form = {"full_name": name or f"Nguyễn Văn Thí Sinh {letters(n)}", "phone": PHONES[n], "birth_year": str(birth_year),
            "audience": audience, "unit_id": unit_id, "occupation": "", "citizen_id": "", "consent": "1"}
    return register(dep, contest, form, client_key=f"test-{n}")


def submit_people(dep, contest, people, prediction: float = 3.0) -> None:
    """Register each (name, audience, wrong answers) of ``people``, start and submit an attempt."""
    from ccch_contest import attempts as A

    for n, (name, audience, wrong) in enumerate(people):
        person = add_participant(dep, contest, n, audience=audience, unit_id="xa-an-dung", name=name)
        attempt = A.start_attempt(dep, contest, person.id).attempt
        result = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt, wrong=wrong), prediction)
        assert result.outcome == "accepted"


def letters(n: int) -> str:
    """0 → "A", 25 → "Z", 26 → "BA": a name part without digits."""
    out = ""
    while True:
        out = chr(ord("A") + n % 26) + out
        n //= 26
        if not n:
            return out


class Form(dict):
    """A form-like mapping with getlist (what Flask's request.form offers)."""

    def getlist(self, key):
        value = self.get(key, [])
        return value if isinstance(value, list) else [value]


def correct_form(dep, contest, attempt, *, wrong: int = 0) -> Form:
    """The attempt's form with every answer right (the last ``wrong`` answers wrong), as the page's
    positions (1-based) — using the correct answers the server keeps (test-only knowledge)."""
    from ccch_contest.attempts import bank_for

    b = bank_for(dep, contest, attempt)
    form = Form()
    total = len(attempt.questions)
    for index, (qid, order) in enumerate(attempt.questions, start=1):
        keys = [b.questions[qid].options[int(i)][0] for i in order]
        right = [str(p + 1) for p, key in enumerate(keys) if key in b.correct[qid]]
        if index > total - wrong:
            others = [str(p + 1) for p, key in enumerate(keys) if key not in b.correct[qid]]
            form[f"q{index}"] = [others[0]]
        else:
            form[f"q{index}"] = right
    return form


def answers_for(dep, contest, attempt, *, wrong: int = 0) -> dict:
    """Answers (option keys) for ``attempt``: all right but the last ``wrong``."""
    from ccch_contest.attempts import answers_from_form, bank_for

    return answers_from_form(attempt, bank_for(dep, contest, attempt), correct_form(dep, contest, attempt, wrong=wrong))


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token on the page"
    return match.group(1)
