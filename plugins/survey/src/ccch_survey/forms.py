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

SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
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


def _plain_choice(question, values: list[str]) -> tuple[str, ...] | None:
    """The answer of a choice question sent exactly as the form offers it (the common case, a
    radio button), without the general checks; None for anything else, which then goes through
    :meth:`Question.check_answer` and its messages."""
    if len(values) != 1 or not question.type.has_options or question.type.value == "multiple":
        return None
    value = values[0]
    return (value,) if any(o.key == value for o in question.options) else None


def check_form(definition: SurveyDefinition, form: Any) -> FormResult:
    """Check a submitted form (a Werkzeug MultiDict) against ``definition``."""
    answers: dict[str, tuple[str, ...]] = {}
    errors: dict[str, str] = {}
    kept: dict[str, list[str]] = {}
    for question in definition.questions:
        name = field_name(question.key)
        values = form.getlist(name)
        kept[name] = [str(v) for v in values]
        fast = _plain_choice(question, values)
        if fast is not None:
            answers[question.key] = fast
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
        consent = form.get(CONSENT) == "dong-y"
        name_text = clean(form.get(NAME, ""))
        phone_text = clean(form.get(PHONE, ""))
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
            errors[CONSENT] = ("Bạn đã ghi thông tin liên hệ nhưng chưa đánh dấu đồng ý. Hãy đánh dấu đồng ý "
                               "hoặc xóa thông tin liên hệ; khảo sát vẫn gửi được mà không cần thông tin này.")
    return FormResult(answers, errors, kept, contact if not errors else None)
