"""The survey builder's pages (admins): build a new survey or edit one in a form, preview it at
phone size, save it as a new version. The TOML pages (``survey.new``, ``survey.edit``) stay as
"Nhập/xuất TOML" for IT staff.

- ``GET, POST /khao-sat/soan-moi``: a new survey (its id is made from the title);
- ``GET, POST /khao-sat/<survey>/soan``: edit; saving changed content makes a new version.

The POST's ``hanh_dong`` says what the officer pressed: ``luu`` (save, the default),
``xem-truoc`` (show the citizen's form at phone size, nothing saved) or ``them`` (three more
blank question rows, nothing saved).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from ccch_core.storage import write_transaction
from ccch_core.web import deployment
from ccch_core.web.auth import roles_required

from .actions import record
from .builder import (
    LIMITS,
    MAX_OPTION_ROWS,
    MAX_ORDER,
    MAX_QUESTIONS,
    MAX_TEXT_LENGTH,
    TYPE_CHOICES,
    BuilderState,
    build,
    new_survey_id,
    state_from_definition,
    state_from_form,
)
from .definition import DefinitionError, loads_definition
from .forms import field_name
from .store import get_survey, get_version, list_surveys, save_survey, versions

ADDED_ROWS = 3
ACTIONS = ("luu", "xem-truoc", "them")
"""What the page's buttons send as ``hanh_dong``: save, preview, three more rows."""


def register(officer: Blueprint) -> None:
    """Add the builder's two pages to the officers' blueprint."""
    from .web import ADMINS

    @officer.route("/soan-moi", methods=["GET", "POST"])
    @roles_required(*ADMINS)
    def builder_new():
        """Build a new survey in the form (no TOML, no code typed)."""
        return _builder_page(None)

    @officer.route("/<survey_id>/soan", methods=["GET", "POST"])
    @roles_required(*ADMINS)
    def builder_edit(survey_id):
        """Edit a survey in the form: changed content becomes a new version; answers keep theirs."""
        if get_survey(deployment().db, survey_id) is None:
            abort(404)
        return _builder_page(survey_id)


def _history(survey_id: str | None) -> list:
    if survey_id is None:
        return []
    db = deployment().db
    return [get_version(db, survey_id, v["version"]) for v in reversed(versions(db, survey_id))]


def _builder_page(survey_id: str | None):
    dep = deployment()
    history = _history(survey_id)
    if request.method == "GET":
        start = history[-1] if history else None
        if survey_id is None and request.args.get("mau") == "sipas":  # start from the SIPAS-style template
            start = loads_definition(_template_text())
        state = state_from_definition(start)
        if survey_id is None and start is not None:  # a copy: its questions get keys of their own
            for row in state.rows:
                row.key = ""
                for option in row.options:
                    option.key = ""
        return _render(survey_id, state, history)
    state = state_from_form(request.form)
    action = request.form.get("hanh_dong", "luu")
    if action not in ACTIONS:
        # Only the page's three buttons send one; anything else saves nothing (not even as "Lưu").
        shown = " ".join(action.split())[:40]
        return _render(survey_id, state.with_blank_rows(), history, status=422, problems=[
            f"Thao tác “{shown}” không có; hãy bấm Lưu, Xem trước hoặc Thêm câu hỏi. Chưa lưu gì."])
    if action == "them":
        return _render(survey_id, state.with_blank_rows(more=ADDED_ROWS), history)
    target = survey_id or new_survey_id(state.title, [s.id for s in list_surveys(dep.db)])
    try:
        definition = build(state, target, history)
    except DefinitionError as exc:
        return _render(survey_id, state.with_blank_rows(), history, problems=exc.problems, status=422)
    if action == "xem-truoc":
        return _render(survey_id, state.with_blank_rows(), history, preview=definition)
    note = " ".join(state.note.split()) or None
    try:
        with write_transaction(dep.db):
            number, created = save_survey(dep.db, definition, by=g.user.username, note=note)
            if created:
                record(dep.db, g.user.username, "survey.save", f"Khảo sát {definition.id}",
                       f"phiên bản {number} (soạn bằng biểu mẫu)" + (f"; ghi chú: {note}" if note else ""))
    except DefinitionError as exc:
        return _render(survey_id, state.with_blank_rows(), history, problems=exc.problems, status=422)
    flash(f"Đã lưu phiên bản {number}." if created else "Nội dung không đổi; không tạo phiên bản mới.")
    return redirect(url_for("survey.results", survey_id=definition.id), 303)


def _render(survey_id: str | None, state: BuilderState, history: list, *, problems=(), preview=None, status=200):
    current = history[-1] if history else None
    return render_template(
        "survey/builder.html", survey_id=survey_id, state=state, problems=list(problems), preview=preview,
        current=current, type_choices=TYPE_CHOICES, limits=LIMITS, max_order=MAX_ORDER,
        max_questions=MAX_QUESTIONS, max_option_rows=MAX_OPTION_ROWS, max_text_length=MAX_TEXT_LENGTH,
        field_name=field_name, versions=versions(deployment().db, survey_id) if survey_id else []), status


def _template_text() -> str:
    from .cli import template_text

    return template_text("sipas")
