"""The plan model: a CCHC communication plan, its units, indicators, tasks and rules.

Every class here is a frozen attrs value object. A :class:`Plan` is built by
:func:`ccch_core.planfile.load_plan` from a TOML plan file, which validates everything and
reports all problems at once; the validators here guard the edges for code that builds a plan
in Python.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import attrs

from .periods import Period, PeriodType
from .text import clean, fold

__all__ = [
    "Channel",
    "Comparison",
    "CountScope",
    "Deadline",
    "FormerName",
    "Frequency",
    "Indicator",
    "IndicatorKind",
    "LegalDocument",
    "Plan",
    "Provenance",
    "ReportingRule",
    "Signatory",
    "Task",
    "Topic",
    "Unit",
    "UnitGroup",
]

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
"""Unit, group and rule ids: lower-case ASCII letters, digits, '.', '_' and '-'."""


def _text(value: str) -> str:
    return clean(value)


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(clean(v) for v in values)


def _optional_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = clean(value)
    return value or None


def _interned(value):
    # A unit's id, kind and parent, one string object per distinct text: a national plan's
    # 36,647 units repeat a few kinds and 3,500 parents, and the plan cache (plancache) then
    # pickles each repeat as a reference instead of a string of its own to make again.
    return sys.intern(value) if type(value) is str else value


def _valid_id(instance, attribute, value):
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise ValueError(
            f"{attribute.name} {value!r} is not a valid id "
            "(lower-case letters, digits, '.', '_' or '-', starting with a letter or digit)"
        )


def _non_empty(instance, attribute, value):
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")


# --------------------------------------------------------------------------------------------
# Provenance: where a fact comes from


ASSUMED_LABEL_VI = "giả định: kế hoạch không nêu"
"""How pages and reports mark a fact the paper plan does not state."""


def _pairs(value) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, dict) else value
    return tuple((str(k), clean(v)) for k, v in items)


@attrs.frozen
class Provenance:
    """Where the facts of one plan entry come from (nguồn), or that they are assumed.

    ``source`` is where the paper plan states the entry ("IV.7", "Phụ lục, dòng 3");
    ``field_sources`` gives a different place for single fields; ``assumed`` names the fields the
    plan does *not* state, each with the reason it was filled in (``"*"``: the whole entry).
    Pages and reports mark an assumed fact with :data:`ASSUMED_LABEL_VI`.
    """

    source: str | None = attrs.field(default=None, converter=_optional_text)
    field_sources: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    assumed: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)

    def assumption(self, field: str | None = None) -> str | None:
        """The reason ``field`` (or, with None, the whole entry) is assumed, else None.

        A field of an entry assumed as a whole is assumed too."""
        reasons = dict(self.assumed)
        if field is not None and field in reasons:
            return reasons[field]
        return reasons.get("*")

    def is_assumed(self, field: str | None = None) -> bool:
        """Whether ``field`` (or the whole entry) is an assumption rather than read from the plan."""
        return self.assumption(field) is not None

    def source_of(self, field: str | None = None) -> str | None:
        """Where the plan states ``field`` (or the entry), None when assumed or not recorded."""
        if self.is_assumed(field):
            return None
        if field is not None:
            for name, where in self.field_sources:
                if name == field:
                    return where
        return self.source

    @property
    def assumed_fields(self) -> tuple[str, ...]:
        """The fields marked assumed (``"*"`` for the whole entry)."""
        return tuple(name for name, _ in self.assumed)


NO_PROVENANCE = Provenance()


@attrs.frozen
class AssumedFact:
    """A fact of a plan that the paper plan does not state: ``field`` of the entry ``entry_id`` in
    ``section`` (``"*"``: the whole entry), and why it was filled in."""

    section: str
    entry_id: str
    field: str
    reason: str

    @property
    def where(self) -> str:
        """``reporting_rules bao-cao-thang.due_day``, for messages and listings."""
        return f"{self.section} {self.entry_id}" + ("" if self.field == "*" else f".{self.field}")

WHOLE_PLAN_LABEL_VI = "Toàn kế hoạch (không giao cho đơn vị cụ thể)"
"""How a target that applies to no unit in particular is shown."""


# --------------------------------------------------------------------------------------------
# Units


UNIT_KINDS: dict[str, str] = {
    "province": "Tỉnh / thành phố",
    "district": "Huyện / quận / thị xã",
    "commune": "Xã",
    "ward": "Phường",
    "town": "Thị trấn",
    "people_committee": "Ủy ban nhân dân",
    "council": "Hội đồng nhân dân",
    "department": "Phòng, ban chuyên môn",
    "provincial_department": "Sở, ban, ngành cấp tỉnh",
    "office": "Văn phòng",
    "centre": "Trung tâm, đơn vị sự nghiệp",
    "one_stop_desk": "Bộ phận một cửa",
    "post_office": "Bưu điện",
    "post_culture_point": "Điểm Bưu điện - Văn hóa xã",
    "radio_station": "Đài, trạm truyền thanh",
    "portal": "Cổng/Trang thông tin điện tử",
    "press": "Cơ quan báo chí",
    "party_committee": "Cấp ủy Đảng",
    "party_board": "Ban của cấp ủy Đảng",
    "front": "Mặt trận Tổ quốc",
    "mass_organisation": "Đoàn thể",
    "association": "Hiệp hội, chi hội",
    "steering_committee": "Ban Chỉ đạo",
    "leadership": "Lãnh đạo",
    "central": "Cơ quan Trung ương",
    "other": "Khác",
}
"""Built-in unit kinds with their Vietnamese labels. A plan file may declare more."""


@attrs.frozen
class FormerName:
    """A name a unit carried until (not including) ``until``."""

    name: str = attrs.field(converter=_text, validator=_non_empty)
    until: dt.date = attrs.field(validator=attrs.validators.instance_of(dt.date))


@attrs.frozen
class Unit:
    """An organisation unit (đơn vị): a node in a tree of any depth.

    Reports and measurements are keyed by ``id``, which never changes. A rename keeps the id
    and records the old name in ``former_names``; a merger retires the old unit
    (``retired_on``) and names its successor in ``merged_into``, so that what was reported
    under the old unit stays attached to it and can be rolled up into the successor.
    """

    id: str = attrs.field(converter=_interned, validator=_valid_id)
    name: str = attrs.field(converter=_text, validator=_non_empty)
    kind: str = attrs.field(converter=_interned, validator=_non_empty)
    parent: str | None = attrs.field(default=None, converter=_interned)
    short_name: str | None = attrs.field(default=None, converter=_optional_text)
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    headcount: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(0))
    )
    population: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(0))
    )
    responsibilities: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    requested: bool = False
    """True where the plan *requests* rather than requires (party boards, the Front)."""
    external: bool = False
    """True for units outside the plan's authority (the province, the press): named, not managed."""
    established_on: dt.date | None = None
    retired_on: dt.date | None = None
    merged_into: str | None = None
    former_names: tuple[FormerName, ...] = attrs.field(default=(), converter=tuple)
    provenance: Provenance = attrs.field(default=NO_PROVENANCE, eq=False)
    """Where the entry's facts come from in the paper plan, or which are assumed."""

    def __attrs_post_init__(self):
        if self.parent == self.id:
            raise ValueError(f"unit {self.id!r} cannot be its own parent")
        if self.established_on and self.retired_on and self.retired_on <= self.established_on:
            raise ValueError(f"unit {self.id!r} is retired before it is established")
        if self.merged_into and not self.retired_on:
            raise ValueError(f"unit {self.id!r} is merged_into another unit but has no retired_on")

    def active_on(self, day: dt.date) -> bool:
        """Whether the unit exists on ``day``."""
        if self.established_on and day < self.established_on:
            return False
        return not (self.retired_on and day >= self.retired_on)

    def active_during(self, period: Period) -> bool:
        """Whether the unit exists on at least one day of ``period``."""
        if self.established_on and self.established_on > period.end_date:
            return False
        return not (self.retired_on and self.retired_on <= period.start_date)

    def name_on(self, day: dt.date) -> str:
        """The name the unit carried on ``day`` (its current name if it was not renamed)."""
        for former in sorted(self.former_names, key=lambda f: f.until):
            if day < former.until:
                return former.name
        return self.name

    def matches_name(self, text: str) -> bool:
        """Whether ``text`` is this unit's name, short name, an alias or a former name."""
        key = fold(text)
        names = [self.name, self.short_name or "", *self.aliases, *(f.name for f in self.former_names)]
        return any(key == fold(n) for n in names if n)

    def __reduce__(self):
        # Pickled as its field values, rebuilt without attrs' per-field __setstate__: a plan the
        # size of the country has 36,647 units, and the plan cache (plancache) loaded them in
        # 0.2 s that way. The values are the same objects either way.
        return _unit_from_values, tuple(getattr(self, name) for name in _UNIT_FIELDS)


