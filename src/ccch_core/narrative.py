"""The periodic report as prose (báo cáo bằng lời văn): drafted from the data, completed by the officer.

A province's report on CCHC communication is not a table dump; it is written as

I. Công tác chỉ đạo, điều hành — II. Kết quả thực hiện — III. Đánh giá chung (ưu điểm; tồn tại,
hạn chế; nguyên nhân) — IV. Phương hướng, nhiệm vụ — V. Đề xuất, kiến nghị.

:func:`draft_narrative` drafts every section from what the units entered. Each drafted
:class:`Sentence` carries the figures it was built from (``figures``) and exists only when those
figures do: a month without activity reports gets no sentence about activities, not "0 tin bài".
The sections the officer writes (assessment, next tasks, proposals) come with
:class:`Suggestion` s — targets behind schedule, units often late, tasks without activity, and the
units' own "khó khăn, đề xuất" notes, attributed — that the web pre-fills for editing.

Figures of a period longer than a month are *rolled up* from its months (:func:`rollup`): counts
are summed, ratios pooled (Σ numerators / Σ denominators), percentages averaged over the months
with data, and share-of-units and yes/no indicators take the state of the last month with data
(with the number of months that met the target). The year to date is the roll-up of the months
from January to the period's end, against the annual target.

Numbers, percentages and dates are written as Vietnamese administrative documents write them:
decimal comma, a dot between thousands ("1.234,5"), "ngày 05 tháng 4 năm 2024" (:func:`number_vi`,
:func:`percent_vi`, :func:`date_vi`).

Headings, their order and the fixed sentences come from a :class:`NarrativeTemplate`; a deployment
adjusts them with a TOML file (:func:`load_template`, documented in docs/export.md).
"""

from __future__ import annotations

import datetime as dt
import string
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from . import progress
from .model import CountScope, Indicator, IndicatorKind, Plan
from .periods import Period, to_local, utc_now
from .report import Paragraph, Report, ReportRequest, Section, Table, lower_first

__all__ = [
    "DEFAULT_TEMPLATE",
    "Narrative",
    "NarrativeSection",
    "NarrativeTemplate",
    "Rollup",
    "Sentence",
    "Suggestion",
    "TemplateError",
    "date_vi",
    "draft_narrative",
    "load_template",
    "narrative_report",
    "number_vi",
    "percent_vi",
    "rollup",
    "year_to_date",
]


# -- Vietnamese administrative usage --------------------------------------------------------------


def number_vi(value: float, decimals: int = 1) -> str:
    """A number as Vietnamese documents write it: "1.234", "87,5", "3,75" with ``decimals=2``.

    Whole numbers have no decimals; others are *cut* (never rounded up) to ``decimals`` places,
    trailing zeros dropped, with a decimal comma and dots between thousands."""
    negative = value < 0
    value = abs(value)
    scale = 10 ** decimals
    cut = int(value * scale + 1e-9)
    whole, fraction = divmod(cut, scale)
    text = f"{whole:,}".replace(",", ".")
    if fraction:
        text += "," + f"{fraction:0{decimals}d}".rstrip("0")
    return ("-" if negative else "") + text


def percent_vi(value: float) -> str:
    """"33,3%": a percentage cut to one decimal (99,97 reads 99,9%, never 100%)."""
    return number_vi(value, 1) + "%"


def date_vi(day: dt.date) -> str:
    """"ngày 05 tháng 4 năm 2024": Decree 30's date (days below 10 and months 1–2 with a zero)."""
    d = f"{day.day:02d}"
    m = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {d} tháng {m} năm {day.year}"


def short_date_vi(day: dt.date) -> str:
    """"08/4/2024", the short form used inside a sentence."""
    return f"{day.day:02d}/{day.month}/{day.year}"


def _names(names: Sequence[str], limit: int = 8) -> str:
    """"A, B và C"; past ``limit`` names: "A, B, … và 5 đơn vị khác"."""
    names = list(names)
    if len(names) > limit:
        shown, rest = names[:limit], len(names) - limit
        return ", ".join(shown) + f" và {rest} đơn vị khác"
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " và " + names[-1]


# -- roll-ups and the year to date ----------------------------------------------------------------


@attrs.frozen
class Rollup:
    """An indicator's figure for a run of months, computed from the months' own figures.

    ``value`` is the period's figure (a count, or a percentage for ratio, percentage and
    share-of-units indicators, 1/0 for yes/no); ``numerator``/``denominator`` the pooled sums of a
    ratio; ``annual_target`` the plan's target for the whole year (a count target scaled to 12
    months and, for a target per unit, multiplied by the units); ``share_of_annual`` the value
    over the annual target in percent (counts only); ``months_with_data`` and ``months_met``
    how many of ``months`` had a figure and met the target.
    """

    indicator: Indicator
    months: tuple[Period, ...]
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    annual_target: float | None = None
    months_with_data: int = 0
    months_met: int = 0
    units_met: int | None = None
    units: int | None = None

    @property
    def share_of_annual(self) -> float | None:
        """The value over the annual target in percent (counts only), else None."""
        if self.indicator.kind is not IndicatorKind.COUNT or self.value is None or not self.annual_target:
            return None
        return 100.0 * self.value / self.annual_target


