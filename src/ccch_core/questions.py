"""The shared question model: what a contest question and a survey question have in common.

Decidim learned late that surveys and other components needed one questionnaire model; ccch
starts with one. A :class:`Question` has a stable key, a type, a prompt, options with stable keys,
validation rules, and (for contests) the correct option keys. The survey and contest plugins build
on it; both import questions from CSV or XLSX through :func:`questions_from_rows`, and both validate
what a person submitted through :meth:`Question.check_answer`, which raises an
:class:`AnswerError` with a Vietnamese message to show beside the question.

Import columns (CSV or XLSX, a header row, any order; documented in docs/questions.md):

``key, type, prompt, option_a … option_h, correct, category, difficulty, required, help, section``
"""

from __future__ import annotations

import csv
import enum
import io
import math
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .text import clean

MAX_OPTIONS = 8
OPTION_COLUMNS = tuple(f"option_{letter}" for letter in string.ascii_lowercase[:MAX_OPTIONS])
IMPORT_COLUMNS = ("key", "type", "prompt", *OPTION_COLUMNS, "correct", "category", "difficulty", "required",
                  "help", "section")
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

SCALE_LABELS = ("Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng")
"""The 5-point satisfaction scale, as SIPAS asks it (1 = very dissatisfied … 5 = very satisfied)."""


class QuestionType(str, enum.Enum):
    """Kinds of question."""

    SCALE5 = "scale5"
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true_false"
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    NUMBER = "number"

    @property
    def label_vi(self) -> str:
        """Vietnamese label."""
        return {
            "scale5": "Thang đo hài lòng 5 mức",
            "single": "Chọn một đáp án",
            "multiple": "Chọn nhiều đáp án",
            "true_false": "Đúng/Sai",
            "short_text": "Trả lời ngắn",
            "long_text": "Trả lời dài",
            "number": "Số",
        }[self.value]

    @property
    def has_options(self) -> bool:
        """Whether answers are option keys."""
        return self in (QuestionType.SCALE5, QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUE_FALSE)


TYPE_ALIASES = {
    "scale5": QuestionType.SCALE5, "scale": QuestionType.SCALE5, "thang đo": QuestionType.SCALE5,
    "single": QuestionType.SINGLE, "một đáp án": QuestionType.SINGLE, "mot dap an": QuestionType.SINGLE,
    "multiple": QuestionType.MULTIPLE, "nhiều đáp án": QuestionType.MULTIPLE, "nhieu dap an": QuestionType.MULTIPLE,
    "true_false": QuestionType.TRUE_FALSE, "truefalse": QuestionType.TRUE_FALSE, "đúng/sai": QuestionType.TRUE_FALSE,
    "dung/sai": QuestionType.TRUE_FALSE,
    "short_text": QuestionType.SHORT_TEXT, "text": QuestionType.SHORT_TEXT,
    "long_text": QuestionType.LONG_TEXT, "textarea": QuestionType.LONG_TEXT,
    "number": QuestionType.NUMBER, "số": QuestionType.NUMBER,
}


class AnswerError(ValueError):
    """A submitted answer that does not fit its question (message in Vietnamese, for the person)."""


class QuestionError(ValueError):
    """A question definition that is not valid."""


@attrs.frozen
class Option:
    """An answer option with a key that stays the same when the label is edited or reordered."""

    key: str
    label: str = attrs.field(converter=clean)


def _scale_options() -> tuple[Option, ...]:
    return tuple(Option(str(i + 1), label) for i, label in enumerate(SCALE_LABELS))


TRUE_FALSE_OPTIONS = (Option("dung", "Đúng"), Option("sai", "Sai"))


