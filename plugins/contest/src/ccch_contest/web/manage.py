"""The contest manager's pages under ``/cuoc-thi/quan-ly`` (Phòng Nội vụ; role ``contest_manager``,
and ``system_admin``): set up a contest, import questions, follow rounds, disqualify, rank, pick
winners, export."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)

from ccch_core import levels, unit_picker
from ccch_core.accounts import Role
from ccch_core.inputs import parse_int
from ccch_core.limits import LimitError, limits_of, read_limited
from ccch_core.periods import utc_now
from ccch_core.questions import QuestionError
from ccch_core.report import DataScope
from ccch_core.text import sort_key
from ccch_core.web import deployment
from ccch_core.web.auth import roles_required
from ccch_core.web.params import page_arg

from .. import bank as bank_mod
from ..attempts import attempts_of
from ..checks import readiness
from ..contests import (
    ACTION_LABELS,
    ContestError,
    get_contest,
    list_contests,
    save_definition,
)
from ..definition import (
    MAX_ROUND_NUMBER,
    TIE_BREAK_LABELS,
    DefinitionError,
    definition_from_dict,
    definition_to_toml,
    loads_definition,
)
from ..exports import TABLES_BY_NAME, stream_csv
from ..lifecycle import set_status
from ..moderation import disqualify_attempt, set_disqualified
from ..participants import (
    contact_phone,
    find_by_phone,
    get_participant,
    verify_citizen_id,
)
from ..personal_data import erase_participant, purge_contacts, record_prizes_handed
from ..ranking import (
    close_round,
    collective_winners,
    ensure_closed,
    entries,
    overall_entries,
    overall_prize_list,
    participation,
    prize_list,
)
from ..reporting import bar_chart_svg
from ..sql import query
from .setup_form import (
    EXTRA_AUDIENCES,
    EXTRA_ROUNDS,
    EXTRA_ROWS,
    MEASURE_LABELS,
    definition_to_form,
    field_label,
    form_to_data,
    message_vi,
    submitted_to_form,
    unit_options,
)

HERE = Path(__file__).resolve().parent.parent
bp = Blueprint("contest_manage", __name__, template_folder=str(HERE / "templates"))

manager = roles_required(Role.SYSTEM_ADMIN, Role.CONTEST_MANAGER)
PAGE = 50


def _contest(slug):
    contest = get_contest(deployment(), slug)
    if contest is None:
        abort(404, description="Không có cuộc thi này.")
    return contest


def _username() -> str:
    return g.user.username


def dashboard_context(dep) -> dict:
    """Figures for the dashboard panel: each published contest's current round and entrants."""
    now = utc_now()
    items = []
    for contest in list_contests(dep, published_only=True):
        current = contest.current_round(now)
        people = attempts = 0
        if current:
            people, attempts = dep.db.execute(
                "select count(distinct participant_id), count(*) from contest_attempts where round_id = ? and "
                "status = 'submitted'", [current.id]).fetchone()
        items.append({"contest": contest, "current": current, "next": contest.next_round(now), "people": people,
                      "attempts": attempts})
    return {"contests": items}


# -- contests and setup ---------------------------------------------------------------------------


@bp.route("/")
@manager
def index():
    """Every contest; create one (form or definition file)."""
    dep = deployment()
    return render_template("contest/manage_index.html", contests=list_contests(dep), now=utc_now())


_ADD_UNIT = re.compile(r"(units|eligibility_units|excluded_units|audiences-([0-9]{1,2})-units|"
                       r"collective-([0-9]{1,2})-among)-them")
"""The "add a unit" fields of the set-up form at national size: one beside each list of units."""


def _unit_list_key(match: re.Match) -> str:
    """Where the definition's check reports a problem of the list a match adds to (as form_to_data)."""
    base = match.group(1)
    if match.group(2) is not None:
        return f"audiences[{int(match.group(2))}].units"
    if match.group(3) is not None:
        return f"collective_prizes[{int(match.group(3))}].among"
    return {"units": "contest.units", "eligibility_units": "contest.eligibility.units",
            "excluded_units": "contest.eligibility.excluded_units"}[base]


