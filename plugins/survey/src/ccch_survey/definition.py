"""Survey definitions: what a survey asks, loaded from TOML or edited in the web UI, versioned.

A survey file (UTF-8 TOML; the SIPAS-style template is ``examples/surveys/sipas.toml``)::

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

Questions use the shared question model (:mod:`ccch_core.questions`). A definition is stored as
a new *version* whenever it changes; each response names the version it answered, and answers are
kept as question and option keys, so labels always come from the version the citizen saw.
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

from ccch_core.questions import (
    Question,
    QuestionError,
    QuestionType,
    question_from_dict,
)
from ccch_core.text import clean

SURVEY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_QUESTIONS = 60
TOP_KEYS = {"id", "title", "intro", "thanks", "ask_contact", "questions"}


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


def definition_from_dict(data: Mapping[str, Any], where: str = "survey") -> SurveyDefinition:
    """Build and check a definition; raises :class:`DefinitionError` listing every problem."""
    problems: list[str] = []
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(TOP_KEYS))})")
    survey_id = data.get("id")
    if not isinstance(survey_id, str) or not SURVEY_ID.match(survey_id):
        problems.append(f"{where}.id: {survey_id!r} must be 1–40 of a-z, 0-9 and '-' (e.g. \"sipas-2024\")")
    title = clean(str(data.get("title") or ""))
    if not title:
        problems.append(f"{where}.title: missing")
    for key in ("intro", "thanks"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{where}.{key}: must be text")
    ask_contact = data.get("ask_contact", False)
    if not isinstance(ask_contact, bool):
        problems.append(f"{where}.ask_contact: must be true or false")
    raw_questions = data.get("questions")
    questions: list[Question] = []
    if not isinstance(raw_questions, list) or not raw_questions:
        problems.append(f"{where}.questions: at least one [[questions]] table is needed")
        raw_questions = []
    if len(raw_questions) > MAX_QUESTIONS:
        problems.append(f"{where}.questions: at most {MAX_QUESTIONS} questions (a poster survey should take minutes)")
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_questions):
        qwhere = f"{where}.questions[{i + 1}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{qwhere}: must be a table")
            continue
        if raw.get("correct"):
            problems.append(f"{qwhere}: a survey question has no correct answer (remove 'correct')")
            continue
        try:
            question = question_from_dict(raw, qwhere)
        except QuestionError as exc:
            problems.append(str(exc))
            continue
        if question.key in seen:
            problems.append(f"{qwhere}: key {question.key!r} repeats question {seen[question.key]}")
            continue
        seen[question.key] = i + 1
        questions.append(question)
    if problems:
        raise DefinitionError(problems)
    return SurveyDefinition(
        id=survey_id,
        title=title,
        questions=tuple(questions),
        intro=clean(data["intro"]) if data.get("intro") else None,
        thanks=clean(data["thanks"]) if data.get("thanks") else None,
        ask_contact=ask_contact,
    )


def loads_definition(text: str, where: str = "survey") -> SurveyDefinition:
    """Parse survey TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError([f"{where}: not valid TOML: {exc}"]) from None
    return definition_from_dict(data, where)


def load_definition(path: str | Path) -> SurveyDefinition:
    """Read a survey file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError([f"{path}: no such file"]) from None
    except UnicodeDecodeError:
        raise DefinitionError([f"{path}: not UTF-8 text"]) from None
    return loads_definition(text, path.name)


def definition_from_json(text: str) -> SurveyDefinition:
    """Inverse of :meth:`SurveyDefinition.to_json` (stored versions)."""
    return definition_from_dict(json.loads(text), "stored version")


def check_evolution(previous: list[SurveyDefinition], new: SurveyDefinition) -> list[str]:
    """Problems with reusing keys across versions: a question key keeps its type, and an option key
    keeps its meaning only if the type allows it. Results aggregate answers by key across
    versions, so changing what a key means would mix different answers."""
    problems = []
    for question in new.questions:
        for old in previous:
            if not old.has_question(question.key):
                continue
            before = old.question(question.key)
            if before.type is not question.type:
                problems.append(
                    f"question {question.key!r}: was {before.type.value}, now {question.type.value}; "
                    "a question that changes type needs a new key (earlier answers keep the old one)"
                )
                break
    return problems
