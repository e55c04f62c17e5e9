"""Web pages: the public call, the entry form and its receipt, the lookup by tracking code, the
public list of awarded initiatives; the panel's pages (set-up, secretary, judges).

Blind review: every page and download a judge opens is built from :func:`blind_view` — the
title, summary and document text with the authors' names and contact replaced, and the judges'
copy of the document (without its metadata), withheld while the name check finds an author's name
in the text. Nothing a judge opens names the entry's unit either.
"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from ccch_core import ratelimit, unit_picker
from ccch_core.inputs import parse_code, parse_int
from ccch_core.limits import limits_of
from ccch_core.periods import utc_now
from ccch_core.web import client_key, deployment
from ccch_core.web.auth import login_required, public, roles_required
from ccch_core.web.formtoken import (
    FormTokenCheck,
    check_form_token,
    form_token_protected,
    issue_form_token,
)

from . import entries as entries_mod
from .calls import (
    JUDGE,
    MANAGER_ROLES,
    PANEL_ROLES,
    ROUNDS,
    SECRETARY,
    CallError,
    appoint,
    dismiss,
    get_call,
    list_calls,
    panel,
    plan_of_call,
    save_call,
    seat_of,
    seats_of_user,
)
from .definition import AGGREGATIONS, ENTRANTS, DefinitionError, clean_block
from .documents import (
    DocumentError,
    check_document,
    fold_text,
    person_needles,
    read_upload,
    redact,
)
from .entries import (
    EntryError,
    check_form,
    document_bytes,
    document_info,
    eligible_units,
    entries_of,
    entry_by_code,
    get_entry,
    replace_entry,
    similar_pairs,
    submit_entry,
    withdraw_entry,
)
from .entries import (
    parse_code as parse_tracking_code,
)
from .judging import (
    JudgingError,
    add_judge,
    advance_to_final,
    assign_judges,
    assignments,
    awards_of,
    check_scores,
    decide_awards,
    declare_conflict,
    declared_conflicts,
    get_assignment,
    may_judge,
    publish_results,
    rank,
    results,
    save_scores,
    scores_of,
)

public_bp = Blueprint("initiatives_public", __name__, template_folder="templates")
panel_bp = Blueprint("initiatives_panel", __name__, template_folder="templates")

LOOKUP_LIMIT = ratelimit.Limit(20, 3600)
"""Tracking-code look-ups per address an hour (a code is a bearer secret of 60 bits)."""
SUBMIT_LIMIT = ratelimit.Limit(30, 3600)
MAX_FORM_MARGIN = 200_000
"""Bytes a submission may carry beyond the document's limit (the other fields)."""


def _now():
    return entries_mod.clock()


def _call_or_404(slug: str):
    if parse_code(slug, 40) is None:
        abort(404)
    call = get_call(deployment().db, slug)
    if call is None:
        abort(404)
    return call


def _units(call):
    return eligible_units(_plan(call), call)


def _plan(call):
    """The plan of the year the call opens in (``calls.plan_of_call``)."""
    return plan_of_call(deployment(), call)


def _picked(plan, form, names, allowed=None):
    """The unit fields ``names`` of a posted form typed by name (the core's unit picker, used
    when the form offers more units than a list can hold): the form with each unit's id in place
    of its name, the problems by field (an empty field is no problem: the fields are optional or
    checked afterwards), and each picker's state to show again."""
    resolved = form.copy()
    errors: dict[str, str] = {}
    choices: dict[str, unit_picker.UnitChoice] = {}
    for name in names:
        choice = unit_picker.resolve_posted(plan, form, name, allowed=allowed)
        choices[name] = choice
        resolved[name] = choice.unit.id if choice.unit is not None else ""
        if choice.problem:
            errors[name] = unit_picker.problem_vi(choice)
    return resolved, errors, choices


def _choices(plan, values, names, choices=None):
    """Each picker's state for a page shown from ``values`` (ids) or after a refused post."""
    return {name: (choices or {}).get(name) or _shown(plan, values, name) for name in names}


def _shown(plan, values, name):
    value = values.get(name) or ""
    if not value or plan.has_unit(value):
        return unit_picker.chosen(plan, value)
    # A post refused before its units were resolved (the form open too long, too many sends):
    # the text as typed and the id sent beside it, resolved when the form is sent again.
    picked = values.get(name + unit_picker.ID_SUFFIX) or ""
    unit = plan.unit(picked) if len(picked) <= unit_picker.TEXT_MAX and plan.has_unit(picked) else None
    return unit_picker.UnitChoice(value[:unit_picker.TEXT_MAX], unit)


# -- public ------------------------------------------------------------------------------------------