@attrs.frozen
class Question:
    """One question of a contest bank or a survey."""

    key: str
    type: QuestionType = attrs.field(converter=QuestionType)
    prompt: str = attrs.field(converter=clean)
    options: tuple[Option, ...] = attrs.field(default=(), converter=tuple)
    required: bool = True
    help: str | None = None
    section: str | None = None
    category: str | None = None
    difficulty: int | None = None
    correct: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None

    def __attrs_post_init__(self):
        if not KEY_PATTERN.match(self.key):
            raise QuestionError(f"key {self.key!r}: 1–64 letters, digits, '.', '_' or '-'")
        if not self.prompt:
            raise QuestionError(f"{self.key}: the prompt is empty")
        if self.type is QuestionType.SCALE5 and not self.options:
            object.__setattr__(self, "options", _scale_options())
        if self.type is QuestionType.TRUE_FALSE and not self.options:
            object.__setattr__(self, "options", TRUE_FALSE_OPTIONS)
        keys = [o.key for o in self.options]
        if self.type.has_options:
            if len(self.options) < 2:
                raise QuestionError(f"{self.key}: a {self.type.value} question needs at least 2 options")
            if len(set(keys)) != len(keys):
                raise QuestionError(f"{self.key}: option keys repeat")
            if any(not o.label for o in self.options):
                raise QuestionError(f"{self.key}: an option has no text")
        elif self.options:
            raise QuestionError(f"{self.key}: a {self.type.value} question has no options")
        unknown = [k for k in self.correct if k not in keys]
        if unknown:
            raise QuestionError(f"{self.key}: correct answer {', '.join(unknown)} is not an option")
        if self.correct and self.type in (QuestionType.SINGLE, QuestionType.TRUE_FALSE) and len(self.correct) != 1:
            raise QuestionError(f"{self.key}: a {self.type.value} question has exactly one correct answer")
        if self.difficulty is not None and not 1 <= self.difficulty <= 5:
            raise QuestionError(f"{self.key}: difficulty is 1 (easy) to 5 (hard)")
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise QuestionError(f"{self.key}: min_value is larger than max_value")

    # -- answers ----------------------------------------------------------------------------------

    def option(self, key: str) -> Option:
        """The option with ``key``."""
        for option in self.options:
            if option.key == key:
                return option
        raise KeyError(key)

    def check_answer(self, values: Sequence[str]) -> tuple[str, ...]:
        """Validate the raw values a form sent for this question (a list: one value, several for
        multiple choice, none when left blank). Returns the normalised answer — option keys, or
        a one-element tuple with the text or number — or ``()`` for an optional question left
        blank. Raises :class:`AnswerError` with a Vietnamese message otherwise."""
        values = [clean(v) for v in values if v is not None and clean(v)]
        if not values:
            if self.required:
                raise AnswerError("Vui lòng trả lời câu hỏi này." if not self.type.has_options
                                  else "Vui lòng chọn một câu trả lời.")
            return ()
        if self.type.has_options:
            keys = {o.key for o in self.options}
            if any(v not in keys for v in values):
                raise AnswerError("Lựa chọn không hợp lệ; vui lòng chọn lại.")
            unique = tuple(dict.fromkeys(values))
            if self.type is not QuestionType.MULTIPLE and len(unique) > 1:
                raise AnswerError("Chỉ được chọn một câu trả lời.")
            # Multiple choice: the options' order, not the order of clicking.
            order = [o.key for o in self.options]
            return tuple(sorted(unique, key=order.index))
        if len(values) > 1:
            raise AnswerError("Câu trả lời bị gửi lặp; vui lòng nhập lại.")
        text = values[0]
        if self.type is QuestionType.NUMBER:
            normalised = text.replace(" ", "").replace(",", ".") if text.count(",") == 1 and "." not in text else text
            try:
                number = float(normalised)
            except ValueError:
                raise AnswerError("Vui lòng nhập một số.") from None
            if not math.isfinite(number):
                raise AnswerError("Vui lòng nhập một số.")
            if self.min_value is not None and number < self.min_value:
                raise AnswerError(f"Số nhỏ nhất được nhập là {self.min_value:g}.")
            if self.max_value is not None and number > self.max_value:
                raise AnswerError(f"Số lớn nhất được nhập là {self.max_value:g}.")
            return (f"{number:g}" if abs(number) < 1e15 else str(number),)
        limit = self.max_length or (200 if self.type is QuestionType.SHORT_TEXT else 2000)
        if len(text) > limit:
            raise AnswerError(f"Câu trả lời dài quá {limit} ký tự.")
        return (text,)

    def is_correct(self, answer: Sequence[str]) -> bool:
        """Whether ``answer`` (option keys) is exactly the set of correct options."""
        return bool(self.correct) and set(answer) == set(self.correct)

    def without_answer(self) -> Question:
        """A copy with the correct answers removed, for anything shown to a participant."""
        return attrs.evolve(self, correct=())

    # -- (de)serialising ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON/TOML-ready form (inverse of :func:`question_from_dict`)."""
        data: dict[str, Any] = {"key": self.key, "type": self.type.value, "prompt": self.prompt}
        if self.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            data["options"] = [{"key": o.key, "label": o.label} for o in self.options]
        for name in ("help", "section", "category", "difficulty", "min_value", "max_value", "max_length"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if not self.required:
            data["required"] = False
        if self.correct:
            data["correct"] = list(self.correct)
        return data


def question_from_dict(data: Mapping[str, Any], where: str = "question") -> Question:
    """Build a question from a mapping (a TOML table, JSON). Options are a list of
    ``{"key", "label"}`` tables or of plain labels (keyed a, b, c…). Raises
    :class:`QuestionError` naming ``where`` and the field."""
    allowed = {"key", "type", "prompt", "options", "required", "help", "section", "category", "difficulty",
               "correct", "min_value", "max_value", "max_length"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise QuestionError(f"{where}: unknown key(s) {', '.join(unknown)}")
    raw_type = clean(str(data.get("type", ""))).casefold()
    qtype = TYPE_ALIASES.get(raw_type)
    if qtype is None:
        raise QuestionError(f"{where}.type: {data.get('type')!r} is not one of {', '.join(t.value for t in QuestionType)}")
    raw_options = data.get("options", []) or []
    if not isinstance(raw_options, list):
        raise QuestionError(f"{where}.options: write a list, e.g. [\"Có\", \"Không\"]")
    options = []
    for i, option in enumerate(raw_options):
        if isinstance(option, str) and i < len(string.ascii_lowercase):
            options.append(Option(string.ascii_lowercase[i], option))
        elif isinstance(option, str):
            raise QuestionError(f"{where}.options[{i}]: more than 26 options need a key each ({{key = …, label = …}})")
        elif isinstance(option, Mapping) and set(option) <= {"key", "label"} and "label" in option:
            options.append(Option(str(option.get("key") or string.ascii_lowercase[i]), str(option["label"])))
        else:
            raise QuestionError(f"{where}.options[{i}]: write a label or {{key = \"a\", label = \"…\"}}")
    standard = {QuestionType.SCALE5: _scale_options(), QuestionType.TRUE_FALSE: TRUE_FALSE_OPTIONS}.get(qtype)
    if standard and options and [o.key for o in options] != [o.key for o in standard]:
        raise QuestionError(f"{where}.options: a {qtype.value} question has the options "
                            f"{', '.join(o.key for o in standard)}; leave 'options' out")
    correct = data.get("correct", [])
    if isinstance(correct, str):
        correct = [correct]
    if not isinstance(correct, list):
        raise QuestionError(f"{where}.correct: write an option key or a list of option keys")
    if not isinstance(data.get("required", True), bool):
        raise QuestionError(f"{where}.required: must be true or false")
    for name in ("min_value", "max_value"):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise QuestionError(f"{where}.{name}: {value!r} is not a number")
    for name, low in (("max_length", 1), ("difficulty", None)):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or (low is not None and value < low)):
            raise QuestionError(f"{where}.{name}: {value!r} is not a whole number"
                                + (f" of at least {low}" if low is not None else ""))
    try:
        return Question(
            key=str(data.get("key", "")),
            type=qtype,
            prompt=str(data.get("prompt", "")),
            options=options,
            required=data.get("required", True),
            help=clean(str(data["help"])) if data.get("help") else None,
            section=clean(str(data["section"])) if data.get("section") else None,
            category=clean(str(data["category"])) if data.get("category") else None,
            difficulty=data.get("difficulty"),
            correct=[str(c) for c in correct],
            min_value=data.get("min_value"),
            max_value=data.get("max_value"),
            max_length=data.get("max_length"),
        )
    except QuestionError as exc:
        raise QuestionError(f"{where}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise QuestionError(f"{where}: {exc}") from None


# -- tabular import (CSV, XLSX) ---------------------------------------------------------------------


@attrs.frozen
class RowProblem:
    """A bad row of an import: the line (as a spreadsheet shows it) and what is wrong."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def read_rows(path: str | Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV (UTF-8, BOM or not) or XLSX file with their line numbers, keyed by the
    header row's names (lower-cased, trimmed). XLSX needs openpyxl (installed with the plugins
    that import spreadsheets)."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuestionError(f"{path.name}: not UTF-8 text (byte {exc.start}); save it as “CSV UTF-8”") from None
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    return _rows_with_header(rows, path.name, start_line=1)


def _read_xlsx(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl comes with the plugins that need it
        raise QuestionError("reading .xlsx needs openpyxl: pip install openpyxl") from None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise QuestionError(f"{path.name}: not a readable XLSX file ({type(exc).__name__})") from None
    sheet = workbook.worksheets[0]
    rows = [["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in row]
            for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return _rows_with_header(rows, path.name, start_line=1)


def _rows_with_header(rows: list[list[str]], name: str, start_line: int) -> list[tuple[int, dict[str, str]]]:
    if not rows:
        raise QuestionError(f"{name}: the file is empty")
    header = [clean(h).casefold() for h in rows[0]]
    result = []
    for offset, row in enumerate(rows[1:], start=start_line + 1):
        if not any(clean(cell) for cell in row):
            continue  # blank line
        values = {header[i]: clean(cell) for i, cell in enumerate(row) if i < len(header) and header[i]}
        if len(row) > len(header) and any(clean(c) for c in row[len(header):]):
            values["__extra__"] = "x"
        result.append((offset, values))
    return result


def check_header(rows: list[tuple[int, dict[str, str]]], columns: Sequence[str] = IMPORT_COLUMNS) -> list[str]:
    """Unknown column names in the rows (a typo in the header must not silently drop a column)."""
    seen: set[str] = set()
    for _, row in rows:
        seen.update(row)
    return sorted(c for c in seen if c not in columns and c != "__extra__")


def _yes(value: str, default: bool) -> bool:
    if not value:
        return default
    return clean(value).casefold() in ("1", "yes", "y", "true", "có", "co", "x", "bắt buộc", "bat buoc")


def question_from_row(row: Mapping[str, str], auto_key: str) -> Question:
    """One question from an import row (see the module docstring for the columns).

    ``correct`` is the option letters ("A", "A;C") for single and multiple choice, "Đúng"/"Sai"
    for true/false. ``key`` defaults to ``auto_key``.
    """
    if row.get("__extra__"):
        raise QuestionError("the row has more cells than the header has columns")
    qtype = TYPE_ALIASES.get(clean(row.get("type", "")).casefold() or "single")
    if qtype is None:
        raise QuestionError(f"type {row.get('type')!r} is not one of {', '.join(t.value for t in QuestionType)}")
    options = [Option(column[-1], row[column]) for column in OPTION_COLUMNS if row.get(column)]
    letters = [column[-1] for column in OPTION_COLUMNS]
    gaps = [c[-1].upper() for c in OPTION_COLUMNS[: len(options)] if not row.get(c)]
    if gaps:
        raise QuestionError(f"option {', '.join(gaps)} is empty while a later option is filled")
    correct_text = clean(row.get("correct", ""))
    correct: list[str] = []
    if correct_text:
        if qtype is QuestionType.TRUE_FALSE:
            key = correct_text.casefold()
            mapping = {"đúng": "dung", "dung": "dung", "true": "dung", "sai": "sai", "false": "sai"}
            if key not in mapping:
                raise QuestionError(f"correct {correct_text!r}: write Đúng or Sai")
            correct = [mapping[key]]
        else:
            for part in re.split(r"[;,\s]+", correct_text):
                letter = part.strip().lower()
                if letter not in letters[: len(options)]:
                    raise QuestionError(f"correct {part!r} is not the letter of a filled option")
                correct.append(letter)
    difficulty = row.get("difficulty") or None
    if difficulty is not None:
        try:
            difficulty = int(difficulty)
        except ValueError:
            raise QuestionError(f"difficulty {difficulty!r} is not a whole number 1–5") from None
    try:
        return Question(
            key=row.get("key") or auto_key,
            type=qtype,
            prompt=row.get("prompt", ""),
            options=options if qtype is not QuestionType.TRUE_FALSE else (),
            required=_yes(row.get("required", ""), True),
            help=row.get("help") or None,
            section=row.get("section") or None,
            category=row.get("category") or None,
            difficulty=difficulty,
            correct=correct,
        )
    except QuestionError as exc:
        raise QuestionError(str(exc).split(": ", 1)[-1]) from None


def questions_from_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    key_prefix: str = "q",
    require_correct: bool = False,
    extra_check: Callable[[Question], str | None] | None = None,
) -> tuple[list[Question], list[RowProblem]]:
    """Questions from import rows, and a problem for every bad row (its line and reason).

    Keys must be unique within the file. ``require_correct`` (contests) makes a missing correct
    answer an error; ``extra_check`` can add a plugin's own rule (return a message or None).
    The caller decides whether to import nothing (the default everywhere) or skip bad rows.
    """
    questions: list[Question] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for index, (line, row) in enumerate(rows, start=1):
        try:
            question = question_from_row(row, f"{key_prefix}{index:04d}")
        except QuestionError as exc:
            problems.append(RowProblem(line, str(exc)))
            continue
        if question.key in seen:
            problems.append(RowProblem(line, f"key {question.key!r} repeats line {seen[question.key]}"))
            continue
        if require_correct and question.type.has_options and not question.correct:
            problems.append(RowProblem(line, "no correct answer (column correct)"))
            continue
        message = extra_check(question) if extra_check else None
        if message:
            problems.append(RowProblem(line, message))
            continue
        seen[question.key] = line
        questions.append(question)
    return questions, problems


def question_to_row(question: Question) -> dict[str, str]:
    """An import row for ``question`` (export back to CSV/XLSX with the same columns)."""
    row = {column: "" for column in IMPORT_COLUMNS}
    row.update(key=question.key, type=question.type.value, prompt=question.prompt,
               category=question.category or "", help=question.help or "", section=question.section or "",
               difficulty="" if question.difficulty is None else str(question.difficulty),
               required="" if question.required else "không")
    if question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        for column, option in zip(OPTION_COLUMNS, question.options):
            row[column] = option.label
        keys = [o.key for o in question.options]
        row["correct"] = ";".join(string.ascii_uppercase[keys.index(k)] for k in question.correct)
    elif question.type is QuestionType.TRUE_FALSE and question.correct:
        row["correct"] = "Đúng" if question.correct[0] == "dung" else "Sai"
    return row
