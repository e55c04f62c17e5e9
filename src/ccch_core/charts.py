"""Server-rendered SVG charts of where the plan stands (no JavaScript), for the dashboard and the
reports: the year's reporting grid, each indicator's trend against its target, and progress
toward each target.

As the survey's charts do, they use presentation attributes only (no ``style``), so they pass
the app's Content-Security-Policy; each has a title and a text description for screen readers,
and the page or document shows the same figures in a table. Labels are Vietnamese words, never
codes. Each chart scales to its container (``width="100%"`` and a ``viewBox``), so it fits a
360 px phone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

import attrs

from .periods import Period
from .progress import Completeness, IndicatorResult, ReportState

__all__ = [
    "REPORT_STATE_COLOURS", "TrendPoint", "level_grid_chart", "progress_chart", "report_grid_chart", "trend_chart",
]

REPORT_STATE_COLOURS = {
    ReportState.ON_TIME: "#1e7a3c",
    ReportState.SUBMITTED: "#1e7a3c",
    ReportState.LATE: "#d08c00",
    ReportState.MISSING: "#b3261e",
    ReportState.NOT_DUE: "#c9ced6",
}
"""On time green, late amber, missing red, not yet due grey; the legend names each colour, and
each cell also carries its words in a ``<title>`` (a tooltip, read by screen readers)."""

_LEGEND = ((ReportState.ON_TIME, "Đúng hạn"), (ReportState.LATE, "Trễ hạn"),
           (ReportState.MISSING, "Chưa nộp (quá hạn)"), (ReportState.NOT_DUE, "Chưa đến hạn"))
_FONT = 'font-family="system-ui, sans-serif"'


def _figure(value: float | None, percent: bool = False) -> str:
    """As the web's ``figure`` filter: decimal comma; percentages cut to one decimal."""
    if value is None:
        return "–"
    if percent:
        return f"{int(value * 10 + 1e-9) / 10:.1f}".removesuffix(".0").replace(".", ",") + "%"
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(ident: str, width: float, height: float, title: str, desc: str, font_size: int = 12) -> list[str]:
    return [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="100%" '
            f'role="img" aria-labelledby="{ident}-t {ident}-d" {_FONT} font-size="{font_size}">'),
            f'<title id="{ident}-t">{escape(title)}</title>', f'<desc id="{ident}-d">{escape(desc)}</desc>']


def report_grid_chart(completeness: Completeness, months: Sequence[Period], *, title: str,
                      ident: str = "luoi-bao-cao") -> str:
    """A grid of units (rows) × months (columns), each cell coloured by the state of the unit's
    monthly report: on time, late, missing, not yet due; blank where no report is owed.

    ``completeness`` is the year's (or any span's) :func:`~ccch_core.progress.reporting_completeness`;
    only the monthly activity reports in ccch count (not further recipients)."""
    cells: dict[tuple[str, str], ReportState] = {}
    units: dict[str, str] = {}
    for report in completeness.reports:
        if report.recipient is not None or report.period.type is not months[0].type:
            continue
        cells[(report.unit.id, str(report.period))] = report.state
        units.setdefault(report.unit.id, report.unit.name)
    label_w, cell, top, gap = 176, 18, 34, 2
    width = label_w + cell * len(months) + 10
    height = top + cell * len(units) + 30
    counts = {state: sum(1 for s in cells.values() if s is state) for state in ReportState}
    desc = (f"{len(units)} đơn vị × {len(months)} tháng: {counts[ReportState.ON_TIME] + counts[ReportState.SUBMITTED]} "
            f"báo cáo đúng hạn, {counts[ReportState.LATE]} trễ hạn, {counts[ReportState.MISSING]} chưa nộp, "
            f"{counts[ReportState.NOT_DUE]} chưa đến hạn.")
    parts = _open(ident, width, height, title, desc, 10)
    for i, month in enumerate(months):
        x = label_w + i * cell + cell / 2
        parts.append(f'<text x="{x:.0f}" y="{top - 8}" text-anchor="middle" fill="#4a4a4a">{month.start_date.month}</text>')
    parts.append(f'<text x="{label_w - 8}" y="{top - 8}" text-anchor="end" fill="#4a4a4a">Tháng</text>')
    for r, (unit_id, name) in enumerate(units.items()):
        y = top + r * cell
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(_short(name, 28))}</text>')
        for i, month in enumerate(months):
            state = cells.get((unit_id, str(month)))
            x = label_w + i * cell
            if state is None:
                parts.append(f'<rect x="{x + gap}" y="{y + gap}" width="{cell - 2 * gap}" height="{cell - 2 * gap}" '
                             'fill="none" stroke="#e3e6ea"/>')
                continue
            parts.append(f'<rect x="{x + gap}" y="{y + gap}" width="{cell - 2 * gap}" height="{cell - 2 * gap}" '
                         f'fill="{REPORT_STATE_COLOURS[state]}"><title>{escape(name)}, {escape(month.label_vi.lower())}: '
                         f'{escape(state.label_vi.lower())}</title></rect>')
    y = height - 14
    x = 4.0
    for state, label in _LEGEND:
        parts.append(f'<rect x="{x:.0f}" y="{y - 10}" width="12" height="12" fill="{REPORT_STATE_COLOURS[state]}"/>'
                     f'<text x="{x + 16:.0f}" y="{y}">{escape(label)}</text>')
        x += 24 + 5.4 * len(label)
    parts.append("</svg>")
    return "".join(parts)