_UNIT_FIELDS = tuple(a.name for a in attrs.fields(Unit))


def _make_unit_from_values() -> Callable[..., Unit]:
    # One straight line of slot setters, written for Unit's fields as they are (so a field added
    # to Unit is set too): a loop over the setters took 1.7x as long, about 35 ms more for the
    # 36,647 units of a national plan read from the plan cache.
    setters = {f"_set{i}": Unit.__dict__[name].__set__ for i, name in enumerate(_UNIT_FIELDS)}  # the slots' own
    names = [f"v{i}" for i in range(len(_UNIT_FIELDS))]
    source = (f"def _unit_from_values({', '.join(names)}):\n    unit = _new(Unit)\n"
              + "".join(f"    _set{i}(unit, v{i})\n" for i in range(len(names))) + "    return unit\n")
    namespace = {"_new": object.__new__, "Unit": Unit, **setters}
    exec(source, namespace)  # noqa: S102 - the source is made above from the class's own field names
    function = namespace["_unit_from_values"]
    function.__module__ = __name__
    function.__qualname__ = "_unit_from_values"
    function.__doc__ = """The :class:`Unit` whose fields hold ``values`` (in field order), as pickled by
    ``Unit.__reduce__``: the values were checked when the unit was first made, so neither the
    converters nor the validators run again."""
    return function


