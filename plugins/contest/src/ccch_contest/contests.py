"""Stored contests: create or update from a definition, load (cached per process), status, log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs

from ccch_core.storage import parse_utc, utc_now_iso

from .counting import rebase_predictions, rekey_attempts
from .definition import (
    ContestDefinition,
    DefinitionError,
    Problem,
    definition_from_dict,
    definition_to_dict,
)
from .journal import ACTION_LABELS, log  # noqa: F401  (ACTION_LABELS: public name kept here)
from .locking import serialized
from .sql import query
from .state import memory

STATUS_LABELS = {"draft": "Đang chuẩn bị", "published": "Đang công bố", "archived": "Đã lưu trữ"}


class ContestError(ValueError):
    """A contest operation that cannot be done (message for the manager)."""


@attrs.frozen
class RoundState:
    """A stored round with what was computed for it."""

    id: int
    number: int
    name: str
    opens: dt.datetime
    closes: dt.datetime
    truth: float | None
    perfect_count: int | None
    entrant_count: int | None
    truth_at: str | None
    published_at: str | None
    entrants_by_audience: dict[str, int] | None = None

    @property
    def ends(self) -> dt.datetime:
        """First instant the round is closed."""
        return self.closes + dt.timedelta(seconds=1)

    def state(self, now: dt.datetime) -> str:
        """"upcoming", "open" or "closed" at ``now``."""
        if now < self.opens:
            return "upcoming"
        return "open" if now < self.ends else "closed"


@attrs.frozen
class Contest:
    """A stored contest: its definition, rounds and version counters."""

    id: int
    slug: str
    title: str
    status: str
    version: int
    bank_version: int
    ranking_version: int
    definition: ContestDefinition
    rounds: tuple[RoundState, ...]

    def round(self, number: int) -> RoundState:
        """The round numbered ``number`` (KeyError otherwise)."""
        for item in self.rounds:
            if item.number == number:
                return item
        raise KeyError(number)

    def round_by_id(self, round_id: int) -> RoundState:
        """The round with database id ``round_id``."""
        for item in self.rounds:
            if item.id == round_id:
                return item
        raise KeyError(round_id)

    def current_round(self, now: dt.datetime) -> RoundState | None:
        """The round open at ``now``."""
        for item in self.rounds:
            if item.state(now) == "open":
                return item
        return None

    def next_round(self, now: dt.datetime) -> RoundState | None:
        """The next round to open."""
        upcoming = [r for r in self.rounds if r.opens > now]
        return min(upcoming, key=lambda r: r.opens) if upcoming else None

    def last_closed_round(self, now: dt.datetime) -> RoundState | None:
        """The most recently closed round."""
        closed = [r for r in self.rounds if r.state(now) == "closed"]
        return max(closed, key=lambda r: r.closes) if closed else None

    @property
    def status_label(self) -> str:
        """Vietnamese status."""
        return STATUS_LABELS[self.status]


def _read(deployment, row: dict[str, Any]) -> Contest:
    definition = definition_from_dict(json.loads(row["definition"]), None)
    rounds = []
    for r in query(deployment.db, "select * from contest_rounds where contest_id = ? order by opens_at", [row["id"]]):
        rounds.append(RoundState(r["id"], r["number"], r["name"], parse_utc(r["opens_at"]), parse_utc(r["closes_at"]),
                                 r["truth"], r["perfect_count"], r["entrant_count"], r["truth_at"], r["published_at"],
                                 json.loads(r["entrants_by_audience"]) if r["entrants_by_audience"] else None))
    return Contest(row["id"], row["slug"], row["title"], row["status"], row["version"], row["bank_version"],
                   row["ranking_version"], definition, tuple(rounds))


def get_contest(deployment, slug: str) -> Contest | None:
    """The contest ``slug`` (one small query; the parsed definition is cached per process)."""
    row = next(query(deployment.db, 
        "select id, slug, version, bank_version, ranking_version, status from contest_contests where slug = ?", [slug]),
        None)
    if row is None:
        return None
    cache = memory(deployment).setdefault("contests", {})
    found = cache.get(row["id"])
    if (found is None or found.version != row["version"] or found.ranking_version != row["ranking_version"]
            or found.status != row["status"] or found.bank_version != row["bank_version"]):
        full = next(query(deployment.db, "select * from contest_contests where id = ?", [row["id"]]))
        found = _read(deployment, full)
        cache[row["id"]] = found
    return found


def get_contest_by_id(deployment, contest_id: int) -> Contest | None:
    """The contest with database id ``contest_id``."""
    row = next(query(deployment.db, "select slug from contest_contests where id = ?", [contest_id]), None)
    return get_contest(deployment, row["slug"]) if row else None


def list_contests(deployment, *, published_only: bool = False) -> list[Contest]:
    """Every contest (or only published ones), newest first."""
    sql = "select slug from contest_contests"
    if published_only:
        sql += " where status = 'published'"
    return [get_contest(deployment, r["slug"]) for r in query(deployment.db, sql + " order by id desc")]


def save_definition(deployment, definition: ContestDefinition, *, username: str | None = None,
                    expect_new: bool | None = None) -> tuple[Contest, bool]:
    """Create the contest ``definition.slug`` or update it. Returns (contest, created).

    Refuses (:class:`DefinitionError`) to drop a round that has attempts or an audience that has
    participants. A changed ranking order re-keys the submitted attempts.
    ``expect_new``: True refuses an existing slug, False refuses a missing one.
    """
    db = deployment.db
    now = utc_now_iso()
    data = definition_to_dict(definition, local_times=False)
    text = json.dumps(data, ensure_ascii=False, default=str)
    with serialized(deployment):
        row = next(query(db, "select * from contest_contests where slug = ?", [definition.slug]), None)
        if row is None and expect_new is False:
            raise ContestError(f"there is no contest {definition.slug!r}")
        if row is not None and expect_new is True:
            raise ContestError(f"a contest {definition.slug!r} exists already; choose another slug")
        problems: list[Problem] = []
        rekey = False
        if row is None:
            contest_id = db.execute(
                "insert into contest_contests (slug, title, status, definition, created_at, updated_at) "
                "values (?, ?, 'draft', ?, ?, ?)", [definition.slug, definition.title, text, now, now]).lastrowid
            created = True
        else:
            contest_id = row["id"]
            created = False
            old = definition_from_dict(json.loads(row["definition"]), None)
            if (old.tie_breaks != definition.tie_breaks or old.prediction != definition.prediction
                    or old.counted_attempt != definition.counted_attempt):
                rekey = True
            used = {r["audience"] for r in query(db, 
                "select distinct audience from contest_participants where contest_id = ?", [contest_id])}
            for key in sorted(used - {a.key for a in definition.audiences}):
                problems.append(Problem("audiences", f"audience {key!r} has participants and cannot be removed"))
            if old.prediction != definition.prediction and db.execute(
                    "select 1 from contest_attempts where contest_id = ? and status = 'submitted' and prediction "
                    "is not null limit 1", [contest_id]).fetchone():
                problems.append(Problem("contest.prediction.kind", "attempts with predictions exist; the kind of "
                                                                   "prediction cannot change any more"))
        numbers = {r.number for r in definition.rounds}
        for r in query(db, "select r.number, count(a.id) as n from contest_rounds r left join contest_attempts a "
                          "on a.round_id = r.id where r.contest_id = ? group by r.id", [contest_id]):
            if r["number"] not in numbers and r["n"]:
                problems.append(Problem("rounds", f"round {r['number']} has {r['n']} attempts and cannot be removed"))
        if problems:
            raise DefinitionError(problems)
        if not created:
            db.execute("update contest_contests set title = ?, definition = ?, version = version + 1, "
                       "ranking_version = ranking_version + 1, updated_at = ? where id = ?",
                       [definition.title, text, now, contest_id])
        existing = {r["number"]: r for r in query(db, "select * from contest_rounds where contest_id = ?", [contest_id])}
        for item in definition.rounds:
            opens, closes = utc_now_iso(item.opens), utc_now_iso(item.closes)
            if item.number in existing:
                old_round = existing[item.number]
                reset = old_round["closes_at"] != closes
                db.execute("update contest_rounds set name = ?, opens_at = ?, closes_at = ?"
                           + (", truth = null, perfect_count = null, entrant_count = null, truth_at = null" if reset else "")
                           + " where id = ?", [item.name, opens, closes, old_round["id"]])
                if reset and not rekey:  # re-keying writes the plain keys anyway
                    rebase_predictions(db, definition, old_round["id"], None)
            else:
                db.execute("insert into contest_rounds (contest_id, number, name, opens_at, closes_at) values "
                           "(?, ?, ?, ?, ?)", [contest_id, item.number, item.name, opens, closes])
        for number, r in existing.items():
            if number not in numbers:
                db.execute("delete from contest_rounds where id = ?", [r["id"]])
        log(db, contest_id, "create" if created else "update_definition", username=username, at=now)
        if rekey:
            rekey_attempts(db, contest_id, definition)
    contest = get_contest(deployment, definition.slug)
    return contest, created