def _annual_target(plan: Plan, indicator: Indicator, units: int) -> float | None:
    if indicator.target is None:
        return None
    if indicator.kind is not IndicatorKind.COUNT:
        return indicator.target
    if indicator.target_per is None:
        return None
    months = sum(1 for m in Period.year_of(plan.year).months()
                 if m.end_date >= plan.starts_on and m.start_date <= plan.ends_on)
    per_unit = indicator.target * months / indicator.target_per.months
    return per_unit * units if indicator.scope is CountScope.EACH else per_unit


def rollup(plan: Plan, indicator: Indicator, monthly: Sequence[progress.IndicatorResult]) -> Rollup:
    """Roll the monthly results of one indicator up into one figure, as its kind requires.

    - count: the sum of the months;
    - ratio: Σ numerators / Σ denominators over the months (a quarter's share of files made public
      pools the quarter's files), in percent;
    - percentage: the mean of the months that have a figure;
    - share of units and yes/no: the last month with a figure (a state, not a flow), and the
      units meeting the condition then.
    """
    months = tuple(r.period for r in monthly)
    have = [r for r in monthly if r.value is not None]
    units = max((len(r.units) for r in monthly), default=0)
    annual = _annual_target(plan, indicator, units)
    met = sum(1 for r in have if r.status is progress.Status.MET)
    common = {"months_with_data": len(have), "months_met": met, "annual_target": annual}
    if not have:
        return Rollup(indicator, months, None, **common)
    kind = indicator.kind
    if kind is IndicatorKind.COUNT:
        return Rollup(indicator, months, sum(r.value for r in have), **common)
    if kind is IndicatorKind.RATIO:
        num = sum(u.numerator or 0 for r in have for u in r.units)
        den = sum(u.denominator or 0 for r in have for u in r.units)
        return Rollup(indicator, months, 100.0 * num / den if den else None, num, den, **common)
    if kind is IndicatorKind.PERCENTAGE:
        return Rollup(indicator, months, sum(r.value for r in have) / len(have), **common)
    last = have[-1]
    units_met = sum(1 for u in last.units if (u.value or 0) >= 0.5)
    return Rollup(indicator, months, last.value, units_met=units_met, units=len(last.units), **common)


def monthly_results(deployment, indicator: Indicator, months: Iterable[Period], *, now: dt.datetime,
                    within: str | None = None) -> list[progress.IndicatorResult]:
    """The core's evaluation of ``indicator`` for each of ``months`` (the figures a roll-up sums)."""
    return [progress.evaluate_indicator(deployment.db, deployment.plan, indicator, m, now=now,
                                        measures=deployment.measures, deployment=deployment, within=within)
            for m in months]


def _plan_months(plan: Plan, period: Period) -> list[Period]:
    return [m for m in period.months() if m.end_date >= plan.starts_on and m.start_date <= plan.ends_on]


def year_to_date(plan: Plan, period: Period) -> list[Period]:
    """The plan's months from January of ``period``'s year to the end of ``period``."""
    return [m for m in _plan_months(plan, Period.year_of(period.year)) if m.end_date <= period.end_date]


# -- the drafted narrative --------------------------------------------------------------------------


@attrs.frozen
class Sentence:
    """A drafted sentence and the figures it states (``figures``: name → value), so that a test or
    a later comparison can check each sentence against the data it came from. ``key`` is stable
    across drafts of the same report ("ket_qua.chi_tieu.I7"), so two drafts can be compared."""

    key: str
    text: str
    figures: Mapping[str, Any] = attrs.field(factory=dict, converter=dict)


@attrs.frozen
class Suggestion:
    """Material offered to the officer for a section they write: a group ("Chỉ tiêu chưa đạt
    tiến độ", "Khó khăn, đề xuất của các đơn vị") and its lines, each attributed."""

    group: str
    lines: tuple[str, ...] = attrs.field(converter=tuple)


@attrs.frozen
class NarrativeSection:
    """A section of the report: drafted sentences, optional sub-headings (``parts``: title →
    sentences), and for a section the officer writes (``editable``), suggestions and the text."""

    key: str
    title: str
    intro: str = ""
    sentences: tuple[Sentence, ...] = attrs.field(default=(), converter=tuple)
    parts: tuple[tuple[str, tuple[Sentence, ...]], ...] = attrs.field(default=(), converter=tuple)
    editable: bool = False
    suggestions: tuple[Suggestion, ...] = attrs.field(default=(), converter=tuple)
    text: str = ""
    """The officer's text (editable sections); empty until written."""

    def all_sentences(self) -> list[Sentence]:
        """Every drafted sentence, the section's own then its parts'."""
        return [*self.sentences, *(s for _, part in self.parts for s in part)]

    def suggested_text(self) -> str:
        """The suggestions as the text that pre-fills the officer's box (one line each)."""
        blocks = []
        for suggestion in self.suggestions:
            blocks.append(suggestion.group + ":\n" + "\n".join(f"- {line}" for line in suggestion.lines))
        return "\n\n".join(blocks)


