"""A streaming XLSX writer for big raw tables: SpreadsheetML written row by row into the zip.

Why not a library: measured side by side (``bench/xlsx_bench.py``, docs/performance.md, "XLSX at
the speed of CSV"), openpyxl's write-only mode and XlsxWriter's constant-memory mode spend most of
their time creating a cell object per value and cannot write a million rows in 20 s; this writer
formats each row as text with one function per column, as the CSV path does, and is several times
faster with memory as flat. It writes what the openpyxl path wrote for a data table: the sheet
named by :func:`ccch_export.tabular.sheet_name` (continued on "… (2)" past a worksheet's
1,048,575 rows), a bold frozen header, column widths, dates and instants as real dates in Vietnam
time with their number formats, percentages as fractions, text neutralised against formula
injection (:func:`ccch_export.tabular.xlsx_text`), and the A4 fit-to-width print set-up with the
header repeated on every page. A report's small tables still go through openpyxl
(:func:`ccch_export.tabular.add_sheet`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import zipfile
from collections.abc import Iterable, Sequence
from typing import IO, Any
from xml.sax.saxutils import escape

from ccch_core.report import Column

from . import tabular

ZIP_LEVEL = 1
"""Deflate level of the sheet: level 1 makes a file about a third larger than level 6 and takes
half the time (bench/xlsx_bench.py)."""

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_EPOCH = dt.datetime(1899, 12, 30)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_VN = dt.timedelta(hours=7)
_END = object()

# Cell styles (indexes into styles.xml's cellXfs below).
_HEADER, _DATETIME, _DATE, _PERCENT, _INT_THOUSANDS, _NUMBER_THOUSANDS = 1, 2, 3, 4, 5, 6

_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{_MAIN}"><numFmts count="4"><numFmt numFmtId="164" formatCode="{tabular.NUMBER_FORMATS['datetime']}"/>\
<numFmt numFmtId="165" formatCode="{tabular.NUMBER_FORMATS['date']}"/><numFmt numFmtId="166" \
formatCode="{tabular.NUMBER_FORMATS['percent']}"/><numFmt numFmtId="167" formatCode="{tabular.THOUSANDS['number']}"/>\
</numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/>\
<name val="Calibri"/><family val="2"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/>\
<diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>\
</cellStyleXfs><cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">\
<alignment vertical="top" wrapText="1"/></xf>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


def _letters(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _text(ref: str, value: str) -> str:
    value = tabular.xlsx_text(value)
    if "&" in value or "<" in value or ">" in value:
        value = escape(value)
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'


def _number(ref: str, value: float, style: int = 0) -> str:
    return f'<c r="{ref}" s="{style}"><v>{value!r}</v></c>' if style else f'<c r="{ref}"><v>{value!r}</v></c>'


def _serial(value: dt.datetime | dt.date) -> float | int:
    if isinstance(value, dt.datetime):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return value.toordinal() - _EPOCH_ORDINAL + seconds / 86400
    return value.toordinal() - _EPOCH_ORDINAL


def _cell(ref: str, value: Any, column: Column, thousands: bool) -> str:
    """Any value of any column, typed as the openpyxl path types it (tabular._xlsx_value)."""
    value = tabular._xlsx_value(value, column)
    if value is None:
        return ""
    if isinstance(value, str):
        return _text(ref, value)
    if isinstance(value, dt.datetime):
        return _number(ref, _serial(value), _DATETIME)
    if isinstance(value, dt.date):
        return _number(ref, _serial(value), _DATE)
    if column.kind == "percent":
        return _number(ref, value, _PERCENT)
    if thousands and column.kind in ("integer", "number"):
        whole = column.kind == "integer" or float(value).is_integer()
        return _number(ref, value, _INT_THOUSANDS if whole else _NUMBER_THOUSANDS)
    return _number(ref, value)


def _cell_writer(letter: str, column: Column, thousands: bool):
    """A function (row number, value) → the cell's XML, doing only the work its column needs."""
    if column.kind == "text":
        def text_cell(n: int, value: Any) -> str:
            if value.__class__ is str:
                return _text(f"{letter}{n}", value) if value else ""
            return "" if value is None else _cell(f"{letter}{n}", value, column, thousands)
        return text_cell
    if column.kind == "datetime":
        def instant_cell(n: int, value: Any) -> str:
            # The hot path: stored UTC text → Vietnam time as a spreadsheet serial, no zoneinfo.
            if value.__class__ is str and len(value) >= 19 and value.endswith("+00:00"):
                try:
                    local = dt.datetime.fromisoformat(value[:19]) + _VN
                except ValueError:
                    pass
                else:
                    return f'<c r="{letter}{n}" s="{_DATETIME}"><v>{_serial(local)!r}</v></c>'
            return "" if value is None else _cell(f"{letter}{n}", value, column, thousands)
        return instant_cell
    if column.kind in ("integer", "number") and not thousands:
        def number_cell(n: int, value: Any) -> str:
            if value.__class__ is int or value.__class__ is float:
                return f'<c r="{letter}{n}"><v>{value!r}</v></c>'
            return "" if value is None else _cell(f"{letter}{n}", value, column, thousands)
        return number_cell
    return lambda n, value: "" if value is None else _cell(f"{letter}{n}", value, column, thousands)


