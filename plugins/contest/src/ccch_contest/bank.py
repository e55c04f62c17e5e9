"""The question bank of a contest: import (CSV, XLSX, Aiken, GIFT), export, storage and the in-memory
bank the draw uses.

Questions are the core's shared model (:mod:`ccch_core.questions`: single choice, multiple
choice, true/false; correct option keys). The contest adds one column to the core's import
columns, ``audience`` (the audience keys a question is for, separated by ``;``; empty: every
audience). ``category`` is what quotas draw by; ``topic`` ties a question to one of the plan's
content topics (II.1) and is checked against the plan. A bad row is reported with its line and
reason, and nothing is imported unless the manager asks to skip bad rows. A wrong header (an
unknown or a missing required column) is a problem of the whole file: nothing is imported,
whatever the options. A replace that would retire questions and leave a bank that cannot supply
an attempt is refused unless forced.

Stored questions are never edited in place: importing a changed question retires the old row and
adds a new one, so an attempt always scores against the question it drew.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ccch_core.limits import DEFAULT_LIMITS, ImportLimits, LimitError, read_limited
from ccch_core.questions import (
    HEADING_LABELS,
    IMPORT_COLUMNS,
    OPTION_COLUMNS,
    Option,
    Question,
    QuestionError,
    QuestionType,
    RowProblem,
    check_header,
    column_name,
    header_problem,
    heading_key,
    question_to_row,
    questions_from_rows,
    read_rows,
)
from ccch_core.storage import utc_now_iso, write_transaction
from ccch_core.text import clean, fold

from .definition import ContestDefinition
from .journal import log
from .sql import query
from .state import memory

CONTEST_COLUMNS = (*IMPORT_COLUMNS, "audience")
"""Import/export columns: the core's question columns plus ``audience``."""
CONTEST_HEADINGS = {"doi tuong": "audience", "doi tuong du thi": "audience"}
"""The contest's own column in the headings offices write (folded: :func:`ccch_core.questions.heading_key`)."""
CONTEST_LABELS = {"audience": "Đối tượng dự thi"}
"""The Vietnamese heading of the contest's own column (the core's: ``HEADING_LABELS``)."""
CONTEST_REQUIRED_COLUMNS = ("prompt", "correct")
"""A CSV/XLSX without these columns cannot hold a single contest question."""
TEXT_COLUMNS = tuple(c for c in CONTEST_COLUMNS if c != "difficulty")
"""Template columns formatted as text, so Excel keeps 80%, 20/01/2024, 0123 as typed."""
CONTEST_TYPES = (QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUE_FALSE)
MAX_QUESTIONS = 20_000


@attrs.frozen
class ImportResult:
    """What an import found and did."""

    questions: tuple[Question, ...]
    audiences: dict[str, tuple[str, ...]]
    problems: tuple[RowProblem, ...]
    imported: int = 0
    unchanged: int = 0
    retired: int = 0
    applied: bool = False


class ImportRefused(ValueError):
    """The file has bad rows and skipping them was not asked for (nothing was imported)."""

    def __init__(self, problems: Sequence[RowProblem]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} dòng lỗi; chưa nhập câu nào:\n"
                         + "\n".join(f"  {p}" for p in self.problems))


class ImportFileError(QuestionError):
    """The file as a whole cannot be imported (a wrong header): nothing is imported, whatever the
    options — skipping "bad rows" must not turn a header typo into an empty import."""


class ReplaceRefused(ValueError):
    """A replace would retire questions and leave a bank that cannot supply an attempt (nothing
    was changed). ``problems`` are the draw's problems with the new bank (Vietnamese)."""

    def __init__(self, kept: int, retired: int, problems: Sequence[str]):
        self.kept, self.retired, self.problems = kept, retired, list(problems)
        super().__init__(
            f"Không thay ngân hàng câu hỏi: thay toàn bộ sẽ ngừng dùng {retired} câu đang dùng và chỉ còn "
            f"{kept} câu, không đủ để rút đề"
            + (": " + " ".join(self.problems) if self.problems else ".")
            + " Chưa thay đổi gì. Kiểm tra lại tệp; nếu thật sự muốn thay, chọn “Vẫn thay dù ngân hàng mới không "
              "đủ câu” (dòng lệnh: --force-replace).")


# -- reading files --------------------------------------------------------------------------------


