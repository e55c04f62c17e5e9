"""A contest definition: rules, rounds, audiences, quotas, prizes — as data.

The same definition comes from three places and goes through one validator
(:func:`definition_from_dict`): a TOML file (``ccch contest load contest.toml``), the contest
manager's setup form in the web UI, and the JSON the database keeps. Every problem is reported at
once with where it is (``rounds[2].closes``) and, for files, the line. Unknown keys are errors.

Times are Vietnam time (Asia/Ho_Chi_Minh). A round's ``closes`` is the last second it is open:
``closes = 2024-06-09T23:59:59`` accepts a submission at 23:59:59.9 and refuses one at 00:00:00.
A date alone means the start of the day for ``opens`` and its last second for ``closes``.

The file format (documented field by field in docs/contest.md)::

    format = 1

    [contest]
    slug = "tim-hieu-cchc-2024"
    title = "Cuộc thi trực tuyến tìm hiểu về cải cách hành chính năm 2024"
    organiser = "phong-noi-vu"
    questions_per_attempt = 20
    time_limit_minutes = 15
    tie_breaks = ["prediction", "time", "submitted"]
    [contest.prediction]
    kind = "count"

    [[audiences]]
    key = "cbccvc"
    name = "Cán bộ, công chức, viên chức"
    quotas = { "Chỉ tiêu" = 4, "Văn bản" = 4 }
    prizes = [{ name = "Giải Nhất", count = 1, value = "1.000.000 đồng" }]

    [[rounds]]
    number = 1
    opens = 2024-06-03T07:00:00
    closes = 2024-06-09T23:59:59
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import itertools
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ccch_core.limits import (
    DEFAULT_LIMITS,
    ImportLimits,
    LimitError,
    loads_toml,
    read_limited,
)
from ccch_core.model import Plan
from ccch_core.periods import VN_TZ
from ccch_core.text import clean, fold, sort_key

FORMAT_VERSION = 1
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
TIE_BREAKS = ("prediction", "time", "submitted")
TIE_BREAK_LABELS = {
    "score": "Điểm",
    "prediction": "Độ chênh lệch của câu dự đoán",
    "time": "Thời gian làm bài",
    "submitted": "Thời điểm nộp bài",
}
PREDICTION_KINDS = ("none", "count", "percent")
PREDICTION_PROMPTS = {
    "count": "Dự đoán: vòng thi này sẽ có bao nhiêu người trả lời đúng tất cả các câu hỏi?",
    "percent": "Dự đoán: bao nhiêu phần trăm người dự thi vòng này sẽ trả lời đúng tất cả các câu hỏi? "
               "(ví dụ 12,34567)",
}
MAX_PREDICTION = 10_000_000
MAX_ROUND_NUMBER = 1000
"""The largest round number (``rounds[].number``)."""
MAX_ROUNDS = 52
"""Rounds of one contest (one a week for a year). The setup form and the validator both stop
there: a definition of thousands of rounds once took minutes to check."""
MAX_AUDIENCES = 20
"""Audiences of one contest."""
MAX_LIST = 100
"""Prizes in one list, collective prizes."""
MAX_PROBLEMS = 100
"""Problems reported for one definition; the rest are counted (each is located in the text)."""
PERCENT_SCALE = 100_000
"""Percent predictions keep 5 decimals ("87,65432"), stored as integers × 100000."""

DEFAULT_CONSENT = (
    "Tôi đồng ý để Ban Tổ chức cuộc thi xử lý dữ liệu cá nhân tôi khai báo (họ tên, số điện thoại, năm "
    "sinh, đơn vị, nghề nghiệp{cid}) theo Nghị định số 13/2023/NĐ-CP ngày 17/4/2023 của Chính phủ về bảo vệ "
    "dữ liệu cá nhân, chỉ để tổ chức cuộc thi, chấm điểm, xếp hạng, công bố kết quả (họ tên, đơn vị và số "
    "điện thoại đã che bớt chữ số) và liên hệ trao giải. Tôi có thể yêu cầu xóa dữ liệu của mình bất cứ lúc nào."
)

# Unit kinds that are facilities, not places a person works or lives in: never offered as a
# participant's unit by default.
FACILITY_KINDS = frozenset({"portal", "radio_station", "one_stop_desk", "post_culture_point", "web_page",
                            "leadership", "steering_committee", "press"})

CONTEST_KEYS = (
    "slug", "title", "organiser", "rules", "questions_per_attempt", "time_limit_minutes", "attempts_per_round",
    "counted_attempt", "tie_breaks", "shuffle_questions", "shuffle_options", "review", "score_disclosure",
    "show_score", "citizen_id", "ask_occupation", "units", "live_leaderboard", "leaderboard_size",
    "one_prize_per_person", "consent_text", "overdue", "prediction", "eligibility", "verification",
)
VERIFICATION_KEYS = ("phone_channel", "email_domains", "daily_codes")
SCORE_DISCLOSURES = ("after_close", "immediately", "never")
"""When a participant sees their score: after the round closes (default: a score shown at once
tells a fleet of throwaway registrations which answers are right), at once, or never."""
VERIFY_KINDS = ("phone", "phone_or_email", "none")
"""How a registration of an audience is verified: a one-time code to the phone (SMS or Zalo), the
phone or an official e-mail address of an allowed domain, or not at all."""
PREDICTION_KEYS = ("kind", "prompt")
ELIGIBILITY_KEYS = ("who", "min_age", "units", "excluded_units")
AUDIENCE_KEYS = ("key", "name", "description", "units", "questions_per_attempt", "quotas", "prizes",
                 "overall_prizes", "verify", "leaderboard_digits")
PRIZE_KEYS = ("name", "count", "value")
ROUND_KEYS = ("number", "name", "opens", "closes")
COLLECTIVE_KEYS = ("name", "measure", "count", "among", "rounds", "audience", "value")
TOP_KEYS = ("format", "contest", "audiences", "rounds", "collective_prizes")


# -- the model ----------------------------------------------------------------------------------


@attrs.frozen
class Prize:
    """A prize tier: ``count`` prizes called ``name`` (Giải Nhất), worth ``value`` (text)."""

    name: str
    count: int
    value: str | None = None


@attrs.frozen
class Audience:
    """A group of participants with its own question set or quotas and its own prize list
    (đối tượng dự thi: cán bộ, công chức, viên chức; nhân dân…)."""

    key: str
    name: str
    description: str | None = None
    units: tuple[str, ...] = ()
    questions_per_attempt: int | None = None
    quotas: tuple[tuple[str, int], ...] = ()
    prizes: tuple[Prize, ...] = ()
    overall_prizes: tuple[Prize, ...] = ()
    verify_setting: str | None = None
    """``verify`` as written (None: the default, see :attr:`verify`)."""
    leaderboard_digits: int = 0
    """Last digits of the phone number public leaderboards show (0–3; default none)."""

    @property
    def verify(self) -> str:
        """How registrations are verified: as set, else ``phone`` for an audience with prizes (a
        prize must reach the person who registered, and prizes are what fleets of throwaway
        registrations are after) and ``none`` otherwise."""
        if self.verify_setting:
            return self.verify_setting
        return "phone" if self.prizes or self.overall_prizes else "none"

    @property
    def quota_total(self) -> int:
        """Questions drawn by quota."""
        return sum(n for _, n in self.quotas)


@attrs.frozen
class Round:
    """A round (vòng thi, tuần thi) open from ``opens`` to the last second ``closes``, Vietnam time."""

    number: int
    name: str
    opens: dt.datetime
    closes: dt.datetime

    @property
    def ends(self) -> dt.datetime:
        """The first instant the round is closed (``closes`` + 1 s)."""
        return self.closes + dt.timedelta(seconds=1)


@attrs.frozen
class CollectivePrize:
    """A prize for units (giải tập thể): by participant ``count`` or participation ``rate``
    against the unit's headcount, among the units ``among``."""

    name: str
    measure: str
    count: int
    among: tuple[str, ...]
    rounds: tuple[int, ...] = ()
    audience: str | None = None
    value: str | None = None