@public_bp.route("")
@public
def calls_index():
    return render_template("initiatives/public_index.html", calls=list_calls(deployment().db), now=_now())


@public_bp.route("/<slug>")
@public
def call_page(slug):
    call = _call_or_404(slug)
    return render_template("initiatives/call.html", call=call, now=_now(), entrants=ENTRANTS,
                           aggregations=AGGREGATIONS)


FORM_PURPOSE = "initiatives-entry"


def _entry_unit_fields() -> list[str]:
    return ["unit_id", *(f"author_unit_{i}" for i in range(1, entries_mod.MAX_AUTHORS + 1))]


def _form_page(call, values, errors, status=200, entry=None, choices=None):
    units = _units(call)
    # A call open to thousands of units (a national plan): each unit typed by name, resolved by
    # the server when the form is sent (no JavaScript; a name of several units comes back with
    # them to choose from) — a list per author field was megabytes.
    picker = unit_picker.needs_picker(len(units))
    return render_template("initiatives/entry_form.html", call=call, values=values, errors=errors,
                           units=[] if picker else units, picker=picker,
                           choices=_choices(_plan(call), values, _entry_unit_fields(), choices) if picker else {},
                           entrants=ENTRANTS, entry=entry, max_authors=entries_mod.MAX_AUTHORS, now=_now(),
                           form_token=issue_form_token(FORM_PURPOSE, call.slug)), status


def _public_call(slug):
    """The call of a form-token-protected view: a POST without a valid token is refused with 400
    before anything else, even for a call that does not exist; then 404 for an unknown call."""
    call = get_call(deployment().db, slug) if parse_code(slug, 40) else None
    if call is None:
        if request.method == "POST":
            try:
                token = request.form.get("form_token")
            except RequestEntityTooLarge:
                token = None
            if check_form_token(token, FORM_PURPOSE, slug[:40]) is not FormTokenCheck.VALID:
                abort(400, description="Biểu mẫu không hợp lệ. Vui lòng tải lại trang rồi gửi lại.")
        abort(404)
    return call


def _parse_body(call):
    """The form and files of an entry's POST, read within the call's document limit (not the app's
    general request limit): (form, None), or (None, the response refusing it).

    These views are exempt from the session's CSRF check, which would parse the body first under
    the app's general limit, and check a form token of their own instead (an entry needs no
    session: the tracking code is the author's key)."""
    request.max_content_length = call.definition.max_document_bytes + MAX_FORM_MARGIN
    try:
        form = request.form
        request.files  # noqa: B018 - parse the body now, within the bound
    except RequestEntityTooLarge:
        return None, _too_large(call)
    check = check_form_token(form.get("form_token"), FORM_PURPOSE, call.slug)
    if check is FormTokenCheck.INVALID:
        abort(400, description="Biểu mẫu không hợp lệ. Vui lòng tải lại trang rồi gửi lại.")
    if check is FormTokenCheck.EXPIRED:
        return None, _form_page(call, form, {"document": "Biểu mẫu đã mở quá lâu; vui lòng chọn lại tệp tài liệu "
                                                        "rồi gửi lại."}, 422)
    return form, None


def _read_document(call, required: bool):
    upload = request.files.get("document")
    if upload is None or not upload.filename:
        if required:
            raise DocumentError("Chưa chọn tệp tài liệu (DOCX hoặc PDF).")
        return None
    data = read_upload(upload.stream, call.definition.max_document_bytes, limits_of(deployment()))
    return check_document(data, limits_of(deployment()))


def _too_large(call, entry=None):
    mb = f"{call.definition.max_document_bytes / 1_000_000:g}".replace(".", ",")
    return _form_page(call, {}, {"document": f"Tài liệu: tệp quá lớn; giới hạn {mb} MB. Hãy giảm dung lượng rồi "
                                             "gửi lại (thông tin đã nhập cần nhập lại)."}, 413, entry)