def read_aiken(text: str) -> list[tuple[int, dict[str, str]]]:
    """Rows (as the CSV columns) from the Aiken format Moodle exports::

        Kế hoạch đặt chỉ tiêu bao nhiêu số phát sóng mỗi năm?
        A. 12 số
        B. 15 số
        ANSWER: B

    Blank lines separate questions; the line of a row is the question's first line.
    """
    rows: list[tuple[int, dict[str, str]]] = []
    block: list[tuple[int, str]] = []

    def flush():
        if not block:
            return
        line = block[0][0]
        row: dict[str, str] = {}
        prompt: list[str] = []
        letters = []
        for number, content in block:
            option = re.match(r"^([A-Ha-h])[.)]\s+(.*)$", content)
            answer = re.match(r"^ANSWER\s*:\s*(.+)$", content, re.IGNORECASE)
            if answer:
                row["correct"] = answer.group(1).strip()
            elif option and (letters or prompt):
                letter = option.group(1).lower()
                row[f"option_{letter}"] = option.group(2).strip()
                letters.append(letter)
            elif letters:
                row["__bad__"] = f"dòng {number}: sau các phương án có nội dung không phải “ANSWER: …”"
            else:
                prompt.append(content)
        row["prompt"] = " ".join(prompt)
        row["type"] = "single"
        rows.append((line, row))
        block.clear()

    for number, raw in enumerate(text.splitlines(), start=1):
        content = clean(raw)
        if not content:
            flush()
        else:
            block.append((number, content))
    flush()
    return rows


_GIFT_ANSWERS = re.compile(r"\{(.*)\}", re.DOTALL)


def read_gift(text: str) -> list[tuple[int, dict[str, str]]]:
    """Rows from Moodle's GIFT format — the part a knowledge contest uses: single choice
    (``{=right ~wrong}``), multiple choice (``{~%50%a ~%50%b ~%-100%c}``: the options with a
    positive weight are correct), true/false (``{T}``, ``{FALSE}``), ``::title::`` (the key),
    ``$CATEGORY: name`` (the category of the questions after it), ``//`` comments. Other GIFT
    question types are reported as bad rows."""
    rows: list[tuple[int, dict[str, str]]] = []
    category = ""
    block: list[tuple[int, str]] = []

    def flush():
        if not block:
            return
        line = block[0][0]
        source = " ".join(content for _, content in block)
        block.clear()
        row: dict[str, str] = {"category": category}
        title = re.match(r"^::(.+?)::\s*(.*)$", source, re.DOTALL)
        if title:
            row["key"] = re.sub(r"[^A-Za-z0-9._-]+", "-", clean(title.group(1))).strip("-")[:64]
            source = title.group(2)
        found = _GIFT_ANSWERS.search(source)
        if not found:
            row["__bad__"] = "không có phần đáp án {…} (định dạng GIFT)"
            rows.append((line, row))
            return
        row["prompt"] = clean(re.sub(r"\[(html|markdown|plain|moodle)\]", "", source[:found.start()] + " "
                                     + source[found.end():]).replace("\\", ""))
        answers = found.group(1).strip()
        if answers.upper() in ("T", "TRUE", "F", "FALSE"):
            row.update(type="true_false", correct="Đúng" if answers.upper().startswith("T") else "Sai")
            rows.append((line, row))
            return
        parts = [p for p in re.split(r"(?<!\\)(?=[=~])", answers) if p.strip()]
        if not parts or any(p[0] not in "=~" for p in parts):
            row["__bad__"] = "chỉ đọc được câu GIFT loại một đáp án, nhiều đáp án và Đúng/Sai"
            rows.append((line, row))
            return
        correct, letters_ = [], "abcdefgh"
        if len(parts) > len(letters_):
            row["__bad__"] = f"quá {len(letters_)} phương án"
            rows.append((line, row))
            return
        weighted = False
        for i, part in enumerate(parts):
            body = part[1:].split("#", 1)[0].strip()  # "#feedback" is dropped
            weight = re.match(r"^%(-?\d+(?:\.\d+)?)%(.*)$", body, re.DOTALL)
            if weight:
                weighted = True
                body = weight.group(2).strip()
                if float(weight.group(1)) > 0:
                    correct.append(letters_[i].upper())
            elif part[0] == "=":
                correct.append(letters_[i].upper())
            row[f"option_{letters_[i]}"] = clean(body.replace("\\", ""))
        row["type"] = "multiple" if weighted or len(correct) > 1 else "single"
        row["correct"] = ";".join(correct)
        rows.append((line, row))

    for number, raw in enumerate(text.splitlines(), start=1):
        content = raw.strip()
        if content.startswith("//"):
            continue
        if content.startswith("$CATEGORY:"):
            flush()
            category = clean(content.split(":", 1)[1]).split("/")[-1]
            continue
        if not content:
            flush()
        else:
            block.append((number, content))
    flush()
    return rows