def level_grid_chart(rows: Sequence[tuple[str, Mapping[str, Mapping[str, int]]]], months: Sequence[Period], *,
                     title: str, ident: str = "luoi-bao-cao") -> str:
    """A grid of groups of units (rows: a province, a district…) × months: each cell coloured by
    the state most of the group's reports of that month are in, its words (how many on time,
    late, missing, not yet due) in a ``<title>``; blank where no report is owed.

    ``rows`` are (name, {period text: {state value: count}}), as
    :func:`ccch_core.levels.monthly_counts` gives them: the grid of a national plan has one row
    per province, not one per commune."""
    label_w, cell, top, gap = 176, 18, 34, 2
    width = label_w + cell * len(months) + 10
    height = top + cell * len(rows) + 30
    totals = {state.value: 0 for state in ReportState}
    for _, cells in rows:
        for counts in cells.values():
            for state, n in counts.items():
                totals[state] += n
    desc = (f"{len(rows)} nhóm đơn vị × {len(months)} tháng: {totals['on_time'] + totals['submitted']} báo cáo đúng "
            f"hạn, {totals['late']} trễ hạn, {totals['missing']} chưa nộp, {totals['not_due']} chưa đến hạn.")
    parts = _open(ident, width, height, title, desc, 10)
    for i, month in enumerate(months):
        x = label_w + i * cell + cell / 2
        parts.append(f'<text x="{x:.0f}" y="{top - 8}" text-anchor="middle" fill="#4a4a4a">{month.start_date.month}</text>')
    parts.append(f'<text x="{label_w - 8}" y="{top - 8}" text-anchor="end" fill="#4a4a4a">Tháng</text>')
    size = cell - 2 * gap
    for r, (name, cells) in enumerate(rows):
        y = top + r * cell
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(_short(name, 28))}</text>')
        for i, month in enumerate(months):
            counts = cells.get(str(month))
            x = label_w + i * cell
            if not counts:
                parts.append(f'<rect x="{x + gap}" y="{y + gap}" width="{size}" height="{size}" fill="none" '
                             'stroke="#e3e6ea"/>')
                continue
            merged = {ReportState.ON_TIME: counts.get("on_time", 0) + counts.get("submitted", 0),
                      ReportState.LATE: counts.get("late", 0), ReportState.MISSING: counts.get("missing", 0),
                      ReportState.NOT_DUE: counts.get("not_due", 0)}
            most = max(merged, key=lambda s: merged[s])
            if sum(counts.values()) == 1:  # one unit's own report: its state in words
                words = ReportState(next(iter(counts))).label_vi.lower()
            else:
                words = ", ".join(f"{n} {label.lower()}" for s, label in _LEGEND if (n := merged[s]))
            parts.append(f'<rect x="{x + gap}" y="{y + gap}" width="{size}" height="{size}" '
                         f'fill="{REPORT_STATE_COLOURS[most]}"><title>{escape(name)}, '
                         f'{escape(month.label_vi.lower())}: {escape(words)}</title></rect>')
    y = height - 14
    x = 4.0
    for state, label in _LEGEND:
        parts.append(f'<rect x="{x:.0f}" y="{y - 10}" width="12" height="12" fill="{REPORT_STATE_COLOURS[state]}"/>'
                     f'<text x="{x + 16:.0f}" y="{y}">{escape(label)}</text>')
        x += 24 + 5.4 * len(label)
    parts.append("</svg>")
    return "".join(parts)


@attrs.frozen
class TrendPoint:
    """An indicator's value for one period of its trend (None: no data yet)."""

    period: Period
    value: float | None


