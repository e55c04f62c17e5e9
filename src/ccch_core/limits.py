"""Bounded imports: every file a person uploads or imports is measured before it is parsed.

An import reads a file somebody else wrote: a question bank (CSV, XLSX, Aiken, GIFT), a survey or
contest definition (TOML), a plan file (TOML), measurements and activity reports (CSV), unit
contacts (CSV). A 1.6 KB XLSX that declares its sheet as ``A1:XFD1048576`` once drove an import
worker to 4 GB; a 974 KB XLSX with 1.4 million rows held one for a minute; a TOML text nested
1,000 deep ended in a RecursionError. So, before anything is parsed:

- the file's size (:func:`read_limited`, :func:`check_size`);
- for an XLSX (a zip), the zip directory: the sum of the members' uncompressed sizes and each
  member's compression ratio (:func:`check_zip`), before openpyxl opens it. Python's ``zipfile``
  never inflates a member past the size its directory entry declares, so the declared sizes are
  the ones that count;
- while reading: the rows, the columns and the length of each cell (:func:`xlsx_rows`,
  :func:`csv_records`), the sheet's own ``<dimension>`` never trusted;
- for TOML, the nesting depth, by a scan of brackets and braces outside strings and comments
  (:func:`check_toml`), before ``tomllib`` recurses into it.

The limits come from the deployment's ``[limits]`` table in ``ccch.toml`` (:func:`parse_limits`,
documented in docs/deploy.md), with safe defaults (:data:`DEFAULT_LIMITS`). A file over a limit is
refused whole with a :class:`LimitError`, a Vietnamese message naming the file, the limit and where
it was exceeded; the importers raise it before they store anything, so nothing changes.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

__all__ = [
    "DEFAULT_LIMITS",
    "ImportLimits",
    "LimitError",
    "check_size",
    "check_toml",
    "check_zip",
    "csv_records",
    "limits_of",
    "loads_toml",
    "open_xlsx",
    "parse_limits",
    "read_limited",
    "xlsx_rows",
]

LIMIT_KEYS = ("max_file_bytes", "max_uncompressed_bytes", "max_compression_ratio", "max_rows", "max_columns",
              "max_cell_chars", "max_toml_depth")

# Each key's allowed range in ccch.toml: a limit of 0 would refuse everything, and a limit past
# the upper bound would no longer protect the server.
_RANGES = {
    "max_file_bytes": (10_000, 1_000_000_000),
    "max_uncompressed_bytes": (10_000, 2_000_000_000),
    "max_compression_ratio": (10, 10_000),
    "max_rows": (10, 10_000_000),
    "max_columns": (5, 16_384),
    "max_cell_chars": (100, 131_072),  # 131,072: the csv module's own bound
    "max_toml_depth": (4, 100),
}

# A zip member smaller than this is not checked for its ratio (Apache POI's "grace" size): a small
# XML part of repeated tags may compress a hundred times and more without being a bomb.
RATIO_GRACE_BYTES = 100_000

# Blank rows tolerated after the last row a sheet may have: Excel writes formatted empty rows, and
# a sheet ending with some is not too long. Past them, the sheet is refused (what follows cannot
# be known without reading on).
TRAILING_BLANK_ROWS = 1_000


@attrs.frozen
class ImportLimits:
    """The bounds of one import. Defaults: :data:`DEFAULT_LIMITS`; a deployment sets its own in
    ``[limits]`` of ``ccch.toml`` (:func:`parse_limits`)."""

    max_file_bytes: int = 5_000_000
    """Size of the file as uploaded or read from disk (the web's ``max_request_bytes`` also
    bounds an upload)."""
    max_uncompressed_bytes: int = 20_000_000
    """For an XLSX: the sum of its zip members' uncompressed sizes (what openpyxl parses; its
    parse time grows with it, about 0.4 s per MB)."""
    max_compression_ratio: int = 100
    """For an XLSX: uncompressed ÷ compressed size of any member over 100 KB (Apache POI's 1 %)."""
    max_rows: int = 20_000
    """Data rows of a sheet or CSV, not counting the header row."""
    max_columns: int = 50
    """Columns of a sheet or CSV that may hold data."""
    max_cell_chars: int = 10_000
    """Characters of one cell."""
    max_toml_depth: int = 20
    """Nesting of ``[ ]`` and ``{ }`` in a TOML text (a plan file needs 3)."""


DEFAULT_LIMITS = ImportLimits()
"""The limits of a deployment whose ``ccch.toml`` has no ``[limits]`` table."""

_LABELS = {
    "max_file_bytes": "dung lượng tệp",
    "max_uncompressed_bytes": "dung lượng sau khi giải nén",
    "max_compression_ratio": "tỷ lệ nén",
    "max_rows": "số dòng dữ liệu",
    "max_columns": "số cột",
    "max_cell_chars": "độ dài một ô",
    "max_toml_depth": "số tầng lồng nhau",
}


class LimitError(ValueError):
    """A file refused because it exceeds one of the :class:`ImportLimits`.

    ``str()`` is ``"<file>: <message>"``, the message in Vietnamese: what was found, the limit,
    where (line, column) when it is about one place, and what to do. ``key`` is the setting of
    ``[limits]`` that sets the limit (for the CLI and the logs), ``limit`` its value, ``line`` the
    line or row (1 = the first line) or None, ``detail`` the message without the line in front
    (for callers that show the line their own way)."""

    def __init__(self, file: str, message: str, *, key: str | None, limit: int | None = None,
                 line: int | None = None, detail: str | None = None):
        self.file = file
        self.message = message
        self.detail = detail or message
        self.key = key
        self.limit = limit
        self.line = line
        super().__init__(f"{file}: {message}")

    @property
    def setting(self) -> str:
        """Where an administrator changes the limit: ``[limits] max_rows in ccch.toml``."""
        return f"[limits] {self.key} in ccch.toml" if self.key else ""


def parse_limits(table: Any, where: str = "config") -> tuple[ImportLimits, list[str]]:
    """The limits of a ``[limits]`` table, and its problems (unknown keys, values that are not
    whole numbers in the key's range), each naming ``where``, the key and the value."""
    problems: list[str] = []
    if not isinstance(table, Mapping):
        return DEFAULT_LIMITS, [f"{where}: [limits] must be a table"]
    values: dict[str, int] = {}
    for key, value in table.items():
        if key not in LIMIT_KEYS:
            import difflib

            close = difflib.get_close_matches(str(key), LIMIT_KEYS, n=1, cutoff=0.6)
            problems.append(f"{where}: limits.{key}: unknown key" + (f' (did you mean "{close[0]}"?)' if close else ""))
            continue
        low, high = _RANGES[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"{where}: limits.{key}: must be a whole number {low}–{high}, not {value!r}")
            continue
        values[key] = value
    return ImportLimits(**values), problems


def limits_of(deployment: Any) -> ImportLimits:
    """The import limits of a deployment (its ``[limits]``), or the defaults for None."""
    config = getattr(deployment, "config", None)
    return getattr(config, "limits", None) or DEFAULT_LIMITS


# -- numbers as the messages write them -----------------------------------------------------------


def _number(value: int) -> str:
    """20.000: thousands grouped with dots, as Vietnamese writes them."""
    return f"{value:,}".replace(",", ".")


def _size(size: int) -> str:
    """A size in bytes as "5 MB", "1,6 KB" (decimal units, comma for the decimal point)."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            text = f"{size / scale:.1f}".removesuffix(".0").replace(".", ",")
            return f"{text} {unit}"
    return f"{size} byte"


def _column_letter(index: int) -> str:
    """The spreadsheet letter of a column (1 → A, 27 → AA)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# -- size -------------------------------------------------------------------------------------------


def check_size(size: int, file: str, limits: ImportLimits = DEFAULT_LIMITS) -> None:
    """Raise :class:`LimitError` if a file of ``size`` bytes is over ``max_file_bytes``."""
    if size > limits.max_file_bytes:
        raise LimitError(file, f"tệp nặng {_size(size)}, quá giới hạn {_size(limits.max_file_bytes)} cho một lần "
                               "nhập. Hãy chia thành nhiều tệp nhỏ hơn.", key="max_file_bytes",
                         limit=limits.max_file_bytes)


def read_limited(source: str | Path | IO[bytes], file: str | None = None,
                 limits: ImportLimits = DEFAULT_LIMITS) -> bytes:
    """The bytes of a file (a path or an open binary stream, e.g. an upload), refused with a
    :class:`LimitError` past ``max_file_bytes``. Never reads more than the limit and one byte,
    whatever the file claims to be (a pipe, a device, a growing file)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = file or path.name
        with path.open("rb") as stream:
            data = stream.read(limits.max_file_bytes + 1)
    else:
        name = file or "tệp"
        data = source.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        raise LimitError(name, f"tệp nặng hơn {_size(limits.max_file_bytes)}, giới hạn cho một lần nhập. Hãy chia "
                               "thành nhiều tệp nhỏ hơn.", key="max_file_bytes", limit=limits.max_file_bytes)
    return data


# -- zip (XLSX) -------------------------------------------------------------------------------------


ZIP_KINDS = {"xlsx": ("một bảng tính bình thường", "Excel"), "docx": ("một văn bản Word bình thường", "Word")}
"""What a zip checked by :func:`check_zip` should be, as its messages name it: (what, the program
that saves it again)."""


def check_zip(source: str | Path | IO[bytes], file: str, limits: ImportLimits = DEFAULT_LIMITS, *,
              kind: str = "xlsx") -> None:
    """Check an XLSX (a zip) from its directory alone, before anything is inflated: its size, the
    sum of its members' uncompressed sizes (``max_uncompressed_bytes``) and the compression ratio
    of every member over 100 KB (``max_compression_ratio``). A file that is not a zip passes (the
    reader then says it is not an XLSX). ``kind="docx"`` words the messages for a Word document
    (an uploaded DOCX is a zip too, and a zip bomb the same way)."""
    what, program = ZIP_KINDS[kind]
    if isinstance(source, (str, Path)):
        check_size(Path(source).stat().st_size, file, limits)
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > RATIO_GRACE_BYTES:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise LimitError(file, f"phần “{member.filename[:80]}” của tệp nén tới {_number(int(ratio))} lần, quá "
                                       f"giới hạn tỷ lệ nén {_number(limits.max_compression_ratio)} lần: đây không "
                                       f"phải {what}. Hãy mở tệp bằng {program} và lưu lại.",
                                 key="max_compression_ratio", limit=limits.max_compression_ratio)
    if total > limits.max_uncompressed_bytes:
        raise LimitError(file, f"tệp giải nén ra {_size(total)}, quá giới hạn {_size(limits.max_uncompressed_bytes)} "
                               "cho một lần nhập. " + ("Hãy xóa các trang tính, hình ảnh không cần thiết hoặc chia thành "
                               "nhiều tệp nhỏ hơn." if kind == "xlsx" else "Hãy nén hoặc bớt hình ảnh rồi lưu lại."),
                         key="max_uncompressed_bytes", limit=limits.max_uncompressed_bytes)


def open_xlsx(path: str | Path, file: str | None = None, limits: ImportLimits = DEFAULT_LIMITS):
    """An openpyxl workbook (read-only, values rather than formulas) of an XLSX that passed
    :func:`check_zip`. openpyxl's own errors for a file that is not a workbook propagate (many
    kinds); :class:`LimitError` for a file over a limit. Close it after use."""
    import openpyxl

    path = Path(path)
    check_zip(path, file or path.name, limits)
    return openpyxl.load_workbook(path, read_only=True, data_only=True)


def _too_many_rows(file: str, limits: ImportLimits, line: int, blank: bool) -> LimitError:
    where = f"trang tính còn dòng sau dòng {_number(line)}" if blank else f"còn dữ liệu ở dòng {_number(line)}"
    return LimitError(file, f"có hơn {_number(limits.max_rows)} dòng dữ liệu ({where}), quá giới hạn "
                            f"{_number(limits.max_rows)} dòng cho một lần nhập. Hãy xóa các dòng thừa ở cuối hoặc chia "
                            "thành nhiều tệp.", key="max_rows", limit=limits.max_rows, line=line)


def _too_many_columns(file: str, limits: ImportLimits, line: int, column: int, what: str = "dữ liệu") -> LimitError:
    return LimitError(file, f"dòng {_number(line)} có {what} ở cột {_column_letter(column)} (cột thứ "
                            f"{_number(column)}), quá giới hạn {_number(limits.max_columns)} cột. Hãy xóa các cột "
                            f"thừa (từ cột {_column_letter(limits.max_columns + 1)} trở đi).", key="max_columns",
                      limit=limits.max_columns, line=line)


def _cell_too_long(file: str, limits: ImportLimits, line: int, column: str | None, length: int) -> LimitError:
    where = f"dòng {_number(line)}, cột {column}: ô dài {_number(length)} ký tự" if column else \
        f"dòng {_number(line)}: một ô dài hơn {_number(length)} ký tự"
    return LimitError(file, f"{where}, quá giới hạn {_number(limits.max_cell_chars)} ký tự.", key="max_cell_chars",
                      limit=limits.max_cell_chars, line=line)


def xlsx_rows(sheet, file: str, limits: ImportLimits = DEFAULT_LIMITS,
              column_names: Mapping[int, str] | None = None) -> Iterator[tuple[int, tuple]]:
    """The rows of a read-only openpyxl sheet as ``(row number, cells)``, row 1 first, each row
    as wide as its own last cell (never as the sheet's ``<dimension>`` claims).

    Raises :class:`LimitError` at the first row past ``max_rows`` data rows (after the header)
    that holds a value, or after :data:`TRAILING_BLANK_ROWS` blank rows past it; at the first
    cell past ``max_columns`` (a value, or an empty cell that carries formatting: the sheet
    reaches that far, and looking further along every such row would cost as much as reading
    it); at the first text cell longer than ``max_cell_chars``
    (``column_names`` maps a column's index, from 0, to the name the message gives it; default:
    its letter)."""
    from openpyxl.cell.read_only import EMPTY_CELL

    sheet.reset_dimensions()  # the declared <dimension> is whatever the file's author wrote
    last = limits.max_rows + 1  # the header and the data rows
    bound = last + TRAILING_BLANK_ROWS
    for line, row in enumerate(sheet.iter_rows(min_row=1, max_row=bound, min_col=1), start=1):
        if line > last:
            if any(cell is not EMPTY_CELL and cell.value is not None and cell.value != "" for cell in row):
                raise _too_many_rows(file, limits, line, blank=False)
            if line >= bound:
                raise _too_many_rows(file, limits, line, blank=True)
            continue
        if len(row) > limits.max_columns:
            # A row is as wide as its last cell element: past the limit there may only be the
            # filler openpyxl puts between cells. tuple.count compares by identity first, so it
            # runs at C speed on a row 16,384 wide; a real cell (even an empty one that only
            # carries formatting) makes a ReadOnlyCell compare itself attribute by attribute with
            # the filler, which raises — and the sheet is refused at that row.
            tail = row[limits.max_columns:]
            try:
                only_filler = tail.count(EMPTY_CELL) == len(tail)
            except AttributeError:
                only_filler = False
            if not only_filler:
                offset = next(i for i, cell in enumerate(tail) if cell is not EMPTY_CELL)
                filled = tail[offset].value is not None and tail[offset].value != ""
                raise _too_many_columns(file, limits, line, limits.max_columns + offset + 1,
                                        "dữ liệu" if filled else "một ô (trống nhưng có định dạng)")
            row = row[:limits.max_columns]
        for index, cell in enumerate(row):
            value = cell.value
            if isinstance(value, str) and len(value) > limits.max_cell_chars:
                name = (column_names or {}).get(index) or _column_letter(index + 1)
                raise _cell_too_long(file, limits, line, name, len(value))
        yield line, row


def csv_records(text: str, file: str, limits: ImportLimits = DEFAULT_LIMITS) -> list[list[str]]:
    """The records of a CSV text (the header first), each as the list of its fields, checked
    against ``max_rows`` (records after the header, blank ones included), ``max_columns`` (a
    field past it that is not blank) and ``max_cell_chars``. The n-th record is row n, as a
    spreadsheet shows it. Raises :class:`LimitError`, or ``csv.Error`` for text that is not CSV."""
    # A file within every limit (nearly always) is read in one C call and measured with three
    # (rows, widest record, longest field): a Python loop over 43,186 records cost 3 µs each.
    # Anything else is read again record by record below, which finds the first problem in the
    # order a reader meets it and says where.
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        pass
    else:
        if (len(records) <= limits.max_rows + 1
                and max(map(len, records), default=0) <= limits.max_columns
                and max(map(len, itertools.chain.from_iterable(records)), default=0) <= limits.max_cell_chars):
            return records
    records = []
    reader = csv.reader(io.StringIO(text))
    header_names: list[str] = []
    while True:
        line = len(records) + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):  # csv's own bound, 131,072 characters
                raise _cell_too_long(file, limits, line, None, csv.field_size_limit()) from None
            raise LimitError(file, f"dòng {_number(line)}: không đọc được dạng CSV ({exc}).", key=None,
                             line=line) from None
        if line > limits.max_rows + 1:
            raise _too_many_rows(file, limits, line, blank=not any(field.strip() for field in record))
        if len(record) > limits.max_columns:
            for offset, field in enumerate(record[limits.max_columns:]):
                if field.strip():
                    raise _too_many_columns(file, limits, line, limits.max_columns + offset + 1)
            record = record[:limits.max_columns]
        if record and max(map(len, record)) > limits.max_cell_chars:  # one C call a record, then which
            for index, field in enumerate(record):
                if len(field) > limits.max_cell_chars:
                    name = header_names[index] if index < len(header_names) and header_names[index] else \
                        _column_letter(index + 1)
                    raise _cell_too_long(file, limits, line, name, len(field))
        if line == 1:
            header_names = [field.strip() for field in record]
        records.append(record)
    return records


# -- TOML -----------------------------------------------------------------------------------------

_TOML_SPECIAL = re.compile(r"[\[\]{}\"'#]")
_ML_BASIC_BODY = re.compile(r'(?:[^"\\]+|\\.|"(?!""))*', re.DOTALL)  # up to the closing """
_BASIC_BODY = re.compile(r'(?:[^"\\\n]+|\\.)*')                 # up to the closing "


def toml_depth(text: str, stop_after: int | None = None) -> tuple[int, int]:
    """The deepest nesting of ``[ ]`` and ``{ }`` in a TOML text outside strings and comments, and
    the offset where it was reached. A linear scan (``str.find`` and regular expressions that
    cannot backtrack); it stops at an unterminated string (``tomllib`` stops there too) and, given
    ``stop_after``, as soon as the depth exceeds it."""
    depth = deepest = where = 0
    position = 0
    length = len(text)
    search = _TOML_SPECIAL.search
    while position < length:
        match = search(text, position)
        if match is None:
            break
        char = match.group()
        position = match.end()
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, match.start()
                if stop_after is not None and deepest > stop_after:
                    break
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "#":
            end = text.find("\n", position)
            position = length if end < 0 else end + 1
        elif char == "'":
            if text.startswith("''", position):  # '''multi-line literal'''
                end = text.find("'''", position + 2)
                if end < 0:
                    break
                position = end + 3
                while position < length and text[position] == "'" and position - end < 5:
                    position += 1  # up to two quotes of the content may touch the closing ones
            else:
                end = text.find("'", position)
                newline = text.find("\n", position)
                if end < 0 or 0 <= newline < end:
                    break
                position = end + 1
        else:  # '"'
            if text.startswith('""', position):  # """multi-line basic"""
                body = _ML_BASIC_BODY.match(text, position + 2)
                position = body.end()
                if not text.startswith('"""', position):
                    break
                end = position
                position += 3
                while position < length and text[position] == '"' and position - end < 5:
                    position += 1
            else:
                body = _BASIC_BODY.match(text, position)
                position = body.end()
                if not text.startswith('"', position):
                    break
                position += 1
    return deepest, where


def check_toml(text: str, file: str, limits: ImportLimits = DEFAULT_LIMITS) -> None:
    """Raise :class:`LimitError` for a TOML text over ``max_file_bytes`` or nested deeper than
    ``max_toml_depth``; call it before ``tomllib.loads`` (which recurses once per level)."""
    if len(text) * 4 > limits.max_file_bytes:  # a character is at most 4 bytes of UTF-8
        check_size(len(text.encode("utf-8", "surrogatepass")), file, limits)
    depth, where = toml_depth(text, stop_after=limits.max_toml_depth)
    if depth > limits.max_toml_depth:
        line = text.count("\n", 0, where) + 1
        detail = (f"nội dung lồng nhau quá {_number(limits.max_toml_depth)} tầng ([ ] hoặc {{ }} trong nhau), giới "
                  "hạn cho một tệp TOML.")
        raise LimitError(file, f"dòng {_number(line)}: {detail}", key="max_toml_depth", limit=limits.max_toml_depth,
                         line=line, detail=detail)


def loads_toml(text: str, file: str, limits: ImportLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """``tomllib.loads`` after :func:`check_toml`. ``tomllib.TOMLDecodeError`` propagates (each
    caller words syntax errors its own way); a RecursionError, should the scan ever miss a
    nesting, becomes the same :class:`LimitError`."""
    import tomllib

    check_toml(text, file, limits)
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise LimitError(file, f"nội dung lồng nhau quá {_number(limits.max_toml_depth)} tầng ([ ] hoặc {{ }} trong "
                               "nhau), giới hạn cho một tệp TOML.", key="max_toml_depth",
                         limit=limits.max_toml_depth) from None
