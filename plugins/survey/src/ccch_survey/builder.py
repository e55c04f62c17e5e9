"""The survey builder: a survey edited as a form of ordinary fields instead of TOML (issue #27).

An officer edits the title, intro, thanks and the contact offer, and one row per question
(order, section, type chosen in words, prompt, help, required, answer limits, and rows of option
labels). No code is ever shown or typed:

* a new question or option gets a key made here (``c1``, ``c2``… and ``a``, ``b``…), never used
  before by any version of the survey, so old answers can never be pooled with new ones;
* an existing question or option carries its key in a hidden field; a key the survey never had
  (a tampered field) is treated as new, and a question whose type changed gets a new key;
* an option whose label changed keeps its key only when the officer ticks "Chỉ sửa câu chữ,
  nghĩa không đổi" (it goes into ``reworded``, as ``[reworded]`` does in TOML); otherwise it
  becomes a new option with a new key, so earlier answers keep their old label; a label that says
  what an option of the question last said takes that option's key (reordered, or written again).

:func:`state_from_definition` and :func:`state_from_form` give the rows the template draws;
:func:`build` turns rows into a :class:`~ccch_survey.definition.SurveyDefinition` or a list of
problems, each named in words (which question, which field, what is wrong).
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ccch_core.inputs import parse_int
from ccch_core.questions import QuestionError, QuestionType, parse_vietnamese_number
from ccch_core.text import clean, slugify

from .definition import MAX_QUESTIONS, SURVEY_ID, DefinitionError, SurveyDefinition, definition_from_dict
from .store import MAX_FORM_BYTES, largest_submission_bytes

MAX_ROWS = MAX_QUESTIONS + 20
"""Question rows read from one form: enough to show 60+ questions back with the problem named."""
MAX_CHOICES = 26
"""Options of one question the builder accepts: as many as a survey file can list as plain labels
(a–z), so every survey loaded from TOML can be edited here."""
MAX_OPTION_ROWS = MAX_CHOICES + 2
BLANK_QUESTION_ROWS = 2
BLANK_OPTION_ROWS = 2
MAX_ORDER = 999
LIMITS = {"title": 200, "intro": 2000, "thanks": 2000, "note": 500, "section": 200, "prompt": 500, "help": 500,
          "label": 200, "number": 40}
MAX_TEXT_LENGTH = 20_000
"""Largest "số ký tự tối đa" of one text answer the builder accepts; the whole form must also stay
under the survey's payload limit (:data:`~ccch_survey.store.MAX_FORM_BYTES`), checked in words."""
FIELD_NAMES = {"title": "Tiêu đề", "intro": "Lời mở đầu", "thanks": "Lời cảm ơn", "note": "Ghi chú",
               "section": "Nhóm câu hỏi", "prompt": "Câu hỏi", "help": "Gợi ý", "label": "Phương án"}
TYPE_CHOICES = [
    (QuestionType.SCALE5.value, "Mức độ hài lòng (5 mức, từ Rất không hài lòng đến Rất hài lòng)"),
    (QuestionType.SINGLE.value, "Chọn một phương án"),
    (QuestionType.MULTIPLE.value, "Chọn nhiều phương án"),
    (QuestionType.TRUE_FALSE.value, "Đúng / Sai"),
    (QuestionType.SHORT_TEXT.value, "Trả lời ngắn (một dòng)"),
    (QuestionType.LONG_TEXT.value, "Trả lời dài (một đoạn)"),
    (QuestionType.NUMBER.value, "Một con số"),
]
"""The question types as an officer reads them (the value is sent, never shown)."""
TYPE_WORDS = dict(TYPE_CHOICES)
CHOICE_TYPES = (QuestionType.SINGLE.value, QuestionType.MULTIPLE.value)
TEXT_TYPES = (QuestionType.SHORT_TEXT.value, QuestionType.LONG_TEXT.value)


@attrs.define
class OptionRow:
    """One option row: its key (hidden, "" for a new one), label, and the wording-fix tick."""

    key: str = ""
    label: str = ""
    reworded: bool = False