def _picked_units(plan, posted):
    """At national size the set-up form chooses units by name (the core's unit picker): the
    organiser typed, and a unit typed beside each list is added to it. Returns the form with
    ids in place of names, the problems by field, and each picker's state to show again."""
    if not unit_picker.needs_picker(len(plan.units)):
        return posted, {}, {}
    form = posted.copy()
    errors: dict[str, str] = {}
    choices: dict[str, unit_picker.UnitChoice] = {}
    choice = unit_picker.resolve_posted(plan, posted, "organiser", allowed=lambda u: not u.external)
    choices["organiser"] = choice
    form["organiser"] = choice.unit.id if choice.unit is not None else ""
    if choice.problem:
        errors["contest.organiser"] = unit_picker.problem_vi(choice)
    for key in list(posted.keys()):
        match = _ADD_UNIT.fullmatch(key)
        if match is None or not (posted.get(key) or posted.get(key + unit_picker.ID_SUFFIX)):
            continue
        choice = unit_picker.resolve_posted(plan, posted, key, allowed=lambda u: not u.external)
        if choice.unit is not None:
            if choice.unit.id not in form.getlist(match.group(1)):
                form.add(match.group(1), choice.unit.id)
        else:
            choices[key] = choice
            errors[_unit_list_key(match)] = unit_picker.problem_vi(choice, "Thêm đơn vị")
    return form, errors, choices


def _setup_page(contest, values, errors, status=200, choices=None):
    dep = deployment()
    plan = dep.plan
    categories = sorted(bank_mod.bank_summary(dep.db, contest.id)["by_category"]) if contest else []
    audience_choices = [(str(i), a.get("name") or f"Đối tượng {i + 1}") for i, a in enumerate(values["audiences"])]
    picker = unit_picker.needs_picker(len(plan.units))
    choices = dict(choices or {})
    if picker:
        # A plan the size of the country: no list of every unit (megabytes). The lists show the
        # plan's groups and the units already chosen; a unit is added by its name.
        choices.setdefault("organiser", unit_picker.chosen(plan, values.get("organiser")))
        chosen_ids = {*values["units"], *values["eligibility_units"], *values["excluded_units"],
                      *(u for a in values["audiences"] for u in a.get("units", ())),
                      *(u for c in values.get("collective_prizes", ()) for u in c.get("among", ()))}
        units = [(g.id, f"Nhóm: {g.name}") for g in plan.unit_groups]
        units += [(u, plan.unit(u).name) for u in sorted(chosen_ids) if plan.has_unit(u)]
    else:
        units = unit_options(plan)
    return make_response(render_template(
        "contest/manage_setup.html", contest=contest, values=values, errors=errors, units=units,
        picker=picker, choices=choices,
        plan_units=[] if picker else [u for u in plan.units if not u.external], extra_rounds=EXTRA_ROUNDS,
        extra_audiences=EXTRA_AUDIENCES, extra_rows=EXTRA_ROWS, tie_break_labels=TIE_BREAK_LABELS,
        measure_labels=MEASURE_LABELS, audience_choices=audience_choices, bank_categories=categories,
        field_label=field_label), status)


def _save_form(contest):
    dep = deployment()
    form, picked_problems, choices = _picked_units(dep.plan, request.form)
    data, form_problems = form_to_data(form, contest.slug if contest else None)
    errors = {**dict(form_problems), **picked_problems}
    definition = None
    if not errors:
        try:
            definition = definition_from_dict(data, dep.plan)
            saved, _created = save_definition(dep, definition, username=_username(),
                                             expect_new=contest is None)
        except DefinitionError as exc:
            for problem in exc.problems:
                errors.setdefault(problem.where or "contest", message_vi(problem.message))
        except ContestError as exc:
            errors["contest.slug"] = str(exc)
    if errors:
        return _setup_page(contest, submitted_to_form(form), errors, 422, choices)
    flash("Đã tạo cuộc thi." if contest is None else "Đã lưu thiết lập cuộc thi.")
    return redirect(url_for(".overview", slug=saved.slug), code=303)


@bp.route("/tao", methods=["GET", "POST"])
@manager
def new():
    """A new contest from the setup form."""
    if request.method == "POST":
        return _save_form(None)
    return _setup_page(None, definition_to_form(None), {})


@bp.route("/nap-dinh-nghia", methods=["POST"])
@manager
def upload_definition():
    """Create or update a contest from a TOML definition file (the slug in the file says which)."""
    dep = deployment()
    upload = request.files.get("file")
    name = upload.filename if upload and upload.filename else "contest.toml"
    try:
        raw = read_limited(upload.stream, name, limits_of(dep)) if upload else None
    except LimitError as exc:
        return make_response(render_template("contest/manage_problems.html", title="Tệp định nghĩa có lỗi",
                                             problems=[str(exc)], back=url_for(".index")), 422)
    text = raw.decode("utf-8-sig", errors="replace") if raw is not None else request.form.get("text", "")
    if not text.strip():
        flash("Chọn tệp định nghĩa cuộc thi (.toml).")
        return redirect(url_for(".index"), code=303)
    try:
        definition = loads_definition(text, dep.plan, file=name, limits=limits_of(dep))
        contest, created = save_definition(dep, definition, username=_username())
    except DefinitionError as exc:
        return make_response(render_template("contest/manage_problems.html", title="Tệp định nghĩa có lỗi",
                                             problems=[str(p) for p in exc.problems],
                                             back=url_for(".index")), 422)
    flash(("Đã tạo" if created else "Đã cập nhật") + f" cuộc thi từ tệp: {contest.title}")
    return redirect(url_for(".overview", slug=contest.slug), code=303)