@attrs.frozen
class Narrative:
    """A drafted report: its period, scope (a unit, or None for the whole plan) and sections."""

    plan: Plan
    period: Period
    unit_id: str | None
    sections: tuple[NarrativeSection, ...] = attrs.field(converter=tuple)
    drafted_at: dt.datetime = attrs.field(factory=utc_now)

    def section(self, key: str) -> NarrativeSection:
        """The section with ``key`` (KeyError when the template leaves it out)."""
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def sentences(self) -> dict[str, Sentence]:
        """Every drafted sentence by key."""
        return {s.key: s for section in self.sections for s in section.all_sentences()}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: what a final report freezes (and what a later draft is compared with)."""
        def sentence(s: Sentence) -> dict[str, Any]:
            return {"key": s.key, "text": s.text, "figures": dict(s.figures)}

        return {
            "schema": "ccch.narrative/1",
            "plan": self.plan.id,
            "period": str(self.period),
            "unit": self.unit_id,
            "drafted_at": self.drafted_at.isoformat(),
            "sections": [
                {"key": s.key, "title": s.title, "intro": s.intro, "editable": s.editable, "text": s.text,
                 "sentences": [sentence(x) for x in s.sentences],
                 "parts": [{"title": t, "sentences": [sentence(x) for x in part]} for t, part in s.parts],
                 "suggestions": [{"group": g.group, "lines": list(g.lines)} for g in s.suggestions]}
                for s in self.sections
            ],
        }


# -- templates -------------------------------------------------------------------------------------


class TemplateError(ValueError):
    """A bad narrative template; the message names the file, the key and the value."""


SECTION_KEYS = ("chi_dao", "ket_qua", "danh_gia", "phuong_huong", "de_xuat")
EDITABLE = frozenset({"chi_dao", "danh_gia", "phuong_huong", "de_xuat"})

# The placeholders each fixed sentence may use (checked when a template is loaded).
SENTENCE_FIELDS: dict[str, tuple[str, ...]] = {
    "plan_issued": ("issuer", "document", "title"),
    "count": ("label", "value", "unit", "period", "ytd", "annual", "share"),
    "count_no_target": ("label", "value", "unit", "period", "ytd"),
    "ratio": ("label", "numerator", "denominator", "value", "period", "ytd_numerator", "ytd_denominator",
              "ytd_value", "target"),
    "percentage": ("label", "value", "period", "ytd_value", "target"),
    "share_of_units": ("label", "met", "units", "value", "target", "months_met", "months"),
    "yes_no_done": ("label", "period", "months_met", "months"),
    "yes_no_not_done": ("label", "period", "units_not_done"),
    "activity": ("category", "total", "reporters", "by_unit"),
    "activity_examples": ("examples",),
    "task": ("number", "duty", "total", "reporters", "units"),
    "received": ("received", "expected", "on_time", "period"),
    "late": ("units",),
    "missing": ("units",),
}

DEFAULT_TEMPLATE: dict[str, Any] = {
    "sections": [
        {"key": "chi_dao", "title": "Công tác chỉ đạo, điều hành"},
        {"key": "ket_qua", "title": "Kết quả thực hiện",
         "parts": {"chi_tieu": "Kết quả thực hiện các chỉ tiêu", "hinh_thuc": "Kết quả theo hình thức tuyên truyền",
                   "nhiem_vu": "Kết quả thực hiện các nhiệm vụ trọng tâm",
                   "bao_cao": "Tình hình báo cáo của các đơn vị"}},
        {"key": "danh_gia", "title": "Đánh giá chung"},
        {"key": "phuong_huong", "title": "Phương hướng, nhiệm vụ kỳ tới"},
        {"key": "de_xuat", "title": "Đề xuất, kiến nghị"},
    ],
    "sentences": {
        "plan_issued": "{issuer} ban hành {document} về {title}; các cơ quan, đơn vị, xã, thị trấn triển khai thực hiện theo kế hoạch.",
        "count": "{label}: {value} {unit} trong {period}; lũy kế từ đầu năm {ytd}/{annual} {unit}, đạt {share} kế hoạch năm.",
        "count_no_target": "{label}: {value} {unit} trong {period}; lũy kế từ đầu năm {ytd} {unit}.",
        # The year's rate, not its summed counts: a ratio may count a stock each month (the
        # procedures on display), which summed over months would read as three times as many.
        "ratio": "{label}: {numerator}/{denominator} ({value}) trong {period}; tỷ lệ chung từ đầu năm {ytd_value}, mục tiêu {target}.",
        "percentage": "{label}: bình quân {value} trong {period}; bình quân từ đầu năm {ytd_value}, mục tiêu {target}.",
        "share_of_units": "{label}: {met}/{units} đơn vị đạt ({value}), mục tiêu {target}; từ đầu năm, {months_met}/{months} tháng đạt mục tiêu.",
        "yes_no_done": "{label}: đã thực hiện trong {period}; từ đầu năm, {months_met}/{months} tháng thực hiện.",
        "yes_no_not_done": "{label}: trong {period} chưa thực hiện ở {units_not_done}.",
        "activity": "{category}: {total}, do {reporters} đơn vị thực hiện ({by_unit}).",
        "activity_examples": "Tiêu biểu: {examples}.",
        "task": "Nhiệm vụ {number} ({duty}): {reporters} đơn vị báo cáo {total} hoạt động ({units}).",
        "received": "Trong {period}, đã nhận {received}/{expected} báo cáo của các đơn vị, trong đó {on_time} báo cáo đúng hạn.",
        "late": "Nộp báo cáo trễ hạn: {units}.",
        "missing": "Chưa nộp báo cáo: {units}.",
    },
}
"""The default template: the five sections of a province's report in their usual order, and the
fixed sentences. A deployment's TOML template overrides any part of it (docs/export.md)."""


