"""Survey definitions: what a survey asks, loaded from TOML or edited in the web UI, versioned.

A survey file (UTF-8 TOML; the SIPAS-style template ships as ``ccch survey load --template sipas``)::

    id = "sipas"
    title = "Khảo sát sự hài lòng …"
    intro = "…"                 # optional, shown above the questions
    thanks = "…"                # optional, the thank-you page's text
    ask_contact = false         # offer optional contact details (only with consent)

    [[questions]]
    key = "tiep-can.1"          # stable: answers are stored by question key and option key
    section = "1. Tiếp cận dịch vụ"
    type = "scale5"             # scale5, single, multiple, true_false, short_text, long_text, number
    prompt = "…"

    [reworded]                  # optional, for one save only: option labels whose wording was
    "kenh"."b" = "Zalo"         # fixed without changing their meaning ("question"."option" = old label)

Questions use the shared question model (:mod:`ccch_core.questions`). A definition is stored as
a new *version* whenever it changes; each response names the version it answered, and answers are
kept as question and option keys, so labels always come from the version the citizen saw. Results
pool answers by key across versions, so :func:`check_evolution` refuses a version in which a key
changes meaning: a question key its type, an option key its label (unless ``[reworded]`` confirms
a wording fix).

Every problem is reported in Vietnamese, prefixed by where it is (file, field, question number).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ccch_core.limits import (
    DEFAULT_LIMITS,
    ImportLimits,
    LimitError,
    loads_toml,
    read_limited,
)
from ccch_core.questions import (
    Question,
    QuestionError,
    QuestionType,
    question_from_dict,
)
from ccch_core.text import clean

SURVEY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_QUESTIONS = 60
TOP_KEYS = {"id", "title", "intro", "thanks", "ask_contact", "questions", "reworded"}


class DefinitionError(ValueError):
    """A survey definition with problems; ``problems`` lists every one (where: what)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@attrs.frozen