@public_bp.route("/<slug>/nop-bai", methods=["GET", "POST"])
@public
@form_token_protected
def submit(slug):
    """The entry form; POST stores the entry and shows the receipt with its tracking code."""
    call = _public_call(slug)
    dep = deployment()
    if request.method == "GET":
        return _form_page(call, {}, {})
    form, refusal = _parse_body(call)
    if refusal is not None:
        return refusal
    decision = ratelimit.hit(dep.db, "initiatives-submit", client_key("initiatives-submit"), SUBMIT_LIMIT)
    if not decision.allowed:
        return _form_page(call, form, {"document": "Đã gửi quá nhiều lần từ địa chỉ này; vui lòng thử lại sau ít "
                                                   "phút."}, 429)
    errors = {}
    fields = document = None
    picked_errors, choices = {}, None
    eligible = _units(call)
    if unit_picker.needs_picker(len(eligible)):
        ids = {u.id for u in eligible}
        form, picked_errors, choices = _picked(_plan(call), form, _entry_unit_fields(), allowed=lambda u: u.id in ids)
    try:
        fields = check_form(_plan(call), call, form)
    except EntryError as exc:
        errors.update(exc.errors)
    errors.update(picked_errors)
    try:
        document = _read_document(call, required=True)
    except DocumentError as exc:
        errors["document"] = f"Tài liệu: {exc}"
    if not errors:
        try:
            entry = submit_entry(dep, call, fields, document)
        except EntryError as exc:
            errors.update(exc.errors)
    if errors:
        return _form_page(call, form, errors, 422, choices=choices)
    return render_template("initiatives/receipt.html", call=call, entry=entry, info=document_info(dep.db, entry.id),
                           replaced=False)


def _lookup_entry(call, raw_code):
    """The entry of a typed tracking code in this call, rate limited per address; None if none."""
    dep = deployment()
    decision = ratelimit.hit(dep.db, "initiatives-lookup", client_key("initiatives-lookup"), LOOKUP_LIMIT)
    if not decision.allowed:
        abort(429, description="Đã tra cứu quá nhiều lần từ địa chỉ này; vui lòng thử lại sau một giờ.")
    code = parse_tracking_code(raw_code)
    entry = entry_by_code(dep.db, code) if code else None
    return entry if entry is not None and entry.call_id == call.id else None


@public_bp.route("/<slug>/tra-cuu", methods=["GET", "POST"])
@public
@form_token_protected
def lookup(slug):
    """Look an entry up by its tracking code (POST, so the code stays out of addresses and logs);
    before the close, replace its document or correct its fields."""
    call = _public_call(slug)
    dep = deployment()
    if request.method == "GET":
        return _lookup_page(call, None, "")
    form, refusal = _parse_body(call)
    if refusal is not None:
        return refusal
    entry = _lookup_entry(call, form.get("code"))
    if entry is None or entry.status != "submitted":
        return _lookup_page(call, code=(form.get("code") or "")[:40],
                               error="Không tìm thấy bài dự thi có mã hồ sơ này trong cuộc thi. Hãy kiểm tra lại mã "
                                     "trên giấy biên nhận (dạng SK-XXXX-XXXX-XXXX)."), 404
    if form.get("action") != "replace":
        if not call.is_open(_now()):  # nothing to change any more: the receipt says what was received
            return render_template("initiatives/receipt.html", call=call, entry=entry,
                                   info=document_info(dep.db, entry.id), replaced=False)
        return _form_page(call, _entry_values(entry), {}, entry=entry)
    errors = {}
    fields = document = None
    picked_errors, choices = {}, None
    eligible = _units(call)
    if unit_picker.needs_picker(len(eligible)):
        # The form shows the units by name (the picker), as when the entry was sent: resolved alike.
        ids = {u.id for u in eligible}
        form, picked_errors, choices = _picked(_plan(call), form, _entry_unit_fields(), allowed=lambda u: u.id in ids)
    try:
        fields = check_form(_plan(call), call, form)
    except EntryError as exc:
        errors.update(exc.errors)
    errors.update(picked_errors)
    try:
        document = _read_document(call, required=False)
    except DocumentError as exc:
        errors["document"] = f"Tài liệu: {exc}"
    if not errors:
        try:
            entry = replace_entry(dep, call, entry, fields, document)
        except EntryError as exc:
            errors.update(exc.errors)
    if errors:
        return _form_page(call, form, errors, 422, entry=entry, choices=choices)
    return render_template("initiatives/receipt.html", call=call, entry=entry, info=document_info(dep.db, entry.id),
                           replaced=True)


def _lookup_page(call, error, code):
    return render_template("initiatives/lookup.html", call=call, error=error, code=code,
                           form_token=issue_form_token(FORM_PURPOSE, call.slug))


def _entry_values(entry) -> dict:
    values = {"title": entry.title, "summary": entry.summary, "category": entry.category,
              "entrant_kind": entry.entrant_kind, "unit_id": entry.unit_id, "contact_email": entry.contact_email or "",
              "contact_phone": entry.contact_phone or "", "consent": "1"}
    for i, author in enumerate(entry.authors, 1):
        values[f"author_{i}"] = author.get("name", "")
        values[f"author_unit_{i}"] = author.get("unit_id", "")
    return values


@public_bp.route("/<slug>/ket-qua")
@public
def public_results(slug):
    """The awarded initiatives, once published: title, authors, unit, award (no contact)."""
    call = _call_or_404(slug)
    if not call.results_published_at:
        abort(404, description="Kết quả cuộc thi chưa được công bố.")
    return render_template("initiatives/public_results.html", call=call, awards=awards_of(deployment().db, call),
                           plan=_plan(call))