_unit_from_values = _make_unit_from_values()


@attrs.frozen
class UnitGroup:
    """A named set of units the plan refers to collectively ("UBND các xã, thị trấn").

    Members are the units whose kind is in ``kinds`` (optionally only below ``within``) plus the
    units listed in ``units``.
    """

    id: str = attrs.field(validator=_valid_id)
    name: str = attrs.field(converter=_text, validator=_non_empty)
    kinds: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    units: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    within: str | None = None
    excludes_lead: bool = False
    """Used as a task's coordinating units, the group leaves out the task's lead units
    ("các phòng, ban" coordinating a task one of them leads)."""
    provenance: Provenance = attrs.field(default=NO_PROVENANCE, eq=False)
    """Where the entry's facts come from in the paper plan, or which are assumed."""


# --------------------------------------------------------------------------------------------
# Indicators


class IndicatorKind(str, enum.Enum):
    """What an indicator counts (the DHIS2 idea: a numerator over a denominator)."""

    SHARE_OF_UNITS = "share_of_units"
    """Share of applicable units meeting a condition; each unit answers yes (1) or no (0)."""
    COUNT = "count"
    """A count per period against a target such as 15 a year or 1 a month."""
    RATIO = "ratio"
    """A percentage computed as the sum of numerators over the sum of denominators."""
    PERCENTAGE = "percentage"
    """A percentage entered directly."""
    YES_NO = "yes_no"
    """Done or not done; used for qualitative targets assessed each period."""


class Comparison(str, enum.Enum):
    """How a value is compared with its target."""

    AT_LEAST = ">="
    AT_MOST = "<="
    EQUAL = "=="

    def holds(self, value: float, target: float) -> bool:
        """Whether ``value`` meets ``target`` under this comparison."""
        if self is Comparison.AT_LEAST:
            return value >= target - 1e-9
        if self is Comparison.AT_MOST:
            return value <= target + 1e-9
        return abs(value - target) <= 1e-9


class CountScope(str, enum.Enum):
    """For count indicators: whether the target is for all applicable units together or for
    each of them."""

    TOTAL = "total"
    EACH = "each"


PERCENT_KINDS = frozenset({IndicatorKind.SHARE_OF_UNITS, IndicatorKind.RATIO, IndicatorKind.PERCENTAGE})