class SurveyDefinition:
    """One version of a survey's content."""

    id: str
    title: str
    questions: tuple[Question, ...] = attrs.field(converter=tuple)
    intro: str | None = None
    thanks: str | None = None
    ask_contact: bool = False
    reworded: frozenset[tuple[str, str, str]] = attrs.field(default=frozenset(), converter=frozenset, eq=False)
    """(question key, option key, old label) triples from ``[reworded]``: the author confirms these
    options were only reworded. A statement about one edit, not part of the survey: it is neither
    stored, nor fingerprinted, nor written back by :meth:`to_toml`."""

    def question(self, key: str) -> Question:
        """The question with ``key`` (KeyError if this version has none)."""
        for question in self.questions:
            if question.key == key:
                return question
        raise KeyError(key)

    def has_question(self, key: str) -> bool:
        """Whether this version asks ``key``."""
        return any(q.key == key for q in self.questions)

    @property
    def scale_questions(self) -> tuple[Question, ...]:
        """The satisfaction-scale questions (the criteria of the index)."""
        return tuple(q for q in self.questions if q.type is QuestionType.SCALE5)

    def sections(self) -> list[tuple[str | None, list[Question]]]:
        """Questions grouped by section title, in the order they first appear."""
        groups: list[tuple[str | None, list[Question]]] = []
        for question in self.questions:
            if groups and groups[-1][0] == question.section:
                groups[-1][1].append(question)
            else:
                groups.append((question.section, [question]))
        return groups

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form; options are always written out (scale labels included), so a stored
        version never depends on defaults that could change later."""
        questions = []
        for q in self.questions:
            data = q.to_dict()
            if q.type.has_options:
                data["options"] = [{"key": o.key, "label": o.label} for o in q.options]
            questions.append(data)
        data: dict[str, Any] = {"id": self.id, "title": self.title, "questions": questions}
        if self.intro:
            data["intro"] = self.intro
        if self.thanks:
            data["thanks"] = self.thanks
        if self.ask_contact:
            data["ask_contact"] = True
        return data

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): what is stored and fingerprinted."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON: equal content, equal fingerprint (computed once)."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def to_toml(self) -> str:
        """The definition as a survey file (for the editor and ``ccch survey show --toml``)."""
        lines = [f"id = {_q(self.id)}", f"title = {_q(self.title)}"]
        if self.intro:
            lines.append(f"intro = {_q(self.intro)}")
        if self.thanks:
            lines.append(f"thanks = {_q(self.thanks)}")
        lines.append(f"ask_contact = {'true' if self.ask_contact else 'false'}")
        for q in self.questions:
            lines += ["", "[[questions]]", f"key = {_q(q.key)}"]
            if q.section:
                lines.append(f"section = {_q(q.section)}")
            lines += [f"type = {_q(q.type.value)}", f"prompt = {_q(q.prompt)}"]
            if q.help:
                lines.append(f"help = {_q(q.help)}")
            if not q.required:
                lines.append("required = false")
            if q.type in (QuestionType.SINGLE, QuestionType.MULTIPLE) or q.options != Question(
                    key=q.key, type=q.type, prompt=q.prompt).options:  # scale, true/false: relabelled options
                options = ", ".join(f"{{ key = {_q(o.key)}, label = {_q(o.label)} }}" for o in q.options)
                lines.append(f"options = [{options}]")
            for name in ("min_value", "max_value", "max_length"):
                value = getattr(q, name)
                if value is not None:
                    lines.append(f"{name} = {value!r}")
        return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def definition_from_dict(data: Mapping[str, Any], where: str = "survey", *, stored: bool = False) -> SurveyDefinition:
    """Build and check a definition; raises :class:`DefinitionError` listing every problem, each
    in Vietnamese and prefixed by where it is (``where``, then the field or question number).

    A question's ``topic`` (a plan content topic, which the shared question model accepts for the
    contest) is refused: a survey neither uses nor checks it, and ``to_toml`` would drop it. Only
    ``stored`` versions, saved before it was refused, may still carry one."""
    problems: list[str] = []
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        problems.append(f"{where}: không có trường {', '.join(unknown)} "
                        f"(các trường dùng được: {', '.join(sorted(TOP_KEYS))})")
    survey_id = data.get("id")
    if not isinstance(survey_id, str) or not SURVEY_ID.match(survey_id):
        problems.append(f"{where}.id: {survey_id!r} không hợp lệ; id gồm 1–40 ký tự a-z, 0-9 và dấu '-', "
                        "bắt đầu bằng chữ hoặc số (ví dụ \"sipas-2024\")")
    title = clean(str(data.get("title") or ""))
    if not title:
        problems.append(f"{where}.title: thiếu tiêu đề khảo sát")
    for key in ("intro", "thanks"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{where}.{key}: phải là một chuỗi chữ trong dấu ngoặc kép, không phải {data[key]!r}")
    ask_contact = data.get("ask_contact", False)
    if not isinstance(ask_contact, bool):
        problems.append(f"{where}.ask_contact: phải là true hoặc false, không phải {ask_contact!r}")
    raw_questions = data.get("questions")
    questions: list[Question] = []
    if not isinstance(raw_questions, list) or not raw_questions:
        problems.append(f"{where}.questions: cần ít nhất một câu hỏi (một bảng [[questions]])")
        raw_questions = []
    if len(raw_questions) > MAX_QUESTIONS:
        problems.append(f"{where}.questions: có {len(raw_questions)} câu hỏi, tối đa {MAX_QUESTIONS} "
                        "(khảo sát qua poster chỉ nên mất vài phút)")
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_questions):
        qwhere = f"{where}.questions[{i + 1}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{qwhere}: phải là một bảng [[questions]] có key, type, prompt")
            continue
        if raw.get("correct"):
            problems.append(f"{qwhere}: câu hỏi khảo sát không có đáp án đúng (xóa dòng 'correct')")
            continue
        if "topic" in raw and not stored:
            key = raw.get("key")
            named = f" (key “{key}”)" if isinstance(key, str) and key else ""
            value = _q(raw["topic"]) if isinstance(raw["topic"], str) else repr(raw["topic"])
            problems.append(f"{qwhere}{named}: trường topic (chủ đề nội dung của kế hoạch) không dùng cho khảo "
                            f"sát; hãy xóa dòng topic = {value}")
        try:
            question = question_from_dict(raw, qwhere)
        except QuestionError as exc:
            problems.append(str(exc))
            continue
        if question.key in seen:
            problems.append(f"{qwhere}: key {question.key!r} trùng với câu hỏi thứ {seen[question.key]}; "
                            "mỗi câu hỏi cần một key riêng")
            continue
        seen[question.key] = i + 1
        questions.append(question)
    reworded = _reworded(data.get("reworded"), questions, f"{where}.reworded", problems) if "reworded" in data else ()
    if problems:
        raise DefinitionError(problems)
    return SurveyDefinition(
        id=survey_id,
        title=title,
        questions=tuple(questions),
        intro=clean(data["intro"]) if data.get("intro") else None,
        thanks=clean(data["thanks"]) if data.get("thanks") else None,
        ask_contact=ask_contact,
        reworded=reworded,
    )


def _reworded(raw: Any, questions: list[Question], where: str, problems: list[str]) -> list[tuple[str, str, str]]:
    """The ``[reworded]`` table as (question, option, old label) triples; each entry must name an
    option of this version, so a mistyped key is reported instead of silently confirming nothing."""
    form = '[reworded] rồi mỗi dòng "mã câu hỏi"."mã phương án" = "nhãn cũ"'
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: phải là một bảng: {form}")
        return []
    by_key = {q.key: q for q in questions}
    found = []
    for question_key, options in raw.items():
        question = by_key.get(question_key)
        if question is None or not question.type.has_options:
            problems.append(f"{where}: phiên bản này không có câu hỏi “{question_key}” có phương án để chọn")
            continue
        if not isinstance(options, Mapping):
            problems.append(f"{where}.{question_key}: viết theo mẫu {form}")
            continue
        for option_key, old_label in options.items():
            if not any(o.key == option_key for o in question.options):
                problems.append(f"{where}: câu hỏi “{question_key}” không có phương án “{option_key}” "
                                f"(các phương án: {', '.join(o.key for o in question.options)})")
            elif not isinstance(old_label, str):
                problems.append(f"{where}: “{question_key}”.“{option_key}” = {old_label!r} phải là nhãn cũ "
                                "của phương án, viết trong dấu ngoặc kép")
            else:
                found.append((question_key, option_key, clean(old_label)))
    return found


def loads_definition(text: str, where: str = "survey", *, limits: ImportLimits = DEFAULT_LIMITS) -> SurveyDefinition:
    """Parse survey TOML text; text over ``limits`` (size, nesting depth: ``[limits]`` of
    ``ccch.toml``) is refused before it is parsed."""
    try:
        data = loads_toml(text, where, limits)
    except LimitError as exc:
        raise DefinitionError([str(exc)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError([f"{where}: không đọc được nội dung TOML: {_toml_error_vi(exc, text)}"]) from None
    return definition_from_dict(data, where)


def load_definition(path: str | Path, *, limits: ImportLimits = DEFAULT_LIMITS) -> SurveyDefinition:
    """Read a survey file (over ``limits``: refused before it is parsed)."""
    path = Path(path)
    try:
        text = read_limited(path, path.name, limits).decode("utf-8")
    except FileNotFoundError:
        raise DefinitionError([f"{path}: không tìm thấy tệp"]) from None
    except LimitError as exc:
        raise DefinitionError([str(exc)]) from None
    except UnicodeDecodeError:
        raise DefinitionError([f"{path}: tệp không phải văn bản UTF-8 (hãy lưu lại tệp với mã hóa UTF-8)"]) from None
    return loads_definition(text, path.name, limits=limits)


def definition_from_json(text: str) -> SurveyDefinition:
    """Inverse of :meth:`SurveyDefinition.to_json` (stored versions)."""
    return definition_from_dict(json.loads(text), "phiên bản đã lưu", stored=True)


# tomllib's messages (CPython 3.11–3.13), in Vietnamese; anything else is shown as tomllib says it.
_TOML_MESSAGES = [
    (r"Invalid statement", "dòng này không phải một dòng TOML hợp lệ (mỗi dòng dạng tên = giá trị, hoặc [bảng])"),
    (r"Expected '=' after a key in a key/value pair", "thiếu dấu '=' sau tên trường"),
    (r"Invalid initial character for a key part", "tên trường bắt đầu bằng ký tự không hợp lệ"),
    (r"Invalid value", "giá trị không hợp lệ (chữ phải nằm trong dấu ngoặc kép; đúng/sai viết true/false)"),
    (r"Unterminated string", "chuỗi chữ chưa có dấu ngoặc kép đóng"),
    (r"Unclosed array", "danh sách […] chưa có dấu ']' đóng"),
    (r"Unclosed inline table", "bảng {{…}} chưa có dấu '}}' đóng"),
    (r"Expected '\]' at the end of a table declaration", "thiếu dấu ']' ở cuối tên bảng"),
    (r"Expected '\]\]' at the end of an array declaration", "thiếu ']]' ở cuối [[questions]]"),
    (r"Cannot overwrite a value", "một trường được khai báo hai lần"),
    (r"Expected newline or end of document after a statement", "sau giá trị còn chữ thừa (mỗi trường một dòng)"),
    (r"Cannot declare \('?(.*?)'?,?\) twice", "bảng [{0}] được khai báo hai lần"),
    (r"Cannot (?:mutate immutable|redefine) namespace (.*)", "không thể khai báo lại {0}"),
    (r"Duplicate inline table key (.*)", "trường {0} lặp lại trong cùng một bảng {{…}}"),
    (r"Unescaped '\\' in a string", "dấu '\\' trong chuỗi phải viết thành '\\\\'"),
    (r"Invalid hex value", "mã \\u… trong chuỗi không hợp lệ"),
    (r"Escaped character is not a Unicode scalar value", "mã \\u… trong chuỗi không phải một ký tự hợp lệ"),
    (r"Invalid date or datetime", "ngày hoặc giờ không hợp lệ"),
    (r"Illegal character '\\n'", "chuỗi chữ chưa có dấu ngoặc kép đóng trước khi xuống dòng"),
    (r"Illegal character (.*)", "ký tự {0} không được phép ở đây"),
    (r"Found invalid character (.*)", "ký tự {0} không hợp lệ ở đây"),
    (r"Expected (.*)", "thiếu {0}"),
]


def _toml_error_vi(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """A TOML syntax error in Vietnamese: where (line, column and the line itself) and what."""
    message = str(exc)
    where = ""
    match = re.search(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$", message)
    if match:
        message = message[:match.start()]
        if match[1]:
            lines = text.split("\n")  # tomllib counts "\n" only
            line = int(match[1])
            shown = lines[line - 1].strip() if line <= len(lines) else ""
            where = f"dòng {line}, cột {match[2]}" + (f" («{shown[:80]}»)" if shown else "") + ": "
        else:
            where = "cuối nội dung: "
    for pattern, vietnamese in _TOML_MESSAGES:
        found = re.fullmatch(pattern, message)
        if found:
            return where + vietnamese.format(*found.groups())
    return where + message


def _same_meaning(old: str, new: str) -> bool:
    """Labels that differ only in letter case or spacing say the same thing."""
    return " ".join(old.split()).casefold() == " ".join(new.split()).casefold()


def check_evolution(previous: list[SurveyDefinition], new: SurveyDefinition) -> list[str]:
    """Problems (in Vietnamese) with reusing keys across versions. Results and exports pool answers
    by question and option key across versions, so a key must keep its meaning:

    * a question key keeps its type (in every earlier version that asked it);
    * an option key keeps its label, compared with the latest earlier version that had the option
      (so a key dropped and later reused is checked too). Options written as plain labels are keyed
      a, b, c… by position, so inserting one in the middle would relabel every answer after it.
      A pure wording fix is accepted when ``new.reworded`` names the option with its current
      (old) label; case and spacing alone never count as a change.
    """
    problems = []
    for question in new.questions:
        earlier = [old.question(question.key) for old in previous if old.has_question(question.key)]
        changed = next((before for before in earlier if before.type is not question.type), None)
        if changed is not None:
            problems.append(
                f"Câu hỏi “{question.key}”: trước đây là loại {changed.type.value} ({changed.type.label_vi}), "
                f"nay là {question.type.value} ({question.type.label_vi}). Câu hỏi đổi loại cần một key mới; "
                "các câu trả lời cũ vẫn giữ key cũ."
            )
            continue
        if not question.type.has_options:
            continue
        last_label: dict[str, str] = {}
        for before in earlier:  # oldest first: the latest label of each option wins
            last_label.update((o.key, o.label) for o in before.options)
        new_key_of = {o.label: o.key for o in question.options}
        for option in question.options:
            old_label = last_label.get(option.key)
            if old_label is None or _same_meaning(old_label, option.label):
                continue
            if (question.key, option.key, old_label) in new.reworded:
                continue
            moved = new_key_of.get(old_label)
            problems.append(
                f"Câu hỏi “{question.key}”, phương án “{option.key}”: trước đây là “{old_label}”, "
                f"nay là “{option.label}”"
                + (f" (nhãn “{old_label}” nay nằm ở phương án “{moved}”: có lẽ một phương án đã được chèn vào giữa)"
                   if moved else "")
                + ". Câu trả lời đã có được lưu theo mã phương án, nên đổi nghĩa của một mã sẽ làm sai kết quả cũ. "
                "Phương án viết dạng nhãn trơn được đánh mã a, b, c… theo thứ tự: muốn thêm phương án thì thêm "
                "ở cuối danh sách, hoặc ghi mã cho từng phương án ({ key = \"…\", label = \"…\" }), giữ mã cũ cho "
                "phương án cũ và dùng mã mới cho phương án mới. Nếu chỉ sửa câu chữ mà nghĩa không đổi, thêm vào "
                f"cuối nội dung hai dòng: [reworded] và {_q(question.key)}.{_q(option.key)} = {_q(old_label)}"
            )
    return problems