def _dotted(number: int) -> str:
    """20.000: thousands grouped with dots, as Vietnamese writes them."""
    return f"{number:,}".replace(",", ".")


def read_question_file(path: str | Path, *, limits: ImportLimits = DEFAULT_LIMITS) -> list[tuple[int, dict[str, str]]]:
    """Rows with line numbers from a CSV (UTF-8), XLSX, Aiken (.txt) or GIFT (.gift) file.

    Raises :class:`ImportFileError` for a CSV/XLSX whose header has an unknown column or lacks
    ``prompt`` or ``correct`` (nothing can be imported from it), :class:`QuestionError` for a
    file that cannot be read or is over the deployment's ``limits`` (``[limits]`` of
    ``ccch.toml``: size, rows, columns, cell length; an XLSX's zip directory is checked before
    it is opened)."""
    path = Path(path)
    if path.suffix.lower() in (".gift", ".txt"):
        reader = read_gift if path.suffix.lower() == ".gift" else read_aiken
        try:
            text = read_limited(path, path.name, limits).decode("utf-8-sig")
        except LimitError as exc:
            raise QuestionError(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise QuestionError(f"{path.name}: không phải văn bản UTF-8 (byte thứ {exc.start})") from None
        rows = reader(text)
        if len(rows) > limits.max_rows:
            raise QuestionError(f"{path.name}: có {_dotted(len(rows))} câu hỏi, quá giới hạn {_dotted(limits.max_rows)} câu "
                                "cho một lần nhập. Hãy chia thành nhiều tệp.")
        for line, row in rows:
            for column, value in row.items():
                if len(value) > limits.max_cell_chars:
                    raise QuestionError(f"{path.name}: câu hỏi ở dòng {line}, phần {column}: dài {_dotted(len(value))} "
                                        f"ký tự, quá giới hạn {_dotted(limits.max_cell_chars)} ký tự.")
        return rows
    rows = read_rows(path, limits=limits, columns=CONTEST_COLUMNS, headings=CONTEST_HEADINGS)
    problem = header_problem(rows, CONTEST_COLUMNS, CONTEST_REQUIRED_COLUMNS, CONTEST_LABELS)
    if problem:
        raise ImportFileError(f"{path.name}: {problem}")
    return rows


def _audience_keys(raw: str, names: dict[str, str]) -> tuple[str, ...]:
    """The audience keys of a row's audience cell: names or keys separated by ";" (a name may hold
    commas: "Cán bộ, công chức, viên chức"); a piece that is neither is split at its commas too,
    as keys were once written ("cbccvc,nhan-dan")."""
    keys: list[str] = []
    for piece in (clean(p) for p in raw.split(";")):
        if not piece:
            continue
        if heading_key(piece) in names or "," not in piece:
            keys.append(names.get(heading_key(piece), piece))
        else:
            keys.extend(names.get(heading_key(p), p) for p in (clean(x) for x in piece.split(",")) if p)
    return tuple(keys)


def parse_rows(rows: list[tuple[int, dict[str, str]]], definition: ContestDefinition | None,
               *, key_prefix: str = "q", plan=None) -> tuple[list[Question], dict[str, tuple[str, ...]], list[RowProblem]]:
    """Questions, their audiences by key, and the problems of every bad row.

    Contest rules on top of the core's: single, multiple or true/false only; a correct answer is
    required; the audience keys must be the contest's; a ``topic`` must be the id of one of
    ``plan``'s content topics (``plan`` None skips that check). An unknown column raises
    :class:`ImportFileError` (a problem of the whole file, not of a row).
    """
    problems: list[RowProblem] = []
    unknown = check_header(rows, CONTEST_COLUMNS)
    if unknown:
        labels = {**HEADING_LABELS, **CONTEST_LABELS}
        raise ImportFileError(f"dòng tiêu đề sai (cột không có trong mẫu: {', '.join(unknown)}). Các cột của mẫu: "
                              f"{', '.join(labels.get(c, c) for c in CONTEST_COLUMNS)}. Sửa dòng tiêu đề rồi nhập lại; "
                              "chưa nhập câu nào")
    if len(rows) > MAX_QUESTIONS:
        return [], {}, [RowProblem(rows[MAX_QUESTIONS][0], f"tệp có quá {MAX_QUESTIONS} câu hỏi; hãy chia thành "
                                                           "nhiều tệp")]
    audience_keys = {a.key for a in definition.audiences} if definition else None
    # An audience may be written by its name as the setup form shows it ("Nhân dân"), not only its key.
    audience_names = {heading_key(a.name): a.key for a in definition.audiences} if definition else {}
    audiences_by_line: dict[int, tuple[str, ...]] = {}
    clean_rows = []
    for line, row in rows:
        if row.get("__bad__"):
            problems.append(RowProblem(line, row["__bad__"]))
            continue
        keys = _audience_keys(row.get("audience", ""), audience_names)
        bad = [k for k in keys if audience_keys is not None and k not in audience_keys]
        if bad:
            names = "; ".join(a.name for a in definition.audiences) if definition else ""
            problems.append(RowProblem(line, f"{column_name(row, 'audience')}: {', '.join(bad)} không phải đối tượng "
                                             f"dự thi của cuộc thi (các đối tượng: {names})"))
            continue
        audiences_by_line[line] = keys
        row = {k: v for k, v in row.items() if k != "audience"}
        if not row.get("key") and row.get("prompt"):
            # A key from the prompt's text: the same question keeps its key when rows move, and a
            # question typed twice is reported as a repeated key.
            row["key"] = "q-" + hashlib.sha1(fold(row["prompt"]).encode()).hexdigest()[:10]
        clean_rows.append((line, row))

    topics = {t.id: t for t in plan.topics} if plan is not None else None
    headings = {"__headings__": rows[0][1].get("__headings__", {}) if rows else {}}

    def contest_rule(question: Question) -> str | None:
        if question.type not in CONTEST_TYPES:
            return (f"{column_name(headings, 'type')}: {question.type.label_vi} không dùng cho cuộc thi; câu hỏi "
                    "cuộc thi là Chọn một đáp án, Chọn nhiều đáp án hoặc Đúng/Sai")
        if question.topic is not None and topics is not None and question.topic not in topics:
            known = "; ".join(f"{t.id} ({t.title or t.text[:40]})" for t in topics.values())
            return (f"{column_name(headings, 'topic')}: {question.topic!r} không phải mã nội dung tuyên truyền của kế hoạch"
                    + (f" (các mã: {known})" if known else " (kế hoạch chưa có nội dung tuyên truyền nào)"))
        return None

    questions, row_problems = questions_from_rows(clean_rows, key_prefix=key_prefix, require_correct=True,
                                                  extra_check=contest_rule)
    problems.extend(row_problems)
    problems.sort(key=lambda p: p.line)
    # questions_from_rows keeps the order of the good rows; pair them with their lines again.
    bad_lines = {p.line for p in row_problems}
    good_lines = [line for line, _ in clean_rows if line not in bad_lines]
    audiences = {q.key: audiences_by_line.get(line, ()) for q, line in zip(questions, good_lines)}
    return questions, audiences, problems


# -- storing --------------------------------------------------------------------------------------


def _content(question: Question, audiences: Sequence[str]) -> tuple:
    return (question.type.value, question.prompt, tuple((o.key, o.label) for o in question.options),
            tuple(question.correct), question.category, question.difficulty, ";".join(audiences), question.help,
            question.topic)


def _row_content(row: dict[str, Any]) -> tuple:
    return (row["type"], row["prompt"], tuple(tuple(o) for o in json.loads(row["options"])),
            tuple(json.loads(row["correct"])), row["category"], row["difficulty"], row["audience"], row["help"],
            row["topic"])


def replace_problems(questions: Sequence[Question], audiences: dict[str, Sequence[str]],
                     definition: ContestDefinition | None) -> list[str]:
    """Why a bank of exactly ``questions`` could not supply an attempt (empty: it could)."""
    if not questions:
        return ["tệp không có câu hỏi hợp lệ nào."]
    if definition is None:
        return []
    ids = range(1, len(questions) + 1)
    public = {i: PublicQuestion(i, q.key, q.type.value, q.prompt, (), q.category) for i, q in zip(ids, questions)}
    bank = Bank(0, public, {}, {}, {i: frozenset(audiences.get(q.key, ())) for i, q in zip(ids, questions)},
                tuple(ids))
    return draw_problems(bank, definition)


def import_questions(db, contest_id: int, questions: Sequence[Question], audiences: dict[str, Sequence[str]],
                     *, replace: bool, username: str | None = None, definition: ContestDefinition | None = None,
                     force: bool = False) -> tuple[int, int, int]:
    """Store questions in the contest's bank (one transaction). ``replace`` retires every active
    question not in the file; otherwise questions not in the file stay. Returns
    (added or changed, unchanged, retired).

    A replace that would retire questions and leave a bank that cannot supply an attempt (no
    question at all, or fewer than an audience's questions per attempt or a quota needs, checked
    against ``definition``) raises :class:`ReplaceRefused` and changes nothing, unless ``force``.
    The retired questions are not lost (attempts keep them), but the contest could not be played
    until the bank is filled again, and a header typo with "skip bad rows" used to do exactly that.
    """
    now = utc_now_iso()
    added = unchanged = retired = 0
    with write_transaction(db):
        current = {row["key"]: row for row in query(db,
            "select * from contest_questions where contest_id = ? and active = 1", [contest_id])}
        if replace and not force:
            would_retire = len(set(current) - {q.key for q in questions})
            problems = replace_problems(questions, audiences, definition) if would_retire else []
            if problems:
                raise ReplaceRefused(len(questions), would_retire, problems)
        seen = set()
        for q in questions:
            seen.add(q.key)
            keys = tuple(audiences.get(q.key, ()))
            existing = current.get(q.key)
            if existing is not None and _row_content(existing) == _content(q, keys):
                unchanged += 1
                continue
            if existing is not None:
                db.execute("update contest_questions set active = 0, retired_at = ? where id = ?", [now, existing["id"]])
            db.execute(
                "insert into contest_questions (contest_id, key, type, prompt, options, correct, category, topic, "
                "difficulty, audience, help, active, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                [contest_id, q.key, q.type.value, q.prompt,
                 json.dumps([[o.key, o.label] for o in q.options], ensure_ascii=False),
                 json.dumps(list(q.correct)), q.category, q.topic, q.difficulty, ";".join(keys), q.help, now],
            )
            added += 1
        if replace:
            for key, row in current.items():
                if key not in seen:
                    db.execute("update contest_questions set active = 0, retired_at = ? where id = ?", [now, row["id"]])
                    retired += 1
        if added or retired:
            db.execute("update contest_contests set bank_version = bank_version + 1, updated_at = ? where id = ?",
                       [now, contest_id])
        log(db, contest_id, "import_questions", username=username, at=now,
            detail=f"thêm hoặc sửa {added}, giữ nguyên {unchanged}, ngừng dùng {retired}"
                   + (" (thay toàn bộ ngân hàng)" if replace else ""))
    return added, unchanged, retired