@attrs.frozen
class Eligibility:
    """Who may enter: ``everyone``, ``adults`` (by year of birth) or ``listed_units``; units whose
    staff may not enter at all (the organisers)."""

    who: str = "everyone"
    min_age: int = 18
    units: tuple[str, ...] = ()
    excluded_units: tuple[str, ...] = ()


@attrs.frozen
class Verification:
    """How one-time codes are sent: the phone channel (``sms`` or ``zalo``), the e-mail domains
    accepted for civil servants (``hatinh.gov.vn`` also accepts ``ductho.hatinh.gov.vn``), and the
    contest-wide cap of codes a day (each SMS costs money)."""

    phone_channel: str = "sms"
    email_domains: tuple[str, ...] = ()
    daily_codes: int = 1000

    def allows_email(self, address: str) -> bool:
        """Whether ``address`` is at one of the allowed domains (or a subdomain of one)."""
        domain = address.rpartition("@")[2].casefold()
        return any(domain == d or domain.endswith("." + d) for d in self.email_domains)


@attrs.frozen
class ContestDefinition:
    """A validated contest definition."""

    slug: str
    title: str
    organiser: str | None = None
    rules: str | None = None
    questions_per_attempt: int = 20
    time_limit_minutes: int = 15
    attempts_per_round: int = 1
    counted_attempt: str = "best"
    tie_breaks: tuple[str, ...] = ("prediction", "time", "submitted")
    shuffle_questions: bool = True
    shuffle_options: bool = True
    review: str = "after_close"
    score_disclosure: str = "after_close"
    citizen_id: str = "no"
    ask_occupation: bool = True
    units: tuple[str, ...] = ()
    live_leaderboard: bool = True
    leaderboard_size: int = 50
    one_prize_per_person: bool = False
    consent_text: str | None = None
    overdue: str = "submit_saved"
    prediction: str = "count"
    prediction_prompt: str | None = None
    eligibility: Eligibility = Eligibility()
    verification: Verification = Verification()
    audiences: tuple[Audience, ...] = ()
    rounds: tuple[Round, ...] = ()
    collective_prizes: tuple[CollectivePrize, ...] = ()

    # -- lookups -------------------------------------------------------------------------------

    def audience(self, key: str) -> Audience:
        """The audience with ``key`` (KeyError otherwise)."""
        for audience in self.audiences:
            if audience.key == key:
                return audience
        raise KeyError(key)

    def round(self, number: int) -> Round:
        """The round numbered ``number`` (KeyError otherwise)."""
        for item in self.rounds:
            if item.number == number:
                return item
        raise KeyError(number)

    @property
    def verifies(self) -> bool:
        """Whether any audience verifies its registrations with a one-time code."""
        return any(a.verify != "none" for a in self.audiences)

    def score_visible(self, round_closed: bool) -> bool:
        """Whether a participant may see their score now (``round_closed``: their round has)."""
        return self.score_disclosure == "immediately" or (self.score_disclosure == "after_close" and round_closed)

    def questions_for(self, audience: Audience) -> int:
        """Questions per attempt for ``audience``."""
        return audience.questions_per_attempt or self.questions_per_attempt

    @property
    def has_prediction(self) -> bool:
        """Whether attempts end with a prediction question."""
        return self.prediction != "none"

    @property
    def prediction_text(self) -> str:
        """The prediction question as shown."""
        return self.prediction_prompt or PREDICTION_PROMPTS.get(self.prediction, "")

    @property
    def ranking_order(self) -> tuple[str, ...]:
        """Score, then the tie-breaks in order (the keys stored as rk0…rk3)."""
        return ("score", *self.tie_breaks)

    def consent(self) -> str:
        """The consent text a participant agrees to."""
        if self.consent_text:
            return self.consent_text
        return DEFAULT_CONSENT.format(cid=", số căn cước công dân" if self.citizen_id != "no" else "")

    def current_round(self, now: dt.datetime) -> Round | None:
        """The round open at ``now``, if any."""
        for item in self.rounds:
            if item.opens <= now < item.ends:
                return item
        return None

    def next_round(self, now: dt.datetime) -> Round | None:
        """The next round to open after ``now``."""
        upcoming = [r for r in self.rounds if r.opens > now]
        return min(upcoming, key=lambda r: r.opens) if upcoming else None