@attrs.frozen
class NarrativeTemplate:
    """Headings, their order and the fixed sentences of the report (see docs/export.md).

    ``sections``: (key, title, intro, parts) in the order they print; a section left out is not
    printed. ``sentences``: the fixed sentences by name, with ``{placeholders}``."""

    sections: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...]
    sentences: Mapping[str, str]
    source: str = "default"

    def title_of(self, section: str, part: str | None = None) -> str:
        """The heading of a section (or of one of its parts)."""
        for key, title, _, parts in self.sections:
            if key == section:
                return dict(parts).get(part, "") if part else title
        return ""

    def say(self, name: str, **values: Any) -> str:
        """The fixed sentence ``name`` with its placeholders filled."""
        return self.sentences[name].format_map(values)


def _template_from(data: Mapping[str, Any], source: str) -> NarrativeTemplate:
    unknown = set(data) - {"sections", "sentences"}
    if unknown:
        raise TemplateError(f"{source}: unknown key(s) {', '.join(sorted(unknown))} (known: sections, sentences)")
    sentences = dict(DEFAULT_TEMPLATE["sentences"])
    given = data.get("sentences", {})
    if not isinstance(given, Mapping):
        raise TemplateError(f"{source}: [sentences] must be a table of name = \"text\"")
    for name, text in given.items():
        if name not in SENTENCE_FIELDS:
            raise TemplateError(f"{source}: sentences.{name}: unknown sentence (known: {', '.join(SENTENCE_FIELDS)})")
        if not isinstance(text, str) or not text.strip():
            raise TemplateError(f"{source}: sentences.{name}: must be non-empty text, got {text!r}")
        try:
            parsed = [(f, spec, conversion) for _, f, spec, conversion in string.Formatter().parse(text)
                      if f is not None]
        except ValueError as exc:
            raise TemplateError(f"{source}: sentences.{name}: {exc} in {text!r} (write {{{{ and }}}} for braces)") from None
        for field, spec, conversion in parsed:
            if spec or conversion:
                # The figures arrive already written the Vietnamese way; a format such as {value:>9999999}
                # would only undo that (or exhaust memory).
                raise TemplateError(f"{source}: sentences.{name}: write the placeholder as {{{field.split('!')[0]}}}, "
                                    f"without a format or conversion")
            if field not in SENTENCE_FIELDS[name]:
                raise TemplateError(
                    f"{source}: sentences.{name}: unknown placeholder {{{field}}} "
                    f"(this sentence has: {', '.join('{' + f + '}' for f in SENTENCE_FIELDS[name])})")
        sentences[name] = text
    raw_sections = data.get("sections", DEFAULT_TEMPLATE["sections"])
    if not isinstance(raw_sections, list) or not raw_sections:
        raise TemplateError(f"{source}: [[sections]] must list at least one section")
    defaults = {s["key"]: s for s in DEFAULT_TEMPLATE["sections"]}
    sections = []
    seen = set()
    for i, raw in enumerate(raw_sections):
        where = f"{source}: sections[{i}]"
        if not isinstance(raw, Mapping):
            raise TemplateError(f"{where}: must be a table with key and title")
        bad = set(raw) - {"key", "title", "intro", "parts"}
        if bad:
            raise TemplateError(f"{where}: unknown key(s) {', '.join(sorted(bad))} (key, title, intro, parts)")
        key = raw.get("key")
        if key not in SECTION_KEYS:
            raise TemplateError(f"{where}.key: {key!r} is not one of {', '.join(SECTION_KEYS)}")
        if key in seen:
            raise TemplateError(f"{where}.key: section {key!r} is listed twice")
        seen.add(key)
        title = raw.get("title", defaults[key]["title"])
        if not isinstance(title, str) or not title.strip():
            raise TemplateError(f"{where}.title: must be non-empty text, got {title!r}")
        intro = raw.get("intro", "")
        if not isinstance(intro, str):
            raise TemplateError(f"{where}.intro: must be text, got {intro!r}")
        parts = dict(defaults[key].get("parts", {}))
        given_parts = raw.get("parts", {})
        if not isinstance(given_parts, Mapping):
            raise TemplateError(f"{where}.parts: must be a table of part = \"heading\"")
        for part, heading in given_parts.items():
            if part not in parts:
                raise TemplateError(f"{where}.parts.{part}: unknown part (known: {', '.join(parts) or 'none'})")
            if not isinstance(heading, str) or not heading.strip():
                raise TemplateError(f"{where}.parts.{part}: must be non-empty text, got {heading!r}")
            parts[part] = heading
        sections.append((key, title.strip(), intro.strip(), tuple(parts.items())))
    return NarrativeTemplate(tuple(sections), sentences, source)


