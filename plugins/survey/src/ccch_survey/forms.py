"""Checking a citizen's submitted form against the survey version it answers.

Every answer is checked (:meth:`ccch_core.questions.Question.check_answer`, Vietnamese messages);
the values typed are kept so that a rejected form comes back exactly as it was sent.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from ccch_core.privacy import PersonalDataError, normalise_phone
from ccch_core.questions import AnswerError
from ccch_core.text import clean

from .definition import SurveyDefinition
from .store import Contact

SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}\Z")  # \Z: no trailing newline
HONEYPOT = "website"
"""A field hidden from people (CSS moves it off screen, its label says to leave it empty); bots fill it."""
CONSENT, NAME, PHONE = "lien-he", "ho-ten", "dien-thoai"


def field_name(question_key: str) -> str:
    """The form field of a question."""
    return f"q-{question_key}"


@attrs.frozen
class FormResult:
    """Answers (normalised), problems by field, the raw values to show again, and the contact."""

    answers: dict[str, tuple[str, ...]]
    errors: dict[str, str]
    kept: dict[str, list[str]]
    contact: Contact | None = None

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.errors


_FIELDS: dict[str, tuple] = {}


def _fields(definition: SurveyDefinition) -> tuple:
    """Per question: the question, its form field, and — for a single choice or scale question —
    the option keys a radio button sends. Computed once per survey version (by fingerprint)."""
    fields = _FIELDS.get(definition.fingerprint)
    if fields is None:
        fields = tuple(
            (q, field_name(q.key),
             frozenset(o.key for o in q.options) if q.type.has_options and q.type.value != "multiple" else None)
            for q in definition.questions)
        if len(_FIELDS) > 256:
            _FIELDS.clear()
        _FIELDS[definition.fingerprint] = fields
    return fields


def _get(form: Any, name: str) -> str:
    """A form value or "" (Werkzeug's ``MultiDict.get`` raises and catches an exception for every
    missing key: this is the busiest form of the app)."""
    return form[name] if name in form else ""  # noqa: SIM401 - see the docstring


def check_form(definition: SurveyDefinition, form: Any) -> FormResult:
    """Check a submitted form (a Werkzeug MultiDict) against ``definition``."""
    answers: dict[str, tuple[str, ...]] = {}
    errors: dict[str, str] = {}
    kept: dict[str, list[str]] = {}
    for question, name, plain_options in _fields(definition):
        values = form.getlist(name)
        kept[name] = values
        # The common case — one radio button sent exactly as the form offers it — needs none of
        # the general checks; anything else goes through Question.check_answer and its messages.
        if plain_options is not None and len(values) == 1 and values[0] in plain_options:
            answers[question.key] = (values[0],)
            continue
        try:
            answer = question.check_answer(values)
        except AnswerError as exc:
            errors[name] = str(exc)
            continue
        if answer:
            answers[question.key] = answer
    contact = None
    if definition.ask_contact:
        consent = _get(form, CONSENT) == "dong-y"
        name_text = clean(_get(form, NAME))
        phone_text = clean(_get(form, PHONE))
        kept[CONSENT] = ["dong-y"] if consent else []
        kept[NAME] = [name_text]
        kept[PHONE] = [phone_text]
        if consent:
            phone = None
            if len(name_text) > 100:
                errors[NAME] = "Họ tên dài quá 100 ký tự."
            if phone_text:
                try:
                    phone = normalise_phone(phone_text)
                except PersonalDataError as exc:
                    errors[PHONE] = str(exc)
            elif not name_text:
                errors[PHONE] = "Vui lòng để lại số điện thoại hoặc họ tên, hoặc bỏ đánh dấu đồng ý."
            contact = Contact(name_text or None, phone)
        elif name_text or phone_text:
            errors[CONSENT] = ("Ông/Bà đã ghi thông tin liên hệ nhưng chưa đánh dấu đồng ý. Hãy đánh dấu đồng ý "
                               "hoặc xóa thông tin liên hệ; khảo sát vẫn gửi được mà không cần thông tin này.")
    return FormResult(answers, errors, kept, contact if not errors else None)