# -- the panel ---------------------------------------------------------------------------------------


def _is_manager() -> bool:
    return g.user.role in MANAGER_ROLES


def _secretary_call(slug):
    """The call, for its secretary or a manager; 404/403 for anyone else."""
    call = _call_or_404(slug)
    if _is_manager():
        return call
    seat = seat_of(deployment().db, call.id, g.user.username)
    if seat is None or seat.role != SECRETARY:
        abort(403)
    return call


def _judge_seat(slug):
    call = _call_or_404(slug)
    seat = seat_of(deployment().db, call.id, g.user.username)
    if seat is None or seat.role != JUDGE:
        abort(403)
    return call, seat


@panel_bp.route("")
@login_required
def index():
    db = deployment().db
    seats = {s.call_id: s for s in seats_of_user(db, g.user.username)}
    calls = [c for c in list_calls(db) if _is_manager() or c.id in seats]
    if not calls and not _is_manager():
        abort(403)
    return render_template("initiatives/panel_index.html", calls=calls, seats=seats, manager=_is_manager(),
                           roles=PANEL_ROLES, rounds=ROUNDS)


@panel_bp.route("/tao-moi", methods=["GET", "POST"])
@roles_required(*MANAGER_ROLES)
def create():
    return _definition_page(None)


@panel_bp.route("/<slug>/the-le", methods=["GET", "POST"])
@roles_required(*MANAGER_ROLES)
def edit(slug):
    return _definition_page(_call_or_404(slug))


def _definition_page(call):
    dep = deployment()
    text = call.source if call else ""
    if request.method == "POST":
        text = request.form.get("definition") or ""
        try:
            saved, _created = save_call(dep, text, actor=g.user.username)
        except DefinitionError as exc:
            return render_template("initiatives/definition.html", call=call, text=text, problems=exc.problems), 422
        except CallError as exc:
            return render_template("initiatives/definition.html", call=call, text=text, problems=[str(exc)]), 422
        if call is not None and saved.slug != call.slug:
            flash(f"Đã lưu thành cuộc thi mới “{saved.slug}” (slug khác với cuộc thi đang sửa).")
        else:
            flash("Đã lưu thể lệ cuộc thi.")
        return redirect(url_for(".secretary", slug=saved.slug), 303)
    if call is None:
        from importlib.resources import files

        text = files("ccch_initiatives").joinpath("data/mau-the-le.toml").read_text("utf-8")
    return render_template("initiatives/definition.html", call=call, text=text, problems=[])


@panel_bp.route("/thiet-lap", methods=["GET", "POST"])
@roles_required(*MANAGER_ROLES)
def setup_new():
    return _setup_page(None)


@panel_bp.route("/<slug>/thiet-lap", methods=["GET", "POST"])
@roles_required(*MANAGER_ROLES)
def setup(slug):
    return _setup_page(_call_or_404(slug))


def _setup_page(call):
    """The call built with a form (*Thiết lập*); the form writes the call's TOML (setup_form)."""
    from . import setup_form

    dep = deployment()
    plan = plan_of_call(dep, call)  # a new call: the default plan
    errors: dict[str, str] = {}
    problems: list[str] = []
    picker = unit_picker.needs_picker(len(plan.units))
    choices = None
    if request.method == "POST":
        form = request.form
        if picker:
            # The organiser typed by name (the core's unit picker).
            form, errors, choices = _picked(plan, form, ["organiser"], allowed=lambda u: not u.external)
        try:
            if errors:
                raise setup_form.SetupError(errors, [f"Đơn vị tổ chức: {errors['organiser']}"])
            text, _definition = setup_form.definition_from_form(form, plan, slug=call.slug if call else None)
            saved, _created = save_call(dep, text, actor=g.user.username)
        except setup_form.SetupError as exc:
            errors, problems = exc.errors, exc.problems
        except CallError as exc:
            problems = [str(exc)]
        else:
            flash("Đã lưu thiết lập cuộc thi.")
            return redirect(url_for(".secretary", slug=saved.slug), 303)
        values = form
    elif call is not None:
        values = setup_form.form_values(call.definition)
    else:
        values = {"judges_per_entry": "3", "final_judges_per_entry": "5", "finalists_per_category": "3",
                  "aggregation": "trimmed_mean", "disagreement_threshold": "20", "max_document_mb": "10",
                  "retention_days": "730", "entrant_person": "1", "entrant_group": "1", "entrant_unit": "1",
                  "opens_time": "07:00", "closes_time": "17:00"}
    return render_template("initiatives/setup.html", call=call, values=values, errors=errors, problems=problems,
                           units=[] if picker else plan.units, picker=picker,
                           choices=_choices(plan, values, ["organiser"], choices) if picker else {},
                           groups=plan.unit_groups, entrants=ENTRANTS,
                           aggregations=AGGREGATIONS, rows=setup_form), (422 if problems else 200)