@attrs.define
class QuestionRow:
    """One question row as the form holds it (text as typed, so a refused form comes back as sent)."""

    key: str = ""
    order: str = ""
    section: str = ""
    type: str = QuestionType.SCALE5.value
    prompt: str = ""
    help: str = ""
    required: bool = True
    min_value: str = ""
    max_value: str = ""
    max_length: str = ""
    options: list[OptionRow] = attrs.Factory(list)


@attrs.define
class BuilderState:
    """The whole builder form."""

    title: str = ""
    intro: str = ""
    thanks: str = ""
    ask_contact: bool = False
    note: str = ""
    rows: list[QuestionRow] = attrs.Factory(list)
    problems: list[str] = attrs.Factory(list)
    """Problems met while reading the form itself (too many rows); reported with the others."""

    def with_blank_rows(self, more: int = 0) -> BuilderState:
        """The same form with blank option rows under every question, blank question rows at the
        end (at least :data:`BLANK_QUESTION_ROWS`, and ``more`` besides): how rows are added
        without JavaScript."""
        for row in self.rows:
            blanks = sum(1 for o in row.options if not o.label.strip())
            room = MAX_OPTION_ROWS - len(row.options)
            row.options += [OptionRow() for _ in range(max(0, min(BLANK_OPTION_ROWS - blanks, room)))]
        blanks = sum(1 for r in self.rows if not r.prompt.strip())
        wanted = max(0, BLANK_QUESTION_ROWS - blanks) + more
        for _ in range(max(0, min(wanted, MAX_ROWS - len(self.rows)))):
            self.rows.append(QuestionRow(order=str(len(self.rows) + 1),
                                         options=[OptionRow() for _ in range(BLANK_OPTION_ROWS)]))
        return self


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")


def state_from_definition(definition: SurveyDefinition | None) -> BuilderState:
    """The form of an existing survey (or an empty one), with blank rows to add to it."""
    if definition is None:
        return BuilderState().with_blank_rows(more=1)
    rows = []
    for i, q in enumerate(definition.questions, start=1):
        options = [OptionRow(o.key, o.label) for o in q.options] if q.type.value in CHOICE_TYPES else []
        rows.append(QuestionRow(
            key=q.key, order=str(i), section=q.section or "", type=q.type.value, prompt=q.prompt, help=q.help or "",
            required=q.required, min_value=_number_text(q.min_value), max_value=_number_text(q.max_value),
            max_length=str(q.max_length) if q.max_length else "", options=options))
    return BuilderState(title=definition.title, intro=definition.intro or "", thanks=definition.thanks or "",
                        ask_contact=definition.ask_contact, rows=rows).with_blank_rows()


