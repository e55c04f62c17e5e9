"""The report model: a periodic report as sections of headings, paragraphs, tables and figures.

:func:`build_report` assembles the report of a plan for a period — for the whole plan or for one
unit and the units below it. The core contributes the plan header, the indicator table, task
status and reporting completeness; every enabled plugin adds its sections through the
``report_sections`` hook (a deployment without the plugin gets a report without them). Exporters
(``register_exporters``) turn a :class:`Report` into DOCX, XLSX, CSV, JSON, Markdown…; they see
only this model, never the database.

Tables carry typed columns so that exporters can write numbers as numbers and dates as dates.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Mapping
from typing import Any

import attrs

from . import charts, levels, progress
from .model import Plan, Unit
from .periods import Period, to_local, utc_now

__all__ = [
    "COLUMN_KINDS",
    "Block",
    "Column",
    "DataScope",
    "DataTable",
    "ExportOptions",
    "Figure",
    "Heading",
    "Paragraph",
    "Report",
    "ReportRequest",
    "Section",
    "Table",
    "build_report",
    "call_exporter",
    "cut_to_one_decimal",
    "due_day",
    "lower_first",
]

COLUMN_KINDS = ("text", "integer", "number", "percent", "date", "datetime")
"""The kinds of a :class:`Column`'s values; exporters write numbers as numbers and dates as dates."""


@attrs.frozen
class Column:
    """A table column: a stable machine ``key``, a Vietnamese ``label`` and a value kind
    (text, integer, number, percent — a value 0–100 —, date, datetime)."""

    key: str
    label: str
    kind: str = attrs.field(default="text", validator=attrs.validators.in_(COLUMN_KINDS))


@attrs.frozen
class Table:
    """A table with typed columns; ``key`` names it in CSV files and XLSX sheets."""

    key: str
    title: str
    columns: tuple[Column, ...] = attrs.field(converter=tuple)
    rows: tuple[tuple[Any, ...], ...] = attrs.field(converter=lambda rows: tuple(tuple(r) for r in rows))
    annex: bool = False
    """A table for the annex: a document to sign (the Decree 30 DOCX) leaves it out — a paragraph
    before it says where it is — and the data formats (XLSX, CSV, JSON…) carry it. The full list
    of a national plan's 3,321 reports is one."""

    def __attrs_post_init__(self):
        width = len(self.columns)
        for i, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(f"table {self.key}: row {i} has {len(row)} cells for {width} columns")


@attrs.frozen
class Heading:
    """A heading; level 1 for a section's own title, 2 and 3 below it."""

    text: str
    level: int = 2


@attrs.frozen
class Paragraph:
    """A paragraph of text."""

    text: str


@attrs.frozen
class Figure:
    """A chart as server-rendered SVG, with a text alternative (and, ideally, a table of its data)."""

    title: str
    svg: str
    alt: str


Block = Heading | Paragraph | Table | Figure
"""What a :class:`Section` is made of: headings, paragraphs, tables and figures."""


@attrs.frozen
class Section:
    """A part of a report contributed by the core or a plugin; ``order`` sorts sections."""

    key: str
    title: str
    blocks: tuple[Block, ...] = attrs.field(converter=tuple)
    order: int = 100
    source: str = "core"


@attrs.frozen
class ReportRequest:
    """What is being reported: passed to the ``report_sections`` hook as ``report``."""

    deployment: Any
    plan: Plan
    period: Period
    unit: Unit | None = None
    """None: the whole plan; else this unit and the units below it."""
    now: dt.datetime = attrs.field(factory=utc_now)

    def includes(self, unit_id: str) -> bool:
        """Whether ``unit_id`` is within the report's scope."""
        if self.unit is None:
            return True
        return self.plan.has_unit(unit_id) and self.plan.is_within(unit_id, self.unit.id)


