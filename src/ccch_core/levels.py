"""The plan seen one level at a time: reports counted per unit below a scope, and units searched.

A page shows what its reader can act on. An officer at a province of 100 communes acts on the
communes; an administrator of a national plan on the 34 provinces, then on one province's late
communes. So reports are counted *per unit one level below the reader's scope* (a province's
row sums the reports owed by every unit under it), with a way down to the next level. A small
scope is listed report by report, as a district with 40 units expects: aggregation depends on how
many units owe reports below the scope (:data:`LIST_LIMIT`), not on hiding what a small
deployment shows.

Everything here works on a :class:`~ccch_core.progress.Completeness` already computed and on the
plan's tree (dictionary look-ups), so a page costs one pass over the period's expected reports.
"""

from __future__ import annotations

import datetime as dt
import operator
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from .model import Plan, Unit
from .periods import Period
from .progress import Completeness, ExpectedReport, ReportRates, ReportState
from .text import fold, strip_diacritics

__all__ = [
    "LIST_LIMIT",
    "LIST_PAGE_SIZE",
    "PAGE_SIZE",
    "Level",
    "Page",
    "Tally",
    "level_view",
    "monthly_counts",
    "paginate",
    "row_finder",
    "search_key",
    "search_units",
    "units_within",
]

LIST_LIMIT = 60
"""A scope where at most this many units owe reports is shown report by report (a district with
its 40 units sees them directly); above it, its reports are counted per unit one level below."""

PAGE_SIZE = 50
"""Rows per page of a paginated table (a page of 50 rows stays well under the 200 KB a page may
weigh at national size)."""

LIST_PAGE_SIZE = 100
"""Rows per page of a list of single reports (about 500 bytes each, with links): a small scope's
quarter (Đức Thọ: 71 reports) stays on one page, as it was before pages were sized, and a page of
a national plan's filtered list stays near 100 KB with the charts."""


@attrs.frozen
class Tally(ReportRates):
    """The reports owed by the units at and below ``unit`` in one period, counted by state.

    A row of the level view: ``unit`` is one unit directly below the scope (or the scope itself,
    for the reports it owes itself). ``report`` is the one report of the row when there is
    exactly one (a commune's own monthly report), so a page can show its state and link to it.
    """

    unit: Unit
    reporters: int
    """Units that owe at least one of the counted reports."""
    counts: dict[str, int] = attrs.field(eq=False)
    report: ExpectedReport | None = None
    below: bool = False
    """Whether units below ``unit`` owe reports (a way down exists)."""

    @property
    def expected(self) -> int:
        """Reports expected."""
        return sum(self.counts.values())

    def count(self, *states: ReportState) -> int:
        """Reports in one of ``states``."""
        return sum(self.counts.get(s.value, 0) for s in states)

    @property
    def overdue(self) -> int:
        """Reports past their due date and not received."""
        return self.count(ReportState.MISSING)


@attrs.frozen
class Level:
    """What a reader at ``scope`` sees of a period's reports.

    ``mode`` is ``"list"`` (each report of the scope, a small scope) or ``"units"`` (one
    :class:`Tally` per unit one level below ``scope``). ``path`` is the chain from the plan's
    root down to ``scope`` (breadcrumbs); ``scope`` None is the whole plan.
    """

    scope: Unit | None
    path: tuple[Unit, ...]
    mode: str
    reports: tuple[ExpectedReport, ...]
    """The scope's reports, plan order (every mode: a filtered list pages over them)."""
    tallies: tuple[Tally, ...]
    reporters: int
    total: Tally | None


@attrs.frozen
class Page:
    """One page of a longer sequence: ``items``, its 1-based ``number`` of ``pages``."""

    items: tuple[Any, ...]
    number: int
    pages: int
    total: int
    size: int

    @property
    def first_index(self) -> int:
        """1-based position of the first item on the page (0 for an empty sequence)."""
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        """1-based position of the last item on the page."""
        return min(self.number * self.size, self.total)


