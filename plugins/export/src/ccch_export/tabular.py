"""Streaming writers for tables: CSV (UTF-8 with BOM), XLSX (openpyxl write-only) and JSON.

The same writers serve a report's small tables and a plugin's million-row raw table: rows are
consumed one at a time and never collected, so memory stays flat as tables grow.

Spreadsheet formula injection: a text cell that begins with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return) would run as a formula when a citizen's answer is opened in Excel. Such cells
are written with a leading apostrophe, in CSV and XLSX alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from ccch_core.periods import to_local
from ccch_core.report import Column

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_text(value: str) -> str:
    """Neutralise a text cell that a spreadsheet would run as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _local_naive(value: dt.datetime) -> dt.datetime:
    # Spreadsheets have no time zones: write Vietnam time, the time officers think in.
    return to_local(value).replace(tzinfo=None) if value.tzinfo else value


def _parse_instant(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def csv_cell(value: Any, column: Column) -> str:
    """A value as CSV text: numbers plain (dot decimal), instants in Vietnam time, text neutralised."""
    if value is None:
        return ""
    if column.kind == "datetime":
        value = _parse_instant(value)
        if isinstance(value, dt.datetime):
            return _local_naive(value).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    return safe_text(str(value))


def write_csv(columns: Sequence[Column], rows: Iterable[Sequence[Any]], stream: IO[str], *, bom: bool = True,
              on_row=None) -> int:
    """Write a header and ``rows`` to a text stream; returns the number of rows written."""
    if bom:
        stream.write(BOM)
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([c.label for c in columns])
    count = 0
    for row in rows:
        writer.writerow([csv_cell(v, c) for v, c in zip(row, columns, strict=True)])
        count += 1
        if on_row and count % 1000 == 0:
            on_row(1000)
    if on_row:
        on_row(count % 1000)
    return count


def iter_csv(columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, chunk_rows: int = 2000) -> Iterator[bytes]:
    """CSV as a stream of byte chunks, for streamed HTTP responses."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.label for c in columns])
    pending = 0
    for row in rows:
        writer.writerow([csv_cell(v, c) for v, c in zip(row, columns, strict=True)])
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique worksheet name (≤ 31 characters, no []:*?/\\)."""
    base = _SHEET_BAD.sub(" ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.casefold() in taken:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name.casefold())
    return name


NUMBER_FORMATS = {"integer": "#,##0", "number": "#,##0.##", "percent": "0.0%", "date": "dd/mm/yyyy",
                  "datetime": "dd/mm/yyyy hh:mm"}


def _width(column: Column, sample: Sequence[Sequence[Any]], index: int) -> float:
    lengths = [len(column.label)]
    for row in sample:
        value = row[index]
        if value is not None:
            lengths.append(len(str(value)))
    fixed = {"date": 11, "datetime": 17, "integer": 10, "number": 12, "percent": 9}.get(column.kind)
    longest = max(lengths)
    if fixed:
        longest = max(fixed, len(column.label))
    return min(max(longest + 2, 8), 60)


def add_sheet(workbook, title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], taken: set[str],
              *, sample: Sequence[Sequence[Any]] = (), on_row=None) -> int:
    """Append a sheet to a write-only workbook: bold frozen header, typed cells, fitted widths.

    ``sample`` (the first rows, when known in advance) sizes the columns; write-only sheets must
    have their widths set before the first row.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(sheet_name(title, taken))
    for i, column in enumerate(columns):
        sheet.column_dimensions[get_column_letter(i + 1)].width = _width(column, sample, i)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.label)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    sheet.append(header)
    formats = [NUMBER_FORMATS.get(c.kind) for c in columns]
    count = 0
    for row in rows:
        out = []
        for value, column, fmt in zip(row, columns, formats, strict=True):
            value = _xlsx_value(value, column)
            if fmt and value is not None and not isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = fmt
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
        count += 1
        if on_row and count % 1000 == 0:
            on_row(1000)
    if on_row:
        on_row(count % 1000)
    return count


def _xlsx_value(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.kind == "datetime":
        value = _parse_instant(value)
        if isinstance(value, dt.datetime):
            return _local_naive(value)
    if column.kind == "percent" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 100  # stored as a fraction, shown as 87.5% by the number format
    if isinstance(value, (int, float, dt.date)) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return int(value)
    return safe_text(str(value))


def json_value(value: Any) -> Any:
    """A cell as JSON: instants as ISO 8601 (UTC as stored), dates as ISO, the rest as is."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def iter_json(columns: Sequence[Column], rows: Iterable[Sequence[Any]], meta: dict[str, Any]) -> Iterator[bytes]:
    """A JSON document ``{...meta, "columns": [...], "rows": [[...], ...]}`` streamed in chunks."""
    head = dict(meta)
    head["columns"] = [{"key": c.key, "label": c.label, "kind": c.kind} for c in columns]
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "rows": ['
    yield opening.encode("utf-8")
    chunk: list[str] = []
    first = True
    for row in rows:
        text = json.dumps([json_value(v) for v in row], ensure_ascii=False)
        chunk.append(text if first else "," + text)
        first = False
        if len(chunk) >= 2000:
            yield "\n".join(chunk).encode("utf-8")
            chunk = []
    chunk.append("]}")
    yield "\n".join(chunk).encode("utf-8")