def trend_chart(result: IndicatorResult, points: Sequence[TrendPoint], *, ident: str) -> str:
    """An indicator's values over the plan's periods as bars, with its target as a dashed line;
    bars that meet the target are green, the others amber, periods without data a grey stub."""
    indicator = result.indicator
    percent = indicator.is_percentage
    values = [p.value for p in points if p.value is not None]
    target = result.target
    top_value = max([*values, target or 0, 1.0])
    if percent:
        top_value = max(top_value, 100.0)
    width, height, left, bottom, top = 300, 120, 8, 22, 18
    plot_h = height - bottom - top
    bar_w = (width - 2 * left) / max(len(points), 1)
    described = "; ".join(f"{p.period.label_vi}: {_figure(p.value, percent)}" for p in points)
    title = f"{indicator.label} — xu hướng theo kỳ"
    desc = f"Mục tiêu {_figure(target, percent)}. {described}."
    parts = _open(ident, width, height, title, desc, 10)
    for i, point in enumerate(points):
        x = left + i * bar_w
        if point.value is None:
            parts.append(f'<rect x="{x + 2:.1f}" y="{height - bottom - 2}" width="{bar_w - 4:.1f}" height="2" fill="#c9ced6"/>')
        else:
            h = plot_h * max(point.value, 0) / top_value
            met = target is None or indicator.comparison.holds(point.value, target)
            parts.append(f'<rect x="{x + 2:.1f}" y="{height - bottom - h:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" '
                         f'fill="{"#1e7a3c" if met else "#d08c00"}"><title>{escape(point.period.label_vi)}: '
                         f'{escape(_figure(point.value, percent))}</title></rect>')
        if len(points) <= 12:
            label = str(point.period.start_date.month) if point.period.type.months == 1 else point.period.label_vi
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="#4a4a4a">'
                         f'{escape(_short(label, 8))}</text>')
    if target is not None:
        ty = height - bottom - plot_h * target / top_value
        parts.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{width - left}" y2="{ty:.1f}" stroke="#1a1a1a" '
                     f'stroke-dasharray="4 3"/><text x="{width - left}" y="{max(ty - 4, 10):.1f}" text-anchor="end">'
                     f'mục tiêu {escape(_figure(target, percent))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trend_grid_chart(trends: Sequence[tuple[IndicatorResult, Sequence[TrendPoint]]], *, title: str,
                     columns: int = 2, ident: str = "xu-huong") -> str:
    """Every indicator's :func:`trend_chart` in one picture, ``columns`` to a row, each under its
    indicator's words: for a document, where one picture reads better than eight."""
    cell_w, cell_h, label_h = 300, 120, 18
    rows = (len(trends) + columns - 1) // columns
    width, height = columns * cell_w + (columns - 1) * 16, rows * (cell_h + label_h + 10)
    desc = " ".join(f"{result.indicator.label}: " + ", ".join(
        f"{p.period.label_vi} {_figure(p.value, result.indicator.is_percentage)}" for p in points) + "."
        for result, points in trends)
    parts = _open(ident, width, max(height, 1), title, desc or "Chưa có chỉ tiêu định lượng.", 12)
    for i, (result, points) in enumerate(trends):
        x = (i % columns) * (cell_w + 16)
        y = (i // columns) * (cell_h + label_h + 10)
        parts.append(f'<text x="{x}" y="{y + 13}" font-weight="bold">{escape(_short(result.indicator.label, 44))}</text>')
        inner = trend_chart(result, points, ident=f"{ident}-{i}").replace(
            'width="100%"', f'x="{x}" y="{y + label_h}" width="{cell_w}" height="{cell_h}"', 1)
        parts.append(inner)
    parts.append("</svg>")
    return "".join(parts)


def progress_chart(results: Sequence[IndicatorResult], *, title: str, ident: str = "tien-do") -> str:
    """Bars of each quantitative indicator's progress toward its target (value over target,
    0–100%): the indicator's words on one line, its bar and its value against the target on the
    next, so that the chart stays readable on a 360 px phone."""
    rows = [r for r in results if r.indicator.kind.value != "yes_no"]
    width, bar_w, row_h, top = 380, 250, 40, 4
    height = top + row_h * len(rows) + 4
    desc = "; ".join(f"{r.indicator.label}: {_figure(r.value, r.indicator.is_percentage)} trên mục tiêu "
                     f"{_figure(r.target, r.indicator.is_percentage)}" for r in rows)
    parts = _open(ident, width, height, title, desc or "Không có chỉ tiêu định lượng.", 13)
    for i, r in enumerate(rows):
        y = top + i * row_h
        parts.append(f'<text x="0" y="{y + 13}">{escape(_short(r.indicator.label, 52))}</text>')
        parts.append(f'<rect x="0" y="{y + 18}" width="{bar_w}" height="14" fill="#eceff3"/>')
        if r.progress is not None:
            colour = "#1e7a3c" if r.progress >= 100 else "#2a5ea8"
            parts.append(f'<rect x="0" y="{y + 18}" width="{bar_w * r.progress / 100:.1f}" height="14" '
                         f'fill="{colour}"/>')
        percent = r.indicator.is_percentage
        parts.append(f'<text x="{bar_w + 8}" y="{y + 30}">{escape(_figure(r.value, percent))} / '
                     f'{escape(_figure(r.target, percent))}</text>')
    parts.append("</svg>")
    return "".join(parts)