def paginate(items: Sequence[Any], page: int, size: int = PAGE_SIZE) -> Page:
    """The ``page``-th page of ``items`` (1-based); a number below 1 or past the end is clamped to
    the first or last page, so a stale or tampered link still shows a page."""
    pages = max(1, -(-len(items) // size))
    number = min(max(1, page), pages)
    start = (number - 1) * size
    return Page(tuple(items[start:start + size]), number, pages, len(items), size)


_STATE = operator.attrgetter("state")
_UNIT_ID = operator.attrgetter("unit.id")


def _tally(unit: Unit, reports: list[ExpectedReport], below: bool) -> Tally:
    # Counted by the state members (hashing an enum is cheap; reading .value 40,000 times for a
    # national year is not), then keyed by their values; attributes read through map() in C.
    counts = {state.value: n for state, n in Counter(map(_STATE, reports)).items()}
    single = reports[0] if len(reports) == 1 else None
    return Tally(unit, len(set(map(_UNIT_ID, reports))), counts, single, below)


def level_view(plan: Plan, completeness: Completeness, scope_id: str | None = None, *,
               list_limit: int = LIST_LIMIT, descend: bool = True) -> Level:
    """The period's reports as a reader at ``scope_id`` (None: the whole plan) should see them.

    With ``descend``, a scope that owes no report itself and has reports below only one of its
    units moves down to that unit (Đức Thọ's plan is rooted at the province, but its reports are
    all under the district): the page opens where the reports are. A scope where at most
    ``list_limit`` units owe reports is listed report by report (mode ``"list"``); a larger one
    is counted per unit one level below (mode ``"units"``, each row a :class:`Tally`).
    """
    scope = plan.unit(scope_id) if scope_id else None
    path = [*reversed(plan.ancestors(scope.id)), scope] if scope else []
    # Each reporting unit's chain from its root, once per unit (not once per report: a year
    # has twelve reports per unit).
    chains: dict[str, list[str]] = {}
    for r in completeness.reports:
        if r.unit.id not in chains:
            chain = [r.unit.id, *(a.id for a in plan.ancestors(r.unit.id))]
            chain.reverse()
            chains[r.unit.id] = chain
    depth = len(path)
    prefix = [u.id for u in path]
    if depth:  # decided once per reporting unit, not once per report (twelve a unit in a year)
        inside = {unit_id for unit_id, chain in chains.items() if chain[:depth] == prefix}
        reports = [r for r in completeness.reports if r.unit.id in inside]
    else:
        reports = list(completeness.reports)
    while True:
        depth = len(path)
        group_of = {unit_id: chain[depth] if len(chain) > depth else None for unit_id, chain in chains.items()}
        groups: dict[str | None, list[ExpectedReport]] = {}
        for r in reports:
            key = group_of[r.unit.id]
            found = groups.get(key)
            if found is None:
                found = groups[key] = []
            found.append(r)
        own = groups.pop(None, [])
        if descend and not own and len(groups) == 1:
            only_id = next(iter(groups))
            if any(r.unit.id != only_id for r in groups[only_id]):
                path.append(plan.unit(only_id))
                continue
        break
    scope = path[-1] if path else None
    reporters = len({r.unit.id for r in reports})
    total = _tally(scope, reports, True) if scope is not None and reports else None
    if reporters <= list_limit:
        return Level(scope, tuple(path), "list", tuple(reports), (), reporters, total)
    tallies = []
    if own and scope is not None:
        tallies.append(_tally(scope, own, False))
    order = {u.id: i for i, u in enumerate(plan.units)}
    for unit_id in sorted(groups, key=lambda k: order.get(k, 0)):
        rows = groups[unit_id]
        tallies.append(_tally(plan.unit(unit_id), rows, any(r.unit.id != unit_id for r in rows)))
    return Level(scope, tuple(path), "units", tuple(reports), tuple(tallies), reporters, total)


def units_within(plan: Plan, scope_id: str | None) -> Iterable[Unit]:
    """The units at and below ``scope_id`` (every unit for None), in plan order."""
    if scope_id is None:
        return plan.units
    return (plan.unit(scope_id), *plan.descendants(scope_id))


_SEARCH_CACHE: dict[int, tuple[Plan, list[tuple[str, Unit]]]] = {}


def search_key(text: str) -> str:
    """The form names are compared in for search: case-folded, without tones or letter marks, đ as
    d ("Đức Thọ", "duc tho" and "ĐỨC THỌ" all give "duc tho"), since people type without them."""
    return strip_diacritics(fold(text)).casefold()


def _index(plan: Plan) -> list[tuple[str, Unit]]:
    cached = _SEARCH_CACHE.get(id(plan))
    if cached is not None and cached[0] is plan:
        return cached[1]
    if len(_SEARCH_CACHE) > 8:
        _SEARCH_CACHE.clear()
    index = []
    for unit in plan.units:
        names = [unit.name, *([unit.short_name] if unit.short_name else []), *unit.aliases,
                 *(f.name for f in unit.former_names)]
        index.append((" | ".join(search_key(n) for n in names), unit))
    _SEARCH_CACHE[id(plan)] = (plan, index)
    return index


def search_units(plan: Plan, query: str, *, within: str | None = None, only: Iterable[str] | None = None,
                 limit: int | None = None) -> list[Unit]:
    """Units whose name (or short name, alias, former name) contains every word of ``query``,
    compared by :func:`search_key`; names that start with the query come first, then shorter names,
    then plan order. ``within`` keeps units at or below one unit; ``only`` keeps the given ids."""
    words = search_key(query).split()
    if not words:
        return []
    allowed = set(only) if only is not None else None
    index = _index(plan)
    first = words[0]
    # One comprehension per word (a national plan: 36,647 keys; "xa" matches nearly all of them).
    hits = [(i, key) for i, (key, _) in enumerate(index) if first in key]
    for word in words[1:]:
        hits = [(i, key) for i, key in hits if word in key]
    found = []
    for position, key in hits:
        unit = index[position][1]
        if (allowed is None or unit.id in allowed) and (within is None or plan.is_within(unit.id, within)):
            found.append((not key.startswith(first), len(unit.name), position, unit))
    # Names that start with the query, then the shortest (the unit itself before its desks and
    # stations: "UBND xã An Dũng" before "Bộ phận tiếp nhận … xã An Dũng"), then plan order. Not
    # Vietnamese collation: "xa" matches 36,000 names of a national plan, and sort_key on each
    # would cost seconds; a page of 50 is put in Vietnamese order by the caller if it wants.
    # The positions are unique, so the tuples sort without ever comparing units, and without a
    # key function (called 36,000 times for "xa", it was half the search's time).
    found.sort()
    units = [t[3] for t in found]
    return units[:limit] if limit is not None else units


_COUNTS_KEPT = 1024
"""Months of counts kept per plan and database (12 months × the scopes and pages being looked at)."""


def monthly_counts(db, plan: Plan, months: Sequence[Period], row_of, *, now=None) -> dict[str, dict[str, dict[str, int]]]:
    """The monthly activity reports owed in ``months``, counted per row and state, without one
    object per report: ``{row: {"2024-03": {"on_time": 80, "late": 12, …}}}``.

    ``row_of(unit_id)`` names the row a reporting unit is counted in (None: not shown). States
    are those of :func:`ccch_core.progress.reporting_completeness` for the activity report in
    ccch (the copies owed to further recipients are not in the grid): one query for the
    submissions of the months, then one pass over the units that owe a report each month.

    With a ``row_of`` made by :func:`row_finder`, each month's counts are kept (per plan and
    database) until that month's reports change (how many, the last ``updated_at``, the sum of
    revisions) or one of its deadlines passes: a national year's grid (39,852 reports) is
    counted again only for the month an officer wrote to, not for all twelve on every view
    after any write.
    """
    from .periods import PeriodType, utc_now
    from .progress import DEFAULT_GRACE_DAYS, _activity_versions, _due_days, _plan_index
    from .storage import utc_now_iso

    now = now or utc_now()
    # Instants are stored as one ISO form (storage.utc_now_iso: UTC, seconds, +00:00), so they
    # compare as text; the deadlines are written the same way.
    now_text = utc_now_iso(now)
    grace = plan.report_grace_days if plan.report_grace_days is not None else DEFAULT_GRACE_DAYS
    due_days = _due_days(plan, PeriodType.MONTH)
    wanted = [m for m in months if m.end_date >= plan.starts_on and m.start_date <= plan.ends_on]
    rows_key = getattr(row_of, "key", None)
    kept: dict | None = None
    keys: dict[Period, tuple] = {}
    if rows_key is not None and wanted:
        kept = _plan_index(plan).setdefault("monthly counts", weakref.WeakKeyDictionary()).setdefault(db, {})
        versions = _activity_versions(db, wanted)
        days = sorted({day for day, _ in due_days.values() if day})
        for month in wanted:
            # Which of the month's deadlines have passed decides "not yet due" against "missing".
            passed = tuple(now_text >= utc_now_iso(month.due_at(day)) for day in days)
            grace_passed = now_text >= utc_now_iso(month.end_utc + dt.timedelta(days=grace))
            keys[month] = (str(month), rows_key, versions.get(str(month)), passed, grace_passed)
    to_count = [m for m in wanted if kept is None or keys[m] not in kept]
    submitted: dict[str, dict[str, str]] = {str(m): {} for m in to_count}  # per month: unit → instant
    if to_count:
        marks = ", ".join("?" * len(to_count))
        for period, unit_id, at in db.execute(
                f"select period, unit_id, submitted_at from activity_reports where period in ({marks})",
                [str(m) for m in to_count]):
            submitted[period][unit_id] = at
    # Each reporting unit's row and due day, worked out once for all months (a national year is
    # 3,321 units × 12 months); the same units report every month unless units are dated.
    placed: dict[str, tuple[str, int | None] | None] = {}
    out: dict[str, dict[str, dict[str, int]]] = {}
    for month in wanted:
        text = str(month)
        if month not in to_count:
            for row, cell in kept[keys[month]].items():
                out.setdefault(row, {})[text] = dict(cell)
            continue
        counted: dict[str, dict[str, int]] = {}
        grace_end = utc_now_iso(month.end_utc + dt.timedelta(days=grace))
        deadlines: dict[int | None, str | None] = {None: None}
        of_month = submitted[text]
        for unit in plan.expected_reporters(month):
            unit_id = unit.id
            where = placed.get(unit_id, False)
            if where is False:
                row = row_of(unit_id)
                where = placed[unit_id] = None if row is None else (row, due_days.get(unit_id, (None, False))[0])
            if where is None:
                continue
            row, day = where
            due = deadlines.get(day, False)
            if due is False:
                due = deadlines[day] = utc_now_iso(month.due_at(day))
            at = of_month.get(unit_id)
            if at is not None:
                state = "submitted" if due is None else "on_time" if at < due else "late"
            elif due is not None and now_text < due or due is None and now_text < grace_end:
                state = "not_due"
            else:
                state = "missing"
            cell = counted.setdefault(row, {})
            cell[state] = cell.get(state, 0) + 1
        for row, cell in counted.items():
            out.setdefault(row, {})[text] = cell
        if kept is not None:
            if len(kept) >= _COUNTS_KEPT:
                kept.clear()
            kept[keys[month]] = {row: dict(cell) for row, cell in counted.items()}
    return out


def row_finder(plan: Plan, rows: Iterable[str], scope_id: str | None):
    """``row_of`` for :func:`monthly_counts`: a unit is counted in the row of its own id, else of
    its nearest ancestor among ``rows`` — except the scope's own row, which counts only the
    scope's own reports (its units below have rows of their own or are not shown)."""
    wanted = set(rows)

    def row_of(unit_id: str) -> str | None:
        if unit_id in wanted:
            return unit_id
        for ancestor in plan.ancestors(unit_id):
            if ancestor.id == scope_id:
                return None
            if ancestor.id in wanted:
                return ancestor.id
        return None

    row_of.key = (tuple(sorted(wanted)), scope_id)  # what the counts depend on, for monthly_counts
    return row_of
