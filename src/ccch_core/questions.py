"""The shared question model: what a contest question and a survey question have in common.

Decidim learned late that surveys and other components needed one questionnaire model; ccch
starts with one. A :class:`Question` has a stable key, a type, a prompt, options with stable keys,
validation rules, and (for contests) the correct option keys. The survey and contest plugins build
on it; both import questions from CSV or XLSX through :func:`questions_from_rows`, and both validate
what a person submitted through :meth:`Question.check_answer`, which raises an
:class:`AnswerError` with a Vietnamese message to show beside the question.

Import columns (CSV or XLSX, a header row, any order; documented in docs/questions.md):

``key, type, prompt, option_a … option_h, correct, category, topic, difficulty, required, help, section``

``category`` is free text (a contest draws its quotas by it); ``topic`` is the id of one of the
plan's content topics (II.1, for example ``1.3``): the caller checks it against the plan.
In an XLSX, the columns of prose (:data:`DISPLAYED_COLUMNS`) are read as Excel shows them and
every other column, a code, as typed (:func:`read_rows`).

Every message a person sees (a bad row, a bad definition, a bad answer) is in Vietnamese and
names the column or field and the value.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .limits import (
    DEFAULT_LIMITS,
    ImportLimits,
    LimitError,
    csv_records,
    open_xlsx,
    read_limited,
    xlsx_rows,
)
from .text import clean

__all__ = [
    "HEADING_ALIASES",
    "HEADING_LABELS",
    "IMPORT_COLUMNS",
    "MAX_OPTIONS",
    "OPTION_COLUMNS",
    "REQUIRED_COLUMNS",
    "SCALE_LABELS",
    "AnswerError",
    "CellError",
    "Option",
    "Question",
    "QuestionError",
    "QuestionType",
    "RowProblem",
    "check_header",
    "column_name",
    "column_of_heading",
    "format_number",
    "header_problem",
    "heading_key",
    "missing_columns",
    "parse_vietnamese_number",
    "question_from_dict",
    "question_from_row",
    "question_to_row",
    "questions_from_rows",
    "read_rows",
    "type_of",
]

MAX_OPTIONS = 8
"""Options a question may have at most (columns ``option_a`` … ``option_h``)."""
OPTION_COLUMNS = tuple(f"option_{letter}" for letter in string.ascii_lowercase[:MAX_OPTIONS])
"""The option columns of a question import file: ``option_a`` … ``option_h``."""
IMPORT_COLUMNS = ("key", "type", "prompt", *OPTION_COLUMNS, "correct", "category", "topic", "difficulty",
                  "required", "help", "section")
"""Every column a question import file (CSV or XLSX) may have, in the order ccch writes them."""
REQUIRED_COLUMNS = ("prompt",)
"""Columns a CSV/XLSX header must have (a file without them cannot hold a single question)."""
HEADING_LABELS = {
    "key": "Mã câu hỏi", "type": "Loại", "prompt": "Câu hỏi",
    **{column: f"Phương án {column[-1].upper()}" for column in OPTION_COLUMNS},
    "correct": "Đáp án", "category": "Nhóm câu hỏi", "topic": "Mã nội dung tuyên truyền", "difficulty": "Độ khó",
    "required": "Bắt buộc", "help": "Giải thích", "section": "Phần",
}
"""The Vietnamese heading of each column, as ccch's templates write them (the importer reads these,
the English column names, and the other headings offices use: :data:`HEADING_ALIASES`)."""
HEADING_ALIASES = {
    **{alias: "key" for alias in ("ma", "ma cau hoi", "ma so", "so hieu")},
    **{alias: "type" for alias in ("loai", "loai cau hoi", "kieu", "kieu cau hoi", "dang cau hoi", "hinh thuc")},
    **{alias: "prompt" for alias in ("cau hoi", "noi dung", "noi dung cau hoi")},
    **{f"{word} {column[-1]}": column for column in OPTION_COLUMNS
       for word in ("phuong an", "lua chon", "dap an", "cau tra loi")},
    **{column[-1]: column for column in OPTION_COLUMNS},
    **{alias: "correct" for alias in ("dap an", "dap an dung", "phuong an dung", "cau tra loi dung")},
    **{alias: "category" for alias in ("nhom", "nhom cau hoi", "chu de", "phan loai", "linh vuc")},
    **{alias: "topic" for alias in ("ma noi dung tuyen truyen", "ma chu de", "noi dung tuyen truyen")},
    **{alias: "difficulty" for alias in ("do kho", "muc do", "muc do kho")},
    "bat buoc": "required",
    **{alias: "help" for alias in ("giai thich", "nguon", "can cu", "ghi chu", "huong dan", "giai thich nguon")},
    **{alias: "section" for alias in ("phan", "muc")},
}
"""Headings offices write, folded (:func:`heading_key`: no diacritics, lower case, one space), and
the column each stands for. "Chủ đề" is the free-text group a contest draws by (``category``);
the plan's topic id is "Mã nội dung tuyên truyền" (``topic``)."""
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


_TYPE_WORDS = {
    "chon mot dap an": QuestionType.SINGLE, "mot dap an": QuestionType.SINGLE, "mot lua chon": QuestionType.SINGLE,
    "trac nghiem": QuestionType.SINGLE, "chon nhieu dap an": QuestionType.MULTIPLE,
    "nhieu dap an": QuestionType.MULTIPLE, "nhieu lua chon": QuestionType.MULTIPLE,
    "dung sai": QuestionType.TRUE_FALSE, "dung hay sai": QuestionType.TRUE_FALSE,
    "thang do": QuestionType.SCALE5, "thang do hai long": QuestionType.SCALE5,
    "tra loi ngan": QuestionType.SHORT_TEXT, "tra loi dai": QuestionType.LONG_TEXT, "tu luan": QuestionType.LONG_TEXT,
    "so": QuestionType.NUMBER,
}
"""The type column in the words offices write, folded like headings."""


def heading_key(text: str) -> str:
    """A heading or a type word folded for comparison: no diacritics (đ as d), lower case, every
    run of other characters one space ("Phương án A" → "phuong an a", "option_a" → "option a")."""
    from .text import strip_diacritics

    return " ".join(re.split(r"[^a-z0-9]+", strip_diacritics(clean(text)).casefold())).strip()