@attrs.frozen
class Report:
    """A built report."""

    request: ReportRequest
    title: str
    sections: tuple[Section, ...]

    @property
    def plan(self) -> Plan:
        """The plan reported on."""
        return self.request.plan

    @property
    def period(self) -> Period:
        """The period reported on."""
        return self.request.period

    def tables(self) -> list[Table]:
        """Every table of every section, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]


@attrs.frozen
class ExportOptions:
    """What an exporter receives besides the report: ``exporter.export(report, stream, options)``.

    ``deployment`` is the :class:`ccch_core.deployment.Deployment` (an exporter reads its own
    settings with ``options.deployment.plugin_settings("<plugin>")``; it never queries the
    database: everything reported is in the report). ``recipient`` is the "Nơi nhận" line of an
    administrative document — the bodies the plan's reporting rules send this report to, joined
    with "; " — or None. ``signatory`` is who signs the document, or None: a mapping with
    ``"authority"`` (a list of lines such as "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"), ``"title"``
    ("PHÓ CHỦ TỊCH") and ``"name"``. New options are added as attributes with a default, so an
    exporter written today keeps working.
    """

    deployment: Any
    recipient: str | None = None
    signatory: Mapping[str, Any] | None = None


def call_exporter(exporter: Any, report: Report, stream: Any, options: ExportOptions) -> None:
    """Write ``report`` to ``stream`` with ``exporter``, whichever of the published signatures its
    ``export`` has.

    The contract is ``export(report, stream, options)`` with an :class:`ExportOptions`. Exporters
    written to the earlier documents still work: ``export(report, stream)`` gets no options, and
    ``export(report, stream, **options)`` gets ``recipient=`` and ``signatory=`` as keywords.
    """
    try:
        parameters = list(inspect.signature(exporter.export).parameters.values())
    except (TypeError, ValueError):  # a builtin or C callable: use the contract
        exporter.export(report, stream, options)
        return
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in parameters):
        exporter.export(report, stream, options)
    elif any(p.kind is p.VAR_KEYWORD for p in parameters):
        exporter.export(report, stream, recipient=options.recipient, signatory=options.signatory)
    else:
        exporter.export(report, stream)


def cut_to_one_decimal(value: float | None) -> float | None:
    """A percentage cut (never rounded up) to one decimal, the web's rule: 99.97 → 99.9, so that
    a target of 100% is not shown as met when it is not."""
    if value is None:
        return None
    return int(value * 10 + 1e-9) / 10


# -- the core's sections --------------------------------------------------------------------------


def _indicator_section(request: ReportRequest) -> Section:
    dep = request.deployment
    results = progress.evaluate_plan(dep.db, request.plan, request.period, now=request.now,
                                     measures=dep.measures, deployment=dep,
                                     within=request.unit.id if request.unit else None)
    rows = []
    for r in results:
        if r.indicator.kind.value == "yes_no":
            # A qualitative target reads as "Có"/"Không", not as 1/0.
            yes_no = {1.0: "Có", 0.0: "Không"}
            rows.append((r.indicator.code, r.indicator.label, yes_no.get(r.value), yes_no.get(r.target), "",
                         r.status.label_vi, len(r.units_without_data), len(r.units)))
            continue
        value, target = r.value, r.target
        if r.indicator.is_percentage:
            # As the dashboard shows them (its ``figure`` filter): cut, never rounded up, to one
            # decimal, so that 99.97 reads 99,9 in the report as on the web, not 99,97 or 100.
            value, target = cut_to_one_decimal(value), cut_to_one_decimal(target)
        rows.append((r.indicator.code, r.indicator.label, value, target,
                     "%" if r.indicator.is_percentage else (r.indicator.unit_label or ""),
                     r.status.label_vi, len(r.units_without_data), len(r.units)))
    table = Table(
        key="chi_tieu",
        title=f"Kết quả thực hiện chỉ tiêu — {request.period.label_vi}",
        columns=[
            Column("ma", "Mã"), Column("chi_tieu", "Chỉ tiêu"), Column("ket_qua", "Kết quả", "number"),
            Column("muc_tieu", "Mục tiêu", "number"), Column("don_vi_tinh", "Đơn vị tính"),
            Column("tinh_trang", "Tình trạng"), Column("thieu_so_lieu", "Đơn vị chưa có số liệu", "integer"),
            Column("so_don_vi", "Số đơn vị áp dụng", "integer"),
        ],
        rows=rows,
    )
    met = sum(1 for r in results if r.status is progress.Status.MET)
    text = (f"Trong {lower_first(request.period.label_vi)}, {met}/{len(results)} chỉ tiêu đạt; "
            f"{sum(1 for r in results if r.status is progress.Status.NO_DATA)} chỉ tiêu chưa có số liệu.")
    blocks: list[Block] = [Paragraph(text), table]
    notes = assumption_notes([(r.indicator.code, r.indicator.provenance) for r in results],
                             ("target", "applies_to", "period_type"))
    blocks.extend(Paragraph(note) for note in notes)
    if any(r.indicator.kind.value != "yes_no" for r in results):
        chart_title = f"Tiến độ đạt mục tiêu — {request.period.label_vi}"
        blocks.append(Figure(chart_title, charts.progress_chart(results, title=chart_title),
                             "Kết quả so với mục tiêu của từng chỉ tiêu định lượng, như ở bảng trên."))
        months = [m for m in Period.year_of(request.plan.year).months()
                  if m.start_date >= request.plan.starts_on.replace(day=1) and m.end_date <= request.period.end_date
                  and m.start_date <= request.plan.ends_on]
        if len(months) > 1:
            # The period's own month is already evaluated above (at national size each
            # evaluation of a month is a tenth of a second or more).
            by_month = [results if m == request.period else
                        progress.evaluate_plan(dep.db, request.plan, m, now=request.now, measures=dep.measures,
                                               deployment=dep, within=request.unit.id if request.unit else None)
                        for m in months]
            trends = [(r, [charts.TrendPoint(m, evaluated[i].value) for m, evaluated in zip(months, by_month, strict=True)])
                      for i, r in enumerate(results) if r.indicator.kind.value != "yes_no"]
            trend_title = f"Xu hướng các chỉ tiêu theo tháng đến {lower_first(request.period.label_vi)}"
            blocks.append(Figure(trend_title, charts.trend_grid_chart(trends, title=trend_title),
                                 "Kết quả từng tháng của mỗi chỉ tiêu định lượng; đường đứt nét là mục tiêu."))
    return Section("chi_tieu", "Kết quả thực hiện các chỉ tiêu", blocks, order=10)


def _completeness_section(request: ReportRequest) -> Section:
    dep = request.deployment
    completeness = progress.reporting_completeness(dep.db, request.plan, request.period, now=request.now)
    reports = [r for r in completeness.reports if request.includes(r.unit.id)]
    subset = progress.Completeness(completeness.period, tuple(reports))
    level = levels.level_view(request.plan, subset, request.unit.id if request.unit else None,
                              descend=request.unit is None)
    table = Table(
        key="tinh_hinh_bao_cao",
        title="Tình hình gửi báo cáo" + (" (đầy đủ)" if level.mode == "units" else ""),
        columns=[Column("don_vi", "Đơn vị"), Column("ky", "Kỳ"), Column("han_nop", "Hạn nộp (hết ngày)", "date"),
                 Column("ngay_nop", "Ngày nộp", "datetime"), Column("tinh_trang", "Tình trạng")],
        rows=[(r.unit.name + (f" (gửi {request.plan.reference_name(r.recipient)})" if r.recipient else ""),
               r.period.label_vi, due_day(r.due_at), r.submitted_at, r.state.label_vi) for r in reports],
        annex=level.mode == "units",
    )
    text = (f"Đã nhận {subset.received}/{subset.expected} báo cáo; tỷ lệ báo cáo "
            f"{_pct(subset.reporting_rate)}, đúng hạn {_pct(subset.on_time_rate)}.")
    if level.mode == "units":
        return _completeness_by_level(request, level, text, table)
    blocks: list[Block] = [Paragraph(text), table]
    rules = [r for r in request.plan.tracked_rules() if r.due_day is not None]
    blocks.extend(Paragraph(note) for note in assumption_notes([(r.id, r.provenance) for r in rules], ("due_day",),
                                                                names={r.id: r.what for r in rules}))
    year = Period.year_of(request.plan.year)
    months = [m for m in year.months() if m.end_date >= request.plan.starts_on and m.start_date <= request.plan.ends_on]
    whole_year = progress.reporting_completeness(dep.db, request.plan, year, now=request.now)
    scoped = progress.Completeness(year, tuple(r for r in whole_year.reports if request.includes(r.unit.id)))
    if months and scoped.reports:
        chart_title = f"Báo cáo hằng tháng của các đơn vị năm {request.plan.year}"
        blocks.append(Figure(chart_title, charts.report_grid_chart(scoped, months, title=chart_title),
                             "Mỗi hàng là một đơn vị, mỗi cột một tháng; xanh: đúng hạn, vàng: trễ hạn, "
                             "đỏ: chưa nộp, xám: chưa đến hạn."))
    return Section("bao_cao", "Tình hình báo cáo của các đơn vị", blocks, order=30)


def _completeness_by_level(request: ReportRequest, level: levels.Level, text: str, full: Table) -> Section:
    """The reports of a large scope as a document to sign can hold them (#26 part 4): counted per
    unit one level below (the provinces), then the units late or overdue, the full list as an
    annex table (in the XLSX of the same report), and the year's grid by the same rows."""
    states = progress.ReportState
    below = Table(
        key="tinh_hinh_theo_cap",
        title="Tình hình gửi báo cáo theo đơn vị cấp dưới",
        columns=[Column("don_vi", "Đơn vị"), Column("phai_nop", "Phải nộp", "integer"),
                 Column("da_nop", "Đã nộp", "integer"), Column("dung_han", "Đúng hạn", "integer"),
                 Column("tre_han", "Trễ hạn", "integer"), Column("chua_nop", "Chưa nộp (quá hạn)", "integer"),
                 Column("chua_den_han", "Chưa đến hạn", "integer"), Column("ty_le", "Tỷ lệ báo cáo", "percent")],
        rows=[(t.unit.name, t.expected, t.received, t.count(states.ON_TIME), t.count(states.LATE), t.overdue,
               t.count(states.NOT_DUE), t.reporting_rate) for t in level.tallies],
    )
    row_of = levels.row_finder(request.plan, [t.unit.id for t in level.tallies],
                               level.scope.id if level.scope else None)
    lagging = [r for r in level.reports if r.state in (states.LATE, states.MISSING)]
    late = Table(
        key="don_vi_tre_han",
        title="Đơn vị nộp trễ hoặc chưa nộp",
        columns=[Column("don_vi", "Đơn vị"), Column("thuoc", "Thuộc"), Column("han_nop", "Hạn nộp (hết ngày)", "date"),
                 Column("ngay_nop", "Ngày nộp", "datetime"), Column("tinh_trang", "Tình trạng")],
        rows=[(r.unit.name + (f" (gửi {request.plan.reference_name(r.recipient)})" if r.recipient else ""),
               request.plan.unit(row_of(r.unit.id)).name if row_of(r.unit.id) else "",
               due_day(r.due_at), r.submitted_at, r.state.label_vi) for r in lagging],
    )
    blocks: list[Block] = [Paragraph(text), below]
    if lagging:
        blocks.extend([Paragraph(f"Các đơn vị nộp trễ hoặc chưa nộp ({len(lagging)} báo cáo):"), late])
    else:
        blocks.append(Paragraph("Không có đơn vị nào nộp trễ hoặc chưa nộp."))
    blocks.append(Paragraph(f"Danh sách đầy đủ {len(full.rows)} báo cáo phải nộp ở phụ lục: bảng “{full.title}” "
                            "trong tệp Excel của báo cáo này."))
    blocks.append(full)
    plan = request.plan
    year = Period.year_of(plan.year)
    months = [m for m in year.months() if m.end_date >= plan.starts_on and m.start_date <= plan.ends_on]
    if months and level.tallies:
        counted = levels.monthly_counts(request.deployment.db, plan, months, row_of, now=request.now)
        chart_title = f"Báo cáo hằng tháng của các đơn vị năm {plan.year}"
        blocks.append(Figure(chart_title, charts.level_grid_chart(
            [(t.unit.name, counted.get(t.unit.id, {})) for t in level.tallies], months, title=chart_title),
            "Mỗi hàng là một đơn vị cấp dưới, mỗi cột một tháng, màu của tình trạng mà phần lớn báo cáo của nó "
            "đang ở; xanh: đúng hạn, vàng: trễ hạn, đỏ: chưa nộp, xám: chưa đến hạn."))
    return Section("bao_cao", "Tình hình báo cáo của các đơn vị", blocks, order=30)


FIELD_LABELS_VI = {"target": "mục tiêu", "applies_to": "đơn vị áp dụng", "period_type": "kỳ đo",
                   "due_day": "hạn nộp", "*": "toàn bộ"}
"""How a report names an assumed field."""


def assumption_notes(entries, fields, names: Mapping[str, str] | None = None) -> list[str]:
    """Notes that mark the facts a plan does not state ("giả định: kế hoạch không nêu"): for each
    assumed field among ``fields`` (or a whole entry assumed), one sentence per reason naming the
    entries, so that a reader never takes a deployment's choice for a fact of the plan.
    ``entries`` are ``(code, provenance)`` pairs; ``names`` optionally words the codes."""
    from .model import ASSUMED_LABEL_VI

    grouped: dict[tuple[str, str], list[str]] = {}
    for code, provenance in entries:
        for field, reason in provenance.assumed:
            if field == "*" or field in fields:
                grouped.setdefault((field, reason), []).append((names or {}).get(code, code))
    return [f"{FIELD_LABELS_VI.get(field, field).capitalize()} của {', '.join(codes)} ({ASSUMED_LABEL_VI}): {reason}"
            for (field, reason), codes in grouped.items()]


def due_day(due_at: dt.datetime | None) -> dt.date | None:
    """The last day on which a report is on time (``due_at`` is the exclusive bound, the local
    midnight after it)."""
    if due_at is None:
        return None
    return (to_local(due_at) - dt.timedelta(microseconds=1)).date()


def lower_first(text: str) -> str:
    """"Quý I/2024" → "quý I/2024" (the roman numeral keeps its case)."""
    return text[:1].lower() + text[1:]


def _pct(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{int(value * 10) / 10:g}%".replace(".", ",")


def _task_section(request: ReportRequest) -> Section:
    dep = request.deployment
    months = [str(m) for m in request.period.months()]
    placeholders = ", ".join("?" * len(months))
    counts: dict[str, int] = {}
    for row in dep.db.query(
        "select i.task_id, r.unit_id, sum(i.count) as total from activity_items i "
        f"join activity_reports r on r.id = i.report_id where r.period in ({placeholders}) "
        "and i.task_id is not null group by i.task_id, r.unit_id",
        months,
    ):
        if request.includes(row["unit_id"]):
            counts[row["task_id"]] = counts.get(row["task_id"], 0) + row["total"]
    plan = request.plan
    table = Table(
        key="nhiem_vu",
        title="Tình hình thực hiện nhiệm vụ trọng tâm",
        columns=[Column("tt", "TT", "integer"), Column("nhiem_vu", "Nhiệm vụ"), Column("chu_tri", "Cơ quan chủ trì"),
                 Column("phoi_hop", "Cơ quan phối hợp"), Column("thoi_gian", "Thời gian thực hiện"),
                 Column("hoat_dong", "Số hoạt động báo cáo", "integer")],
        rows=[(t.number, t.duty, "; ".join(plan.reference_name(r) for r in t.lead),
               "; ".join(plan.reference_name(r) for r in t.coordinating), t.timing or "", counts.get(t.id, 0))
              for t in plan.tasks],
    )
    return Section("nhiem_vu", "Tình hình thực hiện nhiệm vụ trọng tâm", [table], order=20)


def _evidence_section(request: ReportRequest) -> Section | None:
    dep = request.deployment
    plan = request.plan
    blocks: list[Block] = []
    # Vague cadences ("thường xuyên") made trackable: the lead's evidence in each period of the
    # task's evidence_per, one row per task and lead unit.
    evidence: dict[tuple[str, str], list[progress.TaskEvidence]] = {}
    for e in progress.task_evidence(dep.db, plan, request.period):
        if request.includes(e.unit.id):
            evidence.setdefault((e.task_id, e.unit.id), []).append(e)
    if evidence:
        rows = []
        for (task_id, _), found in evidence.items():
            first = found[0]
            rows.append((plan.task(task_id).number, first.unit.name,
                         first.reported_by.name if first.reported_by else "không có đơn vị báo cáo",
                         sum(1 for e in found if e.shown), len(found)))
        per = {plan.task(t).evidence_per for t, _ in evidence}
        per_label = per.pop().label_vi if len(per) == 1 else "kỳ"
        shown = sum(r[3] for r in rows)
        owed = sum(r[4] for r in rows)
        blocks.append(Paragraph(
            f"Nhiệm vụ thực hiện thường xuyên, định kỳ: {shown}/{owed} lượt {per_label} có minh chứng "
            "(hoạt động ghi nhiệm vụ trong báo cáo của đơn vị chủ trì)."))
        blocks.append(Table(
            key="minh_chung",
            title="Minh chứng các nhiệm vụ thường xuyên",
            columns=[Column("tt", "TT nhiệm vụ", "integer"), Column("chu_tri", "Đơn vị chủ trì"),
                     Column("bao_cao_qua", "Báo cáo qua"), Column("co_minh_chung", f"Số {per_label} có minh chứng", "integer"),
                     Column("phai_co", f"Số {per_label} phải có", "integer")],
            rows=rows,
        ))
    if not blocks:
        return None
    # After the reporting table: the sections before it keep their place in every export.
    return Section("minh_chung", "Minh chứng các nhiệm vụ thường xuyên", blocks, order=35)


def _activity_section(request: ReportRequest) -> Section:
    dep = request.deployment
    months = [str(m) for m in request.period.months()]
    placeholders = ", ".join("?" * len(months))
    totals: dict[str, int] = {}
    for row in dep.db.query(
        "select r.unit_id, i.category, sum(i.count) as total from activity_items i "
        f"join activity_reports r on r.id = i.report_id where r.period in ({placeholders}) "
        "group by r.unit_id, i.category",
        months,
    ):
        if request.includes(row["unit_id"]):
            totals[row["category"]] = totals.get(row["category"], 0) + row["total"]
    table = Table(
        key="hoat_dong",
        title="Kết quả hoạt động tuyên truyền",
        columns=[Column("loai", "Hình thức"), Column("so_luong", "Số lượng", "integer")],
        rows=[(label, totals.get(key, 0)) for key, label in progress.ACTIVITY_CATEGORIES.items()],
    )
    return Section("hoat_dong", "Kết quả hoạt động tuyên truyền", [table], order=15)


def build_report(deployment, period: Period | str, unit_id: str | None = None,
                 now: dt.datetime | None = None) -> Report:
    """The report of ``deployment``'s plan for ``period`` (whole plan, or ``unit_id`` and below)."""
    plan = deployment.plan
    if isinstance(period, str):
        period = Period.parse(period)
    unit = plan.unit(unit_id) if unit_id else None
    request = ReportRequest(deployment, plan, period, unit, now or utc_now())
    sections = [_indicator_section(request), _activity_section(request), _task_section(request),
                _completeness_section(request)]
    evidence = _evidence_section(request)
    if evidence is not None:
        sections.append(evidence)
    for plugin_name, impl in deployment.pm.each_impl("report_sections"):
        result = impl.function(report=request) or []
        for section in result:
            if not isinstance(section, Section):
                raise TypeError(f"plugin {plugin_name!r} returned {type(section).__name__} from report_sections")
            sections.append(attrs.evolve(section, source=plugin_name) if section.source == "core" else section)
    sections.sort(key=lambda s: s.order)
    scope = unit.name if unit else plan.unit(plan.issuing_unit).name
    title = f"Báo cáo kết quả công tác tuyên truyền CCHC {lower_first(period.label_vi)} — {scope}"
    return Report(request, title, tuple(sections))


# -- raw data tables ------------------------------------------------------------------------------


@attrs.frozen
class DataScope:
    """Which rows a data export may contain: a unit and the units below it (None: all), and a
    period (None: all time)."""

    unit_id: str | None = None
    period: Period | None = None


@attrs.frozen
class DataTable:
    """A plugin's raw table offered for export (participants, attempts, responses…).

    ``rows(deployment, scope)`` yields tuples matching ``columns`` one at a time — it must stream
    (a generator over a cursor), never build the whole table in memory. ``roles`` are the role
    values allowed to export it (unit officers only ever get their own units' rows, through
    ``scope``). ``personal_data`` marks tables holding personal data (Decree 13/2023/NĐ-CP).
    """

    name: str
    title: str
    columns: tuple[Column, ...] = attrs.field(converter=tuple)
    rows: Any = None
    roles: tuple[str, ...] = ("system_admin", "plan_admin")
    personal_data: bool = False
    count: Any = None
    """Optional ``count(deployment, scope) -> int`` for progress bars (a cheap COUNT query)."""
    unit_scoped: bool = True
    """Whether ``rows`` honours ``scope.unit_id`` (so unit officers may export their part)."""