def retire_question(db, contest_id: int, key: str, username: str | None = None) -> bool:
    """Take a question out of the draw (attempts that drew it keep it)."""
    now = utc_now_iso()
    with write_transaction(db):
        cursor = db.execute("update contest_questions set active = 0, retired_at = ? where contest_id = ? and key = ? "
                            "and active = 1", [now, contest_id, key])
        if cursor.rowcount:
            db.execute("update contest_contests set bank_version = bank_version + 1 where id = ?", [contest_id])
            log(db, contest_id, "retire_question", username=username, detail=key, at=now)
    return bool(cursor.rowcount)


def question_from_stored(row: dict[str, Any]) -> Question:
    """The shared-model question of a stored row (with its correct answer: for scoring and the
    manager's pages only)."""
    qtype = QuestionType(row["type"])
    options = [Option(k, v) for k, v in json.loads(row["options"])]
    return Question(key=row["key"], type=qtype, prompt=row["prompt"],
                    options=options, category=row["category"], topic=row["topic"], difficulty=row["difficulty"],
                    help=row["help"],
                    correct=json.loads(row["correct"]))


def active_questions(db, contest_id: int) -> Iterable[tuple[Question, tuple[str, ...]]]:
    """The active questions of a contest with their audiences, in import order."""
    for row in query(db, "select * from contest_questions where contest_id = ? and active = 1 order by id", [contest_id]):
        yield question_from_stored(row), tuple(k for k in row["audience"].split(";") if k)