@panel_bp.route("/<slug>/thanh-vien", methods=["GET", "POST"])
@roles_required(*MANAGER_ROLES)
def members(slug):
    call = _call_or_404(slug)
    dep = deployment()
    errors = {}
    picker = unit_picker.needs_picker(len(_plan(call).units))
    choices = None
    if request.method == "POST":
        form = request.form
        if picker and form.get("action") != "remove":
            # The judge's unit typed by name (the core's unit picker); empty: the account's unit.
            form, errors, choices = _picked(_plan(call), form, ["unit_id"])
        try:
            if errors:
                raise CallError(errors["unit_id"])
            if form.get("action") == "remove":
                dismiss(dep, call, (form.get("username") or "")[:64], actor=g.user.username)
                flash("Đã rút khỏi hội đồng.")
            else:
                unit = form.get("unit_id") or None
                seat = appoint(dep, call, (form.get("username") or "").strip()[:64], form.get("role") or "", unit,
                               actor=g.user.username)
                flash(f"Đã phân công {seat.username}: {seat.role_label}.")
            return redirect(url_for(".members", slug=slug), 303)
        except CallError as exc:
            errors.setdefault("unit_id" if errors else "username", str(exc))
    return render_template("initiatives/members.html", call=call, seats=panel(dep.db, call.id), roles=PANEL_ROLES,
                           plan=_plan(call), units=[] if picker else _plan(call).units, picker=picker,
                           choices=_choices(_plan(call), request.form, ["unit_id"], choices) if picker else {},
                           errors=errors, values=request.form), (422 if errors else 200)


@panel_bp.route("/<slug>")
@login_required
def secretary(slug):
    """The secretary's overview: entries with their authors, hints, assignments, scores, flags."""
    call = _call_or_404(slug)
    db = deployment().db
    if not _is_manager():
        seat = seat_of(db, call.id, g.user.username)
        if seat is None:
            abort(403)
        if seat.role == JUDGE:
            return redirect(url_for(".judge_index", slug=slug), 303)
    round_ = request.args.get("vong") if request.args.get("vong") in ROUNDS else call.stage
    rows = results(db, call, round_)
    ranked = rank(call, rows)
    docs = {r[0]: (r[1], r[2]) for r in db.execute(
        "select d.entry_id, d.names_found, d.kind from initiative_documents d join initiative_entries e on "
        "e.id = d.entry_id where e.call_id = ?", [call.id])}
    similar = similar_pairs(db, call.id)
    codes = {e.id: e.code for e in entries_of(db, call.id, status=None)}
    withdrawn = entries_of(db, call.id, status="withdrawn")
    judges = panel(db, call.id, JUDGE)
    by_author: dict[str, tuple[str, list]] = {}
    for entry in entries_of(db, call.id):  # the same author in several entries: a self-plagiarism hint
        for name in {" ".join(fold_text(n).split()): n for n in entry.author_names}.items():
            by_author.setdefault(name[0], (name[1], []))[1].append(entry)
    repeated = [(name, found) for name, found in by_author.values() if len(found) > 1]
    loads = dict(db.execute("select username, count(*) from initiative_assignments where call_id = ? and round = ? "
                            "group by username", [call.id, round_]).fetchall())
    return render_template("initiatives/secretary.html", call=call, round=round_, rounds=ROUNDS, ranked=ranked,
                           docs=docs, similar=similar, codes=codes, judges=judges, loads=loads, withdrawn=withdrawn,
                           plan=_plan(call), manager=_is_manager(), now=utc_now(),
                           awards=awards_of(db, call), repeated=repeated)