@bp.route("/<slug>")
@manager
def overview(slug):
    """Status, readiness checks, rounds with entrants, the question bank in numbers."""
    dep = deployment()
    now = utc_now()
    contest = ensure_closed(dep, _contest(slug), now)
    purge_contacts(dep, now)
    rounds = []
    for r in contest.rounds:
        people, done, open_now = dep.db.execute(
            "select count(distinct case when status = 'submitted' then participant_id end), "
            "sum(status = 'submitted'), sum(status = 'open') from contest_attempts where round_id = ?", [r.id]).fetchone()
        rounds.append({"round": r, "state": r.state(now), "people": people or 0, "done": done or 0,
                       "open": open_now or 0})
    registered = dep.db.execute("select count(*) from contest_participants where contest_id = ? and deleted_at is null",
                                [contest.id]).fetchone()[0]
    return render_template("contest/manage_overview.html", contest=contest, definition=contest.definition,
                           checks=readiness(dep, contest, now), rounds=rounds, registered=registered,
                           summary=bank_mod.bank_summary(dep.db, contest.id), now=now)


@bp.route("/<slug>/thiet-lap", methods=["GET", "POST"])
@manager
def setup(slug):
    """Edit the contest: rules, rounds, audiences and quotas, prizes, ranking order."""
    contest = _contest(slug)
    if request.method == "POST":
        return _save_form(contest)
    return _setup_page(contest, definition_to_form(contest.definition), {})


@bp.route("/<slug>/dinh-nghia.toml")
@manager
def definition_download(slug):
    """The contest's definition as a TOML file (to keep, review, or load elsewhere)."""
    contest = _contest(slug)
    return Response(definition_to_toml(contest.definition), mimetype="application/toml",
                    headers={"Content-Disposition": f'attachment; filename="{contest.slug}.toml"'})


@bp.route("/<slug>/trang-thai", methods=["POST"])
@manager
def status(slug):
    """Publish, withdraw or archive."""
    contest = _contest(slug)
    target = request.form.get("status")
    if target not in ("published", "draft", "archived"):
        abort(400, description="Trạng thái không hợp lệ.")
    try:
        set_status(deployment(), contest, target, username=_username())
    except ContestError as exc:
        flash("Chưa công bố được: " + str(exc).split(":", 1)[-1].strip())
    else:
        flash({"published": "Cuộc thi đã được công bố.", "draft": "Cuộc thi đã chuyển về chuẩn bị.",
               "archived": "Cuộc thi đã được lưu trữ."}[target])
    return redirect(url_for(".overview", slug=slug), code=303)


# -- questions ------------------------------------------------------------------------------------