def export_rows(db, contest_id: int) -> list[dict[str, str]]:
    """Rows for CSV/XLSX export of the active bank (the import columns, so the file imports back)."""
    rows = []
    for question, audiences in active_questions(db, contest_id):
        row = question_to_row(question)
        row["audience"] = ";".join(audiences)
        rows.append(row)
    return rows


def heading(column: str) -> str:
    """The Vietnamese heading ccch writes for a contest column ("Đáp án" for ``correct``)."""
    return CONTEST_LABELS.get(column) or HEADING_LABELS.get(column, column)


def shown_row(row: Mapping[str, str]) -> dict[str, str]:
    """A row as the template and the export show it: the type in words ("Chọn một đáp án")."""
    out = dict(row)
    qtype = TYPE_WORDS_OUT.get(row.get("type", ""))
    if qtype:
        out["type"] = qtype
    return out


TYPE_WORDS_OUT = {t.value: t.label_vi for t in CONTEST_TYPES}
"""The type column in words, as the Interior office writes it (the importer reads either)."""


def write_csv(rows: Sequence[dict[str, str]], stream) -> None:
    """CSV with a UTF-8 BOM (Excel reads Vietnamese correctly), the contest columns under their
    Vietnamese headings, and the type in words."""
    stream.write("\ufeff")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([heading(c) for c in CONTEST_COLUMNS])
    for row in rows:
        shown = shown_row(row)
        writer.writerow([safe_cell(shown.get(k, "")) for k in CONTEST_COLUMNS])