@panel_bp.route("/<slug>/thao-tac", methods=["POST"])
@login_required
def secretary_action(slug):
    call = _secretary_call(slug)
    dep = deployment()
    action = request.form.get("action")
    try:
        if action == "assign":
            report = assign_judges(dep, call, call.stage, actor=g.user.username)
            flash(f"Đã phân công: {report.created} lượt mới, {report.moved} lượt chuyển."
                  + (f" {len(report.short)} bài thiếu giám khảo." if report.short else ""))
        elif action == "extra":
            entry = _entry_of_call(call, request.form.get("entry_id"))
            chosen = add_judge(dep, call, entry, call.stage, actor=g.user.username)
            flash(f"Đã thêm giám khảo {chosen} cho bài {entry.code}.")
        elif action == "final":
            n = advance_to_final(dep, call, actor=g.user.username)
            flash(f"{n} bài vào vòng chung khảo. Hãy phân công giám khảo chung khảo.")
        elif action == "awards":
            flash(f"Đã xét {len(decide_awards(dep, call, actor=g.user.username))} giải.")
        elif action == "publish":
            publish_results(dep, call, actor=g.user.username)
            flash("Đã công bố kết quả.")
        elif action == "withdraw":
            entry = _entry_of_call(call, request.form.get("entry_id"))
            reason = clean_block((request.form.get("reason") or "")[:2000])
            if not reason:
                flash("Loại bài: cần ghi lý do.")
            else:
                withdraw_entry(dep, call, entry, actor=g.user.username, reason=reason)
                flash(f"Đã loại bài {entry.code}.")
        else:
            abort(400, description="Thao tác không hợp lệ.")
    except JudgingError as exc:
        flash(str(exc))
    return redirect(url_for(".secretary", slug=slug), 303)


def _entry_of_call(call, raw):
    entry_id = parse_int(raw, 1, 2**63 - 1)
    entry = get_entry(deployment().db, entry_id) if entry_id else None
    if entry is None or entry.call_id != call.id:
        abort(404)
    return entry


@panel_bp.route("/<slug>/bai/<int:entry_id>")
@login_required
def secretary_entry(slug, entry_id):
    call = _secretary_call(slug)
    db = deployment().db
    entry = _entry_of_call(call, str(entry_id))
    sheets = []
    for round_ in ROUNDS:
        for a in assignments(db, call.id, round_, entry_id=entry.id):
            sheets.append((round_, a, scores_of(db, a.id)))
    token = issue_form_token("initiatives-anonymise", f"{call.slug}:{entry.id}:{g.user.username}")
    return render_template("initiatives/secretary_entry.html", call=call, entry=entry, rounds=ROUNDS, sheets=sheets,
                           info=document_info(db, entry.id), plan=_plan(call), anonymise_token=token)


@panel_bp.route("/<slug>/bai/<int:entry_id>/tai-lieu")
@login_required
def secretary_document(slug, entry_id):
    call = _secretary_call(slug)
    entry = _entry_of_call(call, str(entry_id))
    found = document_bytes(deployment().db, entry.id, "original")
    if found is None:
        abort(404)
    kind, data = found
    return _send(data, kind, f"{entry.code}-ban-goc")


@panel_bp.route("/<slug>/bai/<int:entry_id>/ban-an-danh", methods=["POST"])
@form_token_protected
def secretary_anonymised(slug, entry_id):
    """The secretary uploads an anonymised copy for the judges.

    A signed-in POST whose file may exceed the app's general request limit: the session's CSRF
    check would read the body under that limit first, so the form carries a form token bound to
    the call, the entry and the account instead, checked here before anything else (400 without
    one); an anonymous visitor with a form is sent to the login page, as by ``login_required``."""
    call = get_call(deployment().db, slug) if parse_code(slug, 40) else None
    limit = call.definition.max_document_bytes if call else 1_000_000
    request.max_content_length = limit + MAX_FORM_MARGIN
    try:
        form = request.form
        upload = request.files.get("document")
    except RequestEntityTooLarge:
        abort(413, description="Tệp quá lớn so với giới hạn của cuộc thi.")
    if g.user is None:
        if not (form.get("form_token") or form.get("csrf_token")):
            abort(400, description="Biểu mẫu không hợp lệ. Vui lòng tải lại trang rồi gửi lại.")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    bound = f"{slug[:40]}:{entry_id}:{g.user.username}"
    if check_form_token(form.get("form_token"), "initiatives-anonymise", bound) is not FormTokenCheck.VALID:
        abort(400, description="Biểu mẫu không hợp lệ hoặc đã hết hạn. Vui lòng tải lại trang rồi gửi lại.")
    call = _secretary_call(slug)
    entry = _entry_of_call(call, str(entry_id))
    try:
        if upload is None or not upload.filename:
            raise DocumentError("Chưa chọn tệp.")
        data = read_upload(upload.stream, call.definition.max_document_bytes, limits_of(deployment()))
        entries_mod.replace_judges_copy(deployment(), call, entry, check_document(data, limits_of(deployment())),
                                        actor=g.user.username)
        flash("Đã thay bản cho giám khảo bằng bản ẩn danh.")
    except DocumentError as exc:
        flash(f"Bản ẩn danh: {exc}")
    except EntryError as exc:
        flash(exc.errors["document"])
    return redirect(url_for(".secretary_entry", slug=slug, entry_id=entry.id), 303)


