"""Server-rendered SVG charts (no JavaScript): answer distributions and satisfaction indices.

Only presentation attributes are used (no ``style``), so the charts pass the app's
Content-Security-Policy; every chart has a title and a text description for screen readers, and
the page shows the same figures in a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

SCALE_COLOURS = ("#8a1212", "#d9603b", "#bdbdbd", "#5aa36b", "#0f5c2e")
"""1 (very dissatisfied, dark red) … 5 (very satisfied, dark green): readable without colour too,
because each segment's share is also in the table."""


def _pct(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{int(value * 10 + 1e-9) / 10:.1f}".removesuffix(".0").replace(".", ",") + "%"


def _label(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def distribution_chart(title: str, rows: Sequence[tuple[str, Sequence[int], float | None]],
                       legend: Sequence[str], ident: str = "phan-bo") -> str:
    """Stacked horizontal bars: one bar per row (label, counts per scale point, index)."""
    label_w, bar_w, row_h, top = 320, 260, 26, 34
    width = label_w + bar_w + 70
    height = top + row_h * len(rows) + 30
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
              f'role="img" aria-labelledby="{ident}-t {ident}-d" font-family="system-ui, sans-serif" font-size="12">'),
             f'<title id="{ident}-t">{escape(title)}</title>',
             f'<desc id="{ident}-d">' + escape("; ".join(f"{label}: chỉ số hài lòng {_pct(index)}"
                                                  for label, _, index in rows)) + "</desc>"]
    parts.append(f'<text x="{label_w - 8}" y="16" text-anchor="end" fill="#4a4a4a">'
                 f'1 = {escape(legend[0])} … 5 = {escape(legend[-1])}</text>')
    x = label_w
    for i in range(len(legend)):
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{SCALE_COLOURS[i]}"/>'
                     f'<text x="{x + 15}" y="16">{i + 1}</text>')
        x += 34
    for r, (label, counts, index) in enumerate(rows):
        y = top + r * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(_label(label))}</text>')
        total = sum(counts)
        x = float(label_w)
        if total:
            for i, count in enumerate(counts):
                w = bar_w * count / total
                if w > 0:
                    parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" '
                                 f'fill="{SCALE_COLOURS[i]}"/>')
                x += w
        else:
            parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" fill="#eeeeee"/>')
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 15}" font-weight="bold">{_pct(index)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def index_chart(title: str, rows: Sequence[tuple[str, float | None, int]], target: float | None = None,
                ident: str = "chi-so") -> str:
    """Horizontal bars of satisfaction indices (0–100%), with the plan's target as a dashed line."""
    label_w, bar_w, row_h, top = 320, 260, 24, 10
    width = label_w + bar_w + 110
    height = top + row_h * len(rows) + 24
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
              f'role="img" aria-labelledby="{ident}-t {ident}-d" font-family="system-ui, sans-serif" font-size="12">'),
             f'<title id="{ident}-t">{escape(title)}</title>',
             f'<desc id="{ident}-d">' + escape("; ".join(f"{label}: {_pct(index)} ({n} câu trả lời)"
                                                  for label, index, n in rows)) + "</desc>"]
    for r, (label, index, n) in enumerate(rows):
        y = top + r * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(_label(label))}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" fill="#eeeeee"/>')
        if index is not None:
            colour = "#0f5c2e" if target is None or index >= target else "#8a1212"
            parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * index / 100:.1f}" '
                         f'height="{row_h - 8}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 15}">{_pct(index)} · {n}</text>')
    if target is not None:
        tx = label_w + bar_w * target / 100
        parts.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{height - 20}" stroke="#1a1a1a" '
                     f'stroke-dasharray="4 3"/><text x="{tx:.1f}" y="{height - 6}" text-anchor="middle">'
                     f'mục tiêu {_pct(target)}</text>')
    parts.append("</svg>")
    return "".join(parts)