def safe_cell(value: Any) -> Any:
    """A cell that a spreadsheet will not run as a formula (=, +, -, @, tab, CR at the start)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_cell(value: Any) -> Any:
    """:func:`safe_cell` for a workbook, without the control characters a worksheet cannot hold."""
    return safe_cell(_NOT_IN_XLSX.sub("", value) if isinstance(value, str) else value)


COLUMN_HELP = {
    "key": "Mã câu hỏi (không bắt buộc; để trống thì tự đánh số). Chữ, số, dấu chấm, gạch dưới, gạch ngang.",
    "type": "Loại: Chọn một đáp án, Chọn nhiều đáp án hoặc Đúng/Sai (chọn trong ô). Để trống = Chọn một đáp án.",
    "prompt": "Nội dung câu hỏi (bắt buộc).",
    "option_a": "Phương án A … Phương án H. Điền liên tục từ A, không bỏ trống ở giữa. "
                "Câu Đúng/Sai để trống các cột phương án.",
    "correct": "Đáp án đúng: chữ cái của phương án (B; nhiều đáp án: A;C). Câu Đúng/Sai: ghi Đúng hoặc Sai.",
    "category": "Nhóm câu hỏi, dùng để chia số câu theo nhóm (quotas), ví dụ: Chỉ tiêu, Nhiệm vụ, Văn bản.",
    "topic": "Mã nội dung tuyên truyền của kế hoạch (mục II.1, ví dụ 1.3) mà câu hỏi nói đến; không bắt buộc. "
             "Mã phải có trong kế hoạch, nếu không dòng bị báo lỗi. Khác với nhóm câu hỏi.",
    "difficulty": "Độ khó 1 (dễ) – 5 (khó), không bắt buộc.",
    "required": "Không dùng cho cuộc thi (để trống).",
    "help": "Ghi chú, nguồn (mục của kế hoạch) — chỉ cán bộ quản lý thấy, và người dự thi khi xem lại đáp án.",
    "section": "Không dùng cho cuộc thi (để trống).",
    "audience": "Đối tượng dự thi được rút câu này (tên đối tượng như trang Thiết lập ghi, cách nhau bằng dấu ;). "
                "Trống = mọi đối tượng.",
}

EXAMPLE_ROWS = [
    {"key": "vd-1", "type": "single", "prompt": "Theo Kế hoạch, Chuyên mục CCHC trên sóng phát thanh, truyền hình "
     "phát bao nhiêu số mỗi năm?", "option_a": "12 số", "option_b": "15 số", "option_c": "24 số", "option_d": "52 số",
     "correct": "B", "category": "Chỉ tiêu", "difficulty": "2", "help": "Phụ lục, dòng 2"},
    {"key": "vd-2", "type": "multiple", "prompt": "Những hình thức nào được Kế hoạch nêu để tuyên truyền CCHC?",
     "option_a": "Tờ gấp, pano, áp phích", "option_b": "Cuộc thi tìm hiểu về CCHC", "option_c": "Nhắn tin quảng cáo "
     "hàng loạt", "correct": "A;B", "category": "Hình thức tuyên truyền", "difficulty": "2", "help": "Mục II.2"},
    {"key": "vd-3", "type": "true_false", "prompt": "Kế hoạch yêu cầu UBND các xã, thị trấn gửi kế hoạch của địa "
     "phương về UBND huyện trước ngày 20/01/2024.", "correct": "Đúng", "category": "Thời hạn", "difficulty": "1",
     "help": "Mục IV.7"},
]


def write_xlsx(rows: Sequence[dict[str, str]], path_or_stream, *, with_help: bool = True) -> None:
    """An XLSX workbook: sheet "Câu hỏi" with the columns (and ``rows``), sheet "Hướng dẫn"
    explaining each column. The importer reads the first sheet."""
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Câu hỏi"
    sheet.append([heading(c) for c in CONTEST_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        shown = shown_row(row)
        sheet.append([xlsx_cell(shown.get(k, "")) for k in CONTEST_COLUMNS])
    # Choices offered in the cell, and a warning for anything else: the type's three words, and the
    # answer's letters or Đúng/Sai (a multiple answer such as "A;C" is allowed after the warning).
    last = max(len(rows) + 1, 2000)
    checks = {
        "type": DataValidation(type="list", formula1='"' + ",".join(TYPE_WORDS_OUT.values()) + '"', allow_blank=True,
                               errorStyle="stop", errorTitle="Loại câu hỏi",
                               error="Chọn trong danh sách: Chọn một đáp án, Chọn nhiều đáp án hoặc Đúng/Sai."),
        "correct": DataValidation(type="list", formula1='"A,B,C,D,E,F,G,H,Đúng,Sai"', allow_blank=True,
                                  errorStyle="warning", errorTitle="Đáp án",
                                  error="Đáp án là chữ cái của phương án (nhiều đáp án: A;C) hoặc Đúng/Sai. "
                                        "Vẫn giữ giá trị này?"),
    }
    for column, check in checks.items():
        letter = openpyxl.utils.get_column_letter(CONTEST_COLUMNS.index(column) + 1)
        check.add(f"{letter}2:{letter}{last}")
        sheet.add_data_validation(check)
    widths = {"prompt": 60, "correct": 10, "type": 11, "key": 10, "difficulty": 9, "category": 22, "help": 30,
              "topic": 9}
    for index, column in enumerate(CONTEST_COLUMNS, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        sheet.column_dimensions[letter].width = widths.get(column, 24)
        if column in TEXT_COLUMNS:
            # Text format for the whole column and every written cell: Excel then keeps what is
            # typed (80%, 20/01/2024, 1.500) instead of turning it into a number or a date.
            sheet.column_dimensions[letter].number_format = "@"
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "@"
    sheet.freeze_panes = "A2"
    if with_help:
        guide = workbook.create_sheet("Hướng dẫn")
        guide.append(["Cột", "Ý nghĩa"])
        for cell in guide[1]:
            cell.font = Font(bold=True)
        for column in CONTEST_COLUMNS:
            if column in OPTION_COLUMNS[1:]:
                continue
            guide.append([heading(column), COLUMN_HELP.get(column, "")])
        guide.append([])
        guide.append(["", ("Mỗi dòng một câu hỏi. Dòng có lỗi được báo kèm số dòng và lý do; khi có dòng lỗi, "
                          "không câu nào được nhập, trừ khi chọn “bỏ qua dòng lỗi”.")])
        guide.column_dimensions["A"].width = 14
        guide.column_dimensions["B"].width = 100
        for row in guide.iter_rows(min_row=2):
            row[1].alignment = Alignment(wrap_text=True, vertical="top")
    workbook.save(path_or_stream)


def template_csv() -> str:
    """The CSV template: the columns and three example rows."""
    out = io.StringIO()
    write_csv(EXAMPLE_ROWS, out)
    return out.getvalue()


# -- the bank the draw uses -----------------------------------------------------------------------


@attrs.frozen
class PublicQuestion:
    """What a participant may see of a question: no correct answer, ever."""

    id: int
    key: str
    type: str
    prompt: str
    options: tuple[tuple[str, str], ...]
    category: str | None

    @property
    def is_multiple(self) -> bool:
        """Several options may be chosen."""
        return self.type == QuestionType.MULTIPLE.value


@attrs.frozen
class Bank:
    """A contest's questions in memory: the public part and, apart, the correct answers."""

    version: int
    questions: dict[int, PublicQuestion]
    correct: dict[int, frozenset[str]]
    help: dict[int, str | None]
    audiences: dict[int, frozenset[str]]
    active: tuple[int, ...]
    html: dict[int, tuple[str, tuple[str, ...]]] = attrs.field(factory=dict, eq=False, repr=False)
    """Escaped prompt and labels per question, filled by the attempt page as it renders."""

    def pool(self, audience_key: str) -> list[int]:
        """Active question ids an audience may draw, in bank order."""
        return [qid for qid in self.active if not self.audiences[qid] or audience_key in self.audiences[qid]]


