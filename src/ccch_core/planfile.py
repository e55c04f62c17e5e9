"""Plan files: a CCHC plan as TOML, read with the standard library's ``tomllib``.

:func:`load_plan` validates the whole file and reports every problem at once. Each problem names
the file, the line where it can be found, the entry (``tasks[3].lead``) and what is wrong, so that
an officer fixing a plan file does not have to run the loader once per mistake. Unknown keys are
errors: a typo such as ``leed = [...]`` must not pass silently. The format is documented field by
field in ``docs/plan-format.md``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from . import model
from .limits import DEFAULT_LIMITS, ImportLimits, LimitError, loads_toml, read_limited
from .periods import Period, PeriodType
from .text import clean, nfc, slugify

FORMAT_VERSION = 2
"""The plan file format this code writes and documents (the top-level ``format`` key).

Format 2 adds where every fact comes from: ``source`` on any entry is the place in the paper plan,
and an indicator's way of being measured moved from ``source`` to ``measure``. Format 1 files
still load: there, an indicator's ``source`` is its measure, as it always was."""

READABLE_FORMATS = (1, 2)
"""Every plan file format this code reads."""


@attrs.frozen
class Problem:
    """One thing wrong with a plan file."""

    file: str
    where: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        return f"{place}: {self.where}: {self.message}" if self.where else f"{place}: {self.message}"