def column_of_heading(text: str, columns: Sequence[str], extra: Mapping[str, str] | None = None) -> str | None:
    """The column of ``columns`` a header cell names: the column's own name, its Vietnamese heading
    (:data:`HEADING_LABELS`), or another heading offices use (:data:`HEADING_ALIASES`, ``extra``);
    None for a heading that names none of them."""
    folded = heading_key(text)
    for column in columns:
        if folded == heading_key(column) or folded == heading_key(HEADING_LABELS.get(column, column)):
            return column
    found = (extra or {}).get(folded) or HEADING_ALIASES.get(folded)
    return found if found in columns else None


def type_of(text: str) -> QuestionType | None:
    """The question type a type cell names (code, label or office word), or None."""
    value = clean(text).casefold()
    if value in TYPE_ALIASES:
        return TYPE_ALIASES[value]
    folded = heading_key(text)
    for qtype in QuestionType:
        if folded in (heading_key(qtype.value), heading_key(qtype.label_vi)):
            return qtype
    return _TYPE_WORDS.get(folded)


class AnswerError(ValueError):
    """A submitted answer that does not fit its question (message in Vietnamese, for the person)."""


class QuestionError(ValueError):
    """A question definition that is not valid (message in Vietnamese). ``detail`` is the message
    without the question's key in front (what an import row reports: the line says where)."""

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message)
        self.detail = detail or message


# -- numbers as Vietnamese write them -------------------------------------------------------------

# Vietnamese groups thousands with "." and writes decimals after ",": 1.500.000 and 2,5.
_GROUPED = re.compile(r"^[1-9][0-9]{0,2}(?:\.[0-9]{3})+(?:,[0-9]+)?$")   # 50.000 · 1.500.000 · 1.500,25
_DECIMAL_COMMA = re.compile(r"^[0-9]+(?:,[0-9]+)?$")                        # 50 · 2,5 · 0,125
_DECIMAL_POINT = re.compile(r"^[0-9]+\.[0-9]+$")                            # 2.5 (a phone keypad's point)
_ENGLISH_GROUPED = re.compile(r"^[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?$")  # 50,000 · 1,500,000 · 1,500.5
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
# Full-width digits and marks (a Chinese or Japanese keyboard types them) are the digits 0–9 and the
# ASCII marks; nothing else is mapped: NFKC would also turn "5²" into "52".
_FULL_WIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                             "\uff0c": ",", "\uff0e": ".", "\uff0b": "+", "\uff0d": "-"})
NUMBER_HELP = "viết dấu chấm để phân cách hàng nghìn (1.500.000) và dấu phẩy trước phần thập phân (2,5)"


def parse_vietnamese_number(text: str) -> decimal.Decimal:
    """The number in ``text`` as a Vietnamese writes it, exactly (a :class:`~decimal.Decimal`).

    The rule (docs/questions.md, "Numbers"), in order:

    1. A Vietnamese number is read the Vietnamese way: "." groups thousands in threes and one ","
       starts the decimals. ``50.000`` is 50000, ``1.500`` is 1500, ``1.500.000`` is 1500000,
       ``2,5`` is 2.5, ``1.500,25`` is 1500.25, ``0,500`` is 0.5. A page in Vietnamese takes the
       dot as Vietnamese prices write it, so ``1.500`` is never 1.5.
    2. Except the English thousands form — 1 to 3 digits, then groups of ",ddd", perhaps ".d…" —
       which is refused: ``50,000``, ``1,500``, ``2,125``, ``1,500,000``, ``1,500.5``. An English
       writer (or a phone set to English) means thousands there, while a Vietnamese writes 1,5
       rather than 1,500, so reading it as decimals would store a number a thousand times off.
       ``0,500`` and ``1500,250`` are not that form (nobody groups after 0 or after 4 digits).
    3. Otherwise one "." between digits is a decimal point, as a phone keypad types it: ``2.5``,
       ``87.25``, ``3.14159``, and ``0.125`` or ``0.500`` (a 0 groups nothing). A dot that can
       be neither — ``1234.567`` (a group missing its dot?), ``12.345.67`` — is refused.

    Spaces are ignored; a sign (+, - or −) may lead. Digits are the ASCII 0–9; full-width ones
    (０–９, with ，．) count as them; any other digit ("١٢", "²") is refused. Raises
    :class:`AnswerError` with a Vietnamese message that shows the value and, for a refused form,
    how to write each reading.
    """
    raw = clean(text)
    body = _SPACES.sub("", raw).translate(_FULL_WIDTH)
    if any(not ch.isascii() and unicodedata.category(ch).startswith("N") for ch in body):
        raise AnswerError(f"“{raw}” có chữ số không phải 0–9; hãy gõ số bằng các chữ số 0–9.")
    sign = ""
    if body[:1] in "+-−" and body:
        sign, body = ("-" if body[0] in "-−" else ""), body[1:]
    if _ENGLISH_GROUPED.match(body):
        integer_part, _, fraction = body.partition(".")
        digits = integer_part.replace(",", "")
        english = sign + digits + ("," + fraction if fraction else "")
        as_vietnamese = sign + _group_thousands(digits) + ("," + fraction if fraction else "")
        plain = f"Nếu là {english} thì viết {as_vietnamese} hoặc {english}"
        if fraction or integer_part.count(",") > 1:
            # Not a Vietnamese number at all: only the English reading is left.
            raise AnswerError(f"“{raw}” viết theo kiểu Anh. {plain}.")
        whole, _, decimals = integer_part.partition(",")
        short = sign + whole + ("," + decimals.rstrip("0") if decimals.rstrip("0") else "")
        if decimals.endswith("0"):
            decimal_way = f"nếu là {short} thì viết {short}"
        else:
            decimal_way = (f"nếu là số thập phân {sign}{integer_part} thì thêm một chữ số 0 ở cuối "
                           f"({sign}{integer_part}0) để không lẫn với cách viết hàng nghìn kiểu Anh")
        raise AnswerError(f"“{raw}” không rõ nghĩa. {plain}; {decimal_way}.")
    if _GROUPED.match(body):
        normalised = body.replace(".", "").replace(",", ".")
    elif _DECIMAL_COMMA.match(body):
        normalised = body.replace(",", ".")
    elif _DECIMAL_POINT.match(body) and (len(body.split(".")[1]) != 3 or body.split(".")[0] == "0"):
        normalised = body
    else:
        raise AnswerError(f"“{raw}” không phải là một số viết đúng cách: {NUMBER_HELP}.")
    value = decimal.Decimal(sign + normalised)
    if not value.is_finite() or abs(value) >= decimal.Decimal("1e15"):
        raise AnswerError(f"“{raw}” không phải là một số hợp lệ.")
    return value