# -- problems -------------------------------------------------------------------------------------


@attrs.frozen
class Problem:
    """One thing wrong with a definition: where (``rounds[2].closes``), what, and the file line."""

    where: str
    message: str
    line: int | None = None
    file: str | None = None

    def __str__(self) -> str:
        place = ""
        if self.file:
            place = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{place}{self.where}: {self.message}" if self.where else f"{place}{self.message}"


class DefinitionError(ValueError):
    """A definition that cannot be used; ``problems`` lists every problem."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the contest definition:\n"
                         + "\n".join(f"  {p}" for p in self.problems))


class _Locator:
    """Line numbers in a TOML text for ``rounds[2].closes``-style paths (tomllib keeps none)."""

    def __init__(self, text: str | None):
        self.lines = text.splitlines() if text else []
        self._headers: dict[str, list[int]] = {}

    def _hits(self, pattern: str) -> list[int]:
        """The lines matching a header pattern, found once per pattern."""
        if pattern not in self._headers:
            compiled = re.compile(pattern)
            self._headers[pattern] = [i for i, line in enumerate(self.lines) if compiled.match(line)]
        return self._headers[pattern]

    def line(self, where: str) -> int | None:
        if not self.lines:
            return None
        match = re.match(r"^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?", where)
        if not match:
            return None
        section, index, key = match.group(1), match.group(2), match.group(3)
        start, end = 0, len(self.lines)
        if index is not None:
            hits = self._hits(r"^\s*\[\[\s*" + re.escape(section) + r"\s*\]\]")
            if int(index) >= len(hits):
                return None
            start = hits[int(index)]
        else:
            hits = self._hits(r"^\s*\[\s*" + re.escape(section) + r"\s*\]")
            if hits:
                start = hits[0]
            elif key is None:
                return None
            else:
                key, start = section, 0
        end = next((i for i in range(start + 1, len(self.lines)) if self.lines[i].lstrip().startswith("[")
                    and not self.lines[i].lstrip().startswith(f"[{section}.")), len(self.lines))
        if key is None:
            return start + 1
        key_pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for i in range(start, end):
            if key_pattern.match(self.lines[i]):
                return i + 1
        # Sub-tables ([contest.prediction]) and the section header as a fallback.
        sub = re.compile(r"^\s*\[\s*" + re.escape(section) + r"\." + re.escape(key) + r"\s*\]")
        for i in range(start, len(self.lines)):
            if sub.match(self.lines[i]):
                return i + 1
        return start + 1


def _suggest(value: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


class _Reader:
    """Collects problems while reading a mapping."""

    def __init__(self, plan: Plan | None, locator: _Locator, file: str | None):
        self.plan = plan
        self.locator = locator
        self.file = file
        self.problems: list[Problem] = []
        self.unreported = 0

    def problem(self, where: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(where, message, self.locator.line(where), self.file))
            return
        self.unreported += 1
        more = Problem("", f"and {self.unreported} more problem(s) not listed: fix the ones above and check again",
                       None, self.file)
        if self.unreported == 1:
            self.problems.append(more)
        else:
            self.problems[-1] = more

    def table(self, data: Any, where: str, allowed: Sequence[str]) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            self.problem(where, f"must be a table, not {type(data).__name__}")
            return {}
        for key in data:
            if key not in allowed:
                self.problem(f"{where}.{key}" if where else key, f"unknown key{_suggest(str(key), allowed)}")
        return dict(data)

    def text(self, data: Mapping, key: str, where: str, *, required: bool = False, max_length: int = 20_000) -> str | None:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not clean(value) and not required):
            if required:
                self.problem(f"{where}.{key}", "missing required field")
            return None
        if not isinstance(value, str):
            self.problem(f"{where}.{key}", f"must be text, not {value!r}")
            return None
        text = "\n".join(clean(line) for line in value.strip().splitlines()) if "\n" in value else clean(value)
        if required and not text:
            self.problem(f"{where}.{key}", "must not be empty")
            return None
        if len(text) > max_length:
            self.problem(f"{where}.{key}", f"longer than {max_length} characters")
            return None
        return text

    def integer(self, data: Mapping, key: str, where: str, low: int, high: int, default: int | None) -> int | None:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(f"{where}.{key}", f"must be a whole number {low}–{high}, not {value!r}")
            return default
        return value

    def boolean(self, data: Mapping, key: str, where: str, default: bool) -> bool:
        value = data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(f"{where}.{key}", f"must be true or false, not {value!r}")
            return default
        return value

    def choice(self, data: Mapping, key: str, where: str, choices: Sequence[str], default: str) -> str:
        value = data.get(key)
        if value is None:
            return default
        if value not in choices:
            self.problem(f"{where}.{key}", f"{value!r} is not one of {', '.join(choices)}")
            return default
        return value

    def refs(self, data: Mapping, key: str, where: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f"{where}.{key}", f"must be a list of unit or unit-group ids, not {value!r}")
            return ()
        refs = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
        if self.plan is not None:
            for ref in refs:
                if not self.plan.is_reference(ref):
                    ids = [u.id for u in self.plan.units] + [g.id for g in self.plan.unit_groups]
                    self.problem(f"{where}.{key}", f"{ref!r} is not a unit or unit group of the plan{_suggest(ref, ids)}")
        return refs

    def prizes(self, data: Mapping, key: str, where: str) -> tuple[Prize, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem(f"{where}.{key}", "must be a list of {name, count, value} tables")
            return ()
        prizes = []
        if len(value) > MAX_LIST:
            self.problem(f"{where}.{key}", f"{len(value)} prizes: at most {MAX_LIST} in one list")
            return ()
        for i, item in enumerate(value):
            here = f"{where}.{key}[{i}]"
            item = self.table(item, here, PRIZE_KEYS)
            name = self.text(item, "name", here, required=True, max_length=200)
            count = self.integer(item, "count", here, 1, 10_000, None)
            if count is None and "count" not in item:
                self.problem(f"{here}.count", "missing required field")
            prize_value = self.text(item, "value", here, max_length=200)
            if name and count:
                prizes.append(Prize(name, count, prize_value))
        return tuple(prizes)


def parse_instant(value: Any, *, end_of_day: bool) -> dt.datetime:
    """A Vietnam-time instant from TOML (date-time, local date-time, date) or text
    ("2024-06-09 23:59:59", "09/06/2024 23:59", "09/06/2024"); raises ValueError."""
    if isinstance(value, dt.datetime):
        instant = value if value.tzinfo else value.replace(tzinfo=VN_TZ)
        return instant.astimezone(VN_TZ).replace(microsecond=0)
    if isinstance(value, dt.date):
        moment = dt.time(23, 59, 59) if end_of_day else dt.time(0, 0, 0)
        return dt.datetime.combine(value, moment, tzinfo=VN_TZ)
    if isinstance(value, str):
        text = clean(value)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)", text):
            return parse_instant(dt.datetime.fromisoformat(text), end_of_day=end_of_day)
        for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"):
            try:
                return dt.datetime.strptime(text, fmt).replace(tzinfo=VN_TZ)
            except ValueError:
                pass
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return parse_instant(dt.datetime.strptime(text, fmt).date(), end_of_day=end_of_day)
            except ValueError:
                pass
    raise ValueError(f"{value!r} is not a date and time (write 2024-06-09T23:59:59 or 09/06/2024 23:59:59)")


def definition_from_dict(data: Mapping[str, Any], plan: Plan | None, *, text: str | None = None,
                         file: str | None = None) -> ContestDefinition:
    """Validate a definition (a parsed TOML document, the web form's data, or stored JSON).

    ``plan`` checks unit references (None skips those checks). ``text`` is the TOML source, for
    line numbers. Raises :class:`DefinitionError` listing every problem.
    """
    r = _Reader(plan, _Locator(text), file)
    doc = r.table(data, "", TOP_KEYS)
    fmt = doc.get("format", FORMAT_VERSION)
    if fmt != FORMAT_VERSION:
        r.problem("format", f"this version of ccch-contest reads format {FORMAT_VERSION}, not {fmt!r}")
    c = r.table(doc.get("contest", {}), "contest", CONTEST_KEYS)
    if "contest" not in doc:
        r.problem("contest", "missing required table [contest]")
    slug = r.text(c, "slug", "contest", required=True, max_length=60)
    if slug and not SLUG.match(slug):
        r.problem("contest.slug", f"{slug!r}: 2–60 of a-z, 0-9 and '-', starting with a letter or digit "
                                  "(it is part of the contest's web address)")
    title = r.text(c, "title", "contest", required=True, max_length=300)
    organiser = r.text(c, "organiser", "contest", max_length=100)
    if organiser and plan is not None and not plan.has_unit(organiser):
        r.problem("contest.organiser", f"{organiser!r} is not a unit of the plan"
                                       f"{_suggest(organiser, [u.id for u in plan.units])}")
    prediction_data = r.table(c.get("prediction", {}), "contest.prediction", PREDICTION_KEYS)
    prediction = r.choice(prediction_data, "kind", "contest.prediction", PREDICTION_KINDS, "count")
    prediction_prompt = r.text(prediction_data, "prompt", "contest.prediction", max_length=500)
    default_breaks = ["prediction", "time", "submitted"] if prediction != "none" else ["time", "submitted"]
    breaks = c.get("tie_breaks", default_breaks)
    tie_breaks: tuple[str, ...] = tuple(default_breaks)
    if not isinstance(breaks, list) or not all(isinstance(b, str) for b in breaks):
        r.problem("contest.tie_breaks", f"must be a list drawn from {', '.join(TIE_BREAKS)}, not {breaks!r}")
    else:
        bad = [b for b in breaks if b not in TIE_BREAKS]
        if bad:
            r.problem("contest.tie_breaks", f"{', '.join(map(repr, bad))}: each tie-break is one of "
                                            f"{', '.join(TIE_BREAKS)}")
        elif len(set(breaks)) != len(breaks):
            r.problem("contest.tie_breaks", "a tie-break is listed twice")
        elif "prediction" in breaks and prediction == "none":
            r.problem("contest.tie_breaks", "\"prediction\" is a tie-break but contest.prediction.kind is \"none\"")
        else:
            tie_breaks = tuple(breaks)
    eligibility_data = r.table(c.get("eligibility", {}), "contest.eligibility", ELIGIBILITY_KEYS)
    eligibility = Eligibility(
        who=r.choice(eligibility_data, "who", "contest.eligibility", ("everyone", "adults", "listed_units"), "everyone"),
        min_age=r.integer(eligibility_data, "min_age", "contest.eligibility", 1, 120, 18),
        units=r.refs(eligibility_data, "units", "contest.eligibility"),
        excluded_units=r.refs(eligibility_data, "excluded_units", "contest.eligibility"),
    )
    if eligibility.who == "listed_units" and not eligibility.units:
        r.problem("contest.eligibility.units", "who = \"listed_units\" needs the list of units")
    units = r.refs(c, "units", "contest")
    questions_per_attempt = r.integer(c, "questions_per_attempt", "contest", 1, 200, 20)

    audiences: list[Audience] = []
    raw_audiences = doc.get("audiences")
    if raw_audiences is None:
        raw_audiences = [{"key": "chung", "name": "Mọi người dự thi"}]
    if not isinstance(raw_audiences, list) or not raw_audiences:
        r.problem("audiences", "write at least one [[audiences]] table")
        raw_audiences = []
    elif len(raw_audiences) > MAX_AUDIENCES:
        r.problem("audiences", f"{len(raw_audiences)} audiences: a contest has at most {MAX_AUDIENCES}")
        raw_audiences = []
    for i, item in enumerate(raw_audiences):
        here = f"audiences[{i}]"
        item = r.table(item, here, AUDIENCE_KEYS)
        key = r.text(item, "key", here, required=True, max_length=40)
        if key and not KEY.match(key):
            r.problem(f"{here}.key", f"{key!r}: 1–40 of a-z, 0-9, '_' and '-'")
            key = None
        if key and any(a.key == key for a in audiences):
            r.problem(f"{here}.key", f"{key!r} is used by another audience")
        name = r.text(item, "name", here, required=True, max_length=200)
        quotas: list[tuple[str, int]] = []
        raw_quotas = item.get("quotas", {})
        if not isinstance(raw_quotas, Mapping):
            r.problem(f"{here}.quotas", "must be a table of category = number of questions")
        else:
            for category, count in raw_quotas.items():
                if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 200:
                    r.problem(f"{here}.quotas", f"{category!r} = {count!r}: a quota is a whole number 1–200")
                else:
                    quotas.append((clean(str(category)), count))
        per_attempt = r.integer(item, "questions_per_attempt", here, 1, 200, None)
        verify = r.choice(item, "verify", here, VERIFY_KINDS, "") if "verify" in item else None
        audience = Audience(
            key=key or f"?{i}", name=name or "", description=r.text(item, "description", here, max_length=2000),
            units=r.refs(item, "units", here), questions_per_attempt=per_attempt, quotas=tuple(quotas),
            prizes=r.prizes(item, "prizes", here), overall_prizes=r.prizes(item, "overall_prizes", here),
            verify_setting=verify or None, leaderboard_digits=r.integer(item, "leaderboard_digits", here, 0, 3, 0),
        )
        if audience.quota_total > (per_attempt or questions_per_attempt or 0):
            r.problem(f"{here}.quotas", f"the quotas add up to {audience.quota_total} questions, more than the "
                                        f"{per_attempt or questions_per_attempt} drawn per attempt")
        audiences.append(audience)

    rounds: list[Round] = []
    raw_rounds = doc.get("rounds")
    if not isinstance(raw_rounds, list) or not raw_rounds:
        r.problem("rounds", "write at least one [[rounds]] table with opens and closes")
        raw_rounds = []
    elif len(raw_rounds) > MAX_ROUNDS:
        r.problem("rounds", f"{len(raw_rounds)} rounds: a contest has at most {MAX_ROUNDS}")
        raw_rounds = []
    for i, item in enumerate(raw_rounds):
        here = f"rounds[{i}]"
        item = r.table(item, here, ROUND_KEYS)
        number = r.integer(item, "number", here, 1, MAX_ROUND_NUMBER, i + 1)
        if any(x.number == number for x in rounds):
            r.problem(f"{here}.number", f"round {number} is defined twice")
        name = r.text(item, "name", here, max_length=200) or f"Vòng {number}"
        times = {}
        for key, end in (("opens", False), ("closes", True)):
            if key not in item:
                r.problem(f"{here}.{key}", "missing required field")
                continue
            try:
                times[key] = parse_instant(item[key], end_of_day=end)
            except ValueError as exc:
                r.problem(f"{here}.{key}", str(exc))
        if len(times) == 2:
            if times["closes"] <= times["opens"]:
                r.problem(f"{here}.closes", "must be after opens")
            else:
                rounds.append(Round(number, name, times["opens"], times["closes"]))
    ordered = sorted(rounds, key=lambda x: x.opens)
    for a, b in itertools.pairwise(ordered):
        if b.opens < a.ends:
            index = rounds.index(b)
            r.problem(f"rounds[{index}].opens", f"round {b.number} opens before round {a.number} has closed; "
                                                "rounds must not overlap")

    collective: list[CollectivePrize] = []
    raw_collective = doc.get("collective_prizes", [])
    if not isinstance(raw_collective, list):
        r.problem("collective_prizes", "write [[collective_prizes]] tables")
        raw_collective = []
    elif len(raw_collective) > MAX_LIST:
        r.problem("collective_prizes", f"{len(raw_collective)} collective prizes: at most {MAX_LIST}")
        raw_collective = []
    for i, item in enumerate(raw_collective):
        here = f"collective_prizes[{i}]"
        item = r.table(item, here, COLLECTIVE_KEYS)
        name = r.text(item, "name", here, required=True, max_length=200)
        measure = r.choice(item, "measure", here, ("count", "rate"), "count")
        count = r.integer(item, "count", here, 1, 1000, 1)
        among = r.refs(item, "among", here)
        if not among:
            r.problem(f"{here}.among", "name the units or unit groups that compete for this prize")
        numbers = item.get("rounds", [])
        if not isinstance(numbers, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            r.problem(f"{here}.rounds", "must be a list of round numbers")
            numbers = []
        for n in numbers:
            if not any(x.number == n for x in rounds):
                r.problem(f"{here}.rounds", f"there is no round {n}")
        audience_key = r.text(item, "audience", here, max_length=40)
        if audience_key and not any(a.key == audience_key for a in audiences):
            r.problem(f"{here}.audience", f"{audience_key!r} is not an audience key")
        if name and among:
            collective.append(CollectivePrize(name, measure, count, among, tuple(numbers), audience_key,
                                              r.text(item, "value", here, max_length=200)))

    scalars = {
        "rules": r.text(c, "rules", "contest", max_length=50_000),
        "time_limit_minutes": r.integer(c, "time_limit_minutes", "contest", 1, 600, 15),
        "attempts_per_round": r.integer(c, "attempts_per_round", "contest", 1, 100, 1),
        "counted_attempt": r.choice(c, "counted_attempt", "contest", ("best", "first"), "best"),
        "shuffle_questions": r.boolean(c, "shuffle_questions", "contest", True),
        "shuffle_options": r.boolean(c, "shuffle_options", "contest", True),
        "review": r.choice(c, "review", "contest", ("after_close", "never"), "after_close"),
        "score_disclosure": _score_disclosure(r, c),
        "citizen_id": r.choice(c, "citizen_id", "contest", ("no", "optional", "required"), "no"),
        "ask_occupation": r.boolean(c, "ask_occupation", "contest", True),
        "live_leaderboard": r.boolean(c, "live_leaderboard", "contest", True),
        "leaderboard_size": r.integer(c, "leaderboard_size", "contest", 1, 1000, 50),
        "one_prize_per_person": r.boolean(c, "one_prize_per_person", "contest", False),
        "consent_text": r.text(c, "consent_text", "contest", max_length=5000),
        "overdue": r.choice(c, "overdue", "contest", ("submit_saved", "discard"), "submit_saved"),
    }
    verification_data = r.table(c.get("verification", {}), "contest.verification", VERIFICATION_KEYS)
    domains = verification_data.get("email_domains", [])
    if not isinstance(domains, list) or not all(isinstance(x, str) and DOMAIN.match(x.strip().casefold())
                                                for x in domains):
        r.problem("contest.verification.email_domains", f"{domains!r}: a list of e-mail domains such as "
                                                        "\"hatinh.gov.vn\"")
        domains = []
    if len(domains) > 50:
        r.problem("contest.verification.email_domains", f"{len(domains)} domains: at most 50")
        domains = []
    verification = Verification(
        phone_channel=r.choice(verification_data, "phone_channel", "contest.verification", ("sms", "zalo"), "sms"),
        email_domains=tuple(x.strip().casefold() for x in domains),
        daily_codes=r.integer(verification_data, "daily_codes", "contest.verification", 1, 1_000_000, 1000),
    )
    for i, audience in enumerate(audiences):
        if audience.verify == "phone_or_email" and not verification.email_domains:
            r.problem(f"audiences[{i}].verify", "\"phone_or_email\" needs contest.verification.email_domains "
                                                "(the official domains whose addresses may verify)")
    if r.problems:
        raise DefinitionError(r.problems)
    return ContestDefinition(
        slug=slug, title=title, organiser=organiser, questions_per_attempt=questions_per_attempt,
        tie_breaks=tie_breaks, units=units, prediction=prediction, prediction_prompt=prediction_prompt,
        eligibility=eligibility, audiences=tuple(audiences), rounds=tuple(sorted(rounds, key=lambda x: x.opens)),
        collective_prizes=tuple(collective), verification=verification, **scalars,
    )


def _score_disclosure(r, c: Mapping) -> str:
    """``score_disclosure``; the older ``show_score`` still reads: true meant "at once", false
    "after the round closes"."""
    if "show_score" in c:
        if "score_disclosure" in c:
            r.problem("contest.show_score", "write only score_disclosure (show_score is its older form)")
        shown = r.boolean(c, "show_score", "contest", False)
        return "immediately" if shown else "after_close"
    return r.choice(c, "score_disclosure", "contest", SCORE_DISCLOSURES, "after_close")


def loads_definition(text: str, plan: Plan | None, file: str = "<contest>", *,
                     limits: ImportLimits = DEFAULT_LIMITS) -> ContestDefinition:
    """Parse and validate a TOML definition. Text over ``limits`` (its size, its nesting depth:
    ``[limits]`` of ``ccch.toml``) is refused before it is parsed."""
    try:
        data = loads_toml(text, file, limits)
    except LimitError as exc:
        raise DefinitionError([Problem("", exc.detail, exc.line, file)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError([Problem("", f"not valid TOML: {exc}", None, file)]) from None
    return definition_from_dict(data, plan, text=text, file=file)


def load_definition(path: str | Path, plan: Plan | None, *, limits: ImportLimits = DEFAULT_LIMITS) -> ContestDefinition:
    """Read and validate a TOML definition file (over ``limits``: refused before it is parsed)."""
    path = Path(path)
    try:
        text = read_limited(path, str(path), limits).decode("utf-8-sig")
    except LimitError as exc:
        raise DefinitionError([Problem("", exc.detail, None, str(path))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem("", f"cannot read the file: {exc}", None, str(path))]) from None
    return loads_definition(text, plan, file=str(path), limits=limits)


# -- back to data ---------------------------------------------------------------------------------


def _prizes(prizes: Sequence[Prize]) -> list[dict[str, Any]]:
    out = []
    for p in prizes:
        item: dict[str, Any] = {"name": p.name, "count": p.count}
        if p.value:
            item["value"] = p.value
        out.append(item)
    return out


def definition_to_dict(d: ContestDefinition, *, local_times: bool = True) -> dict[str, Any]:
    """The definition as data (inverse of :func:`definition_from_dict`). Times are naive Vietnam
    times (TOML local date-times) when ``local_times``, else ISO text with +07:00 (JSON)."""

    def when(value: dt.datetime):
        local = value.astimezone(VN_TZ)
        return local.replace(tzinfo=None) if local_times else local.isoformat()

    contest: dict[str, Any] = {"slug": d.slug, "title": d.title}
    for name in ("organiser", "rules"):
        if getattr(d, name):
            contest[name] = getattr(d, name)
    contest.update(
        questions_per_attempt=d.questions_per_attempt, time_limit_minutes=d.time_limit_minutes,
        attempts_per_round=d.attempts_per_round, counted_attempt=d.counted_attempt, tie_breaks=list(d.tie_breaks),
        shuffle_questions=d.shuffle_questions, shuffle_options=d.shuffle_options, review=d.review,
        score_disclosure=d.score_disclosure, citizen_id=d.citizen_id, ask_occupation=d.ask_occupation,
    )
    if d.units:
        contest["units"] = list(d.units)
    contest.update(live_leaderboard=d.live_leaderboard, leaderboard_size=d.leaderboard_size,
                   one_prize_per_person=d.one_prize_per_person, overdue=d.overdue)
    if d.consent_text:
        contest["consent_text"] = d.consent_text
    contest["prediction"] = {"kind": d.prediction}
    if d.prediction_prompt:
        contest["prediction"]["prompt"] = d.prediction_prompt
    eligibility: dict[str, Any] = {"who": d.eligibility.who, "min_age": d.eligibility.min_age}
    if d.eligibility.units:
        eligibility["units"] = list(d.eligibility.units)
    if d.eligibility.excluded_units:
        eligibility["excluded_units"] = list(d.eligibility.excluded_units)
    contest["eligibility"] = eligibility
    v = d.verification
    if v != Verification():
        verification: dict[str, Any] = {"phone_channel": v.phone_channel}
        if v.email_domains:
            verification["email_domains"] = list(v.email_domains)
        verification["daily_codes"] = v.daily_codes
        contest["verification"] = verification
    audiences = []
    for a in d.audiences:
        item: dict[str, Any] = {"key": a.key, "name": a.name}
        if a.description:
            item["description"] = a.description
        if a.units:
            item["units"] = list(a.units)
        if a.questions_per_attempt:
            item["questions_per_attempt"] = a.questions_per_attempt
        if a.quotas:
            item["quotas"] = dict(a.quotas)
        if a.prizes:
            item["prizes"] = _prizes(a.prizes)
        if a.overall_prizes:
            item["overall_prizes"] = _prizes(a.overall_prizes)
        if a.verify_setting:
            item["verify"] = a.verify_setting
        if a.leaderboard_digits:
            item["leaderboard_digits"] = a.leaderboard_digits
        audiences.append(item)
    rounds = [{"number": x.number, "name": x.name, "opens": when(x.opens), "closes": when(x.closes)} for x in d.rounds]
    doc: dict[str, Any] = {"format": FORMAT_VERSION, "contest": contest, "audiences": audiences, "rounds": rounds}
    if d.collective_prizes:
        doc["collective_prizes"] = []
        for p in d.collective_prizes:
            item = {"name": p.name, "measure": p.measure, "count": p.count, "among": list(p.among)}
            if p.rounds:
                item["rounds"] = list(p.rounds)
            if p.audience:
                item["audience"] = p.audience
            if p.value:
                item["value"] = p.value
            doc["collective_prizes"].append(item)
    return doc


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        if "\n" in value:
            body = value.replace("\\", "\\\\").replace('"""', '\\"""')
            return '"""\n' + body + '"""'
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value).__name__)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def definition_to_toml(d: ContestDefinition) -> str:
    """The definition as a TOML file that :func:`loads_definition` reads back to the same value."""
    doc = definition_to_dict(d)
    lines = ["# Contest definition for ccch-contest (format: contest.md in the ccch documentation).",
             "# Times are Vietnam time (Asia/Ho_Chi_Minh); closes is the last second a round is open.",
             f"format = {FORMAT_VERSION}", "", "[contest]"]
    contest = dict(doc["contest"])
    prediction = contest.pop("prediction")
    eligibility = contest.pop("eligibility")
    verification = contest.pop("verification", None)
    lines += [f"{k} = {_toml_value(v)}" for k, v in contest.items()]
    lines += ["", "[contest.prediction]"] + [f"{k} = {_toml_value(v)}" for k, v in prediction.items()]
    lines += ["", "[contest.eligibility]"] + [f"{k} = {_toml_value(v)}" for k, v in eligibility.items()]
    if verification:
        lines += ["", "[contest.verification]"] + [f"{k} = {_toml_value(v)}" for k, v in verification.items()]
    for section in ("audiences", "rounds", "collective_prizes"):
        for item in doc.get(section, []):
            lines += ["", f"[[{section}]]"] + [f"{k} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def default_unit_choices(plan: Plan) -> tuple[str, ...]:
    """Units offered to participants when a definition names none: the issuing unit's offices and
    communes (direct children that are neither external nor facilities)."""
    return tuple(u.id for u in plan.children(plan.issuing_unit) if not u.external and u.kind not in FACILITY_KINDS)


_UNIT_CHOICES: dict[tuple, tuple] = {}


def unit_choices(d: ContestDefinition, audience: Audience | None, plan: Plan) -> list[Any]:
    """The units a participant of ``audience`` may pick, in Vietnamese alphabetical order of their
    names (retired units left out).

    Remembered per process for the definition, plan and Vietnam day: every registration checks
    the unit it names against this list, and sorting it by Vietnamese collation was a fifth of a
    registration's own work. The cache holds the definition and plan objects themselves, so an
    entry can only be found again for those very objects (a new version is a new object)."""
    today = dt.datetime.now(VN_TZ).date()
    key = (id(d), audience.key if audience else None, id(audience), id(plan), today)
    cached = _UNIT_CHOICES.get(key)
    if cached is not None and cached[0] is d and cached[1] is plan and cached[2] is audience:
        return list(cached[3])
    if len(_UNIT_CHOICES) > 256:
        _UNIT_CHOICES.clear()
    choices = _unit_choices(d, audience, plan, today)
    _UNIT_CHOICES[key] = (d, plan, audience, tuple(choices))
    return choices


def _unit_choices(d: ContestDefinition, audience: Audience | None, plan: Plan, today: dt.date) -> list[Any]:
    refs = (audience.units if audience and audience.units else d.units) or default_unit_choices(plan)
    seen: dict[str, Any] = {}
    for unit in plan.resolve(refs):
        if unit.active_on(today) or not unit.retired_on:
            seen.setdefault(unit.id, unit)
    if d.eligibility.who == "listed_units":
        allowed = {u.id for u in plan.resolve(d.eligibility.units)}
        seen = {k: v for k, v in seen.items() if k in allowed}
    excluded = {u.id for u in plan.resolve(d.eligibility.excluded_units)}
    return sorted((u for k, u in seen.items() if k not in excluded), key=lambda u: sort_key(u.name))


def all_unit_choices(d: ContestDefinition, plan: Plan, audience: str | None = None) -> list[Any]:
    """Every unit a participant may pick: the contest's own list and each audience's (only
    ``audience``'s when given), without repeats, in Vietnamese alphabetical order. Participation
    and collective prizes count over these, so that a unit only one audience offers (the Party's
    propaganda board, the Fatherland Front, the mass organisations) is not left out."""
    audiences = [a for a in d.audiences if audience is None or a.key == audience]
    seen: dict[str, Any] = {}
    lists = [unit_choices(d, choice, plan) for choice in ([None] if not audiences else audiences)]
    if audience is None and d.units:
        lists.append(unit_choices(d, None, plan))
    for units in lists:
        for unit in units:
            seen.setdefault(unit.id, unit)
    if len(lists) == 1:
        return list(seen.values())  # already in order (unit_choices, kept per process)
    return sorted(seen.values(), key=lambda u: _name_order(u.name))


@functools.lru_cache(maxsize=65_536)
def _name_order(name: str):
    """A unit name's Vietnamese sort key, kept: participation sorts a national contest's 3,321
    communes on every view (0.25 s of sort_key each time)."""
    return sort_key(name)


RESIDENCE_KINDS = frozenset({"commune", "ward", "town"})
"""Unit kinds that are also places people live in (xã, phường, thị trấn)."""

_BODY_PREFIX = re.compile(r"^(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân)\s+", re.IGNORECASE)


def residence_label(unit) -> str:
    """How a resident names the commune they live in: "UBND xã An Dũng" → "xã An Dũng". A citizen
    lives in the commune, not in its People's Committee; units of other kinds keep their name."""
    if unit.kind in RESIDENCE_KINDS:
        return _BODY_PREFIX.sub("", unit.name) or unit.name
    return unit.name


def chooses_residence(audience: Audience | None, plan: Plan, d: ContestDefinition) -> bool:
    """Whether ``audience`` picks where its people live rather than where they work: every unit it
    offers is a commune, ward or town and the audience is not the civil servants' (its
    description or name does not speak of cán bộ/công chức)."""
    if audience is None:
        return False
    units = unit_choices(d, audience, plan)
    words = fold(f"{audience.name} {audience.description or ''}")
    return bool(units) and all(u.kind in RESIDENCE_KINDS for u in units) and "công chức" not in words