secretary_anonymised.ccch_access = "login"  # checked in the view, after the form token (see its docstring)


@panel_bp.route("/<slug>/giay-chung-nhan.pdf")
@login_required
def certificates(slug):
    """The certificates of the awards decided, one page each (the secretary and managers)."""
    from .certificates import certificates_pdf

    call = _secretary_call(slug)
    awards = awards_of(deployment().db, call)
    if not awards:
        abort(404, description="Chưa xét giải.")
    data = certificates_pdf(_plan(call), call, awards)
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"giay-chung-nhan-{call.slug}.pdf")


DECISION_LABELS = {
    "number": "Số quyết định (để trống nếu chưa lấy số)",
    "day": "Ngày ký (để trống nếu chưa ký)",
    "bases": "Căn cứ (mỗi dòng một căn cứ)",
    "proposal": "Theo đề nghị của",
    "rewards": "Điều 2: hình thức khen thưởng",
    "executors": "Điều 3: chịu trách nhiệm thi hành",
    "recipients": "Nơi nhận (mỗi dòng một nơi, dòng cuối là nơi lưu)",
    "signer": "Người ký",
    "signer_name": "Họ và tên người ký",
}


@panel_bp.route("/<slug>/quyet-dinh", methods=["GET", "POST"])
@login_required
def decision(slug):
    """The decision on the awards: the office's fields, saved per call; the Word document in the
    Decree 30 layout, written by the plugin that writes decisions (the export plugin)."""
    from ccch_core.documents import DocumentWriterMissing, document_writers, write_document

    from .decision import SIGNER_LABELS, DecisionFormError, counts_of, decision_for, parse_form, save_draft, saved_draft

    call = _secretary_call(slug)
    dep = deployment()
    awards = awards_of(dep.db, call)
    if not awards:
        abort(404, description="Chưa xét giải: xét giải trước rồi soạn quyết định.")
    writer = ("decision", "docx") in document_writers(dep)
    errors: dict[str, str] = {}
    draft = saved_draft(dep.db, _plan(call), call)
    values = draft.as_form()
    if request.method == "POST":
        values = {k: str(request.form.get(k) or "")[:20_000] for k in DECISION_LABELS}
        try:
            draft = parse_form(request.form)
        except DecisionFormError as exc:
            errors = exc.errors
        else:
            save_draft(dep, call, draft, actor=g.user.username)
            if request.form.get("action") != "download":
                flash("Đã lưu nội dung quyết định.")
                return redirect(url_for(".decision", slug=slug), 303)
            try:
                stream = io.BytesIO()
                media = write_document(dep, decision_for(dep, call, draft), stream)
            except DocumentWriterMissing:
                errors = {"writer": _WRITER_MISSING}
            else:
                return send_file(io.BytesIO(stream.getvalue()), mimetype=media, as_attachment=True,
                                 download_name=f"quyet-dinh-khen-thuong-{call.slug}.docx")
    return render_template("initiatives/decision.html", call=call, awards=awards, counts=counts_of(call, awards),
                           values=values, errors=errors, labels=DECISION_LABELS, signers=SIGNER_LABELS,
                           writer=writer, writer_missing=_WRITER_MISSING), \
        (422 if errors else 200)


_WRITER_MISSING = ("Chưa bật plugin xuất văn bản nên chưa tải được tệp Word: cán bộ tin học cài gói ccch-export và thêm "
            "\"export\" vào danh sách plugins trong ccch.toml. Nội dung nhập ở đây vẫn được lưu.")


def _send(data: bytes, kind: str, stem: str):
    media = "application/pdf" if kind == "pdf" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return send_file(io.BytesIO(data), mimetype=media, as_attachment=True, download_name=f"{stem}.{kind}")


# -- judges ------------------------------------------------------------------------------------------


def blind_view(db, entry):
    """What a judge may see of an entry: code, title, category, summary and document text with
    every author's name and the contact replaced by "[đã ẩn]"; whether the judges' copy of the
    document may be downloaded (not while the text still names an author)."""
    needles = person_needles(list(entry.authors), entry.contact_email, entry.contact_phone)
    info = document_info(db, entry.id)
    return {
        "code": entry.code, "title": redact(entry.title, needles), "category": entry.category,
        "summary": redact(entry.summary, needles), "text": redact(info.text, needles) if info else "",
        "kind": info.kind if info else None, "size": info.size if info else 0,
        "downloadable": bool(info and not info.names_found),
    }


def blind_title(entry) -> dict:
    """The code and the title (names replaced) of an entry, for a judge's lists."""
    needles = person_needles(list(entry.authors), entry.contact_email, entry.contact_phone)
    return {"code": entry.code, "title": redact(entry.title, needles)}