def _group_thousands(digits: str) -> str:
    """``1500000`` → ``1.500.000`` (a sign and the decimals are the caller's)."""
    return ".".join(digits[max(i - 3, 0):i] for i in range(len(digits), 0, -3)[::-1])


def _plain_number(value: decimal.Decimal) -> str:
    """``1500000``, ``2.5``, ``-3`` (no exponent, no trailing zeros): how an answer is stored."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


def _vn_number(value: float | decimal.Decimal) -> str:
    """A number for a message, as a Vietnamese reads it (1.500.000; 2,5)."""
    text = _plain_number(value if isinstance(value, decimal.Decimal) else decimal.Decimal(repr(value)))
    integer, _, fraction = text.partition(".")
    sign = "-" if integer.startswith("-") else ""
    return sign + _group_thousands(integer.lstrip("-")) + ("," + fraction if fraction else "")


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
    topic: str | None = None
    """The id of the plan's content topic (II.1) the question is about; checked by the caller."""
    difficulty: int | None = None
    correct: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None

    def __attrs_post_init__(self):
        def fail(message: str):
            raise QuestionError(f"{self.key}: {message}", message)

        if not KEY_PATTERN.match(self.key):
            message = (f"mã câu hỏi {self.key!r} không hợp lệ: dùng 1–64 ký tự gồm chữ cái không dấu, chữ số, "
                       "dấu chấm, gạch dưới hoặc gạch ngang")
            raise QuestionError(message)
        if not self.prompt:
            fail("chưa có nội dung câu hỏi (cột prompt)")
        kind = f"câu hỏi loại “{self.type.label_vi}”"
        if self.type is QuestionType.SCALE5 and not self.options:
            object.__setattr__(self, "options", _scale_options())
        if self.type is QuestionType.TRUE_FALSE and not self.options:
            object.__setattr__(self, "options", TRUE_FALSE_OPTIONS)
        keys = [o.key for o in self.options]
        if self.type.has_options:
            if len(self.options) < 2:
                fail(f"{kind} cần ít nhất 2 phương án")
            if len(set(keys)) != len(keys):
                fail(f"các phương án trùng mã ({', '.join(k for k in dict.fromkeys(keys) if keys.count(k) > 1)})")
            if any(not o.label for o in self.options):
                fail("có phương án để trống nội dung")
        elif self.options:
            fail(f"{kind} không có phương án; hãy bỏ các phương án")
        unknown = [k for k in self.correct if k not in keys]
        if unknown:
            fail(f"đáp án đúng {', '.join(unknown)} không phải là một phương án của câu hỏi")
        if self.correct and self.type in (QuestionType.SINGLE, QuestionType.TRUE_FALSE) and len(self.correct) != 1:
            fail(f"{kind} chỉ có đúng một đáp án đúng (đang ghi {len(self.correct)})")
        if self.difficulty is not None and not 1 <= self.difficulty <= 5:
            fail(f"độ khó {self.difficulty} không hợp lệ: từ 1 (dễ) đến 5 (khó)")
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            fail(f"giá trị nhỏ nhất (min_value = {self.min_value:g}) lớn hơn giá trị lớn nhất "
                 f"(max_value = {self.max_value:g})")

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
            value = parse_vietnamese_number(text)
            number = float(value)
            if self.min_value is not None and number < self.min_value:
                raise AnswerError(f"Số nhỏ nhất được nhập là {_vn_number(self.min_value)}.")
            if self.max_value is not None and number > self.max_value:
                raise AnswerError(f"Số lớn nhất được nhập là {_vn_number(self.max_value)}.")
            return (_plain_number(value),)
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
        for name in ("help", "section", "category", "topic", "difficulty", "min_value", "max_value", "max_length"):
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
    allowed = {"key", "type", "prompt", "options", "required", "help", "section", "category", "topic", "difficulty",
               "correct", "min_value", "max_value", "max_length"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise QuestionError(f"{where}: không có trường {', '.join(unknown)} (các trường: {', '.join(sorted(allowed))})")
    raw_type = clean(str(data.get("type", ""))).casefold()
    qtype = TYPE_ALIASES.get(raw_type)
    if qtype is None:
        raise QuestionError(f"{where}.type: {data.get('type')!r} không phải loại câu hỏi hợp lệ "
                            f"(một trong: {', '.join(t.value for t in QuestionType)})")
    raw_options = data.get("options", []) or []
    if not isinstance(raw_options, list):
        raise QuestionError(f"{where}.options: ghi một danh sách, ví dụ [\"Có\", \"Không\"]")
    options = []
    for i, option in enumerate(raw_options):
        if isinstance(option, str) and i < len(string.ascii_lowercase):
            options.append(Option(string.ascii_lowercase[i], option))
        elif isinstance(option, str):
            raise QuestionError(f"{where}.options[{i}]: quá 26 phương án thì mỗi phương án cần có mã "
                                f"({{key = …, label = …}})")
        elif isinstance(option, Mapping) and set(option) <= {"key", "label"} and "label" in option:
            options.append(Option(str(option.get("key") or string.ascii_lowercase[i]), str(option["label"])))
        else:
            raise QuestionError(f"{where}.options[{i}]: ghi nội dung phương án hoặc {{key = \"a\", label = \"…\"}}")
    standard = {QuestionType.SCALE5: _scale_options(), QuestionType.TRUE_FALSE: TRUE_FALSE_OPTIONS}.get(qtype)
    if standard and options and [o.key for o in options] != [o.key for o in standard]:
        raise QuestionError(f"{where}.options: câu hỏi loại “{qtype.label_vi}” có sẵn các phương án "
                            f"{', '.join(o.key for o in standard)}; hãy bỏ trường options")
    correct = data.get("correct", [])
    if isinstance(correct, str):
        correct = [correct]
    if not isinstance(correct, list):
        raise QuestionError(f"{where}.correct: ghi mã một phương án hoặc danh sách mã phương án")
    if not isinstance(data.get("required", True), bool):
        raise QuestionError(f"{where}.required: {data.get('required')!r} phải là true hoặc false")
    for name in ("min_value", "max_value"):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise QuestionError(f"{where}.{name}: {value!r} không phải là một số")
    for name, low in (("max_length", 1), ("difficulty", None)):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or (low is not None and value < low)):
            raise QuestionError(f"{where}.{name}: {value!r} không phải là số nguyên"
                                + (f" từ {low} trở lên" if low is not None else ""))
    try:
        return Question(
            key=str(data.get("key", "")),
            type=qtype,
            prompt=str(data.get("prompt", "")),
            options=options,
            required=data.get("required", True),
            # A text that cleans to nothing (only control characters) is no text: "" would be
            # dropped by to_toml and change the definition's fingerprint on the way back.
            help=clean(str(data["help"])) or None if data.get("help") else None,
            section=clean(str(data["section"])) or None if data.get("section") else None,
            category=clean(str(data["category"])) or None if data.get("category") else None,
            topic=clean(str(data["topic"])) or None if data.get("topic") else None,
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
        return f"Dòng {self.line}: {self.message}"


DISPLAYED_COLUMNS = ("prompt", *OPTION_COLUMNS, "help", "section")
"""XLSX columns of prose, read as Excel shows them (80%, 1.500.000 đ). Every other column — key,
type, correct, category, topic, difficulty, required, a plugin's own codes — holds a code: a whole
number there is read as its digits, any other number or a date is a bad row (:func:`cell_code`)."""


class CellError(ValueError):
    """A spreadsheet cell that cannot be read as the person meant it (Vietnamese message; the
    caller names the column and the line)."""


def read_rows(path: str | Path, *, displayed: Sequence[str] = DISPLAYED_COLUMNS,
              limits: ImportLimits = DEFAULT_LIMITS, columns: Sequence[str] = IMPORT_COLUMNS,
              headings: Mapping[str, str] | None = None) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV (UTF-8, BOM or not) or XLSX file with their line numbers, keyed by the
    header row's names (lower-cased, trimmed). XLSX needs openpyxl (installed with the plugins
    that import spreadsheets).

    Header cells name ``columns`` by their own names or by the headings offices write, with or
    without diacritics ("Câu hỏi", "Phuong an A", "Đáp án": :func:`column_of_heading`; ``headings``
    adds a plugin's own, folded); rows are keyed by the column, and each row's ``__headings__``
    maps a column to the heading as the file wrote it, for messages. A heading that names no
    column is kept as written (lower case), for :func:`check_header` to report.

    In an XLSX, the ``displayed`` columns are read as Excel shows them (:func:`cell_text`), the
    others as codes (:func:`cell_code`). A cell that cannot be read either way makes its row
    bad: the row carries ``__bad__``, the message with the column, which
    :func:`questions_from_rows` reports with the line.

    The file is measured against ``limits`` before it is parsed (its size; an XLSX's zip
    directory) and while it is read (rows, columns, cell length; an XLSX's declared dimension is
    never trusted): a file over a limit raises :class:`QuestionError` naming the file and the
    limit (:mod:`ccch_core.limits`)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return _read_xlsx(path, displayed, limits, columns, headings)
        raw = read_limited(path, path.name, limits)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise QuestionError(f"{path.name}: không phải văn bản UTF-8 (byte thứ {exc.start}); hãy lưu tệp "
                                "dưới dạng “CSV UTF-8”") from None
        rows = csv_records(text, path.name, limits)
    except LimitError as exc:
        raise QuestionError(str(exc)) from None
    return _rows_with_header(rows, path.name, start_line=1, columns=columns, headings=headings)


def _header_columns(texts: Sequence[str], columns: Sequence[str], headings: Mapping[str, str] | None
                    ) -> tuple[list[str], dict[str, str]]:
    """(the column each header cell names — or the cell lower-cased —, {column: heading as written}).
    A second cell naming a column already named keeps its own text (reported as unknown)."""
    keys: list[str] = []
    written: dict[str, str] = {}
    for text in texts:
        heading = clean(text)
        column = column_of_heading(heading, columns, headings) if heading else None
        if column is None or column in written:
            keys.append(heading.casefold())
        else:
            keys.append(column)
            written[column] = heading
    return keys, written


def _read_xlsx(path: Path, displayed: Sequence[str], limits: ImportLimits, columns: Sequence[str] = IMPORT_COLUMNS,
               headings: Mapping[str, str] | None = None) -> list[tuple[int, dict[str, str]]]:
    try:
        import openpyxl  # noqa: F401 - only to say what to install
    except ImportError:  # pragma: no cover - openpyxl comes with the plugins that need it
        raise QuestionError("cần cài openpyxl để đọc tệp .xlsx: pip install openpyxl") from None
    try:
        workbook = open_xlsx(path, path.name, limits)
    except LimitError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise QuestionError(f"{path.name}: không đọc được tệp XLSX ({type(exc).__name__})") from None
    shown = set(displayed)
    rows: list[list[str]] = []
    bad: dict[int, str] = {}
    header: list[str] = []
    names: dict[int, str] = {}
    try:
        sheet = workbook.worksheets[0]
        for line, row in xlsx_rows(sheet, path.name, limits, names):
            if line == 1:
                texts = [clean(_header_text(cell)) for cell in row]
                header, _ = _header_columns(texts, columns, headings)
                names.update((i, name) for i, name in enumerate(texts) if name)
                rows.append(texts)
                continue
            texts, problems = [], []
            for column, cell in enumerate(row):
                name = header[column] if column < len(header) else ""
                try:
                    texts.append(cell_text(cell) if name in shown else cell_code(cell))
                except CellError as exc:
                    texts.append(str(cell.value))  # the row is not blank: it is reported
                    problems.append(f"cột {name or column + 1}: {exc}")
            rows.append(texts)
            if problems:
                bad[line] = "; ".join(problems)
    except LimitError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged sheet fails while it is read, in many ways
        raise QuestionError(f"{path.name}: không đọc được tệp XLSX ({type(exc).__name__})") from None
    finally:
        workbook.close()
    return _rows_with_header(rows, path.name, start_line=1, bad=bad, columns=columns, headings=headings)


def _header_text(cell) -> str:
    value = cell.value
    return "" if value is None else value if isinstance(value, str) else str(value)


def _excel_decimal(value: float) -> decimal.Decimal:
    """A cell's number as Excel holds it: 15 significant digits (0.1 + 0.2 is 0.3)."""
    if isinstance(value, int):
        return decimal.Decimal(value)
    return decimal.Decimal(f"{value:.15g}")


def _date_value_text(value: dt.date | dt.time | dt.timedelta) -> str:
    """A date or time for a message, whatever its cell's format: 20/01/2024, 07:30:15."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    return str(value)


# Built-in formats Excel shows in the computer's own short-date style (numFmtId 14 and 22; openpyxl
# names them "mm-dd-yy" and "m/d/yy h:mm"): a Vietnamese Windows shows day/month/year.
_SYSTEM_DATE_FORMATS = {14: "dd/mm/yyyy", 22: "dd/mm/yyyy h:mm"}


def _date_tokens(section: str) -> list[tuple[str, str]] | None:
    """A date/time format section as (kind, text) tokens — ``code`` (d, dd, m, mm, yy, yyyy, h, hh,
    s, ss, lower-cased), ``ampm`` or ``literal`` — or None when it has something not rendered
    faithfully here: month or weekday names (mmm, dddd: they follow Excel's language, which the
    file does not say), tenths of a second, A/P, elapsed time, conditions, another locale's AM/PM,
    the system's long date ([$-F800]), eras, number placeholders."""
    tokens: list[tuple[str, str]] = []
    locale = ""
    i = 0
    while i < len(section):
        ch = section[i]
        lower = ch.lower()
        if ch == '"':
            end = section.find('"', i + 1)
            end = len(section) if end < 0 else end
            tokens.append(("literal", section[i + 1:end]))
            i = end + 1
        elif ch == "\\":
            tokens.append(("literal", section[i + 1:i + 2]))
            i += 2
        elif ch == "_":
            tokens.append(("literal", " "))
            i += 2
        elif ch == "*":
            i += 2
        elif ch == "[":
            end = section.find("]", i)
            tag = section[i + 1:end if end >= 0 else len(section)]
            i = (end if end >= 0 else len(section)) + 1
            if tag.startswith("$"):       # [$₫-42A], [$-409]: a symbol and a locale
                symbol, _, locale = tag[1:].partition("-")
                if symbol:
                    tokens.append(("literal", symbol))
                if locale.upper().lstrip("0") in ("F800", "F400") or locale.lower().startswith("x-"):
                    return None           # the system's long date or time: its layout is unknown
            elif not (tag.casefold() in _COLOURS or re.fullmatch(r"(?i)colou?r\s*\d+", tag)):
                return None               # [h] elapsed time, [>=100] conditions
        elif section[i:i + 5].casefold() == "am/pm":
            # Another locale's tag ([$-42A]) shows its own words (SA/CH): not known here.
            if locale and locale.upper().lstrip("0") not in ("409", "809"):
                return None
            tokens.append(("ampm", ""))
            i += 5
        elif lower in "ymdhs":
            run = len(section[i:]) - len(section[i:].lstrip(ch))
            tokens.append(("code", lower * run))
            i += run
        elif ch == "." and section[i + 1:i + 2] == "0":
            return None                   # tenths of a second
        elif ch in _PLAIN_LITERALS or ch in ".," or not ch.isascii():
            tokens.append(("literal", ch))
            i += 1
        else:                             # A/P, e (era), b (Buddhist year), 0 # ?, @, General
            return None
    codes = [index for index, (kind, _) in enumerate(tokens) if kind == "code"]
    for position, index in enumerate(codes):
        code = tokens[index][1]
        if code[0] == "m" and len(code) <= 2:
            # m is the minute right after an hour or right before seconds, else the month.
            before = tokens[codes[position - 1]][1] if position else ""
            after = tokens[codes[position + 1]][1] if position + 1 < len(codes) else ""
            if before.startswith("h") or after.startswith("s"):
                tokens[index] = ("code", "n" * len(code))   # n: minutes
        elif code not in ("d", "dd", "m", "mm", "yy", "yyyy", "h", "hh", "s", "ss"):
            return None                   # mmm, dddd: names; y, yyy, hhh…: not guessed
    return tokens


def _date_text(value: dt.date | dt.time, number_format: str | None, builtin: int | None = None) -> str:
    """A date or time as Excel shows it under ``number_format`` (``builtin``: the format's
    built-in number, when known): day, month, two- or four-digit year, hour (12-hour with AM/PM),
    minutes and seconds, with the format's own separators and text; the built-in short date shows
    day/month/year. A format it cannot show faithfully (month or weekday names, tenths of a second,
    elapsed time…) raises :class:`CellError` rather than give another value."""
    number_format = _SYSTEM_DATE_FORMATS.get(builtin, number_format) if builtin is not None else number_format
    tokens = _date_tokens(_sections(number_format or "General")[0])
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        moment = None
    time = value.time() if isinstance(value, dt.datetime) else value if isinstance(value, dt.time) else dt.time()
    shows_date = tokens is not None and any(kind == "code" and text[0] in "dmy" for kind, text in tokens)
    if tokens is None or not any(kind == "code" for kind, _ in tokens) or time.microsecond \
            or (shows_date and moment is None):
        # A time alone under a date format shows Excel's day 0 (00/01/1900); parts of a second
        # are rounded in ways not reproduced here.
        raise CellError(f"định dạng ngày giờ “{number_format}” (giá trị {_date_value_text(value)}) chưa hỗ trợ; "
                        "hãy định dạng ô là Văn bản (Text) và gõ nội dung đúng như muốn hiển thị")
    twelve = any(kind == "ampm" for kind, _ in tokens)
    hour = (time.hour % 12 or 12) if twelve else time.hour
    parts = {"d": moment.day if moment else 0, "m": moment.month if moment else 0, "h": hour,
             "n": time.minute, "s": time.second}
    out = []
    for kind, text in tokens:
        if kind == "literal":
            out.append(text)
        elif kind == "ampm":
            out.append("AM" if time.hour < 12 else "PM")
        elif text == "yyyy":
            out.append(f"{moment.year:04d}")
        elif text == "yy":
            out.append(f"{moment.year % 100:02d}")
        else:
            number = parts[text[0]]
            out.append(f"{number:02d}" if len(text) == 2 else str(number))
    return "".join(out).strip()


def _builtin_format(cell) -> int | None:
    """The built-in number of the cell's format (14 is the system's short date), if openpyxl says."""
    try:
        number = cell.style_array.numFmtId   # a read-only cell (what read_rows reads)
    except AttributeError:
        # A cell of a workbook opened for editing does not say: openpyxl's names of 14 and 22.
        return {"mm-dd-yy": 14, "m/d/yy h:mm": 22}.get(cell.number_format)
    return number if isinstance(number, int) and number < 164 else None


# The largest whole number a code may be typed as: Excel keeps 15 significant digits.
_CODE_NUMBER_LIMIT = decimal.Decimal(10) ** 15


def _literal(value) -> str | None:
    """An empty, text or logical cell as read in every column; None for a number, date or time."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return None


def cell_code(cell) -> str:
    """A worksheet cell of a code column (key, topic, correct…) as its plain value, never through
    number formatting: 15.0 is "15", whatever the cell's format. Only a whole number below 10^15
    is read: a decimal (a topic shown 1.10 is the number 1.1, which may be another topic) or a
    longer number (Excel keeps 15 digits) raises :class:`CellError`, and so does a date or time
    (what Excel made of a code such as 1.3: 1 March in a Vietnamese Excel) — the column must be
    Text."""
    value = cell.value
    literal = _literal(value)
    if literal is not None:
        return literal
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        kind = "giờ" if isinstance(value, (dt.time, dt.timedelta)) else "ngày tháng"
        raise CellError(f"Excel đã hiểu giá trị là {kind} ({_date_value_text(value)}); hãy định dạng "
                        "cột này là Văn bản (Text) rồi gõ lại giá trị")
    if isinstance(value, (int, float)):
        number = _excel_decimal(value)
        if number == number.to_integral_value() and abs(number) < _CODE_NUMBER_LIMIT:
            digits = _plain_number(number)
            fmt = cell.number_format or "General"
            if fmt != "General":
                # A whole number shown otherwise (001 under "000") was meant as what is shown:
                # reading its digits would silently change the code.
                try:
                    shown = format_number(value, fmt)
                except CellError:
                    shown = digits
                # Grouping marks and a zero decimal part (21,00 under "0.00") change nothing; padding
                # (001) or text around the number does.
                if re.sub(r",0*$", "", shown.strip().replace(".", "")) != digits:
                    raise CellError(f"Excel hiện “{shown}” nhưng ô chứa số {digits}; hãy định dạng cột này là "
                                    "Văn bản (Text) rồi gõ lại giá trị")
            return digits
        try:
            shown = format_number(value, cell.number_format or "General")
        except CellError:
            shown = _plain_number(number)
        if abs(number) >= _CODE_NUMBER_LIMIT:
            why = "từ 16 chữ số trở lên, Excel chỉ giữ 15 chữ số đầu"
        else:
            why = "có phần thập phân, không đọc chắc chắn được như một mã (với Excel, 1.10 và 1.1 là một số)"
        raise CellError(f"“{shown}” là một số {why}; hãy định dạng cột này là Văn bản (Text) rồi gõ lại giá trị")
    return str(value)


def cell_text(cell) -> str:
    """A worksheet cell of a prose column (prompt, options, help) as the person sees it in
    Excel, not its raw value: 80% not 0.8, 20/01/2024 (day/month/year) not 2024-01-20 00:00:00,
    15 not 15.0, 001 for 1 formatted "000", 5 điểm for 5 formatted ``0" điểm"``, with Vietnamese
    marks (1.500.000, 2,5). See :func:`format_number` for the number formats read and
    :func:`_date_text` for dates and times; a format it cannot show faithfully raises
    :class:`CellError`."""
    value = cell.value
    literal = _literal(value)
    if literal is not None:
        return literal
    if isinstance(value, dt.timedelta):
        raise _unsupported(cell.number_format, None)
    if isinstance(value, (dt.date, dt.time)):
        return _date_text(value, cell.number_format, _builtin_format(cell))
    if isinstance(value, (int, float)):
        return format_number(value, cell.number_format or "General")
    return str(value)


def _strip_literals(number_format: str | None) -> str:
    """A format's first section without quoted text, escapes and [tags] (to look for codes)."""
    section = _sections(number_format or "General")[0]
    return re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.', "", section)


def _unsupported(number_format: str | None, value: decimal.Decimal | None) -> CellError:
    shown = f" (giá trị {_vn_number(value)})" if value is not None else ""
    return CellError(f"định dạng số “{number_format}”{shown} chưa hỗ trợ; hãy định dạng ô là Văn bản (Text) và gõ "
                     "nội dung đúng như muốn hiển thị")


# Excel's own bound on a number format code. The format comes from the file's styles, so a longer
# one was written by something else; the readers below are quadratic in it and run for every cell.
MAX_FORMAT_CHARS = 255


def _sections(number_format: str) -> list[str]:
    """The ;-separated sections of a format (a ; inside quotes, after \\ or in [] is text)."""
    if len(number_format) > MAX_FORMAT_CHARS:
        raise CellError(f"định dạng số của ô dài {_group_thousands(str(len(number_format)))} ký tự, quá "
                        f"{MAX_FORMAT_CHARS} ký tự Excel cho phép; hãy định dạng ô là Văn bản (Text)")
    sections, current, quoted, i = [], "", False, 0
    while i < len(number_format):
        ch = number_format[i]
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "\\_*" and i + 1 < len(number_format):
            current += number_format[i:i + 2]
            i += 2
            continue
        elif ch == ";" and not quoted:
            sections.append(current)
            current, i = "", i + 1
            continue
        current += ch
        i += 1
    return [*sections, current]


_COLOURS = {"black", "blue", "cyan", "green", "magenta", "red", "white", "yellow"}
# Characters Excel shows as themselves without quotes (and any non-ASCII one: ₫, €, đ).
_PLAIN_LITERALS = set(" $-+/():!^&'~{}<>=")


def _tokens(section: str) -> list[tuple[str, str]] | None:
    """A format section as (kind, text) tokens — digit (0 # ?), point, comma, percent, general,
    literal — or None when it has something not rendered here (an exponent, a fraction, a
    condition, a date or time code, elapsed time)."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            end = section.find('"', i + 1)
            end = len(section) if end < 0 else end
            tokens.append(("literal", section[i + 1:end]))
            i = end + 1
            continue
        if ch == "\\":
            tokens.append(("literal", section[i + 1:i + 2]))
            i += 2
            continue
        if ch == "_":   # room for the next character: a space on screen
            tokens.append(("literal", " "))
            i += 2
            continue
        if ch == "*":   # fill the cell with the next character: nothing to read
            i += 2
            continue
        if ch == "[":
            end = section.find("]", i)
            tag = section[i + 1:end if end >= 0 else len(section)]
            i = (end if end >= 0 else len(section)) + 1
            if tag.startswith("$"):       # [$₫-42A]: a currency symbol and a locale
                tokens.append(("literal", tag[1:].split("-")[0]))
            elif tag.casefold() in _COLOURS or re.fullmatch(r"(?i)colou?r\s*\d+", tag):
                pass
            else:                         # [>=100] conditions, [h] elapsed time
                return None
            continue
        if section[i:i + 7].casefold() == "general":
            tokens.append(("general", ""))
            i += 7
            continue
        if ch in "0#?":
            tokens.append(("digit", ch))
        elif ch == ".":
            tokens.append(("point", ch))
        elif ch == ",":
            tokens.append(("comma", ch))
        elif ch == "%":
            tokens.append(("percent", ch))
        elif ch == "@":                   # a number in a Text cell: Excel shows it as General
            tokens.append(("general", ""))
        elif ch == "/" and any(c in "0#?" for c in section[i + 1:]):
            return None                   # a fraction (# ?/?)
        elif ch in _PLAIN_LITERALS or not ch.isascii():
            tokens.append(("literal", ch))
        else:                             # E+ exponents, date and time codes, other letters
            return None
        i += 1
    return tokens


def _round(number: decimal.Decimal, places: int) -> decimal.Decimal:
    # Excel rounds halves away from zero (2.5 → 3, 0.125 → 0.13); round() would round to even.
    return number.quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)


def _general(number: decimal.Decimal) -> str | None:
    """General: a number in the 11 characters Excel gives it, without grouping — a whole number
    whole (15), a fraction to the digits that fit (0,333333333) — or None where Excel switches
    to an exponent (12 digits and more, such as a citizen ID typed as a number, or below 0,0001)."""
    magnitude = abs(number)
    if magnitude >= decimal.Decimal("1e11") or (magnitude and magnitude < decimal.Decimal("1e-4")):
        return None
    places = max(10 - len(str(int(magnitude))), 0)
    return _plain_number(_round(number, places)).replace(".", ",")


def format_number(value: float, number_format: str) -> str:
    """``value`` as Excel shows it under ``number_format``, with Vietnamese marks ("," before the
    decimals, "." between thousands): sections for positive;negative;zero, halves rounded away
    from zero, 0/#/? placeholders (zero padding: 1 under "000" is 001), thousands grouping,
    percentages, quoted or \\-escaped text and currency tags (``0" điểm"`` → 5 điểm,
    ``#,##0 [$₫-42A]`` → 1.500.000 ₫), colours and padding. A format it cannot show faithfully
    (exponents, fractions, conditions, scaling by thousands, elapsed time) raises
    :class:`CellError` rather than give another value."""
    number = _excel_decimal(value)
    sections = _sections(number_format or "General")
    if number == 0 and len(sections) >= 3:
        section, sign = sections[2], ""
    elif number < 0 and len(sections) >= 2:
        section, sign = sections[1], ""   # the negative section writes its own sign, if any
        number = -number
    else:
        section, sign = sections[0], ""
        if number < 0:
            sign, number = "-", -number
    tokens = _tokens(section)
    if tokens is None:
        raise _unsupported(number_format, _excel_decimal(value))
    kinds = [kind for kind, _ in tokens]
    if "general" in kinds:
        if "digit" in kinds:
            raise _unsupported(number_format, _excel_decimal(value))
        general = _general(number)
        if general is None:
            raise _unsupported(number_format, _excel_decimal(value))
        return (sign + "".join(general if kind == "general" else text for kind, text in tokens)).strip()
    if "digit" not in kinds:   # a format of text only ("không", or ;;; that hides the value)
        return "".join("%" if kind == "percent" else text for kind, text in tokens).strip()
    number *= 100 ** kinds.count("percent")
    point = kinds.index("point") if "point" in kinds else len(tokens)
    if "point" in kinds[point + 1:]:
        raise _unsupported(number_format, _excel_decimal(value))
    integer_tokens, fraction_tokens = tokens[:point], tokens[point + 1:]
    integer_digits = [i for i, (kind, _) in enumerate(integer_tokens) if kind == "digit"]
    commas = [i for i, (kind, _) in enumerate(integer_tokens) if kind == "comma"]
    if any(kind == "comma" for kind, _ in fraction_tokens):
        raise _unsupported(number_format, _excel_decimal(value))
    grouped = False
    for i in commas:
        if integer_digits and integer_digits[0] < i < integer_digits[-1]:
            grouped = True
        else:   # a comma after the last digit scales by a thousand; one before the digits is odd
            raise _unsupported(number_format, _excel_decimal(value))
    if grouped and any(kind == "literal" for kind, _ in integer_tokens[integer_digits[0]:integer_digits[-1]]):
        raise _unsupported(number_format, _excel_decimal(value))
    places = sum(1 for kind, _ in fraction_tokens if kind == "digit")
    whole, _, decimals = format(_round(number, places), "f").partition(".")
    whole = "" if whole == "0" else whole   # a 0 before the point shows only under a "0" placeholder

    # The integer part: placeholders take the digits from the right; the leftmost takes the rest.
    shown: dict[int, str] = {}
    remaining = whole
    for i in reversed(integer_digits):
        placeholder = integer_tokens[i][1]
        if i == integer_digits[0]:
            shown[i] = remaining or {"0": "0", "?": " ", "#": ""}[placeholder]
        elif remaining:
            shown[i], remaining = remaining[-1], remaining[:-1]
        else:
            shown[i] = {"0": "0", "?": " ", "#": ""}[placeholder]

    def outside(part: list[tuple[str, str]]) -> str:
        return "".join("%" if kind == "percent" else text for kind, text in part if kind in ("literal", "percent"))

    if grouped:   # no text between the digits (checked above): one run of digits to group
        run = "".join(shown[i] for i in integer_digits)
        core = run.lstrip(" ")
        integer_text = (outside(integer_tokens[:integer_digits[0]]) + run[:len(run) - len(core)]
                        + _group_thousands(core) + outside(integer_tokens[integer_digits[-1] + 1:]))
    else:
        integer_text = "".join(shown.get(i, "") if kind == "digit" else outside([(kind, text)])
                               for i, (kind, text) in enumerate(integer_tokens))

    # The decimals: placeholders take the digits from the left; trailing zeros under # go, under ? become spaces.
    fraction_pieces: list[str] = []
    digit_positions = []
    position = 0
    for kind, text in fraction_tokens:
        if kind == "digit":
            fraction_pieces.append(decimals[position])
            digit_positions.append((len(fraction_pieces) - 1, text))
            position += 1
        else:
            fraction_pieces.append("%" if kind == "percent" else text)
    for index, placeholder in reversed(digit_positions):
        if placeholder == "0" or fraction_pieces[index] != "0":
            break
        fraction_pieces[index] = " " if placeholder == "?" else ""
    text = integer_text + ("," if point < len(tokens) else "") + "".join(fraction_pieces)
    return (sign + text).strip()


def _rows_with_header(rows: list[list[str]], name: str, start_line: int,
                      bad: Mapping[int, str] | None = None, columns: Sequence[str] = IMPORT_COLUMNS,
                      headings: Mapping[str, str] | None = None) -> list[tuple[int, dict[str, str]]]:
    if not rows:
        raise QuestionError(f"{name}: tệp không có dữ liệu")
    header, written = _header_columns(rows[0], columns, headings)
    result = []
    for offset, row in enumerate(rows[1:], start=start_line + 1):
        if not any(clean(cell) for cell in row):
            continue  # blank line
        # Every header column is in every row (a short CSV row has the rest empty), so a missing
        # column is seen from the rows alone.
        values = {name: "" for name in header if name}
        values.update({header[i]: clean(cell) for i, cell in enumerate(row) if i < len(header) and header[i]})
        if len(row) > len(header) and any(clean(c) for c in row[len(header):]):
            values["__extra__"] = "x"
        if bad and offset in bad:
            values["__bad__"] = bad[offset]
        values["__headings__"] = written  # one dict shared by every row
        result.append((offset, values))
    return result


def check_header(rows: list[tuple[int, dict[str, str]]], columns: Sequence[str] = IMPORT_COLUMNS) -> list[str]:
    """Unknown column names in the rows (a typo in the header must not silently drop a column)."""
    seen: set[str] = set()
    for _, row in rows:
        seen.update(row)
    return sorted(c for c in seen if c not in columns and not c.startswith("__"))


def missing_columns(rows: list[tuple[int, dict[str, str]]], required: Sequence[str] = REQUIRED_COLUMNS) -> list[str]:
    """Required column names no row has (rows of :func:`read_rows` carry every header column)."""
    seen: set[str] = set()
    for _, row in rows:
        seen.update(row)
    return [c for c in required if c not in seen] if rows else []


def header_problem(rows: list[tuple[int, dict[str, str]]], columns: Sequence[str] = IMPORT_COLUMNS,
                   required: Sequence[str] = REQUIRED_COLUMNS, labels: Mapping[str, str] | None = None) -> str | None:
    """A Vietnamese message for a header with unknown or missing columns, or None when it is
    right. A header problem concerns the whole file: the caller imports nothing, whatever the
    options (skipping "bad rows" would skip every row)."""
    unknown = check_header(rows, columns)
    missing = missing_columns(rows, required)
    parts = []
    if unknown:
        parts.append(f"cột không có trong mẫu: {', '.join(unknown)}")
    names = {**HEADING_LABELS, **(labels or {})}
    if missing:
        parts.append(f"thiếu cột bắt buộc: {', '.join(names.get(c, c) for c in missing)}")
    if not parts:
        return None
    return (f"dòng tiêu đề sai ({'; '.join(parts)}). Các cột của mẫu: {', '.join(names.get(c, c) for c in columns)}. "
            "Sửa dòng tiêu đề rồi nhập lại; chưa nhập câu nào")


def _yes(value: str, default: bool) -> bool:
    if not value:
        return default
    return clean(value).casefold() in ("1", "yes", "y", "true", "có", "co", "x", "bắt buộc", "bat buoc")


def column_name(row: Mapping[str, Any], column: str) -> str:
    """How a message names ``column`` of an import row: "cột “Đáp án”" as the file wrote its
    heading, or "cột correct" when the row has no header (or the file used the column's name)."""
    written = (row.get("__headings__") or {}).get(column)
    return f"cột “{written}”" if written and written != column else f"cột {column}"


def question_from_row(row: Mapping[str, str], auto_key: str) -> Question:
    """One question from an import row (see the module docstring for the columns).

    ``correct`` is the option letters ("A", "A;C") for single and multiple choice, "Đúng"/"Sai"
    for true/false. ``key`` defaults to ``auto_key``.
    """
    if row.get("__bad__"):
        raise QuestionError(row["__bad__"])
    if row.get("__extra__"):
        raise QuestionError("dòng có nhiều ô hơn số cột của dòng tiêu đề")
    qtype = type_of(row.get("type", "")) if clean(row.get("type", "")) else QuestionType.SINGLE
    if qtype is None:
        raise QuestionError(f"{column_name(row, 'type')}: {row.get('type')!r} không phải loại câu hỏi hợp lệ "
                            f"(một trong: {', '.join(q.label_vi for q in QuestionType)})")
    options = [Option(column[-1], row[column]) for column in OPTION_COLUMNS if row.get(column)]
    letters = [column[-1] for column in OPTION_COLUMNS]
    gaps = [c for c in OPTION_COLUMNS[: len(options)] if not row.get(c)]
    if gaps:
        raise QuestionError(f"{', '.join(column_name(row, c) for c in gaps)} (phương án "
                            f"{', '.join(c[-1].upper() for c in gaps)}) để trống "
                            "trong khi phương án sau có nội dung; điền liên tục từ phương án A")
    correct_text = clean(row.get("correct", ""))
    correct: list[str] = []
    if correct_text:
        if qtype is QuestionType.TRUE_FALSE:
            key = correct_text.casefold()
            mapping = {"đúng": "dung", "dung": "dung", "true": "dung", "sai": "sai", "false": "sai"}
            if key not in mapping:
                raise QuestionError(f"{column_name(row, 'correct')}: {correct_text!r} không hợp lệ; câu Đúng/Sai "
                                    "ghi “Đúng” hoặc “Sai”")
            correct = [mapping[key]]
        else:
            for part in re.split(r"[;,\s]+", correct_text):
                letter = part.strip().lower().rstrip(".)")  # "A." and "a)" as offices write them
                if letter not in letters[: len(options)]:
                    filled = ", ".join(letters[: len(options)]).upper() or "chưa điền phương án nào"
                    raise QuestionError(f"{column_name(row, 'correct')}: {part!r} không phải chữ cái của một "
                                        "phương án đã điền "
                                        f"({filled})")
                correct.append(letter)
    difficulty = row.get("difficulty") or None
    if difficulty is not None:
        try:
            difficulty = int(difficulty)
        except ValueError:
            raise QuestionError(f"{column_name(row, 'difficulty')}: {difficulty!r} không phải số nguyên từ 1 "
                                "đến 5") from None
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
            topic=row.get("topic") or None,
            difficulty=difficulty,
            correct=correct,
        )
    except QuestionError as exc:
        raise QuestionError(exc.detail) from None


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
            problems.append(RowProblem(line, f"cột key: mã {question.key!r} trùng với dòng {seen[question.key]}"))
            continue
        if require_correct and question.type.has_options and not question.correct:
            problems.append(RowProblem(line, f"chưa có đáp án đúng ({column_name(row, 'correct')})"))
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
               category=question.category or "", topic=question.topic or "", help=question.help or "",
               section=question.section or "",
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