def load_template(path: str | Path | None = None) -> NarrativeTemplate:
    """The default template, or the one in the TOML file at ``path`` (what it leaves out keeps the
    default). Raises :class:`TemplateError` naming the file and key of any mistake."""
    if path is None:
        return _template_from(DEFAULT_TEMPLATE, "default")
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateError(f"{path.name}: cannot read the template ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise TemplateError(f"{path.name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path.name}: {exc}") from None
    return _template_from(data, path.name)


# -- drafting ----------------------------------------------------------------------------------------


def _unit_name(plan: Plan, unit_id: str) -> str:
    return plan.unit(unit_id).name if plan.has_unit(unit_id) else unit_id


def _indicator_sentences(deployment, template: NarrativeTemplate, period: Period, within: str | None,
                         now: dt.datetime) -> tuple[list[Sentence], list[str]]:
    """One sentence per indicator with data in the period; and the lines for targets behind."""
    plan = deployment.plan
    sentences: list[Sentence] = []
    behind: list[str] = []
    ytd_months = year_to_date(plan, period)
    label_period = lower_first(period.label_vi)
    for indicator in plan.indicators:
        months = monthly_results(deployment, indicator, ytd_months, now=now, within=within)
        if within is not None and not any(r.units for r in months):
            continue
        in_period = [r for r in months if period.contains(r.period)]
        this = rollup(plan, indicator, in_period)
        ytd = rollup(plan, indicator, months)
        if this.value is None and indicator.kind is not IndicatorKind.RATIO or this.months_with_data == 0:
            continue
        key = f"ket_qua.chi_tieu.{indicator.code}"
        label = indicator.label
        kind = indicator.kind
        target_text = percent_vi(indicator.target) if indicator.target is not None else "chưa đặt"
        if kind is IndicatorKind.COUNT:
            unit = indicator.unit_label or ""
            figures = {"value": this.value, "ytd": ytd.value, "annual": ytd.annual_target,
                       "share": ytd.share_of_annual}
            if ytd.annual_target:
                text = template.say("count", label=label, value=number_vi(this.value), unit=unit, period=label_period,
                                    ytd=number_vi(ytd.value), annual=number_vi(ytd.annual_target),
                                    share=percent_vi(ytd.share_of_annual))
                # Behind schedule: below the pro-rata share of the annual target by the period's end.
                expected = ytd.annual_target * len(ytd_months) / 12
                if ytd.value + 1e-9 < expected:
                    behind.append(f"{label}: lũy kế {number_vi(ytd.value)}/{number_vi(ytd.annual_target)} {unit}, "
                                  f"cần đạt {number_vi(expected)} {unit} theo tiến độ đến hết {label_period}.")
            else:
                text = template.say("count_no_target", label=label, value=number_vi(this.value), unit=unit,
                                    period=label_period, ytd=number_vi(ytd.value))
        elif kind is IndicatorKind.RATIO:
            if this.value is None:
                continue
            figures = {"numerator": this.numerator, "denominator": this.denominator, "value": this.value,
                       "ytd_numerator": ytd.numerator, "ytd_denominator": ytd.denominator, "ytd_value": ytd.value}
            text = template.say("ratio", label=label, numerator=number_vi(this.numerator),
                                denominator=number_vi(this.denominator), value=percent_vi(this.value),
                                period=label_period, ytd_numerator=number_vi(ytd.numerator),
                                ytd_denominator=number_vi(ytd.denominator), ytd_value=percent_vi(ytd.value),
                                target=target_text)
            if indicator.target is not None and not indicator.comparison.holds(this.value, indicator.target):
                behind.append(f"{label}: {percent_vi(this.value)}, mục tiêu {target_text}.")
        elif kind is IndicatorKind.PERCENTAGE:
            figures = {"value": this.value, "ytd_value": ytd.value}
            text = template.say("percentage", label=label, value=percent_vi(this.value), period=label_period,
                                ytd_value=percent_vi(ytd.value), target=target_text)
            if indicator.target is not None and not indicator.comparison.holds(this.value, indicator.target):
                behind.append(f"{label}: {percent_vi(this.value)}, mục tiêu {target_text}.")
        elif kind is IndicatorKind.SHARE_OF_UNITS:
            figures = {"met": this.units_met, "units": this.units, "value": this.value,
                       "months_met": ytd.months_met, "months": len(ytd_months)}
            text = template.say("share_of_units", label=label, met=this.units_met, units=this.units,
                                value=percent_vi(this.value), target=target_text, months_met=ytd.months_met,
                                months=len(ytd_months))
            if indicator.target is not None and not indicator.comparison.holds(this.value, indicator.target):
                last = next(r for r in reversed(in_period) if r.value is not None)
                missing = [_unit_name(plan, u.unit.id) for u in last.units if (u.value or 0) < 0.5]
                behind.append(f"{label}: {this.units_met}/{this.units} đơn vị đạt ({percent_vi(this.value)}); "
                              f"chưa đạt: {_names(missing)}.")
        else:  # yes/no
            last = next(r for r in reversed(in_period) if r.value is not None)
            not_done = [u.unit.name for u in last.units if (u.value or 0) < 0.5]
            figures = {"done": not not_done, "units_not_done": not_done, "months_met": ytd.months_met,
                       "months": len(ytd_months)}
            if not_done:
                text = template.say("yes_no_not_done", label=label, period=label_period,
                                    units_not_done=_names(not_done))
                behind.append(f"{label}: chưa thực hiện ở {_names(not_done)}.")
            else:
                text = template.say("yes_no_done", label=label, period=label_period, months_met=ytd.months_met,
                                    months=len(ytd_months))
        sentences.append(Sentence(key, text, figures))
    return sentences, behind


def _activity_rows(deployment, period: Period, within: str | None) -> list[dict[str, Any]]:
    plan = deployment.plan
    months = [str(m) for m in period.months()]
    marks = ",".join("?" * len(months))
    rows = [dict(r) for r in deployment.db.query(
        "select r.unit_id, i.category, i.count, i.title, i.link, i.task_id from activity_items i "
        f"join activity_reports r on r.id = i.report_id where r.period in ({marks}) order by i.id", months)]
    return [r for r in rows if within is None or (plan.has_unit(r["unit_id"]) and plan.is_within(r["unit_id"], within))]


def _by_unit(plan: Plan, rows: list[dict[str, Any]], limit: int = 6) -> tuple[int, str]:
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["unit_id"]] = totals.get(r["unit_id"], 0) + r["count"]
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], _unit_name(plan, kv[0])))
    shown = [f"{_unit_name(plan, u)} {number_vi(n)}" for u, n in ranked[:limit]]
    text = "; ".join(shown) + (f"; {len(ranked) - limit} đơn vị khác" if len(ranked) > limit else "")
    return len([n for n in totals.values() if n > 0]), text