def _sheet_head(columns: Sequence[Column], sample: Sequence[Sequence[Any]]) -> str:
    landscape = "landscape" if len(columns) > 6 else "portrait"
    cols = "".join(f'<col min="{i}" max="{i}" width="{tabular._width(c, sample, i - 1):g}" customWidth="1"/>'
                   for i, c in enumerate(columns, start=1))
    header = "".join(f'<c r="{_letters(i)}1" t="inlineStr" s="{_HEADER}"><is><t xml:space="preserve">'
                     f'{escape(tabular.xlsx_text(c.label))}</t></is></c>' for i, c in enumerate(columns))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr><sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{cols}</cols>" if cols else "") +
            f'<sheetData><row r="1">{header}</row>'), landscape


def _sheet_tail(landscape: str) -> str:
    return ('</sheetData><printOptions gridLines="1"/><pageMargins left="0.7" right="0.7" top="0.75" '
            f'bottom="0.75" header="0.3" footer="0.3"/><pageSetup paperSize="9" orientation="{landscape}" '
            'fitToWidth="1" fitToHeight="0"/></worksheet>')


def write_xlsx(stream: IO[bytes], title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *,
               sample: Sequence[Sequence[Any]] = (), thousands: bool = False, on_row=None,
               max_rows: int = tabular.XLSX_MAX_ROWS) -> int:
    """Write a one-table workbook to a binary ``stream`` (a file; the zip needs to seek back only
    if it can), row by row; returns the number of data rows. Memory does not grow with the table."""
    letters = [_letters(i) for i in range(len(columns))]
    writers = [_cell_writer(letter, column, thousands) for letter, column in zip(letters, columns, strict=True)]
    width = len(columns)
    taken: set[str] = set()
    names: list[str] = []
    count = 0
    rows = iter(rows)
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as archive:
        more = True
        while more or not names:
            names.append(tabular.sheet_name(title, taken))
            head, landscape = _sheet_head(columns, sample)
            with archive.open(f"xl/worksheets/sheet{len(names)}.xml", "w", force_zip64=True) as sheet:
                sheet.write(head.encode())
                n = 1  # the header's row
                parts: list[str] = []
                more = False
                for row in rows:
                    if len(row) != width:
                        raise ValueError(f"a row has {len(row)} cells for {width} columns")
                    n += 1
                    parts.append(f'<row r="{n}">' + "".join([w(n, v) for w, v in zip(writers, row)]) + "</row>")
                    count += 1
                    if len(parts) == 1000:
                        sheet.write("".join(parts).encode())
                        parts.clear()
                        if on_row:
                            on_row(1000)
                    if n > max_rows:  # the worksheet is full: any further rows go on "… (2)"
                        following = next(rows, _END)
                        if following is not _END:
                            rows = itertools.chain([following], rows)
                            more = True
                        break
                sheet.write("".join(parts).encode())
                if on_row and parts:
                    on_row(len(parts))
                sheet.write(_sheet_tail(landscape).encode())
        _write_workbook(archive, names, bool(columns))
    return count


def _write_workbook(archive: zipfile.ZipFile, names: list[str], print_titles: bool) -> None:
    sheets = "".join(f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, name in enumerate(names, start=1))
    titles = "".join(
        f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
        f"{escape(chr(39) + name.replace(chr(39), chr(39) * 2) + chr(39))}!$1:$1</definedName>"
        for i, name in enumerate(names)) if print_titles else ""
    archive.writestr("xl/workbook.xml", (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
        + (f"<definedNames>{titles}</definedNames>" if titles else "") + "</workbook>"))
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, len(names) + 1))
    archive.writestr("xl/_rels/workbook.xml.rels", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships">{rels}<Relationship Id="rId{len(names) + 1}" '
        f'Type="{_REL}/styles" Target="styles.xml"/></Relationships>'))
    archive.writestr("xl/styles.xml", _STYLES)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/>' for i in range(1, len(names) + 1))
    archive.writestr("[Content_Types].xml", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        f'spreadsheetml.styles+xml"/>{overrides}</Types>'))
    archive.writestr("_rels/.rels", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'))