def state_from_form(form: Mapping[str, str] | Any) -> BuilderState:
    """Read the posted builder. Row counts come from hidden fields and are range-checked: at most
    :data:`MAX_ROWS` question rows and :data:`MAX_OPTION_ROWS` option rows each are read."""
    def text(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    def tick(name: str) -> bool:
        return form.get(name) in ("1", "on")

    state = BuilderState(title=text("tieu_de"), intro=text("loi_mo_dau"), thanks=text("loi_cam_on"),
                         ask_contact=tick("hoi_lien_he"), note=text("ghi_chu"))
    count = parse_int(text("so_cau") or "0", 0, MAX_ROWS)
    if count is None:
        state.problems.append(f"Biểu mẫu gửi số dòng câu hỏi “{text('so_cau')[:20]}” không hợp lệ (từ 0 đến "
                              f"{MAX_ROWS}); chỉ {MAX_ROWS} dòng đầu được đọc.")
        count = MAX_ROWS
    for i in range(count):
        p = f"q{i}_"
        option_count = parse_int(text(p + "so_pa") or "0", 0, MAX_OPTION_ROWS)
        if option_count is None:
            state.problems.append(f"Dòng câu hỏi thứ {i + 1}: số dòng phương án “{text(p + 'so_pa')[:20]}” không "
                                  f"hợp lệ (từ 0 đến {MAX_OPTION_ROWS}); chỉ {MAX_OPTION_ROWS} dòng đầu được đọc.")
            option_count = MAX_OPTION_ROWS
        options = [OptionRow(text(f"{p}p{j}_ma"), text(f"{p}p{j}_nhan"), tick(f"{p}p{j}_giu_nghia"))
                   for j in range(option_count)]
        state.rows.append(QuestionRow(
            key=text(p + "ma"), order=text(p + "thu_tu"), section=text(p + "nhom"), type=text(p + "loai"),
            prompt=text(p + "cau_hoi"), help=text(p + "goi_y"), required=tick(p + "bat_buoc"),
            min_value=text(p + "nho_nhat"), max_value=text(p + "lon_nhat"), max_length=text(p + "do_dai"),
            options=options))
    return state


def _dotted(number: int) -> str:
    """Thousands with dots, as Vietnamese writes them (100.000)."""
    return f"{number:,}".replace(",", ".")


def _short(text: str, size: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[:size - 1] + "…"


RESERVED_IDS = frozenset({"moi", "soan-moi", "noi-dat", "phan-hoi"})
"""Words of the officers' own addresses (``/khao-sat/noi-dat``…): a survey so named could not be opened."""


def new_survey_id(title: str, taken: Sequence[str]) -> str:
    """A survey id made from its title ("Ý kiến về quầy một cửa" → "y-kien-ve-quay-mot-cua"), not
    one of ``taken`` nor of :data:`RESERVED_IDS`: the officer never types it."""
    base = slugify(title)[:40].strip("-") or "khao-sat"
    if not SURVEY_ID.match(base):
        base = "khao-sat"
    candidate, n = base, 2
    while candidate in taken or candidate in RESERVED_IDS:
        suffix = f"-{n}"
        candidate = base[:40 - len(suffix)].strip("-") + suffix
        n += 1
    return candidate


def _fresh_key(prefix: str, used: set[str]) -> str:
    n = 1
    while f"{prefix}{n}" in used:
        n += 1
    used.add(f"{prefix}{n}")
    return f"{prefix}{n}"


def _fresh_option_key(used: set[str]) -> str:
    for letter in string.ascii_lowercase:
        if letter not in used:
            used.add(letter)
            return letter
    return _fresh_key("p", used)


def build(state: BuilderState, survey_id: str, history: Sequence[SurveyDefinition]) -> SurveyDefinition:
    """The definition the form describes (raises :class:`DefinitionError` listing every problem in
    words). ``history``: every stored version of the survey, oldest first (empty for a new one);
    keys are kept or made against it as the module docstring says. Rows are sorted by their
    "Thứ tự" number (a blank number keeps the row where it is); a blank prompt removes a row, a
    blank label removes an option."""
    problems = list(state.problems)
    for name in ("title", "intro", "thanks", "note"):
        value = getattr(state, name)
        if len(value) > LIMITS[name]:
            problems.append(f"{FIELD_NAMES[name]}: dài {_dotted(len(value))} ký tự, tối đa {_dotted(LIMITS[name])}.")
    if not clean(state.title):
        problems.append("Tiêu đề: chưa có; hãy ghi tiêu đề người dân sẽ thấy ở đầu phiếu.")

    # Every key the survey ever used, each question's option keys, and its latest labels.
    types: dict[str, set[str]] = {}
    option_keys: dict[str, set[str]] = {}
    last_label: dict[tuple[str, str], str] = {}
    for version in history:
        for q in version.questions:
            types.setdefault(q.key, set()).add(q.type.value)
            option_keys.setdefault(q.key, set()).update(o.key for o in q.options)
            last_label.update(((q.key, o.key), o.label) for o in q.options)
    current = {q.key: q for q in history[-1].questions} if history else {}
    used_keys = set(types)

    kept = [(i, row) for i, row in enumerate(state.rows) if clean(row.prompt)]
    ordered = []
    for i, row in kept:
        order = parse_int(row.order, 1, MAX_ORDER) if row.order.strip() else i + 1
        if order is None:
            problems.append(f"Câu “{_short(row.prompt)}”: Thứ tự “{_short(row.order, 20)}” phải là một số "
                            f"từ 1 đến {MAX_ORDER}.")
            order = i + 1
        ordered.append((order, i, row))
    ordered.sort(key=lambda item: (item[0], item[1]))
    if len(ordered) > MAX_QUESTIONS:
        problems.append(f"Khảo sát có {len(ordered)} câu hỏi, tối đa {MAX_QUESTIONS} (khảo sát qua poster chỉ nên "
                        "mất vài phút); hãy xóa nội dung của các câu không cần.")
    if not ordered:
        problems.append("Chưa có câu hỏi nào: hãy ghi ít nhất một câu hỏi.")

    questions: list[dict[str, Any]] = []
    reworded: dict[str, dict[str, str]] = {}
    taken_here: set[str] = set()
    for number, (_, _, row) in enumerate(ordered, start=1):
        where = f"Câu {number} (“{_short(row.prompt)}”)"
        qtype = row.type if row.type in TYPE_WORDS else None
        if qtype is None:
            problems.append(f"{where}: hãy chọn loại câu hỏi.")
            continue
        for name in ("section", "prompt", "help"):
            value = getattr(row, name)
            if len(value) > LIMITS[name]:
                problems.append(f"{where}, {FIELD_NAMES[name]}: dài {len(value)} ký tự, tối đa {LIMITS[name]}.")
        key = row.key if row.key in types and row.key not in taken_here else ""
        if key and types[key] != {qtype}:  # a changed type is a new question: old answers keep the old key
            key = ""
        if not key:
            key = _fresh_key("c", used_keys)
        taken_here.add(key)
        data: dict[str, Any] = {"key": key, "type": qtype, "prompt": row.prompt[:LIMITS["prompt"]],
                                "required": bool(row.required)}
        if clean(row.section):
            data["section"] = row.section[:LIMITS["section"]]
        if clean(row.help):
            data["help"] = row.help[:LIMITS["help"]]
        if qtype in CHOICE_TYPES:
            filled = [o for o in row.options if clean(o.label)]
            if len(filled) < 2:
                problems.append(f"{where}: câu chọn phương án cần ít nhất 2 phương án (đang có {len(filled)}).")
            if len(filled) > MAX_CHOICES:
                problems.append(f"{where}: có {len(filled)} phương án, tối đa {MAX_CHOICES}.")
            known = option_keys.get(key, set()) if key == row.key else set()
            used_options = set(option_keys.get(key, set()))
            labels: dict[str, int] = {}
            for option in filled:
                label = clean(option.label)
                if _fold(label) in labels:
                    problems.append(f"{where}: phương án “{_short(label, 30)}” ghi hai lần (phương án "
                                    f"{labels[_fold(label)]} và {len(labels) + 1}); hãy xóa một.")
                labels.setdefault(_fold(label), len(labels) + 1)
                if len(option.label) > LIMITS["label"]:
                    problems.append(f"{where}, phương án “{_short(option.label, 30)}”: dài {len(option.label)} ký "
                                    f"tự, tối đa {LIMITS['label']}.")
            keys = _option_keys(key, filled, known, last_label, used_options, reworded)
            options = [{"key": okey, "label": clean(o.label)[:LIMITS["label"]]} for okey, o in zip(keys, filled)]
            data["options"] = options
        elif qtype in (QuestionType.SCALE5.value, QuestionType.TRUE_FALSE.value):
            before = current.get(key)
            if before is not None and before.type.value == qtype:  # relabelled levels carried over
                data["options"] = [{"key": o.key, "label": o.label} for o in before.options]
        if qtype == QuestionType.NUMBER.value:
            for name, field in (("min_value", "Số nhỏ nhất"), ("max_value", "Số lớn nhất")):
                value = getattr(row, name).strip()
                if not value:
                    continue
                try:
                    number_value = float(parse_vietnamese_number(value[:LIMITS["number"]]))
                    if len(value) > LIMITS["number"] or not math.isfinite(number_value) or abs(number_value) > 1e12:
                        raise ValueError
                except (ValueError, ArithmeticError, QuestionError):
                    problems.append(f"{where}, {field}: “{_short(value, 20)}” không phải một số (ví dụ 0 hoặc 1.000).")
                    continue
                data[name] = int(number_value) if number_value.is_integer() else number_value
        if qtype in TEXT_TYPES and row.max_length.strip():
            length = parse_int(row.max_length, 1, MAX_TEXT_LENGTH)
            if length is None:
                problems.append(f"{where}, Số ký tự tối đa: “{_short(row.max_length, 20)}” phải là số từ 1 đến "
                                f"{MAX_TEXT_LENGTH}.")
            else:
                data["max_length"] = length
        questions.append(data)

    if problems:
        raise DefinitionError(problems)
    raw = {"id": survey_id, "title": state.title, "questions": questions, "ask_contact": bool(state.ask_contact)}
    if clean(state.intro):
        raw["intro"] = state.intro
    if clean(state.thanks):
        raw["thanks"] = state.thanks
    if reworded:
        raw["reworded"] = reworded
    try:
        definition = definition_from_dict(raw, "Khảo sát")
    except DefinitionError as exc:  # what the checks above did not foresee, still listed
        raise DefinitionError([_in_words(p, ordered) for p in exc.problems]) from None
    size = largest_submission_bytes(definition)
    if size > MAX_FORM_BYTES:  # save_survey refuses it too, but naming keys: say it with question numbers
        numbers = {q.key: n for n, q in enumerate(definition.questions, start=1)}
        longest = sorted((q for q in definition.questions if q.type.value in TEXT_TYPES),
                         key=lambda q: -(q.max_length or 0))[:3]
        raise DefinitionError([
            f"Phiếu có thể gửi tới {_dotted(size)} byte khi người dân điền đủ mọi ô, quá giới hạn "
            f"{_dotted(MAX_FORM_BYTES)} byte: hãy giảm Số ký tự tối đa của các câu trả lời bằng chữ (lớn nhất: "
            + ", ".join(f"Câu {numbers[q.key]}: {_dotted(q.max_length or 0)}" for q in longest) + ")."])
    return definition


def _fold(label: str) -> str:
    return " ".join(label.split()).casefold()


def _option_keys(question_key: str, filled: list[OptionRow], known: set[str], last_label: dict[tuple[str, str], str],
                 used: set[str], reworded: dict[str, dict[str, str]]) -> list[str]:
    """The key of each filled option row of a kept question (in row order):

    1. a label that says what an option of this question last said (case and spacing aside) takes
       that option's key — its hidden key first — so options reordered by retyping their labels,
       or an option removed and written again, keep their answers;
    2. otherwise the row's hidden key, if the question had it and the label changed: kept only with
       the wording-fix tick (recorded in ``reworded`` with the latest earlier label);
    3. otherwise a new key: a new meaning never takes over earlier answers."""
    by_label: dict[str, list[str]] = {}
    for okey in sorted(known):
        by_label.setdefault(_fold(last_label[(question_key, okey)]), []).append(okey)
    chosen: list[str | None] = [None] * len(filled)
    taken: set[str] = set()
    for n, option in enumerate(filled):  # a label as it was, on its own row
        if option.key in by_label.get(_fold(clean(option.label)), ()) and option.key not in taken:
            chosen[n] = option.key
            taken.add(option.key)
    for n, option in enumerate(filled):  # a label as it was, on another row
        if chosen[n] is None:
            free = [k for k in by_label.get(_fold(clean(option.label)), ()) if k not in taken]
            if free:
                chosen[n] = free[0]
                taken.add(free[0])
    for n, option in enumerate(filled):
        if chosen[n] is None and option.reworded and option.key in known and option.key not in taken:
            chosen[n] = option.key
            taken.add(option.key)
            reworded.setdefault(question_key, {})[option.key] = last_label[(question_key, option.key)]
    return [okey or _fresh_option_key(used) for okey in chosen]


def _in_words(problem: str, ordered) -> str:
    """A definition problem with "Khảo sát.questions[3]" said as the question's number."""
    for number in range(len(ordered), 0, -1):
        problem = problem.replace(f"Khảo sát.questions[{number}]", f"Câu {number}")
    return problem