def _activity_sentences(deployment, template: NarrativeTemplate, rows: list[dict[str, Any]]) -> list[Sentence]:
    plan = deployment.plan
    sentences = []
    for category, label in progress.ACTIVITY_CATEGORIES.items():
        mine = [r for r in rows if r["category"] == category and r["count"] > 0]
        if not mine:
            continue
        total = sum(r["count"] for r in mine)
        reporters, by_unit = _by_unit(plan, mine)
        sentences.append(Sentence(f"ket_qua.hinh_thuc.{category}",
                                  template.say("activity", category=label, total=number_vi(total),
                                               reporters=reporters, by_unit=by_unit),
                                  {"total": total, "reporters": reporters}))
        # The units' best examples: titled items, those with a link first, then the largest.
        titled = sorted((r for r in mine if r["title"]), key=lambda r: (r["link"] is None, -r["count"]))
        examples, seen = [], set()
        for r in titled:
            if r["title"].casefold() in seen:
                continue
            seen.add(r["title"].casefold())
            examples.append(f"“{r['title']}” ({_unit_name(plan, r['unit_id'])})")
            if len(examples) == 3:
                break
        if examples:
            sentences.append(Sentence(f"ket_qua.hinh_thuc.{category}.vi_du",
                                      template.say("activity_examples", examples="; ".join(examples)),
                                      {"examples": len(examples)}))
    return sentences


def _short_duty(text: str, limit: int = 90) -> str:
    text = text.rstrip(". ")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def _task_sentences(deployment, template: NarrativeTemplate, rows: list[dict[str, Any]],
                    within: str | None) -> tuple[list[Sentence], list[str]]:
    plan = deployment.plan
    sentences, idle = [], []
    for task in plan.tasks:
        mine = [r for r in rows if r["task_id"] == task.id and r["count"] > 0]
        if not mine:
            leads = [u for u in plan.resolve(task.lead) if within is None or plan.is_within(u.id, within)]
            if leads:
                idle.append(f"Nhiệm vụ {task.number} ({_short_duty(task.duty, 70)}): chưa có hoạt động báo cáo; "
                            f"chủ trì: {_names([u.name for u in leads], 4)}.")
            continue
        total = sum(r["count"] for r in mine)
        reporters, by_unit = _by_unit(plan, mine)
        sentences.append(Sentence(f"ket_qua.nhiem_vu.{task.id}",
                                  template.say("task", number=task.number, duty=_short_duty(task.duty), total=number_vi(total),
                                               reporters=reporters, units=by_unit),
                                  {"total": total, "reporters": reporters}))
    return sentences, idle