@panel_bp.route("/<slug>/cham")
@login_required
def judge_index(slug):
    call, seat = _judge_seat(slug)
    db = deployment().db
    plan = _plan(call)
    declared = declared_conflicts(db, call.id)
    entries = {e.id: e for e in entries_of(db, call.id)}
    scored = dict(db.execute(
        "select s.assignment_id, count(*) from initiative_scores s join initiative_assignments a on "
        "a.id = s.assignment_id where a.call_id = ? and a.username = ? group by s.assignment_id",
        [call.id, seat.username]).fetchall())
    rows = []
    for a in assignments(db, call.id, call.stage, username=seat.username):
        entry = entries.get(a.entry_id)
        if entry is None or not may_judge(plan, seat, entry, declared):
            continue
        rows.append((a, blind_title(entry), scored.get(a.id, 0)))
    # Entries a judge may declare a conflict on: the call's, minus their own unit's (never shown).
    others = [(e.id, blind_title(e)) for e in entries.values() if may_judge(plan, seat, e, declared)]
    return render_template("initiatives/judge_index.html", call=call, seat=seat, rows=rows, rounds=ROUNDS,
                           others=others)


def _judge_assignment(slug, assignment_id):
    call, seat = _judge_seat(slug)
    db = deployment().db
    assignment = get_assignment(db, assignment_id)
    if assignment is None or assignment.call_id != call.id or assignment.username != seat.username:
        abort(404)
    entry = get_entry(db, assignment.entry_id)
    if entry is None or not may_judge(_plan(call), seat, entry, declared_conflicts(db, call.id)):
        abort(404)
    return call, seat, assignment, entry


@panel_bp.route("/<slug>/cham/<int:assignment_id>", methods=["GET", "POST"])
@login_required
def score(slug, assignment_id):
    """A judge's scoring sheet for one entry, next to the entry's text (blind)."""
    call, _seat, assignment, entry = _judge_assignment(slug, assignment_id)
    dep = deployment()
    stored = scores_of(dep.db, assignment.id)
    values = {f"score_{k}": str(v[0]) for k, v in stored.items()} | {f"comment_{k}": v[1] for k, v in stored.items()}
    values["comment"] = assignment.comment or ""
    errors = {}
    status = 200
    if request.method == "POST":
        form = request.form
        try:
            scores, overall = check_scores(call, form, complete=form.get("action") == "submit")
            changed = save_scores(dep, call, assignment, scores, overall, submit=form.get("action") == "submit",
                                  actor=g.user.username)
            flash("Đã gửi phiếu chấm." if form.get("action") == "submit" else f"Đã lưu ({changed} điểm thay đổi).")
            return redirect(url_for(".score", slug=slug, assignment_id=assignment.id), 303)
        except JudgingError as exc:
            errors = exc.errors or {"form": str(exc)}
            values = form
            status = 422
    from .judging import discussion

    return render_template("initiatives/score.html", call=call, assignment=assignment, view=blind_view(dep.db, entry),
                           values=values, errors=errors, rounds=ROUNDS,
                           discussion=discussion(dep.db, call, assignment)), status


@panel_bp.route("/<slug>/cham/<int:assignment_id>/tai-lieu")
@login_required
def judge_document(slug, assignment_id):
    """The judges' copy: the document without its metadata; refused while the name check finds an
    author's name in its text."""
    _call, _seat, _assignment, entry = _judge_assignment(slug, assignment_id)
    db = deployment().db
    if not blind_view(db, entry)["downloadable"]:
        abort(403, description="Tài liệu còn tên tác giả; ban thư ký đang xử lý. Hãy chấm theo nội dung hiển thị "
                               "trên trang (đã ẩn tên).")
    found = document_bytes(db, entry.id, "blind")
    if found is None:
        abort(404)
    kind, data = found
    return _send(data, kind, f"sang-kien-{entry.code}")


@panel_bp.route("/<slug>/xung-dot", methods=["POST"])
@login_required
def conflict(slug):
    call, seat = _judge_seat(slug)
    entry = _entry_of_call(call, request.form.get("entry_id"))
    reason = clean_block((request.form.get("reason") or "")[:2000])
    if not reason:
        flash("Khai báo xung đột lợi ích: cần ghi lý do (ví dụ: người thân, đồng nghiệp cũ).")
        return redirect(url_for(".judge_index", slug=slug), 303)
    declare_conflict(deployment(), call, seat, entry, reason)
    flash(f"Đã ghi nhận xung đột lợi ích với bài {entry.code}; bài không còn trong danh sách chấm của anh/chị.")
    return redirect(url_for(".judge_index", slug=slug), 303)