def load_bank(deployment, contest_id: int, version: int, *, needed: Iterable[int] = ()) -> Bank:
    """The contest's bank for this process (cached by ``bank_version``). ``needed`` adds retired
    questions an attempt drew (loaded on demand)."""
    mem = memory(deployment)
    cache = mem.setdefault("banks", {})
    bank = cache.get(contest_id)
    if bank is None or bank.version != version:
        bank = _read_bank(deployment.db, contest_id, version)
        cache[contest_id] = bank
    missing = [qid for qid in needed if qid not in bank.questions]
    if missing:
        extra = _read_bank(deployment.db, contest_id, version, ids=missing)
        bank.questions.update(extra.questions)
        bank.correct.update(extra.correct)
        bank.help.update(extra.help)
        bank.audiences.update(extra.audiences)
    return bank


def _read_bank(db, contest_id: int, version: int, ids: Sequence[int] | None = None) -> Bank:
    if ids is None:
        rows = query(db, "select * from contest_questions where contest_id = ? and active = 1 order by id", [contest_id])
    else:
        marks = ", ".join("?" * len(ids))
        rows = query(db, f"select * from contest_questions where contest_id = ? and id in ({marks})", [contest_id, *ids])
    questions, correct, helps, audiences, active = {}, {}, {}, {}, []
    for row in rows:
        qid = row["id"]
        options = tuple((k, v) for k, v in json.loads(row["options"]))
        if not options and row["type"] == QuestionType.TRUE_FALSE.value:
            options = (("dung", "Đúng"), ("sai", "Sai"))
        questions[qid] = PublicQuestion(qid, row["key"], row["type"], row["prompt"], options, row["category"])
        correct[qid] = frozenset(json.loads(row["correct"]))
        helps[qid] = row["help"]
        audiences[qid] = frozenset(k for k in row["audience"].split(";") if k)
        if row["active"]:
            active.append(qid)
    return Bank(version, questions, correct, helps, audiences, tuple(active))