class PlanFileError(ValueError):
    """A plan file that cannot be loaded; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        count = len(problems)
        header = f"{count} problem{'s' if count != 1 else ''} in plan file"
        super().__init__(header + ":\n" + "\n".join(f"  {p}" for p in problems))


def _suggest(value: str, choices) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _reference_names(doc: dict) -> dict[str, list[str]]:
    """Every unit's and group's id with the names it is known by, from the file as written."""
    names: dict[str, list[str]] = {}
    for section in ("units", "unit_groups"):
        entries = doc.get(section)
        for item in entries if isinstance(entries, list) else ():
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            found = [item.get("name"), item.get("short_name")]
            aliases = item.get("aliases")
            found.extend(aliases if isinstance(aliases, list) else [aliases])
            former = item.get("former_names")
            found.extend(f.get("name") for f in former if isinstance(f, dict)) if isinstance(former, list) else None
            names[clean(item["id"])] = [clean(n) for n in found if isinstance(n, str) and clean(n)]
    return names


def _suggest_reference(value: str, names: dict[str, list[str]]) -> str:
    """A suggestion for an unknown unit or group reference, matched against ids *and* names.

    An id is often typed from the unit's name ("phong-vhtt-huyen" for Phòng VH-TT huyện) or the
    name itself is written where the id belongs. Each candidate scores the best likeness of the
    value to its id or any of its names (as slugs), averaged with the share of the value's words
    that the candidate's id and names contain, so that a shared generic word ("huyen") weighs less
    than a shared distinctive one ("vhtt").
    """
    wanted = slugify(value)
    if not wanted:
        return ""
    words = wanted.split("-")
    candidates = []
    for ref, ref_names in names.items():
        keys = [k for k in [slugify(ref)] + [slugify(n) for n in ref_names] if k]
        candidates.append((ref, keys, {w for k in keys for w in k.split("-")}))
    # A word that many units share ("huyen", "ubnd") says less about which unit is meant.
    weight = {
        w: math.log((1 + len(candidates)) / (1 + sum(1 for c in candidates if w in c[2]))) + 1 for w in set(words)
    }
    best, best_score = None, 0.0
    for ref, keys, vocabulary in candidates:
        likeness = max((difflib.SequenceMatcher(None, wanted, k).ratio() for k in keys), default=0.0)
        covered = sum(weight[w] for w in words if difflib.get_close_matches(w, vocabulary, n=1, cutoff=0.8))
        covered /= sum(weight[w] for w in words)
        score = 1.0 if likeness == 1.0 else (likeness + covered) / 2
        if score > best_score:
            best, best_score = ref, score
    if best is None or best_score < 0.6:
        return ""
    name = names[best][0] if names[best] else ""
    return f' (did you mean "{best}", {name}?)' if name else f' (did you mean "{best}"?)'


class _Locator:
    """Finds the line of an entry or key in the TOML source, for messages.

    tomllib does not keep positions, so this scans the text: the n-th ``[[section]]`` header, then
    the first ``key =`` line after it. Good enough to point an officer at the right place.
    """

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def _headers(self, section: str) -> list[int]:
        pattern = re.compile(r"^\s*\[\[\s*" + re.escape(section) + r"\s*\]\]")
        return [i for i, line in enumerate(self.lines) if pattern.match(line)]

    def line(self, section: str | None, index: int | None = None, key: str | None = None) -> int | None:
        start, end = 0, len(self.lines)
        if section is not None:
            if index is None:
                pattern = re.compile(r"^\s*\[\[?\s*" + re.escape(section) + r"\s*\]\]?")
                hits = [i for i, line in enumerate(self.lines) if pattern.match(line)]
            else:
                hits = self._headers(section)
                hits = hits[index : index + 1]
            if not hits:
                return None
            start = hits[0]
            end = next(
                (i for i in range(start + 1, len(self.lines)) if self.lines[i].lstrip().startswith("[")),
                len(self.lines),
            )
        if key is None:
            return start + 1 if section is not None else None
        key_pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for i in range(start, end):
            if key_pattern.match(self.lines[i]):
                return i + 1
        # A key inside an inline table: `former_names = [{ name = "…", until = 2024-02-31 }]`.
        inline_pattern = re.compile(r"[{,]\s*" + re.escape(key) + r"\s*=")
        for i in range(start, end):
            if inline_pattern.search(self.lines[i]):
                return i + 1
        return start + 1 if section is not None else None


_MISSING = object()


class _Entry:
    """Reads the fields of one TOML table, recording problems instead of raising."""

    def __init__(self, loader: _Loader, data: Any, where: str, section: str | None, index: int | None):
        self.loader = loader
        self.where = where
        self.section = section
        self.index = index
        self.known: set[str] = set()
        self.has_problems = False
        if not isinstance(data, dict):
            self.problem("", f"must be a table, not {type(data).__name__}")
            data = {}
        self.data = data

    def problem(self, key: str, message: str) -> None:
        self.has_problems = True
        where = f"{self.where}.{key}" if key else self.where
        self.loader.problem(where, message, self.loader.locator.line(self.section, self.index, key or None))

    def _get(self, key: str, required: bool):
        self.known.add(key)
        value = self.data.get(key, _MISSING)
        if value is _MISSING and required:
            self.problem(key, "missing required field")
        return value

    def text(self, key: str, required: bool = False, default=None) -> str | None:
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            self.problem(key, f"must be text, not {type(value).__name__} {value!r}")
            return default
        value = clean(value)
        if required and not value:
            self.problem(key, "must not be empty")
        return value

    def texts(self, key: str, required: bool = False) -> list[str]:
        value = self._get(key, required)
        if value is _MISSING:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(key, f"must be a list of text, not {value!r}")
            return []
        return [clean(v) for v in value]

    def integer(self, key: str, required: bool = False, minimum: int | None = None, maximum: int | None = None):
        value = self._get(key, required)
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, f"must be a whole number, not {value!r}")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.problem(key, f"{value} is out of range ({minimum}–{maximum})")
            return None
        return value

    def number(self, key: str, required: bool = False):
        value = self._get(key, required)
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(key, f"must be a number, not {value!r}")
            return None
        return float(value)

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false, not {value!r}")
            return default
        return value

    def date(self, key: str, required: bool = False) -> dt.date | None:
        value = self._get(key, required)
        if value is _MISSING:
            return None
        if value == "":
            if required:
                self.problem(key, "must not be empty: write a date as YYYY-MM-DD")
            return None
        if isinstance(value, dt.datetime):
            self.problem(key, f"must be a date (YYYY-MM-DD) without a time, not {value!r}")
            return None
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
            if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value.strip()):
                # Written the right way but not a day of the calendar: say so, not "write it as".
                self.problem(key, _impossible_date_message(value.strip()))
                return None
        self.problem(key, f"bad date {value!r}: write it as YYYY-MM-DD, e.g. 2024-01-20")
        return None

    def start(self, key: str) -> tuple[dt.date | None, Period | None]:
        """A start written as a date (2024-03-01) or, where the plan gives only a period
        ("Từ Quý I/2024"), as a period: "2024-Q1", "2024-03", "2024-H1" or "2024"."""
        value = self.data.get(key, _MISSING)
        if isinstance(value, str) and not re.fullmatch(r"\s*\d{4}-\d{1,2}-\d{1,2}\s*", value):
            self.known.add(key)
            try:
                return None, Period.parse(value.strip())
            except ValueError:
                self.problem(key, f"{value!r} is neither a date (YYYY-MM-DD) nor a period "
                                  "(2024-Q1, 2024-H1, 2024-03 or 2024)")
                return None, None
        return self.date(key), None

    def choice(self, key: str, choices: dict[str, Any] | list[str], required: bool = False, default=None):
        value = self._get(key, required)
        if value is _MISSING:
            return default
        options = list(choices)
        if not isinstance(value, str) or nfc(value.strip()) not in options:
            self.problem(key, f"{value!r} is not one of: {', '.join(options)}{_suggest(str(value), options)}")
            return default
        value = nfc(value.strip())
        return choices[value] if isinstance(choices, dict) else value

    def period_type(self, key: str, required: bool = False, default=None):
        value = self._get(key, required)
        if value is _MISSING:
            return default
        try:
            return PeriodType.parse(value) if isinstance(value, str) else PeriodType(value)
        except ValueError:
            self.problem(key, f"{value!r} is not a period type (month, quarter, half, year — or tháng, quý, 6 tháng, năm)")
            return default

    def refs(self, key: str, required: bool = False, kind: str = "unit or group") -> list[str]:
        """Unit or group ids; checked against the plan once every unit is read."""
        values = self.texts(key, required)
        for value in values:
            self.loader.pending_refs.append((self, key, value, kind))
        return values

    def ref(self, key: str, required: bool = False, kind: str = "unit") -> str | None:
        value = self.text(key, required)
        if value:
            self.loader.pending_refs.append((self, key, value, kind))
        return value or None

    def tables(self, key: str) -> list[tuple[int, Any]]:
        value = self._get(key, False)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.problem(key, "must be a list of tables")
            return []
        return list(enumerate(value))

    def subtable(self, key: str, required: bool = False):
        value = self._get(key, required)
        return None if value is _MISSING else value

    def provenance(self, source_key: bool = True) -> model.Provenance:
        """Read ``source`` (where the plan states the entry, or a table of field → where) and
        ``assumed`` (why the whole entry is assumed, or a table of field → why). Call it after every
        other field is read: the fields named must be fields of this entry, and an assumed field
        must be given."""
        fields = {k for k in self.known if k not in ("source", "assumed")}
        source, field_sources = None, {}
        if source_key:
            value = self._get("source", False)
            if isinstance(value, dict):
                field_sources = self._field_table("source", value, fields, "where the plan states it")
            elif value is not _MISSING:
                source = self.text("source")
        assumed: dict[str, str] = {}
        value = self._get("assumed", False)
        if isinstance(value, dict):
            assumed = self._field_table("assumed", value, fields, "why it is assumed")
            for field in assumed:
                if field not in self.data:
                    self.problem(f"assumed.{field}", f"{field} is marked assumed but is not given in this entry")
                if field in field_sources:
                    self.problem(f"assumed.{field}", f"{field} cannot both have a source and be assumed")
        elif value is not _MISSING:
            if not isinstance(value, str) or not clean(value):
                self.problem("assumed", 'write why the entry is assumed (assumed = "…"), or a table of field = "why"')
            else:
                assumed = {"*": clean(value)}
                if source:
                    self.problem("assumed", "an entry assumed as a whole cannot also have a source")
        if source is None and not field_sources and not assumed:
            # One shared value for the many entries that say nothing (36,000 units at national
            # size: fewer objects to build, keep and unpickle from the plan cache).
            return model.NO_PROVENANCE
        return model.Provenance(source=source, field_sources=field_sources, assumed=assumed)

    def _field_table(self, key: str, value: dict, fields: set[str], what: str) -> dict[str, str]:
        result = {}
        for field, text in value.items():
            if field not in fields:
                self.problem(f"{key}.{field}", f"not a field of this entry{_suggest(field, fields)}")
            elif not isinstance(text, str) or not clean(text):
                self.problem(f"{key}.{field}", f"write {what} as text")
            else:
                result[field] = clean(text)
        return result

    def done(self) -> None:
        for key in self.data:
            if key not in self.known:
                self.problem(key, f"unknown key{_suggest(key, self.known)}")


class _Loader:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.file = str(path)
        self.locator = _Locator(text)
        self.problems: list[Problem] = []
        self.pending_refs: list[tuple[_Entry, str, str, str]] = []
        # Every id an entry declares, even when the entry itself is rejected, so that a
        # reference to it is not reported as unknown on top of the entry's own problem.
        self.declared: dict[str, set[str]] = {}
        self.unit_positions: dict[str, int] = {}
        self.format = FORMAT_VERSION

    def declare(self, kind: str, value: str | None) -> None:
        if value:
            self.declared.setdefault(kind, set()).add(value)

    def problem(self, where: str, message: str, line: int | None = None) -> None:
        self.problems.append(Problem(self.file, where, message, line))

    def build(self, entry: _Entry, factory: Callable[..., Any], **kwargs):
        """Construct a model object; a validator's complaint becomes a problem at the entry.

        An entry that already has a problem is not built: the model would only repeat it.
        """
        if entry.has_problems:
            return None
        try:
            return factory(**kwargs)
        except (ValueError, TypeError) as exc:
            entry.problem("", str(exc))
            return None

    def entries(self, doc: dict, section: str) -> list[_Entry]:
        value = doc.get(section, [])
        if not isinstance(value, list):
            self.problem(section, f"must be written as [[{section}]] tables")
            return []
        return [_Entry(self, item, f"{section}[{i}]", section, i) for i, item in enumerate(value)]


TOP_LEVEL = (
    "format",
    "plan",
    "unit_kinds",
    "units",
    "unit_groups",
    "indicators",
    "tasks",
    "legal_documents",
    "topics",
    "channels",
    "deadlines",
    "reporting_rules",
)


def load_plan(path: str | Path, *, limits: ImportLimits = DEFAULT_LIMITS) -> model.Plan:
    """Load and validate a plan file.

    Raises :class:`PlanFileError` listing every problem (file, line, entry, what is wrong), or
    ``FileNotFoundError`` if there is no such file. A file over ``limits`` (its size, its nesting
    depth) is one problem, found before the TOML is parsed.
    """
    path = Path(path)
    try:
        raw = read_limited(path, str(path), limits)
    except LimitError as exc:
        raise PlanFileError([_limit_problem(exc)]) from None
    return load_plan_bytes(raw, path, limits=limits)


def load_plan_bytes(raw: bytes, path: str | Path, *, limits: ImportLimits = DEFAULT_LIMITS) -> model.Plan:
    """Load and validate a plan from the bytes of its file, as :func:`load_plan` does once it has
    read them (``path`` names the file in messages and becomes the plan's ``source_path``). The
    plan cache (:mod:`ccch_core.plancache`) uses it so that the bytes it hashes are the bytes it
    parses."""
    path = Path(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanFileError(
            [Problem(str(path), "", f"not UTF-8 text (byte {exc.start}): save the file as UTF-8",
                     raw[: exc.start].count(b"\n") + 1)]
        ) from None
    return loads_plan(text, path, limits=limits)


def _limit_problem(exc: LimitError) -> Problem:
    return Problem(exc.file, "", f"{exc.detail} ({exc.setting})", exc.line)


def loads_plan(text: str, path: str | Path = "<plan>", *, limits: ImportLimits = DEFAULT_LIMITS) -> model.Plan:
    """Load and validate a plan from TOML text; ``path`` is only used in messages. Text over
    ``limits`` is refused before it is parsed."""
    path = Path(path)
    try:
        doc = loads_toml(text, str(path), limits)
    except LimitError as exc:
        raise PlanFileError([_limit_problem(exc)]) from None
    except tomllib.TOMLDecodeError as exc:
        doc, repairs = _parse_quoting_impossible_dates(text, str(path), limits, exc)
    else:
        repairs = []
    loader = _Loader(path, text)
    plan = _read(loader, doc)
    # An impossible bare date (``due = 2024-02-30``) is a TOML syntax error; it was read as text
    # so that the rest of the file could be checked. Each one is a problem, reported once: the
    # entry that read it as a date has usually said so already; one read as text has not.
    reported = Counter(p.message for p in loader.problems)
    for line, token in repairs:
        message = _impossible_date_message(token)
        if reported[message]:
            reported[message] -= 1
        else:
            loader.problem("", message, line)
    if loader.problems or plan is None:
        problems = sorted(loader.problems, key=lambda p: (p.line or 0))
        raise PlanFileError(problems or [Problem(str(path), "", "the plan could not be read")])
    return attrs.evolve(plan, source_path=str(path))


_BARE_DATE = re.compile(r"(?<![\w\"'.:-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w:.-])")
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_MAX_DATE_REPAIRS = 1000


def _parse_quoting_impossible_dates(text: str, file: str, limits: ImportLimits, error: tomllib.TOMLDecodeError):
    """Parse ``text`` whose first parse failed with ``error``.

    tomllib refuses a date that is not in the calendar (``2024-02-30``, ``2024-13-01``) as a
    syntax error, which would hide every other problem of the file. Such a date on the line of
    the error is quoted and the text parsed again (up to a bound), so the date is read as text and
    reported by the entry that reads it. Any other syntax error ends the check: it is reported
    with its line and what the line says, and that the rest was not checked. Returns the parsed
    document and the repairs made, as ``(line, date as written)``.
    """
    lines = text.split("\n")
    repairs: list[tuple[int, str]] = []
    while True:
        match = _TOML_POSITION.search(str(error))
        line_no = int(match.group(1)) if match else None
        repaired = False
        if line_no is not None and 1 <= line_no <= len(lines) and len(repairs) < _MAX_DATE_REPAIRS:
            line = lines[line_no - 1]
            for found in reversed(list(_BARE_DATE.finditer(line))):
                if line[: found.start()].count('"') % 2 or _is_calendar_date(found.group(0)):
                    continue  # inside a string, or a real date: not what tomllib refused
                line = f'{line[: found.start()]}"{found.group(0)}"{line[found.end():]}'
                repairs.append((line_no, found.group(0)))
                repaired = True
            lines[line_no - 1] = line
        if not repaired:
            raise PlanFileError([_syntax_problem(file, text, error, line_no)]) from None
        try:
            return loads_toml("\n".join(lines), file, limits), repairs
        except tomllib.TOMLDecodeError as exc:
            error = exc


def _syntax_problem(file: str, text: str, error: tomllib.TOMLDecodeError, line_no: int | None) -> Problem:
    reason = _TOML_POSITION.sub("", str(error)).strip()
    match = _TOML_POSITION.search(str(error))
    where = f" at column {match.group(2)}" if match else ""
    lines = text.split("\n")
    context = ""
    if line_no is not None and 1 <= line_no <= len(lines):
        shown = lines[line_no - 1].strip()
        if len(shown) > 80:
            shown = shown[:77] + "..."
        context = f"; the line reads: {shown}" if shown else "; the line is empty"
    return Problem(
        file,
        "",
        f"not valid TOML: {reason}{where}{context}. The rest of the file was not checked: "
        "fix this line (an unclosed quote or bracket, a missing = or comma) and check again",
        line_no,
    )


def _is_calendar_date(token: str) -> bool:
    try:
        dt.date.fromisoformat(token)
    except ValueError:
        return False
    return True


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def _impossible_date_message(token: str) -> str:
    """Why ``token``, written like YYYY-MM-DD, is not a day of the calendar."""
    year, month, day = (int(part) for part in token.split("-"))
    if not 1 <= month <= 12:
        return f"impossible date {token}: there is no month {month} (months are 01–12)"
    if day < 1:
        return f"impossible date {token}: there is no day {day}"
    first_of_next = dt.date(year + (month == 12), month % 12 + 1, 1)
    days = (first_of_next - dt.timedelta(days=1)).day
    if day > days:
        return f"impossible date {token}: {_MONTHS[month - 1]} {year} has {days} days"
    return f"bad date {token!r}: write it as YYYY-MM-DD with a two-digit month and day, e.g. 2024-01-20"


def _read(loader: _Loader, doc: dict) -> model.Plan | None:
    for key in doc:
        if key not in TOP_LEVEL:
            loader.problem(key, f"unknown top-level key{_suggest(key, TOP_LEVEL)}", loader.locator.line(None, None, key) or loader.locator.line(key))
    version = doc.get("format")
    if version is None:
        loader.problem("format", f"missing required field: put format = {FORMAT_VERSION} at the top")
    elif isinstance(version, bool) or not isinstance(version, int) or version not in READABLE_FORMATS:
        readable = " or ".join(str(v) for v in READABLE_FORMATS)
        loader.problem("format", f"this version of ccch reads plan format {readable}, not {version!r}", loader.locator.line(None, None, "format"))
    else:
        loader.format = version

    _declare_ids(loader, doc)
    unit_kinds = dict(model.UNIT_KINDS)
    for entry in loader.entries(doc, "unit_kinds"):
        kind_id = entry.text("id", required=True)
        label = entry.text("label", required=True)
        entry.done()
        if kind_id:
            if kind_id in unit_kinds:
                entry.problem("id", f'unit kind "{kind_id}" is already defined')
            unit_kinds[kind_id] = label or kind_id

    units = _read_units(loader, doc, unit_kinds)
    groups = _read_groups(loader, doc, unit_kinds)
    unit_ids = {u.id for u in units}
    group_ids = {g.id for g in groups}
    for gid in group_ids & unit_ids:
        loader.problem("unit_groups", f'id "{gid}" is used by both a unit and a unit group')

    header = _read_header(loader, doc)
    indicators = _read_indicators(loader, doc)
    tasks = _read_tasks(loader, doc)
    documents = _read_documents(loader, doc)
    topics = _read_topics(loader, doc)
    channels = _read_channels(loader, doc)
    deadlines = _read_deadlines(loader, doc)
    rules = _read_rules(loader, doc)


    # Cross references, now that every unit, group and document is known.
    declared = loader.declared
    known = {
        "unit": declared.get("unit", set()),
        "unit or group": declared.get("unit", set()) | declared.get("group", set()),
        "indicator": declared.get("indicator", set()),
        "task": declared.get("task", set()),
        "legal document": declared.get("legal document", set()),
    }
    names = _reference_names(doc)
    for entry, key, value, kind in loader.pending_refs:
        if value not in known[kind]:
            if kind in ("unit", "unit or group"):
                hint = _suggest_reference(value, {k: v for k, v in names.items() if k in known[kind]})
            else:
                hint = _suggest(value, known[kind])
            entry.problem(key, f'unknown {kind} "{value}"{hint}')

    _check_tree(loader, units, loader.unit_positions)

    if loader.problems or header is None:
        return None
    return model.Plan(
        **header,
        unit_kinds=unit_kinds,
        units=units,
        unit_groups=groups,
        indicators=indicators,
        tasks=tasks,
        legal_documents=documents,
        topics=topics,
        channels=channels,
        deadlines=deadlines,
        reporting_rules=rules,
    )


CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""Codes of indicators, tasks, documents, topics and channels ("I1", "T12", "L01", "1.3")."""

# section, key, kind declared for references, whether the code pattern is checked here (the
# model validates unit, group, deadline and rule ids itself)
_IDENTIFIED = (
    ("units", "id", "unit", False),
    ("unit_groups", "id", "group", False),
    ("indicators", "code", "indicator", True),
    ("tasks", "id", "task", True),
    ("tasks", "number", None, False),
    ("legal_documents", "id", "legal document", True),
    ("topics", "id", "topic", True),
    ("channels", "id", "channel", True),
    ("deadlines", "id", "deadline", False),
    ("reporting_rules", "id", "rule", False),
)


def _declare_ids(loader: _Loader, doc: dict) -> None:
    """Declare every id for references and report duplicates and malformed codes, with the
    index and line of the entry as written (before any entry is rejected)."""
    for section, key, kind, check_pattern in _IDENTIFIED:
        entries = doc.get(section, [])
        if not isinstance(entries, list):
            continue
        values = [(i, e.get(key)) for i, e in enumerate(entries) if isinstance(e, dict)]
        for index, value in values:
            if isinstance(value, str):
                value = clean(value)
                if kind:
                    loader.declare(kind, value)
                if check_pattern and value and not CODE_PATTERN.match(value):
                    loader.problem(
                        f"{section}[{index}].{key}",
                        f"{value!r} is not a valid code (letters, digits, '.', '_' or '-')",
                        loader.locator.line(section, index, key),
                    )
        # A list or table where an id belongs is reported where the entry is read; it cannot be compared here.
        _check_unique(loader, section, [(i, clean(v) if isinstance(v, str) else v) for i, v in values
                                        if v is not None and not isinstance(v, (list, dict))], key)


def _check_unique(loader: _Loader, section: str, ids: list[tuple[int, object]], key: str) -> None:
    seen: dict[object, int] = {}
    for index, value in ids:
        if value in seen:
            loader.problem(
                f"{section}[{index}].{key}",
                f'duplicate {key} "{value}" (first used by {section}[{seen[value]}])',
                loader.locator.line(section, index, key),
            )
        else:
            seen[value] = index


def _read_header(loader: _Loader, doc: dict) -> dict | None:
    if "plan" not in doc:
        loader.problem("plan", "missing required [plan] table")
        return None
    entry = _Entry(loader, doc["plan"], "plan", "plan", None)
    header = {
        "id": entry.text("id", required=True),
        "title": entry.text("title", required=True),
        "document_type": entry.text("document_type", default="Kế hoạch"),
        "summary": entry.text("summary"),
        "number": entry.text("number"),
        "symbol": entry.text("symbol"),
        "issuing_unit": entry.ref("issuing_unit", required=True),
        "place": entry.text("place"),
        "issued_on": entry.date("issued_on"),
        "year": entry.integer("year", required=True, minimum=1990, maximum=2200),
        "starts_on": entry.date("starts_on", required=True),
        "ends_on": entry.date("ends_on", required=True),
        "purposes": entry.texts("purposes"),
        "requirements": entry.texts("requirements"),
        "funding": entry.text("funding"),
        "recipients": entry.texts("recipients"),
        "report_grace_days": entry.integer("report_grace_days", minimum=0, maximum=90),
        "parent_plan": entry.text("parent_plan") or None,
    }
    signatory = entry.subtable("signatory")
    header["provenance"] = entry.provenance()
    entry.done()
    if signatory is not None:
        sub = _Entry(loader, signatory, "plan.signatory", "plan.signatory", None)
        header["signatory"] = loader.build(
            sub,
            model.Signatory,
            title=sub.text("title", required=True) or "",
            name=sub.text("name", required=True) or "",
            authority=sub.texts("authority"),
        )
        sub.done()
    if header["parent_plan"] and not model.ID_PATTERN.match(header["parent_plan"]):
        entry.problem("parent_plan", f"{header['parent_plan']!r} is not a plan id (lower-case letters, digits, '-', '_', '.')")
    if header["id"] and not model.ID_PATTERN.match(header["id"]):
        entry.problem("id", f"{header['id']!r} is not a valid id (lower-case letters, digits, '-', '_', '.')")
    if header["starts_on"] and header["ends_on"] and header["ends_on"] < header["starts_on"]:
        entry.problem("ends_on", f"{header['ends_on']} is before starts_on {header['starts_on']}")
    elif header["year"] and header["starts_on"] and not (
        header["starts_on"].year <= header["year"] <= (header["ends_on"] or header["starts_on"]).year
    ):
        entry.problem("year", f"{header['year']} is outside starts_on–ends_on ({header['starts_on']} – {header['ends_on']})")
    if None in (header["id"], header["title"], header["year"], header["starts_on"], header["ends_on"], header["issuing_unit"]):
        return None
    return header


def _read_units(loader: _Loader, doc: dict, unit_kinds: dict[str, str]) -> list[model.Unit]:
    units = []
    ids: dict[str, int] = {}
    for index, entry in enumerate(loader.entries(doc, "units")):
        unit_id = entry.text("id", required=True)
        former = []
        for i, item in entry.tables("former_names"):
            sub = _Entry(loader, item, f"{entry.where}.former_names[{i}]", "units", index)
            former_name = loader.build(sub, model.FormerName, name=sub.text("name", required=True) or "", until=sub.date("until", required=True))
            sub.done()
            if former_name:
                former.append(former_name)
        fields = {
            "id": unit_id or "",
            "name": entry.text("name", required=True) or "",
            "kind": entry.choice("kind", list(unit_kinds), required=True) or "",
            "parent": entry.ref("parent"),
            "short_name": entry.text("short_name"),
            "aliases": entry.texts("aliases"),
            "headcount": entry.integer("headcount", minimum=0, maximum=10_000_000),
            "population": entry.integer("population", minimum=0, maximum=200_000_000),
            "responsibilities": entry.texts("responsibilities"),
            "requested": entry.boolean("requested"),
            "external": entry.boolean("external"),
            "established_on": entry.date("established_on"),
            "retired_on": entry.date("retired_on"),
            "merged_into": entry.ref("merged_into"),
            "former_names": former,
        }
        fields["provenance"] = entry.provenance()
        entry.done()
        if unit_id in ids:
            continue  # reported by _declare_ids
        ids[unit_id] = index
        loader.unit_positions[unit_id] = index
        if fields["merged_into"] and fields["merged_into"] == unit_id:
            entry.problem("merged_into", f'unit "{unit_id}" cannot be merged into itself')
        unit = loader.build(entry, model.Unit, **fields) if unit_id else None
        if unit:
            units.append(unit)
    return units


def _read_groups(loader: _Loader, doc: dict, unit_kinds: dict[str, str]) -> list[model.UnitGroup]:
    groups = []
    for entry in loader.entries(doc, "unit_groups"):
        kinds = entry.texts("kinds")
        for kind in kinds:
            if kind not in unit_kinds:
                entry.problem("kinds", f'unknown unit kind "{kind}"{_suggest(kind, unit_kinds)}')
        fields = {
            "id": entry.text("id", required=True) or "",
            "name": entry.text("name", required=True) or "",
            "kinds": kinds,
            "units": entry.refs("units", kind="unit"),
            "within": entry.ref("within"),
            "excludes_lead": entry.boolean("excludes_lead"),
        }
        fields["provenance"] = entry.provenance()
        entry.done()
        if not fields["kinds"] and not fields["units"]:
            entry.problem("", "a unit group needs kinds, units or both")
        group = loader.build(entry, model.UnitGroup, **fields)
        if group:
            groups.append(group)
    return groups


_KINDS = {k.value: k for k in model.IndicatorKind}
_COMPARISONS = {">=": model.Comparison.AT_LEAST, "<=": model.Comparison.AT_MOST, "==": model.Comparison.EQUAL}
_SCOPES = {s.value: s for s in model.CountScope}


def _read_indicators(loader: _Loader, doc: dict) -> list[model.Indicator]:
    indicators = []
    for entry in loader.entries(doc, "indicators"):
        kind = entry.choice("kind", _KINDS, required=True)
        target = entry.number("target")
        fields = {
            "code": entry.text("code", required=True) or "",
            "text": entry.text("text", required=True) or "",
            "kind": kind or model.IndicatorKind.YES_NO,
            "target": target,
            "comparison": entry.choice("comparison", _COMPARISONS, default=model.Comparison.AT_LEAST),
            "applies_to": entry.refs("applies_to"),
            "period_type": entry.period_type("period_type", default=PeriodType.MONTH),
            "target_per": entry.period_type("target_per"),
            "scope": entry.choice("scope", _SCOPES, default=model.CountScope.TOTAL),
            "source": entry.text("source" if loader.format == 1 else "measure", default="entered"),
            "short_name": entry.text("short_name"),
            "condition": entry.text("condition"),
            "numerator": entry.text("numerator"),
            "denominator": entry.text("denominator"),
            "unit_label": entry.text("unit_label"),
            "quantitative": entry.boolean("quantitative", default=kind is not model.IndicatorKind.YES_NO),
            "tasks": entry.refs("tasks", kind="task"),
            "reference": entry.text("reference"),
            "notes": entry.text("notes"),
        }
        old_spelling = entry.data.get("source")
        if loader.format >= 2 and isinstance(old_spelling, str) and _is_measure(old_spelling):
            # The format 1 spelling (source = "plugin:…"), which the plugins' pages show, still
            # means the measure: no paper plan section is called "entered" or "plugin:…".
            if "measure" in entry.data:
                entry.problem("source", f'{old_spelling!r} is a measure, and measure is also given: keep measure only')
            fields["source"] = old_spelling.strip()
            entry.known.add("source")
            fields["provenance"] = entry.provenance(source_key=False)
        else:
            fields["provenance"] = entry.provenance(source_key=loader.format >= 2)
        entry.done()
        if kind is None:
            continue
        if kind is not model.IndicatorKind.COUNT:
            for key in ("scope", "target_per"):
                if key in entry.data:
                    entry.problem(key, f"only count indicators have {key}; this one is {kind.value}")
        source = fields["source"] or "entered"
        if source != "entered" and not (source.startswith("plugin:") and len(source) > len("plugin:")):
            key = "source" if loader.format == 1 or "measure" not in entry.data else "measure"
            entry.problem(key, f'{source!r}: write "entered" or "plugin:<measure name>"')
        if entry.has_problems:
            continue
        if target is not None:
            if kind in model.PERCENT_KINDS and not 0 <= target <= 100:
                entry.problem("target", f"{target:g} is out of range: a percentage target is 0–100")
                continue
            if kind is model.IndicatorKind.YES_NO and target not in (0, 1):
                entry.problem("target", f"{target:g} is out of range: a yes/no target is 1 (yes) or 0 (no)")
                continue
            if target < 0:
                entry.problem("target", f"{target:g} is out of range: a target cannot be negative")
                continue
        elif kind is not model.IndicatorKind.YES_NO:
            entry.problem("target", "missing required field for this kind of indicator")
            continue
        if kind is model.IndicatorKind.COUNT and fields["target_per"] is None:
            entry.problem("target_per", "a count indicator needs target_per (month, quarter, half or year)")
            continue
        if fields["target_per"] is not None and fields["target_per"].months < fields["period_type"].months:
            entry.problem("target_per", f"target_per {fields['target_per'].value} is shorter than period_type {fields['period_type'].value}")
            continue
        indicator = loader.build(entry, model.Indicator, **fields)
        if indicator:
            indicators.append(indicator)
    return indicators


def _is_measure(value: str) -> bool:
    value = value.strip()
    return value == "entered" or value.startswith("plugin:")


def _read_frequency(loader: _Loader, item: Any, where: str, index: int) -> model.Frequency | None:
    sub = _Entry(loader, item, where, "tasks", index)
    count = sub.number("count", required=True)
    per = sub.period_type("per", required=True)
    label = sub.text("label")
    sub.done()
    if count is None or per is None:
        return None
    return loader.build(sub, model.Frequency, count=count, per=per, label=label)


def _read_tasks(loader: _Loader, doc: dict) -> list[model.Task]:
    tasks = []
    for index, entry in enumerate(loader.entries(doc, "tasks")):
        frequencies = [
            f
            for i, item in entry.tables("frequencies")
            if (f := _read_frequency(loader, item, f"{entry.where}.frequencies[{i}]", index))
        ]
        fields = {
            "id": entry.text("id", required=True) or "",
            "number": entry.integer("number", required=True, minimum=1, maximum=10_000) or 0,
            "duty": entry.text("duty", required=True) or "",
            "products": entry.texts("products"),
            "lead": entry.refs("lead", required=True),
            "coordinating": entry.refs("coordinating"),
            "lead_text": entry.text("lead_text"),
            "coordinating_text": entry.text("coordinating_text"),
            "timing": entry.text("timing"),
            "starts_on": None,
            "starts_in": None,
            "ends_on": entry.date("ends_on"),
            "frequencies": frequencies,
            "indicators": entry.refs("indicators", kind="indicator"),
            "budget_source": entry.text("budget_source"),
            "notes": entry.text("notes"),
            "evidence_per": entry.period_type("evidence_per"),
        }
        fields["starts_on"], fields["starts_in"] = entry.start("starts_on")
        fields["provenance"] = entry.provenance()
        entry.done()
        first_day = fields["starts_on"] or (fields["starts_in"].start_date if fields["starts_in"] else None)
        if first_day and fields["ends_on"] and fields["ends_on"] < first_day:
            entry.problem("ends_on", f"{fields['ends_on']} is before starts_on {fields['starts_on'] or fields['starts_in']}")
        task = loader.build(entry, model.Task, **fields)
        if task:
            tasks.append(task)
    return tasks


def _read_documents(loader: _Loader, doc: dict) -> list[model.LegalDocument]:
    documents = []
    for entry in loader.entries(doc, "legal_documents"):
        fields = {
            "id": entry.text("id", required=True) or "",
            "number": entry.text("number", required=True) or "",
            "title": entry.text("title", required=True) or "",
            "issuer": entry.text("issuer", required=True) or "",
            "issued_on": entry.date("issued_on"),
            "issued_on_as_written": entry.text("issued_on_as_written"),
            "document_type": entry.text("document_type"),
            "notes": entry.text("notes"),
        }
        fields["provenance"] = entry.provenance()
        entry.done()
        document = loader.build(entry, model.LegalDocument, **fields)
        if document:
            documents.append(document)
    return documents


def _read_topics(loader: _Loader, doc: dict) -> list[model.Topic]:
    topics = []
    for entry in loader.entries(doc, "topics"):
        fields = {
            "id": entry.text("id", required=True) or "",
            "title": entry.text("title"),
            "text": entry.text("text", required=True) or "",
            "points": entry.texts("points"),
            "documents": entry.refs("documents", kind="legal document"),
        }
        fields["provenance"] = entry.provenance()
        entry.done()
        topic = loader.build(entry, model.Topic, **fields)
        if topic:
            topics.append(topic)
    return topics


def _read_channels(loader: _Loader, doc: dict) -> list[model.Channel]:
    channels = []
    for entry in loader.entries(doc, "channels"):
        fields = {
            "id": entry.text("id", required=True) or "",
            "name": entry.text("name"),
            "text": entry.text("text", required=True) or "",
            "units": entry.refs("units"),
        }
        fields["provenance"] = entry.provenance()
        entry.done()
        channel = loader.build(entry, model.Channel, **fields)
        if channel:
            channels.append(channel)
    return channels


def _read_deadlines(loader: _Loader, doc: dict) -> list[model.Deadline]:
    deadlines = []
    for entry in loader.entries(doc, "deadlines"):
        fields = {
            "id": entry.text("id", required=True) or "",
            "what": entry.text("what", required=True) or "",
            "due": entry.date("due", required=True),
            "inclusive": entry.boolean("inclusive"),
            "local_plans": entry.boolean("local_plans"),
            "who": entry.refs("who", required=True),
            "to": entry.ref("to"),
            "reference": entry.text("reference"),
        }
        fields["provenance"] = entry.provenance()
        entry.done()
        if fields["due"] is None:
            continue
        deadline = loader.build(entry, model.Deadline, **fields)
        if deadline:
            deadlines.append(deadline)
    return deadlines


def _read_rules(loader: _Loader, doc: dict) -> list[model.ReportingRule]:
    rules = []
    for entry in loader.entries(doc, "reporting_rules"):
        fields = {
            "id": entry.text("id", required=True) or "",
            "what": entry.text("what", required=True) or "",
            "reporters": entry.refs("reporters", required=True),
            "recipients": entry.refs("to", required=True, kind="unit"),
            "via": entry.ref("via"),
            "frequency": entry.period_type("frequency", required=True),
            "due_day": entry.integer("due_day", minimum=1, maximum=28),
            "tracked": entry.boolean("tracked", default=True),
            "requested": entry.boolean("requested"),
            "reference": entry.text("reference"),
        }
        fields["provenance"] = entry.provenance()
        entry.done()
        recipients = fields["recipients"]
        for i, recipient in enumerate(recipients):
            if recipient in recipients[:i]:
                entry.problem("to", f'"{recipient}" is named twice')
        fields["to"] = recipients[0] if recipients else ""
        if fields["frequency"] is None:
            continue
        rule = loader.build(entry, model.ReportingRule, **fields)
        if rule:
            rules.append(rule)
    return rules


def _check_tree(loader: _Loader, units: list[model.Unit], positions: dict[str, int]) -> None:
    """Parents must form a tree: a unit on a cycle is reported at its own entry (units merely
    hanging below a cycle are not)."""
    parents = {u.id: u.parent for u in units}
    for unit in units:
        seen = {unit.id}
        current = unit.parent
        while current is not None and current in parents:
            if current == unit.id:
                index = positions[unit.id]
                loader.problem(
                    f"units[{index}].parent",
                    f'unit "{unit.id}" is its own ancestor (a cycle through "{unit.parent}")',
                    loader.locator.line("units", index, "parent"),
                )
                break
            if current in seen:
                break
            seen.add(current)
            current = parents[current]