@attrs.frozen
class Indicator:
    """A target of the plan (chỉ tiêu) and how to measure it.

    ``applies_to`` names units or unit groups: the units that report a value (or, for plugin
    measures, the units a value is computed for). ``period_type`` is how often values are
    recorded. ``source`` is ``"entered"`` (units or the plan admin enter values) or
    ``"plugin:<measure>"`` (a plugin computes it through the ``register_measures`` hook).
    """

    code: str = attrs.field(validator=_non_empty)
    text: str = attrs.field(converter=_text, validator=_non_empty)
    kind: IndicatorKind = attrs.field(converter=IndicatorKind)
    target: float | None = None
    comparison: Comparison = attrs.field(default=Comparison.AT_LEAST, converter=Comparison)
    applies_to: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    period_type: PeriodType = attrs.field(default=PeriodType.MONTH, converter=PeriodType)
    target_per: PeriodType | None = attrs.field(
        default=None, converter=attrs.converters.optional(PeriodType)
    )
    scope: CountScope = attrs.field(default=CountScope.TOTAL, converter=CountScope)
    source: str = "entered"
    short_name: str | None = attrs.field(default=None, converter=_optional_text)
    condition: str | None = attrs.field(default=None, converter=_optional_text)
    numerator: str | None = attrs.field(default=None, converter=_optional_text)
    denominator: str | None = attrs.field(default=None, converter=_optional_text)
    unit_label: str | None = attrs.field(default=None, converter=_optional_text)
    quantitative: bool = True
    tasks: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    reference: str | None = attrs.field(default=None, converter=_optional_text)
    notes: str | None = attrs.field(default=None, converter=_optional_text)
    provenance: Provenance = attrs.field(default=NO_PROVENANCE, eq=False)
    """Where the entry's facts come from in the paper plan, or which are assumed."""

    def __attrs_post_init__(self):
        if self.target is not None:
            if self.kind in PERCENT_KINDS and not 0 <= self.target <= 100:
                raise ValueError(f"indicator {self.code}: a percentage target must be 0–100")
            if self.kind is IndicatorKind.YES_NO and self.target not in (0, 1):
                raise ValueError(f"indicator {self.code}: a yes/no target is 1 (yes) or 0 (no)")
            if self.target < 0:
                raise ValueError(f"indicator {self.code}: target must not be negative")
        if self.source != "entered" and not (self.source.startswith("plugin:") and len(self.source) > 7):
            raise ValueError(f"indicator {self.code}: source is 'entered' or 'plugin:<measure>'")

    @property
    def is_percentage(self) -> bool:
        """Whether values of this indicator are percentages."""
        return self.kind in PERCENT_KINDS

    @property
    def measure_name(self) -> str | None:
        """The plugin measure name for computed indicators, else None."""
        return self.source.removeprefix("plugin:") if self.source.startswith("plugin:") else None

    @property
    def label(self) -> str:
        """A short label for tables."""
        return self.short_name or self.text


# --------------------------------------------------------------------------------------------
# Tasks, topics, channels, documents, deadlines, reporting rules


@attrs.frozen
class Frequency:
    """An expected frequency such as "15 số/năm" (count=15, per=year)."""

    count: float = attrs.field(validator=attrs.validators.ge(0))
    per: PeriodType = attrs.field(converter=PeriodType)
    label: str | None = attrs.field(default=None, converter=_optional_text)


@attrs.frozen
class Task:
    """A row of the plan's appendix (nhiệm vụ trọng tâm)."""

    id: str = attrs.field(validator=_non_empty)
    number: int
    duty: str = attrs.field(converter=_text, validator=_non_empty)
    products: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    lead: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    coordinating: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    lead_text: str | None = attrs.field(default=None, converter=_optional_text)
    coordinating_text: str | None = attrs.field(default=None, converter=_optional_text)
    timing: str | None = attrs.field(default=None, converter=_optional_text)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    frequencies: tuple[Frequency, ...] = attrs.field(default=(), converter=tuple)
    indicators: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    budget_source: str | None = attrs.field(default=None, converter=_optional_text)
    notes: str | None = attrs.field(default=None, converter=_optional_text)
    starts_in: Period | None = None
    """A start the plan gives as a period ("Từ Quý I/2024": 2024-Q1) rather than a day."""
    evidence_per: PeriodType | None = attrs.field(default=None, converter=attrs.converters.optional(PeriodType))
    """For a vague cadence ("thường xuyên", "định kỳ"): the lead units show evidence (an activity
    report item for this task) in every period of this type."""
    provenance: Provenance = attrs.field(default=NO_PROVENANCE, eq=False)
    """Where the entry's facts come from in the paper plan, or which are assumed."""


@attrs.frozen
class LegalDocument:
    """A legal or policy document the plan cites (văn bản)."""

    id: str = attrs.field(validator=_non_empty)
    number: str = attrs.field(converter=_text, validator=_non_empty)
    title: str = attrs.field(converter=_text, validator=_non_empty)
    issuer: str = attrs.field(converter=_text, validator=_non_empty)
    issued_on: dt.date | None = None
    issued_on_as_written: str | None = attrs.field(default=None, converter=_optional_text)
    document_type: str | None = attrs.field(default=None, converter=_optional_text)
    notes: str | None = attrs.field(default=None, converter=_optional_text)
    provenance: Provenance = attrs.field(default=NO_PROVENANCE, eq=False)
    """Where the entry's facts come from in the paper plan, or which are assumed."""


@attrs.frozen
class Topic:
    """A content topic (nội dung tuyên truyền) with the legal documents it cites."""

    id: str = attrs.field(validator=_non_empty)
    text: str = attrs.field(converter=_text, validator=_non_empty)
    title: str | None = attrs.field(default=None, converter=_optional_text)
    points: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    documents: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    provenance: Provenance = attrs.field(default=NO_PROVENANCE, eq=False)
    """Where the entry's facts come from in the paper plan, or which are assumed."""