def _completeness(deployment, template: NarrativeTemplate, period: Period, within: str | None,
                  now: dt.datetime) -> tuple[list[Sentence], list[str]]:
    """Sentences on who reported (late and missing units named), and units often late this year."""
    plan = deployment.plan
    db = deployment.db

    def scoped(p: Period) -> list[progress.ExpectedReport]:
        reports = progress.reporting_completeness(db, plan, p, now=now).reports
        # Only the activity reports in ccch (not further deliveries) of the units the issuer
        # collects from: a commune's own report does not report on its own timeliness.
        return [r for r in reports if r.recipient is None
                and (within is None or (r.unit.id != within and plan.is_within(r.unit.id, within)))]

    reports = scoped(period)
    sentences = []
    if reports:
        done = progress.Completeness(period, tuple(reports))
        on_time = done.count(progress.ReportState.ON_TIME)
        sentences.append(Sentence("ket_qua.bao_cao.nhan", template.say(
            "received", received=done.received, expected=done.expected, on_time=on_time,
            period=lower_first(period.label_vi)), {"received": done.received, "expected": done.expected,
                                                   "on_time": on_time}))
        late = [r for r in reports if r.state is progress.ReportState.LATE]
        if late:
            names = [f"{r.unit.name} (nộp ngày {short_date_vi(to_local(r.submitted_at).date())}"
                     + (f", kỳ {lower_first(r.period.label_vi)}" if r.period != period else "") + ")" for r in late]
            sentences.append(Sentence("ket_qua.bao_cao.tre_han", template.say("late", units=_names(names, 12)),
                                      {"units": [r.unit.id for r in late]}))
        missing = [r for r in reports if r.state is progress.ReportState.MISSING]
        if missing:
            names = list(dict.fromkeys(r.unit.name for r in missing))
            sentences.append(Sentence("ket_qua.bao_cao.chua_nop", template.say("missing", units=_names(names, 12)),
                                      {"units": sorted({r.unit.id for r in missing})}))
    # Units late or missing in two months or more of the year so far.
    tally: dict[str, list[str]] = {}
    for month in year_to_date(plan, period):
        for r in scoped(month):
            if r.state in (progress.ReportState.LATE, progress.ReportState.MISSING):
                tally.setdefault(r.unit.name, []).append(f"tháng {month.index}")
    often = [f"{name}: trễ hoặc chưa nộp {len(months)} kỳ ({', '.join(months)})."
             for name, months in tally.items() if len(months) >= 2]
    return sentences, often


def _notes(deployment, period: Period, within: str | None) -> list[str]:
    """The units' own "khó khăn, đề xuất" of the period's months, attributed, grouped by unit."""
    plan = deployment.plan
    months = [str(m) for m in period.months()]
    marks = ",".join("?" * len(months))
    grouped: dict[str, list[str]] = {}
    for row in deployment.db.query(
            f"select unit_id, period, note from activity_reports where period in ({marks}) "
            "and note is not null and trim(note) != '' order by period, unit_id", months):
        if within is not None and not (plan.has_unit(row["unit_id"]) and plan.is_within(row["unit_id"], within)):
            continue
        when = "" if len(months) == 1 else f" ({lower_first(Period.parse(row['period']).label_vi)})"
        grouped.setdefault(_unit_name(plan, row["unit_id"]), []).append(row["note"].strip().rstrip(".") + when)
    return [f"{unit}: " + "; ".join(notes) + "." for unit, notes in grouped.items()]