@bp.route("/<slug>/cau-hoi")
@manager
def questions(slug):
    """The question bank: counts by group and audience, the questions, import and export."""
    dep = deployment()
    contest = _contest(slug)
    category = request.args.get("nhom", "")
    page = page_arg()
    items = [(q, a) for q, a in bank_mod.active_questions(dep.db, contest.id) if not category or q.category == category]
    summary = bank_mod.bank_summary(dep.db, contest.id)
    return render_template("contest/manage_questions.html", contest=contest, summary=summary,
                           items=items[(page - 1) * 100: page * 100], total=len(items), page=page, category=category,
                           pages=(len(items) + 99) // 100, problems=None, topics=_topics(dep.plan, summary))


def _topics(plan, summary) -> list[tuple[str, str, int]]:
    """The plan's content topics (II.1) with the number of active questions whose ``topic`` column
    names the topic (the import checks the id against the plan)."""
    counts = summary["by_topic"]
    return [(t.id, t.title or t.text, counts.get(t.id, 0)) for t in plan.topics]


@bp.route("/<slug>/cau-hoi/nhap", methods=["POST"])
@manager
def questions_import(slug):
    """Import CSV, XLSX, Aiken or GIFT; every bad row with its line; nothing imported unless asked."""
    dep = deployment()
    contest = _contest(slug)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Chọn tệp câu hỏi (.csv, .xlsx, .txt hoặc .gift).")
        return redirect(url_for(".questions", slug=slug), code=303)
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in (".csv", ".xlsx", ".txt", ".gift"):
        flash("Tệp câu hỏi phải là .csv, .xlsx, .txt (Aiken) hoặc .gift (GIFT của Moodle).")
        return redirect(url_for(".questions", slug=slug), code=303)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        upload.save(path)
        try:
            rows = bank_mod.read_question_file(path, limits=limits_of(dep))
            found, audiences, problems = bank_mod.parse_rows(rows, contest.definition, plan=dep.plan)
        except QuestionError as exc:
            # A file that cannot be read or has a wrong header: nothing is imported, whatever the
            # options (skipping "bad rows" would skip them all).
            return _import_refused(dep, contest, upload.filename,
                                   f"Không nhập được tệp {upload.filename}: {str(exc).split(': ', 1)[-1]}.")
    skip = request.form.get("skip_bad_rows") == "1"
    if problems and not skip:
        summary = bank_mod.bank_summary(dep.db, contest.id)
        return make_response(render_template(
            "contest/manage_questions.html", contest=contest, summary=summary, items=[], total=summary["total"], page=1,
            pages=0, category="", problems=problems, filename=upload.filename, good=len(found),
            topics=_topics(dep.plan, summary), form=request.form), 422)
    try:
        added, unchanged, retired = bank_mod.import_questions(
            dep.db, contest.id, found, audiences, replace=request.form.get("replace") == "1", username=_username(),
            definition=contest.definition, force=request.form.get("force_replace") == "1")
    except bank_mod.ReplaceRefused as exc:
        return _import_refused(dep, contest, upload.filename, str(exc))
    flash(f"Đã đọc {len(found)} câu hỏi: thêm hoặc sửa {added}, giữ nguyên {unchanged}, ngừng dùng {retired}"
          + (f"; bỏ qua {len(problems)} dòng lỗi" if problems else "") + ".")
    return redirect(url_for(".questions", slug=slug), code=303)


def _import_refused(dep, contest, filename: str, message: str):
    """The question page with why a whole import was refused, the options as they were ticked."""
    summary = bank_mod.bank_summary(dep.db, contest.id)
    return make_response(render_template(
        "contest/manage_questions.html", contest=contest, summary=summary, items=[], total=summary["total"], page=1,
        pages=0, category="", problems=None, refused=message, filename=filename,
        topics=_topics(dep.plan, summary), form=request.form), 422)


@bp.route("/<slug>/cau-hoi/xuat.<fmt>")
@manager
def questions_export(slug, fmt):
    """The active bank as CSV or XLSX (imports back unchanged)."""
    contest = _contest(slug)
    rows = bank_mod.export_rows(deployment().db, contest.id)
    if fmt == "xlsx":
        buffer = io.BytesIO()
        bank_mod.write_xlsx(rows, buffer)
        buffer.seek(0)
        return send_file(buffer, as_attachment=True, download_name=f"cau-hoi-{contest.slug}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if fmt != "csv":
        abort(404)
    out = io.StringIO()
    bank_mod.write_csv(rows, out)
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="cau-hoi-{contest.slug}.csv"'})


@bp.route("/mau-cau-hoi.<fmt>")
@manager
def template_download(fmt):
    """The question template (XLSX with a guide sheet, or CSV), with three examples."""
    if fmt == "xlsx":
        buffer = io.BytesIO()
        bank_mod.write_xlsx(bank_mod.EXAMPLE_ROWS, buffer)
        buffer.seek(0)
        return send_file(buffer, as_attachment=True, download_name="mau-cau-hoi.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if fmt != "csv":
        abort(404)
    return Response(bank_mod.template_csv(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="mau-cau-hoi.csv"'})


@bp.route("/<slug>/cau-hoi/<key>/ngung", methods=["POST"])
@manager
def question_retire(slug, key):
    """Take a question out of the draw."""
    contest = _contest(slug)
    if bank_mod.retire_question(deployment().db, contest.id, key, _username()):
        flash(f"Câu {key} không còn được rút vào đề thi.")
    else:
        flash(f"Không có câu hỏi {key} đang dùng.")
    return redirect(url_for(".questions", slug=slug), code=303)


# -- participants ---------------------------------------------------------------------------------


@bp.route("/<slug>/thi-sinh")
@manager
def participants(slug):
    """Participants: search by name or phone number; masked phones."""
    dep = deployment()
    contest = _contest(slug)
    search = (request.args.get("q") or "").strip()
    page = page_arg()
    where, params = "contest_id = ?", [contest.id]
    if search:
        found = find_by_phone(dep, contest, search) if any(ch.isdigit() for ch in search) else None
        if found is not None:
            where += " and id = ?"
            params.append(found.id)
        else:
            from ccch_core.text import fold

            where += " and name_key like ?"
            params.append("%" + fold(search).replace("%", "").replace("_", "") + "%")
    total = dep.db.execute(f"select count(*) from contest_participants where {where}", params).fetchone()[0]
    rows = list(query(dep.db, f"select * from contest_participants where {where} order by id desc limit ? offset ?",
                             [*params, PAGE, (page - 1) * PAGE]))
    units = {u.id: u.name for u in dep.plan.units}
    return render_template("contest/manage_participants.html", contest=contest, audience_names=_audience_names(contest), rows=rows, total=total, page=page,
                           pages=(total + PAGE - 1) // PAGE, query=search, units=units)


def _participant(contest, pid):
    participant = get_participant(deployment().db, pid)
    if participant is None or participant.contest_id != contest.id:
        abort(404, description="Không có người dự thi này.")
    return participant


@bp.route("/<slug>/thi-sinh/<int:pid>")
@manager
def participant(slug, pid):
    """One participant: data as stored, attempts, disqualify, reinstate, erase, check an ID number."""
    dep = deployment()
    contest = _contest(slug)
    person = _participant(contest, pid)
    history = list(query(dep.db, "select * from contest_log where contest_id = ? and participant_id = ? order by id",
                                [contest.id, pid]))
    rounds = {r.id: r for r in contest.rounds}
    unit = dep.plan.unit(person.unit_id).name if person.unit_id and dep.plan.has_unit(person.unit_id) else None
    return render_template("contest/manage_participant.html", contest=contest, audience_names=_audience_names(contest), person=person,
                           attempts=attempts_of(dep.db, pid), rounds=rounds, history=history, unit=unit,
                           labels=ACTION_LABELS, verified=None)


def _reason_action(slug, pid, disqualified):
    contest = _contest(slug)
    _participant(contest, pid)
    try:
        set_disqualified(deployment(), contest, pid, disqualified, request.form.get("reason", ""), _username())
    except ValueError as exc:
        flash(str(exc))
    else:
        flash("Đã loại người dự thi; bảng xếp hạng đã cập nhật." if disqualified else
              "Đã khôi phục người dự thi; bảng xếp hạng đã cập nhật.")
    return redirect(url_for(".participant", slug=slug, pid=pid), code=303)


@bp.route("/<slug>/thi-sinh/<int:pid>/loai", methods=["POST"])
@manager
def disqualify(slug, pid):
    """Disqualify (a reason is required)."""
    return _reason_action(slug, pid, True)


@bp.route("/<slug>/thi-sinh/<int:pid>/khoi-phuc", methods=["POST"])
@manager
def reinstate(slug, pid):
    """Reinstate a disqualified participant."""
    return _reason_action(slug, pid, False)


@bp.route("/<slug>/thi-sinh/<int:pid>/xoa", methods=["POST"])
@manager
def erase(slug, pid):
    """Erase a participant's personal data on their request."""
    contest = _contest(slug)
    _participant(contest, pid)
    if request.form.get("confirm") != "1":
        flash("Đánh dấu ô xác nhận để xóa dữ liệu cá nhân.")
    else:
        erase_participant(deployment(), contest, pid, _username(),
                          reason=request.form.get("reason") or "Xóa dữ liệu cá nhân theo yêu cầu",
                          keep_marker=request.form.get("free_number") != "1")
        flash("Đã xóa dữ liệu cá nhân; các bài thi không còn được xếp hạng.")
    return redirect(url_for(".participant", slug=slug, pid=pid), code=303)


@bp.route("/<slug>/thi-sinh/<int:pid>/doi-chieu", methods=["POST"])
@manager
def verify(slug, pid):
    """Check the citizen ID number a winner shows against the one registered (by its hash)."""
    dep = deployment()
    contest = _contest(slug)
    person = _participant(contest, pid)
    verified = verify_citizen_id(dep, pid, request.form.get("citizen_id", ""))
    rounds = {r.id: r for r in contest.rounds}
    history = list(query(dep.db, "select * from contest_log where contest_id = ? and participant_id = ? order by id",
                                [contest.id, pid]))
    unit = dep.plan.unit(person.unit_id).name if person.unit_id and dep.plan.has_unit(person.unit_id) else None
    return render_template("contest/manage_participant.html", contest=contest, audience_names=_audience_names(contest), person=person,
                           attempts=attempts_of(dep.db, pid), rounds=rounds, history=history, unit=unit,
                           labels=ACTION_LABELS, verified=verified)


def _attempt_action(slug, aid, disqualified):
    contest = _contest(slug)
    row = deployment().db.execute("select participant_id from contest_attempts where id = ? and contest_id = ?",
                                  [aid, contest.id]).fetchone()
    if row is None:
        abort(404, description="Không có bài thi này.")
    try:
        disqualify_attempt(deployment(), contest, aid, disqualified, request.form.get("reason", ""), _username())
    except ValueError as exc:
        flash(str(exc))
    else:
        flash("Đã loại bài thi." if disqualified else "Đã khôi phục bài thi.")
    return redirect(url_for(".participant", slug=slug, pid=row[0]), code=303)


@bp.route("/<slug>/bai-thi/<int:aid>/loai", methods=["POST"])
@manager
def disqualify_attempt_view(slug, aid):
    """Disqualify one attempt (the participant's next best may count)."""
    return _attempt_action(slug, aid, True)


@bp.route("/<slug>/bai-thi/<int:aid>/khoi-phuc", methods=["POST"])
@manager
def reinstate_attempt_view(slug, aid):
    """Reinstate one attempt."""
    return _attempt_action(slug, aid, False)


# -- rounds, rankings, prizes ---------------------------------------------------------------------


@bp.route("/<slug>/xep-hang")
@manager
def rankings(slug):
    """Full rankings per round or overall, one audience at a time (the first by default, the others
    a link away), paged.

    Never a board mixing audiences, as on the public leaderboard: prizes are per audience, and
    audiences may answer different numbers of questions (20 and 15 in the example), so a mixed
    board's places would mean nothing for the prize lists. Who took part at all is on the
    participants page and in the exports."""
    dep = deployment()
    now = utc_now()
    contest = ensure_closed(dep, _contest(slug), now)
    definition = contest.definition
    choice = request.args.get("vong", "")
    audience = request.args.get("doi-tuong") or None
    if audience and audience not in {a.key for a in definition.audiences}:
        abort(404, description="Không có đối tượng dự thi này.")
    if audience is None and definition.audiences:
        audience = definition.audiences[0].key
    page = page_arg()
    round_state = None
    if choice != "tong":
        number = parse_int(choice, 1, MAX_ROUND_NUMBER)
        if number is not None:
            try:
                round_state = contest.round(number)
            except KeyError:
                abort(404, description="Không có vòng thi này.")
        else:
            round_state = contest.current_round(now) or contest.last_closed_round(now) or (
                contest.rounds[0] if contest.rounds else None)
    if round_state is None:
        rows = overall_entries(dep.db, contest, audience, limit=page * PAGE)[(page - 1) * PAGE:]
    else:
        rows = [e.as_dict() for e in entries(dep.db, contest, round_state, audience, offset=(page - 1) * PAGE,
                                             limit=PAGE)]
    units = {u.id: u.name for u in dep.plan.units}

    def page_url(n):
        args = {"vong": round_state.number if round_state else "tong", "trang": n}
        if audience:
            args["doi-tuong"] = audience
        return url_for(".rankings", slug=slug, **args)

    return render_template("contest/manage_rankings.html", contest=contest, definition=contest.definition,
                           round_state=round_state, rows=rows, audience=audience, page=page, units=units,
                           overall=round_state is None, now=now,
                           prev_url=page_url(page - 1) if page > 1 else None,
                           next_url=page_url(page + 1) if len(rows) == PAGE else None)


@bp.route("/<slug>/vong/<int:number>/chot", methods=["POST"])
@manager
def close_round_view(slug, number):
    """After the round: finish overdue attempts, (re)compute the prediction's true figure."""
    dep = deployment()
    contest = _contest(slug)
    try:
        round_state = contest.round(number)
    except KeyError:
        abort(404, description="Không có vòng thi này.")
    if round_state.state(utc_now()) != "closed":
        flash("Vòng thi chưa kết thúc.")
    else:
        round_state = close_round(dep, contest, round_state, force=True)
        flash(f"Đã chốt {round_state.name}: {round_state.entrant_count} bài được xếp hạng, "
              f"{round_state.perfect_count} bài đúng tất cả các câu.")
    return redirect(url_for(".rankings", slug=slug, vong=number), code=303)


@bp.route("/<slug>/vong/<int:number>/cong-bo", methods=["POST"])
@manager
def publish_results(slug, number):
    """Publish (or withdraw) a closed round's prize lists on the public pages."""
    from ccch_core.storage import utc_now_iso, write_transaction

    from ..counting import invalidate_rankings
    from ..journal import log

    dep = deployment()
    contest = _contest(slug)
    try:
        round_state = contest.round(number)
    except KeyError:
        abort(404, description="Không có vòng thi này.")
    publish = request.form.get("publish") == "1"
    if publish and round_state.state(utc_now()) != "closed":
        flash("Chỉ công bố kết quả sau khi vòng thi kết thúc.")
        return redirect(url_for(".prizes", slug=slug), code=303)
    if publish and _held_prizes(dep, contest, round_state):
        flash(f"Danh sách đạt giải {round_state.name} còn người chờ xem xét, hoặc còn bài thi chưa được kiểm tra "
              "(trang “Bài thi đáng ngờ”); hãy xem xét trước khi công bố.")
        return redirect(url_for(".prizes", slug=slug), code=303)
    with write_transaction(dep.db):
        dep.db.execute("update contest_rounds set published_at = ? where id = ?",
                       [utc_now_iso() if publish else None, round_state.id])
        invalidate_rankings(dep.db, contest.id)
        log(dep.db, contest.id, "publish_results" if publish else "withdraw_results", username=_username(),
            detail=f"round {number}")
    flash(f"Đã công bố kết quả {round_state.name}." if publish else f"Đã rút kết quả {round_state.name}.")
    return redirect(url_for(".prizes", slug=slug), code=303)


def _held_prizes(dep, contest, round_state) -> bool:
    """Whether a prize list of the round holds an entry with a detection flag nobody reviewed, or
    detection has not yet looked at every attempt."""
    from ..detection import PAGE_BUDGET, detect, unchecked

    detect(dep, contest, max_attempts=PAGE_BUDGET)
    if unchecked(dep.db, contest):
        return True
    contest = ensure_closed(dep, _contest(contest.slug))
    round_state = contest.round(round_state.number)
    return any(w.held for a in contest.definition.audiences for w in prize_list(dep, contest, round_state, a.key))


@bp.route("/<slug>/giai-thuong")
@manager
def prizes(slug):
    """Prize lists per closed round and audience (with contact numbers), overall, collective."""
    from ..detection import PAGE_BUDGET, detect

    dep = deployment()
    now = utc_now()
    contest = ensure_closed(dep, _contest(slug), now)
    detect(dep, contest, now=now, max_attempts=PAGE_BUDGET)  # so that the lists hold back what it flags
    lists = []
    for round_state in contest.rounds:
        lists.append((round_state, [(audience, prize_list(dep, contest, round_state, audience.key))
                                    for audience in contest.definition.audiences]))
    overall = [(a, overall_prize_list(dep, contest, a.key)) for a in contest.definition.audiences if a.overall_prizes]
    contacts = {}
    ids = {w.entry.participant_id for _, groups in lists for _, ws in groups for w in ws}
    ids.update(w.entry["participant_id"] for _, ws in overall for w in ws)
    if ids:
        marks = ", ".join("?" * len(ids))
        contacts = {r[0]: contact_phone(dep, r[1]) for r in dep.db.execute(
            f"select id, contact_phone from contest_participants where id in ({marks})", list(ids))}
    units = {u.id: u.name for u in dep.plan.units}
    handed = dep.db.execute("select prizes_handed_at, prizes_handed_by from contest_contests where id = ?",
                            [contest.id]).fetchone()
    all_closed = bool(contest.rounds) and all(r.state(now) == "closed" for r in contest.rounds)
    return render_template("contest/manage_prizes.html", contest=contest, lists=lists, overall=overall,
                           collective=collective_winners(dep, contest), contacts=contacts, units=units, now=now,
                           handed_at=handed[0], handed_by=handed[1], all_closed=all_closed)


@bp.route("/<slug>/giai-thuong/da-trao", methods=["POST"])
@manager
def prizes_handed(slug):
    """The prizes were handed out: the winners' contact numbers are erased (issue #16, part 5)."""
    dep = deployment()
    contest = _contest(slug)
    if request.form.get("xac_nhan") != "1":
        flash("Hãy đánh dấu ô xác nhận đã trao giải trước khi ghi nhận.")
        return redirect(url_for(".prizes", slug=slug), code=303)
    if not contest.rounds or any(r.state(utc_now()) != "closed" for r in contest.rounds):
        flash("Chỉ ghi nhận đã trao giải khi mọi vòng thi đã kết thúc.")
        return redirect(url_for(".prizes", slug=slug), code=303)
    erased = record_prizes_handed(dep, contest, _username())
    flash(f"Đã ghi nhận việc trao giải; đã xóa {erased} số điện thoại liên hệ của người đạt giải.")
    return redirect(url_for(".prizes", slug=slug), code=303)


@bp.route("/<slug>/tham-gia")
@manager
def participation_view(slug):
    """Participation per unit (people, headcount, rate) as a table and a chart."""
    dep = deployment()
    contest = _contest(slug)
    choice = request.args.get("vong", "")
    rounds = None
    number = parse_int(choice, 1, MAX_ROUND_NUMBER)
    if number is not None:
        try:
            rounds = [contest.round(number).id]
        except KeyError:
            abort(404, description="Không có vòng thi này.")
    units = participation(dep, contest, None, rounds)
    if unit_picker.needs_picker(len(units)):
        # A national contest: 3,321 communes. The chart shows the units with the most people and the
        # table is paginated (every unit in Vietnamese collation, one bar each: 959 KB, 0.65 s);
        # ties keep the plan's order. The CSV below has every unit.
        ranked = sorted(units, key=lambda u: -u.participants)
        shown = [u for u in ranked[:PARTICIPATION_CHART_UNITS] if u.participants]
    else:
        ranked = sorted(units, key=lambda u: (-u.participants, sort_key(u.name)))
        shown = ranked
    svg = bar_chart_svg([(u.name, u.participants, str(u.participants)) for u in shown],
                        title="Số người dự thi theo đơn vị")
    rows = levels.paginate(ranked, page_arg("trang"))
    return render_template("contest/manage_participation.html", contest=contest, units=rows.items, rows=rows, svg=svg,
                           choice=choice, total=sum(u.participants for u in units),
                           chart_cut=len(shown) < len(ranked), chart_units=len(shown))


PARTICIPATION_CHART_UNITS = 30
"""Bars on the participation chart of a contest with more units than a list holds (the most people first)."""


def _audience_names(contest) -> dict[str, str]:
    """audience key → its name ("nhan-dan" → "Nhân dân"): pages show names, never keys."""
    return {a.key: a.name for a in contest.definition.audiences}


@bp.route("/<slug>/nhat-ky")
@manager
def log_view(slug):
    """The contest's log: imports, changes, disqualifications, erasures, publications."""
    contest = _contest(slug)
    rows = list(query(deployment().db, "select * from contest_log where contest_id = ? order by id desc limit 500",
                                      [contest.id]))
    return render_template("contest/manage_log.html", contest=contest, rows=rows, labels=ACTION_LABELS)


@bp.route("/<slug>/xuat/<name>.csv")
@manager
def export_csv(slug, name):
    """Stream a table as CSV (UTF-8 with BOM; cells that start like a formula are made text)."""
    contest = _contest(slug)
    table = TABLES_BY_NAME.get(f"contest_{name}")
    if table is None:
        abort(404, description="Không có bảng dữ liệu này.")
    dep = deployment()
    chunks = stream_csv(table.columns, table.rows(dep, DataScope(), contest.id))
    return Response(stream_with_context(chunks), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{contest.slug}-{name}.csv"',
                             "Cache-Control": "no-store"})


@bp.route("/<slug>/poster", methods=["GET", "POST"])
@manager
def poster(slug):
    """Printable posters promoting the contest, with its QR code: one for a unit, or one for each
    unit of a group (every commune), on A4 or A3."""
    from ccch_core.posters import PAGE_SIZES, public_url_problem

    from ..posters import MAX_POSTERS, contest_posters_pdf, contest_url

    dep = deployment()
    contest = _contest(slug)
    plan = dep.plan
    # A plan the size of the country: the groups listed, one unit typed by name (the core's unit
    # picker) — a list of 36,000 units sorted in Vietnamese took seconds and megabytes.
    picker = unit_picker.needs_picker(len(plan.units))
    choices = [] if picker else [(f"unit:{u.id}", u.name) for u in sorted((u for u in plan.units if not u.external),
                                                                          key=lambda u: sort_key(u.name))]
    groups = [(f"group:{g_.id}", f"Mỗi đơn vị của nhóm: {g_.name}") for g_ in plan.unit_groups]
    errors: dict[str, str] = {}
    values = {"where": "", "place": "", "size": "A4"}
    unit_choice = unit_picker.UnitChoice("")
    if request.method == "POST":
        values = {"where": (request.form.get("where") or "")[:200], "place": (request.form.get("place") or "")[:200],
                  "size": (request.form.get("size") or "")[:4]}
        kind, _, ref = values["where"].partition(":")
        units: tuple = ()
        if kind == "unit" and plan.has_unit(ref):
            units = (plan.unit(ref),)
        elif kind == "group" and any(g_.id == ref for g_ in plan.unit_groups):
            units = tuple(u for u in plan.group_members(ref) if not u.external)
        elif picker and not values["where"]:
            unit_choice = unit_picker.resolve_posted(plan, request.form, "don-vi", allowed=lambda u: not u.external)
            if unit_choice.unit is not None:
                units = (unit_choice.unit,)
            elif unit_choice.problem:
                errors["where"] = unit_picker.problem_vi(unit_choice, "Đơn vị")
        if not units and not errors:
            errors["where"] = ("Chọn một nhóm đơn vị, hoặc gõ tên một đơn vị." if picker else
                               "Chọn một đơn vị hoặc một nhóm đơn vị trong danh sách.")
        elif len(units) > MAX_POSTERS:
            errors["where"] = f"Nhóm có {len(units)} đơn vị; mỗi lần in tối đa {MAX_POSTERS} poster."
        if values["size"] not in PAGE_SIZES:
            errors["size"] = "Khổ giấy là A4 hoặc A3."
        if not errors:
            data = contest_posters_pdf(dep, contest, list(units), values["place"].strip(), values["size"])
            return Response(data, mimetype="application/pdf", headers={
                "Content-Disposition": f'attachment; filename="poster-{contest.slug}-{values["size"].lower()}.pdf"'})
    return render_template("contest/manage_poster.html", contest=contest, choices=choices, groups=groups,
                           picker=picker, unit_choice=unit_choice,
                           values=values, errors=errors, url=contest_url(dep, contest),
                           url_problem=public_url_problem(dep.public_base_url, "trang cuộc thi")), \
        (422 if errors else 200)