@attrs.frozen
class Channel:
    """A communication channel or form (hình thức tuyên truyền)."""

    id: str = attrs.field(validator=_non_empty)
    text: str = attrs.field(converter=_text, validator=_non_empty)
    name: str | None = attrs.field(default=None, converter=_optional_text)
    units: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    provenance: Provenance = attrs.field(default=NO_PROVENANCE, eq=False)
    """Where the entry's facts come from in the paper plan, or which are assumed."""


@attrs.frozen
class Deadline:
    """A fixed deadline: ``who`` must do ``what`` for ``to`` before (or on) a date."""

    id: str = attrs.field(validator=_valid_id)
    what: str = attrs.field(converter=_text, validator=_non_empty)
    due: dt.date = attrs.field(validator=attrs.validators.instance_of(dt.date))
    inclusive: bool = False
    """False: due *before* ``due`` ("trước 20/01/2024"); True: on ``due`` at the latest."""
    local_plans: bool = False
    """True for the deadline of the communes' own plans under this one (IV.7 "Kế hoạch của các
    xã, thị trấn gửi về UBND huyện trước 20/01/2024"): :mod:`ccch_core.local_plans` judges the
    plans sent in the web against it."""
    who: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    to: str | None = None
    reference: str | None = attrs.field(default=None, converter=_optional_text)
    provenance: Provenance = attrs.field(default=NO_PROVENANCE, eq=False)
    """Where the entry's facts come from in the paper plan, or which are assumed."""

    @property
    def last_day(self) -> dt.date:
        """The last day on which the deadline is still met."""
        return self.due if self.inclusive else self.due - dt.timedelta(days=1)


@attrs.frozen
class ReportingRule:
    """Who reports to whom, how often and by which day (the reporting chain)."""

    id: str = attrs.field(validator=_valid_id)
    what: str = attrs.field(converter=_text, validator=_non_empty)
    reporters: tuple[str, ...] = attrs.field(converter=tuple, validator=_non_empty)
    to: str = attrs.field(validator=_non_empty)
    frequency: PeriodType = attrs.field(converter=PeriodType)
    via: str | None = None
    due_day: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional([attrs.validators.ge(1), attrs.validators.le(28)]),
    )
    """Day of the month after the period by which the report is due; None: no fixed day."""
    tracked: bool = True
    """Whether ccch tracks submissions for this rule (activity reports and completeness)."""
    requested: bool = False
    reference: str | None = attrs.field(default=None, converter=_optional_text)
    recipients: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    """Every unit the report goes to, ``to`` first ("báo cáo UBND huyện, tỉnh"); each is tracked.
    Built from ``to`` alone when not given."""
    provenance: Provenance = attrs.field(default=NO_PROVENANCE, eq=False)
    """Where the entry's facts come from in the paper plan, or which are assumed."""

    def __attrs_post_init__(self):
        if not self.recipients:
            object.__setattr__(self, "recipients", (self.to,))
        elif self.recipients[0] != self.to:
            raise ValueError(f"reporting rule {self.id!r}: recipients must start with to ({self.to!r})")


@attrs.frozen
class Signatory:
    """The signature block: authority prefix lines (TM., KT.), the signer's title and name."""

    title: str = attrs.field(converter=_text, validator=_non_empty)
    name: str = attrs.field(converter=_text, validator=_non_empty)
    authority: tuple[str, ...] = attrs.field(default=(), converter=_texts)


# --------------------------------------------------------------------------------------------
# The plan


class _Memo:
    """Answers a :class:`Plan` has already computed (its units resolved from references).

    Bounded, so that a server asked about many periods does not grow without end; shared by the
    threads of a worker (a lost race computes the same answer twice). Pickled empty: a cached
    plan file (``plancache``) carries the plan, not its answers.
    """

    LIMIT = 4096

    def __init__(self):
        self._answers: dict = {}

    def get(self, key):
        return self._answers.get(key)

    def put(self, key, value):
        if len(self._answers) >= self.LIMIT:
            self._answers.clear()
        self._answers[key] = value
        return value

    def __reduce__(self):
        return (_Memo, ())