def bank_summary(db, contest_id: int) -> dict[str, Any]:
    """Counts of active questions by category, content topic and audience, for the manager's pages."""
    by_category: dict[str, int] = {}
    by_audience: dict[str, int] = {}
    by_topic: dict[str, int] = {}
    total = 0
    for row in query(db, "select category, topic, audience, count(*) as n from contest_questions where contest_id = ? "
                        "and active = 1 group by category, topic, audience", [contest_id]):
        total += row["n"]
        if row["topic"]:
            by_topic[row["topic"]] = by_topic.get(row["topic"], 0) + row["n"]
        by_category[row["category"] or "(không nhóm)"] = by_category.get(row["category"] or "(không nhóm)", 0) + row["n"]
        for key in (row["audience"].split(";") if row["audience"] else ["*"]):
            by_audience[key] = by_audience.get(key, 0) + row["n"]
    return {"total": total, "by_category": dict(sorted(by_category.items())), "by_audience": by_audience,
            "by_topic": by_topic}


def letters(n: int) -> str:
    """"ABCD" for 4 options."""
    return string.ascii_uppercase[:n]


def draw_problems(bank, definition) -> list[str]:
    """Why the bank cannot supply an attempt for an audience (empty list: it can)."""
    problems = []
    for audience in definition.audiences:
        pool = bank.pool(audience.key)
        wanted = definition.questions_for(audience)
        by_category: dict[str | None, int] = {}
        for qid in pool:
            category = bank.questions[qid].category
            by_category[category] = by_category.get(category, 0) + 1
        quota_categories = {c for c, _ in audience.quotas}
        for category, count in audience.quotas:
            have = by_category.get(category, 0)
            if have < count:
                problems.append(f"Đối tượng “{audience.name}”: nhóm “{category}” cần {count} câu nhưng ngân hàng "
                                f"chỉ có {have} câu.")
        rest = wanted - audience.quota_total
        others = sum(n for c, n in by_category.items() if c not in quota_categories)
        if rest > 0 and others < rest:
            where = "ngoài các nhóm có định mức" if quota_categories else "dành cho đối tượng này"
            problems.append(f"Đối tượng “{audience.name}”: mỗi lượt thi cần {wanted} câu; còn thiếu câu {where} "
                            f"(cần {rest}, có {others}).")
    return problems