def draft_narrative(deployment, period: Period | str, unit_id: str | None = None, *,
                    now: dt.datetime | None = None, template: NarrativeTemplate | None = None,
                    texts: Mapping[str, str] | None = None,
                    material: Mapping[str, Sequence[Suggestion]] | None = None) -> Narrative:
    """Draft the report of ``deployment``'s plan for ``period`` — the whole plan, or ``unit_id``
    and the units below it (a commune's own monthly report) — from the data.

    ``texts`` are the officer's own texts by section key (chi_dao, danh_gia, phuong_huong,
    de_xuat); a section without one carries only its suggestions. ``material`` adds suggestions by
    section key (a roll-up offers what its months' final reports said). Every drafted sentence
    exists only when its data does.
    """
    plan = deployment.plan
    if isinstance(period, str):
        period = Period.parse(period)
    if unit_id is not None and not plan.has_unit(unit_id):
        raise KeyError(f"unknown unit {unit_id!r}")
    now = now or utc_now()
    template = template or load_template()
    texts = texts or {}
    rows = _activity_rows(deployment, period, unit_id)
    indicator_sentences, behind = _indicator_sentences(deployment, template, period, unit_id, now)
    activity_sentences = _activity_sentences(deployment, template, rows)
    task_sentences, idle = _task_sentences(deployment, template, rows, unit_id)
    report_sentences, often_late = _completeness(deployment, template, period, unit_id, now)
    notes = _notes(deployment, period, unit_id)
    sections = []
    for key, title, intro, parts in template.sections:
        text = (texts.get(key) or "").strip()
        if key == "chi_dao":
            sentences = []
            if unit_id is None and plan.issued_on:
                issuer = plan.unit(plan.issuing_unit).name
                document = f"{plan.document_type} số {plan.number_and_symbol} {date_vi(plan.issued_on)}"
                sentences.append(Sentence("chi_dao.ke_hoach", template.say(
                    "plan_issued", issuer=issuer, document=document, title=lower_first(plan.title)),
                    {"issued_on": plan.issued_on.isoformat()}))
            sections.append(NarrativeSection(key, title, intro, sentences, editable=True, text=text))
        elif key == "ket_qua":
            by_part = {"chi_tieu": indicator_sentences, "hinh_thuc": activity_sentences,
                       "nhiem_vu": task_sentences, "bao_cao": report_sentences}
            sections.append(NarrativeSection(key, title, intro, parts=[
                (heading, tuple(by_part[part])) for part, heading in parts if by_part[part]]))
        elif key == "danh_gia":
            suggestions = _suggestions(("Chỉ tiêu chưa đạt tiến độ", behind),
                                       ("Đơn vị thường nộp báo cáo trễ hoặc chưa nộp", often_late),
                                       ("Khó khăn, đề xuất của các đơn vị", notes))
            sections.append(NarrativeSection(key, title, intro, editable=True, suggestions=suggestions, text=text))
        elif key == "phuong_huong":
            suggestions = _suggestions(("Tập trung thực hiện các chỉ tiêu chưa đạt tiến độ", behind),
                                       ("Nhiệm vụ chưa có hoạt động trong kỳ", idle),
                                       ("Đôn đốc các đơn vị báo cáo đúng hạn", often_late))
            sections.append(NarrativeSection(key, title, intro, editable=True, suggestions=suggestions, text=text))
        elif key == "de_xuat":
            suggestions = _suggestions(("Khó khăn, đề xuất của các đơn vị", notes))
            sections.append(NarrativeSection(key, title, intro, editable=True, suggestions=suggestions, text=text))
    if material:
        sections = [attrs.evolve(s, suggestions=(*s.suggestions, *material.get(s.key, ()))) if s.editable else s
                    for s in sections]
    return Narrative(plan, period, unit_id, sections, drafted_at=now)


SUGGESTION_LINES = 30
"""Lines a suggestion group shows at most; the rest is counted. A plan of a province or the country
has thousands of units late, and the page must stay a page (#26: 204 KB of suggestions)."""


def _suggestions(*groups) -> list[Suggestion]:
    """A section's suggestions from (group, lines) pairs, leaving out the groups with no lines, each
    cut to ``SUGGESTION_LINES`` with a last line counting the others."""
    return [Suggestion(group, lines if len(lines) <= SUGGESTION_LINES else
                       [*lines[:SUGGESTION_LINES], f"… và {len(lines) - SUGGESTION_LINES} mục khác."])
            for group, lines in groups if lines]


def narrative_report(narrative: Narrative, deployment, *, appendix: Iterable[Table] = (),
                     use_suggestions: bool = True) -> Report:
    """The narrative as a :class:`ccch_core.report.Report` (so every exporter can write it): one
    section per narrative section, sub-headings for the parts, the officer's text as paragraphs
    (or, while it is empty and ``use_suggestions``, the suggestions), and ``appendix`` tables in a
    last section "Phụ lục"."""
    from .report import Heading

    plan = narrative.plan
    unit = plan.unit(narrative.unit_id) if narrative.unit_id else None
    request = ReportRequest(deployment, plan, narrative.period, unit, narrative.drafted_at)
    sections = []
    for order, s in enumerate(narrative.sections, start=1):
        blocks: list[Any] = []
        if s.intro:
            blocks.append(Paragraph(s.intro))
        if s.sentences:
            blocks.append(Paragraph(" ".join(x.text for x in s.sentences)))
        for number, (heading, part) in enumerate(s.parts, start=1):
            blocks.append(Heading(f"{number}. {heading}", 2))
            blocks.extend(Paragraph(x.text) for x in part)
        text = s.text or (s.suggested_text() if use_suggestions else "")
        for paragraph in (p.strip() for p in text.split("\n")):
            if paragraph:
                blocks.append(Paragraph(paragraph))
        if blocks:
            sections.append(Section(s.key, s.title, blocks, order=order * 10))
    appendix = list(appendix)
    if appendix:
        sections.append(Section("phu_luc", "Phụ lục số liệu", appendix, order=1000))
    scope = unit.name if unit else plan.unit(plan.issuing_unit).name
    title = f"Báo cáo kết quả công tác tuyên truyền CCHC {lower_first(narrative.period.label_vi)} — {scope}"
    return Report(request, title, tuple(sections))