@attrs.frozen
class Plan:
    """A CCHC communication plan (kế hoạch tuyên truyền CCHC) with everything it names."""

    id: str = attrs.field(validator=_valid_id)
    title: str = attrs.field(converter=_text, validator=_non_empty)
    year: int
    issuing_unit: str
    starts_on: dt.date
    ends_on: dt.date
    document_type: str = "Kế hoạch"
    number: str | None = attrs.field(default=None, converter=_optional_text)
    symbol: str | None = attrs.field(default=None, converter=_optional_text)
    place: str | None = attrs.field(default=None, converter=_optional_text)
    issued_on: dt.date | None = None
    summary: str | None = attrs.field(default=None, converter=_optional_text)
    purposes: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    requirements: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    funding: str | None = attrs.field(default=None, converter=_optional_text)
    signatory: Signatory | None = None
    recipients: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    unit_kinds: dict[str, str] = attrs.field(factory=lambda: dict(UNIT_KINDS))
    units: tuple[Unit, ...] = attrs.field(default=(), converter=tuple)
    unit_groups: tuple[UnitGroup, ...] = attrs.field(default=(), converter=tuple)
    indicators: tuple[Indicator, ...] = attrs.field(default=(), converter=tuple)
    tasks: tuple[Task, ...] = attrs.field(default=(), converter=tuple)
    legal_documents: tuple[LegalDocument, ...] = attrs.field(default=(), converter=tuple)
    topics: tuple[Topic, ...] = attrs.field(default=(), converter=tuple)
    channels: tuple[Channel, ...] = attrs.field(default=(), converter=tuple)
    deadlines: tuple[Deadline, ...] = attrs.field(default=(), converter=tuple)
    reporting_rules: tuple[ReportingRule, ...] = attrs.field(default=(), converter=tuple)
    source_path: str | None = attrs.field(default=None, eq=False)
    parent_plan: str | None = None
    """The id of the plan this one is written under (a commune's plan under the district's)."""
    report_grace_days: int | None = attrs.field(
        default=None, validator=attrs.validators.optional([attrs.validators.ge(0), attrs.validators.le(90)])
    )
    """Days after a period within which a report under a rule without a due day is not yet
    missing; None: ccch's default (``progress.DEFAULT_GRACE_DAYS``)."""
    provenance: Provenance = attrs.field(default=NO_PROVENANCE, eq=False)
    """Where the header's facts come from, or which are assumed."""

    _unit_index: dict[str, Unit] = attrs.field(init=False, eq=False, repr=False)
    _group_index: dict[str, UnitGroup] = attrs.field(init=False, eq=False, repr=False)
    _children: dict[str | None, tuple[Unit, ...]] = attrs.field(init=False, eq=False, repr=False)
    _memo: _Memo = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self):
        units = {u.id: u for u in self.units}
        children: dict[str | None, list[Unit]] = {}
        for unit in self.units:
            children.setdefault(unit.parent, []).append(unit)
        object.__setattr__(self, "_unit_index", units)
        object.__setattr__(self, "_group_index", {g.id: g for g in self.unit_groups})
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in children.items()})
        object.__setattr__(self, "_memo", _Memo())

    # -- header -------------------------------------------------------------------------------

    @property
    def number_and_symbol(self) -> str:
        """"Số: 123/KH-UBND", with a blank for a number not yet given."""
        return f"{self.number or '……'}/{self.symbol or ''}".rstrip("/")

    @property
    def period(self) -> Period:
        """The plan's year as a period."""
        return Period.year_of(self.year)

    # -- units --------------------------------------------------------------------------------

    def unit(self, unit_id: str) -> Unit:
        """The unit with ``unit_id``; KeyError naming the id if there is none."""
        try:
            return self._unit_index[unit_id]
        except KeyError:
            raise KeyError(f"no unit with id {unit_id!r} in plan {self.id!r}") from None

    def has_unit(self, unit_id: str) -> bool:
        """Whether a unit with ``unit_id`` exists."""
        return unit_id in self._unit_index

    def group(self, group_id: str) -> UnitGroup:
        """The unit group with ``group_id``."""
        try:
            return self._group_index[group_id]
        except KeyError:
            raise KeyError(f"no unit group with id {group_id!r} in plan {self.id!r}") from None

    def is_reference(self, ref: str) -> bool:
        """Whether ``ref`` names a unit or a unit group."""
        return ref in self._unit_index or ref in self._group_index

    def reference_name(self, ref: str) -> str:
        """The Vietnamese name of a unit or unit group reference."""
        if ref in self._unit_index:
            return self._unit_index[ref].name
        return self.group(ref).name

    def roots(self) -> tuple[Unit, ...]:
        """Units without a parent (a plan may have several trees)."""
        return self._children.get(None, ())

    def children(self, unit_id: str) -> tuple[Unit, ...]:
        """The direct sub-units of a unit."""
        return self._children.get(unit_id, ())

    def descendants(self, unit_id: str) -> Iterator[Unit]:
        """All units below ``unit_id``, depth first."""
        for child in self.children(unit_id):
            yield child
            yield from self.descendants(child.id)

    def ancestors(self, unit_id: str) -> list[Unit]:
        """The chain of parents of ``unit_id``, nearest first."""
        chain = []
        current = self.unit(unit_id).parent
        while current is not None:
            unit = self.unit(current)
            chain.append(unit)
            current = unit.parent
        return chain

    def is_within(self, unit_id: str, scope_id: str) -> bool:
        """Whether ``unit_id`` is ``scope_id`` or below it (a unit officer's scope)."""
        return unit_id == scope_id or any(a.id == scope_id for a in self.ancestors(unit_id))

    def sums_within(self, per_unit: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
        """Roll counts up the tree: for every unit that has anything at or below it, the
        element-wise sums of ``per_unit``'s rows for the unit itself and every unit below it.

        ``per_unit`` maps a unit id to a row of numbers (counts, numerators, denominators);
        ids that are not in the plan (a unit removed since) and empty ids are ignored. A unit
        with nothing at or below it is absent from the result, so ``unit_id in result`` says
        whether any row lies within that unit. This is what a plugin's measure needs for "the
        unit and the units below it": it costs the rows × the tree's depth, where asking
        ``is_within`` for each applicable unit and each row costs units × rows (minutes for
        3,321 communes in a plan the size of the country).
        """
        totals: dict[str, list[float]] = {}
        for unit_id, row in per_unit.items():
            if not unit_id or unit_id not in self._unit_index:
                continue
            current: str | None = unit_id
            while current is not None:
                sums = totals.get(current)
                if sums is None:
                    totals[current] = list(row)
                else:
                    for i, value in enumerate(row):
                        sums[i] += value
                current = self._unit_index[current].parent
        return totals

    def depth(self, unit_id: str) -> int:
        """0 for a root, 1 for its children, and so on."""
        return len(self.ancestors(unit_id))

    def successor(self, unit_id: str, on: dt.date | None = None) -> Unit:
        """The unit that carries ``unit_id``'s history today (or ``on``): follows mergers."""
        unit = self.unit(unit_id)
        seen = {unit.id}
        while unit.merged_into and (on is None or not unit.active_on(on)):
            unit = self.unit(unit.merged_into)
            if unit.id in seen:
                break
            seen.add(unit.id)
        return unit

    def resolve(self, refs: Iterable[str], period: Period | None = None) -> tuple[Unit, ...]:
        """The units that unit and group references name, without duplicates, in plan order;
        only units active during ``period`` when one is given.

        Remembered per plan for each (references, period): a plan is immutable, and an import
        of 40,000 rows or a page over 36,000 units asks the same question again and again.
        """
        refs = tuple(refs)
        key = ("resolve", refs, period)
        found = self._memo.get(key)
        if found is None:
            if period is not None:
                # The units of every period are the period-less answer's, filtered: one pass over
                # the plan per set of references, not one per period (a national year's
                # completeness asked for twelve months, 36,647 units each). A plan without dated
                # units has the same answer in every period.
                everyone = self.resolve(refs)
                found = everyone if not self.has_dated_units() else tuple(
                    u for u in everyone if u.active_during(period))
                return self._memo.put(key, found)
            wanted: set[str] = set()
            for ref in refs:
                if ref in self._unit_index:
                    wanted.add(ref)
                else:
                    wanted.update(u.id for u in self.group_members(ref))
            found = self._memo.put(key, tuple(u for u in self.units if u.id in wanted))
        return found

    def has_dated_units(self) -> bool:
        """Whether any unit is established or retired on a date (remembered): if none is, every
        period has the same units."""
        found = self._memo.get(("dated",))
        if found is None:
            found = self._memo.put(("dated",), any(u.established_on or u.retired_on for u in self.units))
        return found

    def resolve_ids(self, refs: Iterable[str], period: Period | None = None) -> frozenset[str]:
        """The ids of :meth:`resolve`'s units, as a set for membership tests (remembered too)."""
        refs = tuple(refs)
        key = ("ids", refs, period)
        found = self._memo.get(key)
        if found is None:
            found = self._memo.put(key, frozenset(u.id for u in self.resolve(refs, period)))
        return found

    def group_members(self, group_id: str) -> tuple[Unit, ...]:
        """The units of a unit group (computed once per plan)."""
        key = ("group", group_id)
        found = self._memo.get(key)
        if found is not None:
            return found
        group = self.group(group_id)
        members = []
        for unit in self.units:
            if unit.id in group.units or unit.kind in group.kinds and (
                group.within is None or self.is_within(unit.id, group.within)
            ):
                members.append(unit)
        return self._memo.put(key, tuple(members))

    def find_unit_by_name(self, text: str) -> Unit | None:
        """The unit whose name, short name, alias or former name is ``text`` (NFC, case-folded)."""
        for unit in self.units:
            if unit.matches_name(text):
                return unit
        return None

    # -- indicators, tasks, rules -------------------------------------------------------------

    def indicator(self, code: str) -> Indicator:
        """The indicator with ``code``."""
        for indicator in self.indicators:
            if indicator.code == code:
                return indicator
        raise KeyError(f"no indicator with code {code!r} in plan {self.id!r}")

    def task(self, task_id: str) -> Task:
        """The task with ``task_id``."""
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(f"no task with id {task_id!r} in plan {self.id!r}")

    def tasks_of(self, unit_id: str) -> dict[str, list[Task]]:
        """Tasks a unit leads and coordinates, directly or through a group it belongs to."""
        led, coordinated = [], []
        for task in self.tasks:
            if any(u.id == unit_id for u in self.resolve(task.lead)):
                led.append(task)
            elif any(u.id == unit_id for u in self.coordinating_units(task)):
                coordinated.append(task)
        return {"lead": led, "coordinating": coordinated}

    def coordinating_units(self, task: Task, period: Period | None = None) -> tuple[Unit, ...]:
        """The units that coordinate ``task``: its ``coordinating`` references resolved, where a
        group with ``excludes_lead`` leaves out the task's lead units (a lead never coordinates
        its own task through such a group)."""
        leads = {u.id for u in self.resolve(task.lead)}
        wanted: set[str] = set()
        for ref in task.coordinating:
            if ref in self._unit_index:
                wanted.add(ref)
                continue
            members = {u.id for u in self.group_members(ref)}
            wanted.update(members - leads if self.group(ref).excludes_lead else members)
        return tuple(
            u for u in self.units if u.id in wanted and (period is None or u.active_during(period))
        )

    def indicator_units(self, indicator: Indicator, period: Period | None = None) -> tuple[Unit, ...]:
        """The units values of ``indicator`` are recorded for. A target the plan assigns to no
        unit (``applies_to`` empty) is the whole plan's: its values are recorded under the issuing
        unit."""
        if not indicator.applies_to:
            return self.resolve((self.issuing_unit,), period)
        return self.resolve(indicator.applies_to, period)

    def indicator_unit_ids(self, indicator: Indicator, period: Period | None = None) -> frozenset[str]:
        """The ids of :meth:`indicator_units`, as a set: is a value for this unit expected?"""
        return self.resolve_ids(indicator.applies_to or (self.issuing_unit,), period)

    def applies_to_text(self, indicator: Indicator) -> str:
        """Who a target applies to, in words: the units' names, or "Toàn kế hoạch"."""
        if not indicator.applies_to:
            return WHOLE_PLAN_LABEL_VI
        return "; ".join(self.reference_name(r) for r in indicator.applies_to)

    def assumed_facts(self) -> list[AssumedFact]:
        """Every fact the plan file marks assumed (the paper plan does not state it), in file
        order: the header, units, groups, targets, tasks, documents, topics, channels, deadlines,
        reporting rules."""
        sections: list[tuple[str, Iterable[tuple[str, Provenance]]]] = [
            ("plan", [(self.id, self.provenance)]),
            ("units", [(u.id, u.provenance) for u in self.units]),
            ("unit_groups", [(g.id, g.provenance) for g in self.unit_groups]),
            ("indicators", [(i.code, i.provenance) for i in self.indicators]),
            ("tasks", [(t.id, t.provenance) for t in self.tasks]),
            ("legal_documents", [(d.id, d.provenance) for d in self.legal_documents]),
            ("topics", [(t.id, t.provenance) for t in self.topics]),
            ("channels", [(c.id, c.provenance) for c in self.channels]),
            ("deadlines", [(d.id, d.provenance) for d in self.deadlines]),
            ("reporting_rules", [(r.id, r.provenance) for r in self.reporting_rules]),
        ]
        return [
            AssumedFact(section, entry_id, field, reason)
            for section, entries in sections
            for entry_id, provenance in entries
            for field, reason in provenance.assumed
        ]

    def tracked_rules(self, frequency: PeriodType | None = None) -> tuple[ReportingRule, ...]:
        """Reporting rules whose submissions ccch tracks, optionally of one frequency."""
        return tuple(
            r
            for r in self.reporting_rules
            if r.tracked and (frequency is None or r.frequency is frequency)
        )

    def expected_reporters(self, period: Period) -> tuple[Unit, ...]:
        """Units that owe an activity report for ``period`` under a tracked rule of the
        period's type and are active during it."""
        refs: list[str] = []
        for rule in self.tracked_rules(period.type):
            refs.extend(rule.reporters)
        return self.resolve(refs, period)

    def expected_reporter_ids(self, period: Period) -> frozenset[str]:
        """The ids of :meth:`expected_reporters`, as a set: does this unit owe a report?"""
        refs: list[str] = []
        for rule in self.tracked_rules(period.type):
            refs.extend(rule.reporters)
        return self.resolve_ids(refs, period)
